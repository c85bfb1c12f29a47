//! The simulated driver set as a conformance-kit subject, operated by itself: the reference
//! every vendor's set is compared with, and the base of the kit's own mutation suite.

use smartpos_hal::conformance::{Operator, Subject};
use smartpos_hal::{PaperStatus, PrintCommand};

/// The simulated drivers with their operator, ready for [`run`](smartpos_hal::conformance::run).
pub struct SimSet {
    /// Card reader.
    pub card_reader: crate::sim::SimCardReader,
    /// PIN pad.
    pub pin_pad: crate::sim::SimPinPad,
    /// Printer.
    pub printer: crate::sim::SimPrinter,
    /// Scanner.
    pub scanner: crate::sim::SimScanner,
    /// Device information.
    pub device: crate::sim::SimDevice,
    /// The printout the operator tore off last.
    printout: std::sync::Mutex<Vec<Vec<PrintCommand>>>,
}

impl Default for SimSet {
    fn default() -> Self {
        SimSet {
            card_reader: Default::default(),
            pin_pad: crate::sim::SimPinPad::empty(),
            printer: Default::default(),
            scanner: Default::default(),
            device: Default::default(),
            printout: Default::default(),
        }
    }
}

impl Operator for SimSet {
    fn present_card(&self, track2: &str) {
        self.card_reader.push(crate::sim::CardScript::Card {
            track2: track2.into(),
            entry_mode: smartpos_core::card::EntryMode::MagStripe,
        });
    }
    fn enter_pin(&self, pin: &str) {
        self.pin_pad.push(crate::sim::PinScript::Pin(pin.into()));
    }
    fn bypass_pin(&self) {
        self.pin_pad.push(crate::sim::PinScript::Bypass);
    }
    fn show_code(&self, text: &str) {
        self.scanner.push(crate::sim::ScanScript::Code(text.into()));
    }
    fn set_paper(&self, status: PaperStatus) {
        self.printer.set_status(status);
    }
    fn present_unreadable_card(&self) {
        self.card_reader.push(crate::sim::CardScript::Unreadable);
    }
    fn present_chip_card(&self, track2: &str) {
        self.card_reader.push(crate::sim::CardScript::Emv {
            track2: track2.into(),
            psn: "01".into(),
            contactless: false,
        });
    }
    fn take_printout(&self) -> bool {
        let jobs = self.printer.take_printout();
        let came_out = !jobs.is_empty();
        *self.printout.lock().unwrap_or_else(|p| p.into_inner()) = jobs;
        came_out
    }
    fn show_printout_qr(&self) {
        let printout = self.printout.lock().unwrap_or_else(|p| p.into_inner());
        let qr = printout.iter().flatten().find_map(|c| match c {
            PrintCommand::Qr { data, .. } => Some(data.clone()),
            _ => None,
        });
        if let Some(data) = qr {
            self.scanner.push(crate::sim::ScanScript::Code(data));
        }
    }
    fn printout_has_bitmap(&self, width: u32, pixels: &[bool]) -> bool {
        // The simulated paper is the rendered job: look for the bitmap among the dots.
        let printout = self.printout.lock().unwrap_or_else(|p| p.into_inner());
        printout.iter().any(|job| {
            crate::fonts::system_renderer()
                .render_dots(job)
                .is_ok_and(|paper| smartpos_hal::render::contains_bitmap(&paper, width, pixels))
        })
    }
}

impl SimSet {
    /// The set as a kit subject, operated by itself.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            card_reader: &self.card_reader,
            pin_pad: &self.pin_pad,
            printer: &self.printer,
            scanner: &self.scanner,
            device: &self.device,
            operator: self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartpos_hal::conformance::run;

    #[test]
    fn simulated_drivers_pass_every_check() {
        let set = SimSet::default();
        let report = run(&set.subject());
        assert!(report.passed(), "{:#?}", report.failures());
        assert_eq!(report.checks.len(), 44);
    }
}
