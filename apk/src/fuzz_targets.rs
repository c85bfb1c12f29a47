//! The bodies of the APK fuzz targets in `fuzz/` (the parsers of untrusted APKs), run by the
//! fuzzers (nightly) and by the corpus replay (every test run, stable).

use std::io::Cursor;

/// Fuzz target names, as directories under `fuzz/corpus/`.
pub const TARGETS: [&str; 3] = ["apk_zip", "signing_block", "binary_manifest"];

/// Runs target `name` on `data`; `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "apk_zip" => apk_zip(data),
        "signing_block" => signing_block(data),
        "binary_manifest" => binary_manifest(data),
        _ => return false,
    }
    true
}

/// Any bytes as an APK: ZIP layout, signing block, manifest, and full verification at two
/// SDK levels.
pub fn apk_zip(data: &[u8]) {
    if let Ok(mut apk) = crate::Apk::new(Cursor::new(data)) {
        let _ = apk.verify(24);
        let _ = apk.verify(33);
        let _ = crate::manifest::read_manifest(&mut apk.reader, &apk.zip);
    }
}

/// Any bytes as an APK Signing Block.
pub fn signing_block(data: &[u8]) {
    if let Ok(block) = crate::block::SigningBlock::parse(data, 0) {
        // What parses re-encodes to the same bytes.
        assert_eq!(crate::block::SigningBlock::encode(&block.pairs), data);
    }
}

/// Any bytes as a binary (AXML) AndroidManifest.xml.
pub fn binary_manifest(data: &[u8]) {
    let _ = crate::manifest::parse_axml(data);
}

#[cfg(test)]
mod replay_tests {
    /// Every file of every APK target's corpus in `fuzz/corpus/`, through its target.
    #[test]
    fn every_corpus_file_replays_without_a_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let total = smartpos_core::fuzz_targets::replay(&root, &super::TARGETS, super::run);
        println!(
            "fuzz corpus replay: {total} files through {} APK targets",
            super::TARGETS.len()
        );
    }
}
