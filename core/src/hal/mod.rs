//! Hardware abstraction: the traits terminal vendors implement and the data the engine
//! exchanges with them. The conformance kit, the compliance check and rendering are in
//! `smartpos-hal`; simulated drivers in `smartpos-testing`.
//!
//! Contracts every implementation keeps (the conformance kit of `smartpos-hal` checks each one
//! by name):
//! - Blocking calls take a timeout and return [`HalError::Timeout`] when it passes with nothing
//!   done; `cancel()` from another thread makes a blocked call return [`HalError::Cancelled`]
//!   promptly, and does not affect the next call.
//! - A clear PIN never leaves the PIN pad: [`PinPad::online_pin`] returns the ANSI X9.8 PIN
//!   block the working keys asked for (with or without the card number; 8 bytes under a DES
//!   key, 16 under an SM4 key), encrypted under the loaded PIN key.
//! - A key hierarchy has one algorithm: the master key is loaded as DES or SM4, and working
//!   keys of the other algorithm are refused.
//! - Keys arrive with check values; a key whose check value does not match is refused with
//!   [`HalError::KeyCheckFailed`] and the keys in force stay in force.
//! - Printer faults (`OutOfPaper`, `CoverOpen`) are reported by `status()` and by `print()`,
//!   which then prints nothing.

pub mod device;
pub mod printer;

pub use device::{DeviceInformation, HardwareModule};
pub use printer::{Align, PaperStatus, PrintCommand, TextSize};

use crate::card::{CardData, Pan};
use crate::crypto::{CipherKey, KeyAlgorithm, KeyError, PinBlockFormat};
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
    /// The customer or merchant cancelled, or `cancel()` was called.
    #[error("cancelled")]
    Cancelled,
    /// The PIN pad has no working keys (or no master key): sign in first.
    #[error("no keys loaded")]
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

/// Working keys from the sign-in response (F62), still encrypted under the terminal master key,
/// with what the acquirer profile says about their use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedWorkingKeys {
    /// The algorithm of the keys (and of the master key they are wrapped under).
    pub algorithm: KeyAlgorithm,
    /// PIN key, encrypted.
    pub pin_key: Vec<u8>,
    /// PIN key check value.
    pub pin_kcv: [u8; 4],
    /// MAC key, encrypted.
    pub mac_key: Vec<u8>,
    /// MAC key check value.
    pub mac_kcv: [u8; 4],
    /// Whether the MAC uses the whole MAC key or only its first 8 bytes (DES only).
    pub mac_key_use: MacKeyUse,
    /// The PIN block `online_pin` builds.
    pub pin_format: PinBlockFormat,
}

impl EncryptedWorkingKeys {
    /// Wraps clear working keys under `master` (what a host does at sign-in), for simulators,
    /// test jigs and the conformance kit. The MAC uses the whole MAC key.
    ///
    /// ```
    /// use smartpos_core::crypto::{CipherKey, KeyAlgorithm, PinBlockFormat};
    /// use smartpos_core::hal::EncryptedWorkingKeys;
    /// let k = |h| CipherKey::from_hex(KeyAlgorithm::Sm4, h).unwrap();
    /// let tmk = k("0123456789ABCDEFFEDCBA9876543210");
    /// let pin = k("00112233445566778899AABBCCDDEEFF");
    /// let mac = k("FFEEDDCCBBAA99887766554433221100");
    /// let keys = EncryptedWorkingKeys::wrap(&tmk, &pin, &mac, PinBlockFormat::WithPan).unwrap();
    /// assert_eq!(keys.pin_kcv, pin.check_value());
    /// ```
    pub fn wrap(
        master: &CipherKey,
        pin: &CipherKey,
        mac: &CipherKey,
        pin_format: PinBlockFormat,
    ) -> Result<Self, KeyError> {
        let (pin_key, pin_kcv) = master.wrap_key(pin)?;
        let (mac_key, mac_kcv) = master.wrap_key(mac)?;
        Ok(EncryptedWorkingKeys {
            algorithm: master.algorithm(),
            pin_key,
            pin_kcv,
            mac_key,
            mac_kcv,
            mac_key_use: MacKeyUse::Full,
            pin_format,
        })
    }
}

/// An ANSI X9.8 PIN block encrypted under the PIN key: 8 bytes (DES) or 16 (SM4). `Debug`
/// hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedPinBlock(pub Vec<u8>);

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
pub trait CardReader: Send + Sync {
    /// Waits for a card for the amount; returns its data (track 2 equivalent, and EMV TLV for
    /// chip), or `Timeout`, `Cancelled` or `CardError`.
    fn wait_for_card(&self, amount: &Money, timeout: Duration) -> Result<CardData, HalError>;
    /// Makes a blocked `wait_for_card` return `Cancelled` promptly.
    fn cancel(&self);
    /// Whether a card is still in the reader (prompt to remove it after a chip transaction).
    fn card_present(&self) -> bool;
    /// The first half of a transaction: waits for a card and, for a chip, runs the kernel up to
    /// its first GENERATE AC. Returns the card to go online with ([`Presented::Card`]: track 2,
    /// and for a chip field 55 with its ARQC), a chip that declined offline
    /// ([`Presented::DeclinedOffline`]: nothing goes online), or a chip that could not be used
    /// ([`Presented::Fallback`]: the terminal then calls again with `start.fallback` set, and the
    /// reader takes a swipe of the card). Same timeout and cancel contracts as `wait_for_card`.
    ///
    /// The default reads with [`CardReader::wait_for_card`] (a reader whose kernel hands over
    /// the first half's data as card data).
    fn start_transaction(
        &self,
        start: &TransactionStart,
        timeout: Duration,
    ) -> Result<Presented, HalError> {
        self.wait_for_card(&start.amount, timeout)
            .map(Presented::Card)
    }
    /// The second half of an online chip (or contactless) transaction: hands the host's answer
    /// to the card (the response's field 55: issuer authentication data, scripts) and returns
    /// the card's last word, a TC ([`CardVerdict::Accepted`]) or an AAC
    /// ([`CardVerdict::Declined`]). Called only after the host approved a card read with
    /// [`EntryMode::Chip`](crate::card::EntryMode::Chip) or `Contactless` for a reversible type (not
    /// a refund or a balance inquiry, whose answer stands); a card that declines
    /// here, or any error (card removed, timeout), makes the terminal reverse the approval and
    /// report the payment declined.
    ///
    /// The default accepts without asking the card: readers whose kernel completes the
    /// transaction itself (most contactless kernels) keep it; a contact chip kernel overrides it.
    fn complete_online(
        &self,
        answer: &IssuerAnswer,
        timeout: Duration,
    ) -> Result<CardVerdict, HalError> {
        let _ = (answer, timeout);
        Ok(CardVerdict::Accepted {
            icc_data: Vec::new(),
        })
    }
    /// Loads the terminal's EMV parameters into the kernel: the CA public keys it checks cards
    /// with and the parameters of each AID it accepts (floor limits, action codes, contactless
    /// limits). The terminal calls it after each download at sign-in and once after a restart,
    /// before the next [`CardReader::start_transaction`]; a kernel keeps them until the next
    /// call, which replaces them all. The default (a reader without a kernel) ignores them.
    ///
    /// ```
    /// use smartpos_core::emv::params::EmvParameters;
    /// use smartpos_core::hal::{CardReader, HalError};
    /// use smartpos_core::{card::CardData, money::Money};
    /// use std::sync::Mutex;
    /// struct Kernel { loaded: Mutex<Option<EmvParameters>> }
    /// impl CardReader for Kernel {
    ///     fn wait_for_card(&self, _: &Money, _: std::time::Duration) -> Result<CardData, HalError> {
    ///         Err(HalError::Timeout)
    ///     }
    ///     fn cancel(&self) {}
    ///     fn card_present(&self) -> bool { false }
    ///     fn load_parameters(&self, p: &EmvParameters) -> Result<(), HalError> {
    ///         *self.loaded.lock().unwrap() = Some(p.clone());
    ///         Ok(())
    ///     }
    /// }
    /// let k = Kernel { loaded: Mutex::new(None) };
    /// k.load_parameters(&EmvParameters::default()).unwrap();
    /// assert!(k.loaded.lock().unwrap().is_some());
    /// ```
    fn load_parameters(&self, params: &crate::emv::params::EmvParameters) -> Result<(), HalError> {
        let _ = params;
        Ok(())
    }
}

/// A shared reader is a reader (a test keeps one handle to look at what the terminal did).
impl<T: CardReader + ?Sized> CardReader for std::sync::Arc<T> {
    fn wait_for_card(&self, amount: &Money, timeout: Duration) -> Result<CardData, HalError> {
        (**self).wait_for_card(amount, timeout)
    }
    fn cancel(&self) {
        (**self).cancel()
    }
    fn card_present(&self) -> bool {
        (**self).card_present()
    }
    fn start_transaction(
        &self,
        start: &TransactionStart,
        timeout: Duration,
    ) -> Result<Presented, HalError> {
        (**self).start_transaction(start, timeout)
    }
    fn complete_online(
        &self,
        answer: &IssuerAnswer,
        timeout: Duration,
    ) -> Result<CardVerdict, HalError> {
        (**self).complete_online(answer, timeout)
    }
    fn load_parameters(&self, params: &crate::emv::params::EmvParameters) -> Result<(), HalError> {
        (**self).load_parameters(params)
    }
}

/// What the terminal tells the reader (and its EMV kernel) as a transaction starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStart {
    /// The amount to show and authorise.
    pub amount: Money,
    /// The transaction type (the kernel's transaction type, 9C).
    pub kind: crate::payment::TransactionType,
    /// The chip could not be used: take a swipe of the same card (fallback).
    pub fallback: bool,
}

/// The first half's outcome.
#[derive(Debug, Clone)]
pub enum Presented {
    /// A card to go online with.
    Card(CardData),
    /// The chip declined offline (an AAC at its first GENERATE AC): nothing goes online.
    DeclinedOffline,
    /// The chip could not be used (no answer, no common application): ask for a swipe.
    Fallback,
}

/// The host's answer to an online chip transaction, for the card's second half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerAnswer {
    /// Response code (F39), `00` for approved.
    pub response_code: String,
    /// Authorization code (F38), when the host gave one.
    pub auth_code: Option<String>,
    /// The response's field 55 as received (BER-TLV: tag 91 issuer authentication data, 71/72
    /// issuer scripts); empty when the host sent none.
    pub icc_data: Vec<u8>,
}

/// What the card said at the end of an online transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardVerdict {
    /// The card accepted (TC): the payment stands.
    Accepted {
        /// The card's data from the second GENERATE AC (TC, script results), BER-TLV.
        icc_data: Vec<u8>,
    },
    /// The card declined although the host approved (AAC): the terminal reverses.
    Declined {
        /// The card's data from the second GENERATE AC (AAC, script results), BER-TLV.
        icc_data: Vec<u8>,
    },
}

/// A PIN pad with a secure key store.
pub trait PinPad: Send + Sync {
    /// Loads the terminal master key of this algorithm (key-injection ceremony); refuses a wrong
    /// check value (the first 4 bytes of the key's encryption of a zero block).
    fn load_master_key(
        &self,
        algorithm: KeyAlgorithm,
        key: &[u8],
        check_value: &[u8; 4],
    ) -> Result<(), HalError>;
    /// Loads working keys encrypted under the master key, after checking their check values;
    /// refuses keys of another algorithm than the master key's.
    fn load_working_keys(&self, keys: &EncryptedWorkingKeys) -> Result<(), HalError>;
    /// Asks the customer for an online PIN for this card and amount; returns the PIN block in
    /// the format the working keys named.
    fn online_pin(
        &self,
        pan: &Pan,
        amount: &Money,
        timeout: Duration,
    ) -> Result<PinEntry, HalError>;
    /// Computes the UnionPay ECB MAC over `data` with the loaded MAC key (8-byte blocks for
    /// DES, 16-byte for SM4; always 8 ASCII hex bytes).
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], HalError>;
    /// Makes a blocked `online_pin` return `Cancelled` promptly.
    fn cancel(&self);
}

/// A receipt printer.
pub trait Printer: Send + Sync {
    /// Paper and cover state.
    fn status(&self) -> PaperStatus;
    /// Dots across the print head (384 for 58 mm paper).
    fn dot_width(&self) -> u32;
    /// Prints a job; on a fault prints nothing and returns the fault.
    fn print(&self, job: &[PrintCommand]) -> Result<(), HalError>;
}

/// A barcode/QR scanner (camera or scan head).
pub trait Scanner: Send + Sync {
    /// Scans one code; returns its text, or `Timeout`/`Cancelled`.
    fn scan(&self, timeout: Duration) -> Result<String, HalError>;
    /// Makes a blocked `scan` return `Cancelled` promptly.
    fn cancel(&self);
}

/// What the device says about itself.
pub trait DeviceInfoProvider: Send + Sync {
    /// Model, vendor, OS and patch level, serial, modules and installed packages.
    fn device_information(&self) -> DeviceInformation;
}
