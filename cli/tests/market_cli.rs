//! The reviewer's commands end to end: keygen, sign in place, verify (accepted, then refused
//! after revocation and when the installer reports another version), apk verify.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/apksig-corpus");

fn run(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(text.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        json,
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn keygen_sign_verify_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let apk = tmp.path().join("app.apk");
    std::fs::copy(format!("{CORPUS}/golden-aligned-v2v3-out.apk"), &apk).unwrap();
    let (k, s) = (keys.to_str().unwrap(), apk.to_str().unwrap());
    let (ok, v, _) = run(&["market", "keygen", "--keys", k, "--json"]);
    assert!(ok && v["root_public_key"].as_str().unwrap().len() == 64);
    let root = keys.join("root.pub");
    let root = root.to_str().unwrap();

    let (ok, claim, out) = run(&[
        "market",
        "sign",
        s,
        "--keys",
        k,
        "--payments",
        "sale,refund",
        "--devices",
        "printer",
        "--json",
    ]);
    assert!(ok, "{out}");
    let (package, version) = (
        claim["package"].as_str().unwrap().to_string(),
        claim["version_code"].as_u64().unwrap(),
    );
    assert_eq!(
        claim["grants"]["payments"],
        serde_json::json!(["sale", "refund"])
    );

    let (ok, v, out) = run(&["market", "verify", s, "--root", root, "--json"]);
    assert!(ok && v["accepted"] == true, "{out}");
    assert_eq!(v["app"]["package"], package.as_str());

    let other = (version + 1).to_string();
    let (ok, v, _) = run(&[
        "market",
        "verify",
        s,
        "--root",
        root,
        "--package",
        &package,
        "--version-code",
        &other,
        "--json",
    ]);
    assert!(!ok && v["reason"].as_str().unwrap().contains("mismatch"));

    let rev = tmp.path().join("rev.json");
    let app = format!("{package}:{version}");
    let (ok, _, out) = run(&[
        "market",
        "revoke",
        "--keys",
        k,
        "--serial",
        "1",
        "--app",
        &app,
        "--out",
        rev.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{out}");
    let (ok, v, _) = run(&[
        "market",
        "verify",
        s,
        "--root",
        root,
        "--revocations",
        rev.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        !ok && v["reason"].as_str().unwrap().contains("revoked"),
        "{v}"
    );

    // Android's verdict alone, and a refusal with its reason
    let (ok, v, _) = run(&["apk", "verify", s, "--sdk", "28", "--json"]);
    assert!(ok && v["verdict"]["scheme"] == "v3", "{v}");
    let dsa = format!("{CORPUS}/v2-only-with-dsa-sha256-1024.apk");
    let (ok, v, _) = run(&["apk", "verify", &dsa, "--json"]);
    assert!(!ok && v["reason"].as_str().unwrap().contains("DSA"), "{v}");
}
