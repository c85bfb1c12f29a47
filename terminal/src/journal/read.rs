//! Reading the journal: orders, references, counters, settlement input, settle requests, and
//! the nonce store for the handoff's replay refusal.

use super::*;

impl Journal {
    /// Records that an app's settle request (by its order id) closed `batch`.
    pub fn record_settle_request(
        &mut self,
        caller: &str,
        order_id: &str,
        batch: u32,
        message: &str,
    ) -> Result<(), JournalError> {
        self.write(|tx, _| {
            tx.execute(
                "INSERT OR IGNORE INTO settle_requests (caller, order_id, batch, message) VALUES (?1, ?2, ?3, ?4)",
                params![caller, order_id, batch, message],
            )?;
            Ok(())
        })
    }

    /// The batch (and message) an app's earlier settle request with this order id closed.
    pub fn find_settle_request(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<(u32, String)>, JournalError> {
        Ok(self
            .conn
            .query_row(
                "SELECT batch, message FROM settle_requests WHERE caller = ?1 AND order_id = ?2",
                params![caller, order_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Checks the whole record chain again (what `terminal journal --verify` runs); returns
    /// the number of records.
    pub fn verify(&self) -> Result<u64, JournalError> {
        let links = seal::verify(&self.conn, &self.key, &self.generation)?;
        Ok(links.len() as u64 - 1)
    }

    /// `(next_trace, batch)`: never below a trace already used in the journal.
    pub fn counters(&self) -> Result<(u32, u32), JournalError> {
        let stored: Option<(u32, u32)> = self
            .conn
            .query_row(
                "SELECT next_trace, batch FROM counters WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (mut next, batch) = stored.unwrap_or((1, 0));
        let max_used: Option<u32> = self.conn.query_row(
            "SELECT MAX(trace) FROM txns WHERE batch = ?1",
            [batch],
            |r| r.get(0),
        )?;
        if let Some(m) = max_used {
            if m >= next && m < 999_999 {
                next = m + 1;
            }
        }
        Ok((next, batch))
    }

    fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(JournalEntry, String, Option<String>)> {
        let state: String = r.get(7)?;
        Ok((
            JournalEntry {
                caller: r.get(0)?,
                order_id: r.get(1)?,
                kind: r.get(2)?,
                amount_minor: r.get::<_, i64>(3)? as u64,
                currency: r.get(4)?,
                trace: r.get(5)?,
                batch: r.get(6)?,
                state: TxnState::Created,
                masked_pan: r.get(8)?,
                response_code: r.get(9)?,
                result: None,
                reversal_pending: r.get::<_, String>(11)? == "pending"
                    && r.get::<_, u32>(12)? < MAX_REVERSAL_ATTEMPTS,
                reversal_exhausted: r.get::<_, String>(11)? == "exhausted"
                    || (r.get::<_, String>(11)? == "pending"
                        && r.get::<_, u32>(12)? >= MAX_REVERSAL_ATTEMPTS),
                method: r.get(13)?,
                wallet: r.get(14)?,
                pay_called_at_ms: r.get::<_, Option<i64>>(15)?.map(|v| v as u64),
                reference: r.get(16)?,
            },
            state,
            r.get(10)?,
        ))
    }

    fn finish(raw: (JournalEntry, String, Option<String>)) -> Result<JournalEntry, JournalError> {
        let (mut e, state, json) = raw;
        e.state = TxnState::parse(&state)
            .ok_or_else(|| JournalError::Corrupt(format!("state {state:?}")))?;
        e.result = match json {
            Some(j) => Some(
                serde_json::from_str(&j).map_err(|err| JournalError::Corrupt(err.to_string()))?,
            ),
            None => None,
        };
        Ok(e)
    }

    const COLUMNS: &'static str = "caller, order_id, kind, amount_minor, currency, trace, batch, state, masked_pan, response_code, result_json, reversal_state, reversal_attempts, method, wallet, pay_called_at_ms, reference";

    /// Totals and upload items of a batch for settlement: approved sales are debits, approved
    /// refunds credits; voided sales and voids cancel out and are left out.
    pub fn settlement_input(
        &self,
        batch: u32,
    ) -> Result<smartpos_core::engine::SettlementInput, JournalError> {
        let mut input = smartpos_core::engine::SettlementInput::default();
        for e in self
            .entries()?
            .into_iter()
            .filter(|e| e.batch == batch && e.state == TxnState::Approved && e.method == "card")
        {
            let code = match e.kind.as_str() {
                "sale" | "preauth_complete" => {
                    input.debit_count += 1;
                    input.debit_minor += e.amount_minor;
                    "000000"
                }
                "refund" => {
                    input.credit_count += 1;
                    input.credit_minor += e.amount_minor;
                    "200000"
                }
                _ => continue,
            };
            input.uploads.push(smartpos_core::engine::UploadItem {
                trace: e.trace,
                amount_minor: e.amount_minor,
                reference: e
                    .result
                    .as_ref()
                    .and_then(|r| r.reference.clone())
                    .unwrap_or_default(),
                processing_code: code,
            });
        }
        Ok(input)
    }

    /// The transaction of `kind` with this retrieval reference, whatever its state.
    pub fn find_by_reference(
        &self,
        reference: &str,
        kind: smartpos_core::payment::TransactionType,
    ) -> Result<Option<JournalEntry>, JournalError> {
        let sql = format!(
            "SELECT {} FROM txns WHERE reference = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
            Self::COLUMNS
        );
        let raw = self
            .conn
            .query_row(&sql, params![reference, kind.name()], Self::entry)
            .optional()?;
        raw.map(Self::finish).transpose()
    }

    /// The latest transaction for a caller's order id.
    pub fn find_by_order(
        &self,
        caller: &str,
        order_id: &str,
    ) -> Result<Option<JournalEntry>, JournalError> {
        let sql = format!(
            "SELECT {} FROM txns WHERE caller = ?1 AND order_id = ?2 ORDER BY id DESC LIMIT 1",
            Self::COLUMNS
        );
        let raw = self
            .conn
            .query_row(&sql, params![caller, order_id], Self::entry)
            .optional()?;
        raw.map(Self::finish).transpose()
    }

    /// All transactions, oldest first.
    pub fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let sql = format!("SELECT {} FROM txns ORDER BY id", Self::COLUMNS);
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::entry)?;
        rows.map(|r| Self::finish(r?)).collect()
    }
}

impl smartpos_core::handoff::NonceStore for Journal {
    fn use_nonce(
        &mut self,
        caller: &str,
        nonce: &str,
        expires: i64,
        now: i64,
    ) -> Result<bool, smartpos_core::engine::StoreFailure> {
        let mut run = || -> Result<bool, rusqlite::Error> {
            let tx = self.conn.transaction()?;
            tx.execute("DELETE FROM nonces WHERE expires < ?1", [now])?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO nonces (caller, nonce, expires) VALUES (?1, ?2, ?3)",
                params![caller, nonce, expires],
            )?;
            tx.commit()?;
            Ok(n == 1)
        };
        run().map_err(|e| JournalError::from(e).store_failure())
    }
}
