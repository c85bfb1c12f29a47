//! `smartpos apk verify`: the Android-signature verdict at the fleet's SDK levels.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos apk` failed.
    ApkCmdError {}
);

/// The Android API levels the bank's terminal fleet runs (Android 7, 9 and 13).
pub const FLEET_SDK_LEVELS: [u32; 3] = [24, 28, 33];

#[derive(Subcommand)]
pub enum Command {
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

/// Runs `smartpos apk ...`.
pub fn run(cmd: Command) -> Result<ExitCode, ApkCmdError> {
    match cmd {
        Command::Verify { file, sdk, json } => {
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
    }
}
