//! A bank-card financial transaction (sale, void, refund), driven by the transaction table in
//! `messages::spec`: card, PIN where the type takes one, request with MAC, response checked,
//! outcome journaled; a reversible type arms its reversal before sending.

use super::messages::{check_response, financial_request, frame, reversal_of, spec};
use super::{
    Action, EngineError, Event, Finished, JournalWrite, Session, TransportFailure, TxnStart,
};
use crate::card::{CardData, EntryMode};
use crate::emv::tlv::{self, Tag};
use crate::hal::{CardVerdict, HalError, IssuerAnswer, PinEntry, Presented, TransactionStart};
use crate::iso8583::{HostRequest, Message};
use crate::payment::{
    response_message, AccountBalance, ChipDetails, Declined, Outcome, PaymentRequest,
    PaymentResult, TransactionType, UnknownReason,
};
use crate::time::LocalTime;

#[derive(Clone)]
pub(crate) struct Ctx {
    req: PaymentRequest,
    trace: u32,
    batch: u32,
    time: LocalTime,
    masked_pan: Option<String>,
    /// Whether the `Sending` write committed (the journal holds the transaction).
    recorded: bool,
    /// The chip could not be used: the card is being (or was) swiped instead.
    fallback: bool,
    /// Read from a chip (contact or contactless): the card has the last word after approval,
    /// and the receipt shows these details.
    chip: Option<ChipDetails>,
    /// A chip request as sent, kept while the card has the last word (its advices repeat
    /// some of its fields).
    chip_request: Option<Box<Message>>,
    /// Advices recorded with the outcome.
    advices: Vec<(super::AdviceKind, Vec<u8>)>,
    /// The armed reversal rebuilt with the card's script results, recorded with the outcome.
    reversal: Option<Vec<u8>>,
}

impl Ctx {
    fn start(&self) -> TxnStart {
        TxnStart {
            caller: self.req.caller.clone(),
            order_id: self.req.order_id.clone(),
            kind: self.req.kind,
            amount: self.req.amount,
            trace: self.trace,
            batch: self.batch,
            time: self.time,
        }
    }
}

/// States, named for what they wait for (as rustls names its handshake states).
#[allow(clippy::enum_variant_names)]
pub(crate) enum Sale {
    ExpectCard(Ctx),
    ExpectPin(Ctx, CardData),
    ExpectRequestMac(Ctx, Message),
    ExpectSendingPersisted(Ctx, Message, Vec<u8>),
    ExpectHostAnswer(Ctx, Message),
    ExpectResponseMac(Ctx, Message),
    ExpectCardVerdict(Ctx, Message),
    ExpectOutcomePersisted(Box<PaymentResult>),
}

type Step = Result<(Option<Sale>, Action), (Box<Sale>, EngineError)>;

fn result(ctx: &Ctx, s: &Session, outcome: Outcome, resp: Option<&Message>) -> PaymentResult {
    let text = |f: u8| {
        resp.and_then(|m| m.get_str(f))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let balance = match resp.and_then(|m| m.get_str(54)) {
        Some(f54) if outcome == Outcome::Approved && ctx.req.kind == TransactionType::Balance => {
            AccountBalance::from_field54(f54)
        }
        _ => None,
    };
    PaymentResult {
        order_id: ctx.req.order_id.clone(),
        kind: ctx.req.kind,
        amount: ctx.req.amount,
        outcome,
        masked_pan: ctx.masked_pan.clone(),
        auth_code: text(38),
        reference: text(37),
        trace: ctx.trace,
        batch: ctx.batch,
        terminal_id: s.config.identity.terminal_id.clone(),
        merchant_id: s.config.identity.merchant_id.clone(),
        time: ctx.time,
        balance,
        method: crate::qr::PaymentMethod::Card,
        wallet: None,
        chip: ctx.chip.clone(),
    }
}

/// Asks the reader for the card (the fallback swipe when `ctx.fallback`).
fn read_card(s: &Session, ctx: &Ctx) -> Action {
    Action::ReadCard {
        start: TransactionStart {
            amount: ctx.req.amount,
            kind: ctx.req.kind,
            fallback: ctx.fallback,
        },
        timeout: s.config.card_timeout,
    }
}

/// What the receipt shows of a chip read, and whether it asks no PIN and no signature
/// (contactless at or under the profile's limits).
fn chip_details(s: &Session, req: &PaymentRequest, card: &CardData) -> Option<ChipDetails> {
    let mode = card.entry_mode();
    if !matches!(mode, EntryMode::Chip | EntryMode::Contactless) {
        return None;
    }
    let list = tlv::decode(card.icc_data()).unwrap_or_default();
    let limits = s.config.profile.contactless;
    let minor = req.amount.minor();
    let contactless = mode == EntryMode::Contactless;
    let aid = tlv::find(&list, Tag(0x84)).or_else(|| tlv::find(&list, Tag(0x4F)));
    // The downloaded CVM limit (DF21) of the card's AID, else the profile's.
    let no_pin_minor = s
        .emv
        .as_deref()
        .zip(aid)
        .and_then(|(p, aid)| p.aid_for(aid))
        .and_then(|a| a.cvm_limit_minor)
        .unwrap_or(limits.no_pin_minor);
    Some(ChipDetails {
        entry_mode: mode,
        aid: aid.map(hex::encode_upper),
        label: tlv::find(&list, Tag(0x50)).map(|l| String::from_utf8_lossy(l).trim().to_string()),
        tc: None,
        no_pin: contactless && minor <= no_pin_minor,
        no_signature: contactless && minor <= limits.no_signature_minor,
    })
}

/// The armed reversal of `request` with the script results (DF31) a declining card gave added
/// to its field 55; `None` when the card gave none (the armed reversal stands).
fn reversal_with_script_results(
    s: &Session,
    ctx: &Ctx,
    request: &Message,
    card_icc: &[u8],
) -> Option<Vec<u8>> {
    let list = tlv::decode(card_icc).ok()?;
    let results = tlv::find(&list, Tag(0xDF31))?;
    let mut rev = reversal_of(request, ctx.batch, ctx.trace, "98");
    let mut icc = rev.get(55).map(<[u8]>::to_vec).unwrap_or_default();
    tlv::encode(Tag(0xDF31), results, &mut icc).ok()?;
    rev.set(55, icc);
    rev.encode(s.config.profile.fields()).ok()
}

/// Records the outcome, then finishes.
fn conclude(
    ctx: &Ctx,
    s: &Session,
    outcome: Outcome,
    resp: Option<&Message>,
) -> (Option<Sale>, Action) {
    let outcome = match outcome {
        // Nothing to resolve when no money can have moved.
        Outcome::Unknown { reason } if !ctx.req.kind.moves_money() => {
            Outcome::Declined(Declined::NoUsableAnswer { reason })
        }
        o => o,
    };
    let r = Box::new(result(ctx, s, outcome, resp));
    let write = JournalWrite::Outcome {
        trace: ctx.trace,
        batch: ctx.batch,
        start: (!ctx.recorded).then(|| ctx.start()),
        result: r.clone(),
        response_code: resp.and_then(|m| m.get_str(39)).map(str::to_string),
        voids: match (ctx.req.kind.voids(), &ctx.req.original) {
            (Some(_), Some(o)) => Some((o.batch, o.trace)),
            _ => None,
        },
        advices: ctx.advices.clone(),
        reversal: ctx.reversal.clone(),
    };
    (
        Some(Sale::ExpectOutcomePersisted(r)),
        Action::Persist(write),
    )
}

fn local_decline(e: HalError) -> Outcome {
    Outcome::Declined(match e {
        HalError::Cancelled => Declined::Cancelled,
        HalError::Timeout => Declined::CardTimeout,
        other => Declined::Device {
            detail: other.to_string(),
        },
    })
}

impl Sale {
    pub fn start(s: &mut Session, req: PaymentRequest, now: LocalTime) -> (Sale, Action) {
        let trace = s.take_trace();
        let ctx = Ctx {
            req,
            trace,
            batch: s.batch,
            time: now,
            masked_pan: None,
            recorded: false,
            fallback: false,
            chip: None,
            chip_request: None,
            advices: Vec::new(),
            reversal: None,
        };
        // Nothing is written before the card: the transaction is recorded with its request,
        // in the commit before the request leaves (a sale killed at the card never happened).
        let a = read_card(s, &ctx);
        (Sale::ExpectCard(ctx), a)
    }

    /// A card to go online with: the request (and its MAC) when no PIN is needed, else the PIN.
    fn card_read(s: &Session, mut ctx: Ctx, card: CardData) -> (Option<Sale>, Action) {
        use Sale::*;
        ctx.masked_pan = Some(card.pan().masked());
        ctx.chip = chip_details(s, &ctx.req, &card);
        // No PIN: the type takes none, or a contactless card under the limit.
        let no_pin = !spec(ctx.req.kind).pin || ctx.chip.as_ref().is_some_and(|c| c.no_pin);
        if !no_pin {
            let a = Action::OnlinePin {
                pan: card.pan().clone(),
                amount: ctx.req.amount,
                timeout: s.config.pin_timeout,
            };
            return (Some(ExpectPin(ctx, card)), a);
        }
        Self::request(s, ctx, card, &PinEntry::Bypassed)
    }

    /// The request for a card read (and PIN): built, the card data dropped, its MAC asked.
    fn request(s: &Session, ctx: Ctx, card: CardData, pin: &PinEntry) -> (Option<Sale>, Action) {
        let req = financial_request(
            s,
            ctx.req.kind,
            ctx.trace,
            &ctx.req.amount,
            &card,
            pin,
            ctx.time,
            ctx.req.original.as_ref(),
        );
        drop(card);
        let mab = req
            .mac_block(s.config.profile.fields())
            .expect("well-formed request");
        (
            Some(Sale::ExpectRequestMac(ctx, req)),
            Action::ComputeMac(mab),
        )
    }

    pub fn handle(self, s: &mut Session, event: Event) -> Step {
        use Sale::*;
        match (self, event) {
            (ExpectCard(mut ctx), Event::CardRead(r)) => match r {
                Ok(Presented::DeclinedOffline) => Ok(conclude(
                    &ctx,
                    s,
                    Outcome::Declined(Declined::CardOffline),
                    None,
                )),
                Ok(Presented::Fallback) if !ctx.fallback => {
                    ctx.fallback = true;
                    let a = read_card(s, &ctx);
                    Ok((Some(ExpectCard(ctx)), a))
                }
                Ok(Presented::Fallback) => Ok(conclude(
                    &ctx,
                    s,
                    local_decline(HalError::CardError(
                        "neither the chip nor the stripe could be used".into(),
                    )),
                    None,
                )),
                Ok(Presented::Card(card))
                    if ctx.fallback && card.entry_mode() != EntryMode::MagStripe =>
                {
                    Ok(conclude(
                        &ctx,
                        s,
                        local_decline(HalError::CardError(
                            "a chip read was offered after the chip failed; a swipe was asked"
                                .into(),
                        )),
                        None,
                    ))
                }
                Ok(Presented::Card(card)) if ctx.fallback => {
                    let card = card.with_entry_mode(EntryMode::Fallback);
                    Ok(Self::card_read(s, ctx, card))
                }
                Ok(Presented::Card(card)) => Ok(Self::card_read(s, ctx, card)),
                Err(e) => Ok(conclude(&ctx, s, local_decline(e), None)),
            },
            (ExpectPin(ctx, card), Event::PinEntered(r)) => match r {
                Ok(PinEntry::Block(b))
                    if b.0.len() != s.config.profile.key_algorithm.block_len() =>
                {
                    let e = HalError::Device(format!(
                        "the PIN pad returned a {}-byte PIN block; {} keys need {}",
                        b.0.len(),
                        s.config.profile.key_algorithm.name(),
                        s.config.profile.key_algorithm.block_len()
                    ));
                    Ok(conclude(&ctx, s, local_decline(e), None))
                }
                Ok(pin) => Ok(Self::request(s, ctx, card, &pin)),
                Err(e) => Ok(conclude(&ctx, s, local_decline(e), None)),
            },
            (ExpectRequestMac(ctx, mut req), Event::MacComputed(r)) => match r {
                Ok(mac) => {
                    req.set(64, mac);
                    let reversal = spec(ctx.req.kind).reversible.then(|| {
                        reversal_of(&req, ctx.batch, ctx.trace, "98")
                            .encode(s.config.profile.fields())
                            .expect("well-formed reversal")
                    });
                    let write = JournalWrite::Sending {
                        start: ctx.start(),
                        masked_pan: ctx.masked_pan.clone().unwrap_or_default(),
                        reversal,
                    };
                    let bytes = frame(s, req.clone())
                        .encode(s.config.profile.fields())
                        .expect("well-formed request");
                    Ok((
                        Some(ExpectSendingPersisted(ctx, req, bytes)),
                        Action::Persist(write),
                    ))
                }
                Err(e) => Ok(conclude(&ctx, s, local_decline(e), None)),
            },
            (ExpectSendingPersisted(mut ctx, req, bytes), Event::Persisted(r)) => match r {
                Ok(()) => {
                    ctx.recorded = true;
                    let a = Action::SendToHost {
                        frame: bytes,
                        timeout: s.config.host_timeout,
                    };
                    Ok((Some(ExpectHostAnswer(ctx, req)), a))
                }
                Err(e) => {
                    let o = Outcome::Declined(Declined::Storage {
                        detail: e.to_string(),
                    });
                    Ok(conclude(&ctx, s, o, None))
                }
            },
            (ExpectHostAnswer(mut ctx, req), Event::HostAnswered(answer)) => {
                if ctx.chip.is_some() {
                    ctx.chip_request = Some(Box::new(req.clone()));
                }
                let bytes = match answer {
                    Ok(b) => b,
                    Err(TransportFailure::NotSent(failure)) => {
                        let o = Outcome::Declined(Declined::HostUnreachable {
                            detail: failure.to_string(),
                        });
                        return Ok(conclude(&ctx, s, o, None));
                    }
                    Err(TransportFailure::NoAnswer(_)) => {
                        return Ok(conclude(
                            &ctx,
                            s,
                            Outcome::Unknown {
                                reason: UnknownReason::NoResponse,
                            },
                            None,
                        ))
                    }
                };
                let resp = match check_response(&req, &bytes, s.config.profile.fields()) {
                    Ok(f) => {
                        if f.header.host_request() == HostRequest::SignInAgain {
                            s.signed_in = false;
                        }
                        f.message
                    }
                    Err(crate::engine::ResponseProblem::Malformed(_)) => {
                        let o = Outcome::Unknown {
                            reason: UnknownReason::MalformedResponse,
                        };
                        return Ok(conclude(&ctx, s, o, None));
                    }
                    Err(_) => {
                        let o = Outcome::Unknown {
                            reason: UnknownReason::MismatchedResponse,
                        };
                        return Ok(conclude(&ctx, s, o, None));
                    }
                };
                let code = resp.get_str(39).unwrap_or("").to_string();
                if code == "00" {
                    let Ok(mab) = resp.mac_block(s.config.profile.fields()) else {
                        let o = Outcome::Unknown {
                            reason: UnknownReason::MalformedResponse,
                        };
                        return Ok(conclude(&ctx, s, o, None));
                    };
                    return Ok((Some(ExpectResponseMac(ctx, resp)), Action::ComputeMac(mab)));
                }
                if code == "A0" || code == "77" {
                    s.signed_in = false;
                }
                let o = Outcome::Declined(Declined::Host {
                    message: response_message(&code).into(),
                    code,
                });
                Ok(conclude(&ctx, s, o, Some(&resp)))
            }
            (ExpectResponseMac(ctx, resp), Event::MacComputed(r)) => {
                let ok = matches!((&r, resp.get(64)), (Ok(mac), Some(got)) if got == &mac[..]);
                if !ok {
                    let o = Outcome::Unknown {
                        reason: UnknownReason::BadResponseMac,
                    };
                    return Ok(conclude(&ctx, s, o, Some(&resp)));
                }
                if ctx.chip.is_some() && spec(ctx.req.kind).reversible {
                    // The card has the last word: nothing is recorded until it speaks, so a
                    // crash here leaves the armed reversal, which recovery sends. (A refund
                    // cannot be reversed and a balance moves nothing: their answer stands.)
                    let answer = IssuerAnswer {
                        response_code: "00".into(),
                        auth_code: resp.get_str(38).map(|a| a.trim().to_string()),
                        icc_data: resp.get(55).map(<[u8]>::to_vec).unwrap_or_default(),
                    };
                    let a = Action::CompleteOnCard {
                        answer,
                        timeout: s.config.card_timeout,
                    };
                    return Ok((Some(ExpectCardVerdict(ctx, resp)), a));
                }
                Ok(conclude(&ctx, s, Outcome::Approved, Some(&resp)))
            }
            (ExpectCardVerdict(mut ctx, resp), Event::CardCompleted(r)) => {
                let o = match r {
                    Ok(CardVerdict::Accepted { icc_data }) => {
                        let list = tlv::decode(&icc_data).unwrap_or_default();
                        if let Some(c) = ctx.chip.as_mut() {
                            c.tc = tlv::find(&list, Tag(0x9F26)).map(hex::encode_upper);
                        }
                        if let Some(request) = ctx.chip_request.take() {
                            ctx.advices = super::advice::advices_for(
                                s,
                                &super::advice::AdviceSource {
                                    request: &request,
                                    response: &resp,
                                    card_icc: &icc_data,
                                    batch: ctx.batch,
                                    trace: ctx.trace,
                                    time: ctx.time,
                                },
                            );
                        }
                        Outcome::Approved
                    }
                    // An AAC, a card pulled out, a kernel error: the approval must not stand.
                    Ok(CardVerdict::Declined { icc_data }) => {
                        ctx.reversal = ctx
                            .chip_request
                            .take()
                            .and_then(|req| reversal_with_script_results(s, &ctx, &req, &icc_data));
                        Outcome::Declined(Declined::ByCard)
                    }
                    Err(_) => Outcome::Declined(Declined::ByCard),
                };
                Ok(conclude(&ctx, s, o, Some(&resp)))
            }
            (ExpectOutcomePersisted(mut r), Event::Persisted(p)) => {
                if p.is_err() && r.outcome == Outcome::Approved {
                    // Not durable: the armed reversal will undo it on recovery, so do not claim approval.
                    r.outcome = Outcome::Unknown {
                        reason: UnknownReason::JournalFailure,
                    };
                }
                Ok((None, Action::Finish(Finished::Payment(r))))
            }
            (state, _) => Err((Box::new(state), EngineError::UnexpectedEvent("sale"))),
        }
    }
}
