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
