//! The QR side of the terminal runner: drives [`QrPayment`] with the journal, the gateway link,
//! the scanner and the real clock (Unix ms); waits are `tokio` sleeps. Resolution after a
//! restart or on a query goes through [`QrPayment::resume`].

use crate::journal::{JournalEntry, TxnState};
use crate::runner::Terminal;
use crate::store::{GatewayExchange, HostExchange, Store};
use crate::TerminalError;
use smartpos_core::engine::TransportFailure;
use smartpos_core::hal::Scanner;
use smartpos_core::money::Money;
use smartpos_core::payment::{Declined, Outcome, PaymentResult, TransactionType, UnknownReason};
use smartpos_core::qr::gateway::{gateway_order, GatewayCall, GatewayReply, QrStatus};
use smartpos_core::qr::machine::{QrStart, QrWrite};
use smartpos_core::qr::{PaymentMethod, QrAction, QrEvent, QrForm, QrPayment, QrSchedule, Wallet};
use std::time::Duration;

/// What a terminal needs for QR payments.
pub struct QrSetup {
    /// The gateway (`GatewayLink` over HTTPS, or any other [`GatewayExchange`]).
    pub link: std::sync::Arc<dyn GatewayExchange>,
    /// Polling and cancel times.
    pub schedule: QrSchedule,
    /// How customer-scans-merchant codes look (from the acquirer profile).
    pub form: QrForm,
    /// Reads customers' payment codes.
    pub scanner: Option<std::sync::Arc<dyn Scanner>>,
}

/// Unix time in ms.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn step_name(a: &QrAction) -> &'static str {
    match a {
        QrAction::Persist(QrWrite::Created { .. }) => "persist-created",
        QrAction::Persist(QrWrite::Sending { .. }) => "persist-sending",
        QrAction::Persist(QrWrite::Outcome { .. }) => "persist-outcome",
        QrAction::Call { .. } => "call",
        QrAction::ShowCode { .. } => "show-code",
        QrAction::WaitUntil { .. } => "wait",
        QrAction::Finish(_) => "finish",
    }
}

/// How `drive` should treat a code to show.
enum OnCode<'a> {
    /// Hand it out and keep polling.
    Show(&'a mut (dyn FnMut(&str) + Send)),
    /// Hand it out and stop (the order stays open; a later query resolves it).
    ReturnAt(&'a mut Option<String>),
}

impl<S: Store, L: HostExchange> Terminal<S, L> {
    /// Enables QR payments.
    pub fn with_qr(mut self, setup: QrSetup) -> Self {
        self.qr = Some(setup);
        self
    }

    fn qr_setup(&self) -> Result<&QrSetup, TerminalError> {
        self.qr
            .as_ref()
            .ok_or_else(|| TerminalError::QrUnavailable("not configured".into()))
    }

    /// Idempotency as for card payments: the same order with the same content returns the
    /// stored result (resolving it first if still open); different content is refused.
    async fn qr_existing(
        &mut self,
        caller: &str,
        order_id: &str,
        kind: TransactionType,
        amount: &Money,
    ) -> Result<Option<PaymentResult>, TerminalError> {
        let Some(e) = self.journal.find_by_order(caller, order_id)? else {
            return Ok(None);
        };
        let same = e.kind == kind.name()
            && e.amount_minor == amount.minor()
            && e.currency == amount.currency().code();
        if !same {
            return Err(TerminalError::DuplicateOrder {
                order: order_id.to_string(),
            });
        }
        if e.method != "card" && matches!(e.state, TxnState::Sent | TxnState::Unknown) {
            self.resolve_qr_entry(&e).await?;
        }
        let e = self
            .journal
            .find_by_order(caller, order_id)?
            .ok_or_else(|| TerminalError::Unexpected("journal lost an order".into()))?;
        match e.result {
            Some(r) => Ok(Some(r)),
            None => Err(smartpos_core::engine::EngineError::Busy.into()),
        }
    }

    fn qr_start(
        &mut self,
        caller: &str,
        order_id: &str,
        kind: TransactionType,
        amount: Money,
        code: Option<String>,
    ) -> Result<QrStart, TerminalError> {
        let trace = self.engine.take_trace()?;
        let id = &self.engine.config().identity;
        Ok(QrStart {
            caller: caller.to_string(),
            kind,
            order_id: order_id.to_string(),
            amount,
            code,
            trace,
            batch: self.engine.batch(),
            terminal_id: id.terminal_id.clone(),
            merchant_id: id.merchant_id.clone(),
            time: (self.clock)(),
            original: None,
        })
    }

    /// B scans C with a code already read: pays through the gateway, polls as needed, returns
    /// the final (or still unknown) result. A code of no wallet is refused before anything is
    /// journaled or sent.
    ///
    /// ```no_run
    /// # async fn f(t: &mut smartpos_terminal::Terminal, m: smartpos_core::money::Money) {
    /// let r = t.qr_scan_sale_with_code("com.example.shop", "Q-1", m, "134567890123456789").await;
    /// # }
    /// ```
    pub async fn qr_scan_sale_with_code(
        &mut self,
        caller: &str,
        order_id: &str,
        amount: Money,
        code: &str,
    ) -> Result<PaymentResult, TerminalError> {
        if let Some(r) = self
            .qr_existing(caller, order_id, TransactionType::Sale, &amount)
            .await?
        {
            return Ok(r);
        }
        smartpos_core::qr::detect_wallet(code)?;
        let start = self.qr_start(
            caller,
            order_id,
            TransactionType::Sale,
            amount,
            Some(code.to_string()),
        )?;
        let setup = self.qr_setup()?;
        let (m, a) = QrPayment::start(start, setup.schedule, setup.form.clone(), unix_ms())
            .map_err(|e| TerminalError::Unexpected(e.to_string()))?;
        self.drive_qr("qr_sale", m, a, None).await
    }

    /// B scans C: reads the customer's code with the scanner, then pays.
    pub async fn qr_scan_sale(
        &mut self,
        caller: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<PaymentResult, TerminalError> {
        let setup = self.qr_setup()?;
        let scanner = setup
            .scanner
            .clone()
            .ok_or_else(|| TerminalError::QrUnavailable("no scanner".into()))?;
        let scanned =
            crate::runner::off_executor(&scanner, |s| s.scan(Duration::from_secs(60))).await;
        let code = match scanned {
            Ok(c) => c,
            Err(e) => return Err(TerminalError::QrUnavailable(format!("scanner: {e}"))),
        };
        self.qr_scan_sale_with_code(caller, order_id, amount, code.trim())
            .await
    }

    /// C scans B: creates the order's code, hands it to `show` (screen and printer), polls until
    /// paid, closed, or the schedule runs out (then cancels).
    pub async fn qr_display_sale(
        &mut self,
        caller: &str,
        order_id: &str,
        amount: Money,
        show: &mut (dyn FnMut(&str) + Send),
    ) -> Result<PaymentResult, TerminalError> {
        if let Some(r) = self
            .qr_existing(caller, order_id, TransactionType::Sale, &amount)
            .await?
        {
            return Ok(r);
        }
        let start = self.qr_start(caller, order_id, TransactionType::Sale, amount, None)?;
        let setup = self.qr_setup()?;
        let (m, a) = QrPayment::start(start, setup.schedule, setup.form.clone(), unix_ms())
            .map_err(|e| TerminalError::Unexpected(e.to_string()))?;
        self.drive_qr("qr_sale", m, a, Some(OnCode::Show(show)))
            .await
    }

    /// C scans B without waiting: creates the order and returns its code's payload. The order
    /// stays open at the gateway; [`Terminal::resolve_qr`] (or a query) settles it later.
    pub async fn qr_code(
        &mut self,
        caller: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<String, TerminalError> {
        if self.journal.find_by_order(caller, order_id)?.is_some() {
            return Err(TerminalError::DuplicateOrder {
                order: order_id.to_string(),
            });
        }
        let start = self.qr_start(caller, order_id, TransactionType::Sale, amount, None)?;
        let setup = self.qr_setup()?;
        let (m, a) = QrPayment::start(start, setup.schedule, setup.form.clone(), unix_ms())
            .map_err(|e| TerminalError::Unexpected(e.to_string()))?;
        let mut code = None;
        let r = self
            .drive_qr("qr_sale", m, a, Some(OnCode::ReturnAt(&mut code)))
            .await?;
        code.ok_or_else(|| {
            TerminalError::Unexpected(format!(
                "no code: {}",
                serde_json::to_string(&r.outcome).unwrap_or_default()
            ))
        })
    }

    /// Asks the gateway about every QR payment that is not final (after a restart, or before
    /// reports): a final status is journaled; one past its schedule is cancelled. Returns how
    /// many became final.
    pub async fn resolve_qr(&mut self) -> Result<u32, TerminalError> {
        if self.qr.is_none() {
            return Ok(0);
        }
        let mut done = 0;
        for e in self.journal.qr_unresolved()? {
            if self.resolve_qr_entry(&e).await? {
                done += 1;
            }
        }
        Ok(done)
    }

    async fn resolve_qr_entry(&mut self, e: &JournalEntry) -> Result<bool, TerminalError> {
        let amount = Money::from_stored(
            e.amount_minor,
            smartpos_core::money::Currency::from_code(&e.currency)
                .ok_or_else(|| TerminalError::Unexpected("journal currency".into()))?,
        )
        .map_err(|e| TerminalError::Unexpected(e.to_string()))?;
        let kind = TransactionType::parse(&e.kind)
            .ok_or_else(|| TerminalError::Unexpected("journal type".into()))?;
        let start = QrStart {
            caller: e.caller.clone(),
            kind,
            order_id: e.order_id.clone(),
            amount,
            code: None,
            trace: e.trace,
            batch: e.batch,
            terminal_id: self.engine.config().identity.terminal_id.clone(),
            merchant_id: self.engine.config().identity.merchant_id.clone(),
            time: e
                .result
                .as_ref()
                .map(|r| r.time)
                .unwrap_or_else(|| (self.clock)()),
            original: e.reference.clone(),
        };
        let method = PaymentMethod::parse(&e.method).unwrap_or(PaymentMethod::QrScan);
        let wallet = e.wallet.as_deref().and_then(Wallet::parse);
        if kind != TransactionType::Sale {
            // A void or refund: repeat the (idempotent) call.
            let orig = self.qr_original_of(e)?;
            let r = self
                .qr_simple_call(start, method, wallet, orig.as_ref(), true)
                .await?;
            return Ok(!matches!(r.outcome, Outcome::Unknown { .. }));
        }
        let setup = self.qr_setup()?;
        let (m, a) = QrPayment::resume(
            start,
            method,
            wallet,
            e.pay_called_at_ms.unwrap_or(0),
            setup.schedule,
        );
        let r = self.drive_qr("qr_resolve", m, a, None).await?;
        Ok(!matches!(r.outcome, Outcome::Unknown { .. }))
    }

    /// The original sale of a QR void/refund entry (its reference is the original's order).
    fn qr_original_of(&self, e: &JournalEntry) -> Result<Option<JournalEntry>, TerminalError> {
        let orig_order = e.reference.clone().unwrap_or_default();
        Ok(self
            .journal
            .entries()?
            .into_iter()
            .filter(|o| o.order_id == orig_order && o.kind == "sale" && o.method != "card")
            // Orders are per app: the void's own app first (an all-apps app may void another's).
            .min_by_key(|o| o.caller != e.caller))
    }

    /// Void (cancel of a paid order) or refund of a QR sale.
    pub(crate) async fn qr_against_original(
        &mut self,
        caller: &str,
        order_id: &str,
        kind: TransactionType,
        orig: &JournalEntry,
        amount: Money,
    ) -> Result<PaymentResult, TerminalError> {
        if let Some(r) = self.qr_existing(caller, order_id, kind, &amount).await? {
            return Ok(r);
        }
        let mut start = self.qr_start(caller, order_id, kind, amount, None)?;
        start.original = Some(orig.order_id.clone());
        let method = PaymentMethod::parse(&orig.method).unwrap_or(PaymentMethod::QrScan);
        let wallet = orig.wallet.as_deref().and_then(Wallet::parse);
        self.qr_simple_call(start, method, wallet, Some(orig), false)
            .await
    }

    /// One call that is not a payment (void = cancel of the paid order, refund): journaled
    /// like a payment; the reference of the result names the original order.
    async fn qr_simple_call(
        &mut self,
        start: QrStart,
        method: PaymentMethod,
        wallet: Option<Wallet>,
        orig: Option<&JournalEntry>,
        resumed: bool,
    ) -> Result<PaymentResult, TerminalError> {
        let kind_name = match start.kind {
            TransactionType::Void => "qr_void",
            _ => "qr_refund",
        };
        let orig = orig.ok_or_else(|| TerminalError::Unexpected("original not found".into()))?;
        let mut result = PaymentResult {
            order_id: start.order_id.clone(),
            kind: start.kind,
            amount: start.amount,
            outcome: Outcome::Unknown {
                reason: UnknownReason::NoResponse,
            },
            masked_pan: None,
            auth_code: None,
            reference: Some(orig.order_id.clone()),
            trace: start.trace,
            batch: start.batch,
            terminal_id: start.terminal_id.clone(),
            merchant_id: start.merchant_id.clone(),
            time: start.time,
            balance: None,
            method,
            wallet,
            chip: None,
        };
        let (trace, batch) = (start.trace, start.batch);
        if !resumed {
            let w = QrWrite::Created {
                start: Box::new(start.clone()),
                method,
                wallet,
            };
            self.crash_point(kind_name, "persist-created");
            self.journal.apply_qr(&w, None)?;
            self.crash_point(kind_name, "persist-sending");
            self.journal.apply_qr(
                &QrWrite::Sending {
                    trace,
                    batch,
                    at_ms: unix_ms(),
                },
                None,
            )?;
        }
        let call = match start.kind {
            TransactionType::Void => GatewayCall::Cancel {
                merchant_id: start.merchant_id.clone(),
                order: gateway_order(&start.terminal_id, orig.batch, orig.trace),
            },
            _ => GatewayCall::Refund {
                merchant_id: start.merchant_id.clone(),
                order: gateway_order(&start.terminal_id, orig.batch, orig.trace),
                refund_order: start.gateway_order(),
                amount_minor: start.amount.minor(),
            },
        };
        let timeout = Duration::from_millis(self.qr_setup()?.schedule.call_timeout_ms);
        self.crash_point(kind_name, "call");
        let answer = self.qr_setup()?.link.call(&call, timeout).await;
        self.crash_point(kind_name, "answered");
        let void = start.kind == TransactionType::Void;
        result.outcome = match answer {
            Ok(GatewayReply {
                status: QrStatus::Revoked,
                ..
            }) if void => Outcome::Approved,
            Ok(GatewayReply {
                status: QrStatus::Success,
                ..
            }) if !void => Outcome::Approved,
            Ok(r) if r.status.is_final() => Outcome::Declined(Declined::Host {
                code: r
                    .error_code
                    .unwrap_or_else(|| format!("{:?}", r.status).to_uppercase()),
                message: r.message.unwrap_or_else(|| "refused by the gateway".into()),
            }),
            Err(TransportFailure::NotSent(failure)) if !resumed => {
                Outcome::Declined(Declined::HostUnreachable {
                    detail: failure.to_string(),
                })
            }
            _ => Outcome::Unknown {
                reason: UnknownReason::NoResponse,
            },
        };
        let voids =
            (void && result.outcome == Outcome::Approved).then_some((orig.batch, orig.trace));
        self.crash_point(kind_name, "persist-outcome");
        self.journal.apply_qr(
            &QrWrite::Outcome {
                trace,
                batch,
                result: Box::new(result.clone()),
            },
            voids,
        )?;
        Ok(result)
    }

    async fn drive_qr(
        &mut self,
        kind: &str,
        mut m: QrPayment,
        mut a: QrAction,
        mut on_code: Option<OnCode<'_>>,
    ) -> Result<PaymentResult, TerminalError> {
        loop {
            self.crash_point(kind, step_name(&a));
            let ev = match a {
                QrAction::Finish(r) => return Ok(*r),
                QrAction::Persist(w) => {
                    let r = self
                        .journal
                        .apply_qr(&w, None)
                        .map_err(|e| e.store_failure());
                    if let Err(e) = &r {
                        tracing::error!(error = %e, "journal write failed");
                    }
                    QrEvent::Persisted(r)
                }
                QrAction::Call { call, timeout_ms } => {
                    let link = self.qr_setup()?.link.clone();
                    let answer = link.call(&call, Duration::from_millis(timeout_ms)).await;
                    self.crash_point(kind, "answered");
                    QrEvent::Answered(answer)
                }
                QrAction::ShowCode { payload } => match &mut on_code {
                    Some(OnCode::Show(show)) => {
                        show(&payload);
                        QrEvent::CodeShown
                    }
                    Some(OnCode::ReturnAt(slot)) => {
                        **slot = Some(payload);
                        // Not waiting: the order is open, recorded as unknown until resolved.
                        let r = m.unknown_result();
                        let s = m.started();
                        self.journal.apply_qr(
                            &QrWrite::Outcome {
                                trace: s.trace,
                                batch: s.batch,
                                result: Box::new(r.clone()),
                            },
                            None,
                        )?;
                        return Ok(r);
                    }
                    None => QrEvent::CodeShown,
                },
                QrAction::WaitUntil { at_ms } => {
                    let now = unix_ms();
                    if at_ms > now {
                        tokio::time::sleep(Duration::from_millis(at_ms - now)).await;
                    }
                    QrEvent::Timer
                }
            };
            a = m
                .handle(ev, unix_ms())
                .map_err(|e| TerminalError::Unexpected(e.to_string()))?;
        }
    }
}
