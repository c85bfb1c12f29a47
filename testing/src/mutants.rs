//! Deliberately faulty driver sets for the conformance kit's own mutation suite: each breaks
//! exactly one documented contract of `vendor/hal.md`, and must be caught by the check for that
//! contract alone (`tests/tests/hal_mutants.rs` runs them and prints the kill rate).

use crate::conformance::SimSet;
use smartpos_core::card::{CardData, Pan};
use smartpos_core::crypto::{CipherKey, KeyAlgorithm};
use smartpos_core::hal::*;
use smartpos_core::money::Money;
use smartpos_core::profile::MacKeyUse;
use smartpos_hal::conformance::{Operator, Subject};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// One documented contract broken on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Fault {
    MasterKcvIgnored,
    Sm4MasterKcvIgnored,
    PartialUpdate,
    AlgorithmBytesFit,
    FirstHalfIgnored,
    LatePinTimeout,
    StickyPinCancel,
    TruncatedTrack2,
    CardAlwaysPresent,
    SlowReaderCancel,
    LateReaderTimeout,
    IntegerScanner,
    SlowScannerCancel,
    StickyScannerCancel,
    PrinterRefusesLargeText,
    UnreadableAsTimeout,
    PrintsThenFaults,
    DropsQr,
    DropsBitmap,
    BadPatchDate,
    MissingModule,
    SerialPerCall,
    KeepsWorkingKeys,
    StartAsFallback,
    LateStartTimeout,
    ChipWithoutCryptogram,
    AacReportedAsAccepted,
    IgnoresCancelBetweenHalves,
}

/// The check each fault must fail, and only it.
pub const MUTANTS: [(Fault, &str); 28] = [
    (Fault::MasterKcvIgnored, "pin_pad.master_key_kcv"),
    (Fault::Sm4MasterKcvIgnored, "pin_pad.sm4_master_key_kcv"),
    (Fault::PartialUpdate, "pin_pad.working_key_kcv"),
    (Fault::AlgorithmBytesFit, "pin_pad.algorithm_mismatch"),
    (Fault::FirstHalfIgnored, "pin_pad.mac_first_half"),
    (Fault::LatePinTimeout, "pin_pad.timeout"),
    (Fault::StickyPinCancel, "pin_pad.cancel_not_sticky"),
    (Fault::TruncatedTrack2, "card_reader.read"),
    (Fault::CardAlwaysPresent, "card_reader.card_present"),
    (Fault::SlowReaderCancel, "card_reader.cancel"),
    (Fault::LateReaderTimeout, "card_reader.timeout"),
    (Fault::IntegerScanner, "scanner.scan"),
    (Fault::SlowScannerCancel, "scanner.cancel"),
    (Fault::StickyScannerCancel, "scanner.cancel_not_sticky"),
    (Fault::PrinterRefusesLargeText, "printer.print"),
    (Fault::UnreadableAsTimeout, "card_reader.unreadable"),
    (Fault::PrintsThenFaults, "printer.refused_job_not_printed"),
    (Fault::DropsQr, "printer.qr_loopback"),
    (Fault::DropsBitmap, "printer.bitmap"),
    (Fault::BadPatchDate, "device.information"),
    (Fault::MissingModule, "device.modules"),
    (Fault::SerialPerCall, "device.consistent"),
    (
        Fault::KeepsWorkingKeys,
        "pin_pad.master_key_clears_working_keys",
    ),
    (Fault::StartAsFallback, "card_reader.start_read"),
    (Fault::LateStartTimeout, "card_reader.start_timeout"),
    (Fault::ChipWithoutCryptogram, "card_reader.chip_first_half"),
    (Fault::AacReportedAsAccepted, "card_reader.chip_verdict"),
    (
        Fault::IgnoresCancelBetweenHalves,
        "card_reader.chip_cancel_between_halves",
    ),
];

/// The simulated set with one fault planted.
pub struct Mutant {
    set: SimSet,
    fault: Option<Fault>,
    master: Mutex<Option<KeyAlgorithm>>,
    last_good: Mutex<Option<EncryptedWorkingKeys>>,
    pin_waiting: AtomicBool,
    pin_sticky: AtomicBool,
    scan_waiting: AtomicBool,
    scan_sticky: AtomicBool,
    info_calls: std::sync::atomic::AtomicU32,
}

impl Mutant {
    /// The simulated set, with `fault` planted (none: the correct set).
    pub fn new(fault: Option<Fault>) -> Self {
        Mutant {
            set: SimSet::default(),
            fault,
            master: Mutex::new(None),
            last_good: Mutex::new(None),
            pin_waiting: AtomicBool::new(false),
            pin_sticky: AtomicBool::new(false),
            scan_waiting: AtomicBool::new(false),
            scan_sticky: AtomicBool::new(false),
            info_calls: Default::default(),
        }
    }
    fn is(&self, f: Fault) -> bool {
        self.fault == Some(f)
    }
    /// The set as a kit subject, operated by itself.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            card_reader: self,
            pin_pad: self,
            printer: self,
            scanner: self,
            device: self,
            operator: self,
        }
    }
}

impl PinPad for Mutant {
    fn load_master_key(&self, alg: KeyAlgorithm, key: &[u8], cv: &[u8; 4]) -> Result<(), HalError> {
        let ignore = (self.is(Fault::MasterKcvIgnored) && alg == KeyAlgorithm::Des)
            || (self.is(Fault::Sm4MasterKcvIgnored) && alg == KeyAlgorithm::Sm4);
        let cv = match (ignore, CipherKey::new(alg, key)) {
            (true, Ok(k)) => k.check_value(),
            _ => *cv,
        };
        self.set.pin_pad.load_master_key(alg, key, &cv)?;
        *self.master.lock().unwrap() = Some(alg);
        Ok(())
    }
    fn load_working_keys(&self, keys: &EncryptedWorkingKeys) -> Result<(), HalError> {
        let mut keys = keys.clone();
        if self.is(Fault::AlgorithmBytesFit) {
            if let Some(alg) = *self.master.lock().unwrap() {
                keys.algorithm = alg; // the label is ignored: the bytes fit
            }
        }
        if self.is(Fault::FirstHalfIgnored) {
            keys.mac_key_use = MacKeyUse::Full;
        }
        let r = self.set.pin_pad.load_working_keys(&keys);
        match &r {
            Ok(()) => *self.last_good.lock().unwrap() = Some(keys),
            Err(HalError::KeyCheckFailed) if self.is(Fault::PartialUpdate) => {
                // The PIN key goes in although the set was refused.
                if let Some(good) = self.last_good.lock().unwrap().clone() {
                    let _ = self.set.pin_pad.load_working_keys(&EncryptedWorkingKeys {
                        pin_key: keys.pin_key.clone(),
                        pin_kcv: keys.pin_kcv,
                        ..good
                    });
                }
            }
            Err(_) => {}
        }
        r
    }
    fn online_pin(&self, pan: &Pan, amount: &Money, t: Duration) -> Result<PinEntry, HalError> {
        if self.is(Fault::StickyPinCancel) && self.pin_sticky.swap(false, Ordering::SeqCst) {
            return Err(HalError::Cancelled);
        }
        self.pin_waiting.store(true, Ordering::SeqCst);
        let r = self.set.pin_pad.online_pin(pan, amount, t);
        self.pin_waiting.store(false, Ordering::SeqCst);
        if self.is(Fault::LatePinTimeout) && r == Err(HalError::Timeout) {
            std::thread::sleep(Duration::from_millis(400));
        }
        r
    }
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], HalError> {
        match self.set.pin_pad.mac(data) {
            // Still answers as if the old working keys were in force.
            Err(HalError::NoKeys) if self.is(Fault::KeepsWorkingKeys) => Ok(*b"5A5A5A5A"),
            other => other,
        }
    }
    fn cancel(&self) {
        if self.is(Fault::StickyPinCancel) && !self.pin_waiting.load(Ordering::SeqCst) {
            self.pin_sticky.store(true, Ordering::SeqCst);
        }
        self.set.pin_pad.cancel()
    }
}

impl CardReader for Mutant {
    fn wait_for_card(&self, amount: &Money, t: Duration) -> Result<CardData, HalError> {
        let r = self.set.card_reader.wait_for_card(amount, t);
        if self.is(Fault::LateReaderTimeout) && matches!(r, Err(HalError::Timeout)) {
            std::thread::sleep(Duration::from_millis(1200));
        }
        match r {
            Err(HalError::CardError(_)) if self.is(Fault::UnreadableAsTimeout) => {
                Err(HalError::Timeout)
            }
            Ok(c) if self.is(Fault::TruncatedTrack2) => {
                // Only the card number and expiry survive: the service code is dropped.
                let t2 = format!("{}={}", c.pan().expose_digits(), c.expiry().unwrap_or(""));
                CardData::from_track2(&t2, c.entry_mode())
                    .map_err(|e| HalError::Device(e.to_string()))
            }
            other => other,
        }
    }
    fn cancel(&self) {
        if self.is(Fault::SlowReaderCancel) {
            std::thread::sleep(Duration::from_millis(1500));
        }
        self.set.card_reader.cancel()
    }
    fn card_present(&self) -> bool {
        self.is(Fault::CardAlwaysPresent) || self.set.card_reader.card_present()
    }
    fn start_transaction(
        &self,
        start: &smartpos_core::hal::TransactionStart,
        t: Duration,
    ) -> Result<smartpos_core::hal::Presented, HalError> {
        // The first half goes to the set itself: the faults planted in wait_for_card stay there.
        let r = self.set.card_reader.start_transaction(start, t);
        if self.is(Fault::LateStartTimeout) && matches!(r, Err(HalError::Timeout)) {
            std::thread::sleep(Duration::from_millis(1200));
        }
        match r {
            // A swiped card reported as a chip that failed.
            Ok(Presented::Card(c))
                if self.is(Fault::StartAsFallback)
                    && c.entry_mode() == smartpos_core::card::EntryMode::MagStripe =>
            {
                Ok(Presented::Fallback)
            }
            Ok(Presented::Card(c))
                if self.is(Fault::ChipWithoutCryptogram) && !c.icc_data().is_empty() =>
            {
                // The kernel's data without the cryptogram (9F26).
                let list = smartpos_core::emv::tlv::decode(c.icc_data()).unwrap_or_default();
                let mut icc = Vec::new();
                for t in list.iter().filter(|t| t.tag.0 != 0x9F26) {
                    let _ = smartpos_core::emv::tlv::encode(t.tag, t.value, &mut icc);
                }
                let seq = c.card_sequence().map(str::to_string);
                Ok(Presented::Card(c.with_icc(icc, seq)))
            }
            other => other,
        }
    }
    fn complete_online(&self, answer: &IssuerAnswer, t: Duration) -> Result<CardVerdict, HalError> {
        if self.is(Fault::IgnoresCancelBetweenHalves) {
            // Forgets the cancel and asks the card anyway.
            self.set.card_reader.complete_online(answer, t).ok();
            return Ok(CardVerdict::Declined {
                icc_data: vec![0x9F, 0x27, 0x01, 0x00],
            });
        }
        match self.set.card_reader.complete_online(answer, t) {
            Ok(CardVerdict::Declined { icc_data }) if self.is(Fault::AacReportedAsAccepted) => {
                Ok(CardVerdict::Accepted { icc_data })
            }
            other => other,
        }
    }
}

impl Scanner for Mutant {
    fn scan(&self, t: Duration) -> Result<String, HalError> {
        if self.is(Fault::StickyScannerCancel) && self.scan_sticky.swap(false, Ordering::SeqCst) {
            return Err(HalError::Cancelled);
        }
        self.scan_waiting.store(true, Ordering::SeqCst);
        let r = self.set.scanner.scan(t);
        self.scan_waiting.store(false, Ordering::SeqCst);
        match r {
            // Round-tripped through an integer: leading zeros are lost.
            Ok(code) if self.is(Fault::IntegerScanner) => code
                .parse::<u128>()
                .map(|n| n.to_string())
                .map_err(|e| HalError::Device(e.to_string())),
            other => other,
        }
    }
    fn cancel(&self) {
        if self.is(Fault::SlowScannerCancel) {
            std::thread::sleep(Duration::from_millis(500));
        }
        if self.is(Fault::StickyScannerCancel) && !self.scan_waiting.load(Ordering::SeqCst) {
            self.scan_sticky.store(true, Ordering::SeqCst);
        }
        self.set.scanner.cancel()
    }
}

impl Printer for Mutant {
    fn status(&self) -> PaperStatus {
        self.set.printer.status()
    }
    fn dot_width(&self) -> u32 {
        self.set.printer.dot_width()
    }
    fn print(&self, job: &[PrintCommand]) -> Result<(), HalError> {
        let large = |c: &PrintCommand| {
            matches!(
                c,
                PrintCommand::Text {
                    size: TextSize::Large,
                    ..
                }
            )
        };
        if self.is(Fault::PrinterRefusesLargeText) && job.iter().any(large) {
            return Err(HalError::Device("large text is not supported".into()));
        }
        let status = self.set.printer.status();
        if self.is(Fault::PrintsThenFaults) && status != PaperStatus::Ok {
            // The job goes to paper, and then the fault is reported.
            self.set.printer.set_status(PaperStatus::Ok);
            let _ = self.set.printer.print(job);
            self.set.printer.set_status(status);
        }
        let kept: Vec<PrintCommand> = job
            .iter()
            .filter(|c| match c {
                PrintCommand::Qr { .. } => !self.is(Fault::DropsQr),
                PrintCommand::Bitmap { .. } => !self.is(Fault::DropsBitmap),
                _ => true,
            })
            .cloned()
            .collect();
        self.set.printer.print(&kept)
    }
}

impl DeviceInfoProvider for Mutant {
    fn device_information(&self) -> DeviceInformation {
        let mut info = self.set.device.device_information();
        if self.is(Fault::BadPatchDate) {
            info.security_patch = "2026/10/05".into();
        }
        if self.is(Fault::MissingModule) {
            info.modules.retain(|m| *m != HardwareModule::Scanner);
        }
        if self.is(Fault::SerialPerCall) {
            let n = self.info_calls.fetch_add(1, Ordering::SeqCst);
            info.serial = format!("{}-{n}", info.serial);
        }
        info
    }
}

impl Operator for Mutant {
    fn present_card(&self, track2: &str) {
        self.set.present_card(track2)
    }
    fn enter_pin(&self, pin: &str) {
        self.set.enter_pin(pin)
    }
    fn bypass_pin(&self) {
        self.set.bypass_pin()
    }
    fn show_code(&self, text: &str) {
        self.set.show_code(text)
    }
    fn set_paper(&self, status: PaperStatus) {
        self.set.set_paper(status)
    }
    fn present_unreadable_card(&self) {
        self.set.present_unreadable_card()
    }
    fn present_chip_card(&self, track2: &str) {
        self.set.present_chip_card(track2)
    }
    fn take_printout(&self) -> bool {
        self.set.take_printout()
    }
    fn show_printout_qr(&self) {
        self.set.show_printout_qr()
    }
    fn printout_has_bitmap(&self, width: u32, pixels: &[bool]) -> bool {
        self.set.printout_has_bitmap(width, pixels)
    }
}
