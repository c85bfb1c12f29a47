//! What varies between acquirers: TPDU, header, key layout, key algorithm (DES or SM4), MAC key
//! use and PIN-block format. A profile is data (JSON), read by both the terminal and the host
//! simulator.

use crate::crypto::{KeyAlgorithm, PinBlockFormat};
use crate::iso8583::{FieldTable, CUP_FIELDS, CUP_SM4_FIELDS};
use serde::{Deserialize, Serialize};

/// Key layout of the sign-in response (network-management code 60.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyLayout {
    /// `001`: single-length PIN and MAC keys (8 + 4 + 8 + 4 bytes).
    Single,
    /// `003`: double-length PIN and MAC keys (16 + 4 + 16 + 4 bytes).
    Double,
    /// `004`: as `003` plus a double-length track key.
    DoubleWithTrack,
}

impl KeyLayout {
    /// The 60.3 code sent in sign-in.
    pub fn code(self) -> &'static str {
        match self {
            KeyLayout::Single => "001",
            KeyLayout::Double => "003",
            KeyLayout::DoubleWithTrack => "004",
        }
    }
    /// Length of one working key.
    pub fn key_len(self) -> usize {
        match self {
            KeyLayout::Single => 8,
            _ => 16,
        }
    }
    /// Expected length of F62 in the sign-in response.
    pub fn f62_len(self) -> usize {
        let one = self.key_len() + 4;
        match self {
            KeyLayout::DoubleWithTrack => 3 * one,
            _ => 2 * one,
        }
    }
}

/// How much of the MAC key slot the MAC uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MacKeyUse {
    /// The whole key (3DES when double-length).
    Full,
    /// Only the first 8 bytes (single DES), as some acquirers do.
    FirstHalf,
}

/// UnionPay QuickPass limits for contactless cards (免密免签), in minor units of the
/// transaction's currency: at or under `no_pin_minor` no PIN is asked, at or under
/// `no_signature_minor` the receipt says no signature is required. Default 1,000.00 each.
///
/// ```
/// use smartpos_core::profile::{AcquirerProfile, ContactlessLimits};
/// let p = AcquirerProfile::cup_default();
/// assert_eq!(p.contactless, ContactlessLimits { no_pin_minor: 100_000, no_signature_minor: 100_000 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactlessLimits {
    /// No PIN at or under this amount (免密).
    pub no_pin_minor: u64,
    /// No signature at or under this amount (免签).
    pub no_signature_minor: u64,
}

impl Default for ContactlessLimits {
    fn default() -> Self {
        ContactlessLimits {
            no_pin_minor: 100_000,
            no_signature_minor: 100_000,
        }
    }
}

/// An acquirer profile.
///
/// ```
/// use smartpos_core::profile::AcquirerProfile;
/// let p = AcquirerProfile::cup_default();
/// let json = serde_json::to_string(&p).unwrap();
/// assert_eq!(AcquirerProfile::from_json(&json).unwrap(), p);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcquirerProfile {
    /// Name for people.
    pub name: String,
    /// TPDU as 10 hex digits, e.g. `6000030000`.
    pub tpdu_hex: String,
    /// Header as 12 digits, e.g. `603100311001`.
    pub header_hex: String,
    /// Working-key layout.
    pub key_layout: KeyLayout,
    /// MAC key use.
    pub mac_key_use: MacKeyUse,
    /// Cipher of the key hierarchy (master, PIN and MAC keys): `des` (3DES for double-length
    /// keys) or `sm4`. SM4 needs a double-length key layout (16-byte keys) and the whole MAC key.
    #[serde(default)]
    pub key_algorithm: KeyAlgorithm,
    /// PIN block: `with_pan` (ANSI X9.8 with the card number, ISO 9564 format 0) or
    /// `without_pan`. With SM4 the block is 16 bytes.
    #[serde(default)]
    pub pin_block: PinBlockFormat,
    /// Acquiring institution id sent in field 32 where needed.
    pub acquirer_id: String,
    /// How customer-scans-merchant QR codes look: an EMVCo payload or the acquirer's URL.
    #[serde(default)]
    pub qr_form: crate::qr::QrForm,
    /// Contactless (QuickPass) limits: no PIN and no signature at or under them.
    #[serde(default)]
    pub contactless: ContactlessLimits,
    /// Send each approved chip transaction's TC to the host after it (0320, 60.3 `203`).
    #[serde(default)]
    pub tc_upload: bool,
}

/// A profile that does not describe a usable acquirer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not JSON of the profile's shape.
    #[error("profile is not valid: {0}")]
    Malformed(String),
    /// TPDU must be 5 bytes starting with 0x60.
    #[error("TPDU must be 10 hex digits starting with 60")]
    BadTpdu,
    /// Header must be 12 decimal digits.
    #[error("header must be 12 decimal digits")]
    BadHeader,
    /// SM4 keys are 16 bytes: the key layout must be `double` or `double_with_track`.
    #[error("SM4 keys are 16 bytes: key_layout must be double or double_with_track")]
    Sm4NeedsDoubleLength,
    /// An SM4 key has no halves to MAC with.
    #[error("SM4 MACs use the whole MAC key: mac_key_use must be full")]
    Sm4NeedsFullMacKey,
}

impl AcquirerProfile {
    /// The CUP defaults used by the simulator and the demo.
    pub fn cup_default() -> Self {
        AcquirerProfile {
            name: "UnionPay POS (simulated acquirer)".into(),
            tpdu_hex: "6000030000".into(),
            header_hex: "603100311001".into(),
            key_layout: KeyLayout::Double,
            mac_key_use: MacKeyUse::Full,
            key_algorithm: KeyAlgorithm::Des,
            pin_block: PinBlockFormat::WithPan,
            acquirer_id: "48020000".into(),
            qr_form: crate::qr::QrForm::default(),
            contactless: ContactlessLimits::default(),
            tc_upload: false,
        }
    }
    /// Reads and validates a JSON profile.
    pub fn from_json(text: &str) -> Result<Self, ProfileError> {
        let p: AcquirerProfile =
            serde_json::from_str(text).map_err(|e| ProfileError::Malformed(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }
    /// Checks that the profile describes a usable acquirer.
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.tpdu()?;
        self.header()?;
        if self.key_algorithm == KeyAlgorithm::Sm4 {
            if self.key_layout.key_len() != 16 {
                return Err(ProfileError::Sm4NeedsDoubleLength);
            }
            if self.mac_key_use != MacKeyUse::Full {
                return Err(ProfileError::Sm4NeedsFullMacKey);
            }
        }
        Ok(())
    }
    /// The field table for this profile (F52 is 8 bytes with DES, 16 with SM4).
    pub fn fields(&self) -> &'static FieldTable {
        match self.key_algorithm {
            KeyAlgorithm::Des => &CUP_FIELDS,
            KeyAlgorithm::Sm4 => &CUP_SM4_FIELDS,
        }
    }
    /// Field 53 (security control information) sent with a PIN: PIN-block format (`2` with
    /// card number, `1` without), algorithm (`0` single DES, `6` double-length 3DES, `4` SM4),
    /// track encryption (`0`: none), then 13 zeros.
    ///
    /// ```
    /// use smartpos_core::profile::AcquirerProfile;
    /// assert_eq!(AcquirerProfile::cup_default().f53(), "2600000000000000");
    /// ```
    pub fn f53(&self) -> String {
        let algorithm = match (self.key_algorithm, self.key_layout) {
            (KeyAlgorithm::Sm4, _) => '4',
            (KeyAlgorithm::Des, KeyLayout::Single) => '0',
            (KeyAlgorithm::Des, _) => '6',
        };
        format!("{}{algorithm}00000000000000", self.pin_block.f53_digit())
    }
    /// TPDU bytes.
    pub fn tpdu(&self) -> Result<[u8; 5], ProfileError> {
        let b = hex::decode(&self.tpdu_hex).map_err(|_| ProfileError::BadTpdu)?;
        let t: [u8; 5] = b.try_into().map_err(|_| ProfileError::BadTpdu)?;
        if t[0] != 0x60 {
            return Err(ProfileError::BadTpdu);
        }
        Ok(t)
    }
    /// Header bytes.
    pub fn header(&self) -> Result<crate::iso8583::Header, ProfileError> {
        if self.header_hex.len() != 12 || !self.header_hex.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProfileError::BadHeader);
        }
        let b = hex::decode(&self.header_hex).map_err(|_| ProfileError::BadHeader)?;
        Ok(crate::iso8583::Header(
            b.try_into().map_err(|_| ProfileError::BadHeader)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_profiles() {
        let mut p = AcquirerProfile::cup_default();
        p.tpdu_hex = "7000030000".into();
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(AcquirerProfile::from_json(&j), Err(ProfileError::BadTpdu));
        let mut p = AcquirerProfile::cup_default();
        p.header_hex = "60310031100A".into();
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(AcquirerProfile::from_json(&j), Err(ProfileError::BadHeader));
        assert!(matches!(
            AcquirerProfile::from_json("{\"name\":1}"),
            Err(ProfileError::Malformed(_))
        ));
        let mut p = AcquirerProfile::cup_default();
        p.key_algorithm = KeyAlgorithm::Sm4;
        p.key_layout = KeyLayout::Single;
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(
            AcquirerProfile::from_json(&j),
            Err(ProfileError::Sm4NeedsDoubleLength)
        );
        p.key_layout = KeyLayout::Double;
        p.mac_key_use = MacKeyUse::FirstHalf;
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(
            AcquirerProfile::from_json(&j),
            Err(ProfileError::Sm4NeedsFullMacKey)
        );
    }

    #[test]
    fn security_settings_reach_field_53_and_the_field_table() {
        let mut p = AcquirerProfile::cup_default();
        assert_eq!(
            p.fields()[52].unwrap().len,
            crate::iso8583::LenRule::Fixed(8)
        );
        p.key_layout = KeyLayout::Single;
        assert_eq!(p.f53(), "2000000000000000");
        p.key_layout = KeyLayout::Double;
        p.key_algorithm = KeyAlgorithm::Sm4;
        p.pin_block = PinBlockFormat::WithoutPan;
        assert_eq!(p.f53(), "1400000000000000");
        assert_eq!(
            p.fields()[52].unwrap().len,
            crate::iso8583::LenRule::Fixed(16)
        );
        // Profiles written before these settings existed read as DES with the card number.
        let mut old = serde_json::to_value(AcquirerProfile::cup_default()).unwrap();
        old.as_object_mut().unwrap().remove("key_algorithm");
        old.as_object_mut().unwrap().remove("pin_block");
        let p = AcquirerProfile::from_json(&old.to_string()).unwrap();
        assert_eq!(p.key_algorithm, KeyAlgorithm::Des);
        assert_eq!(p.pin_block, PinBlockFormat::WithPan);
        old["pin_block"] = "iso4".into();
        match AcquirerProfile::from_json(&old.to_string()) {
            Err(ProfileError::Malformed(m)) => assert!(m.contains("unknown variant `iso4`"), "{m}"),
            other => panic!("expected a malformed profile, got {other:?}"),
        }
    }
}
