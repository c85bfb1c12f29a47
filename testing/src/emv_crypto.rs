//! The cryptograms of a simulated chip card and its issuer (EMV Book 2 Annex A, double-length
//! DES keys, the EMV common session key): the issuer's master key for application cryptograms
//! gives each card its own key (derivation option A, from the PAN and PAN sequence number);
//! each transaction's session key comes from the card's key and its transaction counter; the
//! card's cryptograms (ARQC, TC, AAC) are ISO/IEC 9797-1 MAC algorithm 3 over the CDOL data
//! (padding method 2); the issuer's answer is ARPC method 1. `tests/python/emv_peer.py` checks
//! every function against PyPI `pyemv`.

use smartpos_core::crypto::DesKey;
use smartpos_core::emv::tlv::{self, Tag, Tlv};

/// The simulator's issuer master key for application cryptograms (test only): every simulated
/// chip card's key derives from it.
pub const TEST_ISSUER_MASTER_KEY_AC: &str = "9E15204313F7318ACB79B90BD986AD29";

/// The data the simulated cards' cryptograms cover, in this order (their CDOL1): amount,
/// other amount, terminal country, TVR, currency, date, type, unpredictable number, AIP, ATC.
pub const CDOL1: [u32; 10] = [
    0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36,
];

/// Tag 91's value (issuer authentication data): ARPC || ARC.
pub const TAG_ISSUER_AUTH: u32 = 0x91;
/// The simulated card's application (UnionPay debit).
pub const CARD_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01];
/// The index of the CA key that certifies the simulated card's issuer key (tag 8F on a card).
pub const CARD_CA_INDEX: u8 = 0x08;

/// The CDOL1 data of a field 55 list: the values of [`CDOL1`]'s tags, concatenated; `None`
/// when one is missing.
pub fn cdol1_data(list: &[Tlv<'_>]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for t in CDOL1 {
        out.extend_from_slice(tlv::find(list, Tag(t))?);
    }
    Some(out)
}

/// A simulated card's master key: derived from [`TEST_ISSUER_MASTER_KEY_AC`].
fn test_card_key(pan: &str, psn: &str) -> DesKey {
    let imk = DesKey::from_hex(TEST_ISSUER_MASTER_KEY_AC).expect("valid test key");
    card_master_key(&imk, pan, psn)
}

/// A chip card's transaction in progress: its session key and first cryptogram (`Debug`
/// shows neither).
pub struct ChipSession {
    session_key: DesKey,
    arqc: [u8; 8],
    cdol1: Vec<u8>,
}

/// What a simulated chip card is told of the transaction at its first GENERATE AC.
pub struct FirstAc<'a> {
    /// Card number.
    pub pan: &'a str,
    /// PAN sequence number (two digits).
    pub psn: &'a str,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency, e.g. `"156"`.
    pub currency: &'a str,
    /// Transaction date YYMMDD.
    pub date: &'a str,
    /// The card's application transaction counter.
    pub atc: u16,
    /// The terminal's unpredictable number.
    pub unpredictable: [u8; 4],
    /// Terminal verification results (95) as the kernel set them before the first GENERATE
    /// AC (byte 1 bit 8: offline data authentication was not performed).
    pub tvr: [u8; 5],
}

fn bcd(digits: &str) -> Vec<u8> {
    hex::decode(digits).unwrap_or_default()
}

impl FirstAc<'_> {
    /// The card's field 55 (an ARQC over its CDOL1 data, with the tags the CUP profile asks
    /// for) and the session the second half needs.
    pub fn run(&self) -> (Vec<u8>, ChipSession) {
        let sk = session_key(&test_card_key(self.pan, self.psn), self.atc);
        let currency = bcd(&format!("{:0>4}", self.currency));
        let values: Vec<(u32, Vec<u8>)> = vec![
            (0x9F02, bcd(&format!("{:012}", self.amount_minor))),
            (0x9F03, vec![0; 6]),
            (0x9F1A, currency.clone()),
            (0x95, self.tvr.to_vec()),
            (0x5F2A, currency),
            (0x9A, bcd(self.date)),
            (0x9C, vec![0x00]),
            (0x9F37, self.unpredictable.to_vec()),
            (0x82, vec![0x7C, 0x00]),
            (0x9F36, self.atc.to_be_bytes().to_vec()),
        ];
        let cdol1: Vec<u8> = values.iter().flat_map(|(_, v)| v.clone()).collect();
        let arqc = application_cryptogram(&sk, &cdol1);
        let mut out = Vec::new();
        let mut put = |t: u32, v: &[u8]| tlv::encode(Tag(t), v, &mut out).expect("short");
        put(0x9F26, &arqc);
        put(0x9F27, &[0x80]);
        put(0x9F10, &[0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x01]);
        for (t, v) in &values {
            put(*t, v);
        }
        put(0x9F33, &[0xE0, 0xE1, 0xC8]);
        put(0x9F34, &[0x02, 0x03, 0x00]);
        put(0x9F35, &[0x22]);
        put(0x9F1E, b"SIM00001");
        put(0x84, &CARD_AID);
        put(0x50, b"UnionPay Debit");
        put(0x9F09, &[0x00, 0x30]);
        put(0x9F41, &(self.atc as u32).to_be_bytes());
        (
            out,
            ChipSession {
                session_key: sk,
                arqc,
                cdol1,
            },
        )
    }
}

impl std::fmt::Debug for ChipSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipSession").finish_non_exhaustive()
    }
}

impl ChipSession {
    /// The card's second GENERATE AC on the host's answer: the ARPC in tag 91 must be the one
    /// its issuer would compute for this ARQC and the ARC beside it, and the ARC must say
    /// approved (`00`), else the card declines (AAC). Returns whether it accepts and its
    /// field 55 data (9F27 CID, 9F26 TC or AAC, and DF31 script results when the answer carried
    /// scripts 71/72).
    pub fn second_ac(&self, answer_icc: &[u8]) -> (bool, Vec<u8>) {
        let list = tlv::decode(answer_icc).unwrap_or_default();
        let genuine = tlv::find(&list, Tag(TAG_ISSUER_AUTH)).and_then(|v| {
            let (arpc, arc) = (v.get(..8)?, v.get(8..10)?);
            let arc: [u8; 2] = arc.try_into().ok()?;
            let want = arpc_method_1(&self.session_key, self.arqc, arc);
            (arpc == want).then_some(arc)
        });
        let accept = genuine == Some(*b"00");
        let mut data = self.cdol1.clone();
        data.extend_from_slice(&genuine.unwrap_or(*b"Z3"));
        let ac = application_cryptogram(&self.session_key, &data);
        let mut out = Vec::new();
        let mut put = |t: u32, v: &[u8]| tlv::encode(Tag(t), v, &mut out).expect("short");
        put(0x9F27, &[if accept { 0x40 } else { 0x00 }]);
        put(0x9F26, &ac);
        let scripts = list
            .iter()
            .filter(|t| matches!(t.tag, Tag(0x71) | Tag(0x72)))
            .count();
        if scripts > 0 {
            // one result a script: 2 = processed, script id zero
            let results: Vec<u8> = (0..scripts).flat_map(|_| [0x20, 0, 0, 0, 0]).collect();
            put(0xDF31, &results);
        }
        (accept, out)
    }
}

/// The issuer's check of a request's field 55: the ARQC must be the card's own over its CDOL1
/// data. Returns the session key and ARQC for the answer's ARPC, or why not.
pub fn issuer_check(pan: &str, psn: &str, f55: &[u8]) -> Result<(DesKey, [u8; 8]), &'static str> {
    let list = tlv::decode(f55).map_err(|_| "field 55 is not BER-TLV")?;
    let arqc: [u8; 8] = tlv::find(&list, Tag(0x9F26))
        .and_then(|v| v.try_into().ok())
        .ok_or("no ARQC (9F26)")?;
    let atc: [u8; 2] = tlv::find(&list, Tag(0x9F36))
        .and_then(|v| v.try_into().ok())
        .ok_or("no ATC (9F36)")?;
    let cdol1 = cdol1_data(&list).ok_or("CDOL1 data incomplete")?;
    let sk = session_key(&test_card_key(pan, psn), u16::from_be_bytes(atc));
    if application_cryptogram(&sk, &cdol1) != arqc {
        return Err("ARQC does not verify");
    }
    Ok((sk, arqc))
}

/// Tag 91's value for an answer: ARPC (method 1) || ARC.
pub fn issuer_authentication_data(session_key: &DesKey, arqc: [u8; 8], arc: [u8; 2]) -> Vec<u8> {
    let mut v = arpc_method_1(session_key, arqc, arc).to_vec();
    v.extend_from_slice(&arc);
    v
}

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
