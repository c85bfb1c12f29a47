//! Kotlin bindings for the acquiring app and terminal vendors (uniffi, proc-macros, library
//! mode; Kotlin package `org.smartpos.terminal`): driver traits Kotlin classes implement
//! (uniffi foreign traits), adapters to the core's HAL traits, the conformance kit callable
//! from Kotlin, and [`AcquiringTerminal`], the acquiring app's terminal over Kotlin drivers
//! (journal, HTTPS host link, request handling). Merchant apps link `smartpos-merchant-ffi` instead, never this crate.
//!
//! Calls are coarse (one per step), because each crossing through JNA costs ~10 µs.

uniffi::setup_scaffolding!();

mod acquiring;
mod jni_bridge;
mod market;
pub use acquiring::{
    AcquiringError, AcquiringSetup, AcquiringTerminal, CodeScreen, RequestAnswer, RequestCarrier,
};
pub use market::{MarketApp, MarketCheck, MarketCheckError};

use smartpos_core::card::{CardData, EntryMode, Pan};
use smartpos_core::crypto::{KeyAlgorithm, PinBlockFormat};
use smartpos_core::hal::{
    Align, CardReader, DeviceInfoProvider, DeviceInformation, EncryptedPinBlock,
    EncryptedWorkingKeys, HalError, HardwareModule, PaperStatus, PinEntry, PinPad, PrintCommand,
    Printer, Scanner, TextSize,
};
use smartpos_core::money::Money;
use smartpos_core::profile::MacKeyUse;
use smartpos_hal::conformance::{self, Operator, Subject};
use std::sync::Arc;
use std::time::Duration;

/// A driver failure, thrown by Kotlin drivers as `DriverException`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// Nothing happened within the time limit.
    #[error("timed out")]
    Timeout,
    /// Cancelled.
    #[error("cancelled")]
    Cancelled,
    /// No keys loaded.
    #[error("no keys loaded")]
    NoKeys,
    /// A check value did not match.
    #[error("key check value mismatch")]
    KeyCheckFailed,
    /// The card could not be read.
    #[error("card error: {reason}")]
    CardError {
        /// Why (no card data).
        reason: String,
    },
    /// Out of paper.
    #[error("out of paper")]
    OutOfPaper,
    /// Cover open.
    #[error("cover open")]
    CoverOpen,
    /// Any other fault.
    #[error("device fault: {reason}")]
    Device {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DriverError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DriverError::Device {
            reason: format!("driver threw an unexpected exception: {}", e.reason),
        }
    }
}

impl From<DriverError> for HalError {
    fn from(e: DriverError) -> Self {
        match e {
            DriverError::Timeout => HalError::Timeout,
            DriverError::Cancelled => HalError::Cancelled,
            DriverError::NoKeys => HalError::NoKeys,
            DriverError::KeyCheckFailed => HalError::KeyCheckFailed,
            DriverError::CardError { reason } => HalError::CardError(reason),
            DriverError::OutOfPaper => HalError::OutOfPaper,
            DriverError::CoverOpen => HalError::CoverOpen,
            DriverError::Device { reason } => HalError::Device(reason),
        }
    }
}

/// How a card was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CardEntry {
    /// Magnetic stripe.
    MagStripe,
    /// Contact chip.
    Chip,
    /// Contactless.
    Contactless,
}

/// Card data from a Kotlin card reader.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CardRead {
    /// Track 2 equivalent data (`PAN=YYMM...`).
    pub track2: String,
    /// How it was read.
    pub entry: CardEntry,
    /// EMV TLV data (empty for stripe).
    pub icc_data: Vec<u8>,
    /// Card sequence number (chip).
    pub card_sequence: Option<String>,
}

/// The first half of a card transaction, as the reader's kernel reports it.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum CardStart {
    /// A card to go online with (for a chip: field 55 with the ARQC).
    Card {
        /// The card data.
        read: CardRead,
    },
    /// The chip declined offline at its first cryptogram: nothing goes online.
    DeclinedOffline,
    /// The chip cannot be used: the terminal asks again with `fallback` set, for a swipe.
    Fallback,
}

/// The host's approval, handed to the chip card for its last word.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChipAnswer {
    /// Response code (F39), `00`.
    pub response_code: String,
    /// Authorization code (F38).
    pub auth_code: Option<String>,
    /// The response's field 55 (tag 91 ARPC + ARC, issuer scripts 71/72).
    pub icc_data: Vec<u8>,
}

/// The chip card's last word on an approved transaction.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum ChipVerdict {
    /// TC: the payment stands.
    Accepted {
        /// The card's BER-TLV from its second GENERATE AC (9F27, 9F26, DF31).
        icc_data: Vec<u8>,
    },
    /// AAC: the terminal reverses the approval and answers declined.
    Declined {
        /// The card's BER-TLV from its second GENERATE AC.
        icc_data: Vec<u8>,
    },
}

/// The cipher of a key hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum KeyCipher {
    /// DES, or 3DES for 16-byte keys: 8-byte blocks, check value = first 4 bytes of E(0^8).
    Des,
    /// SM4: 16-byte keys and blocks, check value = first 4 bytes of E(0^16).
    Sm4,
}

impl From<KeyAlgorithm> for KeyCipher {
    fn from(a: KeyAlgorithm) -> Self {
        match a {
            KeyAlgorithm::Des => KeyCipher::Des,
            KeyAlgorithm::Sm4 => KeyCipher::Sm4,
        }
    }
}

/// Which ANSI X9.8 PIN block to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PinFormat {
    /// PIN field XOR card-number field (ISO 9564 format 0; widened to 16 bytes for SM4).
    WithPan,
    /// The PIN field alone.
    WithoutPan,
}

/// Working keys encrypted under the master key, with 4-byte check values.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WorkingKeys {
    /// The keys' cipher; the same as the master key's, or the load is refused.
    pub cipher: KeyCipher,
    /// The PIN block `online_pin` builds from now on.
    pub pin_format: PinFormat,
    /// PIN key, encrypted.
    pub pin_key: Vec<u8>,
    /// Its check value.
    pub pin_kcv: Vec<u8>,
    /// MAC key, encrypted.
    pub mac_key: Vec<u8>,
    /// Its check value.
    pub mac_kcv: Vec<u8>,
    /// MAC with only the first 8 bytes of the MAC key.
    pub mac_first_half: bool,
}

/// What a Kotlin PIN pad returns.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum PinResult {
    /// The PIN block encrypted under the PIN key (8 bytes with DES keys, 16 with SM4).
    Block {
        /// The encrypted block.
        block: Vec<u8>,
    },
    /// The customer bypassed PIN entry.
    Bypassed,
}

/// Paper and cover state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PaperState {
    /// Ready.
    Ok,
    /// Out of paper.
    OutOfPaper,
    /// Cover open.
    CoverOpen,
}

/// One printer command.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum PrintItem {
    /// A text line; `align` is `left`, `center` or `right`.
    Text {
        /// Text.
        text: String,
        /// Alignment.
        align: String,
        /// Double size.
        large: bool,
    },
    /// A QR code.
    Qr {
        /// Payload.
        data: String,
        /// Dots per module.
        module: u32,
    },
    /// Blank lines.
    Feed {
        /// How many.
        lines: u32,
    },
    /// A separator.
    Rule,
    /// A bitmap, row by row, `true` for a dark dot; never wider than the head.
    Bitmap {
        /// Dots a row.
        width: u32,
        /// `width` dots a row, rows top to bottom.
        pixels: Vec<bool>,
    },
}

/// A hardware module a terminal has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Module {
    /// Magnetic stripe reader.
    MagStripe,
    /// Contact chip reader.
    ContactChip,
    /// Contactless reader.
    Contactless,
    /// PIN pad with a secure key store.
    PinPad,
    /// Thermal printer.
    Printer,
    /// Scanner or camera for codes.
    Scanner,
}

/// What a device reports about itself (filled by the vendor from the platform).
#[derive(Debug, Clone, uniffi::Record)]
pub struct DeviceInfo {
    /// Vendor.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// Android version, dotted numbers (`11`, `10.0`).
    pub os_version: String,
    /// Security patch level, `YYYY-MM-DD`.
    pub security_patch: String,
    /// Serial number.
    pub serial: String,
    /// Hardware modules present, each once.
    pub modules: Vec<Module>,
    /// Installed package names.
    pub installed_packages: Vec<String>,
}

/// Device information implemented in Kotlin (`Build`, `Build.VERSION.SECURITY_PATCH`, the
/// vendor's serial API, the package manager).
#[uniffi::export(with_foreign)]
pub trait DeviceInfoDriver: Send + Sync {
    /// What the device is; the same on every call.
    fn device_info(&self) -> DeviceInfo;
}

/// One CA public key from the host's download, its checksum verified: the fields a kernel's
/// key store takes, and the record as downloaded (BER-TLV, tags on the host-profile page).
#[derive(Debug, Clone, uniffi::Record)]
pub struct CaKeyRecord {
    /// RID, 5 bytes.
    pub rid: Vec<u8>,
    /// Key index.
    pub index: u8,
    /// Expiry, `YYYYMMDD`.
    pub expiry: String,
    /// Modulus.
    pub modulus: Vec<u8>,
    /// Exponent.
    pub exponent: Vec<u8>,
    /// SHA-1 of RID, index, modulus and exponent.
    pub checksum: Vec<u8>,
    /// The whole record.
    pub tlv: Vec<u8>,
}

/// One AID's parameters from the host's download: the values most kernels ask for by name,
/// and the record as downloaded (BER-TLV, every tag).
#[derive(Debug, Clone, uniffi::Record)]
pub struct AidRecord {
    /// AID, 5 to 16 bytes.
    pub aid: Vec<u8>,
    /// A card AID that starts with this one matches too.
    pub partial_match: bool,
    /// Floor limit (9F1B), minor units.
    pub floor_limit_minor: Option<u32>,
    /// Contactless transaction limit (DF20), minor units.
    pub contactless_limit_minor: Option<u64>,
    /// Contactless CVM limit (DF21), minor units.
    pub cvm_limit_minor: Option<u64>,
    /// The whole record.
    pub tlv: Vec<u8>,
}

/// The terminal's EMV parameters for the kernel (`smartpos_core::emv::params::EmvParameters`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct EmvParameterSet {
    /// CA public keys.
    pub ca_keys: Vec<CaKeyRecord>,
    /// One parameter set an AID.
    pub aids: Vec<AidRecord>,
}

impl From<&smartpos_core::emv::params::EmvParameters> for EmvParameterSet {
    fn from(p: &smartpos_core::emv::params::EmvParameters) -> Self {
        EmvParameterSet {
            ca_keys: p
                .ca_keys
                .iter()
                .map(|k| CaKeyRecord {
                    rid: k.rid.to_vec(),
                    index: k.index,
                    expiry: k.expiry.clone(),
                    modulus: k.modulus.clone(),
                    exponent: k.exponent.clone(),
                    checksum: k.checksum().to_vec(),
                    tlv: k.to_tlv(),
                })
                .collect(),
            aids: p
                .aids
                .iter()
                .map(|a| AidRecord {
                    aid: a.aid.clone(),
                    partial_match: a.partial_match,
                    floor_limit_minor: a.floor_limit_minor,
                    contactless_limit_minor: a.contactless_limit_minor,
                    cvm_limit_minor: a.cvm_limit_minor,
                    tlv: a.to_tlv(),
                })
                .collect(),
        }
    }
}

/// A card reader implemented in Kotlin. Same contract as `smartpos_core::hal::CardReader`.
#[uniffi::export(with_foreign)]
pub trait CardReaderDriver: Send + Sync {
    /// Waits for a card.
    fn wait_for_card(&self, amount_minor: u64, timeout_ms: u64) -> Result<CardRead, DriverError>;
    /// Cancels a waiting call.
    fn cancel(&self);
    /// Whether a card is in the reader.
    fn card_present(&self) -> bool;
    /// The first half of a transaction (`smartpos_core::hal::CardReader::start_transaction`):
    /// a card to go online with, an offline decline, or a fallback; with `fallback` set, take a
    /// swipe. A reader without a kernel returns `CardStart.Card(waitForCard(...))`.
    fn start_transaction(
        &self,
        amount_minor: u64,
        fallback: bool,
        timeout_ms: u64,
    ) -> Result<CardStart, DriverError>;
    /// The chip's last word after the host approved
    /// (`smartpos_core::hal::CardReader::complete_online`); any error counts as a decline.
    fn complete_online(
        &self,
        answer: ChipAnswer,
        timeout_ms: u64,
    ) -> Result<ChipVerdict, DriverError>;
    /// Loads the terminal's EMV parameters into the kernel, replacing what it held
    /// (`smartpos_core::hal::CardReader::load_parameters`): after each download at sign-in and
    /// once a process. A reader without a kernel does nothing.
    fn load_parameters(&self, params: EmvParameterSet) -> Result<(), DriverError>;
}

/// A PIN pad implemented in Kotlin. Same contract as `smartpos_core::hal::PinPad`.
#[uniffi::export(with_foreign)]
pub trait PinPadDriver: Send + Sync {
    /// Loads the master key of this cipher; refuses a wrong check value.
    fn load_master_key(
        &self,
        cipher: KeyCipher,
        key: Vec<u8>,
        kcv: Vec<u8>,
    ) -> Result<(), DriverError>;
    /// Loads working keys; refuses wrong check values and keeps the keys in force.
    fn load_working_keys(&self, keys: WorkingKeys) -> Result<(), DriverError>;
    /// Online PIN for this card number.
    fn online_pin(
        &self,
        pan: String,
        amount_minor: u64,
        timeout_ms: u64,
    ) -> Result<PinResult, DriverError>;
    /// UnionPay ECB MAC (8 ASCII hex bytes; 16-byte blocks with SM4 keys).
    fn mac(&self, data: Vec<u8>) -> Result<Vec<u8>, DriverError>;
    /// Cancels a waiting call.
    fn cancel(&self);
}

/// A printer implemented in Kotlin.
#[uniffi::export(with_foreign)]
pub trait PrinterDriver: Send + Sync {
    /// Paper and cover state.
    fn status(&self) -> PaperState;
    /// Dots across the head.
    fn dot_width(&self) -> u32;
    /// Prints a job or reports the fault.
    fn print(&self, job: Vec<PrintItem>) -> Result<(), DriverError>;
}

/// A scanner implemented in Kotlin.
#[uniffi::export(with_foreign)]
pub trait ScannerDriver: Send + Sync {
    /// Scans one code.
    fn scan(&self, timeout_ms: u64) -> Result<String, DriverError>;
    /// Cancels a waiting call.
    fn cancel(&self);
}

/// The person or jig acting during conformance checks.
#[uniffi::export(with_foreign)]
pub trait ConformanceOperator: Send + Sync {
    /// Presents the test card.
    fn present_card(&self, track2: String);
    /// Types a PIN.
    fn enter_pin(&self, pin: String);
    /// Bypasses PIN entry.
    fn bypass_pin(&self);
    /// Shows the scanner a code.
    fn show_code(&self, text: String);
    /// Changes paper/cover state.
    fn set_paper(&self, status: PaperState);
    /// Presents a card the reader cannot read.
    fn present_unreadable_card(&self);
    /// Inserts (or taps) the test chip card: the next `startTransaction` runs the kernel's first
    /// half on its chip.
    fn present_chip_card(&self, track2: String);
    /// Tears off what the printer printed since the last tear; true when anything came out.
    fn take_printout(&self) -> bool;
    /// Shows the scanner the QR code on the printout torn off last.
    fn show_printout_qr(&self);
    /// Whether the printout torn off last carries this bitmap (`width` dots a row).
    fn printout_has_bitmap(&self, width: u32, pixels: Vec<bool>) -> bool;
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

struct CardReaderAdapter(Arc<dyn CardReaderDriver>);
impl CardReader for CardReaderAdapter {
    fn wait_for_card(&self, amount: &Money, timeout: Duration) -> Result<CardData, HalError> {
        card_of(self.0.wait_for_card(amount.minor(), ms(timeout))?)
    }
    fn cancel(&self) {
        self.0.cancel()
    }
    fn card_present(&self) -> bool {
        self.0.card_present()
    }
    fn start_transaction(
        &self,
        start: &smartpos_core::hal::TransactionStart,
        timeout: Duration,
    ) -> Result<smartpos_core::hal::Presented, HalError> {
        use smartpos_core::hal::Presented;
        Ok(
            match self
                .0
                .start_transaction(start.amount.minor(), start.fallback, ms(timeout))?
            {
                CardStart::Card { read } => Presented::Card(card_of(read)?),
                CardStart::DeclinedOffline => Presented::DeclinedOffline,
                CardStart::Fallback => Presented::Fallback,
            },
        )
    }
    fn complete_online(
        &self,
        answer: &smartpos_core::hal::IssuerAnswer,
        timeout: Duration,
    ) -> Result<smartpos_core::hal::CardVerdict, HalError> {
        use smartpos_core::hal::CardVerdict;
        let answer = ChipAnswer {
            response_code: answer.response_code.clone(),
            auth_code: answer.auth_code.clone(),
            icc_data: answer.icc_data.clone(),
        };
        Ok(match self.0.complete_online(answer, ms(timeout))? {
            ChipVerdict::Accepted { icc_data } => CardVerdict::Accepted { icc_data },
            ChipVerdict::Declined { icc_data } => CardVerdict::Declined { icc_data },
        })
    }
    fn load_parameters(
        &self,
        params: &smartpos_core::emv::params::EmvParameters,
    ) -> Result<(), HalError> {
        Ok(self.0.load_parameters(params.into())?)
    }
}

/// A Kotlin reader's card data as the core's.
fn card_of(r: CardRead) -> Result<CardData, HalError> {
    let entry = match r.entry {
        CardEntry::MagStripe => EntryMode::MagStripe,
        CardEntry::Chip => EntryMode::Chip,
        CardEntry::Contactless => EntryMode::Contactless,
    };
    let card =
        CardData::from_track2(&r.track2, entry).map_err(|e| HalError::CardError(e.to_string()))?;
    Ok(card.with_icc(r.icc_data, r.card_sequence))
}

struct PinPadAdapter(Arc<dyn PinPadDriver>);
impl PinPad for PinPadAdapter {
    fn load_master_key(
        &self,
        algorithm: KeyAlgorithm,
        key: &[u8],
        check_value: &[u8; 4],
    ) -> Result<(), HalError> {
        Ok(self
            .0
            .load_master_key(algorithm.into(), key.to_vec(), check_value.to_vec())?)
    }
    fn load_working_keys(&self, k: &EncryptedWorkingKeys) -> Result<(), HalError> {
        Ok(self.0.load_working_keys(WorkingKeys {
            cipher: k.algorithm.into(),
            pin_format: match k.pin_format {
                PinBlockFormat::WithPan => PinFormat::WithPan,
                PinBlockFormat::WithoutPan => PinFormat::WithoutPan,
            },
            pin_key: k.pin_key.clone(),
            pin_kcv: k.pin_kcv.to_vec(),
            mac_key: k.mac_key.clone(),
            mac_kcv: k.mac_kcv.to_vec(),
            mac_first_half: k.mac_key_use == MacKeyUse::FirstHalf,
        })?)
    }
    fn online_pin(
        &self,
        pan: &Pan,
        amount: &Money,
        timeout: Duration,
    ) -> Result<PinEntry, HalError> {
        match self
            .0
            .online_pin(pan.expose_digits().to_string(), amount.minor(), ms(timeout))?
        {
            PinResult::Bypassed => Ok(PinEntry::Bypassed),
            PinResult::Block { block } if block.len() == 8 || block.len() == 16 => {
                Ok(PinEntry::Block(EncryptedPinBlock(block)))
            }
            PinResult::Block { block } => Err(HalError::Device(format!(
                "a PIN block is 8 or 16 bytes, the driver returned {}",
                block.len()
            ))),
        }
    }
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], HalError> {
        self.0
            .mac(data.to_vec())?
            .try_into()
            .map_err(|_| HalError::Device("MAC must be 8 bytes".into()))
    }
    fn cancel(&self) {
        self.0.cancel()
    }
}

fn paper(p: PaperState) -> PaperStatus {
    match p {
        PaperState::Ok => PaperStatus::Ok,
        PaperState::OutOfPaper => PaperStatus::OutOfPaper,
        PaperState::CoverOpen => PaperStatus::CoverOpen,
    }
}

fn paper_ffi(p: PaperStatus) -> PaperState {
    match p {
        PaperStatus::Ok => PaperState::Ok,
        PaperStatus::OutOfPaper => PaperState::OutOfPaper,
        PaperStatus::CoverOpen => PaperState::CoverOpen,
    }
}

struct PrinterAdapter(Arc<dyn PrinterDriver>);
impl Printer for PrinterAdapter {
    fn status(&self) -> PaperStatus {
        paper(self.0.status())
    }
    fn dot_width(&self) -> u32 {
        self.0.dot_width()
    }
    fn print(&self, job: &[PrintCommand]) -> Result<(), HalError> {
        let items = job
            .iter()
            .map(|c| match c {
                PrintCommand::Text { text, align, size } => PrintItem::Text {
                    text: text.clone(),
                    align: match align {
                        Align::Left => "left",
                        Align::Center => "center",
                        Align::Right => "right",
                    }
                    .into(),
                    large: *size == TextSize::Large,
                },
                PrintCommand::Qr { data, module } => PrintItem::Qr {
                    data: data.clone(),
                    module: *module,
                },
                PrintCommand::Feed { lines } => PrintItem::Feed { lines: *lines },
                PrintCommand::Rule => PrintItem::Rule,
                PrintCommand::Bitmap { width, pixels } => PrintItem::Bitmap {
                    width: *width,
                    pixels: pixels.clone(),
                },
            })
            .collect();
        Ok(self.0.print(items)?)
    }
}

struct ScannerAdapter(Arc<dyn ScannerDriver>);
impl Scanner for ScannerAdapter {
    fn scan(&self, timeout: Duration) -> Result<String, HalError> {
        Ok(self.0.scan(ms(timeout))?)
    }
    fn cancel(&self) {
        self.0.cancel()
    }
}

struct OperatorAdapter(Arc<dyn ConformanceOperator>);
impl Operator for OperatorAdapter {
    fn present_card(&self, track2: &str) {
        self.0.present_card(track2.into())
    }
    fn enter_pin(&self, pin: &str) {
        self.0.enter_pin(pin.into())
    }
    fn bypass_pin(&self) {
        self.0.bypass_pin()
    }
    fn show_code(&self, text: &str) {
        self.0.show_code(text.into())
    }
    fn set_paper(&self, status: PaperStatus) {
        self.0.set_paper(paper_ffi(status))
    }
    fn present_unreadable_card(&self) {
        self.0.present_unreadable_card()
    }
    fn present_chip_card(&self, track2: &str) {
        self.0.present_chip_card(track2.into())
    }
    fn take_printout(&self) -> bool {
        self.0.take_printout()
    }
    fn show_printout_qr(&self) {
        self.0.show_printout_qr()
    }
    fn printout_has_bitmap(&self, width: u32, pixels: &[bool]) -> bool {
        self.0.printout_has_bitmap(width, pixels.to_vec())
    }
}

struct DeviceAdapter(Arc<dyn DeviceInfoDriver>);
impl DeviceInfoProvider for DeviceAdapter {
    fn device_information(&self) -> DeviceInformation {
        let d = self.0.device_info();
        DeviceInformation {
            vendor: d.vendor,
            model: d.model,
            os_version: d.os_version,
            security_patch: d.security_patch,
            serial: d.serial,
            modules: d
                .modules
                .into_iter()
                .map(|m| match m {
                    Module::MagStripe => HardwareModule::MagStripe,
                    Module::ContactChip => HardwareModule::ContactChip,
                    Module::Contactless => HardwareModule::Contactless,
                    Module::PinPad => HardwareModule::PinPad,
                    Module::Printer => HardwareModule::Printer,
                    Module::Scanner => HardwareModule::Scanner,
                })
                .collect(),
            installed_packages: d.installed_packages,
        }
    }
}

/// One conformance check's result.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConformanceCheck {
    /// Stable id, e.g. `pin_pad.working_key_kcv`.
    pub id: String,
    /// The contract in words.
    pub contract: String,
    /// The vendor guide's section where the contract is written.
    pub section: String,
    /// Whether the driver kept it.
    pub passed: bool,
    /// What was observed when it did not.
    pub detail: String,
}

/// Runs the conformance kit against Kotlin drivers.
///
/// Kotlin:
/// ```kotlin
/// val checks = runConformance(reader, pinPad, printer, scanner, device, operator)
/// check(checks.all { it.passed }) { checks.filter { !it.passed }.joinToString { it.id } }
/// ```
#[uniffi::export]
pub fn run_conformance(
    card_reader: Arc<dyn CardReaderDriver>,
    pin_pad: Arc<dyn PinPadDriver>,
    printer: Arc<dyn PrinterDriver>,
    scanner: Arc<dyn ScannerDriver>,
    device: Arc<dyn DeviceInfoDriver>,
    operator: Arc<dyn ConformanceOperator>,
) -> Vec<ConformanceCheck> {
    let (r, p, pr, s, d, o) = (
        CardReaderAdapter(card_reader),
        PinPadAdapter(pin_pad),
        PrinterAdapter(printer),
        ScannerAdapter(scanner),
        DeviceAdapter(device),
        OperatorAdapter(operator),
    );
    let subject = Subject {
        card_reader: &r,
        pin_pad: &p,
        printer: &pr,
        scanner: &s,
        device: &d,
        operator: &o,
    };
    conformance::run(&subject)
        .checks
        .into_iter()
        .map(|c| ConformanceCheck {
            id: c.id.into(),
            contract: c.contract.into(),
            section: c.section.into(),
            passed: c.passed,
            detail: c.detail,
        })
        .collect()
}
