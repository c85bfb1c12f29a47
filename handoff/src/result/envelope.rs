//! The result envelope as typed fields, and its wire form generated from one field list.
//!
//! [`result_fields!`] names every field once: its Rust type and its wire name, in the order
//! they are signed. From that list come the struct, [`FIELDS`], the canonical encoding and the
//! strict reading of a received result, so the four cannot drift apart.

use super::{ResultCode, VerifyError, RESULT_TAG};
use crate::canonical::encode;
use crate::kinds::{PaymentMethod, RequestType, Wallet};
use crate::money::{Currency, Money};

/// A value as it travels in a result: one string, `""` for absent.
pub trait WireValue: Sized {
    /// The wire string.
    fn to_wire(&self) -> String;
    /// From the wire string; `Err` says what is wrong with it.
    fn from_wire(s: &str) -> Result<Self, &'static str>;
}

impl WireValue for String {
    fn to_wire(&self) -> String {
        self.clone()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        Ok(s.to_string())
    }
}

/// Absent is the empty string.
impl<T: WireScalar> WireValue for Option<T> {
    fn to_wire(&self) -> String {
        self.as_ref().map(WireScalar::to_wire).unwrap_or_default()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            Ok(None)
        } else {
            T::from_wire(s).map(Some)
        }
    }
}

/// A value that is never empty on the wire when present.
pub trait WireScalar: Sized {
    /// The wire string.
    fn to_wire(&self) -> String;
    /// From a non-empty wire string.
    fn from_wire(s: &str) -> Result<Self, &'static str>;
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Amounts in minor units: decimal digits, no sign, no leading zero.
impl WireScalar for u64 {
    fn to_wire(&self) -> String {
        self.to_string()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        if !digits(s) || (s.len() > 1 && s.starts_with('0')) {
            return Err("not a canonical decimal number");
        }
        s.parse().map_err(|_| "out of range")
    }
}

/// Signed minor units (a balance may be overdrawn) and unix times.
impl WireScalar for i64 {
    fn to_wire(&self) -> String {
        self.to_string()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        let body = s.strip_prefix('-').unwrap_or(s);
        if !digits(body) || (body.len() > 1 && body.starts_with('0')) || s == "-0" {
            return Err("not a canonical decimal number");
        }
        s.parse().map_err(|_| "out of range")
    }
}

/// A 6-digit counter (trace, batch), zero-padded as CUP writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Counter(pub u32);

impl WireScalar for Counter {
    fn to_wire(&self) -> String {
        format!("{:06}", self.0)
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        if s.len() != 6 || !digits(s) {
            return Err("not 6 digits");
        }
        s.parse().map(Counter).map_err(|_| "not 6 digits")
    }
}

impl WireScalar for Currency {
    fn to_wire(&self) -> String {
        self.code().to_string()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        Currency::from_code(s).ok_or("unknown currency")
    }
}

impl WireScalar for RequestType {
    fn to_wire(&self) -> String {
        self.name().to_string()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        RequestType::parse(s).ok_or("unknown type")
    }
}

impl WireScalar for PaymentMethod {
    fn to_wire(&self) -> String {
        self.name().to_string()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        PaymentMethod::parse(s).ok_or("unknown method")
    }
}

impl WireScalar for Wallet {
    fn to_wire(&self) -> String {
        self.name().to_string()
    }
    fn from_wire(s: &str) -> Result<Self, &'static str> {
        Wallet::parse(s).ok_or("unknown wallet")
    }
}

/// Defines [`ResultEnvelope`], [`FIELDS`] and the wire form from one list of
/// `field: Type = "wire_name"` (after `v`, `code` and `status`, which every result starts with).
macro_rules! result_fields {
    ( $( $(#[$doc:meta])* $field:ident : $ty:ty = $wire:literal ),* $(,)? ) => {
        /// A result envelope: one shape for every outcome, typed. Absent values are `None` or
        /// empty strings and travel as `""`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct ResultEnvelope {
            /// The result code; its status group (approved, declined, unknown, refused, error)
            /// travels beside it as `status`.
            pub code: ResultCode,
            $( $(#[$doc])* pub $field: $ty, )*
        }

        /// The result's wire fields, in the order they are signed.
        pub const FIELDS: &[&str] = &["v", "code", "status", $($wire),*];

        impl ResultEnvelope {
            /// An envelope with `code` and every other field absent.
            pub fn new(code: ResultCode) -> Self {
                ResultEnvelope { code, $( $field: Default::default(), )* }
            }

            /// The wire values, by [`FIELDS`] order.
            pub fn wire_values(&self) -> Vec<String> {
                vec![
                    "1".to_string(),
                    self.code.name().to_string(),
                    self.code.status().to_string(),
                    $( WireValue::to_wire(&self.$field), )*
                ]
            }

            /// One field's wire value by name, written alone (`None` for an unknown name).
            fn wire_value(&self, field: &str) -> Option<String> {
                match field {
                    "v" => Some("1".to_string()),
                    "code" => Some(self.code.name().to_string()),
                    "status" => Some(self.code.status().to_string()),
                    $( $wire => Some(WireValue::to_wire(&self.$field)), )*
                    _ => None,
                }
            }

            /// Reads the typed fields from wire values looked up by name. Strict: the
            /// version must be 1, the status must be the code's, every value must be in the
            /// form this envelope writes.
            pub fn from_wire(get: impl Fn(&str) -> Option<String>) -> Result<Self, VerifyError> {
                let field = |name: &str| {
                    get(name).ok_or_else(|| VerifyError::Malformed(format!("missing {name}")))
                };
                if field("v")? != "1" {
                    return Err(VerifyError::Malformed("v must be 1".into()));
                }
                let code_name = field("code")?;
                let code = ResultCode::parse(&code_name).ok_or_else(|| {
                    VerifyError::Malformed(format!(
                        "unknown code {:?}",
                        code_name.chars().take(32).collect::<String>()
                    ))
                })?;
                if field("status")? != code.status() {
                    return Err(VerifyError::Malformed(format!(
                        "status is not {}'s",
                        code.name()
                    )));
                }
                Ok(ResultEnvelope {
                    code,
                    $( $field: WireValue::from_wire(&field($wire)?).map_err(|why| {
                        VerifyError::Malformed(format!("{}: {why}", $wire))
                    })?, )*
                })
            }
        }
    };
}

result_fields! {
    /// Hash of the request this answers (empty when the request could not be read).
    request_hash: String = "request_hash",
    /// Calling package as the OS reported it.
    caller: String = "caller",
    /// The merchant's order id (empty when the request had no valid one).
    order: String = "order",
    /// The request's type.
    kind: Option<RequestType> = "type",
    /// Amount in minor units (absent for a balance inquiry and for refusals).
    amount: Option<u64> = "amount",
    /// Currency of the amount and of the balance.
    currency: Option<Currency> = "currency",
    /// Masked card number.
    masked_pan: String = "masked_pan",
    /// Authorization code.
    auth_code: String = "auth_code",
    /// Retrieval reference number.
    reference: String = "reference",
    /// Trace number.
    trace: Option<Counter> = "trace",
    /// Batch number.
    batch: Option<Counter> = "batch",
    /// Terminal id.
    terminal_id: String = "terminal_id",
    /// Merchant id.
    merchant_id: String = "merchant_id",
    /// When the result was made, unix seconds.
    time: Option<i64> = "time",
    /// Text for people.
    message: String = "message",
    /// The acquirer's response code (field 39), when the host answered.
    host_code: String = "host_code",
    /// Balance in minor units, negative when overdrawn (balance inquiries).
    balance: Option<i64> = "balance",
    /// How it was paid.
    method: Option<PaymentMethod> = "method",
    /// The wallet of a QR payment.
    wallet: Option<Wallet> = "wallet",
}

impl ResultEnvelope {
    /// The amount with its currency, when both are present.
    ///
    /// ```
    /// use smartpos_handoff::money::{Currency, Money};
    /// use smartpos_handoff::{ResultCode, ResultEnvelope};
    /// let mut e = ResultEnvelope::new(ResultCode::Approved);
    /// e.set_money(Money::from_minor(1234, Currency::CNY).unwrap());
    /// assert_eq!(e.get("amount"), "1234");
    /// assert_eq!(e.money().unwrap().minor(), 1234);
    /// ```
    pub fn money(&self) -> Option<Money> {
        Money::from_minor(self.amount?, self.currency?).ok()
    }
    /// Sets the amount and its currency.
    pub fn set_money(&mut self, m: Money) -> &mut Self {
        self.amount = Some(m.minor());
        self.currency = Some(m.currency());
        self
    }
    /// A field's wire value by name (`""` when absent or unknown): for logs, tests and
    /// displays; decide on the typed fields.
    pub fn get(&self, field: &str) -> String {
        self.wire_value(field).unwrap_or_default()
    }
    /// (field, wire value) pairs in signing order.
    pub fn wire_pairs(&self) -> Vec<(&'static str, String)> {
        FIELDS.iter().copied().zip(self.wire_values()).collect()
    }
    /// The canonical bytes that are signed.
    pub fn canonical(&self) -> Vec<u8> {
        let values = self.wire_values();
        let pairs: Vec<(&str, &str)> = FIELDS
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .collect();
        encode(RESULT_TAG, &pairs)
    }
}
