//! `smartpos load` against `smartpos host-sim`: a small bounded run whose approved sales the
//! host's settlement file confirms, and the guard against loading a host elsewhere by mistake.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");

/// The simulator and its stdout (kept open: it prints more after the first line).
struct Host(
    Child,
    #[allow(dead_code)] BufReader<std::process::ChildStdout>,
);
impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host simulator that knows `terminals` load terminals: its URL and CA file.
fn host(dir: &std::path::Path, terminals: u32) -> (Host, String, std::path::PathBuf) {
    let mut child = Command::new(BIN)
        .args(["host-sim", "--bind", "127.0.0.1:0", "--state"])
        .arg(dir)
        .args(["--load-terminals", &terminals.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");
    (Host(child, out), url, dir.join("ca.pem"))
}

fn load(url: &str, ca: &std::path::Path, extra: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(BIN)
        .args(["load", "--host", url, "--ca"])
        .arg(ca)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        v,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn a_bounded_run_is_confirmed_by_the_hosts_settlement_file_and_a_second_run_continues_the_traces() {
    let tmp = tempfile::tempdir().unwrap();
    let (_host, url, ca) = host(tmp.path(), 4);
    for _ in 0..2 {
        let (ok, v, out) = load(
            &url,
            &ca,
            &[
                "--terminals",
                "4",
                "--count",
                "100",
                "--duration",
                "20s",
                "--mix",
                "sale=75,balance=25",
                "--json",
            ],
        );
        assert!(ok, "{out}");
        assert_eq!(v["completed"], 100, "{v}");
        assert_eq!(v["approved"], 100, "{v}");
        assert_eq!(v["settlement"]["equal"], true, "{v}");
        assert_eq!(v["settlement"]["sales_approved_at_host"], 75, "{v}");
        assert!(v["latency_ms"]["p99"].as_f64().unwrap() > 0.0, "{v}");
    }
    // Open loop: transactions are due on the clock whether or not earlier ones answered; one
    // due while every terminal is busy is counted, not queued.
    let (ok, v, out) = load(
        &url,
        &ca,
        &[
            "--terminals",
            "4",
            "--rate",
            "100",
            "--count",
            "20",
            "--json",
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(v["started"], 20, "{v}");
    assert_eq!(
        v["completed"].as_u64().unwrap() + v["skipped_all_terminals_busy"].as_u64().unwrap(),
        20,
        "{v}"
    );
    assert!(
        v["seconds"].as_f64().unwrap() >= 0.18,
        "20 at 100 TPS take about 0.2 s: {v}"
    );
    // A terminal the host does not know is refused at sign-in: an error, not a hang.
    let (ok, _, out) = load(
        &url,
        &ca,
        &["--terminals", "5", "--count", "5", "--duration", "5s"],
    );
    assert!(!ok && out.contains("20000005"), "{out}");
}

#[test]
fn a_host_elsewhere_needs_allow_remote_and_a_bad_mix_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, "x").unwrap();
    let (ok, _, out) = load("https://pos.bank.example:8583/", &ca, &["--count", "1"]);
    assert!(!ok && out.contains("--allow-remote"), "{out}");
    let (ok, _, out) = load("https://127.0.0.1:1/", &ca, &["--mix", "sale=50"]);
    assert!(!ok && out.contains("does not add up to 100"), "{out}");
}

#[test]
fn every_answered_sale_survives_a_killed_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let (host1, url, ca) = host(tmp.path(), 4);
    let (ok, v, out) = load(&url, &ca, &["--terminals", "4", "--count", "60", "--json"]);
    assert!(ok, "{out}");
    assert_eq!(v["settlement"]["sales_approved_at_host"], 60, "{v}");
    drop(host1); // SIGKILL: no shutdown, no final snapshot

    // The answered sales were in the ledger log before their answers left.
    let settlement = Command::new(BIN)
        .args(["settlement-file", "--state"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(settlement.status.success(), "{settlement:?}");
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&settlement.stdout).unwrap();
    let approved = lines
        .iter()
        .filter(|l| {
            l["status"] == "approved" && l["terminal_id"].as_str().unwrap().starts_with("2000000")
        })
        .count();
    assert_eq!(approved, 60);

    // Restarted from the snapshot and the log: the terminals continue, and the host agrees.
    let (_host2, url, ca) = host(tmp.path(), 4);
    let (ok, v, out) = load(&url, &ca, &["--terminals", "4", "--count", "20", "--json"]);
    assert!(ok, "{out}");
    assert_eq!(v["settlement"]["equal"], true, "{v}");
    assert_eq!(
        v["declined_by_code"],
        serde_json::json!({}),
        "no duplicate traces: {v}"
    );
}
