use super::*;
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

fn base() -> Vec<(String, String)> {
    [
        ("v", "1"),
        ("type", "sale"),
        ("amount", "1234"),
        ("currency", "CNY"),
        ("order", "A-1"),
        ("nonce", "0123456789abcdef"),
        ("expires", "1700000300"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn with(mut p: Vec<(String, String)>, k: &str, v: &str) -> Vec<(String, String)> {
    p.retain(|(pk, _)| pk != k);
    p.push((k.into(), v.into()));
    p
}

fn without(mut p: Vec<(String, String)>, k: &str) -> Vec<(String, String)> {
    p.retain(|(pk, _)| pk != k);
    p
}

fn parse(p: &[(String, String)]) -> Result<HandoffRequest, RequestError> {
    HandoffRequest::from_pairs(p, Carrier::Intent, NOW)
}

#[test]
fn typed_errors_for_malformed_requests() {
    assert!(parse(&base()).is_ok());
    assert_eq!(
        parse(&without(base(), "order")),
        Err(RequestError::MissingField("order"))
    );
    let mut dup = base();
    dup.push(("order".into(), "B".into()));
    assert_eq!(
        parse(&dup),
        Err(RequestError::DuplicateField("order".into()))
    );
    assert_eq!(
        parse(&with(base(), "colour", "red")),
        Err(RequestError::UnknownField("colour".into()))
    );
    assert!(
        parse(&with(base(), "x-shop-note", "ok")).is_ok(),
        "x- extensions are allowed"
    );
    assert_eq!(
        parse(&with(base(), "v", "2")),
        Err(RequestError::UnknownVersion("2".into()))
    );
    assert_eq!(
        parse(&with(base(), "amount", "0")),
        Err(RequestError::AmountZero)
    );
    assert!(matches!(
        parse(&with(base(), "amount", "-5")),
        Err(RequestError::BadValue {
            field: "amount",
            ..
        })
    ));
    assert!(matches!(
        parse(&with(base(), "amount", "12.34")),
        Err(RequestError::BadValue {
            field: "amount",
            ..
        })
    ));
    assert_eq!(
        parse(&with(base(), "amount", "1000000000000")),
        Err(RequestError::AmountTooLarge)
    );
    assert_eq!(
        parse(&with(base(), "amount", &"9".repeat(400))),
        Err(RequestError::AmountTooLarge)
    );
    assert!(matches!(
        parse(&with(base(), "amount", "0012")),
        Err(RequestError::BadValue {
            why: "leading zero",
            ..
        })
    ));
    assert!(matches!(
        parse(&with(base(), "currency", "XXX")),
        Err(RequestError::BadValue {
            field: "currency",
            ..
        })
    ));
    assert!(matches!(
        parse(&with(base(), "type", "steal")),
        Err(RequestError::BadValue { field: "type", .. })
    ));
    assert_eq!(
        parse(&with(base(), "expires", "1699999999")),
        Err(RequestError::Expired)
    );
    assert!(matches!(
        parse(&with(base(), "expires", "1800000000")),
        Err(RequestError::BadValue {
            field: "expires",
            ..
        })
    ));
    assert!(matches!(
        parse(&with(base(), "nonce", "short")),
        Err(RequestError::BadValue { field: "nonce", .. })
    ));
    assert!(matches!(
        parse(&with(base(), "memo", "a\u{0}b")),
        Err(RequestError::BadValue { field: "memo", .. })
    ));
    assert_eq!(
        parse(&with(base(), "callback", "shop://x")),
        Err(RequestError::FieldNotAllowed("callback"))
    );
    assert!(matches!(
        parse(&with(base(), "timeout", "5")),
        Err(RequestError::BadValue {
            field: "timeout",
            ..
        })
    ));
    let big: Vec<_> = (0..40)
        .map(|i| (format!("x-{i}"), "v".to_string()))
        .collect();
    assert!(matches!(parse(&big), Err(RequestError::BadEncoding(_))));
}

#[test]
fn per_type_field_rules() {
    let void = with(without(base(), "amount"), "type", "void");
    let void = without(void, "currency");
    assert_eq!(parse(&void), Err(RequestError::MissingField("orig_ref")));
    assert!(parse(&with(void.clone(), "orig_ref", "000000000001")).is_ok());
    let bal = without(
        without(with(base(), "type", "balance"), "amount"),
        "currency",
    );
    assert!(parse(&bal).is_ok());
    assert_eq!(
        parse(&with(bal.clone(), "amount", "1")),
        Err(RequestError::FieldNotAllowed("amount"))
    );
    assert_eq!(
        parse(&with(bal, "method", "card")),
        Err(RequestError::FieldNotAllowed("method"))
    );
    let pc = with(
        with(base(), "type", "preauth_complete"),
        "orig_ref",
        "000000000001",
    );
    assert_eq!(parse(&pc), Err(RequestError::MissingField("orig_auth")));
    assert!(parse(&with(pc, "orig_auth", "123456")).is_ok());
}

#[test]
fn deep_link_encoding_errors() {
    let ok = "smartpos://pay/v1?v=1&type=sale&amount=1&currency=CNY&order=A&nonce=0123456789abcdef&expires=1700000300&callback=shop://r";
    assert!(HandoffRequest::from_deep_link(ok, NOW).is_ok());
    assert_eq!(
        HandoffRequest::from_deep_link(&ok.replace("/v1?", "/v2?"), NOW),
        Err(RequestError::UnknownVersion("v2".into()))
    );
    assert!(matches!(
        HandoffRequest::from_deep_link("http://pay/v1?v=1", NOW),
        Err(RequestError::BadEncoding(_))
    ));
    assert!(matches!(
        HandoffRequest::from_deep_link(&format!("{ok}&memo=%FF"), NOW),
        Err(RequestError::BadEncoding(_))
    ));
    assert!(matches!(
        HandoffRequest::from_deep_link(&format!("{ok}&memo=%4"), NOW),
        Err(RequestError::BadEncoding(_))
    ));
    assert!(matches!(
        HandoffRequest::from_deep_link(&format!("{ok}&memo"), NOW),
        Err(RequestError::BadEncoding(_))
    ));
    assert!(matches!(
        HandoffRequest::from_deep_link(&format!("{ok}{}", "&x-a=b".repeat(800)), NOW),
        Err(RequestError::BadEncoding(_))
    ));
    assert_eq!(
        HandoffRequest::from_deep_link(&ok.replace("&callback=shop://r", ""), NOW),
        Err(RequestError::MissingField("callback"))
    );
    for bad in [
        "https://evil.example/x",
        "shop://r?x=1",
        "noscheme",
        "smartpos://pay/v1",
    ] {
        let u = ok.replace(
            "shop://r",
            &percent_encoding::utf8_percent_encode(bad, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        assert!(
            matches!(
                HandoffRequest::from_deep_link(&u, NOW),
                Err(RequestError::BadValue {
                    field: "callback",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn same_request_same_hash_any_order() {
    let a = parse(&base()).unwrap();
    let mut rev = base();
    rev.reverse();
    assert_eq!(parse(&rev).unwrap().request_hash, a.request_hash);
    assert_ne!(
        parse(&with(base(), "amount", "1235")).unwrap().request_hash,
        a.request_hash
    );
}

fn arb_request() -> impl Strategy<Value = HandoffRequest> {
    let kind = proptest::sample::select(RequestType::ALL.to_vec());
    (
        kind,
        1u64..=MAX_MINOR,
        "[A-Za-z0-9_.-]{1,32}",
        "[A-Za-z0-9]{12}",
        "[A-Za-z0-9]{6}",
        proptest::option::of(proptest::sample::select(vec![
            PaymentMethod::Card,
            PaymentMethod::QrScan,
            PaymentMethod::QrDisplay,
        ])),
        proptest::sample::select(vec![PrintBy::Acquirer, PrintBy::Merchant, PrintBy::Nobody]),
        proptest::option::of("[^\\p{Cc}]{0,64}"),
        proptest::option::of(10u32..=300),
        "[A-Za-z0-9_-]{16,64}",
        1i64..=MAX_EXPIRY_WINDOW,
        "[a-z][a-z0-9+.-]{0,10}://[a-zA-Z0-9/_.-]{0,40}",
    )
        .prop_map(
            |(
                kind,
                minor,
                order,
                orig_ref,
                orig_auth,
                method,
                print,
                memo,
                timeout,
                nonce,
                ahead,
                cb,
            )| {
                let amount = (kind.amount_rule() != Presence::Forbidden)
                    .then(|| Money::from_minor(minor, Currency::CNY).unwrap());
                let mut r = HandoffRequest {
                    kind,
                    amount,
                    order,
                    orig_ref: (kind.orig_ref_rule() == Presence::Required).then_some(orig_ref),
                    orig_auth: (kind.orig_auth_rule() == Presence::Required).then_some(orig_auth),
                    method: if kind == RequestType::Transaction(TransactionType::Sale) {
                        method
                    } else {
                        None
                    },
                    print,
                    memo: memo.filter(|m| m.chars().count() <= 64),
                    timeout_secs: timeout,
                    nonce,
                    expires: NOW + ahead,
                    callback: Some(cb),
                    request_hash: String::new(),
                };
                r.request_hash = crate::canonical::request_hash(&r.to_pairs());
                r
            },
        )
        .prop_filter("callback scheme allowed", |r| {
            callback_if_valid(r.callback.as_deref().unwrap()).is_some()
        })
}

proptest! {
    #[test]
    fn request_encoding_round_trips(r in arb_request()) {
        let back = HandoffRequest::from_deep_link(&r.to_deep_link(), NOW).unwrap();
        prop_assert_eq!(&back, &r);
        let mut intent = r.clone();
        intent.callback = None;
        let extras: Vec<(String, String)> = intent.to_pairs().into_iter().map(|(k, v)| (format!("smartpos.{k}"), v)).collect();
        let mut back = HandoffRequest::from_intent_extras(&extras, NOW).unwrap();
        back.request_hash = String::new();
        intent.request_hash = String::new();
        prop_assert_eq!(back, intent);
    }

    #[test]
    fn deep_link_parser_never_panics(s in "\\PC{0,300}") {
        let _ = HandoffRequest::from_deep_link(&format!("smartpos://pay/v1?{s}"), NOW);
        let _ = HandoffRequest::from_deep_link(&s, NOW);
    }
}
