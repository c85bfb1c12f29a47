//! Strict reading of an APK's ZIP structure: the end of central directory (EOCD), the central
//! directory, and each entry's local header, without reading entry data. What Android and
//! apksig tolerate but attacks use is refused: a first local header not at offset 0 (a file
//! prepended, the Janus attack), duplicate names, local headers that disagree with the central
//! directory, bytes between entries, and EOCD comments that hide another EOCD.

use super::ApkError;
use std::io::{Read, Seek, SeekFrom};

const EOCD_MAGIC: u32 = 0x0605_4b50;
const CD_MAGIC: u32 = 0x0201_4b50;
const LOCAL_MAGIC: u32 = 0x0403_4b50;

/// One central-directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Entry name (bytes as stored).
    pub name: Vec<u8>,
    /// General-purpose flags.
    pub flags: u16,
    /// Compression method (0 stored, 8 deflate).
    pub method: u16,
    /// CRC-32.
    pub crc: u32,
    /// Compressed size.
    pub compressed: u64,
    /// Uncompressed size.
    pub uncompressed: u64,
    /// Offset of the local header.
    pub local_offset: u64,
    /// Where the entry's data starts (after the local header).
    pub data_offset: u64,
    /// Where the entry ends (data and any data descriptor).
    pub end_offset: u64,
}

/// The ZIP layout of an APK.
#[derive(Debug, Clone)]
pub struct ZipLayout {
    /// File size.
    pub size: u64,
    /// Central directory offset.
    pub cd_offset: u64,
    /// Central directory size.
    pub cd_size: u64,
    /// EOCD offset.
    pub eocd_offset: u64,
    /// The EOCD record (with its comment).
    pub eocd: Vec<u8>,
    /// Entries in central-directory order.
    pub entries: Vec<Entry>,
    /// Where the last entry ends: the APK Signing Block (if any) lies between here and the
    /// central directory.
    pub entries_end: u64,
}

/// Whether `[from, to)` holds only zero bytes (read in bounded slices).
pub fn zeros<R: Read + Seek>(r: &mut R, from: u64, to: u64) -> Result<bool, ApkError> {
    let mut at = from;
    while at < to {
        let n = (to - at).min(64 * 1024) as usize;
        if read_at(r, at, n)?.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads exactly `len` bytes at `offset`.
pub fn read_at<R: Read + Seek>(r: &mut R, offset: u64, len: usize) -> Result<Vec<u8>, ApkError> {
    let mut buf = vec![0u8; len];
    r.seek(SeekFrom::Start(offset))?;
    r.read_exact(&mut buf)
        .map_err(|_| ApkError::Zip(format!("truncated at {offset}+{len}")))?;
    Ok(buf)
}

impl ZipLayout {
    /// Reads the layout of `r` (`size` bytes).
    pub fn read<R: Read + Seek>(r: &mut R, size: u64) -> Result<ZipLayout, ApkError> {
        let bad = |s: &str| ApkError::Zip(s.to_string());
        if size < 22 {
            return Err(bad("too small for a ZIP file"));
        }
        // The EOCD is the record whose comment runs exactly to the end of the file.
        let tail_len = size.min(22 + 65_535) as usize;
        let tail = read_at(r, size - tail_len as u64, tail_len)?;
        let mut found = None;
        for i in (0..=tail_len - 22).rev() {
            if u32le(&tail, i) == EOCD_MAGIC && u16le(&tail, i + 20) as usize == tail_len - i - 22 {
                found = Some(i);
                break;
            }
        }
        let i = found.ok_or_else(|| bad("no end of central directory record"))?;
        let eocd = tail[i..].to_vec();
        let eocd_offset = size - (tail_len - i) as u64;
        let comment = &eocd[22..];
        if comment.windows(4).any(|w| u32le(w, 0) == EOCD_MAGIC) {
            return Err(bad("EOCD comment contains another EOCD record"));
        }
        if u16le(&eocd, 4) != 0 || u16le(&eocd, 6) != 0 || u16le(&eocd, 8) != u16le(&eocd, 10) {
            return Err(bad("multi-disk archives are not APKs"));
        }
        let count = u16le(&eocd, 10) as usize;
        let cd_size = u32le(&eocd, 12) as u64;
        let cd_offset = u32le(&eocd, 16) as u64;
        if cd_offset + cd_size != eocd_offset {
            return Err(bad(
                "central directory does not end where the EOCD record starts",
            ));
        }
        let cd = read_at(r, cd_offset, cd_size as usize)?;
        let mut entries = Vec::with_capacity(count);
        let mut at = 0usize;
        for _ in 0..count {
            if at + 46 > cd.len() || u32le(&cd, at) != CD_MAGIC {
                return Err(bad("malformed central directory entry"));
            }
            let name_len = u16le(&cd, at + 28) as usize;
            let extra_len = u16le(&cd, at + 30) as usize;
            let comment_len = u16le(&cd, at + 32) as usize;
            let end = at + 46 + name_len + extra_len + comment_len;
            if end > cd.len() {
                return Err(bad("central directory entry runs past the directory"));
            }
            let name = cd[at + 46..at + 46 + name_len].to_vec();
            if name.is_empty() {
                return Err(bad("empty entry name"));
            }
            entries.push(Entry {
                name,
                flags: u16le(&cd, at + 8),
                method: u16le(&cd, at + 10),
                crc: u32le(&cd, at + 16),
                compressed: u32le(&cd, at + 20) as u64,
                uncompressed: u32le(&cd, at + 24) as u64,
                local_offset: u32le(&cd, at + 42) as u64,
                data_offset: 0,
                end_offset: 0,
            });
            at = end;
        }
        if at != cd.len() {
            return Err(bad("central directory has bytes after its last entry"));
        }
        let mut names = std::collections::HashSet::new();
        for e in &entries {
            if !names.insert(e.name.as_slice()) {
                return Err(ApkError::Zip(format!(
                    "duplicate entry {}",
                    String::from_utf8_lossy(&e.name)
                )));
            }
        }
        let mut layout = ZipLayout {
            size,
            cd_offset,
            cd_size,
            eocd_offset,
            eocd,
            entries,
            entries_end: 0,
        };
        layout.check_locals(r)?;
        Ok(layout)
    }

    /// Every local header agrees with its central entry; the first sits at offset 0 and the
    /// entries follow each other without gaps.
    fn check_locals<R: Read + Seek>(&mut self, r: &mut R) -> Result<(), ApkError> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| self.entries[i].local_offset);
        let mut expected_next = 0u64;
        for &i in &order {
            let e = &self.entries[i];
            let name = String::from_utf8_lossy(&e.name).into_owned();
            let bad = |s: &str| ApkError::Zip(format!("{name}: {s}"));
            if e.local_offset != expected_next {
                if expected_next == 0 || e.local_offset < expected_next {
                    return Err(if expected_next == 0 {
                        ApkError::Zip(
                            "the first local header is not at offset 0 (data prepended)".into(),
                        )
                    } else {
                        bad("overlaps the entry before it")
                    });
                }
                // Alignment padding is zeros; anything else between entries is refused.
                if !zeros(r, expected_next, e.local_offset)? {
                    return Err(bad("bytes between entries"));
                }
            }
            let h = read_at(r, e.local_offset, 30)?;
            if u32le(&h, 0) != LOCAL_MAGIC {
                return Err(bad("no local header where the central directory says"));
            }
            let (name_len, extra_len) = (u16le(&h, 26) as u64, u16le(&h, 28) as u64);
            let local_name = read_at(r, e.local_offset + 30, name_len as usize)?;
            if local_name != e.name {
                return Err(bad("local header names another entry"));
            }
            if u16le(&h, 8) != e.method {
                return Err(bad(
                    "compression method differs between local and central headers",
                ));
            }
            let descriptor = e.flags & 0x08 != 0;
            if !descriptor
                && (u32le(&h, 14) != e.crc
                    || u32le(&h, 18) as u64 != e.compressed
                    || u32le(&h, 22) as u64 != e.uncompressed)
            {
                return Err(bad("sizes or CRC differ between local and central headers"));
            }
            let data_offset = e.local_offset + 30 + name_len + extra_len;
            let mut end = data_offset + e.compressed;
            if descriptor {
                // optional signature, CRC, sizes (12 or 16 bytes)
                let d = read_at(r, end, 4)?;
                end += if u32le(&d, 0) == 0x0807_4b50 { 16 } else { 12 };
            }
            if end > self.cd_offset {
                return Err(bad("entry data runs into the central directory"));
            }
            let e = &mut self.entries[i];
            e.data_offset = data_offset;
            e.end_offset = end;
            expected_next = end;
        }
        self.entries_end = expected_next;
        Ok(())
    }
}
