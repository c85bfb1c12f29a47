//! Advices after a chip transaction: messages the host must get, which change no outcome.
//!
//! - **Script result notification** (0620, 60.3 `951`): the card ran the issuer's scripts (tags
//!   71/72 in the answer's field 55) and reported their results (DF31); sent after an approval
//!   the card accepted.
//! - **TC upload** (0320, 60.3 `203`, where the profile sets `tc_upload`): the card's
//!   transaction certificate (9F26 with CID 9F27 `40`) of every approved chip transaction.
//!
//! Each is built when the outcome is recorded and kept in the same commit (no extra durable
//! write), then sent store-and-forward after the transaction, after sign-in, and before
//! settlement, MACed with the current key and a fresh trace, until the host answers `00` or
//! [`MAX_ADVICE_ATTEMPTS`] attempts fail. An advice names its transaction by F37 and F61 (batch,
//! trace, date); it carries no card number.

use super::messages::{check_response, compute_mac, macced_frame};
use super::{Action, EngineError, Event, Finished, JournalWrite, Session};
use crate::emv::tlv::{self, Tag};
use crate::iso8583::{Message, Mti};
use crate::time::LocalTime;
use serde::{Deserialize, Serialize};

/// How many times an advice is tried before it is given up (left in the journal, marked).
pub const MAX_ADVICE_ATTEMPTS: u32 = 3;

/// Which advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdviceKind {
    /// 0620, 60.3 `951`: the card's issuer-script results.
    ScriptResults,
    /// 0320, 60.3 `203`: the card's transaction certificate.
    TcUpload,
}

impl AdviceKind {
    /// The name the journal keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            AdviceKind::ScriptResults => "script_results",
            AdviceKind::TcUpload => "tc_upload",
        }
    }
    /// From [`AdviceKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "script_results" => Some(AdviceKind::ScriptResults),
            "tc_upload" => Some(AdviceKind::TcUpload),
            _ => None,
        }
    }
    fn mti_and_code(self) -> (u16, &'static str) {
        match self {
            AdviceKind::ScriptResults => (620, "951"),
            AdviceKind::TcUpload => (320, "203"),
        }
    }
}

/// An advice waiting in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAdvice {
    /// Batch of the transaction it is about.
    pub batch: u32,
    /// Trace of the transaction it is about.
    pub trace: u32,
    /// Which advice.
    pub kind: AdviceKind,
    /// The message, encoded without F11 and MAC.
    pub message: Vec<u8>,
    /// Attempts so far.
    pub attempts: u32,
}

/// What the transaction left for its advices: the request's fields an advice repeats, the
/// host's answer, the card's last data.
pub(crate) struct AdviceSource<'a> {
    pub request: &'a Message,
    pub response: &'a Message,
    pub card_icc: &'a [u8],
    pub batch: u32,
    pub trace: u32,
    pub time: LocalTime,
}

/// The advices an approved chip transaction calls for, each encoded without F11 and MAC.
pub(crate) fn advices_for(s: &Session, src: &AdviceSource<'_>) -> Vec<(AdviceKind, Vec<u8>)> {
    let list = tlv::decode(src.card_icc).unwrap_or_default();
    let scripts_ran = tlv::find(&list, Tag(0xDF31)).is_some();
    let mut out = Vec::new();
    for (kind, wanted) in [
        (AdviceKind::ScriptResults, scripts_ran),
        (AdviceKind::TcUpload, s.config.profile.tc_upload),
    ] {
        if !wanted {
            continue;
        }
        let (mti, code) = kind.mti_and_code();
        let mut m = Message::new(Mti::new(mti).expect("valid"));
        for f in [3u8, 4, 22, 23, 25, 49] {
            if let Some(v) = src.request.get(f) {
                m.set(f, v);
            }
        }
        for f in [37u8, 38] {
            if let Some(v) = src.response.get(f) {
                m.set(f, v);
            }
        }
        m.set(41, s.config.identity.terminal_id.as_bytes());
        m.set(42, s.config.identity.merchant_id.as_bytes());
        // The card's own words: CID, the cryptogram (TC), script results.
        let mut f55 = Vec::new();
        for t in &list {
            if matches!(t.tag.0, 0x9F27 | 0x9F26 | 0xDF31 | 0x9F36 | 0x95) {
                tlv::encode(t.tag, t.value, &mut f55).expect("short values");
            }
        }
        m.set(55, f55);
        m.set(60, format!("00{:06}{code}", src.batch));
        m.set(
            61,
            format!("{:06}{:06}{}", src.batch, src.trace, src.time.f13()),
        );
        if let Ok(bytes) = m.encode(s.config.profile.fields()) {
            out.push((kind, bytes));
        }
    }
    out
}

/// How an advice attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdviceOutcome {
    /// The host answered `00`.
    Delivered,
    /// Not this time (given up after the last attempt).
    Failed(String),
}

#[allow(clippy::enum_variant_names)]
pub(crate) enum Advice {
    ExpectMac(PendingAdvice, Message),
    ExpectHostAnswer(PendingAdvice, Message),
    ExpectPersisted(PendingAdvice, AdviceOutcome),
}

type Step = Result<(Option<Advice>, Action), (Box<Advice>, EngineError)>;

fn finish(p: &PendingAdvice, outcome: AdviceOutcome) -> Action {
    Action::Finish(Finished::Advice {
        batch: p.batch,
        trace: p.trace,
        kind: p.kind,
        outcome,
    })
}

/// Records a failed attempt (given up at the limit), then finishes with `why`.
fn attempt_failed(p: PendingAdvice, why: String) -> (Option<Advice>, Action) {
    let a = Action::Persist(JournalWrite::AdviceAttempt {
        batch: p.batch,
        trace: p.trace,
        kind: p.kind,
        gave_up: p.attempts + 1 >= MAX_ADVICE_ATTEMPTS,
    });
    (
        Some(Advice::ExpectPersisted(p, AdviceOutcome::Failed(why))),
        a,
    )
}

impl Advice {
    pub fn start(s: &mut Session, p: PendingAdvice) -> (Option<Advice>, Action) {
        let mut msg = match Message::decode(&p.message, s.config.profile.fields()) {
            Ok(m) => m,
            Err(e) => {
                let mut p = p;
                p.attempts = MAX_ADVICE_ATTEMPTS; // a corrupt record is given up at once
                return attempt_failed(p, format!("stored advice is corrupt: {e}"));
            }
        };
        msg.set(11, format!("{:06}", s.take_trace()));
        let a = compute_mac(s, &mut msg);
        (Some(Advice::ExpectMac(p, msg)), a)
    }

    pub fn handle(self, s: &mut Session, event: Event) -> Step {
        use Advice::*;
        match (self, event) {
            (ExpectMac(p, mut msg), Event::MacComputed(r)) => match r {
                Ok(mac) => {
                    let a = Action::SendToHost {
                        frame: macced_frame(s, &mut msg, mac),
                        timeout: s.config.host_timeout,
                    };
                    Ok((Some(ExpectHostAnswer(p, msg)), a))
                }
                // No key now (not signed in): nothing was sent, the attempt does not count.
                Err(e) => Ok((
                    None,
                    finish(&p, AdviceOutcome::Failed(format!("PIN pad: {e}"))),
                )),
            },
            (ExpectHostAnswer(p, msg), Event::HostAnswered(answer)) => {
                let code = answer
                    .map_err(|e| format!("{e:?}"))
                    .and_then(|b| {
                        check_response(&msg, &b, s.config.profile.fields())
                            .map_err(|e| e.to_string())
                    })
                    .map(|f| f.message.get_str(39).unwrap_or("").to_string());
                match code {
                    Ok(c) if c == "00" => {
                        let a = Action::Persist(JournalWrite::AdviceDone {
                            batch: p.batch,
                            trace: p.trace,
                            kind: p.kind,
                        });
                        Ok((Some(ExpectPersisted(p, AdviceOutcome::Delivered)), a))
                    }
                    Ok(c) => Ok(attempt_failed(p, format!("host answered {c}"))),
                    Err(why) => Ok(attempt_failed(p, why)),
                }
            }
            (ExpectPersisted(p, outcome), Event::Persisted(r)) => {
                let outcome = match (outcome, r) {
                    (o, Ok(())) => o,
                    (_, Err(e)) => AdviceOutcome::Failed(format!("journal: {e}")),
                };
                Ok((None, finish(&p, outcome)))
            }
            (state, _) => Err((Box::new(state), EngineError::UnexpectedEvent("advice"))),
        }
    }
}
