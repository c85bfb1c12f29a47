//! Receipts: text lines for a 58 mm printer (32 columns) and a PNG at its 384-dot width.
//! Only the masked PAN ever appears on a receipt.

use crate::engine::TerminalIdentity;
use crate::payment::{Declined, Outcome, PaymentResult};
use font8x8::UnicodeFonts;

/// Columns of a 58 mm printer line.
pub const COLUMNS: usize = 32;
/// Dots across a 58 mm printer head.
pub const DOT_WIDTH: usize = 384;

/// Which copy of the slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// Kept by the merchant, signed by the cardholder.
    Merchant,
    /// Handed to the cardholder.
    Cardholder,
}

fn two_cols(left: &str, right: &str) -> String {
    let used = left.chars().count() + right.chars().count();
    let pad = COLUMNS.saturating_sub(used).max(1);
    format!("{left}{}{right}", " ".repeat(pad))
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Approved => "APPROVED".into(),
        Outcome::Declined(Declined::Host { code, message }) => format!("DECLINED {code} {message}"),
        Outcome::Declined(d) => format!("NOT CHARGED ({d:?})"),
        Outcome::Unknown { .. } => "PENDING - being resolved".into(),
    }
}

/// The slip as text lines.
///
/// ```
/// # use smartpos_core::{receipt::*, payment::*, money::*, time::LocalTime, engine::EngineConfig};
/// let r = PaymentResult { order_id: "A1".into(), kind: TransactionType::Sale,
///     amount: Money::from_minor(1234, Currency::CNY).unwrap(), outcome: Outcome::Approved,
///     masked_pan: Some("622202*********0123".into()), auth_code: Some("123456".into()),
///     reference: Some("000000000001".into()), trace: 1, batch: 1, terminal_id: "10000001".into(),
///     merchant_id: "898310048990001".into(), time: LocalTime::from_unix(0, 0) };
/// let lines = receipt_lines(&r, &EngineConfig::demo().identity, Copy::Merchant);
/// assert!(lines.iter().any(|l| l.contains("622202*********0123")));
/// ```
pub fn receipt_lines(r: &PaymentResult, who: &TerminalIdentity, copy: Copy) -> Vec<String> {
    let mut l = vec![
        format!("{:^w$}", "POS SALES SLIP", w = COLUMNS),
        format!(
            "{:^w$}",
            match copy {
                Copy::Merchant => "MERCHANT COPY",
                Copy::Cardholder => "CARDHOLDER COPY",
            },
            w = COLUMNS
        ),
        "-".repeat(COLUMNS),
        format!("MERCHANT: {}", who.merchant_name),
        format!("MID: {}", r.merchant_id),
        format!("TID: {}", r.terminal_id),
        "-".repeat(COLUMNS),
        format!("CARD: {}", r.masked_pan.as_deref().unwrap_or("-")),
        format!("TYPE: {}", r.kind.name().to_uppercase()),
        two_cols(
            &format!("BATCH: {:06}", r.batch),
            &format!("TRACE: {:06}", r.trace),
        ),
        format!("AUTH: {}", r.auth_code.as_deref().unwrap_or("-")),
        format!("REF: {}", r.reference.as_deref().unwrap_or("-")),
        format!("DATE: {}", r.time),
        format!("ORDER: {}", r.order_id),
        "-".repeat(COLUMNS),
        two_cols("AMOUNT:", &r.amount.to_string()),
        outcome_text(&r.outcome),
        "-".repeat(COLUMNS),
    ];
    if copy == Copy::Merchant && r.outcome == Outcome::Approved {
        l.push("CARDHOLDER SIGNATURE:".into());
        l.push(String::new());
        l.push("I ACKNOWLEDGE SATISFACTORY".into());
        l.push("RECEIPT OF RELATIVE GOODS.".into());
    }
    l
}

const CELL_W: usize = DOT_WIDTH / COLUMNS; // 12 dots
const CELL_H: usize = 24;
const MARGIN: usize = 8;

/// Renders lines to a grayscale PNG `DOT_WIDTH` dots wide (black on white). Characters the
/// built-in bitmap font lacks are drawn as a hollow box.
pub fn render_png(lines: &[String]) -> Vec<u8> {
    let height = MARGIN * 2 + lines.len().max(1) * CELL_H;
    let mut px = vec![255u8; DOT_WIDTH * height];
    for (row, line) in lines.iter().enumerate() {
        for (col, ch) in line.chars().take(COLUMNS).enumerate() {
            let glyph = font8x8::BASIC_FONTS
                .get(ch)
                .or_else(|| font8x8::LATIN_FONTS.get(ch));
            let glyph = glyph.unwrap_or([0xFF, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xFF]);
            let ox = col * CELL_W;
            let oy = MARGIN + row * CELL_H + 4;
            for y in 0..16 {
                let bits = glyph[y / 2];
                for x in 0..CELL_W {
                    let sx = x * 8 / CELL_W;
                    if bits & (1 << sx) != 0 {
                        px[(oy + y) * DOT_WIDTH + ox + x] = 0;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, DOT_WIDTH as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("in-memory PNG");
        w.write_image_data(&px).expect("in-memory PNG");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_printer_width() {
        let png = render_png(&["HELLO".into(), "商户".into()]);
        let dec = png::Decoder::new(std::io::Cursor::new(png));
        let reader = dec.read_info().unwrap();
        assert_eq!(reader.info().width as usize, DOT_WIDTH);
    }
}
