//! The merchant app's side of the payment handoff: build requests the terminal accepts and
//! open results only when they answer them. Thin conversions over
//! `smartpos_handoff::outgoing`; the Kotlin facade is `org.smartpos.sdk.PaymentClient`.

use crate::{Money, SmartposError};
use smartpos_handoff::money::Money as HandoffMoney;
use smartpos_handoff::outgoing::{random_nonce, Expected, RequestSpec};
use smartpos_handoff::{
    Carrier, PaymentMethod, PrintBy, RequestError, RequestType, ResultEnvelope, ResultMismatch,
    SignedResult, TransactionType,
};
use std::collections::HashMap;

/// What a merchant app can ask the acquiring app for: Kotlin's flat view of
/// `smartpos_handoff::RequestType` (a transaction type, settlement or a query). The conversions
/// both ways are exhaustive, so a new type fails to compile here until Kotlin has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PaymentType {
    /// Purchase.
    Sale,
    /// Void of a sale in the current batch.
    Void,
    /// Refund of an earlier sale.
    Refund,
    /// Pre-authorization (a hold).
    Preauth,
    /// Release of a hold.
    PreauthVoid,
    /// Completion of a hold.
    PreauthComplete,
    /// Void of a completion.
    CompleteVoid,
    /// Balance inquiry.
    Balance,
    /// Batch settlement.
    Settle,
    /// The result of an earlier order.
    Query,
}

impl From<PaymentType> for RequestType {
    fn from(t: PaymentType) -> Self {
        match t {
            PaymentType::Sale => RequestType::Transaction(TransactionType::Sale),
            PaymentType::Void => RequestType::Transaction(TransactionType::Void),
            PaymentType::Refund => RequestType::Transaction(TransactionType::Refund),
            PaymentType::Preauth => RequestType::Transaction(TransactionType::Preauth),
            PaymentType::PreauthVoid => RequestType::Transaction(TransactionType::PreauthVoid),
            PaymentType::PreauthComplete => {
                RequestType::Transaction(TransactionType::PreauthComplete)
            }
            PaymentType::CompleteVoid => RequestType::Transaction(TransactionType::CompleteVoid),
            PaymentType::Balance => RequestType::Transaction(TransactionType::Balance),
            PaymentType::Settle => RequestType::Settle,
            PaymentType::Query => RequestType::Query,
        }
    }
}

impl From<RequestType> for PaymentType {
    fn from(t: RequestType) -> Self {
        use TransactionType as T;
        match t {
            RequestType::Transaction(t) => match t {
                T::Sale => PaymentType::Sale,
                T::Void => PaymentType::Void,
                T::Refund => PaymentType::Refund,
                T::Preauth => PaymentType::Preauth,
                T::PreauthVoid => PaymentType::PreauthVoid,
                T::PreauthComplete => PaymentType::PreauthComplete,
                T::CompleteVoid => PaymentType::CompleteVoid,
                T::Balance => PaymentType::Balance,
            },
            RequestType::Settle => PaymentType::Settle,
            RequestType::Query => PaymentType::Query,
        }
    }
}

/// How the customer pays a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PayMethod {
    /// Bank card.
    Card,
    /// The terminal scans the customer's wallet code.
    QrScan,
    /// The customer scans the code the terminal shows.
    QrDisplay,
}

/// Who prints the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReceiptBy {
    /// The acquiring app (default).
    Acquirer,
    /// The merchant app, from the result.
    Merchant,
    /// Nobody.
    Nobody,
}

/// A payment request before the nonce and expiry are added.
///
/// Kotlin:
/// ```kotlin
/// val spec = PaymentSpec(kind = PaymentType.SALE, order = "A-1001",
///     amount = Money(1234uL, "CNY"), callback = "shop://paid")
/// ```
#[derive(Debug, Clone, uniffi::Record)]
pub struct PaymentSpec {
    /// Transaction type.
    pub kind: PaymentType,
    /// The merchant's order id (for `QUERY`, the order looked up).
    pub order: String,
    /// Money, for the types that take one.
    #[uniffi(default = None)]
    pub amount: Option<Money>,
    /// Retrieval reference of the original (voids, refunds, completions).
    #[uniffi(default = None)]
    pub orig_ref: Option<String>,
    /// Authorization code of the pre-authorization (completion, pre-auth void).
    #[uniffi(default = None)]
    pub orig_auth: Option<String>,
    /// How the customer pays (sale only); null lets the customer choose.
    #[uniffi(default = None)]
    pub method: Option<PayMethod>,
    /// Who prints; null means the acquiring app.
    #[uniffi(default = None)]
    pub print: Option<ReceiptBy>,
    /// Free text for the receipt.
    #[uniffi(default = None)]
    pub memo: Option<String>,
    /// Seconds the customer has, 10 to 300.
    #[uniffi(default = None)]
    pub timeout_secs: Option<u32>,
    /// Deep link for the result; null sends the request as intent extras.
    #[uniffi(default = None)]
    pub callback: Option<String>,
}

/// A request ready to send. Keep it (it is plain data) until its result is opened: after the app
/// is killed it is what the next result must answer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SentRequest {
    /// `smartpos://pay/v1?...` when a callback was given, else null.
    pub deep_link: Option<String>,
    /// Intent extras (`smartpos.`-prefixed) when no callback was given, else empty.
    pub intent_extras: HashMap<String, String>,
    /// The request hash the result must carry.
    pub request_hash: String,
    /// The order id.
    pub order: String,
    /// The amount, when the request has one.
    pub amount: Option<Money>,
    /// The nonce used.
    pub nonce: String,
    /// Expiry, Unix seconds.
    pub expires: i64,
}

/// Final or not, as the terminal reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PaymentStatus {
    /// Charged: deliver.
    Approved,
    /// Definitely not charged.
    Declined,
    /// Not known yet and being resolved: neither deliver nor charge again; query the order.
    Unknown,
    /// The terminal refused the request (caller, permission, replay, busy, duplicate order...).
    Refused,
    /// Malformed or unsupported request, or a terminal fault.
    Error,
}

/// The result code, as an enum (the wire names are in the result-code table): decide on
/// [`PaymentStatus`] first, then on the code for the refusals and errors.
///
/// Kotlin:
/// ```kotlin
/// if (outcome.result == ResultCode.REFUSED_BUSY) retryLater()
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ResultCode {
    /// Approved by the host.
    Approved,
    /// Definitely not charged.
    Declined,
    /// Not known yet; being resolved. Query the order id; never retry with a new order id.
    Unknown,
    /// Query: the transaction is still running.
    InProgress,
    /// Query: no transaction with this order id for this caller.
    NotFound,
    /// The caller is not an allowed app with a matching signing certificate.
    RefusedCaller,
    /// The caller may not request this type.
    RefusedPermission,
    /// The nonce was used before.
    RefusedReplay,
    /// The request expired before it arrived.
    RefusedExpired,
    /// Another transaction is in progress; try again when it ends.
    RefusedBusy,
    /// The order id was used for a different request.
    RefusedDuplicateOrder,
    /// The request is malformed; `message` names the field.
    ErrorMalformed,
    /// This terminal does not support the request (type or method).
    ErrorUnsupported,
    /// The terminal could not run the request; nothing was sent.
    ErrorTerminal,
}

impl ResultCode {
    /// From the wire name; a code this SDK does not know reads as `Unknown` (never as a
    /// failure).
    fn from_wire(name: &str) -> Self {
        use smartpos_handoff::ResultCode as C;
        match C::parse(name) {
            Some(C::Approved) => ResultCode::Approved,
            Some(C::Declined) => ResultCode::Declined,
            Some(C::Unknown) | None => ResultCode::Unknown,
            Some(C::InProgress) => ResultCode::InProgress,
            Some(C::NotFound) => ResultCode::NotFound,
            Some(C::RefusedCaller) => ResultCode::RefusedCaller,
            Some(C::RefusedPermission) => ResultCode::RefusedPermission,
            Some(C::RefusedReplay) => ResultCode::RefusedReplay,
            Some(C::RefusedExpired) => ResultCode::RefusedExpired,
            Some(C::RefusedBusy) => ResultCode::RefusedBusy,
            Some(C::RefusedDuplicateOrder) => ResultCode::RefusedDuplicateOrder,
            Some(C::ErrorMalformed) => ResultCode::ErrorMalformed,
            Some(C::ErrorUnsupported) => ResultCode::ErrorUnsupported,
            Some(C::ErrorTerminal) => ResultCode::ErrorTerminal,
            Some(_) => ResultCode::Unknown,
        }
    }
}

/// A verified result that answers the request it was opened against.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PaymentOutcome {
    /// Approved, declined, unknown, refused or error.
    pub status: PaymentStatus,
    /// Result code as an enum.
    pub result: ResultCode,
    /// Result code's wire name, e.g. `APPROVED`, `REFUSED_REPLAY` (for logs).
    pub code: String,
    /// The order id.
    pub order: String,
    /// Hash of the request this answers.
    pub request_hash: String,
    /// The calling package as the terminal's OS reported it.
    pub caller: String,
    /// Transaction type as on the wire (`sale`, `refund`, ...).
    pub kind: String,
    /// The amount, when the result names one.
    pub amount: Option<Money>,
    /// Approved balance inquiry: the available balance in minor units (negative if overdrawn).
    pub balance: Option<i64>,
    /// Card number, first 6 and last 4 digits.
    pub masked_pan: String,
    /// Authorization code (F38).
    pub auth_code: String,
    /// Retrieval reference (F37): keep it for voids, refunds and reconciliation.
    pub reference: String,
    /// System trace number.
    pub trace: String,
    /// Batch number.
    pub batch: String,
    /// Terminal id.
    pub terminal_id: String,
    /// Merchant id.
    pub merchant_id: String,
    /// Unix seconds when the terminal produced the result.
    pub time: i64,
    /// Text for people.
    pub message: String,
    /// The bank's response code (F39), when there was one.
    pub host_code: String,
    /// `card`, `qr_scan` or `qr_display`.
    pub method: String,
    /// QR payments: `wechat`, `alipay` or `unionpay`.
    pub wallet: String,
}

fn request_error(e: RequestError) -> SmartposError {
    SmartposError::BadRequest {
        field: e.field().unwrap_or_default(),
        reason: e.to_string(),
    }
}

/// Builds a request with a fresh random nonce, valid for `valid_secs` (1 to 600) from
/// `now_unix`, checked with the terminal's own parser: a bad field fails here, typed, with its
/// name, not on the terminal.
///
/// Kotlin:
/// ```kotlin
/// val sent = buildPaymentRequest(spec, System.currentTimeMillis() / 1000, 120u)
/// startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(sent.deepLink)))
/// ```
#[uniffi::export]
pub fn build_payment_request(
    spec: PaymentSpec,
    now_unix: i64,
    valid_secs: u32,
) -> Result<SentRequest, SmartposError> {
    let core = RequestSpec {
        kind: spec.kind.into(),
        amount: spec
            .amount
            .as_ref()
            .map(HandoffMoney::try_from)
            .transpose()?,
        order: spec.order,
        orig_ref: spec.orig_ref,
        orig_auth: spec.orig_auth,
        method: spec.method.map(|m| match m {
            PayMethod::Card => PaymentMethod::Card,
            PayMethod::QrScan => PaymentMethod::QrScan,
            PayMethod::QrDisplay => PaymentMethod::QrDisplay,
        }),
        print: match spec.print {
            None | Some(ReceiptBy::Acquirer) => PrintBy::Acquirer,
            Some(ReceiptBy::Merchant) => PrintBy::Merchant,
            Some(ReceiptBy::Nobody) => PrintBy::Nobody,
        },
        memo: spec.memo,
        timeout_secs: spec.timeout_secs,
        callback: spec.callback,
    };
    let nonce = random_nonce().map_err(request_error)?;
    let out = core
        .build(&nonce, now_unix, valid_secs)
        .map_err(request_error)?;
    Ok(SentRequest {
        deep_link: out.deep_link(),
        intent_extras: if out.carrier == Carrier::Intent {
            out.intent_extras().into_iter().collect()
        } else {
            HashMap::new()
        },
        request_hash: out.expected.request_hash,
        order: out.expected.order,
        amount: out.expected.amount.map(Money::from),
        nonce: out.nonce,
        expires: out.expires,
    })
}

fn expected(sent: &SentRequest) -> Result<Expected, SmartposError> {
    Ok(Expected {
        request_hash: sent.request_hash.clone(),
        order: sent.order.clone(),
        amount: sent
            .amount
            .as_ref()
            .map(HandoffMoney::try_from)
            .transpose()?,
    })
}

fn mismatch(e: ResultMismatch) -> SmartposError {
    SmartposError::BadResult {
        reason: e.to_string(),
    }
}

/// The Kotlin view of a verified result envelope.
pub(crate) fn outcome(env: &ResultEnvelope) -> PaymentOutcome {
    let g = |f: &str| env.get(f);
    let status = match env.code.status() {
        "approved" => PaymentStatus::Approved,
        "declined" => PaymentStatus::Declined,
        "refused" => PaymentStatus::Refused,
        "error" => PaymentStatus::Error,
        // Anything else is not final: never read it as a failure.
        _ => PaymentStatus::Unknown,
    };
    let amount = env.amount.map(|minor| Money {
        minor,
        currency: g("currency"),
    });
    PaymentOutcome {
        status,
        result: ResultCode::from_wire(env.code.name()),
        code: g("code"),
        order: g("order"),
        request_hash: g("request_hash"),
        caller: g("caller"),
        kind: g("type"),
        amount,
        balance: env.balance,
        masked_pan: g("masked_pan"),
        auth_code: g("auth_code"),
        reference: g("reference"),
        trace: g("trace"),
        batch: g("batch"),
        terminal_id: g("terminal_id"),
        merchant_id: g("merchant_id"),
        time: env.time.unwrap_or_default(),
        message: g("message"),
        host_code: g("host_code"),
        method: g("method"),
        wallet: g("wallet"),
    }
}

/// Opens a result deep link: verifies the terminal's signature and that it answers `sent`
/// (request hash, order id, amount). Throws `SmartposException.BadResult` otherwise; then the
/// result is not a result: query the order.
///
/// Kotlin:
/// ```kotlin
/// val outcome = openResultUri(intent.data.toString(), terminalPublicKeyHex, sent)
/// if (outcome.status == PaymentStatus.APPROVED) deliver(outcome.reference)
/// ```
#[uniffi::export]
pub fn open_result_uri(
    uri: String,
    public_key_hex: String,
    sent: SentRequest,
) -> Result<PaymentOutcome, SmartposError> {
    let signed = SignedResult::from_callback_uri(&uri)?;
    let env = expected(&sent)?
        .open(&signed, &public_key_hex)
        .map_err(mismatch)?;
    Ok(outcome(env))
}

/// Opens the result extras of `startActivityForResult` (the `smartpos.`-prefixed ones; others
/// are ignored), with the same checks as [`open_result_uri`].
///
/// Kotlin:
/// ```kotlin
/// val extras = data.extras!!.keySet().associateWith { data.getStringExtra(it) ?: "" }
/// val outcome = openResultExtras(extras, terminalPublicKeyHex, sent)
/// ```
#[uniffi::export]
pub fn open_result_extras(
    extras: HashMap<String, String>,
    public_key_hex: String,
    sent: SentRequest,
) -> Result<PaymentOutcome, SmartposError> {
    let pairs: Vec<(String, String)> = extras.into_iter().collect();
    let signed = SignedResult::from_intent_extras(&pairs)?;
    let env = expected(&sent)?
        .open(&signed, &public_key_hex)
        .map_err(mismatch)?;
    Ok(outcome(env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartpos_handoff::{HandoffRequest, ResultCode, TerminalKey};

    #[test]
    fn every_request_type_has_its_kotlin_payment_type_and_back() {
        for t in RequestType::ALL {
            assert_eq!(RequestType::from(PaymentType::from(t)), t, "{}", t.name());
        }
    }

    fn sale_spec(callback: Option<&str>) -> PaymentSpec {
        PaymentSpec {
            kind: PaymentType::Sale,
            order: "A-1".into(),
            amount: Some(Money {
                minor: 1234,
                currency: "CNY".into(),
            }),
            orig_ref: None,
            orig_auth: None,
            method: Some(PayMethod::Card),
            print: None,
            memo: Some("咖啡".into()),
            timeout_secs: None,
            callback: callback.map(str::to_string),
        }
    }

    fn answer(sent: &SentRequest, key: &TerminalKey, code: ResultCode) -> SignedResult {
        let mut e = ResultEnvelope::new(code);
        e.request_hash = sent.request_hash.clone();
        e.order = sent.order.clone();
        e.amount = Some(1234);
        e.currency = Some(smartpos_handoff::money::Currency::CNY);
        e.time = Some(1_700_000_001);
        e.sign(key)
    }

    #[test]
    fn deep_link_round_trip_through_the_terminal_parser() {
        let sent =
            build_payment_request(sale_spec(Some("shop://paid")), 1_700_000_000, 120).unwrap();
        let link = sent.deep_link.clone().unwrap();
        assert!(sent.intent_extras.is_empty());
        let parsed = HandoffRequest::from_deep_link(&link, 1_700_000_000).unwrap();
        assert_eq!(parsed.request_hash, sent.request_hash);
        assert_eq!(parsed.nonce, sent.nonce);
        let again =
            build_payment_request(sale_spec(Some("shop://paid")), 1_700_000_000, 120).unwrap();
        assert_ne!(again.nonce, sent.nonce, "every request gets a fresh nonce");

        let key = TerminalKey::from_secret(&[3; 32]);
        let uri = answer(&sent, &key, ResultCode::Approved).to_callback_uri("shop://paid");
        let o = open_result_uri(uri.clone(), key.public_hex(), sent.clone()).unwrap();
        assert_eq!(o.status, PaymentStatus::Approved);
        assert_eq!(o.amount.unwrap().minor, 1234);
        assert_eq!(o.time, 1_700_000_001);
        // The same result does not answer the next request.
        assert!(matches!(
            open_result_uri(uri, key.public_hex(), again),
            Err(SmartposError::BadResult { .. })
        ));
    }

    #[test]
    fn intent_extras_round_trip() {
        let sent = build_payment_request(sale_spec(None), 1_700_000_000, 60).unwrap();
        assert_eq!(sent.deep_link, None);
        assert_eq!(sent.intent_extras["smartpos.amount"], "1234");
        let extras: Vec<(String, String)> = sent.intent_extras.clone().into_iter().collect();
        let parsed = HandoffRequest::from_intent_extras(&extras, 1_700_000_000).unwrap();
        assert_eq!(parsed.request_hash, sent.request_hash);

        let key = TerminalKey::from_secret(&[4; 32]);
        let mut back: HashMap<String, String> = answer(&sent, &key, ResultCode::Unknown)
            .to_intent_extras()
            .into_iter()
            .collect();
        back.insert("android.intent.extra.OTHER".into(), "ignored".into());
        let o = open_result_extras(back, key.public_hex(), sent).unwrap();
        assert_eq!(o.status, PaymentStatus::Unknown);
    }

    #[test]
    fn bad_requests_name_the_field() {
        let mut spec = sale_spec(None);
        spec.order = "has space".into();
        match build_payment_request(spec, 0, 60) {
            Err(SmartposError::BadRequest { field, .. }) => assert_eq!(field, "order"),
            other => panic!("expected BadRequest, got {other:?}"),
        }
        let mut spec = sale_spec(None);
        spec.amount = Some(Money {
            minor: 1,
            currency: "XXX".into(),
        });
        assert!(matches!(
            build_payment_request(spec, 0, 60),
            Err(SmartposError::UnsupportedCurrency { .. })
        ));
    }

    #[test]
    fn every_result_code_reaches_kotlin_as_its_own_enum_value() {
        use std::collections::HashSet;
        let seen: HashSet<String> = ResultCode::ALL
            .iter()
            .map(|c| format!("{:?}", super::ResultCode::from_wire(c.name())))
            .collect();
        assert_eq!(
            seen.len(),
            ResultCode::ALL.len(),
            "no two codes read the same"
        );
        assert_eq!(
            super::ResultCode::from_wire("SOMETHING_NEW"),
            super::ResultCode::Unknown,
            "a code this SDK does not know is never read as a failure"
        );
    }
}
