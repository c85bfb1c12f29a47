//! Card data: the PAN (masked everywhere but the host message) and track 2 equivalent data.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why card data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardDataError {
    /// A PAN must be 12 to 19 digits.
    #[error("card number must be 12 to 19 digits")]
    BadPan,
    /// Track 2 equivalent data must be digits with one separator (`=` or `D`), at most 37.
    #[error("track 2 data is malformed")]
    BadTrack2,
    /// The expiry date must be YYMM.
    #[error("expiry date must be YYMM")]
    BadExpiry,
}

/// A primary account number. `Debug` and `Display` show only the masked form.
///
/// ```
/// use smartpos_core::card::Pan;
/// let pan = Pan::new("6222021234567890123").unwrap();
/// assert_eq!(pan.masked(), "622202*********0123");
/// assert_eq!(format!("{pan}"), "622202*********0123");
/// ```
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Pan(String);

impl Pan {
    /// Validates 12-19 digits.
    pub fn new(digits: &str) -> Result<Self, CardDataError> {
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardDataError::BadPan);
        }
        Ok(Pan(digits.to_string()))
    }
    /// First 6 and last 4 digits, the rest as `*`.
    pub fn masked(&self) -> String {
        mask_pan(&self.0)
    }
    /// The clear digits: only for building the host message and the PIN block.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

pub use smartpos_handoff::masking::mask_pan;

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}
impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// How the card was read (field 22 first two digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntryMode {
    /// Magnetic stripe (`02`).
    MagStripe,
    /// Contact chip (`05`).
    Chip,
    /// Contactless chip (`07`).
    Contactless,
    /// Magnetic stripe read after the chip could not be used (fallback, `80`).
    Fallback,
}

impl EntryMode {
    /// Field 22 prefix.
    pub fn f22_prefix(self) -> &'static str {
        match self {
            EntryMode::MagStripe => "02",
            EntryMode::Chip => "05",
            EntryMode::Contactless => "07",
            EntryMode::Fallback => "80",
        }
    }
}

/// Card data as a reader hands it over. Sensitive parts are zeroized on drop and never shown by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CardData {
    #[zeroize(skip)]
    pan: Pan,
    track2: String,
    expiry: Option<String>,
    #[zeroize(skip)]
    entry_mode: EntryMode,
    /// EMV BER-TLV data for field 55 (chip and contactless).
    icc_data: Vec<u8>,
    card_sequence: Option<String>,
}

impl fmt::Debug for CardData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardData")
            .field("pan", &self.pan)
            .field("entry_mode", &self.entry_mode)
            .finish_non_exhaustive()
    }
}

impl CardData {
    /// Builds card data from track 2 equivalent data (`PAN=YYMM...`, `D` accepted for `=`).
    ///
    /// ```
    /// use smartpos_core::card::{CardData, EntryMode};
    /// let c = CardData::from_track2("6222021234567890123=30121010000000000", EntryMode::MagStripe).unwrap();
    /// assert_eq!(c.pan().masked(), "622202*********0123");
    /// assert_eq!(c.expiry(), Some("3012"));
    /// ```
    pub fn from_track2(track2: &str, entry_mode: EntryMode) -> Result<Self, CardDataError> {
        let norm: String = track2.replace('D', "=");
        if norm.len() > 37 || norm.matches('=').count() != 1 {
            return Err(CardDataError::BadTrack2);
        }
        let (pan, rest) = norm.split_once('=').ok_or(CardDataError::BadTrack2)?;
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardDataError::BadTrack2);
        }
        let pan = Pan::new(pan)?;
        let expiry = if rest.len() >= 4 {
            let e = &rest[..4];
            let month: u8 = e[2..].parse().map_err(|_| CardDataError::BadExpiry)?;
            if !(1..=12).contains(&month) {
                return Err(CardDataError::BadExpiry);
            }
            Some(e.to_string())
        } else {
            None
        };
        Ok(CardData {
            pan,
            track2: norm,
            expiry,
            entry_mode,
            icc_data: Vec::new(),
            card_sequence: None,
        })
    }
    /// The same card, read the way `mode` says (the engine marks a swipe after a chip failure
    /// as [`EntryMode::Fallback`]).
    pub fn with_entry_mode(mut self, mode: EntryMode) -> Self {
        self.entry_mode = mode;
        self
    }
    /// Adds EMV TLV data (field 55) and the card sequence number (field 23).
    pub fn with_icc(mut self, icc_data: Vec<u8>, card_sequence: Option<String>) -> Self {
        self.icc_data = icc_data;
        self.card_sequence = card_sequence;
        self
    }
    /// The PAN.
    pub fn pan(&self) -> &Pan {
        &self.pan
    }
    /// Track 2 equivalent data with `=` as separator (clear: host message only).
    pub fn expose_track2(&self) -> &str {
        &self.track2
    }
    /// Expiry YYMM if known.
    pub fn expiry(&self) -> Option<&str> {
        self.expiry.as_deref()
    }
    /// How it was read.
    pub fn entry_mode(&self) -> EntryMode {
        self.entry_mode
    }
    /// EMV TLV data, empty for magnetic stripe.
    pub fn icc_data(&self) -> &[u8] {
        &self.icc_data
    }
    /// Card sequence number (field 23), chip only.
    pub fn card_sequence(&self) -> Option<&str> {
        self.card_sequence.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pan_shows_masked() {
        let pan = Pan::new("1234567890123456").unwrap();
        assert_eq!(pan.masked(), "123456******3456");
        assert_eq!(pan.to_string(), "123456******3456");
    }

    #[test]
    fn debug_never_shows_the_pan() {
        let c = CardData::from_track2(
            "6222021234567890123D30121010000000000",
            EntryMode::MagStripe,
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("6222021234567890123"), "{dbg}");
        assert!(!dbg.contains("3012101"), "{dbg}");
    }

    #[test]
    fn rejects_bad_track2() {
        for bad in [
            "",
            "6222021234567890123",
            "62220212=3012=1",
            "abc=3012",
            "6222021234567890123=30131",
        ] {
            assert!(
                CardData::from_track2(bad, EntryMode::MagStripe).is_err(),
                "{bad}"
            );
        }
    }
}
