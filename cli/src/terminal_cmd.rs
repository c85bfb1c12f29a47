//! `smartpos terminal --data-dir DIR --host URL [--ca FILE] <command>`: a simulated terminal for
//! scripting. State (journal, terminal key, allow-list) lives in the data directory; the
//! simulated PIN pad holds keys in memory only, so each invocation signs in before host work.

use crate::acquirer::{cards, TEST_TMK_HEX};
use smartpos_core::card::EntryMode;
use smartpos_core::crypto::CipherKey;
use smartpos_core::engine::{EngineConfig, EngineError};
use smartpos_core::hal::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use smartpos_core::handoff::{
    admit, envelope_for_payment, envelope_for_query, AllowList, AllowedApp, CallerIdentity,
    RawRequest, RequestType, ResultCode, ResultEnvelope, TerminalKey,
};
use smartpos_core::journal::{Journal, TxnState};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::PaymentRequest;
use smartpos_core::terminal::{Terminal, TerminalError};
use smartpos_core::transport::HostLink;
use std::path::{Path, PathBuf};

/// Package of the sample merchant app, allowed by the default allow-list.
pub const SAMPLE_MERCHANT_PACKAGE: &str = "com.example.merchant";
/// SHA-256 of the sample merchant app's (test) signing certificate, allowed by default.
pub const SAMPLE_MERCHANT_CERT_SHA256: &str =
    "3967fb7852caa93cadb5613e0c475c7560293e96d7c9b801314c2869570351aa";

/// Errors of the terminal command.
pub type CmdError = Box<dyn std::error::Error + Send + Sync>;

/// Where the terminal keeps its state.
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// Creates the directory and its defaults (terminal key, allow-list) when missing.
    pub fn open(path: &Path) -> Result<Self, CmdError> {
        std::fs::create_dir_all(path)?;
        let d = DataDir(path.to_path_buf());
        if !d.key_path().exists() {
            let key = TerminalKey::generate();
            write_private(&d.key_path(), hex::encode(key.secret_bytes()).as_bytes())?;
        }
        if !d.allowlist_path().exists() {
            let list = AllowList {
                apps: vec![AllowedApp {
                    package: SAMPLE_MERCHANT_PACKAGE.into(),
                    cert_sha256: vec![SAMPLE_MERCHANT_CERT_SHA256.into()],
                    permissions: vec![
                        RequestType::Sale,
                        RequestType::Void,
                        RequestType::Refund,
                        RequestType::Preauth,
                        RequestType::PreauthVoid,
                        RequestType::PreauthComplete,
                        RequestType::CompleteVoid,
                        RequestType::Balance,
                        RequestType::Query,
                    ],
                }],
            };
            std::fs::write(d.allowlist_path(), serde_json::to_vec_pretty(&list)?)?;
        }
        Ok(d)
    }
    fn key_path(&self) -> PathBuf {
        self.0.join("terminal-key.hex")
    }
    fn allowlist_path(&self) -> PathBuf {
        self.0.join("allowlist.json")
    }
    /// The terminal's result-signing key.
    pub fn terminal_key(&self) -> Result<TerminalKey, CmdError> {
        let text = std::fs::read_to_string(self.key_path())?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("terminal-key.hex is corrupt: expected 32 hex bytes")?;
        Ok(TerminalKey::from_secret(&bytes))
    }
    /// The allow-list of merchant apps.
    pub fn allowlist(&self) -> Result<AllowList, CmdError> {
        let text = std::fs::read_to_string(self.allowlist_path())?;
        Ok(serde_json::from_str(&text).map_err(|e| format!("allowlist.json is invalid: {e}"))?)
    }
    /// Opens the journal.
    pub fn journal(&self) -> Result<Journal, CmdError> {
        Ok(Journal::open(&self.0.join("journal.db"))?)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    std::fs::write(path, bytes)
}

/// What the simulated customer does at the terminal.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Card number of a test card (its track 2 is used).
    pub card: String,
    /// PIN typed.
    pub pin: String,
    /// Cancel at the card prompt instead.
    pub cancel: bool,
    /// The payment code the customer shows the scanner (QR, B scans C).
    pub qr_code: Option<String>,
}

impl Default for Customer {
    fn default() -> Self {
        Customer {
            card: cards::standard_cards()[0].pan.clone(),
            pin: "123456".into(),
            cancel: false,
            qr_code: None,
        }
    }
}

static HOST_TIMEOUT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(30_000);
static PROFILE: std::sync::OnceLock<smartpos_core::profile::AcquirerProfile> =
    std::sync::OnceLock::new();

/// Sets the acquirer profile terminals built by this module use (default: the CUP defaults).
pub fn set_profile(p: smartpos_core::profile::AcquirerProfile) {
    let _ = PROFILE.set(p);
}

/// Sets how long terminals built by this module wait for the host.
pub fn set_host_timeout(t: std::time::Duration) {
    HOST_TIMEOUT_MS.store(t.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Builds a terminal on the data directory, pinned to `ca_pem`.
pub fn build_terminal(
    dir: &DataDir,
    host: &str,
    ca_pem: &[u8],
    customer: &Customer,
) -> Result<Terminal, CmdError> {
    let card = if customer.cancel {
        CardScript::Cancel
    } else {
        let track2 = cards::standard_cards()
            .iter()
            .find(|c| c.pan == customer.card)
            .map(cards::track2)
            .unwrap_or_else(|| format!("{}=3012101", customer.card));
        CardScript::Card {
            track2,
            entry_mode: EntryMode::MagStripe,
        }
    };
    let link = HostLink::new(host, ca_pem)?;
    let mut config = EngineConfig::demo();
    if let Some(p) = PROFILE.get() {
        config.profile = p.clone();
    }
    config.host_timeout = std::time::Duration::from_millis(
        HOST_TIMEOUT_MS.load(std::sync::atomic::Ordering::Relaxed),
    );
    let qr = smartpos_core::qr::runner::QrSetup {
        link: smartpos_core::transport::GatewayLink::new(host, ca_pem)?,
        schedule: smartpos_core::qr::QrSchedule::default(),
        form: config.profile.qr_form.clone(),
        scanner: Some(Box::new(smartpos_core::hal::sim::SimScanner::new(
            customer
                .qr_code
                .iter()
                .map(|c| smartpos_core::hal::sim::ScanScript::Code(c.clone())),
        ))),
    };
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX)?;
    Ok(Terminal::new(
        config,
        dir.journal()?,
        link,
        Box::new(SimCardReader::new([card])),
        Box::new(SimPinPad::new(
            master,
            [PinScript::Pin(customer.pin.clone())],
        )),
        Box::new(crate::demo::cst_now),
    )?
    .with_qr(qr))
}

/// What `handle-request` returns: the signed result and where it goes.
pub struct Handled {
    /// The signed result.
    pub result: smartpos_core::handoff::SignedResult,
    /// The callback deep link, when the request named a valid one.
    pub callback: Option<String>,
}

impl Handled {
    /// The return deep link, or `None` for intent requests.
    pub fn return_uri(&self) -> Option<String> {
        self.callback
            .as_ref()
            .map(|c| self.result.to_callback_uri(c))
    }
}

/// Processes one handoff request on the simulated terminal.
pub async fn handle_request(
    dir: &DataDir,
    host: &str,
    ca_pem: &[u8],
    raw: RawRequest,
    caller: &CallerIdentity,
    customer: &Customer,
) -> Result<Handled, CmdError> {
    let key = dir.terminal_key()?;
    let allow = dir.allowlist()?;
    let now = unix_now();
    let mut journal = dir.journal()?;
    let request = match admit(&raw, caller, &allow, &mut journal, now) {
        Ok(r) => r,
        Err((env, callback)) => {
            return Ok(Handled {
                result: stamp(env, now).sign(&key),
                callback,
            })
        }
    };
    drop(journal);
    let callback = request.callback.clone();
    let done = |env: ResultEnvelope| {
        Ok(Handled {
            result: stamp(env, now).sign(&key),
            callback: callback.clone(),
        })
    };
    let unsupported = |what: String| {
        let mut e = ResultEnvelope::new(ResultCode::ErrorUnsupported);
        e.set("request_hash", request.request_hash.as_str())
            .set("caller", caller.package.as_str());
        e.set("order", request.order.as_str())
            .set("type", request.kind.name())
            .set("message", what);
        e
    };
    let journal = dir.journal()?;
    let existing = journal.find_by_order(&caller.package, &request.order)?;
    if request.kind == RequestType::Query {
        let open = existing.as_ref().is_some_and(|e| {
            e.reversal_pending || matches!(e.state, TxnState::Sent | TxnState::Unknown)
        });
        if !open {
            return done(envelope_for_query(&request, caller, existing.as_ref(), now));
        }
        // An order still being resolved: try to finish it now (gateway query for QR, the
        // pending reversal for a card), then answer from the journal, final or not.
        drop(journal);
        if let Err(e) = resolve_open(dir, host, ca_pem).await {
            tracing::warn!("query could not resolve the order yet: {e}");
        }
        let latest = dir
            .journal()?
            .find_by_order(&caller.package, &request.order)?;
        return done(envelope_for_query(&request, caller, latest.as_ref(), now));
    }
    if request.kind == RequestType::Settle {
        drop(journal);
        let mut e = settle_for_request(dir, host, ca_pem).await;
        e.set("request_hash", request.request_hash.as_str())
            .set("caller", caller.package.as_str());
        e.set("order", request.order.as_str()).set("type", "settle");
        return done(e);
    }
    let qr = matches!(request.method, Some(m) if m != smartpos_core::handoff::Method::Card);
    if qr && request.kind != RequestType::Sale {
        return done(unsupported(format!(
            "method {:?} is for sales; voids and refunds follow the original's method",
            request.method
        )));
    }
    if let Some(entry) = existing {
        // Idempotency: the same order with the same content returns the stored result, no host message.
        let same = entry.kind == request.kind.name()
            && request.amount.is_none_or(|a| {
                entry.amount_minor == a.minor() && entry.currency == a.currency().code()
            });
        if !same {
            let mut e = ResultEnvelope::new(ResultCode::RefusedDuplicateOrder);
            e.set("request_hash", request.request_hash.as_str())
                .set("caller", caller.package.as_str());
            e.set("order", request.order.as_str())
                .set("message", "order id already used for a different request");
            return done(e);
        }
        return done(envelope_for_query(&request, caller, Some(&entry), now));
    }
    drop(journal);
    let mut terminal = build_terminal(dir, host, ca_pem, customer)?;
    let terminal_error = |e: TerminalError| {
        let code = match e {
            TerminalError::Engine(EngineError::Busy) => ResultCode::RefusedBusy,
            TerminalError::DuplicateOrder { .. } => ResultCode::RefusedDuplicateOrder,
            TerminalError::OriginalNotFound { .. }
            | TerminalError::RefundTooLarge
            | TerminalError::BadPaymentCode(_) => ResultCode::Declined,
            _ => ResultCode::ErrorTerminal,
        };
        let mut env = ResultEnvelope::new(code);
        env.set("request_hash", request.request_hash.as_str())
            .set("caller", caller.package.as_str());
        env.set("order", request.order.as_str())
            .set("message", e.to_string());
        env
    };
    if !qr {
        if let Err(e) = terminal.sign_in().await {
            return done(terminal_error(e));
        }
    }
    let outcome = match (request.kind, request.amount, request.orig_ref.as_deref()) {
        (RequestType::Sale, Some(amount), _)
            if request.method == Some(smartpos_core::handoff::Method::QrScan) =>
        {
            terminal
                .qr_scan_sale(&caller.package, &request.order, amount)
                .await
        }
        (RequestType::Sale, Some(amount), _)
            if request.method == Some(smartpos_core::handoff::Method::QrDisplay) =>
        {
            let mut show = |payload: &str| eprintln!("show this code: {payload}");
            terminal
                .qr_display_sale(&caller.package, &request.order, amount, &mut show)
                .await
        }
        (RequestType::Sale, Some(amount), _) => {
            terminal
                .sale(PaymentRequest::sale(
                    &caller.package,
                    &request.order,
                    amount,
                ))
                .await
        }
        (RequestType::Void, _, Some(r)) => terminal.void(&caller.package, &request.order, r).await,
        (RequestType::Refund, Some(amount), Some(r)) => {
            terminal
                .refund(&caller.package, &request.order, r, amount)
                .await
        }
        (RequestType::Preauth, Some(amount), _) => {
            terminal
                .preauth(&caller.package, &request.order, amount)
                .await
        }
        (RequestType::PreauthVoid, _, Some(r)) => {
            terminal
                .preauth_void(&caller.package, &request.order, r)
                .await
        }
        (RequestType::PreauthComplete, Some(amount), Some(r)) => {
            terminal
                .preauth_complete(&caller.package, &request.order, r, amount)
                .await
        }
        (RequestType::CompleteVoid, _, Some(r)) => {
            terminal
                .complete_void(&caller.package, &request.order, r)
                .await
        }
        (RequestType::Balance, None, None) => {
            terminal
                .balance(&caller.package, &request.order, Currency::CNY)
                .await
        }
        _ => return done(unsupported("request shape not supported".into())),
    };
    match outcome {
        Ok(r) => done(envelope_for_payment(&request, caller, &r, now)),
        Err(e) => done(terminal_error(e)),
    }
}

/// Settles the current batch for a handoff request: approved when the batch closed (totals
/// agreed, or after batch upload), `ERROR_TERMINAL` when it stays open.
async fn settle_for_request(dir: &DataDir, host: &str, ca_pem: &[u8]) -> ResultEnvelope {
    use smartpos_core::engine::SettlementOutcome;
    let run = async {
        let mut terminal = build_terminal(dir, host, ca_pem, &Customer::default())?;
        terminal.sign_in().await?;
        let batch = terminal.journal().counters()?.1;
        Ok::<_, CmdError>((batch, terminal.settle().await?))
    };
    let (code, batch, message) = match run.await {
        Ok((batch, SettlementOutcome::Balanced)) => (
            ResultCode::Approved,
            Some(batch),
            "batch closed: totals agreed with the bank".to_string(),
        ),
        Ok((batch, SettlementOutcome::Uploaded(n))) => (
            ResultCode::Approved,
            Some(batch),
            format!("batch closed after uploading {n} transactions: totals differed"),
        ),
        Ok((batch, SettlementOutcome::Failed(why))) => (
            ResultCode::ErrorTerminal,
            Some(batch),
            format!("settlement did not complete ({why}); the batch stays open"),
        ),
        Err(e) => (
            ResultCode::ErrorTerminal,
            None,
            format!("settlement not started: {e}"),
        ),
    };
    let mut e = ResultEnvelope::new(code);
    e.set("message", message);
    if let Some(b) = batch {
        e.set("batch", format!("{b:06}"));
    }
    e
}

/// Finishes what is open: QR orders asked at the gateway, pending reversals sent after sign-in.
async fn resolve_open(dir: &DataDir, host: &str, ca_pem: &[u8]) -> Result<(), CmdError> {
    let mut terminal = build_terminal(dir, host, ca_pem, &Customer::default())?;
    terminal.resolve_qr().await?;
    terminal.sign_in().await?;
    terminal.flush_reversals().await?;
    Ok(())
}

fn stamp(mut env: ResultEnvelope, now: i64) -> ResultEnvelope {
    let id = EngineConfig::demo().identity;
    if env.get("terminal_id").is_empty() {
        env.set("terminal_id", id.terminal_id);
    }
    if env.get("merchant_id").is_empty() {
        env.set("merchant_id", id.merchant_id);
    }
    if env.get("time").is_empty() {
        env.set("time", now.to_string());
    }
    env
}

/// A 12.34-style amount in CNY.
pub fn parse_cny(text: &str) -> Result<Money, CmdError> {
    Ok(Money::parse_major(text, Currency::CNY)?)
}
