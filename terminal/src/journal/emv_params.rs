//! The EMV parameters the terminal downloaded at sign-in, kept in the sealed `meta` table as
//! their download records (so what is read back goes through the download's own checks).

use super::{Journal, JournalError};
use rusqlite::OptionalExtension;
use smartpos_core::emv::params::EmvParameters;

impl Journal {
    /// The EMV parameters last downloaded; `None` when there are none or they no longer read
    /// back through the download's checks (the terminal then downloads again).
    pub fn emv_parameters(&self) -> Result<Option<EmvParameters>, JournalError> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT v FROM meta WHERE k = 'emv_parameters'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v.and_then(|v| match serde_json::from_str(&v) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "stored EMV parameters unreadable; download again");
                None
            }
        }))
    }

    /// Keeps a completed EMV parameter download (sealed like every other record).
    pub fn save_emv_parameters(&mut self, params: &EmvParameters) -> Result<(), JournalError> {
        let json = serde_json::to_string(params).expect("parameters serialize");
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO meta (k, v) VALUES ('emv_parameters', ?1)
                 ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                [json],
            )?;
            Ok(())
        })
    }
}
