//! The journal's device key: 64 random bytes in `<stem>.key` (mode 0600), outside the
//! database. The first half authenticates records (HMAC-SHA256), the second encrypts card
//! data at rest (AES-256-GCM). The raw bytes are zeroized once the `ring` keys are built. On
//! Android this key belongs in the Android Keystore; here it is a file.

use super::JournalError;
use ring::{aead, hmac, rand::SecureRandom};
use std::path::Path;
use zeroize::Zeroizing;

const KEY_LEN: usize = 64;
/// Version byte of an encrypted value: `0x01 || nonce (12) || ciphertext || tag (16)`.
const SEALED_V1: u8 = 0x01;

/// The device key, loaded.
pub(crate) struct DeviceKey {
    mac: hmac::Key,
    aead: aead::LessSafeKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

impl DeviceKey {
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let aead_key = aead::UnboundKey::new(&aead::AES_256_GCM, &bytes[32..]).ok()?;
        Some(DeviceKey {
            mac: hmac::Key::new(hmac::HMAC_SHA256, &bytes[..32]),
            aead: aead::LessSafeKey::new(aead_key),
        })
    }

    /// The key at `path`, or `None` when there is no such file.
    pub(crate) fn load(path: &Path) -> Result<Option<Self>, JournalError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                Self::from_bytes(&bytes)
                    .map(Some)
                    .ok_or_else(|| JournalError::KeyCorrupt {
                        file: path.to_path_buf(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(JournalError::io(path, e)),
        }
    }

    /// A fresh key in memory, with its bytes (to be written by [`persist`](Self::persist)
    /// once whatever must precede the key file on disk is there).
    pub(crate) fn generate() -> Result<(Self, Zeroizing<[u8; KEY_LEN]>), JournalError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        ring::rand::SystemRandom::new()
            .fill(&mut bytes[..])
            .map_err(|_| JournalError::Corrupt("no randomness for the journal key".into()))?;
        let key = Self::from_bytes(&bytes[..]).expect("64 bytes make a key");
        Ok((key, bytes))
    }

    /// Writes a generated key to `path` (mode 0600, whole or not at all); the key in the file
    /// is returned (the caller's, unless a key was there already).
    pub(crate) fn persist(path: &Path, bytes: &[u8]) -> Result<Self, JournalError> {
        super::files::create_private_once(path, bytes).map_err(|e| JournalError::io(path, e))?;
        Self::load(path)?.ok_or_else(|| JournalError::KeyCorrupt {
            file: path.to_path_buf(),
        })
    }

    /// Creates a fresh key at `path` (or loads the one a concurrent creator wrote first).
    #[cfg(test)]
    pub(crate) fn create(path: &Path) -> Result<Self, JournalError> {
        let (_, bytes) = Self::generate()?;
        Self::persist(path, &bytes[..])
    }

    /// HMAC-SHA256 over the concatenation of `parts`, each length-prefixed (so no two part
    /// lists share an input).
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.mac);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Encrypts `clear`, bound to `aad` (the record it belongs to).
    pub(crate) fn encrypt(&self, aad: &[u8], clear: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        // SystemRandom only fails when the OS has no randomness at all; a zero nonce would
        // then repeat, so refuse loudly rather than encrypt under it.
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .expect("the OS random source failed");
        let mut buf = clear.to_vec();
        self.aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut buf,
            )
            .expect("AES-GCM sealing of a short buffer cannot fail");
        let mut out = Vec::with_capacity(1 + 12 + buf.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out
    }

    /// Decrypts what [`encrypt`](Self::encrypt) produced for the same `aad`.
    pub(crate) fn decrypt(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != SEALED_V1 {
            return None;
        }
        let nonce = aead::Nonce::try_assume_unique_for_key(&sealed[1..13]).ok()?;
        let mut buf = Zeroizing::new(sealed[13..].to_vec());
        let len = self
            .aead
            .open_in_place(nonce, aead::Aad::from(aad), &mut buf[..])
            .ok()?
            .len();
        buf.truncate(len);
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_is_bound_to_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::create(&dir.path().join("j.key")).unwrap();
        let sealed = key.encrypt(b"rev:1:2", b"6222021234567890123");
        assert!(!sealed.windows(4).any(|w| w == b"6222"));
        assert_eq!(
            &key.decrypt(b"rev:1:2", &sealed).unwrap()[..],
            b"6222021234567890123"
        );
        assert!(key.decrypt(b"rev:1:3", &sealed).is_none(), "other record");
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(key.decrypt(b"rev:1:2", &flipped).is_none());
        let again = DeviceKey::load(&dir.path().join("j.key")).unwrap().unwrap();
        assert_eq!(key.mac(&[b"a"]), again.mac(&[b"a"]));
        assert_ne!(key.mac(&[b"ab", b""]), key.mac(&[b"a", b"b"]));
    }
}
