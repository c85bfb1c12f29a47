//! Sale void and refund end to end: terminal journal and simulator ledger agree.

use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, UnknownReason};
use smartpos_terminal::journal::TxnState;
use smartpos_testing::faults::Fault;
use smartpos_tests::{rig, sale, RigOptions};

const CALLER: &str = "com.example.merchant";

fn balance(r: &smartpos_tests::Rig) -> u64 {
    r.host.acquirer.lock().unwrap().state().cards[0].balance
}

#[tokio::test]
async fn void_undoes_a_sale_of_the_current_batch() {
    let mut r = rig(RigOptions::default()).await;
    r.terminal.sign_in().await.unwrap();
    let before = balance(&r);
    let s = r.terminal.sale(sale("V-1")).await.unwrap();
    assert_eq!(balance(&r), before - 1234);
    let reference = s.reference.unwrap();
    let v = r
        .terminal
        .void(CALLER, "V-1-void", &reference)
        .await
        .unwrap();
    assert_eq!(v.outcome, Outcome::Approved);
    assert_eq!(v.amount.minor(), 1234, "a void carries the sale's amount");
    assert_eq!(balance(&r), before);
    assert_eq!(
        r.terminal.query(CALLER, "V-1").unwrap().unwrap().state,
        TxnState::Voided
    );
    let ledger = r.host.acquirer.lock().unwrap().state().ledger.clone();
    assert!(
        ledger.iter().all(|e| !e.charged()),
        "nothing is charged after the void"
    );
    // A second void of the same sale finds no approved sale.
    let err = r
        .terminal
        .void(CALLER, "V-1-void2", &reference)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no approved sale"), "{err}");
    let err = r
        .terminal
        .void(CALLER, "V-x", "999999999999")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no approved sale"), "{err}");
}

#[tokio::test]
async fn refunds_are_bounded_by_the_sale() {
    let mut r = rig(RigOptions::default()).await;
    r.terminal.sign_in().await.unwrap();
    let s = r.terminal.sale(sale("R-1")).await.unwrap();
    let reference = s.reference.unwrap();
    let cny = |m| Money::from_minor(m, Currency::CNY).unwrap();
    let f = r
        .terminal
        .refund(CALLER, "R-1-a", &reference, cny(500))
        .await
        .unwrap();
    assert_eq!(f.outcome, Outcome::Approved);
    // 5.00 + 8.00 exceeds 12.34: the host refuses with 13.
    let g = r
        .terminal
        .refund(CALLER, "R-1-b", &reference, cny(800))
        .await
        .unwrap();
    assert!(
        matches!(&g.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "13"),
        "{g:?}"
    );
    let err = r
        .terminal
        .refund(CALLER, "R-1-c", &reference, cny(1235))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exceeds"), "{err}");
    assert_eq!(
        r.terminal.query(CALLER, "R-1").unwrap().unwrap().state,
        TxnState::Approved,
        "a refund leaves the sale approved"
    );
}

#[tokio::test]
async fn a_void_with_unknown_outcome_is_reversed_and_the_sale_stays_in_force() {
    // The sale goes through; the void's answer is lost after the host applied it.
    let mut r = rig(RigOptions {
        faults: vec![Fault::None, Fault::DropAfterCommit],
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.unwrap();
    let before = balance(&r);
    let s = r.terminal.sale(sale("U-1")).await.unwrap();
    let v = r
        .terminal
        .void(CALLER, "U-1-void", s.reference.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        v.outcome,
        Outcome::Unknown {
            reason: UnknownReason::NoResponse
        }
    );
    assert_eq!(balance(&r), before, "the host did void it");
    // The next financial message first reverses the void: the sale is charged again, as the journal says.
    let n = r.terminal.sale(sale("U-2")).await.unwrap();
    assert_eq!(n.outcome, Outcome::Approved);
    assert_eq!(balance(&r), before - 2 * 1234);
    assert_eq!(
        r.terminal.query(CALLER, "U-1").unwrap().unwrap().state,
        TxnState::Approved
    );
    assert_eq!(
        r.terminal.query(CALLER, "U-1-void").unwrap().unwrap().state,
        TxnState::Reversed
    );
}
