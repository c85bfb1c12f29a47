//! Building CUP POS requests and checking responses.

use super::Session;
use crate::card::CardData;
use crate::hal::PinEntry;
use crate::iso8583::{DecodeError, FieldTable, Frame, Message, Mti};
use crate::money::Money;
use crate::payment::{Original, TransactionType};
use crate::time::LocalTime;

/// What is wrong with a host response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseProblem {
    /// Not decodable.
    #[error("undecodable response: {0}")]
    Malformed(#[from] DecodeError),
    /// MTI is not request + 10.
    #[error("response MTI {got} does not answer {sent}")]
    WrongMti {
        /// MTI sent.
        sent: String,
        /// MTI received.
        got: String,
    },
    /// A field that must be echoed is missing.
    #[error("response lacks field {0}")]
    Missing(u8),
    /// A field that must be echoed differs.
    #[error("response field {0} does not match the request")]
    Mismatch(u8),
}

/// Checks a response frame, decoded with the profile's field table, against the request:
/// MTI + 10, F39 present, F3/F11/F41 echoed, and F4/F42 equal where the response carries them.
pub fn check_response(
    request: &Message,
    response_bytes: &[u8],
    fields: &FieldTable,
) -> Result<Frame, ResponseProblem> {
    let frame = Frame::decode(response_bytes, fields)?;
    let resp = &frame.message;
    let expected = request.mti.response().unwrap_or(request.mti);
    if resp.mti != expected {
        return Err(ResponseProblem::WrongMti {
            sent: request.mti.to_string(),
            got: resp.mti.to_string(),
        });
    }
    for f in [3u8, 11, 41] {
        if let Some(sent) = request.get(f) {
            match resp.get(f) {
                None => return Err(ResponseProblem::Missing(f)),
                Some(v) if v != sent => return Err(ResponseProblem::Mismatch(f)),
                _ => {}
            }
        }
    }
    for f in [4u8, 42] {
        if let (Some(sent), Some(got)) = (request.get(f), resp.get(f)) {
            if sent != got {
                return Err(ResponseProblem::Mismatch(f));
            }
        }
    }
    if !resp.has(39) {
        return Err(ResponseProblem::Missing(39));
    }
    Ok(frame)
}

pub(super) fn frame(s: &Session, message: Message) -> Frame {
    let p = &s.config.profile;
    Frame {
        tpdu: p.tpdu().expect("profile validated at start"),
        header: p.header().expect("profile validated at start"),
        message,
    }
}

/// A network-management or batch message (60.1 `00`): MTI, trace, terminal and merchant, and
/// 60 = `00` + the current batch + `code` (60.3).
pub(super) fn management_message(s: &Session, mti: u16, trace: u32, code: &str) -> Message {
    let mut m = Message::new(Mti::new(mti).expect("valid"));
    m.set(11, format!("{trace:06}"));
    identity(s, &mut m);
    m.set(60, format!("00{:06}{code}", s.batch));
    m
}

/// The action that sends `msg` (framed as the profile says) and waits for the host's answer.
pub(super) fn send_to_host(s: &Session, msg: &Message) -> super::Action {
    super::Action::SendToHost {
        frame: frame(s, msg.clone())
            .encode(s.config.profile.fields())
            .expect("messages the engine built re-encode"),
        timeout: s.config.host_timeout,
    }
}

/// The action that MACs `msg` (MTI through F63; an F64 it carries is dropped first).
pub(super) fn compute_mac(s: &Session, msg: &mut Message) -> super::Action {
    msg.remove(64);
    super::Action::ComputeMac(
        msg.mac_block(s.config.profile.fields())
            .expect("messages the engine built or decoded re-encode"),
    )
}

/// `msg` with the MAC the PIN pad computed, as the frame that goes to the host.
pub(super) fn macced_frame(s: &Session, msg: &mut Message, mac: [u8; 8]) -> Vec<u8> {
    msg.set(64, mac);
    frame(s, msg.clone())
        .encode(s.config.profile.fields())
        .expect("messages the engine built or decoded re-encode")
}

fn identity(s: &Session, m: &mut Message) {
    m.set(41, s.config.identity.terminal_id.as_bytes());
    m.set(42, s.config.identity.merchant_id.as_bytes());
}

pub(super) fn sign_in_request(s: &Session, trace: u32) -> Message {
    let mut m = Message::new(Mti::new(800).expect("valid"));
    m.set(11, format!("{trace:06}"));
    identity(s, &mut m);
    m.set(
        60,
        format!("00{:06}{}", s.batch, s.config.profile.key_layout.code()),
    );
    m.set(63, "001");
    m
}

/// How a financial transaction type is carried (the CUP POS transaction table, as data).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxnSpec {
    pub mti: u16,
    pub f3: &'static str,
    pub f25: &'static str,
    pub f60_1: &'static str,
    pub reversible: bool,
    pub pin: bool,
}

pub(crate) fn spec(kind: TransactionType) -> TxnSpec {
    use TransactionType::*;
    let t = |mti, f3, f25, f60_1, reversible, pin| TxnSpec {
        mti,
        f3,
        f25,
        f60_1,
        reversible,
        pin,
    };
    //                        MTI  F3        F25   60.1  reversible PIN
    match kind {
        Sale =>
        /*            */
        {
            t(200, "000000", "00", "22", true, true)
        }
        Void =>
        /*            */
        {
            t(200, "200000", "00", "23", true, false)
        }
        Refund =>
        /*          */
        {
            t(220, "200000", "00", "25", false, false)
        }
        Preauth =>
        /*         */
        {
            t(100, "030000", "06", "10", true, true)
        }
        PreauthVoid =>
        /*     */
        {
            t(100, "200000", "06", "11", true, false)
        }
        PreauthComplete =>
        /* */
        {
            t(200, "000000", "06", "20", true, false)
        }
        CompleteVoid =>
        /*    */
        {
            t(200, "200000", "06", "21", true, false)
        }
        Balance =>
        /*         */
        {
            t(200, "310000", "00", "01", false, true)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn financial_request(
    s: &Session,
    kind: TransactionType,
    trace: u32,
    amount: &Money,
    card: &CardData,
    pin: &PinEntry,
    now: LocalTime,
    original: Option<&Original>,
) -> Message {
    let sp = spec(kind);
    let mut m = Message::new(Mti::new(sp.mti).expect("valid"));
    let with_pin = matches!(pin, PinEntry::Block(_));
    m.set(2, card.pan().expose_digits());
    m.set(3, sp.f3);
    if kind.moves_money() {
        m.set(4, amount.to_field4());
    }
    m.set(11, format!("{trace:06}"));
    m.set(12, now.f12());
    m.set(13, now.f13());
    if let Some(e) = card.expiry() {
        m.set(14, e);
    }
    m.set(
        22,
        format!(
            "{}{}",
            card.entry_mode().f22_prefix(),
            if with_pin { 1 } else { 2 }
        ),
    );
    if let Some(seq) = card.card_sequence() {
        m.set(23, seq);
    }
    m.set(25, sp.f25);
    if with_pin {
        m.set(26, "12");
    }
    m.set(35, card.expose_track2());
    if let Some(o) = original {
        m.set(37, o.reference.as_bytes());
        if let Some(a) = &o.auth_code {
            m.set(38, a.as_bytes());
        }
        m.set(61, format!("{:06}{:06}", o.batch, o.trace));
    }
    identity(s, &mut m);
    m.set(49, amount.currency().numeric());
    if let PinEntry::Block(b) = pin {
        m.set(52, &b.0[..]);
        m.set(53, s.config.profile.f53());
    }
    if !card.icc_data().is_empty() {
        m.set(55, card.icc_data());
    }
    m.set(60, format!("{}{:06}00050", sp.f60_1, s.batch));
    m
}

/// The 0400 reversal of a request: card data and PIN removed, F39 = reason, F61 = batch + trace.
pub(super) fn reversal_of(request: &Message, batch: u32, trace: u32, reason: &str) -> Message {
    let mut r = request.clone();
    r.mti = Mti::new(400).expect("valid");
    // No card data and no PIN data (PCI; the CUP profile does not need them): the host finds
    // the original by F41 + F61 (batch and trace) and undoes it on the original's account.
    for f in [2u8, 12, 13, 14, 26, 35, 36, 37, 38, 52, 53, 55, 64] {
        r.remove(f);
    }
    if let Some(icc) = request.get(55) {
        // A chip reversal carries the chip data the issuer needs to undo it (TVR, terminal
        // serial, issuer application data, counter), none of it card data.
        let reduced = reversal_icc_data(icc);
        if !reduced.is_empty() {
            r.set(55, reduced);
        }
    }
    r.set(39, reason);
    r.set(61, format!("{batch:06}{trace:06}"));
    r
}

/// The tags of a chip request's field 55 its reversal keeps: 95 (TVR), 9F1E (terminal serial),
/// 9F10 (issuer application data), 9F36 (ATC), DF31 (script results).
const REVERSAL_ICC_TAGS: [u32; 5] = [0x95, 0x9F1E, 0x9F10, 0x9F36, 0xDF31];

fn reversal_icc_data(icc: &[u8]) -> Vec<u8> {
    use crate::emv::tlv::{decode, encode};
    let Ok(list) = decode(icc) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in list.iter().filter(|t| REVERSAL_ICC_TAGS.contains(&t.tag.0)) {
        // values come from a decoded list, so they fit
        let _ = encode(t.tag, t.value, &mut out);
    }
    out
}

#[cfg(test)]
mod reversal_tests {
    use super::*;
    use crate::emv::tlv::{decode, encode, Tag};

    #[test]
    fn a_chip_reversal_keeps_only_the_chip_data_the_issuer_needs() {
        let mut icc = Vec::new();
        for (t, v) in [
            (0x9F26u32, &[1u8; 8][..]),
            (0x95, &[0, 0, 0x80, 0, 0]),
            (0x9F36, &[0, 7]),
            (0x57, &[0x62, 0x22, 0x02]),
            (0x9F10, &[7, 1, 1]),
        ] {
            encode(Tag(t), v, &mut icc).unwrap();
        }
        let mut req = Message::new(Mti::new(200).unwrap());
        req.set(2, "6222021234567890123")
            .set(55, &icc)
            .set(11, "000007");
        let rev = reversal_of(&req, 1, 7, "06");
        let kept: Vec<u32> = decode(rev.get(55).unwrap())
            .unwrap()
            .iter()
            .map(|t| t.tag.0)
            .collect();
        assert_eq!(kept, vec![0x95, 0x9F36, 0x9F10]);
        assert!(rev.get(2).is_none());
        // a swiped request's reversal has no field 55
        let mut swiped = Message::new(Mti::new(200).unwrap());
        swiped.set(11, "000008");
        assert!(reversal_of(&swiped, 1, 8, "98").get(55).is_none());
    }
}
