//! Host cryptography of the CUP POS profile: DES/3DES and SM4 keys, key check values, the
//! UnionPay ECB MAC and ANSI X9.8 PIN blocks.
//!
//! These primitives are used by the simulated PIN pad and by the host simulator; on a real
//! terminal the PIN pad's secure processor does the same work and the core only sees results.

pub mod cipher_key;
pub mod des_key;
pub mod mac;
pub mod pin_block;
pub mod sm4_key;

pub use cipher_key::{BlockKey, CipherKey, KeyAlgorithm};
pub use des_key::{DesKey, KeyError};
pub use mac::cup_ecb_mac;
pub use pin_block::{clear_pin_block, iso9564_format0, PinBlockError, PinBlockFormat};
pub use sm4_key::Sm4Key;

/// Checks a computed check value against a supplied one (at least 4 bytes; the first 4 count).
fn check_value_matches(computed: &[u8; 4], supplied: &[u8]) -> Result<(), KeyError> {
    if supplied.len() < 4 || computed[..] != supplied[..4] {
        return Err(KeyError::CheckValueMismatch);
    }
    Ok(())
}
