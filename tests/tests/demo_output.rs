//! Issue 2: the demo approves a sale and the full PAN appears in no output, receipt or journal result.

#[tokio::test]
async fn demo_approves_and_never_shows_the_full_pan() {
    let dir = tempfile::tempdir().unwrap();
    let report = smartpos_cli::demo::run(dir.path(), None)
        .await
        .expect("demo runs");
    assert_eq!(
        report.result.outcome,
        smartpos_core::payment::Outcome::Approved
    );
    let pan = &smartpos_testing::acquirer::cards::standard_cards()[0].pan;
    assert!(report.transcript.contains("622202*********0123"));
    assert!(
        !report.transcript.contains(pan.as_str()),
        "full PAN in demo output"
    );
    let png = std::fs::read(&report.receipt_png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // The journal keeps only masked PANs in readable columns; the PAN is in no text column.
    let db = std::fs::read(dir.path().join("terminal-data/journal.db")).unwrap();
    let wal = std::fs::read(dir.path().join("terminal-data/journal.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(pan.len()).any(|w| w == pan.as_bytes()),
            "clear PAN text in journal"
        );
    }
}
