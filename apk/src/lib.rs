//! APK signature verification as a terminal at a given SDK level would do it, and the bank
//! market's signature on top (`market`). Streaming: the file is read in slices, never whole.
//!
//! A device verifies only the newest scheme that applies to it: v3.1 (SDK 33+) when present,
//! else v3 (SDK 28+), else v2 (SDK 24+), else v1 (JAR, [`v1`]). This verifier does the same for
//! the SDK level asked, with a stricter ZIP reading and a documented refusal of what `ring`
//! does not verify: DSA, ECDSA with SHA-1 or SHA-512, MD5 and SHA-224, RSA outside 2048..=8192
//! bits (see sdk-docs: *App signing*).

#![deny(missing_docs)]

pub mod block;
pub mod crypto;
pub mod digest;
pub mod launch;
pub mod manifest;
pub mod market;
pub mod policy;
pub mod scheme;
pub mod v1;
pub mod zip;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_targets;

use block::{SigningBlock, V2_ID, V31_ID, V3_ID};
pub use digest::Source;
use digest::{content_digests, ChunkedDigest};
use scheme::{
    parse_signers, Signer, LINEAGE_ATTR, ROTATION_MIN_SDK_ATTR, STRIPPING_PROTECTION_ATTR,
};
use std::path::Path;

/// Why an APK is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApkError {
    /// Reading failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The ZIP structure is unacceptable.
    #[error("ZIP: {0}")]
    Zip(String),
    /// The APK Signing Block is malformed.
    #[error("signing block: {0}")]
    SigningBlock(String),
    /// A scheme block is malformed.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The content does not match what was signed.
    #[error("the APK's content does not match its signed digest (modified after signing)")]
    DigestMismatch,
    /// A signature does not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// A newer scheme was stripped.
    #[error("scheme v{0} was stripped (the signer also signed with it)")]
    Stripped(u8),
    /// Android accepts it; the bank's policy does not (the rule is named).
    #[error(transparent)]
    Policy(#[from] policy::PolicyRefusal),
    /// No scheme this terminal accepts applies.
    #[error("not signed for this terminal: {0}")]
    NotSigned(String),
    /// A key or algorithm the terminal does not accept.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// JAR signing.
    V1,
    /// APK Signature Scheme v2.
    V2,
    /// v3.
    V3,
    /// v3.1.
    V31,
}

/// What the Android signature check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The SDK level verified as.
    pub sdk: u32,
    /// Schemes present in the file.
    pub schemes_found: Vec<Scheme>,
    /// The scheme verified.
    pub scheme: Scheme,
    /// SHA-256 of each signer's certificate (hex), in signer order.
    pub signer_cert_sha256: Vec<String>,
    /// Certificates of the rotation lineage (SHA-256 hex, oldest first), when there is one.
    pub lineage_sha256: Vec<String>,
    /// The v2/v3 content digest (chunked SHA-256, hex): what the market signs.
    pub content_digest_sha256: String,
    /// The key and hash of each signature verified (what the bank's policy judges).
    pub signatures: Vec<crypto::SignatureUse>,
    /// v1 only: the digest algorithms protecting the entries and the manifest.
    pub v1_digests: Vec<crypto::HashAlg>,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b))
}

/// An opened APK: layout and signing block, read once.
pub struct Apk<R> {
    pub(crate) reader: R,
    /// ZIP layout.
    pub zip: zip::ZipLayout,
    /// Signing block, if any.
    pub block: Option<SigningBlock>,
    /// Content digests computed so far: the file is hashed once however many SDK levels or
    /// checks ask.
    digests: Vec<(ChunkedDigest, Vec<u8>)>,
}

impl Apk<std::fs::File> {
    /// Opens a file.
    pub fn open(path: &Path) -> Result<Self, ApkError> {
        let f = std::fs::File::open(path)?;
        Apk::new(f)
    }
}

impl<R: digest::Source> Apk<R> {
    /// Reads the layout of `reader`.
    pub fn new(mut reader: R) -> Result<Self, ApkError> {
        let size = reader.seek(std::io::SeekFrom::End(0))?;
        let zip = zip::ZipLayout::read(&mut reader, size)?;
        if !zip.entries.iter().any(|e| e.name == b"AndroidManifest.xml") {
            return Err(ApkError::Zip("no AndroidManifest.xml: not an APK".into()));
        }
        let block = SigningBlock::read(&mut reader, &zip)?;
        Ok(Apk {
            reader,
            zip,
            block,
            digests: Vec::new(),
        })
    }

    /// Schemes present.
    pub fn schemes_found(&self) -> Vec<Scheme> {
        let mut v = Vec::new();
        if self.zip.entries.iter().any(|e| {
            let n = String::from_utf8_lossy(&e.name).to_ascii_uppercase();
            n.starts_with("META-INF/")
                && (n.ends_with(".RSA") || n.ends_with(".EC") || n.ends_with(".DSA"))
        }) {
            v.push(Scheme::V1);
        }
        if let Some(b) = &self.block {
            for (id, s) in [
                (V2_ID, Scheme::V2),
                (V3_ID, Scheme::V3),
                (V31_ID, Scheme::V31),
            ] {
                if b.get(id).is_some() {
                    v.push(s);
                }
            }
        }
        v
    }

    /// The chunked content digests of `algs`, in that order (each computed once for this
    /// APK, in one pass for all missing ones, and kept for every later check).
    pub fn content_digests(
        &mut self,
        algs: &[ChunkedDigest],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<(ChunkedDigest, Vec<u8>)>, ApkError> {
        let missing: Vec<ChunkedDigest> = algs
            .iter()
            .filter(|a| !self.digests.iter().any(|(k, _)| k == *a))
            .copied()
            .collect();
        if !missing.is_empty() {
            let offset = self.block.as_ref().map_or(self.zip.cd_offset, |b| b.offset);
            let fresh = content_digests(&self.reader, &self.zip, offset, &missing, progress)?;
            self.digests.extend(fresh);
        }
        Ok(algs
            .iter()
            .filter_map(|a| self.digests.iter().find(|(k, _)| k == a).cloned())
            .collect())
    }

    /// Verifies as a device at `sdk` would: the newest scheme that applies. This is Android's
    /// verdict; [`Apk::verify_for_bank`] adds the bank's policy.
    pub fn verify(&mut self, sdk: u32) -> Result<Verdict, ApkError> {
        self.verify_with_progress(sdk, &mut |_, _| {})
    }

    /// The bank's verdict: Android's ([`Apk::verify`]), then the bank's [`policy`], whose
    /// refusals name their rule ([`ApkError::Policy`]).
    pub fn verify_for_bank(&mut self, sdk: u32) -> Result<Verdict, ApkError> {
        self.verify_for_bank_with_progress(sdk, &mut |_, _| {})
    }

    /// [`Apk::verify_for_bank`] reporting bytes hashed.
    pub fn verify_for_bank_with_progress(
        &mut self,
        sdk: u32,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Verdict, ApkError> {
        let v = self.verify_with_progress(sdk, progress)?;
        policy::check(&v)?;
        Ok(v)
    }

    /// [`Apk::verify`] reporting bytes hashed.
    pub fn verify_with_progress(
        &mut self,
        sdk: u32,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Verdict, ApkError> {
        let found = self.schemes_found();
        let block = self.block.clone();
        let get = |id| block.as_ref().and_then(|b| b.get(id));
        let covering = |signers: Vec<Signer>| -> Option<Signer> {
            signers
                .into_iter()
                .find(|s| s.min_sdk <= sdk && sdk <= s.max_sdk)
        };
        let mut chosen: Option<(Scheme, Vec<Signer>)> = None;
        // The v3 signers, parsed once, when a check below needs them.
        let v3_signers = match get(V3_ID) {
            Some(v) if get(V31_ID).is_some() || sdk >= 28 => Some(parse_signers(v, true)?),
            _ => None,
        };
        if get(V31_ID).is_some() {
            // v3.1 rides on v3: the v3 block must be there, and its signers must say from which
            // SDK the v3.1 block takes over (else a v3.1 block could be grafted on).
            let v3 = v3_signers.as_ref().ok_or(ApkError::Stripped(3))?;
            if v3
                .iter()
                .any(|s| s.attribute(ROTATION_MIN_SDK_ATTR).is_none())
            {
                return Err(ApkError::Malformed(
                    "a v3.1 block without the v3 signers' rotation-min-sdk attribute".into(),
                ));
            }
        }
        if sdk >= 33 {
            if let Some(v) = get(V31_ID) {
                if let Some(s) = covering(parse_signers(v, true)?) {
                    chosen = Some((Scheme::V31, vec![s]));
                }
            }
        }
        if chosen.is_none() && sdk >= 28 {
            if let Some(signers) = v3_signers {
                let s = covering(signers)
                    .ok_or_else(|| ApkError::NotSigned(format!("no v3 signer covers SDK {sdk}")))?;
                if let Some(min) = s.attribute(ROTATION_MIN_SDK_ATTR) {
                    let min = u32::from_le_bytes(
                        min.get(..4)
                            .and_then(|m| m.try_into().ok())
                            .unwrap_or([0; 4]),
                    );
                    if sdk >= min && get(V31_ID).is_none() {
                        return Err(ApkError::Stripped(31));
                    }
                }
                chosen = Some((Scheme::V3, vec![s]));
            }
        }
        if chosen.is_none() && sdk >= 24 {
            if let Some(v) = get(V2_ID) {
                let signers = parse_signers(v, false)?;
                for s in &signers {
                    if let Some(attr) = s.attribute(STRIPPING_PROTECTION_ATTR) {
                        let scheme = attr
                            .get(..4)
                            .map(|b| u32::from_le_bytes(b.try_into().expect("4")));
                        if scheme == Some(3) && sdk >= 28 && get(V3_ID).is_none() {
                            return Err(ApkError::Stripped(3));
                        }
                    }
                }
                chosen = Some((Scheme::V2, signers));
            }
        }
        // As apksig: targetSandboxVersion 2, and (on SDK 30+) target SDK 30+, need a v2 block.
        if get(V2_ID).is_none() {
            if let Ok(m) = manifest::read_manifest(&mut self.reader, &self.zip) {
                if m.target_sandbox.is_some_and(|v| v >= 2) {
                    return Err(ApkError::NotSigned(
                        "target sandbox version 2 requires a scheme v2 block".into(),
                    ));
                }
                if sdk >= 30 && m.target_sdk.is_some_and(|t| t >= 30) {
                    return Err(ApkError::NotSigned(
                        "target SDK 30 or later requires a scheme v2 block".into(),
                    ));
                }
            }
        }
        let Some((scheme, signers)) = chosen else {
            if !found.contains(&Scheme::V1) {
                return Err(ApkError::NotSigned("no APK signature".into()));
            }
            // v1: below SDK 24, or no newer scheme applies
            let mut present = Vec::new();
            for (id, n) in [(V2_ID, 2u8), (V3_ID, 3), (V31_ID, 3)] {
                if get(id).is_some() {
                    present.push(n);
                }
            }
            let signed = v1::verify_v1(&mut self.reader, &self.zip, &present)?;
            let content = self.content_digests(&[ChunkedDigest::Sha256], progress)?;
            return Ok(Verdict {
                sdk,
                schemes_found: found,
                scheme: Scheme::V1,
                signer_cert_sha256: signed.certs.iter().map(|c| sha256_hex(c)).collect(),
                lineage_sha256: Vec::new(),
                content_digest_sha256: hex::encode(&content[0].1),
                signatures: signed.signatures,
                v1_digests: signed.digests,
            });
        };
        let mut algs: Vec<ChunkedDigest> = Vec::new();
        for s in &signers {
            let (alg, _) = scheme::chosen_signature(s)?;
            let d = alg.digest().expect("non-verity");
            if !algs.contains(&d) {
                algs.push(d);
            }
        }
        if !algs.contains(&ChunkedDigest::Sha256) {
            algs.push(ChunkedDigest::Sha256);
        }
        let content = self.content_digests(&algs, progress)?;
        let mut uses = Vec::new();
        for s in &signers {
            uses.push(scheme::verify_signer(s, &content)?);
        }
        let mut lineage = Vec::new();
        if matches!(scheme, Scheme::V3 | Scheme::V31) {
            if let Some(l) = signers[0].attribute(LINEAGE_ATTR) {
                lineage = scheme::verify_lineage(l, &signers[0].certificates[0])?
                    .iter()
                    .map(|c| sha256_hex(c))
                    .collect();
            }
        }
        let sha = content
            .iter()
            .find(|(k, _)| *k == ChunkedDigest::Sha256)
            .map(|(_, d)| hex::encode(d))
            .unwrap_or_default();
        Ok(Verdict {
            sdk,
            schemes_found: found,
            scheme,
            signer_cert_sha256: signers
                .iter()
                .map(|s| sha256_hex(&s.certificates[0]))
                .collect(),
            lineage_sha256: lineage,
            content_digest_sha256: sha,
            signatures: uses,
            v1_digests: Vec::new(),
        })
    }
}
