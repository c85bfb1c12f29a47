//! Runs the sans-IO engine against real adapters: HAL drivers, the journal and the host link.

use crate::engine::{Action, Engine, EngineConfig, EngineError, Event, Finished, SignInError};
use crate::hal::{CardReader, PinPad};
use crate::journal::{Journal, JournalEntry, JournalError};
use crate::payment::{PaymentRequest, PaymentResult};
use crate::time::LocalTime;
use crate::transport::HostLink;

/// A terminal-level failure (the payment outcome itself is always a [`PaymentResult`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TerminalError {
    /// The engine refused the request.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The journal failed outside a transaction.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Sign-in did not succeed.
    #[error("sign-in failed: {0}")]
    SignIn(#[from] SignInError),
    /// The engine ended a transaction in an unexpected way (a bug).
    #[error("engine finished unexpectedly: {0}")]
    Unexpected(String),
}

/// A simulated or real terminal: engine + drivers + journal + host link.
pub struct Terminal {
    engine: Engine,
    journal: Journal,
    link: HostLink,
    card_reader: Box<dyn CardReader>,
    pin_pad: Box<dyn PinPad>,
    clock: Box<dyn Fn() -> LocalTime + Send>,
}

impl Terminal {
    /// Assembles a terminal; counters come from the journal.
    pub fn new(
        config: EngineConfig,
        journal: Journal,
        link: HostLink,
        card_reader: Box<dyn CardReader>,
        pin_pad: Box<dyn PinPad>,
        clock: Box<dyn Fn() -> LocalTime + Send>,
    ) -> Result<Self, TerminalError> {
        let (next_trace, batch) = journal.counters()?;
        Ok(Terminal {
            engine: Engine::new(config, next_trace, batch),
            journal,
            link,
            card_reader,
            pin_pad,
            clock,
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        self.engine.config()
    }

    /// Signs in; returns the batch number.
    pub async fn sign_in(&mut self) -> Result<u32, TerminalError> {
        let first = self.engine.start_sign_in((self.clock)())?;
        match self.drive(first).await? {
            Finished::SignedIn { batch } => Ok(batch),
            Finished::SignInFailed(e) => Err(e.into()),
            other => Err(TerminalError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Runs a sale to its outcome.
    pub async fn sale(&mut self, request: PaymentRequest) -> Result<PaymentResult, TerminalError> {
        let first = self.engine.start_sale(request, (self.clock)())?;
        match self.drive(first).await? {
            Finished::Payment(r) => Ok(*r),
            other => Err(TerminalError::Unexpected(format!("{other:?}"))),
        }
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
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    async fn drive(&mut self, mut action: Action) -> Result<Finished, TerminalError> {
        loop {
            let event = match action {
                Action::Finish(f) => return Ok(f),
                Action::ReadCard { amount, timeout } => {
                    Event::CardRead(self.card_reader.wait_for_card(&amount, timeout))
                }
                Action::OnlinePin {
                    pan,
                    amount,
                    timeout,
                } => Event::PinEntered(self.pin_pad.online_pin(&pan, &amount, timeout)),
                Action::LoadWorkingKeys(keys) => {
                    Event::KeysLoaded(self.pin_pad.load_working_keys(&keys))
                }
                Action::ComputeMac(data) => Event::MacComputed(self.pin_pad.mac(&data)),
                Action::Persist(write) => {
                    let r = self.journal.apply(&write).map_err(|e| e.to_string());
                    if let Err(e) = &r {
                        tracing::error!(error = %e, "journal write failed");
                    }
                    Event::Persisted(r)
                }
                Action::SendToHost { frame, timeout } => {
                    tracing::debug!(bytes = frame.len(), "sending to host");
                    Event::HostAnswered(self.link.exchange(frame, timeout).await)
                }
            };
            action = self.engine.handle(event)?;
        }
    }
}
