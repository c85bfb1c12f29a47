//! Every quickstart page is run as its reader would run it: its `sh` blocks in order, in one
//! bash, from the repository root, with the `smartpos` built for this test first on `PATH`.
//! Each page ends in a check; the page names the last line it prints
//! (`<!-- quickstart-expect: ... -->`), and the run must print it and exit 0. A stale example
//! fails here.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `sh` blocks of a page, in order, and the line the page says it ends with.
fn script_of(page: &str) -> (String, String) {
    let mut script = String::from("set -euo pipefail\n");
    let mut in_sh = false;
    for line in page.lines() {
        if in_sh {
            if line.trim_start().starts_with("```") {
                in_sh = false;
            } else {
                script.push_str(line);
                script.push('\n');
            }
        } else if line.trim() == "```sh" {
            in_sh = true;
        }
    }
    assert!(!in_sh, "an sh block is not closed");
    let expect = page
        .lines()
        .find_map(|l| l.trim().strip_prefix("<!-- quickstart-expect: "))
        .and_then(|l| l.strip_suffix(" -->"))
        .expect("the page names the line its final check prints")
        .to_string();
    (script, expect)
}

fn run_page(name: &str) {
    let path = repo().join("sdk-docs/src/quickstart").join(name);
    let page = std::fs::read_to_string(&path).unwrap();
    let (script, expect) = script_of(&page);
    assert!(
        script.lines().count() > 5,
        "{name}: the quickstart has commands"
    );
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_smartpos"));
    let path_var = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(repo())
        .env("PATH", path_var)
        .env_remove("SMARTPOS_LOG")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    assert!(
        out.status.success() && last == Some(expect.as_str()),
        "{name}: exit {:?}, last line {last:?}, expected {expect:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_quickstart_page_is_tested() {
    let mut pages: Vec<String> = std::fs::read_dir(repo().join("sdk-docs/src/quickstart"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(pages, ["merchant.md", "reviewer.md", "vendor.md"]);
}

#[test]
fn merchant_quickstart_runs_and_ends_in_its_check() {
    run_page("merchant.md");
}

#[test]
fn vendor_quickstart_runs_and_ends_in_its_check() {
    run_page("vendor.md");
}

#[test]
fn reviewer_quickstart_runs_and_ends_in_its_check() {
    run_page("reviewer.md");
}

#[test]
fn a_failing_command_fails_the_page() {
    // The harness itself: a page whose command fails must not pass.
    let (script, _) = script_of(
        "```sh\ntrue\nfalse\necho QUICKSTART OK\n```\n<!-- quickstart-expect: QUICKSTART OK -->",
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
