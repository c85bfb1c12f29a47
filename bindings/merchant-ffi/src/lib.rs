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
use smartpos_handoff::money::{Currency, Money as HandoffMoney, MoneyError};
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

/// Verifies a returned deep link against the terminal's Ed25519 public key (hex) and returns its
/// fields, without checking which request it answers (`openResultUri` does that too). Any edit
/// of any field makes it fail.
///
/// Kotlin:
/// ```kotlin
/// val r = verifyResultUri(uri, terminalPublicKeyHex)
/// if (r.result == ResultCode.APPROVED && r.order == myOrder) deliver()
/// ```
#[uniffi::export]
pub fn verify_result_uri(
    uri: String,
    public_key_hex: String,
) -> Result<merchant::PaymentOutcome, SmartposError> {
    let signed = SignedResult::from_callback_uri(&uri)?;
    signed.verify(&public_key_hex)?;
    Ok(merchant::outcome(&signed.envelope))
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

/// An amount in minor units with its ISO 4217 alphabetic currency code: Kotlin's one money
/// type (`org.smartpos.core.Money`, also reachable as `org.smartpos.sdk.Money`). Never a float.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Money {
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

impl TryFrom<&Money> for HandoffMoney {
    type Error = SmartposError;
    fn try_from(a: &Money) -> Result<Self, SmartposError> {
        Ok(HandoffMoney::from_minor(a.minor, currency(&a.currency)?)?)
    }
}

impl From<HandoffMoney> for Money {
    fn from(m: HandoffMoney) -> Self {
        Money {
            minor: m.minor(),
            currency: m.currency().code().to_string(),
        }
    }
}

/// Parses a decimal major-unit amount exactly (no floating point).
///
/// Kotlin:
/// ```kotlin
/// val a = parseAmount("12.34", "CNY")   // Money(minor = 1234uL, currency = "CNY")
/// ```
#[uniffi::export]
pub fn parse_amount(text: String, currency: String) -> Result<Money, SmartposError> {
    Ok(HandoffMoney::parse_major(&text, self::currency(&currency)?)?.into())
}

/// Formats an amount for display, e.g. `CNY 12.34`.
///
/// Kotlin: `formatAmount(Money(1234uL, "CNY")) == "CNY 12.34"`
#[uniffi::export]
pub fn format_amount(amount: Money) -> Result<String, SmartposError> {
    Ok(HandoffMoney::try_from(&amount)?.to_string())
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
            Money {
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
