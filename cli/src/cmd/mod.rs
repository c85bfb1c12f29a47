//! One module per command family, each with its clap arguments and `run`; `main.rs` only
//! dispatches.

pub mod apk;
pub mod bench;
pub mod demo;
pub mod hal;
pub mod host_sim;
pub mod iso8583;
pub mod market;
pub mod request;
pub mod settlement_file;
pub mod terminal;
pub mod verify_result;

use smartpos_core::profile::AcquirerProfile;

/// What a command family's `run` fails with: the message `smartpos` prints before exiting 2.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
