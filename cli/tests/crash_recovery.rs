//! Crash and fault harness: for each (type, crash point) and (type, host fault), run the
//! transaction in a child `smartpos` process, kill or fault it there, restart, let recovery
//! run, and check against the simulator's ledger: no double charge, every charge either
//! recorded as approved or reversed, no unknown reported as declined, every order queryable.

use smartpos_core::payment::TransactionType;
use smartpos_terminal::journal::{Journal, TxnState};
use smartpos_testing::faults::Fault;
use smartpos_testing::server::{self, RunningHost, SimConfig};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");

struct Run {
    code: Option<i32>,
    stdout: String,
}

/// Runs `smartpos terminal ... ARGS` against `host` in a child process, off the async runtime.
async fn child(host: &RunningHost, dir: &Path, crash: Option<&str>, args: &[&str]) -> Run {
    let (url, ca, dir) = (host.url.clone(), host.ca_pem.clone(), dir.to_path_buf());
    let crash = crash.map(str::to_string);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_owned(&url, &ca, &dir, crash.as_deref(), &args)
    })
    .await
    .unwrap()
}

/// Checks the invariants for one order after recovery; returns the final journal state.
fn check(case: &str, host: &RunningHost, dir: &Path, order: &str, first: &Run) -> Option<TxnState> {
    let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
    let charged: Vec<_> = ledger.iter().filter(|e| e.charged()).collect();
    assert!(
        charged.len() <= 1,
        "{case}: charged {} times",
        charged.len()
    );
    let journal = Journal::open(&dir.join("journal.db")).unwrap();
    let entry = journal
        .find_by_order("com.example.merchant", order)
        .unwrap();
    let Some(entry) = entry else {
        assert!(
            ledger.is_empty(),
            "{case}: the host saw a request the journal does not know"
        );
        return None;
    };
    assert!(
        !entry.reversal_pending,
        "{case}: a reversal is still pending after recovery"
    );
    match entry.state {
        TxnState::Approved => assert_eq!(
            charged.len(),
            1,
            "{case}: approved in the journal but not charged"
        ),
        TxnState::Declined | TxnState::Reversed => {
            assert!(charged.is_empty(), "{case}: {:?} but charged", entry.state)
        }
        TxnState::Unknown => assert!(
            entry.reversal_exhausted,
            "{case}: unknown without a reversal in flight"
        ),
        other => panic!("{case}: left in state {other:?}"),
    }
    // What the merchant app was told in the first run: never "declined" for something charged.
    if first.stdout.contains("\"status\":\"declined\"") {
        let was_charged = ledger.iter().any(|e| e.response_code == "00");
        assert!(
            !was_charged,
            "{case}: reported declined although the host approved"
        );
    }
    if first.code == Some(0) {
        assert_eq!(
            entry.state,
            TxnState::Approved,
            "{case}: reported approved, journal says {:?}",
            entry.state
        );
    }
    Some(entry.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_crash_point_and_host_fault_recovers_without_double_charge() {
    let sale_points = [
        "read-card",
        "online-pin",
        "mac",
        "persist-sending",
        "send",
        "answered",
        "persist-outcome",
        "finish",
    ];
    let sign_in_points = [
        "persist-counters",
        "send",
        "answered",
        "load-keys",
        "finish",
    ];
    let mut crash_cases = 0;
    for point in sale_points {
        let host = server::start(SimConfig::ephemeral()).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let (d, order, case) = (tmp.path(), format!("C-{point}"), format!("sale:{point}"));
        let first = child(
            &host,
            d,
            Some(&case),
            &["sale", "--amount", "1.00", "--order", &order],
        )
        .await;
        assert_ne!(
            first.code,
            Some(0),
            "{case}: the process was supposed to abort"
        );
        let again = child(&host, d, None, &["recover"]).await;
        assert_eq!(
            again.code,
            Some(0),
            "{case}: recovery failed: {}",
            again.stdout
        );
        let state = check(&case, &host, d, &order, &first);
        if point == "finish" {
            assert_eq!(
                state,
                Some(TxnState::Approved),
                "outcome was durable before the crash"
            );
        }
        if point == "answered" || point == "persist-outcome" {
            assert_eq!(
                state,
                Some(TxnState::Reversed),
                "charged at the host, unknown at the terminal: reversed"
            );
        }
        host.shutdown().await;
        crash_cases += 1;
    }
    for point in sign_in_points {
        let host = server::start(SimConfig::ephemeral()).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let (d, case) = (tmp.path(), format!("sign-in:{point}"));
        let first = child(&host, d, Some(&case), &["sign-in"]).await;
        assert_ne!(
            first.code,
            Some(0),
            "{case}: the process was supposed to abort"
        );
        let sale = child(
            &host,
            d,
            None,
            &["sale", "--amount", "1.00", "--order", "S-1"],
        )
        .await;
        assert_eq!(
            sale.code,
            Some(0),
            "{case}: the next sale failed: {}",
            sale.stdout
        );
        check(&case, &host, d, "S-1", &sale);
        host.shutdown().await;
        crash_cases += 1;
    }

    let faults: Vec<(&str, Vec<Fault>)> = vec![
        ("tamper-mac", vec![Fault::TamperMac]),
        ("wrong-trace", vec![Fault::WrongTrace]),
        ("never-answer", vec![Fault::NeverAnswer]),
        ("garbage", vec![Fault::Garbage]),
        ("drop-after-commit", vec![Fault::DropAfterCommit]),
        ("drop-before-commit", vec![Fault::DropBeforeCommit]),
        ("late", vec![Fault::Late(Duration::from_millis(100))]),
        (
            "late-beyond-timeout",
            vec![Fault::Late(Duration::from_millis(1500))],
        ),
        (
            "reversal-never-answered-once",
            vec![Fault::DropAfterCommit, Fault::NeverAnswer],
        ),
    ];
    let mut fault_cases = 0;
    for (name, plan) in faults {
        let host = server::start(SimConfig {
            faults: plan,
            ..SimConfig::ephemeral()
        })
        .await
        .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let (d, case) = (tmp.path(), format!("sale/{name}"));
        let first = child(
            &host,
            d,
            None,
            &["sale", "--amount", "1.00", "--order", "F-1"],
        )
        .await;
        assert!(
            recover_until_done(&host, d).await,
            "{case}: recovery never completed"
        );
        let state = check(&case, &host, d, "F-1", &first);
        if name == "late" {
            assert_eq!(state, Some(TxnState::Approved));
        }
        host.shutdown().await;
        fault_cases += 1;
    }

    // A reversal the host never answers: retried a bounded number of times, then left unknown
    // and visible for reconciliation, never dropped and never reported declined.
    let plan = vec![
        Fault::DropAfterCommit,
        Fault::NeverAnswer,
        Fault::NeverAnswer,
        Fault::NeverAnswer,
    ];
    let host = server::start(SimConfig {
        faults: plan,
        ..SimConfig::ephemeral()
    })
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let first = child(
        &host,
        d,
        None,
        &["sale", "--amount", "1.00", "--order", "X-1"],
    )
    .await;
    for _ in 0..4 {
        child(&host, d, None, &["recover"]).await;
    }
    assert_eq!(
        check("sale/reversal-never-answered", &host, d, "X-1", &first),
        Some(TxnState::Unknown)
    );
    fault_cases += 1;

    println!("crash-recovery harness: {crash_cases} (type, crash point) cases and {fault_cases} (type, fault) cases, all passed");
    assert_eq!(crash_cases, sale_points.len() + sign_in_points.len());
}

fn run_owned(url: &str, ca_pem: &str, dir: &Path, crash: Option<&str>, args: &[&str]) -> Run {
    struct H<'a>(&'a str, &'a str);
    let h = H(url, ca_pem);
    let ca = dir.join("ca.pem");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&ca, h.1).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["terminal", "--data-dir"])
        .arg(dir)
        .args(["--host", h.0, "--ca"])
        .arg(&ca);
    cmd.args(["--host-timeout-ms", "600"]).args(args);
    cmd.env_remove("SMARTPOS_CRASH_AT");
    if let Some(c) = crash {
        cmd.env("SMARTPOS_CRASH_AT", c);
    }
    let out = cmd.output().expect("run smartpos");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// Every journal entry against the host ledger: effective on one side exactly when effective on
/// the other, voids agreeing, nothing left half-done.
fn check_ledgers(case: &str, host: &RunningHost, dir: &Path) -> usize {
    // The host's own books: card accounts agree with its ledger.
    if let Err(e) = host
        .acquirer
        .lock()
        .unwrap()
        .check_accounts(&smartpos_testing::acquirer::cards::standard_cards())
    {
        panic!("{case}: {e}");
    }
    let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
    let journal = Journal::open(&dir.join("journal.db")).unwrap();
    let entries = journal.entries().unwrap();
    for e in &entries {
        let h = ledger
            .iter()
            .find(|l| l.batch == e.batch && l.trace == e.trace);
        let host_effective = h.is_some_and(|l| l.in_force());
        let who = format!("{case}: {} ({})", e.order_id, e.kind);
        if !TransactionType::name_moves_money(&e.kind) {
            // An inquiry: never on the ledger, never left unknown.
            assert!(h.is_none(), "{who} is on the host ledger");
            assert!(
                matches!(e.state, TxnState::Approved | TxnState::Declined),
                "{who} left {:?}",
                e.state
            );
            continue;
        }
        match e.state {
            TxnState::Created | TxnState::Sent => panic!("{who} left {:?}", e.state),
            TxnState::Approved | TxnState::Settled | TxnState::Voided => {
                assert!(
                    host_effective,
                    "{who} is {:?} in the journal but not in force at the host",
                    e.state
                )
            }
            TxnState::Declined | TxnState::Reversed => {
                assert!(
                    !host_effective,
                    "{who} is {:?} in the journal but in force at the host",
                    e.state
                )
            }
            TxnState::Unknown => {
                assert!(!e.reversal_pending, "{who}: a reversal is still pending");
                // Non-reversible (refund) or out of retries: left for reconciliation, never dropped.
                assert!(
                    e.reversal_exhausted || e.kind == "refund",
                    "{who}: unknown with nothing resolving it"
                );
            }
        }
        if matches!(e.kind.as_str(), "sale" | "preauth_complete") {
            if let Some(l) = h {
                assert_eq!(
                    l.voided,
                    e.state == TxnState::Voided,
                    "{who}: voided at one side only"
                );
            }
        }
    }
    for l in &ledger {
        assert!(
            entries
                .iter()
                .any(|e| e.batch == l.batch && e.trace == l.trace),
            "{case}: the host has {} {:06}/{:06} that the journal does not know",
            l.kind,
            l.batch,
            l.trace
        );
    }
    entries.len()
}

/// Runs `recover` up to three times (a reversal may need more than one attempt).
async fn recover_until_done(host: &RunningHost, d: &Path) -> bool {
    for _ in 0..3 {
        if child(host, d, None, &["recover"]).await.code == Some(0) {
            return true;
        }
    }
    false
}

fn reference(run: &Run) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    v["reference"]
        .as_str()
        .expect("approved with a reference")
        .to_string()
}

/// Runs the setup transactions an operation needs, then the operation with `crash` set.
async fn operation(host: &RunningHost, d: &Path, kind: &str, crash: Option<&str>) -> Run {
    let setup = |args: &'static [&'static str]| child(host, d, None, args);
    let r = match kind {
        "void" | "refund" => Some(reference(
            &setup(&["sale", "--amount", "1.00", "--order", "BASE", "--json"]).await,
        )),
        "preauth_void" | "preauth_complete" => Some(reference(
            &setup(&["preauth", "--amount", "1.00", "--order", "BASE", "--json"]).await,
        )),
        "complete_void" => {
            let p = reference(
                &setup(&["preauth", "--amount", "1.00", "--order", "BASE", "--json"]).await,
            );
            let c = child(
                host,
                d,
                None,
                &[
                    "preauth-complete",
                    "--orig-ref",
                    &p,
                    "--amount",
                    "1.00",
                    "--order",
                    "BASE-C",
                    "--json",
                ],
            )
            .await;
            Some(reference(&c))
        }
        _ => None,
    };
    let r = r.unwrap_or_default();
    let args: Vec<&str> = match kind {
        "void" => vec!["void", "--orig-ref", &r, "--order", "OP"],
        "refund" => vec![
            "refund",
            "--orig-ref",
            &r,
            "--amount",
            "0.50",
            "--order",
            "OP",
        ],
        "preauth" => vec!["preauth", "--amount", "1.00", "--order", "OP"],
        "balance" => vec!["balance", "--order", "OP"],
        "preauth_void" => vec!["preauth-void", "--orig-ref", &r, "--order", "OP"],
        "preauth_complete" => vec![
            "preauth-complete",
            "--orig-ref",
            &r,
            "--amount",
            "1.10",
            "--order",
            "OP",
        ],
        _ => vec!["complete-void", "--orig-ref", &r, "--order", "OP"],
    };
    child(host, d, crash, &args).await
}

fn setup_messages(kind: &str) -> usize {
    match kind {
        "preauth" | "balance" => 0,
        "complete_void" => 2,
        _ => 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transaction_type_recovers_from_every_crash_point_and_fault() {
    let kinds = [
        "void",
        "refund",
        "preauth",
        "preauth_void",
        "preauth_complete",
        "complete_void",
        "balance",
    ];
    let points = [
        "read-card",
        "mac",
        "persist-sending",
        "send",
        "answered",
        "persist-outcome",
        "finish",
    ];
    let (mut crash_cases, mut fault_cases) = (0, 0);
    for kind in kinds {
        for point in points {
            let host = server::start(SimConfig::ephemeral()).await.unwrap();
            let tmp = tempfile::tempdir().unwrap();
            let (d, case) = (tmp.path(), format!("{kind}:{point}"));
            let first = operation(&host, d, kind, Some(&case)).await;
            assert_ne!(
                first.code,
                Some(0),
                "{case}: the process was supposed to abort"
            );
            let again = child(&host, d, None, &["recover"]).await;
            assert_eq!(
                again.code,
                Some(0),
                "{case}: recovery failed: {}",
                again.stdout
            );
            check_ledgers(&case, &host, d);
            host.shutdown().await;
            crash_cases += 1;
        }
        for (name, fault) in [
            ("tamper-mac", Fault::TamperMac),
            ("wrong-trace", Fault::WrongTrace),
            ("never-answer", Fault::NeverAnswer),
            ("garbage", Fault::Garbage),
            ("drop-after-commit", Fault::DropAfterCommit),
            ("drop-before-commit", Fault::DropBeforeCommit),
        ] {
            let mut plan = vec![Fault::None; setup_messages(kind)];
            plan.push(fault);
            let host = server::start(SimConfig {
                faults: plan,
                ..SimConfig::ephemeral()
            })
            .await
            .unwrap();
            let tmp = tempfile::tempdir().unwrap();
            let (d, case) = (tmp.path(), format!("{kind}/{name}"));
            let first = operation(&host, d, kind, None).await;
            assert!(
                !first.stdout.contains("\"status\":\"approved\"") || name == "drop-before-commit",
                "{case}: {}",
                first.stdout
            );
            assert!(
                recover_until_done(&host, d).await,
                "{case}: recovery never completed"
            );
            check_ledgers(&case, &host, d);
            // What the merchant app was told: never "declined" for something in force at the host.
            if first.stdout.contains("\"status\":\"declined\"") {
                let journal = Journal::open(&d.join("journal.db")).unwrap();
                let op = journal
                    .find_by_order("com.example.merchant", "OP")
                    .unwrap()
                    .expect("the operation is journaled");
                let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
                let in_force = ledger
                    .iter()
                    .any(|l| l.batch == op.batch && l.trace == op.trace && l.in_force());
                assert!(
                    !in_force,
                    "{case}: reported declined but in force at the host"
                );
            }
            host.shutdown().await;
            fault_cases += 1;
        }
    }
    println!("crash-recovery harness (all types): {crash_cases} (type, crash point) cases and {fault_cases} (type, fault) cases, all passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_recovers_from_every_crash_point() {
    // The 0510 lost with the host's batch already closed is the hard one: the terminal settles
    // again, the host answers 77, the terminal signs in (the host takes the terminal's batch) and
    // settles; nothing is counted twice and the journal ends settled.
    let mut cases = 0;
    for point in ["mac", "send", "answered", "persist-settled", "finish"] {
        let host = server::start(SimConfig::ephemeral()).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let (d, case) = (tmp.path(), format!("settle:{point}"));
        for i in 0..3 {
            let o = format!("S-{i}");
            assert_eq!(
                child(&host, d, None, &["sale", "--amount", "2.00", "--order", &o])
                    .await
                    .code,
                Some(0)
            );
        }
        let first = child(&host, d, Some(&case), &["settle"]).await;
        assert_ne!(
            first.code,
            Some(0),
            "{case}: the process was supposed to abort"
        );
        let mut settled = false;
        for _ in 0..3 {
            if child(&host, d, None, &["settle"]).await.code == Some(0) {
                settled = true;
                break;
            }
        }
        assert!(settled, "{case}: settlement never completed");
        check_ledgers(&case, &host, d);
        // Opened (and so owned) only for the check: the next child needs the terminal.
        let states: Vec<TxnState> = Journal::open(&d.join("journal.db"))
            .unwrap()
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.state)
            .collect();
        assert!(
            states.iter().all(|s| *s == TxnState::Settled),
            "{case}: {states:?}"
        );
        let next = child(
            &host,
            d,
            None,
            &["sale", "--amount", "2.00", "--order", "AFTER"],
        )
        .await;
        assert_eq!(
            next.code,
            Some(0),
            "{case}: the next day's sale failed: {}",
            next.stdout
        );
        host.shutdown().await;
        cases += 1;
    }
    println!(
        "crash-recovery harness (settlement): {cases} (settle, crash point) cases, all passed"
    );
}

/// QR payments: a crash anywhere between the journal's first write and the final status is
/// recovered by asking the gateway about the order; it is never paid twice, the journal ends
/// final, and it agrees with the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_payments_recover_from_every_crash_point_without_paying_twice() {
    let points = [
        "persist-created",
        "persist-sending",
        "call",
        "answered",
        "persist-outcome",
        "finish",
    ];
    // instant success, and system error then success (polling before the final status)
    let codes = ["134567890123456789", "281234567890123414"];
    let mut cases = 0;
    for code in codes {
        for point in points {
            let host = server::start(SimConfig::ephemeral()).await.unwrap();
            let tmp = tempfile::tempdir().unwrap();
            let (d, case) = (tmp.path(), format!("qr {code} at {point}"));
            let pay = [
                "sale", "--method", "qr-scan", "--code", code, "--amount", "8.00", "--order",
                "QR-1", "--json",
            ];
            let first = child(&host, d, Some(&format!("qr_sale:{point}")), &pay).await;
            assert_ne!(
                first.code,
                Some(0),
                "{case}: the process was supposed to abort"
            );
            let again = child(&host, d, None, &["recover"]).await;
            assert_eq!(
                again.code,
                Some(0),
                "{case}: recovery left work: {}",
                again.stdout
            );
            // Opened (and so owned) only for the check: the retry below needs the terminal.
            let entry = Journal::open(&d.join("journal.db"))
                .unwrap()
                .find_by_order("com.example.merchant", "QR-1")
                .unwrap();
            // The gateway knows the order by the terminal's number for it.
            let gw_order = entry
                .as_ref()
                .map(|e| smartpos_core::qr::gateway::gateway_order("10000001", e.batch, e.trace));
            let gw = match &gw_order {
                Some(o) => host.qr.lock().unwrap().order("898310048990001", o).cloned(),
                None => host
                    .qr
                    .lock()
                    .unwrap()
                    .orders_of("898310048990001")
                    .next()
                    .cloned(),
            };
            match (&entry, &gw) {
                (None, None) => {} // crashed before anything was written or sent
                (None, Some(_)) => panic!("{case}: the gateway has an order the journal does not"),
                (Some(e), gw) => {
                    let paid = gw
                        .as_ref()
                        .is_some_and(|o| o.charged_at(smartpos_testing::server::unix_ms()) > 0);
                    assert!(
                        gw.as_ref().is_none_or(|o| o.pay_calls == 1),
                        "{case}: paid twice"
                    );
                    match e.state {
                        TxnState::Approved => assert!(paid, "{case}: approved but not paid"),
                        TxnState::Declined => assert!(!paid, "{case}: declined but paid"),
                        other => panic!("{case}: left {other:?}"),
                    }
                }
            }
            // The app retries the same order: the stored result, no second pay call.
            let retry = child(&host, d, None, &pay).await;
            let after = host
                .qr
                .lock()
                .unwrap()
                .orders_of("898310048990001")
                .cloned()
                .collect::<Vec<_>>();
            assert!(after.len() <= 1, "{case}: the retry opened a second order");
            if let Some(o) = after.first() {
                assert_eq!(o.pay_calls, 1, "{case}: the retry paid again");
                if o.charged_at(smartpos_testing::server::unix_ms()) > 0 {
                    assert!(
                        retry.stdout.contains("\"status\": \"approved\""),
                        "{case}: retry says {}",
                        retry.stdout
                    );
                }
            }
            host.shutdown().await;
            cases += 1;
        }
    }
    println!("crash-recovery harness (QR): {cases} (scenario, crash point) cases, all passed");
}

/// A chip card that declines after the bank approved (its second cryptogram an AAC): the app is
/// told declined, never approved, and the approval ends reversed at the host: run cleanly
/// (contact and contactless), and with the terminal killed between the host's answer and the
/// card's answer, or before the outcome is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_decline_after_approval_ends_reversed_and_declined() {
    let cases = [
        ("contact", None),
        ("contactless", None),
        ("contact", Some("sale:complete-card")),
        ("contactless", Some("sale:persist-outcome")),
    ];
    for (n, (entry, crash)) in cases.into_iter().enumerate() {
        let host = server::start(SimConfig::ephemeral()).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let order = format!("CHIP-{n}");
        let case = format!("{entry} card declines, crash {crash:?}");
        let args = [
            "sale",
            "--amount",
            "12.34",
            "--order",
            &order,
            "--entry",
            entry,
            "--card-declines",
            "--json",
        ];
        let first = child(&host, d, crash, &args).await;
        if crash.is_some() {
            assert_ne!(first.code, Some(0), "{case}: the process was to abort");
            assert!(recover_until_done(&host, d).await, "{case}: recovery");
        } else {
            let v: serde_json::Value = serde_json::from_str(&first.stdout)
                .unwrap_or_else(|e| panic!("{case}: {e}: {}", first.stdout));
            assert_eq!(
                v["outcome"]["status"], "declined",
                "{case}: {}",
                first.stdout
            );
            assert_eq!(v["outcome"]["by"], "by_card", "{case}");
        }
        // The host approved it once, and it is reversed: nothing stays charged.
        let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
        let ours: Vec<_> = ledger.iter().filter(|e| e.amount_minor == 1234).collect();
        assert_eq!(ours.len(), 1, "{case}: one authorization at the host");
        assert_eq!(ours[0].response_code, "00", "{case}: the host approved");
        assert!(!ours[0].charged(), "{case}: the approval was reversed");
        let journal = Journal::open(&d.join("journal.db")).unwrap();
        let entry = journal
            .find_by_order("com.example.merchant", &order)
            .unwrap()
            .expect("recorded");
        assert_eq!(entry.state, TxnState::Reversed, "{case}");
        assert!(!entry.reversal_pending, "{case}");
        drop(journal);
        // And the merchant's query says declined.
        let q = child(&host, d, None, &["query", "--order", &order, "--json"]).await;
        let q: serde_json::Value = serde_json::from_str(&q.stdout)
            .unwrap_or_else(|e| panic!("{case}: query: {e}: {}", q.stdout));
        assert_eq!(
            q["result"]["outcome"]["status"], "declined",
            "{case}: query {q}"
        );
        host.shutdown().await;
    }
}

/// A chip sale whose card ran the issuer's script: the terminal killed while it sends the
/// script result advice (before its MAC, before it leaves, after the host answered but before
/// the journal marked it delivered) keeps the approval, and the advice reaches the host at the
/// next sign-in, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_advice_survives_a_kill_and_reaches_the_host_once() {
    for crash in ["advice:mac", "advice:send", "advice:persist-advice-done"] {
        let host = server::start(SimConfig::ephemeral()).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let args = [
            "sale",
            "--amount",
            "7.00",
            "--order",
            "SCRIPTED",
            "--entry",
            "contact",
            "--card",
            "6222020000000000083",
            "--json",
        ];
        let first = child(&host, d, Some(crash), &args).await;
        assert_ne!(first.code, Some(0), "{crash}: the process was to abort");
        let journal = Journal::open(&d.join("journal.db")).unwrap();
        let entry = journal
            .find_by_order("com.example.merchant", "SCRIPTED")
            .unwrap()
            .expect("recorded");
        assert_eq!(
            entry.state,
            TxnState::Approved,
            "{crash}: the approval stands"
        );
        assert_eq!(journal.pending_advices().unwrap().len(), 1, "{crash}");
        drop(journal);
        let signed = child(&host, d, None, &["sign-in"]).await;
        assert_eq!(signed.code, Some(0), "{crash}: {}", signed.stdout);
        let advices = host.acquirer.lock().unwrap().advices().to_vec();
        let ours: Vec<_> = advices
            .iter()
            .filter(|a| (a.batch, a.trace) == (entry.batch, entry.trace))
            .collect();
        assert_eq!(ours.len(), 1, "{crash}: delivered once: {advices:?}");
        assert_eq!(ours[0].kind, "script_results");
        let journal = Journal::open(&d.join("journal.db")).unwrap();
        assert!(journal.pending_advices().unwrap().is_empty(), "{crash}");
        drop(journal);
        let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
        let sale = ledger.iter().find(|e| e.trace == entry.trace).unwrap();
        assert!(sale.charged(), "{crash}: charged once, not reversed");
        host.shutdown().await;
    }
}
