//! Device information the compliance profile is checked against.

use serde::{Deserialize, Serialize};

/// Hardware modules a terminal may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HardwareModule {
    /// Magnetic stripe reader.
    MagStripe,
    /// Contact chip reader.
    ContactChip,
    /// Contactless reader.
    Contactless,
    /// PIN pad with secure key store.
    PinPad,
    /// Thermal printer.
    Printer,
    /// Scanner or camera for codes.
    Scanner,
}

/// What a device reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInformation {
    /// Vendor.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// Android version, e.g. `11` or `10.0`.
    pub os_version: String,
    /// Security patch level, `YYYY-MM-DD`.
    pub security_patch: String,
    /// Serial number.
    pub serial: String,
    /// Hardware modules present.
    pub modules: Vec<HardwareModule>,
    /// Installed package names.
    pub installed_packages: Vec<String>,
}

impl DeviceInformation {
    /// A compliant example device (the simulated terminal reports it): every module, a recent
    /// patch level, no forbidden package.
    ///
    /// ```
    /// let d = smartpos_core::hal::DeviceInformation::example();
    /// assert_eq!(d.security_patch, "2026-10-05");
    /// ```
    pub fn example() -> Self {
        DeviceInformation {
            vendor: "smartpos".into(),
            model: "SIM-58".into(),
            os_version: "11".into(),
            security_patch: "2026-10-05".into(),
            serial: "SIM0000001".into(),
            modules: vec![
                HardwareModule::MagStripe,
                HardwareModule::ContactChip,
                HardwareModule::Contactless,
                HardwareModule::PinPad,
                HardwareModule::Printer,
                HardwareModule::Scanner,
            ],
            installed_packages: vec![
                "com.smartpos.acquirer".into(),
                "com.example.merchant".into(),
            ],
        }
    }
}
