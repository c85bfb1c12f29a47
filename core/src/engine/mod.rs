//! The sans-IO payment engine.
//!
//! The engine does no I/O and reads no clock. A transaction starts with
//! [`Engine::start_sign_in`] or [`Engine::start_sale`], each returning the first [`Action`].
//! The caller performs the action (through a driver, the journal or the host transport) and
//! feeds the result back with [`Engine::handle`] as an [`Event`], which returns the next action,
//! until [`Action::Finish`]. One action is outstanding at a time, so every crash point is a
//! named boundary between two actions and a test can stop the machine at any of them.
//!
//! Ordering guarantees: a reversible request is persisted (with its reversal armed) before it
//! is sent, and the outcome is persisted before it is handed back.
//!
//! ```
//! use smartpos_core::engine::{Action, Engine, EngineConfig, Event};
//! use smartpos_core::time::LocalTime;
//! let mut engine = Engine::new(EngineConfig::demo(), 1, 1);
//! let now = LocalTime::from_unix(1_700_000_000, 8 * 3600);
//! let first = engine.start_sign_in(now).unwrap();
//! assert!(matches!(first, Action::Persist(_)));
//! ```

mod advice;
mod download;
mod messages;
mod reversal;
mod sale;
mod settle;
mod sign_in;

pub use advice::{AdviceKind, AdviceOutcome, PendingAdvice, MAX_ADVICE_ATTEMPTS};
pub use download::{Downloaded, EmvDownload};
pub use messages::{check_response, ResponseProblem};
pub use reversal::{PendingReversal, ReversalOutcome};
pub use settle::{SettlementInput, SettlementOutcome, UploadItem};

use crate::card::Pan;
use crate::hal::{
    CardVerdict, EncryptedWorkingKeys, HalError, IssuerAnswer, PinEntry, Presented,
    TransactionStart,
};
use crate::money::Money;
use crate::payment::{PaymentRequest, PaymentResult, TransactionType};
use crate::profile::AcquirerProfile;
use crate::time::LocalTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who the terminal is at the acquirer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalIdentity {
    /// Terminal id, F41, 8 characters.
    pub terminal_id: String,
    /// Merchant id, F42, 15 characters.
    pub merchant_id: String,
    /// Merchant name for receipts.
    pub merchant_name: String,
}

/// Engine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Terminal identity.
    pub identity: TerminalIdentity,
    /// Acquirer profile.
    pub profile: AcquirerProfile,
    /// How long to wait for the host.
    pub host_timeout: Duration,
    /// How long to wait for a card.
    pub card_timeout: Duration,
    /// How long to wait for a PIN.
    pub pin_timeout: Duration,
}

impl EngineConfig {
    /// The simulator's demo terminal with the CUP default profile.
    pub fn demo() -> Self {
        EngineConfig {
            identity: TerminalIdentity {
                terminal_id: "10000001".into(),
                merchant_id: "898310048990001".into(),
                merchant_name: "Demo Coffee 演示咖啡".into(),
            },
            profile: AcquirerProfile::cup_default(),
            host_timeout: Duration::from_secs(30),
            card_timeout: Duration::from_secs(60),
            pin_timeout: Duration::from_secs(60),
        }
    }
}

/// A transaction as it starts: who asked, for what, under which trace and batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnStart {
    /// Caller package.
    pub caller: String,
    /// Merchant order id.
    pub order_id: String,
    /// Type.
    pub kind: TransactionType,
    /// Amount.
    pub amount: Money,
    /// Trace number allocated.
    pub trace: u32,
    /// Batch number.
    pub batch: u32,
    /// Start time.
    pub time: LocalTime,
}

/// A write the engine needs durable before it goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalWrite {
    /// The next trace number and the batch number.
    Counters {
        /// Next trace to allocate.
        next_trace: u32,
        /// Current batch.
        batch: u32,
    },
    /// The request is about to be sent: the transaction is recorded (state `sent`, its trace
    /// used) with its reversal armed, in one commit, so a sale costs two durable writes (this
    /// one and its [`JournalWrite::Outcome`]).
    Sending {
        /// The transaction as it started.
        start: TxnStart,
        /// Masked PAN.
        masked_pan: String,
        /// The reversal (0400) message, encoded without MAC, ready for store-and-forward.
        reversal: Option<Vec<u8>>,
    },
    /// A reversal is about to be sent (counts an attempt; `gave_up` marks it exhausted).
    ReversalAttempt {
        /// Trace of the original.
        trace: u32,
        /// Batch of the original.
        batch: u32,
        /// Stop retrying: the reversal cannot be sent (corrupt record).
        gave_up: bool,
    },
    /// The batch is settled: its approved transactions become `settled`; the batch number moves on.
    BatchSettled {
        /// The batch settled.
        batch: u32,
        /// The next batch number.
        next_batch: u32,
        /// The next trace.
        next_trace: u32,
    },
    /// The host acknowledged the reversal: the transaction is reversed, not charged.
    ReversalDone {
        /// Trace of the original.
        trace: u32,
        /// Batch of the original.
        batch: u32,
    },
    /// The outcome is known (or known to be unknown).
    Outcome {
        /// Trace.
        trace: u32,
        /// Batch.
        batch: u32,
        /// Set when the transaction ended before its request was recorded (declined at the card
        /// or PIN pad, or the [`JournalWrite::Sending`] write failed): the outcome write records
        /// the transaction too.
        start: Option<TxnStart>,
        /// The result.
        result: Box<PaymentResult>,
        /// Host response code, if a response arrived.
        response_code: Option<String>,
        /// For an approved void: (batch, trace) of the sale it voids, marked `voided` in the same commit.
        voids: Option<(u32, u32)>,
        /// Advices the host is owed for it (script results, TC upload), each encoded without
        /// F11 and MAC, kept pending in the same commit.
        advices: Vec<(AdviceKind, Vec<u8>)>,
        /// A new armed reversal (encoded without MAC) replacing the one recorded at `Sending`:
        /// a chip card that declined after running the issuer's scripts adds their results
        /// (DF31) to the reversal's field 55.
        reversal: Option<Vec<u8>>,
    },
    /// An advice attempt failed (`gave_up` at the last attempt).
    AdviceAttempt {
        /// Batch of its transaction.
        batch: u32,
        /// Trace of its transaction.
        trace: u32,
        /// Which advice.
        kind: AdviceKind,
        /// No more attempts.
        gave_up: bool,
    },
    /// The host acknowledged an advice.
    AdviceDone {
        /// Batch of its transaction.
        batch: u32,
        /// Trace of its transaction.
        trace: u32,
        /// Which advice.
        kind: AdviceKind,
    },
}

/// Why the journal could not make a write durable (the terminal's store reports it; the engine
/// decides what it means for the transaction).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct StoreFailure {
    /// What kind of failure.
    pub kind: StoreFailureKind,
    /// What the store said (no card data).
    pub detail: String,
}

/// Kinds of [`StoreFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreFailureKind {
    /// No space left on the device.
    #[error("storage full")]
    DiskFull,
    /// The store is in use by another owner.
    #[error("storage busy")]
    Busy,
    /// The store failed its integrity checks.
    #[error("storage integrity")]
    Integrity,
    /// Any other read or write failure.
    #[error("storage error")]
    Io,
}

/// Why no answer came back from the host, and whether the request can have reached it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportFailure {
    /// Connection or TLS handshake failed: the request bytes never left.
    #[error("not sent: {0}")]
    NotSent(LinkFailure),
    /// The request may have reached the host but no valid HTTP answer came in time.
    #[error("no answer: {0}")]
    NoAnswer(LinkFailure),
}

/// What went wrong on the link (the host link reports it; the engine decides by
/// [`TransportFailure`] whether the request can have arrived).
///
/// ```
/// use smartpos_core::engine::{LinkFailure, LinkFailureKind};
/// let f = LinkFailure::new(LinkFailureKind::Timeout, "30 s");
/// assert_eq!(f.to_string(), "timed out: 30 s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct LinkFailure {
    /// What kind of failure.
    pub kind: LinkFailureKind,
    /// What the link said (no card data).
    pub detail: String,
}

impl LinkFailure {
    /// A failure of this kind with a detail for logs.
    pub fn new(kind: LinkFailureKind, detail: impl Into<String>) -> Self {
        LinkFailure {
            kind,
            detail: detail.into(),
        }
    }
}

/// Kinds of [`LinkFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkFailureKind {
    /// No connection (refused, unreachable, DNS, TLS handshake).
    #[error("no connection")]
    Connect,
    /// No answer within the time limit.
    #[error("timed out")]
    Timeout,
    /// The front answered with an HTTP error status.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The answer could not be read or is not the expected message.
    #[error("unreadable answer")]
    BadAnswer,
    /// The request could not be encoded (nothing was sent).
    #[error("request not encodable")]
    Encode,
    /// Any other transport failure.
    #[error("transport error")]
    Other,
}

/// Why a sign-out or an echo test failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagementFailure {
    /// No answer from the host.
    #[error(transparent)]
    Transport(#[from] TransportFailure),
    /// The answer was not a valid response to the request (format, MAC, mismatch).
    #[error("bad answer: {0}")]
    BadAnswer(String),
    /// The host answered with a response code other than `00` (`None`: no code).
    #[error("host answered {}", .0.as_deref().unwrap_or("no code"))]
    Refused(Option<String>),
}

/// Something the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask the card reader for a card.
    ReadCard {
        /// What the reader is told: amount, type, whether this is the fallback swipe.
        start: TransactionStart,
        /// Time limit.
        timeout: Duration,
    },
    /// Ask the PIN pad for an online PIN block.
    OnlinePin {
        /// Card number for the format-0 block.
        pan: Pan,
        /// Amount to show.
        amount: Money,
        /// Time limit.
        timeout: Duration,
    },
    /// Hand the host's approval to the chip card and get its last word
    /// ([`CardReader::complete_online`](crate::hal::CardReader::complete_online)).
    CompleteOnCard {
        /// The host's answer.
        answer: IssuerAnswer,
        /// Time limit.
        timeout: Duration,
    },
    /// Load working keys into the PIN pad.
    LoadWorkingKeys(EncryptedWorkingKeys),
    /// Ask the PIN pad for a MAC over these bytes.
    ComputeMac(Vec<u8>),
    /// Make this durable.
    Persist(JournalWrite),
    /// Send a frame to the host and return its answer.
    SendToHost {
        /// The whole frame, length prefix included.
        frame: Vec<u8>,
        /// Time limit for the answer.
        timeout: Duration,
    },
    /// The transaction is over.
    Finish(Finished),
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Signed in; working keys loaded.
    SignedIn {
        /// Batch number the host assigned.
        batch: u32,
    },
    /// Sign-in failed.
    SignInFailed(SignInError),
    /// A payment ended with this result.
    Payment(Box<PaymentResult>),
    /// Sign-out or echo test ended (`Err` says why it failed).
    Management(Result<(), ManagementFailure>),
    /// Settlement ended.
    Settlement {
        /// The batch it was for.
        batch: u32,
        /// How.
        outcome: SettlementOutcome,
    },
    /// An advice attempt ended.
    Advice {
        /// Batch of its transaction.
        batch: u32,
        /// Trace of its transaction.
        trace: u32,
        /// Which advice.
        kind: AdviceKind,
        /// Delivered, or failed this time.
        outcome: AdviceOutcome,
    },
    /// An EMV parameter download ended (`Err` says why it failed; nothing was kept).
    EmvDownload(Result<Downloaded, ManagementFailure>),
    /// A reversal attempt ended.
    Reversal {
        /// Trace of the original.
        trace: u32,
        /// Batch of the original.
        batch: u32,
        /// Done, or failed this time.
        outcome: ReversalOutcome,
    },
}

/// Why sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The host refused (F39).
    #[error("host refused sign-in with code {0}")]
    Refused(String),
    /// The host's answer does not fit the request.
    #[error("bad sign-in response: {0}")]
    BadResponse(String),
    /// The PIN pad refused the keys (check value mismatch or fault).
    #[error("PIN pad refused the working keys: {0}")]
    KeysRefused(HalError),
    /// No answer from the host.
    #[error("host unreachable: {0}")]
    Unreachable(String),
    /// The journal could not record the counters.
    #[error("journal failure: {0}")]
    Journal(StoreFailure),
}

/// What the caller reports back.
#[derive(Debug, Clone)]
pub enum Event {
    /// Result of [`Action::ReadCard`].
    CardRead(Result<Presented, HalError>),
    /// Result of [`Action::CompleteOnCard`].
    CardCompleted(Result<CardVerdict, HalError>),
    /// Result of [`Action::OnlinePin`].
    PinEntered(Result<PinEntry, HalError>),
    /// Result of [`Action::LoadWorkingKeys`].
    KeysLoaded(Result<(), HalError>),
    /// Result of [`Action::ComputeMac`].
    MacComputed(Result<[u8; 8], HalError>),
    /// Result of [`Action::Persist`].
    Persisted(Result<(), StoreFailure>),
    /// Result of [`Action::SendToHost`].
    HostAnswered(Result<Vec<u8>, TransportFailure>),
}

/// Misuse of the engine API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Another transaction is in progress; requests are refused, never queued.
    #[error("another transaction is in progress")]
    Busy,
    /// Sign in first.
    #[error("terminal is not signed in")]
    NotSignedIn,
    /// No transaction is in progress.
    #[error("no transaction in progress")]
    Idle,
    /// The event does not answer the outstanding action.
    #[error("event does not answer the outstanding action ({0})")]
    UnexpectedEvent(&'static str),
    /// The profile is unusable.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
}

enum Active {
    SignIn(sign_in::SignIn),
    Sale(Box<sale::Sale>),
    Reversal(Box<reversal::Reversal>),
    Settle(Box<settle::Settle>),
    Management(sign_in::Management),
    Download(Box<download::Download>),
    Advice(Box<advice::Advice>),
}

/// Counters and session state the transactions share.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub config: EngineConfig,
    pub next_trace: u32,
    pub batch: u32,
    pub signed_in: bool,
    /// What the terminal downloaded (the contactless CVM limit of a card's AID comes from it).
    pub emv: Option<std::sync::Arc<crate::emv::params::EmvParameters>>,
    /// A host answer asked for a CA key or IC parameter download (header nibble 4 or 5).
    pub emv_download_due: bool,
}

impl Session {
    pub fn take_trace(&mut self) -> u32 {
        let t = self.next_trace;
        self.next_trace = if t >= 999_999 { 1 } else { t + 1 };
        t
    }
}

/// The payment engine: one transaction at a time.
pub struct Engine {
    session: Session,
    active: Option<Active>,
}

impl Engine {
    /// An engine with the journal's counters (`next_trace` 1..=999999, `batch` 0..=999999).
    pub fn new(config: EngineConfig, next_trace: u32, batch: u32) -> Self {
        let next_trace = if (1..=999_999).contains(&next_trace) {
            next_trace
        } else {
            1
        };
        Engine {
            session: Session {
                config,
                next_trace,
                batch: batch % 1_000_000,
                signed_in: false,
                emv: None,
                emv_download_due: false,
            },
            active: None,
        }
    }
    /// Whether sign-in has loaded working keys in this session.
    pub fn is_signed_in(&self) -> bool {
        self.session.signed_in
    }
    /// Current batch number.
    pub fn batch(&self) -> u32 {
        self.session.batch
    }
    /// Next trace number.
    pub fn next_trace(&self) -> u32 {
        self.session.next_trace
    }
    /// Takes the next trace for a payment the engine does not run itself (QR, whose machine
    /// is separate): card and QR traces come from one counter, unique in the batch.
    pub fn take_trace(&mut self) -> Result<u32, EngineError> {
        self.ready(false)?;
        Ok(self.session.take_trace())
    }
    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.session.config
    }
    /// Whether a transaction is in progress.
    pub fn is_busy(&self) -> bool {
        self.active.is_some()
    }

    /// Nothing in progress (else `Busy`) and, when `signed_in`, signed in (else `NotSignedIn`).
    fn ready(&self, signed_in: bool) -> Result<(), EngineError> {
        if self.active.is_some() {
            return Err(EngineError::Busy);
        }
        if signed_in && !self.session.signed_in {
            return Err(EngineError::NotSignedIn);
        }
        Ok(())
    }

    /// Starts sign-in (0800 → 0810, working keys into the PIN pad).
    pub fn start_sign_in(&mut self, now: LocalTime) -> Result<Action, EngineError> {
        self.ready(false)?;
        self.session.config.profile.tpdu()?;
        let (machine, action) = sign_in::SignIn::start(&mut self.session, now)?;
        self.active = Some(Active::SignIn(machine));
        Ok(action)
    }

    /// Starts a card sale.
    pub fn start_sale(
        &mut self,
        request: PaymentRequest,
        now: LocalTime,
    ) -> Result<Action, EngineError> {
        self.ready(true)?;
        let (machine, action) = sale::Sale::start(&mut self.session, request, now);
        self.active = Some(Active::Sale(Box::new(machine)));
        Ok(action)
    }

    /// Starts sending a pending reversal (needs the MAC key: sign in first).
    pub fn start_reversal(&mut self, pending: PendingReversal) -> Result<Action, EngineError> {
        self.ready(true)?;
        let (machine, action) = reversal::Reversal::start(&mut self.session, pending);
        self.active = machine.map(|m| Active::Reversal(Box::new(m)));
        Ok(action)
    }

    /// Starts a sign-out (0820/002; the terminal must sign in again) or an echo test (0820/301).
    pub fn start_management(&mut self, sign_out: bool) -> Result<Action, EngineError> {
        self.ready(false)?;
        let (machine, action) = sign_in::Management::start(&mut self.session, sign_out);
        self.active = Some(Active::Management(machine));
        Ok(action)
    }

    /// Starts an EMV parameter download (CA public keys or IC parameters); it finishes with
    /// [`Finished::EmvDownload`]. The caller stores what came and hands it to the kernel and to
    /// [`Engine::set_emv_parameters`].
    pub fn start_emv_download(&mut self, what: EmvDownload) -> Result<Action, EngineError> {
        self.ready(true)?;
        let (machine, action) = download::Download::start(&mut self.session, what);
        self.active = Some(Active::Download(Box::new(machine)));
        Ok(action)
    }

    /// Starts sending an advice the journal holds (needs the MAC key: sign in first).
    pub fn start_advice(&mut self, pending: PendingAdvice) -> Result<Action, EngineError> {
        self.ready(true)?;
        let (machine, action) = advice::Advice::start(&mut self.session, pending);
        self.active = machine.map(|m| Active::Advice(Box::new(m)));
        Ok(action)
    }

    /// The EMV parameters sales use (the contactless CVM limit per AID, DF21, over the
    /// profile's `contactless.no_pin_minor`).
    pub fn set_emv_parameters(&mut self, params: Option<crate::emv::params::EmvParameters>) {
        self.session.emv_download_due = false;
        self.session.emv = params.map(std::sync::Arc::new);
    }

    /// The EMV parameters in use.
    pub fn emv_parameters(&self) -> Option<&crate::emv::params::EmvParameters> {
        self.session.emv.as_deref()
    }

    /// Whether a host answer asked for a new CA key or IC parameter download.
    pub fn emv_download_due(&self) -> bool {
        self.session.emv_download_due
    }

    /// Starts batch settlement with the journal's totals (send pending reversals first).
    pub fn start_settlement(&mut self, input: SettlementInput) -> Result<Action, EngineError> {
        self.ready(true)?;
        let (machine, action) = settle::Settle::start(&mut self.session, input);
        self.active = Some(Active::Settle(Box::new(machine)));
        Ok(action)
    }

    /// Feeds the result of the outstanding action; returns the next one.
    pub fn handle(&mut self, event: Event) -> Result<Action, EngineError> {
        let active = self.active.take().ok_or(EngineError::Idle)?;
        let (next, action) = match active {
            Active::SignIn(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(Active::SignIn), a),
                Err((m, e)) => {
                    self.active = Some(Active::SignIn(m));
                    return Err(e);
                }
            },
            Active::Reversal(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(|m| Active::Reversal(Box::new(m))), a),
                Err((m, e)) => {
                    self.active = Some(Active::Reversal(m));
                    return Err(e);
                }
            },
            Active::Management(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(Active::Management), a),
                Err((m, e)) => {
                    self.active = Some(Active::Management(m));
                    return Err(e);
                }
            },
            Active::Settle(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(|m| Active::Settle(Box::new(m))), a),
                Err((m, e)) => {
                    self.active = Some(Active::Settle(m));
                    return Err(e);
                }
            },
            Active::Download(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(|m| Active::Download(Box::new(m))), a),
                Err((m, e)) => {
                    self.active = Some(Active::Download(m));
                    return Err(e);
                }
            },
            Active::Advice(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(|m| Active::Advice(Box::new(m))), a),
                Err((m, e)) => {
                    self.active = Some(Active::Advice(m));
                    return Err(e);
                }
            },
            Active::Sale(m) => match m.handle(&mut self.session, event) {
                Ok((m, a)) => (m.map(|m| Active::Sale(Box::new(m))), a),
                Err((m, e)) => {
                    self.active = Some(Active::Sale(m));
                    return Err(e);
                }
            },
        };
        self.active = next;
        Ok(action)
    }
}
