//! Authenticated records. Every committed change to a row of `meta`, `counters`, `txns` or `settle_requests`
//! appends a seal `(seq, table, row id, row MAC, link)` in the same SQLite transaction, where
//! the row MAC is HMAC-SHA256 over the row's columns (names and values, length-prefixed) and
//! `link(n) = HMAC(link(n-1), seq, table, row id, row MAC)`, `link(0) = HMAC("genesis",
//! generation)`. The anchor file beside the database holds the generation and the last
//! `(seq, link)`, authenticated under the same key, so an emptied, replaced or rolled-back
//! database, or an edited row, is found when the journal is opened.

use super::secrets::DeviceKey;
use super::JournalError;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::Path;

/// Tables whose rows are sealed.
pub(crate) const SEALED_TABLES: [&str; 4] = ["meta", "counters", "txns", "settle_requests"];

/// Per-connection bookkeeping of the rows a transaction touched (temp objects are private to
/// the connection and roll back with the transaction).
pub(crate) const TOUCH_TRACKING: &str = "
CREATE TEMP TABLE IF NOT EXISTS touched (tbl TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (tbl, id));
CREATE TEMP TRIGGER IF NOT EXISTS touch_meta_i AFTER INSERT ON main.meta BEGIN INSERT OR IGNORE INTO touched VALUES ('meta', NEW.rowid); END;
CREATE TEMP TRIGGER IF NOT EXISTS touch_meta_u AFTER UPDATE ON main.meta BEGIN INSERT OR IGNORE INTO touched VALUES ('meta', NEW.rowid); END;
CREATE TEMP TRIGGER IF NOT EXISTS touch_counters_i AFTER INSERT ON main.counters BEGIN INSERT OR IGNORE INTO touched VALUES ('counters', NEW.rowid); END;
CREATE TEMP TRIGGER IF NOT EXISTS touch_counters_u AFTER UPDATE ON main.counters BEGIN INSERT OR IGNORE INTO touched VALUES ('counters', NEW.rowid); END;
CREATE TEMP TRIGGER IF NOT EXISTS touch_txns_i AFTER INSERT ON main.txns BEGIN INSERT OR IGNORE INTO touched VALUES ('txns', NEW.rowid); END;
CREATE TEMP TRIGGER IF NOT EXISTS touch_txns_u AFTER UPDATE ON main.txns BEGIN INSERT OR IGNORE INTO touched VALUES ('txns', NEW.rowid); END;
CREATE TEMP TRIGGER IF NOT EXISTS touch_settle_i AFTER INSERT ON main.settle_requests BEGIN INSERT OR IGNORE INTO touched VALUES ('settle_requests', NEW.rowid); END;
";

/// The last seal: its sequence number and link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub seq: i64,
    pub link: [u8; 32],
}

pub(crate) fn genesis(key: &DeviceKey, generation: &str) -> Head {
    Head {
        seq: 0,
        link: key.mac(&[b"smartpos-journal-genesis", generation.as_bytes()]),
    }
}

fn row_mac(
    conn: &Connection,
    key: &DeviceKey,
    tbl: &str,
    id: i64,
) -> Result<Option<[u8; 32]>, JournalError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT * FROM main.{tbl} WHERE rowid = ?1"))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut parts: Vec<Vec<u8>> = vec![tbl.as_bytes().to_vec(), id.to_be_bytes().to_vec()];
    for (i, name) in names.iter().enumerate() {
        parts.push(name.as_bytes().to_vec());
        let mut v = Vec::new();
        match row.get_ref(i)? {
            ValueRef::Null => v.push(0),
            ValueRef::Integer(n) => {
                v.push(1);
                v.extend_from_slice(&n.to_be_bytes());
            }
            ValueRef::Real(f) => {
                v.push(2);
                v.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            ValueRef::Text(t) => {
                v.push(3);
                v.extend_from_slice(t);
            }
            ValueRef::Blob(b) => {
                v.push(4);
                v.extend_from_slice(b);
            }
        }
        parts.push(v);
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(Some(key.mac(&refs)))
}

fn link(key: &DeviceKey, prev: &[u8; 32], seq: i64, tbl: &str, id: i64, mac: &[u8]) -> [u8; 32] {
    key.mac(&[
        prev,
        &seq.to_be_bytes(),
        tbl.as_bytes(),
        &id.to_be_bytes(),
        mac,
    ])
}

/// Marks every row of the sealed tables as touched (after a migration changed their shape).
pub(crate) fn touch_all(conn: &Connection) -> Result<(), JournalError> {
    for tbl in SEALED_TABLES {
        conn.execute(
            &format!("INSERT OR IGNORE INTO temp.touched SELECT '{tbl}', rowid FROM main.{tbl}"),
            [],
        )?;
    }
    Ok(())
}

/// Seals the rows this transaction touched; returns the new head.
pub(crate) fn seal(conn: &Connection, key: &DeviceKey, head: Head) -> Result<Head, JournalError> {
    let touched: Vec<(String, i64)> = conn
        .prepare("SELECT tbl, id FROM temp.touched ORDER BY tbl, id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut head = head;
    for (tbl, id) in touched {
        let mac = row_mac(conn, key, &tbl, id)?.ok_or_else(|| JournalError::Tampered {
            detail: format!("{tbl} row {id} vanished inside its own transaction"),
        })?;
        let seq = head.seq + 1;
        let next = link(key, &head.link, seq, &tbl, id, &mac);
        conn.execute(
            "INSERT INTO seals (seq, tbl, row_id, row_mac, link) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![seq, tbl, id, &mac[..], &next[..]],
        )?;
        head = Head { seq, link: next };
    }
    conn.execute("DELETE FROM temp.touched", [])?;
    Ok(head)
}

/// Checks every seal and every sealed row. Returns the links by sequence number (index 0 is
/// the genesis link), so the caller can compare any of them with the anchor.
pub(crate) fn verify(
    conn: &Connection,
    key: &DeviceKey,
    generation: &str,
) -> Result<Vec<[u8; 32]>, JournalError> {
    let bad = |detail: String| JournalError::Tampered { detail };
    let mut links = vec![genesis(key, generation).link];
    let mut latest: HashMap<(String, i64), Vec<u8>> = HashMap::new();
    let mut stmt =
        conn.prepare("SELECT seq, tbl, row_id, row_mac, link FROM seals ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let tbl: String = r.get(1)?;
        let id: i64 = r.get(2)?;
        let mac: Vec<u8> = r.get(3)?;
        let stored: Vec<u8> = r.get(4)?;
        if seq != links.len() as i64 {
            return Err(bad(format!(
                "record {seq} follows record {}",
                links.len() - 1
            )));
        }
        let expect = link(key, &links[links.len() - 1], seq, &tbl, id, &mac);
        if stored != expect {
            return Err(bad(format!("record {seq} ({tbl} row {id}) does not chain")));
        }
        links.push(expect);
        latest.insert((tbl, id), mac);
    }
    for tbl in SEALED_TABLES {
        let ids: Vec<i64> = conn
            .prepare(&format!("SELECT rowid FROM main.{tbl} ORDER BY rowid"))?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in ids {
            let mac = row_mac(conn, key, tbl, id)?;
            match latest.remove(&(tbl.to_string(), id)) {
                None => return Err(bad(format!("{tbl} row {id} was never sealed"))),
                Some(sealed) if mac.as_ref().map(|m| &m[..]) != Some(&sealed[..]) => {
                    return Err(bad(format!(
                        "{tbl} row {id} was changed outside the terminal"
                    )))
                }
                Some(_) => {}
            }
        }
    }
    if let Some(((tbl, id), _)) = latest.into_iter().next() {
        return Err(bad(format!("{tbl} row {id} was deleted")));
    }
    Ok(links)
}

/// The anchor: which journal (generation) belongs to this terminal and how far it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub generation: String,
    pub head: Head,
}

/// Bytes of one anchor slot; the file holds two.
const ANCHOR_SLOT: usize = 512;

#[derive(serde::Serialize, serde::Deserialize)]
struct AnchorFile {
    v: u32,
    generation: String,
    seq: i64,
    link: String,
    mac: String,
}

impl Anchor {
    fn mac(&self, key: &DeviceKey) -> [u8; 32] {
        key.mac(&[
            b"smartpos-journal-anchor-v1",
            self.generation.as_bytes(),
            &self.head.seq.to_be_bytes(),
            &self.head.link,
        ])
    }

    fn file_record(&self, key: &DeviceKey) -> Result<Vec<u8>, JournalError> {
        let f = AnchorFile {
            v: 1,
            generation: self.generation.clone(),
            seq: self.head.seq,
            link: hex::encode(self.head.link),
            mac: hex::encode(self.mac(key)),
        };
        let mut bytes = serde_json::to_vec(&f).map_err(|e| JournalError::Corrupt(e.to_string()))?;
        if bytes.len() > ANCHOR_SLOT {
            return Err(JournalError::Corrupt("anchor record over 512 bytes".into()));
        }
        bytes.resize(ANCHOR_SLOT, b' ');
        Ok(bytes)
    }

    fn parse_slot(slot: &[u8], key: &DeviceKey) -> Option<Anchor> {
        let end = slot.iter().rposition(|b| !matches!(b, b' ' | 0 | b'\n'))? + 1;
        let f: AnchorFile = serde_json::from_slice(&slot[..end]).ok()?;
        let link: [u8; 32] = hex::decode(&f.link).ok()?.try_into().ok()?;
        let anchor = Anchor {
            generation: f.generation,
            head: Head { seq: f.seq, link },
        };
        (f.v == 1 && hex::encode(anchor.mac(key)) == f.mac).then_some(anchor)
    }

    /// Reads the anchor; `Ok(None)` when the file does not exist. Of the two slots, the valid
    /// one that has come furthest (a torn slot from a power cut leaves the other); a file of
    /// one record (older terminals) is one slot.
    pub(crate) fn read(path: &Path, key: &DeviceKey) -> Result<Option<Anchor>, JournalError> {
        let bytes = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(JournalError::io(path, e)),
        };
        if bytes.len() > 2 * ANCHOR_SLOT {
            return Err(JournalError::AnchorCorrupt {
                file: path.to_path_buf(),
            });
        }
        bytes
            .chunks(ANCHOR_SLOT)
            .filter_map(|slot| Self::parse_slot(slot, key))
            .max_by_key(|a| a.head.seq)
            .map(Some)
            .ok_or_else(|| JournalError::AnchorCorrupt {
                file: path.to_path_buf(),
            })
    }

    /// Writes a new anchor durably (both slots; temporary file, fsync, rename): at set-up and
    /// rebuild.
    pub(crate) fn write(&self, path: &Path, key: &DeviceKey) -> Result<(), JournalError> {
        let mut bytes = self.file_record(key)?;
        bytes.extend_from_within(..);
        super::files::replace_durably(path, &bytes).map_err(|e| JournalError::io(path, e))
    }

    /// Moves the anchor on after a commit: the record goes in place into slot `seq mod 2`,
    /// leaving the other slot's earlier record whole, and is not fsynced: a killed process
    /// loses nothing (the kernel has it), a power cut can leave the anchor behind the
    /// database, which open accepts and catches up. So a commit costs one fsync, SQLite's.
    pub(crate) fn advance(&self, path: &Path, key: &DeviceKey) -> Result<(), JournalError> {
        use std::io::{Seek, SeekFrom, Write};
        let bytes = self.file_record(key)?;
        let at = (self.head.seq.rem_euclid(2) as u64) * ANCHOR_SLOT as u64;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let io = |e| JournalError::io(path, e);
        let mut f = options.open(path).map_err(io)?;
        f.seek(SeekFrom::Start(at)).map_err(io)?;
        f.write_all(&bytes).map_err(io)
    }
}
