//! `smartpos load`: many simulated terminals against a CUP host front, to measure what it holds.
//!
//! Each terminal is the real sans-IO engine (its own terminal id, trace and batch counters, and
//! working keys from its own sign-in under the test master key) with a simulated card reader and
//! PIN pad; only the journal is left out (a load run proves the host, not the terminal's disk).
//! Messages are real CUP 0200/0210 with MACs, over HTTPS with the host's CA pinned. The run is
//! open loop at `--rate` (new transactions on a clock, whether or not earlier ones answered) or
//! closed loop at maximum (each terminal starts its next transaction when the last one ends),
//! and stops at `--duration` or `--count`, whichever comes first.

use hdrhistogram::Histogram;
use smartpos_core::engine::{Action, Engine, EngineConfig, Event, Finished};
use smartpos_core::money::{Currency, Money};
use smartpos_core::payment::{Declined, Outcome, PaymentRequest, PaymentResult, TransactionType};
use smartpos_terminal::transport::HostLink;
use smartpos_testing::acquirer::{cards, TEST_TMK_HEX};
use smartpos_testing::sim::{CardScript, PinScript, SimCardReader, SimPinPad};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

crate::family_error!(
    /// Why `smartpos load` failed.
    LoadError {}
);

/// The first terminal id of a load run (`smartpos host-sim --load-terminals N` knows
/// `FIRST_TERMINAL_ID` to `FIRST_TERMINAL_ID + N - 1`).
pub const FIRST_TERMINAL_ID: u32 = 20_000_001;

/// Drive a CUP host with many simulated terminals and report what it held.
#[derive(clap::Args)]
pub struct Args {
    /// The host's URL (`https://...`). Loopback only, unless `--allow-remote`.
    #[arg(long)]
    host: String,
    /// The CA the host's certificate must chain to (PEM).
    #[arg(long)]
    ca: PathBuf,
    /// Simulated terminals (ids from 20000001; `host-sim --load-terminals N` knows them).
    #[arg(long, default_value_t = 1000)]
    terminals: u32,
    /// Target rate in transactions per second (open loop); none: as fast as the terminals go.
    #[arg(long)]
    rate: Option<u32>,
    /// Stop starting transactions after this long (`60s`, `500ms`, or seconds).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Stop after this many transactions.
    #[arg(long)]
    count: Option<u64>,
    /// The mix of transaction types in percent, e.g. `sale=90,balance=10`.
    #[arg(long, default_value = "sale=100")]
    mix: String,
    /// Also measure a bare TLS + HTTP echo on this machine with the same load: the ceiling.
    #[arg(long)]
    ceiling: bool,
    /// The host's settlement file to check approved sales against (default: the host
    /// simulator's `/settlement`).
    #[arg(long)]
    settlement: Option<PathBuf>,
    /// Allow a host that is not on this machine (a bank's front).
    #[arg(long)]
    allow_remote: bool,
    /// JSON report.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = n.parse().map_err(|_| format!("'{s}' is not a duration"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("'{s}': use s, ms or m")),
    }
}

/// The transaction types a run mixes.
fn parse_mix(s: &str) -> Result<Vec<(TransactionType, u32)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (name, pct) = part
            .split_once('=')
            .ok_or_else(|| format!("mix entry '{part}': use type=percent"))?;
        let kind = match name.trim() {
            "sale" => TransactionType::Sale,
            "balance" => TransactionType::Balance,
            other => return Err(format!("mix: '{other}' is not supported (sale, balance)")),
        };
        let pct: u32 = pct
            .trim()
            .parse()
            .map_err(|_| format!("mix entry '{part}': the percent is not a number"))?;
        out.push((kind, pct));
    }
    if out.iter().map(|(_, p)| p).sum::<u32>() != 100 {
        return Err(format!("mix '{s}' does not add up to 100"));
    }
    Ok(out)
}

fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("https://").unwrap_or(url);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]") || host.starts_with("127.")
}

/// One simulated terminal.
struct VTerminal {
    engine: Engine,
    reader: SimCardReader,
    pad: SimPinPad,
    card: usize,
}

/// What the run saw.
#[derive(Default)]
struct Tally {
    started: u64,
    approved: u64,
    declined_by_code: BTreeMap<String, u64>,
    declined_other: u64,
    unknown: u64,
    reversed: u64,
    mac_failures: u64,
    timeouts: u64,
    skipped_busy: u64,
    /// (terminal id, batch, trace) -> amount of each approved sale.
    approved_sales: BTreeMap<(String, u32, u32), u64>,
}

impl Tally {
    fn record(&mut self, r: &PaymentResult) {
        match &r.outcome {
            Outcome::Approved => {
                self.approved += 1;
                if r.kind == TransactionType::Sale {
                    self.approved_sales
                        .insert((r.terminal_id.clone(), r.batch, r.trace), r.amount.minor());
                }
            }
            Outcome::Declined(Declined::Host { code, .. }) => {
                *self.declined_by_code.entry(code.clone()).or_default() += 1
            }
            Outcome::Declined(Declined::Reversed) => self.reversed += 1,
            Outcome::Declined(_) => self.declined_other += 1,
            Outcome::Unknown { reason } => {
                self.unknown += 1;
                match reason {
                    smartpos_core::payment::UnknownReason::BadResponseMac => self.mac_failures += 1,
                    smartpos_core::payment::UnknownReason::NoResponse => self.timeouts += 1,
                    _ => {}
                }
            }
        }
    }
}

struct Shared {
    link: HostLink,
    latency: Mutex<Histogram<u64>>,
    tally: Mutex<Tally>,
}

fn local_now() -> smartpos_core::time::LocalTime {
    crate::demo::cst_now()
}

/// Performs the engine's actions until it finishes.
async fn drive(t: &mut VTerminal, link: &HostLink, mut a: Action) -> Result<Finished, String> {
    loop {
        let ev = match a {
            Action::Finish(f) => return Ok(f),
            Action::ReadCard { start, timeout } => {
                use smartpos_core::hal::CardReader as _;
                Event::CardRead(t.reader.start_transaction(&start, timeout))
            }
            Action::CompleteOnCard { answer, timeout } => {
                use smartpos_core::hal::CardReader as _;
                Event::CardCompleted(t.reader.complete_online(&answer, timeout))
            }
            Action::OnlinePin {
                pan,
                amount,
                timeout,
            } => {
                use smartpos_core::hal::PinPad as _;
                Event::PinEntered(t.pad.online_pin(&pan, &amount, timeout))
            }
            Action::LoadWorkingKeys(k) => {
                use smartpos_core::hal::PinPad as _;
                Event::KeysLoaded(t.pad.load_working_keys(&k))
            }
            Action::ComputeMac(d) => {
                use smartpos_core::hal::PinPad as _;
                Event::MacComputed(t.pad.mac(&d))
            }
            Action::Persist(_) => Event::Persisted(Ok(())),
            Action::SendToHost { frame, timeout, .. } => {
                Event::HostAnswered(link.exchange(frame, timeout).await)
            }
        };
        a = t.engine.handle(ev).map_err(|e| e.to_string())?;
    }
}

fn terminal(index: u32, next_trace: u32) -> VTerminal {
    let mut config = EngineConfig::demo();
    config.identity.terminal_id = format!("{:08}", FIRST_TERMINAL_ID + index);
    config.host_timeout = Duration::from_secs(10);
    let master =
        smartpos_core::crypto::CipherKey::from_hex(config.profile.key_algorithm, TEST_TMK_HEX)
            .expect("the test master key is valid");
    VTerminal {
        engine: Engine::new(config, next_trace, 1),
        reader: SimCardReader::new([]),
        pad: SimPinPad::new(master, []),
        card: index as usize,
    }
}

async fn sign_in(mut t: VTerminal, link: HostLink) -> Result<VTerminal, String> {
    let first = t
        .engine
        .start_sign_in(local_now())
        .map_err(|e| e.to_string())?;
    match drive(&mut t, &link, first).await? {
        Finished::SignedIn { .. } => Ok(t),
        other => Err(format!(
            "terminal {} did not sign in: {other:?}",
            t.engine.config().identity.terminal_id
        )),
    }
}

/// One transaction on `t`; its latency and outcome go into `shared`.
async fn transact(t: &mut VTerminal, kind: TransactionType, shared: &Shared) {
    let approving = [0usize, 1];
    let card = &cards::standard_cards()[approving[t.card % 2]];
    t.card += 1;
    t.reader.push(CardScript::Card {
        track2: cards::track2(card),
        entry_mode: smartpos_core::card::EntryMode::MagStripe,
    });
    t.pad.push(PinScript::Pin(card.pin.clone()));
    let amount = match kind {
        TransactionType::Balance => Money::zero(Currency::CNY),
        _ => Money::from_minor(1, Currency::CNY).expect("one fen"),
    };
    let request = PaymentRequest {
        caller: "smartpos-load".into(),
        order_id: format!("L{}", t.engine.next_trace()),
        kind,
        amount,
        original: None,
    };
    let start = Instant::now();
    let finished = match t.engine.start_sale(request, local_now()) {
        Ok(first) => drive(t, &shared.link, first).await,
        Err(e) => Err(e.to_string()),
    };
    let micros = start.elapsed().as_micros().min(u64::MAX as u128) as u64;
    let _ = shared
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .record(micros.max(1));
    let mut tally = shared.tally.lock().unwrap_or_else(|p| p.into_inner());
    match finished {
        Ok(Finished::Payment(r)) => tally.record(&r),
        _ => tally.declined_other += 1,
    }
}

/// Which type the n-th transaction is: every 100 consecutive ones follow the mix exactly, and
/// the types interleave (slot 37·n mod 100) rather than come in runs.
fn kind_at(mix: &[(TransactionType, u32)], n: u64) -> TransactionType {
    let slot = ((n % 100) * 37 % 100) as u32;
    let mut acc = 0;
    for (k, p) in mix {
        acc += p;
        if slot < acc {
            return *k;
        }
    }
    mix.last().map(|(k, _)| *k).unwrap_or(TransactionType::Sale)
}

/// Runs the load: returns the achieved rate and the wall time.
async fn run_load(
    terminals: Vec<VTerminal>,
    shared: Arc<Shared>,
    mix: Arc<Vec<(TransactionType, u32)>>,
    rate: Option<u32>,
    duration: Duration,
    count: Option<u64>,
    progress: bool,
) -> Duration {
    let start = Instant::now();
    let limit = count.unwrap_or(u64::MAX);
    let (idle_tx, mut idle_rx) = tokio::sync::mpsc::unbounded_channel::<VTerminal>();
    for t in terminals {
        let _ = idle_tx.send(t);
    }
    let mut started: u64 = 0;
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_progress = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while start.elapsed() < duration && started < limit {
        let due = match rate {
            Some(r) => ((start.elapsed().as_secs_f64() * r as f64) as u64).min(limit),
            None => limit,
        };
        while started < due {
            let next = match rate {
                // Open loop: a transaction is due; with no terminal free it is skipped (counted).
                Some(_) => idle_rx.try_recv().ok(),
                // Closed loop: wait for the next free terminal.
                None => tokio::select! {
                    t = idle_rx.recv() => t,
                    _ = tokio::time::sleep(duration.saturating_sub(start.elapsed())) => None,
                },
            };
            let Some(mut t) = next else {
                if rate.is_none() {
                    break; // the run's time is up
                }
                started += 1;
                shared
                    .tally
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .skipped_busy += 1;
                continue;
            };
            let n = started;
            started += 1;
            let (shared, mix, idle) = (Arc::clone(&shared), Arc::clone(&mix), idle_tx.clone());
            tasks.spawn(async move {
                transact(&mut t, kind_at(&mix, n), &shared).await;
                let _ = idle.send(t);
            });
            if rate.is_none() && start.elapsed() >= duration {
                break;
            }
        }
        while tasks.try_join_next().is_some() {}
        if progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let h = shared.latency.lock().unwrap_or_else(|p| p.into_inner());
            let t = shared.tally.lock().unwrap_or_else(|p| p.into_inner());
            eprint!(
                "\r{:>5.1}s  {:>8.0} TPS  p99 {:>7.2} ms  errors {}   ",
                start.elapsed().as_secs_f64(),
                h.len() as f64 / start.elapsed().as_secs_f64(),
                h.value_at_quantile(0.99) as f64 / 1000.0,
                t.unknown + t.declined_other + t.skipped_busy
            );
        }
        tick.tick().await;
    }
    shared
        .tally
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .started = started;
    while tasks.join_next().await.is_some() {}
    if progress {
        eprintln!();
    }
    start.elapsed()
}

/// The echo ceiling: raw frames of a sale's size against the bare TLS + HTTP echo.
async fn ceiling(
    concurrency: u32,
    rate: Option<u32>,
    duration: Duration,
    count: Option<u64>,
) -> Result<f64, LoadError> {
    let echo = smartpos_testing::server::start_echo()
        .await
        .map_err(|e| format!("echo: {e}"))?;
    let link = HostLink::new(&echo.url, echo.ca_pem.as_bytes()).map_err(|e| e.to_string())?;
    let frame = vec![0x60u8; 180];
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let limit = count.unwrap_or(u64::MAX);
    let mut tasks = tokio::task::JoinSet::new();
    let per_worker = rate.map(|r| (r as f64 / concurrency.max(1) as f64).max(0.001));
    for _ in 0..concurrency.max(1) {
        let (link, frame, done) = (link.clone(), frame.clone(), Arc::clone(&done));
        tasks.spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < duration
                && done.load(std::sync::atomic::Ordering::Relaxed) < limit
            {
                if let Some(r) = per_worker {
                    let due = Duration::from_secs_f64(n as f64 / r);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                n += 1;
                if link
                    .exchange(frame.clone(), Duration::from_secs(10))
                    .await
                    .is_ok()
                {
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    echo.shutdown().await;
    Ok(done.load(std::sync::atomic::Ordering::Relaxed) as f64 / secs)
}

/// Runs `smartpos load`.
pub async fn run(args: Args) -> Result<ExitCode, LoadError> {
    if !args.allow_remote && !is_loopback(&args.host) {
        return Err(format!(
            "{} is not on this machine: a load run against another host needs --allow-remote",
            args.host
        )
        .into());
    }
    if args.terminals == 0 {
        return Err("--terminals must be at least 1".to_string().into());
    }
    let mix = Arc::new(parse_mix(&args.mix)?);
    let ca = std::fs::read(&args.ca)
        .map_err(|e| format!("cannot read the CA {}: {e}", args.ca.display()))?;
    let link = HostLink::new(&args.host, &ca).map_err(|e| e.to_string())?;

    // What the host already has for these terminals: each terminal continues after its last
    // trace (as a real one does), and the settlement check counts only this run's sales.
    let before: Vec<smartpos_core::reconcile::SettlementLine> = match &args.settlement {
        Some(_) => Vec::new(),
        None => fetch_settlement(&args.host, &ca).await?,
    };
    let mut last_trace: BTreeMap<String, u32> = BTreeMap::new();
    for l in &before {
        let t = last_trace.entry(l.terminal_id.clone()).or_default();
        *t = (*t).max(l.trace);
    }
    let baseline: std::collections::BTreeSet<(String, u32, u32)> = before
        .iter()
        .map(|l| (l.terminal_id.clone(), l.batch, l.trace))
        .collect();

    // Every terminal signs in first (its own working keys), 64 at a time.
    let mut ready = Vec::with_capacity(args.terminals as usize);
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..args.terminals {
        if pending.len() >= 64 {
            if let Some(r) = pending.join_next().await {
                ready.push(r.map_err(|e| e.to_string())??);
            }
        }
        let tid = format!("{:08}", FIRST_TERMINAL_ID + i);
        // Sign-in takes a trace too; wrap before the 999999 limit.
        let next = last_trace
            .get(&tid)
            .map_or(1, |t| if *t >= 990_000 { 1 } else { t + 1 });
        pending.spawn(sign_in(terminal(i, next), link.clone()));
    }
    while let Some(r) = pending.join_next().await {
        ready.push(r.map_err(|e| e.to_string())??);
    }

    let shared = Arc::new(Shared {
        link,
        latency: Mutex::new(
            Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
        ),
        tally: Mutex::new(Tally::default()),
    });
    let progress = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let wall = run_load(
        ready,
        Arc::clone(&shared),
        mix,
        args.rate,
        args.duration,
        args.count,
        progress,
    )
    .await;
    let ceiling_tps = if args.ceiling {
        // The ceiling is the echo's maximum (closed loop), whatever the target rate.
        Some(ceiling(args.terminals.min(512), None, args.duration, args.count).await?)
    } else {
        None
    };

    // The host's settlement file: every approved sale there, with the same amount.
    let lines: Vec<smartpos_core::reconcile::SettlementLine> = match &args.settlement {
        Some(p) => super::read_settlement(p)?,
        None => fetch_settlement(&args.host, &ca).await?,
    };
    let tally = shared.tally.lock().unwrap_or_else(|p| p.into_inner());
    let host_sales: BTreeMap<(String, u32, u32), u64> = lines
        .iter()
        .filter(|l| l.kind == "sale" && l.status == "approved")
        .filter(|l| !baseline.contains(&(l.terminal_id.clone(), l.batch, l.trace)))
        .filter(|l| {
            l.terminal_id
                .parse::<u32>()
                .is_ok_and(|t| (FIRST_TERMINAL_ID..FIRST_TERMINAL_ID + args.terminals).contains(&t))
        })
        .map(|l| ((l.terminal_id.clone(), l.batch, l.trace), l.amount_minor))
        .collect();
    let settlement_ok = host_sales == tally.approved_sales;
    let h = shared.latency.lock().unwrap_or_else(|p| p.into_inner());
    let done = h.len();
    let tps = done as f64 / wall.as_secs_f64();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let report = serde_json::json!({
        "terminals": args.terminals,
        "target_tps": args.rate,
        "seconds": wall.as_secs_f64(),
        "started": tally.started,
        "completed": done,
        "achieved_tps": tps,
        "latency_ms": {"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "p99_9": ms(0.999), "max": h.max() as f64 / 1000.0},
        "approved": tally.approved,
        "declined_by_code": tally.declined_by_code,
        "declined_other": tally.declined_other,
        "unknown": tally.unknown,
        "reversed": tally.reversed,
        "mac_failures": tally.mac_failures,
        "timeouts": tally.timeouts,
        "skipped_all_terminals_busy": tally.skipped_busy,
        "settlement": {
            "sales_approved_here": tally.approved_sales.len(),
            "sales_approved_at_host": host_sales.len(),
            "amount_here": tally.approved_sales.values().sum::<u64>(),
            "amount_at_host": host_sales.values().sum::<u64>(),
            "equal": settlement_ok,
        },
        "ceiling_tps": ceiling_tps,
        "share_of_ceiling": ceiling_tps.map(|c| if c > 0.0 { tps / c } else { 0.0 }),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} terminals, {:.1} s: {done} transactions, {tps:.0} TPS{}",
            args.terminals,
            wall.as_secs_f64(),
            args.rate
                .map(|r| format!(" (target {r})"))
                .unwrap_or_default()
        );
        println!(
            "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999)
        );
        println!(
            "approved {}, declined by code {:?}, other declines {}, unknown {}, reversed {}, MAC failures {}, timeouts {}, skipped (all terminals busy) {}",
            tally.approved,
            tally.declined_by_code,
            tally.declined_other,
            tally.unknown,
            tally.reversed,
            tally.mac_failures,
            tally.timeouts,
            tally.skipped_busy
        );
        println!(
            "settlement: {} approved sales here, {} at the host, amounts {} and {}: {}",
            tally.approved_sales.len(),
            host_sales.len(),
            tally.approved_sales.values().sum::<u64>(),
            host_sales.values().sum::<u64>(),
            if settlement_ok { "equal" } else { "DIFFERENT" }
        );
        if let Some(c) = ceiling_tps {
            println!(
                "ceiling (bare TLS + HTTP echo, same machine, same load): {c:.0} TPS; the host reached {:.0}% of it",
                if c > 0.0 { 100.0 * tps / c } else { 0.0 }
            );
        }
    }
    Ok(if settlement_ok && tally.unknown == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn fetch_settlement(
    host: &str,
    ca: &[u8],
) -> Result<Vec<smartpos_core::reconcile::SettlementLine>, LoadError> {
    let rest = host.strip_prefix("https://").unwrap_or(host);
    let authority = rest.split('/').next().unwrap_or_default();
    let body = smartpos_terminal::transport::fetch(
        &format!("https://{authority}/settlement"),
        ca,
        Duration::from_secs(30),
    )
    .await
    .map_err(|e| {
        format!("the host's settlement file (give --settlement for a bank's front): {e}")
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| format!("the host's settlement file is not valid: {e}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").is_err());
        assert!(parse_mix("sale=90,balance=10").is_ok());
        assert!(parse_mix("sale=90").is_err());
        assert!(parse_mix("launder=100").is_err());
        assert!(is_loopback("https://127.0.0.1:8583/"));
        assert!(is_loopback("https://localhost:1"));
        assert!(!is_loopback("https://pos.bank.example:8583/"));
        let mix = parse_mix("sale=90,balance=10").unwrap();
        let balances = (0..100)
            .filter(|n| kind_at(&mix, *n) == TransactionType::Balance)
            .count();
        assert_eq!(balances, 10);
    }
}
