//! A whole terminal (engine, runner, SQLite journal, simulated drivers) against the acquirer and
//! QR gateway simulators in process: `Terminal` takes its host and gateway links as traits, so no
//! HTTPS server, no certificate and no port; a link that loses an answer after the other side
//! committed is a few lines.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::CipherKey;
use smartpos_core::engine::{EngineConfig, LinkFailure, LinkFailureKind, TransportFailure};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Outcome, PaymentRequest};
use smartpos_core::profile::AcquirerProfile;
use smartpos_core::qr::gateway::GatewayCall;
use smartpos_core::qr::{PaymentMethod, QrSchedule, Wallet};
use smartpos_core::time::LocalTime;
use smartpos_terminal::journal::{Journal, TxnState};
use smartpos_terminal::qr_runner::QrSetup;
use smartpos_terminal::store::{GatewayExchange, GatewayFuture, HostExchange};
use smartpos_terminal::Terminal;
use smartpos_testing::acquirer::{cards, Acquirer, TEST_TMK_HEX};
use smartpos_testing::qr_gateway::{QrGateway, SimReply};
use smartpos_testing::sim::{
    CardScript, PinScript, ScanScript, SimCardReader, SimPinPad, SimScanner,
};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The acquirer simulator as a host link. With `lose_next_answer` set, the host processes the
/// next request (and commits it) but its answer never arrives.
#[derive(Clone)]
struct InProcessHost {
    acquirer: Arc<Mutex<Acquirer>>,
    lose_next_answer: Arc<AtomicBool>,
}

impl InProcessHost {
    fn new() -> Self {
        InProcessHost {
            acquirer: Arc::new(Mutex::new(Acquirer::new(AcquirerProfile::cup_default()))),
            lose_next_answer: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl HostExchange for InProcessHost {
    fn exchange(
        &self,
        frame: Vec<u8>,
        _timeout: Duration,
    ) -> impl Future<Output = Result<Vec<u8>, TransportFailure>> + Send {
        let answer = self.acquirer.lock().unwrap().handle(&frame, now());
        let lost = self.lose_next_answer.swap(false, Ordering::SeqCst);
        async move {
            match answer {
                _ if lost => Err(TransportFailure::NoAnswer(LinkFailure::new(
                    LinkFailureKind::Timeout,
                    "answer lost after the host committed",
                ))),
                Ok(bytes) => Ok(bytes),
                Err(e) => Err(TransportFailure::NoAnswer(LinkFailure::new(
                    LinkFailureKind::HttpStatus(400),
                    e.to_string(),
                ))),
            }
        }
    }
}

fn now() -> LocalTime {
    LocalTime::from_unix(1_795_000_000, 8 * 3600)
}

fn terminal(
    dir: &std::path::Path,
    host: &InProcessHost,
    sales: usize,
) -> Terminal<Journal, InProcessHost> {
    let config = EngineConfig::demo();
    let card = &cards::standard_cards()[0];
    let reads = (0..sales).map(|_| CardScript::Card {
        track2: cards::track2(card),
        entry_mode: EntryMode::MagStripe,
    });
    let pins = (0..sales).map(|_| PinScript::Pin("123456".into()));
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
    Terminal::new(
        config,
        Journal::open(&dir.join("journal.db")).unwrap(),
        host.clone(),
        Box::new(SimCardReader::new(reads)),
        Box::new(SimPinPad::new(master, pins)),
        Box::new(now),
    )
    .unwrap()
}

fn cny(minor: u64) -> Money {
    Money::from_minor(minor, Currency::CNY).unwrap()
}

#[tokio::test]
async fn a_sale_and_its_void_run_against_the_simulator_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let host = InProcessHost::new();
    let mut t = terminal(dir.path(), &host, 2);
    t.sign_in().await.unwrap();
    let sale = t
        .sale(PaymentRequest::sale("com.shop", "A-1", cny(1234)))
        .await
        .unwrap();
    assert_eq!(sale.outcome, Outcome::Approved);
    let reference = sale.reference.clone().unwrap();
    {
        let acq = host.acquirer.lock().unwrap();
        let charged: Vec<_> = acq.state().ledger.iter().filter(|e| e.charged()).collect();
        assert_eq!(charged.len(), 1, "the host charged the sale once");
        assert_eq!(charged[0].amount_minor, 1234);
    }
    let void = t.void("com.shop", "A-1-void", &reference).await.unwrap();
    assert_eq!(void.outcome, Outcome::Approved);
    let acq = host.acquirer.lock().unwrap();
    assert!(
        !acq.state().ledger.iter().any(|e| e.charged()),
        "after the void nothing is charged"
    );
}

#[tokio::test]
async fn an_answer_lost_after_the_host_committed_is_reversed_never_reported_as_failure() {
    let dir = tempfile::tempdir().unwrap();
    let host = InProcessHost::new();
    let mut t = terminal(dir.path(), &host, 1);
    t.sign_in().await.unwrap();
    host.lose_next_answer.store(true, Ordering::SeqCst);
    let sale = t
        .sale(PaymentRequest::sale("com.shop", "B-1", cny(500)))
        .await
        .unwrap();
    assert!(
        matches!(sale.outcome, Outcome::Unknown { .. }),
        "no answer is unknown, not declined: {:?}",
        sale.outcome
    );
    // The pending reversal goes out with the next host contact; the host undoes the charge.
    t.flush_reversals().await.unwrap();
    let entry = t.query("com.shop", "B-1").unwrap().unwrap();
    assert!(!entry.reversal_pending, "{entry:?}");
    assert_eq!(
        entry.state,
        TxnState::Reversed,
        "not charged, and the journal says so"
    );
    let acq = host.acquirer.lock().unwrap();
    let sale_entries: Vec<_> = acq
        .state()
        .ledger
        .iter()
        .filter(|e| e.kind == "sale" && e.amount_minor == 500)
        .collect();
    assert_eq!(sale_entries.len(), 1, "the host saw the sale once");
    assert!(sale_entries[0].reversed, "and reversed it");
    assert!(!acq.state().ledger.iter().any(|e| e.charged()));
}

/// The QR gateway simulator as a gateway link; with `lose_next_answer` set, the next call takes
/// effect at the gateway but its reply never arrives.
#[derive(Clone)]
struct InProcessGateway {
    gateway: Arc<Mutex<QrGateway>>,
    lose_next_answer: Arc<AtomicBool>,
}

impl GatewayExchange for InProcessGateway {
    fn call<'a>(&'a self, call: &'a GatewayCall, _timeout: Duration) -> GatewayFuture<'a> {
        let now_ms = smartpos_terminal::qr_runner::unix_ms();
        let reply = self.gateway.lock().unwrap().handle(call, now_ms);
        let lost = self.lose_next_answer.swap(false, Ordering::SeqCst);
        Box::pin(async move {
            match reply {
                SimReply::Reply(r) if !lost => Ok(r),
                _ => Err(TransportFailure::NoAnswer(LinkFailure::new(
                    LinkFailureKind::Timeout,
                    "reply lost",
                ))),
            }
        })
    }
}

#[tokio::test]
async fn a_qr_sale_whose_pay_reply_is_lost_is_resolved_by_querying_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let host = InProcessHost::new();
    let gateway = InProcessGateway {
        gateway: Arc::new(Mutex::new(QrGateway::new())),
        lose_next_answer: Arc::new(AtomicBool::new(true)),
    };
    let schedule = QrSchedule {
        fast_poll_ms: 20,
        ..QrSchedule::default()
    };
    let t = terminal(dir.path(), &host, 0);
    let mut t = t.with_qr(QrSetup {
        link: Arc::new(gateway.clone()),
        schedule,
        form: AcquirerProfile::cup_default().qr_form,
        scanner: Some(Arc::new(SimScanner::new([ScanScript::Code(
            "134567890123456789".into(),
        )]))),
    });
    let r = t.qr_scan_sale("com.shop", "Q-1", cny(880)).await.unwrap();
    assert_eq!(
        r.outcome,
        Outcome::Approved,
        "the poll found it paid: {r:?}"
    );
    assert_eq!(
        (r.method, r.wallet),
        (PaymentMethod::QrScan, Some(Wallet::Wechat))
    );
    let g = gateway.gateway.lock().unwrap();
    let paid: Vec<_> = g.orders_of("898310048990001").collect();
    assert_eq!(paid.len(), 1, "one order at the gateway");
    assert_eq!(
        paid[0].pay_calls, 1,
        "resolved by a query, not by paying again"
    );
    assert!(
        !gateway.lose_next_answer.load(Ordering::SeqCst),
        "the pay call's reply was lost"
    );
}
