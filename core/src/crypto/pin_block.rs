//! ISO 9564 format 0 (ANSI X9.8) PIN blocks.

use zeroize::Zeroize;

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
}

/// The clear format-0 block: PIN field XOR PAN field. Only PIN-pad code calls this.
///
/// ```
/// use smartpos_core::crypto::iso9564_format0;
/// let b = iso9564_format0("123456", "1234567890123456").unwrap();
/// assert_eq!(hex::encode_upper(b), "0612713176FEDCBA");
/// ```
pub fn iso9564_format0(pin: &str, pan: &str) -> Result<[u8; 8], PinBlockError> {
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinBlockError::BadPin);
    }
    if pan.len() < 13 || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinBlockError::BadPan);
    }
    let mut pin_field = format!("{:02}{}", pin.len(), pin);
    while pin_field.len() < 16 {
        pin_field.push('F');
    }
    let digits = &pan[pan.len() - 13..pan.len() - 1];
    let pan_field = format!("0000{digits}");
    let mut a = hex::decode(&pin_field).map_err(|_| PinBlockError::BadPin)?;
    pin_field.zeroize();
    let b = hex::decode(pan_field).map_err(|_| PinBlockError::BadPan)?;
    let mut out = [0u8; 8];
    for i in 0..8 {
        out[i] = a[i] ^ b[i];
    }
    a.zeroize();
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
    }
}
