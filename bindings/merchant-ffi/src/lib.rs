//! What a merchant app links: Kotlin bindings (uniffi, proc-macros, library mode; Kotlin
//! package `org.smartpos.core`, facade `org.smartpos.sdk`) over `smartpos-handoff` only: build
//! payment requests, open and verify signed results, money and masking. No journal, no host
//! link, no async runtime: `scripts/merchant-ffi-budget.sh` prints the crate count and stripped size.
//!
//! This crate owns every exported type and converts from the protocol's types; the protocol
//! knows nothing of uniffi. The acquiring app and vendor drivers use `smartpos-terminal-ffi`.

uniffi::setup_scaffolding!();

pub mod merchant;

use smartpos_handoff::canonical::request_hash;
use smartpos_handoff::money::{Currency, Money, MoneyError};
use smartpos_handoff::request::deep_link_pairs;
use smartpos_handoff::{SignedResult, VerifyError};

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
    /// A payment request would be refused as malformed; `field` names the culprit when known.
    #[error("invalid request ({field}): {reason}")]
    BadRequest {
        /// The field at fault, or empty.
        field: String,
        /// Why.
        reason: String,
    },
    /// A payment result is malformed, or its signature does not verify: do not trust it.
    #[error("result is not valid: {reason}")]
    BadResult {
        /// Why.
        reason: String,
    },
}

impl From<VerifyError> for SmartposError {
    fn from(e: VerifyError) -> Self {
        SmartposError::BadResult {
            reason: e.to_string(),
        }
    }
}

/// A payment result whose terminal signature verified.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedResult {
    /// Result code, e.g. `APPROVED` (see the result-code table).
    pub code: String,
    /// `approved`, `declined`, `unknown`, `refused` or `error`.
    pub status: String,
    /// The merchant's order id.
    pub order: String,
    /// Amount in minor units ("" when not applicable).
    pub amount: String,
    /// Currency code.
    pub currency: String,
    /// Masked card number.
    pub masked_pan: String,
    /// Retrieval reference number.
    pub reference: String,
    /// Authorization code.
    pub auth_code: String,
    /// Hash of the request this answers.
    pub request_hash: String,
    /// Calling package as the OS reported it.
    pub caller: String,
    /// Terminal id.
    pub terminal_id: String,
    /// Text for people.
    pub message: String,
}

/// Verifies a returned deep link against the terminal's Ed25519 public key (hex) and returns its
/// fields. Any edit of any field makes it fail.
///
/// Kotlin:
/// ```kotlin
/// val r = verifyResultUri(uri, terminalPublicKeyHex)
/// if (r.code == "APPROVED" && r.order == myOrder) deliver()
/// ```
#[uniffi::export]
pub fn verify_result_uri(
    uri: String,
    public_key_hex: String,
) -> Result<VerifiedResult, SmartposError> {
    let signed = SignedResult::from_callback_uri(&uri)?;
    signed.verify(&public_key_hex)?;
    let e = &signed.envelope;
    let g = |f: &str| e.get(f).to_string();
    Ok(VerifiedResult {
        code: g("code"),
        status: g("status"),
        order: g("order"),
        amount: g("amount"),
        currency: g("currency"),
        masked_pan: g("masked_pan"),
        reference: g("reference"),
        auth_code: g("auth_code"),
        request_hash: g("request_hash"),
        caller: g("caller"),
        terminal_id: g("terminal_id"),
        message: g("message"),
    })
}

/// The request hash of a deep link the app is about to send, to compare with the result's.
///
/// Kotlin: `val h = requestHashOfDeepLink(link)`
#[uniffi::export]
pub fn request_hash_of_deep_link(uri: String) -> Result<String, SmartposError> {
    let pairs = deep_link_pairs(&uri).map_err(|e| SmartposError::BadResult {
        reason: e.to_string(),
    })?;
    Ok(request_hash(&pairs))
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

fn currency(code: &str) -> Result<Currency, SmartposError> {
    Currency::from_code(code).ok_or(SmartposError::UnsupportedCurrency {
        code: code.to_string(),
    })
}

impl TryFrom<&Amount> for Money {
    type Error = SmartposError;
    fn try_from(a: &Amount) -> Result<Self, SmartposError> {
        Ok(Money::from_minor(a.minor, currency(&a.currency)?)?)
    }
}

impl From<Money> for Amount {
    fn from(m: Money) -> Self {
        Amount {
            minor: m.minor(),
            currency: m.currency().code().to_string(),
        }
    }
}

/// Parses a decimal major-unit amount exactly (no floating point).
///
/// Kotlin:
/// ```kotlin
/// val a = parseAmount("12.34", "CNY")   // Amount(minor = 1234uL, currency = "CNY")
/// ```
#[uniffi::export]
pub fn parse_amount(text: String, currency: String) -> Result<Amount, SmartposError> {
    Ok(Money::parse_major(&text, self::currency(&currency)?)?.into())
}

/// Formats an amount for display, e.g. `CNY 12.34`.
///
/// Kotlin: `formatAmount(Amount(1234uL, "CNY")) == "CNY 12.34"`
#[uniffi::export]
pub fn format_amount(amount: Amount) -> Result<String, SmartposError> {
    Ok(Money::try_from(&amount)?.to_string())
}

/// Masks a card number to its first 6 and last 4 digits.
///
/// Kotlin: `maskPan("6222021234567890123") == "622202*********0123"`
#[uniffi::export]
pub fn mask_pan(digits: String) -> String {
    smartpos_handoff::masking::mask_pan(&digits)
}

/// What a CUP response code means, for people.
///
/// Kotlin: `responseMessage("51") == "insufficient funds"`
#[uniffi::export]
pub fn response_message(code: String) -> String {
    smartpos_handoff::host_code::response_message(&code).to_string()
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
