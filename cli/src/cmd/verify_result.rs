//! `smartpos verify-result`: checks a signed result deep link as a merchant app would: the
//! terminal's signature, and that it answers the request that was sent.

use smartpos_core::handoff::canonical::request_hash;
use smartpos_core::handoff::request::deep_link_pairs;
use smartpos_core::handoff::{Carrier, Expected, HandoffRequest, SignedResult};
use std::process::ExitCode;

/// `smartpos verify-result --uri URI --public-key HEX [--request LINK] [--order O] ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The return deep link.
    #[arg(long)]
    pub uri: String,
    /// The terminal's Ed25519 public key (hex).
    #[arg(long)]
    pub public_key: String,
    /// The request deep link that was sent: the result must answer it (its request hash, order
    /// id and amount), exactly as `PaymentClient` checks.
    #[arg(long)]
    pub request: Option<String>,
    /// The order id the result must answer.
    #[arg(long)]
    pub order: Option<String>,
    /// The amount (minor units) the result must carry.
    #[arg(long)]
    pub amount: Option<String>,
    /// The request hash (hex) of the request the result must answer.
    #[arg(long)]
    pub request_hash: Option<String>,
}

/// What the request link says the result must answer.
fn expected_from_request(link: &str) -> Result<Expected, String> {
    let pairs = deep_link_pairs(link).map_err(|e| format!("the request link: {e}"))?;
    // Parsed as the terminal parsed it when it was fresh: judged at a moment before its expiry.
    let expires: i64 = pairs
        .iter()
        .find(|(k, _)| k == "expires")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or("the request link has no expires")?;
    let parsed = HandoffRequest::from_pairs(&pairs, Carrier::DeepLink, expires - 1)
        .map_err(|e| format!("the request link: {e}"))?;
    Ok(Expected {
        request_hash: request_hash(&pairs),
        order: parsed.order,
        amount: parsed.amount,
    })
}

fn check(a: &Args) -> Result<(String, String, String, String), String> {
    let signed = SignedResult::from_callback_uri(&a.uri).map_err(|e| e.to_string())?;
    signed.verify(&a.public_key).map_err(|e| e.to_string())?;
    if let Some(link) = &a.request {
        expected_from_request(link)?
            .open(&signed, &a.public_key)
            .map_err(|e| e.to_string())?;
    }
    let e = &signed.envelope;
    for (field, want) in [
        ("order", &a.order),
        ("amount", &a.amount),
        ("request_hash", &a.request_hash),
    ] {
        if let Some(want) = want {
            if e.get(field) != want.as_str() {
                return Err(format!(
                    "{field} is {:?}, not the {want:?} this result must answer",
                    e.get(field)
                ));
            }
        }
    }
    Ok((
        e.get("code").to_string(),
        e.get("order").to_string(),
        e.get("amount").to_string(),
        e.get("currency").to_string(),
    ))
}

/// Exit 0: the signature verifies and every binding given holds; exit 1 otherwise (an
/// unreadable link included), with the reason printed.
pub fn run(a: &Args) -> ExitCode {
    match check(a) {
        Ok((code, order, amount, currency)) => {
            println!("valid: {code} order={order} amount={amount} {currency}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("INVALID: {err}");
            ExitCode::FAILURE
        }
    }
}
