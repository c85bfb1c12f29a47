//! One owner of a terminal's journal at a time, across threads and processes: an exclusive OS
//! file lock (`flock`) on `<stem>.lock` beside the database, held for as long as the
//! [`Journal`](super::Journal) is open and released by the kernel when the process dies.

use super::JournalError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The held lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub(crate) struct OwnerLock {
    _file: File,
}

impl OwnerLock {
    /// Takes the lock, waiting up to `wait` for another owner to finish.
    pub(crate) fn acquire(path: &Path, wait: Duration) -> Result<Self, JournalError> {
        let io = |e: std::io::Error| JournalError::io(path, e);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(OwnerLock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(JournalError::Busy {
                        lock: PathBuf::from(path),
                    })
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}
