//! Restart recovery: transactions a crash (or a killed process) left `created` or `sent`.

use super::{InterruptedRow, Journal, JournalError, Recovery};
use rusqlite::params;
use smartpos_core::payment::{Outcome, PaymentResult};

impl Journal {
    /// At start: settles transactions a crash interrupted. `created` (nothing sent) becomes
    /// declined; `sent` (the request may have left) becomes unknown with its reversal pending.
    pub fn recover_interrupted(
        &mut self,
        who: &smartpos_core::engine::TerminalIdentity,
    ) -> Result<Recovery, JournalError> {
        self.write(|tx, _| {
        let mut rec = Recovery::default();
        let rows: Vec<InterruptedRow> = {
            let mut stmt = tx.prepare(
                "SELECT id, state, order_id, kind, amount_minor, currency, trace, batch, masked_pan, time_json, method, wallet
                 FROM txns WHERE state IN ('created', 'sent')",
            )?;
            let mapped = stmt.query_map([], |r| {
                Ok(InterruptedRow {
                    id: r.get(0)?,
                    state: r.get(1)?,
                    order_id: r.get(2)?,
                    kind: r.get(3)?,
                    minor: r.get(4)?,
                    currency: r.get(5)?,
                    trace: r.get(6)?,
                    batch: r.get(7)?,
                    masked_pan: r.get(8)?,
                    time_json: r.get(9)?,
                    method: r.get(10)?,
                    wallet: r.get(11)?,
                })
            })?;
            mapped.collect::<Result<_, _>>()?
        };
        for InterruptedRow {
            id,
            state,
            order_id,
            kind,
            minor,
            currency,
            trace,
            batch,
            masked_pan,
            time_json,
            method,
            wallet,
        } in rows
        {
            let corrupt = |what: &str| JournalError::Corrupt(format!("row {id}: {what}"));
            let currency =
                smartpos_core::money::Currency::from_code(&currency).ok_or_else(|| corrupt("currency"))?;
            let amount = smartpos_core::money::Money::from_stored(minor as u64, currency)
                .map_err(|_| corrupt("amount"))?;
            let kind =
                smartpos_core::payment::TransactionType::parse(&kind).ok_or_else(|| corrupt("type"))?;
            let time = time_json
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(smartpos_core::time::LocalTime::from_unix(0, 0));
            let before_send = state == "created";
            // An inquiry that moves no money has nothing to resolve once sent: it ends declined.
            let inquiry_sent = !before_send && !kind.moves_money();
            let outcome = if before_send {
                Outcome::Declined(smartpos_core::payment::Declined::Interrupted)
            } else if inquiry_sent {
                Outcome::Declined(smartpos_core::payment::Declined::NoUsableAnswer {
                    reason: smartpos_core::payment::UnknownReason::NoResponse,
                })
            } else {
                Outcome::Unknown {
                    reason: smartpos_core::payment::UnknownReason::NoResponse,
                }
            };
            let result = PaymentResult {
                order_id,
                kind,
                amount,
                outcome,
                masked_pan,
                auth_code: None,
                reference: None,
                trace,
                batch,
                terminal_id: who.terminal_id.clone(),
                merchant_id: who.merchant_id.clone(),
                time,
                balance: None,
                method: smartpos_core::qr::PaymentMethod::parse(&method).unwrap_or_default(),
                wallet: wallet.as_deref().and_then(smartpos_core::qr::Wallet::parse),
                chip: None,
            };
            let json =
                serde_json::to_string(&result).map_err(|e| JournalError::Corrupt(e.to_string()))?;
            if before_send || inquiry_sent {
                if before_send {
                    rec.interrupted_before_send += 1;
                } else {
                    rec.interrupted_after_send += 1;
                }
                tx.execute(
                    "UPDATE txns SET state = 'declined', result_json = ?2 WHERE id = ?1",
                    params![id, json],
                )?;
            } else {
                rec.interrupted_after_send += 1;
                tx.execute(
                    "UPDATE txns SET state = 'unknown', result_json = ?2,
                       reversal_state = CASE WHEN reversal IS NULL THEN 'none' ELSE 'pending' END,
                       reversal_reason = '98'
                     WHERE id = ?1",
                    params![id, json],
                )?;
            }
        }
        Ok(rec)
        })
    }
}
