//! The package name and version code from the APK's binary AndroidManifest.xml, so the market
//! signs (and the terminal checks) what the APK really is, not what a reviewer typed.

use super::zip::{read_at, ZipLayout};
use super::ApkError;
use std::io::{Read, Seek};

/// What the manifest says about the app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestInfo {
    /// `package`.
    pub package: String,
    /// `android:versionCode` (with `versionCodeMajor` in the high 32 bits when present).
    pub version_code: u64,
    /// `<uses-sdk android:targetSdkVersion>` when given as a number.
    pub target_sdk: Option<u32>,
    /// `android:targetSandboxVersion` (2 requires scheme v2).
    pub target_sandbox: Option<u32>,
}

const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// Reads AndroidManifest.xml (stored or deflated) and its `<manifest>` attributes.
pub fn read_manifest<R: Read + Seek>(r: &mut R, zip: &ZipLayout) -> Result<ManifestInfo, ApkError> {
    let bad = |s: &str| ApkError::Malformed(format!("AndroidManifest.xml: {s}"));
    let e = zip
        .entries
        .iter()
        .find(|e| e.name == b"AndroidManifest.xml")
        .ok_or_else(|| bad("missing"))?;
    if e.compressed > MAX_MANIFEST || e.uncompressed > MAX_MANIFEST {
        return Err(bad("too large"));
    }
    let raw = read_at(r, e.data_offset, e.compressed as usize)?;
    let xml = match e.method {
        0 => raw,
        8 => {
            // One inflater for every entry (flate2, as the v1 verifier streams them).
            use std::io::Read as _;
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&raw[..])
                .take(MAX_MANIFEST + 1)
                .read_to_end(&mut out)
                .map_err(|_| bad("bad deflate data"))?;
            if out.len() as u64 > MAX_MANIFEST {
                return Err(bad("too large"));
            }
            out
        }
        _ => return Err(bad("unknown compression")),
    };
    parse_axml(&xml).ok_or_else(|| bad("not a binary XML manifest with package and versionCode"))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The string pool's strings.
fn strings(chunk: &[u8]) -> Option<Vec<String>> {
    let count = u32_at(chunk, 8)? as usize;
    let flags = u32_at(chunk, 16)?;
    let strings_start = u32_at(chunk, 20)? as usize;
    let utf8 = flags & 0x100 != 0;
    let mut out = Vec::with_capacity(count.min(4096));
    for i in 0..count.min(65_536) {
        let off = u32_at(chunk, 28 + 4 * i)? as usize;
        let at = strings_start + off;
        if utf8 {
            // utf-16 length (1-2 bytes), utf-8 length (1-2 bytes), bytes
            let mut p = at;
            let skip = |p: &mut usize| -> Option<usize> {
                let b0 = *chunk.get(*p)? as usize;
                *p += 1;
                if b0 & 0x80 != 0 {
                    let b1 = *chunk.get(*p)? as usize;
                    *p += 1;
                    Some(((b0 & 0x7f) << 8) | b1)
                } else {
                    Some(b0)
                }
            };
            skip(&mut p)?;
            let n = skip(&mut p)?;
            out.push(String::from_utf8_lossy(chunk.get(p..p + n)?).into_owned());
        } else {
            let mut n = u16_at(chunk, at)? as usize;
            let mut p = at + 2;
            if n & 0x8000 != 0 {
                n = ((n & 0x7fff) << 16) | u16_at(chunk, p)? as usize;
                p += 2;
            }
            let units: Vec<u16> = (0..n)
                .map(|k| u16_at(chunk, p + 2 * k))
                .collect::<Option<_>>()?;
            out.push(String::from_utf16_lossy(&units));
        }
    }
    Some(out)
}

pub(crate) fn parse_axml(x: &[u8]) -> Option<ManifestInfo> {
    if u16_at(x, 0)? != 0x0003 {
        return None;
    }
    let mut at = u16_at(x, 2)? as usize;
    let mut pool: Vec<String> = Vec::new();
    let mut info: Option<ManifestInfo> = None;
    let mut target = None;
    while at + 8 <= x.len() {
        let kind = u16_at(x, at)?;
        let size = u32_at(x, at + 4)? as usize;
        if size < 8 || at + size > x.len() {
            return None;
        }
        let chunk = &x[at..at + size];
        match kind {
            0x0001 => pool = strings(chunk)?,
            0x0102 => {
                // start element: header(16) | ns(4) name(4) | attrStart(2) attrSize(2) count(2)
                let name = pool.get(u32_at(chunk, 20)? as usize).map(String::as_str);
                let attr_start = u16_at(chunk, 24)? as usize;
                let attr_size = u16_at(chunk, 26)? as usize;
                let count = u16_at(chunk, 28)? as usize;
                let attrs = (0..count).filter_map(|i| {
                    let a = 16 + attr_start + i * attr_size;
                    let an = pool.get(u32_at(chunk, a + 4)? as usize)?.clone();
                    let raw = u32_at(chunk, a + 8)?;
                    let data_type = *chunk.get(a + 15)?;
                    let data = u32_at(chunk, a + 16)?;
                    Some((an, raw, data_type, data))
                });
                let int = |t: u8| (0x10..=0x1f).contains(&t);
                match name {
                    Some("manifest") if info.is_none() => {
                        let (mut package, mut code, mut major) = (None, 0u64, 0u64);
                        let mut sandbox = None;
                        for (an, raw, t, data) in attrs {
                            match an.as_str() {
                                "package" => {
                                    let i = if raw != u32::MAX { raw } else { data };
                                    package = pool.get(i as usize).cloned();
                                }
                                "versionCode" if int(t) => code = data as u64,
                                "versionCodeMajor" if int(t) => major = data as u64,
                                "targetSandboxVersion" if int(t) => sandbox = Some(data),
                                _ => {}
                            }
                        }
                        info = Some(ManifestInfo {
                            package: package?,
                            version_code: (major << 32) | code,
                            target_sdk: None,
                            target_sandbox: sandbox,
                        });
                    }
                    Some("uses-sdk") => {
                        for (an, _, t, data) in attrs {
                            if an == "targetSdkVersion" && int(t) {
                                target = Some(data);
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        at += size;
    }
    info.map(|mut i| {
        i.target_sdk = target;
        i
    })
}
