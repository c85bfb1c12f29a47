//! The merchant app's side of the handoff: build a request that the terminal will accept, and
//! open the signed result only if it answers exactly that request.
//!
//! A request is checked with the same parser the terminal uses before it leaves the app, so a
//! malformed one is a typed error naming the field, not a round trip to the terminal.

use super::canonical::request_hash;
use super::kinds::{PaymentMethod, RequestType, TransactionType};
use super::request::{Carrier, HandoffRequest, PrintBy, RequestError};
use super::result::{ResultEnvelope, SignedResult, VerifyError};
use crate::money::Money;

/// The longest validity the terminal accepts, seconds (`expires` at most 600 s ahead).
pub const MAX_VALID_SECS: u32 = 600;

/// A fresh nonce: 128 bits from the system's random source, as 32 hex digits.
///
/// ```
/// let n = smartpos_handoff::outgoing::random_nonce().unwrap();
/// assert_eq!(n.len(), 32);
/// assert_ne!(n, smartpos_handoff::outgoing::random_nonce().unwrap());
/// ```
pub fn random_nonce() -> Result<String, RequestError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| RequestError::BadValue {
        field: "nonce",
        why: "the system random source failed",
    })?;
    Ok(hex::encode(bytes))
}

/// What the merchant app asks for, before the nonce and expiry are added.
///
/// ```
/// use smartpos_handoff::outgoing::RequestSpec;
/// use smartpos_handoff::money::{Currency, Money};
/// let spec = RequestSpec::sale("A-1001", Money::from_minor(1234, Currency::CNY).unwrap())
///     .with_callback("shop://paid");
/// let out = spec.build("7f3c9a0e5b2d4c18", 1_700_000_000, 120).unwrap();
/// assert!(out.deep_link().unwrap().starts_with("smartpos://pay/v1?v=1&type=sale&amount=1234"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Transaction type.
    pub kind: RequestType,
    /// Amount, for the types that take one.
    pub amount: Option<Money>,
    /// The merchant's order id (for `query`, the order looked up).
    pub order: String,
    /// Retrieval reference of the original (voids, refunds, completions).
    pub orig_ref: Option<String>,
    /// Authorization code of the pre-authorization (completion, pre-auth void).
    pub orig_auth: Option<String>,
    /// How the customer pays (sale only); `None` lets the customer choose.
    pub method: Option<PaymentMethod>,
    /// Who prints the receipt.
    pub print: PrintBy,
    /// Free text for the receipt.
    pub memo: Option<String>,
    /// Seconds the customer has, 10 to 300.
    pub timeout_secs: Option<u32>,
    /// Deep link the result goes to; `None` sends the request as intent extras.
    pub callback: Option<String>,
}

impl RequestSpec {
    /// A request of `kind` for `order` with nothing else set.
    pub fn new(kind: RequestType, order: &str) -> Self {
        RequestSpec {
            kind,
            amount: None,
            order: order.to_string(),
            orig_ref: None,
            orig_auth: None,
            method: None,
            print: PrintBy::Acquirer,
            memo: None,
            timeout_secs: None,
            callback: None,
        }
    }
    /// A sale.
    pub fn sale(order: &str, amount: Money) -> Self {
        Self::new(RequestType::Transaction(TransactionType::Sale), order).with_amount(amount)
    }
    /// A query of an earlier order's result.
    pub fn query(order: &str) -> Self {
        Self::new(RequestType::Query, order)
    }
    /// Sets the amount.
    pub fn with_amount(mut self, amount: Money) -> Self {
        self.amount = Some(amount);
        self
    }
    /// Sets the original's retrieval reference.
    pub fn with_orig_ref(mut self, reference: &str) -> Self {
        self.orig_ref = Some(reference.to_string());
        self
    }
    /// Sets the callback deep link (the request then travels as a deep link).
    pub fn with_callback(mut self, callback: &str) -> Self {
        self.callback = Some(callback.to_string());
        self
    }

    fn pairs(&self, nonce: &str, expires: i64) -> Vec<(String, String)> {
        let request = HandoffRequest {
            kind: self.kind,
            amount: self.amount,
            order: self.order.clone(),
            orig_ref: self.orig_ref.clone(),
            orig_auth: self.orig_auth.clone(),
            method: self.method,
            print: self.print,
            memo: self.memo.clone(),
            timeout_secs: self.timeout_secs,
            nonce: nonce.to_string(),
            expires,
            callback: self.callback.clone(),
            request_hash: String::new(),
        };
        request.to_pairs()
    }

    /// Adds the nonce and an expiry `valid_secs` from `now_unix`, and checks the result with
    /// the terminal's own parser. `valid_secs` must be 1 to [`MAX_VALID_SECS`].
    pub fn build(
        &self,
        nonce: &str,
        now_unix: i64,
        valid_secs: u32,
    ) -> Result<OutgoingRequest, RequestError> {
        if !(1..=MAX_VALID_SECS).contains(&valid_secs) {
            return Err(RequestError::BadValue {
                field: "expires",
                why: "validity must be 1 to 600 seconds",
            });
        }
        let expires = now_unix + i64::from(valid_secs);
        let pairs = self.pairs(nonce, expires);
        let carrier = if self.callback.is_some() {
            Carrier::DeepLink
        } else {
            Carrier::Intent
        };
        let parsed = HandoffRequest::from_pairs(&pairs, carrier, now_unix)?;
        Ok(OutgoingRequest {
            expected: Expected {
                request_hash: request_hash(&pairs),
                order: parsed.order,
                amount: parsed.amount,
            },
            pairs,
            carrier,
            nonce: parsed.nonce,
            expires,
        })
    }
}

/// A request ready to send, and what its result must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// The (key, value) pairs, in sending order.
    pub pairs: Vec<(String, String)>,
    /// Deep link (a callback was given) or intent extras.
    pub carrier: Carrier,
    /// What its result must carry: request hash, order id, amount.
    pub expected: Expected,
    /// The nonce used.
    pub nonce: String,
    /// Expiry, Unix seconds.
    pub expires: i64,
}

/// Why a returned result is not a result for this request. Do not trust it: query the order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResultMismatch {
    /// Malformed, or the terminal's signature does not verify.
    #[error("result does not verify: {0}")]
    Unverified(#[from] VerifyError),
    /// Signed, but for another request (a replayed or misrouted result).
    #[error("result answers another request")]
    OtherRequest,
    /// Signed for this request, but for another order id.
    #[error("result names order {found:?}, not {expected:?}")]
    OtherOrder {
        /// The order id sent.
        expected: String,
        /// The order id in the result.
        found: String,
    },
    /// Signed for this request, but with another amount or currency.
    #[error("result amount {found} differs from the request's")]
    OtherAmount {
        /// The amount and currency in the result.
        found: String,
    },
}

/// What a result must carry to answer a request: kept by the app (plain data) until the result
/// is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The request hash.
    pub request_hash: String,
    /// The order id.
    pub order: String,
    /// The amount, when the request has one.
    pub amount: Option<Money>,
}

impl OutgoingRequest {
    /// Verifies `signed` and checks that it answers this request; see [`Expected::open`].
    ///
    /// ```
    /// use smartpos_handoff::outgoing::{RequestSpec, ResultMismatch};
    /// use smartpos_handoff::{ResultCode, ResultEnvelope, TerminalKey};
    /// use smartpos_handoff::money::{Currency, Money};
    /// let key = TerminalKey::from_secret(&[7; 32]);
    /// let sale = RequestSpec::sale("A-1", Money::from_minor(500, Currency::CNY).unwrap());
    /// let sent = sale.build("nonce-0000000001", 1_700_000_000, 60).unwrap();
    /// let mut env = ResultEnvelope::new(ResultCode::Approved);
    /// env.request_hash = sent.expected.request_hash.clone();
    /// env.order = "A-1".into();
    /// env.set_money(Money::from_minor(500, Currency::CNY).unwrap());
    /// let signed = env.sign(&key);
    /// assert_eq!(sent.open(&signed, &key.public_hex()).unwrap().get("code"), "APPROVED");
    /// let other = sale.build("nonce-0000000002", 1_700_000_000, 60).unwrap();
    /// assert_eq!(other.open(&signed, &key.public_hex()), Err(ResultMismatch::OtherRequest));
    /// ```
    pub fn open<'a>(
        &self,
        signed: &'a SignedResult,
        public_key_hex: &str,
    ) -> Result<&'a ResultEnvelope, ResultMismatch> {
        self.expected.open(signed, public_key_hex)
    }

    /// The `smartpos://pay/v1?...` link, when the request carries a callback.
    pub fn deep_link(&self) -> Option<String> {
        (self.carrier == Carrier::DeepLink).then(|| super::request::pairs_to_deep_link(&self.pairs))
    }

    /// The intent extras (`smartpos.`-prefixed keys), for `startActivityForResult`.
    pub fn intent_extras(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .map(|(k, v)| (format!("{}{k}", super::request::EXTRA_PREFIX), v.clone()))
            .collect()
    }
}

impl Expected {
    /// Verifies `signed` with the terminal's public key and checks that it answers the request:
    /// same request hash, order id and (where both have one) amount.
    pub fn open<'a>(
        &self,
        signed: &'a SignedResult,
        public_key_hex: &str,
    ) -> Result<&'a ResultEnvelope, ResultMismatch> {
        signed.verify(public_key_hex)?;
        let env = &signed.envelope;
        if env.request_hash != self.request_hash {
            return Err(ResultMismatch::OtherRequest);
        }
        if env.order != self.order {
            return Err(ResultMismatch::OtherOrder {
                expected: self.order.clone(),
                found: env.order.chars().take(32).collect(),
            });
        }
        if let (Some(want), Some(amount)) = (self.amount, env.amount) {
            if amount != want.minor() || env.currency != Some(want.currency()) {
                return Err(ResultMismatch::OtherAmount {
                    found: format!("{amount} {}", env.get("currency")),
                });
            }
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::{ResultCode, TerminalKey};

    fn cny(minor: u64) -> Money {
        Money::from_minor(minor, Currency::CNY).unwrap()
    }

    #[test]
    fn built_requests_parse_on_the_terminal_with_the_same_hash() {
        let spec = RequestSpec::sale("A-1", cny(1234)).with_callback("shop://paid");
        let out = spec.build("0123456789abcdef", 1_700_000_000, 120).unwrap();
        let link = out.deep_link().unwrap();
        let parsed = HandoffRequest::from_deep_link(&link, 1_700_000_001).unwrap();
        assert_eq!(parsed.request_hash, out.expected.request_hash);
        assert_eq!(parsed.amount, Some(cny(1234)));
        assert_eq!(parsed.expires, 1_700_000_120);

        let intent = RequestSpec::query("A-1")
            .build("0123456789abcdeg", 1_700_000_000, 60)
            .unwrap();
        assert_eq!(intent.deep_link(), None);
        let parsed =
            HandoffRequest::from_intent_extras(&intent.intent_extras(), 1_700_000_000).unwrap();
        assert_eq!(parsed.request_hash, intent.expected.request_hash);
        assert_eq!(parsed.kind, RequestType::Query);
    }

    #[test]
    fn bad_requests_fail_before_they_are_sent() {
        let bad_order = RequestSpec::sale("A 1", cny(1)).build("0123456789abcdef", 0, 60);
        assert!(matches!(
            bad_order,
            Err(RequestError::BadValue { field: "order", .. })
        ));
        let no_ref = RequestSpec::new(RequestType::Transaction(TransactionType::Refund), "R-1")
            .with_amount(cny(1))
            .build("0123456789abcdef", 0, 60);
        assert!(matches!(
            no_ref,
            Err(RequestError::MissingField("orig_ref"))
        ));
        let short_nonce = RequestSpec::query("Q").build("abc", 0, 60);
        assert!(matches!(
            short_nonce,
            Err(RequestError::BadValue { field: "nonce", .. })
        ));
        for secs in [0, MAX_VALID_SECS + 1] {
            let e = RequestSpec::query("Q").build("0123456789abcdef", 0, secs);
            assert!(matches!(
                e,
                Err(RequestError::BadValue {
                    field: "expires",
                    ..
                })
            ));
        }
        let evil = RequestSpec::query("Q").with_callback("https://evil.example/");
        assert!(evil.build("0123456789abcdef", 0, 60).is_err());
    }

    #[test]
    fn results_must_answer_this_request() {
        let key = TerminalKey::from_secret(&[9; 32]);
        let pk = key.public_hex();
        let sent = RequestSpec::sale("A-1", cny(500))
            .build("0123456789abcdef", 0, 60)
            .unwrap();
        let envelope = |order: &str, amount: Option<u64>, hash: &str| {
            let mut e = ResultEnvelope::new(ResultCode::Approved);
            e.request_hash = hash.to_string();
            e.order = order.to_string();
            e.amount = amount;
            e.currency = Some(Currency::CNY);
            e
        };
        let good = envelope("A-1", Some(500), &sent.expected.request_hash).sign(&key);
        assert_eq!(sent.open(&good, &pk).unwrap().get("code"), "APPROVED");
        // Signed by another terminal.
        let stranger = TerminalKey::from_secret(&[1; 32]);
        let forged = envelope("A-1", Some(500), &sent.expected.request_hash).sign(&stranger);
        assert!(matches!(
            sent.open(&forged, &pk),
            Err(ResultMismatch::Unverified(_))
        ));
        let other_order = envelope("A-2", Some(500), &sent.expected.request_hash).sign(&key);
        assert!(matches!(
            sent.open(&other_order, &pk),
            Err(ResultMismatch::OtherOrder { .. })
        ));
        let other_amount = envelope("A-1", Some(501), &sent.expected.request_hash).sign(&key);
        assert!(matches!(
            sent.open(&other_amount, &pk),
            Err(ResultMismatch::OtherAmount { .. })
        ));
        // A refusal that names no amount still answers the request.
        let refused = envelope("A-1", None, &sent.expected.request_hash).sign(&key);
        assert!(sent.open(&refused, &pk).is_ok());
    }
}
