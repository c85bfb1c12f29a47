//! The market check for the acquiring app, the launcher and the installer: the core's trust
//! store over installed APK files (`ApplicationInfo.sourceDir`), with the install-time verdict
//! remembered for each file's identity so a launch check costs microseconds.

use smartpos_apk::launch::{LaunchBasis, LaunchCheck};
use smartpos_apk::market::{open_revocations, public_key, Signed, TrustStore, VerifiedApp};
use smartpos_core::handoff::{AllowList, AllowedApp};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Why the market check refused an APK or could not be set up.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum MarketCheckError {
    /// The root key or the revocation list given at setup is unusable.
    #[error("market setup: {reason}")]
    Setup {
        /// What is wrong.
        reason: String,
    },
    /// The APK is refused: not market-signed, tampered, revoked, or its Android signature fails.
    #[error("refused: {reason}")]
    Refused {
        /// Why, for the reviewer and the bank's log.
        reason: String,
    },
}

/// An installed app the market signed and the terminal accepted.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MarketApp {
    /// Package name, as the market signed it (and as the manifest says).
    pub package: String,
    /// Version code.
    pub version_code: u64,
    /// SHA-256 of the app's signing certificates (hex): the caller must present one of them.
    pub signer_cert_sha256: Vec<String>,
    /// The payment request types the market granted (wire names, e.g. `sale`, `query`).
    pub payments: Vec<String>,
    /// The market key that signed.
    pub key_id: String,
    /// `true` when a launch check reused the install-time verdict for the unchanged file.
    pub remembered: bool,
}

impl MarketApp {
    fn from_verified(app: &VerifiedApp, remembered: bool) -> Self {
        MarketApp {
            package: app.package.clone(),
            version_code: app.version_code,
            signer_cert_sha256: app.signer_cert_sha256.clone(),
            payments: app
                .grants
                .payments
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
            key_id: app.key_id.clone(),
            remembered,
        }
    }

    /// The handoff allow-list entry: the market's grants authorize the app's requests.
    pub(crate) fn allowed(&self) -> Result<AllowedApp, String> {
        let permissions = self
            .payments
            .iter()
            .map(|p| {
                smartpos_core::handoff::RequestType::parse(p)
                    .ok_or_else(|| format!("unknown payment grant '{p}'"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowedApp {
            package: self.package.clone(),
            cert_sha256: self.signer_cert_sha256.clone(),
            permissions,
            all_apps: false,
        })
    }
}

/// The allow-list for these market-verified apps.
pub(crate) fn allow_list(apps: &[MarketApp]) -> Result<AllowList, String> {
    Ok(AllowList {
        apps: apps
            .iter()
            .map(MarketApp::allowed)
            .collect::<Result<_, _>>()?,
    })
}

fn refused(e: impl std::fmt::Display) -> MarketCheckError {
    MarketCheckError::Refused {
        reason: e.to_string(),
    }
}

/// The terminal's market check.
///
/// Kotlin (the launcher):
/// ```kotlin
/// val gate = MarketCheck(rootKeyHex, revocationsJson, Build.VERSION.SDK_INT.toUInt())
/// val app = gate.launchCheck(packageManager.getApplicationInfo(pkg, 0).sourceDir)
/// // a refused APK throws MarketCheckException.Refused: hide it, never launch it
/// ```
#[derive(Debug, uniffi::Object)]
pub struct MarketCheck {
    store: Mutex<TrustStore>,
    sdk: u32,
    verdicts: Mutex<LaunchCheck>,
}

#[uniffi::export]
impl MarketCheck {
    /// A check against the bank's root key (hex) and, when given, the newest revocation list
    /// (the JSON `smartpos market revoke` writes), at the device's SDK level.
    #[uniffi::constructor]
    pub fn new(
        root_public_hex: String,
        revocations_json: Option<String>,
        sdk: u32,
    ) -> Result<Arc<Self>, MarketCheckError> {
        let setup = |e: String| MarketCheckError::Setup { reason: e };
        let root = public_key(root_public_hex.trim()).map_err(|e| setup(e.to_string()))?;
        let mut store = TrustStore {
            root,
            revocations: Default::default(),
        };
        if let Some(json) = revocations_json {
            let doc: Signed =
                serde_json::from_str(&json).map_err(|e| setup(format!("revocation list: {e}")))?;
            store.revocations = open_revocations(&store.root, &doc)
                .map_err(|e| setup(format!("revocation list: {e}")))?;
        }
        Ok(Arc::new(MarketCheck {
            store: Mutex::new(store),
            sdk,
            verdicts: Mutex::new(LaunchCheck::default()),
        }))
    }

    /// The install check (the installer before committing a session, and the package-added
    /// broadcast): a full verification of the APK, also against the package and version code
    /// the package manager reports when given. Remembered for the file's identity.
    pub fn install_check(
        &self,
        apk_path: String,
        package: Option<String>,
        version_code: Option<u64>,
    ) -> Result<MarketApp, MarketCheckError> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let reported = match (&package, version_code) {
            (Some(p), Some(v)) => Some((p.as_str(), v)),
            _ => None,
        };
        let app = self
            .verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .install(&store, Path::new(&apk_path), self.sdk, reported)
            .map_err(refused)?;
        Ok(MarketApp::from_verified(&app, false))
    }

    /// The launch check: the remembered verdict when the file is unchanged and nothing was
    /// revoked since, a full verification otherwise.
    pub fn launch_check(&self, apk_path: String) -> Result<MarketApp, MarketCheckError> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (app, basis) = self
            .verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .launch(&store, Path::new(&apk_path), self.sdk)
            .map_err(refused)?;
        Ok(MarketApp::from_verified(
            &app,
            basis == LaunchBasis::Remembered,
        ))
    }

    /// Adopts a newer revocation list signed by the root (an older one is refused); launch
    /// checks apply it at once.
    pub fn update_revocations(&self, revocations_json: String) -> Result<(), MarketCheckError> {
        let doc: Signed =
            serde_json::from_str(&revocations_json).map_err(|e| MarketCheckError::Setup {
                reason: format!("revocation list: {e}"),
            })?;
        self.store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .update_revocations(&doc)
            .map_err(|e| MarketCheckError::Setup {
                reason: e.to_string(),
            })
    }

    /// Forgets an APK file (its package was removed or replaced).
    pub fn forget(&self, apk_path: String) {
        self.verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(Path::new(&apk_path));
    }
}
