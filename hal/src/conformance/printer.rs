//! Printer checks: paper status, refused jobs, and output observed on the rendered paper.

use super::*;

pub(super) fn printer_checks(kit: &mut Kit, s: &Subject<'_>) {
    let simple = vec![
        PrintCommand::center("CONFORMANCE 一致性", TextSize::Normal),
        PrintCommand::Rule,
    ];
    let once = one_time_value();
    let bitmap: Vec<bool> = (0..24 * 24)
        .map(|i| (i / 24 / 4 + i % 24 / 4) % 2 == 0 || i % 24 == i / 24)
        .collect();
    let job = vec![
        PrintCommand::center("CONFORMANCE 一致性", TextSize::Normal),
        PrintCommand::center("大字 LARGE", TextSize::Large),
        PrintCommand::Feed { lines: 1 },
        PrintCommand::Rule,
        PrintCommand::Bitmap {
            width: 24,
            pixels: bitmap.clone(),
        },
        PrintCommand::Qr {
            data: once.clone(),
            module: 4,
        },
    ];
    s.operator.set_paper(PaperStatus::Ok);
    s.operator.take_printout(); // start from a clean tear
    kit.check(
        "printer.print",
        "with paper and a closed cover, a job with every command (text in both scripts, large text, feed, rule, bitmap, QR) prints",
        if s.printer.status() == PaperStatus::Ok {
            s.printer.print(&job).map_err(|e| e.to_string())
        } else {
            Err("status not Ok".into())
        },
    );
    // Output observed, each command kind on a job of its own so that a printer that drops (or
    // refuses) one kind fails that kind's check alone.
    s.operator.take_printout();
    let printed = |job: &[PrintCommand]| -> Result<(), String> {
        s.printer.print(job).map_err(|e| format!("printing: {e}"))?;
        if s.operator.take_printout() {
            Ok(())
        } else {
            Err("nothing came out of the printer".into())
        }
    };
    kit.check(
        "printer.qr_loopback",
        "the printed QR code carries what the job said: the operator shows the printout to the terminal's scanner and it reads the kit's one-time value",
        printed(&[
            PrintCommand::center("SCAN ME 请扫码", TextSize::Normal),
            PrintCommand::Qr {
                data: once.clone(),
                module: 4,
            },
        ])
        .and_then(|()| {
            s.operator.show_printout_qr();
            match s.scanner.scan(Duration::from_secs(5)) {
                Ok(v) if v == once => Ok(()),
                Ok(v) => Err(format!(
                    "the scanner read {v:?} from the printout, expected {once:?}"
                )),
                Err(HalError::Timeout) => Err("no QR code on the printout".into()),
                Err(e) => Err(format!("scanning the printout: {e}")),
            }
        }),
    );
    kit.check(
        "printer.bitmap",
        "the printed bitmap is on the paper, dot for dot",
        printed(&[
            PrintCommand::center("BITMAP 图像", TextSize::Normal),
            PrintCommand::Bitmap {
                width: 24,
                pixels: bitmap.clone(),
            },
        ])
        .and_then(|()| {
            if s.operator.printout_has_bitmap(24, &bitmap) {
                Ok(())
            } else {
                Err("the bitmap is not on the printout".into())
            }
        }),
    );
    kit.check(
        "printer.dot_width",
        "the head is 384 (58 mm) or 576 (80 mm) dots wide",
        match s.printer.dot_width() {
            384 | 576 => Ok(()),
            w => Err(format!("{w} dots")),
        },
    );
    for (id, status, err, contract) in [
        (
            "printer.out_of_paper",
            PaperStatus::OutOfPaper,
            HalError::OutOfPaper,
            "out of paper is reported by status() and print()",
        ),
        (
            "printer.cover_open",
            PaperStatus::CoverOpen,
            HalError::CoverOpen,
            "an open cover is reported by status() and print()",
        ),
    ] {
        s.operator.set_paper(status);
        let got = if s.printer.status() != status {
            Err(format!("status() says {:?}", s.printer.status()))
        } else {
            expect(s.printer.print(&simple), err)
        };
        kit.check(id, contract, got);
    }
    s.operator.set_paper(PaperStatus::Ok);
    kit.check(
        "printer.refused_job_not_printed",
        "a job refused with an error (out of paper, cover open) puts nothing on paper",
        if s.operator.take_printout() {
            Err("paper came out for a job the printer refused".into())
        } else {
            Ok(())
        },
    );
}
