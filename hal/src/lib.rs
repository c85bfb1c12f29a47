//! # smartpos-hal
//!
//! The hardware-abstraction layer terminal vendors implement and prove:
//!
//! - the driver traits and their data (re-exported from `smartpos_core::hal`, where the
//!   sans-IO engine uses them): [`CardReader`], [`PinPad`], [`Printer`], [`Scanner`],
//!   [`DeviceInfoProvider`], [`HalError`];
//! - [`conformance`]: the kit that checks every documented contract of a driver set;
//! - [`compliance`]: the bank's terminal profile checked against what a device reports;
//! - [`render`]: printer jobs drawn at the head's width (receipts as PNG, the simulated paper).
//!
//! Simulated drivers are in `smartpos-testing`.
#![deny(missing_docs)]

pub use smartpos_core::hal::*;

pub mod compliance;
pub mod conformance;
pub mod render;
