//! The payment handoff between merchant apps and the acquiring app (protocol v1).
//!
//! The protocol itself (requests, canonical encoding, signed results, money) is the
//! `smartpos-handoff` crate, re-exported here; merchant apps link only that. This module adds
//! the acquiring side: [`processor`] admits a request (allow-list, expiry, replay) and turns a
//! journal entry into the result envelope.

pub mod processor;

pub use smartpos_handoff::{
    caller, canonical, kinds, outgoing, query, request, result, AllowList, AllowedApp,
    CallerIdentity, Carrier, Expected, HandoffRequest, OutgoingRequest, PaymentMethod, PrintBy,
    RequestError, RequestSpec, RequestType, ResultCode, ResultEnvelope, ResultMismatch,
    SignedResult, TerminalKey, TransactionType, VerifyError,
};

pub use processor::{
    admit, envelope_for_payment, envelope_for_query, MemoryNonces, NonceStore, RawRequest, Refusal,
};
