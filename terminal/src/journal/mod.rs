//! The durable batch journal: SQLite (WAL, `synchronous=FULL`) through rusqlite, owned by one
//! process at a time, authenticated record by record, and anchored to its terminal.
//!
//! Files beside `<stem>.db` (for `journal.db`: `journal.key`, `journal.anchor`,
//! `journal.lock`):
//! - the **lock** (`lock`): an exclusive OS file lock held while the journal is open, so one
//!   process owns the terminal from the first journal write of a transaction to its end;
//! - the **device key** (`secrets`, mode 0600): authenticates every record (HMAC-SHA256
//!   chain, `seal`) and encrypts the armed reversal, the only record that must keep the card
//!   number (AES-256-GCM);
//! - the **anchor** (`seal::Anchor`): the journal's generation and the head of its record
//!   chain. A missing, emptied, replaced or rolled-back database, or an edited row, is refused
//!   at open with [`JournalError`] naming the files; see `sdk-docs` *Journal integrity*.
//!
//! Each [`JournalWrite`](smartpos_core::engine::JournalWrite) from the engine is one SQLite
//! transaction, committed (and fsynced) before the engine is told it is durable.

mod advices;
mod apply;
mod emv_params;
mod error;
pub mod files;
mod lock;
mod qr;
mod read;
mod rebuild;
mod recover;
mod seal;
pub(crate) mod secrets;

pub(crate) use apply::trace_used;
pub use error::JournalError;
pub use rebuild::Rebuilt;
use rusqlite::{params, Connection, OptionalExtension};
use seal::{Anchor, Head};
use secrets::DeviceKey;
pub use smartpos_core::batch::{JournalEntry, TxnState};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long [`Journal::open`] waits for another owner of the terminal to finish.
pub const DEFAULT_OWNER_WAIT: Duration = Duration::from_secs(30);

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

/// The journal (see the module docs for its files and guarantees).
pub struct Journal {
    pub(crate) conn: Connection,
    key: DeviceKey,
    generation: String,
    head: Head,
    anchor_path: PathBuf,
    _owner: lock::OwnerLock,
}

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// Version 1: the transaction journal as first shipped (QR columns included).
const SCHEMA_V1: &str = "
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

/// Version 2: one row per (app, order); sealed records; the generation.
const SCHEMA_V2: &str = "
DROP INDEX IF EXISTS txns_by_order;
CREATE UNIQUE INDEX IF NOT EXISTS txns_one_per_order ON txns (caller, order_id);
CREATE INDEX IF NOT EXISTS txns_by_reference ON txns (reference);
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settle_requests (
  id INTEGER PRIMARY KEY,
  caller TEXT NOT NULL,
  order_id TEXT NOT NULL,
  batch INTEGER NOT NULL,
  message TEXT NOT NULL,
  UNIQUE (caller, order_id)
);
CREATE TABLE IF NOT EXISTS seals (
  seq INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  row_mac BLOB NOT NULL,
  link BLOB NOT NULL
);
";

/// The files that make up a journal.
#[derive(Debug, Clone)]
pub struct JournalFiles {
    /// The SQLite database.
    pub db: PathBuf,
    /// The device key (0600).
    pub key: PathBuf,
    /// The anchor.
    pub anchor: PathBuf,
    /// The owner lock.
    pub lock: PathBuf,
}

impl JournalFiles {
    /// The files of the journal at `db` (`journal.db` → `journal.key`, `journal.anchor`,
    /// `journal.lock`).
    pub fn for_db(db: &Path) -> Self {
        let stem = db
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "journal".into());
        let side = |ext: &str| db.with_file_name(format!("{stem}.{ext}"));
        JournalFiles {
            db: db.to_path_buf(),
            key: side("key"),
            anchor: side("anchor"),
            lock: side("lock"),
        }
    }
}

fn user_version(conn: &Connection) -> Result<i64, JournalError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

fn has_table(conn: &Connection, name: &str) -> Result<bool, JournalError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn connect(path: &Path, create: bool) -> Result<Connection, JournalError> {
    use rusqlite::OpenFlags;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// A new device key and journal generation. The anchor (sequence 0: "set-up not finished")
/// is written first, then the key file, then (by the caller) the database: a crash in between
/// repeats the set-up instead of leaving a key without an anchor.
fn new_identity(files: &JournalFiles) -> Result<(DeviceKey, String), JournalError> {
    let (key, bytes) = DeviceKey::generate()?;
    let generation = random_generation()?;
    Anchor {
        generation: generation.clone(),
        head: seal::genesis(&key, &generation),
    }
    .write(&files.anchor, &key)?;
    let on_disk = DeviceKey::persist(&files.key, &bytes[..])?;
    if on_disk.mac(&[b"probe"]) != key.mac(&[b"probe"]) {
        // Another key appeared meanwhile (nothing else holds the owner lock, so a leftover):
        // refuse rather than anchor under two keys.
        return Err(JournalError::KeyCorrupt {
            file: files.key.clone(),
        });
    }
    Ok((key, generation))
}

fn random_generation() -> Result<String, JournalError> {
    use ring::rand::SecureRandom;
    let mut g = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut g)
        .map_err(|_| JournalError::Corrupt("no randomness for the journal generation".into()))?;
    Ok(hex::encode(g))
}

impl Journal {
    /// Opens (or, for a new terminal, creates) the journal at `path`, taking ownership of the
    /// terminal (waiting up to [`DEFAULT_OWNER_WAIT`] for another owner) and checking that the
    /// database is this terminal's own, unedited and not rolled back.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let j = smartpos_terminal::journal::Journal::open(&dir.path().join("journal.db")).unwrap();
    /// assert_eq!(j.counters().unwrap(), (1, 0));
    /// ```
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        Self::open_with(path, DEFAULT_OWNER_WAIT)
    }

    /// [`open`](Self::open), waiting at most `wait` for the owner lock ([`JournalError::Busy`]
    /// after that).
    pub fn open_with(path: &Path, wait: Duration) -> Result<Self, JournalError> {
        let files = JournalFiles::for_db(path);
        let owner = lock::OwnerLock::acquire(&files.lock, wait)?;
        let db_has_data = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        let not_this = |why: &str| JournalError::NotThisTerminal {
            db: path.to_path_buf(),
            why: why.to_string(),
        };
        let (key, conn, generation, head) = match DeviceKey::load(&files.key)? {
            None => {
                // No identity yet: a new terminal, or a journal written before records were
                // sealed (adopted once). A sealed journal without its key is refused.
                if db_has_data {
                    let conn = connect(path, false)?;
                    if has_table(&conn, "seals")? {
                        return Err(JournalError::KeyMissing {
                            file: files.key.clone(),
                            db: path.to_path_buf(),
                        });
                    }
                }
                let (key, generation) = new_identity(&files)?;
                let conn = connect(path, true)?;
                (key, conn, generation, None)
            }
            Some(key) => {
                let anchor = Anchor::read(&files.anchor, &key)?.ok_or_else(|| {
                    JournalError::AnchorMissing {
                        file: files.anchor.clone(),
                    }
                })?;
                let setup_unfinished = anchor.head.seq == 0;
                if !db_has_data && !setup_unfinished {
                    return Err(not_this(if path.exists() {
                        "the database file is empty"
                    } else {
                        "the database file is missing"
                    }));
                }
                let conn = connect(path, setup_unfinished)?;
                let fresh = user_version(&conn)? == 0 && !has_table(&conn, "txns")?;
                if fresh && !setup_unfinished {
                    return Err(not_this("the database holds no journal"));
                }
                if !fresh && user_version(&conn)? < SCHEMA_VERSION {
                    return Err(not_this(
                        "the database is from before this terminal's journal was sealed",
                    ));
                }
                let head = if fresh { None } else { Some(anchor.head) };
                (key, conn, anchor.generation, head)
            }
        };
        let genesis = seal::genesis(&key, &generation);
        let mut journal = Journal {
            conn,
            key,
            generation: generation.clone(),
            head: genesis,
            anchor_path: files.anchor.clone(),
            _owner: owner,
        };
        match head {
            // Set-up (or adoption of an unsealed journal): migrate and seal every row.
            None => journal.migrate(&generation)?,
            Some(anchored) => {
                let stored: Option<String> = journal
                    .conn
                    .query_row("SELECT v FROM meta WHERE k = 'generation'", [], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if stored.as_deref() != Some(generation.as_str()) {
                    return Err(not_this(
                        "it belongs to another journal generation (replaced)",
                    ));
                }
                let links = seal::verify(&journal.conn, &journal.key, &generation)?;
                journal.conn.execute_batch(seal::TOUCH_TRACKING)?;
                let db_seq = links.len() as i64 - 1;
                if db_seq < anchored.seq {
                    return Err(not_this(&format!(
                        "it ends at record {db_seq} but the terminal had written record {} (rolled back)",
                        anchored.seq
                    )));
                }
                if links[anchored.seq as usize] != anchored.link {
                    return Err(not_this(
                        "its records differ from the ones the terminal wrote (replaced)",
                    ));
                }
                journal.head = Head {
                    seq: db_seq,
                    link: links[db_seq as usize],
                };
                if db_seq > anchored.seq {
                    // The last commit landed but its anchor update did not: catch up.
                    journal.write_anchor();
                }
            }
        }
        journal.conn.execute_batch(advices::SCHEMA)?;
        Ok(journal)
    }

    /// Brings the schema to [`SCHEMA_VERSION`] in one transaction, sealing every row.
    fn migrate(&mut self, generation: &str) -> Result<(), JournalError> {
        let from = user_version(&self.conn)?;
        let generation = generation.to_string();
        self.write(|tx, key| {
            if from < 1 {
                tx.execute_batch(SCHEMA_V1)?;
                // Journals written before the version number was kept may lack the QR columns.
                let have: Vec<String> = tx
                    .prepare("SELECT name FROM pragma_table_info('txns')")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for (name, decl) in [
                    ("method", "TEXT NOT NULL DEFAULT 'card'"),
                    ("wallet", "TEXT"),
                    ("pay_called_at_ms", "INTEGER"),
                ] {
                    if !have.iter().any(|h| h == name) {
                        tx.execute_batch(&format!("ALTER TABLE txns ADD COLUMN {name} {decl}"))?;
                    }
                }
            }
            if from < 2 {
                let dup: Option<(String, String)> = tx
                    .query_row(
                        "SELECT caller, order_id FROM txns GROUP BY caller, order_id HAVING COUNT(*) > 1",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some((caller, order)) = dup {
                    return Err(JournalError::DuplicateOrder { caller, order });
                }
                tx.execute_batch(SCHEMA_V2)?;
                tx.execute_batch(seal::TOUCH_TRACKING)?;
                tx.execute(
                    "INSERT INTO meta (k, v) VALUES ('generation', ?1)",
                    [&generation],
                )?;
                // Armed reversals written in clear by older versions are encrypted now.
                let clear: Vec<(i64, u32, u32, Vec<u8>)> = tx
                    .prepare("SELECT id, batch, trace, reversal FROM txns WHERE reversal IS NOT NULL")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<Result<_, _>>()?;
                for (id, batch, trace, msg) in clear {
                    let sealed = key.encrypt(&apply::reversal_aad(batch, trace), &msg);
                    tx.execute("UPDATE txns SET reversal = ?2 WHERE id = ?1", params![id, sealed])?;
                }
                seal::touch_all(tx)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            Ok(())
        })
    }

    /// Runs `f` in one SQLite transaction, seals the rows it touched, commits, then moves the
    /// anchor. A failure of `f` rolls everything back.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &DeviceKey) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx, &self.key)?;
        let head = seal::seal(&tx, &self.key, self.head)?;
        tx.commit()?;
        if head != self.head {
            self.head = head;
            self.write_anchor();
        }
        Ok(out)
    }

    fn write_anchor(&self) {
        let anchor = Anchor {
            generation: self.generation.clone(),
            head: self.head,
        };
        // The database commit stands; a lagging anchor is caught up at the next write or open.
        if let Err(e) = anchor.advance(&self.anchor_path, &self.key) {
            tracing::error!(error = %e, "journal anchor not updated");
        }
    }
}

#[cfg(test)]
mod tests;
