//! Reversal (冲正) store-and-forward: the armed 0400 of a transaction whose outcome is
//! unknown goes out, MACed with the current key, before any other financial message.

use super::messages::{check_response, compute_mac, macced_frame};
use super::{Action, EngineError, Event, Finished, JournalWrite, Session};
use crate::iso8583::Message;

/// A reversal waiting in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReversal {
    /// Trace of the original.
    pub trace: u32,
    /// Batch of the original.
    pub batch: u32,
    /// The 0400, encoded without MAC.
    pub message: Vec<u8>,
    /// Reason code for F39 (98, A0, 06).
    pub reason: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// How a reversal attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversalOutcome {
    /// The host acknowledged (0410 with 00, or 12/25: nothing to reverse).
    Done,
    /// Not acknowledged this time; stays pending (or exhausted past the retry limit).
    Failed(String),
}

/// States, named for what they wait for.
#[allow(clippy::enum_variant_names)]
pub(crate) enum Reversal {
    ExpectMac(PendingReversal, Message),
    ExpectAttemptPersisted(PendingReversal, Message, Vec<u8>),
    ExpectHostAnswer(PendingReversal, Message),
    ExpectDonePersisted(PendingReversal),
    ExpectFailurePersisted(String),
}

type Step = Result<(Option<Reversal>, Action), (Box<Reversal>, EngineError)>;

fn finish(p: &PendingReversal, outcome: ReversalOutcome) -> Action {
    Action::Finish(Finished::Reversal {
        trace: p.trace,
        batch: p.batch,
        outcome,
    })
}

impl Reversal {
    pub fn start(s: &mut Session, p: PendingReversal) -> (Option<Reversal>, Action) {
        let mut msg = match Message::decode(&p.message, s.config.profile.fields()) {
            Ok(m) => m,
            Err(e) => {
                let why = format!("stored reversal is corrupt: {e}");
                let a = Action::Persist(JournalWrite::ReversalAttempt {
                    trace: p.trace,
                    batch: p.batch,
                    gave_up: true,
                });
                return (Some(Reversal::ExpectFailurePersisted(why)), a);
            }
        };
        msg.set(39, p.reason.as_bytes());
        let a = compute_mac(s, &mut msg);
        (Some(Reversal::ExpectMac(p, msg)), a)
    }

    pub fn handle(self, s: &mut Session, event: Event) -> Step {
        use Reversal::*;
        match (self, event) {
            (ExpectMac(p, mut msg), Event::MacComputed(r)) => match r {
                Ok(mac) => {
                    let bytes = macced_frame(s, &mut msg, mac);
                    let a = Action::Persist(JournalWrite::ReversalAttempt {
                        trace: p.trace,
                        batch: p.batch,
                        gave_up: false,
                    });
                    Ok((Some(ExpectAttemptPersisted(p, msg, bytes)), a))
                }
                Err(e) => Ok((
                    None,
                    finish(&p, ReversalOutcome::Failed(format!("PIN pad: {e}"))),
                )),
            },
            (ExpectAttemptPersisted(p, msg, bytes), Event::Persisted(r)) => match r {
                Ok(()) => {
                    let a = Action::SendToHost {
                        frame: bytes,
                        timeout: s.config.host_timeout,
                    };
                    Ok((Some(ExpectHostAnswer(p, msg)), a))
                }
                Err(e) => Ok((
                    None,
                    finish(&p, ReversalOutcome::Failed(format!("journal: {e}"))),
                )),
            },
            (ExpectHostAnswer(p, msg), Event::HostAnswered(answer)) => {
                let failed = |why: String| Ok((None, finish(&p, ReversalOutcome::Failed(why))));
                let bytes = match answer {
                    Ok(b) => b,
                    Err(e) => return failed(format!("{e:?}")),
                };
                let resp = match check_response(&msg, &bytes, s.config.profile.fields()) {
                    Ok(f) => f.message,
                    Err(e) => return failed(e.to_string()),
                };
                match resp.get_str(39) {
                    Some("00") | Some("12") | Some("25") => {
                        let a = Action::Persist(JournalWrite::ReversalDone {
                            trace: p.trace,
                            batch: p.batch,
                        });
                        Ok((Some(ExpectDonePersisted(p)), a))
                    }
                    other => failed(format!("host answered {}", other.unwrap_or("no code"))),
                }
            }
            (ExpectDonePersisted(p), Event::Persisted(r)) => Ok((
                None,
                finish(
                    &p,
                    if r.is_ok() {
                        ReversalOutcome::Done
                    } else {
                        ReversalOutcome::Failed("journal".into())
                    },
                ),
            )),
            (ExpectFailurePersisted(why), Event::Persisted(_)) => Ok((
                None,
                Action::Finish(Finished::Reversal {
                    trace: 0,
                    batch: 0,
                    outcome: ReversalOutcome::Failed(why),
                }),
            )),
            (state, _) => Err((Box::new(state), EngineError::UnexpectedEvent("reversal"))),
        }
    }
}
