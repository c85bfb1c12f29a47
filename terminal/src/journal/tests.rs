//! Journal unit tests: durability, reversal state, nonces, integrity.

use super::*;
use smartpos_core::engine::{JournalWrite, TxnStart};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Outcome, PaymentResult};
use smartpos_core::payment::{TransactionType, UnknownReason};
use smartpos_core::time::LocalTime;

/// The result of order O-5 (trace 5, batch 7) with this outcome.
fn result_of_o5(outcome: Outcome) -> PaymentResult {
    PaymentResult {
        order_id: "O-5".into(),
        kind: TransactionType::Sale,
        amount: Money::from_minor(1234, Currency::CNY).unwrap(),
        outcome,
        masked_pan: None,
        auth_code: None,
        reference: None,
        trace: 5,
        batch: 7,
        terminal_id: "T".into(),
        merchant_id: "M".into(),
        time: LocalTime::from_unix(0, 0),
        balance: None,
        method: Default::default(),
        wallet: None,
        chip: None,
    }
}

fn txn_start(trace: u32) -> TxnStart {
    TxnStart {
        caller: "com.example.shop".into(),
        order_id: format!("O-{trace}"),
        kind: TransactionType::Sale,
        amount: Money::from_minor(1234, Currency::CNY).unwrap(),
        trace,
        batch: 7,
        time: LocalTime::from_unix(0, 0),
    }
}

/// The commit before a sale's request leaves: recorded, reversal armed.
fn sending(trace: u32, masked_pan: &str, reversal: Option<Vec<u8>>) -> JournalWrite {
    JournalWrite::Sending {
        start: txn_start(trace),
        masked_pan: masked_pan.into(),
        reversal,
    }
}

#[test]
fn survives_reopen_and_tracks_reversal_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let mut j = Journal::open(&path).unwrap();
        j.apply(&JournalWrite::Counters {
            next_trace: 5,
            batch: 7,
        })
        .unwrap();
        j.apply(&sending(5, "622202*****0123", Some(vec![1, 2])))
            .unwrap();
    }
    let mut j = Journal::open(&path).unwrap();
    assert_eq!(j.counters().unwrap(), (6, 7));
    let e = j.find_by_order("com.example.shop", "O-5").unwrap().unwrap();
    assert_eq!(e.state, TxnState::Sent);
    assert!(!e.reversal_pending, "armed is not pending yet");
    let result = PaymentResult {
        masked_pan: Some("622202*****0123".into()),
        ..result_of_o5(Outcome::Unknown {
            reason: UnknownReason::NoResponse,
        })
    };
    j.apply(&JournalWrite::Outcome {
        trace: 5,
        batch: 7,
        start: None,
        result: Box::new(result.clone()),
        response_code: None,
        voids: None,
        advices: Vec::new(),
        reversal: None,
    })
    .unwrap();
    let e = j.find_by_order("com.example.shop", "O-5").unwrap().unwrap();
    assert_eq!(e.state, TxnState::Unknown);
    assert!(e.reversal_pending);
    assert_eq!(e.result.unwrap(), result);
    assert!(j.find_by_order("com.other", "O-5").unwrap().is_none());
}

#[test]
fn nonces_are_single_use_until_they_expire() {
    use smartpos_core::handoff::NonceStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    {
        let mut j = Journal::open(&path).unwrap();
        assert!(j.use_nonce("a", "n1", 100, 50).unwrap());
        assert!(j.use_nonce("b", "n1", 100, 50).unwrap(), "per caller");
    }
    let mut j = Journal::open(&path).unwrap();
    assert!(
        !j.use_nonce("a", "n1", 100, 60).unwrap(),
        "survives restart"
    );
    assert!(
        j.use_nonce("a", "n1", 300, 101).unwrap(),
        "purged after expiry"
    );
}

#[test]
fn outcome_for_unknown_transaction_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
    let err = j
        .apply(&JournalWrite::Outcome {
            trace: 5,
            batch: 7,
            start: None,
            result: Box::new(result_of_o5(Outcome::Approved)),
            response_code: Some("00".into()),
            voids: None,
            advices: Vec::new(),
            reversal: None,
        })
        .unwrap_err();
    assert!(matches!(err, JournalError::Missing { batch: 7, trace: 5 }));
    assert!(j.entries().unwrap().is_empty(), "rolled back whole");
}

#[test]
fn a_sale_that_ends_before_its_request_is_recorded_by_its_outcome() {
    // Declined at the card: nothing was sent, so one commit records it, declined.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).unwrap();
    let declined = Outcome::Declined(smartpos_core::payment::Declined::Cancelled);
    j.apply(&JournalWrite::Outcome {
        trace: 5,
        batch: 7,
        start: Some(txn_start(5)),
        result: Box::new(result_of_o5(declined.clone())),
        response_code: None,
        voids: None,
        advices: Vec::new(),
        reversal: None,
    })
    .unwrap();
    drop(j);
    let j = Journal::open(&path).unwrap();
    let e = j.find_by_order("com.example.shop", "O-5").unwrap().unwrap();
    assert_eq!(e.state, TxnState::Declined);
    assert_eq!(e.result.unwrap().outcome, declined);
    assert_eq!(j.counters().unwrap().0, 6, "its trace is used");
}

const PAN: &str = "6222021234567890123";

/// A journal with one sale left `sent`, its reversal armed with a message carrying the PAN.
fn journal_with_armed_reversal(path: &Path) {
    let mut j = Journal::open(path).unwrap();
    j.apply(&JournalWrite::Counters {
        next_trace: 5,
        batch: 7,
    })
    .unwrap();
    let mut msg = b"0400".to_vec();
    msg.extend_from_slice(PAN.as_bytes());
    j.apply(&sending(5, "622202*********0123", Some(msg)))
        .unwrap();
}

fn refused(path: &Path) -> String {
    match Journal::open(path) {
        Ok(_) => panic!("journal at {} was accepted", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn armed_reversal_is_encrypted_at_rest_and_decrypts_for_sending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    journal_with_armed_reversal(&path);
    let mut j = Journal::open(&path).unwrap();
    j.recover_interrupted(&smartpos_core::engine::EngineConfig::demo().identity)
        .unwrap();
    let pending = j.pending_reversals().unwrap();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].message.ends_with(PAN.as_bytes()));
    drop(j);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.windows(PAN.len()).any(|w| w == PAN.as_bytes()),
            "{} holds the card number",
            p.display()
        );
    }
}

#[test]
fn a_flipped_byte_in_a_row_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    journal_with_armed_reversal(&path);
    // Edit a row behind the terminal's back, as a person with the file would.
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE txns SET method = 'qr_scan', reference = 'X' WHERE trace = 5",
        [],
    )
    .unwrap();
    drop(raw);
    let e = refused(&path);
    assert!(e.contains("txns row 1 was changed"), "{e}");
}

#[test]
fn a_flipped_seal_is_found_and_verify_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    journal_with_armed_reversal(&path);
    assert!(Journal::open(&path).unwrap().verify().unwrap() >= 4);
    let raw = Connection::open(&path).unwrap();
    raw.execute("UPDATE seals SET link = zeroblob(32) WHERE seq = 2", [])
        .unwrap();
    drop(raw);
    let e = refused(&path);
    assert!(e.contains("record 2"), "{e}");
}

#[test]
fn every_byte_of_every_row_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    journal_with_armed_reversal(&path);
    let raw = Connection::open(&path).unwrap();
    let columns: Vec<String> = raw
        .prepare("SELECT name FROM pragma_table_info('txns')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(raw);
    let pristine = std::fs::read(&path).unwrap();
    let wal = dir.path().join("journal.db-wal");
    let pristine_wal = std::fs::read(&wal).ok();
    for col in columns.iter().filter(|c| *c != "id") {
        let raw = Connection::open(&path).unwrap();
        // Any change of value or type, including NULL <-> value.
        raw.execute(
            &format!("UPDATE txns SET {col} = CASE WHEN {col} IS NULL THEN 'x' ELSE CAST({col} AS BLOB) || X'00' END"),
            [],
        )
        .unwrap();
        drop(raw);
        let e = refused(&path);
        assert!(e.contains("changed"), "{col}: {e}");
        std::fs::write(&path, &pristine).unwrap();
        match &pristine_wal {
            Some(w) => std::fs::write(&wal, w).unwrap(),
            None => {
                let _ = std::fs::remove_file(&wal);
            }
        }
        let _ = std::fs::remove_file(dir.path().join("journal.db-shm"));
        Journal::open(&path).expect("restored journal opens");
    }
}

#[test]
fn emptied_deleted_and_rolled_back_journals_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    {
        let mut j = Journal::open(&path).unwrap();
        j.apply(&JournalWrite::Counters {
            next_trace: 5,
            batch: 7,
        })
        .unwrap();
    }
    // An older copy, taken now.
    let files = ["journal.db", "journal.db-wal"];
    let old: Vec<Option<Vec<u8>>> = files
        .iter()
        .map(|f| std::fs::read(dir.path().join(f)).ok())
        .collect();
    {
        let mut j = Journal::open(&path).unwrap();
        j.apply(&sending(5, "", None)).unwrap();
    }
    let current: Vec<Option<Vec<u8>>> = files
        .iter()
        .map(|f| std::fs::read(dir.path().join(f)).ok())
        .collect();
    let put = |set: &[Option<Vec<u8>>]| {
        let _ = std::fs::remove_file(dir.path().join("journal.db-shm"));
        for (f, b) in files.iter().zip(set) {
            match b {
                Some(b) => std::fs::write(dir.path().join(f), b).unwrap(),
                None => {
                    let _ = std::fs::remove_file(dir.path().join(f));
                }
            }
        }
    };

    put(&old);
    let e = refused(&path);
    assert!(e.contains("rolled back"), "{e}");

    put(&[Some(Vec::new()), None]);
    let e = refused(&path);
    assert!(e.contains("empty"), "{e}");

    put(&[None, None]);
    let e = refused(&path);
    assert!(e.contains("missing"), "{e}");
    assert!(!path.exists(), "a refused open creates nothing");

    // A journal of another terminal (another generation) put in its place.
    let other = tempfile::tempdir().unwrap();
    {
        let mut j = Journal::open(&other.path().join("journal.db")).unwrap();
        j.apply(&sending(5, "", None)).unwrap();
    }
    for f in files {
        let _ = std::fs::copy(other.path().join(f), dir.path().join(f));
    }
    let e = refused(&path);
    assert!(e.contains("not this terminal's journal"), "{e}");

    put(&current);
    let j = Journal::open(&path).expect("the right journal opens again");
    assert!(j
        .find_by_order("com.example.shop", "O-5")
        .unwrap()
        .is_some());
}

#[test]
fn a_deleted_anchor_or_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    journal_with_armed_reversal(&path);
    let files = JournalFiles::for_db(&path);
    let anchor = std::fs::read(&files.anchor).unwrap();
    std::fs::remove_file(&files.anchor).unwrap();
    assert!(refused(&path).contains("anchor"));
    std::fs::write(&files.anchor, &anchor).unwrap();
    std::fs::remove_file(&files.key).unwrap();
    assert!(refused(&path).contains("journal key"));
}

#[test]
fn a_torn_anchor_slot_falls_back_to_the_other_and_both_torn_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    journal_with_armed_reversal(&path);
    let files = JournalFiles::for_db(&path);
    let whole = std::fs::read(&files.anchor).unwrap();
    assert_eq!(whole.len(), 1024, "two 512-byte slots");
    let head = |bytes: &[u8]| -> Vec<i64> {
        bytes
            .chunks(512)
            .filter_map(|c| {
                let text = String::from_utf8_lossy(c);
                let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
                v["seq"].as_i64()
            })
            .collect()
    };
    let seqs = head(&whole);
    assert_eq!(seqs.len(), 2);
    assert_ne!(seqs[0], seqs[1], "the slots hold the last two heads");
    // A power cut tore the slot written last: the other (one commit behind) is taken and the
    // journal catches up.
    let newest = if seqs[0] > seqs[1] { 0 } else { 1 };
    let mut torn = whole.clone();
    torn[newest * 512 + 20..newest * 512 + 60].fill(b'#');
    std::fs::write(&files.anchor, &torn).unwrap();
    let j = Journal::open(&path).expect("the other slot stands");
    assert!(j
        .find_by_order("com.example.shop", "O-5")
        .unwrap()
        .is_some());
    drop(j);
    // Both torn (or edited): refused.
    let mut both = std::fs::read(&files.anchor).unwrap();
    both[20..60].fill(b'#');
    both[512 + 20..512 + 60].fill(b'#');
    std::fs::write(&files.anchor, &both).unwrap();
    assert!(refused(&path).contains("corrupt or was edited"));
    // One record in the file (as older terminals wrote it) is read as one slot.
    let one = &whole[newest * 512..newest * 512 + 512];
    std::fs::write(&files.anchor, String::from_utf8_lossy(one).trim()).unwrap();
    let mut j = Journal::open(&path).expect("a one-record anchor");
    j.apply(&JournalWrite::Counters {
        next_trace: 9,
        batch: 7,
    })
    .unwrap();
    drop(j);
    Journal::open(&path).expect("moved on from a one-record anchor");
}

#[test]
fn one_owner_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let first = Journal::open(&path).unwrap();
    let e = Journal::open_with(&path, std::time::Duration::from_millis(50))
        .err()
        .expect("second owner refused");
    assert!(matches!(e, JournalError::Busy { .. }), "{e}");
    drop(first);
    Journal::open_with(&path, std::time::Duration::from_millis(50)).expect("free again");
}

#[test]
fn one_row_per_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("journal.db")).unwrap();
    j.apply(&sending(5, "", None)).unwrap();
    let mut again = txn_start(6);
    again.order_id = "O-5".into();
    let again = JournalWrite::Sending {
        start: again,
        masked_pan: String::new(),
        reversal: None,
    };
    assert!(j.apply(&again).is_err());
    assert_eq!(j.entries().unwrap().len(), 1);
}

#[test]
fn a_later_batch_from_the_host_settles_what_the_terminal_still_held_approved() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("journal.db")).unwrap();
    j.apply(&JournalWrite::Counters {
        next_trace: 5,
        batch: 7,
    })
    .unwrap();
    j.apply(&sending(5, "", None)).unwrap();
    let approved = PaymentResult {
        reference: Some("000000000001".into()),
        ..result_of_o5(Outcome::Approved)
    };
    j.apply(&JournalWrite::Outcome {
        trace: 5,
        batch: 7,
        start: None,
        result: Box::new(approved),
        response_code: Some("00".into()),
        voids: None,
        advices: Vec::new(),
        reversal: None,
    })
    .unwrap();
    // The same batch again (a plain sign-in): nothing changes.
    j.apply(&JournalWrite::Counters {
        next_trace: 6,
        batch: 7,
    })
    .unwrap();
    assert_eq!(
        j.find_by_order("com.example.shop", "O-5")
            .unwrap()
            .unwrap()
            .state,
        TxnState::Approved
    );
    // The host has closed batch 7 (its 0510 was lost): sign-in brings batch 8.
    j.apply(&JournalWrite::Counters {
        next_trace: 6,
        batch: 8,
    })
    .unwrap();
    assert_eq!(
        j.find_by_order("com.example.shop", "O-5")
            .unwrap()
            .unwrap()
            .state,
        TxnState::Settled
    );
}
