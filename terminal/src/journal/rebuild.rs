//! Rebuilding a refused journal from what the bank knows: the operator's path when the
//! terminal refuses its journal (missing, emptied, replaced, rolled back or edited). The
//! refused files are kept beside it as evidence; a new journal generation is started under
//! the terminal's key with every transaction of the acquirer's settlement file for this
//! terminal, and the counters continue after the highest trace the bank has seen.

use super::{lock, seal, DeviceKey, Journal, JournalError, JournalFiles, DEFAULT_OWNER_WAIT};
use rusqlite::{params, OptionalExtension};
use smartpos_core::reconcile::SettlementLine;
use std::path::{Path, PathBuf};

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rebuilt {
    /// Transactions taken from the settlement file.
    pub imported: usize,
    /// The batch the terminal continues in.
    pub batch: u32,
    /// The next trace.
    pub next_trace: u32,
    /// Where the refused files were moved.
    pub kept: Vec<PathBuf>,
}

fn state_of(line: &SettlementLine, current: u32) -> &'static str {
    match line.status.as_str() {
        // The host moves the batch on when it settles: older batches are closed.
        "approved" if line.batch < current => "settled",
        "approved" => "approved",
        "voided" => "voided",
        "reversed" => "reversed",
        _ => "declined",
    }
}

impl Journal {
    /// Starts a new journal at `path` from the acquirer's settlement `lines` of `terminal_id`
    /// (other terminals' lines are ignored). Whatever journal files are there are renamed
    /// `<name>.refused-<unix>` first. Until the batch it continues in is settled, a query for
    /// an order this journal does not hold is answered as unknown, never "not found"
    /// ([`Journal::rebuilt_batch`]).
    pub fn rebuild_from_host(
        path: &Path,
        lines: &[SettlementLine],
        terminal_id: &str,
        currency: &str,
        now_unix: i64,
    ) -> Result<(Journal, Rebuilt), JournalError> {
        let files = JournalFiles::for_db(path);
        let owner = lock::OwnerLock::acquire(&files.lock, DEFAULT_OWNER_WAIT)?;
        let mut kept = Vec::new();
        for f in [
            files.db.clone(),
            path.with_file_name(format!(
                "{}-wal",
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
            path.with_file_name(format!(
                "{}-shm",
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
            files.anchor.clone(),
        ] {
            if f.exists() {
                let mut to = f.clone().into_os_string();
                to.push(format!(".refused-{now_unix}"));
                std::fs::rename(&f, &to).map_err(|e| JournalError::io(&f, e))?;
                kept.push(PathBuf::from(to));
            }
        }
        let (key, generation) = match DeviceKey::load(&files.key)? {
            Some(key) => {
                let generation = super::random_generation()?;
                seal::Anchor {
                    generation: generation.clone(),
                    head: seal::genesis(&key, &generation),
                }
                .write(&files.anchor, &key)?;
                (key, generation)
            }
            None => super::new_identity(&files)?,
        };
        let conn = super::connect(path, true)?;
        let mut journal = Journal {
            conn,
            head: seal::genesis(&key, &generation),
            key,
            generation: generation.clone(),
            anchor_path: files.anchor.clone(),
            _owner: owner,
        };
        journal.migrate(&generation)?;
        let mine: Vec<&SettlementLine> = lines
            .iter()
            .filter(|l| l.terminal_id == terminal_id)
            .collect();
        let batch = mine.iter().map(|l| l.batch).max().unwrap_or(0);
        let last = mine
            .iter()
            .filter(|l| l.batch == batch)
            .map(|l| l.trace)
            .max()
            .unwrap_or(0);
        let next_trace = if last >= 999_999 { 1 } else { last + 1 };
        journal.write(|tx, _| {
            for l in &mine {
                tx.execute(
                    "INSERT INTO txns (caller, order_id, kind, amount_minor, currency, trace, batch, started_at, state, reference, method)
                     VALUES ('', ?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?8, 'card')",
                    params![
                        format!("bank:{:06}{:06}", l.batch, l.trace),
                        l.kind,
                        l.amount_minor as i64,
                        currency,
                        l.trace,
                        l.batch,
                        state_of(l, batch),
                        l.reference
                    ],
                )?;
            }
            super::apply::set_counters(tx, next_trace, batch)?;
            tx.execute(
                "INSERT INTO meta (k, v) VALUES ('rebuilt_batch', ?1)",
                [batch.to_string()],
            )?;
            Ok(())
        })?;
        Ok((
            journal,
            Rebuilt {
                imported: mine.len(),
                batch,
                next_trace,
                kept,
            },
        ))
    }

    /// The batch a rebuild from the bank continued in, if this journal was rebuilt. While the
    /// terminal is still in that batch, orders from before the rebuild cannot be matched by
    /// their order id.
    pub fn rebuilt_batch(&self) -> Result<Option<u32>, JournalError> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT v FROM meta WHERE k = 'rebuilt_batch'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()))
    }
}
