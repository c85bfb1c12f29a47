//! The CUP POS field table: formats as data, one entry a field.

/// Content kind of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Numeric, packed BCD; lengths count digits.
    N,
    /// Track data, packed BCD with `=` as nibble D; lengths count digits.
    Z,
    /// Alphanumeric (printable ASCII); lengths count bytes.
    An,
    /// Alphanumeric and special (any bytes, e.g. GBK text); lengths count bytes.
    Ans,
    /// Binary; lengths count bytes.
    B,
}

/// How long a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenRule {
    /// Exactly this many units.
    Fixed(usize),
    /// One BCD length byte, at most this many units.
    LlVar(usize),
    /// Two BCD length bytes, at most this many units.
    LllVar(usize),
}

/// A field's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Content kind.
    pub kind: Kind,
    /// Length rule.
    pub len: LenRule,
    /// For odd digit counts: pad nibble after the digits (true) or before them (false).
    pub left_align: bool,
    /// What the field is, for messages.
    pub name: &'static str,
}

impl FieldSpec {
    /// Bytes of the field's BCD length prefix: 0 (fixed), 1 (LLVAR) or 2 (LLLVAR).
    pub fn prefix_width(&self) -> usize {
        match self.len {
            LenRule::Fixed(_) => 0,
            LenRule::LlVar(_) => 1,
            LenRule::LllVar(_) => 2,
        }
    }

    /// The units (digits or bytes) of the field whose length prefix, if any, starts `input`,
    /// and the prefix's width; the prefix is checked (BCD, at most the field's maximum).
    #[inline]
    pub(crate) fn read_length(
        &self,
        input: &[u8],
    ) -> Result<(usize, usize), super::error::DecodeErrorKind> {
        use super::error::DecodeErrorKind;
        let max = match self.len {
            LenRule::Fixed(l) => return Ok((l, 0)),
            LenRule::LlVar(max) | LenRule::LllVar(max) => max,
        };
        let w = self.prefix_width();
        let prefix = input.get(..w).ok_or(DecodeErrorKind::Truncated)?;
        let units = super::bcd::read_len(prefix).ok_or(DecodeErrorKind::BadBcd)?;
        if units > max {
            return Err(DecodeErrorKind::TooLong { got: units, max });
        }
        Ok((units, w))
    }

    /// Bytes on the wire of `units` of this field (digits pack two a byte).
    #[inline]
    pub fn wire_bytes(&self, units: usize) -> usize {
        match self.kind {
            Kind::N | Kind::Z => units.div_ceil(2),
            Kind::An | Kind::Ans | Kind::B => units,
        }
    }
}

const fn f(kind: Kind, len: LenRule, left_align: bool, name: &'static str) -> Option<FieldSpec> {
    Some(FieldSpec {
        kind,
        len,
        left_align,
        name,
    })
}

use Kind::*;
use LenRule::*;

/// A field table, indexed by field number (0 and 1 unused).
pub type FieldTable = [Option<FieldSpec>; 65];

/// Field formats of the China UnionPay POS profile with DES keys (8-byte PIN block in F52).
/// Variable numeric fields are left-aligned (trailing pad nibble); fixed ones right-aligned,
/// except field 22.
pub static CUP_FIELDS: FieldTable = cup_table(8);

/// The same profile with SM4 keys: F52 carries the 16-byte SM4 PIN block; nothing else changes.
pub static CUP_SM4_FIELDS: FieldTable = cup_table(16);

const fn cup_table(pin_block_len: usize) -> FieldTable {
    let mut t: FieldTable = [None; 65];
    t[2] = f(N, LlVar(19), true, "primary account number");
    t[3] = f(N, Fixed(6), false, "processing code");
    t[4] = f(N, Fixed(12), false, "amount");
    t[11] = f(N, Fixed(6), false, "system trace audit number");
    t[12] = f(N, Fixed(6), false, "local time hhmmss");
    t[13] = f(N, Fixed(4), false, "local date MMDD");
    t[14] = f(N, Fixed(4), false, "expiry date YYMM");
    t[15] = f(N, Fixed(4), false, "settlement date MMDD");
    t[22] = f(N, Fixed(3), true, "POS entry mode");
    t[23] = f(N, Fixed(3), false, "card sequence number");
    t[25] = f(N, Fixed(2), false, "POS condition code");
    t[26] = f(N, Fixed(2), false, "PIN capture code");
    t[32] = f(N, LlVar(11), true, "acquiring institution id");
    t[35] = f(Z, LlVar(37), true, "track 2 data");
    t[36] = f(Z, LllVar(104), true, "track 3 data");
    t[37] = f(An, Fixed(12), false, "retrieval reference number");
    t[38] = f(An, Fixed(6), false, "authorization code");
    t[39] = f(An, Fixed(2), false, "response code");
    t[41] = f(Ans, Fixed(8), false, "terminal id");
    t[42] = f(Ans, Fixed(15), false, "merchant id");
    t[44] = f(Ans, LlVar(25), false, "additional response data");
    t[48] = f(N, LllVar(322), true, "additional data (settlement totals)");
    t[49] = f(An, Fixed(3), false, "currency code");
    t[52] = f(B, Fixed(pin_block_len), false, "PIN block");
    t[53] = f(N, Fixed(16), false, "security control information");
    t[54] = f(An, LllVar(20), false, "balance amount (inquiry response)");
    t[55] = f(B, LllVar(255), false, "ICC data");
    // The note gives n...017; published captures carry 19 digits (60.6/60.7 extensions).
    t[60] = f(
        N,
        LllVar(19),
        true,
        "reserved private (type, batch, network code)",
    );
    t[61] = f(N, LllVar(29), true, "original message data");
    t[62] = f(
        B,
        LllVar(512),
        false,
        "reserved private (keys, terminal data)",
    );
    t[63] = f(
        Ans,
        LllVar(163),
        false,
        "reserved private (operator, card org)",
    );
    t[64] = f(B, Fixed(8), false, "MAC");
    t
}
