//! QR payments end to end over HTTPS against the simulated gateway: the scanner reads the
//! customer's code, the terminal pays, refunds and voids through the gateway; QR totals per
//! wallet appear in the batch report and the app's statement, and stay out of card settlement.

use smartpos_core::engine::SettlementOutcome;
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Outcome, TransactionType};
use smartpos_core::qr::{PaymentMethod, Wallet};
use smartpos_core::reconcile::{batch_totals, statement};
use smartpos_terminal::journal::TxnState;
use smartpos_terminal::TerminalError;
use smartpos_tests::{rig, sale, RigOptions};

const CALLER: &str = "com.example.merchant";
const MERCHANT: &str = "898310048990001";

/// The order number the gateway knows a journaled order by (terminal id + batch + trace).
fn at_gateway(t: &smartpos_terminal::Terminal, order: &str) -> String {
    let e = t.query(CALLER, order).unwrap().expect("journaled");
    smartpos_core::qr::gateway::gateway_order(&t.config().identity.terminal_id, e.batch, e.trace)
}

fn cny(minor: u64) -> Money {
    Money::from_minor(minor, Currency::CNY).unwrap()
}

fn now() -> u64 {
    smartpos_testing::server::unix_ms()
}

#[tokio::test]
async fn scan_pay_refund_void_and_report() {
    let mut r = rig(RigOptions {
        qr_codes: vec![
            "134567890123456789".into(),
            "281234567890123456".into(),
            "6228123456789012345".into(),
        ],
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.unwrap();
    let card = r.terminal.sale(sale("CARD-1")).await.unwrap();
    assert_eq!(card.outcome, Outcome::Approved);

    let wx = r
        .terminal
        .qr_scan_sale(CALLER, "QR-WX", cny(1_000))
        .await
        .unwrap();
    assert_eq!(wx.outcome, Outcome::Approved);
    assert_eq!(
        (wx.method, wx.wallet),
        (PaymentMethod::QrScan, Some(Wallet::Wechat))
    );
    let ali = r
        .terminal
        .qr_scan_sale(CALLER, "QR-ALI", cny(2_000))
        .await
        .unwrap();
    assert_eq!(ali.wallet, Some(Wallet::Alipay));
    let up = r
        .terminal
        .qr_scan_sale(CALLER, "QR-UP", cny(3_000))
        .await
        .unwrap();
    assert_eq!(up.wallet, Some(Wallet::Unionpay));

    // A retry of the same order: the stored result, no second pay call.
    let again = r
        .terminal
        .qr_scan_sale_with_code(CALLER, "QR-WX", cny(1_000), "134567890123456789")
        .await
        .unwrap();
    assert_eq!(again, wx);
    assert_eq!(
        r.host
            .qr
            .lock()
            .unwrap()
            .order(MERCHANT, &at_gateway(&r.terminal, "QR-WX"))
            .unwrap()
            .pay_calls,
        1
    );

    // A code of no wallet: refused, nothing journaled.
    let err = r
        .terminal
        .qr_scan_sale_with_code(CALLER, "QR-BAD", cny(100), "991234567890123456")
        .await
        .unwrap_err();
    assert!(matches!(err, TerminalError::BadPaymentCode(_)), "{err}");
    assert!(r.terminal.query(CALLER, "QR-BAD").unwrap().is_none());

    // Refund part of the Alipay payment, by its gateway transaction id.
    let ali_ref = ali.reference.clone().unwrap();
    let refund = r
        .terminal
        .refund(CALLER, "QR-ALI-R", &ali_ref, cny(500))
        .await
        .unwrap();
    assert_eq!(refund.outcome, Outcome::Approved);
    assert_eq!(refund.method, PaymentMethod::QrScan);
    assert_eq!(
        r.host
            .qr
            .lock()
            .unwrap()
            .order(MERCHANT, &at_gateway(&r.terminal, "QR-ALI"))
            .unwrap()
            .refunded_minor,
        500
    );
    // Void the UnionPay payment: the gateway reverses it.
    let void = r
        .terminal
        .void(CALLER, "QR-UP-V", up.reference.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(void.outcome, Outcome::Approved);
    assert_eq!(
        r.host
            .qr
            .lock()
            .unwrap()
            .order(MERCHANT, &at_gateway(&r.terminal, "QR-UP"))
            .unwrap()
            .charged_at(now()),
        0
    );
    assert_eq!(
        r.terminal.query(CALLER, "QR-UP").unwrap().unwrap().state,
        TxnState::Voided
    );

    // Batch report: QR per wallet beside the card line.
    let entries = r.terminal.journal().entries().unwrap();
    let totals = batch_totals(&entries, card.batch);
    let line = |kind: &str, channel: &str| {
        totals
            .lines
            .iter()
            .find(|l| l.kind == kind && l.channel == channel)
            .map(|l| (l.count, l.amount_minor))
    };
    assert_eq!(line("sale", "card"), Some((1, 1234)));
    assert_eq!(line("sale", "qr:wechat"), Some((1, 1_000)));
    assert_eq!(line("sale", "qr:alipay"), Some((1, 2_000)));
    assert_eq!(line("refund", "qr:alipay"), Some((1, 500)));
    assert_eq!(line("sale", "qr:unionpay"), None, "voided");
    // The app's statement shows the wallet too.
    let st = statement(&entries, CALLER);
    assert!(st
        .iter()
        .any(|l| l.order_id == "QR-WX" && l.channel == "qr:wechat"));
    // Card settlement knows nothing of QR and balances with the host.
    assert_eq!(
        r.terminal.settle().await.unwrap(),
        SettlementOutcome::Balanced
    );
    assert_eq!(
        r.terminal.query(CALLER, "QR-WX").unwrap().unwrap().state,
        TxnState::Approved,
        "QR stays out of card settlement"
    );
}

#[tokio::test]
async fn an_open_displayed_code_is_resolved_on_query() {
    let mut r = rig(RigOptions::default()).await;
    // .99: nobody pays by itself; the code is created without waiting
    let payload = r
        .terminal
        .qr_code(CALLER, "QR-OPEN", cny(199))
        .await
        .unwrap();
    assert!(smartpos_core::qr::emv::parse(&payload).is_ok());
    let e = r.terminal.query(CALLER, "QR-OPEN").unwrap().unwrap();
    assert_eq!(e.state, TxnState::Unknown, "open, not failed");
    assert_eq!(
        r.terminal.resolve_qr().await.unwrap(),
        0,
        "still open at the gateway"
    );
    assert_eq!(
        r.terminal.query(CALLER, "QR-OPEN").unwrap().unwrap().state,
        TxnState::Unknown
    );
    // the customer scans and pays
    assert!(r.host.qr.lock().unwrap().customer_pays(
        MERCHANT,
        &at_gateway(&r.terminal, "QR-OPEN"),
        now()
    ));
    assert_eq!(r.terminal.resolve_qr().await.unwrap(), 1);
    let e = r.terminal.query(CALLER, "QR-OPEN").unwrap().unwrap();
    assert_eq!(e.state, TxnState::Approved);
    assert_eq!(e.method, "qr_display");
    assert!(e.wallet.is_some(), "the gateway said which wallet paid");
    let res = e.result.unwrap();
    assert_eq!(res.kind, TransactionType::Sale);
    assert_eq!(res.outcome, Outcome::Approved);
    // the same order again: the stored result
    let err = r
        .terminal
        .qr_code(CALLER, "QR-OPEN", cny(199))
        .await
        .unwrap_err();
    assert!(matches!(err, TerminalError::DuplicateOrder { .. }));
}

#[tokio::test]
async fn a_displayed_code_paid_by_the_customer_is_approved() {
    let mut r = rig(RigOptions::default()).await;
    let gateway = r.host.qr.clone();
    // The next trace is this payment's: the gateway will know it by this number.
    let show_order = smartpos_core::qr::gateway::gateway_order(
        &r.terminal.config().identity.terminal_id,
        r.terminal.engine_batch(),
        r.terminal.journal().counters().unwrap().0,
    );
    let mut shown = Vec::new();
    // the customer scans the code as soon as it is on the screen, and pays
    let mut show = |payload: &str| {
        shown.push(payload.to_string());
        assert!(gateway
            .lock()
            .unwrap()
            .customer_pays(MERCHANT, &show_order, now()));
    };
    let res = r
        .terminal
        .qr_display_sale(CALLER, "QR-SHOW", cny(500), &mut show)
        .await
        .unwrap();
    assert_eq!(res.outcome, Outcome::Approved);
    assert_eq!(res.method, PaymentMethod::QrDisplay);
    assert!(res.wallet.is_some());
    assert_eq!(shown.len(), 1, "one code for every wallet");
    let objects = smartpos_core::qr::emv::parse(&shown[0]).unwrap();
    assert!(objects.iter().any(|o| o.tag == "54" && o.value == "5.00"));
    assert_eq!(
        r.terminal.query(CALLER, "QR-SHOW").unwrap().unwrap().state,
        TxnState::Approved
    );
}

#[tokio::test]
async fn host_sim_state_keeps_gateway_orders_across_a_restart() {
    use smartpos_core::qr::gateway::{GatewayCall, QrStatus};
    use smartpos_terminal::transport::GatewayLink;
    use smartpos_testing::server::{self, SimConfig};
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = SimConfig::ephemeral();
        c.state_dir = Some(dir.path().to_path_buf());
        c
    };
    let wait = Duration::from_secs(10);
    let pay = GatewayCall::Pay {
        merchant_id: MERCHANT.into(),
        terminal_id: "10000001".into(),
        order: "QR-KEEP".into(),
        amount_minor: 1234,
        currency: "CNY".into(),
        auth_code: "134567890123456789".into(),
    };
    let refund = GatewayCall::Refund {
        merchant_id: MERCHANT.into(),
        order: "QR-KEEP".into(),
        refund_order: "QR-KEEP-R1".into(),
        amount_minor: 1000,
    };

    let host = server::start(config()).await.unwrap();
    let link = GatewayLink::new(&host.url, host.ca_pem.as_bytes()).unwrap();
    assert_eq!(
        link.call(&pay, wait).await.unwrap().status,
        QrStatus::Success
    );
    assert_eq!(
        link.call(&refund, wait).await.unwrap().status,
        QrStatus::Success
    );
    host.shutdown().await;

    // A new process on the same state directory knows the order, its refund and the counter.
    let host = server::start(config()).await.unwrap();
    let link = GatewayLink::new(&host.url, host.ca_pem.as_bytes()).unwrap();
    let query = GatewayCall::Query {
        merchant_id: MERCHANT.into(),
        order: "QR-KEEP".into(),
    };
    let known = link.call(&query, wait).await.unwrap();
    assert_eq!(known.status, QrStatus::Success);
    assert_eq!(known.wallet, Some(Wallet::Wechat));
    // A retried pay is not a second charge, and the refunded part cannot be refunded again.
    link.call(&pay, wait).await.unwrap();
    {
        let gateway = host.qr.lock().unwrap();
        let order = gateway.order(MERCHANT, "QR-KEEP").unwrap();
        assert_eq!(order.pay_calls, 2);
        assert_eq!(order.refunded_minor, 1000);
    }
    let too_much = GatewayCall::Refund {
        merchant_id: MERCHANT.into(),
        order: "QR-KEEP".into(),
        refund_order: "QR-KEEP-R2".into(),
        amount_minor: 500,
    };
    assert_ne!(
        link.call(&too_much, wait).await.unwrap().status,
        QrStatus::Success
    );
    host.shutdown().await;
}
