//! The canonical encoding that request hashes and result signatures are computed over.
//!
//! `TAG "\n"` followed, for each (key, value) in order, by
//! `key ":" decimal-byte-length(value) ":" value "\n"`. Length prefixes make it unambiguous
//! whatever the values contain.

/// Encodes pairs in the given order under `tag`.
///
/// ```
/// use smartpos_core::handoff::canonical::encode;
/// let e = encode("t", &[("a", "x:y"), ("b", "")]);
/// assert_eq!(e, b"t\na:3:x:y\nb:0:\n");
/// ```
pub fn encode(tag: &str, pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>(),
    );
    out.extend_from_slice(tag.as_bytes());
    out.push(b'\n');
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(b':');
        out.extend_from_slice(v.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// The request hash: SHA-256 of the canonical encoding (tag `smartpos-request-v1`) of the pairs
/// as received, sorted by key then value.
pub fn request_hash(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort();
    sha256_hex(&encode("smartpos-request-v1", &sorted))
}
