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
        "--in-place",
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
    // By default at every level the fleet runs, and it says which.
    let (ok, v, out) = run(&["apk", "verify", s, "--json"]);
    assert!(ok, "{out}");
    let levels: Vec<u64> = v["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["sdk"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, vec![24, 28, 33]);
    let (ok, _, out) = run(&["apk", "verify", s]);
    assert!(
        ok && out.contains("Android: accepted at SDK 24, 28, 33"),
        "{out}"
    );
    assert!(
        out.contains("bank: accepted (rules no-dsa, rsa-2048, no-md5-sha1)"),
        "{out}"
    );
    let (ok, v, _) = run(&["apk", "verify", s, "--sdk", "28", "--json"]);
    assert!(ok && v["verdict"]["scheme"] == "v3", "{v}");
    let dsa = format!("{CORPUS}/v2-only-with-dsa-sha256-1024.apk");
    // Two verdicts: Android accepts a DSA signature; the bank's policy refuses it by rule.
    let (ok, v, _) = run(&["apk", "verify", &dsa, "--json"]);
    assert!(!ok && v["android_accepted"] == true, "{v}");
    assert_eq!(v["rule"], "no-dsa", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("DSA"), "{v}");
    let (ok, _, out) = run(&["apk", "verify", &dsa]);
    assert!(
        !ok && out.contains("bank: refused at SDK 24: the bank's policy refuses it (rule no-dsa)"),
        "{out}"
    );
}

#[test]
fn an_older_revocation_list_is_refused_once_a_newer_one_was_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let state = tmp.path().join("terminal-trust");
    let apk = tmp.path().join("app.apk");
    std::fs::copy(format!("{CORPUS}/golden-aligned-v2v3-out.apk"), &apk).unwrap();
    let (k, s, st) = (
        keys.to_str().unwrap(),
        apk.to_str().unwrap(),
        state.to_str().unwrap(),
    );
    let (ok, v, out) = run(&["market", "keygen", "--keys", k, "--json"]);
    assert!(ok, "{out}");
    let key_id = v["key_id"].as_str().unwrap_or("market-1").to_string();
    let root = keys.join("root.pub");
    let root = root.to_str().unwrap();
    let (ok, _, out) = run(&[
        "market",
        "sign",
        s,
        "--in-place",
        "--keys",
        k,
        "--payments",
        "sale",
        "--json",
    ]);
    assert!(ok, "{out}");
    let list = |serial: &str, revoke_key: bool| {
        let out_file = tmp.path().join(format!("rev-{serial}.json"));
        let mut args = vec![
            "market",
            "revoke",
            "--keys",
            k,
            "--serial",
            serial,
            "--out",
            out_file.to_str().unwrap(),
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        if revoke_key {
            args.extend(["--market-key".to_string(), key_id.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, out) = run(&args);
        assert!(ok, "{out}");
        out_file
    };
    let list1 = list("1", false);
    let list3 = list("3", true);
    let verify = |revocations: Option<&std::path::Path>| {
        let mut args = vec![
            "market",
            "verify",
            s,
            "--root",
            root,
            "--trust-state",
            st,
            "--json",
        ];
        if let Some(r) = revocations {
            args.extend(["--revocations", r.to_str().unwrap()]);
        }
        run(&args)
    };
    // List 1 withdraws nothing: accepted, and the terminal now knows serial 1.
    let (ok, v, out) = verify(Some(&list1));
    assert!(ok && v["accepted"] == true, "{out}");
    // List 3 withdraws the market key: refused.
    let (ok, v, _) = verify(Some(&list3));
    assert!(
        !ok && v["reason"].as_str().unwrap().contains("revoked"),
        "{v}"
    );
    // Replaying list 1 now is refused as older, and the APK stays refused.
    let (ok, v, _) = verify(Some(&list1));
    assert!(
        !ok && v["reason"].as_str().unwrap().contains("older than list 3"),
        "{v}"
    );
    let (ok, v, _) = verify(None);
    assert!(
        !ok && v["reason"].as_str().unwrap().contains("revoked"),
        "the state remembers list 3: {v}"
    );
    // The same without state: --known-serial.
    let (ok, v, _) = run(&[
        "market",
        "verify",
        s,
        "--root",
        root,
        "--revocations",
        list1.to_str().unwrap(),
        "--known-serial",
        "3",
        "--json",
    ]);
    assert!(
        !ok && v["reason"].as_str().unwrap().contains("older"),
        "{v}"
    );
    // An edited state file is refused, not trusted.
    let f = state.join("revocations.json");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replace("\"serial\\\":3", "\"serial\\\":9");
    std::fs::write(&f, text).unwrap();
    let (ok, v, _) = verify(None);
    assert!(
        !ok && v["reason"]
            .as_str()
            .unwrap()
            .contains("corrupt or was edited"),
        "{v}"
    );
}

#[test]
fn keys_and_apks_are_never_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let k = keys.to_str().unwrap();
    let (ok, _, out) = run(&["market", "keygen", "--keys", k, "--key-id", "m-2026"]);
    assert!(ok, "{out}");
    let first = std::fs::read(keys.join("market-m-2026.key")).unwrap();
    let root = std::fs::read(keys.join("root.key")).unwrap();
    // The same key id again: refused, nothing changed.
    let (ok, _, out) = run(&["market", "keygen", "--keys", k, "--key-id", "m-2026"]);
    assert!(!ok && out.contains("already exists"), "{out}");
    assert_eq!(
        std::fs::read(keys.join("market-m-2026.key")).unwrap(),
        first
    );
    // Rotation: a new key id; the old key and the root stay.
    let (ok, _, out) = run(&["market", "keygen", "--keys", k, "--key-id", "m-2027"]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read(keys.join("market-m-2026.key")).unwrap(),
        first
    );
    assert_eq!(std::fs::read(keys.join("root.key")).unwrap(), root);
    assert_eq!(
        std::fs::read(keys.join("market.key")).unwrap(),
        std::fs::read(keys.join("market-m-2027.key")).unwrap(),
        "the newest key signs"
    );

    // sign needs --out or --in-place; --out never replaces a file without --force.
    let apk = tmp.path().join("app.apk");
    std::fs::copy(format!("{CORPUS}/golden-aligned-v2v3-out.apk"), &apk).unwrap();
    let original = std::fs::read(&apk).unwrap();
    let s = apk.to_str().unwrap();
    let (ok, _, out) = run(&["market", "sign", s, "--keys", k]);
    assert!(!ok, "neither --out nor --in-place: {out}");
    let signed = tmp.path().join("signed.apk");
    std::fs::write(&signed, b"someone else's file").unwrap();
    let o = signed.to_str().unwrap();
    let (ok, _, out) = run(&["market", "sign", s, "--out", o, "--keys", k]);
    assert!(!ok && out.contains("refusing to overwrite"), "{out}");
    assert_eq!(std::fs::read(&signed).unwrap(), b"someone else's file");
    let (ok, _, out) = run(&[
        "market",
        "sign",
        s,
        "--out",
        o,
        "--force",
        "--keys",
        k,
        "--payments",
        "sale",
    ]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read(&apk).unwrap(),
        original,
        "the input is untouched"
    );
    let root_pub = keys.join("root.pub");
    let (ok, _, out) = run(&["market", "verify", o, "--root", root_pub.to_str().unwrap()]);
    assert!(
        ok && out.contains("grants: payments sale; devices none"),
        "{out}"
    );

    // A revocation list is not overwritten either.
    let rev = tmp.path().join("rev.json");
    let r = rev.to_str().unwrap();
    let (ok, _, out) = run(&["market", "revoke", "--keys", k, "--serial", "1", "--out", r]);
    assert!(ok, "{out}");
    let (ok, _, out) = run(&["market", "revoke", "--keys", k, "--serial", "2", "--out", r]);
    assert!(!ok && out.contains("refusing to overwrite"), "{out}");
    let (ok, _, out) = run(&[
        "market", "revoke", "--keys", k, "--serial", "2", "--out", r, "--force",
    ]);
    assert!(ok, "{out}");
}
