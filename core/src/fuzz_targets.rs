//! The bodies of the cargo-fuzz targets in `fuzz/`, one function per untrusted parser, so the
//! fuzzers (nightly) and the corpus replay (every test run, stable) run exactly the same code.
//! Each takes any bytes and must return without panicking; where a property holds beyond that
//! (a decoded frame re-encodes to itself), it asserts it.

/// Fuzz target names, as directories under `fuzz/corpus/` (the APK targets are in
/// `smartpos_apk::fuzz_targets`).
pub const TARGETS: [&str; 3] = ["handoff_request", "iso8583_frame", "result_link"];

/// Runs target `name` on `data`; `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "handoff_request" => handoff_request(data),
        "iso8583_frame" => iso8583_frame(data),
        "result_link" => result_link(data),
        _ => return false,
    }
    true
}

/// Any bytes as a deep link, as a deep link's query, and as intent extras.
pub fn handoff_request(data: &[u8]) {
    use crate::handoff::{Carrier, HandoffRequest};
    let text = String::from_utf8_lossy(data);
    let _ = HandoffRequest::from_deep_link(&text, 1_700_000_000);
    let _ = HandoffRequest::from_deep_link(&format!("smartpos://pay/v1?{text}"), 1_700_000_000);
    let _ = HandoffRequest::from_pairs(&lines_as_pairs(&text), Carrier::Intent, 1_700_000_000);
}

/// Any bytes as a host frame; whatever decodes re-encodes and decodes to the same frame.
pub fn iso8583_frame(data: &[u8]) {
    use crate::iso8583::{Frame, CUP_FIELDS};
    if let Ok(frame) = Frame::decode(data, &CUP_FIELDS) {
        let again = frame
            .encode(&CUP_FIELDS)
            .expect("a decoded frame re-encodes");
        assert_eq!(
            Frame::decode(&again, &CUP_FIELDS).expect("and decodes"),
            frame
        );
    }
}

/// Any bytes as the result deep link a merchant app receives, and as result extras.
pub fn result_link(data: &[u8]) {
    use crate::handoff::SignedResult;
    let text = String::from_utf8_lossy(data);
    let key = crate::handoff::TerminalKey::from_secret(&[7; 32]).public_hex();
    if let Ok(r) = SignedResult::from_callback_uri(&text) {
        let _ = r.verify(&key);
    }
    if let Ok(r) = SignedResult::from_callback_uri(&format!("shop://done?{text}")) {
        let _ = r.verify(&key);
    }
    if let Ok(r) = SignedResult::from_intent_extras(&lines_as_pairs(&text)) {
        let _ = r.verify(&key);
    }
}

fn lines_as_pairs(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Replays every file of each target's corpus in `corpus_root/<target>` through `run`,
/// panicking on an empty or missing corpus or an unknown target; returns the number of files.
/// The stable test suites of this crate and of `smartpos-apk` call it, so what the fuzzers
/// found and kept stays fixed in every test run.
pub fn replay(
    corpus_root: &std::path::Path,
    targets: &[&str],
    run: impl Fn(&str, &[u8]) -> bool,
) -> usize {
    let mut total = 0;
    for target in targets {
        let dir = corpus_root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
            .map(|e| e.expect("a readable corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "corpus of {target} is empty");
        for f in &files {
            let data = std::fs::read(f).expect("a readable corpus file");
            assert!(run(target, &data), "unknown fuzz target {target}");
        }
        total += files.len();
    }
    total
}

#[cfg(test)]
mod replay_tests {
    /// Every file of every target's corpus in `fuzz/corpus/`, through its target.
    #[test]
    fn every_corpus_file_replays_without_a_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let total = super::replay(&root, &super::TARGETS, super::run);
        println!(
            "fuzz corpus replay: {total} files through {} targets",
            super::TARGETS.len()
        );
    }
}
