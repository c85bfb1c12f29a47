//! Simulated drivers, scriptable from tests and the CLI. Each blocking driver plays a script
//! of operator actions; with an empty script it really waits (up to the timeout, or until
//! `cancel()` or a new action arrives), so timeout and cancel semantics are real.

use smartpos_core::card::EntryMode;
use smartpos_core::card::{CardData, Pan};
use smartpos_core::crypto::{clear_pin_block, cup_ecb_mac, BlockKey, CipherKey};
use smartpos_core::crypto::{KeyAlgorithm, PinBlockFormat};
use smartpos_core::hal::*;
use smartpos_core::money::Money;
use smartpos_core::profile::MacKeyUse;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;
use std::time::Instant;

/// A queue of scripted actions with real timeout and cancel semantics.
#[derive(Debug)]
pub struct ActionQueue<T> {
    state: Mutex<QueueState<T>>,
    wake: Condvar,
}

#[derive(Debug)]
struct QueueState<T> {
    actions: VecDeque<T>,
    waiting: bool,
    cancelled: bool,
}

impl<T> Default for QueueState<T> {
    fn default() -> Self {
        QueueState {
            actions: VecDeque::new(),
            waiting: false,
            cancelled: false,
        }
    }
}

impl<T> Default for ActionQueue<T> {
    fn default() -> Self {
        ActionQueue {
            state: Mutex::new(QueueState::default()),
            wake: Condvar::new(),
        }
    }
}

impl<T> ActionQueue<T> {
    /// A queue holding `actions`.
    pub fn new(actions: impl IntoIterator<Item = T>) -> Self {
        ActionQueue {
            state: Mutex::new(QueueState {
                actions: actions.into_iter().collect(),
                ..Default::default()
            }),
            wake: Condvar::new(),
        }
    }
    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Adds an action (the operator acts); wakes a waiting call.
    pub fn push(&self, action: T) {
        self.lock().actions.push_back(action);
        self.wake.notify_all();
    }
    /// Cancels a waiting call; has no effect when none is waiting.
    pub fn cancel(&self) {
        let mut s = self.lock();
        if s.waiting {
            s.cancelled = true;
            self.wake.notify_all();
        }
    }
    /// The next action, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Result<T, HalError> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        s.waiting = true;
        s.cancelled = false;
        let out = loop {
            if s.cancelled {
                break Err(HalError::Cancelled);
            }
            if let Some(a) = s.actions.pop_front() {
                break Ok(a);
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(HalError::Timeout);
            }
            s = self
                .wake
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        s.waiting = false;
        s.cancelled = false;
        out
    }
}

/// What the simulated card reader's operator does.
#[derive(Debug, Clone)]
pub enum CardScript {
    /// Presents this track 2 data.
    Card {
        /// Track 2 equivalent data.
        track2: String,
        /// How it is read.
        entry_mode: EntryMode,
    },
    /// Presents a chip card: track 2 equivalent data and EMV TLV (field 55).
    Chip {
        /// Track 2 equivalent data (tag 57).
        track2: String,
        /// EMV TLV data.
        icc_data: Vec<u8>,
        /// Card sequence number.
        sequence: String,
        /// Tapped (contactless) rather than inserted.
        contactless: bool,
    },
    /// Presents a simulated EMV chip card: the reader runs its first GENERATE AC for the
    /// transaction's amount (a genuine ARQC under the card's own key, derived from
    /// [`TEST_ISSUER_MASTER_KEY_AC`](crate::emv_crypto::TEST_ISSUER_MASTER_KEY_AC)) and, after
    /// the host's answer, its second (TC only for a genuine ARPC with response code 00).
    Emv {
        /// Track 2 equivalent data (tag 57).
        track2: String,
        /// PAN sequence number, two digits.
        psn: String,
        /// Tapped (contactless) rather than inserted.
        contactless: bool,
    },
    /// A chip card whose chip cannot be used: the reader reports a fallback, and the terminal
    /// asks for a swipe (the next script entry).
    ChipFails,
    /// A chip card that declines offline at its first cryptogram (nothing goes online).
    DeclinedOffline,
    /// A card the reader cannot read (a damaged stripe, a chip that does not answer).
    Unreadable,
    /// Reports a timeout at once (no real wait).
    Timeout,
    /// Presses cancel.
    Cancel,
}

/// A card reader that plays back a script.
///
/// ```
/// use smartpos_testing::sim::{CardScript, SimCardReader};
/// use smartpos_core::hal::CardReader;
/// use smartpos_core::card::EntryMode;
/// use smartpos_core::money::{Currency, Money};
/// let r = SimCardReader::new([CardScript::Card { track2: "6222021234567890123=3012101".into(), entry_mode: EntryMode::MagStripe }]);
/// let amount = Money::from_minor(1, Currency::CNY).unwrap();
/// let card = r.wait_for_card(&amount, std::time::Duration::from_secs(1)).unwrap();
/// assert_eq!(card.pan().masked(), "622202*********0123");
/// ```
#[derive(Debug, Default)]
pub struct SimCardReader {
    queue: ActionQueue<CardScript>,
    present: Mutex<bool>,
    /// The card's last words after approvals, in order (`true` accepts); accepts when empty.
    verdicts: Mutex<std::collections::VecDeque<bool>>,
    /// The EMV card's transaction in progress, for its second half.
    session: Mutex<Option<crate::emv_crypto::ChipSession>>,
    atc: std::sync::atomic::AtomicU16,
    /// What the terminal loaded into the kernel (`None`: nothing yet, every card goes on).
    params: Mutex<Option<smartpos_core::emv::params::EmvParameters>>,
    /// A cancel came between the halves of a chip transaction: its second half is refused.
    cancelled_between: std::sync::atomic::AtomicBool,
}

impl SimCardReader {
    /// A reader with a script.
    pub fn new(script: impl IntoIterator<Item = CardScript>) -> Self {
        SimCardReader {
            queue: ActionQueue::new(script),
            ..Default::default()
        }
    }
    /// The next chip card to be asked after an approval declines (AAC) instead of accepting.
    pub fn decline_after_approval(&self) {
        self.verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(false);
    }
    /// The operator acts.
    pub fn push(&self, s: CardScript) {
        self.queue.push(s);
    }
    /// The EMV parameters the terminal loaded last, if any.
    pub fn loaded_parameters(&self) -> Option<smartpos_core::emv::params::EmvParameters> {
        self.params
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// The operator removes the card.
    pub fn remove_card(&self) {
        *self.present.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }
}

impl SimCardReader {
    /// The next card script as the first half of a transaction.
    fn present_card(&self, amount: &Money, timeout: Duration) -> Result<Presented, HalError> {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.cancelled_between
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let card = match self.queue.next(timeout)? {
            CardScript::Card { track2, entry_mode } => CardData::from_track2(&track2, entry_mode),
            CardScript::Chip {
                track2,
                icc_data,
                sequence,
                contactless,
            } => CardData::from_track2(
                &track2,
                if contactless {
                    EntryMode::Contactless
                } else {
                    EntryMode::Chip
                },
            )
            .map(|c| c.with_icc(icc_data, Some(sequence))),
            CardScript::Emv {
                track2,
                psn,
                contactless,
            } => {
                let pan = track2
                    .split(['=', 'D'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let t = smartpos_core::time::LocalTime::from_unix(now.as_secs() as i64, 8 * 3600);
                // The kernel with loaded parameters: no parameters for the card's AID means no
                // common application (the terminal falls back to the stripe); no CA key for
                // its issuer means no offline data authentication (TVR byte 1 bit 8).
                let mut tvr = [0u8; 5];
                if let Some(p) = self
                    .params
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                {
                    use crate::emv_crypto::{CARD_AID, CARD_CA_INDEX};
                    if p.aid_for(&CARD_AID).is_none() {
                        return Ok(Presented::Fallback);
                    }
                    if p.ca_key(&CARD_AID[..5], CARD_CA_INDEX).is_none() {
                        tvr[0] |= 0x80;
                    }
                }
                let atc = self
                    .atc
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .wrapping_add(1);
                let first = crate::emv_crypto::FirstAc {
                    pan: &pan,
                    psn: &psn,
                    amount_minor: amount.minor(),
                    currency: amount.currency().numeric(),
                    date: &format!("{:02}{:02}{:02}", t.year % 100, t.month, t.day),
                    atc,
                    unpredictable: (now.subsec_nanos() ^ u32::from(atc)).to_be_bytes(),
                    tvr,
                };
                let (icc, session) = first.run();
                *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
                let mode = if contactless {
                    EntryMode::Contactless
                } else {
                    EntryMode::Chip
                };
                CardData::from_track2(&track2, mode)
                    .map(|c| c.with_icc(icc, Some(format!("{psn:0>3}"))))
            }
            CardScript::ChipFails => return Ok(Presented::Fallback),
            CardScript::DeclinedOffline => return Ok(Presented::DeclinedOffline),
            CardScript::Cancel => return Err(HalError::Cancelled),
            CardScript::Timeout => return Err(HalError::Timeout),
            CardScript::Unreadable => {
                return Err(HalError::CardError("the card could not be read".into()))
            }
        }
        .map_err(|e| HalError::CardError(e.to_string()))?;
        *self.present.lock().unwrap_or_else(|p| p.into_inner()) =
            card.entry_mode() == EntryMode::Chip;
        Ok(Presented::Card(card))
    }
}

impl CardReader for SimCardReader {
    fn wait_for_card(&self, amount: &Money, timeout: Duration) -> Result<CardData, HalError> {
        match self.present_card(amount, timeout)? {
            Presented::Card(c) => Ok(c),
            Presented::Fallback => Err(HalError::CardError("the chip could not be read".into())),
            Presented::DeclinedOffline => {
                Err(HalError::CardError("the card declined offline".into()))
            }
        }
    }
    fn start_transaction(
        &self,
        start: &smartpos_core::hal::TransactionStart,
        timeout: Duration,
    ) -> Result<Presented, HalError> {
        self.present_card(&start.amount, timeout)
    }
    fn cancel(&self) {
        // Between the halves of a chip transaction the card is told nothing more.
        if self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some()
        {
            self.cancelled_between
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.queue.cancel();
    }
    fn card_present(&self) -> bool {
        *self.present.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn load_parameters(
        &self,
        params: &smartpos_core::emv::params::EmvParameters,
    ) -> Result<(), HalError> {
        *self.params.lock().unwrap_or_else(|p| p.into_inner()) = Some(params.clone());
        Ok(())
    }
    fn complete_online(
        &self,
        answer: &smartpos_core::hal::IssuerAnswer,
        _timeout: Duration,
    ) -> Result<smartpos_core::hal::CardVerdict, HalError> {
        use smartpos_core::hal::CardVerdict;
        if self
            .cancelled_between
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(HalError::Cancelled);
        }
        let scripted = self
            .verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .unwrap_or(true);
        // The card's second GENERATE AC: an EMV card checks the ARPC; CID 40 (TC) or 00 (AAC).
        let session = self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let (accept, icc_data) = match session {
            Some(s) => {
                let (ok, data) = s.second_ac(&answer.icc_data);
                (ok && scripted, data)
            }
            None => (
                scripted,
                vec![0x9F, 0x27, 0x01, if scripted { 0x40 } else { 0 }],
            ),
        };
        Ok(if accept {
            CardVerdict::Accepted { icc_data }
        } else {
            CardVerdict::Declined { icc_data }
        })
    }
}

/// What the simulated PIN pad's customer does.
#[derive(Debug, Clone)]
pub enum PinScript {
    /// Types this PIN.
    Pin(String),
    /// Bypasses PIN.
    Bypass,
    /// Presses cancel.
    Cancel,
    /// Reports a timeout at once.
    Timeout,
}

#[derive(Default)]
struct Keys {
    master: Option<CipherKey>,
    pin: Option<CipherKey>,
    mac: Option<CipherKey>,
    pin_format: PinBlockFormat,
}

/// A PIN pad that holds its keys in memory (zeroized on drop) and plays back PIN entries.
pub struct SimPinPad {
    keys: Mutex<Keys>,
    queue: ActionQueue<PinScript>,
}

impl std::fmt::Debug for SimPinPad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimPinPad { .. }")
    }
}

impl SimPinPad {
    /// A PIN pad with this terminal master key (DES or SM4) already injected.
    pub fn new(master: impl Into<CipherKey>, script: impl IntoIterator<Item = PinScript>) -> Self {
        SimPinPad {
            keys: Mutex::new(Keys {
                master: Some(master.into()),
                ..Default::default()
            }),
            queue: ActionQueue::new(script),
        }
    }
    /// A PIN pad with no keys at all.
    pub fn empty() -> Self {
        SimPinPad {
            keys: Mutex::new(Keys::default()),
            queue: ActionQueue::default(),
        }
    }
    /// The customer acts.
    pub fn push(&self, s: PinScript) {
        self.queue.push(s);
    }
    fn keys(&self) -> MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key_error(e: smartpos_core::crypto::KeyError) -> HalError {
    match e {
        smartpos_core::crypto::KeyError::CheckValueMismatch => HalError::KeyCheckFailed,
        other => HalError::Device(other.to_string()),
    }
}

impl PinPad for SimPinPad {
    fn load_master_key(
        &self,
        algorithm: KeyAlgorithm,
        key: &[u8],
        check_value: &[u8; 4],
    ) -> Result<(), HalError> {
        let k = CipherKey::new(algorithm, key).map_err(key_error)?;
        if &k.check_value() != check_value {
            return Err(HalError::KeyCheckFailed);
        }
        *self.keys() = Keys {
            master: Some(k),
            ..Default::default()
        };
        Ok(())
    }

    fn load_working_keys(&self, keys: &EncryptedWorkingKeys) -> Result<(), HalError> {
        let mut st = self.keys();
        let master = st.master.as_ref().ok_or(HalError::NoKeys)?;
        if master.algorithm() != keys.algorithm {
            return Err(HalError::Device(format!(
                "working keys are {}, the master key is {}",
                keys.algorithm.name(),
                master.algorithm().name()
            )));
        }
        let pin = master
            .unwrap_key(&keys.pin_key, &keys.pin_kcv)
            .map_err(key_error)?;
        let mac = master
            .unwrap_key(&keys.mac_key, &keys.mac_kcv)
            .map_err(key_error)?;
        let mac = match keys.mac_key_use {
            MacKeyUse::Full => mac,
            MacKeyUse::FirstHalf => mac.first_half().ok_or_else(|| {
                HalError::Device("an SM4 MAC key has no first half to MAC with".into())
            })?,
        };
        st.pin = Some(pin);
        st.mac = Some(mac);
        st.pin_format = keys.pin_format;
        Ok(())
    }

    fn online_pin(
        &self,
        pan: &Pan,
        _amount: &Money,
        timeout: Duration,
    ) -> Result<PinEntry, HalError> {
        if self.keys().pin.is_none() {
            return Err(HalError::NoKeys);
        }
        match self.queue.next(timeout)? {
            PinScript::Pin(pin) => {
                let keys = self.keys();
                let key = keys.pin.as_ref().ok_or(HalError::NoKeys)?;
                let mut block =
                    clear_pin_block(keys.pin_format, &pin, pan.expose_digits(), key.block_len())
                        .map_err(|e| HalError::Device(e.to_string()))?;
                key.encrypt_in_place(&mut block).map_err(key_error)?;
                Ok(PinEntry::Block(EncryptedPinBlock(block.to_vec())))
            }
            PinScript::Bypass => Ok(PinEntry::Bypassed),
            PinScript::Cancel => Err(HalError::Cancelled),
            PinScript::Timeout => Err(HalError::Timeout),
        }
    }

    fn mac(&self, data: &[u8]) -> Result<[u8; 8], HalError> {
        let keys = self.keys();
        Ok(cup_ecb_mac(
            keys.mac.as_ref().ok_or(HalError::NoKeys)?,
            data,
        ))
    }

    fn cancel(&self) {
        self.queue.cancel();
    }
}

/// A printer that keeps what it printed; its paper and cover can be changed by the operator.
#[derive(Debug)]
pub struct SimPrinter {
    status: Mutex<PaperStatus>,
    jobs: Mutex<Vec<Vec<PrintCommand>>>,
    taken: Mutex<usize>,
}

impl Default for SimPrinter {
    fn default() -> Self {
        SimPrinter {
            status: Mutex::new(PaperStatus::Ok),
            jobs: Mutex::new(Vec::new()),
            taken: Mutex::new(0),
        }
    }
}

impl SimPrinter {
    /// The operator changes paper or cover state.
    pub fn set_status(&self, s: PaperStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
    /// Every job printed.
    pub fn jobs(&self) -> Vec<Vec<PrintCommand>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Tears off the paper: the jobs printed since the last tear, in order.
    pub fn take_printout(&self) -> Vec<Vec<PrintCommand>> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        let out = jobs[(*taken).min(jobs.len())..].to_vec();
        *taken = jobs.len();
        out
    }
}

impl Printer for SimPrinter {
    fn status(&self) -> PaperStatus {
        *self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn dot_width(&self) -> u32 {
        smartpos_hal::render::DOT_WIDTH as u32
    }
    fn print(&self, job: &[PrintCommand]) -> Result<(), HalError> {
        match self.status() {
            PaperStatus::OutOfPaper => Err(HalError::OutOfPaper),
            PaperStatus::CoverOpen => Err(HalError::CoverOpen),
            PaperStatus::Ok => {
                // The head draws what it is given; a job that cannot be drawn prints nothing.
                crate::fonts::system_renderer()
                    .render_dots(job)
                    .map_err(HalError::Device)?;
                self.jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(job.to_vec());
                Ok(())
            }
        }
    }
}

/// What the simulated scanner's operator shows it.
#[derive(Debug, Clone)]
pub enum ScanScript {
    /// A code with this text.
    Code(String),
    /// Reports a timeout at once.
    Timeout,
    /// Presses cancel.
    Cancel,
}

/// A scanner that plays back a script.
#[derive(Debug, Default)]
pub struct SimScanner {
    queue: ActionQueue<ScanScript>,
}

impl SimScanner {
    /// A scanner with a script.
    pub fn new(script: impl IntoIterator<Item = ScanScript>) -> Self {
        SimScanner {
            queue: ActionQueue::new(script),
        }
    }
    /// The operator shows a code.
    pub fn push(&self, s: ScanScript) {
        self.queue.push(s);
    }
}

impl Scanner for SimScanner {
    fn scan(&self, timeout: Duration) -> Result<String, HalError> {
        match self.queue.next(timeout)? {
            ScanScript::Code(c) => Ok(c),
            ScanScript::Timeout => Err(HalError::Timeout),
            ScanScript::Cancel => Err(HalError::Cancelled),
        }
    }
    fn cancel(&self) {
        self.queue.cancel();
    }
}

/// A device that reports fixed information.
#[derive(Debug, Clone)]
pub struct SimDevice(pub DeviceInformation);

impl Default for SimDevice {
    fn default() -> Self {
        SimDevice(DeviceInformation::example())
    }
}

impl DeviceInfoProvider for SimDevice {
    fn device_information(&self) -> DeviceInformation {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartpos_core::money::Currency;
    use std::sync::Arc;

    use smartpos_core::crypto::{KeyAlgorithm, PinBlockFormat};

    fn keys(master: &CipherKey, pin: &CipherKey, mac: &CipherKey) -> EncryptedWorkingKeys {
        EncryptedWorkingKeys::wrap(master, pin, mac, PinBlockFormat::WithPan).unwrap()
    }

    fn key(alg: KeyAlgorithm, hex: &str) -> CipherKey {
        CipherKey::from_hex(alg, hex).unwrap()
    }

    #[test]
    fn pin_block_decrypts_to_format0_under_pin_key() {
        let des = KeyAlgorithm::Des;
        let master = key(des, "0123456789ABCDEFFEDCBA9876543210");
        let pin = key(des, "11223344556677888877665544332211");
        let mac = key(des, "A1A2A3A4A5A6A7A8");
        let pad = SimPinPad::new(master.clone(), [PinScript::Pin("123456".into())]);
        let pan = Pan::new("1234567890123456").unwrap();
        let amt = Money::from_minor(1, Currency::CNY).unwrap();
        assert_eq!(
            pad.online_pin(&pan, &amt, Duration::from_secs(1)),
            Err(HalError::NoKeys)
        );
        pad.load_working_keys(&keys(&master, &pin, &mac)).unwrap();
        let PinEntry::Block(b) = pad.online_pin(&pan, &amt, Duration::from_secs(1)).unwrap() else {
            panic!("expected a block")
        };
        assert_eq!(
            hex::encode_upper(pin.decrypt_ecb(&b.0).unwrap()),
            "0612713176FEDCBA"
        );
    }

    #[test]
    fn sm4_hierarchy_gives_16_byte_blocks_and_refuses_des_working_keys() {
        let sm4 = KeyAlgorithm::Sm4;
        let master = key(sm4, "0123456789ABCDEFFEDCBA9876543210");
        let pin = key(sm4, "11223344556677888877665544332211");
        let mac = key(sm4, "A1A2A3A4A5A6A7A8A9AAABACADAEAFA0");
        let pad = SimPinPad::new(master.clone(), [PinScript::Pin("123456".into())]);
        let mut wk = keys(&master, &pin, &mac);
        wk.pin_format = PinBlockFormat::WithoutPan;
        pad.load_working_keys(&wk).unwrap();
        let pan = Pan::new("1234567890123456").unwrap();
        let amt = Money::from_minor(1, Currency::CNY).unwrap();
        let PinEntry::Block(b) = pad.online_pin(&pan, &amt, Duration::from_secs(1)).unwrap() else {
            panic!("expected a block")
        };
        assert_eq!(
            hex::encode_upper(pin.decrypt_ecb(&b.0).unwrap()),
            "06123456FFFFFFFFFFFFFFFFFFFFFFFF"
        );
        let mac_before = pad.mac(b"0200 data").unwrap();
        assert_eq!(mac_before, cup_ecb_mac(&mac, b"0200 data"));
        let des = KeyAlgorithm::Des;
        let dm = key(des, "0123456789ABCDEFFEDCBA9876543210");
        let other = keys(
            &dm,
            &key(des, "1111111111111111"),
            &key(des, "2222222222222222"),
        );
        assert!(matches!(
            pad.load_working_keys(&other),
            Err(HalError::Device(m)) if m.contains("master key is SM4")
        ));
        assert_eq!(pad.mac(b"0200 data").unwrap(), mac_before);
        // A DES master key's check value does not pass for SM4.
        assert_eq!(
            pad.load_master_key(sm4, dm.expose_bytes(), &dm.check_value()),
            Err(HalError::KeyCheckFailed)
        );
    }

    #[test]
    fn cancel_wakes_a_waiting_call_and_does_not_stick() {
        let r = Arc::new(SimCardReader::default());
        let amt = Money::from_minor(1, Currency::CNY).unwrap();
        let r2 = r.clone();
        let t = std::thread::spawn(move || r2.wait_for_card(&amt, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(50));
        r.cancel();
        assert_eq!(t.join().unwrap().unwrap_err(), HalError::Cancelled);
        r.cancel(); // nobody waiting: no effect
        assert_eq!(
            r.wait_for_card(&amt, Duration::from_millis(20))
                .unwrap_err(),
            HalError::Timeout
        );
    }
}
