//! Schemes v2, v3 and v3.1: parsing the signer sequences and verifying one signer.

use super::digest::ChunkedDigest;
use super::ApkError;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::{Decode, Encode};

/// v2 signed attribute: the APK was also signed with these newer schemes (stripping check).
pub const STRIPPING_PROTECTION_ATTR: u32 = 0xbeef_f00d;
/// v3 signed attribute: proof-of-rotation lineage.
pub const LINEAGE_ATTR: u32 = 0x3ba0_6f8c;
/// v3 signed attribute: the SDK from which the v3.1 block applies.
pub const ROTATION_MIN_SDK_ATTR: u32 = 0x559f_8b02;

/// Reads a u32-length-prefixed slice.
pub(crate) fn lp<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], ApkError> {
    let n = u32_of(b)? as usize;
    if n > b.len() {
        return Err(ApkError::Malformed(
            "length prefix beyond its container".into(),
        ));
    }
    let (v, rest) = b.split_at(n);
    *b = rest;
    Ok(v)
}

pub(crate) fn u32_of(b: &mut &[u8]) -> Result<u32, ApkError> {
    if b.len() < 4 {
        return Err(ApkError::Malformed("truncated".into()));
    }
    let v = u32::from_le_bytes(b[..4].try_into().expect("4"));
    *b = &b[4..];
    Ok(v)
}

fn seq(mut b: &[u8]) -> Result<Vec<&[u8]>, ApkError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        out.push(lp(&mut b)?);
    }
    Ok(out)
}

/// A signature algorithm of the APK schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// 0x0101 RSASSA-PSS with SHA-256.
    RsaPssSha256,
    /// 0x0102 RSASSA-PSS with SHA-512.
    RsaPssSha512,
    /// 0x0103 RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// 0x0104 RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1Sha512,
    /// 0x0201 ECDSA with SHA-256.
    EcdsaSha256,
    /// 0x0202 ECDSA with SHA-512.
    EcdsaSha512,
    /// 0x0301 DSA with SHA-256.
    DsaSha256,
    /// 0x0421/0x0423/0x0425: verity variants (digest over the verity tree).
    Verity(u32),
}

impl SigAlg {
    /// From the scheme's ID.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0x0101 => SigAlg::RsaPssSha256,
            0x0102 => SigAlg::RsaPssSha512,
            0x0103 => SigAlg::RsaPkcs1Sha256,
            0x0104 => SigAlg::RsaPkcs1Sha512,
            0x0201 => SigAlg::EcdsaSha256,
            0x0202 => SigAlg::EcdsaSha512,
            0x0301 => SigAlg::DsaSha256,
            0x0421 | 0x0423 | 0x0425 => SigAlg::Verity(id),
            _ => return None,
        })
    }
    /// The content digest it signs.
    pub fn digest(self) -> Option<ChunkedDigest> {
        match self {
            SigAlg::RsaPssSha256
            | SigAlg::RsaPkcs1Sha256
            | SigAlg::EcdsaSha256
            | SigAlg::DsaSha256 => Some(ChunkedDigest::Sha256),
            SigAlg::RsaPssSha512 | SigAlg::RsaPkcs1Sha512 | SigAlg::EcdsaSha512 => {
                Some(ChunkedDigest::Sha512)
            }
            SigAlg::Verity(_) => None,
        }
    }
    /// Preference when a signer offers several (apksig prefers the SHA-512 ones).
    fn rank(self) -> u8 {
        match self {
            SigAlg::RsaPssSha512 | SigAlg::RsaPkcs1Sha512 | SigAlg::EcdsaSha512 => 3,
            SigAlg::RsaPssSha256 | SigAlg::RsaPkcs1Sha256 | SigAlg::EcdsaSha256 => 2,
            SigAlg::DsaSha256 => 1,
            SigAlg::Verity(_) => 0,
        }
    }
}

/// The key bytes ring wants, the key's algorithm OID and (EC) curve OID.
fn key_parts(spki: &[u8]) -> Result<(&[u8], String, Option<String>), ApkError> {
    let info = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki)
        .map_err(|e| ApkError::Malformed(format!("public key: {e}")))?;
    let curve = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    Ok((
        info.subject_public_key.raw_bytes(),
        info.algorithm.oid.to_string(),
        curve,
    ))
}

/// RSA keys outside 2048..=8192 bits are refused with the reason.
fn check_rsa_size(key: &[u8]) -> Result<(), ApkError> {
    match rsa_bits(key) {
        Some(b) if b < 2048 => Err(ApkError::Unsupported(
            "RSA keys below 2048 bits are not accepted".into(),
        )),
        Some(b) if b > 8192 => Err(ApkError::Unsupported(
            "RSA keys above 8192 bits are not accepted".into(),
        )),
        _ => Ok(()),
    }
}

/// Verifies `sig` over `msg` with the SubjectPublicKeyInfo `spki`. What `ring` cannot verify is
/// refused with the reason: DSA, ECDSA with SHA-512 (P-384/P-521 keys), RSA below 2048 bits.
pub fn verify_signature(alg: SigAlg, spki: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), ApkError> {
    let (key, oid, curve) = key_parts(spki)?;
    let unsupported = |why: &str| ApkError::Unsupported(why.to_string());
    let ring_alg: &'static dyn VerificationAlgorithm = match (alg, oid.as_str(), curve.as_deref()) {
        (SigAlg::RsaPssSha256, "1.2.840.113549.1.1.1", _) => &signature::RSA_PSS_2048_8192_SHA256,
        (SigAlg::RsaPssSha512, "1.2.840.113549.1.1.1", _) => &signature::RSA_PSS_2048_8192_SHA512,
        (SigAlg::RsaPkcs1Sha256, "1.2.840.113549.1.1.1", _) => {
            &signature::RSA_PKCS1_2048_8192_SHA256
        }
        (SigAlg::RsaPkcs1Sha512, "1.2.840.113549.1.1.1", _) => {
            &signature::RSA_PKCS1_2048_8192_SHA512
        }
        (SigAlg::EcdsaSha256, "1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => {
            &signature::ECDSA_P256_SHA256_ASN1
        }
        (SigAlg::EcdsaSha256, "1.2.840.10045.2.1", Some("1.3.132.0.34")) => {
            &signature::ECDSA_P384_SHA256_ASN1
        }
        (SigAlg::EcdsaSha512, _, _) => {
            return Err(unsupported(
                "ECDSA with SHA-512 (P-384/P-521 keys) is not accepted",
            ))
        }
        (SigAlg::DsaSha256, _, _) => return Err(unsupported("DSA keys are not accepted")),
        (SigAlg::Verity(_), _, _) => return Err(unsupported("verity-only signatures")),
        _ => {
            return Err(ApkError::Malformed(format!(
                "signature algorithm {alg:?} does not match a {oid} key"
            )))
        }
    };
    if oid == "1.2.840.113549.1.1.1" {
        check_rsa_size(key)?;
    }
    UnparsedPublicKey::new(ring_alg, key)
        .verify(msg, sig)
        .map_err(|_| ApkError::BadSignature("the signature does not verify".into()))
}

/// Signature algorithms of v1 (JAR) signature blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawAlg {
    /// RSA PKCS#1 v1.5 with SHA-1 (legacy APKs).
    RsaPkcs1Sha1,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaPkcs1Sha512,
    /// ECDSA with SHA-256 (P-256 or P-384 key).
    EcdsaSha256,
    /// ECDSA with SHA-384 (P-256 or P-384 key).
    EcdsaSha384,
}

/// Verifies a v1 signature with the key in `spki`.
pub fn verify_signature_raw(
    alg: RawAlg,
    spki: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<(), ApkError> {
    let (key, _, curve) = key_parts(spki)?;
    let unsupported = |why: &str| ApkError::Unsupported(why.to_string());
    let ring_alg: &'static dyn VerificationAlgorithm = match (alg, curve.as_deref()) {
        (RawAlg::RsaPkcs1Sha1, _) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (RawAlg::RsaPkcs1Sha256, _) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (RawAlg::RsaPkcs1Sha384, _) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (RawAlg::RsaPkcs1Sha512, _) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (RawAlg::EcdsaSha256, Some("1.2.840.10045.3.1.7")) => &signature::ECDSA_P256_SHA256_ASN1,
        (RawAlg::EcdsaSha256, Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA256_ASN1,
        (RawAlg::EcdsaSha384, Some("1.2.840.10045.3.1.7")) => &signature::ECDSA_P256_SHA384_ASN1,
        (RawAlg::EcdsaSha384, Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA384_ASN1,
        (RawAlg::EcdsaSha256 | RawAlg::EcdsaSha384, _) => {
            return Err(unsupported(
                "ECDSA keys other than P-256 and P-384 are not accepted",
            ))
        }
    };
    if !matches!(alg, RawAlg::EcdsaSha256 | RawAlg::EcdsaSha384) {
        check_rsa_size(key)?;
    }
    UnparsedPublicKey::new(ring_alg, key)
        .verify(msg, sig)
        .map_err(|_| ApkError::BadSignature("the v1 signature does not verify".into()))
}

/// Bit length of an RSAPublicKey's modulus (`SEQUENCE { INTEGER n, INTEGER e }`).
fn rsa_bits(der: &[u8]) -> Option<usize> {
    fn tlv(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        if b.first() != Some(&tag) {
            return None;
        }
        let (len, head) = match *b.get(1)? {
            l if l < 0x80 => (l as usize, 2),
            0x81 => (*b.get(2)? as usize, 3),
            0x82 => (u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize, 4),
            _ => return None,
        };
        let body = b.get(head..head + len)?;
        Some((body, &b[head + len..]))
    }
    let (seq, _) = tlv(der, 0x30)?;
    let (n, _) = tlv(seq, 0x02)?;
    let n: &[u8] = match n.iter().position(|&x| x != 0) {
        Some(i) => &n[i..],
        None => return Some(0),
    };
    Some(n.len() * 8 - n[0].leading_zeros() as usize)
}

/// One parsed signer.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Signed data (what the signature covers).
    pub signed_data: Vec<u8>,
    /// (algorithm ID, digest) pairs from the signed data.
    pub digests: Vec<(u32, Vec<u8>)>,
    /// DER certificates, the signer's first.
    pub certificates: Vec<Vec<u8>>,
    /// (attribute ID, value) pairs from the signed data.
    pub attributes: Vec<(u32, Vec<u8>)>,
    /// (algorithm ID, signature) pairs.
    pub signatures: Vec<(u32, Vec<u8>)>,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// v3: SDK range (v2: 0..=u32::MAX).
    pub min_sdk: u32,
    /// v3: SDK range.
    pub max_sdk: u32,
}

impl Signer {
    /// An attribute's value.
    pub fn attribute(&self, id: u32) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }
}

/// Parses a v2 (`v3 = false`) or v3/v3.1 block value into signers.
pub fn parse_signers(value: &[u8], v3: bool) -> Result<Vec<Signer>, ApkError> {
    let mut b = value;
    let signers = lp(&mut b)?;
    let mut out = Vec::new();
    for mut s in seq(signers)? {
        let signed_data = lp(&mut s)?;
        let (min_sdk, max_sdk) = if v3 {
            (u32_of(&mut s)?, u32_of(&mut s)?)
        } else {
            (0, u32::MAX)
        };
        let sigs = lp(&mut s)?;
        let public_key = lp(&mut s)?.to_vec();
        let mut d = signed_data;
        let digests_b = lp(&mut d)?;
        let certs_b = lp(&mut d)?;
        let (smin, smax) = if v3 {
            (u32_of(&mut d)?, u32_of(&mut d)?)
        } else {
            (0, u32::MAX)
        };
        if (smin, smax) != (min_sdk, max_sdk) {
            return Err(ApkError::Malformed(
                "SDK range differs between the signer and its signed data".into(),
            ));
        }
        let attrs_b = lp(&mut d)?;
        let pair = |mut x: &[u8]| -> Result<(u32, Vec<u8>), ApkError> {
            let id = u32_of(&mut x)?;
            Ok((id, x.to_vec()))
        };
        let lp_pair = |mut x: &[u8]| -> Result<(u32, Vec<u8>), ApkError> {
            let id = u32_of(&mut x)?;
            Ok((id, lp(&mut x)?.to_vec()))
        };
        out.push(Signer {
            signed_data: signed_data.to_vec(),
            digests: seq(digests_b)?
                .into_iter()
                .map(lp_pair)
                .collect::<Result<_, _>>()?,
            certificates: seq(certs_b)?.into_iter().map(<[u8]>::to_vec).collect(),
            attributes: seq(attrs_b)?
                .into_iter()
                .map(pair)
                .collect::<Result<_, _>>()?,
            signatures: seq(sigs)?
                .into_iter()
                .map(lp_pair)
                .collect::<Result<_, _>>()?,
            public_key,
            min_sdk,
            max_sdk,
        });
    }
    if out.is_empty() {
        return Err(ApkError::Malformed("no signers".into()));
    }
    Ok(out)
}

/// The signature this terminal checks for a signer, the strongest it supports: its algorithm
/// and its position in the signer's list.
pub fn chosen_signature(s: &Signer) -> Result<(SigAlg, usize), ApkError> {
    let mut best: Option<(SigAlg, usize)> = None;
    let mut refusal = None;
    for (i, (id, _)) in s.signatures.iter().enumerate() {
        let Some(alg) = SigAlg::from_id(*id) else {
            continue;
        };
        match alg {
            SigAlg::Verity(_) => continue,
            SigAlg::DsaSha256 | SigAlg::EcdsaSha512 => {
                refusal = Some(alg);
                continue;
            }
            _ => {}
        }
        if best.is_none_or(|(b, _)| alg.rank() > b.rank()) {
            best = Some((alg, i));
        }
    }
    match (best, refusal) {
        (Some(b), _) => Ok(b),
        (None, Some(SigAlg::DsaSha256)) => {
            Err(ApkError::Unsupported("DSA keys are not accepted".into()))
        }
        (None, Some(_)) => Err(ApkError::Unsupported(
            "ECDSA with SHA-512 (P-384/P-521 keys) is not accepted".into(),
        )),
        (None, None) => Err(ApkError::Malformed("no supported signature".into())),
    }
}

/// Verifies one signer against the computed content digests.
pub fn verify_signer(s: &Signer, content: &[(ChunkedDigest, Vec<u8>)]) -> Result<(), ApkError> {
    let (alg, at) = chosen_signature(s)?;
    verify_signature(alg, &s.public_key, &s.signed_data, &s.signatures[at].1)?;
    // The signed digests list the same algorithms as the signatures, in order.
    let sig_ids: Vec<u32> = s.signatures.iter().map(|(i, _)| *i).collect();
    let dig_ids: Vec<u32> = s.digests.iter().map(|(i, _)| *i).collect();
    if sig_ids != dig_ids {
        return Err(ApkError::Malformed(
            "signature and digest algorithm lists differ".into(),
        ));
    }
    let signed_digest = &s.digests[at].1; // the lists agree, position for position
    let kind = alg.digest().expect("non-verity");
    let computed = &content
        .iter()
        .find(|(k, _)| *k == kind)
        .ok_or_else(|| ApkError::Malformed("digest not computed".into()))?
        .1;
    if computed != signed_digest {
        return Err(ApkError::DigestMismatch);
    }
    let cert = s
        .certificates
        .first()
        .ok_or_else(|| ApkError::Malformed("no certificate".into()))?;
    let parsed = x509_cert::Certificate::from_der(cert)
        .map_err(|e| ApkError::Malformed(format!("certificate: {e}")))?;
    let cert_key = parsed
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| ApkError::Malformed(format!("certificate key: {e}")))?;
    if cert_key != s.public_key {
        return Err(ApkError::Malformed(
            "the certificate's public key is not the signer's".into(),
        ));
    }
    Ok(())
}

/// Verifies a v3 proof-of-rotation lineage: each certificate signed by the one before; the last
/// is the signer's. Returns the certificates, oldest first.
pub fn verify_lineage(value: &[u8], signer_cert: &[u8]) -> Result<Vec<Vec<u8>>, ApkError> {
    let bad = |s: &str| ApkError::Malformed(format!("lineage: {s}"));
    let mut b = value;
    let version = u32_of(&mut b)?;
    if version != 1 {
        return Err(bad("unknown version"));
    }
    let mut certs: Vec<Vec<u8>> = Vec::new();
    // (public key of the previous certificate, the algorithm it signs its child with)
    let mut last: Option<(Vec<u8>, u32)> = None;
    while !b.is_empty() {
        let mut node = lp(&mut b)?;
        let signed = lp(&mut node)?;
        let _flags = u32_of(&mut node)?;
        let sig_alg = u32_of(&mut node)?;
        let sig = lp(&mut node)?;
        let mut sd = signed;
        let cert = lp(&mut sd)?.to_vec();
        let signed_alg = u32_of(&mut sd)?;
        // The parent signs this node's signed data with the algorithm both name.
        if let Some((prev_key, prev_alg)) = &last {
            if *prev_alg != signed_alg {
                return Err(bad("signature algorithm differs from the one announced"));
            }
            let alg = SigAlg::from_id(signed_alg).ok_or_else(|| bad("unknown algorithm"))?;
            verify_signature(alg, prev_key, signed, sig)?;
        }
        let parsed = x509_cert::Certificate::from_der(&cert).map_err(|e| bad(&e.to_string()))?;
        let key = parsed
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| bad(&e.to_string()))?;
        last = Some((key, sig_alg));
        certs.push(cert);
    }
    if certs.last().map(Vec::as_slice) != Some(signer_cert) {
        return Err(bad("the newest certificate is not the signer's"));
    }
    Ok(certs)
}
