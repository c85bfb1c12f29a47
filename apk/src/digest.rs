//! The v2/v3 content digest: the file without its signing block, in 1 MiB chunks,
//! `H(0xa5 || u32le(len) || chunk)` each, then `H(0x5a || u32le(count) || digests...)`.
//! Sections: [0, signing block), the central directory, and the EOCD with its central-directory
//! offset replaced by the signing block's offset. Read in large slices and hashed on every core;
//! no whole-file read. Computed once per algorithm and shared by every check.

use super::zip::ZipLayout;
use super::ApkError;
use ring::digest::{Algorithm, Context, SHA256, SHA512};
use std::io::{Read, Seek, SeekFrom};

/// Content-digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkedDigest {
    /// SHA-256 chunks.
    Sha256,
    /// SHA-512 chunks.
    Sha512,
}

impl ChunkedDigest {
    fn algorithm(self) -> &'static Algorithm {
        match self {
            ChunkedDigest::Sha256 => &SHA256,
            ChunkedDigest::Sha512 => &SHA512,
        }
    }
}

const CHUNK: usize = 1024 * 1024;
const SLICE: usize = 16 * CHUNK;

/// Computes the content digests for `algs` in one pass over the file.
pub fn content_digests<R: Read + Seek>(
    r: &mut R,
    zip: &ZipLayout,
    block_offset: u64,
    algs: &[ChunkedDigest],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<(ChunkedDigest, Vec<u8>)>, ApkError> {
    let mut eocd = zip.eocd.clone();
    eocd[16..20].copy_from_slice(&(block_offset as u32).to_le_bytes());
    let sections: [(u64, u64); 2] = [(0, block_offset), (zip.cd_offset, zip.cd_size)];
    let total = block_offset + zip.cd_size + eocd.len() as u64;
    let mut chunk_digests: Vec<Vec<Vec<u8>>> = vec![Vec::new(); algs.len()];
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let mut buf = vec![0u8; SLICE];
    let mut done = 0u64;
    let hash_slice = |data: &[u8], out: &mut Vec<Vec<Vec<u8>>>| {
        let chunks: Vec<&[u8]> = data.chunks(CHUNK).collect();
        for (ai, alg) in algs.iter().enumerate() {
            let per = chunks.len().div_ceil(threads).max(1);
            let digests: Vec<Vec<u8>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunks
                    .chunks(per)
                    .map(|group| {
                        s.spawn(move || {
                            group
                                .iter()
                                .map(|c| {
                                    let mut ctx = Context::new(alg.algorithm());
                                    ctx.update(&[0xa5]);
                                    ctx.update(&(c.len() as u32).to_le_bytes());
                                    ctx.update(c);
                                    ctx.finish().as_ref().to_vec()
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("hashing thread"))
                    .collect()
            });
            out[ai].extend(digests);
        }
    };
    for (start, len) in sections {
        r.seek(SeekFrom::Start(start))?;
        let mut left = len;
        while left > 0 {
            let n = left.min(SLICE as u64) as usize;
            r.read_exact(&mut buf[..n])
                .map_err(|_| ApkError::Zip("file shorter than its layout".into()))?;
            hash_slice(&buf[..n], &mut chunk_digests);
            left -= n as u64;
            done += n as u64;
            progress(done, total);
        }
    }
    hash_slice(&eocd, &mut chunk_digests);
    progress(total, total);
    Ok(algs
        .iter()
        .zip(chunk_digests)
        .map(|(alg, digests)| {
            let mut ctx = Context::new(alg.algorithm());
            ctx.update(&[0x5a]);
            ctx.update(&(digests.len() as u32).to_le_bytes());
            for d in &digests {
                ctx.update(d);
            }
            (*alg, ctx.finish().as_ref().to_vec())
        })
        .collect())
}
