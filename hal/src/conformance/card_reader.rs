//! Card reader checks: a card read as presented (by `wait_for_card` and by the first half,
//! `start_transaction`), unreadable cards, cancel and timeout contracts, and a chip card's two
//! halves: an ARQC to go online with, the card's last word reported as it gave it, and a cancel
//! between the halves.

use super::*;

pub(super) fn card_reader_checks(kit: &mut Kit, s: &Subject<'_>, amount: &Money, pan: &Pan) {
    s.operator.present_card(TEST_TRACK2);
    kit.check(
        "card_reader.read",
        "a presented card is returned with its card number, expiry and the whole track 2 (service code and discretionary data included)",
        match s.card_reader.wait_for_card(amount, Duration::from_secs(5)) {
            Ok(c)
                if c.pan().expose_digits() == pan.expose_digits()
                    && c.expiry() == Some("3012")
                    && c.expose_track2() == TEST_TRACK2 =>
            {
                Ok(())
            }
            Ok(c) => Err(format!("wrong card data: {c:?}")),
            Err(e) => Err(format!("expected the test card, got {e:?}")),
        },
    );
    kit.check(
        "card_reader.card_present",
        "with no card in the reader, card_present() is false",
        if s.card_reader.card_present() {
            Err("card_present() is true with no card".into())
        } else {
            Ok(())
        },
    );
    s.operator.present_unreadable_card();
    kit.check(
        "card_reader.unreadable",
        "a card the reader cannot read is reported as CardError (not Timeout, not a card)",
        match s.card_reader.wait_for_card(amount, Duration::from_secs(5)) {
            Err(HalError::CardError(_)) => Ok(()),
            other => Err(format!("expected CardError, got {other:?}")),
        },
    );
    kit.check(
        "card_reader.timeout",
        "with no card, wait_for_card returns Timeout when the time limit passes, at most 10 % + 100 ms late",
        times_out(TIMEOUT, |t| s.card_reader.wait_for_card(amount, t)),
    );
    kit.check(
        "card_reader.cancel",
        "cancel() makes a waiting wait_for_card return Cancelled within 200 ms",
        cancels(
            || s.card_reader.wait_for_card(amount, Duration::from_secs(10)),
            || s.card_reader.cancel(),
        ),
    );
    s.operator.present_card(TEST_TRACK2);
    let start = smartpos_core::hal::TransactionStart {
        amount: *amount,
        kind: smartpos_core::payment::TransactionType::Sale,
        fallback: false,
    };
    kit.check(
        "card_reader.start_read",
        "the first half (start_transaction) returns a presented card to go online with, its track 2 whole",
        match s.card_reader.start_transaction(&start, Duration::from_secs(5)) {
            Ok(smartpos_core::hal::Presented::Card(c)) if c.expose_track2() == TEST_TRACK2 => Ok(()),
            Ok(smartpos_core::hal::Presented::Card(c)) => Err(format!("wrong card data: {c:?}")),
            other => Err(format!("expected the test card to go online, got {other:?}")),
        },
    );
    kit.check(
        "card_reader.start_timeout",
        "with no card, start_transaction returns Timeout when the time limit passes, at most 10 % + 100 ms late",
        times_out(TIMEOUT, |t| s.card_reader.start_transaction(&start, t)),
    );
    chip_checks(kit, s, &start);
    kit.check(
        "card_reader.cancel_not_sticky",
        "a cancel with nobody waiting does not cancel the next wait",
        cancel_not_sticky(
            || s.card_reader.cancel(),
            |t| s.card_reader.wait_for_card(amount, t),
        ),
    );
}

/// The CID (9F27) in a card's BER-TLV data, if any.
fn cid(icc: &[u8]) -> Option<u8> {
    use smartpos_core::emv::tlv;
    let list = tlv::decode(icc).ok()?;
    tlv::find(&list, tlv::Tag(0x9F27))?.first().copied()
}

/// Whether a first half's card is a chip read going online with an ARQC.
fn goes_online_with_arqc(c: &smartpos_core::card::CardData) -> Result<(), String> {
    use smartpos_core::card::EntryMode;
    use smartpos_core::emv::tlv;
    if !matches!(c.entry_mode(), EntryMode::Chip | EntryMode::Contactless) {
        return Err(format!("entry mode {:?}, not a chip read", c.entry_mode()));
    }
    let list = tlv::decode(c.icc_data()).map_err(|e| format!("field 55 is not BER-TLV: {e}"))?;
    let len = |t: u32| tlv::find(&list, tlv::Tag(t)).map(<[u8]>::len);
    if len(0x9F26) != Some(8) {
        return Err("no 8-byte cryptogram (9F26)".into());
    }
    if cid(c.icc_data()).map(|b| b & 0xC0) != Some(0x80) {
        return Err("the CID (9F27) does not say ARQC (80)".into());
    }
    if len(0x9F36) != Some(2) {
        return Err("no 2-byte ATC (9F36)".into());
    }
    if c.card_sequence().is_none() {
        return Err("no card sequence number".into());
    }
    Ok(())
}

fn chip_checks(kit: &mut Kit, s: &Subject<'_>, start: &smartpos_core::hal::TransactionStart) {
    use smartpos_core::hal::{CardVerdict, IssuerAnswer, Presented};
    // The first half; the checks of the second go on with any card it gave (each check is
    // about its own contract).
    let first_half = || match s
        .card_reader
        .start_transaction(start, Duration::from_secs(5))
    {
        Ok(Presented::Card(c)) => Ok(c),
        other => Err(format!("expected a chip card to go online, got {other:?}")),
    };
    s.operator.present_chip_card(TEST_TRACK2);
    let card = first_half();
    kit.check(
        "card_reader.chip_first_half",
        "a presented chip card goes online from the first half as a chip read: field 55 in BER-TLV with an ARQC (9F26, CID 9F27 80), the ATC (9F36), and the card sequence number",
        card.as_ref()
            .map_err(Clone::clone)
            .and_then(goes_online_with_arqc),
    );
    let online = card.map(|_| ());
    // An approval the card cannot authenticate (no tag 91): kernels differ on what the card
    // then says, but the reader must say what it said.
    let answer = IssuerAnswer {
        response_code: "00".into(),
        auth_code: Some("123456".into()),
        icc_data: Vec::new(),
    };
    kit.check(
        "card_reader.chip_verdict",
        "complete_online reports the card's last word as the card gave it: Accepted only with a TC (CID 40) in its data, Declined with an AAC (CID 00)",
        online.and_then(|()| {
            match s.card_reader.complete_online(&answer, Duration::from_secs(5)) {
                Ok(CardVerdict::Accepted { icc_data }) => match cid(&icc_data) {
                    Some(b) if b & 0xC0 == 0x40 => Ok(()),
                    other => Err(format!("Accepted, but the card's CID is {other:02X?}")),
                },
                Ok(CardVerdict::Declined { icc_data }) => match cid(&icc_data) {
                    Some(b) if b & 0xC0 == 0x00 => Ok(()),
                    other => Err(format!("Declined, but the card's CID is {other:02X?}")),
                },
                Err(e) => Err(format!("expected the card's verdict, got {e:?}")),
            }
        }),
    );
    s.operator.present_chip_card(TEST_TRACK2);
    let online = first_half().map(|_| ());
    kit.check(
        "card_reader.chip_cancel_between_halves",
        "cancel() after the first half makes complete_online return Cancelled without asking the card (the terminal reverses)",
        online.and_then(|()| {
            s.card_reader.cancel();
            match s.card_reader.complete_online(&answer, Duration::from_secs(5)) {
                Err(HalError::Cancelled) => Ok(()),
                other => Err(format!("expected Cancelled, got {other:?}")),
            }
        }),
    );
}
