//! The acquirer's QR gateway API, as data: JSON bodies POSTed to `{base}/qr/v1/{call}`.
//! Documented for banks in `sdk-docs/src/bank/qr-gateway.md`.

use serde::{Deserialize, Serialize};

/// The order number a QR payment, void or refund has at the gateway: the terminal id, the
/// batch and the trace (`10000001` + `000001` + `000042`), unique per terminal whatever the
/// merchant apps call their orders (two apps may both use order `A1`). The merchant's own
/// order id stays in the terminal's journal.
///
/// ```
/// assert_eq!(smartpos_core::qr::gateway::gateway_order("10000001", 1, 42), "10000001000001000042");
/// ```
pub fn gateway_order(terminal_id: &str, batch: u32, trace: u32) -> String {
    format!("{terminal_id}{batch:06}{trace:06}")
}

/// A call to the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum GatewayCall {
    /// B scans C: charge the customer's payment code.
    Pay {
        /// Merchant id.
        merchant_id: String,
        /// Terminal id.
        terminal_id: String,
        /// The terminal's order number for it, [`gateway_order`] (the key of every later call).
        order: String,
        /// Amount, minor units.
        amount_minor: u64,
        /// ISO 4217 alphabetic.
        currency: String,
        /// The customer's payment code.
        auth_code: String,
    },
    /// C scans B: open an order and get its token for the code.
    Precreate {
        /// Merchant id.
        merchant_id: String,
        /// Terminal id.
        terminal_id: String,
        /// Order number.
        order: String,
        /// Amount, minor units.
        amount_minor: u64,
        /// ISO 4217 alphabetic.
        currency: String,
    },
    /// The order's status.
    Query {
        /// Merchant id.
        merchant_id: String,
        /// Order number.
        order: String,
    },
    /// Close an unpaid order, or reverse a paid one (same day).
    Cancel {
        /// Merchant id.
        merchant_id: String,
        /// Order number.
        order: String,
    },
    /// Refund (part of) a paid order.
    Refund {
        /// Merchant id.
        merchant_id: String,
        /// The paid order.
        order: String,
        /// This refund's own order number (idempotency key).
        refund_order: String,
        /// Amount, minor units.
        amount_minor: u64,
    },
}

impl GatewayCall {
    /// The URL path segment.
    pub fn path(&self) -> &'static str {
        match self {
            GatewayCall::Pay { .. } => "pay",
            GatewayCall::Precreate { .. } => "precreate",
            GatewayCall::Query { .. } => "query",
            GatewayCall::Cancel { .. } => "cancel",
            GatewayCall::Refund { .. } => "refund",
        }
    }
}

/// An order's status as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QrStatus {
    /// Paid (or, for a refund, refunded).
    Success,
    /// The customer is confirming in the wallet (password): not final.
    UserPaying,
    /// Open, not paid yet (C scans B): not final.
    NotPay,
    /// The gateway could not decide now: not final.
    SystemError,
    /// Closed unpaid (cancelled, expired, or the customer cancelled): final, not charged.
    Closed,
    /// Reversed after payment (cancel of a paid order): final, money returned.
    Revoked,
    /// Refused (insufficient balance, invalid code, ...): final, not charged.
    Failed,
    /// The gateway has no such order.
    NotFound,
}

impl QrStatus {
    /// Whether the status ends the payment.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            QrStatus::Success
                | QrStatus::Closed
                | QrStatus::Revoked
                | QrStatus::Failed
                | QrStatus::NotFound
        )
    }
}

/// The gateway's answer to any call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayReply {
    /// Status of the order (or of the refund).
    pub status: QrStatus,
    /// The wallet that paid, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<super::Wallet>,
    /// The gateway's transaction id, when paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Precreate: the order's token for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Why, for FAILED and SYSTEM_ERROR (e.g. `NOTENOUGH`, `AUTH_CODE_INVALID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl GatewayReply {
    /// A reply with only a status.
    pub fn status(status: QrStatus) -> Self {
        GatewayReply {
            status,
            wallet: None,
            transaction_id: None,
            token: None,
            error_code: None,
            message: None,
        }
    }
}
