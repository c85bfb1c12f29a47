//! The host's financial messages: reversals, transactions that refer to an original, card checks, balance inquiry and sale-like authorizations.

use super::*;

impl Acquirer {
    pub(super) fn reversal(&mut self, tid: &str, req: &Message) -> String {
        let f61 = req.get_str(61).unwrap_or("");
        let (batch, trace) = match (
            f61.get(0..6).and_then(|b| b.parse().ok()),
            f61.get(6..12).and_then(|t| t.parse().ok()),
        ) {
            (Some(b), Some(t)) => (b, t),
            _ => (
                f60_batch(req),
                req.get_str(11).and_then(|t| t.parse().ok()).unwrap_or(0u32),
            ),
        };
        let Some(at) = self.ledger_at(tid, batch, trace) else {
            return "25".into();
        };
        self.touch(at);
        let entry = &mut self.state.ledger[at];
        if !entry.in_force() {
            // Declined at the host, or already reversed: nothing to undo.
            entry.reversed = true;
            return "00".into();
        }
        // Undo exactly what the message did.
        entry.reversed = true;
        let (kind, amount, original, was_closed, pan) = (
            entry.kind.clone(),
            entry.amount_minor,
            entry.original,
            entry.voided,
            // The reversed message's card account: a 0400 needs no card data.
            entry.card.clone(),
        );
        let mut orig_amount = 0;
        let original_at = original.and_then(|(b, t)| self.ledger_at(tid, b, t));
        if let Some(i) = original_at {
            self.touch(i);
        }
        if let Some(o) = original_at.map(|i| &mut self.state.ledger[i]) {
            orig_amount = o.amount_minor;
            match kind.as_str() {
                "refund" => o.refunded_minor = o.refunded_minor.saturating_sub(amount),
                _ => o.voided = false, // the original is back in force (hold reopened, sale charged again)
            }
        }
        if let Some(card) = self.state.cards.iter_mut().find(|c| c.pan == pan) {
            match kind.as_str() {
                "sale" if !was_closed => card.balance += amount,
                "preauth" if !was_closed => card.held = card.held.saturating_sub(amount),
                "void" | "refund" | "complete_void" => {
                    card.balance = card.balance.saturating_sub(amount)
                }
                "preauth_void" => card.held += orig_amount,
                "preauth_complete" => {
                    card.held += orig_amount;
                    card.balance += amount;
                }
                _ => {}
            }
        }
        "00".into()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn referring(
        &mut self,
        tid: &str,
        req: &Message,
        resp: &mut Message,
        now: LocalTime,
        kind: &str,
    ) -> String {
        let num = |f: u8, r: std::ops::Range<usize>| {
            req.get_str(f)
                .and_then(|v| v.get(r))
                .and_then(|v| v.parse::<u32>().ok())
        };
        let (trace, batch) = (num(11, 0..6).unwrap_or(0), f60_batch(req));
        let amount: u64 = req.get_str(4).and_then(|a| a.parse().ok()).unwrap_or(0);
        let reference = req.get_str(37).unwrap_or("").to_string();
        let rrn = self.next_rrn();
        set_text(resp, 37, &rrn);
        resp.set(15, now.f13());
        let current_batch = self.terminal_batch(tid);
        let dup = self.ledger_at(tid, batch, trace).is_some();
        // The rules per type: which original, current batch only, and the amount allowed.
        let (orig_kind, current_only, max_percent, exact) = match kind {
            "void" => ("sale", true, 100, true),
            "refund" => ("sale", false, 100, false),
            "preauth_void" => ("preauth", false, 100, true),
            "preauth_complete" => ("preauth", false, 115, false),
            _ => ("preauth_complete", true, 100, true), // complete_void
        };
        let orig_idx = self.state.ledger.iter().position(|e| {
            e.terminal_id == tid && e.kind == orig_kind && e.reference == reference && e.in_force()
        });
        let code = match orig_idx {
            _ if dup => "94",
            None => "25",
            Some(i) => {
                let o = &self.state.ledger[i];
                let limit = o.amount_minor * max_percent / 100;
                if o.voided || (current_only && o.batch != current_batch) {
                    "12"
                } else if (exact && amount != o.amount_minor)
                    || (!exact && amount + o.refunded_minor > limit)
                {
                    "13"
                } else {
                    "00"
                }
            }
        }
        .to_string();
        let mut original = None;
        // Money moves on the original's card account, whatever card data this message carries
        // (F2, track 2 or none).
        let card = orig_idx
            .map(|i| self.state.ledger[i].card.clone())
            .unwrap_or_default();
        if code == "00" {
            let at = orig_idx.expect("found");
            self.touch(at);
            let o = &mut self.state.ledger[at];
            original = Some((o.batch, o.trace));
            let orig_amount = o.amount_minor;
            match kind {
                "refund" => o.refunded_minor += amount,
                _ => o.voided = true, // void, preauth void, completion (hold closed), completion void
            }
            if let Some(card) = self.state.cards.iter_mut().find(|c| c.pan == card) {
                match kind {
                    "void" | "refund" | "complete_void" => card.balance += amount,
                    "preauth_void" => card.held = card.held.saturating_sub(orig_amount),
                    _ => {
                        card.held = card.held.saturating_sub(orig_amount);
                        card.balance = card.balance.saturating_sub(amount);
                    }
                }
            }
            let auth = format!("{:06}", (self.state.rrn_counter * 7919) % 1_000_000);
            set_text(resp, 38, &auth);
        }
        if !dup {
            self.post(LedgerEntry {
                terminal_id: tid.to_string(),
                batch,
                trace,
                kind: kind.into(),
                amount_minor: amount,
                masked_pan: smartpos_core::card::mask_pan(&card),
                response_code: code.clone(),
                reference: rrn,
                auth_code: resp.get_str(38).unwrap_or("").to_string(),
                reversed: false,
                voided: false,
                refunded_minor: 0,
                original,
                card,
            });
        }
        code
    }

    /// The card named by `pan`, if it exists, has not expired and the PIN block (if any) is right.
    pub(super) fn card_check(
        &self,
        tid: &str,
        req: &Message,
        now: LocalTime,
        pan: &str,
    ) -> Result<&cards::TestCard, &'static str> {
        let Some(card) = self.state.cards.iter().find(|c| c.pan == pan) else {
            return Err("14");
        };
        let today = format!("{:02}{:02}", now.year % 100, now.month);
        if card.expiry < today {
            return Err("54");
        }
        if let Some(block) = req.get(52) {
            let Some(keys) = self.keys.get(tid) else {
                return Err("A0");
            };
            // F53 must announce the PIN block the profile agreed on: 99 = PIN format error.
            if req.get_str(53) != Some(self.profile.f53().as_str()) {
                return Err("99");
            }
            let mut clear = block.to_vec();
            if keys.pin.decrypt_in_place(&mut clear).is_err() {
                return Err("99");
            }
            let ok = matches!(
                clear_pin_block(self.profile.pin_block, &card.pin, pan, clear.len()),
                Ok(expected) if expected[..] == clear[..]
            );
            zeroize::Zeroize::zeroize(&mut clear);
            if !ok {
                return Err("55");
            }
        }
        Ok(card)
    }

    /// Balance inquiry (0200, F3 310000): card and PIN checked, the available balance (balance
    /// less holds) in field 54; nothing is recorded in the ledger (no money moves).
    pub(super) fn balance(
        &self,
        tid: &str,
        req: &Message,
        resp: &mut Message,
        now: LocalTime,
    ) -> String {
        let pan = request_pan(req);
        match self.card_check(tid, req, now, &pan) {
            Ok(card) => {
                let available = smartpos_core::payment::AccountBalance {
                    amount: smartpos_core::money::Money::from_stored(
                        card.balance.saturating_sub(card.held),
                        smartpos_core::money::Currency::CNY,
                    )
                    .unwrap_or(smartpos_core::money::Money::zero(
                        smartpos_core::money::Currency::CNY,
                    )),
                    overdrawn: false,
                };
                set_text(resp, 54, &available.to_field54());
                "00".into()
            }
            Err(code) => code.into(),
        }
    }

    /// A sale (charge) or, with `hold`, a pre-authorization (hold on the available balance).
    pub(super) fn sale(
        &mut self,
        tid: &str,
        req: &Message,
        resp: &mut Message,
        now: LocalTime,
        hold: bool,
        chip: Option<&super::ChipCheck>,
    ) -> String {
        let pan = request_pan(req);
        let trace: u32 = req.get_str(11).and_then(|t| t.parse().ok()).unwrap_or(0);
        let batch: u32 = f60_batch(req);
        let amount: u64 = req.get_str(4).and_then(|a| a.parse().ok()).unwrap_or(0);
        let rrn = self.next_rrn();
        set_text(resp, 37, &rrn);
        resp.set(15, now.f13());
        let dup = self.ledger_at(tid, batch, trace).is_some();
        let code = (|| {
            if dup {
                return "94";
            }
            if amount == 0 {
                return "13";
            }
            let card = match self.card_check(tid, req, now, &pan) {
                Ok(card) => card,
                Err(code) => return code,
            };
            // A chip read: the card's ARQC must verify under its key (do not honour if not).
            if let Some(Err(_)) = chip {
                return "05";
            }
            if card.balance.saturating_sub(card.held) < amount {
                return "51";
            }
            "00"
        })()
        .to_string();
        let auth = if code == "00" {
            let card = self
                .state
                .cards
                .iter_mut()
                .find(|c| c.pan == pan)
                .expect("found above");
            if hold {
                card.held += amount;
            } else {
                card.balance -= amount;
            }
            let auth = format!("{:06}", (self.state.rrn_counter * 7919) % 1_000_000);
            set_text(resp, 38, &auth);
            auth
        } else {
            String::new()
        };
        if !dup {
            self.post(LedgerEntry {
                terminal_id: tid.to_string(),
                batch,
                trace,
                kind: if hold { "preauth" } else { "sale" }.into(),
                amount_minor: amount,
                masked_pan: smartpos_core::card::mask_pan(&pan),
                response_code: code.clone(),
                reference: rrn,
                auth_code: auth,
                reversed: false,
                voided: false,
                refunded_minor: 0,
                original: None,
                card: pan,
            });
        }
        code
    }
}
