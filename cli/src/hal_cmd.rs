//! `smartpos hal conformance | compliance`, and deliberately broken drivers that show the kit
//! catching each broken contract.

use smartpos_core::card::{CardData, Pan};
use smartpos_core::crypto::{clear_pin_block, CipherKey, KeyAlgorithm, PinBlockFormat};
use smartpos_core::hal::{
    CardReader, DeviceInformation, EncryptedPinBlock, EncryptedWorkingKeys, HalError, PaperStatus,
    PinEntry, PinPad, PrintCommand, Printer,
};
use smartpos_core::money::Money;
use smartpos_hal::compliance::{check, ComplianceFailure, ComplianceProfile};
use smartpos_hal::conformance::{run, Report, Subject};
use smartpos_testing::conformance::SimSet;
use std::sync::Mutex;
use std::time::Duration;

/// A broken behaviour to plant in the simulated drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Breakage {
    /// The PIN pad accepts working keys without checking their check values.
    SkipKcv,
    /// The PIN pad returns the clear PIN block.
    ClearPin,
    /// The card reader ignores cancel.
    IgnoreCancel,
    /// The printer reports paper but prints nothing when it has none, without an error.
    SilentPrinter,
}

/// Remembers the master key it was given, to defeat the working keys' check values.
struct SkipKcvPad<'a>(&'a dyn PinPad, Mutex<Option<CipherKey>>);
impl PinPad for SkipKcvPad<'_> {
    fn load_master_key(&self, alg: KeyAlgorithm, key: &[u8], cv: &[u8; 4]) -> Result<(), HalError> {
        self.0.load_master_key(alg, key, cv)?;
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) = CipherKey::new(alg, key).ok();
        Ok(())
    }
    fn load_working_keys(&self, keys: &EncryptedWorkingKeys) -> Result<(), HalError> {
        // Recompute the check values from what arrived: the check is defeated.
        let master = self.1.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let fix = |enc: &[u8]| -> [u8; 4] {
            master
                .as_ref()
                .and_then(|m| m.decrypt_ecb(enc).ok())
                .and_then(|clear| CipherKey::new(keys.algorithm, &clear).ok())
                .map(|k| k.check_value())
                .unwrap_or_default()
        };
        let patched = EncryptedWorkingKeys {
            pin_kcv: fix(&keys.pin_key),
            mac_kcv: fix(&keys.mac_key),
            ..keys.clone()
        };
        self.0.load_working_keys(&patched)
    }
    fn online_pin(&self, pan: &Pan, amount: &Money, t: Duration) -> Result<PinEntry, HalError> {
        self.0.online_pin(pan, amount, t)
    }
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], HalError> {
        self.0.mac(data)
    }
    fn cancel(&self) {
        self.0.cancel()
    }
}

/// Returns the clear PIN block of the format and length its working keys asked for.
struct ClearPinPad<'a>(&'a dyn PinPad, Mutex<(PinBlockFormat, usize)>);
impl PinPad for ClearPinPad<'_> {
    fn load_master_key(&self, alg: KeyAlgorithm, key: &[u8], cv: &[u8; 4]) -> Result<(), HalError> {
        self.0.load_master_key(alg, key, cv)
    }
    fn load_working_keys(&self, keys: &EncryptedWorkingKeys) -> Result<(), HalError> {
        self.0.load_working_keys(keys)?;
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) =
            (keys.pin_format, keys.algorithm.block_len());
        Ok(())
    }
    fn online_pin(&self, pan: &Pan, amount: &Money, t: Duration) -> Result<PinEntry, HalError> {
        match self.0.online_pin(pan, amount, t)? {
            PinEntry::Block(_) => {
                let (format, len) = *self.1.lock().unwrap_or_else(|p| p.into_inner());
                let clear = clear_pin_block(
                    format,
                    smartpos_hal::conformance::TEST_PIN,
                    pan.expose_digits(),
                    len,
                )
                .map_err(|e| HalError::Device(e.to_string()))?;
                Ok(PinEntry::Block(EncryptedPinBlock(clear.to_vec())))
            }
            other => Ok(other),
        }
    }
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], HalError> {
        self.0.mac(data)
    }
    fn cancel(&self) {
        self.0.cancel()
    }
}

struct DeafReader<'a>(&'a dyn CardReader);
impl CardReader for DeafReader<'_> {
    fn wait_for_card(&self, amount: &Money, t: Duration) -> Result<CardData, HalError> {
        self.0
            .wait_for_card(amount, t.min(Duration::from_millis(2500)))
    }
    fn cancel(&self) {}
    fn card_present(&self) -> bool {
        self.0.card_present()
    }
    fn start_transaction(
        &self,
        start: &smartpos_core::hal::TransactionStart,
        t: Duration,
    ) -> Result<smartpos_core::hal::Presented, HalError> {
        self.0
            .start_transaction(start, t.min(Duration::from_millis(2500)))
    }
    fn complete_online(
        &self,
        answer: &smartpos_core::hal::IssuerAnswer,
        t: Duration,
    ) -> Result<smartpos_core::hal::CardVerdict, HalError> {
        self.0.complete_online(answer, t)
    }
}

struct SilentPrinter<'a>(&'a dyn Printer);
impl Printer for SilentPrinter<'_> {
    fn status(&self) -> PaperStatus {
        PaperStatus::Ok
    }
    fn dot_width(&self) -> u32 {
        self.0.dot_width()
    }
    fn print(&self, _job: &[PrintCommand]) -> Result<(), HalError> {
        Ok(())
    }
}

/// Runs the kit against the simulated drivers, with one contract broken if asked.
pub fn conformance(breakage: Option<Breakage>) -> Report {
    let set = SimSet::default();
    let base = set.subject();
    let skip = SkipKcvPad(&set.pin_pad, Mutex::new(None));
    let clear = ClearPinPad(&set.pin_pad, Mutex::new((PinBlockFormat::WithPan, 8)));
    let deaf = DeafReader(&set.card_reader);
    let silent = SilentPrinter(&set.printer);
    let subject = match breakage {
        None => base,
        Some(Breakage::SkipKcv) => Subject {
            pin_pad: &skip,
            ..base
        },
        Some(Breakage::ClearPin) => Subject {
            pin_pad: &clear,
            ..base
        },
        Some(Breakage::IgnoreCancel) => Subject {
            card_reader: &deaf,
            ..base
        },
        Some(Breakage::SilentPrinter) => Subject {
            printer: &silent,
            ..base
        },
    };
    run(&subject)
}

/// Checks a device against a compliance profile.
pub fn compliance(
    profile: &ComplianceProfile,
    device: &DeviceInformation,
) -> Vec<ComplianceFailure> {
    check(profile, device)
}
