//! Card reader checks: a card read as presented (by `wait_for_card` and by the first half,
//! `start_transaction`), unreadable cards, cancel and timeout contracts.

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
    kit.check(
        "card_reader.cancel_not_sticky",
        "a cancel with nobody waiting does not cancel the next wait",
        cancel_not_sticky(
            || s.card_reader.cancel(),
            |t| s.card_reader.wait_for_card(amount, t),
        ),
    );
}
