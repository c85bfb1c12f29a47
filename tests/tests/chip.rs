//! Chip cards end to end in process: the simulated EMV card computes a genuine ARQC for each
//! transaction, the simulator's issuer verifies it and answers with tag 91 (ARPC method 1 and
//! the response code), and the card checks the ARPC before it accepts. Every chip request's and
//! response's field 55 is decoded by an independent decoder (PyPI `pyemv`) and carries the tags
//! the CUP profile asks for.

use smartpos_core::crypto::CipherKey;
use smartpos_core::emv::tlv::{self, Tag};
use smartpos_core::engine::{EngineConfig, LinkFailure, LinkFailureKind, TransportFailure};
use smartpos_core::iso8583::Frame;
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, PaymentRequest, PaymentResult};
use smartpos_core::profile::AcquirerProfile;
use smartpos_core::receipt::{job_text, receipt_job, Copy};
use smartpos_core::time::LocalTime;
use smartpos_terminal::journal::{Journal, TxnState};
use smartpos_terminal::store::HostExchange;
use smartpos_terminal::Terminal;
use smartpos_testing::acquirer::{cards, Acquirer, TEST_TMK_HEX};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request frame and the host's answer.
type Exchange = (Vec<u8>, Vec<u8>);

/// The acquirer simulator in process, keeping every exchange.
#[derive(Clone)]
struct RecordingHost {
    acquirer: Arc<Mutex<Acquirer>>,
    frames: Arc<Mutex<Vec<Exchange>>>,
}

impl HostExchange for RecordingHost {
    fn exchange(
        &self,
        frame: Vec<u8>,
        _timeout: Duration,
    ) -> impl Future<Output = Result<Vec<u8>, TransportFailure>> + Send {
        let answer = self.acquirer.lock().unwrap().handle(&frame, now());
        if let Ok(a) = &answer {
            self.frames.lock().unwrap().push((frame, a.clone()));
        }
        async move {
            answer.map_err(|e| {
                TransportFailure::NoAnswer(LinkFailure::new(
                    LinkFailureKind::HttpStatus(400),
                    e.to_string(),
                ))
            })
        }
    }
}

/// The simulator with the CUP default profile, recording every exchange.
fn cup_host() -> RecordingHost {
    RecordingHost {
        acquirer: Arc::new(Mutex::new(Acquirer::new(AcquirerProfile::cup_default()))),
        frames: Arc::new(Mutex::new(Vec::new())),
    }
}

fn now() -> LocalTime {
    LocalTime::from_unix(1_795_000_000, 8 * 3600)
}

fn card(pan: &str) -> &'static cards::TestCard {
    let all: &'static Vec<cards::TestCard> = Box::leak(Box::new(cards::standard_cards()));
    all.iter().find(|c| c.pan == pan).expect("a test card")
}

/// One chip sale of `minor` on the test card `pan`; returns its outcome.
async fn chip_sale(
    host: &RecordingHost,
    dir: &std::path::Path,
    pan: &str,
    contactless: bool,
    minor: u64,
) -> Outcome {
    chip_sale_with(
        host,
        dir,
        pan,
        contactless,
        minor,
        PinScript::Pin("123456".into()),
    )
    .await
    .outcome
}

/// One chip sale whose customer does `pin` if a PIN is asked.
async fn chip_sale_with(
    host: &RecordingHost,
    dir: &std::path::Path,
    pan: &str,
    contactless: bool,
    minor: u64,
    pin: PinScript,
) -> PaymentResult {
    let config = EngineConfig::demo();
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
    let mut t = Terminal::new(
        config,
        Journal::open(&dir.join("journal.db")).unwrap(),
        host.clone(),
        Box::new(SimCardReader::new([CardScript::Emv {
            track2: cards::track2(card(pan)),
            psn: "01".into(),
            contactless,
        }])),
        Box::new(SimPinPad::new(master, [pin])),
        Box::new(now),
    )
    .unwrap();
    t.sign_in().await.unwrap();
    let order = format!("CHIP-{pan}-{minor}");
    let r = t
        .sale(PaymentRequest::sale(
            "com.shop",
            &order,
            Money::from_minor(minor, Currency::CNY).unwrap(),
        ))
        .await
        .unwrap();
    r
}

/// The request tags the CUP profile asks of a chip transaction's field 55.
const REQUEST_TAGS: [u32; 20] = [
    0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03,
    0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41,
];

#[tokio::test]
async fn chip_scenarios_by_test_card_with_field_55_checked_independently() {
    let host = cup_host();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // approve, contact and contactless
    assert_eq!(
        chip_sale(&host, d, "6222021234567890123", false, 1000).await,
        Outcome::Approved
    );
    assert_eq!(
        chip_sale(&host, d, "6228480000000000018", true, 1100).await,
        Outcome::Approved
    );
    // the issuer declines (insufficient funds above 1.00): the card is not asked to accept
    match chip_sale(&host, d, "6222020000000000055", false, 1200).await {
        Outcome::Declined(Declined::Host { code, .. }) => assert_eq!(code, "51"),
        other => panic!("issuer decline: {other:?}"),
    }
    // the issuer's ARPC is wrong: the card declines after approval, the terminal reverses
    assert_eq!(
        chip_sale(&host, d, cards::WRONG_ARPC_PAN, false, 1300).await,
        Outcome::Declined(Declined::ByCard)
    );
    // an issuer script rides on the approval
    assert_eq!(
        chip_sale(&host, d, cards::SCRIPT_PAN, false, 1400).await,
        Outcome::Approved
    );

    let journal = Journal::open(&d.join("journal.db")).unwrap();
    let by_arpc = journal
        .find_by_order("com.shop", &format!("CHIP-{}-1300", cards::WRONG_ARPC_PAN))
        .unwrap()
        .unwrap();
    assert_eq!(by_arpc.state, TxnState::Reversed, "reversed at once");
    let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
    let wrong = ledger.iter().find(|e| e.amount_minor == 1300).unwrap();
    assert_eq!(wrong.response_code, "00");
    assert!(!wrong.charged(), "the host's approval was reversed");

    // Every chip request and its answer: field 55 as the profile wants it.
    let fields = AcquirerProfile::cup_default().fields();
    let mut hexes = Vec::new();
    let mut chip_requests = 0;
    for (req, resp) in host.frames.lock().unwrap().iter() {
        let req = Frame::decode(req, fields).unwrap().message;
        let resp = Frame::decode(resp, fields).unwrap().message;
        let Some(f55) = req.get(55) else { continue };
        if !matches!(req.mti.value(), 100 | 200) {
            continue;
        }
        chip_requests += 1;
        let f22 = req.get_str(22).unwrap();
        assert!(f22.starts_with("05") || f22.starts_with("07"), "F22 {f22}");
        assert_eq!(req.get_str(23), Some("001"), "card sequence number");
        let list = tlv::decode(f55).unwrap();
        for t in REQUEST_TAGS {
            assert!(
                tlv::find(&list, Tag(t)).is_some(),
                "request F55 lacks {:X}",
                t
            );
        }
        let answer = resp.get(55).expect("a chip answer carries field 55");
        let alist = tlv::decode(answer).unwrap();
        let auth = tlv::find(&alist, Tag(0x91)).expect("tag 91");
        assert_eq!(auth.len(), 10, "ARPC (8) and ARC (2)");
        assert_eq!(
            &auth[8..],
            resp.get(39).unwrap(),
            "the ARC is the response code"
        );
        hexes.push(hex::encode_upper(f55));
        hexes.push(hex::encode_upper(answer));
    }
    assert_eq!(chip_requests, 5, "five chip requests");

    // pyemv decodes every one, and finds the same tags and values.
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../.cache/venv/bin/python");
    let python = std::env::var("SMARTPOS_PYTHON").unwrap_or_else(|_| venv.to_string());
    let script = "import sys, json\nfrom pyemv import tlv\nout = []\nfor h in json.load(sys.stdin):\n    d = tlv.decode(bytes.fromhex(h), flatten=True)\n    out.append({k: v.hex().upper() for k, v in d.items()})\njson.dump(out, sys.stdout)\n";
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{python}: {e} (scripts/test.sh builds .cache/venv with pyemv)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&hexes).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), hexes.len());
    for (h, t) in hexes.iter().zip(&theirs) {
        let bytes = hex::decode(h).unwrap();
        let ours = tlv::decode(&bytes).unwrap();
        // flattened: constructed values (72) open into their children on pyemv's side
        for o in ours.iter().filter(|o| !o.tag.constructed()) {
            assert_eq!(
                t.get(&o.tag.to_string()).and_then(|v| v.as_str()),
                Some(hex::encode_upper(o.value).as_str()),
                "tag {} of {h}",
                o.tag
            );
        }
        if ours.iter().any(|o| o.tag == Tag(0x72)) {
            assert!(
                t.contains_key("9F18") && t.contains_key("86"),
                "the script's commands"
            );
        }
    }
}

/// The frame of the last financial request the host saw.
fn last_request(host: &RecordingHost) -> smartpos_core::iso8583::Message {
    let fields = AcquirerProfile::cup_default().fields();
    let frames = host.frames.lock().unwrap();
    let (q, _) = frames.last().expect("a request");
    Frame::decode(q, fields).unwrap().message
}

fn receipt(r: &PaymentResult) -> String {
    job_text(&receipt_job(
        r,
        &EngineConfig::demo().identity,
        Copy::Merchant,
        None,
    ))
    .join("\n")
}

#[tokio::test]
async fn contactless_under_the_limit_asks_no_pin_and_needs_no_signature_over_it_online_pin() {
    let host = cup_host();
    let dir = tempfile::tempdir().unwrap();
    let limit = AcquirerProfile::cup_default().contactless.no_pin_minor;
    // At the limit: a PIN prompt would be cancelled, so an approval proves none was asked.
    let under = chip_sale_with(
        &host,
        dir.path(),
        "6222021234567890123",
        true,
        limit,
        PinScript::Cancel,
    )
    .await;
    assert_eq!(under.outcome, Outcome::Approved);
    let q = last_request(&host);
    assert_eq!(q.get_str(22), Some("072"), "contactless, no PIN");
    assert!(q.get(52).is_none(), "no PIN block");
    let chip = under.chip.clone().expect("chip details");
    assert!(chip.no_pin && chip.no_signature);
    let text = receipt(&under);
    assert!(text.contains("NO SIGNATURE REQUIRED"), "{text}");
    assert!(!text.contains("CARDHOLDER SIGNATURE"), "{text}");
    assert!(
        text.contains("CONTACTLESS") && text.contains("AID: A000000333010101"),
        "{text}"
    );
    assert!(
        text.contains("APP: UnionPay Debit") && text.contains("TC: "),
        "{text}"
    );
    // Over it: online PIN, and a signature line.
    let over = chip_sale_with(
        &host,
        dir.path(),
        "6222021234567890123",
        true,
        limit + 1,
        PinScript::Pin("123456".into()),
    )
    .await;
    assert_eq!(over.outcome, Outcome::Approved);
    let q = last_request(&host);
    assert_eq!(q.get_str(22), Some("071"), "contactless, PIN");
    assert!(q.get(52).is_some(), "an online PIN block");
    assert!(!over.chip.as_ref().unwrap().no_signature);
    let text = receipt(&over);
    assert!(text.contains("CARDHOLDER SIGNATURE"), "{text}");
    assert!(!text.contains("NO SIGNATURE REQUIRED"), "{text}");
    // A contact chip card always asks for the PIN, whatever the amount.
    let contact = chip_sale_with(
        &host,
        dir.path(),
        "6222021234567890123",
        false,
        100,
        PinScript::Pin("123456".into()),
    )
    .await;
    assert_eq!(contact.outcome, Outcome::Approved);
    assert_eq!(last_request(&host).get_str(22), Some("051"));
    assert!(receipt(&contact).contains("CHIP"));
}

/// The first half's other outcomes: a chip that cannot be used falls back to a swipe (F22 80x,
/// no field 55, the card not asked after approval); a chip that declines offline sends nothing.
#[tokio::test]
async fn fallback_to_swipe_and_offline_decline() {
    let host = cup_host();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::demo();
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
    let track2 = cards::track2(card("6222021234567890123"));
    let mut t = Terminal::new(
        config,
        Journal::open(&dir.path().join("journal.db")).unwrap(),
        host.clone(),
        Box::new(SimCardReader::new([
            CardScript::ChipFails,
            CardScript::Card {
                track2,
                entry_mode: smartpos_core::card::EntryMode::MagStripe,
            },
            CardScript::DeclinedOffline,
        ])),
        Box::new(SimPinPad::new(master, [PinScript::Pin("123456".into())])),
        Box::new(now),
    )
    .unwrap();
    t.sign_in().await.unwrap();
    let amount = Money::from_minor(2500, Currency::CNY).unwrap();
    let fallback = t
        .sale(PaymentRequest::sale("com.shop", "FB-1", amount))
        .await
        .unwrap();
    assert_eq!(fallback.outcome, Outcome::Approved);
    assert!(fallback.chip.is_none(), "a swipe has no chip details");
    let q = last_request(&host);
    assert_eq!(q.get_str(22), Some("801"), "fallback swipe with PIN");
    assert!(q.get(55).is_none());
    let before = host.frames.lock().unwrap().len();
    let offline = t
        .sale(PaymentRequest::sale("com.shop", "OFF-1", amount))
        .await
        .unwrap();
    assert_eq!(offline.outcome, Outcome::Declined(Declined::CardOffline));
    assert_eq!(
        host.frames.lock().unwrap().len(),
        before,
        "nothing went online"
    );
}

/// The 60.3 codes of the management messages the host saw, in order.
fn management_codes(host: &RecordingHost) -> Vec<String> {
    let fields = AcquirerProfile::cup_default().fields();
    host.frames
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(q, _)| {
            let m = Frame::decode(q, fields).unwrap().message;
            matches!(m.mti.value(), 800 | 820)
                .then(|| m.get_str(60).unwrap_or_default()[8..11].to_string())
        })
        .collect()
}

/// A terminal with a shared simulated reader holding `cards`.
fn terminal_with(
    host: &RecordingHost,
    dir: &std::path::Path,
    reader: Arc<SimCardReader>,
    pins: Vec<PinScript>,
) -> Terminal<Journal, RecordingHost> {
    let config = EngineConfig::demo();
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
    Terminal::new(
        config,
        Journal::open(&dir.join("journal.db")).unwrap(),
        host.clone(),
        Box::new(reader),
        Box::new(SimPinPad::new(master, pins)),
        Box::new(now),
    )
    .unwrap()
}

/// Sign-in downloads the CA public keys (0820 372, 0800 370 each, 0800 371) and the IC
/// parameters (382, 380, 381), keeps them, and loads them into the kernel; the next sign-in
/// and a restart use what was kept without downloading again, until the host asks.
#[tokio::test]
async fn sign_in_downloads_ca_keys_and_ic_parameters_and_keeps_them() {
    let host = cup_host();
    let served = host.acquirer.lock().unwrap().emv_parameters_mut().clone();
    assert_eq!((served.ca_keys.len(), served.aids.len()), (2, 3));
    let dir = tempfile::tempdir().unwrap();
    let reader = Arc::new(SimCardReader::new([]));
    let mut t = terminal_with(&host, dir.path(), reader.clone(), vec![]);
    t.sign_in().await.unwrap();
    // Listings carry two entries an answer: the keys in one, the three AIDs in two.
    assert_eq!(
        management_codes(&host),
        ["003", "372", "370", "370", "371", "382", "382", "380", "380", "380", "381"]
    );
    assert_eq!(reader.loaded_parameters().as_ref(), Some(&served));
    t.sign_in().await.unwrap();
    assert_eq!(management_codes(&host).len(), 12, "no second download");
    drop(t);
    // What the download brought reads back from the store through the same checks.
    let kept = Journal::open(&dir.path().join("journal.db"))
        .unwrap()
        .emv_parameters()
        .unwrap();
    assert_eq!(kept.as_ref(), Some(&served));
    // A restart: the kernel of the new process is loaded from the store at sign-in.
    let reader = Arc::new(SimCardReader::new([]));
    let mut t = terminal_with(&host, dir.path(), reader.clone(), vec![]);
    t.sign_in().await.unwrap();
    assert_eq!(management_codes(&host).len(), 13, "sign-in only");
    assert_eq!(reader.loaded_parameters().as_ref(), Some(&served));
    // An explicit download replaces what was kept (a key the host withdrew is gone).
    host.acquirer
        .lock()
        .unwrap()
        .emv_parameters_mut()
        .ca_keys
        .retain(|k| k.index != 0x08);
    let now_kept = t.download_emv_parameters().await.unwrap();
    assert_eq!(now_kept.ca_keys.len(), 1);
    assert_eq!(reader.loaded_parameters().unwrap().ca_keys.len(), 1);
}

/// The contactless no-PIN limit comes from the downloaded CVM limit (DF21) of the card's AID:
/// a host limit of 300.00 makes a 500.00 tap ask for the PIN although the profile's default
/// limit is 1,000.00. Without a CA key for the card's issuer the kernel reports that offline
/// data authentication was not performed (TVR byte 1 bit 8) and the sale still goes online;
/// without parameters for its AID the card falls back to the stripe.
#[tokio::test]
async fn downloaded_parameters_drive_the_kernel_and_the_pin_decision() {
    let host = cup_host();
    for a in &mut host.acquirer.lock().unwrap().emv_parameters_mut().aids {
        a.cvm_limit_minor = Some(30_000);
    }
    assert!(AcquirerProfile::cup_default().contactless.no_pin_minor > 50_000);
    let dir = tempfile::tempdir().unwrap();
    let pan = "6222021234567890123";
    let tap = || CardScript::Emv {
        track2: cards::track2(card(pan)),
        psn: "01".into(),
        contactless: true,
    };
    let reader = Arc::new(SimCardReader::new([tap(), tap()]));
    let mut t = terminal_with(
        &host,
        dir.path(),
        reader.clone(),
        // one PIN over the limit, one for the fallback swipe
        vec![
            PinScript::Pin("123456".into()),
            PinScript::Pin("123456".into()),
        ],
    );
    t.sign_in().await.unwrap();
    let sale = |order: &str, minor| {
        PaymentRequest::sale(
            "com.shop",
            order,
            Money::from_minor(minor, Currency::CNY).unwrap(),
        )
    };
    let over = t.sale(sale("DL-1", 50_000)).await.unwrap();
    assert_eq!(over.outcome, Outcome::Approved);
    let q = last_request(&host);
    assert_eq!(q.get_str(22), Some("071"), "over the downloaded limit: PIN");
    assert!(q.get(52).is_some());
    let icc = q.get(55).unwrap().to_vec();
    let tvr = tlv::find(&tlv::decode(&icc).unwrap(), Tag(0x95))
        .unwrap()
        .to_vec();
    assert_eq!(tvr, [0, 0, 0, 0, 0], "the card's CA key was downloaded");
    let under = t.sale(sale("DL-2", 30_000)).await.unwrap();
    assert_eq!(under.outcome, Outcome::Approved);
    assert_eq!(
        last_request(&host).get_str(22),
        Some("072"),
        "at the limit: no PIN"
    );

    // The host withdraws the card's CA key: the sale goes online with TVR byte 1 bit 8 set
    // (the simulator's issuer verifies the ARQC over that TVR).
    host.acquirer
        .lock()
        .unwrap()
        .emv_parameters_mut()
        .ca_keys
        .retain(|k| k.index != 0x08);
    t.download_emv_parameters().await.unwrap();
    reader.push(tap());
    let no_oda = t.sale(sale("DL-3", 100)).await.unwrap();
    assert_eq!(no_oda.outcome, Outcome::Approved);
    let icc = last_request(&host).get(55).unwrap().to_vec();
    let tvr = tlv::find(&tlv::decode(&icc).unwrap(), Tag(0x95))
        .unwrap()
        .to_vec();
    assert_eq!(
        tvr[0] & 0x80,
        0x80,
        "offline data authentication not performed"
    );

    // No parameters for the card's AID: no common application, fallback to the stripe.
    host.acquirer
        .lock()
        .unwrap()
        .emv_parameters_mut()
        .aids
        .retain(|a| a.aid.last() != Some(&0x01));
    t.download_emv_parameters().await.unwrap();
    reader.push(tap());
    reader.push(CardScript::Card {
        track2: cards::track2(card(pan)),
        entry_mode: smartpos_core::card::EntryMode::MagStripe,
    });
    let fallback = t.sale(sale("DL-4", 100)).await.unwrap();
    assert_eq!(fallback.outcome, Outcome::Approved);
    let q = last_request(&host);
    assert!(q.get_str(22).unwrap().starts_with("80"), "fallback swipe");
    assert!(q.get(55).is_none());
}

/// How a hostile host bends its download answers.
#[derive(Clone, Copy, Debug)]
enum Bend {
    /// A CA key record whose modulus no longer matches its checksum.
    BrokenChecksum,
    /// A listing that says more follow and lists nothing.
    EmptyMore,
    /// A listing that never ends.
    Endless,
    /// A record other than the one asked for.
    WrongRecord,
    /// Script result advices (0620) get no answer.
    DropAdvices,
}

/// The simulator behind a host that bends the download answers.
#[derive(Clone)]
struct BendingHost {
    inner: RecordingHost,
    bend: Arc<Mutex<Option<Bend>>>,
}

impl HostExchange for BendingHost {
    fn exchange(
        &self,
        frame: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<u8>, TransportFailure>> + Send {
        let bend = *self.bend.lock().unwrap();
        let advice = frame.get(13..15) == Some(&[0x06, 0x20][..]);
        let inner = (!(matches!(bend, Some(Bend::DropAdvices)) && advice))
            .then(|| self.inner.exchange(frame, timeout));
        async move {
            let Some(inner) = inner else {
                return Err(TransportFailure::NoAnswer(LinkFailure::new(
                    LinkFailureKind::Timeout,
                    "no answer to the advice",
                )));
            };
            let answer = inner.await?;
            let fields = AcquirerProfile::cup_default().fields();
            let mut f = Frame::decode(&answer, fields).unwrap();
            let code = f.message.get_str(60).unwrap_or_default()[8..11].to_string();
            let f62 = f.message.get(62).unwrap_or_default().to_vec();
            let bent = match (bend, code.as_str()) {
                (Some(Bend::BrokenChecksum), "370") => {
                    let mut v = f62.clone();
                    let at = v.len() - 30;
                    v[at] ^= 1;
                    Some(v)
                }
                (Some(Bend::EmptyMore), "372") => Some(b"2".to_vec()),
                (Some(Bend::Endless), "372") => {
                    let mut v = b"2".to_vec();
                    v.extend_from_slice(&f62[1..]);
                    Some(v)
                }
                (Some(Bend::WrongRecord), "370") => {
                    let mut v = f62.clone();
                    // the index byte: 9F22 01 xx right after 9F06 05 + RID
                    let at = 1 + 3 + 5 + 3;
                    v[at] ^= 0x01;
                    Some(v)
                }
                _ => None,
            };
            if let Some(v) = bent {
                f.message.set(62, v);
            }
            Ok(f.encode(fields).unwrap())
        }
    }
}

/// A hostile or broken host's download is refused as a whole and bounded: a record whose
/// checksum fails, a listing that promises more and lists nothing, a listing that never ends,
/// a record other than the one asked for. The terminal keeps (and its kernel holds) what it had.
#[tokio::test]
async fn a_bad_download_is_refused_whole_and_the_old_parameters_stay() {
    let host = BendingHost {
        inner: cup_host(),
        bend: Arc::new(Mutex::new(None)),
    };
    let served = host
        .inner
        .acquirer
        .lock()
        .unwrap()
        .emv_parameters_mut()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig::demo();
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
    let reader = Arc::new(SimCardReader::new([]));
    let mut t = Terminal::new(
        config,
        Journal::open(&dir.path().join("journal.db")).unwrap(),
        host.clone(),
        Box::new(reader.clone()),
        Box::new(SimPinPad::new(master, [])),
        Box::new(now),
    )
    .unwrap();
    t.sign_in().await.unwrap();
    assert_eq!(reader.loaded_parameters().as_ref(), Some(&served));
    // The host changes its parameters, then bends each download of them.
    host.inner
        .acquirer
        .lock()
        .unwrap()
        .emv_parameters_mut()
        .aids
        .clear();
    for bend in [
        Bend::BrokenChecksum,
        Bend::EmptyMore,
        Bend::Endless,
        Bend::WrongRecord,
    ] {
        *host.bend.lock().unwrap() = Some(bend);
        let before = host.inner.frames.lock().unwrap().len();
        let err = t.download_emv_parameters().await.unwrap_err().to_string();
        assert!(err.contains("CA key download failed"), "{bend:?}: {err}");
        let sent = host.inner.frames.lock().unwrap().len() - before;
        assert!(sent <= 100, "{bend:?}: bounded, {sent} messages");
        assert_eq!(
            reader.loaded_parameters().as_ref(),
            Some(&served),
            "{bend:?}: the kernel keeps what it had"
        );
    }
    drop(t);
    let kept = Journal::open(&dir.path().join("journal.db"))
        .unwrap()
        .emv_parameters()
        .unwrap();
    assert_eq!(kept.as_ref(), Some(&served), "the store keeps what it had");
}

/// After a chip sale whose answer carried an issuer script, the card's script results (DF31)
/// reach the host in a script result advice (0620, 60.3 951); with the profile's `tc_upload`,
/// every approved chip sale's TC reaches it too (0320, 60.3 203). An advice the host does not
/// answer is kept with the outcome and goes out after a restart, at sign-in.
#[tokio::test]
async fn script_results_and_tcs_reach_the_host_and_survive_a_restart() {
    let host = BendingHost {
        inner: cup_host(),
        bend: Arc::new(Mutex::new(None)),
    };
    let dir = tempfile::tempdir().unwrap();
    let emv = |pan: &str| CardScript::Emv {
        track2: cards::track2(card(pan)),
        psn: "01".into(),
        contactless: false,
    };
    let terminal = |reader: SimCardReader, tc_upload: bool| {
        let mut config = EngineConfig::demo();
        config.profile.tc_upload = tc_upload;
        let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
        Terminal::new(
            config,
            Journal::open(&dir.path().join("journal.db")).unwrap(),
            host.clone(),
            Box::new(reader),
            Box::new(SimPinPad::new(
                master,
                (0..3).map(|_| PinScript::Pin("123456".into())),
            )),
            Box::new(now),
        )
        .unwrap()
    };
    let sale = |order: &str| {
        PaymentRequest::sale(
            "com.shop",
            order,
            Money::from_minor(2_000, Currency::CNY).unwrap(),
        )
    };
    let advices = || host.inner.acquirer.lock().unwrap().advices().to_vec();
    let mut t = terminal(
        SimCardReader::new([emv(cards::SCRIPT_PAN), emv("6222021234567890123")]),
        true,
    );
    t.sign_in().await.unwrap();
    let scripted = t.sale(sale("ADV-1")).await.unwrap();
    assert_eq!(scripted.outcome, Outcome::Approved);
    let got = advices();
    let kinds: Vec<_> = got.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ["script_results", "tc_upload"]);
    assert!(got
        .iter()
        .all(|a| (a.batch, a.trace) == (scripted.batch, scripted.trace)));
    let script = tlv::decode(&got[0].icc_data).unwrap();
    assert!(
        tlv::find(&script, Tag(0xDF31)).is_some(),
        "the card's script results"
    );
    let tc = tlv::find(&tlv::decode(&got[1].icc_data).unwrap(), Tag(0x9F26)).map(hex::encode_upper);
    assert_eq!(
        tc,
        scripted.chip.as_ref().unwrap().tc,
        "the TC the receipt shows"
    );
    // An advice is a MACed message like any other: the host checked it (else no record).
    let plain = t.sale(sale("ADV-2")).await.unwrap();
    assert_eq!(plain.outcome, Outcome::Approved);
    let kinds: Vec<_> = advices().iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        ["script_results", "tc_upload", "tc_upload"],
        "no script, no 0620"
    );

    // The host does not answer the next script advice: it stays pending across a restart.
    drop(t);
    *host.bend.lock().unwrap() = Some(Bend::DropAdvices);
    let mut t = terminal(SimCardReader::new([emv(cards::SCRIPT_PAN)]), false);
    t.sign_in().await.unwrap();
    let third = t.sale(sale("ADV-3")).await.unwrap();
    assert_eq!(
        third.outcome,
        Outcome::Approved,
        "an advice changes no outcome"
    );
    assert_eq!(advices().len(), 3);
    drop(t);
    let pending = Journal::open(&dir.path().join("journal.db"))
        .unwrap()
        .pending_advices()
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].trace, pending[0].attempts), (third.trace, 1));
    *host.bend.lock().unwrap() = None;
    let mut t = terminal(SimCardReader::new([]), false);
    t.sign_in().await.unwrap();
    let last = advices().last().cloned().unwrap();
    assert_eq!((last.kind, last.trace), ("script_results", third.trace));
    drop(t);
    let pending = Journal::open(&dir.path().join("journal.db"))
        .unwrap()
        .pending_advices()
        .unwrap();
    assert!(pending.is_empty(), "delivered: {pending:?}");
    // Every advice sent is on the spec page, with its mandatory fields.
    let fields = AcquirerProfile::cup_default().fields();
    let mut seen = 0;
    for (q, _) in host.inner.frames.lock().unwrap().iter() {
        let m = Frame::decode(q, fields).unwrap().message;
        if matches!(m.mti.value(), 620 | 320) {
            seen += 1;
            let wrong = smartpos_core::iso8583::catalog::check(&m);
            assert!(wrong.is_empty(), "{wrong:?}");
        }
    }
    assert_eq!(seen, 4);
}

/// A card that ran the issuer's scripts and then declined after the approval: the reversal the
/// terminal sends (06) carries the card's script results (DF31) in its field 55 beside the
/// chip data every chip reversal keeps, and no card data.
#[tokio::test]
async fn a_card_declining_after_scripts_reports_their_results_in_the_reversal() {
    let host = cup_host();
    let dir = tempfile::tempdir().unwrap();
    let reader = Arc::new(SimCardReader::new([CardScript::Emv {
        track2: cards::track2(card(cards::SCRIPT_PAN)),
        psn: "01".into(),
        contactless: false,
    }]));
    reader.decline_after_approval();
    let mut t = terminal_with(
        &host,
        dir.path(),
        reader,
        vec![PinScript::Pin("123456".into())],
    );
    t.sign_in().await.unwrap();
    let r = t
        .sale(PaymentRequest::sale(
            "com.shop",
            "SCRIPT-DECLINE",
            Money::from_minor(1_000, Currency::CNY).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Declined(Declined::ByCard));
    let fields = AcquirerProfile::cup_default().fields();
    let reversal = host
        .frames
        .lock()
        .unwrap()
        .iter()
        .map(|(q, _)| Frame::decode(q, fields).unwrap().message)
        .find(|m| m.mti.value() == 400)
        .expect("the reversal went out");
    assert_eq!(reversal.get_str(39), Some("06"));
    assert!(
        reversal.get(2).is_none() && reversal.get(35).is_none(),
        "no card data"
    );
    let icc = tlv::decode(reversal.get(55).unwrap()).unwrap();
    let tags: Vec<u32> = icc.iter().map(|t| t.tag.0).collect();
    assert_eq!(tags, [0x9F10, 0x95, 0x9F36, 0x9F1E, 0xDF31], "{tags:X?}");
    assert!(!tlv::find(&icc, Tag(0xDF31)).unwrap().is_empty());
    let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
    let sale = ledger.iter().find(|e| e.trace == r.trace).unwrap();
    assert!(sale.reversed, "the host undid the approval");
}
