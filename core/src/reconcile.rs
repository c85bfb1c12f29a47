//! Reconciliation data: batch totals, per-app statements, and the end-of-day comparison of the
//! terminal journal with the acquirer's settlement file.

use crate::batch::{JournalEntry, TxnState};
use crate::payment::TransactionType;
use serde::{Deserialize, Serialize};

/// Payment channel of a journal entry: `card`, or `qr:` + the wallet (`qr:wechat`,
/// `qr:alipay`, `qr:unionpay`; `qr` while the wallet is not known yet). Totals group by it, so a
/// batch report carries QR totals per wallet.
pub fn channel(entry: &JournalEntry) -> String {
    if entry.method == "card" {
        return "card".into();
    }
    match &entry.wallet {
        Some(w) => format!("qr:{w}"),
        None => "qr".into(),
    }
}

/// One line of batch totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotalsLine {
    /// Transaction type.
    pub kind: String,
    /// `card` or `qr:<wallet>` (see [`channel`]).
    pub channel: String,
    /// Currency.
    pub currency: String,
    /// Approved count.
    pub count: u32,
    /// Approved amount, minor units.
    pub amount_minor: u64,
}

/// Totals of one batch: approved transactions by type and channel, and what is still unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchTotals {
    /// Batch number.
    pub batch: u32,
    /// Approved, by type, channel and currency.
    pub lines: Vec<TotalsLine>,
    /// Transactions whose outcome is still unknown (reversal pending or exhausted).
    pub unknown_count: u32,
    /// Their amount, minor units.
    pub unknown_amount_minor: u64,
}

/// Totals of `batch` from the journal entries.
pub fn batch_totals(entries: &[JournalEntry], batch: u32) -> BatchTotals {
    let mut lines: Vec<TotalsLine> = Vec::new();
    let (mut unknown_count, mut unknown_amount_minor) = (0, 0);
    let money = |e: &&JournalEntry| TransactionType::name_moves_money(&e.kind);
    for e in entries.iter().filter(|e| e.batch == batch).filter(money) {
        match e.state {
            TxnState::Approved | TxnState::Settled => {
                let ch = channel(e);
                match lines
                    .iter_mut()
                    .find(|l| l.kind == e.kind && l.channel == ch && l.currency == e.currency)
                {
                    Some(l) => {
                        l.count += 1;
                        l.amount_minor += e.amount_minor;
                    }
                    None => lines.push(TotalsLine {
                        kind: e.kind.clone(),
                        channel: ch,
                        currency: e.currency.clone(),
                        count: 1,
                        amount_minor: e.amount_minor,
                    }),
                }
            }
            TxnState::Unknown | TxnState::Sent => {
                unknown_count += 1;
                unknown_amount_minor += e.amount_minor;
            }
            _ => {}
        }
    }
    BatchTotals {
        batch,
        lines,
        unknown_count,
        unknown_amount_minor,
    }
}

/// One line of an app's statement. Card numbers are masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// Merchant order id.
    pub order_id: String,
    /// Type.
    pub kind: String,
    /// `card` or `qr`.
    pub channel: String,
    /// Amount, minor units.
    pub amount_minor: u64,
    /// Currency.
    pub currency: String,
    /// Journal state (approved, declined, unknown, reversed, ...).
    pub state: String,
    /// Masked PAN.
    pub masked_pan: String,
    /// Retrieval reference.
    pub reference: String,
    /// Authorization code.
    pub auth_code: String,
    /// Batch.
    pub batch: u32,
    /// Trace.
    pub trace: u32,
}

/// The statement of one calling app: only its own transactions.
pub fn statement(entries: &[JournalEntry], caller: &str) -> Vec<StatementLine> {
    entries
        .iter()
        .filter(|e| e.caller == caller)
        .map(|e| StatementLine {
            order_id: e.order_id.clone(),
            kind: e.kind.clone(),
            channel: channel(e),
            amount_minor: e.amount_minor,
            currency: e.currency.clone(),
            state: serde_json::to_value(e.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            masked_pan: e.masked_pan.clone().unwrap_or_default(),
            reference: e
                .result
                .as_ref()
                .and_then(|r| r.reference.clone())
                .unwrap_or_default(),
            auth_code: e
                .result
                .as_ref()
                .and_then(|r| r.auth_code.clone())
                .unwrap_or_default(),
            batch: e.batch,
            trace: e.trace,
        })
        .collect()
}

fn csv_field(s: &str) -> String {
    // Quote every field; double inner quotes; neutralise spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The statement as CSV with a header row.
///
/// ```
/// let csv = smartpos_core::reconcile::statement_csv(&[]);
/// assert!(csv.starts_with("order_id,kind,channel,amount_minor"));
/// ```
pub fn statement_csv(lines: &[StatementLine]) -> String {
    let mut out = String::from("order_id,kind,channel,amount_minor,currency,state,masked_pan,reference,auth_code,batch,trace\n");
    for l in lines {
        let row = [
            csv_field(&l.order_id),
            csv_field(&l.kind),
            csv_field(&l.channel),
            l.amount_minor.to_string(),
            csv_field(&l.currency),
            csv_field(&l.state),
            csv_field(&l.masked_pan),
            csv_field(&l.reference),
            csv_field(&l.auth_code),
            format!("{:06}", l.batch),
            format!("{:06}", l.trace),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// One line of the acquirer's settlement file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementLine {
    /// Terminal id.
    pub terminal_id: String,
    /// Batch.
    pub batch: u32,
    /// Trace.
    pub trace: u32,
    /// Retrieval reference.
    pub reference: String,
    /// Type.
    pub kind: String,
    /// Amount, minor units.
    pub amount_minor: u64,
    /// `approved`, `declined` or `reversed`.
    pub status: String,
}

/// A transaction known on one side only, or with different amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// Batch.
    pub batch: u32,
    /// Trace.
    pub trace: u32,
    /// Terminal's amount (charged view), if any.
    pub terminal_amount_minor: Option<u64>,
    /// Acquirer's amount (charged view), if any.
    pub host_amount_minor: Option<u64>,
    /// Terminal's journal state, if it has the transaction.
    pub terminal_state: Option<String>,
}

/// The end-of-day comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Comparison {
    /// Charged on both sides with the same amount.
    pub matched: u32,
    /// Approved at the terminal, not charged at the acquirer.
    pub missing_at_host: Vec<Discrepancy>,
    /// Charged at the acquirer, not approved at the terminal (e.g. an unknown whose reversal never got through).
    pub missing_at_terminal: Vec<Discrepancy>,
    /// Charged on both sides with different amounts.
    pub amount_mismatches: Vec<Discrepancy>,
}

impl Comparison {
    /// Whether both sides agree.
    pub fn balanced(&self) -> bool {
        self.missing_at_host.is_empty()
            && self.missing_at_terminal.is_empty()
            && self.amount_mismatches.is_empty()
    }
}

/// Compares the terminal's charged transactions with the acquirer's for one terminal.
pub fn compare(
    entries: &[JournalEntry],
    settlement: &[SettlementLine],
    terminal_id: &str,
) -> Comparison {
    let mut c = Comparison::default();
    let host: Vec<&SettlementLine> = settlement
        .iter()
        .filter(|l| l.terminal_id == terminal_id && l.status == "approved")
        .collect();
    let state_name = |e: &JournalEntry| {
        serde_json::to_value(e.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    };
    // The card settlement file knows card transactions only; QR is reconciled with the gateway.
    for e in entries
        .iter()
        .filter(|e| TransactionType::name_moves_money(&e.kind) && e.method == "card")
    {
        let h = host
            .iter()
            .find(|l| l.batch == e.batch && l.trace == e.trace);
        // Settled is approved and closed with the acquirer: still charged.
        let approved = e.state.is_charged();
        let d = |h: Option<&&SettlementLine>| Discrepancy {
            batch: e.batch,
            trace: e.trace,
            terminal_amount_minor: approved.then_some(e.amount_minor),
            host_amount_minor: h.map(|l| l.amount_minor),
            terminal_state: state_name(e),
        };
        match (approved, h) {
            (true, Some(l)) if l.amount_minor == e.amount_minor => c.matched += 1,
            (true, Some(_)) => c.amount_mismatches.push(d(h)),
            (true, None) => c.missing_at_host.push(d(None)),
            (false, Some(_)) => c.missing_at_terminal.push(d(h)),
            (false, None) => {}
        }
    }
    for l in host {
        if !entries
            .iter()
            .any(|e| e.batch == l.batch && e.trace == l.trace)
        {
            c.missing_at_terminal.push(Discrepancy {
                batch: l.batch,
                trace: l.trace,
                terminal_amount_minor: None,
                host_amount_minor: Some(l.amount_minor),
                terminal_state: None,
            });
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(caller: &str, trace: u32, state: TxnState, amount: u64) -> JournalEntry {
        JournalEntry {
            caller: caller.into(),
            order_id: format!("O-{trace}"),
            kind: "sale".into(),
            amount_minor: amount,
            currency: "CNY".into(),
            trace,
            batch: 1,
            state,
            masked_pan: Some("622202*********0123".into()),
            response_code: None,
            result: None,
            reversal_pending: false,
            reversal_exhausted: false,
            method: "card".into(),
            wallet: None,
            pay_called_at_ms: None,
            reference: None,
        }
    }

    fn line(trace: u32, amount: u64, status: &str) -> SettlementLine {
        SettlementLine {
            terminal_id: "T1".into(),
            batch: 1,
            trace,
            reference: format!("{trace:012}"),
            kind: "sale".into(),
            amount_minor: amount,
            status: status.into(),
        }
    }

    #[test]
    fn compare_lists_each_kind_of_difference() {
        let entries = vec![
            entry("a", 1, TxnState::Approved, 100),
            entry("a", 2, TxnState::Approved, 200),
            entry("a", 3, TxnState::Unknown, 300),
            entry("b", 4, TxnState::Approved, 400),
            entry("b", 5, TxnState::Reversed, 500),
        ];
        let host = vec![
            line(1, 100, "approved"),
            line(3, 300, "approved"),
            line(4, 401, "approved"),
            line(5, 500, "reversed"),
            line(6, 600, "approved"),
        ];
        let c = compare(&entries, &host, "T1");
        assert_eq!(c.matched, 1);
        assert_eq!(
            c.missing_at_host
                .iter()
                .map(|d| d.trace)
                .collect::<Vec<_>>(),
            vec![2]
        );
        assert_eq!(
            c.missing_at_terminal
                .iter()
                .map(|d| d.trace)
                .collect::<Vec<_>>(),
            vec![3, 6]
        );
        assert_eq!(
            c.amount_mismatches
                .iter()
                .map(|d| d.trace)
                .collect::<Vec<_>>(),
            vec![4]
        );
        assert!(!c.balanced());
    }

    #[test]
    fn settled_sales_are_charged_before_and_after_settlement() {
        let host = vec![line(1, 100, "approved"), line(2, 200, "approved")];
        for state in [TxnState::Approved, TxnState::Settled] {
            let entries = vec![entry("a", 1, state, 100), entry("a", 2, state, 200)];
            let c = compare(&entries, &host, "T1");
            assert!(c.balanced(), "{state:?}: {c:?}");
            assert_eq!(c.matched, 2);
            assert_eq!(batch_totals(&entries, 1).lines[0].amount_minor, 300);
        }
    }

    #[test]
    fn totals_and_statements() {
        let entries = vec![
            entry("a", 1, TxnState::Approved, 100),
            entry("a", 2, TxnState::Approved, 200),
            entry("a", 3, TxnState::Unknown, 300),
            entry("b", 4, TxnState::Declined, 400),
        ];
        let t = batch_totals(&entries, 1);
        assert_eq!(
            t.lines,
            vec![TotalsLine {
                kind: "sale".into(),
                channel: "card".into(),
                currency: "CNY".into(),
                count: 2,
                amount_minor: 300
            }]
        );
        assert_eq!((t.unknown_count, t.unknown_amount_minor), (1, 300));
        let s = statement(&entries, "b");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].state, "declined");
        let csv = statement_csv(&s);
        assert!(csv.contains("\"622202*********0123\""));
        let evil = StatementLine {
            order_id: "=HYPERLINK(\"x\")".into(),
            ..s[0].clone()
        };
        assert!(statement_csv(&[evil]).contains("\"'=HYPERLINK(\"\"x\"\")\""));
    }
}
