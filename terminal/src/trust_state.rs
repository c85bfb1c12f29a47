//! The terminal's revocation state for the market's signature (the install and launch policy
//! reads it): the newest root-signed revocation list seen, authenticated on disk.

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use smartpos_apk::market::{open_revocations, MarketError, Revocations, Signed};
use std::path::Path;

/// The terminal's revocation state: the newest root-signed revocation list it has seen, kept
/// in `DIR/revocations.json` and authenticated (HMAC-SHA256) under a device key in
/// `DIR/trust-state.key` (mode 0600), like the journal. An older list offered later is refused
/// ([`MarketError::StaleRevocations`]); the launcher, the installer and `market verify
/// --trust-state DIR` all read the same state.
pub struct TrustState {
    file: std::path::PathBuf,
    key: crate::journal::secrets::DeviceKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    v: u32,
    list: Signed,
    mac: String,
}

impl TrustState {
    /// Opens (creating when missing) the state in `dir`.
    pub fn open(dir: &Path) -> Result<Self, MarketError> {
        use crate::journal::secrets::DeviceKey;
        let io = |e: &dyn std::fmt::Display| {
            MarketError::Input(format!("trust state {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
        let key_path = dir.join("trust-state.key");
        let key = match DeviceKey::load(&key_path).map_err(|e| io(&e))? {
            Some(k) => k,
            None => {
                let (_, bytes) = DeviceKey::generate().map_err(|e| io(&e))?;
                DeviceKey::persist(&key_path, &bytes[..]).map_err(|e| io(&e))?
            }
        };
        Ok(TrustState {
            file: dir.join("revocations.json"),
            key,
        })
    }

    fn mac(&self, list: &Signed) -> String {
        hex::encode(self.key.mac(&[
            b"smartpos-trust-state-v1",
            list.json.as_bytes(),
            list.sig.as_bytes(),
        ]))
    }

    /// The newest list seen (an empty one, serial 0, before any).
    pub fn load(&self, root: &VerifyingKey) -> Result<Revocations, MarketError> {
        let text = match std::fs::read(&self.file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Revocations::default()),
            Err(e) => return Err(MarketError::Input(format!("{}: {e}", self.file.display()))),
        };
        let bad =
            || MarketError::Input(format!("{} is corrupt or was edited", self.file.display()));
        let f: StateFile = serde_json::from_slice(&text).map_err(|_| bad())?;
        if f.v != 1 || f.mac != self.mac(&f.list) {
            return Err(bad());
        }
        open_revocations(root, &f.list)
    }

    /// Adopts `doc` if it is at least as new as what was seen (the same list again is fine);
    /// returns the list now in force.
    pub fn adopt(&self, root: &VerifyingKey, doc: &Signed) -> Result<Revocations, MarketError> {
        let known = self.load(root)?;
        let offered = open_revocations(root, doc)?;
        if offered.serial < known.serial {
            return Err(MarketError::StaleRevocations {
                offered: offered.serial,
                known: known.serial,
            });
        }
        if offered.serial == known.serial && known.serial != 0 {
            if offered != known {
                return Err(MarketError::Input(format!(
                    "two different revocation lists carry serial {}",
                    offered.serial
                )));
            }
            return Ok(known);
        }
        let f = StateFile {
            v: 1,
            mac: self.mac(doc),
            list: doc.clone(),
        };
        let bytes = serde_json::to_vec(&f).expect("serializable");
        crate::journal::files::replace_durably(&self.file, &bytes)
            .map_err(|e| MarketError::Input(format!("{}: {e}", self.file.display())))?;
        Ok(offered)
    }
}
