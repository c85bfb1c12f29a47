//! The bank's terminal compliance profile, checked against what the device reports at start.

use serde::{Deserialize, Serialize};
use smartpos_core::hal::device::{DeviceInformation, HardwareModule};

/// What the bank requires of a terminal model.
///
/// ```
/// use smartpos_hal::compliance::{check, ComplianceProfile, ComplianceFailure};
/// use smartpos_hal::{DeviceInformation, HardwareModule};
/// let device = DeviceInformation {
///     vendor: "ExampleVendor".into(), model: "P2".into(), os_version: "11".into(),
///     security_patch: "2026-10-05".into(), serial: "P2-000123".into(),
///     modules: vec![HardwareModule::MagStripe, HardwareModule::ContactChip, HardwareModule::PinPad],
///     installed_packages: vec![],
/// };
/// let profile = ComplianceProfile { min_security_patch: "2027-01-01".into(), ..Default::default() };
/// let failures = check(&profile, &device);
/// assert!(matches!(failures[0], ComplianceFailure::SecurityPatchTooOld { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceProfile {
    /// Minimum Android version, dotted numbers (`10`, `11.0`).
    pub min_os_version: String,
    /// Minimum security patch level, `YYYY-MM-DD`.
    pub min_security_patch: String,
    /// Modules that must be present.
    pub required_modules: Vec<HardwareModule>,
    /// Packages that must not be installed.
    pub forbidden_packages: Vec<String>,
}

impl Default for ComplianceProfile {
    fn default() -> Self {
        ComplianceProfile {
            min_os_version: "10".into(),
            min_security_patch: "2025-01-01".into(),
            required_modules: vec![
                HardwareModule::PinPad,
                HardwareModule::MagStripe,
                HardwareModule::ContactChip,
            ],
            forbidden_packages: vec![
                "com.topjohnwu.magisk".into(),
                "de.robv.android.xposed.installer".into(),
            ],
        }
    }
}

/// One way a device fails the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "failure", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ComplianceFailure {
    /// OS older than required.
    #[error("OS version {have} is below the required {need}")]
    OsTooOld {
        /// Reported.
        have: String,
        /// Required.
        need: String,
    },
    /// Security patch older than required.
    #[error("security patch {have} is older than the required {need}")]
    SecurityPatchTooOld {
        /// Reported.
        have: String,
        /// Required.
        need: String,
    },
    /// A required module is missing.
    #[error("required hardware module {0:?} is missing")]
    MissingModule(HardwareModule),
    /// A forbidden package is installed.
    #[error("forbidden package {0} is installed")]
    ForbiddenPackage(String),
    /// The device reported a value that cannot be read (treated as failing).
    #[error("device reported an unreadable {field}: {value:?}")]
    Unreadable {
        /// Which value.
        field: &'static str,
        /// What it said.
        value: String,
    },
}

/// An OS version as dotted numbers (`11`, `10.0`), or `None` when it is not one.
pub fn parse_version(s: &str) -> Option<Vec<u32>> {
    s.split('.')
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        })
        .collect()
}

/// A security patch level `YYYY-MM-DD` as (year, month, day), or `None` when it is not a
/// calendar date.
pub fn parse_security_patch(s: &str) -> Option<(u32, u32, u32)> {
    let p: Vec<&str> = s.split('-').collect();
    if p.len() != 3
        || p[0].len() != 4
        || p[1].len() != 2
        || p[2].len() != 2
        || !p.iter().all(|x| x.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let d = (p[0].parse().ok()?, p[1].parse().ok()?, p[2].parse().ok()?);
    let leap = d.0 % 4 == 0 && (d.0 % 100 != 0 || d.0 % 400 == 0);
    let days = match d.1 {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d.2).then_some(d)
}

/// Every way the device fails the profile (empty = compliant).
pub fn check(profile: &ComplianceProfile, info: &DeviceInformation) -> Vec<ComplianceFailure> {
    let mut f = Vec::new();
    match (
        parse_version(&info.os_version),
        parse_version(&profile.min_os_version),
    ) {
        (Some(have), Some(need)) => {
            let pad = |mut v: Vec<u32>| {
                v.resize(4, 0);
                v
            };
            if pad(have) < pad(need) {
                f.push(ComplianceFailure::OsTooOld {
                    have: info.os_version.clone(),
                    need: profile.min_os_version.clone(),
                });
            }
        }
        _ => f.push(ComplianceFailure::Unreadable {
            field: "os_version",
            value: info.os_version.clone(),
        }),
    }
    match (
        parse_security_patch(&info.security_patch),
        parse_security_patch(&profile.min_security_patch),
    ) {
        (Some(have), Some(need)) if have < need => f.push(ComplianceFailure::SecurityPatchTooOld {
            have: info.security_patch.clone(),
            need: profile.min_security_patch.clone(),
        }),
        (Some(_), Some(_)) => {}
        _ => f.push(ComplianceFailure::Unreadable {
            field: "security_patch",
            value: info.security_patch.clone(),
        }),
    }
    for m in &profile.required_modules {
        if !info.modules.contains(m) {
            f.push(ComplianceFailure::MissingModule(*m));
        }
    }
    for p in &profile.forbidden_packages {
        if info.installed_packages.contains(p) {
            f.push(ComplianceFailure::ForbiddenPackage(p.clone()));
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_patch_missing_module_and_forbidden_package_are_reported() {
        let mut info = DeviceInformation::example();
        assert!(
            check(&ComplianceProfile::default(), &info).is_empty(),
            "the simulated device is compliant"
        );
        info.security_patch = "2024-03-05".into();
        info.os_version = "9".into();
        info.modules.retain(|m| *m != HardwareModule::PinPad);
        info.installed_packages.push("com.topjohnwu.magisk".into());
        let f = check(&ComplianceProfile::default(), &info);
        assert_eq!(f.len(), 4, "{f:?}");
        assert!(f.contains(&ComplianceFailure::SecurityPatchTooOld {
            have: "2024-03-05".into(),
            need: "2025-01-01".into()
        }));
        assert!(f.contains(&ComplianceFailure::MissingModule(HardwareModule::PinPad)));
        info.security_patch = "March 2024".into();
        assert!(check(&ComplianceProfile::default(), &info)
            .iter()
            .any(|x| matches!(x, ComplianceFailure::Unreadable { .. })));
    }

    #[test]
    fn versions_compare_numerically() {
        let mut info = DeviceInformation::example();
        let p = ComplianceProfile {
            min_os_version: "10.0.1".into(),
            ..Default::default()
        };
        info.os_version = "10".into();
        assert!(matches!(
            check(&p, &info)[0],
            ComplianceFailure::OsTooOld { .. }
        ));
        info.os_version = "11".into();
        assert!(check(&p, &info).is_empty());
    }
}
