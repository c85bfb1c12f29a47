//! EMV parameter downloads after sign-in (CUP POS network-management codes in 60.3):
//!
//! | step | CA public keys | IC parameters | request F62 | answer F62 |
//! |---|---|---|---|---|
//! | list what the host has | 0820, 372 | 0820, 382 | `1` + two digits: entries listed so far | control + one TLV group an entry (9F06 RID, 9F22 index, DF05 expiry / 9F06 AID) |
//! | fetch one | 0800, 370 | 0800, 380 | 9F06 RID + 9F22 index / 9F06 AID | `1` + the record's TLVs, or `0`: no such record |
//! | end | 0800, 371 | 0800, 381 | none | none |
//!
//! The listing's control character is `0` (nothing to download), `1` (the last part) or `2`
//! (more follow: ask again with the new count). A download is all or nothing: any failure
//! before the end is acknowledged finishes with an error and the terminal keeps what it had.

use super::messages::{check_response, management_message, send_to_host};
use super::{Action, EngineError, Event, Finished, ManagementFailure, Session};
use crate::emv::params::{AidParameters, CaPublicKey};
use crate::emv::tlv::{self, Tag};
use crate::iso8583::Message;

/// What to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmvDownload {
    /// CA public keys (60.3 372 / 370 / 371).
    CaKeys,
    /// IC card parameters, one set an AID (60.3 382 / 380 / 381).
    IcParameters,
}

impl EmvDownload {
    /// 60.3 codes: list, fetch one, end.
    pub fn codes(self) -> [&'static str; 3] {
        match self {
            EmvDownload::CaKeys => ["372", "370", "371"],
            EmvDownload::IcParameters => ["382", "380", "381"],
        }
    }
}

/// What a download brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Downloaded {
    /// Every CA key the host listed and had.
    CaKeys(Vec<CaPublicKey>),
    /// Every AID's parameters the host listed and had.
    IcParameters(Vec<AidParameters>),
}

/// The most entries a listing can hold: the count the terminal sends back is two digits.
const MAX_ENTRIES: usize = 99;

enum Phase {
    Listing,
    Fetching(usize),
    Ending,
}

pub(crate) struct Download {
    what: EmvDownload,
    phase: Phase,
    request: Box<Message>,
    /// Each listed entry as the fetch request's F62.
    listed: Vec<Vec<u8>>,
    keys: Vec<CaPublicKey>,
    aids: Vec<AidParameters>,
}

type Step = Result<(Option<Download>, Action), (Box<Download>, EngineError)>;

fn request(s: &mut Session, mti: u16, code: &str, f62: Option<Vec<u8>>) -> Message {
    let trace = s.take_trace();
    let mut m = management_message(s, mti, trace, code);
    if let Some(f62) = f62 {
        m.set(62, f62);
    }
    m
}

fn failed(why: ManagementFailure) -> (Option<Download>, Action) {
    (None, Action::Finish(Finished::EmvDownload(Err(why))))
}

fn bad(why: impl Into<String>) -> ManagementFailure {
    ManagementFailure::BadAnswer(why.into())
}

/// Splits a listing into entries: each starts at a 9F06; for CA keys the fetch names RID and
/// index, for IC parameters the AID.
fn entries(what: EmvDownload, body: &[u8]) -> Result<Vec<Vec<u8>>, ManagementFailure> {
    let list = tlv::decode(body).map_err(|e| bad(format!("listing: {e}")))?;
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut index_seen = true;
    for t in list {
        match (what, t.tag.0) {
            (_, 0x9F06) => {
                if !index_seen {
                    return Err(bad("listing: a CA key without its index (9F22)"));
                }
                let mut e = Vec::new();
                tlv::encode(t.tag, t.value, &mut e).map_err(|e| bad(e.to_string()))?;
                out.push(e);
                index_seen = what == EmvDownload::IcParameters;
            }
            (EmvDownload::CaKeys, 0x9F22) => {
                let e = out
                    .last_mut()
                    .ok_or(bad("listing: a key index before its RID"))?;
                tlv::encode(t.tag, t.value, e).map_err(|e| bad(e.to_string()))?;
                index_seen = true;
            }
            _ => {}
        }
    }
    if !index_seen {
        return Err(bad("listing: a CA key without its index (9F22)"));
    }
    Ok(out)
}

impl Download {
    pub fn start(s: &mut Session, what: EmvDownload) -> (Download, Action) {
        let m = request(s, 820, what.codes()[0], Some(b"100".to_vec()));
        let action = send_to_host(s, &m);
        (
            Download {
                what,
                phase: Phase::Listing,
                request: Box::new(m),
                listed: Vec::new(),
                keys: Vec::new(),
                aids: Vec::new(),
            },
            action,
        )
    }

    /// The next fetch, or the end message when every entry is fetched.
    fn next(mut self, s: &mut Session, i: usize) -> (Option<Download>, Action) {
        let (m, phase) = match self.listed.get(i) {
            Some(f62) => (
                request(s, 800, self.what.codes()[1], Some(f62.clone())),
                Phase::Fetching(i),
            ),
            None => (request(s, 800, self.what.codes()[2], None), Phase::Ending),
        };
        let action = send_to_host(s, &m);
        self.request = Box::new(m);
        self.phase = phase;
        (Some(self), action)
    }

    pub fn handle(self, s: &mut Session, event: Event) -> Step {
        let Event::HostAnswered(answer) = event else {
            return Err((
                Box::new(self),
                EngineError::UnexpectedEvent("EMV parameter download"),
            ));
        };
        let resp = match answer
            .map_err(ManagementFailure::from)
            .and_then(|b| {
                check_response(&self.request, &b, s.config.profile.fields())
                    .map_err(|e| bad(e.to_string()))
            })
            .and_then(|f| match f.message.get_str(39) {
                Some("00") => Ok(f.message),
                other => Err(ManagementFailure::Refused(other.map(str::to_string))),
            }) {
            Ok(m) => m,
            Err(e) => return Ok(failed(e)),
        };
        let f62 = resp.get(62).unwrap_or_default();
        match self.phase {
            Phase::Listing => {
                let (control, body) = f62.split_first().unwrap_or((&b'0', &[]));
                let mut me = self;
                let new = match entries(me.what, body) {
                    Ok(e) => e,
                    Err(e) => return Ok(failed(e)),
                };
                let more = match control {
                    b'0' | b'1' => false,
                    b'2' if !new.is_empty() => true,
                    b'2' => return Ok(failed(bad("listing says more follow but lists none"))),
                    c => return Ok(failed(bad(format!("listing control {:?}", *c as char)))),
                };
                me.listed.extend(new);
                if me.listed.len() > MAX_ENTRIES {
                    return Ok(failed(bad(format!(
                        "listing holds more than {MAX_ENTRIES} entries"
                    ))));
                }
                if more {
                    let count = format!("1{:02}", me.listed.len());
                    let m = request(s, 820, me.what.codes()[0], Some(count.into_bytes()));
                    let action = send_to_host(s, &m);
                    me.request = Box::new(m);
                    return Ok((Some(me), action));
                }
                Ok(me.next(s, 0))
            }
            Phase::Fetching(i) => {
                let mut me = self;
                if f62.first() == Some(&b'1') {
                    let asked = tlv::decode(&me.listed[i]).unwrap_or_default();
                    let same = |list: &[tlv::Tlv<'_>], tag| {
                        tlv::find(list, Tag(tag)) == tlv::find(&asked, Tag(tag))
                    };
                    let record = &f62[1..];
                    let got = tlv::decode(record).unwrap_or_default();
                    if !same(&got, 0x9F06) || !same(&got, 0x9F22) {
                        return Ok(failed(bad(format!(
                            "record {} is not the one asked for",
                            i + 1
                        ))));
                    }
                    let parsed = match me.what {
                        EmvDownload::CaKeys => {
                            CaPublicKey::from_tlv(record).map(|k| me.keys.push(k))
                        }
                        EmvDownload::IcParameters => {
                            AidParameters::from_tlv(record).map(|a| me.aids.push(a))
                        }
                    };
                    if let Err(e) = parsed {
                        return Ok(failed(bad(format!("record {}: {e}", i + 1))));
                    }
                }
                // `0`: the host listed a record it no longer has; the others still load.
                Ok(me.next(s, i + 1))
            }
            Phase::Ending => {
                let done = match self.what {
                    EmvDownload::CaKeys => Downloaded::CaKeys(self.keys),
                    EmvDownload::IcParameters => Downloaded::IcParameters(self.aids),
                };
                Ok((None, Action::Finish(Finished::EmvDownload(Ok(done)))))
            }
        }
    }
}
