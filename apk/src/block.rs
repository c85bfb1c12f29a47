//! The APK Signing Block: between the last ZIP entry and the central directory.
//! `size(u64) | (len(u64) id(u32) value)* | size(u64) | "APK Sig Block 42"`.

use super::zip::{read_at, ZipLayout};
use super::ApkError;
use std::io::{Read, Seek};

/// Scheme v2.
pub const V2_ID: u32 = 0x7109_871a;
/// Scheme v3.
pub const V3_ID: u32 = 0xf053_68c0;
/// Scheme v3.1.
pub const V31_ID: u32 = 0x1b93_ad61;
/// Verity padding.
pub const VERITY_PADDING_ID: u32 = 0x4272_6577;
/// The bank market's signature (smartpos).
pub const MARKET_ID: u32 = 0x534d_4b31;

const MAGIC: &[u8; 16] = b"APK Sig Block 42";

/// The signing block, when present.
#[derive(Debug, Clone)]
pub struct SigningBlock {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// The ID-value pairs, in order.
    pub pairs: Vec<(u32, Vec<u8>)>,
}

impl SigningBlock {
    /// The value of `id`, if present (a repeated ID is an error at read time).
    pub fn get(&self, id: u32) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }

    /// Reads the block right before the central directory; `None` when there is none.
    pub fn read<R: Read + Seek>(
        r: &mut R,
        zip: &ZipLayout,
    ) -> Result<Option<SigningBlock>, ApkError> {
        let bad = |s: &str| ApkError::SigningBlock(s.to_string());
        if zip.cd_offset < 32 || zip.cd_offset - zip.entries_end < 32 {
            return Ok(None);
        }
        let footer = read_at(r, zip.cd_offset - 24, 24)?;
        if &footer[8..] != MAGIC {
            if !super::zip::zeros(r, zip.entries_end, zip.cd_offset)? {
                return Err(bad(
                    "bytes before the central directory are not a signing block",
                ));
            }
            return Ok(None);
        }
        let size = u64::from_le_bytes(footer[..8].try_into().expect("8"));
        if size < 24 || size > zip.cd_offset - 8 || size > 64 * 1024 * 1024 {
            return Err(bad("implausible block size"));
        }
        let offset = zip.cd_offset - size - 8;
        if offset < zip.entries_end || !super::zip::zeros(r, zip.entries_end, offset)? {
            return Err(bad(
                "the block does not follow the last entry (only zero padding may lie between)",
            ));
        }
        let block = read_at(r, offset, (size + 8) as usize)?;
        Self::parse(&block, offset).map(Some)
    }

    /// Parses a whole block as it stands in the file (size, pairs, size, magic) found at
    /// `offset`: every length checked, IDs unique.
    pub fn parse(block: &[u8], offset: u64) -> Result<SigningBlock, ApkError> {
        let bad = |s: &str| ApkError::SigningBlock(s.to_string());
        if block.len() < 32 || block[block.len() - 16..] != MAGIC[..] {
            return Err(bad("not a signing block (size or magic)"));
        }
        let head = u64::from_le_bytes(block[..8].try_into().expect("8"));
        let foot = u64::from_le_bytes(
            block[block.len() - 24..block.len() - 16]
                .try_into()
                .expect("8"),
        );
        if head != foot || head != (block.len() - 8) as u64 {
            return Err(bad("header and footer sizes differ"));
        }
        let body = &block[8..block.len() - 24];
        let mut pairs = Vec::new();
        let mut at = 0usize;
        while at < body.len() {
            if at + 12 > body.len() {
                return Err(bad("truncated ID-value pair"));
            }
            let len = u64::from_le_bytes(body[at..at + 8].try_into().expect("8"));
            if len < 4 || len > (body.len() - at - 8) as u64 {
                return Err(bad("ID-value pair length out of range"));
            }
            let id = u32::from_le_bytes(body[at + 8..at + 12].try_into().expect("4"));
            let value = body[at + 12..at + 8 + len as usize].to_vec();
            if pairs.iter().any(|(i, _): &(u32, Vec<u8>)| *i == id) {
                return Err(bad(&format!("ID {id:#x} appears twice")));
            }
            pairs.push((id, value));
            at += 8 + len as usize;
        }
        Ok(SigningBlock { offset, pairs })
    }

    /// Encodes a block with these pairs, padded as APK signers pad for verity: when `page_align`
    /// is set, a zero-filled pair with ID [`VERITY_PADDING_ID`] is appended so the whole block
    /// (size fields and magic included) is a multiple of 4096 bytes, as the platform requires
    /// of blocks whose signatures use verity.
    ///
    /// ```
    /// use smartpos_apk::block::SigningBlock;
    /// let b = SigningBlock::encode_padded(&[(1, vec![7; 100])], true);
    /// assert_eq!(b.len() % 4096, 0);
    /// assert_eq!(SigningBlock::encode_padded(&[(1, vec![7; 100])], false).len(), 8 + 12 + 100 + 24);
    /// ```
    pub fn encode_padded(pairs: &[(u32, Vec<u8>)], page_align: bool) -> Vec<u8> {
        let plain = Self::encode(pairs);
        if !page_align || plain.len().is_multiple_of(4096) {
            return plain;
        }
        // A pair costs 12 bytes of header (length and ID) before its value.
        let mut pad = 4096 - plain.len() % 4096;
        if pad < 12 {
            pad += 4096;
        }
        let mut with_pad = pairs.to_vec();
        with_pad.push((VERITY_PADDING_ID, vec![0; pad - 12]));
        Self::encode(&with_pad)
    }

    /// Encodes a block with these pairs (for adding the market signature).
    pub fn encode(pairs: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let body: usize = pairs.iter().map(|(_, v)| 12 + v.len()).sum();
        let size = (body + 24) as u64;
        let mut out = Vec::with_capacity(body + 32);
        out.extend_from_slice(&size.to_le_bytes());
        for (id, v) in pairs {
            out.extend_from_slice(&((v.len() + 4) as u64).to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(v);
        }
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(MAGIC);
        out
    }
}
