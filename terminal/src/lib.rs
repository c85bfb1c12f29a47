//! # smartpos-terminal
//!
//! The terminal runtime: what drives the sans-IO engine of `smartpos-core` against the world.
//!
//! - [`journal`]: the durable batch journal (SQLite; sealed record by record, anchored to its
//!   terminal, one owner at a time), restart recovery and rebuilding from the bank.
//! - [`transport`]: HTTPS to the bank's internet front and to the QR gateway, the bank's CA
//!   pinned.
//! - [`Terminal`] (`runner`): runs card transactions, reversals, settlement and sign-in with
//!   the engine, the HAL drivers, the journal and the host link; [`qr_runner`] does the same
//!   for QR payments with the QR machine and the gateway link.
//! - [`requests`]: [`Terminal::handle_request`], one merchant-app request in, one signed
//!   result out (admission, repeated order ids, the transaction, the signature).
//! - [`store`]: the [`Store`](store::Store) and [`HostExchange`](store::HostExchange) traits
//!   `Terminal` is generic over (the journal and the HTTPS link are one implementation each).
//! - [`trust_state`]: the terminal's revocation state for the market's APK signatures.
//!
//! The path of a sale: [`Terminal::handle_request`] → `admit` → [`Terminal::sale`] → `Engine::start_sale` → for each `Action`: the card
//! reader, the PIN pad, `Journal::apply` (created, then sending with the reversal armed),
//! `HostLink::exchange`, `Journal::apply` (the outcome) → `PaymentResult`.
#![deny(missing_docs)]

mod error;
pub mod journal;
pub mod qr_runner;
pub mod requests;
mod runner;
pub mod store;
pub mod transport;
pub mod trust_state;

pub use error::TerminalError;
pub use runner::*;
