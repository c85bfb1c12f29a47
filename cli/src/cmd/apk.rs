//! `smartpos apk verify`: Android's verdict on the APK's signature at the fleet's SDK levels, and
//! the bank's policy on top.

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
    /// Two verdicts on the APK's signature: what Android at each SDK level decides, and the
    /// bank's policy on top (each refusal naming its rule). Exit 1 when either refuses.
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

/// One SDK level's two verdicts.
struct Level {
    sdk: u32,
    android: Result<smartpos_apk::Verdict, smartpos_apk::ApkError>,
    policy: Option<Result<(), smartpos_apk::policy::PolicyRefusal>>,
}

impl Level {
    /// The verdicts at `sdk`, on `opened` (one APK for every level: its content is hashed
    /// once) or, when it could not be opened, on a fresh open that says why.
    fn of(
        opened: Option<&mut smartpos_apk::Apk<std::fs::File>>,
        file: &std::path::Path,
        sdk: u32,
    ) -> Level {
        let android = match opened {
            Some(apk) => apk.verify(sdk),
            None => smartpos_apk::Apk::open(file).and_then(|mut a| a.verify(sdk)),
        };
        let policy = android.as_ref().ok().map(smartpos_apk::policy::check);
        Level {
            sdk,
            android,
            policy,
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut v = match &self.android {
            Ok(verdict) => {
                serde_json::json!({"sdk": self.sdk, "android": {"accepted": true}, "verdict": verdict})
            }
            Err(e) => {
                serde_json::json!({"sdk": self.sdk, "android": {"accepted": false, "reason": e.to_string()}})
            }
        };
        v["bank"] = match &self.policy {
            Some(Ok(())) => serde_json::json!({"accepted": true}),
            Some(Err(r)) => {
                serde_json::json!({"accepted": false, "rule": r.rule.name(), "reason": r.to_string()})
            }
            None => serde_json::json!({"accepted": false, "reason": "Android refuses it"}),
        };
        v["accepted"] = matches!(self.policy, Some(Ok(()))).into();
        v
    }
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
            let mut opened = smartpos_apk::Apk::open(&file).ok();
            let verdicts: Vec<Level> = levels
                .iter()
                .map(|l| Level::of(opened.as_mut(), &file, *l))
                .collect();
            let android_refused = verdicts.iter().find(|l| l.android.is_err());
            let bank_refused = verdicts.iter().find_map(|l| match &l.policy {
                Some(Err(r)) => Some((l.sdk, r)),
                _ => None,
            });
            let accepted = android_refused.is_none() && bank_refused.is_none();
            let shown: Vec<String> = levels.iter().map(u32::to_string).collect();
            let last_ok = verdicts.last().and_then(|l| l.android.as_ref().ok());
            if json {
                let mut out = serde_json::json!({
                    "accepted": accepted,
                    "android_accepted": android_refused.is_none(),
                    "levels": verdicts.iter().map(Level::json).collect::<Vec<_>>(),
                });
                if let Some(l) = android_refused {
                    out["sdk"] = l.sdk.into();
                    if let Err(e) = &l.android {
                        out["reason"] = e.to_string().into();
                    }
                } else if let Some((sdk, r)) = bank_refused {
                    out["sdk"] = sdk.into();
                    out["rule"] = r.rule.name().into();
                    out["reason"] = r.to_string().into();
                }
                if let Some(v) = last_ok {
                    out["verdict"] = serde_json::to_value(v)?;
                }
                println!("{out}");
            } else {
                match android_refused {
                    Some(l) => {
                        if let Err(e) = &l.android {
                            println!(
                                "Android: refused at SDK {}: {e} (checked at SDK {})",
                                l.sdk,
                                shown.join(", ")
                            );
                        }
                    }
                    None => {
                        if let Some(v) = last_ok {
                            println!(
                                "Android: accepted at SDK {}: scheme {:?} at SDK {} (found {:?})",
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
                match (android_refused, bank_refused) {
                    (Some(_), _) => println!("bank: refused (Android refuses it)"),
                    (None, Some((sdk, r))) => println!("bank: refused at SDK {sdk}: {r}"),
                    (None, None) => println!(
                        "bank: accepted (rules {}, {}, {})",
                        smartpos_apk::policy::Rule::NoDsa.name(),
                        smartpos_apk::policy::Rule::Rsa2048.name(),
                        smartpos_apk::policy::Rule::NoMd5Sha1.name()
                    ),
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
