//! The canonical encoding that request hashes and result signatures are computed over.
//!
//! `TAG "\n"` followed, for each (key, value) in order, by
//! `key ":" decimal-byte-length(value) ":" value "\n"`. Length prefixes make it unambiguous
//! whatever the values contain.

/// Encodes pairs in the given order under `tag`.
///
/// ```
/// use smartpos_handoff::canonical::encode;
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
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
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

#[cfg(test)]
mod injectivity {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(vec!["v", "type", "amount", "order", "nonce", "callback"])
                .prop_map(str::to_string),
            "x-[a-z0-9._-]{1,6}",
        ]
    }

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        // Values may hold anything, separators included.
        proptest::collection::vec((key(), "[a-z0-9:=&\n]{0,6}"), 0..5)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Two different lists of (key, value) pairs, with keys as the parser admits them,
        /// never share a request hash.
        #[test]
        fn different_pair_lists_never_hash_alike(a in pairs(), b in pairs()) {
            for (k, _) in a.iter().chain(&b) {
                prop_assert!(
                    crate::request::is_extension_key(k) || !k.starts_with("x-")
                );
            }
            let (mut sa, mut sb) = (a.clone(), b.clone());
            sa.sort();
            sb.sort();
            if sa != sb {
                prop_assert_ne!(request_hash(&a), request_hash(&b));
            }
        }
    }

    #[test]
    fn the_reported_colliding_pair_is_refused_by_the_parser() {
        assert!(!crate::request::is_extension_key("x-a:1:1\nx-b"));
        assert!(!crate::request::is_extension_key("x-A"));
        assert!(crate::request::is_extension_key("x-shop-note"));
    }
}
