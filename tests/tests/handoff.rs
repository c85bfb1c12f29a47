//! Issue 5: the handoff protocol end to end on the simulated terminal.

use smartpos_cli::terminal_cmd::{
    handle_request, unix_now, Customer, DataDir, Handled, SAMPLE_MERCHANT_CERT_SHA256,
};
use smartpos_core::handoff::{CallerIdentity, RawRequest, SignedResult};
use smartpos_testing::server::{self, RunningHost, SimConfig};

struct Env {
    host: RunningHost,
    dir: DataDir,
    _tmp: tempfile::TempDir,
}

async fn env() -> Env {
    let host = server::start(SimConfig::ephemeral()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    Env {
        host,
        dir,
        _tmp: tmp,
    }
}

fn merchant() -> CallerIdentity {
    CallerIdentity::from_hex("com.example.merchant", &[SAMPLE_MERCHANT_CERT_SHA256]).unwrap()
}

fn link(params: &str, nonce: &str) -> String {
    format!(
        "smartpos://pay/v1?v=1&{params}&nonce={nonce}&expires={}&callback=shop%3A%2F%2Fpaid",
        unix_now() + 120
    )
}

async fn send(e: &Env, uri: &str, caller: &CallerIdentity) -> Handled {
    handle_request(
        &e.dir,
        &e.host.url,
        e.host.ca_pem.as_bytes(),
        RawRequest::DeepLink(uri.into()),
        caller,
        &Customer::default(),
    )
    .await
    .unwrap()
}

fn code(h: &Handled) -> String {
    h.result.envelope.get("code").to_string()
}

fn host_messages(e: &Env) -> usize {
    e.host.acquirer.lock().unwrap().state().ledger.len()
}

#[tokio::test]
async fn approved_sale_returns_a_verifiable_signed_deep_link() {
    let e = env().await;
    let h = send(
        &e,
        &link(
            "type=sale&amount=1234&currency=CNY&order=H-1",
            "nonce-000000000001",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(code(&h), "APPROVED");
    let uri = h.return_uri().unwrap();
    assert!(uri.starts_with("shop://paid?v=1&code=APPROVED"));
    let pk = e.dir.terminal_key().unwrap().public_hex();
    let back = SignedResult::from_callback_uri(&uri).unwrap();
    back.verify(&pk).unwrap();
    assert_eq!(back.envelope.get("masked_pan"), "622202*********0123");
    assert_eq!(back.envelope.get("amount"), "1234");
    assert_eq!(back.envelope.get("caller"), "com.example.merchant");
    assert_eq!(back.envelope.get("request_hash").len(), 64);
}

#[tokio::test]
async fn qr_scan_sale_through_the_handoff_returns_method_and_wallet_signed() {
    let e = env().await;
    let who = Customer {
        qr_code: Some("281234567890123456".into()),
        ..Customer::default()
    };
    let h = handle_request(
        &e.dir,
        &e.host.url,
        e.host.ca_pem.as_bytes(),
        RawRequest::DeepLink(link(
            "type=sale&amount=880&currency=CNY&order=H-QR&method=qr_scan",
            "nonce-000000000060",
        )),
        &merchant(),
        &who,
    )
    .await
    .unwrap();
    assert_eq!(code(&h), "APPROVED", "{:?}", h.result.envelope);
    let pk = e.dir.terminal_key().unwrap().public_hex();
    let back = SignedResult::from_callback_uri(&h.return_uri().unwrap()).unwrap();
    back.verify(&pk).unwrap();
    assert_eq!(back.envelope.get("method"), "qr_scan");
    assert_eq!(back.envelope.get("wallet"), "alipay");
    assert_eq!(back.envelope.get("amount"), "880");
    assert_eq!(host_messages(&e), 0, "no ISO 8583 message for a QR payment");
    let forged = h
        .return_uri()
        .unwrap()
        .replace("wallet=alipay", "wallet=wechat");
    assert!(SignedResult::from_callback_uri(&forged)
        .unwrap()
        .verify(&pk)
        .is_err());
    // One order at the gateway, under the terminal's own order number, paid once.
    let pays: Vec<u32> = e
        .host
        .qr
        .lock()
        .unwrap()
        .orders_of("898310048990001")
        .map(|o| o.pay_calls)
        .collect();
    assert_eq!(pays, vec![1]);
}

#[tokio::test]
async fn qr_display_sale_through_the_handoff_is_paid_by_the_simulated_customer() {
    let e = env().await;
    // the simulated customer scans the shown code and pays 4 s after it is created
    let h = send(
        &e,
        &link(
            "type=sale&amount=700&currency=CNY&order=H-QRD&method=qr_display",
            "nonce-000000000061",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(code(&h), "APPROVED", "{:?}", h.result.envelope);
    let pk = e.dir.terminal_key().unwrap().public_hex();
    let back = SignedResult::from_callback_uri(&h.return_uri().unwrap()).unwrap();
    back.verify(&pk).unwrap();
    assert_eq!(back.envelope.get("method"), "qr_display");
    assert!(
        !back.envelope.get("wallet").is_empty(),
        "the gateway says which wallet paid"
    );
    assert_eq!(host_messages(&e), 0, "no ISO 8583 message for a QR payment");
}

#[tokio::test]
async fn balance_inquiry_returns_the_signed_balance() {
    let e = env().await;
    let h = send(
        &e,
        &link("type=balance&order=H-BAL", "nonce-000000000050"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&h), "APPROVED", "{:?}", h.result.envelope);
    let pk = e.dir.terminal_key().unwrap().public_hex();
    let back = SignedResult::from_callback_uri(&h.return_uri().unwrap()).unwrap();
    back.verify(&pk).unwrap();
    assert_eq!(back.envelope.get("type"), "balance");
    assert_eq!(back.envelope.get("amount"), "", "an inquiry has no amount");
    let balance: u64 = back.envelope.get("balance").parse().unwrap();
    assert!(balance > 0, "the test card has money");
    // The balance is signed: editing it breaks the signature.
    let forged = h
        .return_uri()
        .unwrap()
        .replace(&format!("balance={balance}"), "balance=1");
    assert!(SignedResult::from_callback_uri(&forged)
        .unwrap()
        .verify(&pk)
        .is_err());
}

#[tokio::test]
async fn replay_idempotency_and_duplicate_orders() {
    let e = env().await;
    let first = link(
        "type=sale&amount=500&currency=CNY&order=H-2",
        "nonce-000000000002",
    );
    assert_eq!(code(&send(&e, &first, &merchant()).await), "APPROVED");
    assert_eq!(host_messages(&e), 1);
    // The very same request again: a replay.
    assert_eq!(code(&send(&e, &first, &merchant()).await), "REFUSED_REPLAY");
    // Same order and content, new nonce (the app was killed and retries): stored result, no host message.
    let retry = send(
        &e,
        &link(
            "type=sale&amount=500&currency=CNY&order=H-2",
            "nonce-000000000003",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(code(&retry), "APPROVED");
    assert_eq!(host_messages(&e), 1, "no second charge");
    // Same order, different amount: refused.
    let other = send(
        &e,
        &link(
            "type=sale&amount=501&currency=CNY&order=H-2",
            "nonce-000000000004",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(code(&other), "REFUSED_DUPLICATE_ORDER");
    // Query by order id.
    let q = send(
        &e,
        &link("type=query&order=H-2", "nonce-000000000005"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&q), "APPROVED");
    let q = send(
        &e,
        &link("type=query&order=NOPE", "nonce-000000000006"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&q), "NOT_FOUND");
    assert_eq!(host_messages(&e), 1);
}

#[tokio::test]
async fn refusals_and_errors_are_signed_results_too() {
    let e = env().await;
    let pk = e.dir.terminal_key().unwrap().public_hex();
    let stranger = CallerIdentity::from_hex("com.example.merchant", &[&"00".repeat(32)]).unwrap();
    let cases: Vec<(String, CallerIdentity, &str)> = vec![
        (link("type=sale&amount=1&currency=CNY&order=R-1", "nonce-000000000010"), stranger, "REFUSED_CALLER"),
        (link("type=settle&order=R-2", "nonce-000000000011"), merchant(), "REFUSED_PERMISSION"),
        (link("type=sale&amount=0&currency=CNY&order=R-3", "nonce-000000000012"), merchant(), "ERROR_MALFORMED"),
        (link("type=sale&amount=1&amount=2&currency=CNY&order=R-4", "nonce-000000000013"), merchant(), "ERROR_MALFORMED"),
        (link("type=sale&currency=CNY&order=R-5", "nonce-000000000014"), merchant(), "ERROR_MALFORMED"),
        (link("type=sale&amount=1&currency=CNY&order=R-6", "nonce-000000000015").replace("v=1", "v=9"), merchant(), "ERROR_UNSUPPORTED"),
        (
            format!("smartpos://pay/v1?v=1&type=sale&amount=1&currency=CNY&order=R-7&nonce=nonce-000000000016&expires={}&callback=shop%3A%2F%2Fpaid", unix_now() - 5),
            merchant(),
            "REFUSED_EXPIRED",
        ),
        (link("type=refund&amount=1&currency=CNY&order=R-8&orig_ref=000000000001", "nonce-000000000017"), merchant(), "DECLINED"),
        ("smartpos://pay/v1?v=1&%ZZ".into(), merchant(), "ERROR_MALFORMED"),
    ];
    for (uri, caller, want) in cases {
        let h = send(&e, &uri, &caller).await;
        assert_eq!(code(&h), want, "{uri}");
        h.result.verify(&pk).unwrap();
        assert_ne!(h.result.envelope.get("status"), "approved");
    }
    assert_eq!(host_messages(&e), 0, "nothing reached the host");
}

#[tokio::test]
async fn intent_extras_carry_the_same_request() {
    let e = env().await;
    let extras: Vec<(String, String)> = [
        ("smartpos.v", "1".to_string()),
        ("smartpos.type", "sale".into()),
        ("smartpos.amount", "2500".into()),
        ("smartpos.currency", "CNY".into()),
        ("smartpos.order", "I-1".into()),
        ("smartpos.nonce", "nonce-000000000100".into()),
        ("smartpos.expires", (unix_now() + 60).to_string()),
        ("android.intent.extra.REFERRER", "ignored".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let h = handle_request(
        &e.dir,
        &e.host.url,
        e.host.ca_pem.as_bytes(),
        RawRequest::Intent(extras.clone()),
        &merchant(),
        &Customer::default(),
    )
    .await
    .unwrap();
    assert_eq!(code(&h), "APPROVED");
    assert!(h.return_uri().is_none(), "intent results go back as extras");
    let back = SignedResult::from_pairs(&smartpos_core::handoff::request::intent_pairs(
        &h.result.to_intent_extras(),
    ))
    .unwrap();
    back.verify(&e.dir.terminal_key().unwrap().public_hex())
        .unwrap();
    // A callback is not allowed on the intent carrier.
    let mut with_cb = extras;
    with_cb.push(("smartpos.callback".into(), "shop://x".into()));
    with_cb.retain(|(k, _)| k != "smartpos.nonce");
    with_cb.push(("smartpos.nonce".into(), "nonce-000000000101".into()));
    let h = handle_request(
        &e.dir,
        &e.host.url,
        e.host.ca_pem.as_bytes(),
        RawRequest::Intent(with_cb),
        &merchant(),
        &Customer::default(),
    )
    .await
    .unwrap();
    assert_eq!(code(&h), "ERROR_MALFORMED");
    assert!(h.result.envelope.get("message").contains("callback"));
}

#[tokio::test]
async fn a_query_resolves_an_unknown_sale_before_answering() {
    let mut sim = SimConfig::ephemeral();
    sim.faults = vec![smartpos_testing::faults::Fault::DropAfterCommit];
    let host = server::start(sim).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let e = Env {
        host,
        dir: DataDir::open(tmp.path()).unwrap(),
        _tmp: tmp,
    };
    let sale = send(
        &e,
        &link(
            "type=sale&amount=300&currency=CNY&order=U-1",
            "nonce-000000000101",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(code(&sale), "UNKNOWN");
    let message = sale.result.envelope.get("message");
    assert!(
        message.contains("no answer from the bank") && !message.contains('{'),
        "message is for people: {message}"
    );
    // The host charged it; the answer was lost.
    let sale_reversed = |e: &Env| {
        let acquirer = e.host.acquirer.lock().unwrap();
        let ledger = &acquirer.state().ledger;
        assert_eq!(ledger.len(), 1, "one sale at the host");
        ledger[0].reversed
    };
    assert!(!sale_reversed(&e));

    let query = send(
        &e,
        &link("type=query&order=U-1", "nonce-000000000102"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&query), "DECLINED");
    assert_eq!(query.result.envelope.get("amount"), "300");
    assert!(query.result.envelope.get("message").starts_with("reversed"));
    assert!(sale_reversed(&e), "the query sent the reversal");

    // Final now: asking again answers from the journal alone.
    let after = host_messages(&e);
    let again = send(
        &e,
        &link("type=query&order=U-1", "nonce-000000000103"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&again), "DECLINED");
    assert_eq!(host_messages(&e), after);
}

#[tokio::test]
async fn a_merchant_app_allowed_to_settle_closes_the_batch() {
    let e = env().await;
    // Settlement is a permission the bank grants per app; the sample app does not have it.
    let refused = send(
        &e,
        &link("type=settle&order=DAY-0", "nonce-000000000200"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&refused), "REFUSED_PERMISSION");
    let path = e._tmp.path().join("allowlist.json");
    let mut allow: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    allow["apps"][0]["permissions"]
        .as_array_mut()
        .unwrap()
        .push("settle".into());
    std::fs::write(&path, serde_json::to_vec(&allow).unwrap()).unwrap();

    let sale = send(
        &e,
        &link(
            "type=sale&amount=700&currency=CNY&order=S-1",
            "nonce-000000000201",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(code(&sale), "APPROVED");
    assert_eq!(sale.result.envelope.get("batch"), "000001");
    let host_batch = |e: &Env| {
        let acquirer = e.host.acquirer.lock().unwrap();
        acquirer.state().terminals[0].batch
    };
    assert_eq!(host_batch(&e), 1);

    let settle = send(
        &e,
        &link("type=settle&order=DAY-1", "nonce-000000000202"),
        &merchant(),
    )
    .await;
    assert_eq!(code(&settle), "APPROVED", "{:?}", settle.result.envelope);
    let env = &settle.result.envelope;
    assert_eq!(env.get("type"), "settle");
    assert_eq!(env.get("batch"), "000001");
    assert!(env.get("message").contains("totals agreed"));
    let pk = e.dir.terminal_key().unwrap().public_hex();
    settle.result.verify(&pk).unwrap();
    // Both sides moved to the next batch: the next sale is in batch 2.
    assert_eq!(host_batch(&e), 2);
    let next = send(
        &e,
        &link(
            "type=sale&amount=100&currency=CNY&order=S-2",
            "nonce-000000000203",
        ),
        &merchant(),
    )
    .await;
    assert_eq!(next.result.envelope.get("batch"), "000002");
}
