//! EMVCo merchant-presented QR payloads: tag (2 digits), length (2 digits, counting
//! characters), value; the last object is the CRC (tag 63), CRC-16/CCITT-FALSE over the UTF-8
//! bytes of everything before its value, `6304` included.

use crate::money::Money;

/// Why a payload cannot be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmvError {
    /// A value is longer than 99 characters.
    #[error("value of tag {0} is longer than 99 characters")]
    TooLong(String),
    /// A field the builder needs is missing or malformed.
    #[error("{0}")]
    BadField(&'static str),
    /// The text is not a sequence of tag-length-value objects.
    #[error("malformed payload at character {at}")]
    Malformed {
        /// Character offset.
        at: usize,
    },
    /// The last object is not a 4-hex-digit CRC (tag 63).
    #[error("payload does not end with a CRC (6304....)")]
    NoCrc,
    /// The CRC does not match.
    #[error("CRC mismatch: payload says {stated}, computed {computed}")]
    CrcMismatch {
        /// The CRC in the payload.
        stated: String,
        /// The CRC of the payload.
        computed: String,
    },
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR.
///
/// ```
/// assert_eq!(smartpos_core::qr::emv::crc16_ccitt_false(b"123456789"), 0x29B1);
/// ```
pub fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One data object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// Two-digit tag.
    pub tag: String,
    /// The value (characters, not bytes).
    pub value: String,
}

/// Appends one object; the length counts characters.
pub fn push_tlv(out: &mut String, tag: &str, value: &str) -> Result<(), EmvError> {
    let n = value.chars().count();
    if n > 99 {
        return Err(EmvError::TooLong(tag.into()));
    }
    out.push_str(tag);
    out.push_str(&format!("{n:02}"));
    out.push_str(value);
    Ok(())
}

/// Appends `6304` and the CRC over everything so far.
///
/// ```
/// use smartpos_core::qr::emv::{parse, with_crc};
/// let p = with_crc("000201".to_string());
/// assert!(p.starts_with("0002016304") && parse(&p).is_ok());
/// ```
pub fn with_crc(mut payload: String) -> String {
    payload.push_str("6304");
    let crc = crc16_ccitt_false(payload.as_bytes());
    payload.push_str(&format!("{crc:04X}"));
    payload
}

/// Splits `text` into objects (no CRC check).
pub fn parse_objects(text: &str) -> Result<Vec<Tlv>, EmvError> {
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    let mut out = Vec::new();
    while at < chars.len() {
        let head: String = chars
            .get(at..at + 4)
            .ok_or(EmvError::Malformed { at })?
            .iter()
            .collect();
        if !head.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EmvError::Malformed { at });
        }
        let len: usize = head[2..].parse().map_err(|_| EmvError::Malformed { at })?;
        let value: String = chars
            .get(at + 4..at + 4 + len)
            .ok_or(EmvError::Malformed { at })?
            .iter()
            .collect();
        out.push(Tlv {
            tag: head[..2].to_string(),
            value,
        });
        at += 4 + len;
    }
    Ok(out)
}

/// Parses a whole payload and checks its CRC.
///
/// ```
/// use smartpos_core::qr::emv::parse;
/// let example = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A";
/// let objects = parse(example).unwrap();
/// assert_eq!(objects.iter().find(|o| o.tag == "59").unwrap().value, "BEST TRANSPORT");
/// ```
pub fn parse(payload: &str) -> Result<Vec<Tlv>, EmvError> {
    let objects = parse_objects(payload)?;
    let last = objects.last().ok_or(EmvError::NoCrc)?;
    if last.tag != "63" || last.value.len() != 4 {
        return Err(EmvError::NoCrc);
    }
    let body = &payload[..payload.len() - 4];
    let computed = format!("{:04X}", crc16_ccitt_false(body.as_bytes()));
    if !computed.eq_ignore_ascii_case(&last.value) {
        return Err(EmvError::CrcMismatch {
            stated: last.value.clone(),
            computed,
        });
    }
    Ok(objects)
}

/// What a dynamic merchant-presented code for one order carries.
#[derive(Debug, Clone)]
pub struct OrderCode<'a> {
    /// Merchant id (F42), carried as UnionPay's merchant account (tag 15).
    pub merchant_id: &'a str,
    /// Terminal id, in the additional data (62/07).
    pub terminal_id: &'a str,
    /// The gateway's token for the order, in the additional data (62/05, reference label).
    pub token: &'a str,
    /// Amount and currency (tags 54, 53).
    pub amount: Money,
    /// Merchant name (59).
    pub merchant_name: &'a str,
    /// Merchant city (60).
    pub merchant_city: &'a str,
    /// Merchant category code (52).
    pub mcc: &'a str,
}

/// A dynamic (point of initiation 12) EMVCo payload for one order, CRC appended.
///
/// ```
/// use smartpos_core::money::{Currency, Money};
/// use smartpos_core::qr::emv::{merchant_presented, parse, OrderCode};
/// let p = merchant_presented(&OrderCode {
///     merchant_id: "898310048990001", terminal_id: "10000001", token: "T0001",
///     amount: Money::from_minor(1234, Currency::CNY).unwrap(),
///     merchant_name: "SHOP", merchant_city: "SHANGHAI", mcc: "5812",
/// }).unwrap();
/// let o = parse(&p).unwrap();
/// assert_eq!(o.iter().find(|t| t.tag == "54").unwrap().value, "12.34");
/// ```
pub fn merchant_presented(c: &OrderCode<'_>) -> Result<String, EmvError> {
    if c.mcc.len() != 4 || !c.mcc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EmvError::BadField(
            "merchant category code must be 4 digits",
        ));
    }
    if c.merchant_name.is_empty() || c.merchant_name.chars().count() > 25 {
        return Err(EmvError::BadField(
            "merchant name must be 1 to 25 characters",
        ));
    }
    if c.merchant_city.is_empty() || c.merchant_city.chars().count() > 15 {
        return Err(EmvError::BadField(
            "merchant city must be 1 to 15 characters",
        ));
    }
    let mut p = String::with_capacity(160);
    push_tlv(&mut p, "00", "01")?;
    push_tlv(&mut p, "01", "12")?;
    push_tlv(&mut p, "15", c.merchant_id)?;
    push_tlv(&mut p, "52", c.mcc)?;
    push_tlv(&mut p, "53", c.amount.currency().numeric())?;
    push_tlv(&mut p, "54", &c.amount.major_text())?;
    push_tlv(&mut p, "58", "CN")?;
    push_tlv(&mut p, "59", c.merchant_name)?;
    push_tlv(&mut p, "60", c.merchant_city)?;
    let mut extra = String::new();
    push_tlv(&mut extra, "05", c.token)?;
    push_tlv(&mut extra, "07", c.terminal_id)?;
    push_tlv(&mut p, "62", &extra)?;
    Ok(with_crc(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        emv_mpm_qr_crc: Vec<CrcVector>,
    }
    #[derive(serde::Deserialize)]
    struct CrcVector {
        payload_without_crc: String,
        crc_hex: String,
    }

    #[test]
    fn reproduces_the_emvco_example_crc() {
        let v: Vectors =
            serde_json::from_str(include_str!("../../tests/data/cup-vectors.json")).unwrap();
        assert!(!v.emv_mpm_qr_crc.is_empty());
        for case in v.emv_mpm_qr_crc {
            let crc = crc16_ccitt_false(case.payload_without_crc.as_bytes());
            assert_eq!(format!("{crc:04X}"), case.crc_hex);
            let whole = format!("{}{}", case.payload_without_crc, case.crc_hex);
            let objects = parse(&whole).unwrap();
            // lengths count characters: the Chinese template parses as one object
            let t64 = objects.iter().find(|o| o.tag == "64").unwrap();
            assert_eq!(parse_objects(&t64.value).unwrap()[1].value, "最佳运输");
        }
    }

    #[test]
    fn refuses_broken_payloads() {
        let good = with_crc("000201010212".into());
        let mut bad = good.clone();
        bad.replace_range(11..12, "1"); // "12" -> "11": same shape, other value
        assert!(matches!(parse(&bad), Err(EmvError::CrcMismatch { .. })));
        assert_eq!(parse("000201"), Err(EmvError::NoCrc));
        assert!(matches!(
            parse("0002016304"),
            Err(EmvError::Malformed { .. })
        ));
        assert!(matches!(parse("00x201"), Err(EmvError::Malformed { .. })));
        let mut long = String::new();
        assert!(push_tlv(&mut long, "59", &"x".repeat(100)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }
    }
}
