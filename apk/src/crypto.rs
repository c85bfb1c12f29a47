//! Signature verification for every algorithm Android accepts in APK signatures, so the Android
//! verdict is Android's: `ring` where it implements the algorithm (RSA 2048..=8192 bits, ECDSA
//! P-256/P-384 with SHA-256/SHA-384), RustCrypto otherwise (RSA of other sizes, ECDSA P-521 and
//! other hashes, DSA, MD5 and SHA-224). What the bank refuses on top (DSA, short RSA keys, MD5 and
//! SHA-1) is its policy, judged from the [`SignatureUse`] each verification returns
//! (`crate::policy`), never by failing to verify.

use crate::ApkError;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use signature_traits::hazmat::PrehashVerifier;
use x509_cert::der::Decode;

/// A hash, in a signature or a v1 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlg {
    /// MD5 (v1 only; broken).
    Md5,
    /// SHA-1 (v1 only; broken for collisions).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// From a digest algorithm OID of CMS.
    pub fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.2.840.113549.2.5" => HashAlg::Md5,
            "1.3.14.3.2.26" => HashAlg::Sha1,
            "2.16.840.1.101.3.4.2.4" => HashAlg::Sha224,
            "2.16.840.1.101.3.4.2.1" => HashAlg::Sha256,
            "2.16.840.1.101.3.4.2.2" => HashAlg::Sha384,
            "2.16.840.1.101.3.4.2.3" => HashAlg::Sha512,
            _ => return None,
        })
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        let ring_alg = match self {
            HashAlg::Md5 => return md5::Md5::digest(data).to_vec(),
            HashAlg::Sha224 => return sha2::Sha224::digest(data).to_vec(),
            HashAlg::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &ring::digest::SHA256,
            HashAlg::Sha384 => &ring::digest::SHA384,
            HashAlg::Sha512 => &ring::digest::SHA512,
        };
        ring::digest::digest(ring_alg, data).as_ref().to_vec()
    }
}

/// An elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
}

/// A signer's key, as far as policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeyKind {
    /// RSA with a modulus of this many bits.
    Rsa {
        /// Modulus size.
        bits: u32,
    },
    /// ECDSA on this curve.
    Ec {
        /// The curve.
        curve: Curve,
    },
    /// DSA with a prime of this many bits.
    Dsa {
        /// Size of p.
        bits: u32,
    },
}

/// RSA signature padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// PKCS#1 v1.5.
    Pkcs1,
    /// PSS (MGF1 with the same hash, salt as long as the hash).
    Pss,
}

/// What a verified signature used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SignatureUse {
    /// The key.
    pub key: KeyKind,
    /// The hash signed.
    pub hash: HashAlg,
}

const RSA: &str = "1.2.840.113549.1.1.1";
const EC: &str = "1.2.840.10045.2.1";
const DSA: &str = "1.2.840.10040.4.1";

/// The parts of a SubjectPublicKeyInfo: algorithm OID, curve OID (EC), key bytes.
struct Spki<'a> {
    oid: String,
    curve: Option<String>,
    key: &'a [u8],
}

fn spki(der: &[u8]) -> Result<Spki<'_>, ApkError> {
    let info = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| ApkError::Malformed(format!("public key: {e}")))?;
    let curve = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    Ok(Spki {
        oid: info.algorithm.oid.to_string(),
        curve,
        key: info.subject_public_key.raw_bytes(),
    })
}

fn bad_signature() -> ApkError {
    ApkError::BadSignature("the signature does not verify".into())
}

/// Verifies `sig` over `msg` with the key in the SubjectPublicKeyInfo `spki_der`, hashing with
/// `hash`; `padding` applies to RSA keys. Returns what was used, for the bank's policy.
pub fn verify(
    spki_der: &[u8],
    hash: HashAlg,
    padding: Padding,
    msg: &[u8],
    sig: &[u8],
) -> Result<SignatureUse, ApkError> {
    let k = spki(spki_der)?;
    match k.oid.as_str() {
        RSA => verify_rsa(k.key, hash, padding, msg, sig),
        EC => {
            let curve = match k.curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Curve::P256,
                Some("1.3.132.0.34") => Curve::P384,
                Some("1.3.132.0.35") => Curve::P521,
                other => {
                    return Err(ApkError::Unsupported(format!(
                        "ECDSA on curve {}",
                        other.unwrap_or("(unnamed)")
                    )))
                }
            };
            verify_ec(curve, k.key, hash, msg, sig)?;
            Ok(SignatureUse {
                key: KeyKind::Ec { curve },
                hash,
            })
        }
        DSA => verify_dsa(spki_der, hash, msg, sig),
        other => Err(ApkError::Unsupported(format!(
            "public key algorithm {other}"
        ))),
    }
}

/// The key type of a SubjectPublicKeyInfo: `"rsa"`, `"ec"` or `"dsa"`.
pub fn key_type(spki_der: &[u8]) -> Result<&'static str, ApkError> {
    Ok(match spki(spki_der)?.oid.as_str() {
        RSA => "rsa",
        EC => "ec",
        DSA => "dsa",
        other => {
            return Err(ApkError::Unsupported(format!(
                "public key algorithm {other}"
            )))
        }
    })
}

fn verify_rsa(
    key: &[u8],
    hash: HashAlg,
    padding: Padding,
    msg: &[u8],
    sig: &[u8],
) -> Result<SignatureUse, ApkError> {
    let (n, e) = rsa_parts(key).ok_or_else(|| ApkError::Malformed("RSA public key".into()))?;
    let bits = bit_len(n);
    let used = SignatureUse {
        key: KeyKind::Rsa { bits },
        hash,
    };
    let ring_alg: Option<&'static dyn VerificationAlgorithm> = match (padding, hash) {
        (Padding::Pkcs1, HashAlg::Sha1) => {
            Some(&signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY)
        }
        (Padding::Pkcs1, HashAlg::Sha256) => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        (Padding::Pkcs1, HashAlg::Sha384) => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        (Padding::Pkcs1, HashAlg::Sha512) => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        (Padding::Pss, HashAlg::Sha256) => Some(&signature::RSA_PSS_2048_8192_SHA256),
        (Padding::Pss, HashAlg::Sha384) => Some(&signature::RSA_PSS_2048_8192_SHA384),
        (Padding::Pss, HashAlg::Sha512) => Some(&signature::RSA_PSS_2048_8192_SHA512),
        _ => None,
    };
    if let Some(alg) = ring_alg.filter(|_| (2048..=8192).contains(&bits)) {
        return UnparsedPublicKey::new(alg, key)
            .verify(msg, sig)
            .map(|_| used)
            .map_err(|_| bad_signature());
    }
    // Outside ring's range (or MD5/SHA-224): RustCrypto's rsa, with the modulus size Android takes.
    let public = rsa::RsaPublicKey::new_with_max_size(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
        16384,
    )
    .map_err(|e| ApkError::Malformed(format!("RSA public key: {e}")))?;
    let digest = hash.digest(msg);
    let ok = match padding {
        Padding::Pkcs1 => {
            let scheme = match hash {
                HashAlg::Md5 => rsa::Pkcs1v15Sign::new::<md5::Md5>(),
                HashAlg::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                HashAlg::Sha224 => rsa::Pkcs1v15Sign::new::<sha2::Sha224>(),
                HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            public.verify(scheme, &digest, sig)
        }
        Padding::Pss => {
            let scheme = match hash {
                HashAlg::Sha256 => rsa::Pss::new::<sha2::Sha256>(),
                HashAlg::Sha384 => rsa::Pss::new::<sha2::Sha384>(),
                HashAlg::Sha512 => rsa::Pss::new::<sha2::Sha512>(),
                other => return Err(ApkError::Unsupported(format!("RSA-PSS with {other:?}"))),
            };
            public.verify(scheme, &digest, sig)
        }
    };
    ok.map(|_| used).map_err(|_| bad_signature())
}

fn verify_ec(
    curve: Curve,
    point: &[u8],
    hash: HashAlg,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), ApkError> {
    let ring_alg: Option<&'static dyn VerificationAlgorithm> = match (curve, hash) {
        (Curve::P256, HashAlg::Sha256) => Some(&signature::ECDSA_P256_SHA256_ASN1),
        (Curve::P256, HashAlg::Sha384) => Some(&signature::ECDSA_P256_SHA384_ASN1),
        (Curve::P384, HashAlg::Sha256) => Some(&signature::ECDSA_P384_SHA256_ASN1),
        (Curve::P384, HashAlg::Sha384) => Some(&signature::ECDSA_P384_SHA384_ASN1),
        _ => None,
    };
    if let Some(alg) = ring_alg {
        return UnparsedPublicKey::new(alg, point)
            .verify(msg, sig)
            .map_err(|_| bad_signature());
    }
    // RustCrypto, on the digest: a hash shorter than the curve's order is the same integer
    // left-padded with zeros (SEC 1, 4.1.4), which the prehash interface wants.
    let digest = hash.digest(msg);
    let field = match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
        Curve::P521 => 66,
    };
    let prehash = if digest.len() < field {
        let mut p = vec![0u8; field - digest.len()];
        p.extend_from_slice(&digest);
        p
    } else {
        digest
    };
    let malformed = |e: &dyn std::fmt::Display| ApkError::Malformed(format!("ECDSA: {e}"));
    let ok = match curve {
        Curve::P256 => {
            let key =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| malformed(&e))?;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad_signature())?;
            key.verify_prehash(&prehash, &s).is_ok()
        }
        Curve::P384 => {
            let key =
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| malformed(&e))?;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad_signature())?;
            key.verify_prehash(&prehash, &s).is_ok()
        }
        Curve::P521 => {
            let key =
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|e| malformed(&e))?;
            let s = p521::ecdsa::Signature::from_der(sig).map_err(|_| bad_signature())?;
            key.verify_prehash(&prehash, &s).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(bad_signature())
    }
}

fn verify_dsa(
    spki_der: &[u8],
    hash: HashAlg,
    msg: &[u8],
    sig: &[u8],
) -> Result<SignatureUse, ApkError> {
    use dsa::pkcs8::DecodePublicKey as _;
    if matches!(hash, HashAlg::Sha384 | HashAlg::Sha512) {
        // No Android release verifies DSA with these (apksig agrees).
        return Err(ApkError::Unsupported(format!(
            "DSA with {hash:?} is not supported by Android"
        )));
    }
    let key = dsa::VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| ApkError::Malformed(format!("DSA public key: {e}")))?;
    let bits = key.components().p().bits() as u32;
    let s = dsa::Signature::from_der(sig).map_err(|_| bad_signature())?;
    key.verify_prehash(&hash.digest(msg), &s)
        .map_err(|_| bad_signature())?;
    Ok(SignatureUse {
        key: KeyKind::Dsa { bits },
        hash,
    })
}

/// The modulus and exponent of an RSAPublicKey (`SEQUENCE { INTEGER n, INTEGER e }`).
fn rsa_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, _, seq) = element(der)?;
    match children(seq)?.as_slice() {
        [(0x02, _, n), (0x02, _, e), ..] if tag == 0x30 => Some((n, e)),
        _ => None,
    }
}

/// A DER element: (tag, the whole element, its content).
pub(crate) type Element<'a> = (u8, &'a [u8], &'a [u8]);

/// One DER element at the start of `b`. Definite lengths only.
pub(crate) fn element(b: &[u8]) -> Option<Element<'_>> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, head) = if first < 0x80 {
        (first as usize, 2usize)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    Some((tag, b.get(..end)?, b.get(head..end)?))
}

/// The elements inside a constructed element's content.
pub(crate) fn children(mut content: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let e = element(content)?;
        content = &content[e.1.len()..];
        out.push(e);
    }
    Some(out)
}
fn bit_len(n: &[u8]) -> u32 {
    match n.iter().position(|&x| x != 0) {
        Some(i) => ((n.len() - i) * 8) as u32 - n[i].leading_zeros(),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_their_known_answers() {
        assert_eq!(
            hex::encode(HashAlg::Md5.digest(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex::encode(HashAlg::Sha224.digest(b"abc")),
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
        );
        assert_eq!(
            hex::encode(HashAlg::Sha1.digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(HashAlg::from_oid("1.2.840.113549.2.5"), Some(HashAlg::Md5));
        assert_eq!(HashAlg::from_oid("1.2.3"), None);
    }

    #[test]
    fn rsa_modulus_size_is_read_from_the_key() {
        // SEQUENCE { INTEGER 0x00C1.. (2 bytes), INTEGER 3 }
        let key = [0x30, 0x08, 0x02, 0x03, 0x00, 0xC1, 0x01, 0x02, 0x01, 0x03];
        let (n, e) = rsa_parts(&key).unwrap();
        assert_eq!(bit_len(n), 16);
        assert_eq!(e, &[3]);
        assert!(rsa_parts(&key[..5]).is_none());
    }

    #[test]
    fn garbage_keys_and_signatures_are_errors_not_panics() {
        for der in [&b""[..], b"\x30\x00", b"\x30\x03\x02\x01\x00"] {
            assert!(verify(der, HashAlg::Sha256, Padding::Pkcs1, b"m", b"s").is_err());
        }
    }
}
