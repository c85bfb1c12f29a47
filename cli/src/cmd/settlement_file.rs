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
    let st = smartpos_testing::server::read_host_state(&state)?;
    let json = serde_json::to_string_pretty(&st.settlement_lines(terminal.as_deref()))?;
    match out {
        Some(p) => std::fs::write(p, json)?,
        None => println!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}
