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
        (Breakage::IgnoreCancel, vec!["card_reader.cancel"]),
        (
            Breakage::SilentPrinter,
            vec!["printer.out_of_paper", "printer.cover_open"],
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
    assert!(
        smartpos_core::hal::render::has_cjk_font(),
        "no CJK font: install Debian fonts-wqy-microhei (scripts/test.sh does) or set SMARTPOS_FONT"
    );
    use smartpos_core::hal::{render::render_png, PrintCommand};
    // A line of Chinese must differ from the same number of unknown-glyph boxes.
    let decode = |png: Vec<u8>| {
        let mut r = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        r.next_frame(&mut buf).unwrap();
        buf
    };
    let han = decode(render_png(&[PrintCommand::line("商户存根")]).unwrap());
    let other = decode(render_png(&[PrintCommand::line("持卡人存")]).unwrap());
    assert_ne!(han, other, "different characters must render differently");
    assert!(
        han.iter().filter(|p| **p == 0).count() > 200,
        "glyphs have ink"
    );
}
