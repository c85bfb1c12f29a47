//! Runs the sans-IO engine against real adapters: HAL drivers, the journal and the host link.

use crate::journal::{Journal, JournalEntry, Recovery, TxnState, MAX_REVERSAL_ATTEMPTS};
use crate::store::{HostExchange, Store};
use crate::transport::HostLink;
use crate::TerminalError;
use smartpos_core::engine::{Action, Engine, EngineConfig, Event, Finished, ReversalOutcome};
use smartpos_core::hal::{CardReader, HalError, PinPad};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, PaymentRequest, PaymentResult};
use smartpos_core::payment::{Original, TransactionType};
use smartpos_core::time::LocalTime;
use std::sync::Arc;

/// The environment variable that aborts the process at a named step (crash tests only; read
/// only when the crate is built with the `crash-injection` feature, which the shipping build
/// leaves off):
/// `KIND:STEP`, e.g. `sale:answered`. Steps: `persist-counters`, `read-card`,
/// `online-pin`, `load-keys`, `mac`, `persist-sending`, `send`, `answered`, `complete-card`
/// (chip cards, after an approval), `persist-outcome`,
/// `persist-reversal-attempt`, `persist-reversal-done`, `persist-settled`,
/// `persist-advice-attempt`, `persist-advice-done`, `finish` (QR adds `persist-created`, `call`,
/// `show-code` and `wait`; kinds `qr_sale`, `qr_resolve`, `qr_void`, `qr_refund`); kinds: `sign-in`,
/// `sign-out`, `echo`, `emv-download`, `reversal`, `advice`, `settle`, and each transaction type
/// (`sale`, `void`, `refund`, `preauth`, `preauth_void`, `preauth_complete`, `complete_void`,
/// `balance`).
pub const CRASH_ENV: &str = "SMARTPOS_CRASH_AT";

/// Runs a blocking driver call on the runtime's blocking pool, never on an executor thread (a
/// card or PIN wait can take a minute). A driver that panics panics here too.
pub(crate) async fn off_executor<D, T>(
    driver: &Arc<D>,
    call: impl FnOnce(&D) -> Result<T, HalError> + Send + 'static,
) -> Result<T, HalError>
where
    D: ?Sized + Send + Sync + 'static,
    T: Send + 'static,
{
    let driver = Arc::clone(driver);
    match tokio::task::spawn_blocking(move || call(&driver)).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(HalError::Device(format!("driver call abandoned: {e}"))),
    }
}

#[cfg(feature = "crash-injection")]
fn crash_target() -> Option<String> {
    std::env::var(CRASH_ENV).ok()
}

#[cfg(not(feature = "crash-injection"))]
fn crash_target() -> Option<String> {
    None
}

fn entry_amount(e: &JournalEntry) -> Option<Money> {
    Money::from_stored(e.amount_minor, Currency::from_code(&e.currency)?).ok()
}

fn original_of(e: &JournalEntry, reference: &str) -> Original {
    Original {
        reference: reference.to_string(),
        auth_code: e.result.as_ref().and_then(|r| r.auth_code.clone()),
        batch: e.batch,
        trace: e.trace,
    }
}

fn step_name(a: &Action) -> &'static str {
    use smartpos_core::engine::JournalWrite as W;
    match a {
        Action::ReadCard { .. } => "read-card",
        Action::CompleteOnCard { .. } => "complete-card",
        Action::OnlinePin { .. } => "online-pin",
        Action::LoadWorkingKeys(_) => "load-keys",
        Action::ComputeMac(_) => "mac",
        Action::SendToHost { .. } => "send",
        Action::Finish(_) => "finish",
        Action::Persist(W::Counters { .. }) => "persist-counters",
        Action::Persist(W::Sending { .. }) => "persist-sending",
        Action::Persist(W::Outcome { .. }) => "persist-outcome",
        Action::Persist(W::ReversalAttempt { .. }) => "persist-reversal-attempt",
        Action::Persist(W::ReversalDone { .. }) => "persist-reversal-done",
        Action::Persist(W::BatchSettled { .. }) => "persist-settled",
        Action::Persist(W::AdviceAttempt { .. }) => "persist-advice-attempt",
        Action::Persist(W::AdviceDone { .. }) => "persist-advice-done",
    }
}

/// A simulated or real terminal: engine + drivers + store + host link. The store is the SQLite
/// [`Journal`] and the link the HTTPS [`HostLink`] unless a test or an embedder picks others
/// (see [`Store`] and [`HostExchange`]).
pub struct Terminal<S: Store = Journal, L: HostExchange = HostLink> {
    pub(crate) engine: Engine,
    /// Whether the card reader's kernel holds the engine's EMV parameters (loaded once a
    /// process, and after each download).
    kernel_loaded: bool,
    pub(crate) journal: S,
    link: L,
    card_reader: Arc<dyn CardReader>,
    pin_pad: Arc<dyn PinPad>,
    pub(crate) clock: Box<dyn Fn() -> LocalTime + Send>,
    crash_at: Option<String>,
    recovery: Recovery,
    pub(crate) qr: Option<crate::qr_runner::QrSetup>,
    all_apps_scope: Vec<String>,
}

impl<S: Store, L: HostExchange> Terminal<S, L> {
    /// Assembles a terminal; counters come from the journal.
    pub fn new(
        config: EngineConfig,
        journal: S,
        link: L,
        card_reader: Box<dyn CardReader>,
        pin_pad: Box<dyn PinPad>,
        clock: Box<dyn Fn() -> LocalTime + Send>,
    ) -> Result<Self, TerminalError> {
        let mut journal = journal;
        let recovery = journal.recover_interrupted(&config.identity)?;
        if recovery != Recovery::default() {
            tracing::warn!(?recovery, "recovered transactions interrupted by a restart");
        }
        let (next_trace, batch) = journal.counters()?;
        let mut engine = Engine::new(config, next_trace, batch);
        engine.set_emv_parameters(journal.emv_parameters()?);
        Ok(Terminal {
            engine,
            kernel_loaded: false,
            journal,
            link,
            card_reader: Arc::from(card_reader),
            pin_pad: Arc::from(pin_pad),
            clock,
            crash_at: crash_target(),
            recovery,
            qr: None,
            all_apps_scope: Vec::new(),
        })
    }

    /// What recovery at start found.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Sends every pending reversal, oldest first. Stops at the first that fails while it still
    /// has retries left; one that runs out of retries stays unknown for reconciliation.
    pub async fn flush_reversals(&mut self) -> Result<u32, TerminalError> {
        let mut sent = 0;
        for p in self.journal.pending_reversals()? {
            let first = self.engine.start_reversal(p.clone())?;
            match self.drive("reversal", first).await? {
                Finished::Reversal {
                    outcome: ReversalOutcome::Done,
                    ..
                } => sent += 1,
                Finished::Reversal {
                    outcome: ReversalOutcome::Failed(why),
                    ..
                } => {
                    if p.attempts + 1 < MAX_REVERSAL_ATTEMPTS {
                        return Err(TerminalError::ReversalPending {
                            batch: p.batch,
                            trace: p.trace,
                            why,
                        });
                    }
                    tracing::error!(
                        batch = p.batch,
                        trace = p.trace,
                        "reversal retries exhausted; left for reconciliation"
                    );
                }
                other => return Err(TerminalError::Unexpected(format!("{other:?}"))),
            }
        }
        Ok(sent)
    }

    /// Sends every pending advice (script results, TC uploads), oldest first; returns how many
    /// the host acknowledged. One that fails stays pending for the next flush (after the next
    /// transaction, sign-in or settlement) until its attempts run out.
    pub async fn flush_advices(&mut self) -> Result<u32, TerminalError> {
        use smartpos_core::engine::AdviceOutcome;
        let mut delivered = 0;
        for p in self.journal.pending_advices()? {
            let first = self.engine.start_advice(p)?;
            match self.drive("advice", first).await? {
                Finished::Advice {
                    outcome: AdviceOutcome::Delivered,
                    ..
                } => delivered += 1,
                Finished::Advice {
                    outcome: AdviceOutcome::Failed(why),
                    batch,
                    trace,
                    kind,
                } => {
                    tracing::warn!(batch, trace, ?kind, %why, "advice not delivered");
                    break;
                }
                other => return Err(TerminalError::Unexpected(format!("{other:?}"))),
            }
        }
        Ok(delivered)
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        self.engine.config()
    }

    /// Signs in; returns the batch number.
    pub async fn sign_in(&mut self) -> Result<u32, TerminalError> {
        let first = self.engine.start_sign_in((self.clock)())?;
        match self.drive("sign-in", first).await? {
            Finished::SignedIn { batch } => {
                // Pending reversals go out before anything else; a failure here is retried before the next sale.
                if let Err(e) = self.flush_reversals().await {
                    tracing::warn!(error = %e, "reversal not sent after sign-in");
                }
                if let Err(e) = self.flush_advices().await {
                    tracing::warn!(error = %e, "advices not sent after sign-in");
                }
                // EMV parameters: downloaded when the terminal has none or the host asks; a
                // failed download keeps what the terminal had and is tried at the next sign-in.
                if self.engine.emv_parameters().is_none() || self.engine.emv_download_due() {
                    if let Err(e) = self.download_emv_parameters().await {
                        tracing::warn!(error = %e, "EMV parameter download failed");
                    }
                }
                if let Err(e) = self.load_kernel().await {
                    tracing::warn!(error = %e, "card reader refused the EMV parameters");
                }
                Ok(batch)
            }
            Finished::SignInFailed(e) => Err(e.into()),
            other => Err(TerminalError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Downloads the CA public keys, then the IC parameters (0820/0800 with 60.3 372/370/371,
    /// then 382/380/381), keeps them in the store, and hands them to the engine and the card
    /// reader's kernel. All or nothing: on any failure the terminal keeps what it had. Sign-in
    /// calls it when the terminal has no parameters or a host answer asked for them.
    pub async fn download_emv_parameters(
        &mut self,
    ) -> Result<smartpos_core::emv::params::EmvParameters, TerminalError> {
        use smartpos_core::engine::{Downloaded, EmvDownload};
        let mut params = smartpos_core::emv::params::EmvParameters::default();
        for (what, name) in [
            (EmvDownload::CaKeys, "CA key download"),
            (EmvDownload::IcParameters, "IC parameter download"),
        ] {
            let first = self.engine.start_emv_download(what)?;
            match self.drive("emv-download", first).await? {
                Finished::EmvDownload(Ok(Downloaded::CaKeys(k))) => params.ca_keys = k,
                Finished::EmvDownload(Ok(Downloaded::IcParameters(a))) => params.aids = a,
                Finished::EmvDownload(Err(failure)) => {
                    return Err(TerminalError::Management {
                        what: name,
                        failure,
                    })
                }
                other => return Err(TerminalError::Unexpected(format!("{other:?}"))),
            }
        }
        self.journal.save_emv_parameters(&params)?;
        self.engine.set_emv_parameters(Some(params.clone()));
        self.kernel_loaded = false;
        self.load_kernel().await?;
        Ok(params)
    }

    /// Hands the engine's EMV parameters to the card reader's kernel, once a process and after
    /// each download.
    async fn load_kernel(&mut self) -> Result<(), TerminalError> {
        let Some(params) = self.engine.emv_parameters().filter(|_| !self.kernel_loaded) else {
            return Ok(());
        };
        let params = params.clone();
        off_executor(&self.card_reader, move |r| r.load_parameters(&params))
            .await
            .map_err(|error| TerminalError::Driver {
                what: "loading the EMV parameters into the card reader",
                error,
            })?;
        self.kernel_loaded = true;
        Ok(())
    }

    /// Runs a financial transaction (sale, or a prepared void/refund) to its outcome.
    ///
    /// Idempotent per (calling app, order id): a repeat with the same type, amount and currency
    /// returns the stored result without a host message; different content is refused. A repeat
    /// while the first is still in progress finds the engine busy.
    pub async fn sale(&mut self, request: PaymentRequest) -> Result<PaymentResult, TerminalError> {
        if let Some(entry) = self
            .journal
            .find_by_order(&request.caller, &request.order_id)?
        {
            let same = entry.kind == request.kind.name()
                && entry.amount_minor == request.amount.minor()
                && entry.currency == request.amount.currency().code();
            return match (same, entry.result) {
                (true, Some(stored)) => Ok(stored),
                (true, None) => Err(smartpos_core::engine::EngineError::Busy.into()),
                (false, _) => Err(TerminalError::DuplicateOrder {
                    order: request.order_id,
                }),
            };
        }
        if !self.engine.is_signed_in() {
            return Err(smartpos_core::engine::EngineError::NotSignedIn.into());
        }
        self.flush_reversals().await?;
        let kind = request.kind.name();
        let first = self.engine.start_sale(request, (self.clock)())?;
        match self.drive(kind, first).await? {
            Finished::Payment(r) => {
                if r.outcome == Outcome::Declined(Declined::ByCard) {
                    // The bank approved what the card refused: undo it now rather than before
                    // the next sale (a failure is retried then, as for any pending reversal).
                    if let Err(e) = self.flush_reversals().await {
                        tracing::warn!(error = %e, "reversal after a card decline not sent yet");
                    }
                }
                if r.chip.is_some() && r.outcome == Outcome::Approved {
                    // Script results and TC uploads the card's answer left (a failure stays
                    // pending for the next flush).
                    if let Err(e) = self.flush_advices().await {
                        tracing::warn!(error = %e, "advices not sent yet");
                    }
                }
                Ok(*r)
            }
            other => Err(TerminalError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Balance inquiry: card and PIN, no amount; the balance comes back in
    /// [`PaymentResult::balance`]. Journaled and queryable by order id like a payment, left out of
    /// totals and settlement; not reversible (nothing to undo).
    pub async fn balance(
        &mut self,
        caller: &str,
        order_id: &str,
        currency: Currency,
    ) -> Result<PaymentResult, TerminalError> {
        self.sale(PaymentRequest::balance(caller, order_id, currency))
            .await
    }

    /// Signs out (0820/002): the PIN pad's keys stay, but the terminal must sign in again.
    pub async fn sign_out(&mut self) -> Result<(), TerminalError> {
        self.management(true).await
    }

    /// Echo test (0820/301): is the host there?
    pub async fn echo(&mut self) -> Result<(), TerminalError> {
        self.management(false).await
    }

    async fn management(&mut self, sign_out: bool) -> Result<(), TerminalError> {
        let first = self.engine.start_management(sign_out)?;
        let kind = if sign_out { "sign-out" } else { "echo" };
        match self.drive(kind, first).await? {
            Finished::Management(Ok(())) => Ok(()),
            Finished::Management(Err(failure)) => Err(TerminalError::Management {
                what: kind,
                failure,
            }),
            other => Err(TerminalError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Settles the current batch (pending reversals first); on success the batch number moves on.
    pub async fn settle(
        &mut self,
    ) -> Result<smartpos_core::engine::SettlementOutcome, TerminalError> {
        if !self.engine.is_signed_in() {
            return Err(smartpos_core::engine::EngineError::NotSignedIn.into());
        }
        self.flush_reversals().await?;
        // Advices go before the batch closes; one that fails does not hold settlement up.
        if let Err(e) = self.flush_advices().await {
            tracing::warn!(error = %e, "advices not sent before settlement");
        }
        let input = self.journal.settlement_input(self.engine.batch())?;
        let first = self.engine.start_settlement(input)?;
        match self.drive("settle", first).await? {
            Finished::Settlement { outcome, .. } => Ok(outcome),
            other => Err(TerminalError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Voids an approved sale of the current batch by its retrieval reference.
    pub async fn void(
        &mut self,
        caller: &str,
        order_id: &str,
        reference: &str,
    ) -> Result<PaymentResult, TerminalError> {
        self.against_original(caller, order_id, TransactionType::Void, reference, None)
            .await
    }

    /// Refunds (part of) an approved sale by its retrieval reference.
    pub async fn refund(
        &mut self,
        caller: &str,
        order_id: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentResult, TerminalError> {
        self.against_original(
            caller,
            order_id,
            TransactionType::Refund,
            reference,
            Some(amount),
        )
        .await
    }

    /// A pre-authorization: a hold on the card for `amount`.
    pub async fn preauth(
        &mut self,
        caller: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<PaymentResult, TerminalError> {
        let request = PaymentRequest {
            caller: caller.to_string(),
            order_id: order_id.to_string(),
            kind: TransactionType::Preauth,
            amount,
            original: None,
        };
        self.sale(request).await
    }

    /// Releases a pre-authorization's hold.
    pub async fn preauth_void(
        &mut self,
        caller: &str,
        order_id: &str,
        reference: &str,
    ) -> Result<PaymentResult, TerminalError> {
        self.against_original(
            caller,
            order_id,
            TransactionType::PreauthVoid,
            reference,
            None,
        )
        .await
    }

    /// Completes a pre-authorization for `amount` (at most 115 % of the hold).
    pub async fn preauth_complete(
        &mut self,
        caller: &str,
        order_id: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentResult, TerminalError> {
        self.against_original(
            caller,
            order_id,
            TransactionType::PreauthComplete,
            reference,
            Some(amount),
        )
        .await
    }

    /// Voids a completion of the current batch.
    pub async fn complete_void(
        &mut self,
        caller: &str,
        order_id: &str,
        reference: &str,
    ) -> Result<PaymentResult, TerminalError> {
        self.against_original(
            caller,
            order_id,
            TransactionType::CompleteVoid,
            reference,
            None,
        )
        .await
    }

    /// A transaction that refers to an original, under the rules of its type: which original
    /// type, in which states, whether only in the current batch, and how the amount may relate.
    async fn against_original(
        &mut self,
        caller: &str,
        order_id: &str,
        kind: TransactionType,
        reference: &str,
        amount: Option<Money>,
    ) -> Result<PaymentResult, TerminalError> {
        use TransactionType::*;
        let (orig_kind, current_batch_only, max_percent) = match kind {
            Void => (Sale, true, 100),
            Refund => (Sale, false, 100),
            PreauthVoid => (Preauth, false, 100),
            PreauthComplete => (Preauth, false, 115),
            CompleteVoid => (PreauthComplete, true, 100),
            Sale | Preauth | Balance => {
                return Err(TerminalError::Unexpected(format!(
                    "{} takes no original",
                    kind.name()
                )))
            }
        };
        let what = kind.name();
        let not_found = || TerminalError::OriginalNotFound {
            reference: reference.to_string(),
            what,
        };
        let batch = self.engine.batch();
        let orig = self
            .journal
            .find_by_reference(reference, orig_kind)?
            .filter(|e| match e.state {
                TxnState::Approved => true,
                TxnState::Settled => !current_batch_only,
                _ => false,
            })
            // The current-batch rule is card settlement's; QR originals go back through the
            // gateway whatever the card batch is.
            .filter(|e| !current_batch_only || e.batch == batch || e.method != "card")
            .ok_or_else(not_found)?;
        if orig.caller != caller && !self.all_apps_scope.iter().any(|a| a == caller) {
            return Err(TerminalError::NotOwnOrder {
                reference: reference.to_string(),
            });
        }
        let orig_amount = entry_amount(&orig).ok_or_else(not_found)?;
        let amount = match amount {
            None => orig_amount,
            Some(a) => {
                if a.currency() != orig_amount.currency()
                    || a.minor() * 100 > orig_amount.minor() * max_percent
                {
                    return Err(TerminalError::RefundTooLarge);
                }
                a
            }
        };
        if orig.method != "card" {
            // A QR payment is voided or refunded through the QR gateway.
            return self
                .qr_against_original(caller, order_id, kind, &orig, amount)
                .await;
        }
        let request = PaymentRequest {
            caller: caller.to_string(),
            order_id: order_id.to_string(),
            kind,
            amount,
            original: Some(original_of(&orig, reference)),
        };
        self.sale(request).await
    }

    /// The latest journal record of a caller's order.
    pub fn query(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<JournalEntry>, TerminalError> {
        Ok(self.journal.find_by_order(caller, order_id)?)
    }

    /// The journal.
    pub fn journal(&self) -> &S {
        &self.journal
    }

    /// The journal, for writes outside a transaction (nonces, settle requests).
    pub fn journal_mut(&mut self) -> &mut S {
        &mut self.journal
    }

    /// The current batch number.
    pub fn engine_batch(&self) -> u32 {
        self.engine.batch()
    }

    /// Lets these apps void, refund and complete every app's orders (a market grant of the
    /// all-apps scope); every other app acts only on its own.
    pub fn with_all_apps_scope(mut self, apps: impl IntoIterator<Item = String>) -> Self {
        self.all_apps_scope = apps.into_iter().collect();
        self
    }

    /// Aborts the process here when [`CRASH_ENV`] names this step (`crash-injection` builds
    /// only; otherwise it does nothing).
    pub(crate) fn crash_point(&self, kind: &str, step: &str) {
        #[cfg(feature = "crash-injection")]
        if let Some(at) = &self.crash_at {
            if at.split_once(':') == Some((kind, step)) {
                eprintln!("{CRASH_ENV}: aborting at {kind}:{step}");
                std::process::abort();
            }
        }
        #[cfg(not(feature = "crash-injection"))]
        let _ = (kind, step, &self.crash_at);
    }

    async fn drive(&mut self, kind: &str, mut action: Action) -> Result<Finished, TerminalError> {
        loop {
            self.crash_point(kind, step_name(&action));
            let event = match action {
                Action::Finish(f) => return Ok(f),
                Action::ReadCard { start, timeout } => Event::CardRead(
                    off_executor(&self.card_reader, move |r| {
                        r.start_transaction(&start, timeout)
                    })
                    .await,
                ),
                Action::CompleteOnCard { answer, timeout } => Event::CardCompleted(
                    off_executor(&self.card_reader, move |r| {
                        r.complete_online(&answer, timeout)
                    })
                    .await,
                ),
                Action::OnlinePin {
                    pan,
                    amount,
                    timeout,
                } => Event::PinEntered(
                    off_executor(&self.pin_pad, move |p| p.online_pin(&pan, &amount, timeout))
                        .await,
                ),
                Action::LoadWorkingKeys(keys) => Event::KeysLoaded(
                    off_executor(&self.pin_pad, move |p| p.load_working_keys(&keys)).await,
                ),
                Action::ComputeMac(data) => {
                    Event::MacComputed(off_executor(&self.pin_pad, move |p| p.mac(&data)).await)
                }
                Action::Persist(write) => {
                    let r = self.journal.apply(&write).map_err(|e| e.store_failure());
                    if let Err(e) = &r {
                        tracing::error!(error = %e, "journal write failed");
                    }
                    Event::Persisted(r)
                }
                Action::SendToHost { frame, timeout } => {
                    tracing::debug!(bytes = frame.len(), "sending to host");
                    let answer = self.link.exchange(frame, timeout).await;
                    self.crash_point(kind, "answered");
                    Event::HostAnswered(answer)
                }
            };
            action = self.engine.handle(event)?;
        }
    }
}
