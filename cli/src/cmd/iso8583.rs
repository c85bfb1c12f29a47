//! `smartpos iso8583 decode | spec`: frames as JSON and the message specification.

use clap::Subcommand;
use smartpos_core::profile::AcquirerProfile;
use std::path::PathBuf;
use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos iso8583` failed.
    Iso8583Error {
        /// The message does not decode.
        Decode(smartpos_core::iso8583::DecodeError),
    }
);

#[derive(Subcommand)]
pub enum Command {
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

/// Runs `smartpos iso8583 ...`.
pub fn run(cmd: Command) -> Result<ExitCode, Iso8583Error> {
    match cmd {
        Command::Decode {
            hex,
            unmasked,
            profile,
        } => {
            let bytes = hex::decode(hex.trim()).map_err(|e| format!("frame is not hex: {e}"))?;
            let profile = match profile {
                Some(p) => super::read_profile(&p)?,
                None => AcquirerProfile::cup_default(),
            };
            let json = crate::decode::frame_to_json(&bytes, profile.fields(), unmasked)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Spec { profile } => {
            let profile = match profile {
                Some(p) => super::read_profile(&p)?,
                None => AcquirerProfile::cup_default(),
            };
            print!(
                "{}",
                smartpos_core::iso8583::catalog::render_markdown(profile.fields())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
