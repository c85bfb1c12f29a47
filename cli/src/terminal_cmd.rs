//! `smartpos terminal --data-dir DIR --host URL [--ca FILE] <command>`: a simulated terminal for
//! scripting. State (journal, terminal key, allow-list) lives in the data directory; the
//! simulated PIN pad holds keys in memory only, so each invocation signs in before host work.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::CipherKey;
use smartpos_core::engine::EngineConfig;
use smartpos_core::handoff::{
    admit, envelope_for_payment, envelope_for_query, AllowList, AllowedApp, CallerIdentity,
    RawRequest, RequestType, ResultCode, ResultEnvelope, TerminalKey,
};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::PaymentRequest;
use smartpos_terminal::journal::{Journal, JournalError, JournalFiles, TxnState};
use smartpos_terminal::transport::HostLink;
use smartpos_terminal::{Terminal, TerminalError};
use smartpos_testing::acquirer::{cards, TEST_TMK_HEX};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
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
    /// Several processes may do this at once: each file is created whole, once.
    pub fn open(path: &Path) -> Result<Self, CmdError> {
        use smartpos_terminal::journal::files::create_private_once;
        std::fs::create_dir_all(path)?;
        let d = DataDir(path.to_path_buf());
        if !d.key_path().exists() {
            // A terminal that has a journal already has an identity: a missing signing key is
            // lost, not new (merchant apps hold its public key). Refuse rather than replace it.
            if JournalFiles::for_db(&d.journal_path()).key.exists() {
                return Err(format!(
                    "{} is missing but this terminal has a journal: restore the terminal's result-signing key from its backup (a new key would change the terminal's identity for every merchant app)",
                    d.key_path().display()
                )
                .into());
            }
            let key = TerminalKey::generate();
            create_private_once(&d.key_path(), hex::encode(key.secret_bytes()).as_bytes())?;
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
                    all_apps: false,
                }],
            };
            create_private_once(&d.allowlist_path(), &serde_json::to_vec_pretty(&list)?)?;
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
    /// The journal database (its companion files are named by [`JournalFiles::for_db`]).
    pub fn journal_path(&self) -> PathBuf {
        self.0.join("journal.db")
    }
    /// Opens the journal, taking ownership of the terminal (waits for another owner up to
    /// [`smartpos_terminal::journal::DEFAULT_OWNER_WAIT`]).
    pub fn journal(&self) -> Result<Journal, CmdError> {
        Ok(Journal::open(&self.journal_path())?)
    }
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

/// Builds a terminal on the data directory, pinned to `ca_pem` (it owns the journal, and so
/// the terminal, until dropped; restart recovery runs first).
pub fn build_terminal(
    dir: &DataDir,
    host: &str,
    ca_pem: &[u8],
    customer: &Customer,
) -> Result<Terminal, CmdError> {
    terminal_on(dir.journal()?, host, ca_pem, customer)
}

/// Builds a terminal on a journal already opened (and so owned).
fn terminal_on(
    journal: Journal,
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
    let qr = smartpos_terminal::qr_runner::QrSetup {
        link: smartpos_terminal::transport::GatewayLink::new(host, ca_pem)?,
        schedule: smartpos_core::qr::QrSchedule::default(),
        form: config.profile.qr_form.clone(),
        scanner: Some(std::sync::Arc::new(smartpos_testing::sim::SimScanner::new(
            customer
                .qr_code
                .iter()
                .map(|c| smartpos_testing::sim::ScanScript::Code(c.clone())),
        ))),
    };
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX)?;
    Ok(Terminal::new(
        config,
        journal,
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
///
/// The request owns the terminal from admission to its signed answer: the journal (and its
/// owner lock) is opened first, waiting up to [`smartpos_terminal::journal::DEFAULT_OWNER_WAIT`]
/// for another request to finish (then `REFUSED_BUSY`), and restart recovery runs before
/// anything else, so a retry or a query of an order a killed process left behind gets a final
/// answer (or `UNKNOWN` while its reversal is pending), never `IN_PROGRESS` for ever.
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
    let journal = match Journal::open(&dir.journal_path()) {
        Ok(j) => j,
        Err(JournalError::Busy { .. }) => {
            let mut e = ResultEnvelope::new(ResultCode::RefusedBusy);
            e.set("caller", caller.package.as_str()).set(
                "message",
                "another request is using the terminal: try again (same order id) when it ends",
            );
            return Ok(Handled {
                result: stamp(e, now).sign(&key),
                callback: None,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let all_apps = allow
        .apps
        .iter()
        .filter(|a| a.all_apps)
        .map(|a| a.package.clone());
    let mut terminal = terminal_on(journal, host, ca_pem, customer)?.with_all_apps_scope(all_apps);
    let request = match admit(&raw, caller, &allow, terminal.journal_mut(), now) {
        Ok(r) => r,
        Err((env, callback)) => {
            return Ok(Handled {
                result: stamp(env, now).sign(&key),
                callback,
            })
        }
    };
    let callback = request.callback.clone();
    let done = |env: ResultEnvelope| {
        Ok(Handled {
            result: stamp(env, now).sign(&key),
            callback: callback.clone(),
        })
    };
    let refusal = |code: ResultCode, message: String| {
        let mut e = ResultEnvelope::new(code);
        e.set("request_hash", request.request_hash.as_str())
            .set("caller", caller.package.as_str());
        e.set("order", request.order.as_str())
            .set("type", request.kind.name())
            .set("message", message);
        e
    };
    let existing = terminal.query(&caller.package, &request.order)?;
    if request.kind == RequestType::Settle {
        // A repeated settle request answers what the first one did.
        if let Some((batch, message)) = terminal
            .journal()
            .find_settle_request(&caller.package, &request.order)?
        {
            let mut e = ResultEnvelope::new(ResultCode::Approved);
            e.set("batch", format!("{batch:06}"))
                .set("message", message);
            e.set("request_hash", request.request_hash.as_str())
                .set("caller", caller.package.as_str());
            e.set("order", request.order.as_str()).set("type", "settle");
            return done(e);
        }
        if existing.is_some() {
            return done(refusal(
                ResultCode::RefusedDuplicateOrder,
                "order id already used for a different request".into(),
            ));
        }
        let mut e = settle_for_request(&mut terminal, &caller.package, &request.order).await;
        e.set("request_hash", request.request_hash.as_str())
            .set("caller", caller.package.as_str());
        e.set("order", request.order.as_str()).set("type", "settle");
        return done(e);
    }
    let same_request = |entry: &smartpos_terminal::journal::JournalEntry| {
        entry.kind == request.kind.name()
            && request.amount.is_none_or(|a| {
                entry.amount_minor == a.minor() && entry.currency == a.currency().code()
            })
    };
    if let Some(entry) = &existing {
        if request.kind != RequestType::Query && !same_request(entry) {
            return done(refusal(
                ResultCode::RefusedDuplicateOrder,
                "order id already used for a different request".into(),
            ));
        }
        // A query, or a retry of the same request: finish what is open (the gateway for QR,
        // the pending reversal for a card), then answer from the journal.
        if is_open(entry) {
            if let Err(e) = resolve_open(&mut terminal).await {
                tracing::warn!("the order could not be resolved yet: {e}");
            }
        }
        let latest = terminal.query(&caller.package, &request.order)?;
        return done(envelope_for_query(&request, caller, latest.as_ref(), now));
    }
    if request.kind == RequestType::Query {
        if terminal.journal().rebuilt_batch()? == Some(terminal.engine_batch()) {
            // Rebuilt from the bank: orders from before cannot be matched by their order id,
            // so "not found" could be a charged order. Unknown until the batch is settled.
            let mut e = ResultEnvelope::new(ResultCode::Unknown);
            e.set("request_hash", request.request_hash.as_str())
                .set("caller", caller.package.as_str());
            e.set("order", request.order.as_str()).set("type", "query").set(
                "message",
                "this terminal's journal was rebuilt from the bank: an order from before cannot be confirmed by its id; do not charge again, ask the bank",
            );
            return done(e);
        }
        return done(envelope_for_query(&request, caller, None, now));
    }
    let qr = matches!(request.method, Some(m) if m != smartpos_core::handoff::Method::Card);
    if qr && request.kind != RequestType::Sale {
        return done(refusal(
            ResultCode::ErrorUnsupported,
            format!(
                "method {:?} is for sales; voids and refunds follow the original's method",
                request.method
            ),
        ));
    }
    if !qr {
        if let Err(e) = terminal.sign_in().await {
            return done(refusal(TerminalError::result_code(&e), e.to_string()));
        }
    }
    let outcome = run_request(&mut terminal, &request, &caller.package).await;
    match outcome {
        Some(Ok(r)) => done(envelope_for_payment(&request, caller, &r, now)),
        Some(Err(e)) => done(refusal(TerminalError::result_code(&e), e.to_string())),
        None => done(refusal(
            ResultCode::ErrorUnsupported,
            "request shape not supported".into(),
        )),
    }
}

/// Whether an order still waits for its final outcome.
fn is_open(e: &smartpos_terminal::journal::JournalEntry) -> bool {
    e.reversal_pending || matches!(e.state, TxnState::Sent | TxnState::Unknown)
}

/// The one mapping from a terminal failure to the result code the merchant app sees.
/// Runs an admitted payment request; `None` when its shape fits no transaction.
async fn run_request(
    terminal: &mut Terminal,
    request: &smartpos_core::handoff::HandoffRequest,
    app: &str,
) -> Option<Result<smartpos_core::payment::PaymentResult, TerminalError>> {
    use smartpos_core::handoff::Method;
    let order = request.order.as_str();
    Some(
        match (request.kind, request.amount, request.orig_ref.as_deref()) {
            (RequestType::Sale, Some(amount), _) if request.method == Some(Method::QrScan) => {
                terminal.qr_scan_sale(app, order, amount).await
            }
            (RequestType::Sale, Some(amount), _) if request.method == Some(Method::QrDisplay) => {
                let mut show = |payload: &str| eprintln!("show this code: {payload}");
                terminal
                    .qr_display_sale(app, order, amount, &mut show)
                    .await
            }
            (RequestType::Sale, Some(amount), _) => {
                terminal
                    .sale(PaymentRequest::sale(app, order, amount))
                    .await
            }
            (RequestType::Void, _, Some(r)) => terminal.void(app, order, r).await,
            (RequestType::Refund, Some(amount), Some(r)) => {
                terminal.refund(app, order, r, amount).await
            }
            (RequestType::Preauth, Some(amount), _) => terminal.preauth(app, order, amount).await,
            (RequestType::PreauthVoid, _, Some(r)) => terminal.preauth_void(app, order, r).await,
            (RequestType::PreauthComplete, Some(amount), Some(r)) => {
                terminal.preauth_complete(app, order, r, amount).await
            }
            (RequestType::CompleteVoid, _, Some(r)) => terminal.complete_void(app, order, r).await,
            (RequestType::Balance, None, None) => terminal.balance(app, order, Currency::CNY).await,
            _ => return None,
        },
    )
}

/// Settles the current batch for a handoff request: approved when the batch closed (totals
/// agreed, or after batch upload), `ERROR_TERMINAL` when it stays open. A closed batch is
/// recorded under the request's order id, so a repeat answers the same.
async fn settle_for_request(terminal: &mut Terminal, app: &str, order: &str) -> ResultEnvelope {
    use smartpos_core::engine::SettlementOutcome;
    let batch = terminal.engine_batch();
    let run = async {
        terminal.sign_in().await?;
        terminal.settle().await
    };
    let (code, message) = match run.await {
        Ok(SettlementOutcome::Balanced) => (
            ResultCode::Approved,
            "batch closed: totals agreed with the bank".to_string(),
        ),
        Ok(SettlementOutcome::Uploaded(n)) => (
            ResultCode::Approved,
            format!("batch closed after uploading {n} transactions: totals differed"),
        ),
        Ok(SettlementOutcome::Failed(why)) => (
            ResultCode::ErrorTerminal,
            format!("settlement did not complete ({why}); the batch stays open"),
        ),
        Err(e) => (
            ResultCode::ErrorTerminal,
            format!("settlement not started: {e}"),
        ),
    };
    let mut e = ResultEnvelope::new(code);
    e.set("message", message.as_str());
    e.set("batch", format!("{batch:06}"));
    if code == ResultCode::Approved {
        if let Err(err) = terminal
            .journal_mut()
            .record_settle_request(app, order, batch, &message)
        {
            tracing::error!("settle request not recorded: {err}");
        }
    }
    e
}

/// Finishes what is open: QR orders asked at the gateway, pending reversals sent after sign-in.
async fn resolve_open(terminal: &mut Terminal) -> Result<(), CmdError> {
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
