//! `smartpos terminal --data-dir DIR --host URL [--ca FILE] <command>`: a simulated terminal for
//! scripting. State (journal, terminal key, allow-list) lives in the data directory; the
//! simulated PIN pad holds keys in memory only, so each invocation signs in before host work.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::CipherKey;
use smartpos_core::engine::EngineConfig;
use smartpos_core::handoff::{
    AllowList, AllowedApp, CallerIdentity, RawRequest, RequestType, TerminalKey,
};
use smartpos_core::money::{Currency, Money};
use smartpos_terminal::journal::{Journal, JournalError, JournalFiles};
use smartpos_terminal::transport::HostLink;
use smartpos_terminal::Terminal;
use smartpos_testing::acquirer::{cards, TEST_TMK_HEX};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::path::{Path, PathBuf};

/// Package of the sample merchant app, allowed by the default allow-list.
pub const SAMPLE_MERCHANT_PACKAGE: &str = "com.example.merchant";
/// SHA-256 of the sample merchant app's (test) signing certificate, allowed by default.
pub const SAMPLE_MERCHANT_CERT_SHA256: &str =
    "3967fb7852caa93cadb5613e0c475c7560293e96d7c9b801314c2869570351aa";

crate::family_error!(
    /// Why `smartpos terminal` failed.
    TerminalCmdError {
        /// The journal failed.
        Journal(smartpos_terminal::journal::JournalError),
        /// A key is not valid.
        Key(smartpos_core::crypto::KeyError),
        /// An amount is not valid.
        Money(smartpos_core::money::MoneyError),
        /// The terminal failed outside a payment outcome.
        Terminal(smartpos_terminal::TerminalError),
        /// The host link could not be set up.
        Transport(smartpos_terminal::transport::TransportError),
    }
);

/// How the simulated terminal talks to its host: the acquirer profile and the host timeout.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// The acquirer profile (default: the CUP defaults).
    pub profile: smartpos_core::profile::AcquirerProfile,
    /// How long to wait for the host.
    pub host_timeout: std::time::Duration,
}

impl Default for SimSettings {
    fn default() -> Self {
        let demo = EngineConfig::demo();
        SimSettings {
            profile: demo.profile,
            host_timeout: demo.host_timeout,
        }
    }
}

/// Where the terminal keeps its state, and the settings it runs with.
pub struct DataDir {
    path: PathBuf,
    settings: SimSettings,
}

impl DataDir {
    /// Creates the directory and its defaults (terminal key, allow-list) when missing.
    /// Several processes may do this at once: each file is created whole, once.
    pub fn open(path: &Path) -> Result<Self, TerminalCmdError> {
        use smartpos_terminal::journal::files::create_private_once;
        std::fs::create_dir_all(path)?;
        let d = DataDir {
            path: path.to_path_buf(),
            settings: SimSettings::default(),
        };
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
                    // Every transaction type and queries; settling stays with the bank's own app.
                    permissions: RequestType::ALL
                        .into_iter()
                        .filter(|t| *t != RequestType::Settle)
                        .collect(),
                    all_apps: false,
                }],
            };
            create_private_once(&d.allowlist_path(), &serde_json::to_vec_pretty(&list)?)?;
        }
        Ok(d)
    }
    fn key_path(&self) -> PathBuf {
        self.path.join("terminal-key.hex")
    }
    fn allowlist_path(&self) -> PathBuf {
        self.path.join("allowlist.json")
    }
    /// The terminal's result-signing key.
    pub fn terminal_key(&self) -> Result<TerminalKey, TerminalCmdError> {
        let text = std::fs::read_to_string(self.key_path())?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("terminal-key.hex is corrupt: expected 32 hex bytes")?;
        Ok(TerminalKey::from_secret(&bytes))
    }
    /// Runs terminals built on this directory with these settings.
    pub fn with_settings(mut self, settings: SimSettings) -> Self {
        self.settings = settings;
        self
    }
    /// The allow-list of merchant apps.
    pub fn allowlist(&self) -> Result<AllowList, TerminalCmdError> {
        let text = std::fs::read_to_string(self.allowlist_path())?;
        Ok(serde_json::from_str(&text).map_err(|e| format!("allowlist.json is invalid: {e}"))?)
    }
    /// The journal database (its companion files are named by [`JournalFiles::for_db`]).
    pub fn journal_path(&self) -> PathBuf {
        self.path.join("journal.db")
    }
    /// Opens the journal, taking ownership of the terminal (waits for another owner up to
    /// [`smartpos_terminal::journal::DEFAULT_OWNER_WAIT`]).
    pub fn journal(&self) -> Result<Journal, TerminalCmdError> {
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
    /// How the card is read.
    pub entry: EntryMode,
    /// A chip card declines after the bank approved.
    pub card_declines: bool,
}

impl Default for Customer {
    fn default() -> Self {
        Customer {
            card: cards::standard_cards()[0].pan.clone(),
            pin: "123456".into(),
            cancel: false,
            qr_code: None,
            entry: EntryMode::MagStripe,
            card_declines: false,
        }
    }
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
) -> Result<Terminal, TerminalCmdError> {
    terminal_on(dir.journal()?, &dir.settings, host, ca_pem, customer)
}

/// Builds a terminal on a journal already opened (and so owned).
fn terminal_on(
    journal: Journal,
    settings: &SimSettings,
    host: &str,
    ca_pem: &[u8],
    customer: &Customer,
) -> Result<Terminal, TerminalCmdError> {
    let card = if customer.cancel {
        CardScript::Cancel
    } else {
        let track2 = cards::standard_cards()
            .iter()
            .find(|c| c.pan == customer.card)
            .map(cards::track2)
            .unwrap_or_else(|| format!("{}=3012101", customer.card));
        match customer.entry {
            EntryMode::MagStripe => CardScript::Card {
                track2,
                entry_mode: EntryMode::MagStripe,
            },
            chip => CardScript::Emv {
                track2,
                psn: "01".into(),
                contactless: chip == EntryMode::Contactless,
            },
        }
    };
    let link = HostLink::new(host, ca_pem)?;
    let mut config = EngineConfig::demo();
    config.profile = settings.profile.clone();
    config.host_timeout = settings.host_timeout;
    let qr = smartpos_terminal::qr_runner::QrSetup {
        link: std::sync::Arc::new(smartpos_terminal::transport::GatewayLink::new(
            host, ca_pem,
        )?),
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
        Box::new({
            let reader = SimCardReader::new([card]);
            if customer.card_declines {
                reader.decline_after_approval();
            }
            reader
        }),
        Box::new(SimPinPad::new(
            master,
            [PinScript::Pin(customer.pin.clone())],
        )),
        Box::new(crate::demo::cst_now),
    )?
    .with_qr(qr))
}

/// What `handle-request` returns: the signed result and where it goes.
pub type Handled = smartpos_terminal::requests::HandledRequest;

/// Processes one handoff request on the simulated terminal, through
/// [`Terminal::handle_request`].
///
/// The request owns the terminal from admission to its signed answer: the journal (and its
/// owner lock) is opened first, waiting up to [`smartpos_terminal::journal::DEFAULT_OWNER_WAIT`]
/// for another request to finish (then `REFUSED_BUSY`), and restart recovery runs before
/// anything else.
pub async fn handle_request(
    dir: &DataDir,
    host: &str,
    ca_pem: &[u8],
    raw: RawRequest,
    caller: &CallerIdentity,
    customer: &Customer,
) -> Result<Handled, TerminalCmdError> {
    let key = dir.terminal_key()?;
    let allow = dir.allowlist()?;
    let now = unix_now();
    let journal = match Journal::open(&dir.journal_path()) {
        Ok(j) => j,
        Err(JournalError::Busy { .. }) => {
            let identity = EngineConfig::demo().identity;
            return Ok(smartpos_terminal::requests::busy_answer(
                &raw, caller, &key, &identity, now,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let all_apps = allow
        .apps
        .iter()
        .filter(|a| a.all_apps)
        .map(|a| a.package.clone());
    let mut terminal =
        terminal_on(journal, &dir.settings, host, ca_pem, customer)?.with_all_apps_scope(all_apps);
    let mut show = |payload: &str| eprintln!("show this code: {payload}");
    Ok(terminal
        .handle_request(&raw, caller, &allow, &key, now, &mut show)
        .await?)
}

/// A 12.34-style amount in CNY.
pub fn parse_cny(text: &str) -> Result<Money, TerminalCmdError> {
    Ok(Money::parse_major(text, Currency::CNY)?)
}
