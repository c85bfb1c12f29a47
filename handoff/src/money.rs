//! Money as integer minor units with an ISO 4217 currency. No floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency the terminal can transact in.
///
/// ```
/// use smartpos_handoff::money::Currency;
/// assert_eq!(Currency::CNY.numeric(), "156");
/// assert_eq!(Currency::from_code("CNY"), Some(Currency::CNY));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Currency {
    /// Chinese yuan renminbi (156), two minor digits.
    CNY,
    /// Hong Kong dollar (344), two minor digits.
    HKD,
    /// US dollar (840), two minor digits.
    USD,
}

impl Currency {
    /// The ISO 4217 numeric code, as sent in field 49.
    pub fn numeric(self) -> &'static str {
        match self {
            Currency::CNY => "156",
            Currency::HKD => "344",
            Currency::USD => "840",
        }
    }
    /// The alphabetic code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::CNY => "CNY",
            Currency::HKD => "HKD",
            Currency::USD => "USD",
        }
    }
    /// Number of minor-unit digits.
    pub fn exponent(self) -> u32 {
        2
    }
    /// Looks a currency up by alphabetic code.
    pub fn from_code(code: &str) -> Option<Self> {
        [Currency::CNY, Currency::HKD, Currency::USD]
            .into_iter()
            .find(|c| c.code() == code)
    }
    /// Looks a currency up by numeric code (field 49).
    pub fn from_numeric(code: &str) -> Option<Self> {
        [Currency::CNY, Currency::HKD, Currency::USD]
            .into_iter()
            .find(|c| c.numeric() == code)
    }
}

/// An amount of money: integer minor units and a currency.
///
/// ```
/// use smartpos_handoff::money::{Currency, Money};
/// let m = Money::parse_major("12.34", Currency::CNY).unwrap();
/// assert_eq!(m.minor(), 1234);
/// assert_eq!(m.to_string(), "CNY 12.34");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: u64,
    currency: Currency,
}

/// Largest amount field 4 (n12) can carry.
pub const MAX_MINOR: u64 = 999_999_999_999;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The text is not a decimal amount with at most the currency's minor digits.
    #[error("amount {0:?} is not a decimal number with at most 2 fraction digits")]
    Malformed(String),
    /// Zero amounts are not payable.
    #[error("amount must be greater than zero")]
    Zero,
    /// Beyond what field 4 can carry.
    #[error("amount exceeds the maximum of {MAX_MINOR} minor units")]
    TooLarge,
}

impl Money {
    /// An amount in minor units; refuses zero and amounts beyond field 4.
    pub fn from_minor(minor: u64, currency: Currency) -> Result<Self, MoneyError> {
        if minor == 0 {
            return Err(MoneyError::Zero);
        }
        if minor > MAX_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money { minor, currency })
    }
    /// Zero in `currency`: what an inquiry that moves no money carries (balance inquiry), and a
    /// balance can be. Payments refuse it ([`Money::from_minor`]).
    ///
    /// ```
    /// use smartpos_handoff::money::{Currency, Money};
    /// assert_eq!(Money::zero(Currency::CNY).minor(), 0);
    /// ```
    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }
    /// An amount as stored or reported (a journal row, a balance): zero allowed, the field-4
    /// maximum still applies.
    pub fn from_stored(minor: u64, currency: Currency) -> Result<Self, MoneyError> {
        if minor == 0 {
            Ok(Money::zero(currency))
        } else {
            Money::from_minor(minor, currency)
        }
    }
    /// Parses `"12.34"` or `"12"` as major units, exactly (no floating point).
    pub fn parse_major(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let bad = || MoneyError::Malformed(text.chars().take(32).collect());
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        let exp = currency.exponent() as usize;
        if int.is_empty()
            || int.len() > 12
            || frac.len() > exp
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let mut minor: u64 = int.parse().map_err(|_| bad())?;
        for i in 0..exp {
            let d = frac
                .as_bytes()
                .get(i)
                .map(|b| (b - b'0') as u64)
                .unwrap_or(0);
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(d))
                .ok_or(MoneyError::TooLarge)?;
        }
        Money::from_minor(minor, currency)
    }
    /// Minor units.
    pub fn minor(&self) -> u64 {
        self.minor
    }
    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// Field 4 form: 12 digits, zero-padded.
    pub fn to_field4(&self) -> String {
        format!("{:012}", self.minor)
    }
    /// Major units as text, e.g. `12.34`.
    pub fn major_text(&self) -> String {
        let e = 10u64.pow(self.currency.exponent());
        format!("{}.{:02}", self.minor / e, self.minor % e)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.code(), self.major_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_exact_major_amounts() {
        assert_eq!(
            Money::parse_major("0.01", Currency::CNY).unwrap().minor(),
            1
        );
        assert_eq!(
            Money::parse_major("12.3", Currency::CNY).unwrap().minor(),
            1230
        );
        assert_eq!(Money::parse_major("7", Currency::CNY).unwrap().minor(), 700);
    }

    #[test]
    fn refuses_bad_amounts() {
        for bad in ["", ".5", "1.", "1.234", "-1", "1e3", "abc", "1,00", " 1"] {
            assert!(
                matches!(
                    Money::parse_major(bad, Currency::CNY),
                    Err(MoneyError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse_major("0.00", Currency::CNY),
            Err(MoneyError::Zero)
        );
        assert_eq!(
            Money::parse_major("10000000000.00", Currency::CNY),
            Err(MoneyError::TooLarge)
        );
    }

    proptest! {
        #[test]
        fn major_text_round_trips(minor in 1u64..=MAX_MINOR) {
            let m = Money::from_minor(minor, Currency::CNY).unwrap();
            prop_assert_eq!(Money::parse_major(&m.major_text(), Currency::CNY).unwrap(), m);
            prop_assert_eq!(m.to_field4().len(), 12);
        }
    }
}
