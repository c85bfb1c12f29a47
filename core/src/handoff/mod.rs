//! The payment handoff between merchant apps and the acquiring app (protocol v1).
//!
//! A merchant app sends a request as Android intent extras or as a `smartpos://pay/v1?...` deep
//! link; both carry the same key/value pairs. The acquiring app adds the caller's identity as
//! the OS reports it; the core parses strictly, authorizes against the allow-list, refuses
//! replays, runs the transaction, and returns a result envelope signed with the terminal's
//! Ed25519 key. The Android layer only moves bytes. Specified in
//! `sdk-docs/src/merchant/handoff-protocol.md`.

pub mod caller;
pub mod canonical;
pub mod outgoing;
pub mod processor;
pub mod query;
pub mod request;
pub mod result;

pub use caller::{AllowList, AllowedApp, CallerIdentity};
pub use outgoing::{Expected, OutgoingRequest, RequestSpec, ResultMismatch};
pub use processor::{
    admit, envelope_for_payment, envelope_for_query, MemoryNonces, NonceStore, RawRequest,
};
pub use request::{Carrier, HandoffRequest, Method, PrintBy, RequestError, RequestType};
pub use result::{ResultCode, ResultEnvelope, SignedResult, TerminalKey, VerifyError};
