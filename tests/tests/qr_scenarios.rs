//! Every QR gateway scenario, driven through the sans-IO QR payment against the simulated
//! gateway on a simulated clock: outcomes, polling times and the 15-second cancel rule, with no
//! real sleeps.

use smartpos_core::engine::{LinkFailure, LinkFailureKind, TransportFailure};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, PaymentResult, TransactionType};
use smartpos_core::qr::emv;
use smartpos_core::qr::gateway::GatewayCall;
use smartpos_core::qr::machine::QrStart;
use smartpos_core::qr::{QrAction, QrEvent, QrForm, QrPayment, QrSchedule, Wallet};
use smartpos_core::time::LocalTime;
use smartpos_testing::qr_gateway::{QrGateway, SimReply};

const MERCHANT: &str = "898310048990001";

/// A trace per order id (distinct for the ids these tests use), as the terminal's counter
/// would hand out.
fn trace_of(order: &str) -> u32 {
    order
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % 999_999
        + 1
}

/// The order number the gateway knows `order` by.
fn at_gateway(order: &str) -> String {
    start(order, 1, None).gateway_order()
}

fn start(order: &str, minor: u64, code: Option<&str>) -> QrStart {
    QrStart {
        caller: "com.example.merchant".into(),
        kind: TransactionType::Sale,
        order_id: order.into(),
        amount: Money::from_minor(minor, Currency::CNY).unwrap(),
        code: code.map(str::to_string),
        trace: trace_of(order),
        batch: 1,
        terminal_id: "10000001".into(),
        merchant_id: MERCHANT.into(),
        time: LocalTime::from_unix(0, 8 * 3600),
        original: None,
    }
}

/// What happened on the simulated clock.
#[derive(Default, Debug)]
struct Trace {
    /// (ms since the payment started, call name)
    calls: Vec<(u64, &'static str)>,
    shown: Option<String>,
}

/// Runs a payment to its end; `cancel_at` asks to cancel at that time while waiting.
fn run(gw: &mut QrGateway, s: QrStart, t0: u64, cancel_at: Option<u64>) -> (PaymentResult, Trace) {
    let schedule = QrSchedule::default();
    let (mut m, mut a) = QrPayment::start(s, schedule, QrForm::default(), t0).unwrap();
    let mut now = t0;
    let mut trace = Trace::default();
    let mut cancelled = false;
    for _ in 0..500 {
        let ev = match a {
            QrAction::Persist(_) => QrEvent::Persisted(Ok(())),
            QrAction::Call { call, timeout_ms } => {
                trace.calls.push((now - t0, call.path()));
                match gw.handle(&call, now) {
                    SimReply::Reply(r) => {
                        now += 40; // the round trip
                        QrEvent::Answered(Ok(r))
                    }
                    SimReply::NoAnswer => {
                        now += timeout_ms;
                        QrEvent::Answered(Err(TransportFailure::NoAnswer(LinkFailure::new(
                            LinkFailureKind::Timeout,
                            "timeout",
                        ))))
                    }
                }
            }
            QrAction::ShowCode { payload } => {
                trace.shown = Some(payload);
                QrEvent::CodeShown
            }
            QrAction::WaitUntil { at_ms } => {
                assert!(at_ms >= now, "waits never go back in time");
                match cancel_at {
                    Some(c) if !cancelled && c <= at_ms - t0 => {
                        now = now.max(t0 + c);
                        cancelled = true;
                        QrEvent::CancelRequested
                    }
                    _ => {
                        now = at_ms;
                        QrEvent::Timer
                    }
                }
            }
            QrAction::Finish(r) => return (*r, trace),
        };
        a = m.handle(ev, now).unwrap();
    }
    panic!("the payment never finished");
}

fn polls(t: &Trace) -> Vec<u64> {
    t.calls
        .iter()
        .filter(|(_, c)| *c == "query")
        .map(|(at, _)| *at)
        .collect()
}

const T0: u64 = 1_700_000_000_000;

#[test]
fn instant_success_needs_one_call() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-0", 1234, Some("134567890123456700")),
        T0,
        None,
    );
    assert_eq!(r.outcome, Outcome::Approved);
    assert_eq!(r.wallet, Some(Wallet::Wechat));
    assert!(r.reference.is_some(), "gateway transaction id kept");
    assert_eq!(t.calls, vec![(0, "pay")]);
}

#[test]
fn user_paying_then_paid_polls_every_two_seconds() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-1", 500, Some("281234567890123411")),
        T0,
        None,
    );
    assert_eq!(r.outcome, Outcome::Approved);
    assert_eq!(r.wallet, Some(Wallet::Alipay));
    let p = polls(&t);
    assert!(
        p.windows(2)
            .all(|w| w[1] - w[0] >= 2_000 && w[1] - w[0] < 2_100),
        "{p:?}"
    );
    assert!(
        *p.last().unwrap() >= 10_000 && *p.last().unwrap() < 12_100,
        "paid at 10 s: {p:?}"
    );
    assert!(!t.calls.iter().any(|(_, c)| *c == "cancel"));
    assert_eq!(gw.order(MERCHANT, &at_gateway("S-1")).unwrap().pay_calls, 1);
}

#[test]
fn user_paying_then_the_customer_cancels() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-2", 500, Some("134567890123456712")),
        T0,
        None,
    );
    assert!(
        matches!(&r.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "CLOSED"),
        "{r:?}"
    );
    assert!(
        !t.calls.iter().any(|(_, c)| *c == "cancel"),
        "the gateway closed it"
    );
}

#[test]
fn insufficient_balance_is_declined_at_once() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-3", 500, Some("6228123456789012313")),
        T0,
        None,
    );
    assert!(
        matches!(&r.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "NOTENOUGH"),
        "{r:?}"
    );
    assert_eq!(r.wallet, Some(Wallet::Unionpay));
    assert_eq!(t.calls.len(), 1);
}

#[test]
fn system_error_then_success_is_resolved_by_query() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-4", 500, Some("134567890123456714")),
        T0,
        None,
    );
    assert_eq!(
        r.outcome,
        Outcome::Approved,
        "the gateway's final status wins"
    );
    assert_eq!(t.calls[..2], [(0, "pay"), (2_040, "query")]);
}

#[test]
fn no_answer_to_the_pay_call_is_resolved_by_query() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-5", 500, Some("134567890123456715")),
        T0,
        None,
    );
    assert_eq!(r.outcome, Outcome::Approved);
    // the pay call timed out after 10 s; the next poll follows 2 s later
    assert_eq!(t.calls[..2], [(0, "pay"), (12_000, "query")]);
    assert_eq!(
        gw.order(MERCHANT, &at_gateway("S-5")).unwrap().pay_calls,
        1,
        "never paid twice"
    );
}

#[test]
fn user_paying_forever_follows_the_schedule_and_cancels_at_the_end() {
    let mut gw = QrGateway::new();
    let (r, t) = run(
        &mut gw,
        start("S-6", 500, Some("134567890123456716")),
        T0,
        None,
    );
    assert_eq!(r.outcome, Outcome::Declined(Declined::Reversed));
    let p = polls(&t);
    for w in p.windows(2) {
        let gap = w[1] - w[0];
        if w[0] < 30_000 {
            assert!((2_000..2_100).contains(&gap), "fast phase: {p:?}");
        } else {
            assert!((2_000..5_100).contains(&gap), "slow phase: {p:?}");
        }
    }
    assert!(p.iter().filter(|&&at| at > 30_000).count() >= 10, "{p:?}");
    assert!(*p.last().unwrap() <= 90_000, "{p:?}");
    let cancel = t.calls.iter().find(|(_, c)| *c == "cancel").unwrap().0;
    assert!(
        (90_000..=90_100).contains(&cancel),
        "cancelled when polling ends: {cancel}"
    );
    assert_eq!(t.calls.last().unwrap().1, "cancel");
}

#[test]
fn a_merchant_cancel_waits_until_fifteen_seconds_after_the_pay_call() {
    let mut gw = QrGateway::new();
    // display, nobody pays (.99); the merchant cancels at 5 s
    let (r, t) = run(&mut gw, start("D-1", 1099, None), T0, Some(5_000));
    assert_eq!(r.outcome, Outcome::Declined(Declined::Reversed));
    let cancel = t.calls.iter().find(|(_, c)| *c == "cancel").unwrap().0;
    assert_eq!(cancel, 15_000, "not sooner than 15 s after the pay call");
    assert!(
        polls(&t).iter().all(|&at| at < 6_000),
        "no polling after the cancel request"
    );
}

#[test]
fn a_displayed_code_is_paid_by_the_customer() {
    let mut gw = QrGateway::new();
    let (r, t) = run(&mut gw, start("D-2", 1234, None), T0, None);
    assert_eq!(r.outcome, Outcome::Approved);
    assert!(r.wallet.is_some(), "the gateway says which wallet paid");
    assert_eq!(t.calls[0], (0, "precreate"));
    let payload = t.shown.clone().expect("a code was shown");
    let objects = emv::parse(&payload).expect("a valid EMVCo payload with CRC");
    let get = |tag: &str| {
        objects
            .iter()
            .find(|o| o.tag == tag)
            .map(|o| o.value.clone())
    };
    assert_eq!(get("54").as_deref(), Some("12.34"));
    assert_eq!(get("53").as_deref(), Some("156"));
    assert_eq!(get("15").as_deref(), Some(MERCHANT));
    let token = gw
        .order(MERCHANT, &at_gateway("D-2"))
        .unwrap()
        .token
        .clone()
        .unwrap();
    assert!(get("62").unwrap().contains(&token));
    assert!(polls(&t).last().unwrap() >= &4_000);
}

#[test]
fn a_displayed_code_the_customer_abandons_is_declined() {
    let mut gw = QrGateway::new();
    let (r, _) = run(&mut gw, start("D-3", 1098, None), T0, None);
    assert!(
        matches!(&r.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "CLOSED"),
        "{r:?}"
    );
}

#[test]
fn a_code_of_no_wallet_is_refused_before_anything_happens() {
    let err = QrPayment::start(
        start("X-1", 100, Some("991234567890123456")),
        QrSchedule::default(),
        QrForm::default(),
        T0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no wallet"), "{err}");
}

#[test]
fn a_failed_cancel_leaves_the_payment_unknown_and_a_resume_settles_it() {
    let mut gw = QrGateway::new();
    let s = start("S-7", 500, Some("134567890123456716"));
    let (mut m, mut a) =
        QrPayment::start(s.clone(), QrSchedule::default(), QrForm::default(), T0).unwrap();
    let mut now = T0;
    let r = loop {
        let ev = match a {
            QrAction::Persist(_) => QrEvent::Persisted(Ok(())),
            QrAction::Call {
                call: GatewayCall::Cancel { .. },
                ..
            } => QrEvent::Answered(Err(TransportFailure::NotSent(LinkFailure::new(
                LinkFailureKind::Connect,
                "down",
            )))),
            QrAction::Call { call, .. } => match gw.handle(&call, now) {
                SimReply::Reply(r) => QrEvent::Answered(Ok(r)),
                SimReply::NoAnswer => unreachable!(),
            },
            QrAction::WaitUntil { at_ms } => {
                now = at_ms;
                QrEvent::Timer
            }
            QrAction::ShowCode { .. } => QrEvent::CodeShown,
            QrAction::Finish(r) => break r,
        };
        a = m.handle(ev, now).unwrap();
    };
    assert!(
        matches!(r.outcome, Outcome::Unknown { .. }),
        "never reported as failure"
    );
    // later (a restart, or a query): one query, overdue, so it cancels; the final status wins
    let (mut m, a) = QrPayment::resume(
        s,
        smartpos_core::qr::PaymentMethod::QrScan,
        Some(Wallet::Wechat),
        T0,
        QrSchedule::default(),
    );
    let QrAction::Call { call, .. } = a else {
        panic!("{a:?}")
    };
    let SimReply::Reply(reply) = gw.handle(&call, now + 1_000) else {
        panic!()
    };
    let a = m.handle(QrEvent::Answered(Ok(reply)), now + 1_000).unwrap();
    let QrAction::Call { call, .. } = a else {
        panic!("{a:?}")
    };
    assert_eq!(call.path(), "cancel");
    let SimReply::Reply(reply) = gw.handle(&call, now + 1_100) else {
        panic!()
    };
    let a = m.handle(QrEvent::Answered(Ok(reply)), now + 1_100).unwrap();
    assert!(matches!(a, QrAction::Persist(_)));
    let QrAction::Finish(r) = m.handle(QrEvent::Persisted(Ok(())), now + 1_100).unwrap() else {
        panic!()
    };
    assert_eq!(r.outcome, Outcome::Declined(Declined::Reversed));
}
