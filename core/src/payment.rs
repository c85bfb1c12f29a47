//! What a merchant app asks for and what it gets back.

use crate::money::Money;
use crate::time::LocalTime;
use serde::{Deserialize, Serialize};

pub use smartpos_handoff::kinds::TransactionType;

/// The transaction a void or refund refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// Retrieval reference number (F37) of the original.
    pub reference: String,
    /// Its authorization code (F38), if any.
    pub auth_code: Option<String>,
    /// Its batch.
    pub batch: u32,
    /// Its trace.
    pub trace: u32,
}

/// A merchant app's payment request, after the handoff layer has authenticated the caller.
///
/// ```
/// use smartpos_core::money::{Currency, Money};
/// use smartpos_core::payment::PaymentRequest;
/// let req = PaymentRequest::sale("com.example.shop", "ORDER-1", Money::from_minor(1234, Currency::CNY).unwrap());
/// assert_eq!(req.order_id, "ORDER-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// Calling app's package name (as the OS reports it).
    pub caller: String,
    /// The merchant's own order id: the key to query the result later.
    pub order_id: String,
    /// Transaction type.
    pub kind: TransactionType,
    /// Amount.
    pub amount: Money,
    /// The original transaction (void, refund).
    #[serde(default)]
    pub original: Option<Original>,
}

impl PaymentRequest {
    /// A sale request.
    pub fn sale(caller: &str, order_id: &str, amount: Money) -> Self {
        PaymentRequest {
            caller: caller.to_string(),
            order_id: order_id.to_string(),
            kind: TransactionType::Sale,
            amount,
            original: None,
        }
    }
    /// A balance inquiry in `currency`: no amount, the card's balance comes back in
    /// [`PaymentResult::balance`].
    ///
    /// ```
    /// use smartpos_core::money::Currency;
    /// use smartpos_core::payment::{PaymentRequest, TransactionType};
    /// let req = PaymentRequest::balance("com.example.shop", "BAL-1", Currency::CNY);
    /// assert_eq!((req.kind, req.amount.minor()), (TransactionType::Balance, 0));
    /// ```
    pub fn balance(caller: &str, order_id: &str, currency: crate::money::Currency) -> Self {
        PaymentRequest {
            caller: caller.to_string(),
            order_id: order_id.to_string(),
            kind: TransactionType::Balance,
            amount: Money::zero(currency),
            original: None,
        }
    }
}

/// Why a transaction was declined: definitely not charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Declined {
    /// The issuer or acquirer declined (F39 other than 00).
    Host {
        /// Response code.
        code: String,
        /// Meaning of the code.
        message: String,
    },
    /// The customer or merchant cancelled before anything was sent.
    Cancelled,
    /// No card was presented in time; nothing was sent.
    CardTimeout,
    /// The host could not be reached (connection or TLS handshake failed); nothing was sent.
    HostUnreachable {
        /// What failed.
        detail: String,
    },
    /// The outcome was unknown and the terminal reversed it (0400/0410): not charged.
    Reversed,
    /// The terminal stopped before sending (crash or power loss); recovered at restart.
    Interrupted,
    /// An inquiry that moves no money (balance) got no usable answer: what would leave a
    /// payment unknown simply ends the inquiry. Nothing was charged; ask again.
    NoUsableAnswer {
        /// What was wrong with the answer.
        reason: UnknownReason,
    },
    /// The card or PIN pad failed before anything was sent.
    Device {
        /// What failed (no card data).
        detail: String,
    },
    /// The terminal could not record the transaction before sending, so it sent nothing.
    Storage {
        /// What the store said.
        detail: String,
    },
    /// The bank approved but the chip card declined at the end (or could not finish): the
    /// terminal reverses the approval (0400, reason 06). Not charged.
    ByCard,
    /// The chip card declined offline at its first cryptogram; nothing was sent.
    CardOffline,
}

/// Why the outcome is not known yet. The terminal resolves it (reversal, query); it is never a
/// failure from the merchant's point of view until resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnknownReason {
    /// No response within the time limit, or the connection broke after sending (reversal 98).
    NoResponse,
    /// The response's MAC did not verify (reversal A0).
    BadResponseMac,
    /// The response did not match the request: MTI, trace, amount, terminal (reversal 06).
    MismatchedResponse,
    /// The response could not be decoded (reversal 06).
    MalformedResponse,
    /// The journal could not record the outcome.
    JournalFailure,
}

impl UnknownReason {
    /// The reversal reason code (F39 of the 0400) for this case.
    pub fn reversal_code(self) -> &'static str {
        match self {
            UnknownReason::NoResponse | UnknownReason::JournalFailure => "98",
            UnknownReason::BadResponseMac => "A0",
            UnknownReason::MismatchedResponse | UnknownReason::MalformedResponse => "06",
        }
    }
}

/// Text for people (the result's `message`), with no card data.
///
/// ```
/// # use smartpos_core::payment::UnknownReason;
/// assert_eq!(UnknownReason::NoResponse.to_string(), "no answer from the bank in time");
/// ```
impl std::fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnknownReason::NoResponse => "no answer from the bank in time",
            UnknownReason::BadResponseMac => "the bank's answer failed its MAC check",
            UnknownReason::MismatchedResponse => "the bank's answer did not match the request",
            UnknownReason::MalformedResponse => "the bank's answer could not be read",
            UnknownReason::JournalFailure => "the terminal could not record the outcome",
        })
    }
}

/// Text for people (the result's `message`): why nothing was charged.
///
/// ```
/// # use smartpos_core::payment::Declined;
/// assert_eq!(Declined::Reversed.to_string(), "reversed: the bank cancelled it, not charged");
/// ```
impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Declined::Host { code, message } => {
                write!(f, "declined by the bank ({code}): {message}")
            }
            Declined::Cancelled => f.write_str("cancelled before anything was sent"),
            Declined::CardTimeout => f.write_str("no card presented in time; nothing was sent"),
            Declined::HostUnreachable { detail } => {
                write!(
                    f,
                    "the bank could not be reached ({detail}); nothing was sent"
                )
            }
            Declined::Reversed => f.write_str("reversed: the bank cancelled it, not charged"),
            Declined::Interrupted => {
                f.write_str("the terminal stopped before sending; nothing was sent")
            }
            Declined::NoUsableAnswer { reason } => {
                write!(f, "inquiry ended without an answer ({reason}); ask again")
            }
            Declined::Device { detail } => {
                write!(f, "card or PIN pad failed ({detail}); nothing was sent")
            }
            Declined::Storage { detail } => {
                write!(
                    f,
                    "the terminal could not record it ({detail}); nothing was sent"
                )
            }
            Declined::ByCard => f.write_str(
                "the card declined after the bank approved; the approval is reversed, not charged",
            ),
            Declined::CardOffline => f.write_str("the card declined offline; nothing was sent"),
        }
    }
}

/// The outcome of a transaction: approved, declined, or unknown while it is being resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Approved by the host.
    Approved,
    /// Not charged.
    Declined(Declined),
    /// Not known yet; a reversal is pending and the order can be queried.
    Unknown {
        /// Why.
        reason: UnknownReason,
    },
}

impl Outcome {
    /// The reversal (冲正) this outcome calls for, by its reason code: an unknown outcome's
    /// (98, A0 or 06 by [`UnknownReason::reversal_code`]), and 06 for an approval the chip card
    /// refused ([`Declined::ByCard`]); `None` when nothing is to be undone.
    ///
    /// ```
    /// # use smartpos_core::payment::{Declined, Outcome};
    /// assert_eq!(Outcome::Declined(Declined::ByCard).reversal_reason(), Some("06"));
    /// assert_eq!(Outcome::Declined(Declined::Cancelled).reversal_reason(), None);
    /// ```
    pub fn reversal_reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Unknown { reason } => Some(reason.reversal_code()),
            Outcome::Declined(Declined::ByCard) => Some("06"),
            Outcome::Approved | Outcome::Declined(_) => None,
        }
    }
}

/// The result handed back to the merchant app. Carries only the masked PAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// The merchant's order id.
    pub order_id: String,
    /// Transaction type.
    pub kind: TransactionType,
    /// Amount requested.
    pub amount: Money,
    /// Outcome.
    pub outcome: Outcome,
    /// PAN, masked to first 6 and last 4.
    pub masked_pan: Option<String>,
    /// Authorization code (F38).
    pub auth_code: Option<String>,
    /// Retrieval reference number (F37).
    pub reference: Option<String>,
    /// System trace audit number (F11).
    pub trace: u32,
    /// Batch number (60.2).
    pub batch: u32,
    /// Terminal id (F41).
    pub terminal_id: String,
    /// Merchant id (F42).
    pub merchant_id: String,
    /// When the transaction started, terminal local time.
    pub time: LocalTime,
    /// The card's balance, for an approved balance inquiry (field 54).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<AccountBalance>,
    /// Card, or which QR flow.
    #[serde(default)]
    pub method: crate::qr::PaymentMethod,
    /// The wallet of a QR payment, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<crate::qr::Wallet>,
    /// What the receipt shows of a chip or contactless read (none for a swipe or QR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<ChipDetails>,
}

/// A chip (contact or contactless) transaction's details for the receipt.
///
/// ```
/// use smartpos_core::payment::ChipDetails;
/// use smartpos_core::card::EntryMode;
/// let c = ChipDetails { entry_mode: EntryMode::Contactless, aid: Some("A000000333010101".into()),
///     label: Some("UnionPay Debit".into()), tc: None, no_pin: true, no_signature: true };
/// assert!(serde_json::to_string(&c).unwrap().contains("\"no_signature\":true"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipDetails {
    /// Contact chip or contactless.
    pub entry_mode: crate::card::EntryMode,
    /// The application's AID (tag 84), hex.
    pub aid: Option<String>,
    /// The application label (tag 50) as the card gives it.
    pub label: Option<String>,
    /// The card's transaction certificate (9F26 of its TC), hex, when it accepted.
    pub tc: Option<String>,
    /// Contactless at or under the profile's no-PIN limit: no PIN was asked (免密).
    pub no_pin: bool,
    /// Contactless at or under the profile's no-signature limit: the receipt says no signature
    /// is required (免签).
    pub no_signature: bool,
}

/// An account balance as the issuer reports it in field 54.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBalance {
    /// The amount (zero allowed).
    pub amount: Money,
    /// True when the issuer marks it as a debit balance (overdrawn, `D`), false for credit (`C`).
    pub overdrawn: bool,
}

impl AccountBalance {
    /// Parses field 54 (CUP: repeated 20-character groups: account type n2, amount type n2,
    /// currency n3, sign `C`/`D`, amount n12). Takes the available balance (type `02`), else the
    /// first group; `None` when no group is well formed.
    ///
    /// ```
    /// use smartpos_core::payment::AccountBalance;
    /// let b = AccountBalance::from_field54("1001156C0000000500001002156C000000012345").unwrap();
    /// assert_eq!(b.amount.minor(), 12345);
    /// assert!(!b.overdrawn);
    /// assert!(AccountBalance::from_field54("1002156X000000012345").is_none());
    /// ```
    pub fn from_field54(text: &str) -> Option<Self> {
        let group = |g: &[u8]| -> Option<(bool, AccountBalance)> {
            let g = std::str::from_utf8(g).ok()?;
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if g.len() != 20 || !digits(&g[..7]) || !digits(&g[8..]) {
                return None;
            }
            let currency = crate::money::Currency::from_numeric(&g[4..7])?;
            let overdrawn = match &g[7..8] {
                "C" => false,
                "D" => true,
                _ => return None,
            };
            let amount = Money::from_stored(g[8..].parse().ok()?, currency).ok()?;
            Some((&g[2..4] == "02", AccountBalance { amount, overdrawn }))
        };
        // the available balance (type 02) first, else the first well-formed group
        text.as_bytes()
            .chunks(20)
            .filter_map(group)
            .min_by_key(|(available, _)| !available)
            .map(|(_, b)| b)
    }

    /// Field 54 text for this balance (one group, account type `10`, amount type `02`).
    pub fn to_field54(&self) -> String {
        format!(
            "1002{}{}{:012}",
            self.amount.currency().numeric(),
            if self.overdrawn { 'D' } else { 'C' },
            self.amount.minor()
        )
    }
}

pub use smartpos_handoff::host_code::response_message;
