//! Issue 7: the conformance kit passes for the simulated drivers and names each broken contract.

use smartpos_cli::hal_cmd::{conformance, Breakage};

#[test]
fn simulated_drivers_pass_and_each_breakage_is_named() {
    let ok = conformance(None);
    assert!(ok.passed(), "{:#?}", ok.failures());
    for (breakage, contract) in [
        (Breakage::SkipKcv, vec!["pin_pad.working_key_kcv"]),
        (
            Breakage::ClearPin,
            vec![
                "pin_pad.pin_block",
                "pin_pad.pin_block_without_pan",
                "pin_pad.sm4_pin_block",
            ],
        ),
        // Deaf to cancel: both cancel contracts break (a waiting read, and between a chip's halves).
        (
            Breakage::IgnoreCancel,
            vec![
                "card_reader.cancel",
                "card_reader.chip_cancel_between_halves",
            ],
        ),
        (
            Breakage::SilentPrinter,
            vec![
                "printer.qr_loopback",
                "printer.bitmap",
                "printer.out_of_paper",
                "printer.cover_open",
            ],
        ),
    ] {
        let report = conformance(Some(breakage));
        let failed: Vec<&str> = report.failures().iter().map(|c| c.id).collect();
        assert_eq!(failed, contract, "{breakage:?}");
        assert!(
            report.failures().iter().all(|c| !c.detail.is_empty()),
            "a failure says what was observed"
        );
    }
}

#[test]
fn receipts_render_chinese_with_a_real_font() {
    let renderer = smartpos_testing::fonts::system_renderer();
    assert!(
        renderer.has_cjk(),
        "no CJK font: install Debian fonts-wqy-microhei (scripts/test.sh does) or set SMARTPOS_FONT"
    );
    use smartpos_hal::PrintCommand;
    // A line of Chinese must differ from the same number of unknown-glyph boxes.
    let decode = |png: Vec<u8>| {
        let mut r = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        r.next_frame(&mut buf).unwrap();
        buf
    };
    let han = decode(
        renderer
            .render_png(&[PrintCommand::line("商户存根")])
            .unwrap(),
    );
    let other = decode(
        renderer
            .render_png(&[PrintCommand::line("持卡人存")])
            .unwrap(),
    );
    assert_ne!(han, other, "different characters must render differently");
    assert!(
        han.iter().filter(|p| **p == 0).count() > 200,
        "glyphs have ink"
    );
}

#[test]
fn the_vendor_page_lists_every_check_of_the_kit() {
    const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk-docs/src/vendor/hal.md");
    const BEGIN: &str = "<!-- kit-checks:begin -->";
    const END: &str = "<!-- kit-checks:end -->";
    let report = conformance(None);
    let rows: Vec<String> = report
        .checks
        .iter()
        .map(|c| format!("| `{}` | {} |", c.id, c.contract))
        .collect();
    let table = format!(
        "{BEGIN}\n\n{} checks:\n\n| check | contract |\n|---|---|\n{}\n\n{END}",
        rows.len(),
        rows.join("\n")
    );
    let doc = std::fs::read_to_string(DOC).unwrap();
    let (a, b) = (doc.find(BEGIN).unwrap(), doc.find(END).unwrap());
    let current = &doc[a..b + END.len()];
    if current != table && std::env::var("SMARTPOS_BLESS").is_ok() {
        std::fs::write(
            DOC,
            format!("{}{table}{}", &doc[..a], &doc[b + END.len()..]),
        )
        .unwrap();
        return;
    }
    assert_eq!(
        current, table,
        "vendor/hal.md lists other checks than the kit runs (SMARTPOS_BLESS=1 rewrites the table)"
    );
}
