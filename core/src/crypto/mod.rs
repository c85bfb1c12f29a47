//! Host cryptography of the CUP POS profile: DES/3DES keys, key check values,
//! the UnionPay ECB MAC and ISO 9564 format-0 PIN blocks.
//!
//! These primitives are used by the simulated PIN pad and by the host simulator; on a real
//! terminal the PIN pad's secure processor does the same work and the core only sees results.

pub mod des_key;
pub mod mac;
pub mod pin_block;

pub use des_key::{DesKey, KeyError};
pub use mac::cup_ecb_mac;
pub use pin_block::{iso9564_format0, PinBlockError};
