//! The terminal's EMV parameters as the host downloads them at sign-in: CA public keys (one a
//! RID and index) and IC card parameters (one an AID), each a BER-TLV record in field 62.
//!
//! Tags (the CUP POS download records):
//!
//! | tag | CA public key | tag | IC parameters (one AID) |
//! |---|---|---|---|
//! | 9F06 | RID, 5 bytes | 9F06 | AID, 5 to 16 bytes |
//! | 9F22 | key index, 1 byte | DF01 | 00: partial AID match allowed, else exact |
//! | DF05 | expiry, `YYYYMMDD` (8 ASCII digits; 4 BCD bytes accepted) | 9F09 | application version, 2 bytes |
//! | DF06 | hash algorithm (01 SHA-1) | DF11, DF12, DF13 | terminal action codes default, online, denial, 5 bytes each |
//! | DF07 | key algorithm (01 RSA) | 9F1B | floor limit, 4 bytes binary, minor units |
//! | DF02 | modulus, 1 to 248 bytes | DF15 | threshold for random selection, 4 bytes binary |
//! | DF04 | exponent, 1 to 3 bytes | DF16, DF17 | maximum target and target percentage, 1 BCD byte |
//! | DF03 | SHA-1 of RID ‖ index ‖ modulus ‖ exponent, 20 bytes | DF14 | default DDOL |
//! | | | DF18 | 01: online PIN supported |
//! | | | 9F7B | electronic cash limit, n12 (6 BCD bytes) |
//! | | | DF19, DF20, DF21 | contactless floor limit, transaction limit, CVM limit, n12 each |
//!
//! A record's checksum is verified when it is read; unknown tags are ignored (kept out).

use super::tlv::{self, Tag, TlvError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a downloaded record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// Not BER-TLV.
    #[error("not BER-TLV: {0}")]
    Tlv(#[from] TlvError),
    /// A tag the record needs is missing.
    #[error("tag {0} is missing")]
    Missing(Tag),
    /// A value has the wrong length or content.
    #[error("tag {tag}: {why}")]
    Bad {
        /// The tag.
        tag: Tag,
        /// What is wrong.
        why: &'static str,
    },
    /// A CA key's DF03 is not the SHA-1 of its RID, index, modulus and exponent.
    #[error("CA key {rid} {index:02X}: checksum does not match the key")]
    Checksum {
        /// RID in hex.
        rid: String,
        /// Key index.
        index: u8,
    },
}

fn need<'a>(list: &[tlv::Tlv<'a>], tag: u32) -> Result<&'a [u8], ParamError> {
    tlv::find(list, Tag(tag)).ok_or(ParamError::Missing(Tag(tag)))
}

fn bad(tag: u32, why: &'static str) -> ParamError {
    ParamError::Bad { tag: Tag(tag), why }
}

fn fixed<const N: usize>(list: &[tlv::Tlv<'_>], tag: u32) -> Result<Option<[u8; N]>, ParamError> {
    tlv::find(list, Tag(tag))
        .map(|v| v.try_into().map_err(|_| bad(tag, "wrong length")))
        .transpose()
}

/// An n12 amount (6 BCD bytes) in minor units.
fn bcd_amount(list: &[tlv::Tlv<'_>], tag: u32) -> Result<Option<u64>, ParamError> {
    let Some(v) = tlv::find(list, Tag(tag)) else {
        return Ok(None);
    };
    if v.len() != 6 {
        return Err(bad(tag, "an n12 amount is 6 bytes"));
    }
    crate::iso8583::bcd::unpack(v, 12, false, false)
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .map(Some)
        .ok_or(bad(tag, "not BCD digits"))
}

fn bcd_byte(list: &[tlv::Tlv<'_>], tag: u32) -> Result<Option<u8>, ParamError> {
    match fixed::<1>(list, tag)? {
        None => Ok(None),
        Some([b]) if b >> 4 <= 9 && b & 0x0F <= 9 => Ok(Some((b >> 4) * 10 + (b & 0x0F))),
        Some(_) => Err(bad(tag, "not a BCD byte")),
    }
}

fn put(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    tlv::encode(Tag(tag), value, out).expect("parameter values are short");
}

fn put_amount(out: &mut Vec<u8>, tag: u32, minor: Option<u64>) {
    if let Some(m) = minor {
        let digits = format!("{:012}", m.min(999_999_999_999));
        let packed = crate::iso8583::bcd::pack(digits.as_bytes(), false, false).expect("digits");
        put(out, tag, &packed);
    }
}

/// A certification authority's public key, with which a kernel checks a card's data offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPublicKey {
    /// Registered application provider id (A000000333 for UnionPay).
    pub rid: [u8; 5],
    /// Key index (9F22).
    pub index: u8,
    /// Expiry, `YYYYMMDD`.
    pub expiry: String,
    /// Hash algorithm indicator (01: SHA-1).
    pub hash_algorithm: u8,
    /// Public key algorithm indicator (01: RSA).
    pub key_algorithm: u8,
    /// Modulus, big-endian.
    pub modulus: Vec<u8>,
    /// Exponent (03 or 010001).
    pub exponent: Vec<u8>,
}

impl CaPublicKey {
    /// DF03: SHA-1 of RID ‖ index ‖ modulus ‖ exponent.
    pub fn checksum(&self) -> [u8; 20] {
        let mut c = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        c.update(&self.rid);
        c.update(&[self.index]);
        c.update(&self.modulus);
        c.update(&self.exponent);
        c.finish().as_ref().try_into().expect("20 bytes")
    }

    /// Reads a downloaded record; the checksum must match.
    ///
    /// ```
    /// use smartpos_core::emv::params::CaPublicKey;
    /// let key = CaPublicKey {
    ///     rid: [0xA0, 0, 0, 0x03, 0x33], index: 0x08, expiry: "20301231".into(),
    ///     hash_algorithm: 1, key_algorithm: 1, modulus: vec![0xC5; 144], exponent: vec![3],
    /// };
    /// let record = key.to_tlv();
    /// assert_eq!(CaPublicKey::from_tlv(&record).unwrap(), key);
    /// let mut broken = record.clone();
    /// let at = broken.len() - 30; // inside the modulus
    /// broken[at] ^= 1;
    /// assert!(CaPublicKey::from_tlv(&broken).is_err());
    /// ```
    pub fn from_tlv(record: &[u8]) -> Result<Self, ParamError> {
        let list = tlv::decode(record)?;
        let rid: [u8; 5] = need(&list, 0x9F06)?
            .try_into()
            .map_err(|_| bad(0x9F06, "a RID is 5 bytes"))?;
        let [index] = fixed::<1>(&list, 0x9F22)?.ok_or(ParamError::Missing(Tag(0x9F22)))?;
        let expiry = match need(&list, 0xDF05)? {
            v if v.len() == 8 && v.iter().all(u8::is_ascii_digit) => {
                String::from_utf8(v.to_vec()).expect("digits")
            }
            v if v.len() == 4 => crate::iso8583::bcd::unpack(v, 8, false, false)
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or(bad(0xDF05, "not BCD digits"))?,
            _ => return Err(bad(0xDF05, "expiry is YYYYMMDD")),
        };
        let modulus = need(&list, 0xDF02)?.to_vec();
        if modulus.is_empty() || modulus.len() > 248 {
            return Err(bad(0xDF02, "a modulus is 1 to 248 bytes"));
        }
        let exponent = need(&list, 0xDF04)?.to_vec();
        if exponent.is_empty() || exponent.len() > 3 {
            return Err(bad(0xDF04, "an exponent is 1 to 3 bytes"));
        }
        let key = CaPublicKey {
            rid,
            index,
            expiry,
            hash_algorithm: fixed::<1>(&list, 0xDF06)?.map_or(1, |[b]| b),
            key_algorithm: fixed::<1>(&list, 0xDF07)?.map_or(1, |[b]| b),
            modulus,
            exponent,
        };
        let sum: [u8; 20] = need(&list, 0xDF03)?
            .try_into()
            .map_err(|_| bad(0xDF03, "a SHA-1 checksum is 20 bytes"))?;
        if sum != key.checksum() {
            return Err(ParamError::Checksum {
                rid: hex::encode_upper(key.rid),
                index: key.index,
            });
        }
        Ok(key)
    }

    /// The record as the host sends it (checksum included).
    pub fn to_tlv(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.modulus.len() + 64);
        put(&mut out, 0x9F06, &self.rid);
        put(&mut out, 0x9F22, &[self.index]);
        put(&mut out, 0xDF05, self.expiry.as_bytes());
        put(&mut out, 0xDF06, &[self.hash_algorithm]);
        put(&mut out, 0xDF07, &[self.key_algorithm]);
        put(&mut out, 0xDF02, &self.modulus);
        put(&mut out, 0xDF04, &self.exponent);
        put(&mut out, 0xDF03, &self.checksum());
        out
    }

    /// The entry a host lists for this key when the terminal asks what there is (RID, index,
    /// expiry).
    pub fn listing(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        put(&mut out, 0x9F06, &self.rid);
        put(&mut out, 0x9F22, &[self.index]);
        put(&mut out, 0xDF05, self.expiry.as_bytes());
        out
    }
}

/// The terminal's parameters for one card application (AID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AidParameters {
    /// The AID, 5 to 16 bytes.
    pub aid: Vec<u8>,
    /// DF01 = 00: a card AID that starts with this one matches too.
    pub partial_match: bool,
    /// 9F09.
    pub app_version: Option<[u8; 2]>,
    /// DF11.
    pub tac_default: Option<[u8; 5]>,
    /// DF12.
    pub tac_online: Option<[u8; 5]>,
    /// DF13.
    pub tac_denial: Option<[u8; 5]>,
    /// 9F1B, minor units.
    pub floor_limit_minor: Option<u32>,
    /// DF15, minor units.
    pub threshold_minor: Option<u32>,
    /// DF16.
    pub max_target_percent: Option<u8>,
    /// DF17.
    pub target_percent: Option<u8>,
    /// DF14.
    pub default_ddol: Option<Vec<u8>>,
    /// DF18 = 01.
    pub online_pin: Option<bool>,
    /// 9F7B, minor units.
    pub ec_limit_minor: Option<u64>,
    /// DF19, minor units.
    pub contactless_floor_minor: Option<u64>,
    /// DF20, minor units.
    pub contactless_limit_minor: Option<u64>,
    /// DF21, minor units: at or under it a contactless card needs no cardholder verification
    /// (no PIN).
    pub cvm_limit_minor: Option<u64>,
}

impl AidParameters {
    /// Reads a downloaded record.
    ///
    /// ```
    /// use smartpos_core::emv::params::AidParameters;
    /// let p = AidParameters {
    ///     aid: vec![0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01],
    ///     partial_match: true,
    ///     cvm_limit_minor: Some(30_000),
    ///     ..Default::default()
    /// };
    /// assert_eq!(AidParameters::from_tlv(&p.to_tlv()).unwrap(), p);
    /// ```
    pub fn from_tlv(record: &[u8]) -> Result<Self, ParamError> {
        let list = tlv::decode(record)?;
        let aid = need(&list, 0x9F06)?.to_vec();
        if !(5..=16).contains(&aid.len()) {
            return Err(bad(0x9F06, "an AID is 5 to 16 bytes"));
        }
        let u32_of = |tag| fixed::<4>(&list, tag).map(|v| v.map(u32::from_be_bytes));
        Ok(AidParameters {
            aid,
            partial_match: fixed::<1>(&list, 0xDF01)?.is_none_or(|[b]| b == 0),
            app_version: fixed(&list, 0x9F09)?,
            tac_default: fixed(&list, 0xDF11)?,
            tac_online: fixed(&list, 0xDF12)?,
            tac_denial: fixed(&list, 0xDF13)?,
            floor_limit_minor: u32_of(0x9F1B)?,
            threshold_minor: u32_of(0xDF15)?,
            max_target_percent: bcd_byte(&list, 0xDF16)?,
            target_percent: bcd_byte(&list, 0xDF17)?,
            default_ddol: tlv::find(&list, Tag(0xDF14)).map(<[u8]>::to_vec),
            online_pin: fixed::<1>(&list, 0xDF18)?.map(|[b]| b == 1),
            ec_limit_minor: bcd_amount(&list, 0x9F7B)?,
            contactless_floor_minor: bcd_amount(&list, 0xDF19)?,
            contactless_limit_minor: bcd_amount(&list, 0xDF20)?,
            cvm_limit_minor: bcd_amount(&list, 0xDF21)?,
        })
    }

    /// The record as the host sends it.
    pub fn to_tlv(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        put(&mut out, 0x9F06, &self.aid);
        put(&mut out, 0xDF01, &[u8::from(!self.partial_match)]);
        let bcd = |n: u8| ((n / 10 % 10) << 4) | (n % 10);
        for (tag, v) in [
            (0x9F09, self.app_version.map(|v| v.to_vec())),
            (0xDF11, self.tac_default.map(|v| v.to_vec())),
            (0xDF12, self.tac_online.map(|v| v.to_vec())),
            (0xDF13, self.tac_denial.map(|v| v.to_vec())),
            (
                0x9F1B,
                self.floor_limit_minor.map(|v| v.to_be_bytes().to_vec()),
            ),
            (
                0xDF15,
                self.threshold_minor.map(|v| v.to_be_bytes().to_vec()),
            ),
            (0xDF16, self.max_target_percent.map(|v| vec![bcd(v)])),
            (0xDF17, self.target_percent.map(|v| vec![bcd(v)])),
            (0xDF14, self.default_ddol.clone()),
            (0xDF18, self.online_pin.map(|b| vec![u8::from(b)])),
        ] {
            if let Some(v) = v {
                put(&mut out, tag, &v);
            }
        }
        put_amount(&mut out, 0x9F7B, self.ec_limit_minor);
        put_amount(&mut out, 0xDF19, self.contactless_floor_minor);
        put_amount(&mut out, 0xDF20, self.contactless_limit_minor);
        put_amount(&mut out, 0xDF21, self.cvm_limit_minor);
        out
    }

    /// Whether a card's AID selects these parameters.
    pub fn matches(&self, card_aid: &[u8]) -> bool {
        card_aid == self.aid.as_slice() || (self.partial_match && card_aid.starts_with(&self.aid))
    }
}

/// Everything the terminal downloaded: the kernel is loaded with it, and the engine reads the
/// contactless CVM limit of the card's AID from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmvParameters {
    /// CA public keys.
    pub ca_keys: Vec<CaPublicKey>,
    /// IC parameters, one an AID.
    pub aids: Vec<AidParameters>,
}

impl EmvParameters {
    /// The parameters a card's AID selects: an exact match, else the longest partial one.
    ///
    /// ```
    /// use smartpos_core::emv::params::{AidParameters, EmvParameters};
    /// let p = EmvParameters {
    ///     ca_keys: vec![],
    ///     aids: vec![AidParameters { aid: vec![0xA0, 0, 0, 3, 0x33], partial_match: true,
    ///                                cvm_limit_minor: Some(30_000), ..Default::default() }],
    /// };
    /// assert_eq!(p.aid_for(&[0xA0, 0, 0, 3, 0x33, 1, 1, 1]).unwrap().cvm_limit_minor, Some(30_000));
    /// assert!(p.aid_for(&[0xA0, 0, 0, 0, 0x03]).is_none());
    /// ```
    pub fn aid_for(&self, card_aid: &[u8]) -> Option<&AidParameters> {
        self.aids
            .iter()
            .filter(|a| a.matches(card_aid))
            .max_by_key(|a| (a.aid.as_slice() == card_aid, a.aid.len()))
    }

    /// The CA key with this RID and index.
    pub fn ca_key(&self, rid: &[u8], index: u8) -> Option<&CaPublicKey> {
        self.ca_keys
            .iter()
            .find(|k| k.rid == rid && k.index == index)
    }

    /// Whether nothing was downloaded.
    pub fn is_empty(&self) -> bool {
        self.ca_keys.is_empty() && self.aids.is_empty()
    }
}

/// Stored as the download records in hex: `{"ca_keys": [..], "aids": [..]}`, read back through
/// the same checks as a download.
#[derive(Serialize, Deserialize)]
struct Stored {
    ca_keys: Vec<String>,
    aids: Vec<String>,
}

impl Serialize for EmvParameters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            ca_keys: self
                .ca_keys
                .iter()
                .map(|k| hex::encode_upper(k.to_tlv()))
                .collect(),
            aids: self
                .aids
                .iter()
                .map(|a| hex::encode_upper(a.to_tlv()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for EmvParameters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let s = Stored::deserialize(d)?;
        let bytes = |h: &String| hex::decode(h).map_err(D::Error::custom);
        Ok(EmvParameters {
            ca_keys: s
                .ca_keys
                .iter()
                .map(|h| CaPublicKey::from_tlv(&bytes(h)?).map_err(D::Error::custom))
                .collect::<Result<_, _>>()?,
            aids: s
                .aids
                .iter()
                .map(|h| AidParameters::from_tlv(&bytes(h)?).map_err(D::Error::custom))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> CaPublicKey {
        CaPublicKey {
            rid: [0xA0, 0, 0, 3, 0x33],
            index: 0x0B,
            expiry: "20311231".into(),
            hash_algorithm: 1,
            key_algorithm: 1,
            modulus: (0..176u8).collect(),
            exponent: vec![1, 0, 1],
        }
    }

    #[test]
    fn checksum_is_sha1_of_rid_index_modulus_exponent() {
        let k = key();
        let mut whole = k.rid.to_vec();
        whole.push(k.index);
        whole.extend_from_slice(&k.modulus);
        whole.extend_from_slice(&k.exponent);
        let sum = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &whole);
        assert_eq!(k.checksum().as_slice(), sum.as_ref());
    }

    #[test]
    fn refuses_what_a_kernel_must_not_load() {
        let mut r = key().to_tlv();
        r.truncate(r.len() - 3);
        assert!(matches!(CaPublicKey::from_tlv(&r), Err(ParamError::Tlv(_))));
        let mut k = key();
        k.modulus.clear();
        let mut out = Vec::new();
        put(&mut out, 0x9F06, &k.rid);
        put(&mut out, 0x9F22, &[k.index]);
        put(&mut out, 0xDF05, b"20311231");
        assert_eq!(
            CaPublicKey::from_tlv(&out),
            Err(ParamError::Missing(Tag(0xDF02)))
        );
        assert!(AidParameters::from_tlv(&[0x9F, 0x06, 0x02, 0xA0, 0]).is_err());
        let bad_amount = {
            let mut o = Vec::new();
            put(&mut o, 0x9F06, &[0xA0, 0, 0, 3, 0x33]);
            put(&mut o, 0xDF21, &[0, 0, 0, 0x1A, 0, 0]);
            o
        };
        assert_eq!(
            AidParameters::from_tlv(&bad_amount),
            Err(bad(0xDF21, "not BCD digits"))
        );
    }

    #[test]
    fn stored_form_reads_back_through_the_checks() {
        let p = EmvParameters {
            ca_keys: vec![key()],
            aids: vec![AidParameters {
                aid: vec![0xA0, 0, 0, 3, 0x33, 1, 1, 2],
                partial_match: false,
                tac_online: Some([0xD8, 0x40, 0, 0xF8, 0]),
                floor_limit_minor: Some(0),
                online_pin: Some(true),
                cvm_limit_minor: Some(100_000),
                ..Default::default()
            }],
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<EmvParameters>(&json).unwrap(), p);
        let tampered = json.replacen("9F2201", "9F2202", 1);
        assert!(serde_json::from_str::<EmvParameters>(&tampered).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_record_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = CaPublicKey::from_tlv(&bytes);
            let _ = AidParameters::from_tlv(&bytes);
        }

        #[test]
        fn aid_records_round_trip(aid in proptest::collection::vec(any::<u8>(), 5..=16),
                partial in any::<bool>(), cvm in proptest::option::of(0u64..1_000_000_000_000),
                floor in proptest::option::of(any::<u32>()), pct in proptest::option::of(0u8..100)) {
            let p = AidParameters { aid, partial_match: partial, cvm_limit_minor: cvm,
                floor_limit_minor: floor, target_percent: pct, ..Default::default() };
            prop_assert_eq!(AidParameters::from_tlv(&p.to_tlv()).unwrap(), p);
        }
    }
}
