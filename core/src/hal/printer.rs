//! Printer commands: what a receipt becomes before it meets a print head.

use serde::{Deserialize, Serialize};

/// Text alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// Left.
    Left,
    /// Centre.
    Center,
    /// Right.
    Right,
}

/// Text size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSize {
    /// 24-dot line.
    Normal,
    /// 48-dot line.
    Large,
}

/// One printer command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum PrintCommand {
    /// A line of text (UTF-8; Chinese included).
    Text {
        /// The text.
        text: String,
        /// Alignment.
        align: Align,
        /// Size.
        size: TextSize,
    },
    /// A 1-bit bitmap, rows of `width` pixels, `true` = black.
    Bitmap {
        /// Width in dots.
        width: u32,
        /// Pixels, row-major.
        pixels: Vec<bool>,
    },
    /// A QR code of `data`, centred.
    Qr {
        /// Payload.
        data: String,
        /// Dots per module.
        module: u32,
    },
    /// Blank lines.
    Feed {
        /// How many.
        lines: u32,
    },
    /// A dashed separator across the paper.
    Rule,
}

impl PrintCommand {
    /// A left-aligned normal text line.
    pub fn line(text: impl Into<String>) -> Self {
        PrintCommand::Text {
            text: text.into(),
            align: Align::Left,
            size: TextSize::Normal,
        }
    }
    /// A centred line.
    pub fn center(text: impl Into<String>, size: TextSize) -> Self {
        PrintCommand::Text {
            text: text.into(),
            align: Align::Center,
            size,
        }
    }
}

/// Paper and cover state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperStatus {
    /// Ready.
    Ok,
    /// Out of paper.
    OutOfPaper,
    /// Cover open.
    CoverOpen,
}
