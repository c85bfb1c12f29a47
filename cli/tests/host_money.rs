//! The simulator as a faithful acquirer: money moves on the original transaction's card
//! account, whatever card data a void or a reversal carries, and a settled batch never
//! reopens. After every message the card balances, the ledger and the settlement file agree.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::DesKey;
use smartpos_core::engine::{
    Action, Engine, EngineConfig, Event, Finished, JournalWrite, LinkFailure, LinkFailureKind,
    PendingReversal, TransportFailure,
};
use smartpos_core::hal::{CardReader, PinPad};
use smartpos_core::iso8583::{Frame, Message};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Original, Outcome, PaymentRequest, PaymentResult, TransactionType};
use smartpos_core::profile::AcquirerProfile;
use smartpos_testing::acquirer::{cards, Acquirer, TEST_TMK_HEX};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};

const TID: &str = "10000001";

struct Rig {
    engine: Engine,
    acq: Acquirer,
    reader: SimCardReader,
    pad: SimPinPad,
    /// The 0400 the last transaction armed.
    armed: Option<Vec<u8>>,
}

/// How a request leaves the terminal: as built, or rewritten (fields changed, MAC redone).
type Rewrite<'a> = &'a dyn Fn(&mut Message);

impl Rig {
    fn new() -> Rig {
        let card = &cards::standard_cards()[0];
        let acq = Acquirer::new(AcquirerProfile::cup_default());
        let mut rig = Rig {
            engine: Engine::new(EngineConfig::demo(), 1, 1),
            acq,
            reader: SimCardReader::new((0..32).map(|_| CardScript::Card {
                track2: cards::track2(card),
                entry_mode: EntryMode::MagStripe,
            })),
            pad: SimPinPad::new(
                DesKey::from_hex(TEST_TMK_HEX).unwrap(),
                (0..32).map(|_| PinScript::Pin(card.pin.clone())),
            ),
            armed: None,
        };
        let first = rig.engine.start_sign_in(now()).unwrap();
        assert!(matches!(
            rig.drive(first, &|_| {}, true),
            Finished::SignedIn { .. }
        ));
        rig
    }

    fn drive(&mut self, mut a: Action, rewrite: Rewrite<'_>, answer: bool) -> Finished {
        loop {
            let ev = match a {
                Action::Finish(f) => return f,
                Action::ReadCard { start, timeout } => {
                    Event::CardRead(self.reader.start_transaction(&start, timeout))
                }
                Action::CompleteOnCard { answer, timeout } => {
                    Event::CardCompleted(self.reader.complete_online(&answer, timeout))
                }
                Action::OnlinePin {
                    pan,
                    amount,
                    timeout,
                } => Event::PinEntered(self.pad.online_pin(&pan, &amount, timeout)),
                Action::LoadWorkingKeys(k) => Event::KeysLoaded(self.pad.load_working_keys(&k)),
                Action::ComputeMac(d) => Event::MacComputed(self.pad.mac(&d)),
                Action::Persist(w) => {
                    if let JournalWrite::Sending { reversal, .. } = &w {
                        self.armed = reversal.clone();
                    }
                    Event::Persisted(Ok(()))
                }
                Action::SendToHost { frame, .. } => {
                    let fields = AcquirerProfile::cup_default().fields();
                    let mut f = Frame::decode(&frame, fields).unwrap();
                    let before = f.message.clone();
                    rewrite(&mut f.message);
                    if f.message != before && f.message.get(64).is_some() {
                        assert!(self.acq.mac_as_terminal(TID, &mut f.message));
                    }
                    let bytes = f.encode(fields).unwrap();
                    let reply = self.acq.handle(&bytes, now()).expect("well-formed");
                    self.check(&format!("after {:04}", f.message.mti.value()));
                    if answer {
                        Event::HostAnswered(Ok(reply))
                    } else {
                        Event::HostAnswered(Err(TransportFailure::NoAnswer(LinkFailure::new(
                            LinkFailureKind::Timeout,
                            "lost",
                        ))))
                    }
                }
            };
            a = self.engine.handle(ev).expect("engine accepts");
        }
    }

    fn pay(
        &mut self,
        kind: TransactionType,
        order: &str,
        minor: u64,
        original: Option<&PaymentResult>,
        rewrite: Rewrite<'_>,
        answer: bool,
    ) -> PaymentResult {
        let req = PaymentRequest {
            caller: "app".into(),
            order_id: order.into(),
            kind,
            amount: Money::from_minor(minor, Currency::CNY).unwrap(),
            original: original.map(|o| Original {
                reference: o.reference.clone().unwrap(),
                auth_code: o.auth_code.clone(),
                batch: o.batch,
                trace: o.trace,
            }),
        };
        let first = self.engine.start_sale(req, now()).unwrap();
        match self.drive(first, rewrite, answer) {
            Finished::Payment(r) => *r,
            other => panic!("{other:?}"),
        }
    }

    /// Sends the armed reversal of the last transaction.
    fn reverse_last(&mut self, rewrite: Rewrite<'_>) {
        let message = self.armed.take().expect("a reversal was armed");
        let p = PendingReversal {
            trace: 0,
            batch: 0,
            message,
            reason: "98".into(),
            attempts: 0,
        };
        let first = self.engine.start_reversal(p).unwrap();
        assert!(matches!(
            self.drive(first, rewrite, true),
            Finished::Reversal { .. }
        ));
    }

    fn balance(&self) -> u64 {
        self.acq.state().cards[0].balance
    }

    /// Card balance, ledger and settlement file agree.
    fn check(&self, when: &str) {
        let st = self.acq.state();
        if let Err(e) = self.acq.check_accounts(&cards::standard_cards()) {
            panic!("{when}: {e}");
        }
        let lines = st.settlement_lines(Some(TID));
        let batch = lines.iter().map(|l| l.batch).max().unwrap_or(1);
        let debits: u64 = lines
            .iter()
            .filter(|l| {
                l.batch == batch
                    && l.status == "approved"
                    && matches!(l.kind.as_str(), "sale" | "preauth_complete")
            })
            .map(|l| l.amount_minor)
            .sum();
        assert_eq!(
            debits,
            self.acq.batch_totals(TID, batch).1,
            "{when}: settlement file and totals"
        );
    }
}

fn now() -> smartpos_core::time::LocalTime {
    smartpos_core::time::LocalTime::from_unix(1_795_000_000, 8 * 3600)
}

fn without_card_number(m: &mut Message) {
    m.remove(2);
    m.remove(14);
}

#[test]
fn voids_and_reversals_with_and_without_the_card_number_restore_the_card() {
    let mut r = Rig::new();
    let start = r.balance();
    for (name, strip) in [("with F2", false), ("without F2 (track 2 only)", true)] {
        let rewrite: Rewrite<'_> = if strip { &without_card_number } else { &|_| {} };
        // Void.
        let sale = r.pay(
            TransactionType::Sale,
            &format!("S-{name}"),
            1_000,
            None,
            &|_| {},
            true,
        );
        assert_eq!(sale.outcome, Outcome::Approved);
        assert_eq!(r.balance(), start - 1_000);
        let void = r.pay(
            TransactionType::Void,
            &format!("V-{name}"),
            1_000,
            Some(&sale),
            rewrite,
            true,
        );
        assert_eq!(void.outcome, Outcome::Approved, "{name}");
        assert_eq!(r.balance(), start, "{name}: the void gave the money back");

        // Reversal of a sale whose answer was lost.
        let lost = r.pay(
            TransactionType::Sale,
            &format!("L-{name}"),
            700,
            None,
            &|_| {},
            false,
        );
        assert!(matches!(lost.outcome, Outcome::Unknown { .. }));
        assert_eq!(
            r.balance(),
            start - 700,
            "the host charged before the answer was lost"
        );
        // Our terminal's 0400 carries no card data; the other form adds F2 back.
        let pan = cards::standard_cards()[0].pan.clone();
        let add_pan = move |m: &mut Message| {
            m.set(2, pan.as_bytes());
        };
        let rewrite_rev: Rewrite<'_> = if strip { &|_| {} } else { &add_pan };
        r.reverse_last(rewrite_rev);
        assert_eq!(
            r.balance(),
            start,
            "{name}: the reversal gave the money back"
        );

        // Reversal of a void (the sale is charged again), on the sale's card.
        let sale = r.pay(
            TransactionType::Sale,
            &format!("S2-{name}"),
            300,
            None,
            &|_| {},
            true,
        );
        let void = r.pay(
            TransactionType::Void,
            &format!("V2-{name}"),
            300,
            Some(&sale),
            rewrite,
            false,
        );
        assert!(matches!(void.outcome, Outcome::Unknown { .. }));
        assert_eq!(r.balance(), start);
        r.reverse_last(rewrite_rev);
        assert_eq!(
            r.balance(),
            start - 300,
            "{name}: the reversed void charges the sale again"
        );
        let void = r.pay(
            TransactionType::Void,
            &format!("V3-{name}"),
            300,
            Some(&sale),
            rewrite,
            true,
        );
        assert_eq!(void.outcome, Outcome::Approved);
        assert_eq!(r.balance(), start);
    }
    let ledger = &r.acq.state().ledger;
    assert!(
        ledger
            .iter()
            .all(|e| e.card == cards::standard_cards()[0].pan),
        "every entry on the sale's card"
    );
}

#[test]
fn the_reversal_carries_no_card_or_pin_data() {
    let mut r = Rig::new();
    let lost = r.pay(TransactionType::Sale, "L", 500, None, &|_| {}, false);
    assert!(matches!(lost.outcome, Outcome::Unknown { .. }));
    let armed = r.armed.clone().unwrap();
    let m = Message::decode(&armed, AcquirerProfile::cup_default().fields()).unwrap();
    assert_eq!(m.mti.value(), 400);
    for field in [2u8, 14, 35, 36, 52, 53, 55] {
        assert!(m.get(field).is_none(), "the 0400 carries F{field}");
    }
    assert!(m.get(61).is_some(), "F61 names the original");
}

fn settle_balanced(r: &mut Rig, debit_count: u32, debit_minor: u64) {
    let input = smartpos_core::engine::SettlementInput {
        debit_count,
        debit_minor,
        ..Default::default()
    };
    let first = r.engine.start_settlement(input).unwrap();
    match r.drive(first, &|_| {}, true) {
        Finished::Settlement { outcome, .. } => {
            assert_eq!(outcome, smartpos_core::engine::SettlementOutcome::Balanced)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_settled_batch_cannot_be_reopened() {
    let mut r = Rig::new();
    let sale = r.pay(TransactionType::Sale, "S", 1_000, None, &|_| {}, true);
    assert_eq!(sale.outcome, Outcome::Approved);
    settle_balanced(&mut r, 1, 1_000);
    let old = sale.batch;
    let charged = r.balance();

    // Sign-in claiming the settled batch: the host answers its own, current batch.
    let to_old = move |m: &mut Message| {
        let f60 = m.get_str(60).unwrap().to_string();
        m.set(60, format!("{}{old:06}{}", &f60[..2], &f60[8..]));
    };
    let first = r.engine.start_sign_in(now()).unwrap();
    match r.drive(first, &to_old, true) {
        Finished::SignedIn { batch } => {
            assert_eq!(batch, old + 1, "the host's batch, not the terminal's")
        }
        other => panic!("{other:?}"),
    }

    // A void of the settled sale, sent in the settled batch or in the current one: 12.
    for (how, rewrite) in [
        ("old batch", &to_old as Rewrite<'_>),
        ("current batch", &|_: &mut Message| {}),
    ] {
        let void = r.pay(
            TransactionType::Void,
            &format!("V-{how}"),
            1_000,
            Some(&sale),
            rewrite,
            true,
        );
        match &void.outcome {
            Outcome::Declined(smartpos_core::payment::Declined::Host { code, .. }) => {
                assert_eq!(code, "12", "{how}")
            }
            other => panic!("{how}: {other:?}"),
        }
        assert_eq!(r.balance(), charged, "{how}: settled money stays settled");
    }
    // A sale or a refund sent in the settled batch: 77 (sign in for the current batch).
    for kind in [TransactionType::Sale, TransactionType::Refund] {
        let orig = (kind == TransactionType::Refund).then_some(&sale);
        let r2 = r.pay(
            kind,
            &format!("K-{}", kind.name()),
            100,
            orig,
            &to_old,
            true,
        );
        match &r2.outcome {
            Outcome::Declined(smartpos_core::payment::Declined::Host { code, .. }) => {
                assert_eq!(code, "77", "{}", kind.name())
            }
            other => panic!("{}: {other:?}", kind.name()),
        }
        // 77 asks the terminal to sign in again.
        assert!(!r.engine.is_signed_in());
        let first = r.engine.start_sign_in(now()).unwrap();
        assert!(matches!(
            r.drive(first, &|_| {}, true),
            Finished::SignedIn { .. }
        ));
    }
    assert_eq!(r.balance(), charged);
    let closed = r
        .acq
        .state()
        .ledger
        .iter()
        .filter(|e| e.batch == old && e.in_force())
        .count();
    assert_eq!(closed, 1, "nothing new in force in the settled batch");
}
