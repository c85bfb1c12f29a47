//! The cryptograms of a simulated chip card and its issuer (EMV Book 2 Annex A, double-length
//! DES keys, the EMV common session key): the issuer's master key for application cryptograms
//! gives each card its own key (derivation option A, from the PAN and PAN sequence number);
//! each transaction's session key comes from the card's key and its transaction counter; the
//! card's cryptograms (ARQC, TC, AAC) are ISO/IEC 9797-1 MAC algorithm 3 over the CDOL data
//! (padding method 2); the issuer's answer is ARPC method 1. `tests/python/emv_peer.py` checks
//! every function against PyPI `pyemv`.

use smartpos_core::crypto::DesKey;

/// Sets each byte's lowest bit so that it has an odd number of set bits (DES key parity).
fn odd_parity(bytes: &mut [u8]) {
    for b in bytes {
        *b = (*b & 0xFE) | u8::from((*b >> 1).count_ones() % 2 == 0);
    }
}

fn block(bytes: &[u8]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    b
}

/// The card's master key for application cryptograms from the issuer's (option A): the
/// rightmost 16 digits of PAN || PAN sequence number as 8 BCD bytes `Y`, then
/// `3DES(IMK, Y) || 3DES(IMK, Y xor FF..FF)`, odd parity.
///
/// ```
/// use smartpos_core::crypto::DesKey;
/// use smartpos_testing::emv_crypto::card_master_key;
/// let imk = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
/// let mk = card_master_key(&imk, "6222021234567890123", "01");
/// assert_eq!(mk.len(), 16);
/// ```
pub fn card_master_key(issuer_master_key: &DesKey, pan: &str, psn: &str) -> DesKey {
    let digits: String = format!("{pan}{psn:0>2}")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let tail = format!("{:0>16}", &digits[digits.len().saturating_sub(16)..]);
    let y: Vec<u8> = hex::decode(tail).expect("16 decimal digits");
    let y = block(&y);
    let left = issuer_master_key.encrypt_block(y);
    let right = issuer_master_key.encrypt_block(y.map(|b| b ^ 0xFF));
    let mut key = [left, right].concat();
    odd_parity(&mut key);
    DesKey::new(&key).expect("16 bytes")
}

/// The EMV common session key for the application transaction counter `atc`:
/// `R = ATC || 00 .. 00`, `3DES(MK, R with byte 3 = F0) || 3DES(MK, R with byte 3 = 0F)`.
pub fn session_key(card_master_key: &DesKey, atc: u16) -> DesKey {
    let mut r = [0u8; 8];
    r[..2].copy_from_slice(&atc.to_be_bytes());
    let (mut f0, mut zf) = (r, r);
    f0[2] = 0xF0;
    zf[2] = 0x0F;
    let mut key = [
        card_master_key.encrypt_block(f0),
        card_master_key.encrypt_block(zf),
    ]
    .concat();
    odd_parity(&mut key);
    DesKey::new(&key).expect("16 bytes")
}

/// ISO/IEC 9797-1 MAC algorithm 3 (single-DES CBC under the left half, then decrypt with the
/// right half and encrypt with the left), padding method 2 (`80` then zeros): the card's
/// application cryptogram over the CDOL data.
pub fn application_cryptogram(session_key: &DesKey, data: &[u8]) -> [u8; 8] {
    let bytes = session_key.expose_bytes();
    let (left, right) = (
        DesKey::new(&bytes[..8]).expect("8 bytes"),
        DesKey::new(&bytes[8..16]).expect("8 bytes"),
    );
    let mut padded = data.to_vec();
    padded.push(0x80);
    while !padded.len().is_multiple_of(8) {
        padded.push(0);
    }
    let mut h = [0u8; 8];
    for chunk in padded.chunks_exact(8) {
        for (a, b) in h.iter_mut().zip(chunk) {
            *a ^= b;
        }
        h = left.encrypt_block(h);
    }
    left.encrypt_block(right.decrypt_block(h))
}

/// ARPC method 1: `3DES(SK, ARQC xor (ARC || 00 .. 00))`, with the two-byte authorisation
/// response code `arc` (CUP: the ASCII response code, `3030` for approved).
pub fn arpc_method_1(session_key: &DesKey, arqc: [u8; 8], arc: [u8; 2]) -> [u8; 8] {
    let mut x = arqc;
    x[0] ^= arc[0];
    x[1] ^= arc[1];
    session_key.encrypt_block(x)
}

/// Field 55 of the simulator's chip cards as the reader hands it over today: the tags CUP
/// requires, with a fixed cryptogram. (The simulated kernel that computes each ARQC over the
/// transaction's own data with [`application_cryptogram`] is #16's next step.)
pub fn sample_icc_data() -> Vec<u8> {
    use smartpos_core::emv::tlv::{encode, Tag};
    let mut out = Vec::new();
    for (tag, value) in [
        (
            0x9F26u32,
            &[0x8A, 0x21, 0x6C, 0x0E, 0x51, 0x93, 0x2F, 0x4B][..],
        ),
        (0x9F27, &[0x80]),
        (0x9F10, &[0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x01]),
        (0x9F37, &[0x12, 0x34, 0x56, 0x78]),
        (0x9F36, &[0x00, 0x2A]),
        (0x95, &[0x00, 0x00, 0x00, 0x00, 0x00]),
        (0x9A, &[0x26, 0x11, 0x30]),
        (0x9C, &[0x00]),
        (0x9F02, &[0x00, 0x00, 0x00, 0x00, 0x10, 0x00]),
        (0x5F2A, &[0x01, 0x56]),
        (0x82, &[0x7C, 0x00]),
        (0x9F1A, &[0x01, 0x56]),
        (0x9F03, &[0, 0, 0, 0, 0, 0]),
        (0x9F33, &[0xE0, 0xE1, 0xC8]),
        (0x9F34, &[0x02, 0x03, 0x00]),
        (0x9F35, &[0x22]),
        (0x9F1E, b"SIM00001"),
        (0x84, &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01]),
        (0x9F09, &[0x00, 0x30]),
        (0x9F41, &[0x00, 0x00, 0x00, 0x01]),
    ] {
        encode(Tag(tag), value, &mut out).expect("short values");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_odd_parity_and_differ_by_card_and_counter() {
        let imk = DesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let a = card_master_key(&imk, "6222021234567890123", "01");
        let b = card_master_key(&imk, "6222021234567890123", "02");
        assert_ne!(a.expose_bytes(), b.expose_bytes());
        assert!(a.expose_bytes().iter().all(|b| b.count_ones() % 2 == 1));
        let s1 = session_key(&a, 1);
        let s2 = session_key(&a, 2);
        assert_ne!(s1.expose_bytes(), s2.expose_bytes());
        let arqc = application_cryptogram(&s1, b"data");
        assert_ne!(arqc, application_cryptogram(&s2, b"data"));
        assert_ne!(
            arpc_method_1(&s1, arqc, *b"00"),
            arpc_method_1(&s1, arqc, *b"05")
        );
    }
}
