//! Admission of a request (parse, authorize, anti-replay) and the result envelope of every outcome.

use super::caller::{AllowList, CallerIdentity, CallerRefusal};
use super::canonical::{request_hash, sha256_hex};
use super::request::{deep_link_pairs, intent_pairs, Carrier, HandoffRequest, RequestError};
use super::result::{ResultCode, ResultEnvelope};
use crate::batch::{JournalEntry, TxnState};
use crate::engine::StoreFailure;
use crate::money::Currency;
use crate::payment::{Declined, Outcome, PaymentResult};
use smartpos_handoff::result::Counter;
use smartpos_handoff::RequestType;

/// A request as the acquiring app received it.
#[derive(Debug, Clone)]
pub enum RawRequest {
    /// A `smartpos://pay/v1?...` deep link.
    DeepLink(String),
    /// Intent extras (all of them; only `smartpos.*` keys are read).
    Intent(Vec<(String, String)>),
}

/// Records used nonces until they expire.
pub trait NonceStore {
    /// Records the nonce; `Ok(false)` when the caller used it before.
    fn use_nonce(
        &mut self,
        caller: &str,
        nonce: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, StoreFailure>;
}

/// An in-memory nonce store (tests; the journal is the durable one).
#[derive(Debug, Default)]
pub struct MemoryNonces(Vec<(String, String, i64)>);

impl NonceStore for MemoryNonces {
    fn use_nonce(
        &mut self,
        caller: &str,
        nonce: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, StoreFailure> {
        self.0.retain(|(_, _, e)| *e >= now);
        if self.0.iter().any(|(c, n, _)| c == caller && n == nonce) {
            return Ok(false);
        }
        self.0
            .push((caller.to_string(), nonce.to_string(), expires));
        Ok(true)
    }
}

fn refusal(
    code: ResultCode,
    caller: &CallerIdentity,
    hash: &str,
    order: &str,
    message: String,
) -> ResultEnvelope {
    let mut e = ResultEnvelope::new(code);
    e.request_hash = hash.to_string();
    e.caller = caller.package.clone();
    e.order = order.to_string();
    e.message = message;
    e
}

/// A request refused at admission: the (unsigned) result to send back, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The result envelope (a refusal or error code, and why).
    pub envelope: ResultEnvelope,
    /// The callback, when the request named a valid one.
    pub callback: Option<String>,
}

impl Refusal {
    fn boxed(envelope: ResultEnvelope, callback: Option<String>) -> Box<Self> {
        Box::new(Refusal { envelope, callback })
    }
}

/// Parses, authorizes and checks replay. On refusal returns the (unsigned) result envelope to
/// send back, plus the callback when one could be read.
///
/// ```
/// use smartpos_core::handoff::*;
/// let allow = AllowList { apps: vec![AllowedApp { package: "com.shop".into(),
///     cert_sha256: vec!["ab".repeat(32)], permissions: vec![RequestType::Transaction(TransactionType::Sale)], all_apps: false }] };
/// let caller = CallerIdentity::from_hex("com.shop", &[&"ab".repeat(32)]).unwrap();
/// let uri = "smartpos://pay/v1?v=1&type=sale&amount=100&currency=CNY&order=A1\
///            &nonce=0123456789abcdef&expires=1700000100&callback=shop%3A%2F%2Fdone";
/// let mut nonces = MemoryNonces::default();
/// assert!(admit(&RawRequest::DeepLink(uri.into()), &caller, &allow, &mut nonces, 1_700_000_000).is_ok());
/// let again = admit(&RawRequest::DeepLink(uri.into()), &caller, &allow, &mut nonces, 1_700_000_001).unwrap_err();
/// assert_eq!(again.envelope.code, ResultCode::RefusedReplay);
/// assert_eq!(again.callback.as_deref(), Some("shop://done"));
/// ```
pub fn admit(
    raw: &RawRequest,
    caller: &CallerIdentity,
    allow: &AllowList,
    nonces: &mut dyn NonceStore,
    now: i64,
) -> Result<HandoffRequest, Box<Refusal>> {
    let (pairs, carrier) = match raw {
        RawRequest::DeepLink(uri) => match deep_link_pairs(uri) {
            Ok(p) => (p, Carrier::DeepLink),
            Err(e) => {
                let code = match e {
                    RequestError::UnknownVersion(_) => ResultCode::ErrorUnsupported,
                    _ => ResultCode::ErrorMalformed,
                };
                return Err(Refusal::boxed(
                    refusal(code, caller, &sha256_hex(uri.as_bytes()), "", e.to_string()),
                    None,
                ));
            }
        },
        RawRequest::Intent(extras) => (intent_pairs(extras), Carrier::Intent),
    };
    let hash = request_hash(&pairs);
    // Echo the order id and callback only if they are well-formed on their own.
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    };
    let order = field("order")
        .filter(|o| {
            (1..=32).contains(&o.len())
                && o.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .unwrap_or("");
    let request = match HandoffRequest::from_pairs(&pairs, carrier, now) {
        Ok(r) => r,
        Err(e) => {
            let callback = if carrier == Carrier::DeepLink {
                let mut probe: Vec<(String, String)> = pairs
                    .iter()
                    .filter(|(k, _)| k == "callback")
                    .cloned()
                    .collect();
                probe.truncate(1);
                probe
                    .first()
                    .and_then(|(_, c)| super::request::callback_if_valid(c))
            } else {
                None
            };
            let code = match e {
                RequestError::Expired => ResultCode::RefusedExpired,
                RequestError::UnknownVersion(_) => ResultCode::ErrorUnsupported,
                _ => ResultCode::ErrorMalformed,
            };
            return Err(Refusal::boxed(
                refusal(code, caller, &hash, order, e.to_string()),
                callback,
            ));
        }
    };
    if let Err(r) = allow.authorize(caller, request.kind) {
        let code = match r {
            CallerRefusal::NotAllowed(_) => ResultCode::RefusedCaller,
            _ => ResultCode::RefusedPermission,
        };
        return Err(Refusal::boxed(
            refusal(code, caller, &hash, &request.order, r.to_string()),
            request.callback,
        ));
    }
    match nonces.use_nonce(&caller.package, &request.nonce, request.expires, now) {
        Ok(true) => Ok(request),
        Ok(false) => Err(Refusal::boxed(
            refusal(
                ResultCode::RefusedReplay,
                caller,
                &hash,
                &request.order,
                "nonce already used".into(),
            ),
            request.callback,
        )),
        Err(e) => Err(Refusal::boxed(
            refusal(
                ResultCode::ErrorTerminal,
                caller,
                &hash,
                &request.order,
                format!("nonce store: {e}"),
            ),
            request.callback,
        )),
    }
}

fn fill_from_result(e: &mut ResultEnvelope, r: &PaymentResult, unix_time: i64) {
    let (code, message, host_code) = match &r.outcome {
        Outcome::Approved => (
            ResultCode::Approved,
            "approved".to_string(),
            "00".to_string(),
        ),
        Outcome::Declined(Declined::Host { code, message }) => {
            (ResultCode::Declined, message.clone(), code.clone())
        }
        Outcome::Declined(d) => (ResultCode::Declined, d.to_string(), String::new()),
        Outcome::Unknown { reason } => (
            ResultCode::Unknown,
            format!("being resolved ({reason}); query this order id"),
            String::new(),
        ),
    };
    e.code = code;
    e.message = message;
    e.host_code = host_code;
    e.kind = Some(r.kind.into());
    e.amount = r.kind.moves_money().then(|| r.amount.minor());
    e.currency = Some(r.amount.currency());
    e.method = Some(r.method);
    e.wallet = r.wallet;
    e.balance = r.balance.as_ref().map(|b| {
        let minor = i64::try_from(b.amount.minor()).unwrap_or(i64::MAX);
        if b.overdrawn {
            -minor
        } else {
            minor
        }
    });
    e.masked_pan = r.masked_pan.clone().unwrap_or_default();
    e.auth_code = r.auth_code.clone().unwrap_or_default();
    e.reference = r.reference.clone().unwrap_or_default();
    e.trace = Some(Counter(r.trace));
    e.batch = Some(Counter(r.batch));
    e.terminal_id = r.terminal_id.clone();
    e.merchant_id = r.merchant_id.clone();
    e.order = r.order_id.clone();
    e.time = Some(unix_time);
}

/// The envelope of a finished payment for this request.
pub fn envelope_for_payment(
    request: &HandoffRequest,
    caller: &CallerIdentity,
    r: &PaymentResult,
    now: i64,
) -> ResultEnvelope {
    let mut e = ResultEnvelope::new(ResultCode::Unknown);
    fill_from_result(&mut e, r, now);
    e.request_hash = request.request_hash.clone();
    e.caller = caller.package.clone();
    e
}

/// The envelope answering a query (or a repeated identical request) from the journal.
pub fn envelope_for_query(
    request: &HandoffRequest,
    caller: &CallerIdentity,
    entry: Option<&JournalEntry>,
    now: i64,
) -> ResultEnvelope {
    let mut e = match entry {
        None => {
            let mut e = ResultEnvelope::new(ResultCode::NotFound);
            e.message = "no transaction with this order id for this app".into();
            e
        }
        Some(JournalEntry {
            result: Some(r),
            state,
            ..
        }) => {
            let mut e = ResultEnvelope::new(ResultCode::Unknown);
            fill_from_result(&mut e, r, now);
            if *state == TxnState::Unknown {
                e.message = "being resolved: query again later".into();
            }
            e
        }
        Some(entry) => {
            let mut e = ResultEnvelope::new(ResultCode::InProgress);
            e.kind = RequestType::parse(&entry.kind);
            e.amount = Some(entry.amount_minor);
            e.currency = Currency::from_code(&entry.currency);
            e.trace = Some(Counter(entry.trace));
            e.batch = Some(Counter(entry.batch));
            e.message = "in progress".into();
            e
        }
    };
    e.request_hash = request.request_hash.clone();
    e.caller = caller.package.clone();
    e.order = request.order.clone();
    e.time.get_or_insert(now);
    e
}
