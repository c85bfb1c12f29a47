//! The acquiring app's request handling: one merchant-app request in, one signed result out.
//!
//! [`Terminal::handle_request`] admits the request (allow-list, expiry, replay), answers a
//! repeated order id from the journal (finishing what a killed process left open first), runs
//! the transaction, and signs the envelope. Every failure maps to its result code through
//! [`TerminalError::result_code`], the one exhaustive mapping. The Android app and the
//! `smartpos terminal handle-request` command are thin callers of this.

use crate::journal::{JournalEntry, TxnState};
use crate::store::{HostExchange, Store};
use crate::{Terminal, TerminalError};
use smartpos_core::engine::{SettlementOutcome, TerminalIdentity};
use smartpos_core::handoff::processor::Refusal;
use smartpos_core::handoff::result::Counter;
use smartpos_core::handoff::{
    admit, envelope_for_payment, envelope_for_query, AllowList, CallerIdentity, HandoffRequest,
    PaymentMethod, RawRequest, RequestType, ResultCode, ResultEnvelope, SignedResult, TerminalKey,
    TransactionType,
};
use smartpos_core::money::Currency;
use smartpos_core::payment::{PaymentRequest, PaymentResult};

/// A handled request: the signed result and where it goes.
#[derive(Debug, Clone)]
pub struct HandledRequest {
    /// The signed result.
    pub result: SignedResult,
    /// The callback deep link, when the request named a valid one.
    pub callback: Option<String>,
}

impl HandledRequest {
    /// The return deep link, or `None` for intent requests (the result goes back as extras).
    pub fn return_uri(&self) -> Option<String> {
        self.callback
            .as_ref()
            .map(|c| self.result.to_callback_uri(c))
    }
}

/// The answer when another request owns the terminal (its journal is locked): `REFUSED_BUSY`,
/// signed, nothing started. The caller retries later with the same order id.
///
/// ```
/// use smartpos_core::engine::EngineConfig;
/// use smartpos_core::handoff::{CallerIdentity, ResultCode, TerminalKey};
/// let key = TerminalKey::from_secret(&[7; 32]);
/// let caller = CallerIdentity::from_hex("com.example.merchant", &[]).unwrap();
/// let identity = EngineConfig::demo().identity;
/// let r = smartpos_terminal::requests::busy_result(&caller, &key, &identity, 1_700_000_000);
/// assert_eq!(r.envelope.get("code"), ResultCode::RefusedBusy.name());
/// assert!(r.verify(&key.public_hex()).is_ok());
/// ```
pub fn busy_result(
    caller: &CallerIdentity,
    key: &TerminalKey,
    identity: &TerminalIdentity,
    now_unix: i64,
) -> SignedResult {
    stamp(busy_envelope(caller), identity, now_unix).sign(key)
}

/// [`busy_result`] bound to the request it refuses: when the request parses, the answer carries
/// its order id, type and request hash (so the merchant app can trust it as the answer to that
/// request and retry) and goes to its callback. Nothing is admitted: the nonce stays unused.
///
/// ```
/// use smartpos_core::engine::EngineConfig;
/// use smartpos_core::handoff::{CallerIdentity, RawRequest, ResultCode, TerminalKey};
/// let key = TerminalKey::from_secret(&[7; 32]);
/// let caller = CallerIdentity::from_hex("com.example.merchant", &[]).unwrap();
/// let raw = RawRequest::DeepLink("smartpos://pay/v1?v=1&type=sale&amount=100&currency=CNY&order=A-1\
///     &nonce=0123456789abcdef&expires=1700000300&callback=shop%3A%2F%2Fpaid".into());
/// let identity = EngineConfig::demo().identity;
/// let h = smartpos_terminal::requests::busy_answer(&raw, &caller, &key, &identity, 1_700_000_000);
/// assert_eq!(h.result.envelope.code, ResultCode::RefusedBusy);
/// assert_eq!(h.result.envelope.order, "A-1");
/// assert!(h.return_uri().unwrap().starts_with("shop://paid?"));
/// ```
pub fn busy_answer(
    raw: &RawRequest,
    caller: &CallerIdentity,
    key: &TerminalKey,
    identity: &TerminalIdentity,
    now_unix: i64,
) -> HandledRequest {
    let parsed = match raw {
        RawRequest::DeepLink(uri) => HandoffRequest::from_deep_link(uri, now_unix),
        RawRequest::Intent(extras) => HandoffRequest::from_intent_extras(extras, now_unix),
    }
    .ok();
    let mut e = busy_envelope(caller);
    if let Some(r) = &parsed {
        e = about(e, r, caller);
    }
    HandledRequest {
        result: stamp(e, identity, now_unix).sign(key),
        callback: parsed.and_then(|r| r.callback),
    }
}

fn busy_envelope(caller: &CallerIdentity) -> ResultEnvelope {
    let mut e = ResultEnvelope::new(ResultCode::RefusedBusy);
    e.caller = caller.package.clone();
    e.message =
        "another request is using the terminal: try again (same order id) when it ends".into();
    e
}

impl<S: Store, L: HostExchange> Terminal<S, L> {
    /// Answers one merchant-app request with a signed result.
    ///
    /// The caller owns the terminal for the whole call (the journal's owner lock: build the
    /// `Terminal` after `Journal::open`, answer [`busy_answer`] when it is busy) and restart
    /// recovery has run, so a retry or a query of an order a killed process left behind gets a
    /// final answer (or `UNKNOWN` while its reversal is pending), never `IN_PROGRESS` for ever.
    /// `show_qr` displays a code for a merchant-presented QR sale.
    ///
    /// An `Err` means the journal could not be read or written outside a transaction: no
    /// result is given, and the merchant app queries its order id later.
    pub async fn handle_request(
        &mut self,
        raw: &RawRequest,
        caller: &CallerIdentity,
        allow: &AllowList,
        key: &TerminalKey,
        now_unix: i64,
        show_qr: &mut (dyn FnMut(&str) + Send),
    ) -> Result<HandledRequest, TerminalError> {
        let identity = self.config().identity.clone();
        let request = match admit(raw, caller, allow, self.journal_mut(), now_unix) {
            Ok(r) => r,
            Err(refused) => {
                let Refusal { envelope, callback } = *refused;
                return Ok(HandledRequest {
                    result: stamp(envelope, &identity, now_unix).sign(key),
                    callback,
                });
            }
        };
        let env = self.answer(&request, caller, now_unix, show_qr).await?;
        Ok(HandledRequest {
            result: stamp(env, &identity, now_unix).sign(key),
            callback: request.callback.clone(),
        })
    }

    /// The envelope for an admitted request.
    async fn answer(
        &mut self,
        request: &HandoffRequest,
        caller: &CallerIdentity,
        now: i64,
        show_qr: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ResultEnvelope, TerminalError> {
        let app = caller.package.as_str();
        let existing = self.query(app, &request.order)?;
        if request.kind == RequestType::Settle {
            // A repeated settle request answers what the first one did.
            if let Some((batch, message)) =
                self.journal().find_settle_request(app, &request.order)?
            {
                let mut e = ResultEnvelope::new(ResultCode::Approved);
                e.batch = Some(Counter(batch));
                e.message = message;
                return Ok(about(e, request, caller));
            }
            if existing.is_some() {
                return Ok(duplicate_order(request, caller));
            }
            let e = self.settle_for_request(app, &request.order).await;
            return Ok(about(e, request, caller));
        }
        if let Some(entry) = &existing {
            if request.kind != RequestType::Query && !same_request(request, entry) {
                return Ok(duplicate_order(request, caller));
            }
            // A query, or a retry of the same request: finish what is open (the gateway for
            // QR, the pending reversal for a card), then answer from the journal.
            if is_open(entry) {
                if let Err(e) = self.resolve_open().await {
                    tracing::warn!("the order could not be resolved yet: {e}");
                }
            }
            let latest = self.query(app, &request.order)?;
            return Ok(envelope_for_query(request, caller, latest.as_ref(), now));
        }
        if request.kind == RequestType::Query {
            if self.journal().rebuilt_batch()? == Some(self.engine_batch()) {
                // Rebuilt from the bank: orders from before cannot be matched by their order
                // id, so "not found" could be a charged order. Unknown until the batch settles.
                let mut e = ResultEnvelope::new(ResultCode::Unknown);
                e.message = "this terminal's journal was rebuilt from the bank: an order from before cannot be confirmed by its id; do not charge again, ask the bank".into();
                return Ok(about(e, request, caller));
            }
            return Ok(envelope_for_query(request, caller, None, now));
        }
        let qr = matches!(request.method, Some(m) if m != PaymentMethod::Card);
        if qr && request.kind != RequestType::Transaction(TransactionType::Sale) {
            return Ok(refusal(
                request,
                caller,
                ResultCode::ErrorUnsupported,
                format!(
                    "method {:?} is for sales; voids and refunds follow the original's method",
                    request.method
                ),
            ));
        }
        if !qr {
            if let Err(e) = self.sign_in().await {
                return Ok(refusal(request, caller, e.result_code(), e.to_string()));
            }
        }
        Ok(match self.run_request(request, app, show_qr).await {
            Some(Ok(r)) => envelope_for_payment(request, caller, &r, now),
            Some(Err(e)) => refusal(request, caller, e.result_code(), e.to_string()),
            None => refusal(
                request,
                caller,
                ResultCode::ErrorUnsupported,
                "request shape not supported".into(),
            ),
        })
    }

    /// Runs an admitted payment request; `None` when its shape fits no transaction.
    async fn run_request(
        &mut self,
        request: &HandoffRequest,
        app: &str,
        show_qr: &mut (dyn FnMut(&str) + Send),
    ) -> Option<Result<PaymentResult, TerminalError>> {
        use TransactionType::*;
        let order = request.order.as_str();
        let kind = request.kind.transaction()?;
        Some(match (kind, request.amount, request.orig_ref.as_deref()) {
            (Sale, Some(amount), _) => match request.method {
                Some(PaymentMethod::QrScan) => self.qr_scan_sale(app, order, amount).await,
                Some(PaymentMethod::QrDisplay) => {
                    self.qr_display_sale(app, order, amount, show_qr).await
                }
                Some(PaymentMethod::Card) | None => {
                    self.sale(PaymentRequest::sale(app, order, amount)).await
                }
            },
            (Void, _, Some(r)) => self.void(app, order, r).await,
            (Refund, Some(amount), Some(r)) => self.refund(app, order, r, amount).await,
            (Preauth, Some(amount), _) => self.preauth(app, order, amount).await,
            (PreauthVoid, _, Some(r)) => self.preauth_void(app, order, r).await,
            (PreauthComplete, Some(amount), Some(r)) => {
                self.preauth_complete(app, order, r, amount).await
            }
            (CompleteVoid, _, Some(r)) => self.complete_void(app, order, r).await,
            (Balance, None, None) => self.balance(app, order, Currency::CNY).await,
            _ => return None,
        })
    }

    /// Settles the current batch for a request: approved when the batch closed (totals agreed,
    /// or after batch upload), `ERROR_TERMINAL` when it stays open. A closed batch is recorded
    /// under the request's order id, so a repeat answers the same.
    async fn settle_for_request(&mut self, app: &str, order: &str) -> ResultEnvelope {
        let batch = self.engine_batch();
        let run = async {
            self.sign_in().await?;
            self.settle().await
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
        e.message = message.clone();
        e.batch = Some(Counter(batch));
        if code == ResultCode::Approved {
            if let Err(err) = self
                .journal_mut()
                .record_settle_request(app, order, batch, &message)
            {
                tracing::error!("settle request not recorded: {err}");
            }
        }
        e
    }

    /// Finishes what is open: QR orders asked at the gateway, pending reversals sent after
    /// sign-in.
    /// Finishes what a killed process (or a lost answer) left open: QR orders are asked at the
    /// gateway, then pending reversals are sent (after signing in). The acquiring app runs it at
    /// start, before its first request; `handle_request` runs it for a query of an open order.
    ///
    /// ```no_run
    /// # async fn f(t: &mut smartpos_terminal::Terminal) -> Result<(), smartpos_terminal::TerminalError> {
    /// t.resolve_open().await?;
    /// # Ok(()) }
    /// ```
    pub async fn resolve_open(&mut self) -> Result<(), TerminalError> {
        self.resolve_qr().await?;
        self.sign_in().await?;
        self.flush_reversals().await?;
        Ok(())
    }
}

/// Whether an order still waits for its final outcome.
fn is_open(e: &JournalEntry) -> bool {
    e.reversal_pending || matches!(e.state, TxnState::Sent | TxnState::Unknown)
}

/// Whether a journal entry is the same request again (type, and amount when one was given).
fn same_request(request: &HandoffRequest, entry: &JournalEntry) -> bool {
    entry.kind == request.kind.name()
        && request.amount.is_none_or(|a| {
            entry.amount_minor == a.minor() && entry.currency == a.currency().code()
        })
}

/// Fills in what every answer to an admitted request carries.
fn about(
    mut e: ResultEnvelope,
    request: &HandoffRequest,
    caller: &CallerIdentity,
) -> ResultEnvelope {
    e.request_hash = request.request_hash.clone();
    e.caller = caller.package.clone();
    e.order = request.order.clone();
    e.kind = Some(request.kind);
    e
}

fn refusal(
    request: &HandoffRequest,
    caller: &CallerIdentity,
    code: ResultCode,
    message: String,
) -> ResultEnvelope {
    let mut e = ResultEnvelope::new(code);
    e.message = message;
    about(e, request, caller)
}

fn duplicate_order(request: &HandoffRequest, caller: &CallerIdentity) -> ResultEnvelope {
    refusal(
        request,
        caller,
        ResultCode::RefusedDuplicateOrder,
        "order id already used for a different request".into(),
    )
}

/// The terminal's identity and the time, where the envelope does not carry them yet.
fn stamp(mut env: ResultEnvelope, identity: &TerminalIdentity, now: i64) -> ResultEnvelope {
    if env.terminal_id.is_empty() {
        env.terminal_id = identity.terminal_id.clone();
    }
    if env.merchant_id.is_empty() {
        env.merchant_id = identity.merchant_id.clone();
    }
    env.time.get_or_insert(now);
    env
}
