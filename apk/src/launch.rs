//! The launch-time check: as strong as a full verification, in the time of one `stat`.
//!
//! Android's package manager verifies an APK once, at install, and then relies on the installed
//! file not changing (an update is a new file). [`LaunchCheck`] does the same for the market's
//! signature: [`LaunchCheck::install`] runs the full [`TrustStore::check`] and binds the verdict
//! to the file's identity (device, inode, size, modification and status-change times, read
//! before and after the check); [`LaunchCheck::launch`] returns the remembered verdict when the
//! identity is unchanged and neither the app nor its market key has been revoked since, and
//! verifies in full otherwise. Any write to the file changes its status-change time, which no
//! unprivileged program can set back, so a tampered file is always verified again.

use crate::market::{MarketError, TrustStore, VerifiedApp};
use crate::ApkError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileIdentity {
    /// The identity of the file at `path` now.
    #[cfg(unix)]
    pub fn of(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Ok(FileIdentity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// Without status-change times a file's identity cannot be trusted: never the same.
    #[cfg(not(unix))]
    pub fn of(_path: &Path) -> std::io::Result<Self> {
        Err(std::io::Error::other(
            "file identity needs a Unix status-change time",
        ))
    }
}

/// How a launch was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchBasis {
    /// The install-time verdict, for the same file.
    Remembered,
    /// A full verification (first sight, or the file changed).
    Verified,
}

/// Install-time verdicts bound to the installed files' identities.
///
/// ```no_run
/// # fn demo(store: &smartpos_apk::market::TrustStore) -> Result<(), smartpos_apk::market::MarketError> {
/// use smartpos_apk::launch::{LaunchBasis, LaunchCheck};
/// let apk = std::path::Path::new("/data/app/com.example.shop/base.apk");
/// let mut check = LaunchCheck::default();
/// check.install(store, apk, 33, Some(("com.example.shop", 7)))?;
/// let (app, basis) = check.launch(store, apk, 33)?;
/// assert_eq!(basis, LaunchBasis::Remembered);
/// # let _ = app; Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct LaunchCheck {
    verdicts: HashMap<PathBuf, (FileIdentity, u32, VerifiedApp)>,
}

impl LaunchCheck {
    /// The install check: a full [`TrustStore::check`], remembered for this file's identity
    /// (only when the file did not change while it was read).
    pub fn install(
        &mut self,
        store: &TrustStore,
        path: &Path,
        sdk: u32,
        reported: Option<(&str, u64)>,
    ) -> Result<VerifiedApp, MarketError> {
        self.verdicts.remove(path);
        let before = FileIdentity::of(path).map_err(ApkError::from)?;
        let app = store.check(path, sdk, reported, &mut |_, _| {})?;
        if FileIdentity::of(path).ok() == Some(before) {
            self.verdicts
                .insert(path.to_path_buf(), (before, sdk, app.clone()));
        }
        Ok(app)
    }

    /// The launch check: the remembered verdict when this is the same file, checked at the
    /// same SDK level, and neither the app's version nor its market key is revoked now; a full
    /// verification (remembered again when it passes) otherwise.
    pub fn launch(
        &mut self,
        store: &TrustStore,
        path: &Path,
        sdk: u32,
    ) -> Result<(VerifiedApp, LaunchBasis), MarketError> {
        let now = FileIdentity::of(path).map_err(ApkError::from)?;
        if let Some((id, at_sdk, app)) = self.verdicts.get(path) {
            if *id == now && *at_sdk == sdk {
                // The revocation part of the full check, on the remembered verdict.
                store.key_revoked(&app.key_id)?;
                store.app_revoked(&app.package, app.version_code)?;
                return Ok((app.clone(), LaunchBasis::Remembered));
            }
        }
        let app = self.install(store, path, sdk, None)?;
        Ok((app, LaunchBasis::Verified))
    }

    /// Forgets a file (the package was removed).
    pub fn forget(&mut self, path: &Path) {
        self.verdicts.remove(path);
    }
}
