//! Handoff requests: strict parsing of intent extras and `smartpos://pay/v1` deep links.

use crate::money::{Currency, Money, MAX_MINOR};
use serde::{Deserialize, Serialize};

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

/// Request types: the bank-card set, settlement and query. QR payments are `sale` with a QR method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestType {
    /// Purchase.
    Sale,
    /// Void of a sale in the current batch.
    Void,
    /// Refund of an earlier sale.
    Refund,
    /// Pre-authorization.
    Preauth,
    /// Void of a pre-authorization.
    PreauthVoid,
    /// Pre-authorization completion.
    PreauthComplete,
    /// Void of a completion.
    CompleteVoid,
    /// Balance inquiry.
    Balance,
    /// Batch settlement.
    Settle,
    /// Query the result of an earlier order.
    Query,
}

const TYPES: [(RequestType, &str); 10] = [
    (RequestType::Sale, "sale"),
    (RequestType::Void, "void"),
    (RequestType::Refund, "refund"),
    (RequestType::Preauth, "preauth"),
    (RequestType::PreauthVoid, "preauth_void"),
    (RequestType::PreauthComplete, "preauth_complete"),
    (RequestType::CompleteVoid, "complete_void"),
    (RequestType::Balance, "balance"),
    (RequestType::Settle, "settle"),
    (RequestType::Query, "query"),
];

impl RequestType {
    /// Wire name.
    pub fn name(self) -> &'static str {
        TYPES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .expect("every type is named")
    }
    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        TYPES.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }
    /// Every wire name, in the protocol's order.
    ///
    /// ```
    /// use smartpos_handoff::RequestType;
    /// assert!(RequestType::names().all(|n| RequestType::parse(n).is_some()));
    /// ```
    pub fn names() -> impl Iterator<Item = &'static str> {
        TYPES.iter().map(|(_, n)| *n)
    }
    fn amount_rule(self) -> Presence {
        use RequestType::*;
        match self {
            Sale | Refund | Preauth | PreauthComplete => Presence::Required,
            Void | PreauthVoid | CompleteVoid => Presence::Optional,
            Balance | Settle | Query => Presence::Forbidden,
        }
    }
    fn orig_ref_rule(self) -> Presence {
        use RequestType::*;
        match self {
            Void | Refund | PreauthComplete | CompleteVoid | PreauthVoid => Presence::Required,
            _ => Presence::Forbidden,
        }
    }
    fn orig_auth_rule(self) -> Presence {
        use RequestType::*;
        match self {
            PreauthComplete | PreauthVoid => Presence::Required,
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

/// How the customer pays; absent means the customer chooses on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Bank card.
    Card,
    /// The terminal scans the customer's payment code.
    QrScan,
    /// The terminal shows a code the customer scans.
    QrDisplay,
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
    pub method: Option<Method>,
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

/// Splits a deep link into decoded pairs (RFC 3986 percent-encoding; `+` is a literal plus).
pub fn deep_link_pairs(uri: &str) -> Result<Vec<(String, String)>, RequestError> {
    if uri.len() > MAX_URI_LEN {
        return Err(RequestError::BadEncoding(format!(
            "longer than {MAX_URI_LEN} bytes"
        )));
    }
    let rest = uri
        .strip_prefix("smartpos://pay/")
        .ok_or_else(|| RequestError::BadEncoding("not a smartpos://pay/ link".into()))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != "v1" {
        return Err(RequestError::UnknownVersion(
            path.chars().take(16).collect(),
        ));
    }
    if query.contains('#') {
        return Err(RequestError::BadEncoding("fragment not allowed".into()));
    }
    super::query::parse(query).map_err(|e| RequestError::BadEncoding(e.to_string()))
}

/// Intent extras with the `smartpos.` prefix, as pairs without it. Other extras are ignored
/// (Android adds its own).
pub fn intent_pairs(extras: &[(String, String)]) -> Vec<(String, String)> {
    extras
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(EXTRA_PREFIX)
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect()
}

impl HandoffRequest {
    /// Parses a deep link.
    ///
    /// ```
    /// use smartpos_handoff::{HandoffRequest, RequestType};
    /// let uri = "smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A-1\
    ///            &nonce=0123456789abcdef&expires=1700000300&callback=shop%3A%2F%2Fpaid";
    /// let r = HandoffRequest::from_deep_link(uri, 1_700_000_000).unwrap();
    /// assert_eq!(r.kind, RequestType::Sale);
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
            Some(_) if kind != RequestType::Sale => {
                return Err(RequestError::FieldNotAllowed("method"))
            }
            Some("card") => Some(Method::Card),
            Some("qr_scan") => Some(Method::QrScan),
            Some("qr_display") => Some(Method::QrDisplay),
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
            request_hash: super::canonical::request_hash(pairs),
        })
    }
}

/// The callback if it is valid on its own (used to answer even a malformed request).
pub fn callback_if_valid(c: &str) -> Option<String> {
    validate_callback(c).ok()
}

/// Characters percent-encoded in deep-link keys and values: all but RFC 3986 unreserved.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl HandoffRequest {
    /// The request's fields as (key, value) pairs, as a merchant app sends them.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = vec![
            ("v".into(), "1".into()),
            ("type".into(), self.kind.name().into()),
        ];
        if let Some(a) = &self.amount {
            p.push(("amount".into(), a.minor().to_string()));
            p.push(("currency".into(), a.currency().code().into()));
        }
        p.push(("order".into(), self.order.clone()));
        let mut opt = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                p.push((k.into(), v.clone()));
            }
        };
        opt("orig_ref", &self.orig_ref);
        opt("orig_auth", &self.orig_auth);
        opt(
            "method",
            &self.method.map(|m| match m {
                Method::Card => "card".to_string(),
                Method::QrScan => "qr_scan".into(),
                Method::QrDisplay => "qr_display".into(),
            }),
        );
        opt(
            "print",
            &match self.print {
                PrintBy::Acquirer => None,
                PrintBy::Merchant => Some("merchant".to_string()),
                PrintBy::Nobody => Some("none".to_string()),
            },
        );
        opt("memo", &self.memo);
        opt("timeout", &self.timeout_secs.map(|t| t.to_string()));
        opt("nonce", &Some(self.nonce.clone()));
        opt("expires", &Some(self.expires.to_string()));
        opt("callback", &self.callback);
        p
    }

    /// The request as a `smartpos://pay/v1?...` deep link.
    pub fn to_deep_link(&self) -> String {
        pairs_to_deep_link(&self.to_pairs())
    }
}

/// `smartpos://pay/v1?` followed by the percent-encoded pairs, in order.
pub fn pairs_to_deep_link(pairs: &[(String, String)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, COMPONENT),
                percent_encoding::utf8_percent_encode(v, COMPONENT)
            )
        })
        .collect();
    format!("{DEEP_LINK_PREFIX}?{}", q.join("&"))
}

fn validate_callback(c: &str) -> Result<String, RequestError> {
    let bad = |why| RequestError::BadValue {
        field: "callback",
        why,
    };
    let (scheme, rest) = c.split_once("://").ok_or(bad("not a URI with a scheme"))?;
    if scheme.is_empty()
        || !scheme.starts_with(|ch: char| ch.is_ascii_alphabetic())
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(bad("invalid scheme"));
    }
    if matches!(
        scheme.to_ascii_lowercase().as_str(),
        "smartpos" | "http" | "https" | "file" | "content" | "intent" | "javascript"
    ) {
        return Err(bad("scheme not allowed"));
    }
    if rest.contains(['?', '#']) || rest.chars().any(|ch| ch.is_control() || ch == ' ') {
        return Err(bad("must have no query, fragment or spaces"));
    }
    Ok(c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000;

    fn base() -> Vec<(String, String)> {
        [
            ("v", "1"),
            ("type", "sale"),
            ("amount", "1234"),
            ("currency", "CNY"),
            ("order", "A-1"),
            ("nonce", "0123456789abcdef"),
            ("expires", "1700000300"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn with(mut p: Vec<(String, String)>, k: &str, v: &str) -> Vec<(String, String)> {
        p.retain(|(pk, _)| pk != k);
        p.push((k.into(), v.into()));
        p
    }

    fn without(mut p: Vec<(String, String)>, k: &str) -> Vec<(String, String)> {
        p.retain(|(pk, _)| pk != k);
        p
    }

    fn parse(p: &[(String, String)]) -> Result<HandoffRequest, RequestError> {
        HandoffRequest::from_pairs(p, Carrier::Intent, NOW)
    }

    #[test]
    fn typed_errors_for_malformed_requests() {
        assert!(parse(&base()).is_ok());
        assert_eq!(
            parse(&without(base(), "order")),
            Err(RequestError::MissingField("order"))
        );
        let mut dup = base();
        dup.push(("order".into(), "B".into()));
        assert_eq!(
            parse(&dup),
            Err(RequestError::DuplicateField("order".into()))
        );
        assert_eq!(
            parse(&with(base(), "colour", "red")),
            Err(RequestError::UnknownField("colour".into()))
        );
        assert!(
            parse(&with(base(), "x-shop-note", "ok")).is_ok(),
            "x- extensions are allowed"
        );
        assert_eq!(
            parse(&with(base(), "v", "2")),
            Err(RequestError::UnknownVersion("2".into()))
        );
        assert_eq!(
            parse(&with(base(), "amount", "0")),
            Err(RequestError::AmountZero)
        );
        assert!(matches!(
            parse(&with(base(), "amount", "-5")),
            Err(RequestError::BadValue {
                field: "amount",
                ..
            })
        ));
        assert!(matches!(
            parse(&with(base(), "amount", "12.34")),
            Err(RequestError::BadValue {
                field: "amount",
                ..
            })
        ));
        assert_eq!(
            parse(&with(base(), "amount", "1000000000000")),
            Err(RequestError::AmountTooLarge)
        );
        assert_eq!(
            parse(&with(base(), "amount", &"9".repeat(400))),
            Err(RequestError::AmountTooLarge)
        );
        assert!(matches!(
            parse(&with(base(), "amount", "0012")),
            Err(RequestError::BadValue {
                why: "leading zero",
                ..
            })
        ));
        assert!(matches!(
            parse(&with(base(), "currency", "XXX")),
            Err(RequestError::BadValue {
                field: "currency",
                ..
            })
        ));
        assert!(matches!(
            parse(&with(base(), "type", "steal")),
            Err(RequestError::BadValue { field: "type", .. })
        ));
        assert_eq!(
            parse(&with(base(), "expires", "1699999999")),
            Err(RequestError::Expired)
        );
        assert!(matches!(
            parse(&with(base(), "expires", "1800000000")),
            Err(RequestError::BadValue {
                field: "expires",
                ..
            })
        ));
        assert!(matches!(
            parse(&with(base(), "nonce", "short")),
            Err(RequestError::BadValue { field: "nonce", .. })
        ));
        assert!(matches!(
            parse(&with(base(), "memo", "a\u{0}b")),
            Err(RequestError::BadValue { field: "memo", .. })
        ));
        assert_eq!(
            parse(&with(base(), "callback", "shop://x")),
            Err(RequestError::FieldNotAllowed("callback"))
        );
        assert!(matches!(
            parse(&with(base(), "timeout", "5")),
            Err(RequestError::BadValue {
                field: "timeout",
                ..
            })
        ));
        let big: Vec<_> = (0..40)
            .map(|i| (format!("x-{i}"), "v".to_string()))
            .collect();
        assert!(matches!(parse(&big), Err(RequestError::BadEncoding(_))));
    }

    #[test]
    fn per_type_field_rules() {
        let void = with(without(base(), "amount"), "type", "void");
        let void = without(void, "currency");
        assert_eq!(parse(&void), Err(RequestError::MissingField("orig_ref")));
        assert!(parse(&with(void.clone(), "orig_ref", "000000000001")).is_ok());
        let bal = without(
            without(with(base(), "type", "balance"), "amount"),
            "currency",
        );
        assert!(parse(&bal).is_ok());
        assert_eq!(
            parse(&with(bal.clone(), "amount", "1")),
            Err(RequestError::FieldNotAllowed("amount"))
        );
        assert_eq!(
            parse(&with(bal, "method", "card")),
            Err(RequestError::FieldNotAllowed("method"))
        );
        let pc = with(
            with(base(), "type", "preauth_complete"),
            "orig_ref",
            "000000000001",
        );
        assert_eq!(parse(&pc), Err(RequestError::MissingField("orig_auth")));
        assert!(parse(&with(pc, "orig_auth", "123456")).is_ok());
    }

    #[test]
    fn deep_link_encoding_errors() {
        let ok = "smartpos://pay/v1?v=1&type=sale&amount=1&currency=CNY&order=A&nonce=0123456789abcdef&expires=1700000300&callback=shop://r";
        assert!(HandoffRequest::from_deep_link(ok, NOW).is_ok());
        assert_eq!(
            HandoffRequest::from_deep_link(&ok.replace("/v1?", "/v2?"), NOW),
            Err(RequestError::UnknownVersion("v2".into()))
        );
        assert!(matches!(
            HandoffRequest::from_deep_link("http://pay/v1?v=1", NOW),
            Err(RequestError::BadEncoding(_))
        ));
        assert!(matches!(
            HandoffRequest::from_deep_link(&format!("{ok}&memo=%FF"), NOW),
            Err(RequestError::BadEncoding(_))
        ));
        assert!(matches!(
            HandoffRequest::from_deep_link(&format!("{ok}&memo=%4"), NOW),
            Err(RequestError::BadEncoding(_))
        ));
        assert!(matches!(
            HandoffRequest::from_deep_link(&format!("{ok}&memo"), NOW),
            Err(RequestError::BadEncoding(_))
        ));
        assert!(matches!(
            HandoffRequest::from_deep_link(&format!("{ok}{}", "&x-a=b".repeat(800)), NOW),
            Err(RequestError::BadEncoding(_))
        ));
        assert_eq!(
            HandoffRequest::from_deep_link(&ok.replace("&callback=shop://r", ""), NOW),
            Err(RequestError::MissingField("callback"))
        );
        for bad in [
            "https://evil.example/x",
            "shop://r?x=1",
            "noscheme",
            "smartpos://pay/v1",
        ] {
            let u = ok.replace(
                "shop://r",
                &percent_encoding::utf8_percent_encode(bad, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
            assert!(
                matches!(
                    HandoffRequest::from_deep_link(&u, NOW),
                    Err(RequestError::BadValue {
                        field: "callback",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn same_request_same_hash_any_order() {
        let a = parse(&base()).unwrap();
        let mut rev = base();
        rev.reverse();
        assert_eq!(parse(&rev).unwrap().request_hash, a.request_hash);
        assert_ne!(
            parse(&with(base(), "amount", "1235")).unwrap().request_hash,
            a.request_hash
        );
    }

    fn arb_request() -> impl Strategy<Value = HandoffRequest> {
        let kind = proptest::sample::select(TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>());
        (
            kind,
            1u64..=MAX_MINOR,
            "[A-Za-z0-9_.-]{1,32}",
            "[A-Za-z0-9]{12}",
            "[A-Za-z0-9]{6}",
            proptest::option::of(proptest::sample::select(vec![
                Method::Card,
                Method::QrScan,
                Method::QrDisplay,
            ])),
            proptest::sample::select(vec![PrintBy::Acquirer, PrintBy::Merchant, PrintBy::Nobody]),
            proptest::option::of("[^\\p{Cc}]{0,64}"),
            proptest::option::of(10u32..=300),
            "[A-Za-z0-9_-]{16,64}",
            1i64..=MAX_EXPIRY_WINDOW,
            "[a-z][a-z0-9+.-]{0,10}://[a-zA-Z0-9/_.-]{0,40}",
        )
            .prop_map(
                |(
                    kind,
                    minor,
                    order,
                    orig_ref,
                    orig_auth,
                    method,
                    print,
                    memo,
                    timeout,
                    nonce,
                    ahead,
                    cb,
                )| {
                    let amount = (kind.amount_rule() != Presence::Forbidden)
                        .then(|| Money::from_minor(minor, Currency::CNY).unwrap());
                    let mut r = HandoffRequest {
                        kind,
                        amount,
                        order,
                        orig_ref: (kind.orig_ref_rule() == Presence::Required).then_some(orig_ref),
                        orig_auth: (kind.orig_auth_rule() == Presence::Required)
                            .then_some(orig_auth),
                        method: if kind == RequestType::Sale {
                            method
                        } else {
                            None
                        },
                        print,
                        memo: memo.filter(|m| m.chars().count() <= 64),
                        timeout_secs: timeout,
                        nonce,
                        expires: NOW + ahead,
                        callback: Some(cb),
                        request_hash: String::new(),
                    };
                    r.request_hash = crate::canonical::request_hash(&r.to_pairs());
                    r
                },
            )
            .prop_filter("callback scheme allowed", |r| {
                callback_if_valid(r.callback.as_deref().unwrap()).is_some()
            })
    }

    proptest! {
        #[test]
        fn request_encoding_round_trips(r in arb_request()) {
            let back = HandoffRequest::from_deep_link(&r.to_deep_link(), NOW).unwrap();
            prop_assert_eq!(&back, &r);
            let mut intent = r.clone();
            intent.callback = None;
            let extras: Vec<(String, String)> = intent.to_pairs().into_iter().map(|(k, v)| (format!("smartpos.{k}"), v)).collect();
            let mut back = HandoffRequest::from_intent_extras(&extras, NOW).unwrap();
            back.request_hash = String::new();
            intent.request_hash = String::new();
            prop_assert_eq!(back, intent);
        }

        #[test]
        fn deep_link_parser_never_panics(s in "\\PC{0,300}") {
            let _ = HandoffRequest::from_deep_link(&format!("smartpos://pay/v1?{s}"), NOW);
            let _ = HandoffRequest::from_deep_link(&s, NOW);
        }
    }
}
