//! The bank market's signature. The market reviews an app and signs, with Ed25519, a claim
//! over the APK's v2/v3 content digest, the app signer's certificates, the package name and
//! version code (read from the manifest) and the grants (payment types and devices). The claim
//! travels inside the APK Signing Block under its own ID, which Android's verification ignores
//! and the v2/v3 digests do not cover, so `apksigner verify` still passes after market signing.
//!
//! Trust: a bank **root** key certifies **market keys** (rotation: certify a new key, revoke the
//! old one); a **revocation list** signed by the root withdraws app versions or market keys.
//! Every signed object is JSON, signed as `tag || "\n" || the exact JSON bytes`.

use super::block::{SigningBlock, MARKET_ID};
use super::manifest::{read_manifest, ManifestInfo};
use super::{Apk, ApkError, Verdict};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use smartpos_core::handoff::RequestType;
use std::io::{Read, Seek, Write};
use std::path::Path;

const CLAIM_TAG: &str = "smartpos-market-claim-v1";
const KEY_TAG: &str = "smartpos-market-key-v1";
const REVOCATION_TAG: &str = "smartpos-market-revocations-v1";

/// A device an app may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// Receipt printer.
    Printer,
    /// Code scanner.
    Scanner,
    /// Card reader.
    CardReader,
}

/// What the market grants an app.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Payment request types the app may send through the handoff.
    pub payments: Vec<RequestType>,
    /// Devices it may use.
    pub devices: Vec<Device>,
}

/// The market's statement about one APK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Format version (1).
    pub v: u32,
    /// Package name.
    pub package: String,
    /// Version code.
    pub version_code: u64,
    /// Chunked SHA-256 v2/v3 content digest (hex).
    pub content_digest_sha256: String,
    /// SHA-256 of the app signer's certificates (hex).
    pub signer_cert_sha256: Vec<String>,
    /// SHA-256 (hex) of the signing block's other pairs (v2, v3, v3.1, ...; not the market
    /// pair or verity padding): a scheme block the device does not check at its SDK level still
    /// cannot be changed.
    pub signing_block_sha256: String,
    /// What the app may do.
    pub grants: Grants,
    /// The market key that signs.
    pub key_id: String,
    /// Unix seconds.
    pub signed_at: i64,
}

/// A market key, certified by the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketKey {
    /// Name of the key.
    pub key_id: String,
    /// Ed25519 public key (hex).
    pub public_key: String,
    /// Unix seconds from which it signs.
    pub not_before: i64,
}

/// A JSON document and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    /// The exact JSON that was signed.
    pub json: String,
    /// Ed25519 signature (hex) over `tag \n json`.
    pub sig: String,
}

/// The revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocations {
    /// Increases with every list; a terminal never goes back to a lower serial.
    pub serial: u64,
    /// Withdrawn app versions.
    pub apps: Vec<RevokedApp>,
    /// Withdrawn market keys.
    pub market_keys: Vec<String>,
}

/// One withdrawn app version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedApp {
    /// Package.
    pub package: String,
    /// Version code.
    pub version_code: u64,
}

/// What the market block holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketBlock {
    /// The claim, signed by the market key.
    pub claim: Signed,
    /// The market key, signed by the root.
    pub key: Signed,
}

/// Why the market check refuses an APK; every reason is for people.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarketError {
    /// Android's own signature check failed.
    #[error("the APK's Android signature is not valid: {0}")]
    Apk(#[from] ApkError),
    /// No market signature.
    #[error("not signed by the bank's app market")]
    Unsigned,
    /// A signature or certificate does not verify.
    #[error("the market signature is not valid: {0}")]
    BadSignature(String),
    /// The APK changed after the market signed it.
    #[error("the APK was modified after the market signed it ({0})")]
    Tampered(String),
    /// Package or version differs from what the market signed.
    #[error("package/version mismatch: the market signed {signed}, this is {actual}")]
    Mismatch {
        /// What the market signed.
        signed: String,
        /// What the APK (or the installer) says.
        actual: String,
    },
    /// Withdrawn.
    #[error("revoked: {0}")]
    Revoked(String),
    /// A claim of a version this verifier does not know (only `"v": 1` is defined).
    #[error("the market claim has version {0}; this terminal knows version 1 only: update it")]
    UnsupportedVersion(u32),
    /// A revocation list older than one the terminal has already seen (a replay).
    #[error("revocation list {offered} is older than list {known} this terminal has already seen: refused")]
    StaleRevocations {
        /// The serial offered.
        offered: u64,
        /// The highest serial seen.
        known: u64,
    },
    /// Bad input (keys, files, JSON).
    #[error("{0}")]
    Input(String),
}

/// SHA-256 (hex) of a block's pairs other than the market's and the padding.
fn other_pairs_sha256(block: &SigningBlock) -> String {
    let pairs: Vec<(u32, Vec<u8>)> = block
        .pairs
        .iter()
        .filter(|(id, _)| *id != MARKET_ID && *id != super::block::VERITY_PADDING_ID)
        .cloned()
        .collect();
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        &SigningBlock::encode(&pairs),
    ))
}

fn sign_doc(key: &SigningKey, tag: &str, value: &impl Serialize) -> Signed {
    let json = serde_json::to_string(value).expect("serializable");
    let sig = key.sign(format!("{tag}\n{json}").as_bytes());
    Signed {
        json,
        sig: hex::encode(sig.to_bytes()),
    }
}

fn open_doc<T: for<'de> Deserialize<'de>>(
    key: &VerifyingKey,
    tag: &str,
    doc: &Signed,
) -> Result<T, MarketError> {
    let sig: [u8; 64] = hex::decode(&doc.sig)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| MarketError::BadSignature(format!("{tag}: malformed signature")))?;
    key.verify(
        format!("{tag}\n{}", doc.json).as_bytes(),
        &Signature::from_bytes(&sig),
    )
    .map_err(|_| MarketError::BadSignature(format!("{tag}: signature does not verify")))?;
    serde_json::from_str(&doc.json).map_err(|e| MarketError::BadSignature(format!("{tag}: {e}")))
}

/// Parses a hex Ed25519 public key.
pub fn public_key(hex_key: &str) -> Result<VerifyingKey, MarketError> {
    let b: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| MarketError::Input("a public key is 32 bytes of hex".into()))?;
    VerifyingKey::from_bytes(&b).map_err(|_| MarketError::Input("not an Ed25519 public key".into()))
}

/// Parses a hex Ed25519 secret key (32 bytes).
pub fn secret_key(hex_key: &str) -> Result<SigningKey, MarketError> {
    let mut b: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| MarketError::Input("a secret key is 32 bytes of hex".into()))?;
    let k = SigningKey::from_bytes(&b);
    zeroize::Zeroize::zeroize(&mut b);
    Ok(k)
}

/// The root certifies a market key.
///
/// ```
/// use ed25519_dalek::SigningKey;
/// use smartpos_apk::market::{certify_market_key, public_key};
/// let root = SigningKey::from_bytes(&[1; 32]);
/// let market = SigningKey::from_bytes(&[2; 32]);
/// let cert = certify_market_key(&root, "market-2026", &market.verifying_key(), 0);
/// assert!(cert.json.contains("market-2026"));
/// ```
pub fn certify_market_key(
    root: &SigningKey,
    key_id: &str,
    key: &VerifyingKey,
    not_before: i64,
) -> Signed {
    sign_doc(
        root,
        KEY_TAG,
        &MarketKey {
            key_id: key_id.into(),
            public_key: hex::encode(key.as_bytes()),
            not_before,
        },
    )
}

/// The root signs a revocation list.
pub fn sign_revocations(root: &SigningKey, list: &Revocations) -> Signed {
    sign_doc(root, REVOCATION_TAG, list)
}

/// Opens a revocation list with the root key.
pub fn open_revocations(root: &VerifyingKey, doc: &Signed) -> Result<Revocations, MarketError> {
    open_doc(root, REVOCATION_TAG, doc)
}

/// An app the market signed and the terminal accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedApp {
    /// Package.
    pub package: String,
    /// Version code.
    pub version_code: u64,
    /// Grants.
    pub grants: Grants,
    /// The app signer's certificate digests (hex).
    pub signer_cert_sha256: Vec<String>,
    /// The market key that signed.
    pub key_id: String,
    /// The Android verdict.
    pub android: Verdict,
}

impl VerifiedApp {
    /// The handoff allow-list entry for this app (the same grants authorize its requests).
    pub fn allowed_app(&self) -> smartpos_core::handoff::AllowedApp {
        smartpos_core::handoff::AllowedApp {
            package: self.package.clone(),
            cert_sha256: self.signer_cert_sha256.clone(),
            permissions: self.grants.payments.clone(),
            // The claim format has no all-apps grant yet: market-verified apps act on their own orders.
            all_apps: false,
        }
    }
}

/// What a terminal trusts.
#[derive(Debug, Clone)]
pub struct TrustStore {
    /// The bank's root key.
    pub root: VerifyingKey,
    /// The latest revocation list (already verified).
    pub revocations: Revocations,
}

impl TrustStore {
    /// Adopts a newer revocation list signed by the root; an older or equal serial is refused.
    pub fn update_revocations(&mut self, doc: &Signed) -> Result<(), MarketError> {
        let list = open_revocations(&self.root, doc)?;
        if list.serial <= self.revocations.serial && self.revocations.serial != 0 {
            return Err(MarketError::Input(format!(
                "revocation list {} is not newer than {}",
                list.serial, self.revocations.serial
            )));
        }
        self.revocations = list;
        Ok(())
    }

    /// The install and launch check: Android signature (as the terminal's SDK), market
    /// signature, key and app revocation, content and signer binding, and package/version
    /// against the manifest and (when given) what the installer reports.
    pub fn check(
        &self,
        path: &Path,
        sdk: u32,
        reported: Option<(&str, u64)>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifiedApp, MarketError> {
        let mut apk = Apk::open(path)?;
        let android = apk.verify_for_bank_with_progress(sdk, progress)?;
        let sig_block = apk.block.as_ref().ok_or(MarketError::Unsigned)?;
        let raw = sig_block.get(MARKET_ID).ok_or(MarketError::Unsigned)?;
        let block_sha = other_pairs_sha256(sig_block);
        let block: MarketBlock = serde_json::from_slice(raw)
            .map_err(|e| MarketError::BadSignature(format!("market block: {e}")))?;
        let key: MarketKey = open_doc(&self.root, KEY_TAG, &block.key)?;
        self.key_revoked(&key.key_id)?;
        let claim: Claim = open_doc(&public_key(&key.public_key)?, CLAIM_TAG, &block.claim)?;
        if claim.v != 1 {
            return Err(MarketError::UnsupportedVersion(claim.v));
        }
        if claim.key_id != key.key_id {
            return Err(MarketError::BadSignature(
                "claim names another market key".into(),
            ));
        }
        if claim.signed_at < key.not_before {
            return Err(MarketError::BadSignature(
                "signed before the key was valid".into(),
            ));
        }
        if claim.content_digest_sha256 != android.content_digest_sha256 {
            return Err(MarketError::Tampered("content digest".into()));
        }
        if claim.signing_block_sha256 != block_sha {
            return Err(MarketError::Tampered("the APK Signing Block".into()));
        }
        // The verity padding is outside the digests; it is zeros by definition, so any other
        // byte there is a change too.
        if sig_block
            .get(super::block::VERITY_PADDING_ID)
            .is_some_and(|pad| pad.iter().any(|b| *b != 0))
        {
            return Err(MarketError::Tampered(
                "the signing block's verity padding is not zero".into(),
            ));
        }
        if claim.signer_cert_sha256 != android.signer_cert_sha256 {
            return Err(MarketError::Tampered(
                "the app's signing certificate".into(),
            ));
        }
        let manifest = read_manifest(&mut apk.reader, &apk.zip)?;
        let signed = format!("{} {}", claim.package, claim.version_code);
        for actual in
            std::iter::once((manifest.package.as_str(), manifest.version_code)).chain(reported)
        {
            if (actual.0, actual.1) != (claim.package.as_str(), claim.version_code) {
                return Err(MarketError::Mismatch {
                    signed,
                    actual: format!("{} {}", actual.0, actual.1),
                });
            }
        }
        self.app_revoked(&claim.package, claim.version_code)?;
        Ok(VerifiedApp {
            package: claim.package,
            version_code: claim.version_code,
            grants: claim.grants,
            signer_cert_sha256: claim.signer_cert_sha256,
            key_id: key.key_id,
            android,
        })
    }

    /// Refuses a market key on the revocation list.
    pub(crate) fn key_revoked(&self, key_id: &str) -> Result<(), MarketError> {
        if self.revocations.market_keys.iter().any(|k| k == key_id) {
            return Err(MarketError::Revoked(format!("market key {key_id}")));
        }
        Ok(())
    }

    /// Refuses an app version on the revocation list.
    pub(crate) fn app_revoked(&self, package: &str, version_code: u64) -> Result<(), MarketError> {
        if self
            .revocations
            .apps
            .iter()
            .any(|a| a.package == package && a.version_code == version_code)
        {
            return Err(MarketError::Revoked(format!(
                "{package} version {version_code}"
            )));
        }
        Ok(())
    }

    /// The launcher's list: every APK that passes, with its grants; refusals with reasons.
    pub fn verified_apps(
        &self,
        paths: &[std::path::PathBuf],
        sdk: u32,
    ) -> (Vec<VerifiedApp>, Vec<(std::path::PathBuf, String)>) {
        let (mut ok, mut refused) = (Vec::new(), Vec::new());
        for p in paths {
            match self.check(p, sdk, None, &mut |_, _| {}) {
                Ok(a) => ok.push(a),
                Err(e) => refused.push((p.clone(), e.to_string())),
            }
        }
        (ok, refused)
    }
}

/// What `sign` needs.
pub struct MarketSigner<'a> {
    /// The market key.
    pub key: &'a SigningKey,
    /// Its certificate from the root.
    pub key_cert: &'a Signed,
    /// Grants.
    pub grants: Grants,
    /// Unix seconds.
    pub now: i64,
    /// The SDK level the Android signature must verify at.
    pub sdk: u32,
}

/// Signs `path` in place (written to a temporary file beside it, then renamed). The Android
/// signature must verify first; package and version come from the manifest.
pub fn sign_in_place(
    path: &Path,
    signer: &MarketSigner<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Claim, ManifestInfo), MarketError> {
    let key: MarketKey = serde_json::from_str(&signer.key_cert.json)
        .map_err(|e| MarketError::Input(format!("market key certificate: {e}")))?;
    if key.public_key != hex::encode(signer.key.verifying_key().as_bytes()) {
        return Err(MarketError::Input(
            "the market key certificate is for another key".into(),
        ));
    }
    let mut apk = Apk::open(path)?;
    let verdict = apk.verify_with_progress(signer.sdk, progress)?;
    let manifest = read_manifest(&mut apk.reader, &apk.zip)?;
    // a v1-only APK gets a signing block of its own, where its central directory was
    let old = apk.block.clone().unwrap_or(SigningBlock {
        offset: apk.zip.cd_offset,
        pairs: Vec::new(),
    });
    let claim = Claim {
        v: 1,
        package: manifest.package.clone(),
        version_code: manifest.version_code,
        content_digest_sha256: verdict.content_digest_sha256.clone(),
        signer_cert_sha256: verdict.signer_cert_sha256.clone(),
        signing_block_sha256: other_pairs_sha256(&old),
        grants: signer.grants.clone(),
        key_id: key.key_id.clone(),
        signed_at: signer.now,
    };
    let block = MarketBlock {
        claim: sign_doc(signer.key, CLAIM_TAG, &claim),
        key: signer.key_cert.clone(),
    };
    let value = serde_json::to_vec(&block).expect("serializable");
    // The rebuilt block keeps what the platform checks of the old one: the other pairs in
    // their order, and, when the signer padded it for verity, a size that is a multiple of
    // 4096 (the padding pair goes last, as signers put it).
    let page_align = old
        .pairs
        .iter()
        .any(|(id, _)| *id == super::block::VERITY_PADDING_ID)
        || (!old.pairs.is_empty() && SigningBlock::encode(&old.pairs).len().is_multiple_of(4096));
    let mut pairs: Vec<(u32, Vec<u8>)> = old
        .pairs
        .into_iter()
        .filter(|(id, _)| *id != MARKET_ID && *id != super::block::VERITY_PADDING_ID)
        .collect();
    pairs.push((MARKET_ID, value));
    let new_block = SigningBlock::encode_padded(&pairs, page_align);
    let tmp = path.with_extension("market-signing.tmp");
    let result = (|| -> Result<(), MarketError> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(ApkError::Io)?);
        let mut src = apk.reader;
        copy_range(&mut src, &mut out, 0, old.offset)?;
        out.write_all(&new_block).map_err(ApkError::Io)?;
        let new_cd = old.offset + new_block.len() as u64;
        copy_range(&mut src, &mut out, apk.zip.cd_offset, apk.zip.cd_size)?;
        let mut eocd = apk.zip.eocd.clone();
        let cd32 =
            u32::try_from(new_cd).map_err(|_| MarketError::Input("APK over 4 GiB".into()))?;
        eocd[16..20].copy_from_slice(&cd32.to_le_bytes());
        out.write_all(&eocd).map_err(ApkError::Io)?;
        out.into_inner()
            .map_err(|e| MarketError::Input(e.to_string()))?
            .sync_all()
            .map_err(ApkError::Io)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(ApkError::Io)?;
    Ok((claim, manifest))
}

fn copy_range<R: Read + Seek, W: Write>(
    src: &mut R,
    dst: &mut W,
    from: u64,
    len: u64,
) -> Result<(), MarketError> {
    src.seek(std::io::SeekFrom::Start(from))
        .map_err(ApkError::Io)?;
    let copied = std::io::copy(&mut src.take(len), dst).map_err(ApkError::Io)?;
    if copied != len {
        return Err(MarketError::Input("file shorter than its layout".into()));
    }
    Ok(())
}
