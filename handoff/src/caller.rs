//! Who is calling, as the operating system reports it, and what each app may do.

use super::kinds::RequestType;
use serde::{Deserialize, Serialize};

/// The caller as the OS reports it (never as the caller claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// Package name (`Binder.getCallingUid` → `PackageManager.getPackagesForUid`).
    pub package: String,
    /// SHA-256 digests of the signing certificates (`PackageManager.getPackageInfo(..., GET_SIGNING_CERTIFICATES)`).
    pub cert_sha256: Vec<[u8; 32]>,
}

impl CallerIdentity {
    /// From a package name and hex digests (case-insensitive, `:` separators allowed).
    pub fn from_hex(package: &str, digests: &[&str]) -> Option<Self> {
        let mut certs = Vec::new();
        for d in digests {
            let clean: String = d.chars().filter(|c| *c != ':').collect();
            certs.push(hex::decode(clean).ok()?.try_into().ok()?);
        }
        Some(CallerIdentity {
            package: package.to_string(),
            cert_sha256: certs,
        })
    }
}

/// One allowed app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedApp {
    /// Package name.
    pub package: String,
    /// Accepted signing-certificate SHA-256 digests (hex); the caller must present one of them.
    pub cert_sha256: Vec<String>,
    /// Request types the app may send.
    pub permissions: Vec<RequestType>,
    /// `true` when the app may void, refund and complete every app's orders (a settlement or
    /// back-office app); otherwise only its own. JSON `"all_apps": true`, default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_apps: bool,
}

/// Why a caller was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallerRefusal {
    /// Package not on the list, or none of its certificates matches.
    #[error("caller {0} is not an allowed app with a matching signing certificate")]
    NotAllowed(String),
    /// The app may not send this request type.
    #[error("caller {package} may not request {kind}")]
    NotPermitted {
        /// Package.
        package: String,
        /// Type name.
        kind: &'static str,
    },
}

/// The allow-list of merchant apps (in production, the market's grants).
///
/// ```
/// use smartpos_handoff::{AllowList, AllowedApp, CallerIdentity, RequestType, TransactionType};
/// let list = AllowList { apps: vec![AllowedApp { package: "com.shop".into(),
///     cert_sha256: vec!["11".repeat(32)], permissions: vec![RequestType::Transaction(TransactionType::Sale)], all_apps: false }] };
/// let caller = CallerIdentity::from_hex("com.shop", &[&"11".repeat(32)]).unwrap();
/// assert!(list.authorize(&caller, RequestType::Transaction(TransactionType::Sale)).is_ok());
/// assert!(list.authorize(&caller, RequestType::Transaction(TransactionType::Refund)).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowList {
    /// Allowed apps.
    pub apps: Vec<AllowedApp>,
}

impl AllowList {
    /// Checks the caller and the permission.
    pub fn authorize(
        &self,
        caller: &CallerIdentity,
        kind: RequestType,
    ) -> Result<(), CallerRefusal> {
        let app = self
            .apps
            .iter()
            .find(|a| {
                a.package == caller.package
                    && a.cert_sha256.iter().any(|h| {
                        let clean: String = h.chars().filter(|c| *c != ':').collect();
                        hex::decode(clean)
                            .ok()
                            .is_some_and(|d| caller.cert_sha256.iter().any(|c| c[..] == d[..]))
                    })
            })
            .ok_or_else(|| CallerRefusal::NotAllowed(caller.package.clone()))?;
        if !app.permissions.contains(&kind) {
            return Err(CallerRefusal::NotPermitted {
                package: caller.package.clone(),
                kind: kind.name(),
            });
        }
        Ok(())
    }
}
