//! QR-code payments through the acquirer's QR gateway (an HTTPS JSON service beside the
//! ISO 8583 host): the customer's payment code scanned by the terminal (B scans C), or one code
//! shown by the terminal that every wallet can scan (C scans B).
//!
//! - [`wallet`]: which wallet issued a customer's payment code.
//! - [`emv`]: EMVCo merchant-presented payloads (UnionPay "standard code") with their CRC.
//! - [`gateway`]: the gateway's JSON API, as data.
//! - [`machine`]: the sans-IO payment: pay or show, poll on a bounded schedule, cancel no sooner
//!   than 15 s after the pay call; the gateway's final status wins.

pub mod emv;
pub mod gateway;
pub mod machine;
pub mod wallet;

pub use machine::{QrAction, QrEvent, QrPayment, QrSchedule};
pub use wallet::{detect_wallet, QrCodeError, Wallet};

use serde::{Deserialize, Serialize};

pub use smartpos_handoff::kinds::PaymentMethod;

/// How this acquirer wants a customer-scans-merchant code to look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case", deny_unknown_fields)]
pub enum QrForm {
    /// An EMVCo merchant-presented payload (UnionPay "standard code") with CRC.
    Emvco {
        /// Merchant name (tag 59, at most 25 characters).
        merchant_name: String,
        /// Merchant city (tag 60, at most 15 characters).
        merchant_city: String,
        /// Merchant category code (tag 52, 4 digits).
        mcc: String,
    },
    /// The acquirer's own URL ("non-standard code"): `base` + `?t=` + the order's token.
    Url {
        /// `https://...` prefix.
        base: String,
    },
}

impl Default for QrForm {
    fn default() -> Self {
        QrForm::Emvco {
            merchant_name: "SMARTPOS DEMO SHOP".into(),
            merchant_city: "SHANGHAI".into(),
            mcc: "5812".into(),
        }
    }
}
