//! `smartpos host-sim`: the acquirer host simulator over HTTPS.

use smartpos_core::profile::AcquirerProfile;
use smartpos_testing::server::{self, SimConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos host-sim` failed.
    HostSimError {
        /// The host simulator failed.
        Simulator(smartpos_testing::server::SimError),
    }
);

/// Run the acquirer host simulator (HTTPS, ISO 8583 CUP POS profile).
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8583")]
    bind: SocketAddr,
    /// Keep certificates and the ledger here across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Append every request and response frame as a JSON line to this file.
    #[arg(long)]
    frames: Option<PathBuf>,
    /// Acquirer profile (JSON); default: the CUP defaults.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Faults for successive financial requests, comma-separated: tamper-mac, wrong-trace,
    /// never-answer, garbage, drop-after-commit, drop-before-commit, late-MS, none.
    #[arg(long, value_delimiter = ',')]
    faults: Vec<smartpos_testing::faults::Fault>,
    /// Also know this many terminals, ids 20000001 on (for `smartpos load`).
    #[arg(long, default_value_t = 0)]
    load_terminals: u32,
}

/// Runs `smartpos host-sim` until Ctrl-C.
pub async fn run(args: Args) -> Result<ExitCode, HostSimError> {
    let Args {
        bind,
        state,
        frames,
        profile,
        faults,
        load_terminals,
    } = args;
    let profile = match profile {
        Some(p) => super::read_profile(&p)?,
        None => AcquirerProfile::cup_default(),
    };
    let config = SimConfig {
        bind,
        state_dir: state.clone(),
        frames,
        profile,
        faults,
    };
    let host = server::start(config).await?;
    host.acquirer
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .register_terminals(super::load::FIRST_TERMINAL_ID, load_terminals);
    println!("host simulator listening on {}", host.url);
    match &state {
        Some(dir) => println!("CA certificate: {}", dir.join("ca.pem").display()),
        None => println!(
            "CA certificate (pin this in the terminal):\n{}",
            host.ca_pem
        ),
    }
    tokio::signal::ctrl_c().await?;
    host.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
