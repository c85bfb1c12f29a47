//! The UnionPay "ECB" MAC used in field 64 of the CUP POS profile, for DES and SM4 keys.
//!
//! MAB = MTI through the last field before 64, zero-padded to the cipher's block (8 bytes for
//! DES, 16 for SM4). XOR all blocks; write the result as uppercase hex (2 x block characters);
//! encrypt the first half of those characters; XOR with the second half; encrypt again; write as
//! hex; the MAC is the first 8 characters (as ASCII bytes). With SM4 this is the same recipe on
//! 16-byte blocks; F64 stays 8 bytes.

use super::BlockKey;

/// Computes the 8-byte (ASCII hex) UnionPay ECB MAC over `mab` with `mac_key`.
///
/// ```
/// use smartpos_core::crypto::{cup_ecb_mac, DesKey, Sm4Key};
/// let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
/// let mac = cup_ecb_mac(&k, b"0200 some fields");
/// assert!(mac.iter().all(|b| b.is_ascii_hexdigit()));
/// let s = Sm4Key::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
/// assert_ne!(cup_ecb_mac(&s, b"0200 some fields"), mac);
/// ```
pub fn cup_ecb_mac<K: BlockKey + ?Sized>(mac_key: &K, mab: &[u8]) -> [u8; 8] {
    let n = mac_key.block_len();
    let mut acc = [0u8; 16];
    let acc = &mut acc[..n];
    for chunk in mab.chunks(n) {
        for (a, b) in acc.iter_mut().zip(chunk) {
            *a ^= b;
        }
    }
    let text = hex::encode_upper(&acc);
    let text = text.as_bytes();
    let mut left = [0u8; 16];
    let left = &mut left[..n];
    left.copy_from_slice(&text[..n]);
    mac_key
        .encrypt_in_place(left)
        .expect("one whole block of the key's own length");
    for (l, r) in left.iter_mut().zip(&text[n..]) {
        *l ^= r;
    }
    mac_key
        .encrypt_in_place(left)
        .expect("one whole block of the key's own length");
    let out = hex::encode_upper(&left);
    out.as_bytes()[..8].try_into().expect("8 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DesKey, Sm4Key};

    #[test]
    fn mac_changes_with_any_bit() {
        let k = DesKey::from_hex("0723C80DB5F4CD3D0723C80DB5F4CD3D").unwrap();
        let s = Sm4Key::from_hex("0723C80DB5F4CD3D0723C80DB5F4CD3D").unwrap();
        let data = b"0200abcdefghijklmnopqrstuvwxyz".to_vec();
        let base = cup_ecb_mac(&k, &data);
        let base_sm4 = cup_ecb_mac(&s, &data);
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0x01;
            assert_ne!(cup_ecb_mac(&k, &d), base, "byte {i}");
            assert_ne!(cup_ecb_mac(&s, &d), base_sm4, "SM4, byte {i}");
        }
    }
}
