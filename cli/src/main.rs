//! `smartpos`: the command line. This file only parses and dispatches; each command family is a
//! module of `smartpos_cli::cmd` with its arguments and its `run`.

use clap::{Parser, Subcommand};
use smartpos_cli::cmd;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: the host simulator and the load generator allocate per
/// request, and glibc's allocator took about 15 % of a load run's CPU (`sdk-docs`: load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "smartpos",
    version,
    about = "smartpos: the acquiring SDK's command line: demo, simulated terminal, host simulator, app market and APK verification, HAL conformance, reconciliation, ISO 8583 tools, benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// End-to-end demo: in-process host simulator, simulated terminal, sign-in and a 12.34 CNY sale.
    Demo(cmd::demo::Args),
    /// ISO 8583 tools.
    #[command(subcommand)]
    Iso8583(cmd::iso8583::Command),
    /// A simulated terminal for scripting: state in --data-dir, host simulator at --host.
    Terminal(cmd::terminal::Args),
    /// Hardware abstraction tools for vendors and the bank.
    #[command(subcommand)]
    Hal(cmd::hal::Command),
    /// Android APK signature verification, as a terminal at an SDK level would do it.
    #[command(subcommand)]
    Apk(cmd::apk::Command),
    /// The bank app market: keys, signing approved APKs, verification, revocation.
    #[command(subcommand)]
    Market(cmd::market::Command),
    /// Measure a sale: the engine alone (CPU), journal commits (fsync), end to end (loopback);
    /// with --codec, ISO 8583 encode+decode beside pyiso8583 in the same run. Use --release.
    Bench(cmd::bench::Args),
    /// Write the host simulator's settlement file (JSON) from its state directory.
    SettlementFile(cmd::settlement_file::Args),
    /// Verify a signed result deep link against a terminal's public key (and, given the request
    /// or its order, amount and hash, that it answers that request).
    VerifyResult(cmd::verify_result::Args),
    /// Build a merchant app's payment request (deep link or intent extras) with a fresh nonce and
    /// expiry, checked by the terminal's own parser.
    Request(cmd::request::Args),
    /// Run the acquirer host simulator (HTTPS, ISO 8583 CUP POS profile).
    HostSim(cmd::host_sim::Args),
    /// Drive a CUP host with many simulated terminals (real 0200s with MACs) at a rate, for a
    /// time or a count; report TPS, latency percentiles, declines, and the settlement check.
    Load(cmd::load::Args),
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMARTPOS_LOG")
        .unwrap_or_else(|_| "warn".into());
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: logs written to files and pipes stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
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

async fn run(command: Command) -> Result<ExitCode, cmd::CliError> {
    match command {
        Command::Demo(args) => Ok(cmd::demo::run(args).await?),
        Command::Iso8583(c) => Ok(cmd::iso8583::run(c)?),
        Command::Terminal(args) => Ok(cmd::terminal::run(args).await?),
        Command::Hal(c) => Ok(cmd::hal::run(c)?),
        Command::Apk(c) => Ok(cmd::apk::run(c)?),
        Command::Market(c) => Ok(cmd::market::run(c)?),
        Command::Bench(args) => Ok(cmd::bench::run(args).await?),
        Command::SettlementFile(args) => Ok(cmd::settlement_file::run(args)?),
        Command::VerifyResult(args) => Ok(cmd::verify_result::run(&args)),
        Command::Request(args) => Ok(cmd::request::run(&args)?),
        Command::HostSim(args) => Ok(cmd::host_sim::run(args).await?),
        Command::Load(args) => Ok(cmd::load::run(args).await?),
    }
}
