//! Why the journal refused or failed, with the files it concerns.

use std::path::{Path, PathBuf};

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
