//! The card engine on virtual time: `Engine::handle` fed by the simulated acquirer (in process,
//! no HTTPS), the simulated drivers (scripted, no waits) and an in-memory journal model (no
//! SQLite), on a fixed clock. Every (transaction type × action index × host fault) case is
//! enumerated, not sampled: the terminal stops before action n (a crash: nothing of action n
//! happens), restarts from what it had persisted, recovers as the terminal does (an interrupted
//! `created` is declined, an interrupted `sent` is unknown with its reversal pending), signs in,
//! sends pending reversals, and then the journal and the bank must agree: the transaction is
//! approved at the terminal exactly when the bank has it in force, no outcome is left unknown,
//! every card account balances, and an answer given to the merchant before the crash is never
//! contradicted (approved stays approved, declined stays not charged).

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::DesKey;
use smartpos_core::engine::{
    Action, Engine, EngineConfig, Event, Finished, JournalWrite, LinkFailure, LinkFailureKind,
    PendingReversal, TransportFailure,
};
use smartpos_core::hal::{CardReader, PinPad};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Original, Outcome, PaymentRequest, PaymentResult, TransactionType};
use smartpos_core::time::LocalTime;
use smartpos_testing::acquirer::{cards, Acquirer, TEST_TMK_HEX};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::collections::BTreeMap;

const TID: &str = "10000001";

fn now() -> LocalTime {
    LocalTime::from_unix(1_795_000_000, 8 * 3600)
}

/// What goes wrong with the target transaction's first host exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The connection failed: the request never left.
    NotSent,
    /// The request was lost on the way: the bank never saw it; no answer.
    RequestLost,
    /// The bank processed it; the answer was lost.
    AnswerLost,
    /// The bank processed it; the answer's MAC is wrong.
    BadAnswerMac,
    /// The bank processed it; the answer is garbage.
    GarbledAnswer,
}

const FAULTS: [Fault; 6] = [
    Fault::None,
    Fault::NotSent,
    Fault::RequestLost,
    Fault::AnswerLost,
    Fault::BadAnswerMac,
    Fault::GarbledAnswer,
];

/// The types the engine runs, and the original each needs (set up first, cleanly).
const TYPES: [(TransactionType, Option<TransactionType>); 8] = [
    (TransactionType::Sale, None),
    (TransactionType::Void, Some(TransactionType::Sale)),
    (TransactionType::Refund, Some(TransactionType::Sale)),
    (TransactionType::Preauth, None),
    (TransactionType::PreauthVoid, Some(TransactionType::Preauth)),
    (
        TransactionType::PreauthComplete,
        Some(TransactionType::Preauth),
    ),
    (
        TransactionType::CompleteVoid,
        Some(TransactionType::PreauthComplete),
    ),
    (TransactionType::Balance, None),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Sent,
    Approved,
    Declined,
    Unknown,
    Reversed,
}

#[derive(Debug, Clone)]
struct Row {
    state: State,
    reversal: Option<Vec<u8>>,
    pending: bool,
    reason: String,
    attempts: u32,
}

impl Row {
    fn created() -> Row {
        Row {
            state: State::Created,
            reversal: None,
            pending: false,
            reason: "98".into(),
            attempts: 0,
        }
    }
}

/// The journal as the terminal keeps it, reduced to what recovery reads.
#[derive(Debug, Clone, Default)]
struct JournalModel {
    batch: u32,
    rows: BTreeMap<(u32, u32), Row>,
}

impl JournalModel {
    fn apply(&mut self, w: &JournalWrite) {
        match w {
            JournalWrite::Counters { batch, .. } => self.batch = *batch,
            JournalWrite::Sending {
                start, reversal, ..
            } => {
                let fresh = self
                    .rows
                    .insert((start.batch, start.trace), Row::created())
                    .is_none();
                assert!(fresh, "a trace is recorded once");
                let r = self.rows.get_mut(&(start.batch, start.trace)).unwrap();
                r.state = State::Sent;
                r.reversal = reversal.clone();
            }
            JournalWrite::Outcome {
                trace,
                batch,
                start,
                result,
                ..
            } => {
                if let Some(t) = start {
                    let fresh = self
                        .rows
                        .insert((t.batch, t.trace), Row::created())
                        .is_none();
                    assert!(fresh, "a trace is recorded once");
                }
                let r = self
                    .rows
                    .get_mut(&(*batch, *trace))
                    .expect("recorded first");
                r.state = match &result.outcome {
                    Outcome::Approved => State::Approved,
                    Outcome::Declined(_) => State::Declined,
                    Outcome::Unknown { .. } => State::Unknown,
                };
                if let Some(reason) = result.outcome.reversal_reason() {
                    r.pending = r.reversal.is_some();
                    r.reason = reason.into();
                }
            }
            JournalWrite::ReversalAttempt { trace, batch, .. } => {
                if let Some(r) = self.rows.get_mut(&(*batch, *trace)) {
                    r.attempts += 1;
                }
            }
            JournalWrite::ReversalDone { trace, batch } => {
                let r = self.rows.get_mut(&(*batch, *trace)).expect("known");
                r.state = State::Reversed;
                r.pending = false;
            }
            JournalWrite::BatchSettled { next_batch, .. } => self.batch = *next_batch,
            // Advices change no transaction's state.
            JournalWrite::AdviceAttempt { .. } | JournalWrite::AdviceDone { .. } => {}
        }
    }

    /// Restart recovery, as `Journal::recover_interrupted` does it.
    fn recover(&mut self) {
        for r in self.rows.values_mut() {
            match r.state {
                State::Created => r.state = State::Declined,
                State::Sent => {
                    r.state = State::Unknown;
                    r.pending = r.reversal.is_some();
                    r.reason = "98".into();
                }
                _ => {}
            }
        }
    }

    fn pending(&self) -> Vec<PendingReversal> {
        self.rows
            .iter()
            .filter(|(_, r)| r.pending)
            .map(|((batch, trace), r)| PendingReversal {
                trace: *trace,
                batch: *batch,
                message: r.reversal.clone().expect("pending has a message"),
                reason: r.reason.clone(),
                attempts: r.attempts,
            })
            .collect()
    }

    fn next_trace(&self) -> u32 {
        self.rows.keys().map(|(_, t)| t + 1).max().unwrap_or(1)
    }
}

struct World {
    engine: Engine,
    acq: Acquirer,
    reader: SimCardReader,
    pad: SimPinPad,
    journal: JournalModel,
    /// Actions performed so far (the last `Finish` included).
    steps: usize,
    card: Card,
}

/// How the target transaction's card is read, and what a chip card says at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    MagStripe,
    /// A chip card that accepts the bank's approval (TC).
    ChipAccepts,
    /// A chip card that declines after the bank approved (AAC): reversed, declined.
    ChipDeclines,
    /// A chip that cannot be used, then the fallback swipe.
    Fallback,
}

const CARDS: [Card; 4] = [
    Card::MagStripe,
    Card::ChipAccepts,
    Card::ChipDeclines,
    Card::Fallback,
];

fn drivers(card_kind: Card) -> (SimCardReader, SimPinPad) {
    let card = &cards::standard_cards()[0];
    (
        SimCardReader::new((0..64).flat_map(|_| match card_kind {
            Card::MagStripe => vec![CardScript::Card {
                track2: cards::track2(card),
                entry_mode: EntryMode::MagStripe,
            }],
            Card::Fallback => vec![
                CardScript::ChipFails,
                CardScript::Card {
                    track2: cards::track2(card),
                    entry_mode: EntryMode::MagStripe,
                },
            ],
            Card::ChipAccepts | Card::ChipDeclines => vec![CardScript::Emv {
                track2: cards::track2(card),
                psn: "01".into(),
                contactless: false,
            }],
        })),
        SimPinPad::new(
            DesKey::from_hex(TEST_TMK_HEX).unwrap(),
            (0..64).map(|_| PinScript::Pin(card.pin.clone())),
        ),
    )
}

/// How far a drive got.
enum Stop {
    Finished(Finished),
    Crashed,
}

impl World {
    fn new(card: Card) -> World {
        let (reader, pad) = drivers(card);
        let mut w = World {
            engine: Engine::new(EngineConfig::demo(), 1, 1),
            acq: Acquirer::new(smartpos_core::profile::AcquirerProfile::cup_default()),
            reader,
            pad,
            journal: JournalModel::default(),
            steps: 0,
            card,
        };
        w.sign_in();
        w
    }

    fn sign_in(&mut self) {
        let first = self.engine.start_sign_in(now()).unwrap();
        assert!(matches!(
            self.drive(first, usize::MAX, Fault::None),
            Stop::Finished(Finished::SignedIn { .. })
        ));
    }

    /// Performs actions until the engine finishes, or stops before action `crash_at`.
    fn drive(&mut self, mut a: Action, crash_at: usize, fault: Fault) -> Stop {
        let mut n = 0;
        let mut fault = fault;
        loop {
            if n == crash_at {
                return Stop::Crashed;
            }
            n += 1;
            self.steps += 1;
            let ev = match a {
                Action::Finish(f) => return Stop::Finished(f),
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
                    self.journal.apply(&w);
                    Event::Persisted(Ok(()))
                }
                Action::SendToHost { frame, .. } => {
                    let f = std::mem::replace(&mut fault, Fault::None);
                    Event::HostAnswered(match f {
                        Fault::NotSent => Err(TransportFailure::NotSent(LinkFailure::new(
                            LinkFailureKind::Connect,
                            "refused",
                        ))),
                        Fault::RequestLost => Err(TransportFailure::NoAnswer(LinkFailure::new(
                            LinkFailureKind::Timeout,
                            "lost",
                        ))),
                        _ => {
                            let mut reply = self.acq.handle(&frame, now()).expect("well-formed");
                            match f {
                                Fault::AnswerLost => Err(TransportFailure::NoAnswer(
                                    LinkFailure::new(LinkFailureKind::Timeout, "answer lost"),
                                )),
                                Fault::BadAnswerMac => {
                                    let last = reply.len() - 1;
                                    reply[last] ^= 0x01;
                                    Ok(reply)
                                }
                                Fault::GarbledAnswer => Ok(vec![0x00, 0x03, 0x60, 0x00, 0x00]),
                                _ => Ok(reply),
                            }
                        }
                    })
                }
            };
            a = self
                .engine
                .handle(ev)
                .expect("the engine accepts its own answers");
        }
    }

    fn request(
        kind: TransactionType,
        order: &str,
        original: Option<&PaymentResult>,
    ) -> PaymentRequest {
        let minor = match kind {
            TransactionType::Balance => 0,
            TransactionType::Refund => 300,
            _ => 1000,
        };
        PaymentRequest {
            caller: "app".into(),
            order_id: order.into(),
            kind,
            amount: if minor == 0 {
                Money::zero(Currency::CNY)
            } else {
                Money::from_minor(minor, Currency::CNY).unwrap()
            },
            original: original.map(|o| Original {
                reference: o.reference.clone().unwrap_or_default(),
                auth_code: o.auth_code.clone(),
                batch: o.batch,
                trace: o.trace,
            }),
        }
    }

    /// Runs a transaction cleanly (the setup of an original).
    fn pay_cleanly(
        &mut self,
        kind: TransactionType,
        original: Option<&PaymentResult>,
    ) -> PaymentResult {
        let first = self
            .engine
            .start_sale(
                Self::request(kind, &format!("setup-{kind:?}"), original),
                now(),
            )
            .unwrap();
        match self.drive(first, usize::MAX, Fault::None) {
            Stop::Finished(Finished::Payment(r)) if r.outcome == Outcome::Approved => *r,
            Stop::Finished(other) => panic!("setup {kind:?}: {other:?}"),
            Stop::Crashed => unreachable!(),
        }
    }

    /// The process dies: a new engine from what was persisted, recovery, sign-in, reversals.
    fn restart(&mut self) {
        self.journal.recover();
        let (reader, pad) = drivers(self.card);
        self.reader = reader;
        self.pad = pad;
        self.engine = Engine::new(
            EngineConfig::demo(),
            self.journal.next_trace(),
            self.journal.batch,
        );
        self.sign_in();
        self.send_pending_reversals();
    }

    fn send_pending_reversals(&mut self) {
        for p in self.journal.pending() {
            let first = self.engine.start_reversal(p).unwrap();
            match self.drive(first, usize::MAX, Fault::None) {
                Stop::Finished(Finished::Reversal { .. }) => {}
                Stop::Finished(other) => panic!("reversal: {other:?}"),
                Stop::Crashed => unreachable!(),
            }
        }
    }

    fn host_in_force(&self, batch: u32, trace: u32) -> bool {
        self.acq
            .state()
            .ledger
            .iter()
            .any(|e| e.terminal_id == TID && e.batch == batch && e.trace == trace && e.in_force())
    }
}

/// The setup chain for a type: the originals it needs, approved in order.
fn originals(w: &mut World, kind: TransactionType) -> Option<PaymentResult> {
    let needs = TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, o)| *o)?;
    let grand = originals(w, needs);
    Some(w.pay_cleanly(needs, grand.as_ref()))
}

/// One case: the target transaction of `kind`, stopped before action `crash_at` (never, when
/// past its end), with `fault` on its first host exchange.
fn run_case(
    kind: TransactionType,
    card: Card,
    crash_at: usize,
    fault: Fault,
) -> Result<(), String> {
    let mut w = World::new(card);
    let initial = w.acq.state().cards.clone();
    let original = originals(&mut w, kind);
    if card == Card::ChipDeclines {
        w.reader.decline_after_approval();
    }
    let req = World::request(kind, "target", original.as_ref());
    let first = w.engine.start_sale(req, now()).map_err(|e| e.to_string())?;
    let trace = w.engine.next_trace() - 1;
    let batch = w.engine.batch();
    let answered = match w.drive(first, crash_at, fault) {
        Stop::Finished(Finished::Payment(r)) => Some(r.outcome.clone()),
        Stop::Finished(other) => return Err(format!("finished as {other:?}")),
        Stop::Crashed => None,
    };
    let crashed = answered.is_none();
    if crashed {
        w.restart();
    } else {
        // The terminal sends what it armed before the next request (as every request does).
        w.send_pending_reversals();
    }
    let row = w.journal.rows.get(&(batch, trace));
    let state = row.map(|r| r.state);
    // A balance inquiry moves no money and the bank keeps no ledger entry for it: for it,
    // "in force" is what the terminal's answer says, and only the journal's states are checked.
    let moves_money = kind != TransactionType::Balance;
    let in_force = if moves_money {
        w.host_in_force(batch, trace)
    } else {
        state == Some(State::Approved)
    };
    let ctx = format!(
        "{kind:?} {card:?} crash before action {crash_at} fault {fault:?}: terminal {state:?}, bank in force {in_force}, answered {answered:?}"
    );
    match state {
        // Never persisted: nothing may have reached the bank.
        None if in_force => {
            return Err(format!(
                "{ctx}: the bank has a transaction the terminal never recorded"
            ))
        }
        None => {}
        Some(State::Approved) if !in_force => {
            return Err(format!("{ctx}: approved at the terminal, not at the bank"))
        }
        Some(State::Declined | State::Reversed) if in_force => {
            return Err(format!(
                "{ctx}: not charged at the terminal, in force at the bank"
            ))
        }
        // A reversible transaction is never left unknown: its reversal went out.
        Some(State::Unknown) if row.is_some_and(|r| r.reversal.is_some()) => {
            return Err(format!("{ctx}: still unknown after recovery"))
        }
        // What is not reversible (a refund, by the CUP profile; a balance inquiry) may stay
        // unknown, documented as resolved by reconciliation with the bank's settlement file.
        Some(State::Unknown)
            if !matches!(kind, TransactionType::Refund | TransactionType::Balance) =>
        {
            return Err(format!("{ctx}: unknown without a reversal"))
        }
        Some(State::Created | State::Sent) => return Err(format!("{ctx}: left interrupted")),
        _ => {}
    }
    match &answered {
        Some(Outcome::Approved) if state != Some(State::Approved) => {
            return Err(format!("{ctx}: the merchant was told approved"))
        }
        Some(Outcome::Declined(_)) if in_force => {
            return Err(format!(
                "{ctx}: the merchant was told declined, the bank charged"
            ))
        }
        _ => {}
    }
    // A clean run is approved, unless the chip card declines after approval (only reversible
    // types ask the card: a refund cannot be reversed, a balance moves nothing).
    let asks_card = !matches!(kind, TransactionType::Refund | TransactionType::Balance);
    let clean = if card == Card::ChipDeclines && asks_card {
        Outcome::Declined(smartpos_core::payment::Declined::ByCard)
    } else {
        Outcome::Approved
    };
    if fault == Fault::None && !crashed && answered.as_ref() != Some(&clean) {
        return Err(format!("{ctx}: a clean run ends {clean:?}"));
    }
    if card == Card::ChipDeclines && asks_card && answered == Some(Outcome::Approved) {
        return Err(format!(
            "{ctx}: the card declined, the merchant was told approved"
        ));
    }
    w.acq
        .check_accounts(&initial)
        .map_err(|e| format!("{ctx}: accounts: {e}"))
}

/// Actions of an uncrashed, unfaulted run of `kind`'s target transaction, `Finish` included.
fn clean_length(kind: TransactionType, card: Card) -> usize {
    let mut w = World::new(card);
    let original = originals(&mut w, kind);
    if card == Card::ChipDeclines {
        w.reader.decline_after_approval();
    }
    let first = w
        .engine
        .start_sale(World::request(kind, "target", original.as_ref()), now())
        .unwrap();
    w.steps = 0;
    assert!(matches!(
        w.drive(first, usize::MAX, Fault::None),
        Stop::Finished(_)
    ));
    w.steps
}

#[test]
fn every_type_action_index_and_host_fault_ends_with_terminal_and_bank_agreeing() {
    let mut cases = 0;
    let mut failures = Vec::new();
    let mut chip_cases = 0;
    for (kind, _) in TYPES {
        for card in CARDS {
            let len = clean_length(kind, card);
            for crash_at in 0..=len {
                for fault in FAULTS {
                    cases += 1;
                    if card != Card::MagStripe {
                        chip_cases += 1;
                    }
                    if let Err(e) = run_case(kind, card, crash_at, fault) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    println!(
        "engine on virtual time: {cases} cases (8 types x 4 cards x every action index x {} host faults; {chip_cases} of them chip: accepted, declined by the card after approval, fallback to swipe), {} failed",
        FAULTS.len(),
        failures.len()
    );
    assert!(
        cases >= 4 * 8 * 6 * 6 && chip_cases >= 3 * 8 * 6 * 6,
        "the enumeration covers every card and action index"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
