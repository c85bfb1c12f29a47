//! Handoff requests: strict parsing of intent extras and `smartpos://pay/v1` deep links.

use crate::kinds::{PaymentMethod, RequestType, TransactionType};
use crate::money::{Currency, Money, MAX_MINOR};
use serde::{Deserialize, Serialize};

mod carriers;
use carriers::validate_callback;
pub use carriers::{callback_if_valid, deep_link_pairs, intent_pairs, pairs_to_deep_link};

/// Deep-link prefix of protocol v1.
pub const DEEP_LINK_PREFIX: &str = "smartpos://pay/v1";
/// Prefix of intent extra keys (`smartpos.type`, `smartpos.amount`, ...).
pub const EXTRA_PREFIX: &str = "smartpos.";
/// Longest deep link accepted.
pub const MAX_URI_LEN: usize = 4096;
/// Most pairs accepted.
pub const MAX_PAIRS: usize = 32;
/// Longest value accepted (callback); other fields have tighter limits.
pub const MAX_VALUE_LEN: usize = 512;
/// How far in the future `expires` may be (seconds).
pub const MAX_EXPIRY_WINDOW: i64 = 600;

impl RequestType {
    fn amount_rule(self) -> Presence {
        use TransactionType::*;
        match self.transaction() {
            Some(Sale | Refund | Preauth | PreauthComplete) => Presence::Required,
            Some(Void | PreauthVoid | CompleteVoid) => Presence::Optional,
            Some(Balance) | None => Presence::Forbidden,
        }
    }
    fn orig_ref_rule(self) -> Presence {
        use TransactionType::*;
        match self.transaction() {
            Some(Void | Refund | PreauthComplete | CompleteVoid | PreauthVoid) => {
                Presence::Required
            }
            Some(Sale | Preauth | Balance) | None => Presence::Forbidden,
        }
    }
    fn orig_auth_rule(self) -> Presence {
        use TransactionType::*;
        match self.transaction() {
            Some(PreauthComplete | PreauthVoid) => Presence::Required,
            _ => Presence::Forbidden,
        }
    }
}

#[derive(PartialEq)]
enum Presence {
    Required,
    Optional,
    Forbidden,
}

/// Who prints the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintBy {
    /// The acquiring app prints (default).
    Acquirer,
    /// The merchant app prints from the result.
    Merchant,
    /// Nobody prints.
    Nobody,
}

/// Which carrier brought the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// Explicit intent extras (`startActivityForResult`): the result goes back as intent extras.
    Intent,
    /// A deep link: the result goes to the `callback` deep link.
    DeepLink,
}

/// A parsed, valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    /// Type.
    pub kind: RequestType,
    /// Amount, where the type takes one.
    pub amount: Option<Money>,
    /// Merchant order id.
    pub order: String,
    /// Retrieval reference (F37) of the original transaction.
    pub orig_ref: Option<String>,
    /// Authorization code of the original pre-authorization.
    pub orig_auth: Option<String>,
    /// Payment method (sale only).
    pub method: Option<PaymentMethod>,
    /// Who prints.
    pub print: PrintBy,
    /// Free text for the receipt.
    pub memo: Option<String>,
    /// Time limit for the customer, seconds.
    pub timeout_secs: Option<u32>,
    /// Anti-replay nonce.
    pub nonce: String,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Where a deep-link result goes.
    pub callback: Option<String>,
    /// Hash binding the result to exactly this request.
    pub request_hash: String,
}

/// What is wrong with a request. Each maps to result code `ERROR_MALFORMED` unless noted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not a `smartpos://pay/v1?` link, bad percent-encoding, bad UTF-8, or too long.
    #[error("request encoding is invalid: {0}")]
    BadEncoding(String),
    /// `v` or the deep-link path names a version this terminal does not speak.
    #[error("unsupported protocol version {0:?}")]
    UnknownVersion(String),
    /// A required field is absent.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field appears twice.
    #[error("duplicate field {0}")]
    DuplicateField(String),
    /// A field this version does not define (extensions use an `x-` prefix).
    #[error("unknown field {0}")]
    UnknownField(String),
    /// A field this request type does not take.
    #[error("field {0} is not allowed for this request type")]
    FieldNotAllowed(&'static str),
    /// A value of the wrong form.
    #[error("field {field} is invalid: {why}")]
    BadValue {
        /// Field.
        field: &'static str,
        /// Why.
        why: &'static str,
    },
    /// Amount zero.
    #[error("amount must be greater than zero")]
    AmountZero,
    /// Amount beyond 999999999999 minor units.
    #[error("amount exceeds the maximum")]
    AmountTooLarge,
    /// `expires` is in the past (result code `REFUSED_EXPIRED`).
    #[error("request expired")]
    Expired,
}

impl RequestError {
    /// The field concerned, if any.
    pub fn field(&self) -> Option<String> {
        match self {
            RequestError::MissingField(f)
            | RequestError::FieldNotAllowed(f)
            | RequestError::BadValue { field: f, .. } => Some(f.to_string()),
            RequestError::DuplicateField(f) | RequestError::UnknownField(f) => Some(f.clone()),
            RequestError::AmountZero | RequestError::AmountTooLarge => Some("amount".into()),
            _ => None,
        }
    }
}

const KNOWN: [&str; 15] = [
    "v",
    "type",
    "amount",
    "currency",
    "order",
    "orig_ref",
    "orig_auth",
    "method",
    "print",
    "memo",
    "timeout",
    "nonce",
    "expires",
    "callback",
    "x-",
];

/// The longest `orig_ref`: card references are 12 characters, QR references up to 32.
pub const ORIG_REF_MAX: usize = 32;

/// An extension key: `x-` then 1 to 40 of `a-z 0-9 - _ .`. Keys never contain `:`, `=`, `&`
/// or a line break, so the canonical encoding (and the request hash) stays injective.
pub fn is_extension_key(k: &str) -> bool {
    k.strip_prefix("x-").is_some_and(|rest| {
        (1..=40).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    })
}

fn token(
    s: &str,
    field: &'static str,
    min: usize,
    max: usize,
    extra: &[u8],
) -> Result<String, RequestError> {
    if s.len() < min || s.len() > max {
        return Err(RequestError::BadValue {
            field,
            why: "length out of range",
        });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err(RequestError::BadValue {
            field,
            why: "characters not allowed",
        });
    }
    Ok(s.to_string())
}

fn decimal(s: &str, field: &'static str) -> Result<u64, RequestError> {
    if s.is_empty() || s.len() > 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::BadValue {
            field,
            why: "not a decimal integer",
        });
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(RequestError::BadValue {
            field,
            why: "leading zero",
        });
    }
    s.parse().map_err(|_| RequestError::BadValue {
        field,
        why: "not a decimal integer",
    })
}

impl HandoffRequest {
    /// Parses a deep link.
    ///
    /// ```
    /// use smartpos_handoff::{HandoffRequest, RequestType, TransactionType};
    /// let uri = "smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A-1\
    ///            &nonce=0123456789abcdef&expires=1700000300&callback=shop%3A%2F%2Fpaid";
    /// let r = HandoffRequest::from_deep_link(uri, 1_700_000_000).unwrap();
    /// assert_eq!(r.kind, RequestType::Transaction(TransactionType::Sale));
    /// assert_eq!(r.amount.unwrap().minor(), 1234);
    /// assert_eq!(r.callback.as_deref(), Some("shop://paid"));
    /// ```
    pub fn from_deep_link(uri: &str, now_unix: i64) -> Result<Self, RequestError> {
        Self::from_pairs(&deep_link_pairs(uri)?, Carrier::DeepLink, now_unix)
    }

    /// Parses intent extras (`smartpos.*` keys).
    pub fn from_intent_extras(
        extras: &[(String, String)],
        now_unix: i64,
    ) -> Result<Self, RequestError> {
        Self::from_pairs(&intent_pairs(extras), Carrier::Intent, now_unix)
    }

    /// Parses decoded pairs from either carrier.
    pub fn from_pairs(
        pairs: &[(String, String)],
        carrier: Carrier,
        now_unix: i64,
    ) -> Result<Self, RequestError> {
        if pairs.len() > MAX_PAIRS {
            return Err(RequestError::BadEncoding(format!(
                "more than {MAX_PAIRS} parameters"
            )));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in pairs {
            if seen.contains(&k.as_str()) {
                return Err(RequestError::DuplicateField(k.chars().take(32).collect()));
            }
            seen.push(k);
            if !(KNOWN.contains(&k.as_str()) || is_extension_key(k)) {
                return Err(RequestError::UnknownField(k.chars().take(32).collect()));
            }
            if v.len() > MAX_VALUE_LEN {
                return Err(RequestError::BadEncoding(format!(
                    "value of {} too long",
                    k.chars().take(32).collect::<String>()
                )));
            }
        }
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        let version = get("v").ok_or(RequestError::MissingField("v"))?;
        if version != "1" {
            return Err(RequestError::UnknownVersion(
                version.chars().take(16).collect(),
            ));
        }
        let kind = get("type").ok_or(RequestError::MissingField("type"))?;
        let kind = RequestType::parse(kind).ok_or(RequestError::BadValue {
            field: "type",
            why: "unknown type",
        })?;
        let order = token(
            get("order").ok_or(RequestError::MissingField("order"))?,
            "order",
            1,
            32,
            b"-_.",
        )?;
        let nonce = token(
            get("nonce").ok_or(RequestError::MissingField("nonce"))?,
            "nonce",
            16,
            64,
            b"-_",
        )?;
        let expires = decimal(
            get("expires").ok_or(RequestError::MissingField("expires"))?,
            "expires",
        )? as i64;
        if expires > now_unix + MAX_EXPIRY_WINDOW {
            return Err(RequestError::BadValue {
                field: "expires",
                why: "more than 600 s ahead",
            });
        }

        let amount = match (kind.amount_rule(), get("amount"), get("currency")) {
            (Presence::Forbidden, Some(_), _) => {
                return Err(RequestError::FieldNotAllowed("amount"))
            }
            (Presence::Forbidden, None, Some(_)) => {
                return Err(RequestError::FieldNotAllowed("currency"))
            }
            (Presence::Required, None, _) => return Err(RequestError::MissingField("amount")),
            (_, Some(_), None) => return Err(RequestError::MissingField("currency")),
            (_, None, Some(_)) => return Err(RequestError::MissingField("amount")),
            (_, Some(a), Some(c)) => {
                let minor = decimal(a, "amount").map_err(|e| match e {
                    RequestError::BadValue {
                        why: "not a decimal integer",
                        ..
                    } if a.len() > 15 => RequestError::AmountTooLarge,
                    other => other,
                })?;
                if minor == 0 {
                    return Err(RequestError::AmountZero);
                }
                if minor > MAX_MINOR {
                    return Err(RequestError::AmountTooLarge);
                }
                let cur = Currency::from_code(c).ok_or(RequestError::BadValue {
                    field: "currency",
                    why: "unsupported currency",
                })?;
                Some(Money::from_minor(minor, cur).map_err(|_| RequestError::AmountTooLarge)?)
            }
            (_, None, None) => None,
        };
        let opt = |field: &'static str,
                   rule: Presence,
                   (min, max): (usize, usize)|
         -> Result<Option<String>, RequestError> {
            match (rule, get(field)) {
                (Presence::Forbidden, Some(_)) => Err(RequestError::FieldNotAllowed(field)),
                (Presence::Required, None) => Err(RequestError::MissingField(field)),
                (_, Some(v)) => token(v, field, min, max, b"").map(Some),
                (_, None) => Ok(None),
            }
        };
        // Card references are 12 characters (F37); QR references (gateway transaction ids)
        // are longer: every reference the terminal hands out is accepted back.
        let orig_ref = opt("orig_ref", kind.orig_ref_rule(), (12, ORIG_REF_MAX))?;
        let orig_auth = opt("orig_auth", kind.orig_auth_rule(), (6, 6))?;
        let method = match get("method") {
            None => None,
            Some(_) if kind != RequestType::Transaction(TransactionType::Sale) => {
                return Err(RequestError::FieldNotAllowed("method"))
            }
            Some("card") => Some(PaymentMethod::Card),
            Some("qr_scan") => Some(PaymentMethod::QrScan),
            Some("qr_display") => Some(PaymentMethod::QrDisplay),
            Some(_) => {
                return Err(RequestError::BadValue {
                    field: "method",
                    why: "unknown method",
                })
            }
        };
        let print = match get("print") {
            None | Some("acquirer") => PrintBy::Acquirer,
            Some("merchant") => PrintBy::Merchant,
            Some("none") => PrintBy::Nobody,
            Some(_) => {
                return Err(RequestError::BadValue {
                    field: "print",
                    why: "unknown value",
                })
            }
        };
        let memo = match get("memo") {
            Some(m) if m.chars().count() > 64 => {
                return Err(RequestError::BadValue {
                    field: "memo",
                    why: "longer than 64 characters",
                })
            }
            Some(m) if m.chars().any(char::is_control) => {
                return Err(RequestError::BadValue {
                    field: "memo",
                    why: "control characters",
                })
            }
            m => m.map(str::to_string),
        };
        let timeout_secs = match get("timeout") {
            None => None,
            Some(t) => match decimal(t, "timeout")? {
                n @ 10..=300 => Some(n as u32),
                _ => {
                    return Err(RequestError::BadValue {
                        field: "timeout",
                        why: "must be 10 to 300 seconds",
                    })
                }
            },
        };
        let callback = match (carrier, get("callback")) {
            (Carrier::Intent, Some(_)) => return Err(RequestError::FieldNotAllowed("callback")),
            (Carrier::DeepLink, None) => return Err(RequestError::MissingField("callback")),
            (Carrier::DeepLink, Some(c)) => Some(validate_callback(c)?),
            (Carrier::Intent, None) => None,
        };
        if expires <= now_unix {
            return Err(RequestError::Expired);
        }
        Ok(HandoffRequest {
            kind,
            amount,
            order,
            orig_ref,
            orig_auth,
            method,
            print,
            memo,
            timeout_secs,
            nonce,
            expires,
            callback,
            request_hash: crate::canonical::request_hash(pairs),
        })
    }
}

#[cfg(test)]
mod tests;
