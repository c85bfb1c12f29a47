//! `smartpos`: demo, host simulator.

use clap::{Parser, Subcommand};
use smartpos_cli::server::{self, SimConfig};
use smartpos_core::payment::Outcome;
use smartpos_core::profile::AcquirerProfile;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "smartpos",
    version,
    about = "smartpos acquiring SDK: demo, host simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// End-to-end demo: in-process host simulator, simulated terminal, sign-in and a 12.34 CNY sale.
    Demo {
        /// Directory for the terminal's data and the receipt PNG (default: a new temporary directory, kept).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Append every host frame as a JSON line to this file.
        #[arg(long)]
        frames: Option<PathBuf>,
    },
    /// ISO 8583 tools.
    #[command(subcommand)]
    Iso8583(IsoCommand),
    /// Run the acquirer host simulator (HTTPS, ISO 8583 CUP POS profile).
    HostSim {
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
        faults: Vec<smartpos_cli::faults::Fault>,
    },
}

#[derive(Subcommand)]
enum IsoCommand {
    /// Decode a frame (hex, length prefix included) to JSON. Card data is masked unless --unmasked.
    Decode {
        /// The frame in hex.
        hex: String,
        /// Show card data in clear (test cards only).
        #[arg(long)]
        unmasked: bool,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMARTPOS_LOG")
        .unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smartpos: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cmd: Command) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    match cmd {
        Command::Iso8583(IsoCommand::Decode { hex, unmasked }) => {
            let bytes = hex::decode(hex.trim()).map_err(|e| format!("frame is not hex: {e}"))?;
            let json = smartpos_cli::decode::frame_to_json(&bytes, unmasked)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out, frames } => {
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
            let report = smartpos_cli::demo::run(&dir, frames).await?;
            Ok(if report.result.outcome == Outcome::Approved {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::HostSim {
            bind,
            state,
            frames,
            profile,
            faults,
        } => {
            let profile = match profile {
                Some(p) => AcquirerProfile::from_json(&std::fs::read_to_string(&p)?)?,
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
    }
}
