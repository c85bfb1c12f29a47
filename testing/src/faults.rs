//! Host faults the simulator can inject, one per financial request, in order.

use std::str::FromStr;
use std::time::Duration;

/// A fault applied to one financial request (sign-in is never faulted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// Flip a bit of the response MAC (F64).
    TamperMac,
    /// Answer with another trace number (F11).
    WrongTrace,
    /// Never answer (hold the request until the client gives up).
    NeverAnswer,
    /// Answer with bytes that are not a frame.
    Garbage,
    /// Process the request (the host commits), then drop the answer.
    DropAfterCommit,
    /// Drop the request without processing it.
    DropBeforeCommit,
    /// Answer after a delay.
    Late(Duration),
}

/// Why a fault name was not understood.
#[derive(Debug, thiserror::Error)]
#[error("unknown fault {0:?}: expected none, tamper-mac, wrong-trace, never-answer, garbage, drop-after-commit, drop-before-commit or late-MS")]
pub struct UnknownFault(String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => Fault::None,
            "tamper-mac" => Fault::TamperMac,
            "wrong-trace" => Fault::WrongTrace,
            "never-answer" => Fault::NeverAnswer,
            "garbage" => Fault::Garbage,
            "drop-after-commit" => Fault::DropAfterCommit,
            "drop-before-commit" => Fault::DropBeforeCommit,
            other => match other
                .strip_prefix("late-")
                .and_then(|ms| ms.parse::<u64>().ok())
            {
                Some(ms) => Fault::Late(Duration::from_millis(ms)),
                None => return Err(UnknownFault(other.chars().take(40).collect())),
            },
        })
    }
}

/// Parses a comma-separated fault list.
pub fn parse_list(s: &str) -> Result<Vec<Fault>, UnknownFault> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect()
}
