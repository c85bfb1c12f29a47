//! What can go wrong in the terminal outside a payment's outcome, and the one mapping from it
//! to the result code a merchant app sees.

use crate::journal::JournalError;
use smartpos_core::engine::{EngineError, SignInError};

/// A terminal-level failure (the payment outcome itself is always a [`PaymentResult`](smartpos_core::payment::PaymentResult)).
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
    /// A sign-out, an echo test or an EMV parameter download failed.
    #[error("{what} failed: {failure}")]
    Management {
        /// `sign-out`, `echo`, `CA key download` or `IC parameter download`.
        what: &'static str,
        /// Why.
        failure: smartpos_core::engine::ManagementFailure,
    },
    /// A driver failed outside a payment (the card reader refused the EMV parameters, say).
    #[error("{what}: {error}")]
    Driver {
        /// What the terminal asked of it.
        what: &'static str,
        /// The driver's error.
        error: smartpos_core::hal::HalError,
    },
    /// The engine ended a transaction in an unexpected way (a bug).
    #[error("engine finished unexpectedly: {0}")]
    Unexpected(String),
    /// A void or refund names a reference this terminal has no approved sale for (voids: in
    /// the current batch).
    #[error("no approved sale with reference {reference} to {what}")]
    OriginalNotFound {
        /// The reference given.
        reference: String,
        /// `void` or `refund`.
        what: &'static str,
    },
    /// A refund larger than the sale, or a completion beyond the allowed share of the hold.
    #[error("amount exceeds what the original allows")]
    RefundTooLarge,
    /// The order id was already used by this app for a different request.
    #[error("order {order} was already used for a different request")]
    DuplicateOrder {
        /// The order id.
        order: String,
    },
    /// A pending reversal could not be sent; new financial messages wait for it (nothing was sent).
    #[error("a pending reversal (batch {batch:06} trace {trace:06}) could not be sent: {why}")]
    ReversalPending {
        /// Batch.
        batch: u32,
        /// Trace.
        trace: u32,
        /// Why.
        why: String,
    },
    /// The original belongs to another app: apps void, refund and complete only their own
    /// orders unless the market granted them every app's.
    #[error("the original {reference} belongs to another app")]
    NotOwnOrder {
        /// The reference given.
        reference: String,
    },
    /// The scanned code is not a payment code of any wallet (nothing journaled or sent).
    #[error("not a payment code: {0}")]
    BadPaymentCode(#[from] smartpos_core::qr::QrCodeError),
    /// QR payments are not set up on this terminal, or the scanner failed.
    #[error("QR payments unavailable: {0}")]
    QrUnavailable(String),
}

impl TerminalError {
    /// The result code a merchant app receives for this failure. Exhaustive on purpose (a new
    /// failure must be given its code here): every arm is a refusal, a decline or a terminal
    /// error, because a `TerminalError` means nothing was charged; an outcome that is not
    /// known is a `PaymentResult` with `Unknown`, never an error.
    ///
    /// ```
    /// use smartpos_core::handoff::ResultCode;
    /// use smartpos_terminal::TerminalError;
    /// assert_eq!(TerminalError::RefundTooLarge.result_code(), ResultCode::Declined);
    /// ```
    pub fn result_code(&self) -> smartpos_core::handoff::ResultCode {
        use smartpos_core::handoff::ResultCode as C;
        match self {
            TerminalError::Engine(EngineError::Busy) => C::RefusedBusy,
            // Not signed in, misuse or an unusable profile: nothing was sent.
            TerminalError::Engine(_) => C::ErrorTerminal,
            TerminalError::Journal(_) => C::ErrorTerminal,
            TerminalError::SignIn(_) => C::ErrorTerminal,
            TerminalError::Management { .. } => C::ErrorTerminal,
            TerminalError::Driver { .. } => C::ErrorTerminal,
            TerminalError::Unexpected(_) => C::ErrorTerminal,
            TerminalError::OriginalNotFound { .. } => C::Declined,
            TerminalError::RefundTooLarge => C::Declined,
            TerminalError::DuplicateOrder { .. } => C::RefusedDuplicateOrder,
            TerminalError::ReversalPending { .. } => C::ErrorTerminal,
            TerminalError::NotOwnOrder { .. } => C::RefusedPermission,
            TerminalError::BadPaymentCode(_) => C::Declined,
            TerminalError::QrUnavailable(_) => C::ErrorTerminal,
        }
    }
}
