//! The APK verifier against Debian's apksig (the library inside `apksigner`) over the apksig
//! conformance corpus, file by file, at the SDK levels terminals run. Our Android verdict
//! (`Apk::verify`) must agree with apksig: where we accept, apksig accepts too (never laxer),
//! except where the peer itself cannot run an algorithm on this JVM; every file where our Android
//! verdict is stricter is listed with its reason. On top, every file Android accepts and the
//! bank's policy refuses is listed with the rule. Both lists live in
//! `sdk-docs/src/bank/apk-corpus.md` (regenerate with `SMARTPOS_BLESS=1`).

use smartpos_apk::Apk;
use std::collections::BTreeMap;
use std::path::Path;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/apksig-corpus");
const DOC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sdk-docs/src/bank/apk-corpus.md"
);
const LEVELS: [u32; 3] = [24, 28, 33];
const BEGIN: &str = "<!-- disagreements:begin -->";
const END: &str = "<!-- disagreements:end -->";

fn apksig(sdk: u32, classes: &Path) -> BTreeMap<String, (bool, String)> {
    smartpos_tests::apksig::verdicts(Path::new(CORPUS), &sdk.to_string(), classes)
}

#[test]
fn verdicts_agree_with_apksig_or_are_stricter_and_documented() {
    let classes = smartpos_tests::apksig::compile();

    let mut stricter = Vec::new();
    let mut by_policy = Vec::new();
    let mut peer_cannot = Vec::new();
    let mut agree = 0;
    let mut laxer = Vec::new();
    for sdk in LEVELS {
        let peer = apksig(sdk, classes.path());
        assert!(peer.len() > 300, "the corpus has {} APKs", peer.len());
        for (name, (peer_ok, peer_why)) in &peer {
            let ours = Apk::open(&Path::new(CORPUS).join(name)).and_then(|mut a| a.verify(sdk));
            if let (Ok(v), true) = (&ours, *peer_ok) {
                if let Err(r) = smartpos_apk::policy::check(v) {
                    by_policy.push(format!(
                        "| {sdk} | `{name}` | `{}` | {} |",
                        r.rule.name(),
                        r.reason
                    ));
                }
            }
            match (&ours, *peer_ok) {
                (Ok(_), true) | (Err(_), false) => agree += 1,
                (Err(e), true) => stricter.push(format!("| {sdk} | `{name}` | {e} |")),
                (Ok(v), false) => {
                    // apksig 31.0.2 cannot run RSA-PSS on this JVM and predates scheme v3.1
                    if !(peer_why.contains("NoSuchAlgorithmException")
                        || v.scheme == smartpos_apk::Scheme::V31)
                    {
                        laxer.push(format!("SDK {sdk}: {name}: apksig says {peer_why}"));
                        continue;
                    }
                    peer_cannot.push(format!("| {sdk} | `{name}` | {peer_why} |"));
                }
            }
        }
    }
    assert!(
        laxer.is_empty(),
        "LAXER than apksig in {} cases:\n{}",
        laxer.len(),
        laxer.join("\n")
    );
    let table = format!(
        "{BEGIN}\n\nOur Android verdict refuses, apksig accepts ({} cases):\n\n| SDK | file | our reason |\n|---|---|---|\n{}\n\n\
         Android accepts, the bank's policy refuses ({} cases):\n\n| SDK | file | rule | why |\n|---|---|---|---|\n{}\n\n\
         We accept, apksig 31.0.2 on this JVM cannot check it: RSA-PSS, or scheme v3.1, which it predates ({} cases):\n\n| SDK | file | apksig's error |\n|---|---|---|\n{}\n\n{END}",
        stricter.len(),
        stricter.join("\n"),
        by_policy.len(),
        by_policy.join("\n"),
        peer_cannot.len(),
        peer_cannot.join("\n"),
    );
    let doc = std::fs::read_to_string(DOC).unwrap_or_default();
    let current = match (doc.find(BEGIN), doc.find(END)) {
        (Some(a), Some(b)) => doc[a..b + END.len()].to_string(),
        _ => String::new(),
    };
    if current != table {
        if std::env::var("SMARTPOS_BLESS").is_ok() {
            let new = match (doc.find(BEGIN), doc.find(END)) {
                (Some(a), Some(b)) => format!("{}{table}{}", &doc[..a], &doc[b + END.len()..]),
                _ => format!("{doc}\n{table}\n"),
            };
            std::fs::write(DOC, new).unwrap();
        } else {
            panic!(
                "the documented disagreements are out of date ({agree} verdicts agree); \
                 run with SMARTPOS_BLESS=1 and review sdk-docs/src/bank/apk-corpus.md"
            );
        }
    }
    println!(
        "apksig corpus: {agree} Android verdicts agree, {} stricter (documented), {} refused by the bank's policy, {} the peer cannot check",
        stricter.len(),
        by_policy.len(),
        peer_cannot.len()
    );
}
