//! Result envelopes, signed with the terminal's Ed25519 key over the canonical encoding.
//!
//! [`ResultEnvelope`] holds typed fields; its wire form (the [`FIELDS`] in signing order) is
//! generated from one field list in `envelope.rs`. [`SignedResult`] carries it with the
//! signature and reads it back strictly.

mod envelope;
pub use envelope::{Counter, ResultEnvelope, WireScalar, WireValue, FIELDS};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Tag of the signed canonical encoding.
pub const RESULT_TAG: &str = "smartpos-result-v1";

/// Result codes. `sdk-docs/src/merchant/result-codes.md` says what a merchant app does with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ResultCode {
    /// Approved by the host.
    Approved,
    /// Definitely not charged.
    Declined,
    /// Not known yet; being resolved. Query the order id; never retry with a new order id.
    Unknown,
    /// Query: the transaction is still running.
    InProgress,
    /// Query: no transaction with this order id for this caller.
    NotFound,
    /// The caller is not an allowed app with a matching signing certificate.
    RefusedCaller,
    /// The caller may not request this type.
    RefusedPermission,
    /// The nonce was used before.
    RefusedReplay,
    /// The request expired before it arrived.
    RefusedExpired,
    /// Another transaction is in progress; try again when it ends.
    RefusedBusy,
    /// The order id was used for a different request.
    RefusedDuplicateOrder,
    /// The request is malformed; `message` names the field.
    ErrorMalformed,
    /// This terminal does not support the request (type or method).
    ErrorUnsupported,
    /// The terminal could not run the request (not signed in, device fault); nothing was sent.
    ErrorTerminal,
}

impl ResultCode {
    /// The wire name.
    pub fn name(self) -> &'static str {
        use ResultCode::*;
        match self {
            Approved => "APPROVED",
            Declined => "DECLINED",
            Unknown => "UNKNOWN",
            InProgress => "IN_PROGRESS",
            NotFound => "NOT_FOUND",
            RefusedCaller => "REFUSED_CALLER",
            RefusedPermission => "REFUSED_PERMISSION",
            RefusedReplay => "REFUSED_REPLAY",
            RefusedExpired => "REFUSED_EXPIRED",
            RefusedBusy => "REFUSED_BUSY",
            RefusedDuplicateOrder => "REFUSED_DUPLICATE_ORDER",
            ErrorMalformed => "ERROR_MALFORMED",
            ErrorUnsupported => "ERROR_UNSUPPORTED",
            ErrorTerminal => "ERROR_TERMINAL",
        }
    }
    /// Every code, in the table's order.
    pub const ALL: [ResultCode; 14] = [
        ResultCode::Approved,
        ResultCode::Declined,
        ResultCode::Unknown,
        ResultCode::InProgress,
        ResultCode::NotFound,
        ResultCode::RefusedCaller,
        ResultCode::RefusedPermission,
        ResultCode::RefusedReplay,
        ResultCode::RefusedExpired,
        ResultCode::RefusedBusy,
        ResultCode::RefusedDuplicateOrder,
        ResultCode::ErrorMalformed,
        ResultCode::ErrorUnsupported,
        ResultCode::ErrorTerminal,
    ];
    /// From the wire name.
    ///
    /// ```
    /// use smartpos_handoff::ResultCode;
    /// assert_eq!(ResultCode::parse("REFUSED_BUSY"), Some(ResultCode::RefusedBusy));
    /// assert!(ResultCode::ALL.iter().all(|c| ResultCode::parse(c.name()) == Some(*c)));
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
    /// The status group: approved, declined, unknown, refused or error.
    pub fn status(self) -> &'static str {
        use ResultCode::*;
        match self {
            Approved => "approved",
            Declined => "declined",
            Unknown | InProgress => "unknown",
            NotFound
            | RefusedCaller
            | RefusedPermission
            | RefusedReplay
            | RefusedExpired
            | RefusedBusy
            | RefusedDuplicateOrder => "refused",
            ErrorMalformed | ErrorUnsupported | ErrorTerminal => "error",
        }
    }
}

impl ResultEnvelope {
    /// Signs with the terminal key.
    pub fn sign(self, key: &TerminalKey) -> SignedResult {
        let sig = key.0.sign(&self.canonical());
        SignedResult {
            envelope: self,
            signature: sig.to_bytes(),
        }
    }
}

/// The terminal's Ed25519 signing key (zeroized on drop).
pub struct TerminalKey(SigningKey);

impl std::fmt::Debug for TerminalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TerminalKey(public {})", self.public_hex())
    }
}

impl TerminalKey {
    /// A key from 32 secret bytes.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        TerminalKey(SigningKey::from_bytes(secret))
    }
    /// A fresh key from the system's randomness.
    pub fn generate() -> Self {
        let mut s = [0u8; 32];
        getrandom::fill(&mut s).expect("system randomness");
        let k = Self::from_secret(&s);
        zeroize::Zeroize::zeroize(&mut s);
        k
    }
    /// The 32 secret bytes, for the key store.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }
}

/// Why a result did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The public key is not 32 hex-encoded bytes of a valid point.
    #[error("public key is invalid")]
    BadPublicKey,
    /// The result is missing a field or the signature, or a value is malformed.
    #[error("result is malformed: {0}")]
    Malformed(String),
    /// The signature does not match the fields: the result was altered or not made by this terminal.
    #[error("signature does not verify")]
    BadSignature,
}

/// A signed result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedResult {
    /// The fields.
    pub envelope: ResultEnvelope,
    /// Ed25519 signature over the canonical encoding.
    pub signature: [u8; 64],
}

impl SignedResult {
    /// Fields and `sig` (hex) as pairs, in signing order.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = FIELDS
            .iter()
            .zip(self.envelope.wire_values())
            .map(|(f, v)| (f.to_string(), v))
            .collect();
        p.push(("sig".into(), hex::encode(self.signature)));
        p
    }
    /// Intent result extras: every pair with the `smartpos.` prefix.
    pub fn to_intent_extras(&self) -> Vec<(String, String)> {
        self.to_pairs()
            .into_iter()
            .map(|(k, v)| (format!("{}{k}", crate::request::EXTRA_PREFIX), v))
            .collect()
    }
    /// The callback deep link: `callback?` + percent-encoded pairs.
    pub fn to_callback_uri(&self, callback: &str) -> String {
        let q: Vec<String> = self
            .to_pairs()
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, QUERY_VALUE)
                )
            })
            .collect();
        format!("{callback}?{}", q.join("&"))
    }
    /// Reads a result from pairs (extra pairs are ignored; every field and `sig` must appear
    /// once, every value in the form the terminal writes it).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, VerifyError> {
        for f in FIELDS.iter().copied().chain(["sig"]) {
            match pairs.iter().filter(|(k, _)| k == f).count() {
                0 => return Err(VerifyError::Malformed(format!("missing {f}"))),
                1 => {}
                _ => return Err(VerifyError::Malformed(format!("duplicate {f}"))),
            }
        }
        let value = |f: &str| pairs.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone());
        let env = ResultEnvelope::from_wire(value)?;
        // One form only: what was received is exactly what the typed fields write back.
        if env
            .wire_pairs()
            .iter()
            .any(|(f, v)| value(f).as_deref() != Some(v.as_str()))
        {
            return Err(VerifyError::Malformed(
                "a value is not in canonical form".into(),
            ));
        }
        let sig_hex = &pairs.iter().find(|(k, _)| k == "sig").expect("checked").1;
        // One form only: 128 lowercase hex digits, as the terminal writes it.
        if !sig_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(VerifyError::Malformed("sig must be lowercase hex".into()));
        }
        let signature: [u8; 64] = hex::decode(sig_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| VerifyError::Malformed("sig is not 64 hex bytes".into()))?;
        Ok(SignedResult {
            envelope: env,
            signature,
        })
    }
    /// Reads a result from intent result extras: the `smartpos.`-prefixed keys, others ignored.
    pub fn from_intent_extras(extras: &[(String, String)]) -> Result<Self, VerifyError> {
        let pairs: Vec<(String, String)> = extras
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(crate::request::EXTRA_PREFIX)
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect();
        Self::from_pairs(&pairs)
    }
    /// Reads a result from a callback deep link.
    pub fn from_callback_uri(uri: &str) -> Result<Self, VerifyError> {
        let (_, q) = uri
            .split_once('?')
            .ok_or_else(|| VerifyError::Malformed("no query".into()))?;
        let pairs = crate::query::parse(q).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        Self::from_pairs(&pairs)
    }
    /// Verifies against the terminal's public key (hex).
    ///
    /// ```
    /// use smartpos_handoff::{ResultCode, ResultEnvelope, SignedResult, TerminalKey};
    /// let key = TerminalKey::from_secret(&[7u8; 32]);
    /// let mut env = ResultEnvelope::new(ResultCode::Approved);
    /// env.order = "A-1".into();
    /// env.amount = Some(1234);
    /// let uri = env.sign(&key).to_callback_uri("shop://paid");
    /// let back = SignedResult::from_callback_uri(&uri).unwrap();
    /// assert!(back.verify(&key.public_hex()).is_ok());
    /// let forged = uri.replace("amount=1234", "amount=1");
    /// assert!(SignedResult::from_callback_uri(&forged).unwrap().verify(&key.public_hex()).is_err());
    /// ```
    pub fn verify(&self, public_key_hex: &str) -> Result<(), VerifyError> {
        let bytes: [u8; 32] = hex::decode(public_key_hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(VerifyError::BadPublicKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| VerifyError::BadPublicKey)?;
        let sig = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.envelope.canonical(), &sig)
            .map_err(|_| VerifyError::BadSignature)?;
        Ok(())
    }
}

/// Characters left as they are in result values: unreserved characters of RFC 3986.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[cfg(test)]
mod tests;
