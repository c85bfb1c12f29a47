//! `smartpos settlement-file`: the host simulator's settlement file.

use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos settlement-file` failed.
    SettlementFileError {}
);

/// Write the host simulator's settlement file (JSON) from its state directory.
#[derive(clap::Args)]
pub struct Args {
    /// The simulator's --state directory.
    #[arg(long)]
    state: PathBuf,
    /// Only this terminal.
    #[arg(long)]
    terminal: Option<String>,
    /// Where to write it (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `smartpos settlement-file`.
pub fn run(args: Args) -> Result<ExitCode, SettlementFileError> {
    let Args {
        state,
        terminal,
        out,
    } = args;
    let path = state.join("host-state.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let st: smartpos_testing::acquirer::HostState =
        serde_json::from_str(&text).map_err(|e| format!("{} is invalid: {e}", path.display()))?;
    let json = serde_json::to_string_pretty(&st.settlement_lines(terminal.as_deref()))?;
    match out {
        Some(p) => std::fs::write(p, json)?,
        None => println!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}
