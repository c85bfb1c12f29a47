//! The durable batch journal: SQLite (WAL, `synchronous=FULL`) through rusqlite.
//!
//! Each [`JournalWrite`] from the engine is one SQLite transaction, committed (and fsynced)
//! before the engine is told it is durable. PANs are stored masked; the armed reversal
//! message is a host message and carries the PAN as the host needs it.

use crate::engine::{JournalWrite, TxnStart};
use crate::payment::{Outcome, PaymentResult};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// A journal failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// SQLite refused.
    #[error("journal storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored result could not be read back.
    #[error("journal record is corrupt: {0}")]
    Corrupt(String),
    /// The write refers to a transaction the journal does not hold.
    #[error("no journal record for batch {batch} trace {trace}")]
    Missing {
        /// Batch.
        batch: u32,
        /// Trace.
        trace: u32,
    },
}

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
    pub(crate) fn as_str(self) -> &'static str {
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
    fn parse(s: &str) -> Option<Self> {
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

struct InterruptedRow {
    id: i64,
    state: String,
    order_id: String,
    kind: String,
    minor: i64,
    currency: String,
    trace: u32,
    batch: u32,
    masked_pan: Option<String>,
    time_json: Option<String>,
    method: String,
    wallet: Option<String>,
}

/// How many times a reversal is tried before it is left for reconciliation.
pub const MAX_REVERSAL_ATTEMPTS: u32 = 3;

/// What recovery at start found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recovery {
    /// Transactions interrupted before anything was sent: now declined (not charged).
    pub interrupted_before_send: u32,
    /// Transactions interrupted after the request may have left: now unknown, reversal pending.
    pub interrupted_after_send: u32,
}

/// The journal.
pub struct Journal {
    pub(crate) conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS counters (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next_trace INTEGER NOT NULL,
  batch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS txns (
  id INTEGER PRIMARY KEY,
  caller TEXT NOT NULL,
  order_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,
  currency TEXT NOT NULL,
  trace INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  state TEXT NOT NULL,
  masked_pan TEXT,
  response_code TEXT,
  result_json TEXT,
  reversal BLOB,
  reversal_state TEXT NOT NULL DEFAULT 'none',
  reversal_reason TEXT,
  reversal_attempts INTEGER NOT NULL DEFAULT 0,
  time_json TEXT,
  reference TEXT,
  UNIQUE (batch, trace)
);
CREATE INDEX IF NOT EXISTS txns_by_order ON txns (caller, order_id);
CREATE TABLE IF NOT EXISTS nonces (
  caller TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (caller, nonce)
);
";

impl Journal {
    /// Opens (or creates) the journal at `path`.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let j = smartpos_core::journal::Journal::open(&dir.path().join("journal.db")).unwrap();
    /// assert_eq!(j.counters().unwrap(), (1, 0));
    /// ```
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        // Columns added after the first schema (QR payments): added in place when missing.
        let have: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('txns')")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for (name, decl) in [
            ("method", "TEXT NOT NULL DEFAULT 'card'"),
            ("wallet", "TEXT"),
            ("pay_called_at_ms", "INTEGER"),
        ] {
            if !have.iter().any(|h| h == name) {
                conn.execute_batch(&format!("ALTER TABLE txns ADD COLUMN {name} {decl}"))?;
            }
        }
        Ok(Journal { conn })
    }

    /// `(next_trace, batch)`: never below a trace already used in the journal.
    pub fn counters(&self) -> Result<(u32, u32), JournalError> {
        let stored: Option<(u32, u32)> = self
            .conn
            .query_row(
                "SELECT next_trace, batch FROM counters WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (mut next, batch) = stored.unwrap_or((1, 0));
        let max_used: Option<u32> = self.conn.query_row(
            "SELECT MAX(trace) FROM txns WHERE batch = ?1",
            [batch],
            |r| r.get(0),
        )?;
        if let Some(m) = max_used {
            if m >= next && m < 999_999 {
                next = m + 1;
            }
        }
        Ok((next, batch))
    }

    /// Applies one engine write as one committed SQLite transaction.
    pub fn apply(&mut self, write: &JournalWrite) -> Result<(), JournalError> {
        let tx = self.conn.transaction()?;
        match write {
            JournalWrite::Counters { next_trace, batch } => {
                tx.execute(
                    "INSERT INTO counters (id, next_trace, batch) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET next_trace = ?1, batch = ?2",
                    params![next_trace, batch],
                )?;
            }
            JournalWrite::Created(TxnStart {
                caller,
                order_id,
                kind,
                amount,
                trace,
                batch,
                time,
            }) => {
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
                let next = if *trace >= 999_999 { 1 } else { trace + 1 };
                tx.execute(
                    "INSERT INTO counters (id, next_trace, batch) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET next_trace = ?1",
                    params![next, batch],
                )?;
            }
            JournalWrite::Sending {
                trace,
                batch,
                masked_pan,
                reversal,
            } => {
                let n = tx.execute(
                    "UPDATE txns SET state = 'sent', masked_pan = ?3, reversal = ?4,
                       reversal_state = CASE WHEN ?4 IS NULL THEN 'none' ELSE 'armed' END, reversal_reason = '98'
                     WHERE batch = ?1 AND trace = ?2",
                    params![batch, trace, masked_pan, reversal],
                )?;
                if n != 1 {
                    return Err(JournalError::Missing {
                        batch: *batch,
                        trace: *trace,
                    });
                }
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
                tx.execute(
                    "INSERT INTO counters (id, next_trace, batch) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET next_trace = ?1, batch = ?2",
                    params![next_trace, next_batch],
                )?;
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
                        r.outcome = Outcome::Declined(crate::payment::Declined::Reversed);
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
                result,
                response_code,
                voids,
            } => {
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
                let (state, rev_state, reason) = match &result.outcome {
                    Outcome::Approved => (TxnState::Approved, "none", None),
                    Outcome::Declined(_) => (TxnState::Declined, "none", None),
                    Outcome::Unknown { reason } => {
                        (TxnState::Unknown, "pending", Some(reason.reversal_code()))
                    }
                };
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
        tx.commit()?;
        Ok(())
    }

    fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(JournalEntry, String, Option<String>)> {
        let state: String = r.get(7)?;
        Ok((
            JournalEntry {
                caller: r.get(0)?,
                order_id: r.get(1)?,
                kind: r.get(2)?,
                amount_minor: r.get::<_, i64>(3)? as u64,
                currency: r.get(4)?,
                trace: r.get(5)?,
                batch: r.get(6)?,
                state: TxnState::Created,
                masked_pan: r.get(8)?,
                response_code: r.get(9)?,
                result: None,
                reversal_pending: r.get::<_, String>(11)? == "pending"
                    && r.get::<_, u32>(12)? < MAX_REVERSAL_ATTEMPTS,
                reversal_exhausted: r.get::<_, String>(11)? == "exhausted"
                    || (r.get::<_, String>(11)? == "pending"
                        && r.get::<_, u32>(12)? >= MAX_REVERSAL_ATTEMPTS),
                method: r.get(13)?,
                wallet: r.get(14)?,
                pay_called_at_ms: r.get::<_, Option<i64>>(15)?.map(|v| v as u64),
                reference: r.get(16)?,
            },
            state,
            r.get(10)?,
        ))
    }

    fn finish(raw: (JournalEntry, String, Option<String>)) -> Result<JournalEntry, JournalError> {
        let (mut e, state, json) = raw;
        e.state = TxnState::parse(&state)
            .ok_or_else(|| JournalError::Corrupt(format!("state {state:?}")))?;
        e.result = match json {
            Some(j) => Some(
                serde_json::from_str(&j).map_err(|err| JournalError::Corrupt(err.to_string()))?,
            ),
            None => None,
        };
        Ok(e)
    }

    const COLUMNS: &'static str = "caller, order_id, kind, amount_minor, currency, trace, batch, state, masked_pan, response_code, result_json, reversal_state, reversal_attempts, method, wallet, pay_called_at_ms, reference";

    /// Reversals to send, oldest first (pending and under the retry limit).
    pub fn pending_reversals(&self) -> Result<Vec<crate::engine::PendingReversal>, JournalError> {
        let mut stmt = self.conn.prepare(
            "SELECT trace, batch, reversal, COALESCE(reversal_reason, '98'), reversal_attempts FROM txns
             WHERE reversal_state = 'pending' AND reversal IS NOT NULL AND reversal_attempts < ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([MAX_REVERSAL_ATTEMPTS], |r| {
            Ok(crate::engine::PendingReversal {
                trace: r.get(0)?,
                batch: r.get(1)?,
                message: r.get(2)?,
                reason: r.get(3)?,
                attempts: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// At start: settles transactions a crash interrupted. `created` (nothing sent) becomes
    /// declined; `sent` (the request may have left) becomes unknown with its reversal pending.
    pub fn recover_interrupted(
        &mut self,
        who: &crate::engine::TerminalIdentity,
    ) -> Result<Recovery, JournalError> {
        let tx = self.conn.transaction()?;
        let mut rec = Recovery::default();
        let rows: Vec<InterruptedRow> = {
            let mut stmt = tx.prepare(
                "SELECT id, state, order_id, kind, amount_minor, currency, trace, batch, masked_pan, time_json, method, wallet
                 FROM txns WHERE state IN ('created', 'sent')",
            )?;
            let mapped = stmt.query_map([], |r| {
                Ok(InterruptedRow {
                    id: r.get(0)?,
                    state: r.get(1)?,
                    order_id: r.get(2)?,
                    kind: r.get(3)?,
                    minor: r.get(4)?,
                    currency: r.get(5)?,
                    trace: r.get(6)?,
                    batch: r.get(7)?,
                    masked_pan: r.get(8)?,
                    time_json: r.get(9)?,
                    method: r.get(10)?,
                    wallet: r.get(11)?,
                })
            })?;
            mapped.collect::<Result<_, _>>()?
        };
        for InterruptedRow {
            id,
            state,
            order_id,
            kind,
            minor,
            currency,
            trace,
            batch,
            masked_pan,
            time_json,
            method,
            wallet,
        } in rows
        {
            let corrupt = |what: &str| JournalError::Corrupt(format!("row {id}: {what}"));
            let currency =
                crate::money::Currency::from_code(&currency).ok_or_else(|| corrupt("currency"))?;
            let amount = crate::money::Money::from_stored(minor as u64, currency)
                .map_err(|_| corrupt("amount"))?;
            let kind =
                crate::payment::TransactionType::parse(&kind).ok_or_else(|| corrupt("type"))?;
            let time = time_json
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(crate::time::LocalTime::from_unix(0, 0));
            let before_send = state == "created";
            // An inquiry that moves no money has nothing to resolve once sent: it ends declined.
            let inquiry_sent = !before_send && !kind.moves_money();
            let outcome = if before_send {
                Outcome::Declined(crate::payment::Declined::Interrupted)
            } else if inquiry_sent {
                Outcome::Declined(crate::payment::Declined::NoUsableAnswer {
                    reason: crate::payment::UnknownReason::NoResponse,
                })
            } else {
                Outcome::Unknown {
                    reason: crate::payment::UnknownReason::NoResponse,
                }
            };
            let result = PaymentResult {
                order_id,
                kind,
                amount,
                outcome,
                masked_pan,
                auth_code: None,
                reference: None,
                trace,
                batch,
                terminal_id: who.terminal_id.clone(),
                merchant_id: who.merchant_id.clone(),
                time,
                balance: None,
                method: crate::qr::PaymentMethod::parse(&method).unwrap_or_default(),
                wallet: wallet.as_deref().and_then(crate::qr::Wallet::parse),
            };
            let json =
                serde_json::to_string(&result).map_err(|e| JournalError::Corrupt(e.to_string()))?;
            if before_send || inquiry_sent {
                if before_send {
                    rec.interrupted_before_send += 1;
                } else {
                    rec.interrupted_after_send += 1;
                }
                tx.execute(
                    "UPDATE txns SET state = 'declined', result_json = ?2 WHERE id = ?1",
                    params![id, json],
                )?;
            } else {
                rec.interrupted_after_send += 1;
                tx.execute(
                    "UPDATE txns SET state = 'unknown', result_json = ?2,
                       reversal_state = CASE WHEN reversal IS NULL THEN 'none' ELSE 'pending' END,
                       reversal_reason = '98'
                     WHERE id = ?1",
                    params![id, json],
                )?;
            }
        }
        tx.commit()?;
        Ok(rec)
    }

    /// Totals and upload items of a batch for settlement: approved sales are debits, approved
    /// refunds credits; voided sales and voids cancel out and are left out.
    pub fn settlement_input(
        &self,
        batch: u32,
    ) -> Result<crate::engine::SettlementInput, JournalError> {
        let mut input = crate::engine::SettlementInput::default();
        for e in self
            .entries()?
            .into_iter()
            .filter(|e| e.batch == batch && e.state == TxnState::Approved && e.method == "card")
        {
            let code = match e.kind.as_str() {
                "sale" | "preauth_complete" => {
                    input.debit_count += 1;
                    input.debit_minor += e.amount_minor;
                    "000000"
                }
                "refund" => {
                    input.credit_count += 1;
                    input.credit_minor += e.amount_minor;
                    "200000"
                }
                _ => continue,
            };
            input.uploads.push(crate::engine::UploadItem {
                trace: e.trace,
                amount_minor: e.amount_minor,
                reference: e
                    .result
                    .as_ref()
                    .and_then(|r| r.reference.clone())
                    .unwrap_or_default(),
                processing_code: code,
            });
        }
        Ok(input)
    }

    /// The transaction of `kind` with this retrieval reference, whatever its state.
    pub fn find_by_reference(
        &self,
        reference: &str,
        kind: crate::payment::TransactionType,
    ) -> Result<Option<JournalEntry>, JournalError> {
        let sql = format!(
            "SELECT {} FROM txns WHERE reference = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
            Self::COLUMNS
        );
        let raw = self
            .conn
            .query_row(&sql, params![reference, kind.name()], Self::entry)
            .optional()?;
        raw.map(Self::finish).transpose()
    }

    /// The latest transaction for a caller's order id.
    pub fn find_by_order(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<JournalEntry>, JournalError> {
        let sql = format!(
            "SELECT {} FROM txns WHERE caller = ?1 AND order_id = ?2 ORDER BY id DESC LIMIT 1",
            Self::COLUMNS
        );
        let raw = self
            .conn
            .query_row(&sql, params![caller, order_id], Self::entry)
            .optional()?;
        raw.map(Self::finish).transpose()
    }

    /// All transactions, oldest first.
    pub fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let sql = format!("SELECT {} FROM txns ORDER BY id", Self::COLUMNS);
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::entry)?;
        rows.map(|r| Self::finish(r?)).collect()
    }
}

impl crate::handoff::NonceStore for Journal {
    fn use_nonce(
        &mut self,
        caller: &str,
        nonce: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, String> {
        let mut run = || -> Result<bool, rusqlite::Error> {
            let tx = self.conn.transaction()?;
            tx.execute("DELETE FROM nonces WHERE expires < ?1", [now])?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO nonces (caller, nonce, expires) VALUES (?1, ?2, ?3)",
                params![caller, nonce, expires],
            )?;
            tx.commit()?;
            Ok(n == 1)
        };
        run().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
    use crate::payment::{TransactionType, UnknownReason};
    use crate::time::LocalTime;

    fn start(trace: u32) -> JournalWrite {
        JournalWrite::Created(TxnStart {
            caller: "com.example.shop".into(),
            order_id: format!("O-{trace}"),
            kind: TransactionType::Sale,
            amount: Money::from_minor(1234, Currency::CNY).unwrap(),
            trace,
            batch: 7,
            time: LocalTime::from_unix(0, 0),
        })
    }

    #[test]
    fn survives_reopen_and_tracks_reversal_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        {
            let mut j = Journal::open(&path).unwrap();
            j.apply(&JournalWrite::Counters {
                next_trace: 5,
                batch: 7,
            })
            .unwrap();
            j.apply(&start(5)).unwrap();
            j.apply(&JournalWrite::Sending {
                trace: 5,
                batch: 7,
                masked_pan: "622202*****0123".into(),
                reversal: Some(vec![1, 2]),
            })
            .unwrap();
        }
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.counters().unwrap(), (6, 7));
        let e = j.find_by_order("com.example.shop", "O-5").unwrap().unwrap();
        assert_eq!(e.state, TxnState::Sent);
        assert!(!e.reversal_pending, "armed is not pending yet");
        let result = PaymentResult {
            order_id: "O-5".into(),
            kind: TransactionType::Sale,
            amount: Money::from_minor(1234, Currency::CNY).unwrap(),
            outcome: Outcome::Unknown {
                reason: UnknownReason::NoResponse,
            },
            masked_pan: Some("622202*****0123".into()),
            auth_code: None,
            reference: None,
            trace: 5,
            batch: 7,
            terminal_id: "T".into(),
            merchant_id: "M".into(),
            time: LocalTime::from_unix(0, 0),
            balance: None,
            method: Default::default(),
            wallet: None,
        };
        j.apply(&JournalWrite::Outcome {
            trace: 5,
            batch: 7,
            result: Box::new(result.clone()),
            response_code: None,
            voids: None,
        })
        .unwrap();
        let e = j.find_by_order("com.example.shop", "O-5").unwrap().unwrap();
        assert_eq!(e.state, TxnState::Unknown);
        assert!(e.reversal_pending);
        assert_eq!(e.result.unwrap(), result);
        assert!(j.find_by_order("com.other", "O-5").unwrap().is_none());
    }

    #[test]
    fn nonces_are_single_use_until_they_expire() {
        use crate::handoff::NonceStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        {
            let mut j = Journal::open(&path).unwrap();
            assert!(j.use_nonce("a", "n1", 100, 50).unwrap());
            assert!(j.use_nonce("b", "n1", 100, 50).unwrap(), "per caller");
        }
        let mut j = Journal::open(&path).unwrap();
        assert!(
            !j.use_nonce("a", "n1", 100, 60).unwrap(),
            "survives restart"
        );
        assert!(
            j.use_nonce("a", "n1", 300, 101).unwrap(),
            "purged after expiry"
        );
    }

    #[test]
    fn outcome_for_unknown_transaction_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let err = j
            .apply(&JournalWrite::Sending {
                trace: 1,
                batch: 1,
                masked_pan: String::new(),
                reversal: None,
            })
            .unwrap_err();
        assert!(matches!(err, JournalError::Missing { batch: 1, trace: 1 }));
    }
}
