//! The bank's policy, on top of Android's verdict.
//!
//! [`crate::Apk::verify`] answers what Android at an SDK level decides (it verifies every
//! algorithm Android accepts). The bank refuses more, each refusal by a named [`Rule`]:
//!
//! | rule | refuses |
//! |---|---|
//! | `no-dsa` | a signature by a DSA key |
//! | `rsa-2048` | an RSA key below 2048 bits |
//! | `no-md5-sha1` | an APK protected only by the v1 scheme when MD5 or SHA-1 is a link of its chain (the signature's hash, or a digest of the signature file, the manifest or an entry) |
//!
//! ```
//! use smartpos_apk::crypto::{HashAlg, KeyKind, SignatureUse};
//! use smartpos_apk::policy::{check_uses, Rule};
//! let dsa = SignatureUse { key: KeyKind::Dsa { bits: 2048 }, hash: HashAlg::Sha256 };
//! assert_eq!(check_uses(false, &[dsa], &[]).unwrap_err().rule, Rule::NoDsa);
//! ```

use crate::crypto::{HashAlg, KeyKind, SignatureUse};
use crate::{Scheme, Verdict};

/// A rule of the bank's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// DSA signatures are refused.
    NoDsa,
    /// RSA keys below 2048 bits are refused.
    Rsa2048,
    /// v1-only APKs with MD5 or SHA-1 in their chain are refused.
    NoMd5Sha1,
}

impl Rule {
    /// The rule's name, as reports and docs print it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::NoDsa => "no-dsa",
            Rule::Rsa2048 => "rsa-2048",
            Rule::NoMd5Sha1 => "no-md5-sha1",
        }
    }
}

/// A refusal by the bank's policy: the rule, and what in the APK broke it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bank's policy refuses it (rule {}): {reason}", .rule.name())]
pub struct PolicyRefusal {
    /// The rule.
    pub rule: Rule,
    /// What broke it.
    pub reason: String,
}

/// The bank's verdict on an APK Android accepts.
pub fn check(v: &Verdict) -> Result<(), PolicyRefusal> {
    check_uses(v.scheme == Scheme::V1, &v.signatures, &v.v1_digests)
}

/// [`check`] on its parts: whether the scheme verified is v1, the signatures verified and the v1
/// digest algorithms.
pub fn check_uses(
    v1: bool,
    signatures: &[SignatureUse],
    v1_digests: &[HashAlg],
) -> Result<(), PolicyRefusal> {
    for s in signatures {
        match s.key {
            KeyKind::Dsa { bits } => {
                return Err(PolicyRefusal {
                    rule: Rule::NoDsa,
                    reason: format!("signed with a {bits}-bit DSA key"),
                })
            }
            KeyKind::Rsa { bits } if bits < 2048 => {
                return Err(PolicyRefusal {
                    rule: Rule::Rsa2048,
                    reason: format!("signed with a {bits}-bit RSA key"),
                })
            }
            _ => {}
        }
    }
    if v1 {
        let weak = |h: &HashAlg| matches!(h, HashAlg::Md5 | HashAlg::Sha1);
        if let Some(h) = signatures
            .iter()
            .map(|s| s.hash)
            .chain(v1_digests.iter().copied())
            .find(weak)
        {
            return Err(PolicyRefusal {
                rule: Rule::NoMd5Sha1,
                reason: format!("only the v1 scheme protects it, and with {h:?}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Curve;

    fn sig(key: KeyKind, hash: HashAlg) -> SignatureUse {
        SignatureUse { key, hash }
    }

    #[test]
    fn each_rule_refuses_what_it_names_and_nothing_else() {
        let rsa = |bits| KeyKind::Rsa { bits };
        assert!(check_uses(false, &[sig(rsa(2048), HashAlg::Sha256)], &[]).is_ok());
        assert!(check_uses(false, &[sig(rsa(16384), HashAlg::Sha512)], &[]).is_ok());
        let p521 = KeyKind::Ec { curve: Curve::P521 };
        assert!(check_uses(false, &[sig(p521, HashAlg::Sha512)], &[]).is_ok());
        assert_eq!(
            check_uses(false, &[sig(rsa(1024), HashAlg::Sha256)], &[])
                .unwrap_err()
                .rule,
            Rule::Rsa2048
        );
        // SHA-1 is refused only where the v1 scheme alone protects the APK.
        assert!(check_uses(false, &[sig(rsa(2048), HashAlg::Sha1)], &[]).is_ok());
        assert_eq!(
            check_uses(true, &[sig(rsa(2048), HashAlg::Sha256)], &[HashAlg::Sha1])
                .unwrap_err()
                .rule,
            Rule::NoMd5Sha1
        );
        assert_eq!(
            check_uses(true, &[sig(rsa(2048), HashAlg::Md5)], &[HashAlg::Sha256])
                .unwrap_err()
                .rule,
            Rule::NoMd5Sha1
        );
        assert!(check_uses(true, &[sig(rsa(2048), HashAlg::Sha256)], &[HashAlg::Sha256]).is_ok());
    }
}
