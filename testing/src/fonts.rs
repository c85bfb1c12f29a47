//! Finding a CJK font on a development machine, for the simulated printer, the demo and the
//! receipt tests. The renderer itself (`smartpos_hal::render::Renderer`) takes font bytes; a
//! real acquiring app passes a font from its own assets.

use smartpos_hal::render::Renderer;
use std::sync::OnceLock;

/// Where Debian puts CJK-capable fonts, in the order tried (after `SMARTPOS_FONT`).
pub const FONT_PATHS: [&str; 5] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// A renderer with the first usable font of `SMARTPOS_FONT` and [`FONT_PATHS`], or the built-in
/// bitmap font when none is found (read once per process).
pub fn system_renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| {
        let mut paths: Vec<String> = std::env::var("SMARTPOS_FONT").into_iter().collect();
        paths.extend(FONT_PATHS.iter().map(|p| p.to_string()));
        paths
            .iter()
            .find_map(|p| Renderer::from_font_bytes(std::fs::read(p).ok()?).ok())
            .unwrap_or_else(Renderer::builtin)
    })
}
