//! Kotlin bindings (uniffi, proc-macros, library mode) for smartpos-core.
//!
//! This crate owns every exported type and converts from core types; the core knows nothing
//! of uniffi. Calls are coarse (one per step), because each crossing through JNA costs ~10 µs.

uniffi::setup_scaffolding!();

use smartpos_core::money::{Currency, Money, MoneyError};

/// Errors the bindings report to Kotlin. No card data in any message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum SmartposError {
    /// An amount was malformed, zero or too large.
    #[error("invalid amount: {reason}")]
    InvalidAmount {
        /// Why.
        reason: String,
    },
    /// The currency code is not supported.
    #[error("unsupported currency: {code}")]
    UnsupportedCurrency {
        /// The code given.
        code: String,
    },
}

impl From<MoneyError> for SmartposError {
    fn from(e: MoneyError) -> Self {
        SmartposError::InvalidAmount {
            reason: e.to_string(),
        }
    }
}

/// An amount in minor units with its ISO 4217 alphabetic currency code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Amount {
    /// Minor units (fen for CNY).
    pub minor: u64,
    /// Alphabetic code, e.g. `CNY`.
    pub currency: String,
}

/// Parses a decimal major-unit amount exactly (no floating point).
///
/// Kotlin:
/// ```kotlin
/// val a = parseAmount("12.34", "CNY")   // Amount(minor = 1234uL, currency = "CNY")
/// ```
#[uniffi::export]
pub fn parse_amount(text: String, currency: String) -> Result<Amount, SmartposError> {
    let c = Currency::from_code(&currency).ok_or(SmartposError::UnsupportedCurrency {
        code: currency.clone(),
    })?;
    let m = Money::parse_major(&text, c)?;
    Ok(Amount {
        minor: m.minor(),
        currency: c.code().to_string(),
    })
}

/// Formats an amount for display, e.g. `CNY 12.34`.
///
/// Kotlin: `formatAmount(Amount(1234uL, "CNY")) == "CNY 12.34"`
#[uniffi::export]
pub fn format_amount(amount: Amount) -> Result<String, SmartposError> {
    let c = Currency::from_code(&amount.currency).ok_or(SmartposError::UnsupportedCurrency {
        code: amount.currency.clone(),
    })?;
    Ok(Money::from_minor(amount.minor, c)?.to_string())
}

/// Masks a card number to its first 6 and last 4 digits.
///
/// Kotlin: `maskPan("6222021234567890123") == "622202*********0123"`
#[uniffi::export]
pub fn mask_pan(digits: String) -> String {
    smartpos_core::card::mask_pan(&digits)
}

/// What a CUP response code means, for people.
///
/// Kotlin: `responseMessage("51") == "insufficient funds"`
#[uniffi::export]
pub fn response_message(code: String) -> String {
    smartpos_core::payment::response_message(&code).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_amount_maps_errors() {
        assert_eq!(
            parse_amount("12.34".into(), "CNY".into()).unwrap(),
            Amount {
                minor: 1234,
                currency: "CNY".into()
            }
        );
        assert!(matches!(
            parse_amount("1.234".into(), "CNY".into()),
            Err(SmartposError::InvalidAmount { .. })
        ));
        assert!(matches!(
            parse_amount("1".into(), "XXX".into()),
            Err(SmartposError::UnsupportedCurrency { .. })
        ));
    }
}
