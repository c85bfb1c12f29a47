//! `smartpos bench`: what a sale costs. Three measurements in one run:
//! the engine alone (sans-IO, in-memory host and journal: the core's CPU per sale), a journal
//! commit with full fsync, and an end-to-end sale against the loopback HTTPS simulator with
//! instant simulated drivers.

use smartpos_core::card::EntryMode;
use smartpos_core::crypto::DesKey;
use smartpos_core::engine::{
    Action, Engine, EngineConfig, Event, Finished, JournalWrite, TxnStart,
};
use smartpos_core::hal::{CardReader, PinPad};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Outcome, PaymentRequest, TransactionType};
use smartpos_core::profile::AcquirerProfile;
use smartpos_terminal::journal::Journal;
use smartpos_terminal::transport::HostLink;
use smartpos_terminal::Terminal;
use smartpos_testing::acquirer::{cards, Acquirer, TEST_TMK_HEX};
use smartpos_testing::server::{self, SimConfig};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::time::{Duration, Instant};

/// Median and 99th percentile of a sample.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Percentiles {
    /// Median, microseconds.
    pub median_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
}

fn percentiles(mut v: Vec<Duration>) -> Percentiles {
    v.sort();
    let at = |q: usize| v[(v.len() * q / 100).min(v.len() - 1)].as_secs_f64() * 1e6;
    Percentiles {
        median_us: at(50),
        p99_us: at(99),
    }
}

/// The bench's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// Sales measured per part.
    pub sales: usize,
    /// Engine alone per sale (in-memory host and journal; includes the simulated host's own work).
    pub engine_sale: Percentiles,
    /// One journal commit (WAL, synchronous=FULL).
    pub journal_commit: Percentiles,
    /// Journal commits per sale.
    pub commits_per_sale: u32,
    /// fsync-family system calls per end-to-end sale, counted by `strace` (journal, anchor,
    /// everything the process does); `None` when they could not be counted.
    pub fsyncs_per_sale: Option<f64>,
    /// Why fsyncs were not counted.
    pub fsyncs_not_counted: Option<String>,
    /// End-to-end sale over loopback HTTPS.
    pub e2e_sale: Percentiles,
}

fn scripted(n: usize) -> (SimCardReader, SimPinPad) {
    let card = &cards::standard_cards()[0];
    let reader = SimCardReader::new((0..n).map(|_| CardScript::Card {
        track2: cards::track2(card),
        entry_mode: EntryMode::MagStripe,
    }));
    let pad = SimPinPad::new(
        DesKey::from_hex(TEST_TMK_HEX).expect("valid"),
        (0..n).map(|_| PinScript::Pin(card.pin.clone())),
    );
    (reader, pad)
}

fn drive_in_memory(
    engine: &mut Engine,
    acq: &mut Acquirer,
    reader: &SimCardReader,
    pad: &SimPinPad,
    mut a: Action,
) -> Finished {
    let now = crate::demo::cst_now();
    loop {
        let ev = match a {
            Action::Finish(f) => return f,
            Action::ReadCard { start, timeout } => {
                Event::CardRead(reader.start_transaction(&start, timeout))
            }
            Action::CompleteOnCard { answer, timeout } => {
                Event::CardCompleted(reader.complete_online(&answer, timeout))
            }
            Action::OnlinePin {
                pan,
                amount,
                timeout,
            } => Event::PinEntered(pad.online_pin(&pan, &amount, timeout)),
            Action::LoadWorkingKeys(k) => Event::KeysLoaded(pad.load_working_keys(&k)),
            Action::ComputeMac(d) => Event::MacComputed(pad.mac(&d)),
            Action::Persist(_) => Event::Persisted(Ok(())),
            Action::SendToHost { frame, .. } => {
                Event::HostAnswered(Ok(acq.handle(&frame, now).expect("well-formed")))
            }
        };
        a = engine.handle(ev).expect("engine accepts its own answers");
    }
}

/// Runs the three measurements with `n` sales each.
pub async fn run(n: usize) -> Result<BenchReport, crate::cmd::bench::BenchError> {
    let n = n.max(10);
    let amount = Money::from_minor(1234, Currency::CNY)?;

    // 1. The engine alone.
    let mut engine = Engine::new(EngineConfig::demo(), 1, 1);
    let mut acq = Acquirer::new(AcquirerProfile::cup_default());
    let (reader, pad) = scripted(n);
    let first = engine.start_sign_in(crate::demo::cst_now())?;
    drive_in_memory(&mut engine, &mut acq, &reader, &pad, first);
    let mut engine_times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let first = engine.start_sale(
            PaymentRequest::sale("bench", &format!("E-{i}"), amount),
            crate::demo::cst_now(),
        )?;
        match drive_in_memory(&mut engine, &mut acq, &reader, &pad, first) {
            Finished::Payment(r) if r.outcome == Outcome::Approved => {}
            other => return Err(format!("engine bench sale not approved: {other:?}").into()),
        }
        engine_times.push(t.elapsed());
    }

    // 2. Journal commits with full fsync, as a sale makes them.
    let dir = tempfile::tempdir()?;
    let mut journal = Journal::open(&dir.path().join("bench.db"))?;
    let mut commit_times = Vec::with_capacity(3 * n);
    for i in 0..n as u32 {
        let trace = i + 1;
        // What a sale writes before its request leaves: one commit.
        let writes = [JournalWrite::Sending {
            start: TxnStart {
                caller: "bench".into(),
                order_id: format!("J-{i}"),
                kind: TransactionType::Sale,
                amount,
                trace,
                batch: 1,
                time: crate::demo::cst_now(),
            },
            masked_pan: "622202*********0123".into(),
            reversal: Some(vec![0u8; 90]),
        }];
        for w in &writes {
            let t = Instant::now();
            journal.apply(w)?;
            commit_times.push(t.elapsed());
        }
    }

    // 3. End to end over loopback HTTPS.
    let e2e = e2e_sales(n, amount).await?;
    // 4. fsyncs per sale, counted by the kernel: this binary's e2e sales under strace.
    let fsyncs = fsyncs_per_sale(n.min(50));
    Ok(BenchReport {
        sales: n,
        engine_sale: percentiles(engine_times),
        journal_commit: percentiles(commit_times),
        // Sending (recorded with its armed reversal) and Outcome; the bench times the first.
        commits_per_sale: 2,
        fsyncs_per_sale: fsyncs.as_ref().ok().copied(),
        fsyncs_not_counted: fsyncs.err(),
        e2e_sale: percentiles(e2e),
    })
}

/// `n` approved sales end to end against an in-process simulator over loopback HTTPS (a fresh
/// journal; sign-in not timed).
pub async fn e2e_sales(
    n: usize,
    amount: Money,
) -> Result<Vec<Duration>, crate::cmd::bench::BenchError> {
    let host = server::start(SimConfig::ephemeral()).await?;
    let tdir = tempfile::tempdir()?;
    let (reader, pad) = scripted(n);
    let mut terminal = Terminal::new(
        EngineConfig::demo(),
        Journal::open(&tdir.path().join("journal.db"))?,
        HostLink::new(&host.url, host.ca_pem.as_bytes())?,
        Box::new(reader),
        Box::new(pad),
        Box::new(crate::demo::cst_now),
    )?;
    terminal.sign_in().await?;
    let mut e2e = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let r = terminal
            .sale(PaymentRequest::sale("bench", &format!("X-{i}"), amount))
            .await?;
        e2e.push(t.elapsed());
        if r.outcome != Outcome::Approved {
            return Err(format!("end-to-end bench sale not approved: {:?}", r.outcome).into());
        }
    }
    host.shutdown().await;
    Ok(e2e)
}

/// The system calls that force data to storage.
const SYNC_CALLS: &str = "fsync,fdatasync,sync_file_range,syncfs,sync,msync";

/// fsync-family system calls of one `smartpos bench --fsync-probe N` process (all threads:
/// terminal, journal, in-process simulator), counted by `strace -f -c`.
fn traced_syncs(n: usize) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own binary: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("strace.txt");
    let run = std::process::Command::new("strace")
        .args(["-f", "-c", "-e"])
        .arg(format!("trace={SYNC_CALLS}"))
        .arg("-o")
        .arg(&out)
        .arg(&exe)
        .args(["bench", "--fsync-probe", "--sales", &n.to_string()])
        .output()
        .map_err(|e| format!("strace could not run ({e}); Debian: apt-get install strace"))?;
    if !run.status.success() {
        return Err(format!(
            "strace {} failed: {}",
            exe.display(),
            String::from_utf8_lossy(&run.stderr).trim()
        ));
    }
    let summary = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    // "% time seconds usecs/call calls errors syscall" rows; the calls column of each sync call.
    Ok(summary
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let name = *cols.last()?;
            SYNC_CALLS
                .split(',')
                .any(|c| c == name)
                .then(|| cols.get(3)?.parse::<u64>().ok())
                .flatten()
        })
        .sum())
}

/// fsyncs per end-to-end sale: the traced count of `2n` sales less that of `n` (set-up and
/// sign-in cancel out), over `n`.
pub fn fsyncs_per_sale(n: usize) -> Result<f64, String> {
    let n = n.max(5);
    let one = traced_syncs(n)?;
    let two = traced_syncs(2 * n)?;
    Ok(two.saturating_sub(one) as f64 / n as f64)
}

/// Runs `f` a tenth of `n` times to warm up, then `n` times timed; returns runs per second.
fn per_second<E>(n: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    for _ in 0..n / 10 {
        f()?;
    }
    let t = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// `smartpos bench --codec`: encode + decode pairs of CUP sale frames, ours and pyiso8583's
/// (same frames, the independent spec in `tests/python/cup_spec.py`), in one run.
///
/// A **pair** is one frame encoded and then decoded. Each timed iteration is one sale
/// exchange, its request (0200, 18 fields) and its response (0210, 17 fields), so two pairs;
/// the `*_pairs_per_sec` figures count pairs, `smartpos_lazy_exchanges_per_sec` exchanges.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CodecReport {
    /// Sale exchanges timed for smartpos (each two pairs).
    pub exchanges: usize,
    /// smartpos: encode+decode pairs per second, one core, a new buffer for every frame.
    pub smartpos_pairs_per_sec: f64,
    /// smartpos with buffers reused across pairs (`encode_into` / `decode_into`), as a
    /// long-running terminal or host would.
    pub smartpos_reused_pairs_per_sec: f64,
    /// smartpos decoding without copying ([`FrameView`](smartpos_core::iso8583::FrameView):
    /// every field checked, a field unpacked only when read; the trace, terminal, response code
    /// and MAC are read), encoding into reused buffers.
    pub smartpos_lazy_pairs_per_sec: f64,
    /// The same as sale exchanges (request and response each encoded and decoded) a second.
    pub smartpos_lazy_exchanges_per_sec: f64,
    /// pyiso8583: pairs per second in the same run.
    pub pyiso8583_pairs_per_sec: f64,
    /// pyiso8583's version.
    pub pyiso8583_version: String,
    /// smartpos (copying, new buffers) / pyiso8583.
    pub ratio: f64,
}

/// What the codec bench's peer needs: a Python with `pyiso8583`.
#[derive(Debug, thiserror::Error)]
pub enum CodecBenchError {
    /// The Python interpreter could not run.
    #[error("could not run {python}: {source} (set --python or SMARTPOS_PYTHON; scripts/test.sh builds .cache/venv)")]
    Python {
        /// Interpreter tried.
        python: String,
        /// Why.
        source: std::io::Error,
    },
    /// The peer failed (for example pyiso8583 is not installed).
    #[error("pyiso8583 peer failed: {0} (pip install pyiso8583, or run scripts/test.sh once for .cache/venv)")]
    Peer(String),
    /// Our own codec failed on the reference frames.
    #[error("codec: {0}")]
    Codec(String),
}

/// The codec's peer script, written out beside its spec so the binary needs no checkout.
const PEER_SCRIPT: &str = include_str!("../../tests/python/bench_pyiso8583.py");
const PEER_SPEC: &str = include_str!("../../tests/python/cup_spec.py");

/// The Python used for the peer: `SMARTPOS_PYTHON`, else `.cache/venv/bin/python` when it
/// exists, else `python3`.
pub fn default_python() -> String {
    if let Ok(p) = std::env::var("SMARTPOS_PYTHON") {
        return p;
    }
    let venv = std::path::Path::new(".cache/venv/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".into()
}

/// Runs both codecs over the reference sale exchange, `pairs` / 2 times (at least 500).
pub fn codec(pairs: usize, python: &str) -> Result<CodecReport, CodecBenchError> {
    use smartpos_core::iso8583::{samples, Frame, FrameView, CUP_FIELDS};
    use std::hint::black_box;
    // Each iteration is an exchange: two pairs.
    let pairs = (pairs / 2).max(500);
    let (req, resp) = samples::sale_pair();
    let enc = |f: &Frame| {
        f.encode(&CUP_FIELDS)
            .map_err(|e| CodecBenchError::Codec(e.to_string()))
    };
    let (a, z) = (enc(&req)?, enc(&resp)?);
    let one = || -> Result<(), CodecBenchError> {
        let a = enc(black_box(&req))?;
        let z = enc(black_box(&resp))?;
        let dec = |b: &[u8]| {
            Frame::decode(b, &CUP_FIELDS).map_err(|e| CodecBenchError::Codec(e.to_string()))
        };
        black_box((dec(&a)?, dec(&z)?));
        Ok(())
    };
    let ours = per_second(pairs, one)?;
    // the same work with buffers reused
    let (mut abuf, mut zbuf) = (Vec::with_capacity(256), Vec::with_capacity(256));
    let (mut fa, mut fz) = (req.clone(), resp.clone());
    let codec = |e: String| CodecBenchError::Codec(e);
    let reused = || -> Result<(), CodecBenchError> {
        black_box(&req)
            .encode_into(&CUP_FIELDS, &mut abuf)
            .map_err(|e| codec(e.to_string()))?;
        black_box(&resp)
            .encode_into(&CUP_FIELDS, &mut zbuf)
            .map_err(|e| codec(e.to_string()))?;
        fa.decode_into(black_box(&abuf), &CUP_FIELDS)
            .map_err(|e| codec(e.to_string()))?;
        fz.decode_into(black_box(&zbuf), &CUP_FIELDS)
            .map_err(|e| codec(e.to_string()))?;
        black_box((&fa, &fz));
        Ok(())
    };
    let ours_reused = per_second(pairs, reused)?;
    if fa != req || fz != resp {
        return Err(CodecBenchError::Codec("reused decode differs".into()));
    }
    // Decoding without copying: every field checked, fields unpacked only when read (a
    // terminal reads the answer's trace, code and MAC; a host the request's trace and terminal).
    let mut digits = Vec::with_capacity(32);
    let lazy = || -> Result<(), CodecBenchError> {
        black_box(&req)
            .encode_into(&CUP_FIELDS, &mut abuf)
            .map_err(|e| codec(e.to_string()))?;
        black_box(&resp)
            .encode_into(&CUP_FIELDS, &mut zbuf)
            .map_err(|e| codec(e.to_string()))?;
        let va =
            FrameView::decode(black_box(&abuf), &CUP_FIELDS).map_err(|e| codec(e.to_string()))?;
        let vz =
            FrameView::decode(black_box(&zbuf), &CUP_FIELDS).map_err(|e| codec(e.to_string()))?;
        digits.clear();
        va.message.read_into(11, &mut digits);
        vz.message.read_into(11, &mut digits);
        black_box((
            &digits,
            va.message.raw(41),
            vz.message.raw(39),
            vz.message.raw(64),
        ));
        Ok(())
    };
    let ours_lazy = per_second(pairs, lazy)?;
    if digits != b"000123000123" {
        return Err(CodecBenchError::Codec(format!(
            "lazy decode read {:?}",
            String::from_utf8_lossy(&digits)
        )));
    }

    let dir = tempfile::tempdir().map_err(|e| CodecBenchError::Peer(e.to_string()))?;
    for (name, text) in [
        ("bench_pyiso8583.py", PEER_SCRIPT),
        ("cup_spec.py", PEER_SPEC),
    ] {
        std::fs::write(dir.path().join(name), text)
            .map_err(|e| CodecBenchError::Peer(e.to_string()))?;
    }
    // Python is ~2 orders of magnitude slower: a tenth of the pairs keeps the run short.
    let peer_pairs = (pairs / 20).max(500);
    let out = std::process::Command::new(python)
        .arg(dir.path().join("bench_pyiso8583.py"))
        .arg(peer_pairs.to_string())
        .arg(hex::encode(&a))
        .arg(hex::encode(&z))
        .output()
        .map_err(|source| CodecBenchError::Python {
            python: python.into(),
            source,
        })?;
    if !out.status.success() {
        return Err(CodecBenchError::Peer(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| CodecBenchError::Peer(format!("unreadable peer output: {e}")))?;
    if let Some(err) = v.get("error") {
        return Err(CodecBenchError::Peer(err.to_string()));
    }
    let peer = v["pairs_per_sec"]
        .as_f64()
        .ok_or_else(|| CodecBenchError::Peer("no pairs_per_sec".into()))?;
    // Every rate above counts exchanges (request and response): two pairs each.
    Ok(CodecReport {
        exchanges: pairs,
        smartpos_pairs_per_sec: 2.0 * ours,
        smartpos_reused_pairs_per_sec: 2.0 * ours_reused,
        smartpos_lazy_pairs_per_sec: 2.0 * ours_lazy,
        smartpos_lazy_exchanges_per_sec: ours_lazy,
        pyiso8583_pairs_per_sec: 2.0 * peer,
        pyiso8583_version: v["pyiso8583"].as_str().unwrap_or("unknown").into(),
        ratio: ours / peer,
    })
}
