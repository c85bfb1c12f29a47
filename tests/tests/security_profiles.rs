//! Issue 3: the acquirer profile's key algorithm (DES or SM4) and PIN-block format reach the
//! PIN pad, the messages and the host simulator, which read the same profile.

use smartpos_core::crypto::{KeyAlgorithm, PinBlockFormat};
use smartpos_core::engine::SettlementOutcome;
use smartpos_core::iso8583::{Frame, LenRule};
use smartpos_core::payment::{Declined, Outcome};
use smartpos_core::profile::AcquirerProfile;
use smartpos_testing::sim::PinScript;
use smartpos_tests::{good_card, rig, sale, RigOptions};

fn profile(algorithm: KeyAlgorithm, pin_block: PinBlockFormat) -> AcquirerProfile {
    AcquirerProfile {
        key_algorithm: algorithm,
        pin_block,
        ..AcquirerProfile::cup_default()
    }
}

/// The requests the host received that carry a PIN block, decoded with `p`'s field table.
fn pin_requests(
    frames: &std::path::Path,
    p: &AcquirerProfile,
) -> Vec<smartpos_core::iso8583::Message> {
    std::fs::read_to_string(frames)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["dir"] == "req")
        .map(|v| {
            Frame::decode(
                &hex::decode(v["hex"].as_str().unwrap()).unwrap(),
                p.fields(),
            )
        })
        .map(|f| f.unwrap().message)
        .filter(|m| m.has(52))
        .collect()
}

#[tokio::test]
async fn sm4_profile_runs_sale_wrong_pin_void_balance_and_settlement() {
    let p = profile(KeyAlgorithm::Sm4, PinBlockFormat::WithPan);
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames.jsonl");
    let pins = ["123456", "999999", "123456"];
    let mut r = rig(RigOptions {
        profile: p.clone(),
        cards: vec![good_card(); 4],
        pins: pins.iter().map(|p| PinScript::Pin((*p).into())).collect(),
        frames: Some(frames.clone()),
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.unwrap();
    let s = r.terminal.sale(sale("SM4-1")).await.unwrap();
    assert_eq!(s.outcome, Outcome::Approved, "{s:?}");
    let wrong = r.terminal.sale(sale("SM4-2")).await.unwrap();
    assert!(
        matches!(&wrong.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "55"),
        "a wrong PIN under SM4 is refused by the host as a wrong PIN: {wrong:?}"
    );
    let v = r
        .terminal
        .void(
            "com.example.merchant",
            "SM4-1-void",
            s.reference.as_deref().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(v.outcome, Outcome::Approved, "void is MACed with SM4");
    let b = r
        .terminal
        .balance(
            "com.example.merchant",
            "SM4-B",
            smartpos_core::money::Currency::CNY,
        )
        .await
        .unwrap();
    assert_eq!(b.outcome, Outcome::Approved);
    let settled = r.terminal.settle().await.unwrap();
    assert_eq!(settled, SettlementOutcome::Balanced);

    let with_pin = pin_requests(&frames, &p);
    assert_eq!(
        with_pin.len(),
        3,
        "sale, wrong-PIN sale and inquiry carry PINs"
    );
    for m in &with_pin {
        assert_eq!(m.get(52).unwrap().len(), 16, "an SM4 PIN block is 16 bytes");
        assert_eq!(m.get_str(53), Some("2400000000000000"));
    }
    assert_eq!(p.fields()[52].unwrap().len, LenRule::Fixed(16));
}

#[tokio::test]
async fn pin_blocks_without_the_card_number_work_with_des_and_sm4() {
    for algorithm in [KeyAlgorithm::Des, KeyAlgorithm::Sm4] {
        let p = profile(algorithm, PinBlockFormat::WithoutPan);
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames.jsonl");
        let mut r = rig(RigOptions {
            profile: p.clone(),
            frames: Some(frames.clone()),
            ..Default::default()
        })
        .await;
        r.terminal.sign_in().await.unwrap();
        let s = r.terminal.sale(sale("NP-1")).await.unwrap();
        assert_eq!(s.outcome, Outcome::Approved, "{algorithm:?}: {s:?}");
        let m = &pin_requests(&frames, &p)[0];
        assert_eq!(m.get_str(53).unwrap().chars().next(), Some('1'));
        assert_eq!(m.get(52).unwrap().len(), algorithm.block_len());
    }
}

#[tokio::test]
async fn a_terminal_sending_another_pin_format_gets_99_and_is_not_charged() {
    let mut r = rig(RigOptions {
        profile: profile(KeyAlgorithm::Des, PinBlockFormat::WithoutPan),
        terminal_profile: Some(profile(KeyAlgorithm::Des, PinBlockFormat::WithPan)),
        ..Default::default()
    })
    .await;
    r.terminal.sign_in().await.unwrap();
    let before = r.host.acquirer.lock().unwrap().state().cards[0].balance;
    let s = r.terminal.sale(sale("PF-99")).await.unwrap();
    assert!(
        matches!(&s.outcome, Outcome::Declined(Declined::Host { code, .. }) if code == "99"),
        "{s:?}"
    );
    assert_eq!(
        r.host.acquirer.lock().unwrap().state().cards[0].balance,
        before
    );
}

#[tokio::test]
async fn a_des_terminal_refuses_sm4_working_keys_at_sign_in() {
    let mut r = rig(RigOptions {
        profile: profile(KeyAlgorithm::Sm4, PinBlockFormat::WithPan),
        terminal_profile: Some(profile(KeyAlgorithm::Des, PinBlockFormat::WithPan)),
        ..Default::default()
    })
    .await;
    let e = r.terminal.sign_in().await.unwrap_err();
    assert!(e.to_string().contains("working keys"), "{e}");
    // Not signed in: a sale is refused before anything is sent.
    let s = r.terminal.sale(sale("KEYS-1")).await;
    assert!(
        !matches!(s, Ok(ref x) if x.outcome == Outcome::Approved),
        "{s:?}"
    );
}
