//! # smartpos-testing
//!
//! Everything that stands in for the world in tests, demos and conformance runs (the
//! matrix-rust-sdk `testing/` pattern), kept out of the shipping crates:
//!
//! - [`acquirer`]: the acquirer host simulator (ISO 8583, CUP POS profile) with its test cards
//!   and ledger; [`server`]: its HTTPS front (with [`pki`], its own CA) and [`faults`], the
//!   faults it can inject;
//! - [`qr_gateway`]: the simulated WeChat Pay / Alipay / UnionPay QR gateway;
//! - [`sim`]: simulated card reader, PIN pad, printer, scanner and device, driven by scripts
//!   of operator actions; [`conformance`]: that set as a conformance-kit subject;
//!   [`mutants`]: the set with one contract broken, for the kit's own mutation suite.
#![deny(missing_docs)]

pub mod acquirer;
pub mod conformance;
pub mod emv_crypto;
pub mod faults;
pub mod fonts;
pub mod mutants;
pub mod pki;
pub mod qr_gateway;
pub mod server;
pub mod sim;
