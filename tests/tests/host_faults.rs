//! Issue 2: every host fault gives a typed outcome; none is reported approved.

use smartpos_core::payment::{Declined, Outcome, UnknownReason};
use smartpos_terminal::journal::TxnState;
use smartpos_testing::faults::Fault;
use smartpos_testing::pki::HostPki;
use smartpos_tests::{rig, sale, RigOptions};
use std::time::Duration;

async fn sale_with(
    fault: Fault,
    timeout: Duration,
) -> (smartpos_core::payment::PaymentResult, smartpos_tests::Rig) {
    let mut r = rig(RigOptions {
        faults: vec![fault],
        host_timeout: timeout,
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.expect("sign-in");
    let res = r.terminal.sale(sale("F-1")).await.expect("sale runs");
    (res, r)
}

#[tokio::test]
async fn clean_sale_is_approved_and_journaled() {
    let (res, r) = sale_with(Fault::None, Duration::from_secs(10)).await;
    assert_eq!(res.outcome, Outcome::Approved);
    assert_eq!(res.masked_pan.as_deref(), Some("622202*********0123"));
    assert!(res.auth_code.is_some() && res.reference.is_some());
    let e = r
        .terminal
        .query("com.example.merchant", "F-1")
        .unwrap()
        .unwrap();
    assert_eq!(e.state, TxnState::Approved);
    assert!(!e.reversal_pending);
    let ledger = r.host.acquirer.lock().unwrap().state().ledger.clone();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].response_code, "00");
    assert_eq!(ledger[0].reference, res.reference.unwrap());
}

#[tokio::test]
async fn tampered_response_mac_is_unknown_with_reversal_pending() {
    let (res, r) = sale_with(Fault::TamperMac, Duration::from_secs(10)).await;
    assert_eq!(
        res.outcome,
        Outcome::Unknown {
            reason: UnknownReason::BadResponseMac
        }
    );
    let e = r
        .terminal
        .query("com.example.merchant", "F-1")
        .unwrap()
        .unwrap();
    assert_eq!(e.state, TxnState::Unknown);
    assert!(
        e.reversal_pending,
        "the host approved it: a reversal must be pending"
    );
}

#[tokio::test]
async fn response_for_another_trace_is_unknown() {
    let (res, r) = sale_with(Fault::WrongTrace, Duration::from_secs(10)).await;
    assert_eq!(
        res.outcome,
        Outcome::Unknown {
            reason: UnknownReason::MismatchedResponse
        }
    );
    assert!(
        r.terminal
            .query("com.example.merchant", "F-1")
            .unwrap()
            .unwrap()
            .reversal_pending
    );
}

#[tokio::test]
async fn host_that_never_answers_times_out_as_unknown() {
    let started = std::time::Instant::now();
    let (res, r) = sale_with(Fault::NeverAnswer, Duration::from_millis(400)).await;
    assert_eq!(
        res.outcome,
        Outcome::Unknown {
            reason: UnknownReason::NoResponse
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the timeout bounds the wait"
    );
    assert!(
        r.terminal
            .query("com.example.merchant", "F-1")
            .unwrap()
            .unwrap()
            .reversal_pending
    );
}

#[tokio::test]
async fn garbage_answer_is_unknown() {
    let (res, _r) = sale_with(Fault::Garbage, Duration::from_secs(10)).await;
    assert_eq!(
        res.outcome,
        Outcome::Unknown {
            reason: UnknownReason::MalformedResponse
        }
    );
}

#[tokio::test]
async fn dropped_answer_after_commit_is_unknown_not_declined() {
    let (res, r) = sale_with(Fault::DropAfterCommit, Duration::from_secs(10)).await;
    assert_eq!(
        res.outcome,
        Outcome::Unknown {
            reason: UnknownReason::NoResponse
        }
    );
    // The host did charge: exactly the case that must never be reported as a failure.
    assert_eq!(
        r.host.acquirer.lock().unwrap().state().ledger[0].response_code,
        "00"
    );
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused_before_sending() {
    let other = HostPki::generate("some other CA").unwrap();
    let mut r = rig(RigOptions {
        ca_override: Some(other.ca_pem),
        ..Default::default()
    })
    .await;
    let err = r.terminal.sign_in().await.unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(r.host.acquirer.lock().unwrap().state().ledger.is_empty());
}

#[tokio::test]
async fn sale_before_sign_in_is_refused() {
    let mut r = rig(RigOptions::default()).await;
    let err = r.terminal.sale(sale("F-2")).await.unwrap_err();
    assert!(err.to_string().contains("not signed in"), "{err}");
}

#[tokio::test]
async fn wrong_pin_and_cancel_are_declined_with_reasons() {
    use smartpos_testing::sim::PinScript;
    let mut r = rig(RigOptions {
        pins: vec![PinScript::Pin("000000".into()), PinScript::Cancel],
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.unwrap();
    let res = r.terminal.sale(sale("P-1")).await.unwrap();
    assert!(
        matches!(&res.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "55"),
        "{res:?}"
    );
    let res = r.terminal.sale(sale("P-2")).await.unwrap();
    assert_eq!(res.outcome, Outcome::Declined(Declined::Cancelled));
    assert_eq!(
        r.terminal
            .query("com.example.merchant", "P-2")
            .unwrap()
            .unwrap()
            .state,
        TxnState::Declined
    );
}

#[tokio::test]
async fn same_order_twice_is_one_charge_and_different_content_is_refused() {
    let mut r = rig(RigOptions::default()).await;
    r.terminal.sign_in().await.unwrap();
    let first = r.terminal.sale(sale("I-1")).await.unwrap();
    assert_eq!(first.outcome, Outcome::Approved);
    let again = r.terminal.sale(sale("I-1")).await.unwrap();
    assert_eq!(again, first, "the stored result, not a new charge");
    assert_eq!(r.host.acquirer.lock().unwrap().state().ledger.len(), 1);
    let mut bigger = sale("I-1");
    bigger.amount =
        smartpos_core::money::Money::from_minor(9999, smartpos_core::money::Currency::CNY).unwrap();
    let err = r.terminal.sale(bigger).await.unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}

#[tokio::test]
async fn echo_and_sign_out() {
    let mut r = rig(RigOptions::default()).await;
    r.terminal.echo().await.expect("echo before sign-in");
    r.terminal.sign_in().await.unwrap();
    r.terminal.sign_out().await.unwrap();
    let err = r.terminal.sale(sale("SO-1")).await.unwrap_err();
    assert!(err.to_string().contains("not signed in"), "{err}");
    r.terminal.sign_in().await.unwrap();
    assert_eq!(
        r.terminal.sale(sale("SO-1")).await.unwrap().outcome,
        Outcome::Approved
    );
}

#[tokio::test]
async fn single_des_and_first_half_mac_profiles_work_end_to_end() {
    use smartpos_core::profile::{AcquirerProfile, KeyLayout, MacKeyUse};
    for (layout, mac) in [
        (KeyLayout::Single, MacKeyUse::Full),
        (KeyLayout::Double, MacKeyUse::FirstHalf),
    ] {
        let profile = AcquirerProfile {
            key_layout: layout,
            mac_key_use: mac,
            ..AcquirerProfile::cup_default()
        };
        let mut r = rig(RigOptions {
            profile,
            ..Default::default()
        })
        .await;
        r.terminal.sign_in().await.unwrap();
        let s = r.terminal.sale(sale("PF-1")).await.unwrap();
        assert_eq!(s.outcome, Outcome::Approved, "{layout:?} {mac:?}");
    }
}
