//! Engine writes: each [`JournalWrite`] is one sealed SQLite transaction.

use super::{Journal, JournalError, TxnState};
use rusqlite::{params, OptionalExtension};
use smartpos_core::engine::{JournalWrite, TxnStart};
use smartpos_core::payment::{Outcome, PaymentResult};

/// Sets both counters (sign-in, settlement, rebuild).
pub(crate) fn set_counters(
    tx: &rusqlite::Transaction<'_>,
    next_trace: u32,
    batch: u32,
) -> Result<(), JournalError> {
    tx.execute(
        "INSERT INTO counters (id, next_trace, batch) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET next_trace = ?1, batch = ?2",
        params![next_trace, batch],
    )?;
    Ok(())
}

/// Moves the trace counter past `trace` (card and QR traces share it), in the commit that
/// records the transaction using it.
pub(crate) fn trace_used(
    tx: &rusqlite::Transaction<'_>,
    trace: u32,
    batch: u32,
) -> Result<(), JournalError> {
    let next = if trace >= 999_999 { 1 } else { trace + 1 };
    tx.execute(
        "INSERT INTO counters (id, next_trace, batch) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET next_trace = ?1",
        params![next, batch],
    )?;
    Ok(())
}

/// Records a transaction as it started (state `created`; the write that calls it moves it on in
/// the same commit) and moves the trace counter past its trace.
fn record_start(tx: &rusqlite::Transaction<'_>, start: &TxnStart) -> Result<(), JournalError> {
    let TxnStart {
        caller,
        order_id,
        kind,
        amount,
        trace,
        batch,
        time,
    } = start;
    tx.execute(
        "INSERT INTO txns (caller, order_id, kind, amount_minor, currency, trace, batch, started_at, state, time_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'created', ?9)",
        params![
            caller,
            order_id,
            kind.name(),
            amount.minor() as i64,
            amount.currency().code(),
            trace,
            batch,
            time.to_string(),
            serde_json::to_string(time).map_err(|e| JournalError::Corrupt(e.to_string()))?
        ],
    )?;
    trace_used(tx, *trace, *batch)
}

/// What an armed reversal's encryption is bound to: its transaction.
pub(crate) fn reversal_aad(batch: u32, trace: u32) -> Vec<u8> {
    format!("smartpos-reversal:{batch}:{trace}").into_bytes()
}

impl Journal {
    /// Applies one engine write as one committed SQLite transaction.
    pub fn apply(&mut self, write: &JournalWrite) -> Result<(), JournalError> {
        self.write(|tx, key| {
        match write {
            JournalWrite::Counters { next_trace, batch } => {
                // The host owns the batch and moves it on only when it closes one at
                // settlement: when sign-in brings a later batch, what the terminal still holds
                // as approved in its earlier batch was settled (a lost 0510, a crash after it).
                let before: Option<u32> = tx
                    .query_row("SELECT batch FROM counters WHERE id = 1", [], |r| r.get(0))
                    .optional()?;
                if let Some(old) = before {
                    let later = *batch > old || (old > 999_000 && *batch < 1_000);
                    if later {
                        tx.execute(
                            "UPDATE txns SET state = 'settled' WHERE batch = ?1 AND state = 'approved' AND method = 'card'",
                            params![old],
                        )?;
                    }
                }
                set_counters(tx, *next_trace, *batch)?;
            }
            JournalWrite::Sending {
                start,
                masked_pan,
                reversal,
            } => {
                record_start(tx, start)?;
                // The armed 0400 carries the card number: encrypted at rest, bound to its record.
                let reversal = reversal
                    .as_ref()
                    .map(|m| key.encrypt(&reversal_aad(start.batch, start.trace), m));
                tx.execute(
                    "UPDATE txns SET state = 'sent', masked_pan = ?3, reversal = ?4,
                       reversal_state = CASE WHEN ?4 IS NULL THEN 'none' ELSE 'armed' END, reversal_reason = '98'
                     WHERE batch = ?1 AND trace = ?2",
                    params![start.batch, start.trace, masked_pan, reversal],
                )?;
            }
            JournalWrite::AdviceAttempt {
                batch,
                trace,
                kind,
                gave_up,
            } => super::advices::attempt(tx, *batch, *trace, *kind, *gave_up)?,
            JournalWrite::AdviceDone { batch, trace, kind } => {
                super::advices::done(tx, *batch, *trace, *kind)?
            }
            JournalWrite::ReversalAttempt {
                trace,
                batch,
                gave_up,
            } => {
                let n = tx.execute(
                    "UPDATE txns SET reversal_attempts = reversal_attempts + 1,
                       reversal_state = CASE WHEN ?3 THEN 'exhausted' ELSE reversal_state END
                     WHERE batch = ?1 AND trace = ?2",
                    params![batch, trace, gave_up],
                )?;
                if n != 1 {
                    return Err(JournalError::Missing {
                        batch: *batch,
                        trace: *trace,
                    });
                }
            }
            JournalWrite::BatchSettled {
                batch,
                next_batch,
                next_trace,
            } => {
                tx.execute(
                    "UPDATE txns SET state = 'settled' WHERE batch = ?1 AND state = 'approved' AND method = 'card'",
                    params![batch],
                )?;
                set_counters(tx, *next_trace, *next_batch)?;
            }
            JournalWrite::ReversalDone { trace, batch } => {
                let json: Option<String> = tx
                    .query_row(
                        "SELECT result_json FROM txns WHERE batch = ?1 AND trace = ?2",
                        params![batch, trace],
                        |r| r.get(0),
                    )
                    .optional()?
                    .ok_or(JournalError::Missing {
                        batch: *batch,
                        trace: *trace,
                    })?;
                let json = match json {
                    Some(j) => {
                        let mut r: PaymentResult = serde_json::from_str(&j)
                            .map_err(|e| JournalError::Corrupt(e.to_string()))?;
                        r.outcome = Outcome::Declined(smartpos_core::payment::Declined::Reversed);
                        Some(
                            serde_json::to_string(&r)
                                .map_err(|e| JournalError::Corrupt(e.to_string()))?,
                        )
                    }
                    None => None,
                };
                tx.execute(
                    "UPDATE txns SET state = 'reversed', reversal_state = 'done', result_json = COALESCE(?3, result_json)
                     WHERE batch = ?1 AND trace = ?2",
                    params![batch, trace, json],
                )?;
            }
            JournalWrite::Outcome {
                trace,
                batch,
                start,
                result,
                response_code,
                voids,
                advices,
                reversal,
            } => {
                if let Some(start) = start {
                    record_start(tx, start)?;
                }
                super::advices::record(tx, *batch, *trace, advices)?;
                if let Some(r) = reversal {
                    // Rebuilt with the card's script results: encrypted as the armed one was.
                    let sealed = key.encrypt(&reversal_aad(*batch, *trace), r);
                    tx.execute(
                        "UPDATE txns SET reversal = ?3 WHERE batch = ?1 AND trace = ?2 AND reversal IS NOT NULL",
                        params![batch, trace, sealed],
                    )?;
                }
                if let (Some((ob, ot)), Outcome::Approved) = (voids, &result.outcome) {
                    tx.execute(
                        "UPDATE txns SET state = 'voided' WHERE batch = ?1 AND trace = ?2 AND state = 'approved'",
                        params![ob, ot],
                    )?;
                }
                tx.execute(
                    "UPDATE txns SET reference = ?3 WHERE batch = ?1 AND trace = ?2",
                    params![batch, trace, result.reference],
                )?;
                let state = match &result.outcome {
                    Outcome::Approved => TxnState::Approved,
                    Outcome::Declined(_) => TxnState::Declined,
                    Outcome::Unknown { .. } => TxnState::Unknown,
                };
                let reason = result.outcome.reversal_reason();
                let rev_state = if reason.is_some() { "pending" } else { "none" };
                let json = serde_json::to_string(result)
                    .map_err(|e| JournalError::Corrupt(e.to_string()))?;
                let n = tx.execute(
                    "UPDATE txns SET state = ?3, response_code = ?4, result_json = ?5, masked_pan = COALESCE(?6, masked_pan),
                       reversal_state = CASE WHEN reversal IS NULL THEN 'none' ELSE ?7 END,
                       reversal_reason = COALESCE(?8, reversal_reason)
                     WHERE batch = ?1 AND trace = ?2",
                    params![batch, trace, state.as_str(), response_code, json, result.masked_pan, rev_state, reason],
                )?;
                if n != 1 {
                    return Err(JournalError::Missing {
                        batch: *batch,
                        trace: *trace,
                    });
                }
            }
        }
        Ok(())
        })
    }

    /// Reversals to send, oldest first (pending and under the retry limit), decrypted.
    pub fn pending_reversals(
        &self,
    ) -> Result<Vec<smartpos_core::engine::PendingReversal>, JournalError> {
        let mut stmt = self.conn.prepare(
            "SELECT trace, batch, reversal, COALESCE(reversal_reason, '98'), reversal_attempts FROM txns
             WHERE reversal_state = 'pending' AND reversal IS NOT NULL AND reversal_attempts < ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([super::MAX_REVERSAL_ATTEMPTS], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u32>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (trace, batch, sealed, reason, attempts) = row?;
            let message = self
                .key
                .decrypt(&reversal_aad(batch, trace), &sealed)
                .ok_or_else(|| JournalError::Tampered {
                    detail: format!(
                        "the armed reversal of batch {batch} trace {trace} does not decrypt"
                    ),
                })?;
            out.push(smartpos_core::engine::PendingReversal {
                trace,
                batch,
                message: message.to_vec(),
                reason,
                attempts,
            });
        }
        Ok(out)
    }
}
