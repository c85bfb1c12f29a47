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

mod apply;
pub mod files;
mod lock;
mod qr;
mod rebuild;
mod recover;
mod seal;
pub(crate) mod secrets;

pub(crate) use apply::trace_used;
pub use rebuild::Rebuilt;
use rusqlite::{params, Connection, OptionalExtension};
use seal::{Anchor, Head};
use secrets::DeviceKey;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long [`Journal::open`] waits for another owner of the terminal to finish.
pub const DEFAULT_OWNER_WAIT: Duration = Duration::from_secs(30);

/// A journal failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// SQLite refused.
    #[error("journal storage error: {0}")]
    Sqlite(rusqlite::Error),
    /// The disk is full: nothing was written (the transaction that needed the write did not
    /// start or is left for recovery).
    #[error("no space left on the device for the journal ({0})")]
    DiskFull(String),
    /// A file beside the journal could not be read or written.
    #[error("journal file {file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another process (or thread) owns the terminal and did not finish in time.
    #[error("the terminal is busy: another process holds {lock}")]
    Busy {
        /// The lock file.
        lock: PathBuf,
    },
    /// A stored result could not be read back.
    #[error("journal record is corrupt: {0}")]
    Corrupt(String),
    /// A record or row fails its authentication: the database was edited outside the terminal.
    #[error("journal integrity check failed: {detail}; the terminal refuses to run on it (see sdk-docs: Journal integrity)")]
    Tampered {
        /// The first bad record or row.
        detail: String,
    },
    /// The database is not the one this terminal wrote: missing, emptied, replaced or rolled
    /// back.
    #[error("{db} is not this terminal's journal: {why}; the terminal refuses to start (see sdk-docs: Journal integrity, `terminal recover --from-host`)")]
    NotThisTerminal {
        /// The database file.
        db: PathBuf,
        /// What was found.
        why: String,
    },
    /// The device key is missing while the journal holds sealed records.
    #[error("the journal key {file} is missing but {db} holds sealed records; the terminal refuses to start (see sdk-docs: Journal integrity)")]
    KeyMissing {
        /// The key file.
        file: PathBuf,
        /// The database.
        db: PathBuf,
    },
    /// The device key file is not a key.
    #[error("the journal key {file} is corrupt (expected 64 bytes)")]
    KeyCorrupt {
        /// The key file.
        file: PathBuf,
    },
    /// The anchor file is missing although the terminal has a key.
    #[error("the journal anchor {file} is missing; the terminal cannot prove which journal is its own (see sdk-docs: Journal integrity)")]
    AnchorMissing {
        /// The anchor file.
        file: PathBuf,
    },
    /// The anchor file fails its authentication.
    #[error("the journal anchor {file} is corrupt or was edited")]
    AnchorCorrupt {
        /// The anchor file.
        file: PathBuf,
    },
    /// The same order id of the same app would get a second row.
    #[error("order {order} of {caller} is already in the journal")]
    DuplicateOrder {
        /// Calling app.
        caller: String,
        /// Order id.
        order: String,
    },
    /// The write refers to a transaction the journal does not hold.
    #[error("no journal record for batch {batch} trace {trace}")]
    Missing {
        /// Batch.
        batch: u32,
        /// Trace.
        trace: u32,
    },
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::DiskFull => {
                JournalError::DiskFull(e.to_string())
            }
            _ => JournalError::Sqlite(e),
        }
    }
}

impl JournalError {
    pub(crate) fn io(file: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::StorageFull {
            return JournalError::DiskFull(format!("{}: {source}", file.display()));
        }
        JournalError::Io {
            file: file.to_path_buf(),
            source,
        }
    }
}

pub use smartpos_core::batch::{JournalEntry, TxnState};

impl JournalError {
    /// What the engine is told when a write fails.
    pub fn store_failure(&self) -> smartpos_core::engine::StoreFailure {
        use smartpos_core::engine::StoreFailureKind as K;
        let kind = match self {
            JournalError::DiskFull(_) => K::DiskFull,
            JournalError::Busy { .. } => K::Busy,
            JournalError::Corrupt(_)
            | JournalError::Tampered { .. }
            | JournalError::NotThisTerminal { .. }
            | JournalError::KeyMissing { .. }
            | JournalError::KeyCorrupt { .. }
            | JournalError::AnchorMissing { .. }
            | JournalError::AnchorCorrupt { .. }
            | JournalError::Missing { .. } => K::Integrity,
            JournalError::Sqlite(_)
            | JournalError::Io { .. }
            | JournalError::DuplicateOrder { .. } => K::Io,
        };
        smartpos_core::engine::StoreFailure {
            kind,
            detail: self.to_string(),
        }
    }
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
        if let Err(e) = anchor.write(&self.anchor_path, &self.key) {
            tracing::error!(error = %e, "journal anchor not updated");
        }
    }

    /// Records that an app's settle request (by its order id) closed `batch`.
    pub fn record_settle_request(
        &mut self,
        caller: &str,
        order_id: &str,
        batch: u32,
        message: &str,
    ) -> Result<(), JournalError> {
        self.write(|tx, _| {
            tx.execute(
                "INSERT OR IGNORE INTO settle_requests (caller, order_id, batch, message) VALUES (?1, ?2, ?3, ?4)",
                params![caller, order_id, batch, message],
            )?;
            Ok(())
        })
    }

    /// The batch (and message) an app's earlier settle request with this order id closed.
    pub fn find_settle_request(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<(u32, String)>, JournalError> {
        Ok(self
            .conn
            .query_row(
                "SELECT batch, message FROM settle_requests WHERE caller = ?1 AND order_id = ?2",
                params![caller, order_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Checks the whole record chain again (what `terminal journal --verify` runs); returns
    /// the number of records.
    pub fn verify(&self) -> Result<u64, JournalError> {
        let links = seal::verify(&self.conn, &self.key, &self.generation)?;
        Ok(links.len() as u64 - 1)
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

    /// Totals and upload items of a batch for settlement: approved sales are debits, approved
    /// refunds credits; voided sales and voids cancel out and are left out.
    pub fn settlement_input(
        &self,
        batch: u32,
    ) -> Result<smartpos_core::engine::SettlementInput, JournalError> {
        let mut input = smartpos_core::engine::SettlementInput::default();
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
            input.uploads.push(smartpos_core::engine::UploadItem {
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
        kind: smartpos_core::payment::TransactionType,
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

impl smartpos_core::handoff::NonceStore for Journal {
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
mod tests;
