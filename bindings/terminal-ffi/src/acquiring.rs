//! The acquiring app's terminal for Kotlin: one object that answers merchant-app requests
//! with Kotlin-implemented drivers, the SQLite journal and the HTTPS host link.
//!
//! Each request opens the journal (and so owns the terminal) for its whole run, as
//! `smartpos_terminal::requests` describes: a second request while one runs is answered
//! `REFUSED_BUSY`, signed. Calls block the calling thread until the answer (call them from a
//! worker thread, never the UI thread); the card reader and PIN pad drivers are called back
//! on the terminal's own threads.

use crate::market::{allow_list, MarketApp};
use crate::{
    CardReaderAdapter, CardReaderDriver, PinPadAdapter, PinPadDriver, ScannerAdapter, ScannerDriver,
};
use smartpos_core::engine::EngineConfig;
use smartpos_core::handoff::{AllowList, CallerIdentity, RawRequest, TerminalKey};
use smartpos_core::profile::AcquirerProfile;
use smartpos_core::time::LocalTime;
use smartpos_terminal::journal::{Journal, JournalError};
use smartpos_terminal::qr_runner::QrSetup;
use smartpos_terminal::requests::{busy_answer, HandledRequest};
use smartpos_terminal::transport::{GatewayLink, HostLink};
use smartpos_terminal::Terminal;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why the acquiring terminal could not give an answer. No result was produced: the merchant
/// app gets none and queries its order id later (never a failure for the customer).
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum AcquiringError {
    /// The setup is unusable (key, allow-list, profile, host URL or CA).
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The caller's identity as given by the OS is malformed.
    #[error("caller identity: {reason}")]
    Caller {
        /// What is wrong.
        reason: String,
    },
    /// The journal could not be opened, read or written outside a transaction.
    #[error("terminal: {reason}")]
    Terminal {
        /// What failed (no card data).
        reason: String,
    },
}

/// How the acquiring terminal is set up (the bank provisions these values).
#[derive(Debug, Clone, uniffi::Record)]
pub struct AcquiringSetup {
    /// The journal database file; its key, anchor and lock files sit beside it.
    pub journal_path: String,
    /// The bank's internet front, e.g. `https://pos.bank.example:8583`.
    pub host_url: String,
    /// The CA (PEM) the front's certificate must chain to; nothing else is trusted.
    pub ca_pem: String,
    /// The terminal's Ed25519 result-signing key, 32 bytes hex (keep it in the Android keystore).
    pub terminal_key_hex: String,
    /// The allow-list of merchant apps (JSON, as `smartpos market allowlist` exports it); on a
    /// terminal with the market, leave it `{"apps":[]}` and call
    /// [`AcquiringTerminal::set_allowed_apps`] with the market-verified installed apps.
    pub allow_list_json: String,
    /// The QR gateway (WeChat Pay / Alipay / UnionPay QR), e.g. the front's URL; its
    /// certificate must chain to the same CA. `None`: QR requests are answered unsupported.
    pub gateway_url: Option<String>,
    /// Terminal id (F41, 8 characters).
    pub terminal_id: String,
    /// Merchant id (F42, 15 characters).
    pub merchant_id: String,
    /// Merchant name for receipts.
    pub merchant_name: String,
    /// The acquirer profile (JSON); `None` for the CUP defaults.
    pub profile_json: Option<String>,
}

/// A signed answer and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RequestAnswer {
    /// The result code's wire name, e.g. `APPROVED` (for logs).
    pub code: String,
    /// For a deep-link request with a valid callback: the link to open (callback + signed
    /// result).
    pub return_uri: Option<String>,
    /// The signed result as intent result extras (`smartpos.*` keys), for `setResult`.
    pub extras: HashMap<String, String>,
}

impl From<HandledRequest> for RequestAnswer {
    fn from(h: HandledRequest) -> Self {
        RequestAnswer {
            code: h.result.envelope.code.name().to_string(),
            return_uri: h.return_uri(),
            extras: h.result.to_intent_extras().into_iter().collect(),
        }
    }
}

/// Where the acquiring app shows a customer-scans-merchant QR code (its payment screen).
#[uniffi::export(with_foreign)]
pub trait CodeScreen: Send + Sync {
    /// Shows `payload` as a QR code until the request's answer arrives.
    fn show_code(&self, payload: String);
}

/// The acquiring app's terminal.
///
/// Kotlin:
/// ```kotlin
/// val terminal = AcquiringTerminal(setup, cardReader, pinPad)
/// val answer = terminal.handle(RequestCarrier.DeepLink(intent.data.toString()), callerPackage, callerCertDigests)
/// answer.returnUri?.let { startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(it))) }
/// ```
#[derive(uniffi::Object)]
pub struct AcquiringTerminal {
    journal_path: PathBuf,
    host_url: String,
    /// Built once (TLS configuration and the pinned CA); each request's terminal gets a clone.
    link: HostLink,
    key: TerminalKey,
    allow: Mutex<AllowList>,
    config: EngineConfig,
    card_reader: Arc<dyn CardReaderDriver>,
    pin_pad: Arc<dyn PinPadDriver>,
    gateway: Option<Arc<GatewayLink>>,
    scanner: Option<Arc<dyn ScannerDriver>>,
    screen: Option<Arc<dyn CodeScreen>>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for AcquiringTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquiringTerminal")
            .field("journal_path", &self.journal_path)
            .field("host_url", &self.host_url)
            .field("terminal_id", &self.config.identity.terminal_id)
            .finish_non_exhaustive()
    }
}

fn config_error(reason: impl std::fmt::Display) -> AcquiringError {
    AcquiringError::Config {
        reason: reason.to_string(),
    }
}

fn terminal_error(reason: impl std::fmt::Display) -> AcquiringError {
    AcquiringError::Terminal {
        reason: reason.to_string(),
    }
}

fn caller_identity(package: &str, certs: &[String]) -> Result<CallerIdentity, AcquiringError> {
    let digests: Vec<&str> = certs.iter().map(String::as_str).collect();
    CallerIdentity::from_hex(package, &digests).ok_or_else(|| AcquiringError::Caller {
        reason: "certificate digests must be 32 hex bytes each".into(),
    })
}

/// Local time in China Standard Time (UTC+8), the CUP host's clock.
fn cst_now() -> LocalTime {
    LocalTime::from_unix(unix_now(), 8 * 3600)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[uniffi::export]
impl AcquiringTerminal {
    /// Sets the terminal up; checks the key, the allow-list, the profile and the CA now, so a
    /// bad setup fails here and not at the first customer. The scanner reads customers'
    /// payment codes (merchant-scans-customer QR); the screen shows the terminal's code
    /// (customer-scans-merchant).
    #[uniffi::constructor]
    pub fn new(
        setup: AcquiringSetup,
        card_reader: Arc<dyn CardReaderDriver>,
        pin_pad: Arc<dyn PinPadDriver>,
        scanner: Option<Arc<dyn ScannerDriver>>,
        screen: Option<Arc<dyn CodeScreen>>,
    ) -> Result<Arc<Self>, AcquiringError> {
        let secret: [u8; 32] = hex::decode(setup.terminal_key_hex.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| config_error("the terminal key must be 32 hex bytes"))?;
        let allow: AllowList = serde_json::from_str(&setup.allow_list_json)
            .map_err(|e| config_error(format!("allow-list: {e}")))?;
        let mut config = EngineConfig::demo();
        config.identity.terminal_id = setup.terminal_id;
        config.identity.merchant_id = setup.merchant_id;
        config.identity.merchant_name = setup.merchant_name;
        if let Some(json) = &setup.profile_json {
            config.profile = AcquirerProfile::from_json(json)
                .map_err(|e| config_error(format!("profile: {e}")))?;
        }
        let link = HostLink::new(&setup.host_url, setup.ca_pem.as_bytes()).map_err(config_error)?;
        let gateway = match &setup.gateway_url {
            Some(url) => Some(Arc::new(
                GatewayLink::new(url, setup.ca_pem.as_bytes()).map_err(config_error)?,
            )),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(terminal_error)?;
        Ok(Arc::new(AcquiringTerminal {
            journal_path: PathBuf::from(setup.journal_path),
            host_url: setup.host_url,
            link,
            key: TerminalKey::from_secret(&secret),
            allow: Mutex::new(allow),
            config,
            card_reader,
            pin_pad,
            gateway,
            scanner,
            screen,
            runtime,
        }))
    }

    /// The terminal's result-signing public key (hex), which merchant apps verify against.
    pub fn public_key_hex(&self) -> String {
        self.key.public_hex()
    }

    /// Replaces the allow-list with these market-verified apps (see `MarketCheck`): the
    /// acquiring app calls it at start and on every package added, replaced or removed, so
    /// the market's grants are what authorizes a caller.
    pub fn set_allowed_apps(&self, apps: Vec<MarketApp>) -> Result<(), AcquiringError> {
        let list = allow_list(&apps).map_err(config_error)?;
        *self.allow.lock().unwrap_or_else(|p| p.into_inner()) = list;
        Ok(())
    }

    /// The signed `REFUSED_BUSY` answer to a request that arrives while another one runs,
    /// without touching the journal (the acquiring app's owner answers it at once instead of
    /// queueing it behind a payment that may take minutes). It carries the request's order id
    /// and hash when the request parses, so the merchant app can trust it and retry.
    pub fn busy(
        &self,
        request: RequestCarrier,
        caller_package: String,
        caller_cert_sha256: Vec<String>,
    ) -> Result<RequestAnswer, AcquiringError> {
        let caller = caller_identity(&caller_package, &caller_cert_sha256)?;
        Ok(RequestAnswer::from(busy_answer(
            &request.into_raw(),
            &caller,
            &self.key,
            &self.config.identity,
            unix_now(),
        )))
    }

    /// Finishes what a killed process left open (QR orders asked at the gateway, pending
    /// reversals sent) before the first request; the acquiring app calls it at start, on its
    /// worker thread. `true` when nothing is left open; `false` when something still waits
    /// (the bank unreachable, or another process owns the terminal): the next request, or a
    /// merchant app's query, tries again.
    pub fn recover(&self) -> Result<bool, AcquiringError> {
        let journal = match Journal::open(&self.journal_path) {
            Ok(j) => j,
            Err(JournalError::Busy { .. }) => return Ok(false),
            Err(e) => return Err(terminal_error(e)),
        };
        self.runtime.block_on(async {
            let mut terminal = self.terminal(journal).map_err(terminal_error)?;
            Ok(match terminal.resolve_open().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("left open after recovery: {e}");
                    false
                }
            })
        })
    }

    /// Answers a request from the app the OS names as the caller (its package and the
    /// SHA-256 digests of its signing certificates, hex).
    pub fn handle(
        &self,
        request: RequestCarrier,
        caller_package: String,
        caller_cert_sha256: Vec<String>,
    ) -> Result<RequestAnswer, AcquiringError> {
        self.answer(request.into_raw(), &caller_package, &caller_cert_sha256)
    }
}

/// A merchant app's request as it reached the acquiring app.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RequestCarrier {
    /// A `smartpos://pay/v1?...` deep link; the answer goes to its callback.
    DeepLink {
        /// The link.
        uri: String,
    },
    /// An explicit intent's extras (only `smartpos.*` keys are read); the answer goes back with
    /// `setResult`.
    Intent {
        /// The extras, as strings.
        extras: HashMap<String, String>,
    },
}

impl RequestCarrier {
    fn into_raw(self) -> RawRequest {
        match self {
            RequestCarrier::DeepLink { uri } => RawRequest::DeepLink(uri),
            RequestCarrier::Intent { extras } => {
                let mut extras: Vec<(String, String)> = extras.into_iter().collect();
                extras.sort();
                RawRequest::Intent(extras)
            }
        }
    }
}

impl AcquiringTerminal {
    /// The terminal over `journal` (restart recovery runs here), with QR when configured.
    fn terminal(&self, journal: Journal) -> Result<Terminal, smartpos_terminal::TerminalError> {
        let mut terminal = Terminal::new(
            self.config.clone(),
            journal,
            self.link.clone(),
            Box::new(CardReaderAdapter(Arc::clone(&self.card_reader))),
            Box::new(PinPadAdapter(Arc::clone(&self.pin_pad))),
            Box::new(cst_now),
        )?;
        if let Some(gateway) = &self.gateway {
            terminal = terminal.with_qr(QrSetup {
                link: Arc::clone(gateway) as _,
                schedule: smartpos_core::qr::QrSchedule::default(),
                form: self.config.profile.qr_form.clone(),
                scanner: self
                    .scanner
                    .as_ref()
                    .map(|s| Arc::new(ScannerAdapter(Arc::clone(s))) as _),
            });
        }
        Ok(terminal)
    }

    fn answer(
        &self,
        raw: RawRequest,
        caller_package: &str,
        caller_cert_sha256: &[String],
    ) -> Result<RequestAnswer, AcquiringError> {
        let caller = caller_identity(caller_package, caller_cert_sha256)?;
        let now = unix_now();
        let journal = match Journal::open(&self.journal_path) {
            Ok(j) => j,
            Err(JournalError::Busy { .. }) => {
                return Ok(RequestAnswer::from(busy_answer(
                    &raw,
                    &caller,
                    &self.key,
                    &self.config.identity,
                    now,
                )))
            }
            Err(e) => return Err(terminal_error(e)),
        };
        let allow = self.allow.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let all_apps: Vec<String> = allow
            .apps
            .iter()
            .filter(|a| a.all_apps)
            .map(|a| a.package.clone())
            .collect();
        let handled = self.runtime.block_on(async {
            let mut terminal = self.terminal(journal)?.with_all_apps_scope(all_apps);
            let screen = self.screen.clone();
            let mut show = move |payload: &str| match &screen {
                Some(s) => s.show_code(payload.to_string()),
                None => tracing::warn!("no screen to show the QR code on"),
            };
            terminal
                .handle_request(&raw, &caller, &allow, &self.key, now, &mut show)
                .await
        });
        handled.map(RequestAnswer::from).map_err(terminal_error)
    }
}
