//! ANSI X9.8 PIN blocks (ISO 9564 format 0), with or without the card number, for DES's 8-byte
//! and SM4's 16-byte blocks.
//!
//! PIN field: `0`, the PIN length as one hex digit, the PIN, then `F` up to the block length.
//! Card-number field: the 12 rightmost digits of the card number without its check digit,
//! left-padded with `0` to the block length. The clear block is the XOR of the two ("without
//! card number": the PIN field alone). For an 8-byte block this is exactly ISO 9564 format 0;
//! the 16-byte block is the same construction widened for SM4.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Why a PIN block could not be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinBlockError {
    /// PINs are 4 to 12 digits.
    #[error("a PIN is 4 to 12 digits")]
    BadPin,
    /// The PAN needs at least 13 digits for the 12 rightmost digits without check digit.
    #[error("the card number is too short for a format-0 PIN block")]
    BadPan,
    /// Blocks are 8 (DES) or 16 (SM4) bytes.
    #[error("a PIN block is 8 or 16 bytes, not {0}")]
    BadLength(usize),
}

/// Which ANSI X9.8 PIN block the acquirer expects (the first digit of field 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinBlockFormat {
    /// PIN field XOR card-number field (ISO 9564 format 0); field 53 starts with `2`.
    #[default]
    WithPan,
    /// The PIN field alone; field 53 starts with `1`.
    WithoutPan,
}

impl PinBlockFormat {
    /// The digit field 53 starts with.
    pub fn f53_digit(self) -> char {
        match self {
            PinBlockFormat::WithPan => '2',
            PinBlockFormat::WithoutPan => '1',
        }
    }
}

/// The clear PIN block of `len` bytes (8 or 16). Only PIN-pad code (and the host simulator)
/// calls this; the result is zeroized on drop.
///
/// ```
/// use smartpos_core::crypto::{clear_pin_block, PinBlockFormat};
/// let b = clear_pin_block(PinBlockFormat::WithPan, "123456", "1234567890123456", 16).unwrap();
/// assert_eq!(hex::encode_upper(&b[..]), "06123456FFFFFFFFFFFFBA9876FEDCBA");
/// let b = clear_pin_block(PinBlockFormat::WithoutPan, "1234", "1234567890123456", 8).unwrap();
/// assert_eq!(hex::encode_upper(&b[..]), "041234FFFFFFFFFF");
/// ```
pub fn clear_pin_block(
    format: PinBlockFormat,
    pin: &str,
    pan: &str,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, PinBlockError> {
    if len != 8 && len != 16 {
        return Err(PinBlockError::BadLength(len));
    }
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinBlockError::BadPin);
    }
    let mut pin_field = Zeroizing::new(format!("0{:X}{}", pin.len(), pin));
    while pin_field.len() < 2 * len {
        pin_field.push('F');
    }
    let mut block =
        Zeroizing::new(hex::decode(pin_field.as_str()).map_err(|_| PinBlockError::BadPin)?);
    if format == PinBlockFormat::WithPan {
        if pan.len() < 13 || !pan.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinBlockError::BadPan);
        }
        let digits = &pan[pan.len() - 13..pan.len() - 1];
        let pan_field = hex::decode(format!("{digits:0>width$}", width = 2 * len))
            .map_err(|_| PinBlockError::BadPan)?;
        for (b, p) in block.iter_mut().zip(&pan_field) {
            *b ^= p;
        }
    }
    Ok(block)
}

/// The clear ISO 9564 format-0 block (8 bytes). Only PIN-pad code calls this.
///
/// ```
/// use smartpos_core::crypto::iso9564_format0;
/// let b = iso9564_format0("123456", "1234567890123456").unwrap();
/// assert_eq!(hex::encode_upper(b), "0612713176FEDCBA");
/// ```
pub fn iso9564_format0(pin: &str, pan: &str) -> Result<[u8; 8], PinBlockError> {
    let mut b = clear_pin_block(PinBlockFormat::WithPan, pin, pan, 8)?;
    let out: [u8; 8] = b[..].try_into().expect("8 bytes");
    b.zeroize();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(
            iso9564_format0("123", "1234567890123456"),
            Err(PinBlockError::BadPin)
        );
        assert_eq!(
            iso9564_format0("12a4", "1234567890123456"),
            Err(PinBlockError::BadPin)
        );
        assert_eq!(
            iso9564_format0("1234", "123456789012"),
            Err(PinBlockError::BadPan)
        );
        assert_eq!(
            clear_pin_block(PinBlockFormat::WithPan, "1234", "1234567890123456", 12).unwrap_err(),
            PinBlockError::BadLength(12)
        );
        // Without the card number, the card number is not looked at.
        assert!(clear_pin_block(PinBlockFormat::WithoutPan, "1234", "", 16).is_ok());
    }

    #[test]
    fn long_pins_carry_their_length_as_one_hex_digit() {
        let b = clear_pin_block(PinBlockFormat::WithoutPan, "123456789012", "", 8).unwrap();
        assert_eq!(hex::encode_upper(&b[..]), "0C123456789012FF");
    }

    #[test]
    fn sixteen_byte_block_widens_format_0() {
        // Card digits 123456789012 right-aligned under a PIN field padded with F to 32 digits.
        let wide =
            clear_pin_block(PinBlockFormat::WithPan, "123456", "6222021234567890123", 16).unwrap();
        assert_eq!(
            hex::encode_upper(&wide[..]),
            "06123456FFFFFFFFFFFFEDCBA9876FED"
        );
    }
}
