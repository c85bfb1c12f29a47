//! `smartpos request`: what a merchant app sends, built from the command line with a fresh
//! nonce and expiry, and checked with the terminal's own parser before it is printed.

use smartpos_core::handoff::outgoing::{random_nonce, RequestSpec};
use smartpos_core::handoff::request::{PrintBy, RequestError};
use smartpos_core::handoff::{PaymentMethod, RequestType};
use smartpos_core::money::{Currency, Money};
use std::process::ExitCode;

/// A request type by its wire name (`sale`, `void`, `refund`, `preauth`, `preauth_void`,
/// `preauth_complete`, `complete_void`, `balance`, `settle`, `query`).
fn kind(name: &str) -> Result<RequestType, String> {
    RequestType::parse(name).ok_or_else(|| {
        format!(
            "not a request type; one of {}",
            RequestType::names().collect::<Vec<_>>().join(", ")
        )
    })
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum PayBy {
    /// Bank card.
    Card,
    /// The terminal scans the customer's payment code.
    QrScan,
    /// The terminal shows a code the customer scans.
    QrDisplay,
}

/// Who prints the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Printer {
    /// The acquiring app.
    Acquirer,
    /// The merchant app, from the result.
    Merchant,
    /// Nobody.
    Nobody,
}

/// `smartpos request TYPE --order O ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Request type: sale, void, refund, preauth, preauth_void, preauth_complete, complete_void,
    /// balance, settle or query.
    #[arg(value_parser = kind)]
    pub kind: RequestType,
    /// The merchant's order id (for `query`, the order looked up).
    #[arg(long)]
    pub order: String,
    /// Amount in minor units (fen for CNY).
    #[arg(long)]
    pub amount: Option<u64>,
    /// ISO 4217 alphabetic currency code.
    #[arg(long, default_value = "CNY")]
    pub currency: String,
    /// Retrieval reference of the original (voids, refunds, completions).
    #[arg(long)]
    pub orig_ref: Option<String>,
    /// Authorization code of the pre-authorization (completion, pre-authorization void).
    #[arg(long)]
    pub orig_auth: Option<String>,
    /// How the customer pays (sale only); absent: the customer chooses.
    #[arg(long, value_enum)]
    pub method: Option<PayBy>,
    /// Who prints the receipt.
    #[arg(long, value_enum, default_value = "acquirer")]
    pub print: Printer,
    /// Free text for the receipt.
    #[arg(long)]
    pub memo: Option<String>,
    /// Seconds the customer has (10 to 300).
    #[arg(long)]
    pub timeout_secs: Option<u32>,
    /// The deep link the result goes to; without it the request is printed as intent extras.
    #[arg(long)]
    pub callback: Option<String>,
    /// Seconds the request stays valid (1 to 600).
    #[arg(long, default_value_t = 300)]
    pub valid_secs: u32,
    /// Print JSON: the link or extras, the request hash, order and amount.
    #[arg(long)]
    pub json: bool,
}

/// Why a request could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The currency code is not one the SDK knows.
    #[error("unknown currency {0:?}")]
    Currency(String),
    /// The amount cannot be represented.
    #[error("amount: {0}")]
    Amount(String),
    /// The terminal's parser refused the request (the field is named).
    #[error("the terminal would refuse this request: {0}")]
    Request(#[from] RequestError),
}

/// Builds the request: the `smartpos://pay/v1` deep link when a callback is given, else the
/// intent extras (JSON); with `json`, also the request hash the result must carry.
pub fn build(a: &Args, now_unix: i64) -> Result<serde_json::Value, Error> {
    let mut spec = RequestSpec::new(a.kind, &a.order);
    if let Some(minor) = a.amount {
        let cur =
            Currency::from_code(&a.currency).ok_or_else(|| Error::Currency(a.currency.clone()))?;
        spec.amount =
            Some(Money::from_minor(minor, cur).map_err(|e| Error::Amount(e.to_string()))?);
    }
    spec.orig_ref = a.orig_ref.clone();
    spec.orig_auth = a.orig_auth.clone();
    spec.method = a.method.map(|m| match m {
        PayBy::Card => PaymentMethod::Card,
        PayBy::QrScan => PaymentMethod::QrScan,
        PayBy::QrDisplay => PaymentMethod::QrDisplay,
    });
    spec.print = match a.print {
        Printer::Acquirer => PrintBy::Acquirer,
        Printer::Merchant => PrintBy::Merchant,
        Printer::Nobody => PrintBy::Nobody,
    };
    spec.memo = a.memo.clone();
    spec.timeout_secs = a.timeout_secs;
    spec.callback = a.callback.clone();
    let out = spec.build(&random_nonce()?, now_unix, a.valid_secs)?;
    let extras: serde_json::Map<String, serde_json::Value> = out
        .intent_extras()
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    Ok(serde_json::json!({
        "deep_link": out.deep_link(),
        "intent_extras": extras,
        "request_hash": out.expected.request_hash,
        "order": out.expected.order,
        "amount": out.expected.amount.map(|m| m.minor().to_string()),
        "expires": out.expires,
    }))
}

/// Runs `smartpos request`: exit 0 with the request printed, 2 with the reason it would be
/// refused.
pub fn run(a: &Args) -> Result<ExitCode, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let v = build(a, now)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if let Some(link) = v["deep_link"].as_str() {
        println!("{link}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&v["intent_extras"]).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
