//! `smartpos market keygen | sign | verify | revoke`: the bank app market's tools.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos market` failed.
    MarketCmdError {
        /// The market refused (keys, signatures, grants).
        Market(smartpos_apk::market::MarketError),
    }
);

#[derive(Subcommand)]
pub enum Command {
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

/// Runs `smartpos market ...`.
pub fn run(cmd: Command) -> Result<ExitCode, MarketCmdError> {
    use crate::market_cmd as m;
    let now = crate::terminal_cmd::unix_now();
    match cmd {
        Command::Keygen { keys, key_id, json } => {
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
        Command::Sign {
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
        Command::Verify {
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
        Command::Revoke {
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
