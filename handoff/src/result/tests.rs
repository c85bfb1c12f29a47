use super::*;
use crate::kinds::{PaymentMethod, RequestType, Wallet};
use crate::money::Currency;
use proptest::prelude::*;

fn key() -> TerminalKey {
    TerminalKey::from_secret(&[9u8; 32])
}

#[test]
fn an_upper_case_signature_is_refused() {
    let env = ResultEnvelope::new(ResultCode::Approved);
    let uri = env.sign(&key()).to_callback_uri("shop://done");
    let (head, sig) = uri.rsplit_once("sig=").unwrap();
    assert!(SignedResult::from_callback_uri(&uri).is_ok());
    let upper = format!("{head}sig={}", sig.to_uppercase());
    assert!(matches!(
        SignedResult::from_callback_uri(&upper),
        Err(VerifyError::Malformed(m)) if m.contains("lowercase")
    ));
}

fn envelope_strategy() -> impl Strategy<Value = ResultEnvelope> {
    let text = || "\\PC{0,40}";
    (
        (
            proptest::sample::select(ResultCode::ALL.to_vec()),
            text(),
            text(),
            text(),
            proptest::option::of(proptest::sample::select(RequestType::ALL.to_vec())),
            proptest::option::of(any::<u64>()),
            proptest::option::of(Just(Currency::CNY)),
            text(),
        ),
        (
            text(),
            proptest::option::of(0u32..1_000_000),
            proptest::option::of(0u32..1_000_000),
            proptest::option::of(any::<i64>()),
            text(),
            proptest::option::of(any::<i64>()),
            proptest::option::of(proptest::sample::select(vec![
                PaymentMethod::Card,
                PaymentMethod::QrScan,
                PaymentMethod::QrDisplay,
            ])),
            proptest::option::of(proptest::sample::select(vec![
                Wallet::Wechat,
                Wallet::Alipay,
                Wallet::Unionpay,
            ])),
        ),
    )
        .prop_map(
            |(
                (code, request_hash, caller, order, kind, amount, currency, masked_pan),
                (reference, trace, batch, time, message, balance, method, wallet),
            )| {
                let mut e = ResultEnvelope::new(code);
                e.request_hash = request_hash;
                e.caller = caller;
                e.order = order;
                e.kind = kind;
                e.amount = amount;
                e.currency = currency;
                e.masked_pan = masked_pan;
                e.reference = reference;
                e.trace = trace.map(Counter);
                e.batch = batch.map(Counter);
                e.time = time;
                e.message = message;
                e.balance = balance;
                e.method = method;
                e.wallet = wallet;
                e
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_result_round_trips_and_any_edit_fails(env in envelope_strategy(), which in 0..FIELDS.len(), extra in "[a-z0-9]{1,3}") {
        let signed = env.sign(&key());
        let uri = signed.to_callback_uri("shop://r");
        let back = SignedResult::from_callback_uri(&uri).unwrap();
        prop_assert_eq!(&back, &signed);
        prop_assert!(back.verify(&key().public_hex()).is_ok());
        let intent = SignedResult::from_pairs(&crate::request::intent_pairs(&signed.to_intent_extras())).unwrap();
        prop_assert_eq!(&intent, &signed);
        // Any edit of any field's wire value is refused: malformed, or a bad signature.
        let mut pairs = signed.to_pairs();
        pairs[which].1.push_str(&extra);
        match SignedResult::from_pairs(&pairs) {
            Err(VerifyError::Malformed(_)) => {}
            Ok(edited) => prop_assert_eq!(edited.verify(&key().public_hex()), Err(VerifyError::BadSignature)),
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}

#[test]
fn values_not_in_canonical_form_are_refused() {
    let mut env = ResultEnvelope::new(ResultCode::Approved);
    env.amount = Some(1234);
    env.trace = Some(Counter(7));
    let pairs = env.sign(&key()).to_pairs();
    for (field, bad) in [
        ("amount", "01234"),
        ("amount", "+1234"),
        ("trace", "7"),
        ("status", "declined"),
        ("v", "2"),
        ("code", "MAYBE"),
        ("method", "cash"),
    ] {
        let mut p = pairs.clone();
        p.iter_mut().find(|(k, _)| k == field).unwrap().1 = bad.into();
        assert!(
            matches!(SignedResult::from_pairs(&p), Err(VerifyError::Malformed(_))),
            "{field}={bad}"
        );
    }
}

#[test]
fn wrong_key_and_bit_flips_fail() {
    let s = ResultEnvelope::new(ResultCode::Declined).sign(&key());
    assert_eq!(
        s.verify(&TerminalKey::from_secret(&[1u8; 32]).public_hex()),
        Err(VerifyError::BadSignature)
    );
    let mut t = s.clone();
    t.signature[10] ^= 1;
    assert_eq!(
        t.verify(&key().public_hex()),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(s.verify("zz"), Err(VerifyError::BadPublicKey));
    let mut pairs = s.to_pairs();
    pairs.push(("code".into(), "APPROVED".into()));
    assert!(matches!(
        SignedResult::from_pairs(&pairs),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn a_field_read_by_name_is_its_wire_value() {
    let mut env = ResultEnvelope::new(ResultCode::Declined);
    env.amount = Some(500);
    env.currency = Some(Currency::CNY);
    env.trace = Some(Counter(42));
    env.method = Some(PaymentMethod::QrScan);
    for (field, value) in env.wire_pairs() {
        assert_eq!(env.get(field), value, "{field}");
    }
    assert_eq!(env.get("trace"), "000042");
    assert_eq!(env.get("status"), "declined");
    assert_eq!(env.get("no_such_field"), "");
}
