//! Pre-authorization, its void, completion and completion void, against the simulator's holds.

use smartpos_core::engine::SettlementOutcome;
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, UnknownReason};
use smartpos_terminal::journal::TxnState;
use smartpos_testing::faults::Fault;
use smartpos_testing::sim::PinScript;
use smartpos_tests::{good_card, rig, RigOptions};

fn opts(faults: Vec<Fault>) -> RigOptions {
    RigOptions {
        faults,
        cards: vec![good_card(); 12],
        pins: vec![PinScript::Pin("123456".into()); 12],
        ..Default::default()
    }
}

const CALLER: &str = "com.example.merchant";

fn cny(minor: u64) -> Money {
    Money::from_minor(minor, Currency::CNY).unwrap()
}

fn card(r: &smartpos_tests::Rig) -> (u64, u64) {
    let c = r.host.acquirer.lock().unwrap().state().cards[0].clone();
    (c.balance, c.held)
}

#[tokio::test]
async fn hold_complete_and_void() {
    let mut r = rig(opts(vec![])).await;
    r.terminal.sign_in().await.unwrap();
    let (balance, _) = card(&r);
    let p = r
        .terminal
        .preauth(CALLER, "H-1", cny(10_000))
        .await
        .unwrap();
    assert_eq!(p.outcome, Outcome::Approved);
    assert_eq!(card(&r), (balance, 10_000), "a hold, not a charge");
    let err = r
        .terminal
        .preauth_complete(
            CALLER,
            "H-1-c0",
            p.reference.as_deref().unwrap(),
            cny(11_501),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("exceeds"),
        "more than 115 % is refused: {err}"
    );
    let c = r
        .terminal
        .preauth_complete(
            CALLER,
            "H-1-c",
            p.reference.as_deref().unwrap(),
            cny(11_000),
        )
        .await
        .unwrap();
    assert_eq!(c.outcome, Outcome::Approved);
    assert_eq!(card(&r), (balance - 11_000, 0), "the hold became a charge");
    // The hold is closed: a second completion is refused by the host.
    let again = r
        .terminal
        .preauth_complete(CALLER, "H-1-c2", p.reference.as_deref().unwrap(), cny(100))
        .await
        .unwrap();
    assert!(
        matches!(&again.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "12"),
        "{again:?}"
    );
    let v = r
        .terminal
        .complete_void(CALLER, "H-1-cv", c.reference.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(v.outcome, Outcome::Approved);
    assert_eq!(card(&r).0, balance, "completion voided: charge undone");
    assert_eq!(
        r.terminal.query(CALLER, "H-1-c").unwrap().unwrap().state,
        TxnState::Voided
    );

    let q = r.terminal.preauth(CALLER, "H-2", cny(5_000)).await.unwrap();
    let qv = r
        .terminal
        .preauth_void(CALLER, "H-2-v", q.reference.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(qv.outcome, Outcome::Approved);
    assert_eq!(card(&r), (balance, 0), "hold released");
    assert_eq!(
        r.terminal.query(CALLER, "H-2").unwrap().unwrap().state,
        TxnState::Voided
    );
}

#[tokio::test]
async fn a_lost_completion_is_reversed_and_the_hold_reopens() {
    let mut r = rig(opts(vec![Fault::None, Fault::DropAfterCommit])).await;
    r.terminal.sign_in().await.unwrap();
    let (balance, _) = card(&r);
    let p = r.terminal.preauth(CALLER, "L-1", cny(3_000)).await.unwrap();
    let c = r
        .terminal
        .preauth_complete(CALLER, "L-1-c", p.reference.as_deref().unwrap(), cny(3_000))
        .await
        .unwrap();
    assert_eq!(
        c.outcome,
        Outcome::Unknown {
            reason: UnknownReason::NoResponse
        }
    );
    assert_eq!(card(&r), (balance - 3_000, 0), "the host did complete it");
    r.terminal.flush_reversals().await.unwrap();
    assert_eq!(
        card(&r),
        (balance, 3_000),
        "reversed: charge undone, hold open again"
    );
    assert_eq!(
        r.terminal.query(CALLER, "L-1-c").unwrap().unwrap().state,
        TxnState::Reversed
    );
    // The hold can be completed again, and settlement counts the completion as a debit.
    let c2 = r
        .terminal
        .preauth_complete(
            CALLER,
            "L-1-c2",
            p.reference.as_deref().unwrap(),
            cny(2_500),
        )
        .await
        .unwrap();
    assert_eq!(c2.outcome, Outcome::Approved);
    let batch = r.terminal.journal().counters().unwrap().1;
    let input = r.terminal.journal().settlement_input(batch).unwrap();
    assert_eq!((input.debit_count, input.debit_minor), (1, 2_500));
    assert_eq!(
        r.terminal.settle().await.unwrap(),
        SettlementOutcome::Balanced
    );
}
