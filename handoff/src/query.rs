//! The one query-string parser of the handoff: request deep links and result callback links
//! are split the same way (RFC 3986 percent-encoding; `+` is a literal plus; a malformed escape
//! or text that is not UTF-8 is refused, never passed through).

/// Why a query string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A parameter has no `=`.
    #[error("parameter without '='")]
    NoEquals,
    /// A `%` not followed by two hex digits.
    #[error("malformed percent escape")]
    BadEscape,
    /// The decoded text is not UTF-8.
    #[error("percent-decoded text is not UTF-8")]
    NotUtf8,
}

/// Splits `a=1&b=x%20y` into decoded pairs, in order; empty parameters (`&&`) are skipped.
///
/// ```
/// use smartpos_handoff::query::{parse, QueryError};
/// assert_eq!(parse("a=1&b=x%20y+z").unwrap(), vec![("a".into(), "1".into()), ("b".into(), "x y+z".into())]);
/// assert_eq!(parse("a=%G1"), Err(QueryError::BadEscape));
/// assert_eq!(parse("a"), Err(QueryError::NoEquals));
/// ```
pub fn parse(query: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or(QueryError::NoEquals)?;
        pairs.push((decode(k)?, decode(v)?));
    }
    Ok(pairs)
}

fn decode(s: &str) -> Result<String, QueryError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return Err(QueryError::BadEscape);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| QueryError::NotUtf8)
}
