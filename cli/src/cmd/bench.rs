//! `smartpos bench`: what a sale costs, the codec beside pyiso8583, APK verification beside
//! apksigner.

use std::process::ExitCode;

crate::family_error!(
    /// Why `smartpos bench` failed.
    BenchError {
        /// The APK could not be read or verified.
        Apk(smartpos_apk::ApkError),
        /// The codec benchmark failed.
        CodecBench(crate::bench::CodecBenchError),
        /// The payment engine refused.
        Engine(smartpos_core::engine::EngineError),
        /// The journal failed.
        Journal(smartpos_terminal::journal::JournalError),
        /// The market refused (keys, signatures, grants).
        Market(smartpos_apk::market::MarketError),
        /// An amount is not valid.
        Money(smartpos_core::money::MoneyError),
        /// The host simulator failed.
        Simulator(smartpos_testing::server::SimError),
        /// The terminal failed outside a payment outcome.
        Terminal(smartpos_terminal::TerminalError),
        /// The host link could not be set up.
        Transport(smartpos_terminal::transport::TransportError),
    }
);

/// Measure a sale: the engine alone (CPU), journal commits (fsync), end to end (loopback);
/// with --codec, ISO 8583 encode+decode beside pyiso8583 in the same run. Use --release.
#[derive(clap::Args)]
pub struct Args {
    /// Sales per measurement.
    #[arg(long, default_value_t = 300)]
    sales: usize,
    /// Measure the ISO 8583 codec against pyiso8583 instead (ratio printed).
    #[arg(long)]
    codec: bool,
    /// Measure APK verification on a large APK against apksigner, apkverifier and one SHA-256 pass.
    #[arg(long)]
    apk: bool,
    /// Size of the --apk asset, MiB.
    #[arg(long, default_value_t = 100)]
    apk_mb: usize,
    /// Encode+decode pairs for --codec (one frame encoded and decoded; timed as sale exchanges, two pairs each).
    #[arg(long, default_value_t = 200_000)]
    pairs: usize,
    /// Python with pyiso8583 for --codec (default: SMARTPOS_PYTHON, .cache/venv, python3).
    #[arg(long)]
    python: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Only run --sales end-to-end sales and exit (what the fsync count traces).
    #[arg(long, hide = true)]
    fsync_probe: bool,
}

/// Runs `smartpos bench`.
pub async fn run(args: Args) -> Result<ExitCode, BenchError> {
    match args {
        Args {
            apk: true,
            apk_mb,
            json,
            ..
        } => {
            let r = crate::bench_apk::run(apk_mb, 3, &std::env::current_exe()?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let ratio = r.smartpos_ms / r.sha256_ms;
                println!(
                    "APK of {:.0} MiB (stored random asset, v2+v3, market-signed), median of 3:",
                    r.size as f64 / 1048576.0
                );
                println!(
                    "  smartpos (Android + market signature) {:>8.0} ms",
                    r.smartpos_ms
                );
                println!("  one SHA-256 pass                      {:>8.0} ms   smartpos / SHA-256 = {ratio:.2}x [target <= 1.25x: {}]", r.sha256_ms, if ratio <= 1.25 { "met" } else { "MISSED" });
                let s = r.apksigner_ms / r.smartpos_ms;
                println!("  apksigner verify                      {:>8.0} ms   {s:.1}x slower than smartpos [target >= 8x: {}]", r.apksigner_ms, if s >= 8.0 { "met" } else { "MISSED" });
                println!("  apkverifier                           {:>8.0} ms   {:.1}x slower than smartpos", r.apkverifier_ms, r.apkverifier_ms / r.smartpos_ms);
                let p = r.process_ms / r.openssl_ms;
                println!("  smartpos apk verify, as a process     {:>8.0} ms   {p:.2}x one `openssl dgst -sha256` process ({:.0} ms) [target <= 1.0x: {}]", r.process_ms, r.openssl_ms, if p <= 1.0 { "met" } else { "MISSED" });
                let a = r.apksigner_ms / r.process_ms;
                println!("  apksigner verify, process against process: {a:.1}x slower than smartpos apk verify [target >= 8x: {}]", if a >= 8.0 { "met" } else { "MISSED" });
                println!(
                    "  small APK, process CPU per verification {:.2} ms [target < 5 ms: {}]",
                    r.small_cpu_ms,
                    if r.small_cpu_ms < 5.0 {
                        "met"
                    } else {
                        "MISSED"
                    }
                );
                println!(
                    "  peak resident memory of this process  {} MiB (the APK is never read whole)",
                    r.peak_rss_kib / 1024
                );
                for (what, us) in [
                    (
                        format!("{:.0} MiB", r.size as f64 / 1048576.0),
                        r.launch_big_us,
                    ),
                    ("1 MiB".to_string(), r.launch_1mib_us),
                ] {
                    println!(
                        "  launch check, installed {what:<8} APK  {us:>8.1} µs (install verdict bound to the file's identity) [target <= 1 ms: {}]",
                        if us <= 1000.0 { "met" } else { "MISSED" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Args {
            codec: true,
            pairs,
            python,
            json,
            ..
        } => {
            let python = python.unwrap_or_else(crate::bench::default_python);
            let r = crate::bench::codec(pairs, &python)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let met = r.smartpos_lazy_pairs_per_sec >= 3_000_000.0;
                println!(
                    "ISO 8583 encode + decode pairs (one frame encoded, then decoded), one core, over {} sale exchanges (a 0200 request and its 0210 response: two pairs each):",
                    r.exchanges
                );
                println!(
                    "  smartpos   {:>12.0} pairs/s  (copying decode, a new buffer for every frame)",
                    r.smartpos_pairs_per_sec
                );
                println!(
                    "  smartpos   {:>12.0} pairs/s  (copying decode, buffers reused)",
                    r.smartpos_reused_pairs_per_sec,
                );
                println!(
                    "  smartpos   {:>12.0} pairs/s  (decode without copying, fields read on demand)  [target >= 3,000,000 on a quiet machine: {}]",
                    r.smartpos_lazy_pairs_per_sec,
                    if met { "met" } else { "MISSED" }
                );
                println!(
                    "  smartpos   {:>12.0} sale exchanges/s (the same, request and response together)",
                    r.smartpos_lazy_exchanges_per_sec,
                );
                println!(
                    "  pyiso8583  {:>12.0} pairs/s  (version {}, same frames, same run)",
                    r.pyiso8583_pairs_per_sec, r.pyiso8583_version
                );
                println!("  ratio      {:>12.1}x", r.ratio);
            }
            Ok(ExitCode::SUCCESS)
        }
        Args {
            fsync_probe: true,
            sales,
            ..
        } => {
            let amount =
                smartpos_core::money::Money::from_minor(1234, smartpos_core::money::Currency::CNY)?;
            crate::bench::e2e_sales(sales, amount).await?;
            Ok(ExitCode::SUCCESS)
        }
        Args { sales, json, .. } => {
            let r = crate::bench::run(sales).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let ok = r.engine_sale.median_us < 1000.0;
                println!("sales per measurement: {}", r.sales);
                println!(
                    "engine alone (sans-IO, in-memory host and journal), per sale: median {:.0} us, p99 {:.0} us  [target < 1000 us: {}]",
                    r.engine_sale.median_us,
                    r.engine_sale.p99_us,
                    if ok { "met" } else { "MISSED" }
                );
                println!(
                    "journal commit (WAL, synchronous=FULL): median {:.0} us, p99 {:.0} us; {} commits per sale",
                    r.journal_commit.median_us, r.journal_commit.p99_us, r.commits_per_sale
                );
                match (r.fsyncs_per_sale, &r.fsyncs_not_counted) {
                    (Some(f), _) => println!(
                        "fsyncs per end-to-end sale (strace, whole process): {f:.2}  [target <= 2: {}]",
                        if f <= 2.0 { "met" } else { "MISSED" }
                    ),
                    (None, why) => println!(
                        "fsyncs per end-to-end sale: NOT COUNTED ({})",
                        why.as_deref().unwrap_or("unknown")
                    ),
                }
                println!(
                    "end-to-end sale (loopback HTTPS, instant simulated drivers): median {:.2} ms, p99 {:.2} ms",
                    r.e2e_sale.median_us / 1000.0,
                    r.e2e_sale.p99_us / 1000.0
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
