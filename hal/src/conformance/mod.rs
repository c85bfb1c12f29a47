//! The conformance kit: runs every driver contract against any implementation and reports
//! each check by name. A vendor runs it (`smartpos hal conformance`, or [`run`] from a test)
//! before the bank accepts a terminal model.
//!
//! Some checks need a person or a test jig to act (present the test card, type the PIN, take
//! the paper out): the kit asks an [`Operator`]. The simulated drivers come with one.

use crate::*;
use smartpos_core::card::Pan;
use smartpos_core::crypto::{
    clear_pin_block, cup_ecb_mac, BlockKey, CipherKey, KeyAlgorithm, PinBlockFormat,
};
use smartpos_core::money::Money;
use std::time::Duration;
use std::time::Instant;

mod card_reader;
mod device;
mod printer;
mod scanner;
use device::device_checks;

/// The test card the operator presents (track 2 equivalent data).
pub const TEST_TRACK2: &str = "6222021234567890123=3012101";
/// The PIN the operator types.
pub const TEST_PIN: &str = "123456";
/// The code the operator shows the scanner: leading zeros and longer than any integer type, so
/// only a driver that keeps it as text returns it exactly.
pub const TEST_CODE: &str = "0013456789012345678901234";
/// How soon a cancel must make a waiting call return: 200 ms.
pub const CANCEL_WITHIN: Duration = Duration::from_millis(200);
/// A timeout may end at most this much late: 10 % of the time limit plus 100 ms.
pub fn timeout_slack(limit: Duration) -> Duration {
    limit / 10 + Duration::from_millis(100)
}
/// The kit's terminal master key (test only).
pub const KIT_TMK_HEX: &str = "1C2D3E4F5A6B7C8D8D7C6B5A4F3E2D1C";
/// The kit's SM4 terminal master key (test only).
pub const KIT_SM4_TMK_HEX: &str = "6D5C4B3A29180F1E2D3C4B5A69788796";
const KIT_PIN_KEY_HEX: &str = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";
const KIT_MAC_KEY_HEX: &str = "F1E2D3C4B5A6978879695A4B3C2D1E0F";
const TIMEOUT: Duration = Duration::from_millis(300);

/// Acts on the device for the checks that need a person or a jig.
pub trait Operator: Send + Sync {
    /// Presents the test card (swipe) so the next `wait_for_card` reads it.
    fn present_card(&self, track2: &str);
    /// Types the PIN for the next `online_pin`.
    fn enter_pin(&self, pin: &str);
    /// Bypasses the next `online_pin`.
    fn bypass_pin(&self);
    /// Shows the scanner a code.
    fn show_code(&self, text: &str);
    /// Changes paper/cover state.
    fn set_paper(&self, status: PaperStatus);
    /// Presents a card the reader cannot read (a damaged stripe, a chip that does not answer).
    fn present_unreadable_card(&self);
    /// Inserts (or taps) the test chip card, so the next `start_transaction` runs the kernel's
    /// first half on its chip; it stays in the reader until the transaction ends.
    fn present_chip_card(&self, track2: &str);
    /// Tears off what the printer put on paper since the last tear; true when anything came out.
    fn take_printout(&self) -> bool;
    /// Shows the scanner the QR code on the printout torn off last (the loop-back: printer and
    /// scanner prove each other); does nothing when that printout has no QR code.
    fn show_printout_qr(&self);
    /// Whether the printout torn off last carries this bitmap (`width` dots a row), as the kit
    /// shows it to the person (or the jig compares it dot for dot).
    fn printout_has_bitmap(&self, width: u32, pixels: &[bool]) -> bool;
}

/// The drivers under test and their operator.
pub struct Subject<'a> {
    /// Card reader.
    pub card_reader: &'a dyn CardReader,
    /// PIN pad.
    pub pin_pad: &'a dyn PinPad,
    /// Printer.
    pub printer: &'a dyn Printer,
    /// Scanner.
    pub scanner: &'a dyn Scanner,
    /// What the device reports about itself.
    pub device: &'a dyn DeviceInfoProvider,
    /// Operator.
    pub operator: &'a dyn Operator,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckResult {
    /// Stable id, e.g. `pin_pad.working_key_kcv`.
    pub id: &'static str,
    /// The contract in words.
    pub contract: &'static str,
    /// Where the contract is written: the vendor guide's section (`vendor/hal.md#contracts`,
    /// the driver's bullet).
    pub section: &'static str,
    /// Whether the implementation kept it.
    pub passed: bool,
    /// What was observed when it did not.
    pub detail: String,
}

/// The kit's report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
    /// The failed checks.
    pub fn failures(&self) -> Vec<&CheckResult> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }
}

struct Kit {
    checks: Vec<CheckResult>,
}

impl Kit {
    fn check(&mut self, id: &'static str, contract: &'static str, outcome: Result<(), String>) {
        let (passed, detail) = match outcome {
            Ok(()) => (true, String::new()),
            Err(d) => (false, d),
        };
        self.checks.push(CheckResult {
            id,
            contract,
            section: section_of(id),
            passed,
            detail,
        });
    }
}

/// The vendor guide's section for a check, from the driver its id names.
pub fn section_of(id: &str) -> &'static str {
    match id.split('.').next() {
        Some("card_reader") => "vendor/hal.md#contracts: Card reader",
        Some("pin_pad") => "vendor/hal.md#contracts: PIN pad",
        Some("printer") => "vendor/hal.md#contracts: Printer",
        Some("scanner") => "vendor/hal.md#contracts: Scanner",
        Some("device") => "vendor/hal.md#contracts: Device information",
        _ => "vendor/hal.md#contracts",
    }
}

fn expect<T: std::fmt::Debug>(got: Result<T, HalError>, want: HalError) -> Result<(), String> {
    match got {
        Err(e) if e == want => Ok(()),
        other => Err(format!("expected {want:?}, got {other:?}")),
    }
}

fn within(start: Instant, min: Duration, max: Duration) -> Result<(), String> {
    let t = start.elapsed();
    if t < min || t > max {
        return Err(format!(
            "returned after {t:?}, expected between {min:?} and {max:?}"
        ));
    }
    Ok(())
}

/// Calls `blocking` on a thread, cancels it after 100 ms, and checks it returns `Cancelled`
/// within [`CANCEL_WITHIN`] of the cancel.
fn cancels<T: std::fmt::Debug + Send>(
    blocking: impl FnOnce() -> Result<T, HalError> + Send,
    cancel: impl FnOnce(),
) -> Result<(), String> {
    std::thread::scope(|s| {
        let h = s.spawn(blocking);
        std::thread::sleep(Duration::from_millis(100));
        let cancelled_at = Instant::now();
        cancel();
        let r = h.join().map_err(|_| "the call panicked".to_string())?;
        let late = cancelled_at.elapsed();
        expect(r, HalError::Cancelled)?;
        if late > CANCEL_WITHIN {
            return Err(format!(
                "returned {late:?} after the cancel; the contract is within {CANCEL_WITHIN:?}"
            ));
        }
        Ok(())
    })
}

/// Checks a call with a time limit returned `Timeout` neither early nor later than the slack.
fn times_out<T: std::fmt::Debug>(
    limit: Duration,
    call: impl FnOnce(Duration) -> Result<T, HalError>,
) -> Result<(), String> {
    let start = Instant::now();
    expect(call(limit), HalError::Timeout)?;
    within(
        start,
        limit - Duration::from_millis(20),
        limit + timeout_slack(limit),
    )
}

/// A cancel with nobody waiting must not cancel the next wait.
fn cancel_not_sticky<T: std::fmt::Debug>(
    cancel: impl FnOnce(),
    next: impl FnOnce(Duration) -> Result<T, HalError>,
) -> Result<(), String> {
    cancel();
    expect(next(Duration::from_millis(100)), HalError::Timeout)
        .map_err(|e| format!("after a cancel with nobody waiting, the next wait: {e}"))
}

fn wrap(master: &CipherKey, k: &CipherKey) -> (Vec<u8>, [u8; 4]) {
    master.wrap_key(k).expect("kit keys share one algorithm")
}

fn kit_key(algorithm: KeyAlgorithm, hex: &str) -> CipherKey {
    CipherKey::from_hex(algorithm, hex).expect("valid kit key")
}

fn working_keys(
    master: &CipherKey,
    pin: &CipherKey,
    mac: &CipherKey,
    pin_format: PinBlockFormat,
) -> EncryptedWorkingKeys {
    EncryptedWorkingKeys::wrap(master, pin, mac, pin_format).expect("kit keys share one algorithm")
}

fn mac_is(s: &Subject<'_>, data: &[u8], want: &[u8; 8]) -> Result<(), String> {
    match s.pin_pad.mac(data) {
        Ok(m) if &m == want => Ok(()),
        other => Err(format!(
            "expected {:?}, got {other:?}",
            String::from_utf8_lossy(want)
        )),
    }
}

/// Enters the test PIN and checks the block decrypts under `pin_key` to the expected clear block.
fn pin_block_is(
    s: &Subject<'_>,
    pan: &Pan,
    amount: &Money,
    pin_key: &CipherKey,
    format: PinBlockFormat,
) -> Result<(), String> {
    s.operator.enter_pin(TEST_PIN);
    let clear = clear_pin_block(format, TEST_PIN, pan.expose_digits(), pin_key.block_len())
        .expect("valid test card and PIN");
    match s.pin_pad.online_pin(pan, amount, Duration::from_secs(5)) {
        Ok(PinEntry::Block(b)) if b.0 == clear[..] => Err("the PIN block is not encrypted".into()),
        Ok(PinEntry::Block(b)) if b.0.len() != clear.len() => Err(format!(
            "the PIN block is {} bytes; {} keys need {}",
            b.0.len(),
            pin_key.algorithm().name(),
            clear.len()
        )),
        Ok(PinEntry::Block(b)) if pin_key.decrypt_ecb(&b.0).ok().as_deref() == Some(&clear[..]) => {
            Ok(())
        }
        other => Err(format!(
            "block does not decrypt to the {format:?} block of the test PIN and card: {other:?}"
        )),
    }
}

/// Runs every check.
pub fn run(s: &Subject<'_>) -> Report {
    let mut kit = Kit { checks: Vec::new() };
    let amount = Money::from_minor(1234, smartpos_core::money::Currency::CNY).expect("valid");
    let des = KeyAlgorithm::Des;
    let tmk = kit_key(des, KIT_TMK_HEX);
    let pin_key = kit_key(des, KIT_PIN_KEY_HEX);
    let mac_key = kit_key(des, KIT_MAC_KEY_HEX);
    let pan = Pan::new("6222021234567890123").expect("valid");

    // PIN pad: keys.
    let mut bad_kcv = tmk.check_value();
    bad_kcv[0] ^= 0xFF;
    kit.check(
        "pin_pad.master_key_kcv",
        "a master key with a wrong check value is refused with KeyCheckFailed",
        expect(
            s.pin_pad.load_master_key(des, tmk.expose_bytes(), &bad_kcv),
            HalError::KeyCheckFailed,
        ),
    );
    kit.check(
        "pin_pad.master_key_load",
        "a master key with its check value is accepted",
        s.pin_pad
            .load_master_key(des, tmk.expose_bytes(), &tmk.check_value())
            .map_err(|e| e.to_string()),
    );
    let good = working_keys(&tmk, &pin_key, &mac_key, PinBlockFormat::WithPan);
    kit.check(
        "pin_pad.working_keys_load",
        "working keys encrypted under the master key, with check values, are accepted",
        s.pin_pad
            .load_working_keys(&good)
            .map_err(|e| e.to_string()),
    );
    let data = b"0200 conformance MAC block".to_vec();
    let want_mac = cup_ecb_mac(&mac_key, &data);
    kit.check(
        "pin_pad.mac",
        "the MAC is the UnionPay ECB MAC under the loaded MAC key",
        mac_is(s, &data, &want_mac),
    );
    let mut first_half_keys = good.clone();
    first_half_keys.mac_key_use = smartpos_core::profile::MacKeyUse::FirstHalf;
    let half = mac_key.first_half().expect("a DES key has halves");
    kit.check(
        "pin_pad.mac_first_half",
        "with working keys whose mac_key_use is first_half, the MAC is the UnionPay ECB MAC under the first 8 bytes of the MAC key (single DES)",
        s.pin_pad
            .load_working_keys(&first_half_keys)
            .map_err(|e| e.to_string())
            .and_then(|()| mac_is(s, &data, &cup_ecb_mac(&half, &data)))
            .and_then(|()| {
                s.pin_pad
                    .load_working_keys(&good)
                    .map_err(|e| format!("reloading full keys: {e}"))
            }),
    );
    // A refused set must change nothing: a new PIN key with a good check value beside a MAC
    // key with a bad one must not replace the PIN key (no partial update).
    let other_pin = kit_key(des, "1F2E3D4C5B6A79888796A5B4C3D2E1F0");
    let other_mac = kit_key(des, "0F1E2D3C4B5A69788796A5B4C3D2E1F0");
    let (opk, opkcv) = wrap(&tmk, &other_pin);
    let (omk, mut omkcv) = wrap(&tmk, &other_mac);
    omkcv[3] ^= 0x01;
    let bad = EncryptedWorkingKeys {
        pin_key: opk,
        pin_kcv: opkcv,
        mac_key: omk,
        mac_kcv: omkcv,
        ..good.clone()
    };
    // What the keys in force produce now; a refused load must leave both unchanged (compared
    // with themselves, so a wrong MAC or PIN block is reported by its own check, not here).
    let in_force = |s: &Subject<'_>| -> Result<([u8; 8], Vec<u8>), String> {
        let mac = s.pin_pad.mac(&data).map_err(|e| format!("mac: {e}"))?;
        s.operator.enter_pin(TEST_PIN);
        match s.pin_pad.online_pin(&pan, &amount, Duration::from_secs(5)) {
            Ok(PinEntry::Block(b)) => Ok((mac, b.0)),
            other => Err(format!("online PIN: {other:?}")),
        }
    };
    kit.check(
        "pin_pad.working_key_kcv",
        "a working-key set with a wrong check value is refused with KeyCheckFailed and both keys in force stay (no partial update)",
        in_force(s).and_then(|before| {
            expect(s.pin_pad.load_working_keys(&bad), HalError::KeyCheckFailed)?;
            let after = in_force(s)?;
            if after.0 != before.0 {
                return Err("the MAC key changed after a refused load".into());
            }
            if after.1 != before.1 {
                return Err("the PIN key changed after a refused load (partial update)".into());
            }
            Ok(())
        }),
    );

    // Back to the known keys whatever the driver did, so a fault above is reported there only.
    let _ = s.pin_pad.load_working_keys(&good);

    // PIN pad: PIN entry.
    kit.check(
        "pin_pad.pin_block",
        "online PIN returns the ISO 9564 format-0 block encrypted under the PIN key, never the clear block",
        pin_block_is(s, &pan, &amount, &pin_key, PinBlockFormat::WithPan),
    );
    let without_pan = working_keys(&tmk, &pin_key, &mac_key, PinBlockFormat::WithoutPan);
    kit.check(
        "pin_pad.pin_block_without_pan",
        "with working keys that ask for ANSI X9.8 without the card number, the block is the PIN field alone, encrypted",
        s.pin_pad
            .load_working_keys(&without_pan)
            .map_err(|e| e.to_string())
            .and_then(|()| pin_block_is(s, &pan, &amount, &pin_key, PinBlockFormat::WithoutPan)),
    );
    s.operator.bypass_pin();
    kit.check(
        "pin_pad.bypass",
        "a bypassed PIN entry is reported as Bypassed",
        match s.pin_pad.online_pin(&pan, &amount, Duration::from_secs(5)) {
            Ok(PinEntry::Bypassed) => Ok(()),
            other => Err(format!("expected Bypassed, got {other:?}")),
        },
    );
    kit.check(
        "pin_pad.timeout",
        "with no entry, online PIN returns Timeout when the time limit passes, at most 10 % + 100 ms late",
        times_out(TIMEOUT, |t| s.pin_pad.online_pin(&pan, &amount, t)),
    );
    kit.check(
        "pin_pad.cancel",
        "cancel() makes a waiting online PIN return Cancelled within 200 ms",
        cancels(
            || s.pin_pad.online_pin(&pan, &amount, Duration::from_secs(10)),
            || s.pin_pad.cancel(),
        ),
    );
    kit.check(
        "pin_pad.cancel_not_sticky",
        "a cancel with nobody waiting does not cancel the next online PIN",
        cancel_not_sticky(
            || s.pin_pad.cancel(),
            |t| s.pin_pad.online_pin(&pan, &amount, t),
        ),
    );

    // PIN pad: the SM4 hierarchy.
    let sm4 = KeyAlgorithm::Sm4;
    let sm4_tmk = kit_key(sm4, KIT_SM4_TMK_HEX);
    let sm4_pin = kit_key(sm4, KIT_PIN_KEY_HEX);
    let sm4_mac = kit_key(sm4, KIT_MAC_KEY_HEX);
    let mut bad_sm4_kcv = sm4_tmk.check_value();
    bad_sm4_kcv[0] ^= 0xFF;
    kit.check(
        "pin_pad.sm4_master_key_kcv",
        "an SM4 master key with a wrong check value is refused with KeyCheckFailed",
        expect(
            s.pin_pad
                .load_master_key(sm4, sm4_tmk.expose_bytes(), &bad_sm4_kcv),
            HalError::KeyCheckFailed,
        ),
    );
    kit.check(
        "pin_pad.sm4_master_key_load",
        "an SM4 master key with its SM4 check value is accepted",
        s.pin_pad
            .load_master_key(sm4, sm4_tmk.expose_bytes(), &sm4_tmk.check_value())
            .map_err(|e| e.to_string()),
    );
    kit.check(
        "pin_pad.master_key_clears_working_keys",
        "an accepted master key clears the working keys: mac() returns NoKeys until new working keys are loaded",
        expect(s.pin_pad.mac(&data), HalError::NoKeys),
    );
    let sm4_keys = working_keys(&sm4_tmk, &sm4_pin, &sm4_mac, PinBlockFormat::WithPan);
    kit.check(
        "pin_pad.sm4_working_keys_load",
        "SM4 working keys wrapped under the SM4 master key, with SM4 check values, are accepted",
        s.pin_pad
            .load_working_keys(&sm4_keys)
            .map_err(|e| e.to_string()),
    );
    let want_sm4_mac = cup_ecb_mac(&sm4_mac, &data);
    kit.check(
        "pin_pad.sm4_mac",
        "with SM4 keys the MAC is the UnionPay ECB MAC on 16-byte blocks",
        mac_is(s, &data, &want_sm4_mac),
    );
    kit.check(
        "pin_pad.sm4_pin_block",
        "with SM4 keys online PIN returns the 16-byte ANSI X9.8 block encrypted under the SM4 PIN key",
        pin_block_is(s, &pan, &amount, &sm4_pin, PinBlockFormat::WithPan),
    );
    // The other direction: keys labelled SM4 whose bytes would pass as DES keys under the DES
    // master (wrapped and checked with DES) must be refused for their algorithm alone.
    let (mpk, mpkcv) = wrap(&tmk, &other_pin);
    let (mmk, mmkcv) = wrap(&tmk, &other_mac);
    let mislabelled = EncryptedWorkingKeys {
        algorithm: sm4,
        pin_key: mpk,
        pin_kcv: mpkcv,
        mac_key: mmk,
        mac_kcv: mmkcv,
        ..good.clone()
    };
    kit.check(
        "pin_pad.algorithm_mismatch",
        "working keys of the other algorithm are refused, even when their bytes would fit, and the keys in force stay (DES keys under an SM4 master; keys labelled SM4 under a DES master)",
        in_force(s)
            .and_then(|before| match s.pin_pad.load_working_keys(&good) {
                Ok(()) => Err("DES working keys were accepted under an SM4 master key".into()),
                Err(_) if in_force(s)? != before => {
                    Err("keys changed after a refused load".into())
                }
                Err(_) => Ok(()),
            })
            .and_then(|()| {
                s.pin_pad
                    .load_master_key(des, tmk.expose_bytes(), &tmk.check_value())
                    .and_then(|()| s.pin_pad.load_working_keys(&good))
                    .map_err(|e| format!("reloading the DES hierarchy: {e}"))
            })
            .and_then(|()| {
                let before = in_force(s)?;
                match s.pin_pad.load_working_keys(&mislabelled) {
                    Ok(()) => Err("keys labelled SM4 were accepted under a DES master key".into()),
                    Err(_) if in_force(s)? != before => {
                        Err("keys changed after a refused load".into())
                    }
                    Err(_) => Ok(()),
                }
            }),
    );

    card_reader::card_reader_checks(&mut kit, s, &amount, &pan);
    printer::printer_checks(&mut kit, s);
    scanner::scanner_checks(&mut kit, s);
    device_checks(&mut kit, s.device);
    Report { checks: kit.checks }
}

/// A value printed once and read back: 12 decimal digits from the system's random source (no
/// leading zero, so a scanner's own text handling is checked by `scanner.scan`, not here).
fn one_time_value() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let n = match ring::rand::SystemRandom::new().fill(&mut b) {
        Ok(()) => u64::from_be_bytes(b),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7),
    };
    (100_000_000_000 + n % 900_000_000_000).to_string()
}
