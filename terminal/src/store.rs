//! The seams of the runtime: where the terminal keeps its records ([`Store`]), how it reaches
//! the bank's host ([`HostExchange`]) and the QR gateway ([`GatewayExchange`]).
//! [`Terminal`](crate::Terminal) is generic over the first two and holds the third as a trait
//! object; the SQLite [`Journal`], the HTTPS [`HostLink`] and the HTTPS
//! [`GatewayLink`] are one implementation each, and a test can
//! drive a whole terminal against the simulators in process (see `tests/tests/in_process.rs`).

use crate::journal::{Journal, JournalEntry, JournalError, Recovery};
use crate::transport::{GatewayLink, HostLink};
use smartpos_core::emv::params::EmvParameters;
use smartpos_core::engine::{
    JournalWrite, PendingAdvice, PendingReversal, SettlementInput, TerminalIdentity,
    TransportFailure,
};
use smartpos_core::handoff::NonceStore;
use smartpos_core::payment::TransactionType;
use smartpos_core::qr::gateway::{GatewayCall, GatewayReply};
use smartpos_core::qr::machine::QrWrite;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Where the terminal keeps its durable records: every write the engines ask for, and the
/// reads the runners and the request handler need. Errors use the journal's vocabulary
/// ([`JournalError`]: disk full, busy, integrity, I/O), which the engine sees as a
/// `StoreFailure`. A write must be durable when it returns `Ok`.
pub trait Store: NonceStore + Send {
    /// Turns transactions a restart interrupted into their final state (declined before send,
    /// unknown with a reversal after).
    fn recover_interrupted(&mut self, who: &TerminalIdentity) -> Result<Recovery, JournalError>;
    /// (next trace, current batch).
    fn counters(&self) -> Result<(u32, u32), JournalError>;
    /// Makes one card-engine write durable.
    fn apply(&mut self, write: &JournalWrite) -> Result<(), JournalError>;
    /// Makes one QR-machine write durable; `voids` marks the QR sale a void cancels.
    fn apply_qr(&mut self, write: &QrWrite, voids: Option<(u32, u32)>) -> Result<(), JournalError>;
    /// The latest record of a caller's order.
    fn find_by_order(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<JournalEntry>, JournalError>;
    /// The record of a transaction of `kind` by its retrieval reference.
    fn find_by_reference(
        &self,
        reference: &str,
        kind: TransactionType,
    ) -> Result<Option<JournalEntry>, JournalError>;
    /// Every record, oldest first.
    fn entries(&self) -> Result<Vec<JournalEntry>, JournalError>;
    /// Reversals still to send, oldest first.
    fn pending_reversals(&self) -> Result<Vec<PendingReversal>, JournalError>;
    /// What settling `batch` needs (totals and the records for batch upload).
    fn settlement_input(&self, batch: u32) -> Result<SettlementInput, JournalError>;
    /// QR orders whose outcome the gateway has not given yet.
    fn qr_unresolved(&self) -> Result<Vec<JournalEntry>, JournalError>;
    /// The batch and message an app's settle request (by its order id) closed, if any.
    fn find_settle_request(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<(u32, String)>, JournalError>;
    /// Records that an app's settle request closed `batch`.
    fn record_settle_request(
        &mut self,
        caller: &str,
        order_id: &str,
        batch: u32,
        message: &str,
    ) -> Result<(), JournalError>;
    /// The batch this store was rebuilt in from the bank's records, if it was.
    fn rebuilt_batch(&self) -> Result<Option<u32>, JournalError>;
    /// The EMV parameters last downloaded (`None`: never, or what was kept no longer reads
    /// back through the download's checks).
    fn emv_parameters(&self) -> Result<Option<EmvParameters>, JournalError>;
    /// Keeps a completed download, replacing the previous one.
    fn save_emv_parameters(&mut self, params: &EmvParameters) -> Result<(), JournalError>;
    /// Advices still to send (script results, TC uploads), oldest first.
    fn pending_advices(&self) -> Result<Vec<PendingAdvice>, JournalError>;
}

impl Store for Journal {
    fn recover_interrupted(&mut self, who: &TerminalIdentity) -> Result<Recovery, JournalError> {
        Journal::recover_interrupted(self, who)
    }
    fn counters(&self) -> Result<(u32, u32), JournalError> {
        Journal::counters(self)
    }
    fn apply(&mut self, write: &JournalWrite) -> Result<(), JournalError> {
        Journal::apply(self, write)
    }
    fn apply_qr(&mut self, write: &QrWrite, voids: Option<(u32, u32)>) -> Result<(), JournalError> {
        Journal::apply_qr(self, write, voids)
    }
    fn find_by_order(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<JournalEntry>, JournalError> {
        Journal::find_by_order(self, caller, order_id)
    }
    fn find_by_reference(
        &self,
        reference: &str,
        kind: TransactionType,
    ) -> Result<Option<JournalEntry>, JournalError> {
        Journal::find_by_reference(self, reference, kind)
    }
    fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        Journal::entries(self)
    }
    fn pending_reversals(&self) -> Result<Vec<PendingReversal>, JournalError> {
        Journal::pending_reversals(self)
    }
    fn settlement_input(&self, batch: u32) -> Result<SettlementInput, JournalError> {
        Journal::settlement_input(self, batch)
    }
    fn qr_unresolved(&self) -> Result<Vec<JournalEntry>, JournalError> {
        Journal::qr_unresolved(self)
    }
    fn find_settle_request(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<(u32, String)>, JournalError> {
        Journal::find_settle_request(self, caller, order_id)
    }
    fn record_settle_request(
        &mut self,
        caller: &str,
        order_id: &str,
        batch: u32,
        message: &str,
    ) -> Result<(), JournalError> {
        Journal::record_settle_request(self, caller, order_id, batch, message)
    }
    fn rebuilt_batch(&self) -> Result<Option<u32>, JournalError> {
        Journal::rebuilt_batch(self)
    }
    fn emv_parameters(&self) -> Result<Option<EmvParameters>, JournalError> {
        Journal::emv_parameters(self)
    }
    fn save_emv_parameters(&mut self, params: &EmvParameters) -> Result<(), JournalError> {
        Journal::save_emv_parameters(self, params)
    }
    fn pending_advices(&self) -> Result<Vec<PendingAdvice>, JournalError> {
        Journal::pending_advices(self)
    }
}

/// How the terminal reaches the bank's host: one request frame out, its answer back, within
/// `timeout`. The failure says whether the request can have arrived (the engine reverses when
/// it may have).
pub trait HostExchange: Send + Sync {
    /// Sends one frame (length prefix included) and waits at most `timeout` for the answer.
    fn exchange(
        &self,
        frame: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<u8>, TransportFailure>> + Send;
}

impl HostExchange for HostLink {
    fn exchange(
        &self,
        frame: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<u8>, TransportFailure>> + Send {
        HostLink::exchange(self, frame, timeout)
    }
}

/// A reply from the QR gateway, or why none came.
pub type GatewayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<GatewayReply, TransportFailure>> + Send + 'a>>;

/// How the terminal reaches the QR gateway: one call, its reply within `timeout`. A reply that is
/// not the gateway's counts as no answer.
pub trait GatewayExchange: Send + Sync {
    /// Makes one call.
    fn call<'a>(&'a self, call: &'a GatewayCall, timeout: Duration) -> GatewayFuture<'a>;
}

impl GatewayExchange for GatewayLink {
    fn call<'a>(&'a self, call: &'a GatewayCall, timeout: Duration) -> GatewayFuture<'a> {
        Box::pin(GatewayLink::call(self, call, timeout))
    }
}
