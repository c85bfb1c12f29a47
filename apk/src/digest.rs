//! The v2/v3 content digest: the file without its signing block, in 1 MiB chunks,
//! `H(0xa5 || u32le(len) || chunk)` each, then `H(0x5a || u32le(count) || digests...)`.
//! Sections: [0, signing block), the central directory, and the EOCD with its central-directory
//! offset replaced by the signing block's offset. Each core reads and hashes its own chunks;
//! no whole-file read. Computed once per algorithm and shared by every check.

use super::zip::ZipLayout;
use super::ApkError;
use ring::digest::{Algorithm, Context, SHA256, SHA512};
use std::io::{Read, Seek};

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
/// Chunks hashed between two progress reports.
const BATCH: usize = 48;

/// Where an APK's bytes come from: read in order for its layout, and at offsets by several
/// hashing threads at once for its content digest.
pub trait Source: Read + Seek + Sync {
    /// Fills `buf` from `offset` without moving the read position.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

impl Source for std::fs::File {
    #[cfg(unix)]
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
    #[cfg(windows)]
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(self, buf, offset)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]> + Sync> Source for std::io::Cursor<T> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let data = self.get_ref().as_ref();
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| data.get(o..o.checked_add(buf.len())?))
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

fn chunk_digest(alg: ChunkedDigest, chunk: &[u8]) -> Vec<u8> {
    let mut ctx = Context::new(alg.algorithm());
    ctx.update(&[0xa5]);
    ctx.update(&(chunk.len() as u32).to_le_bytes());
    ctx.update(chunk);
    ctx.finish().as_ref().to_vec()
}

/// Computes the content digests for `algs` in one pass over the file: the chunks are shared
/// out among the cores, each thread reading its own chunks at their offsets and hashing them
/// while the others read (no whole-file read, one 1 MiB buffer a thread).
pub fn content_digests<R: Source>(
    r: &R,
    zip: &ZipLayout,
    block_offset: u64,
    algs: &[ChunkedDigest],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<(ChunkedDigest, Vec<u8>)>, ApkError> {
    let mut eocd = zip.eocd.clone();
    eocd[16..20].copy_from_slice(&(block_offset as u32).to_le_bytes());
    let sections: [(u64, u64); 2] = [(0, block_offset), (zip.cd_offset, zip.cd_size)];
    let total = block_offset + zip.cd_size + eocd.len() as u64;
    // Each section is chunked on its own (a chunk never spans two).
    let chunks: Vec<(u64, usize)> = sections
        .iter()
        .flat_map(|&(start, len)| {
            (0..len.div_ceil(CHUNK as u64)).map(move |i| {
                let at = i * CHUNK as u64;
                (start + at, (len - at).min(CHUNK as u64) as usize)
            })
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let mut chunk_digests: Vec<Vec<Vec<u8>>> =
        vec![Vec::with_capacity(chunks.len() + 1); algs.len()];
    let mut done = 0u64;
    let short = |_| ApkError::Zip("file shorter than its layout".into());
    for batch in chunks.chunks(BATCH) {
        let per = batch.len().div_ceil(threads).max(1);
        let groups: Vec<std::io::Result<Vec<Vec<Vec<u8>>>>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .chunks(per)
                .map(|group| {
                    s.spawn(move || {
                        let mut buf = vec![0u8; CHUNK];
                        let mut out = vec![Vec::with_capacity(group.len()); algs.len()];
                        for &(offset, len) in group {
                            r.read_exact_at(&mut buf[..len], offset)?;
                            for (digests, alg) in out.iter_mut().zip(algs) {
                                digests.push(chunk_digest(*alg, &buf[..len]));
                            }
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("hashing thread"))
                .collect()
        });
        for group in groups {
            for (all, some) in chunk_digests.iter_mut().zip(group.map_err(short)?) {
                all.extend(some);
            }
        }
        done += batch.iter().map(|&(_, len)| len as u64).sum::<u64>();
        progress(done, total);
    }
    for (digests, alg) in chunk_digests.iter_mut().zip(algs) {
        digests.push(chunk_digest(*alg, &eocd));
    }
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
