//! Test rig: an in-process host simulator and a simulated terminal wired to it.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::CipherKey;
use smartpos_core::engine::EngineConfig;
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::PaymentRequest;
use smartpos_terminal::journal::Journal;
use smartpos_terminal::transport::HostLink;
use smartpos_terminal::Terminal;
use smartpos_testing::acquirer::{cards, TEST_TMK_HEX};
use smartpos_testing::faults::Fault;
use smartpos_testing::server::{self, RunningHost, SimConfig};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::time::Duration;

/// The card every rig presents unless told otherwise.
pub fn good_card() -> CardScript {
    CardScript::Card {
        track2: cards::track2(&cards::standard_cards()[0]),
        entry_mode: EntryMode::MagStripe,
    }
}

/// A running host and a terminal pointed at it.
pub struct Rig {
    /// The host simulator.
    pub host: RunningHost,
    /// The terminal.
    pub terminal: Terminal,
    /// Holds the terminal's data directory.
    pub dir: tempfile::TempDir,
}

/// Options for [`rig`].
pub struct RigOptions {
    /// Faults for successive financial requests.
    pub faults: Vec<Fault>,
    /// Host answer time limit.
    pub host_timeout: Duration,
    /// Pin this CA instead of the host's.
    pub ca_override: Option<String>,
    /// Card reader script.
    pub cards: Vec<CardScript>,
    /// PIN pad script.
    pub pins: Vec<PinScript>,
    /// Frames log.
    pub frames: Option<std::path::PathBuf>,
    /// Acquirer profile for both host and terminal.
    pub profile: smartpos_core::profile::AcquirerProfile,
    /// A different profile for the terminal (a misconfigured terminal), if any.
    pub terminal_profile: Option<smartpos_core::profile::AcquirerProfile>,
    /// Payment codes the simulated scanner reads, in order (QR, B scans C).
    pub qr_codes: Vec<String>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            faults: Vec::new(),
            host_timeout: Duration::from_secs(10),
            ca_override: None,
            cards: vec![good_card(); 4],
            pins: vec![PinScript::Pin("123456".into()); 4],
            frames: None,
            profile: smartpos_core::profile::AcquirerProfile::cup_default(),
            terminal_profile: None,
            qr_codes: Vec::new(),
        }
    }
}

/// Starts a host and a terminal.
pub async fn rig(opts: RigOptions) -> Rig {
    let mut sim = SimConfig::ephemeral();
    sim.faults = opts.faults;
    sim.frames = opts.frames;
    sim.profile = opts.profile.clone();
    let host = server::start(sim).await.expect("host starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = Journal::open(&dir.path().join("journal.db")).expect("journal");
    let ca = opts.ca_override.unwrap_or_else(|| host.ca_pem.clone());
    let link = HostLink::new(&host.url, ca.as_bytes()).expect("link");
    let mut config = EngineConfig::demo();
    config.host_timeout = opts.host_timeout;
    let qr = smartpos_terminal::qr_runner::QrSetup {
        link: std::sync::Arc::new(
            smartpos_terminal::transport::GatewayLink::new(&host.url, ca.as_bytes()).expect("link"),
        ),
        schedule: smartpos_core::qr::QrSchedule::default(),
        form: opts.profile.qr_form.clone(),
        scanner: Some(std::sync::Arc::new(smartpos_testing::sim::SimScanner::new(
            opts.qr_codes
                .into_iter()
                .map(smartpos_testing::sim::ScanScript::Code),
        ))),
    };
    config.profile = opts.terminal_profile.unwrap_or(opts.profile);
    // The PIN pad's master key is injected for the terminal's key algorithm.
    let master = CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX).unwrap();
    let terminal = Terminal::new(
        config,
        journal,
        link,
        Box::new(SimCardReader::new(opts.cards)),
        Box::new(SimPinPad::new(master, opts.pins)),
        Box::new(smartpos_cli::demo::cst_now),
    )
    .expect("terminal")
    .with_qr(qr);
    Rig {
        host,
        terminal,
        dir,
    }
}

/// A 12.34 CNY sale request for `order`.
pub fn sale(order: &str) -> PaymentRequest {
    PaymentRequest::sale(
        "com.example.merchant",
        order,
        Money::from_minor(1234, Currency::CNY).unwrap(),
    )
}

/// Debian's apksig (the library inside `apksigner`) as the reference verifier: the harness
/// `tests/apk/ApksigVerdicts.java`, compiled once per test, run over a directory of APKs.
pub mod apksig {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::process::Command;

    /// Where Debian's `apksigner` package puts the library.
    pub const JAR: &str = "/usr/share/java/apksig.jar";

    /// Compiles the harness into a temporary directory (fails with a clear message when the
    /// JDK or apksig is missing: `scripts/test.sh` installs both).
    pub fn compile() -> tempfile::TempDir {
        assert!(
            Path::new(JAR).exists(),
            "{JAR} missing: install Debian apksigner (scripts/test.sh does)"
        );
        let classes = tempfile::tempdir().unwrap();
        let javac = Command::new("javac")
            .arg("-cp")
            .arg(JAR)
            .arg("-d")
            .arg(classes.path())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/apk/ApksigVerdicts.java"
            ))
            .status()
            .expect("javac missing: install a JDK 17");
        assert!(javac.success());
        classes
    }

    /// apksig's verdict for every APK in `dir` at `level` (an SDK level, or `own`: from each
    /// APK's own minimum SDK, as `apksigner verify` does): file -> (accepted, first error).
    pub fn verdicts(dir: &Path, level: &str, classes: &Path) -> BTreeMap<String, (bool, String)> {
        let out = Command::new("java")
            .arg("-cp")
            .arg(format!("{JAR}:{}", classes.display()))
            .arg("ApksigVerdicts")
            .arg(dir)
            .arg(level)
            .output()
            .expect("java missing: install a JDK 17");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let mut f = l.splitn(3, '\t');
                let name = f.next().unwrap().to_string();
                let ok = f.next() == Some("accepted");
                (name, (ok, f.next().unwrap_or("").to_string()))
            })
            .collect()
    }
}
