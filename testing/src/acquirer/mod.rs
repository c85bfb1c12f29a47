//! The simulated acquirer host: a frame in, a frame out. No I/O here; the HTTPS server in
//! [`crate::server`] and tests both drive it.

mod advices;
mod batch;
pub mod cards;
pub mod changes;
pub mod emv_params;
pub use advices::AdviceRecord;
mod financial;

use cards::TestCard;
use random::random_bytes;
use smartpos_core::crypto::{clear_pin_block, cup_ecb_mac, BlockKey, CipherKey};
use smartpos_core::iso8583::{Frame, Message};
use smartpos_core::profile::{AcquirerProfile, MacKeyUse};
use smartpos_core::time::LocalTime;
use std::collections::HashMap;

/// The terminal master key the simulator's test terminals were injected with (test only).
pub const TEST_TMK_HEX: &str = "0123456789ABCDEFFEDCBA9876543210";

/// A terminal the host knows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TerminalAccount {
    /// Terminal id.
    pub terminal_id: String,
    /// Merchant id.
    pub merchant_id: String,
    /// Current batch number.
    pub batch: u32,
}

/// One approved or declined financial message as the host recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// Terminal id.
    pub terminal_id: String,
    /// Batch.
    pub batch: u32,
    /// Trace.
    pub trace: u32,
    /// Type name.
    pub kind: String,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// Masked card number.
    pub masked_pan: String,
    /// Response code.
    pub response_code: String,
    /// Retrieval reference.
    pub reference: String,
    /// Authorization code.
    pub auth_code: String,
    /// Reversed by a 0400: the charge was undone.
    #[serde(default)]
    pub reversed: bool,
    /// A sale voided by a later void in the same batch.
    #[serde(default)]
    pub voided: bool,
    /// Amount refunded against this sale so far.
    #[serde(default)]
    pub refunded_minor: u64,
    /// (batch, trace) of the sale a void or refund refers to.
    #[serde(default)]
    pub original: Option<(u32, u32)>,
    /// The card account this entry moved money on (the host's own record: for a sale or a
    /// pre-authorization the card it read, for a referring message its original's card).
    /// Voids, refunds and reversals move money on this card, whatever card data they carry.
    #[serde(default)]
    pub card: String,
}

impl LedgerEntry {
    /// Whether this entry is an approved financial message in force (not reversed).
    pub fn in_force(&self) -> bool {
        self.response_code == "00" && !self.reversed
    }
    /// Whether the card is charged by this entry now: an approved sale or completion, not
    /// reversed, not voided.
    pub fn charged(&self) -> bool {
        matches!(self.kind.as_str(), "sale" | "preauth_complete") && self.in_force() && !self.voided
    }
}

/// Durable state of the simulator.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct HostState {
    /// Known terminals.
    pub terminals: Vec<TerminalAccount>,
    /// Card accounts with current balances.
    pub cards: Vec<TestCard>,
    /// Every financial message answered.
    pub ledger: Vec<LedgerEntry>,
    /// Last reference number issued.
    pub rrn_counter: u64,
}

impl HostState {
    /// The day's settlement file: every financial message per terminal with its final status.
    pub fn settlement_lines(
        &self,
        terminal_id: Option<&str>,
    ) -> Vec<smartpos_core::reconcile::SettlementLine> {
        self.ledger
            .iter()
            .filter(|e| terminal_id.is_none_or(|t| t == e.terminal_id))
            .map(|e| smartpos_core::reconcile::SettlementLine {
                terminal_id: e.terminal_id.clone(),
                batch: e.batch,
                trace: e.trace,
                reference: e.reference.clone(),
                kind: e.kind.clone(),
                amount_minor: e.amount_minor,
                status: if e.in_force() && e.voided {
                    "voided"
                } else if e.in_force() {
                    "approved"
                } else if e.reversed && e.response_code == "00" {
                    "reversed"
                } else {
                    "declined"
                }
                .into(),
            })
            .collect()
    }
}

/// Why a request got no ISO 8583 answer at all.
#[derive(Debug, thiserror::Error)]
pub enum HostReject {
    /// The request frame could not be decoded.
    #[error("malformed request: {0}")]
    Malformed(#[from] smartpos_core::iso8583::DecodeError),
}

struct Keys {
    pin: CipherKey,
    mac: CipherKey,
}

/// The simulated acquirer.
pub struct Acquirer {
    profile: AcquirerProfile,
    tmk: CipherKey,
    state: HostState,
    keys: HashMap<String, Keys>,
    /// Ledger positions by (terminal, batch, trace), and terminals' positions by id: lookups in
    /// O(1) for load runs. Checked against the entry on each use and rebuilt when stale (tests
    /// may edit the state through `state_mut`).
    ledger_index: HashMap<(String, u32, u32), usize>,
    indexed_len: usize,
    terminal_index: HashMap<String, usize>,
    /// For the ledger log (`changes`): the ledger length at the last record, rows changed in
    /// place since, whether the terminals changed, the reference counter last recorded.
    change_from: usize,
    touched: std::collections::BTreeSet<usize>,
    terminals_dirty: bool,
    rrn_logged: Option<u64>,
    cards_logged: HashMap<String, (u64, u64)>,
    /// The EMV parameters the downloads serve.
    emv: smartpos_core::emv::params::EmvParameters,
    /// Advices accepted (in memory only).
    advices: Vec<AdviceRecord>,
}

/// A source of random bytes for working keys.
mod random {
    pub fn random_bytes(buf: &mut [u8]) {
        use ring::rand::SecureRandom;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .expect("system randomness");
    }
}

fn f60_1(m: &Message) -> &str {
    m.get_str(60).and_then(|f| f.get(0..2)).unwrap_or("")
}

/// 60.2, the batch number (0 when absent or malformed).
fn f60_batch(m: &Message) -> u32 {
    m.get_str(60)
        .and_then(|f| f.get(2..8))
        .and_then(|b| b.parse().ok())
        .unwrap_or(0)
}

fn set_text(m: &mut Message, f: u8, v: &str) {
    m.set(f, v.as_bytes());
}

impl Acquirer {
    /// A host with the standard test terminal and cards.
    pub fn new(profile: AcquirerProfile) -> Self {
        let state = HostState {
            terminals: vec![TerminalAccount {
                terminal_id: "10000001".into(),
                merchant_id: "898310048990001".into(),
                batch: 1,
            }],
            cards: cards::standard_cards(),
            ledger: Vec::new(),
            rrn_counter: 0,
        };
        Self::with_state(profile, state)
    }

    fn reindex(&mut self) {
        self.indexed_len = self.state.ledger.len();
        self.ledger_index.clear();
        for (i, e) in self.state.ledger.iter().enumerate() {
            self.ledger_index
                .entry((e.terminal_id.clone(), e.batch, e.trace))
                .or_insert(i);
        }
        self.terminal_index = self
            .state
            .terminals
            .iter()
            .enumerate()
            .map(|(i, t)| (t.terminal_id.clone(), i))
            .collect();
    }

    /// The ledger position of the message (terminal, batch, trace). The index is rebuilt when the
    /// ledger changed behind it (tests edit the state through `state_mut`).
    pub(super) fn ledger_at(&mut self, tid: &str, batch: u32, trace: u32) -> Option<usize> {
        let is = |e: &LedgerEntry| e.terminal_id == tid && e.batch == batch && e.trace == trace;
        let key = (tid.to_string(), batch, trace);
        if self.indexed_len != self.state.ledger.len() {
            self.reindex();
        }
        match self.ledger_index.get(&key) {
            Some(&i) if self.state.ledger.get(i).is_some_and(is) => Some(i),
            None => None,
            Some(_) => {
                self.reindex();
                self.ledger_index.get(&key).copied()
            }
        }
    }

    /// Appends to the ledger (indexed).
    pub(super) fn post(&mut self, e: LedgerEntry) {
        self.ledger_index
            .entry((e.terminal_id.clone(), e.batch, e.trace))
            .or_insert(self.state.ledger.len());
        self.state.ledger.push(e);
        self.indexed_len = self.state.ledger.len();
    }

    /// The position of a terminal the host knows.
    pub(super) fn terminal_at(&self, tid: &str) -> Option<usize> {
        match self.terminal_index.get(tid) {
            Some(&i)
                if self
                    .state
                    .terminals
                    .get(i)
                    .is_some_and(|t| t.terminal_id == tid) =>
            {
                Some(i)
            }
            _ => self
                .state
                .terminals
                .iter()
                .position(|t| t.terminal_id == tid),
        }
    }

    /// Registers `count` terminals with ids `first`, `first + 1`, ... (8 digits) for the demo
    /// merchant, for load runs with many terminals; ids already known are kept as they are.
    pub fn register_terminals(&mut self, first: u32, count: u32) {
        for i in 0..count {
            let tid = format!("{:08}", first.saturating_add(i));
            if self.terminal_at(&tid).is_none() {
                self.terminal_index
                    .insert(tid.clone(), self.state.terminals.len());
                self.terminals_dirty = true;
                self.state.terminals.push(TerminalAccount {
                    terminal_id: tid,
                    merchant_id: "898310048990001".into(),
                    batch: 1,
                });
            }
        }
    }

    /// A host resuming from saved state.
    pub fn with_state(profile: AcquirerProfile, state: HostState) -> Self {
        let profile_no_pin = profile.contactless.no_pin_minor;
        let mut acquirer = Acquirer {
            tmk: CipherKey::from_hex(profile.key_algorithm, TEST_TMK_HEX).expect("valid test key"),
            profile,
            state,
            keys: HashMap::new(),
            ledger_index: HashMap::new(),
            indexed_len: 0,
            terminal_index: HashMap::new(),
            change_from: 0,
            touched: Default::default(),
            terminals_dirty: true,
            rrn_logged: None,
            cards_logged: HashMap::new(),
            emv: emv_params::standard_emv_parameters(profile_no_pin),
            advices: Vec::new(),
        };
        acquirer.reindex();
        acquirer
    }

    /// Checks that every card account is what the ledger says happened to it, starting from
    /// `initial`: balance = initial − charged sales and completions in force + refunds in force;
    /// held = pre-authorizations in force and still open. The settlement file and the batch
    /// totals are computed from the same ledger. Returns the first disagreement.
    pub fn check_accounts(&self, initial: &[TestCard]) -> Result<(), String> {
        for card in &self.state.cards {
            let Some(start) = initial.iter().find(|c| c.pan == card.pan) else {
                continue;
            };
            let mine = || self.state.ledger.iter().filter(|e| e.card == card.pan);
            let charged: u64 = mine().filter(|e| e.charged()).map(|e| e.amount_minor).sum();
            let refunded: u64 = mine()
                .filter(|e| e.kind == "refund" && e.in_force())
                .map(|e| e.amount_minor)
                .sum();
            let held: u64 = mine()
                .filter(|e| e.kind == "preauth" && e.in_force() && !e.voided)
                .map(|e| e.amount_minor)
                .sum();
            let balance = start.balance + refunded - charged;
            if card.balance != balance || card.held != held {
                return Err(format!(
                    "card {}: balance {} held {}, but the ledger says balance {balance} held {held}",
                    smartpos_core::card::mask_pan(&card.pan),
                    card.balance,
                    card.held
                ));
            }
        }
        Ok(())
    }

    /// The durable state (ledger, balances, terminals).
    pub fn state(&self) -> &HostState {
        &self.state
    }

    /// Mutable state, for tests that stage a disagreement (a lost transaction, say).
    pub fn state_mut(&mut self) -> &mut HostState {
        &mut self.state
    }

    /// Answers one request frame at local time `now`.
    pub fn handle(&mut self, request: &[u8], now: LocalTime) -> Result<Vec<u8>, HostReject> {
        let frame = Frame::decode(request, self.profile.fields())?;
        let req = &frame.message;
        let mut header = frame.header;
        let mut resp = Message::new(req.mti.response().unwrap_or(req.mti));
        for f in [2u8, 3, 4, 11, 14, 22, 25, 41, 42, 49, 60] {
            if let Some(v) = req.get(f) {
                resp.set(f, v);
            }
        }
        resp.set(12, now.f12());
        resp.set(13, now.f13());
        resp.set(32, self.profile.acquirer_id.clone());
        let tid = req.get_str(41).unwrap_or("").to_string();
        // A chip request's ARQC, checked once: by the sale and for the answer's ARPC.
        let chip = req
            .get(55)
            .filter(|_| matches!(req.mti.value(), 100 | 200))
            .map(|f55| crate::emv_crypto::issuer_check(&request_pan(req), &request_psn(req), f55));
        let known = self.terminal_at(&tid).is_some();
        let download = req
            .get_str(60)
            .and_then(|f| f.get(8..11))
            .and_then(emv_params::Asked::of);
        let macced = !matches!(req.mti.value(), 800 | 820);
        let code = if !known {
            "97".to_string()
        } else if macced && !self.mac_ok(&tid, req) {
            // No session keys (not signed in) or a bad MAC: A0, and ask for a new sign-in.
            header = header.with_request(3);
            "A0".to_string()
        } else {
            match (req.mti.value(), req.get_str(3)) {
                (800 | 820, _) if download.is_some() => {
                    let (what, step) = download.expect("checked");
                    match (req.mti.value(), step) {
                        (820, "list") => self.emv_listing(what, req, &mut resp),
                        (800, "fetch") => self.emv_fetch(what, req, &mut resp),
                        (800, "end") => "00".to_string(),
                        _ => "40".to_string(),
                    }
                }
                (800, _) => self.sign_in(&tid, &mut resp),
                (100 | 200 | 220, f3)
                    if f60_batch(req) != self.terminal_batch(&tid)
                        && (f3 != Some("200000") || req.mti.value() == 220) =>
                {
                    // A new charge, refund or inquiry in a batch the host has closed (or never
                    // opened): sign in for the current one. Voids go on: a void of a settled
                    // batch's transaction is answered 12.
                    header = header.with_request(3);
                    "77".to_string()
                }
                (200, Some("000000")) if f60_1(req) == "20" => {
                    self.referring(&tid, req, &mut resp, now, "preauth_complete")
                }
                (200, Some("200000")) if f60_1(req) == "21" => {
                    self.referring(&tid, req, &mut resp, now, "complete_void")
                }
                (200, Some("000000")) => self.sale(&tid, req, &mut resp, now, false, chip.as_ref()),
                (200, Some("310000")) => self.balance(&tid, req, &mut resp, now),
                (100, Some("030000")) => self.sale(&tid, req, &mut resp, now, true, chip.as_ref()),
                (100, Some("200000")) => self.referring(&tid, req, &mut resp, now, "preauth_void"),
                (400, _) => self.reversal(&tid, req),
                (820, _) => match req.get_str(60).and_then(|f| f.get(8..11)) {
                    Some("002") => {
                        self.keys.remove(&tid);
                        "00".to_string()
                    }
                    Some("301") => "00".to_string(),
                    _ => "40".to_string(),
                },
                (620, _) if req.get_str(60).and_then(|f| f.get(8..11)) == Some("951") => {
                    self.advice(&tid, req, "script_results")
                }
                (320, _)
                    if req.get_str(60).and_then(|f| f.get(8..11)) == Some("203")
                        && req.get(55).is_some() =>
                {
                    self.advice(&tid, req, "tc_upload")
                }
                (500, _) => self.settle(&tid, req, &mut resp),
                (320, _) => self.batch_upload(&tid, req),
                (200, Some("200000")) => self.referring(&tid, req, &mut resp, now, "void"),
                (220, Some("200000")) => self.referring(&tid, req, &mut resp, now, "refund"),
                _ => "40".to_string(),
            }
        };
        set_text(&mut resp, 39, &code);
        if let Some(f55) = chip
            .and_then(Result::ok)
            .and_then(|c| chip_answer(req, c, &code))
        {
            resp.set(55, f55);
        }
        if req.mti.value() != 800 && code != "97" && code != "A0" {
            if let Some(k) = self.keys.get(&tid) {
                let mab = resp
                    .mac_block(self.profile.fields())
                    .expect("well-formed response");
                resp.set(64, cup_ecb_mac(&k.mac, &mab));
            }
        }
        let out = Frame {
            tpdu: frame.reply_tpdu(),
            header,
            message: resp,
        };
        Ok(out
            .encode(self.profile.fields())
            .expect("well-formed response"))
    }

    fn next_rrn(&mut self) -> String {
        self.state.rrn_counter += 1;
        format!("{:012}", self.state.rrn_counter)
    }

    fn sign_in(&mut self, tid: &str, resp: &mut Message) -> String {
        let layout = self.profile.key_layout;
        let mut raw = vec![0u8; layout.key_len()];
        random_bytes(&mut raw);
        let alg = self.profile.key_algorithm;
        let pin = CipherKey::new(alg, &raw).expect("key length checked by the profile");
        random_bytes(&mut raw);
        let mac = CipherKey::new(alg, &raw).expect("key length checked by the profile");
        let (pin_enc, pin_kcv) = self.tmk.wrap_key(&pin).expect("one algorithm");
        let (mac_enc, mac_kcv) = self.tmk.wrap_key(&mac).expect("one algorithm");
        let mut f62 = Vec::new();
        f62.extend_from_slice(&pin_enc);
        f62.extend_from_slice(&pin_kcv);
        f62.extend_from_slice(&mac_enc);
        f62.extend_from_slice(&mac_kcv);
        let mac_effective = match self.profile.mac_key_use {
            MacKeyUse::Full => mac,
            MacKeyUse::FirstHalf => mac
                .first_half()
                .expect("the profile allows halves only with DES"),
        };
        self.keys.insert(
            tid.to_string(),
            Keys {
                pin,
                mac: mac_effective,
            },
        );
        // The host owns the batch: whatever the terminal sends in 60.2 (an older, settled batch,
        // an unknown one, or 000000), the answer carries the host's current batch, which moves
        // on only when the host closes a batch at settlement. A settled batch never reopens.
        let batch = self.terminal_batch(tid);
        resp.set(60, format!("00{batch:06}{}", layout.code()));
        resp.set(62, f62);
        let rrn = self.next_rrn();
        set_text(resp, 37, &rrn);
        "00".into()
    }

    /// Sets F64 of `message` to the MAC under terminal `tid`'s session key, as a terminal
    /// client would (for tests that send messages our own terminal never builds); `false`
    /// when the terminal has not signed in.
    pub fn mac_as_terminal(&self, tid: &str, message: &mut Message) -> bool {
        match (self.keys.get(tid), message.mac_block(self.profile.fields())) {
            (Some(k), Ok(mab)) => {
                message.set(64, cup_ecb_mac(&k.mac, &mab));
                true
            }
            _ => false,
        }
    }

    fn mac_ok(&self, tid: &str, req: &Message) -> bool {
        match (self.keys.get(tid), req.mac_block(self.profile.fields())) {
            (Some(k), Ok(mab)) => req.get(64) == Some(&cup_ecb_mac(&k.mac, &mab)[..]),
            _ => false,
        }
    }
}

/// The card number of a request: field 2, else the PAN part of track 2.
fn request_pan(req: &Message) -> String {
    req.get_str(2)
        .map(str::to_string)
        .or_else(|| {
            req.get_str(35)
                .and_then(|t| t.split('=').next())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The simulator's issuer on a chip request: its session key and verified ARQC, or why not.
pub(crate) type ChipCheck = Result<(smartpos_core::crypto::DesKey, [u8; 8]), &'static str>;

/// The PAN sequence number of a request (the last two digits of F23; `00` without one).
pub(crate) fn request_psn(req: &Message) -> String {
    req.get_str(23)
        .map(|s| s[s.len().saturating_sub(2)..].to_string())
        .unwrap_or_else(|| "00".into())
}

/// The answer's field 55 to a chip request whose ARQC verified (`sk`, `arqc`): tag 91 (ARPC method 1 and the
/// response code as ARC); test card `...0075` gets a wrong ARPC (its card then declines), test
/// card `...0083` an issuer script (tag 72).
fn chip_answer(
    req: &Message,
    (sk, arqc): (smartpos_core::crypto::DesKey, [u8; 8]),
    code: &str,
) -> Option<Vec<u8>> {
    use smartpos_core::emv::tlv::{encode, Tag};
    let pan = request_pan(req);
    let arc: [u8; 2] = code.as_bytes().try_into().ok()?;
    let mut auth = crate::emv_crypto::issuer_authentication_data(&sk, arqc, arc);
    if pan == cards::WRONG_ARPC_PAN {
        auth[0] ^= 0xFF;
    }
    let mut out = Vec::new();
    encode(Tag(crate::emv_crypto::TAG_ISSUER_AUTH), &auth, &mut out).ok()?;
    if pan == cards::SCRIPT_PAN {
        // an issuer script: script id 9F18, one command (86) updating a card counter
        let mut script = Vec::new();
        encode(Tag(0x9F18), &[0, 0, 0, 1], &mut script).ok()?;
        encode(Tag(0x86), &[0x84, 0x24, 0x00, 0x00, 0x00], &mut script).ok()?;
        encode(Tag(0x72), &script, &mut out).ok()?;
    }
    Some(out)
}
