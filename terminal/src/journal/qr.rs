//! Journal writes of QR payments: the same `txns` table as card transactions (so queries by
//! order id, statements and totals see both), with `method`, `wallet` and the pay call's time.
//! QR payments draw their trace from the card counter (6 digits, unique in the batch); the
//! gateway knows them by terminal id + batch + trace.

use crate::journal::{Journal, JournalEntry, JournalError, TxnState};
use rusqlite::params;
use smartpos_core::payment::Outcome;
use smartpos_core::qr::machine::QrWrite;

impl Journal {
    /// Makes one QR write durable (one SQLite transaction). `voids` marks the original of an
    /// approved QR void as voided in the same commit.
    pub fn apply_qr(
        &mut self,
        write: &QrWrite,
        voids: Option<(u32, u32)>,
    ) -> Result<(), JournalError> {
        self.write(|tx, _| {
        let missing = |batch: u32, trace: u32| JournalError::Missing { batch, trace };
        match write {
            QrWrite::Created {
                start,
                method,
                wallet,
            } => {
                let time = serde_json::to_string(&start.time)
                    .map_err(|e| JournalError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO txns (caller, order_id, kind, amount_minor, currency, trace, batch, started_at, state, time_json, method, wallet, reference)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'created', ?9, ?10, ?11, ?12)",
                    params![
                        start.caller,
                        start.order_id,
                        start.kind.name(),
                        start.amount.minor() as i64,
                        start.amount.currency().code(),
                        start.trace,
                        start.batch,
                        start.time.to_string(),
                        time,
                        method.name(),
                        wallet.map(|w| w.name()),
                        start.original,
                    ],
                )?;
                // The trace came from the shared counter: move it on in the same commit.
                crate::journal::trace_used(tx, start.trace, start.batch)?;
            }
            QrWrite::Sending {
                trace,
                batch,
                at_ms,
            } => {
                let n = tx.execute(
                    "UPDATE txns SET state = 'sent', pay_called_at_ms = ?3 WHERE batch = ?1 AND trace = ?2",
                    params![batch, trace, *at_ms as i64],
                )?;
                if n != 1 {
                    return Err(missing(*batch, *trace));
                }
            }
            QrWrite::Outcome {
                trace,
                batch,
                result,
            } => {
                if let (Some((ob, ot)), Outcome::Approved) = (voids, &result.outcome) {
                    tx.execute(
                        "UPDATE txns SET state = 'voided' WHERE batch = ?1 AND trace = ?2 AND state = 'approved'",
                        params![ob, ot],
                    )?;
                }
                let state = match &result.outcome {
                    Outcome::Approved => TxnState::Approved,
                    Outcome::Declined(_) => TxnState::Declined,
                    Outcome::Unknown { .. } => TxnState::Unknown,
                };
                let code = match &result.outcome {
                    Outcome::Declined(smartpos_core::payment::Declined::Host { code, .. }) => {
                        Some(code.clone())
                    }
                    _ => None,
                };
                let json = serde_json::to_string(result)
                    .map_err(|e| JournalError::Corrupt(e.to_string()))?;
                let n = tx.execute(
                    "UPDATE txns SET state = ?3, result_json = ?4, reference = COALESCE(?5, reference),
                       wallet = COALESCE(?6, wallet), response_code = ?7
                     WHERE batch = ?1 AND trace = ?2",
                    params![
                        batch,
                        trace,
                        state.as_str(),
                        json,
                        result.reference,
                        result.wallet.map(|w| w.name()),
                        code
                    ],
                )?;
                if n != 1 {
                    return Err(missing(*batch, *trace));
                }
            }
        }
        Ok(())
        })
    }

    /// QR payments whose outcome is not final yet (sent or unknown), oldest first: what a
    /// restart or a query resolves with the gateway.
    pub fn qr_unresolved(&self) -> Result<Vec<JournalEntry>, JournalError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.method != "card" && matches!(e.state, TxnState::Sent | TxnState::Unknown))
            .collect())
    }
}
