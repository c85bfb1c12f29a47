//! DES keys of 8, 16 or 24 bytes, zeroized on drop, with ECB encryption and check values.

use cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// DES keys are 8, 16 or 24 bytes.
    #[error("a DES key is 8, 16 or 24 bytes, not {0}")]
    BadLength(usize),
    /// SM4 keys are 16 bytes.
    #[error("an SM4 key is 16 bytes, not {0}")]
    BadSm4Length(usize),
    /// ECB data must be a whole number of cipher blocks.
    #[error("ECB data must be a multiple of {block} bytes, not {len}")]
    NotBlockAligned {
        /// Data length.
        len: usize,
        /// The cipher's block length.
        block: usize,
    },
    /// A key was wrapped under, or checked against, a key of another algorithm.
    #[error("a {wanted} key cannot be used where a {got} key is loaded")]
    AlgorithmMismatch {
        /// The algorithm asked for.
        wanted: &'static str,
        /// The algorithm of the key held.
        got: &'static str,
    },
    /// The key's check value does not match the one supplied with it.
    #[error("key check value mismatch")]
    CheckValueMismatch,
}

/// A single, double or triple length DES key. `Debug` never shows key bytes.
///
/// The key schedule is expanded once, when the key is made (a MAC or PIN block used to expand
/// it for every block); the expanded keys are zeroized on drop like the key bytes.
///
/// ```
/// use smartpos_core::crypto::DesKey;
/// let k = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
/// assert_eq!(hex::encode_upper(k.check_value()), "08D7B4FB");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DesKey {
    bytes: Vec<u8>,
    /// The expanded key (zeroized by the cipher's own drop).
    #[zeroize(skip)]
    schedule: Box<Schedule>,
}

/// The expanded key of each length.
#[derive(Clone)]
enum Schedule {
    Single(des::Des),
    Double(des::TdesEde2),
    Triple(des::TdesEde3),
}

impl Schedule {
    fn of(bytes: &[u8]) -> Schedule {
        match bytes.len() {
            8 => Schedule::Single(des::Des::new_from_slice(bytes).expect("8-byte key")),
            16 => Schedule::Double(des::TdesEde2::new_from_slice(bytes).expect("16-byte key")),
            _ => Schedule::Triple(des::TdesEde3::new_from_slice(bytes).expect("24-byte key")),
        }
    }
}

impl PartialEq for DesKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for DesKey {}

impl std::fmt::Debug for DesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DesKey({} bytes, kcv {})",
            self.bytes.len(),
            hex::encode_upper(self.check_value())
        )
    }
}

impl DesKey {
    /// A key from 8, 16 or 24 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.len() {
            8 | 16 | 24 => Ok(DesKey {
                bytes: bytes.to_vec(),
                schedule: Box::new(Schedule::of(bytes)),
            }),
            n => Err(KeyError::BadLength(n)),
        }
    }
    /// A key from hex.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let mut b = hex::decode(text).map_err(|_| KeyError::BadLength(text.len() / 2))?;
        let k = DesKey::new(&b);
        b.zeroize();
        k
    }
    /// Key length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// Always false: a key is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// The first 8 bytes as a single-length key (some acquirers MAC with only these).
    pub fn first_half(&self) -> DesKey {
        DesKey {
            bytes: self.bytes[..8].to_vec(),
            schedule: Box::new(Schedule::of(&self.bytes[..8])),
        }
    }
    /// The clear key bytes, for the secure module that holds it.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn crypt_block(&self, block: &mut [u8; 8], encrypt: bool) {
        let b = GenericArray::from_mut_slice(block);
        macro_rules! run {
            ($c:expr) => {{
                let c = $c;
                if encrypt {
                    c.encrypt_block(b)
                } else {
                    c.decrypt_block(b)
                }
            }};
        }
        match &*self.schedule {
            Schedule::Single(c) => run!(c),
            Schedule::Double(c) => run!(c),
            Schedule::Triple(c) => run!(c),
        }
    }

    /// Encrypts one 8-byte block.
    pub fn encrypt_block(&self, block: [u8; 8]) -> [u8; 8] {
        let mut b = block;
        self.crypt_block(&mut b, true);
        b
    }
    /// Decrypts one 8-byte block.
    pub fn decrypt_block(&self, block: [u8; 8]) -> [u8; 8] {
        let mut b = block;
        self.crypt_block(&mut b, false);
        b
    }
    fn ecb(&self, data: &[u8], encrypt: bool) -> Result<Vec<u8>, KeyError> {
        if !data.len().is_multiple_of(8) {
            return Err(KeyError::NotBlockAligned {
                len: data.len(),
                block: 8,
            });
        }
        let mut out = data.to_vec();
        for chunk in out.chunks_exact_mut(8) {
            let block: &mut [u8; 8] = chunk.try_into().expect("8-byte chunk");
            self.crypt_block(block, encrypt);
        }
        Ok(out)
    }
    /// ECB-encrypts whole blocks.
    pub fn encrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.ecb(data, true)
    }
    /// ECB-decrypts whole blocks.
    pub fn decrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.ecb(data, false)
    }
    /// Check value: the first 4 bytes of E_K(8 zero bytes).
    pub fn check_value(&self) -> [u8; 4] {
        let e = self.encrypt_block([0u8; 8]);
        [e[0], e[1], e[2], e[3]]
    }
    /// Decrypts a key encrypted under this key (ECB) and checks it against `check_value`.
    pub fn unwrap_key(&self, encrypted: &[u8], check_value: &[u8]) -> Result<DesKey, KeyError> {
        let mut clear = self.decrypt_ecb(encrypted)?;
        let key = DesKey::new(&clear);
        clear.zeroize();
        let key = key?;
        super::check_value_matches(&key.check_value(), check_value)?;
        Ok(key)
    }
    /// Encrypts another key under this one (ECB), returning it with its check value.
    pub fn wrap_key(&self, key: &DesKey) -> (Vec<u8>, [u8; 4]) {
        let enc = self
            .encrypt_ecb(&key.bytes)
            .expect("key lengths are block multiples");
        (enc, key.check_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcv_vector() {
        let k = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        assert_eq!(k.check_value(), [0x08, 0xD7, 0xB4, 0xFB]);
    }

    #[test]
    fn wrap_unwrap_round_trip_and_kcv_check() {
        let tmk = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let work = DesKey::from_hex("1111111111111111222222222222222A").unwrap();
        let (enc, kcv) = tmk.wrap_key(&work);
        assert_eq!(tmk.unwrap_key(&enc, &kcv).unwrap(), work);
        let mut bad = kcv;
        bad[0] ^= 1;
        assert_eq!(
            tmk.unwrap_key(&enc, &bad),
            Err(KeyError::CheckValueMismatch)
        );
    }

    #[test]
    fn debug_hides_key() {
        let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
        assert!(!format!("{k:?}").contains("0123456789ABCDEF"));
    }
}
