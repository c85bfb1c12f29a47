//! What varies between acquirers: TPDU, header, key layout and MAC key use. A profile is data
//! (JSON), read by both the terminal and the host simulator.

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
    /// Acquiring institution id sent in field 32 where needed.
    pub acquirer_id: String,
    /// How customer-scans-merchant QR codes look: an EMVCo payload or the acquirer's URL.
    #[serde(default)]
    pub qr_form: crate::qr::QrForm,
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
            acquirer_id: "48020000".into(),
            qr_form: crate::qr::QrForm::default(),
        }
    }
    /// Reads and validates a JSON profile.
    pub fn from_json(text: &str) -> Result<Self, ProfileError> {
        let p: AcquirerProfile =
            serde_json::from_str(text).map_err(|e| ProfileError::Malformed(e.to_string()))?;
        p.tpdu()?;
        p.header()?;
        Ok(p)
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
    }
}
