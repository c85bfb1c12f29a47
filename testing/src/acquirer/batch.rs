//! The host's batches: totals per terminal, settlement (0500) and batch upload (0320).

use super::*;

impl Acquirer {
    /// The host's totals for a terminal's batch: (debit count, debit amount, credit count, credit amount).
    pub fn batch_totals(&self, tid: &str, batch: u32) -> (u32, u64, u32, u64) {
        let mut t = (0, 0, 0, 0);
        for e in self
            .state
            .ledger
            .iter()
            .filter(|e| e.terminal_id == tid && e.batch == batch && e.in_force())
        {
            match e.kind.as_str() {
                "sale" | "preauth_complete" if !e.voided => {
                    t.0 += 1;
                    t.1 += e.amount_minor;
                }
                "refund" => {
                    t.2 += 1;
                    t.3 += e.amount_minor;
                }
                _ => {}
            }
        }
        t
    }

    /// The terminal's current batch at the host (0 for an unknown terminal).
    pub(super) fn terminal_batch(&self, tid: &str) -> u32 {
        self.terminal_at(tid)
            .map(|i| self.state.terminals[i].batch)
            .unwrap_or(0)
    }

    pub(super) fn close_batch(&mut self, tid: &str) {
        if let Some(a) = self
            .state
            .terminals
            .iter_mut()
            .find(|t| t.terminal_id == tid)
        {
            a.batch = if a.batch >= 999_999 { 1 } else { a.batch + 1 };
            self.terminals_dirty = true;
        }
    }

    pub(super) fn settle(&mut self, tid: &str, req: &Message, resp: &mut Message) -> String {
        let batch: u32 = f60_batch(req);
        let current = self.terminal_batch(tid);
        if batch != current {
            return "77".into();
        }
        let f48 = req.get_str(48).unwrap_or("").to_string();
        if f48.len() < 31 {
            return "30".into();
        }
        let (dc, da, cc, ca) = self.batch_totals(tid, batch);
        let ours = format!("{da:012}{:03}{ca:012}{:03}", dc % 1000, cc % 1000);
        let balanced = f48[..30] == ours;
        let mut answer = f48.into_bytes();
        answer[30] = if balanced { b'1' } else { b'2' };
        resp.set(48, answer);
        if balanced {
            self.close_batch(tid);
        }
        "00".into()
    }

    pub(super) fn batch_upload(&mut self, tid: &str, req: &Message) -> String {
        match req.get_str(60).and_then(|f| f.get(8..11)) {
            Some("202") | Some("207") => {
                self.close_batch(tid);
                "00".into()
            }
            Some("201") | Some("203") => {
                let reference = req.get_str(37).unwrap_or("").to_string();
                let known = self
                    .state
                    .ledger
                    .iter()
                    .any(|e| e.terminal_id == tid && e.reference == reference && e.in_force());
                if !known {
                    // The terminal approved a transaction the host has no record of: post it.
                    let f61 = req.get_str(61).unwrap_or("");
                    let num = |r: std::ops::Range<usize>| {
                        f61.get(r).and_then(|v| v.parse().ok()).unwrap_or(0)
                    };
                    self.post(LedgerEntry {
                        terminal_id: tid.to_string(),
                        batch: num(0..6),
                        trace: num(6..12),
                        kind: if req.get_str(3) == Some("200000") {
                            "refund"
                        } else {
                            "sale"
                        }
                        .into(),
                        amount_minor: req.get_str(4).and_then(|a| a.parse().ok()).unwrap_or(0),
                        masked_pan: String::new(),
                        card: String::new(),
                        response_code: "00".into(),
                        reference,
                        auth_code: String::new(),
                        reversed: false,
                        voided: false,
                        refunded_minor: 0,
                        original: None,
                    });
                }
                "00".into()
            }
            _ => "30".into(),
        }
    }
}
