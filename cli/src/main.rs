//! `smartpos`: the command line (clap front end; each command family's work is in the library).

use clap::{Parser, Subcommand};
use smartpos_core::payment::Outcome;
use smartpos_core::profile::AcquirerProfile;
use smartpos_testing::server::{self, SimConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// A simulated terminal for scripting: state in --data-dir, host simulator at --host.
    Terminal {
        /// The terminal's data directory (created with a new terminal key and default allow-list).
        #[arg(long)]
        data_dir: PathBuf,
        /// Host URL, e.g. https://127.0.0.1:8583/.
        #[arg(long)]
        host: Option<String>,
        /// The bank CA to pin (default: DATA_DIR/ca.pem).
        #[arg(long)]
        ca: Option<PathBuf>,
        /// How long to wait for the host, in milliseconds.
        #[arg(long, default_value_t = 30_000)]
        host_timeout_ms: u64,
        /// Acquirer profile (JSON), the same file the host simulator reads; default: the CUP defaults.
        #[arg(long)]
        profile: Option<PathBuf>,
        #[command(subcommand)]
        command: Box<TerminalCommand>,
    },
    /// Hardware abstraction tools for vendors and the bank.
    #[command(subcommand)]
    Hal(HalCommand),
    /// Android APK signature verification, as a terminal at an SDK level would do it.
    #[command(subcommand)]
    Apk(ApkCommand),
    /// The bank app market: keys, signing approved APKs, verification, revocation.
    #[command(subcommand)]
    Market(MarketCommand),
    /// Measure a sale: the engine alone (CPU), journal commits (fsync), end to end (loopback);
    /// with --codec, ISO 8583 encode+decode beside pyiso8583 in the same run. Use --release.
    Bench {
        /// Sales per measurement.
        #[arg(long, default_value_t = 300)]
        sales: usize,
        /// Measure the ISO 8583 codec against pyiso8583 instead (ratio printed).
        #[arg(long)]
        codec: bool,
        /// Measure APK verification on a large APK against apksigner, apkverifier and one SHA-256 pass.
        #[arg(long)]
        apk: bool,
        /// Size of the --apk asset, MiB.
        #[arg(long, default_value_t = 100)]
        apk_mb: usize,
        /// Encode+decode pairs for --codec.
        #[arg(long, default_value_t = 200_000)]
        pairs: usize,
        /// Python with pyiso8583 for --codec (default: SMARTPOS_PYTHON, .cache/venv, python3).
        #[arg(long)]
        python: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Write the host simulator's settlement file (JSON) from its state directory.
    SettlementFile {
        /// The simulator's --state directory.
        #[arg(long)]
        state: PathBuf,
        /// Only this terminal.
        #[arg(long)]
        terminal: Option<String>,
        /// Where to write it (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a signed result deep link against a terminal's public key (and, given the request
    /// or its order, amount and hash, that it answers that request).
    VerifyResult(smartpos_cli::cmd::verify_result::Args),
    /// Build a merchant app's payment request (deep link or intent extras) with a fresh nonce and
    /// expiry, checked by the terminal's own parser.
    Request(smartpos_cli::cmd::request::Args),
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
        faults: Vec<smartpos_testing::faults::Fault>,
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
        /// Acquirer profile (JSON) whose field table to use (SM4 profiles carry a 16-byte F52);
        /// default: the CUP defaults.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Print the specification of every message the terminal sends (Markdown, generated from
    /// the field table and the message catalogue: `sdk-docs/src/bank/messages.md`).
    Spec {
        /// Acquirer profile (JSON) whose field table to use; default: the CUP defaults.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum HalCommand {
    /// Run the driver conformance kit against the simulated drivers (exit 1 on any failure).
    Conformance {
        /// Plant a broken contract to see the kit catch it.
        #[arg(long, value_enum)]
        r#break: Option<smartpos_cli::hal_cmd::Breakage>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Check a device against the bank's compliance profile (exit 1 when non-compliant).
    Compliance {
        /// Compliance profile (JSON); default: the built-in profile.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Device information (JSON); default: the simulated device.
        #[arg(long)]
        device: Option<PathBuf>,
    },
}

/// What every transaction command takes: the order, the calling app, the customer, output form.
#[derive(clap::Args, Clone)]
struct OrderArgs {
    /// Merchant order id.
    #[arg(long)]
    order: String,
    /// Calling app package recorded with the order.
    #[arg(long, default_value = "com.example.merchant")]
    caller: String,
    #[command(flatten)]
    customer: CustomerArgs,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Clone)]
struct CustomerArgs {
    /// Test card number presented (see sdk-docs: test cards).
    #[arg(long, default_value = "6222021234567890123")]
    card: String,
    /// PIN typed on the PIN pad.
    #[arg(long, default_value = "123456")]
    pin: String,
    /// The customer cancels at the card prompt.
    #[arg(long)]
    cancel: bool,
}

/// How the customer pays at the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PayMethod {
    /// Bank card (ISO 8583 host).
    Card,
    /// The terminal scans the customer's payment code (give it with --code).
    QrScan,
    /// The terminal shows one code for every wallet and waits until it is paid.
    QrDisplay,
}

impl CustomerArgs {
    fn customer(&self) -> smartpos_cli::terminal_cmd::Customer {
        smartpos_cli::terminal_cmd::Customer {
            card: self.card.clone(),
            pin: self.pin.clone(),
            cancel: self.cancel,
            qr_code: None,
        }
    }
}

#[derive(Subcommand)]
enum MarketCommand {
    /// Create the bank root key (unless KEYS has one) and a new market key certified by it.
    Keygen {
        /// Key directory.
        #[arg(long)]
        keys: PathBuf,
        /// Name of the new market key (rotation: run again with a new name).
        #[arg(long, default_value = "market-1")]
        key_id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Sign an approved APK: grants, package and version code from its manifest. Writes the
    /// signed APK to `--out` (never over an existing file without `--force`), or rewrites the
    /// input with `--in-place`; one of the two is required.
    Sign {
        /// The APK.
        file: PathBuf,
        /// Where to write the signed APK.
        #[arg(
            long,
            conflicts_with = "in_place",
            required_unless_present = "in_place"
        )]
        out: Option<PathBuf>,
        /// Rewrite the input APK itself.
        #[arg(long)]
        in_place: bool,
        /// Replace an existing `--out` file.
        #[arg(long)]
        force: bool,
        /// Key directory.
        #[arg(long)]
        keys: PathBuf,
        /// Payment types granted, e.g. sale,void,refund,query.
        #[arg(long, default_value = "")]
        payments: String,
        /// Devices granted: printer,scanner,card_reader.
        #[arg(long, default_value = "")]
        devices: String,
        /// The Android signature must verify at this SDK level.
        #[arg(long, default_value_t = 28)]
        sdk: u32,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Verify as the terminal's installer would. Exit 1 when refused.
    Verify {
        /// The APK.
        file: PathBuf,
        /// The bank root public key: hex, or a file holding it.
        #[arg(long)]
        root: String,
        /// A revocation list signed by the root.
        #[arg(long)]
        revocations: Option<PathBuf>,
        /// The terminal's revocation state directory: the newest list seen is kept there and
        /// an older `--revocations` is refused.
        #[arg(long)]
        trust_state: Option<PathBuf>,
        /// Refuse unless the revocation list in force has at least this serial.
        #[arg(long)]
        known_serial: Option<u64>,
        /// The terminal's SDK level.
        #[arg(long, default_value_t = 28)]
        sdk: u32,
        /// Package name the installer reports.
        #[arg(long, requires = "version_code")]
        package: Option<String>,
        /// Version code the installer reports.
        #[arg(long, requires = "package")]
        version_code: Option<u64>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Write a revocation list signed by the root.
    Revoke {
        /// Key directory (root.key).
        #[arg(long)]
        keys: PathBuf,
        /// Serial (must increase).
        #[arg(long)]
        serial: u64,
        /// Withdraw an app version: PACKAGE:VERSION_CODE (repeatable).
        #[arg(long)]
        app: Vec<String>,
        /// Withdraw a market key by name (repeatable).
        #[arg(long)]
        market_key: Vec<String>,
        /// Output file (never replaced without `--force`).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ApkCommand {
    /// The Android-signature verdict alone: schemes found, signers, reason. Exit 1 when refused.
    Verify {
        /// The APK.
        file: PathBuf,
        /// Verify as a terminal at this SDK level (repeatable); default: every level the bank's
        /// fleet runs, 24 (Android 7), 28 (9) and 33 (13). Accepted only when accepted at all.
        #[arg(long)]
        sdk: Vec<u32>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// The Android API levels the bank's terminal fleet runs (Android 7, 9 and 13).
const FLEET_SDK_LEVELS: [u32; 3] = [24, 28, 33];

#[derive(Subcommand)]
enum TerminalCommand {
    /// Print the terminal's result-signing public key (hex).
    PublicKey,
    /// Sign in (0800/0810).
    SignIn {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Sign out (0820/002).
    SignOut,
    /// Echo test (0820/301).
    Echo,
    /// Restart recovery: settle interrupted transactions, sign in, send pending reversals.
    Recover {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Rebuild a refused journal from the bank: the refused files are kept as
        /// `*.refused-<unix>` and a new journal holds every transaction of the settlement file.
        #[arg(long, requires = "settlement")]
        from_host: bool,
        /// The acquirer's settlement file for this terminal (with `--from-host`).
        #[arg(long)]
        settlement: Option<PathBuf>,
        /// Rebuild even though the journal opens and verifies (its order ids are then lost).
        #[arg(long, requires = "from_host")]
        force: bool,
    },
    /// A card sale.
    Sale {
        /// Amount in CNY, e.g. 12.34.
        #[arg(long)]
        amount: String,
        /// Merchant order id.
        #[arg(long)]
        order: String,
        /// Calling app package recorded with the order.
        #[arg(long, default_value = "com.example.merchant")]
        caller: String,
        #[command(flatten)]
        customer: CustomerArgs,
        /// Card, or a QR flow.
        #[arg(long, value_enum, default_value = "card")]
        method: PayMethod,
        /// qr-scan: the customer's payment code, as the scanner reads it.
        #[arg(long, required_if_eq("method", "qr-scan"))]
        code: Option<String>,
        /// qr-display: also write the shown code as PNG here.
        #[arg(long)]
        qr_png: Option<PathBuf>,
        /// qr-display: print the code on the simulated receipt printer and save the slip as PNG.
        #[arg(long)]
        slip_png: Option<PathBuf>,
        /// Print the receipt on the simulated printer and write it here as PNG.
        #[arg(long)]
        receipt_png: Option<PathBuf>,
        /// The simulated printer is out of paper (the sale stands; the receipt fails).
        #[arg(long)]
        paper_out: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Create a customer-scans-merchant code for an order without waiting; print its payload.
    /// The order stays open at the gateway; `query` or `recover` settles it later.
    QrCode {
        /// Amount in CNY.
        #[arg(long)]
        amount: String,
        /// Merchant order id.
        #[arg(long)]
        order: String,
        /// Calling app package recorded with the order.
        #[arg(long, default_value = "com.example.merchant")]
        caller: String,
        /// Write the code as PNG here.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Void an approved sale of the current batch.
    Void {
        /// Retrieval reference of the sale.
        #[arg(long)]
        orig_ref: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Refund (part of) an approved sale.
    Refund {
        /// Retrieval reference of the sale.
        #[arg(long)]
        orig_ref: String,
        /// Amount in CNY, e.g. 5.00.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Balance inquiry: card and PIN, the balance comes back (no money moves).
    Balance {
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Pre-authorization: a hold on the card.
    Preauth {
        /// Amount in CNY.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Release a pre-authorization's hold.
    PreauthVoid {
        /// Retrieval reference of the pre-authorization.
        #[arg(long)]
        orig_ref: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Complete a pre-authorization (at most 115 % of the hold).
    PreauthComplete {
        /// Retrieval reference of the pre-authorization.
        #[arg(long)]
        orig_ref: String,
        /// Amount in CNY.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Void a completion of the current batch.
    CompleteVoid {
        /// Retrieval reference of the completion.
        #[arg(long)]
        orig_ref: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// The journal record of an order.
    Query {
        /// Merchant order id.
        #[arg(long)]
        order: String,
        /// Calling app package.
        #[arg(long, default_value = "com.example.merchant")]
        caller: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Settle the current batch (0500; batch upload when the host disagrees).
    Settle {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Batch totals by type and channel, and what is still unknown.
    Totals {
        /// Batch (default: the current one).
        #[arg(long)]
        batch: Option<u32>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One calling app's statement (masked PANs).
    Statement {
        /// The calling app's package.
        #[arg(long)]
        caller: String,
        /// `json` or `csv`.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Compare the journal with the acquirer's settlement file (exit 1 when they differ).
    Reconcile {
        /// The settlement file (from `smartpos settlement-file`).
        #[arg(long)]
        settlement: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Every journal record; with `--verify`, check the journal's record chain and anchor
    /// (exit 1 and the first bad record when it fails).
    Journal {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Only verify the journal's integrity (record chain, rows, anchor).
        #[arg(long)]
        verify: bool,
    },
    /// Process one handoff request (deep link) and print the signed return deep link.
    HandleRequest {
        /// The smartpos://pay/v1?... deep link.
        #[arg(long)]
        uri: String,
        /// Caller package as the OS reports it.
        #[arg(long)]
        caller_package: String,
        /// Caller signing-certificate SHA-256 (hex), as the OS reports it; repeatable.
        #[arg(long, required = true)]
        caller_cert_sha256: Vec<String>,
        #[command(flatten)]
        customer: CustomerArgs,
        /// The payment code the customer shows the scanner (method=qr_scan).
        #[arg(long)]
        qr_code: Option<String>,
    },
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

async fn run(cmd: Command) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    match cmd {
        Command::Iso8583(IsoCommand::Decode {
            hex,
            unmasked,
            profile,
        }) => {
            let bytes = hex::decode(hex.trim()).map_err(|e| format!("frame is not hex: {e}"))?;
            let profile = match profile {
                Some(p) => read_profile(&p)?,
                None => AcquirerProfile::cup_default(),
            };
            let json = smartpos_cli::decode::frame_to_json(&bytes, profile.fields(), unmasked)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Iso8583(IsoCommand::Spec { profile }) => {
            let profile = match profile {
                Some(p) => read_profile(&p)?,
                None => AcquirerProfile::cup_default(),
            };
            print!(
                "{}",
                smartpos_core::iso8583::catalog::render_markdown(profile.fields())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Market(cmd) => market(cmd),
        Command::Apk(ApkCommand::Verify { file, sdk, json }) => {
            let levels = if sdk.is_empty() {
                FLEET_SDK_LEVELS.to_vec()
            } else {
                sdk
            };
            let mut verdicts = Vec::new();
            for level in &levels {
                let v = smartpos_apk::Apk::open(&file).and_then(|mut a| a.verify(*level));
                verdicts.push((*level, v));
            }
            let refused = verdicts.iter().find(|(_, v)| v.is_err());
            let accepted = refused.is_none();
            let shown: Vec<String> = levels.iter().map(u32::to_string).collect();
            if json {
                let per_level: Vec<serde_json::Value> = verdicts
                    .iter()
                    .map(|(l, v)| match v {
                        Ok(v) => serde_json::json!({"sdk": l, "accepted": true, "verdict": v}),
                        Err(e) => serde_json::json!({"sdk": l, "accepted": false, "reason": e.to_string()}),
                    })
                    .collect();
                let mut out = serde_json::json!({"accepted": accepted, "levels": per_level});
                match refused {
                    Some((l, Err(e))) => {
                        out["sdk"] = (*l).into();
                        out["reason"] = e.to_string().into();
                    }
                    _ => {
                        if let Some((_, Ok(v))) = verdicts.last() {
                            out["verdict"] = serde_json::to_value(v)?;
                        }
                    }
                }
                println!("{out}");
            } else {
                match refused {
                    Some((l, Err(e))) => println!(
                        "refused at SDK {l}: {e} (checked at SDK {})",
                        shown.join(", ")
                    ),
                    _ => {
                        if let Some((_, Ok(v))) = verdicts.last() {
                            println!(
                                "accepted at SDK {}: scheme {:?} at SDK {} (found {:?})",
                                shown.join(", "),
                                v.scheme,
                                levels.last().unwrap_or(&0),
                                v.schemes_found
                            );
                            for c in &v.signer_cert_sha256 {
                                println!("  signer certificate SHA-256 {c}");
                            }
                            if !v.lineage_sha256.is_empty() {
                                println!("  rotation lineage: {}", v.lineage_sha256.join(" -> "));
                            }
                        }
                    }
                }
            }
            Ok(if accepted {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Hal(HalCommand::Conformance { r#break, json }) => {
            let report = smartpos_cli::hal_cmd::conformance(r#break);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for c in &report.checks {
                    println!(
                        "{} {:<32} {}",
                        if c.passed { "PASS" } else { "FAIL" },
                        c.id,
                        c.contract
                    );
                    if !c.passed {
                        println!("     {}", c.detail);
                        println!("     contract: {}", c.section);
                    }
                }
                let failed = report.failures().len();
                println!("{} passed, {} failed", report.checks.len() - failed, failed);
            }
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Hal(HalCommand::Compliance { profile, device }) => {
            use smartpos_core::hal::DeviceInfoProvider;
            let profile = match profile {
                Some(p) => serde_json::from_str(&std::fs::read_to_string(&p)?)
                    .map_err(|e| format!("profile {}: {e}", p.display()))?,
                None => smartpos_hal::compliance::ComplianceProfile::default(),
            };
            let device = match device {
                Some(p) => serde_json::from_str(&std::fs::read_to_string(&p)?)
                    .map_err(|e| format!("device {}: {e}", p.display()))?,
                None => smartpos_testing::sim::SimDevice::default().device_information(),
            };
            let failures = smartpos_cli::hal_cmd::compliance(&profile, &device);
            if failures.is_empty() {
                println!(
                    "compliant: {} {} (Android {}, patch {})",
                    device.vendor, device.model, device.os_version, device.security_patch
                );
                Ok(ExitCode::SUCCESS)
            } else {
                println!("NON-COMPLIANT: {} {}", device.vendor, device.model);
                for f in failures {
                    println!("  - {f}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Bench {
            apk: true,
            apk_mb,
            json,
            ..
        } => {
            let r = smartpos_cli::bench_apk::run(apk_mb, 3)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let ratio = r.smartpos_ms / r.sha256_ms;
                println!(
                    "APK of {:.0} MiB (stored random asset, v2+v3, market-signed), median of 3:",
                    r.size as f64 / 1048576.0
                );
                println!(
                    "  smartpos (Android + market signature) {:>8.0} ms",
                    r.smartpos_ms
                );
                println!("  one SHA-256 pass                      {:>8.0} ms   smartpos / SHA-256 = {ratio:.2}x [target <= 1.25x: {}]", r.sha256_ms, if ratio <= 1.25 { "met" } else { "MISSED" });
                let s = r.apksigner_ms / r.smartpos_ms;
                println!("  apksigner verify                      {:>8.0} ms   {s:.1}x slower than smartpos [target >= 8x: {}]", r.apksigner_ms, if s >= 8.0 { "met" } else { "MISSED" });
                println!("  apkverifier                           {:>8.0} ms   {:.1}x slower than smartpos", r.apkverifier_ms, r.apkverifier_ms / r.smartpos_ms);
                println!(
                    "  small APK, process CPU per verification {:.2} ms [target < 5 ms: {}]",
                    r.small_cpu_ms,
                    if r.small_cpu_ms < 5.0 {
                        "met"
                    } else {
                        "MISSED"
                    }
                );
                println!(
                    "  peak resident memory of this process  {} MiB (the APK is never read whole)",
                    r.peak_rss_kib / 1024
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            codec: true,
            pairs,
            python,
            json,
            ..
        } => {
            let python = python.unwrap_or_else(smartpos_cli::bench::default_python);
            let r = smartpos_cli::bench::codec(pairs, &python)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let met = r.smartpos_reused_pairs_per_sec >= 1_000_000.0;
                println!(
                    "ISO 8583 sale request + response, encode + decode, one core ({} pairs):",
                    r.pairs
                );
                println!(
                    "  smartpos   {:>12.0} pairs/s  (a new buffer for every frame)",
                    r.smartpos_pairs_per_sec
                );
                println!(
                    "  smartpos   {:>12.0} pairs/s  (buffers reused)  [target >= 1,000,000: {}]",
                    r.smartpos_reused_pairs_per_sec,
                    if met { "met" } else { "MISSED" }
                );
                println!(
                    "  pyiso8583  {:>12.0} pairs/s  (version {}, same frames, same run)",
                    r.pyiso8583_pairs_per_sec, r.pyiso8583_version
                );
                println!("  ratio      {:>12.1}x", r.ratio);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { sales, json, .. } => {
            let r = smartpos_cli::bench::run(sales).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let ok = r.engine_sale.median_us < 1000.0;
                println!("sales per measurement: {}", r.sales);
                println!(
                    "engine alone (sans-IO, in-memory host and journal), per sale: median {:.0} us, p99 {:.0} us  [target < 1000 us: {}]",
                    r.engine_sale.median_us,
                    r.engine_sale.p99_us,
                    if ok { "met" } else { "MISSED" }
                );
                println!(
                    "journal commit (WAL, synchronous=FULL): median {:.0} us, p99 {:.0} us; {} commits per sale",
                    r.journal_commit.median_us, r.journal_commit.p99_us, r.commits_per_sale
                );
                println!(
                    "end-to-end sale (loopback HTTPS, instant simulated drivers): median {:.2} ms, p99 {:.2} ms",
                    r.e2e_sale.median_us / 1000.0,
                    r.e2e_sale.p99_us / 1000.0
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SettlementFile {
            state,
            terminal,
            out,
        } => {
            let path = state.join("host-state.json");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let st: smartpos_testing::acquirer::HostState = serde_json::from_str(&text)
                .map_err(|e| format!("{} is invalid: {e}", path.display()))?;
            let json = serde_json::to_string_pretty(&st.settlement_lines(terminal.as_deref()))?;
            match out {
                Some(p) => std::fs::write(p, json)?,
                None => println!("{json}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyResult(args) => Ok(smartpos_cli::cmd::verify_result::run(&args)),
        Command::Request(args) => Ok(smartpos_cli::cmd::request::run(&args)?),
        Command::Terminal {
            data_dir,
            host,
            ca,
            host_timeout_ms,
            profile,
            command,
        } => {
            smartpos_cli::terminal_cmd::set_host_timeout(std::time::Duration::from_millis(
                host_timeout_ms,
            ));
            if let Some(p) = profile {
                smartpos_cli::terminal_cmd::set_profile(read_profile(&p)?);
            }
            terminal(data_dir, host, ca, *command).await
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
                Some(p) => read_profile(&p)?,
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

async fn terminal(
    data_dir: PathBuf,
    host: Option<String>,
    ca: Option<PathBuf>,
    command: TerminalCommand,
) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    use smartpos_cli::terminal_cmd::{build_terminal, handle_request, parse_cny, DataDir};
    let dir = DataDir::open(&data_dir)?;
    let host_and_ca = || -> Result<(String, Vec<u8>), Box<dyn std::error::Error + Send + Sync>> {
        let host = host
            .clone()
            .ok_or("--host URL is required for this command")?;
        let ca_path = ca.clone().unwrap_or_else(|| data_dir.join("ca.pem"));
        let pem = std::fs::read(&ca_path)
            .map_err(|e| format!("cannot read CA {}: {e}", ca_path.display()))?;
        Ok((host, pem))
    };
    // A terminal for a transaction command: built on the data directory and signed in.
    let online = async |o: &OrderArgs| -> Result<
        smartpos_terminal::Terminal,
        Box<dyn std::error::Error + Send + Sync>,
    > {
        let (host, pem) = host_and_ca()?;
        let mut t = build_terminal(&dir, &host, &pem, &o.customer.customer())?;
        t.sign_in().await?;
        Ok(t)
    };
    match command {
        TerminalCommand::PublicKey => {
            println!("{}", dir.terminal_key()?.public_hex());
        }
        TerminalCommand::Recover {
            json,
            from_host: true,
            settlement: Some(settlement),
            force,
        } => {
            let lines = read_settlement(&settlement)?;
            // Only a refused journal is rebuilt: an intact one holds the merchants' order ids.
            if !force && dir.journal().is_ok() {
                return Err(format!(
                    "the journal in {} opens and verifies: nothing to rebuild (--force to rebuild it anyway, losing its order ids)",
                    data_dir.display()
                )
                .into());
            }
            let tid = smartpos_core::engine::EngineConfig::demo()
                .identity
                .terminal_id;
            let (_, rebuilt) = smartpos_terminal::journal::Journal::rebuild_from_host(
                &dir.journal_path(),
                &lines,
                &tid,
                "CNY",
                smartpos_cli::terminal_cmd::unix_now(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&rebuilt)?);
            } else {
                println!(
                    "journal rebuilt from the bank: {} transactions, batch {:06}, next trace {:06}; refused files kept: {}",
                    rebuilt.imported,
                    rebuilt.batch,
                    rebuilt.next_trace,
                    rebuilt
                        .kept
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        TerminalCommand::Recover { json, .. } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            let recovered = t.recovery().clone();
            t.resolve_qr().await?;
            t.sign_in().await?;
            let pending_error = t.flush_reversals().await.err().map(|e| e.to_string());
            let entries = t.journal().entries()?;
            let unresolved = entries.iter().filter(|e| e.reversal_pending).count()
                + t.journal().qr_unresolved()?.len();
            if json {
                let v = serde_json::json!({"recovered": recovered, "reversals_pending": unresolved, "error": pending_error});
                println!("{v}");
            } else {
                println!(
                    "recovered: {} interrupted before sending, {} after; reversals still pending: {unresolved}",
                    recovered.interrupted_before_send, recovered.interrupted_after_send
                );
                if let Some(e) = &pending_error {
                    println!("reversal not sent: {e}");
                }
            }
            return Ok(if unresolved == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        TerminalCommand::SignOut | TerminalCommand::Echo => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            if matches!(command, TerminalCommand::SignOut) {
                t.sign_in().await?;
                t.sign_out().await?;
                println!("signed out");
            } else {
                t.echo().await?;
                println!("host answered the echo test");
            }
        }
        TerminalCommand::SignIn { json } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            let batch = t.sign_in().await?;
            if json {
                println!("{}", serde_json::json!({"signed_in": true, "batch": batch}));
            } else {
                println!("signed in, batch {batch:06}");
            }
        }
        TerminalCommand::Sale {
            amount,
            order,
            caller,
            customer,
            method,
            code,
            qr_png,
            slip_png,
            receipt_png,
            paper_out,
            json,
        } => {
            let (host, pem) = host_and_ca()?;
            let mut who = customer.customer();
            who.qr_code = code;
            let mut t = build_terminal(&dir, &host, &pem, &who)?;
            let amount = parse_cny(&amount)?;
            let r = match method {
                PayMethod::Card => {
                    t.sign_in().await?;
                    let req = smartpos_core::payment::PaymentRequest::sale(&caller, &order, amount);
                    t.sale(req).await?
                }
                PayMethod::QrScan => t.qr_scan_sale(&caller, &order, amount).await?,
                PayMethod::QrDisplay => {
                    let identity = t.config().identity.clone();
                    let order_id = order.clone();
                    let mut show = move |payload: &str| {
                        eprintln!("show this code: {payload}");
                        if let Some(path) = &qr_png {
                            if let Err(e) = write_qr_png(payload, path) {
                                eprintln!("QR image not written: {e}");
                            }
                        }
                        if let Some(path) = &slip_png {
                            // the printer is a convenience: a failure never stops the payment
                            use smartpos_core::hal::Printer;
                            let job = smartpos_core::receipt::qr_payment_slip(
                                payload, &amount, &order_id, &identity,
                            );
                            let printer = smartpos_testing::sim::SimPrinter::default();
                            let printed = printer
                                .print(&job)
                                .map_err(|e| e.to_string())
                                .and_then(|()| smartpos_hal::render::render_png(&job))
                                .and_then(|png| {
                                    std::fs::write(path, png).map_err(|e| e.to_string())
                                });
                            if let Err(e) = printed {
                                eprintln!("slip not printed: {e}");
                            }
                        }
                    };
                    t.qr_display_sale(&caller, &order, amount, &mut show)
                        .await?
                }
            };
            if receipt_png.is_some() || paper_out {
                use smartpos_core::hal::Printer;
                let printer = smartpos_testing::sim::SimPrinter::default();
                if paper_out {
                    printer.set_status(smartpos_core::hal::PaperStatus::OutOfPaper);
                }
                let job = smartpos_core::receipt::receipt_job(
                    &r,
                    &t.config().identity,
                    smartpos_core::receipt::Copy::Merchant,
                    None,
                );
                match printer.print(&job) {
                    Ok(()) => {
                        if let Some(path) = &receipt_png {
                            std::fs::write(path, smartpos_hal::render::render_png(&job)?)?;
                        }
                    }
                    // The payment outcome stands; the receipt can be reprinted from the journal.
                    Err(e) => eprintln!("receipt not printed: {e}"),
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} {} {} ref={} auth={}",
                    r.order_id,
                    serde_json::to_string(&r.outcome)?,
                    r.amount,
                    r.reference.as_deref().unwrap_or("-"),
                    r.auth_code.as_deref().unwrap_or("-")
                );
            }
            return Ok(if r.outcome == Outcome::Approved {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        TerminalCommand::QrCode {
            amount,
            order,
            caller,
            png,
        } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            let payload = t.qr_code(&caller, &order, parse_cny(&amount)?).await?;
            if let Some(path) = &png {
                write_qr_png(&payload, path)?;
            }
            println!("{payload}");
        }
        TerminalCommand::Query {
            order,
            caller,
            json,
        } => {
            // An open QR order is asked about at the gateway first (when a host is given).
            if let Ok((h, pem)) = host_and_ca() {
                let open = dir
                    .journal()?
                    .find_by_order(&caller, &order)?
                    .is_some_and(|e| {
                        e.method != "card"
                            && matches!(
                                e.state,
                                smartpos_terminal::journal::TxnState::Sent
                                    | smartpos_terminal::journal::TxnState::Unknown
                            )
                    });
                if open {
                    let mut t = build_terminal(&dir, &h, &pem, &Default::default())?;
                    if let Err(e) = t.resolve_qr().await {
                        eprintln!("gateway not reached: {e}");
                    }
                }
            }
            let j = dir.journal()?;
            match j.find_by_order(&caller, &order)? {
                Some(e) if json => println!("{}", serde_json::to_string_pretty(&e)?),
                Some(e) => println!(
                    "{} {:?} {} {} trace={:06} batch={:06}",
                    e.order_id, e.state, e.amount_minor, e.currency, e.trace, e.batch
                ),
                None => {
                    println!("not found");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        TerminalCommand::Void { orig_ref, o } => {
            let mut t = online(&o).await?;
            return print_result(&t.void(&o.caller, &o.order, &orig_ref).await?, o.json);
        }
        TerminalCommand::Refund {
            orig_ref,
            amount,
            o,
        } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.refund(&o.caller, &o.order, &orig_ref, parse_cny(&amount)?)
                    .await?,
                o.json,
            );
        }
        TerminalCommand::Balance { o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.balance(&o.caller, &o.order, smartpos_core::money::Currency::CNY)
                    .await?,
                o.json,
            );
        }
        TerminalCommand::Preauth { amount, o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.preauth(&o.caller, &o.order, parse_cny(&amount)?).await?,
                o.json,
            );
        }
        TerminalCommand::PreauthVoid { orig_ref, o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.preauth_void(&o.caller, &o.order, &orig_ref).await?,
                o.json,
            );
        }
        TerminalCommand::PreauthComplete {
            orig_ref,
            amount,
            o,
        } => {
            let mut t = online(&o).await?;
            let r = t
                .preauth_complete(&o.caller, &o.order, &orig_ref, parse_cny(&amount)?)
                .await?;
            return print_result(&r, o.json);
        }
        TerminalCommand::CompleteVoid { orig_ref, o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.complete_void(&o.caller, &o.order, &orig_ref).await?,
                o.json,
            );
        }
        TerminalCommand::Settle { json } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            t.sign_in().await?;
            let batch = t.journal().counters()?.1;
            let totals = smartpos_core::reconcile::batch_totals(&t.journal().entries()?, batch);
            let outcome = t.settle().await?;
            let (text, ok) = match &outcome {
                smartpos_core::engine::SettlementOutcome::Balanced => {
                    ("balanced".to_string(), true)
                }
                smartpos_core::engine::SettlementOutcome::Uploaded(n) => {
                    (format!("not balanced: {n} transactions uploaded"), true)
                }
                smartpos_core::engine::SettlementOutcome::Failed(why) => {
                    (format!("FAILED: {why}"), false)
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({"batch": batch, "result": text, "totals": totals})
                );
            } else {
                println!("batch {batch:06} settlement: {text}");
                for l in &totals.lines {
                    println!(
                        "  {:<8} {:<5} {:>4} x  {} {}.{:02}",
                        l.kind,
                        l.channel,
                        l.count,
                        l.currency,
                        l.amount_minor / 100,
                        l.amount_minor % 100
                    );
                }
            }
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        TerminalCommand::Totals { batch, json } => {
            let j = dir.journal()?;
            let batch = match batch {
                Some(b) => b,
                None => j.counters()?.1,
            };
            let t = smartpos_core::reconcile::batch_totals(&j.entries()?, batch);
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                println!("batch {:06}", t.batch);
                for l in &t.lines {
                    println!(
                        "  {:<8} {:<5} {:>4} x  {} {}.{:02}",
                        l.kind,
                        l.channel,
                        l.count,
                        l.currency,
                        l.amount_minor / 100,
                        l.amount_minor % 100
                    );
                }
                println!(
                    "  unknown: {} ({}.{:02})",
                    t.unknown_count,
                    t.unknown_amount_minor / 100,
                    t.unknown_amount_minor % 100
                );
            }
        }
        TerminalCommand::Statement { caller, format } => {
            let lines = smartpos_core::reconcile::statement(&dir.journal()?.entries()?, &caller);
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&lines)?),
                "csv" => print!("{}", smartpos_core::reconcile::statement_csv(&lines)),
                other => return Err(format!("--format must be json or csv, not {other:?}").into()),
            }
        }
        TerminalCommand::Reconcile { settlement, json } => {
            let lines = read_settlement(&settlement)?;
            let tid = smartpos_core::engine::EngineConfig::demo()
                .identity
                .terminal_id;
            let c = smartpos_core::reconcile::compare(&dir.journal()?.entries()?, &lines, &tid);
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                println!("matched: {}", c.matched);
                for (name, list) in [
                    ("missing at host", &c.missing_at_host),
                    ("missing at terminal", &c.missing_at_terminal),
                    ("amount mismatch", &c.amount_mismatches),
                ] {
                    for d in list {
                        println!(
                            "{name}: batch {:06} trace {:06} terminal {:?} host {:?} ({})",
                            d.batch,
                            d.trace,
                            d.terminal_amount_minor,
                            d.host_amount_minor,
                            d.terminal_state.as_deref().unwrap_or("not in journal")
                        );
                    }
                }
                println!(
                    "{}",
                    if c.balanced() {
                        "balanced"
                    } else {
                        "NOT balanced"
                    }
                );
            }
            return Ok(if c.balanced() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        TerminalCommand::Journal { json, verify: true } => {
            // Opening checks the anchor and every record; verify() walks the chain again.
            let checked = dir
                .journal()
                .and_then(|j| Ok(j.verify()?))
                .map_err(|e| e.to_string());
            let ok = checked.is_ok();
            if json {
                let v = match &checked {
                    Ok(n) => serde_json::json!({"ok": true, "records": n}),
                    Err(e) => serde_json::json!({"ok": false, "error": e}),
                };
                println!("{v}");
            } else {
                match &checked {
                    Ok(n) => println!("journal verified: {n} records, chain and anchor intact"),
                    Err(e) => println!("journal NOT verified: {e}"),
                }
            }
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        TerminalCommand::Journal { json, .. } => {
            let entries = dir.journal()?.entries()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for e in entries {
                    println!(
                        "{:06}/{:06} {} {} {:?} {} {} {}",
                        e.batch,
                        e.trace,
                        e.caller,
                        e.order_id,
                        e.state,
                        e.amount_minor,
                        e.currency,
                        e.masked_pan.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        TerminalCommand::HandleRequest {
            uri,
            caller_package,
            caller_cert_sha256,
            customer,
            qr_code,
        } => {
            let (host, pem) = host_and_ca()?;
            let mut who = customer.customer();
            who.qr_code = qr_code;
            let digests: Vec<&str> = caller_cert_sha256.iter().map(String::as_str).collect();
            let caller =
                smartpos_core::handoff::CallerIdentity::from_hex(&caller_package, &digests)
                    .ok_or("--caller-cert-sha256 must be 32 hex bytes")?;
            let handled = handle_request(
                &dir,
                &host,
                &pem,
                smartpos_core::handoff::RawRequest::DeepLink(uri),
                &caller,
                &who,
            )
            .await?;
            match handled.return_uri() {
                Some(u) => println!("{u}"),
                None => {
                    let map: serde_json::Map<String, serde_json::Value> = handled
                        .result
                        .to_intent_extras()
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect();
                    println!("{}", serde_json::Value::Object(map));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_result(
    r: &smartpos_core::payment::PaymentResult,
    json: bool,
) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        println!(
            "{} {} {} {} ref={} auth={}",
            r.order_id,
            r.kind.name(),
            serde_json::to_string(&r.outcome)?,
            r.amount,
            r.reference.as_deref().unwrap_or("-"),
            r.auth_code.as_deref().unwrap_or("-")
        );
        if let Some(b) = &r.balance {
            println!("balance {}{}", if b.overdrawn { "-" } else { "" }, b.amount);
        }
    }
    Ok(if r.outcome == Outcome::Approved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Renders a QR payload as a PNG image (8 pixels a module, quiet zone) for screens and tests.
fn write_qr_png(
    payload: &str,
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    std::fs::write(path, smartpos_hal::render::qr_png(payload, 8)?)?;
    Ok(())
}

fn market(cmd: MarketCommand) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    use smartpos_cli::market_cmd as m;
    let now = smartpos_cli::terminal_cmd::unix_now();
    match cmd {
        MarketCommand::Keygen { keys, key_id, json } => {
            let root = m::keygen(&keys, &key_id, now)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"key_id": key_id, "root_public_key": root, "keys": keys})
                );
            } else {
                println!("market key {key_id} certified; root public key {root}");
                println!("keep {} offline", keys.join("root.key").display());
            }
        }
        MarketCommand::Sign {
            file,
            out,
            in_place: _,
            force,
            keys,
            payments,
            devices,
            sdk,
            json,
        } => {
            let grants = smartpos_apk::market::Grants {
                payments: m::parse_payments(&payments)?,
                devices: m::parse_devices(&devices)?,
            };
            let claim = m::sign(&file, out.as_deref(), force, &keys, grants, sdk, now)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&claim)?);
            } else {
                println!(
                    "signed {} version {} ({})",
                    claim["package"].as_str().unwrap_or(""),
                    claim["version_code"],
                    out.as_deref().unwrap_or(&file).display()
                );
            }
        }
        MarketCommand::Verify {
            file,
            root,
            revocations,
            trust_state,
            known_serial,
            sdk,
            package,
            version_code,
            json,
        } => {
            let store = match m::trust(
                &root,
                revocations.as_deref(),
                trust_state.as_deref(),
                known_serial,
            ) {
                Ok(s) => s,
                Err(e) => {
                    // A refused revocation list is a refusal like any other: exit 1, the reason.
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"accepted": false, "reason": e.to_string()})
                        );
                    } else {
                        println!("REFUSED: {e}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            let reported = package.as_deref().zip(version_code);
            let r = store.check(&file, sdk, reported, &mut m::progress_printer("hashing"));
            match (&r, json) {
                (Ok(app), true) => {
                    println!("{}", serde_json::json!({"accepted": true, "app": app}))
                }
                (Err(e), true) => println!(
                    "{}",
                    serde_json::json!({"accepted": false, "reason": e.to_string()})
                ),
                (Ok(app), false) => println!(
                    "accepted: {} version {} (market key {}); grants: {}",
                    app.package,
                    app.version_code,
                    app.key_id,
                    m::grants_text(&app.grants)
                ),
                (Err(e), false) => println!("{}", m::refusal(e)),
            }
            return Ok(if r.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        MarketCommand::Revoke {
            keys,
            serial,
            app,
            market_key,
            out,
            force,
            json,
        } => {
            m::revoke(&keys, serial, &app, &market_key, &out, force)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"serial": serial, "apps": app, "market_keys": market_key, "out": out})
                );
            } else {
                println!("revocation list {serial} written to {}", out.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and validates an acquirer profile file, naming the file in errors.
/// An acquirer settlement file (`smartpos settlement-file`).
fn read_settlement(
    path: &std::path::Path,
) -> Result<Vec<smartpos_core::reconcile::SettlementLine>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a settlement file: {e}", path.display()))
}

fn read_profile(path: &std::path::Path) -> Result<AcquirerProfile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read profile {}: {e}", path.display()))?;
    AcquirerProfile::from_json(&text).map_err(|e| format!("profile {}: {e}", path.display()))
}
