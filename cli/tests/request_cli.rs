//! `smartpos request`: fresh nonces and expiries, the terminal's parser run before printing, and
//! typed refusals naming the field.

use std::process::Command;

fn smartpos(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smartpos"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_request_has_its_own_nonce_and_a_future_expiry() {
    let args = [
        "request",
        "sale",
        "--order",
        "A-1",
        "--amount",
        "1234",
        "--callback",
        "shop://paid",
        "--json",
    ];
    let (c1, a, _) = smartpos(&args);
    let (c2, b, _) = smartpos(&args);
    assert_eq!((c1, c2), (0, 0));
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&a).unwrap(),
        serde_json::from_str(&b).unwrap(),
    );
    let link = a["deep_link"].as_str().unwrap();
    assert!(link
        .starts_with("smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A-1&nonce="));
    assert_ne!(a["deep_link"], b["deep_link"], "a fresh nonce each time");
    assert_ne!(a["request_hash"], b["request_hash"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires = a["expires"].as_i64().unwrap();
    assert!(
        (now + 290..=now + 310).contains(&expires),
        "{expires} vs {now}"
    );
}

#[test]
fn without_a_callback_the_request_is_intent_extras() {
    let (code, out, _) = smartpos(&["request", "query", "--order", "A-1"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["smartpos.type"], "query");
    assert_eq!(v["smartpos.order"], "A-1");
}

#[test]
fn a_request_the_terminal_would_refuse_is_refused_here_naming_the_field() {
    let (code, _, err) = smartpos(&["request", "sale", "--order", "A-1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("amount"), "{err}");
    let (code, _, err) = smartpos(&[
        "request",
        "sale",
        "--order",
        "A-1",
        "--amount",
        "1",
        "--valid-secs",
        "601",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expires"), "{err}");
}
