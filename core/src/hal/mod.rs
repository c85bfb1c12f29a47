//! Hardware abstraction: the traits terminal vendors implement, and simulated drivers.
//!
//! Contracts every implementation keeps:
//! - Blocking calls take a timeout and return [`HalError::Timeout`] when it passes.
//! - A clear PIN never leaves the PIN pad: [`PinPad::online_pin`] returns an ISO 9564 format-0
//!   block encrypted under the loaded PIN key.
//! - Working keys arrive encrypted under the terminal master key with check values; a key
//!   whose check value does not match is refused and the previous keys stay in force.

pub mod sim;

use crate::card::{CardData, Pan};
use crate::money::Money;
use crate::profile::MacKeyUse;
use std::time::Duration;

/// A device failure. Carries no card data, PIN or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HalError {
    /// Nothing happened within the time limit.
    #[error("timed out")]
    Timeout,
    /// The customer or merchant cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The PIN pad has no working keys: sign in first.
    #[error("no working keys loaded")]
    NoKeys,
    /// A key's check value did not match.
    #[error("key check value mismatch")]
    KeyCheckFailed,
    /// The card could not be read or its data is invalid.
    #[error("card read error: {0}")]
    CardError(String),
    /// The printer is out of paper.
    #[error("printer out of paper")]
    OutOfPaper,
    /// The printer cover is open.
    #[error("printer cover open")]
    CoverOpen,
    /// Any other device fault.
    #[error("device fault: {0}")]
    Device(String),
}

/// Working keys from the sign-in response (F62), still encrypted under the terminal master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedWorkingKeys {
    /// PIN key, encrypted.
    pub pin_key: Vec<u8>,
    /// PIN key check value.
    pub pin_kcv: [u8; 4],
    /// MAC key, encrypted.
    pub mac_key: Vec<u8>,
    /// MAC key check value.
    pub mac_kcv: [u8; 4],
    /// Whether the MAC uses the whole MAC key or only its first 8 bytes.
    pub mac_key_use: MacKeyUse,
}

/// An ISO 9564 format-0 PIN block encrypted under the PIN key. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedPinBlock(pub [u8; 8]);

impl std::fmt::Debug for EncryptedPinBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptedPinBlock(..)")
    }
}

/// What the PIN pad returns for online PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinEntry {
    /// The customer entered a PIN.
    Block(EncryptedPinBlock),
    /// The customer bypassed PIN entry (where the card allows it).
    Bypassed,
}

/// A card reader: magnetic stripe, contact chip and contactless.
pub trait CardReader: Send {
    /// Waits for a card for the amount; returns its data or a timeout/cancel.
    fn wait_for_card(&mut self, amount: &Money, timeout: Duration) -> Result<CardData, HalError>;
}

/// A PIN pad with a secure key store.
pub trait PinPad: Send {
    /// Loads working keys encrypted under the master key, after checking their check values.
    fn load_working_keys(&mut self, keys: &EncryptedWorkingKeys) -> Result<(), HalError>;
    /// Asks the customer for an online PIN for this card and amount.
    fn online_pin(
        &mut self,
        pan: &Pan,
        amount: &Money,
        timeout: Duration,
    ) -> Result<PinEntry, HalError>;
    /// Computes the UnionPay ECB MAC over `data` with the loaded MAC key.
    fn mac(&mut self, data: &[u8]) -> Result<[u8; 8], HalError>;
}

/// A receipt printer.
pub trait Printer: Send {
    /// Prints text lines.
    fn print_lines(&mut self, lines: &[String]) -> Result<(), HalError>;
}
