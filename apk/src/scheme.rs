//! Schemes v2, v3 and v3.1: parsing the signer sequences and verifying one signer.

use super::digest::ChunkedDigest;
use super::ApkError;
use crate::crypto::{self, HashAlg, Padding, SignatureUse};
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

impl SigAlg {
    /// The hash, padding and key type this algorithm signs with (`None` for verity variants).
    fn parts(self) -> Option<(HashAlg, Padding, &'static str)> {
        Some(match self {
            SigAlg::RsaPssSha256 => (HashAlg::Sha256, Padding::Pss, "rsa"),
            SigAlg::RsaPssSha512 => (HashAlg::Sha512, Padding::Pss, "rsa"),
            SigAlg::RsaPkcs1Sha256 => (HashAlg::Sha256, Padding::Pkcs1, "rsa"),
            SigAlg::RsaPkcs1Sha512 => (HashAlg::Sha512, Padding::Pkcs1, "rsa"),
            SigAlg::EcdsaSha256 => (HashAlg::Sha256, Padding::Pkcs1, "ec"),
            SigAlg::EcdsaSha512 => (HashAlg::Sha512, Padding::Pkcs1, "ec"),
            SigAlg::DsaSha256 => (HashAlg::Sha256, Padding::Pkcs1, "dsa"),
            SigAlg::Verity(_) => return None,
        })
    }
}

/// Verifies `sig` over `msg` with the SubjectPublicKeyInfo `spki`, as Android does for every
/// algorithm of the schemes (see [`crate::crypto`]); returns what was used, for the bank's policy.
pub fn verify_signature(
    alg: SigAlg,
    spki: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<SignatureUse, ApkError> {
    let (hash, padding, key) = alg
        .parts()
        .ok_or_else(|| ApkError::Unsupported("verity-only signatures".into()))?;
    let actual = crypto::key_type(spki)?;
    if actual != key {
        return Err(ApkError::Malformed(format!(
            "signature algorithm {alg:?} does not match a {actual} key"
        )));
    }
    crypto::verify(spki, hash, padding, msg, sig)
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

/// The signature this terminal checks for a signer, the strongest one (as apksig picks): its
/// algorithm and its position in the signer's list.
pub fn chosen_signature(s: &Signer) -> Result<(SigAlg, usize), ApkError> {
    let mut best: Option<(SigAlg, usize)> = None;
    for (i, (id, _)) in s.signatures.iter().enumerate() {
        let Some(alg) = SigAlg::from_id(*id) else {
            continue;
        };
        if matches!(alg, SigAlg::Verity(_)) {
            continue;
        }
        if best.is_none_or(|(b, _)| alg.rank() > b.rank()) {
            best = Some((alg, i));
        }
    }
    best.ok_or_else(|| ApkError::Malformed("no supported signature".into()))
}

/// Verifies one signer against the computed content digests; returns what its signature used.
pub fn verify_signer(
    s: &Signer,
    content: &[(ChunkedDigest, Vec<u8>)],
) -> Result<SignatureUse, ApkError> {
    let (alg, at) = chosen_signature(s)?;
    let used = verify_signature(alg, &s.public_key, &s.signed_data, &s.signatures[at].1)?;
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
    Ok(used)
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
