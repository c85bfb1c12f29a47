//! Advices the host is owed after chip transactions (script results, TC upload): kept in their
//! own table, written in the commit of the transaction's outcome, sent store-and-forward.
//!
//! The table is not sealed: an advice carries no money and no card number, and one sent twice
//! is harmless (the host keys it by the transaction's batch and trace).

use super::{Journal, JournalError};
use rusqlite::params;
use smartpos_core::engine::{AdviceKind, PendingAdvice, MAX_ADVICE_ATTEMPTS};

/// Created on open, on journals of any earlier version too.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS advices (
  id INTEGER PRIMARY KEY,
  batch INTEGER NOT NULL,
  trace INTEGER NOT NULL,
  kind TEXT NOT NULL,
  message BLOB NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  UNIQUE (batch, trace, kind)
);
";

/// Records a transaction's advices (inside its outcome's commit).
pub(super) fn record(
    tx: &rusqlite::Transaction<'_>,
    batch: u32,
    trace: u32,
    advices: &[(AdviceKind, Vec<u8>)],
) -> Result<(), JournalError> {
    for (kind, message) in advices {
        tx.execute(
            "INSERT OR REPLACE INTO advices (batch, trace, kind, message) VALUES (?1, ?2, ?3, ?4)",
            params![batch, trace, kind.as_str(), message],
        )?;
    }
    Ok(())
}

/// Counts a failed attempt (`gave_up`: no more).
pub(super) fn attempt(
    tx: &rusqlite::Transaction<'_>,
    batch: u32,
    trace: u32,
    kind: AdviceKind,
    gave_up: bool,
) -> Result<(), JournalError> {
    tx.execute(
        "UPDATE advices SET attempts = attempts + 1,
           state = CASE WHEN ?4 THEN 'given_up' ELSE state END
         WHERE batch = ?1 AND trace = ?2 AND kind = ?3",
        params![batch, trace, kind.as_str(), gave_up],
    )?;
    Ok(())
}

/// The host acknowledged it.
pub(super) fn done(
    tx: &rusqlite::Transaction<'_>,
    batch: u32,
    trace: u32,
    kind: AdviceKind,
) -> Result<(), JournalError> {
    tx.execute(
        "UPDATE advices SET state = 'delivered' WHERE batch = ?1 AND trace = ?2 AND kind = ?3",
        params![batch, trace, kind.as_str()],
    )?;
    Ok(())
}

impl Journal {
    /// Advices still to send, oldest first.
    pub fn pending_advices(&self) -> Result<Vec<PendingAdvice>, JournalError> {
        let mut stmt = self.conn.prepare(
            "SELECT batch, trace, kind, message, attempts FROM advices
             WHERE state = 'pending' AND attempts < ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([MAX_ADVICE_ATTEMPTS], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, u32>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (batch, trace, kind, message, attempts) = row?;
            let Some(kind) = AdviceKind::parse(&kind) else {
                continue; // written by a later version: left for it
            };
            out.push(PendingAdvice {
                batch,
                trace,
                kind,
                message,
                attempts,
            });
        }
        Ok(out)
    }
}
