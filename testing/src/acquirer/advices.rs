//! The simulator's side of the advices a terminal sends after chip transactions: script
//! results (0620, 60.3 `951`) and TC uploads (0320, 60.3 `203`). Each must name (F61 batch and
//! trace) an approved transaction of the sending terminal, else `25`; the host keeps what it
//! got in memory ([`Acquirer::advices`]), not in its saved state.

use super::Acquirer;
use smartpos_core::iso8583::Message;

/// An advice the host accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdviceRecord {
    /// Terminal id.
    pub terminal_id: String,
    /// Batch of the transaction it is about.
    pub batch: u32,
    /// Trace of the transaction it is about.
    pub trace: u32,
    /// `script_results` or `tc_upload`.
    pub kind: &'static str,
    /// Its field 55 (the card's CID, cryptogram, script results).
    pub icc_data: Vec<u8>,
}

impl Acquirer {
    /// The advices accepted so far, in order.
    pub fn advices(&self) -> &[AdviceRecord] {
        &self.advices
    }

    /// An advice (0620 / 951 or 0320 / 203): recorded once per transaction and kind.
    pub(super) fn advice(&mut self, tid: &str, req: &Message, kind: &'static str) -> String {
        let f61 = req.get_str(61).unwrap_or("");
        let num = |r: std::ops::Range<usize>| f61.get(r).and_then(|v| v.parse::<u32>().ok());
        let (Some(batch), Some(trace)) = (num(0..6), num(6..12)) else {
            return "30".into();
        };
        let Some(i) = self.ledger_at(tid, batch, trace) else {
            return "25".into();
        };
        if self.state.ledger[i].response_code != "00" {
            return "25".into();
        }
        let record = AdviceRecord {
            terminal_id: tid.to_string(),
            batch,
            trace,
            kind,
            icc_data: req.get(55).unwrap_or_default().to_vec(),
        };
        // A repeat (the terminal did not see the first answer) is acknowledged again.
        if !self.advices.iter().any(|a| {
            (a.terminal_id.as_str(), a.batch, a.trace, a.kind) == (tid, batch, trace, kind)
        }) {
            self.advices.push(record);
        }
        "00".into()
    }
}
