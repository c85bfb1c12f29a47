//! SM4 keys (GB/T 32907-2016): 16 bytes, 16-byte blocks, zeroized on drop.

use super::KeyError;
use cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// An SM4 key. `Debug` shows only its check value.
///
/// ```
/// use smartpos_core::crypto::Sm4Key;
/// let k = Sm4Key::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
/// let c = k.encrypt_block(hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap().try_into().unwrap());
/// assert_eq!(hex::encode_upper(c), "681EDF34D206965E86B3E94F536E4246");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Sm4Key {
    bytes: [u8; 16],
}

impl std::fmt::Debug for Sm4Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm4Key(kcv {})", hex::encode_upper(self.check_value()))
    }
}

impl Sm4Key {
    /// A key from 16 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| KeyError::BadSm4Length(bytes.len()))?;
        Ok(Sm4Key { bytes })
    }
    /// A key from 32 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let mut b = hex::decode(text).map_err(|_| KeyError::BadSm4Length(text.len() / 2))?;
        let k = Sm4Key::new(&b);
        b.zeroize();
        k
    }
    /// The clear key bytes, for the secure module that holds it.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }
    fn cipher(&self) -> sm4::Sm4 {
        sm4::Sm4::new(GenericArray::from_slice(&self.bytes))
    }
    /// Encrypts one 16-byte block.
    pub fn encrypt_block(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = GenericArray::from(block);
        self.cipher().encrypt_block(&mut b);
        b.into()
    }
    /// Decrypts one 16-byte block.
    pub fn decrypt_block(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = GenericArray::from(block);
        self.cipher().decrypt_block(&mut b);
        b.into()
    }
    pub(super) fn crypt_in_place(&self, data: &mut [u8], encrypt: bool) -> Result<(), KeyError> {
        if !data.len().is_multiple_of(16) {
            return Err(KeyError::NotBlockAligned {
                len: data.len(),
                block: 16,
            });
        }
        let c = self.cipher();
        for chunk in data.chunks_exact_mut(16) {
            let b = GenericArray::from_mut_slice(chunk);
            if encrypt {
                c.encrypt_block(b)
            } else {
                c.decrypt_block(b)
            }
        }
        Ok(())
    }
    /// Check value: the first 4 bytes of E_K(16 zero bytes).
    pub fn check_value(&self) -> [u8; 4] {
        let e = self.encrypt_block([0u8; 16]);
        [e[0], e[1], e[2], e[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_vector_and_round_trip() {
        let k = Sm4Key::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let p: [u8; 16] = hex::decode("0123456789ABCDEFFEDCBA9876543210")
            .unwrap()
            .try_into()
            .unwrap();
        let c = k.encrypt_block(p);
        assert_eq!(hex::encode_upper(c), "681EDF34D206965E86B3E94F536E4246");
        assert_eq!(k.decrypt_block(c), p);
    }

    #[test]
    fn refuses_other_lengths_and_hides_bytes() {
        assert_eq!(Sm4Key::new(&[0; 8]), Err(KeyError::BadSm4Length(8)));
        let k = Sm4Key::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        assert!(!format!("{k:?}").contains("0123456789"));
        let mut odd = [0u8; 20];
        assert_eq!(
            k.crypt_in_place(&mut odd, true),
            Err(KeyError::NotBlockAligned { len: 20, block: 16 })
        );
    }
}
