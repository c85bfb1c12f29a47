//! # smartpos-core
//!
//! The acquiring core of a smartpos terminal. Module map:
//!
//! - [`money`], [`card`]: the domain's values (integer minor units; masked PANs).
//! - [`crypto`]: DES keys, check values, the UnionPay ECB MAC, ISO 9564 PIN blocks.
//! - [`iso8583`]: the table-driven codec for the China UnionPay POS profile.
//! - [`profile`]: what varies between acquirers (TPDU, header, key layout, MAC key use).
//! - [`engine`]: the sans-IO payment engine: events in, actions out. No clock, no I/O.
//! - [`hal`]: hardware-abstraction traits vendors implement, and simulated drivers.
//! - [`journal`]: the durable SQLite batch journal (an adapter).
//! - [`transport`]: HTTPS to the bank's internet front with the bank's CA pinned (an adapter).
//! - [`terminal`]: runs the engine against the adapters.
//! - [`receipt`]: receipt text and a printer-width PNG.
#![deny(missing_docs)]

pub mod apk;
pub mod card;
pub mod crypto;
pub mod engine;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_targets;
pub mod hal;
pub mod handoff;
pub mod iso8583;
pub mod journal;
pub mod money;
pub mod payment;
pub mod profile;
pub mod qr;
pub mod receipt;
pub mod reconcile;
pub mod terminal;
pub mod time;
pub mod transport;
