//! # smartpos-handoff
//!
//! The protocol between a merchant app and the acquiring app (protocol v1), and the values it
//! carries. A merchant app sends a request as Android intent extras or as a
//! `smartpos://pay/v1?...` deep link; both carry the same key/value pairs. The acquiring app
//! parses strictly, authorizes the caller, runs the transaction and returns a result envelope
//! signed with the terminal's Ed25519 key. Specified in `sdk-docs/src/merchant/handoff-protocol.md`.
//!
//! - [`money`]: integer minor units with a currency.
//! - [`request`]: parsing and building requests; [`outgoing`]: what a merchant app sends and
//!   the checks it runs on the answer; [`query`]: the one query-string parser.
//! - [`canonical`]: the canonical encoding and the request hash.
//! - [`result`]: the result envelope, its signature and verification.
//! - [`caller`]: the caller's identity as the OS reports it, and the allow-list.
//! - [`kinds`]: the vocabulary: transaction and request types, payment methods, wallets.
//! - [`masking`], [`host_code`]: what people may see of a card number and a host answer.
//!
//! This is everything a merchant app links (through `smartpos-merchant-ffi`): pure, no file,
//! socket, clock or async runtime. The acquiring side (admission, replay refusal, turning a
//! journal entry into a result) is `smartpos_core::handoff::processor`.
//!
//! ```
//! use smartpos_handoff::{HandoffRequest, RequestType, TransactionType};
//! let uri = "smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A-1\
//!            &nonce=0123456789abcdef&expires=1700000300&callback=shop%3A%2F%2Fpaid";
//! let r = HandoffRequest::from_deep_link(uri, 1_700_000_000).unwrap();
//! assert_eq!(r.kind, RequestType::Transaction(TransactionType::Sale));
//! ```
#![deny(missing_docs)]

pub mod caller;
pub mod canonical;
pub mod host_code;
pub mod kinds;
pub mod masking;
pub mod money;
pub mod outgoing;
pub mod query;
pub mod request;
pub mod result;

pub use caller::{AllowList, AllowedApp, CallerIdentity};
pub use kinds::{PaymentMethod, RequestType, TransactionType, Wallet};
pub use outgoing::{Expected, OutgoingRequest, RequestSpec, ResultMismatch};
pub use request::{Carrier, HandoffRequest, PrintBy, RequestError};
pub use result::{ResultCode, ResultEnvelope, SignedResult, TerminalKey, VerifyError};
