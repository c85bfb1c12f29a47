//! `smartpos demo`: the end-to-end sale on the simulated terminal.

use smartpos_core::payment::Outcome;
use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos demo` failed.
    DemoError {
        /// A driver failed.
        Driver(smartpos_core::hal::HalError),
        /// The journal failed.
        Journal(smartpos_terminal::journal::JournalError),
        /// A key is not valid.
        Key(smartpos_core::crypto::KeyError),
        /// An amount is not valid.
        Money(smartpos_core::money::MoneyError),
        /// The host simulator failed.
        Simulator(smartpos_testing::server::SimError),
        /// The terminal failed outside a payment outcome.
        Terminal(smartpos_terminal::TerminalError),
        /// The host link could not be set up.
        Transport(smartpos_terminal::transport::TransportError),
    }
);

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
pub async fn run(args: Args) -> Result<ExitCode, DemoError> {
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
