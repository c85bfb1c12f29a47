//! `smartpos hal conformance | compliance`.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos hal` failed.
    HalCmdError {}
);

#[derive(Subcommand)]
pub enum Command {
    /// Run the driver conformance kit against the simulated drivers (exit 1 on any failure).
    Conformance {
        /// Plant a broken contract to see the kit catch it.
        #[arg(long, value_enum)]
        r#break: Option<crate::hal_cmd::Breakage>,
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

/// Runs `smartpos hal ...`.
pub fn run(cmd: Command) -> Result<ExitCode, HalCmdError> {
    match cmd {
        Command::Conformance { r#break, json } => {
            let report = crate::hal_cmd::conformance(r#break);
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
        Command::Compliance { profile, device } => {
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
            let failures = crate::hal_cmd::compliance(&profile, &device);
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
    }
}
