//! A day: sign-in, mixed transactions, settlement balanced; then a day where the host lost a
//! transaction and settlement goes through batch upload. Terminal totals equal the host's.

use smartpos_core::engine::SettlementOutcome;
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::Outcome;
use smartpos_terminal::journal::TxnState;
use smartpos_testing::sim::PinScript;
use smartpos_tests::{good_card, rig, sale, RigOptions};

const CALLER: &str = "com.example.merchant";

#[tokio::test]
async fn a_balanced_day_then_a_day_with_batch_upload() {
    let mut r = rig(RigOptions {
        cards: vec![good_card(); 40],
        pins: vec![PinScript::Pin("123456".into()); 40],
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.unwrap();
    let batch1 = r.terminal.journal().counters().unwrap().1;
    let mut refs = Vec::new();
    for i in 0..14 {
        let s = r.terminal.sale(sale(&format!("D1-{i}"))).await.unwrap();
        assert_eq!(s.outcome, Outcome::Approved);
        refs.push(s.reference.unwrap());
    }
    for (i, reference) in refs.iter().take(3).enumerate() {
        let v = r
            .terminal
            .void(CALLER, &format!("D1-void-{i}"), reference)
            .await
            .unwrap();
        assert_eq!(v.outcome, Outcome::Approved);
    }
    for (i, reference) in refs.iter().skip(5).take(3).enumerate() {
        let amount = Money::from_minor(100 + i as u64, Currency::CNY).unwrap();
        let f = r
            .terminal
            .refund(CALLER, &format!("D1-refund-{i}"), reference, amount)
            .await
            .unwrap();
        assert_eq!(f.outcome, Outcome::Approved);
    }
    // A pre-authorization and its completion: the completion is a debit, the hold is not.
    let pre = r
        .terminal
        .preauth(
            CALLER,
            "D1-pre",
            Money::from_minor(3_000, Currency::CNY).unwrap(),
        )
        .await
        .unwrap();
    let done = r
        .terminal
        .preauth_complete(
            CALLER,
            "D1-pre-c",
            pre.reference.as_deref().unwrap(),
            Money::from_minor(3_200, Currency::CNY).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.outcome, Outcome::Approved);
    let mine = r.terminal.journal().settlement_input(batch1).unwrap();
    let tid = r.terminal.config().identity.terminal_id.clone();
    let host = r.host.acquirer.lock().unwrap().batch_totals(&tid, batch1);
    assert_eq!(
        (
            mine.debit_count,
            mine.debit_minor,
            mine.credit_count,
            mine.credit_minor
        ),
        host
    );
    assert_eq!(
        (mine.debit_count, mine.credit_count),
        (12, 3),
        "11 sales in force and 1 completion"
    );
    assert_eq!(
        r.terminal.settle().await.unwrap(),
        SettlementOutcome::Balanced
    );
    let entries = r.terminal.journal().entries().unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.state == TxnState::Settled)
            .count(),
        11 + 3 + 3 + 2,
        "11 sales in force, 3 refunds, the 3 voids themselves, the pre-auth and its completion"
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.state == TxnState::Voided)
            .count(),
        3
    );

    // Day 2, in the next batch; the host loses one sale.
    let batch2 = r.terminal.journal().counters().unwrap().1;
    assert_eq!(batch2, batch1 + 1);
    let mut lost = String::new();
    for i in 0..3 {
        let s = r.terminal.sale(sale(&format!("D2-{i}"))).await.unwrap();
        assert_eq!(s.batch, batch2);
        lost = s.reference.unwrap();
    }
    r.host
        .acquirer
        .lock()
        .unwrap()
        .state_mut()
        .ledger
        .retain(|e| e.reference != lost);
    assert_ne!(
        r.host.acquirer.lock().unwrap().batch_totals(&tid, batch2).0,
        3
    );
    assert_eq!(
        r.terminal.settle().await.unwrap(),
        SettlementOutcome::Uploaded(3)
    );
    let host = r.host.acquirer.lock().unwrap().batch_totals(&tid, batch2);
    assert_eq!(
        host,
        (3, 3 * 1234, 0, 0),
        "the upload restored the host's view"
    );
    assert_eq!(r.terminal.journal().counters().unwrap().1, batch2 + 1);
}
