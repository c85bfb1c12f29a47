//! One owner per terminal, and every entry point recovers first:
//! - N `handle-request` processes race on one data directory with the same order (fresh
//!   nonces): exactly one charge at the host, every answer and the final query agree with the
//!   card, one journal row;
//! - a process killed at any journal step of a sale, then a retry or a query of the same order
//!   (no `recover`): a final answer that agrees with the host.

use smartpos_cli::terminal_cmd::SAMPLE_MERCHANT_CERT_SHA256;
use smartpos_terminal::journal::Journal;
use smartpos_testing::server::{self, RunningHost, SimConfig};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");
const APP: &str = "com.example.merchant";

fn link(kind: &str, order: &str, nonce: &str) -> String {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let amount = if kind == "sale" {
        "&amount=1234&currency=CNY"
    } else {
        ""
    };
    format!(
        "smartpos://pay/v1?v=1&type={kind}{amount}&order={order}&nonce={nonce}&expires={expires}&callback=shop%3A%2F%2Fpaid"
    )
}

fn spawn(host: &RunningHost, dir: &Path, uri: &str, crash: Option<&str>) -> Child {
    let ca = dir.with_extension("ca.pem");
    if !ca.exists() {
        // Written once, before any child runs (children start in parallel).
        std::fs::write(&ca, &host.ca_pem).unwrap();
    }
    let mut cmd = Command::new(BIN);
    cmd.args(["terminal", "--data-dir"])
        .arg(dir)
        .args(["--host", &host.url, "--ca"])
        .arg(&ca)
        .args(["--host-timeout-ms", "800", "handle-request", "--uri", uri])
        .args(["--caller-package", APP, "--caller-cert-sha256"])
        .arg(SAMPLE_MERCHANT_CERT_SHA256)
        .env_remove("SMARTPOS_CRASH_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(c) = crash {
        cmd.env("SMARTPOS_CRASH_AT", c);
    }
    cmd.spawn().expect("run smartpos")
}

/// The result code in a returned deep link (`None` when the process printed none; its
/// standard error is shown then).
fn code_of(child: Child) -> Option<String> {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let code = text.trim().split_once('?').and_then(|(_, query)| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix("code=").map(str::to_string))
    });
    if code.is_none() {
        eprintln!(
            "no result (exit {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    code
}

fn journal_rows(dir: &Path, order: &str) -> Vec<smartpos_terminal::journal::JournalEntry> {
    Journal::open(&dir.join("journal.db"))
        .unwrap()
        .entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.caller == APP && e.order_id == order)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_processes_on_one_order_charge_once_and_agree() {
    const PROCESSES: usize = 8;
    const TRIALS: usize = 8;
    let host = server::start(SimConfig::ephemeral()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terminal");
    let (h, d) = (&host, dir.clone());
    std::fs::write(dir.with_extension("ca.pem"), &host.ca_pem).unwrap();
    let mut answers = 0;
    for trial in 0..TRIALS {
        let order = format!("RACE-{trial}");
        let before = host.acquirer.lock().unwrap().state().ledger.len();
        let (o, d2) = (order.clone(), d.clone());
        let codes: Vec<Option<String>> = tokio::task::block_in_place(|| {
            let children: Vec<Child> = (0..PROCESSES)
                .map(|i| {
                    spawn(
                        h,
                        &d2,
                        &link("sale", &o, &format!("race{trial:03}x{i:013}")),
                        None,
                    )
                })
                .collect();
            children.into_iter().map(code_of).collect()
        });
        let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
        let charged = ledger[before..].iter().filter(|e| e.charged()).count();
        assert_eq!(charged, 1, "trial {trial}: charged {charged} times");
        for c in &codes {
            assert_eq!(
                c.as_deref(),
                Some("APPROVED"),
                "trial {trial}: answers {codes:?} for a charged card"
            );
            answers += 1;
        }
        let query = tokio::task::block_in_place(|| {
            code_of(spawn(
                h,
                &d,
                &link("query", &order, &format!("race{trial:03}q0000000000000")),
                None,
            ))
        });
        assert_eq!(query.as_deref(), Some("APPROVED"), "trial {trial}: query");
        assert_eq!(journal_rows(&d, &order).len(), 1, "trial {trial}: rows");
    }
    println!("{TRIALS} trials x {PROCESSES} processes: one charge each, {answers} answers agree");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sale_is_final_on_the_next_retry_or_query() {
    let points = [
        "read-card",
        "online-pin",
        "mac",
        "persist-sending",
        "send",
        "answered",
        "persist-outcome",
        "finish",
    ];
    let host = server::start(SimConfig::ephemeral()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = 0;
    for (n, point) in points.iter().enumerate() {
        for ask in ["retry", "query"] {
            // One terminal for every case: its traces move on, as on a real device.
            let dir = tmp.path().join("terminal");
            let order = format!("K-{n}-{ask}");
            let h = &host;
            let first = tokio::task::block_in_place(|| {
                let mut c = spawn(
                    h,
                    &dir,
                    &link("sale", &order, &format!("kill{n:03}{ask}a000000000")),
                    Some(&format!("sale:{point}")),
                );
                c.wait().unwrap()
            });
            assert!(
                !first.success(),
                "sale:{point}: the process was supposed to abort"
            );
            let kind = if ask == "retry" { "sale" } else { "query" };
            let code = tokio::task::block_in_place(|| {
                code_of(spawn(
                    h,
                    &dir,
                    &link(kind, &order, &format!("kill{n:03}{ask}b000000000")),
                    None,
                ))
            });
            let rows = journal_rows(&dir, &order);
            let charged = {
                let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
                rows.first().is_some_and(|r| {
                    ledger
                        .iter()
                        .any(|e| e.trace == r.trace && e.batch == r.batch && e.charged())
                })
            };
            let expected = if charged { "APPROVED" } else { "DECLINED" };
            let ok = match code.as_deref() {
                Some("NOT_FOUND") => rows.is_empty() && !charged,
                Some(c) => c == expected,
                None => false,
            };
            assert!(
                ok,
                "sale:{point} then {ask}: answered {code:?}, card charged: {charged}"
            );
            assert!(rows.len() <= 1);
            cases += 1;
        }
    }
    println!("kill at every sale step, then a retry or a query: {cases} cases final");
    host.shutdown().await;
}

/// Every encoding a card number could be stored in: ASCII digits, packed BCD (either nibble
/// alignment), and the track 2 forms.
fn pan_encodings(pan: &str) -> Vec<Vec<u8>> {
    let mut out = vec![pan.as_bytes().to_vec()];
    for pad in ["", "0"] {
        let digits = format!("{pad}{pan}");
        let even = if digits.len() % 2 == 1 {
            format!("{digits}0")
        } else {
            digits
        };
        if let Ok(b) = hex::decode(&even) {
            // The middle of the packed digits, so the padding nibble does not matter.
            out.push(b[1..b.len() - 1].to_vec());
        }
    }
    out.push(format!("{pan}=").into_bytes());
    out.push(format!("{pan}D").into_bytes());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_number_at_rest_and_a_damaged_journal_is_refused() {
    let host = server::start(SimConfig::ephemeral()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terminal");
    let h = &host;
    // An unanswered sale: the process dies once the host has answered, before the outcome is
    // written, so the journal holds the armed reversal.
    let status = tokio::task::block_in_place(|| {
        spawn(
            h,
            &dir,
            &link("sale", "PAN-1", "panrest0000000001"),
            Some("sale:answered"),
        )
        .wait()
        .unwrap()
    });
    assert!(!status.success());
    let pan = smartpos_testing::acquirer::cards::standard_cards()[0]
        .pan
        .clone();
    let encodings = pan_encodings(&pan);
    let mut scanned = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for enc in &encodings {
            assert!(
                !bytes.windows(enc.len()).any(|w| w == &enc[..]),
                "{} holds the card number ({})",
                path.display(),
                hex::encode(enc)
            );
        }
        scanned += 1;
    }
    assert!(scanned >= 4, "journal, WAL, key and anchor scanned");

    let verify = |dir: &Path| {
        let out = Command::new(BIN)
            .args(["terminal", "--data-dir"])
            .arg(dir)
            .args(["journal", "--verify"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = verify(&dir);
    assert_eq!(code, Some(0), "{text}");

    // A retry then finishes the order (reversed: not charged), with no `recover`.
    let code = tokio::task::block_in_place(|| {
        code_of(spawn(
            h,
            &dir,
            &link("query", "PAN-1", "panrest0000000002"),
            None,
        ))
    });
    assert_eq!(code.as_deref(), Some("DECLINED"));

    // Emptied: refused with a clear error, never an empty journal that answers NOT_FOUND.
    let db = dir.join("journal.db");
    let saved = std::fs::read(&db).unwrap();
    let wal = std::fs::read(dir.join("journal.db-wal")).ok();
    std::fs::write(&db, b"").unwrap();
    let _ = std::fs::remove_file(dir.join("journal.db-wal"));
    let _ = std::fs::remove_file(dir.join("journal.db-shm"));
    let (code, text) = verify(&dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not this terminal's journal"), "{text}");
    let query = tokio::task::block_in_place(|| {
        code_of(spawn(
            h,
            &dir,
            &link("query", "PAN-1", "panrest0000000003"),
            None,
        ))
    });
    assert_ne!(
        query.as_deref(),
        Some("NOT_FOUND"),
        "an emptied journal answered NOT_FOUND"
    );

    // Deleted: the same.
    std::fs::remove_file(&db).unwrap();
    let (code, text) = verify(&dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("missing"), "{text}");

    // The result-signing key deleted: refused, not silently replaced by a new identity.
    let key = std::fs::read(dir.join("terminal-key.hex")).unwrap();
    std::fs::remove_file(dir.join("terminal-key.hex")).unwrap();
    let (code, text) = verify(&dir);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("terminal-key.hex is missing"), "{text}");
    assert!(!dir.join("terminal-key.hex").exists());
    std::fs::write(dir.join("terminal-key.hex"), key).unwrap();

    // Put back: verifies again.
    std::fs::write(&db, &saved).unwrap();
    if let Some(w) = wal {
        std::fs::write(dir.join("journal.db-wal"), w).unwrap();
    }
    let (code, text) = verify(&dir);
    assert_eq!(code, Some(0), "{text}");
    host.shutdown().await;
}

fn terminal_cmd(host: &RunningHost, dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let ca = dir.with_extension("ca.pem");
    let out = Command::new(BIN)
        .args(["terminal", "--data-dir"])
        .arg(dir)
        .args(["--host", &host.url, "--ca"])
        .arg(&ca)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_journal_is_refused_then_rebuilt_from_the_bank() {
    let host = server::start(SimConfig::ephemeral()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terminal");
    let h = &host;
    tokio::task::block_in_place(|| {
        for i in 1..=3 {
            let code = code_of(spawn(
                h,
                &dir,
                &link("sale", &format!("R-{i}"), &format!("rebuild{i:010}")),
                None,
            ));
            assert_eq!(code.as_deref(), Some("APPROVED"));
        }
        // An intact journal is not rebuilt (its order ids would be lost).
        let lines = h
            .acquirer
            .lock()
            .unwrap()
            .state()
            .settlement_lines(Some("10000001"));
        let early = dir.with_extension("early-settlement.json");
        std::fs::write(&early, serde_json::to_vec(&lines).unwrap()).unwrap();
        let (code, text) = terminal_cmd(
            h,
            &dir,
            &[
                "recover",
                "--from-host",
                "--settlement",
                early.to_str().unwrap(),
            ],
        );
        assert_ne!(code, Some(0), "{text}");
        assert!(text.contains("nothing to rebuild"), "{text}");
        for f in ["journal.db", "journal.db-wal", "journal.db-shm"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        // Refused: no answer at all rather than NOT_FOUND for a charged order.
        let code = code_of(spawn(
            h,
            &dir,
            &link("query", "R-1", "rebuild0000000011"),
            None,
        ));
        assert_eq!(code, None);
        let (code, text) = terminal_cmd(h, &dir, &["journal", "--verify"]);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("journal.db") && text.contains("missing"),
            "{text}"
        );
    });

    // The documented path: the bank's settlement file for this terminal.
    let lines = host
        .acquirer
        .lock()
        .unwrap()
        .state()
        .settlement_lines(Some("10000001"));
    assert_eq!(lines.len(), 3);
    let file = tmp.path().join("settlement.json");
    std::fs::write(&file, serde_json::to_vec(&lines).unwrap()).unwrap();
    let file = file.to_str().unwrap().to_string();
    tokio::task::block_in_place(|| {
        let (code, text) = terminal_cmd(
            h,
            &dir,
            &["recover", "--from-host", "--settlement", &file, "--json"],
        );
        assert_eq!(code, Some(0), "{text}");
        let report: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(report["imported"], 3, "{text}");
        assert!(
            !report["kept"].as_array().unwrap().is_empty(),
            "the refused anchor is kept"
        );

        let (code, text) = terminal_cmd(h, &dir, &["journal", "--verify"]);
        assert_eq!(code, Some(0), "{text}");
        // Every transaction the bank knows is back: reconciliation balances.
        let (code, text) = terminal_cmd(h, &dir, &["reconcile", "--settlement", &file]);
        assert_eq!(code, Some(0), "{text}");
        // An order from before cannot be matched by its id: unknown, never "not found".
        let code = code_of(spawn(
            h,
            &dir,
            &link("query", "R-1", "rebuild0000000012"),
            None,
        ));
        assert_eq!(code.as_deref(), Some("UNKNOWN"));
        // The terminal goes on: traces continue after the bank's highest (no 94).
        let code = code_of(spawn(
            h,
            &dir,
            &link("sale", "R-4", "rebuild0000000013"),
            None,
        ));
        assert_eq!(code.as_deref(), Some("APPROVED"));
    });
    let charged = host
        .acquirer
        .lock()
        .unwrap()
        .state()
        .ledger
        .iter()
        .filter(|e| e.charged())
        .count();
    assert_eq!(charged, 4);
    host.shutdown().await;
}
