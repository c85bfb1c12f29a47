//! The UnionPay "ECB" MAC used in field 64 of the CUP POS profile.
//!
//! MAB = MTI through the last field before 64, zero-padded to 8 bytes. XOR all blocks;
//! write the result as 16 uppercase hex characters; encrypt the first 8 characters; XOR with
//! the last 8; encrypt again; write as hex; the MAC is the first 8 characters (as ASCII bytes).

use super::DesKey;

/// Computes the 8-byte (ASCII hex) UnionPay ECB MAC over `mab` with `mac_key`.
///
/// ```
/// use smartpos_core::crypto::{cup_ecb_mac, DesKey};
/// let k = DesKey::from_hex("0123456789ABCDEF").unwrap();
/// let mac = cup_ecb_mac(&k, b"0200 some fields");
/// assert!(mac.iter().all(|b| b.is_ascii_hexdigit()));
/// ```
pub fn cup_ecb_mac(mac_key: &DesKey, mab: &[u8]) -> [u8; 8] {
    let mut acc = [0u8; 8];
    for chunk in mab.chunks(8) {
        for (a, b) in acc.iter_mut().zip(chunk) {
            *a ^= b;
        }
    }
    let hex16 = hex::encode_upper(acc);
    let hex16 = hex16.as_bytes();
    let mut left: [u8; 8] = hex16[..8].try_into().expect("8 bytes");
    left = mac_key.encrypt_block(left);
    for (l, r) in left.iter_mut().zip(&hex16[8..]) {
        *l ^= r;
    }
    let out = mac_key.encrypt_block(left);
    let text = hex::encode_upper(out);
    text.as_bytes()[..8].try_into().expect("8 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_changes_with_any_bit() {
        let k = DesKey::from_hex("0723C80DB5F4CD3D0723C80DB5F4CD3D").unwrap();
        let data = b"0200abcdefghijklmnop".to_vec();
        let base = cup_ecb_mac(&k, &data);
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0x01;
            assert_ne!(cup_ecb_mac(&k, &d), base, "byte {i}");
        }
    }
}
