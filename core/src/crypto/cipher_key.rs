//! A key of either algorithm the CUP POS profile uses: DES/3DES or SM4. Key hierarchies stay
//! within one algorithm: an SM4 master key wraps SM4 working keys.

use super::{DesKey, KeyError, Sm4Key};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The block cipher of a key hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAlgorithm {
    /// DES, or 3DES for double and triple length keys (8-byte blocks).
    #[default]
    Des,
    /// SM4, the national block cipher (16-byte keys and blocks).
    Sm4,
}

impl KeyAlgorithm {
    /// Block length in bytes (8 or 16): also the PIN block length.
    pub fn block_len(self) -> usize {
        match self {
            KeyAlgorithm::Des => 8,
            KeyAlgorithm::Sm4 => 16,
        }
    }
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Des => "DES",
            KeyAlgorithm::Sm4 => "SM4",
        }
    }
}

/// A block cipher key that the MAC and PIN-block code can use.
pub trait BlockKey {
    /// Block length in bytes.
    fn block_len(&self) -> usize;
    /// Encrypts whole blocks in place (ECB); `data.len()` is a multiple of the block length.
    fn encrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError>;
    /// Decrypts whole blocks in place (ECB).
    fn decrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError>;
}

impl BlockKey for DesKey {
    fn block_len(&self) -> usize {
        8
    }
    fn encrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError> {
        let out = self.encrypt_ecb(data)?;
        data.copy_from_slice(&out);
        Ok(())
    }
    fn decrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError> {
        let mut out = self.decrypt_ecb(data)?;
        data.copy_from_slice(&out);
        out.zeroize();
        Ok(())
    }
}

impl BlockKey for Sm4Key {
    fn block_len(&self) -> usize {
        16
    }
    fn encrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError> {
        self.crypt_in_place(data, true)
    }
    fn decrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError> {
        self.crypt_in_place(data, false)
    }
}

/// A DES/3DES or SM4 key, zeroized on drop. `Debug` shows the algorithm and check value only.
///
/// ```
/// use smartpos_core::crypto::{CipherKey, KeyAlgorithm};
/// let tmk = CipherKey::from_hex(KeyAlgorithm::Sm4, "0123456789ABCDEFFEDCBA9876543210").unwrap();
/// let pin_key = CipherKey::from_hex(KeyAlgorithm::Sm4, "00112233445566778899AABBCCDDEEFF").unwrap();
/// let (wrapped, kcv) = tmk.wrap_key(&pin_key).unwrap();
/// assert_eq!(tmk.unwrap_key(&wrapped, &kcv).unwrap(), pin_key);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CipherKey {
    /// DES or 3DES.
    Des(DesKey),
    /// SM4.
    Sm4(Sm4Key),
}

impl From<DesKey> for CipherKey {
    fn from(k: DesKey) -> Self {
        CipherKey::Des(k)
    }
}

impl From<Sm4Key> for CipherKey {
    fn from(k: Sm4Key) -> Self {
        CipherKey::Sm4(k)
    }
}

impl CipherKey {
    /// A key of this algorithm from its bytes.
    pub fn new(algorithm: KeyAlgorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        Ok(match algorithm {
            KeyAlgorithm::Des => CipherKey::Des(DesKey::new(bytes)?),
            KeyAlgorithm::Sm4 => CipherKey::Sm4(Sm4Key::new(bytes)?),
        })
    }
    /// A key of this algorithm from hex.
    pub fn from_hex(algorithm: KeyAlgorithm, text: &str) -> Result<Self, KeyError> {
        Ok(match algorithm {
            KeyAlgorithm::Des => CipherKey::Des(DesKey::from_hex(text)?),
            KeyAlgorithm::Sm4 => CipherKey::Sm4(Sm4Key::from_hex(text)?),
        })
    }
    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            CipherKey::Des(_) => KeyAlgorithm::Des,
            CipherKey::Sm4(_) => KeyAlgorithm::Sm4,
        }
    }
    /// The clear key bytes, for the secure module that holds it.
    pub fn expose_bytes(&self) -> &[u8] {
        match self {
            CipherKey::Des(k) => k.expose_bytes(),
            CipherKey::Sm4(k) => k.expose_bytes(),
        }
    }
    /// Check value: the first 4 bytes of the encryption of one zero block.
    pub fn check_value(&self) -> [u8; 4] {
        match self {
            CipherKey::Des(k) => k.check_value(),
            CipherKey::Sm4(k) => k.check_value(),
        }
    }
    /// The first 8 bytes as a single-length DES key; `None` for SM4, which has no halves.
    pub fn first_half(&self) -> Option<CipherKey> {
        match self {
            CipherKey::Des(k) => Some(CipherKey::Des(k.first_half())),
            CipherKey::Sm4(_) => None,
        }
    }
    /// ECB-encrypts whole blocks.
    pub fn encrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut out = data.to_vec();
        self.encrypt_in_place(&mut out)?;
        Ok(out)
    }
    /// ECB-decrypts whole blocks.
    pub fn decrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut out = data.to_vec();
        self.decrypt_in_place(&mut out)?;
        Ok(out)
    }
    /// Decrypts a key of the same algorithm wrapped under this one (ECB) and checks its check
    /// value.
    pub fn unwrap_key(&self, encrypted: &[u8], check_value: &[u8]) -> Result<CipherKey, KeyError> {
        let mut clear = self.decrypt_ecb(encrypted)?;
        let key = CipherKey::new(self.algorithm(), &clear);
        clear.zeroize();
        let key = key?;
        super::check_value_matches(&key.check_value(), check_value)?;
        Ok(key)
    }
    /// Wraps a key of the same algorithm under this one (ECB), with its check value.
    pub fn wrap_key(&self, key: &CipherKey) -> Result<(Vec<u8>, [u8; 4]), KeyError> {
        if key.algorithm() != self.algorithm() {
            return Err(KeyError::AlgorithmMismatch {
                wanted: key.algorithm().name(),
                got: self.algorithm().name(),
            });
        }
        Ok((self.encrypt_ecb(key.expose_bytes())?, key.check_value()))
    }
}

impl BlockKey for CipherKey {
    fn block_len(&self) -> usize {
        self.algorithm().block_len()
    }
    fn encrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError> {
        match self {
            CipherKey::Des(k) => k.encrypt_in_place(data),
            CipherKey::Sm4(k) => k.encrypt_in_place(data),
        }
    }
    fn decrypt_in_place(&self, data: &mut [u8]) -> Result<(), KeyError> {
        match self {
            CipherKey::Des(k) => k.decrypt_in_place(data),
            CipherKey::Sm4(k) => k.decrypt_in_place(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm4_wrap_refuses_wrong_check_value_and_mixed_algorithms() {
        let tmk =
            CipherKey::from_hex(KeyAlgorithm::Sm4, "0123456789ABCDEFFEDCBA9876543210").unwrap();
        let k = CipherKey::from_hex(KeyAlgorithm::Sm4, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF").unwrap();
        let (enc, mut kcv) = tmk.wrap_key(&k).unwrap();
        assert_eq!(enc.len(), 16);
        kcv[2] ^= 4;
        assert_eq!(
            tmk.unwrap_key(&enc, &kcv),
            Err(KeyError::CheckValueMismatch)
        );
        let des =
            CipherKey::from_hex(KeyAlgorithm::Des, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF").unwrap();
        assert!(matches!(
            tmk.wrap_key(&des),
            Err(KeyError::AlgorithmMismatch { .. })
        ));
        assert_eq!(k.first_half(), None);
        assert_eq!(des.first_half().unwrap().expose_bytes().len(), 8);
    }

    #[test]
    fn same_bytes_differ_by_algorithm() {
        let hex = "0123456789ABCDEFFEDCBA9876543210";
        let d = CipherKey::from_hex(KeyAlgorithm::Des, hex).unwrap();
        let s = CipherKey::from_hex(KeyAlgorithm::Sm4, hex).unwrap();
        assert_eq!(hex::encode_upper(d.check_value()), "08D7B4FB");
        // E_K(0^16) computed with PyPI gmssl: 2677F46B09C122CC975533105BD4A22A.
        assert_eq!(hex::encode_upper(s.check_value()), "2677F46B");
    }
}
