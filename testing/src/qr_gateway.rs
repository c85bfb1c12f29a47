//! The simulated QR gateway: a sans-IO model of the acquirer's QR service (same process as the
//! ISO 8583 simulator, its own routes under `/qr/v1/`). Time is passed in with every call, so
//! tests run the scenarios on a simulated clock. Scenarios are chosen by test data:
//!
//! | customer's code ends in (B scans C) | scenario |
//! |---|---|
//! | `11` | user paying, paid after 10 s |
//! | `12` | user paying, the customer cancels after 10 s |
//! | `13` | insufficient balance (`FAILED`, `NOTENOUGH`) |
//! | `14` | system error on the pay call, paid |
//! | `15` | no answer to the pay call, paid |
//! | `16` | user paying until the terminal cancels |
//! | anything else | paid at once |
//!
//! | amount ends in (C scans B) | scenario |
//! |---|---|
//! | `.99` | nobody pays: open until cancelled |
//! | `.98` | the customer scans at 4 s, then cancels at 10 s |
//! | anything else | the customer scans and pays 4 s after the code is created |

use smartpos_core::qr::gateway::{GatewayCall, GatewayReply, QrStatus};
use smartpos_core::qr::{detect_wallet, Wallet};
use std::collections::HashMap;

/// What the simulated gateway does with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimReply {
    /// Answer this.
    Reply(GatewayReply),
    /// Take the call (it has its effect) but never answer it.
    NoAnswer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scenario {
    Instant,
    PayingThenPaid,
    PayingThenCancelled,
    Insufficient,
    ErrorThenPaid,
    NoAnswerPaid,
    PayingForever,
    DisplayPaid,
    DisplayPayingThenCancelled,
    DisplayNeverPaid,
}

/// One order at the gateway.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimOrder {
    /// Terminal that created it.
    pub terminal_id: String,
    /// Amount, minor units.
    pub amount_minor: u64,
    /// Wallet (scan: from the code; display: the simulated customer's).
    pub wallet: Wallet,
    /// Pay or precreate calls received for this order (a retry must not charge twice).
    pub pay_calls: u32,
    /// Refunded so far, minor units.
    pub refunded_minor: u64,
    /// Token of a displayed code.
    pub token: Option<String>,
    /// Gateway transaction id.
    pub transaction_id: String,
    scenario: Scenario,
    created_ms: u64,
    /// Fixed by cancel: the status from then on.
    settled: Option<QrStatus>,
}

impl SimOrder {
    fn status_at(&self, now: u64) -> QrStatus {
        if let Some(s) = self.settled {
            return s;
        }
        let t = now.saturating_sub(self.created_ms);
        use Scenario::*;
        match self.scenario {
            Instant | ErrorThenPaid | NoAnswerPaid => QrStatus::Success,
            Insufficient => QrStatus::Failed,
            PayingThenPaid if t >= 10_000 => QrStatus::Success,
            PayingThenCancelled if t >= 10_000 => QrStatus::Closed,
            PayingThenPaid | PayingThenCancelled | PayingForever => QrStatus::UserPaying,
            DisplayPaid if t >= 4_000 => QrStatus::Success,
            DisplayPayingThenCancelled if t >= 10_000 => QrStatus::Closed,
            DisplayPayingThenCancelled if t >= 4_000 => QrStatus::UserPaying,
            DisplayPaid | DisplayPayingThenCancelled | DisplayNeverPaid => QrStatus::NotPay,
        }
    }
    /// Whether the customer's money is with the merchant at `now` (paid, less refunds).
    pub fn charged_at(&self, now: u64) -> u64 {
        if self.status_at(now) == QrStatus::Success {
            self.amount_minor - self.refunded_minor
        } else {
            0
        }
    }
}

/// The simulated gateway.
#[derive(Debug, Default)]
pub struct QrGateway {
    orders: HashMap<(String, String), SimOrder>,
    refunds: HashMap<(String, String), GatewayReply>,
    counter: u64,
}

/// The gateway's orders and refunds as saved under `host-sim --state` (`qr-gateway.json`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct GatewaySnapshot {
    orders: Vec<(String, String, SimOrder)>,
    refunds: Vec<(String, String, GatewayReply)>,
    counter: u64,
}

impl QrGateway {
    /// An empty gateway.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything the gateway knows, to be saved (sorted, so equal gateways save equal files).
    pub fn snapshot(&self) -> GatewaySnapshot {
        let mut orders: Vec<_> = self
            .orders
            .iter()
            .map(|((m, o), v)| (m.clone(), o.clone(), v.clone()))
            .collect();
        orders.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut refunds: Vec<_> = self
            .refunds
            .iter()
            .map(|((m, r), v)| (m.clone(), r.clone(), v.clone()))
            .collect();
        refunds.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        GatewaySnapshot {
            orders,
            refunds,
            counter: self.counter,
        }
    }

    /// A gateway that continues from a snapshot.
    pub fn from_snapshot(s: GatewaySnapshot) -> Self {
        QrGateway {
            orders: s.orders.into_iter().map(|(m, o, v)| ((m, o), v)).collect(),
            refunds: s.refunds.into_iter().map(|(m, r, v)| ((m, r), v)).collect(),
            counter: s.counter,
        }
    }

    /// An order, for tests and reports.
    pub fn order(&self, merchant_id: &str, order: &str) -> Option<&SimOrder> {
        self.orders
            .get(&(merchant_id.to_string(), order.to_string()))
    }

    /// Every order of a merchant (test inspection).
    pub fn orders_of<'a>(
        &'a self,
        merchant_id: &'a str,
    ) -> impl Iterator<Item = &'a SimOrder> + 'a {
        self.orders
            .iter()
            .filter(move |((m, _), _)| m == merchant_id)
            .map(|(_, o)| o)
    }

    fn reply(&self, o: &SimOrder, now: u64) -> GatewayReply {
        let status = o.status_at(now);
        let mut r = GatewayReply::status(status);
        r.wallet = Some(o.wallet);
        if matches!(status, QrStatus::Success | QrStatus::Revoked) {
            r.transaction_id = Some(o.transaction_id.clone());
        }
        if status == QrStatus::Failed {
            r.error_code = Some("NOTENOUGH".into());
            r.message = Some("insufficient balance".into());
        }
        r.token = o.token.clone();
        r
    }

    /// A pay or precreate for an order that exists: counted, answered with its status, never
    /// charged again.
    fn repeated(&mut self, key: &(String, String), now: u64) -> Option<SimReply> {
        let o = self.orders.get_mut(key)?;
        o.pay_calls += 1;
        let o = o.clone();
        Some(SimReply::Reply(self.reply(&o, now)))
    }

    /// Handles one call at `now_ms`.
    pub fn handle(&mut self, call: &GatewayCall, now_ms: u64) -> SimReply {
        let now = now_ms;
        match call {
            GatewayCall::Pay {
                merchant_id,
                terminal_id,
                order,
                amount_minor,
                auth_code,
                ..
            } => {
                let key = (merchant_id.clone(), order.clone());
                if let Some(r) = self.repeated(&key, now) {
                    return r;
                }
                let Ok(wallet) = detect_wallet(auth_code) else {
                    let mut r = GatewayReply::status(QrStatus::Failed);
                    r.error_code = Some("AUTH_CODE_INVALID".into());
                    r.message = Some("not a payment code".into());
                    return SimReply::Reply(r);
                };
                use Scenario::*;
                let scenario = match &auth_code[auth_code.len() - 2..] {
                    "11" => PayingThenPaid,
                    "12" => PayingThenCancelled,
                    "13" => Insufficient,
                    "14" => ErrorThenPaid,
                    "15" => NoAnswerPaid,
                    "16" => PayingForever,
                    _ => Instant,
                };
                self.counter += 1;
                let o = SimOrder {
                    terminal_id: terminal_id.clone(),
                    amount_minor: *amount_minor,
                    wallet,
                    pay_calls: 1,
                    refunded_minor: 0,
                    token: None,
                    transaction_id: format!("QT{:014}", self.counter),
                    scenario,
                    created_ms: now,
                    settled: None,
                };
                let mut reply = self.reply(&o, now);
                self.orders.insert(key, o);
                match scenario {
                    ErrorThenPaid => {
                        reply = GatewayReply::status(QrStatus::SystemError);
                        reply.error_code = Some("SYSTEMERROR".into());
                    }
                    NoAnswerPaid => return SimReply::NoAnswer,
                    _ => {}
                }
                SimReply::Reply(reply)
            }
            GatewayCall::Precreate {
                merchant_id,
                terminal_id,
                order,
                amount_minor,
                ..
            } => {
                let key = (merchant_id.clone(), order.clone());
                if let Some(r) = self.repeated(&key, now) {
                    return r;
                }
                self.counter += 1;
                use Scenario::*;
                let scenario = match amount_minor % 100 {
                    99 => DisplayNeverPaid,
                    98 => DisplayPayingThenCancelled,
                    _ => DisplayPaid,
                };
                let o = SimOrder {
                    terminal_id: terminal_id.clone(),
                    amount_minor: *amount_minor,
                    wallet: [Wallet::Wechat, Wallet::Alipay, Wallet::Unionpay]
                        [(self.counter % 3) as usize],
                    pay_calls: 1,
                    refunded_minor: 0,
                    token: Some(format!("TK{:010}", self.counter)),
                    transaction_id: format!("QT{:014}", self.counter),
                    scenario,
                    created_ms: now,
                    settled: None,
                };
                let mut reply = self.reply(&o, now);
                reply.token = o.token.clone();
                self.orders.insert(key, o);
                SimReply::Reply(reply)
            }
            GatewayCall::Query { merchant_id, order } => {
                match self.orders.get(&(merchant_id.clone(), order.clone())) {
                    Some(o) => SimReply::Reply(self.reply(o, now)),
                    None => SimReply::Reply(GatewayReply::status(QrStatus::NotFound)),
                }
            }
            GatewayCall::Cancel { merchant_id, order } => {
                let Some(o) = self.orders.get_mut(&(merchant_id.clone(), order.clone())) else {
                    return SimReply::Reply(GatewayReply::status(QrStatus::NotFound));
                };
                let after = match o.status_at(now) {
                    QrStatus::Success => QrStatus::Revoked,
                    s if s.is_final() => s,
                    _ => QrStatus::Closed,
                };
                o.settled = Some(after);
                let o = o.clone();
                SimReply::Reply(self.reply(&o, now))
            }
            GatewayCall::Refund {
                merchant_id,
                order,
                refund_order,
                amount_minor,
            } => {
                let rkey = (merchant_id.clone(), refund_order.clone());
                if let Some(r) = self.refunds.get(&rkey) {
                    return SimReply::Reply(r.clone());
                }
                let failed = |code: &str| {
                    let mut r = GatewayReply::status(QrStatus::Failed);
                    r.error_code = Some(code.into());
                    r
                };
                let reply = match self.orders.get_mut(&(merchant_id.clone(), order.clone())) {
                    None => failed("ORDER_NOT_FOUND"),
                    Some(o) if o.status_at(now) != QrStatus::Success => failed("ORDER_NOT_PAID"),
                    Some(o) if o.refunded_minor + amount_minor > o.amount_minor => {
                        failed("REFUND_TOO_LARGE")
                    }
                    Some(o) => {
                        o.refunded_minor += amount_minor;
                        let mut r = GatewayReply::status(QrStatus::Success);
                        r.wallet = Some(o.wallet);
                        r.transaction_id = Some(format!("{}R{}", o.transaction_id, refund_order));
                        r
                    }
                };
                self.refunds.insert(rkey, reply.clone());
                SimReply::Reply(reply)
            }
        }
    }

    /// The customer pays an open order now (a displayed code scanned and paid), as tests and
    /// demos need without waiting for the scenario's clock. False when the order is not open.
    pub fn customer_pays(&mut self, merchant_id: &str, order: &str, now_ms: u64) -> bool {
        match self
            .orders
            .get_mut(&(merchant_id.to_string(), order.to_string()))
        {
            Some(o) if !o.status_at(now_ms).is_final() => {
                o.settled = Some(QrStatus::Success);
                true
            }
            _ => false,
        }
    }

    /// Every order's charged amount at `now`, by terminal and wallet, for reports.
    pub fn totals_at(&self, now_ms: u64) -> Vec<(String, Wallet, u32, u64)> {
        let mut out: Vec<(String, Wallet, u32, u64)> = Vec::new();
        for o in self.orders.values() {
            let c = o.charged_at(now_ms);
            if c == 0 {
                continue;
            }
            match out
                .iter_mut()
                .find(|(t, w, _, _)| *t == o.terminal_id && *w == o.wallet)
            {
                Some(line) => {
                    line.2 += 1;
                    line.3 += c;
                }
                None => out.push((o.terminal_id.clone(), o.wallet, 1, c)),
            }
        }
        out.sort_by(|a, b| (&a.0, a.1.name()).cmp(&(&b.0, b.1.name())));
        out
    }
}
