//! The simulator's EMV parameter downloads: what it lists and serves for the CA public key
//! (60.3 372 list, 370 fetch, 371 end) and IC parameter (382, 380, 381) downloads.
//!
//! Its CA keys are test keys: deterministic moduli expanded from a label with SHA-256, not keys
//! of any scheme; a kernel that checked a card's signature with them would fail, which no
//! simulated card asks it to.

use super::Acquirer;
use smartpos_core::emv::params::{AidParameters, CaPublicKey, EmvParameters};
use smartpos_core::emv::tlv::{self, Tag};
use smartpos_core::iso8583::Message;

/// UnionPay's RID.
pub const UNIONPAY_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x33];

/// Entries one listing answer carries; more are asked for with the count so far.
const LISTED_PER_ANSWER: usize = 2;

fn test_modulus(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut n = 0u32;
    while out.len() < len {
        let mut c = ring::digest::Context::new(&ring::digest::SHA256);
        c.update(label.as_bytes());
        c.update(&n.to_be_bytes());
        out.extend_from_slice(c.finish().as_ref());
        n += 1;
    }
    out.truncate(len);
    out[0] |= 0x80; // a full-length modulus
    out
}

/// The simulator's parameters: two UnionPay CA test keys (indexes 08 and 0B) and the debit,
/// credit and quasi-credit AIDs, whose contactless CVM limit (DF21) is `no_pin_minor`.
///
/// ```
/// use smartpos_testing::acquirer::emv_params::standard_emv_parameters;
/// let p = standard_emv_parameters(100_000);
/// assert_eq!(p.ca_keys.len(), 2);
/// let debit = p.aid_for(&[0xA0, 0, 0, 3, 0x33, 1, 1, 1]).unwrap();
/// assert_eq!(debit.cvm_limit_minor, Some(100_000));
/// ```
pub fn standard_emv_parameters(no_pin_minor: u64) -> EmvParameters {
    let key = |index: u8, len: usize| CaPublicKey {
        rid: UNIONPAY_RID,
        index,
        expiry: "20301231".into(),
        hash_algorithm: 1,
        key_algorithm: 1,
        modulus: test_modulus(&format!("smartpos test CA {index:02X}"), len),
        exponent: vec![3],
    };
    let aid = |last: u8| AidParameters {
        aid: vec![0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, last],
        partial_match: true,
        app_version: Some([0x00, 0x30]),
        tac_default: Some([0xD8, 0x40, 0x00, 0xA8, 0x00]),
        tac_online: Some([0xD8, 0x40, 0x04, 0xF8, 0x00]),
        tac_denial: Some([0x00, 0x10, 0x00, 0x00, 0x00]),
        floor_limit_minor: Some(0),
        threshold_minor: Some(0),
        max_target_percent: Some(0),
        target_percent: Some(0),
        default_ddol: Some(vec![0x9F, 0x37, 0x04]),
        online_pin: Some(true),
        ec_limit_minor: Some(100_000),
        contactless_floor_minor: Some(0),
        contactless_limit_minor: Some(99_999_999),
        cvm_limit_minor: Some(no_pin_minor),
    };
    EmvParameters {
        ca_keys: vec![key(0x08, 176), key(0x0B, 248)],
        aids: vec![aid(0x01), aid(0x02), aid(0x03)],
    }
}

/// What a download request asks for, from its 60.3 code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    CaKeys,
    IcParameters,
}

impl Asked {
    pub(super) fn of(code: &str) -> Option<(Asked, &'static str)> {
        Some(match code {
            "372" => (Asked::CaKeys, "list"),
            "370" => (Asked::CaKeys, "fetch"),
            "371" => (Asked::CaKeys, "end"),
            "382" => (Asked::IcParameters, "list"),
            "380" => (Asked::IcParameters, "fetch"),
            "381" => (Asked::IcParameters, "end"),
            _ => return None,
        })
    }
}

impl Acquirer {
    /// The parameters this host serves (tests change them: a different CVM limit, a key gone).
    pub fn emv_parameters_mut(&mut self) -> &mut EmvParameters {
        &mut self.emv
    }

    /// A listing (0820): F62 `1NN` names how many entries the terminal has; the answer lists
    /// the next ones, `2` first when more follow, `1` when these are the last, `0` when there
    /// are none.
    pub(super) fn emv_listing(&self, what: Asked, req: &Message, resp: &mut Message) -> String {
        let asked = req.get(62).unwrap_or_default();
        // `1` and exactly two digits: how many entries the terminal has so far.
        let Some(from) = asked
            .strip_prefix(b"1")
            .filter(|n| n.len() == 2 && n.iter().all(u8::is_ascii_digit))
            .map(|n| usize::from(n[0] - b'0') * 10 + usize::from(n[1] - b'0'))
        else {
            return "30".into(); // format error
        };
        let all: Vec<Vec<u8>> = match what {
            Asked::CaKeys => self.emv.ca_keys.iter().map(CaPublicKey::listing).collect(),
            Asked::IcParameters => self
                .emv
                .aids
                .iter()
                .map(|a| {
                    let mut e = Vec::new();
                    tlv::encode(Tag(0x9F06), &a.aid, &mut e).expect("short");
                    e
                })
                .collect(),
        };
        let part: Vec<u8> = all
            .iter()
            .skip(from)
            .take(LISTED_PER_ANSWER)
            .flatten()
            .copied()
            .collect();
        let control = if all.is_empty() {
            b'0'
        } else if from + LISTED_PER_ANSWER < all.len() {
            b'2'
        } else {
            b'1'
        };
        let mut f62 = vec![control];
        f62.extend_from_slice(&part);
        resp.set(62, f62);
        "00".into()
    }

    /// One record (0800): F62 names it (9F06 RID + 9F22 index, or 9F06 AID); the answer is `1`
    /// and the record, or `0` when the host has no such record.
    pub(super) fn emv_fetch(&self, what: Asked, req: &Message, resp: &mut Message) -> String {
        let asked = req.get(62).unwrap_or_default();
        let Ok(list) = tlv::decode(asked) else {
            return "30".into();
        };
        let Some(id) = tlv::find(&list, Tag(0x9F06)) else {
            return "30".into();
        };
        let record = match what {
            Asked::CaKeys => tlv::find(&list, Tag(0x9F22))
                .and_then(|i| i.first())
                .and_then(|&i| self.emv.ca_key(id, i))
                .map(CaPublicKey::to_tlv),
            Asked::IcParameters => self
                .emv
                .aids
                .iter()
                .find(|a| a.aid == id)
                .map(AidParameters::to_tlv),
        };
        let mut f62 = Vec::new();
        match record {
            Some(r) => {
                f62.push(b'1');
                f62.extend_from_slice(&r);
            }
            None => f62.push(b'0'),
        }
        resp.set(62, f62);
        "00".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartpos_core::iso8583::Mti;
    use smartpos_core::profile::AcquirerProfile;

    fn listing(host: &Acquirer, f62: &[u8]) -> (String, Option<Vec<u8>>) {
        let mut req = Message::new(Mti::new(820).unwrap());
        req.set(62, f62);
        let mut resp = Message::new(Mti::new(830).unwrap());
        let code = host.emv_listing(Asked::CaKeys, &req, &mut resp);
        (code, resp.get(62).map(<[u8]>::to_vec))
    }

    #[test]
    fn a_listing_request_is_one_and_two_digits_and_nothing_else() {
        let host = Acquirer::new(AcquirerProfile::cup_default());
        // Two keys, two an answer: all in the first part.
        let (code, f62) = listing(&host, b"100");
        assert_eq!(code, "00");
        assert_eq!(f62.unwrap()[0], b'1');
        // Past the end: nothing more, the last part.
        assert_eq!(listing(&host, b"199"), ("00".into(), Some(b"1".to_vec())));
        // Hostile counts: a format error, never a panic.
        for bad in [&b"118446744073709551615"[..], b"1", b"1x9", b"200", b""] {
            assert_eq!(listing(&host, bad).0, "30", "{bad:?}");
        }
    }
}
