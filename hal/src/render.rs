//! Renders printer commands to a PNG at the print head's width, as a thermal printer would.
//!
//! Text uses the font the caller hands to [`Renderer`] (a CJK-capable one, so Chinese renders);
//! without one it falls back to a built-in 8x8 bitmap font and draws unknown glyphs as hollow
//! boxes. Nothing here reads a file.

use font8x8::UnicodeFonts;
use smartpos_core::hal::printer::{Align, PrintCommand, TextSize};

/// Dots across a 58 mm print head.
pub const DOT_WIDTH: usize = 384;

/// Renders print jobs with a font the caller supplies (the bytes of a TrueType or OpenType
/// font or collection, e.g. from the app's assets), or with the built-in 8x8 bitmap font. This
/// crate reads no font file: finding one on a system is the caller's business
/// (`smartpos_testing::fonts::system_renderer` looks in the Debian font paths).
///
/// ```
/// use smartpos_hal::{render::Renderer, PrintCommand};
/// let r = Renderer::builtin();
/// assert!(!r.has_cjk());
/// let png = r.render_png(&[PrintCommand::line("TOTAL 12.34")]).unwrap();
/// assert_eq!(&png[1..4], b"PNG");
/// assert!(Renderer::from_font_bytes(b"not a font".to_vec()).is_err());
/// ```
pub struct Renderer {
    font: Option<fontdue::Font>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("font", &self.font.as_ref().map(|_| "TrueType"))
            .finish()
    }
}

impl Renderer {
    /// The built-in 8x8 bitmap font only (Latin; other glyphs print as hollow boxes).
    pub fn builtin() -> Self {
        Renderer { font: None }
    }
    /// A font's bytes (the first face of a collection).
    pub fn from_font_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        let font = fontdue::Font::from_bytes(
            bytes,
            fontdue::FontSettings {
                collection_index: 0,
                ..Default::default()
            },
        )
        .map_err(|e| format!("not a usable font: {e}"))?;
        Ok(Renderer { font: Some(font) })
    }
    /// Whether Chinese text renders with real glyphs.
    pub fn has_cjk(&self) -> bool {
        self.font
            .as_ref()
            .is_some_and(|f| f.lookup_glyph_index('商') != 0)
    }
    /// The job as dots (`true` = black), `DOT_WIDTH` a row; a QR code or bitmap too large for
    /// the paper is an error.
    pub fn render_dots(&self, job: &[PrintCommand]) -> Result<Vec<Vec<bool>>, String> {
        Ok(canvas(job, self.font.as_ref())?
            .rows
            .iter()
            .map(|r| r.iter().map(|d| *d == 0).collect())
            .collect())
    }
    /// The job as a grayscale PNG `DOT_WIDTH` dots wide.
    pub fn render_png(&self, job: &[PrintCommand]) -> Result<Vec<u8>, String> {
        let c = canvas(job, self.font.as_ref())?;
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, DOT_WIDTH as u32, c.rows.len() as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().map_err(|e| e.to_string())?;
            let flat: Vec<u8> = c.rows.iter().flatten().copied().collect();
            w.write_image_data(&flat).map_err(|e| e.to_string())?;
        }
        Ok(out)
    }
}

struct Canvas {
    rows: Vec<[u8; DOT_WIDTH]>,
}

impl Canvas {
    fn grow(&mut self, h: usize) -> usize {
        let top = self.rows.len();
        self.rows.resize(top + h, [255u8; DOT_WIDTH]);
        top
    }
    fn dot(&mut self, x: i64, y: usize) {
        if (0..DOT_WIDTH as i64).contains(&x) && y < self.rows.len() {
            self.rows[y][x as usize] = 0;
        }
    }
}

fn line_height(size: TextSize) -> usize {
    match size {
        TextSize::Normal => 24,
        TextSize::Large => 48,
    }
}

/// Splits text into lines that fit the paper, by measured width.
fn wrap(text: &str, width_of: &dyn Fn(char) -> usize) -> Vec<(String, usize)> {
    let mut lines = vec![(String::new(), 0usize)];
    for ch in text.chars() {
        let w = width_of(ch);
        let cur = lines.last_mut().expect("non-empty");
        if cur.1 + w > DOT_WIDTH && !cur.0.is_empty() {
            // Break after the last space when there is one (Latin words stay whole); CJK breaks anywhere.
            let carry = match cur.0.rfind(' ') {
                Some(i) if i > 0 && ch != ' ' => cur.0.split_off(i + 1),
                _ => String::new(),
            };
            let trimmed = cur.0.trim_end().to_string();
            cur.1 = trimmed.chars().map(width_of).sum();
            cur.0 = trimmed;
            let mut next = carry;
            if ch != ' ' {
                next.push(ch);
            }
            let nw = next.chars().map(width_of).sum();
            lines.push((next, nw));
        } else {
            cur.0.push(ch);
            cur.1 += w;
        }
    }
    lines
}

fn x_start(align: Align, width: usize) -> i64 {
    match align {
        Align::Left => 0,
        Align::Center => (DOT_WIDTH.saturating_sub(width) / 2) as i64,
        Align::Right => DOT_WIDTH.saturating_sub(width) as i64,
    }
}

fn draw_text(
    c: &mut Canvas,
    font: Option<&fontdue::Font>,
    text: &str,
    align: Align,
    size: TextSize,
) {
    let lh = line_height(size);
    match font {
        Some(f) => {
            let px = lh as f32 * 0.92;
            let adv = |ch: char| f.metrics(ch, px).advance_width.round() as usize;
            let ascent = f
                .horizontal_line_metrics(px)
                .map(|m| m.ascent)
                .unwrap_or(px * 0.8);
            for (line, width) in wrap(text, &adv) {
                let top = c.grow(lh);
                let baseline = top as f32 + ascent;
                let mut x = x_start(align, width) as f32;
                for ch in line.chars() {
                    let (m, bitmap) = f.rasterize(ch, px);
                    let gx = x + m.xmin as f32;
                    let gy = baseline - m.height as f32 - m.ymin as f32;
                    for row in 0..m.height {
                        for col in 0..m.width {
                            if bitmap[row * m.width + col] >= 110 {
                                let y = gy as i64 + row as i64;
                                if y >= 0 {
                                    c.dot(gx as i64 + col as i64, y as usize);
                                }
                            }
                        }
                    }
                    x += m.advance_width;
                }
            }
        }
        None => {
            let (cw, scale_y) = match size {
                TextSize::Normal => (12usize, 2usize),
                TextSize::Large => (24, 4),
            };
            for (line, width) in wrap(text, &|_| cw) {
                let top = c.grow(lh);
                let x0 = x_start(align, width);
                for (i, ch) in line.chars().enumerate() {
                    let glyph = font8x8::BASIC_FONTS
                        .get(ch)
                        .or_else(|| font8x8::LATIN_FONTS.get(ch))
                        .unwrap_or([0xFF, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xFF]);
                    for y in 0..8 * scale_y {
                        for x in 0..cw {
                            if glyph[y / scale_y] & (1 << (x * 8 / cw)) != 0 {
                                c.dot(x0 + (i * cw + x) as i64, top + y + (lh - 8 * scale_y) / 2);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn draw_qr(c: &mut Canvas, data: &str, module: u32) -> Result<(), String> {
    let code = qrcode::QrCode::new(data.as_bytes()).map_err(|e| e.to_string())?;
    let n = code.width();
    let colors = code.to_colors();
    let m = module.max(1) as usize;
    let quiet = 4 * m;
    let size = n * m + 2 * quiet;
    if size > DOT_WIDTH {
        return Err(format!("QR code of {size} dots does not fit the paper"));
    }
    let top = c.grow(size);
    let x0 = (DOT_WIDTH - size) / 2 + quiet;
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % n, i / n);
            for dy in 0..m {
                for dx in 0..m {
                    c.dot((x0 + mx * m + dx) as i64, top + quiet + my * m + dy);
                }
            }
        }
    }
    Ok(())
}

/// A QR symbol alone as a grayscale PNG for a screen: `module` pixels a module and a 4-module
/// quiet zone.
///
/// ```
/// let png = smartpos_hal::render::qr_png("hello", 4).unwrap();
/// assert_eq!(&png[1..4], b"PNG");
/// ```
pub fn qr_png(data: &str, module: u32) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(data.as_bytes()).map_err(|e| e.to_string())?;
    let n = code.width();
    let colors = code.to_colors();
    let m = module.clamp(1, 32) as usize;
    let size = (n + 8) * m;
    let mut pixels = vec![255u8; size * size];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = (i % n + 4, i / n + 4);
            for dy in 0..m {
                let row = (my * m + dy) * size;
                pixels[row + mx * m..row + mx * m + m].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size as u32, size as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// What a job puts on paper: `DOT_WIDTH` dots a row, `true` for a dark dot. A QR code too large
/// for the paper is an error.
///
/// ```
/// use smartpos_hal::{render, PrintCommand};
/// let bits = vec![true, false, false, true];
/// let paper = render::render_dots(&[PrintCommand::Bitmap { width: 2, pixels: bits.clone() }]).unwrap();
/// assert!(render::contains_bitmap(&paper, 2, &bits));
/// assert!(!render::contains_bitmap(&paper, 2, &[false, true, true, false]));
/// ```
pub fn render_dots(job: &[PrintCommand]) -> Result<Vec<Vec<bool>>, String> {
    Renderer::builtin().render_dots(job)
}

/// Whether the bitmap (`width` dots a row) appears on the paper exactly, dot for dot.
pub fn contains_bitmap(paper: &[Vec<bool>], width: u32, pixels: &[bool]) -> bool {
    let w = width as usize;
    if w == 0 || pixels.is_empty() || !pixels.len().is_multiple_of(w) {
        return false;
    }
    let h = pixels.len() / w;
    let rows: Vec<&[bool]> = pixels.chunks(w).collect();
    (0..paper.len().saturating_sub(h - 1)).any(|y| {
        let first = &paper[y];
        (0..first.len().saturating_sub(w - 1)).any(|x| {
            rows.iter()
                .enumerate()
                .all(|(dy, row)| paper[y + dy].get(x..x + w) == Some(*row))
        })
    })
}

fn canvas(job: &[PrintCommand], font: Option<&fontdue::Font>) -> Result<Canvas, String> {
    let mut c = Canvas { rows: Vec::new() };
    c.grow(8);
    for cmd in job {
        match cmd {
            PrintCommand::Text { text, align, size } => {
                draw_text(&mut c, font, text, *align, *size)
            }
            PrintCommand::Qr { data, module } => draw_qr(&mut c, data, *module)?,
            PrintCommand::Bitmap { width, pixels } => {
                let w = *width as usize;
                if w == 0 || w > DOT_WIDTH {
                    return Err(format!(
                        "a bitmap {w} dots wide does not fit the {DOT_WIDTH}-dot head"
                    ));
                }
                let h = pixels.len().div_ceil(w);
                let top = c.grow(h);
                let x0 = (DOT_WIDTH - w) / 2;
                for (i, p) in pixels.iter().enumerate() {
                    if *p {
                        c.dot((x0 + i % w) as i64, top + i / w);
                    }
                }
            }
            PrintCommand::Feed { lines } => {
                c.grow(24 * *lines as usize);
            }
            PrintCommand::Rule => {
                let top = c.grow(12);
                for x in (0..DOT_WIDTH).filter(|x| x % 8 < 5) {
                    c.dot(x as i64, top + 6);
                }
            }
        }
    }
    c.grow(16);
    Ok(c)
}

/// Renders a job to a grayscale PNG `DOT_WIDTH` dots wide with the built-in font; a QR code too
/// large for the paper is an error.
pub fn render_png(job: &[PrintCommand]) -> Result<Vec<u8>, String> {
    Renderer::builtin().render_png(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_printer_width_and_qr_that_does_not_fit_is_an_error() {
        let png = render_png(&[PrintCommand::line("HELLO 商户")]).unwrap();
        let reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        assert_eq!(reader.info().width as usize, DOT_WIDTH);
        assert!(render_png(&[PrintCommand::Qr {
            data: "x".repeat(500),
            module: 8
        }])
        .is_err());
    }
}
