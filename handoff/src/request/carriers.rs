//! The two carriers of a request: `smartpos://pay/v1` deep links (RFC 3986 percent-encoding)
//! and intent extras (`smartpos.*` keys), and the callback a deep link names.

use super::{HandoffRequest, PrintBy, RequestError, DEEP_LINK_PREFIX, EXTRA_PREFIX, MAX_URI_LEN};

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
    crate::query::parse(query).map_err(|e| RequestError::BadEncoding(e.to_string()))
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
        opt("method", &self.method.map(|m| m.name().to_string()));
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

pub(super) fn validate_callback(c: &str) -> Result<String, RequestError> {
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
