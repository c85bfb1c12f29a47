//! # smartpos-core
//!
//! The acquiring core of a smartpos terminal. Module map:
//!
//! - [`money`] (from `smartpos-handoff`), [`card`]: the domain's values (integer minor units;
//!   masked PANs).
//! - [`crypto`]: DES keys, check values, the UnionPay ECB MAC, ISO 9564 PIN blocks.
//! - [`iso8583`]: the table-driven codec for the China UnionPay POS profile.
//! - [`profile`]: what varies between acquirers (TPDU, header, key layout, MAC key use).
//! - [`engine`]: the sans-IO payment engine: events in, actions out. No clock, no I/O.
//! - [`hal`]: the driver traits vendors implement and the data the engine exchanges with them
//!   (the kit, rendering and compliance are in `smartpos-hal`; simulated drivers in
//!   `smartpos-testing`).
//! - [`payment`]: requests, results and outcomes; [`batch`]: the journal's records as data.
//! - [`handoff`]: the merchant-app protocol (the `smartpos-handoff` crate, re-exported) and
//!   its acquiring side, [`handoff::processor`].
//! - [`qr`]: the QR payment machine, EMVCo payloads and wallet detection.
//! - [`reconcile`]: comparing the journal with the acquirer's settlement file.
//! - [`receipt`]: receipt lines as printer commands.
//! - [`time`]: local time as the caller passes it (the core reads no clock).
//!
//! Pure: no file, socket, clock or async runtime. The crates around it, by layer:
//!
//! - `smartpos-handoff`: the merchant-app protocol and money (re-exported here); all a merchant
//!   app links.
//! - `smartpos-hal`: the conformance kit, compliance profile and print rendering over the HAL
//!   traits defined here.
//! - `smartpos-terminal`: the runtime: journal, HTTPS host and gateway links, the runners and
//!   the acquiring app's request handling.
//! - `smartpos-apk`: APK verification and the bank market's signature.
//! - `smartpos-testing`: host and gateway simulators, simulated drivers, faults.
//! - `smartpos-merchant-ffi`, `smartpos-terminal-ffi`: the Kotlin bindings (merchant apps; the
//!   acquiring app and vendors); `uniffi-bindgen` generates them.
//! - `smartpos-cli`: the `smartpos` command.
#![deny(missing_docs)]

pub mod batch;
pub mod card;
pub mod crypto;
pub mod emv;
pub mod engine;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_targets;
pub mod hal;
pub mod handoff;
pub mod iso8583;
pub use smartpos_handoff::money;
pub mod payment;
pub mod profile;
pub mod qr;
pub mod receipt;
pub mod reconcile;
pub mod time;
