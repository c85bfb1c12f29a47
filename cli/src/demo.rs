//! `smartpos demo`: the whole path on one machine with no setup. An in-process host simulator
//! on an ephemeral loopback port, a simulated terminal with a fresh data directory, sign-in, a
//! merchant app's 12.34 CNY sale with simulated card and PIN, result and receipt.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::DesKey;
use smartpos_core::engine::EngineConfig;
use smartpos_core::hal::{PrintCommand, Printer};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{PaymentRequest, PaymentResult};
use smartpos_core::receipt::{job_text, receipt_job, Copy};
use smartpos_core::time::LocalTime;
use smartpos_terminal::journal::Journal;
use smartpos_terminal::transport::HostLink;
use smartpos_terminal::Terminal;
use smartpos_testing::acquirer::{cards, TEST_TMK_HEX};
use smartpos_testing::fonts::system_renderer;
use smartpos_testing::server::{self, SimConfig};
use smartpos_testing::sim::SimPrinter;
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::path::{Path, PathBuf};

/// The calling merchant app in the demo.
pub const DEMO_CALLER: &str = "com.example.merchant";

/// What the demo produced.
#[derive(Debug)]
pub struct DemoReport {
    /// The sale's result.
    pub result: PaymentResult,
    /// Everything printed to the console.
    pub transcript: String,
    /// Where the receipt PNG was written.
    pub receipt_png: PathBuf,
}

/// Local time of this machine's clock in China Standard Time (UTC+8).
pub fn cst_now() -> LocalTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    LocalTime::from_unix(secs, 8 * 3600)
}

/// Runs the demo, writing the data directory and receipt under `out_dir`.
pub async fn run(
    out_dir: &Path,
    frames: Option<PathBuf>,
) -> Result<DemoReport, crate::cmd::demo::DemoError> {
    let mut out = String::new();
    let mut say = |line: String| {
        println!("{line}");
        out.push_str(&line);
        out.push('\n');
    };
    let host = server::start(SimConfig {
        frames,
        ..SimConfig::ephemeral()
    })
    .await?;
    say(format!(
        "host simulator listening on {} (CA generated at start, pinned by the terminal)",
        host.url
    ));

    let data_dir = out_dir.join("terminal-data");
    std::fs::create_dir_all(&data_dir)?;
    let journal = Journal::open(&data_dir.join("journal.db"))?;
    let link = HostLink::new(&host.url, host.ca_pem.as_bytes())?;
    let card = &cards::standard_cards()[0];
    let reader = SimCardReader::new([CardScript::Card {
        track2: cards::track2(card),
        entry_mode: EntryMode::MagStripe,
    }]);
    let pinpad = SimPinPad::new(
        DesKey::from_hex(TEST_TMK_HEX)?,
        [PinScript::Pin(card.pin.clone())],
    );
    let config = EngineConfig::demo();
    let mut terminal = Terminal::new(
        config.clone(),
        journal,
        link,
        Box::new(reader),
        Box::new(pinpad),
        Box::new(cst_now),
    )?;

    let device = smartpos_testing::sim::SimDevice::default();
    let failures = smartpos_hal::compliance::check(
        &smartpos_hal::compliance::ComplianceProfile::default(),
        &smartpos_core::hal::DeviceInfoProvider::device_information(&device),
    );
    if failures.is_empty() {
        say("device compliance: the simulated terminal meets the bank's profile".into());
    } else {
        return Err(format!("device is not compliant: {failures:?}").into());
    }
    let batch = terminal.sign_in().await?;
    say(format!(
        "signed in: PIN and MAC keys installed (check values verified), batch {batch:06}"
    ));

    let order_id = format!(
        "DEMO-{}",
        cst_now().to_string().replace([' ', ':', '-'], "")
    );
    let request = PaymentRequest::sale(
        DEMO_CALLER,
        &order_id,
        Money::from_minor(1234, Currency::CNY)?,
    );
    say(format!(
        "merchant app {DEMO_CALLER} requests a sale of {} for order {order_id}",
        request.amount
    ));
    say("simulated card presented (magnetic stripe), PIN entered on the simulated PIN pad".into());
    let result = terminal.sale(request).await?;

    say(String::new());
    say(format!(
        "outcome:    {}",
        serde_json::to_string(&result.outcome)?
    ));
    say(format!(
        "card:       {}",
        result.masked_pan.as_deref().unwrap_or("-")
    ));
    say(format!("amount:     {}", result.amount));
    say(format!(
        "auth code:  {}",
        result.auth_code.as_deref().unwrap_or("-")
    ));
    say(format!(
        "reference:  {}",
        result.reference.as_deref().unwrap_or("-")
    ));
    say(format!("trace:      {:06}", result.trace));
    say(format!("batch:      {:06}", result.batch));
    say(String::new());
    let printer = SimPrinter::default();
    let qr = result.reference.as_ref().map(|r| {
        format!(
            "https://receipts.example-bank.cn/r/{}/{r}",
            result.terminal_id
        )
    });
    let mut both = receipt_job(&result, &config.identity, Copy::Merchant, qr.as_deref());
    both.push(PrintCommand::Rule);
    both.extend(receipt_job(&result, &config.identity, Copy::Acquirer, None));
    printer.print(&both)?;
    for l in job_text(&both) {
        say(l);
    }
    let png_path = out_dir.join("receipt.png");
    std::fs::write(&png_path, system_renderer().render_png(&both)?)?;
    say(format!(
        "receipt image (merchant and acquirer copies, 384 dots) written to {}",
        png_path.display()
    ));
    if !system_renderer().has_cjk() {
        say("note: no CJK font found, Chinese shows as boxes (Debian: apt-get install fonts-wqy-microhei, or set SMARTPOS_FONT)".into());
    }
    host.shutdown().await;
    Ok(DemoReport {
        result,
        transcript: out,
        receipt_png: png_path,
    })
}
