//! The host-profile specification (`sdk-docs/src/bank/messages.md`, generated from
//! `smartpos_core::iso8583::catalog`) against what the terminal really sends: a whole day
//! (sign-in, echo, every transaction type, a lost answer and its reversal, settlement with batch
//! upload, sign-out) is captured at the simulator and every request is checked against its
//! catalogue entry: no field missing from the page, no mandatory field missing from a message.

use smartpos_core::iso8583::catalog;
use smartpos_core::iso8583::{Frame, CUP_FIELDS};
use smartpos_testing::server::{self, SimConfig};
use std::collections::BTreeSet;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_the_terminal_sends_is_on_the_spec_page() {
    let tmp = tempfile::tempdir().unwrap();
    let frames = tmp.path().join("frames.jsonl");
    let mut config = SimConfig::ephemeral();
    config.frames = Some(frames.clone());
    let host = server::start(config).await.unwrap();
    let dir = tmp.path().join("terminal");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), &host.ca_pem).unwrap();
    let run_env = |args: &[&str], crash: Option<&str>| -> String {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("SMARTPOS_CRASH_AT");
        if let Some(c) = crash {
            cmd.env("SMARTPOS_CRASH_AT", c);
        }
        let out = cmd
            .args(["terminal", "--data-dir"])
            .arg(&dir)
            .args(["--host", &host.url, "--host-timeout-ms", "1500"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let run = |args: &[&str]| run_env(args, None);
    let reference = |json: String| -> String {
        let json = json
            .lines()
            .take_while(|l| !l.starts_with("smartpos:"))
            .collect::<Vec<_>>()
            .join("\n");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|_| panic!("{json}"));
        v["reference"].as_str().unwrap().to_string()
    };
    let host_ref = &host;
    tokio::task::block_in_place(|| {
        run(&["sign-in"]);
        run(&["echo"]);
        let s1 = reference(run(&[
            "sale", "--amount", "1.00", "--order", "A1", "--json",
        ]));
        run(&["void", "--orig-ref", &s1, "--order", "A2", "--json"]);
        let s2 = reference(run(&[
            "sale", "--amount", "2.00", "--order", "A3", "--json",
        ]));
        run(&[
            "refund",
            "--orig-ref",
            &s2,
            "--amount",
            "0.50",
            "--order",
            "A4",
            "--json",
        ]);
        let p1 = reference(run(&[
            "preauth", "--amount", "5.00", "--order", "P1", "--json",
        ]));
        run(&["preauth-void", "--orig-ref", &p1, "--order", "P2", "--json"]);
        let p2 = reference(run(&[
            "preauth", "--amount", "5.00", "--order", "P3", "--json",
        ]));
        let c = reference(run(&[
            "preauth-complete",
            "--orig-ref",
            &p2,
            "--amount",
            "5.00",
            "--order",
            "P4",
            "--json",
        ]));
        run(&["balance", "--order", "B1", "--json"]);
        // A chip sale whose answer carries an issuer script, under a profile that uploads TCs:
        // the script result advice and the TC upload.
        let mut tc_profile = smartpos_core::profile::AcquirerProfile::cup_default();
        tc_profile.tc_upload = true;
        let tc_file = tmp.path().join("tc-profile.json");
        std::fs::write(&tc_file, serde_json::to_string(&tc_profile).unwrap()).unwrap();
        let chip = run(&[
            "--profile",
            tc_file.to_str().unwrap(),
            "sale",
            "--amount",
            "6.00",
            "--order",
            "E1",
            "--entry",
            "contact",
            "--card",
            "6222020000000000083",
            "--json",
        ]);
        assert!(
            chip.contains("APPROVED") || chip.contains("approved"),
            "{chip}"
        );
        let lost = reference(run(&[
            "sale", "--amount", "3.00", "--order", "L0", "--json",
        ]));
        run(&["complete-void", "--orig-ref", &c, "--order", "P5", "--json"]);
        // A sale whose answer never reaches the journal: recovery reverses it.
        run_env(
            &["sale", "--amount", "4.00", "--order", "L1", "--json"],
            Some("sale:answered"),
        );
        let recovered = run(&["recover"]);
        assert!(recovered.contains("still pending: 0"), "{recovered}");
        // The host loses a sale: settlement is not balanced and goes through batch upload.
        host_ref
            .acquirer
            .lock()
            .unwrap()
            .state_mut()
            .ledger
            .retain(|e| e.reference != lost);
        let settled = run(&["settle"]);
        assert!(settled.contains("uploaded"), "{settled}");
        run(&["sign-out"]);
    });
    host.shutdown().await;

    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for line in std::fs::read_to_string(&frames).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["dir"] != "req" {
            continue;
        }
        let body = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        let frame = Frame::decode(&body, &CUP_FIELDS)
            .or_else(|_| {
                let mut framed = (body.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&body);
                Frame::decode(&framed, &CUP_FIELDS)
            })
            .expect("a request frame");
        if let Some(spec) = catalog::classify(&frame.message) {
            seen.insert(spec.name);
        }
        wrong.extend(catalog::check(&frame.message));
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "the page and the terminal disagree:\n{}",
        wrong.join("\n")
    );
    let all: BTreeSet<&str> = catalog::TERMINAL_MESSAGES.iter().map(|s| s.name).collect();
    let unseen: Vec<_> = all.difference(&seen).collect();
    assert!(
        unseen.is_empty(),
        "documented but never sent in the day: {unseen:?}"
    );
    println!(
        "{} message types sent and checked against the spec page",
        seen.len()
    );
}
