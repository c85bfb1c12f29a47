//! Small durable-file helpers for the journal's companions (key, anchor) and the terminal's
//! own key files: a file is written whole to a temporary name, fsynced, and only then given
//! its name, so a crash never leaves a half-written key or anchor behind.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

/// Creates `path` (mode 0600) with `bytes` unless it exists; concurrent creators agree on
/// one winner. Returns `false` when the file already existed (its content is left alone).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("k");
/// assert!(smartpos_terminal::journal::files::create_private_once(&p, b"one").unwrap());
/// assert!(!smartpos_terminal::journal::files::create_private_once(&p, b"two").unwrap());
/// assert_eq!(std::fs::read(&p).unwrap(), b"one");
/// ```
pub fn create_private_once(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let tmp = temp_name(path);
    write_synced(&tmp, bytes)?;
    // A hard link fails if the name exists: the first complete file wins, atomically.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` atomically and durably (temporary file, fsync, rename, fsync
/// of the directory).
pub fn replace_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_name(path);
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path)
}
