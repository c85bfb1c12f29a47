//! Typed codec errors that name the field at fault.

/// What was wrong with a field or the envelope while decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside this part.
    #[error("input ends early")]
    Truncated,
    /// A length prefix or numeric content has a nibble that is not a decimal digit.
    #[error("not BCD")]
    BadBcd,
    /// A variable length exceeds the field's maximum.
    #[error("length {got} exceeds the maximum {max}")]
    TooLong {
        /// Declared length.
        got: usize,
        /// Spec maximum.
        max: usize,
    },
    /// The bitmap has a bit set for a field the profile does not define.
    #[error("field not defined by the profile")]
    UndefinedField,
    /// Bit 1 (secondary bitmap) is not used by the CUP POS profile.
    #[error("secondary bitmap is not supported")]
    SecondaryBitmap,
    /// Bytes remain after the last field.
    #[error("{0} bytes after the last field")]
    TrailingBytes(usize),
    /// The 2-byte length prefix does not match the frame.
    #[error("frame length prefix says {declared}, frame has {actual}")]
    LengthMismatch {
        /// Declared in the prefix.
        declared: usize,
        /// Bytes present.
        actual: usize,
    },
    /// Text content where only printable ASCII is allowed.
    #[error("non-printable character")]
    NotPrintable,
}

/// A decoding failure: which part (`field` 0 = envelope: length, TPDU, header, MTI, bitmap).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ISO 8583 decode error in {}: {kind}", part_name(*.field))]
pub struct DecodeError {
    /// Field number, or 0 for the envelope.
    pub field: u8,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

fn part_name(field: u8) -> String {
    if field == 0 {
        "envelope".to_string()
    } else {
        format!("field {field}")
    }
}

impl DecodeError {
    pub(crate) fn new(field: u8, kind: DecodeErrorKind) -> Self {
        DecodeError { field, kind }
    }
}

/// A field value the profile cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The profile does not define this field.
    #[error("field {0} is not defined by the profile")]
    UndefinedField(u8),
    /// Wrong length for a fixed field or too long for a variable one.
    #[error("field {field}: length {got} does not fit the spec ({spec})")]
    BadLength {
        /// Field number.
        field: u8,
        /// Value length in the field's units.
        got: usize,
        /// The spec, in words.
        spec: String,
    },
    /// Characters the field's content kind does not allow.
    #[error("field {field}: content not allowed for its kind")]
    BadContent {
        /// Field number.
        field: u8,
    },
}
