//! Batch settlement: 0500 with the batch totals in F48; when the host's totals differ
//! (0510 F48 says "not balanced"), batch upload (0320, 60.3 201) of every approved transaction
//! and batch-upload end (0320, 60.3 202); then the batch closes and its number increments.
//!
//! Deviation from the profile: the terminal keeps no clear card numbers, so an uploaded
//! transaction is identified by its retrieval reference (F37), trace (F11) and amount (F4),
//! not by F2.

use super::messages::{check_response, compute_mac, management_message, send_to_host};
use super::{Action, EngineError, Event, Finished, JournalWrite, Session};
use crate::iso8583::Message;

/// The terminal's totals for a batch, and what it would upload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettlementInput {
    /// Approved debits (sales not voided): count.
    pub debit_count: u32,
    /// Approved debits: amount, minor units.
    pub debit_minor: u64,
    /// Approved credits (refunds): count.
    pub credit_count: u32,
    /// Approved credits: amount.
    pub credit_minor: u64,
    /// Every approved transaction of the batch, for batch upload.
    pub uploads: Vec<UploadItem>,
}

/// One transaction for batch upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadItem {
    /// Trace.
    pub trace: u32,
    /// Amount, minor units.
    pub amount_minor: u64,
    /// Retrieval reference.
    pub reference: String,
    /// Processing code of the original (000000 sale, 200000 refund).
    pub processing_code: &'static str,
}

/// How settlement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettlementOutcome {
    /// The host's totals agreed.
    Balanced,
    /// They did not; the batch was uploaded (this many transactions) before closing.
    Uploaded(u32),
    /// Settlement did not complete; the batch stays open.
    Failed(String),
}

impl SettlementInput {
    /// F48: debit amount n12 + count n3 + credit amount n12 + count n3 + result digit, then the
    /// same (all zero) for foreign cards.
    pub fn f48(&self) -> String {
        format!(
            "{:012}{:03}{:012}{:03}0{}",
            self.debit_minor,
            self.debit_count % 1000,
            self.credit_minor,
            self.credit_count % 1000,
            "0".repeat(31)
        )
    }
}

#[allow(clippy::enum_variant_names)]
pub(crate) enum Settle {
    ExpectSettleMac {
        input: SettlementInput,
        msg: Message,
    },
    ExpectSettleAnswer {
        input: SettlementInput,
        msg: Message,
    },
    ExpectUploadMac {
        input: SettlementInput,
        next: usize,
        msg: Message,
    },
    ExpectUploadAnswer {
        input: SettlementInput,
        next: usize,
        msg: Message,
    },
    ExpectClosedPersisted {
        outcome: SettlementOutcome,
        batch: u32,
    },
}

type Step = Result<(Option<Settle>, Action), (Box<Settle>, EngineError)>;

fn failed(why: String) -> (Option<Settle>, Action) {
    (
        None,
        Action::Finish(Finished::Settlement {
            batch: 0,
            outcome: SettlementOutcome::Failed(why),
        }),
    )
}

impl Settle {
    pub fn start(s: &mut Session, input: SettlementInput) -> (Settle, Action) {
        let trace = s.take_trace();
        let mut msg = management_message(s, 500, trace, "201");
        msg.set(48, input.f48());
        msg.set(49, "156");
        msg.set(63, "001");
        let a = compute_mac(s, &mut msg);
        (Settle::ExpectSettleMac { input, msg }, a)
    }

    fn upload_or_end(
        s: &mut Session,
        input: SettlementInput,
        next: usize,
    ) -> (Option<Settle>, Action) {
        let trace = s.take_trace();
        let mut msg = match input.uploads.get(next) {
            Some(item) => {
                let mut m = management_message(s, 320, trace, "201");
                m.set(3, item.processing_code);
                m.set(4, format!("{:012}", item.amount_minor));
                m.set(37, item.reference.as_bytes());
                m.set(61, format!("{:06}{:06}", s.batch, item.trace));
                m
            }
            None => {
                let mut m = management_message(s, 320, trace, "202");
                m.set(48, format!("{:04}", input.uploads.len() % 10_000));
                m
            }
        };
        let a = compute_mac(s, &mut msg);
        (Some(Settle::ExpectUploadMac { input, next, msg }), a)
    }

    fn close(s: &mut Session, outcome: SettlementOutcome) -> (Option<Settle>, Action) {
        let batch = s.batch;
        let next_batch = if batch >= 999_999 { 1 } else { batch + 1 };
        let a = Action::Persist(JournalWrite::BatchSettled {
            batch,
            next_batch,
            next_trace: s.next_trace,
        });
        (Some(Settle::ExpectClosedPersisted { outcome, batch }), a)
    }

    pub fn handle(self, s: &mut Session, event: Event) -> Step {
        use Settle::*;
        match (self, event) {
            (ExpectSettleMac { input, mut msg }, Event::MacComputed(r)) => match r {
                Ok(m) => {
                    msg.set(64, m);
                    let a = send_to_host(s, &msg);
                    Ok((Some(ExpectSettleAnswer { input, msg }), a))
                }
                Err(e) => Ok(failed(format!("PIN pad: {e}"))),
            },
            (ExpectSettleAnswer { input, msg }, Event::HostAnswered(answer)) => {
                let resp = match answer.map_err(|e| format!("{e:?}")).and_then(|b| {
                    check_response(&msg, &b, s.config.profile.fields()).map_err(|e| e.to_string())
                }) {
                    Ok(f) => f.message,
                    Err(e) => return Ok(failed(e)),
                };
                match resp.get_str(39) {
                    Some("00") => {}
                    Some("77") => {
                        s.signed_in = false;
                        return Ok(failed("batch number mismatch (77): sign in again".into()));
                    }
                    other => {
                        return Ok(failed(format!(
                            "host answered {}",
                            other.unwrap_or("no code")
                        )))
                    }
                }
                match resp.get_str(48).and_then(|f| f.as_bytes().get(30).copied()) {
                    Some(b'1') => Ok(Self::close(s, SettlementOutcome::Balanced)),
                    Some(b'2') => Ok(Self::upload_or_end(s, input, 0)),
                    other => Ok(failed(format!(
                        "host settlement result {:?}",
                        other.map(char::from)
                    ))),
                }
            }
            (
                ExpectUploadMac {
                    input,
                    next,
                    mut msg,
                },
                Event::MacComputed(r),
            ) => match r {
                Ok(m) => {
                    msg.set(64, m);
                    let a = send_to_host(s, &msg);
                    Ok((Some(ExpectUploadAnswer { input, next, msg }), a))
                }
                Err(e) => Ok(failed(format!("PIN pad: {e}"))),
            },
            (ExpectUploadAnswer { input, next, msg }, Event::HostAnswered(answer)) => {
                match answer.map_err(|e| format!("{e:?}")).and_then(|b| {
                    check_response(&msg, &b, s.config.profile.fields()).map_err(|e| e.to_string())
                }) {
                    Ok(f) if f.message.get_str(39) == Some("00") => {}
                    Ok(f) => {
                        return Ok(failed(format!(
                            "batch upload refused: {}",
                            f.message.get_str(39).unwrap_or("no code")
                        )))
                    }
                    Err(e) => return Ok(failed(e)),
                }
                if next >= input.uploads.len() {
                    let n = input.uploads.len() as u32;
                    Ok(Self::close(s, SettlementOutcome::Uploaded(n)))
                } else {
                    Ok(Self::upload_or_end(s, input, next + 1))
                }
            }
            (ExpectClosedPersisted { outcome, batch }, Event::Persisted(r)) => {
                let outcome = match r {
                    Ok(()) => {
                        s.batch = if batch >= 999_999 { 1 } else { batch + 1 };
                        outcome
                    }
                    Err(e) => SettlementOutcome::Failed(format!("journal: {e}")),
                };
                Ok((
                    None,
                    Action::Finish(Finished::Settlement { batch, outcome }),
                ))
            }
            (state, _) => Err((Box::new(state), EngineError::UnexpectedEvent("settlement"))),
        }
    }
}
