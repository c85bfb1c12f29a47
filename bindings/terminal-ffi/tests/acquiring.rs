//! The acquiring terminal as Kotlin sees it (`AcquiringTerminal`), driven from Rust with
//! driver implementations of the foreign traits, against the HTTPS host simulator.

use smartpos_core::crypto::{CipherKey, KeyAlgorithm, PinBlockFormat};
use smartpos_core::hal::{EncryptedWorkingKeys, PinEntry, PinPad};
use smartpos_core::handoff::{
    AllowList, AllowedApp, RequestType, ResultCode, SignedResult, TransactionType,
};
use smartpos_core::money::{Currency, Money};
use smartpos_core::profile::MacKeyUse;
use smartpos_terminal_ffi::{
    AcquiringError, AcquiringSetup, AcquiringTerminal, CardEntry, CardRead, CardReaderDriver,
    CardStart, ChipAnswer, ChipVerdict, DriverError, EmvParameterSet, KeyCipher, MarketApp,
    MarketCheck, MarketCheckError, PinFormat, PinPadDriver, PinResult, RequestCarrier, WorkingKeys,
};
use smartpos_testing::acquirer::{cards, TEST_TMK_HEX};
use smartpos_testing::server::{self, SimConfig};
use smartpos_testing::sim::{PinScript, SimPinPad};
use std::sync::Arc;
use std::time::Duration;

/// Presents the first test card, magnetic stripe.
struct TestCardReader;
impl CardReaderDriver for TestCardReader {
    fn wait_for_card(&self, _amount: u64, _timeout_ms: u64) -> Result<CardRead, DriverError> {
        Ok(CardRead {
            track2: cards::track2(&cards::standard_cards()[0]),
            entry: CardEntry::MagStripe,
            icc_data: Vec::new(),
            card_sequence: None,
        })
    }
    fn cancel(&self) {}
    fn card_present(&self) -> bool {
        false
    }
    fn start_transaction(
        &self,
        amount: u64,
        _fallback: bool,
        timeout_ms: u64,
    ) -> Result<CardStart, DriverError> {
        Ok(CardStart::Card {
            read: self.wait_for_card(amount, timeout_ms)?,
        })
    }
    fn complete_online(&self, _a: ChipAnswer, _t: u64) -> Result<ChipVerdict, DriverError> {
        Ok(ChipVerdict::Accepted {
            icc_data: Vec::new(),
        })
    }
    fn load_parameters(&self, _params: EmvParameterSet) -> Result<(), DriverError> {
        Ok(())
    }
}

/// The simulated EMV chip card (genuine ARQC, ARPC checked) behind the foreign trait, as a
/// vendor's Kotlin kernel would stand there.
struct ChipCardReader(Arc<smartpos_testing::sim::SimCardReader>);
impl CardReaderDriver for ChipCardReader {
    fn wait_for_card(&self, _amount: u64, _timeout_ms: u64) -> Result<CardRead, DriverError> {
        Err(DriverError::Device {
            reason: "a chip reader starts transactions".into(),
        })
    }
    fn cancel(&self) {}
    fn card_present(&self) -> bool {
        false
    }
    fn start_transaction(
        &self,
        amount: u64,
        fallback: bool,
        timeout_ms: u64,
    ) -> Result<CardStart, DriverError> {
        use smartpos_core::hal::{CardReader, Presented, TransactionStart};
        let start = TransactionStart {
            amount: Money::from_minor(amount, Currency::CNY).unwrap(),
            kind: smartpos_core::payment::TransactionType::Sale,
            fallback,
        };
        let presented = self
            .0
            .start_transaction(&start, Duration::from_millis(timeout_ms))
            .map_err(|e| DriverError::CardError {
                reason: e.to_string(),
            })?;
        Ok(match presented {
            Presented::Card(c) => CardStart::Card {
                read: CardRead {
                    track2: c.expose_track2().to_string(),
                    entry: CardEntry::Chip,
                    icc_data: c.icc_data().to_vec(),
                    card_sequence: c.card_sequence().map(str::to_string),
                },
            },
            Presented::DeclinedOffline => CardStart::DeclinedOffline,
            Presented::Fallback => CardStart::Fallback,
        })
    }
    fn complete_online(&self, a: ChipAnswer, t: u64) -> Result<ChipVerdict, DriverError> {
        use smartpos_core::hal::{CardReader, CardVerdict, IssuerAnswer};
        let answer = IssuerAnswer {
            response_code: a.response_code,
            auth_code: a.auth_code,
            icc_data: a.icc_data,
        };
        match self.0.complete_online(&answer, Duration::from_millis(t)) {
            Ok(CardVerdict::Accepted { icc_data }) => Ok(ChipVerdict::Accepted { icc_data }),
            Ok(CardVerdict::Declined { icc_data }) => Ok(ChipVerdict::Declined { icc_data }),
            Err(e) => Err(DriverError::CardError {
                reason: e.to_string(),
            }),
        }
    }
    fn load_parameters(&self, params: EmvParameterSet) -> Result<(), DriverError> {
        // The records as downloaded go back through the core's checks into the kernel.
        use smartpos_core::emv::params::{AidParameters, CaPublicKey, EmvParameters};
        use smartpos_core::hal::CardReader;
        let bad = |e: smartpos_core::emv::params::ParamError| DriverError::Device {
            reason: e.to_string(),
        };
        let p = EmvParameters {
            ca_keys: params
                .ca_keys
                .iter()
                .map(|k| CaPublicKey::from_tlv(&k.tlv).map_err(bad))
                .collect::<Result<_, _>>()?,
            aids: params
                .aids
                .iter()
                .map(|a| AidParameters::from_tlv(&a.tlv).map_err(bad))
                .collect::<Result<_, _>>()?,
        };
        self.0.load_parameters(&p).map_err(|e| DriverError::Device {
            reason: e.to_string(),
        })
    }
}

/// The simulated PIN pad (keys under the test master key) behind the foreign trait.
struct TestPinPad(SimPinPad);
impl PinPadDriver for TestPinPad {
    fn load_master_key(&self, _c: KeyCipher, _k: Vec<u8>, _v: Vec<u8>) -> Result<(), DriverError> {
        Ok(())
    }
    fn load_working_keys(&self, k: WorkingKeys) -> Result<(), DriverError> {
        let algorithm = match k.cipher {
            KeyCipher::Des => KeyAlgorithm::Des,
            KeyCipher::Sm4 => KeyAlgorithm::Sm4,
        };
        let kcv = |v: Vec<u8>| <[u8; 4]>::try_from(v).map_err(|_| DriverError::KeyCheckFailed);
        let keys = EncryptedWorkingKeys {
            algorithm,
            pin_format: match k.pin_format {
                PinFormat::WithPan => PinBlockFormat::WithPan,
                PinFormat::WithoutPan => PinBlockFormat::WithoutPan,
            },
            pin_key: k.pin_key,
            pin_kcv: kcv(k.pin_kcv)?,
            mac_key: k.mac_key,
            mac_kcv: kcv(k.mac_kcv)?,
            mac_key_use: if k.mac_first_half {
                MacKeyUse::FirstHalf
            } else {
                MacKeyUse::Full
            },
        };
        self.0
            .load_working_keys(&keys)
            .map_err(|_| DriverError::KeyCheckFailed)
    }
    fn online_pin(
        &self,
        pan: String,
        amount: u64,
        timeout_ms: u64,
    ) -> Result<PinResult, DriverError> {
        let pan = smartpos_core::card::Pan::new(&pan).map_err(|_| DriverError::Cancelled)?;
        let amount =
            Money::from_minor(amount, Currency::CNY).map_err(|_| DriverError::Cancelled)?;
        match self
            .0
            .online_pin(&pan, &amount, Duration::from_millis(timeout_ms))
        {
            Ok(PinEntry::Block(b)) => Ok(PinResult::Block { block: b.0 }),
            Ok(PinEntry::Bypassed) => Ok(PinResult::Bypassed),
            Err(_) => Err(DriverError::Cancelled),
        }
    }
    fn mac(&self, data: Vec<u8>) -> Result<Vec<u8>, DriverError> {
        self.0
            .mac(&data)
            .map(|m| m.to_vec())
            .map_err(|_| DriverError::NoKeys)
    }
    fn cancel(&self) {}
}

fn setup(journal: &std::path::Path, host_url: &str, ca_pem: &str) -> AcquiringSetup {
    let allow = AllowList {
        apps: vec![AllowedApp {
            package: "com.example.shop".into(),
            cert_sha256: vec!["ab".repeat(32)],
            permissions: vec![
                RequestType::Transaction(TransactionType::Sale),
                RequestType::Query,
            ],
            all_apps: false,
        }],
    };
    AcquiringSetup {
        journal_path: journal.to_string_lossy().into_owned(),
        host_url: host_url.into(),
        ca_pem: ca_pem.into(),
        terminal_key_hex: "07".repeat(32),
        allow_list_json: serde_json::to_string(&allow).unwrap(),
        terminal_id: "10000001".into(),
        merchant_id: "898310048990001".into(),
        merchant_name: "Test shop".into(),
        profile_json: None,
        gateway_url: None,
    }
}

fn link_of(uri: impl Into<String>) -> RequestCarrier {
    RequestCarrier::DeepLink { uri: uri.into() }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_deep_link_sale_is_answered_with_a_signed_result_and_a_bad_setup_fails_early() {
    // The host runs on its own runtime; the FFI object blocks the test thread as Kotlin's
    // worker thread would be blocked.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let host = rt.block_on(server::start(SimConfig::ephemeral())).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let master = CipherKey::from_hex(KeyAlgorithm::Des, TEST_TMK_HEX).unwrap();
    let pin_pad = TestPinPad(SimPinPad::new(
        master,
        (0..4).map(|_| PinScript::Pin("123456".into())),
    ));
    let terminal = AcquiringTerminal::new(
        setup(&tmp.path().join("journal.db"), &host.url, &host.ca_pem),
        Arc::new(TestCardReader),
        Arc::new(pin_pad),
        None,
        None,
    )
    .unwrap();

    let link = format!(
        "smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A-1&nonce=0123456789abcdef&expires={}&callback=shop%3A%2F%2Fpaid",
        now() + 120
    );
    let answer = terminal
        .handle(
            link_of(link.clone()),
            "com.example.shop".into(),
            vec!["ab".repeat(32)],
        )
        .unwrap();
    assert_eq!(answer.code, "APPROVED", "{answer:?}");
    let uri = answer
        .return_uri
        .expect("a deep link with a callback gets one back");
    let signed = SignedResult::from_callback_uri(&uri).unwrap();
    signed.verify(&terminal.public_key_hex()).unwrap();
    assert_eq!(signed.envelope.code, ResultCode::Approved);
    assert_eq!(signed.envelope.amount, Some(1234));
    assert_eq!(
        answer.extras.get("smartpos.code").map(String::as_str),
        Some("APPROVED")
    );

    // Nothing is left open: recovery at start has nothing to do.
    assert!(terminal.recover().unwrap());

    // The same link again is a replay: refused, signed, nothing charged twice.
    let again = terminal
        .handle(
            link_of(link),
            "com.example.shop".into(),
            vec!["ab".repeat(32)],
        )
        .unwrap();
    assert_eq!(again.code, "REFUSED_REPLAY");
    // A caller the OS names with another certificate is not on the allow-list.
    let stranger = terminal
        .handle(link_of(
            format!(
                "smartpos://pay/v1?v=1&type=query&order=A-1&nonce=fedcba9876543210&expires={}&callback=shop%3A%2F%2Fpaid",
                now() + 120
            )),
            "com.example.shop".into(),
            vec!["cd".repeat(32)],
        )
        .unwrap();
    assert_eq!(stranger.code, "REFUSED_CALLER");

    // The market's verdicts replace the allow-list: with no verified app, nobody is let in;
    // with the shop verified (its grants: sale and query), its query is answered.
    let query = |nonce: &str| {
        terminal
            .handle(link_of(
                format!("smartpos://pay/v1?v=1&type=query&order=A-1&nonce={nonce}&expires={}&callback=shop%3A%2F%2Fpaid", now() + 120)),
                "com.example.shop".into(),
                vec!["ab".repeat(32)],
            )
            .unwrap()
    };
    let busy = terminal
        .busy(link_of(
            format!("smartpos://pay/v1?v=1&type=sale&amount=5&currency=CNY&order=B-1&nonce=3333333333333333&expires={}&callback=shop%3A%2F%2Fpaid", now() + 120)),
            "com.example.shop".into(),
            vec!["ab".repeat(32)],
        )
        .unwrap();
    assert_eq!(
        busy.extras.get("smartpos.order").map(String::as_str),
        Some("B-1")
    );
    assert!(busy.return_uri.unwrap().starts_with("shop://paid?"));
    assert_eq!(busy.code, "REFUSED_BUSY");
    assert_eq!(
        busy.extras.get("smartpos.caller").map(String::as_str),
        Some("com.example.shop")
    );
    terminal.set_allowed_apps(vec![]).unwrap();
    assert_eq!(query("1111111111111111").code, "REFUSED_CALLER");
    let shop = MarketApp {
        package: "com.example.shop".into(),
        version_code: 1,
        signer_cert_sha256: vec!["ab".repeat(32)],
        payments: vec!["sale".into(), "query".into()],
        key_id: "market-1".into(),
        remembered: false,
    };
    terminal.set_allowed_apps(vec![shop.clone()]).unwrap();
    assert_eq!(query("2222222222222222").code, "APPROVED");
    let bad = MarketApp {
        payments: vec!["launder".into()],
        ..shop
    };
    assert!(matches!(
        terminal.set_allowed_apps(vec![bad]),
        Err(AcquiringError::Config { .. })
    ));
    assert!(matches!(
        terminal.handle(link_of("x"), "p".into(), vec!["zz".into()]),
        Err(AcquiringError::Caller { .. })
    ));

    let mut bad = setup(&tmp.path().join("j2.db"), &host.url, &host.ca_pem);
    bad.terminal_key_hex = "00".into();
    assert!(matches!(
        AcquiringTerminal::new(
            bad,
            Arc::new(TestCardReader),
            Arc::new(TestPinPad(SimPinPad::new(
                CipherKey::from_hex(KeyAlgorithm::Des, TEST_TMK_HEX).unwrap(),
                []
            ))),
            None,
            None,
        ),
        Err(AcquiringError::Config { .. })
    ));
}

#[test]
fn a_market_check_needs_a_root_key_and_refuses_a_file_that_is_no_apk() {
    assert!(matches!(
        MarketCheck::new("not hex".into(), None, 34),
        Err(MarketCheckError::Setup { .. })
    ));
    let root = "11".repeat(32);
    let Ok(check) = MarketCheck::new(ed25519_public_of(&root), None, 34) else {
        panic!("a valid root key is accepted")
    };
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.apk");
    std::fs::write(&junk, b"PK not really").unwrap();
    assert!(matches!(
        check.install_check(junk.to_string_lossy().into_owned(), None, None),
        Err(MarketCheckError::Refused { .. })
    ));
    assert!(matches!(
        check.launch_check(tmp.path().join("gone.apk").to_string_lossy().into_owned()),
        Err(MarketCheckError::Refused { .. })
    ));
}

fn ed25519_public_of(secret_hex: &str) -> String {
    let secret: [u8; 32] = hex::decode(secret_hex).unwrap().try_into().unwrap();
    smartpos_core::handoff::TerminalKey::from_secret(&secret).public_hex()
}

#[test]
fn a_chip_card_through_the_foreign_traits_accepts_or_declines_after_approval() {
    use smartpos_testing::sim::{CardScript, SimCardReader};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let host = rt.block_on(server::start(SimConfig::ephemeral())).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let chip = |pan: &str| CardScript::Emv {
        track2: cards::track2(
            cards::standard_cards()
                .iter()
                .find(|c| c.pan == pan)
                .unwrap(),
        ),
        psn: "01".into(),
        contactless: false,
    };
    let reader = Arc::new(SimCardReader::new([
        chip("6222021234567890123"),
        chip(cards::WRONG_ARPC_PAN),
    ]));
    let terminal = AcquiringTerminal::new(
        setup(&tmp.path().join("journal.db"), &host.url, &host.ca_pem),
        Arc::new(ChipCardReader(reader.clone())),
        Arc::new(TestPinPad(SimPinPad::new(
            CipherKey::from_hex(KeyAlgorithm::Des, TEST_TMK_HEX).unwrap(),
            (0..2).map(|_| PinScript::Pin("123456".into())),
        ))),
        None,
        None,
    )
    .unwrap();
    let sale = |order: &str, nonce: &str| {
        terminal
            .handle(
                link_of(format!(
                    "smartpos://pay/v1?v=1&type=sale&amount=1500&currency=CNY&order={order}&nonce={nonce}&expires={}&callback=shop%3A%2F%2Fpaid",
                    now() + 120
                )),
                "com.example.shop".into(),
                vec!["ab".repeat(32)],
            )
            .unwrap()
    };
    // The card accepts the issuer's genuine ARPC: approved.
    assert_eq!(sale("C-1", "4444444444444444").code, "APPROVED");
    // The issuer's ARPC is wrong: the card declines after approval, the terminal reverses.
    let declined = sale("C-2", "5555555555555555");
    assert_eq!(declined.code, "DECLINED", "{declined:?}");
    let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
    let c2 = ledger
        .iter()
        .find(|e| !e.reference.is_empty() && e.response_code == "00" && !e.charged());
    assert!(
        c2.is_some(),
        "the approval of C-2 was reversed at the host: {ledger:?}"
    );
    // Sign-in downloaded the host's EMV parameters and the kernel behind the foreign trait got
    // them whole (every record read back through the core's checks).
    let served = host.acquirer.lock().unwrap().emv_parameters_mut().clone();
    assert_eq!(reader.loaded_parameters(), Some(served));
}
