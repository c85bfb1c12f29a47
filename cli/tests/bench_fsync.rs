//! `smartpos bench` counts the fsyncs of a sale with strace (the kernel's count, not ours): at
//! most two per sale (the commit before the request leaves and the outcome's), and at least
//! one (a sale that never reaches storage is not durable).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");

#[test]
fn a_sale_costs_at_most_two_fsyncs() {
    let out = Command::new(BIN)
        .args(["bench", "--sales", "10", "--json"])
        .output()
        .expect("smartpos runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let fsyncs = r["fsyncs_per_sale"].as_f64().unwrap_or_else(|| {
        panic!(
            "fsyncs not counted: {} (scripts/test.sh installs strace)",
            r["fsyncs_not_counted"]
        )
    });
    assert!(fsyncs <= 2.0, "{fsyncs} fsyncs per sale");
    assert!(
        fsyncs >= 1.0,
        "{fsyncs} fsyncs per sale: the outcome is not on disk"
    );
    assert_eq!(r["commits_per_sale"], 2);
}
