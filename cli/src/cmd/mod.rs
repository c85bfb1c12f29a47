//! One module per command family, each with its clap arguments and `run`; `main.rs` only
//! dispatches.

pub mod apk;
pub mod bench;
pub mod demo;
pub mod hal;
pub mod host_sim;
pub mod iso8583;
pub mod load;
pub mod market;
pub mod request;
pub mod settlement_file;
pub mod terminal;
pub mod verify_result;

use smartpos_core::profile::AcquirerProfile;

/// Defines a command family's error type: `Input` (what was given on the command line or in a
/// file is not usable), `Io`, `Json`, and each library error the family meets as a variant of
/// its own. `smartpos` prints the message and exits 2.
#[macro_export]
macro_rules! family_error {
    ($(#[$m:meta])* $name:ident { $( $(#[$vm:meta])* $variant:ident($ty:ty) ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, thiserror::Error)]
        #[non_exhaustive]
        pub enum $name {
            /// What was given on the command line or in a file is not usable.
            #[error("{0}")]
            Input(String),
            /// A file could not be read or written.
            #[error(transparent)]
            Io(#[from] std::io::Error),
            /// JSON could not be read or written.
            #[error(transparent)]
            Json(#[from] serde_json::Error),
            $( $(#[$vm])* #[error(transparent)] $variant(#[from] $ty), )*
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name::Input(s)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::Input(s.to_string())
            }
        }
    };
}

/// Why a `smartpos` command failed: its family's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// `smartpos demo`.
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    /// `smartpos iso8583`.
    #[error(transparent)]
    Iso8583(#[from] iso8583::Iso8583Error),
    /// `smartpos terminal`.
    #[error(transparent)]
    Terminal(#[from] crate::terminal_cmd::TerminalCmdError),
    /// `smartpos hal`.
    #[error(transparent)]
    Hal(#[from] hal::HalCmdError),
    /// `smartpos apk`.
    #[error(transparent)]
    Apk(#[from] apk::ApkCmdError),
    /// `smartpos market`.
    #[error(transparent)]
    Market(#[from] market::MarketCmdError),
    /// `smartpos bench`.
    #[error(transparent)]
    Bench(#[from] bench::BenchError),
    /// `smartpos settlement-file`.
    #[error(transparent)]
    SettlementFile(#[from] settlement_file::SettlementFileError),
    /// `smartpos request`.
    #[error(transparent)]
    Request(#[from] request::Error),
    /// `smartpos host-sim`.
    #[error(transparent)]
    HostSim(#[from] host_sim::HostSimError),
    /// `smartpos load`.
    #[error(transparent)]
    Load(#[from] load::LoadError),
}

/// Reads and validates an acquirer profile file, naming the file in errors.
pub fn read_profile(path: &std::path::Path) -> Result<AcquirerProfile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read profile {}: {e}", path.display()))?;
    AcquirerProfile::from_json(&text).map_err(|e| format!("profile {}: {e}", path.display()))
}

/// An acquirer settlement file (`smartpos settlement-file`).
pub fn read_settlement(
    path: &std::path::Path,
) -> Result<Vec<smartpos_core::reconcile::SettlementLine>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a settlement file: {e}", path.display()))
}
