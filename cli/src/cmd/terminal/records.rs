//! `terminal totals | statement | reconcile | journal`: what the journal holds, for the
//! merchant's counter, the bank's settlement file and the auditor.

use crate::terminal_cmd::DataDir;
use crate::terminal_cmd::TerminalCmdError;
use std::path::Path;
use std::process::ExitCode;

/// Prints a batch's totals (the current batch by default).
pub(super) fn totals(
    dir: &DataDir,
    batch: Option<u32>,
    json: bool,
) -> Result<ExitCode, TerminalCmdError> {
    let j = dir.journal()?;
    let batch = match batch {
        Some(b) => b,
        None => j.counters()?.1,
    };
    let t = smartpos_core::reconcile::batch_totals(&j.entries()?, batch);
    if json {
        println!("{}", serde_json::to_string_pretty(&t)?);
    } else {
        println!("batch {:06}", t.batch);
        print_total_lines(&t.lines);
        println!(
            "  unknown: {} ({}.{:02})",
            t.unknown_count,
            t.unknown_amount_minor / 100,
            t.unknown_amount_minor % 100
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one app's statement lines as JSON or CSV.
pub(super) fn statement(
    dir: &DataDir,
    caller: &str,
    format: &str,
) -> Result<ExitCode, TerminalCmdError> {
    let lines = smartpos_core::reconcile::statement(&dir.journal()?.entries()?, caller);
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&lines)?),
        "csv" => print!("{}", smartpos_core::reconcile::statement_csv(&lines)),
        other => return Err(format!("--format must be json or csv, not {other:?}").into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Compares the journal with the acquirer's settlement file; fails when they differ.
pub(super) fn reconcile(
    dir: &DataDir,
    settlement: &Path,
    json: bool,
) -> Result<ExitCode, TerminalCmdError> {
    let lines = crate::cmd::read_settlement(settlement)?;
    let tid = smartpos_core::engine::EngineConfig::demo()
        .identity
        .terminal_id;
    let c = smartpos_core::reconcile::compare(&dir.journal()?.entries()?, &lines, &tid);
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        println!("matched: {}", c.matched);
        for (name, list) in [
            ("missing at host", &c.missing_at_host),
            ("missing at terminal", &c.missing_at_terminal),
            ("amount mismatch", &c.amount_mismatches),
        ] {
            for d in list {
                println!(
                    "{name}: batch {:06} trace {:06} terminal {:?} host {:?} ({})",
                    d.batch,
                    d.trace,
                    d.terminal_amount_minor,
                    d.host_amount_minor,
                    d.terminal_state.as_deref().unwrap_or("not in journal")
                );
            }
        }
        println!(
            "{}",
            if c.balanced() {
                "balanced"
            } else {
                "NOT balanced"
            }
        );
    }
    Ok(if c.balanced() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Checks the journal's anchor and record chain; fails when broken.
pub(super) fn verify_journal(dir: &DataDir, json: bool) -> Result<ExitCode, TerminalCmdError> {
    // Opening checks the anchor and every record; verify() walks the chain again.
    let checked = dir
        .journal()
        .and_then(|j| Ok(j.verify()?))
        .map_err(|e| e.to_string());
    let ok = checked.is_ok();
    if json {
        let v = match &checked {
            Ok(n) => serde_json::json!({"ok": true, "records": n}),
            Err(e) => serde_json::json!({"ok": false, "error": e}),
        };
        println!("{v}");
    } else {
        match &checked {
            Ok(n) => println!("journal verified: {n} records, chain and anchor intact"),
            Err(e) => println!("journal NOT verified: {e}"),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints every journal record (masked card numbers only).
pub(super) fn journal(dir: &DataDir, json: bool) -> Result<ExitCode, TerminalCmdError> {
    let entries = dir.journal()?.entries()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        for e in entries {
            println!(
                "{:06}/{:06} {} {} {:?} {} {} {}",
                e.batch,
                e.trace,
                e.caller,
                e.order_id,
                e.state,
                e.amount_minor,
                e.currency,
                e.masked_pan.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A batch's totals lines, one per type and channel, for people.
pub(super) fn print_total_lines(lines: &[smartpos_core::reconcile::TotalsLine]) {
    for l in lines {
        println!(
            "  {:<8} {:<5} {:>4} x  {} {}.{:02}",
            l.kind,
            l.channel,
            l.count,
            l.currency,
            l.amount_minor / 100,
            l.amount_minor % 100
        );
    }
}
