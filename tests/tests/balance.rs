//! Balance inquiry: card and PIN, no amount, the available balance back in field 54; it moves
//! no money, so it stays out of totals and settlement, and a lost answer ends it (nothing to
//! reverse).

use smartpos_core::engine::SettlementOutcome;
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, TransactionType, UnknownReason};
use smartpos_core::reconcile::batch_totals;
use smartpos_terminal::journal::TxnState;
use smartpos_testing::faults::Fault;
use smartpos_testing::sim::PinScript;
use smartpos_tests::{good_card, rig, sale, RigOptions};

const CALLER: &str = "com.example.merchant";

fn opts(faults: Vec<Fault>, pins: Vec<&str>) -> RigOptions {
    RigOptions {
        faults,
        cards: vec![good_card(); pins.len()],
        pins: pins.into_iter().map(|p| PinScript::Pin(p.into())).collect(),
        frames: None,
        ..Default::default()
    }
}

fn available(r: &smartpos_tests::Rig) -> u64 {
    let c = r.host.acquirer.lock().unwrap().state().cards[0].clone();
    c.balance - c.held
}

#[tokio::test]
async fn reports_the_available_balance_and_moves_nothing() {
    let mut r = rig(opts(vec![], vec!["123456"; 4])).await;
    r.terminal.sign_in().await.unwrap();
    let s = r.terminal.sale(sale("B-SALE")).await.unwrap();
    assert_eq!(s.outcome, Outcome::Approved);
    let hold = Money::from_minor(7_000, Currency::CNY).unwrap();
    assert_eq!(
        r.terminal
            .preauth(CALLER, "B-HOLD", hold)
            .await
            .unwrap()
            .outcome,
        Outcome::Approved
    );
    let expected = available(&r);
    let b = r
        .terminal
        .balance(CALLER, "B-1", Currency::CNY)
        .await
        .unwrap();
    assert_eq!(b.outcome, Outcome::Approved);
    assert_eq!(b.kind, TransactionType::Balance);
    let bal = b.balance.expect("an approved inquiry carries the balance");
    assert_eq!(bal.amount.minor(), expected, "balance less the hold");
    assert!(!bal.overdrawn);
    assert_eq!(available(&r), expected, "an inquiry changes nothing");

    // Queryable by order id like a payment; a repeat returns the stored result.
    let q = r.terminal.query(CALLER, "B-1").unwrap().unwrap();
    assert_eq!(q.state, TxnState::Approved);
    assert_eq!(q.result.unwrap().balance, Some(bal));
    let again = r
        .terminal
        .balance(CALLER, "B-1", Currency::CNY)
        .await
        .unwrap();
    assert_eq!(again.balance, Some(bal));

    // Out of the totals and the settlement: the batch balances with the host.
    let entries = r.terminal.journal().entries().unwrap();
    let totals = batch_totals(&entries, b.batch);
    assert!(
        totals.lines.iter().all(|l| l.kind != "balance"),
        "{totals:?}"
    );
    assert_eq!(totals.lines.iter().map(|l| l.count).sum::<u32>(), 2);
    assert_eq!(
        r.terminal.settle().await.unwrap(),
        SettlementOutcome::Balanced
    );
}

#[tokio::test]
async fn wrong_pin_is_declined_and_a_lost_answer_ends_the_inquiry() {
    let mut r = rig(opts(
        vec![Fault::None, Fault::DropAfterCommit],
        vec!["000000", "123456"],
    ))
    .await;
    r.terminal.sign_in().await.unwrap();
    let b = r
        .terminal
        .balance(CALLER, "B-PIN", Currency::CNY)
        .await
        .unwrap();
    assert!(
        matches!(&b.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "55"),
        "{b:?}"
    );
    assert_eq!(b.balance, None);

    let lost = r
        .terminal
        .balance(CALLER, "B-LOST", Currency::CNY)
        .await
        .unwrap();
    assert_eq!(
        lost.outcome,
        Outcome::Declined(Declined::NoUsableAnswer {
            reason: UnknownReason::NoResponse
        }),
        "nothing to resolve when no money can move"
    );
    let e = r.terminal.query(CALLER, "B-LOST").unwrap().unwrap();
    assert_eq!(e.state, TxnState::Declined);
    assert!(
        r.terminal.journal().pending_reversals().unwrap().is_empty(),
        "no reversal for an inquiry"
    );
}
