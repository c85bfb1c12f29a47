//! `smartpos terminal ...`: a simulated terminal for scripting (state in `--data-dir`, the host
//! simulator at `--host`).

pub mod args;
mod records;

use crate::terminal_cmd::TerminalCmdError;
use args::{OrderArgs, PayMethod};
use smartpos_core::payment::Outcome;
use std::path::PathBuf;
use std::process::ExitCode;

/// A simulated terminal for scripting: state in --data-dir, host simulator at --host.
#[derive(clap::Args)]
pub struct Args {
    /// The terminal's data directory (created with a new terminal key and default allow-list).
    #[arg(long)]
    data_dir: PathBuf,
    /// Host URL, e.g. https://127.0.0.1:8583/.
    #[arg(long)]
    host: Option<String>,
    /// The bank CA to pin (default: DATA_DIR/ca.pem).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// How long to wait for the host, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    host_timeout_ms: u64,
    /// Acquirer profile (JSON), the same file the host simulator reads; default: the CUP defaults.
    #[arg(long)]
    profile: Option<PathBuf>,
    #[command(subcommand)]
    command: Box<args::Command>,
}

/// Runs `smartpos terminal ...`.
pub async fn run(args: Args) -> Result<ExitCode, TerminalCmdError> {
    let Args {
        data_dir,
        host,
        ca,
        host_timeout_ms,
        profile,
        command,
    } = args;
    let mut settings = crate::terminal_cmd::SimSettings {
        host_timeout: std::time::Duration::from_millis(host_timeout_ms),
        ..Default::default()
    };
    if let Some(p) = profile {
        settings.profile = super::read_profile(&p)?;
    }
    run_command(data_dir, settings, host, ca, *command).await
}

async fn run_command(
    data_dir: PathBuf,
    settings: crate::terminal_cmd::SimSettings,
    host: Option<String>,
    ca: Option<PathBuf>,
    command: args::Command,
) -> Result<ExitCode, TerminalCmdError> {
    use crate::terminal_cmd::{build_terminal, handle_request, parse_cny, DataDir};
    let dir = DataDir::open(&data_dir)?.with_settings(settings);
    let host_and_ca = || -> Result<(String, Vec<u8>), TerminalCmdError> {
        let host = host
            .clone()
            .ok_or("--host URL is required for this command")?;
        let ca_path = ca.clone().unwrap_or_else(|| data_dir.join("ca.pem"));
        let pem = std::fs::read(&ca_path)
            .map_err(|e| format!("cannot read CA {}: {e}", ca_path.display()))?;
        Ok((host, pem))
    };
    // A terminal for a transaction command: built on the data directory and signed in.
    let online = async |o: &OrderArgs| -> Result<smartpos_terminal::Terminal, TerminalCmdError> {
        let (host, pem) = host_and_ca()?;
        let mut t = build_terminal(&dir, &host, &pem, &o.customer.customer())?;
        t.sign_in().await?;
        Ok(t)
    };
    match command {
        args::Command::PublicKey => {
            println!("{}", dir.terminal_key()?.public_hex());
        }
        args::Command::Recover {
            json,
            from_host: true,
            settlement: Some(settlement),
            force,
        } => {
            let lines = super::read_settlement(&settlement)?;
            // Only a refused journal is rebuilt: an intact one holds the merchants' order ids.
            if !force && dir.journal().is_ok() {
                return Err(format!(
                    "the journal in {} opens and verifies: nothing to rebuild (--force to rebuild it anyway, losing its order ids)",
                    data_dir.display()
                )
                .into());
            }
            let tid = smartpos_core::engine::EngineConfig::demo()
                .identity
                .terminal_id;
            let (_, rebuilt) = smartpos_terminal::journal::Journal::rebuild_from_host(
                &dir.journal_path(),
                &lines,
                &tid,
                "CNY",
                crate::terminal_cmd::unix_now(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&rebuilt)?);
            } else {
                println!(
                    "journal rebuilt from the bank: {} transactions, batch {:06}, next trace {:06}; refused files kept: {}",
                    rebuilt.imported,
                    rebuilt.batch,
                    rebuilt.next_trace,
                    rebuilt
                        .kept
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        args::Command::Recover { json, .. } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            let recovered = t.recovery().clone();
            t.resolve_qr().await?;
            t.sign_in().await?;
            let pending_error = t.flush_reversals().await.err().map(|e| e.to_string());
            let entries = t.journal().entries()?;
            let unresolved = entries.iter().filter(|e| e.reversal_pending).count()
                + t.journal().qr_unresolved()?.len();
            if json {
                let v = serde_json::json!({"recovered": recovered, "reversals_pending": unresolved, "error": pending_error});
                println!("{v}");
            } else {
                println!(
                    "recovered: {} interrupted before sending, {} after; reversals still pending: {unresolved}",
                    recovered.interrupted_before_send, recovered.interrupted_after_send
                );
                if let Some(e) = &pending_error {
                    println!("reversal not sent: {e}");
                }
            }
            return Ok(if unresolved == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        args::Command::SignOut | args::Command::Echo => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            if matches!(command, args::Command::SignOut) {
                t.sign_in().await?;
                t.sign_out().await?;
                println!("signed out");
            } else {
                t.echo().await?;
                println!("host answered the echo test");
            }
        }
        args::Command::SignIn { json } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            let batch = t.sign_in().await?;
            if json {
                println!("{}", serde_json::json!({"signed_in": true, "batch": batch}));
            } else {
                println!("signed in, batch {batch:06}");
            }
        }
        args::Command::Sale {
            amount,
            order,
            caller,
            customer,
            method,
            code,
            qr_png,
            slip_png,
            receipt_png,
            paper_out,
            json,
        } => {
            let (host, pem) = host_and_ca()?;
            let mut who = customer.customer();
            who.qr_code = code;
            let mut t = build_terminal(&dir, &host, &pem, &who)?;
            let amount = parse_cny(&amount)?;
            let r = match method {
                PayMethod::Card => {
                    t.sign_in().await?;
                    let req = smartpos_core::payment::PaymentRequest::sale(&caller, &order, amount);
                    t.sale(req).await?
                }
                PayMethod::QrScan => t.qr_scan_sale(&caller, &order, amount).await?,
                PayMethod::QrDisplay => {
                    let identity = t.config().identity.clone();
                    let order_id = order.clone();
                    let mut show = move |payload: &str| {
                        eprintln!("show this code: {payload}");
                        if let Some(path) = &qr_png {
                            if let Err(e) = write_qr_png(payload, path) {
                                eprintln!("QR image not written: {e}");
                            }
                        }
                        if let Some(path) = &slip_png {
                            // the printer is a convenience: a failure never stops the payment
                            use smartpos_core::hal::Printer;
                            let job = smartpos_core::receipt::qr_payment_slip(
                                payload, &amount, &order_id, &identity,
                            );
                            let printer = smartpos_testing::sim::SimPrinter::default();
                            let printed = printer
                                .print(&job)
                                .map_err(|e| e.to_string())
                                .and_then(|()| {
                                    smartpos_testing::fonts::system_renderer().render_png(&job)
                                })
                                .and_then(|png| {
                                    std::fs::write(path, png).map_err(|e| e.to_string())
                                });
                            if let Err(e) = printed {
                                eprintln!("slip not printed: {e}");
                            }
                        }
                    };
                    t.qr_display_sale(&caller, &order, amount, &mut show)
                        .await?
                }
            };
            if receipt_png.is_some() || paper_out {
                use smartpos_core::hal::Printer;
                let printer = smartpos_testing::sim::SimPrinter::default();
                if paper_out {
                    printer.set_status(smartpos_core::hal::PaperStatus::OutOfPaper);
                }
                let job = smartpos_core::receipt::receipt_job(
                    &r,
                    &t.config().identity,
                    smartpos_core::receipt::Copy::Merchant,
                    None,
                );
                match printer.print(&job) {
                    Ok(()) => {
                        if let Some(path) = &receipt_png {
                            std::fs::write(
                                path,
                                smartpos_testing::fonts::system_renderer().render_png(&job)?,
                            )?;
                        }
                    }
                    // The payment outcome stands; the receipt can be reprinted from the journal.
                    Err(e) => eprintln!("receipt not printed: {e}"),
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} {} {} ref={} auth={}",
                    r.order_id,
                    serde_json::to_string(&r.outcome)?,
                    r.amount,
                    r.reference.as_deref().unwrap_or("-"),
                    r.auth_code.as_deref().unwrap_or("-")
                );
            }
            return Ok(if r.outcome == Outcome::Approved {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        args::Command::QrCode {
            amount,
            order,
            caller,
            png,
        } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            let payload = t.qr_code(&caller, &order, parse_cny(&amount)?).await?;
            if let Some(path) = &png {
                write_qr_png(&payload, path)?;
            }
            println!("{payload}");
        }
        args::Command::Query {
            order,
            caller,
            json,
        } => {
            // An open QR order is asked about at the gateway first (when a host is given).
            if let Ok((h, pem)) = host_and_ca() {
                let open = dir
                    .journal()?
                    .find_by_order(&caller, &order)?
                    .is_some_and(|e| {
                        e.method != "card"
                            && matches!(
                                e.state,
                                smartpos_terminal::journal::TxnState::Sent
                                    | smartpos_terminal::journal::TxnState::Unknown
                            )
                    });
                if open {
                    let mut t = build_terminal(&dir, &h, &pem, &Default::default())?;
                    if let Err(e) = t.resolve_qr().await {
                        eprintln!("gateway not reached: {e}");
                    }
                }
            }
            let j = dir.journal()?;
            match j.find_by_order(&caller, &order)? {
                Some(e) if json => println!("{}", serde_json::to_string_pretty(&e)?),
                Some(e) => println!(
                    "{} {:?} {} {} trace={:06} batch={:06}",
                    e.order_id, e.state, e.amount_minor, e.currency, e.trace, e.batch
                ),
                None => {
                    println!("not found");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        args::Command::Void { orig_ref, o } => {
            let mut t = online(&o).await?;
            return print_result(&t.void(&o.caller, &o.order, &orig_ref).await?, o.json);
        }
        args::Command::Refund {
            orig_ref,
            amount,
            o,
        } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.refund(&o.caller, &o.order, &orig_ref, parse_cny(&amount)?)
                    .await?,
                o.json,
            );
        }
        args::Command::Balance { o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.balance(&o.caller, &o.order, smartpos_core::money::Currency::CNY)
                    .await?,
                o.json,
            );
        }
        args::Command::Preauth { amount, o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.preauth(&o.caller, &o.order, parse_cny(&amount)?).await?,
                o.json,
            );
        }
        args::Command::PreauthVoid { orig_ref, o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.preauth_void(&o.caller, &o.order, &orig_ref).await?,
                o.json,
            );
        }
        args::Command::PreauthComplete {
            orig_ref,
            amount,
            o,
        } => {
            let mut t = online(&o).await?;
            let r = t
                .preauth_complete(&o.caller, &o.order, &orig_ref, parse_cny(&amount)?)
                .await?;
            return print_result(&r, o.json);
        }
        args::Command::CompleteVoid { orig_ref, o } => {
            let mut t = online(&o).await?;
            return print_result(
                &t.complete_void(&o.caller, &o.order, &orig_ref).await?,
                o.json,
            );
        }
        args::Command::Settle { json } => {
            let (host, pem) = host_and_ca()?;
            let mut t = build_terminal(&dir, &host, &pem, &Default::default())?;
            t.sign_in().await?;
            let batch = t.journal().counters()?.1;
            let totals = smartpos_core::reconcile::batch_totals(&t.journal().entries()?, batch);
            let outcome = t.settle().await?;
            let (text, ok) = match &outcome {
                smartpos_core::engine::SettlementOutcome::Balanced => {
                    ("balanced".to_string(), true)
                }
                smartpos_core::engine::SettlementOutcome::Uploaded(n) => {
                    (format!("not balanced: {n} transactions uploaded"), true)
                }
                smartpos_core::engine::SettlementOutcome::Failed(why) => {
                    (format!("FAILED: {why}"), false)
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({"batch": batch, "result": text, "totals": totals})
                );
            } else {
                println!("batch {batch:06} settlement: {text}");
                records::print_total_lines(&totals.lines);
            }
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        args::Command::Totals { batch, json } => return records::totals(&dir, batch, json),
        args::Command::Statement { caller, format } => {
            return records::statement(&dir, &caller, &format)
        }
        args::Command::Reconcile { settlement, json } => {
            return records::reconcile(&dir, &settlement, json)
        }
        args::Command::Journal { json, verify: true } => {
            return records::verify_journal(&dir, json)
        }
        args::Command::Journal { json, .. } => return records::journal(&dir, json),
        args::Command::HandleRequest {
            uri,
            caller_package,
            caller_cert_sha256,
            customer,
            qr_code,
        } => {
            let (host, pem) = host_and_ca()?;
            let mut who = customer.customer();
            who.qr_code = qr_code;
            let digests: Vec<&str> = caller_cert_sha256.iter().map(String::as_str).collect();
            let caller =
                smartpos_core::handoff::CallerIdentity::from_hex(&caller_package, &digests)
                    .ok_or("--caller-cert-sha256 must be 32 hex bytes")?;
            let handled = handle_request(
                &dir,
                &host,
                &pem,
                smartpos_core::handoff::RawRequest::DeepLink(uri),
                &caller,
                &who,
            )
            .await?;
            match handled.return_uri() {
                Some(u) => println!("{u}"),
                None => {
                    let map: serde_json::Map<String, serde_json::Value> = handled
                        .result
                        .to_intent_extras()
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect();
                    println!("{}", serde_json::Value::Object(map));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_result(
    r: &smartpos_core::payment::PaymentResult,
    json: bool,
) -> Result<ExitCode, TerminalCmdError> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        println!(
            "{} {} {} {} ref={} auth={}",
            r.order_id,
            r.kind.name(),
            serde_json::to_string(&r.outcome)?,
            r.amount,
            r.reference.as_deref().unwrap_or("-"),
            r.auth_code.as_deref().unwrap_or("-")
        );
        if let Some(b) = &r.balance {
            println!("balance {}{}", if b.overdrawn { "-" } else { "" }, b.amount);
        }
    }
    Ok(if r.outcome == Outcome::Approved {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Renders a QR payload as a PNG image (8 pixels a module, quiet zone) for screens and tests.
fn write_qr_png(payload: &str, path: &std::path::Path) -> Result<(), TerminalCmdError> {
    std::fs::write(path, smartpos_hal::render::qr_png(payload, 8)?)?;
    Ok(())
}
