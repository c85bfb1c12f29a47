//! `smartpos bench --apk`: builds a large APK (a stored random asset; v2+v3 by `apksigner`;
//! market-signed), then measures in one run this verifier (Android signature and market
//! signature), `apksigner verify`, `apkverifier`, and one SHA-256 pass over the file, and prints
//! the ratios; `smartpos apk verify` as a process beside one `openssl dgst -sha256` process and
//! `apksigner verify`; plus the process time of verifying a small APK and the peak memory.

use smartpos_apk::launch::{LaunchBasis, LaunchCheck};
use smartpos_apk::market::{
    certify_market_key, sign_in_place, Grants, MarketSigner, Revocations, TrustStore,
};
use smartpos_apk::Apk;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

type Res<T> = Result<T, crate::cmd::bench::BenchError>;

const KEY: &[u8] = include_bytes!("../../tests/data/apksig-corpus/rsa-2048.pk8");
const CERT: &[u8] = include_bytes!("../../tests/data/apksig-corpus/rsa-2048.x509.pem");
const BASE: &[u8] = include_bytes!("../../tests/data/apksig-corpus/original.apk");
const SMALL: &[u8] = include_bytes!("../../tests/data/apksig-corpus/golden-aligned-v1v2v3-out.apk");

/// Builds an APK with a stored random asset of `mb` MiB, signed v2+v3 by `apksigner` and then by
/// the market key `market` (certified by `root`).
fn signed_apk(
    dir: &Path,
    name: &str,
    mb: usize,
    root: &ed25519_dalek::SigningKey,
    market: &ed25519_dalek::SigningKey,
) -> Res<PathBuf> {
    let (raw, aligned) = (
        dir.join(format!("{name}.raw")),
        dir.join(format!("{name}.apk")),
    );
    build_unsigned(&raw, mb)?;
    run_tool(
        Command::new("zipalign")
            .args(["-p", "-f", "4"])
            .arg(&raw)
            .arg(&aligned),
    )?;
    let (key, cert) = (dir.join("k.pk8"), dir.join("c.pem"));
    std::fs::write(&key, KEY)?;
    std::fs::write(&cert, CERT)?;
    run_tool(
        Command::new("apksigner")
            .args([
                "sign",
                "--v1-signing-enabled",
                "false",
                "--v2-signing-enabled",
                "true",
            ])
            .args(["--v3-signing-enabled", "true", "--key"])
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg(&aligned),
    )?;
    let key_cert = certify_market_key(root, "bench", &market.verifying_key(), 0);
    let signer = MarketSigner {
        key: market,
        key_cert: &key_cert,
        grants: Grants::default(),
        now: 1,
        sdk: 28,
    };
    sign_in_place(&aligned, &signer, &mut |_, _| {})?;
    Ok(aligned)
}

/// Median time of the launch check on an installed APK (the install check ran once before).
fn launch_us(store: &TrustStore, path: &Path) -> Res<f64> {
    let mut check = LaunchCheck::default();
    check.install(store, path, 28, None)?;
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let t = Instant::now();
        let (_, basis) = check.launch(store, path, 28)?;
        times.push(t.elapsed());
        if basis != LaunchBasis::Remembered {
            return Err("the launch check verified an unchanged APK again".into());
        }
    }
    Ok(median(times) * 1000.0)
}

/// The figures.
#[derive(Debug, serde::Serialize)]
pub struct ApkBench {
    /// File size, bytes.
    pub size: u64,
    /// This verifier (Android + market), median ms.
    pub smartpos_ms: f64,
    /// One SHA-256 pass, median ms.
    pub sha256_ms: f64,
    /// `apksigner verify`, median ms (whole process).
    pub apksigner_ms: f64,
    /// `apkverifier`, median ms (whole process).
    pub apkverifier_ms: f64,
    /// Small APK: process CPU time per verification, ms.
    pub small_cpu_ms: f64,
    /// Peak resident memory of this process, KiB.
    pub peak_rss_kib: u64,
    /// Launch check of the installed large APK (install verdict remembered), median µs.
    pub launch_big_us: f64,
    /// Launch check of an installed 1 MiB APK, median µs.
    pub launch_1mib_us: f64,
    /// `smartpos apk verify` as a process (every fleet SDK level), median ms.
    pub process_ms: f64,
    /// `openssl dgst -sha256` as a process, median ms.
    pub openssl_ms: f64,
}

fn need(tool: &str) -> Res<()> {
    match Command::new(tool).arg("--help").output() {
        Ok(_) => Ok(()),
        Err(_) => {
            Err(format!("{tool} is missing: install Debian {tool} (scripts/test.sh does)").into())
        }
    }
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// Writes `base`'s entries (without META-INF) plus a stored random asset of `mb` MiB.
fn build_unsigned(out: &Path, mb: usize) -> Res<()> {
    let base = Apk::new(std::io::Cursor::new(BASE.to_vec()))?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut cd = Vec::new();
    let mut count = 0u16;
    let mut pos = 0u32;
    for e in base
        .zip
        .entries
        .iter()
        .filter(|e| !e.name.starts_with(b"META-INF/"))
    {
        let start = e.local_offset as usize;
        let end = e.end_offset as usize;
        f.write_all(&BASE[start..end])?;
        // central entry: copy from the base's central directory, new offset
        let cd_start = base.zip.cd_offset as usize;
        let cd_bytes = &BASE[cd_start..base.zip.eocd_offset as usize];
        let mut at = 0;
        while at < cd_bytes.len() {
            let n = u16::from_le_bytes([cd_bytes[at + 28], cd_bytes[at + 29]]) as usize;
            let x = u16::from_le_bytes([cd_bytes[at + 30], cd_bytes[at + 31]]) as usize;
            let c = u16::from_le_bytes([cd_bytes[at + 32], cd_bytes[at + 33]]) as usize;
            if &cd_bytes[at + 46..at + 46 + n] == e.name.as_slice() {
                let mut rec = cd_bytes[at..at + 46 + n + x + c].to_vec();
                rec[42..46].copy_from_slice(&pos.to_le_bytes());
                cd.extend(rec);
            }
            at += 46 + n + x + c;
        }
        pos += (end - start) as u32;
        count += 1;
    }
    // the big stored asset
    let name = b"assets/big.bin";
    let size = (mb * 1024 * 1024) as u32;
    let rng = ring::rand::SystemRandom::new();
    let mut data = vec![0u8; 1024 * 1024];
    let mut crc = crc32fast::Hasher::new();
    let local_at = pos;
    let mut header = Vec::new();
    header.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    header.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method 0, time, date
    header.extend_from_slice(&[0; 12]); // crc and sizes, patched below
    header.extend_from_slice(&(name.len() as u16).to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes());
    header.extend_from_slice(name);
    f.write_all(&header)?;
    for _ in 0..mb {
        ring::rand::SecureRandom::fill(&rng, &mut data).map_err(|_| "no randomness")?;
        crc.update(&data);
        f.write_all(&data)?;
    }
    let crc = crc.finalize();
    pos += header.len() as u32 + size;
    let mut rec = Vec::new();
    rec.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    rec.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    rec.extend_from_slice(&crc.to_le_bytes());
    rec.extend_from_slice(&size.to_le_bytes());
    rec.extend_from_slice(&size.to_le_bytes());
    rec.extend_from_slice(&(name.len() as u16).to_le_bytes());
    rec.extend_from_slice(&[0; 12]); // extra, comment, disk, attrs
    rec.extend_from_slice(&local_at.to_le_bytes());
    rec.extend_from_slice(name);
    cd.extend(rec);
    count += 1;
    f.write_all(&cd)?;
    let mut eocd = Vec::new();
    eocd.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    eocd.extend_from_slice(&[0; 4]);
    eocd.extend_from_slice(&count.to_le_bytes());
    eocd.extend_from_slice(&count.to_le_bytes());
    eocd.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    eocd.extend_from_slice(&pos.to_le_bytes());
    eocd.extend_from_slice(&[0, 0]);
    f.write_all(&eocd)?;
    let mut f = f.into_inner().map_err(|e| e.to_string())?;
    // patch the local header's CRC and sizes
    f.seek(SeekFrom::Start(local_at as u64 + 14))?;
    f.write_all(&crc.to_le_bytes())?;
    f.write_all(&size.to_le_bytes())?;
    f.write_all(&size.to_le_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn run_tool(cmd: &mut Command) -> Res<Duration> {
    let t = Instant::now();
    let out = cmd.output()?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(took)
}

fn sha256_pass(path: &Path) -> Res<Duration> {
    let t = Instant::now();
    let mut f = std::fs::File::open(path)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    std::hint::black_box(ctx.finish());
    Ok(t.elapsed())
}

fn cpu_time() -> Duration {
    // utime + stime of this process, from /proc (Linux)
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ = 100
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Builds the APK and measures. `mb` is the asset size in MiB; `smartpos` is the binary timed
/// as a process (`smartpos apk verify`).
pub fn run(mb: usize, rounds: usize, smartpos: &Path) -> Res<ApkBench> {
    for t in ["apksigner", "apkverifier", "zipalign", "openssl"] {
        need(t)?;
    }
    let dir = tempfile::tempdir()?;
    let root = ed25519_dalek::SigningKey::from_bytes(&[11; 32]);
    let market = ed25519_dalek::SigningKey::from_bytes(&[12; 32]);
    eprintln!("building a {mb} MiB APK ...");
    let aligned = signed_apk(dir.path(), "big", mb, &root, &market)?;
    let one_mib = signed_apk(dir.path(), "one", 1, &root, &market)?;
    let store = TrustStore {
        root: root.verifying_key(),
        revocations: Revocations::default(),
    };
    let launch_big_us = launch_us(&store, &aligned)?;
    let launch_1mib_us = launch_us(&store, &one_mib)?;
    let size = std::fs::metadata(&aligned)?.len();
    let (mut ours, mut sha, mut signer_t, mut verifier_t) = (vec![], vec![], vec![], vec![]);
    let (mut process, mut openssl) = (vec![], vec![]);
    for _ in 0..rounds.max(1) {
        process.push(run_tool(
            Command::new(smartpos).args(["apk", "verify"]).arg(&aligned),
        )?);
        openssl.push(run_tool(
            Command::new("openssl")
                .args(["dgst", "-sha256"])
                .arg(&aligned),
        )?);
        let t = Instant::now();
        store.check(&aligned, 28, None, &mut |_, _| {})?;
        ours.push(t.elapsed());
        sha.push(sha256_pass(&aligned)?);
        signer_t.push(run_tool(
            Command::new("apksigner")
                .args(["verify", "--min-sdk-version", "24"])
                .arg(&aligned),
        )?);
        let t = Instant::now();
        let out = Command::new("apkverifier").arg(&aligned).output()?;
        verifier_t.push(t.elapsed());
        // apkverifier exits 0 even on failure: read what it says
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        if text.contains("fail") || text.contains("error") {
            return Err(format!("apkverifier did not verify the APK: {text}").into());
        }
    }
    // small APK: process CPU time per verification
    let small: PathBuf = dir.path().join("small.apk");
    std::fs::write(&small, SMALL)?;
    let n = 200;
    let c0 = cpu_time();
    for _ in 0..n {
        Apk::open(&small)?.verify(28)?;
    }
    let small_cpu_ms = (cpu_time() - c0).as_secs_f64() * 1000.0 / n as f64;
    Ok(ApkBench {
        size,
        smartpos_ms: median(ours),
        sha256_ms: median(sha),
        apksigner_ms: median(signer_t),
        apkverifier_ms: median(verifier_t),
        small_cpu_ms,
        peak_rss_kib: peak_rss_kib(),
        launch_big_us,
        launch_1mib_us,
        process_ms: median(process),
        openssl_ms: median(openssl),
    })
}
