//! The QR payment as a sans-IO state machine. Every event carries the current time in
//! milliseconds (Unix time in production, a simulated clock in tests), so the polling schedule
//! and the 15-second cancel rule are checked without sleeping.
//!
//! B scans C: `Created` → `Sending` (the pay call's time is durable) → pay → poll → final.
//! C scans B: `Created` → `Sending` → precreate → show the code → poll → final.
//! A status that is not final, a gateway error or no answer is polled on [`QrSchedule`]; when
//! the schedule runs out (or the merchant cancels) the order is cancelled, never sooner than
//! `cancel_not_before_ms` after the pay call. The gateway's final status always wins.

use super::emv::{merchant_presented, OrderCode};
use super::gateway::{GatewayCall, GatewayReply, QrStatus};
use super::{PaymentMethod, QrForm, Wallet};
use crate::engine::TransportFailure;
use crate::money::Money;
use crate::payment::{Declined, Outcome, PaymentResult, TransactionType, UnknownReason};
use crate::time::LocalTime;

/// When to poll and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrSchedule {
    /// Poll interval at first.
    pub fast_poll_ms: u64,
    /// How long after the pay call the fast interval lasts.
    pub fast_phase_ms: u64,
    /// Poll interval afterwards.
    pub slow_poll_ms: u64,
    /// After this long since the pay call, stop polling and cancel.
    pub give_up_ms: u64,
    /// Never cancel sooner than this after the pay call.
    pub cancel_not_before_ms: u64,
    /// Time limit for one gateway call.
    pub call_timeout_ms: u64,
}

impl Default for QrSchedule {
    /// Every 2 s for 30 s, then every 5 s up to 90 s; cancel no sooner than 15 s; 10 s a call.
    fn default() -> Self {
        QrSchedule {
            fast_poll_ms: 2_000,
            fast_phase_ms: 30_000,
            slow_poll_ms: 5_000,
            give_up_ms: 90_000,
            cancel_not_before_ms: 15_000,
            call_timeout_ms: 10_000,
        }
    }
}

/// What starts a QR payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrStart {
    /// Calling app.
    pub caller: String,
    /// `Sale` for a payment; `Void` and `Refund` when the runner journals those.
    pub kind: TransactionType,
    /// The merchant's order id (the gateway knows the order by [`QrStart::gateway_order`]).
    pub order_id: String,
    /// Amount.
    pub amount: Money,
    /// The customer's payment code (B scans C), or `None` to show a code (C scans B).
    pub code: Option<String>,
    /// Trace, from the same counter as card traces (6 digits; no ISO message carries it).
    pub trace: u32,
    /// Current batch (for the batch report; QR is not in card settlement).
    pub batch: u32,
    /// Terminal id.
    pub terminal_id: String,
    /// Merchant id.
    pub merchant_id: String,
    /// Local time at start.
    pub time: LocalTime,
    /// Void or refund: the original sale's merchant order id (journaled as the reference).
    pub original: Option<String>,
}

impl QrStart {
    /// This payment's order number at the gateway.
    pub fn gateway_order(&self) -> String {
        super::gateway::gateway_order(&self.terminal_id, self.batch, self.trace)
    }
}

/// A durable write the machine needs before it goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrWrite {
    /// The payment exists (state `created`).
    Created {
        /// What started it.
        start: Box<QrStart>,
        /// Scan or display.
        method: PaymentMethod,
        /// The wallet, when known from the code.
        wallet: Option<Wallet>,
    },
    /// The pay (or precreate) call is about to go out at `at_ms` (state `sent`).
    Sending {
        /// Journal sequence number.
        trace: u32,
        /// Batch.
        batch: u32,
        /// When, ms.
        at_ms: u64,
    },
    /// The outcome (approved, declined, or still unknown and left for recovery).
    Outcome {
        /// Journal sequence number.
        trace: u32,
        /// Batch.
        batch: u32,
        /// The result.
        result: Box<PaymentResult>,
    },
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrAction {
    /// Make this durable, then [`QrEvent::Persisted`].
    Persist(QrWrite),
    /// Call the gateway, then [`QrEvent::Answered`].
    Call {
        /// The call.
        call: GatewayCall,
        /// Time limit.
        timeout_ms: u64,
    },
    /// Show (and optionally print) this code, then [`QrEvent::CodeShown`].
    ShowCode {
        /// The payload to encode in the QR symbol.
        payload: String,
    },
    /// Wait until this time, then [`QrEvent::Timer`] (or [`QrEvent::CancelRequested`]).
    WaitUntil {
        /// ms.
        at_ms: u64,
    },
    /// Done.
    Finish(Box<PaymentResult>),
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrEvent {
    /// The last write is durable (or failed).
    Persisted(Result<(), crate::engine::StoreFailure>),
    /// The gateway answered (or did not).
    Answered(Result<GatewayReply, TransportFailure>),
    /// The code is on screen.
    CodeShown,
    /// The wait is over.
    Timer,
    /// The merchant (or the customer at the terminal) cancels while waiting.
    CancelRequested,
}

/// Why the machine refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrMachineError {
    /// The event does not answer the outstanding action.
    #[error("event does not answer the outstanding action ({0})")]
    UnexpectedEvent(&'static str),
    /// The payment code matches no wallet.
    #[error(transparent)]
    Code(#[from] super::QrCodeError),
    /// The code could not be built.
    #[error(transparent)]
    Emv(#[from] super::emv::EmvError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    ExpectCreated,
    ExpectSending,
    ExpectFirstAnswer,
    ExpectShown,
    Waiting,
    ExpectQueryAnswer,
    WaitingToCancel,
    ExpectCancelAnswer,
    ExpectOutcome(Box<PaymentResult>),
    Done,
}

/// One QR payment in flight.
///
/// ```
/// use smartpos_core::money::{Currency, Money};
/// use smartpos_core::qr::gateway::{GatewayReply, QrStatus};
/// use smartpos_core::qr::machine::{QrStart, QrWrite};
/// use smartpos_core::qr::{QrAction, QrEvent, QrForm, QrPayment, QrSchedule};
/// use smartpos_core::time::LocalTime;
/// let start = QrStart { caller: "app".into(), kind: smartpos_core::payment::TransactionType::Sale, order_id: "Q-1".into(),
///     amount: Money::from_minor(100, Currency::CNY).unwrap(), code: Some("134567890123456789".into()),
///     trace: 1_000_001, batch: 1, terminal_id: "10000001".into(), merchant_id: "898310048990001".into(),
///     time: LocalTime::from_unix(0, 0), original: None };
/// let (mut m, a) = QrPayment::start(start, QrSchedule::default(), QrForm::default(), 0).unwrap();
/// assert!(matches!(a, QrAction::Persist(QrWrite::Created { .. })));
/// let a = m.handle(QrEvent::Persisted(Ok(())), 0).unwrap();      // Sending
/// let a = m.handle(QrEvent::Persisted(Ok(())), 0).unwrap();      // pay call
/// assert!(matches!(a, QrAction::Call { .. }));
/// let a = m.handle(QrEvent::Answered(Ok(GatewayReply::status(QrStatus::Success))), 300).unwrap();
/// let a = m.handle(QrEvent::Persisted(Ok(())), 300).unwrap();
/// assert!(matches!(a, QrAction::Finish(r) if r.outcome == smartpos_core::payment::Outcome::Approved));
/// ```
#[derive(Debug, Clone)]
pub struct QrPayment {
    start: QrStart,
    method: PaymentMethod,
    wallet: Option<Wallet>,
    schedule: QrSchedule,
    form: QrForm,
    state: State,
    /// When the pay (or precreate) call went out.
    t0: u64,
    cancel_requested: bool,
    /// Resuming after a restart: one query (and a cancel when overdue), no waiting.
    resume_once: bool,
    transaction_id: Option<String>,
}

impl QrPayment {
    /// Starts a payment at `now_ms`. A scanned code that matches no wallet is refused here,
    /// before anything is journaled or sent.
    pub fn start(
        start: QrStart,
        schedule: QrSchedule,
        form: QrForm,
        now_ms: u64,
    ) -> Result<(QrPayment, QrAction), QrMachineError> {
        let (method, wallet) = match &start.code {
            Some(code) => (PaymentMethod::QrScan, Some(super::detect_wallet(code)?)),
            None => (PaymentMethod::QrDisplay, None),
        };
        let m = QrPayment {
            start,
            method,
            wallet,
            schedule,
            form,
            state: State::ExpectCreated,
            t0: now_ms,
            cancel_requested: false,
            resume_once: false,
            transaction_id: None,
        };
        let a = QrAction::Persist(QrWrite::Created {
            start: Box::new(m.start.clone()),
            method,
            wallet,
        });
        Ok((m, a))
    }

    /// Resumes an unresolved payment after a restart (or for a query): queries the gateway
    /// once; a final status is journaled; past the schedule the order is cancelled; otherwise the
    /// result stays unknown and nothing is written.
    pub fn resume(
        start: QrStart,
        method: PaymentMethod,
        wallet: Option<Wallet>,
        pay_called_at_ms: u64,
        schedule: QrSchedule,
    ) -> (QrPayment, QrAction) {
        let mut m = QrPayment {
            start,
            method,
            wallet,
            schedule,
            form: QrForm::default(),
            state: State::ExpectQueryAnswer,
            t0: pay_called_at_ms,
            cancel_requested: false,
            resume_once: true,
            transaction_id: None,
        };
        let a = m.call(m.query());
        m.state = State::ExpectQueryAnswer;
        (m, a)
    }

    /// What started the payment.
    pub fn started(&self) -> &QrStart {
        &self.start
    }

    /// The payment's result while its outcome is not known.
    pub fn unknown_result(&self) -> PaymentResult {
        self.result(Outcome::Unknown {
            reason: UnknownReason::NoResponse,
        })
    }

    /// Scan or display.
    pub fn method(&self) -> PaymentMethod {
        self.method
    }

    /// When the pay (or precreate) call went out, ms.
    pub fn pay_called_at_ms(&self) -> u64 {
        self.t0
    }

    fn call(&self, call: GatewayCall) -> QrAction {
        QrAction::Call {
            call,
            timeout_ms: self.schedule.call_timeout_ms,
        }
    }

    fn query(&self) -> GatewayCall {
        GatewayCall::Query {
            merchant_id: self.start.merchant_id.clone(),
            order: self.start.gateway_order(),
        }
    }

    fn result(&self, outcome: Outcome) -> PaymentResult {
        PaymentResult {
            order_id: self.start.order_id.clone(),
            kind: self.start.kind,
            amount: self.start.amount,
            outcome,
            masked_pan: None,
            auth_code: None,
            reference: self.transaction_id.clone(),
            trace: self.start.trace,
            batch: self.start.batch,
            terminal_id: self.start.terminal_id.clone(),
            merchant_id: self.start.merchant_id.clone(),
            time: self.start.time,
            balance: None,
            method: self.method,
            wallet: self.wallet,
            chip: None,
        }
    }

    fn conclude(&mut self, outcome: Outcome) -> QrAction {
        let r = Box::new(self.result(outcome));
        self.state = State::ExpectOutcome(r.clone());
        QrAction::Persist(QrWrite::Outcome {
            trace: self.start.trace,
            batch: self.start.batch,
            result: r,
        })
    }

    /// Final statuses end the payment; `None` when the status is not final.
    fn final_outcome(&mut self, reply: &GatewayReply, after_cancel: bool) -> Option<Outcome> {
        if let Some(w) = reply.wallet {
            self.wallet = Some(w);
        }
        if reply.transaction_id.is_some() {
            self.transaction_id = reply.transaction_id.clone();
        }
        let declined = |code: &str, message: &str| {
            Outcome::Declined(Declined::Host {
                code: code.to_string(),
                message: message.to_string(),
            })
        };
        Some(match reply.status {
            QrStatus::Success => Outcome::Approved,
            QrStatus::Revoked => Outcome::Declined(Declined::Reversed),
            QrStatus::Closed if after_cancel => Outcome::Declined(Declined::Reversed),
            QrStatus::Closed => declined("CLOSED", "closed unpaid (cancelled or expired)"),
            QrStatus::NotFound => declined("NOT_FOUND", "the gateway has no such order"),
            QrStatus::Failed => {
                let code = reply.error_code.as_deref().unwrap_or("FAILED");
                let message = reply.message.as_deref().unwrap_or("refused by the wallet");
                declined(code, message)
            }
            QrStatus::UserPaying | QrStatus::NotPay | QrStatus::SystemError => return None,
        })
    }

    /// The next poll, or the cancel when the schedule has run out or the merchant cancelled.
    fn next_poll(&mut self, now: u64) -> QrAction {
        let s = self.schedule;
        let elapsed = now.saturating_sub(self.t0);
        if self.cancel_requested || elapsed >= s.give_up_ms {
            return self.cancel_at(now);
        }
        let step = if elapsed < s.fast_phase_ms {
            s.fast_poll_ms
        } else {
            s.slow_poll_ms
        };
        self.state = State::Waiting;
        QrAction::WaitUntil {
            at_ms: (now + step).min(self.t0 + s.give_up_ms),
        }
    }

    fn cancel_at(&mut self, now: u64) -> QrAction {
        let earliest = self.t0 + self.schedule.cancel_not_before_ms;
        if now < earliest {
            self.state = State::WaitingToCancel;
            return QrAction::WaitUntil { at_ms: earliest };
        }
        self.state = State::ExpectCancelAnswer;
        self.call(GatewayCall::Cancel {
            merchant_id: self.start.merchant_id.clone(),
            order: self.start.gateway_order(),
        })
    }

    fn unresolved(&mut self) -> QrAction {
        let o = Outcome::Unknown {
            reason: UnknownReason::NoResponse,
        };
        if self.resume_once {
            // Nothing new learned: the journal already says unknown; leave it.
            self.state = State::Done;
            QrAction::Finish(Box::new(self.result(o)))
        } else {
            self.conclude(o)
        }
    }

    /// Feeds one event at `now_ms`.
    pub fn handle(&mut self, event: QrEvent, now_ms: u64) -> Result<QrAction, QrMachineError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        let now = now_ms;
        let a = match (state, event) {
            (State::ExpectCreated, QrEvent::Persisted(Ok(()))) => {
                self.t0 = now;
                self.state = State::ExpectSending;
                QrAction::Persist(QrWrite::Sending {
                    trace: self.start.trace,
                    batch: self.start.batch,
                    at_ms: now,
                })
            }
            (State::ExpectCreated | State::ExpectSending, QrEvent::Persisted(Err(e))) => {
                // Nothing sent: report it without another write.
                self.state = State::Done;
                QrAction::Finish(Box::new(self.result(Outcome::Declined(
                    Declined::Storage {
                        detail: e.to_string(),
                    },
                ))))
            }
            (State::ExpectSending, QrEvent::Persisted(Ok(()))) => {
                let s = &self.start;
                let call = match &s.code {
                    Some(code) => GatewayCall::Pay {
                        merchant_id: s.merchant_id.clone(),
                        terminal_id: s.terminal_id.clone(),
                        order: s.gateway_order(),
                        amount_minor: s.amount.minor(),
                        currency: s.amount.currency().code().to_string(),
                        auth_code: code.clone(),
                    },
                    None => GatewayCall::Precreate {
                        merchant_id: s.merchant_id.clone(),
                        terminal_id: s.terminal_id.clone(),
                        order: s.gateway_order(),
                        amount_minor: s.amount.minor(),
                        currency: s.amount.currency().code().to_string(),
                    },
                };
                self.state = State::ExpectFirstAnswer;
                self.call(call)
            }
            (State::ExpectFirstAnswer, QrEvent::Answered(answer)) => match answer {
                Err(TransportFailure::NotSent(failure)) => {
                    self.conclude(Outcome::Declined(Declined::HostUnreachable {
                        detail: failure.to_string(),
                    }))
                }
                Ok(reply) if self.method == PaymentMethod::QrDisplay => {
                    match (reply.status, reply.token.as_deref()) {
                        (QrStatus::Success | QrStatus::NotPay, Some(token)) => {
                            let payload = self.payload(token)?;
                            self.state = State::ExpectShown;
                            QrAction::ShowCode { payload }
                        }
                        _ => match self.final_outcome(&reply, false) {
                            Some(Outcome::Approved) => {
                                // Precreate cannot pay; an answer without a token is refused.
                                self.conclude(Outcome::Declined(Declined::Host {
                                    code: "NO_TOKEN".into(),
                                    message: "precreate answered without a token".into(),
                                }))
                            }
                            Some(o) => self.conclude(o),
                            None => self.next_poll(now),
                        },
                    }
                }
                Ok(reply) => match self.final_outcome(&reply, false) {
                    Some(o) => self.conclude(o),
                    None => self.next_poll(now),
                },
                Err(TransportFailure::NoAnswer(_)) => self.next_poll(now),
            },
            (State::ExpectShown, QrEvent::CodeShown) => self.next_poll(now),
            (State::Waiting, QrEvent::Timer) => {
                self.state = State::ExpectQueryAnswer;
                self.call(self.query())
            }
            (State::Waiting | State::WaitingToCancel, QrEvent::CancelRequested) => {
                self.cancel_requested = true;
                self.cancel_at(now)
            }
            (State::WaitingToCancel, QrEvent::Timer) => self.cancel_at(now),
            (State::ExpectQueryAnswer, QrEvent::Answered(answer)) => match answer {
                Ok(reply) => match self.final_outcome(&reply, false) {
                    Some(o) => self.conclude(o),
                    None if self.resume_once => {
                        if now.saturating_sub(self.t0) >= self.schedule.give_up_ms {
                            self.cancel_at(now)
                        } else {
                            self.unresolved()
                        }
                    }
                    None => self.next_poll(now),
                },
                Err(_) if self.resume_once => self.unresolved(),
                Err(_) => self.next_poll(now),
            },
            (State::ExpectCancelAnswer, QrEvent::Answered(answer)) => match answer {
                Ok(reply) => match self.final_outcome(&reply, true) {
                    Some(o) => self.conclude(o),
                    None => self.unresolved(),
                },
                Err(_) => self.unresolved(),
            },
            (State::ExpectOutcome(mut r), QrEvent::Persisted(p)) => {
                if p.is_err() && r.outcome == Outcome::Approved {
                    r.outcome = Outcome::Unknown {
                        reason: UnknownReason::JournalFailure,
                    };
                }
                self.state = State::Done;
                QrAction::Finish(r)
            }
            (state, _) => {
                self.state = state;
                return Err(QrMachineError::UnexpectedEvent("qr payment"));
            }
        };
        Ok(a)
    }

    fn payload(&self, token: &str) -> Result<String, QrMachineError> {
        Ok(match &self.form {
            QrForm::Emvco {
                merchant_name,
                merchant_city,
                mcc,
            } => merchant_presented(&OrderCode {
                merchant_id: &self.start.merchant_id,
                terminal_id: &self.start.terminal_id,
                token,
                amount: self.start.amount,
                merchant_name,
                merchant_city,
                mcc,
            })?,
            QrForm::Url { base } => format!("{base}?t={token}"),
        })
    }
}
