//! `smartpos demo`: the end-to-end sale on the simulated terminal.

use super::BoxError;
use smartpos_core::payment::Outcome;
use std::path::PathBuf;
use std::process::ExitCode;

/// End-to-end demo: in-process host simulator, simulated terminal, sign-in and a 12.34 CNY sale.
#[derive(clap::Args)]
pub struct Args {
    /// Directory for the terminal's data and the receipt PNG (default: a new temporary directory, kept).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Append every host frame as a JSON line to this file.
    #[arg(long)]
    frames: Option<PathBuf>,
}

/// Runs `smartpos demo`.
pub async fn run(args: Args) -> Result<ExitCode, BoxError> {
    let Args { out, frames } = args;
    let dir = match out {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => tempfile::Builder::new()
            .prefix("smartpos-demo-")
            .tempdir()?
            .keep(),
    };
    let report = crate::demo::run(&dir, frames).await?;
    Ok(if report.result.outcome == Outcome::Approved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
