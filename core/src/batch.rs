//! The batch journal's records as data: a transaction's persisted state and the entry the
//! journal hands back. The journal itself (SQLite, sealed and anchored) is an adapter in
//! `smartpos-terminal`; reconciliation and the handoff processor read these types only.

use crate::payment::PaymentResult;

/// Persisted state of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnState {
    /// Recorded, nothing sent yet.
    Created,
    /// Sent (or about to be); the reversal is armed.
    Sent,
    /// Approved.
    Approved,
    /// Declined or not sent.
    Declined,
    /// Outcome unknown; reversal pending (or exhausted, see `reversal_exhausted`).
    Unknown,
    /// Reversed by the terminal: not charged.
    Reversed,
    /// An approved sale voided later in the same batch: not charged.
    Voided,
    /// Approved and settled with the acquirer (batch closed).
    Settled,
}

impl TxnState {
    /// Whether the customer is charged (approved, or approved and settled).
    pub fn is_charged(self) -> bool {
        matches!(self, TxnState::Approved | TxnState::Settled)
    }

    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnState::Created => "created",
            TxnState::Sent => "sent",
            TxnState::Approved => "approved",
            TxnState::Declined => "declined",
            TxnState::Unknown => "unknown",
            TxnState::Reversed => "reversed",
            TxnState::Voided => "voided",
            TxnState::Settled => "settled",
        }
    }
    /// From the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => TxnState::Created,
            "sent" => TxnState::Sent,
            "approved" => TxnState::Approved,
            "declined" => TxnState::Declined,
            "unknown" => TxnState::Unknown,
            "reversed" => TxnState::Reversed,
            "voided" => TxnState::Voided,
            "settled" => TxnState::Settled,
            _ => return None,
        })
    }
}

/// One transaction as the journal holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JournalEntry {
    /// Calling app.
    pub caller: String,
    /// Merchant order id.
    pub order_id: String,
    /// Type name.
    pub kind: String,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// Currency code.
    pub currency: String,
    /// Trace.
    pub trace: u32,
    /// Batch.
    pub batch: u32,
    /// State.
    pub state: TxnState,
    /// Masked PAN.
    pub masked_pan: Option<String>,
    /// Host response code.
    pub response_code: Option<String>,
    /// The result handed back, once known.
    pub result: Option<PaymentResult>,
    /// Whether a reversal is waiting to be sent.
    pub reversal_pending: bool,
    /// Whether the reversal ran out of retries: the outcome stays unknown for reconciliation.
    pub reversal_exhausted: bool,
    /// `card`, `qr_scan` or `qr_display`.
    pub method: String,
    /// The wallet of a QR payment.
    pub wallet: Option<String>,
    /// QR: when the pay (or precreate) call went out, Unix ms.
    pub pay_called_at_ms: Option<u64>,
    /// Retrieval reference (card), gateway transaction id (QR sale), or the original's order
    /// (QR void and refund).
    pub reference: Option<String>,
}
