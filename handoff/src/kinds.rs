//! The protocol's vocabulary, one type per idea: what a transaction is ([`TransactionType`]),
//! what a merchant app may request ([`RequestType`]: a transaction, settlement or a query), how
//! it is paid ([`PaymentMethod`]) and with which wallet ([`Wallet`]). The engine, the journal,
//! the handoff and the bindings all use these; each has one stable wire name.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bank-card transaction types. Not `#[non_exhaustive]` on purpose: a new type must make every
/// match on it in the SDK (reversibility, originals, result codes) a compile error until handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    /// Purchase.
    Sale,
    /// Void of a sale in the current batch.
    Void,
    /// Refund of an earlier sale.
    Refund,
    /// Pre-authorization: a hold on the card, not a charge.
    Preauth,
    /// Void of a pre-authorization: the hold is released.
    PreauthVoid,
    /// Pre-authorization completion: the hold becomes a charge.
    PreauthComplete,
    /// Void of a completion in the current batch.
    CompleteVoid,
    /// Balance inquiry: card and PIN, no amount; moves no money.
    Balance,
}

impl TransactionType {
    /// Every type, in the protocol's order.
    pub const ALL: [TransactionType; 8] = [
        TransactionType::Sale,
        TransactionType::Void,
        TransactionType::Refund,
        TransactionType::Preauth,
        TransactionType::PreauthVoid,
        TransactionType::PreauthComplete,
        TransactionType::CompleteVoid,
        TransactionType::Balance,
    ];
    /// Stable name used in the journal and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            TransactionType::Sale => "sale",
            TransactionType::Void => "void",
            TransactionType::Refund => "refund",
            TransactionType::Preauth => "preauth",
            TransactionType::PreauthVoid => "preauth_void",
            TransactionType::PreauthComplete => "preauth_complete",
            TransactionType::CompleteVoid => "complete_void",
            TransactionType::Balance => "balance",
        }
    }
    /// From the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
    /// Whether the type charges, credits or holds money (everything but a balance inquiry).
    /// Types that do not are left out of batch totals, settlement and reconciliation.
    ///
    /// ```
    /// use smartpos_handoff::TransactionType;
    /// assert!(TransactionType::Sale.moves_money());
    /// assert!(!TransactionType::Balance.moves_money());
    /// ```
    pub fn moves_money(self) -> bool {
        self != TransactionType::Balance
    }
    /// [`TransactionType::moves_money`] by stable name (journal rows); unknown names count as money.
    pub fn name_moves_money(name: &str) -> bool {
        Self::parse(name).is_none_or(Self::moves_money)
    }
    /// For voids: the type of transaction they cancel.
    pub fn voids(self) -> Option<TransactionType> {
        match self {
            TransactionType::Void => Some(TransactionType::Sale),
            TransactionType::PreauthVoid => Some(TransactionType::Preauth),
            TransactionType::CompleteVoid => Some(TransactionType::PreauthComplete),
            _ => None,
        }
    }
}

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Bank card through the ISO 8583 host.
    #[default]
    Card,
    /// The terminal scanned the customer's payment code (B scans C).
    QrScan,
    /// The customer scanned the code the terminal showed (C scans B).
    QrDisplay,
}

impl PaymentMethod {
    /// Stable name (journal, results).
    pub fn name(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::QrScan => "qr_scan",
            PaymentMethod::QrDisplay => "qr_display",
        }
    }
    /// From the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Card, Self::QrScan, Self::QrDisplay]
            .into_iter()
            .find(|m| m.name() == s)
    }
    /// Whether this is a QR payment.
    pub fn is_qr(self) -> bool {
        self != PaymentMethod::Card
    }
}

/// A wallet the QR gateway accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wallet {
    /// WeChat Pay.
    Wechat,
    /// Alipay.
    Alipay,
    /// UnionPay QuickPass / cloud QR.
    Unionpay,
}

impl Wallet {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Wallet::Wechat => "wechat",
            Wallet::Alipay => "alipay",
            Wallet::Unionpay => "unionpay",
        }
    }
    /// From the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        [Wallet::Wechat, Wallet::Alipay, Wallet::Unionpay]
            .into_iter()
            .find(|w| w.name() == s)
    }
}

/// What a merchant app may request: a transaction (QR payments are a sale with a QR method),
/// settlement of the batch, or a query of an earlier order's result.
///
/// ```
/// use smartpos_handoff::{RequestType, TransactionType};
/// let t = RequestType::parse("preauth_complete").unwrap();
/// assert_eq!(t, RequestType::Transaction(TransactionType::PreauthComplete));
/// assert_eq!(t.transaction(), Some(TransactionType::PreauthComplete));
/// assert!(RequestType::ALL.iter().all(|t| RequestType::parse(t.name()) == Some(*t)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// A transaction of this type.
    Transaction(TransactionType),
    /// Batch settlement.
    Settle,
    /// Query the result of an earlier order.
    Query,
}

impl RequestType {
    /// Every request type, in the protocol's order.
    pub const ALL: [RequestType; 10] = [
        RequestType::Transaction(TransactionType::Sale),
        RequestType::Transaction(TransactionType::Void),
        RequestType::Transaction(TransactionType::Refund),
        RequestType::Transaction(TransactionType::Preauth),
        RequestType::Transaction(TransactionType::PreauthVoid),
        RequestType::Transaction(TransactionType::PreauthComplete),
        RequestType::Transaction(TransactionType::CompleteVoid),
        RequestType::Transaction(TransactionType::Balance),
        RequestType::Settle,
        RequestType::Query,
    ];
    /// Wire name (a transaction's is its [`TransactionType::name`]).
    pub fn name(self) -> &'static str {
        match self {
            RequestType::Transaction(t) => t.name(),
            RequestType::Settle => "settle",
            RequestType::Query => "query",
        }
    }
    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }
    /// Every wire name, in the protocol's order.
    ///
    /// ```
    /// use smartpos_handoff::RequestType;
    /// assert!(RequestType::names().all(|n| RequestType::parse(n).is_some()));
    /// ```
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().map(Self::name)
    }
    /// The transaction this request runs, if it runs one.
    pub fn transaction(self) -> Option<TransactionType> {
        match self {
            RequestType::Transaction(t) => Some(t),
            RequestType::Settle | RequestType::Query => None,
        }
    }
}

impl From<TransactionType> for RequestType {
    fn from(t: TransactionType) -> Self {
        RequestType::Transaction(t)
    }
}

impl Serialize for RequestType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for RequestType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        RequestType::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown request type {name:?} (expected one of: {})",
                RequestType::names().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}
