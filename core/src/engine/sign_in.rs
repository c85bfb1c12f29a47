//! Sign-in: 0800 → 0810, working keys from F62 into the PIN pad.

use super::messages::{check_response, management_message, send_to_host, sign_in_request};
use super::{
    Action, EngineError, Event, Finished, JournalWrite, ManagementFailure, Session, SignInError,
};
use crate::hal::EncryptedWorkingKeys;
use crate::iso8583::Message;
use crate::time::LocalTime;

/// States, named for what they wait for (as rustls names its handshake states).
#[allow(clippy::enum_variant_names)]
pub(crate) enum SignIn {
    ExpectCountersPersisted { request: Box<Message> },
    ExpectHostAnswer { request: Box<Message> },
    ExpectKeysLoaded { batch: u32 },
    ExpectBatchPersisted { batch: u32 },
}

type Step = Result<(Option<SignIn>, Action), (SignIn, EngineError)>;

fn fail(e: SignInError) -> (Option<SignIn>, Action) {
    (None, Action::Finish(Finished::SignInFailed(e)))
}

impl SignIn {
    pub fn start(s: &mut Session, _now: LocalTime) -> Result<(SignIn, Action), EngineError> {
        let trace = s.take_trace();
        let request = Box::new(sign_in_request(s, trace));
        let action = Action::Persist(JournalWrite::Counters {
            next_trace: s.next_trace,
            batch: s.batch,
        });
        Ok((SignIn::ExpectCountersPersisted { request }, action))
    }

    pub fn handle(self, s: &mut Session, event: Event) -> Step {
        match (self, event) {
            (SignIn::ExpectCountersPersisted { request }, Event::Persisted(r)) => {
                if let Err(e) = r {
                    return Ok(fail(SignInError::Journal(e)));
                }
                let action = send_to_host(s, &request);
                Ok((Some(SignIn::ExpectHostAnswer { request }), action))
            }
            (SignIn::ExpectHostAnswer { request }, Event::HostAnswered(answer)) => {
                let bytes = match answer {
                    Ok(b) => b,
                    Err(e) => return Ok(fail(SignInError::Unreachable(format!("{e:?}")))),
                };
                let resp = match check_response(&request, &bytes, s.config.profile.fields()) {
                    Ok(f) => {
                        use crate::iso8583::HostRequest as H;
                        let asks = f.header.host_request();
                        s.emv_download_due |=
                            matches!(asks, H::DownloadCaKeys | H::DownloadIcParameters);
                        f.message
                    }
                    Err(p) => return Ok(fail(SignInError::BadResponse(p.to_string()))),
                };
                let code = resp.get_str(39).unwrap_or("").to_string();
                if code != "00" {
                    return Ok(fail(SignInError::Refused(code)));
                }
                let batch = match resp
                    .get_str(60)
                    .and_then(|f| f.get(2..8))
                    .and_then(|b| b.parse().ok())
                {
                    Some(b) => b,
                    None => {
                        return Ok(fail(SignInError::BadResponse(
                            "field 60.2 batch missing".into(),
                        )))
                    }
                };
                let layout = s.config.profile.key_layout;
                let f62 = resp.get(62).unwrap_or_default();
                if f62.len() < layout.f62_len() {
                    return Ok(fail(SignInError::BadResponse(format!(
                        "field 62 has {} bytes, key layout {} needs {}",
                        f62.len(),
                        layout.code(),
                        layout.f62_len()
                    ))));
                }
                let k = layout.key_len();
                let kcv = |at: usize| -> [u8; 4] { f62[at..at + 4].try_into().expect("4 bytes") };
                let keys = EncryptedWorkingKeys {
                    algorithm: s.config.profile.key_algorithm,
                    pin_format: s.config.profile.pin_block,
                    pin_key: f62[..k].to_vec(),
                    pin_kcv: kcv(k),
                    mac_key: f62[k + 4..2 * k + 4].to_vec(),
                    mac_kcv: kcv(2 * k + 4),
                    mac_key_use: s.config.profile.mac_key_use,
                };
                Ok((
                    Some(SignIn::ExpectKeysLoaded { batch }),
                    Action::LoadWorkingKeys(keys),
                ))
            }
            (SignIn::ExpectKeysLoaded { batch }, Event::KeysLoaded(r)) => {
                if let Err(e) = r {
                    s.signed_in = false;
                    return Ok(fail(SignInError::KeysRefused(e)));
                }
                s.batch = batch;
                s.signed_in = true;
                let action = Action::Persist(JournalWrite::Counters {
                    next_trace: s.next_trace,
                    batch,
                });
                Ok((Some(SignIn::ExpectBatchPersisted { batch }), action))
            }
            (SignIn::ExpectBatchPersisted { batch }, Event::Persisted(r)) => match r {
                Ok(()) => Ok((None, Action::Finish(Finished::SignedIn { batch }))),
                Err(e) => {
                    s.signed_in = false;
                    Ok(fail(SignInError::Journal(e)))
                }
            },
            (state, _) => Err((state, EngineError::UnexpectedEvent("sign-in"))),
        }
    }
}

/// Sign-out (0820, 60.3 002) or echo test (0820, 60.3 301): one request, one answer.
pub(crate) enum Management {
    ExpectHostAnswer {
        request: Box<Message>,
        sign_out: bool,
    },
}

impl Management {
    pub fn start(s: &mut Session, sign_out: bool) -> (Management, Action) {
        let trace = s.take_trace();
        let m = management_message(s, 820, trace, if sign_out { "002" } else { "301" });
        let action = send_to_host(s, &m);
        (
            Management::ExpectHostAnswer {
                request: Box::new(m),
                sign_out,
            },
            action,
        )
    }

    pub fn handle(
        self,
        s: &mut Session,
        event: Event,
    ) -> Result<(Option<Management>, Action), (Management, EngineError)> {
        match (self, event) {
            (Management::ExpectHostAnswer { request, sign_out }, Event::HostAnswered(answer)) => {
                let ok = answer
                    .map_err(ManagementFailure::from)
                    .and_then(|b| {
                        check_response(&request, &b, s.config.profile.fields())
                            .map_err(|e| ManagementFailure::BadAnswer(e.to_string()))
                    })
                    .and_then(|f| match f.message.get_str(39) {
                        Some("00") => Ok(()),
                        other => Err(ManagementFailure::Refused(other.map(str::to_string))),
                    });
                if ok.is_ok() && sign_out {
                    s.signed_in = false;
                }
                Ok((None, Action::Finish(Finished::Management(ok))))
            }
            (state, _) => Err((state, EngineError::UnexpectedEvent("network management"))),
        }
    }
}
