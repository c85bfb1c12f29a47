//! Decoding without copying: a [`MessageView`] checks a whole message (lengths, bitmap, every
//! field's content) and keeps where each field sits in the input; a field is unpacked only when
//! it is read. It accepts exactly what [`Message::decode`] accepts and reads the same values.

use super::error::{DecodeError, DecodeErrorKind};
use super::frame::Header;
use super::message::{Message, Mti};
use super::spec::{FieldSpec, FieldTable, Kind};
use super::{ascii, bcd};
use std::borrow::Cow;

/// A field's place in its message: its content's offset, bytes on the wire and units (digits
/// or bytes), from its spec and its length prefix.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    bytes: usize,
    units: usize,
}

/// A decoded message that borrows its input.
///
/// ```
/// use smartpos_core::iso8583::{Message, MessageView, Mti, CUP_FIELDS};
/// let mut m = Message::new(Mti::new(210).unwrap());
/// m.set(11, "000001").set(39, "00").set(41, "12345678");
/// let bytes = m.encode(&CUP_FIELDS).unwrap();
/// let v = MessageView::decode(&bytes, &CUP_FIELDS).unwrap();
/// assert_eq!(v.mti().to_string(), "0210");
/// assert_eq!(v.get(39).as_deref(), Some(&b"00"[..])); // borrowed from `bytes`
/// assert_eq!(v.get(11).as_deref(), Some(&b"000001"[..])); // unpacked when read
/// assert_eq!(v.to_message(), m);
/// ```
#[derive(Clone)]
pub struct MessageView<'a> {
    mti: Mti,
    present: u64,
    input: &'a [u8],
    table: &'a FieldTable,
    /// Where each present field starts (at its length prefix). A valid message is under
    /// 3,000 bytes, so 16 bits hold any offset; longer inputs are refused at decode.
    at: [u16; 65],
}

const fn bit(field: u8) -> u64 {
    1u64 << (64 - field as u32)
}

impl<'a> MessageView<'a> {
    /// Checks MTI, bitmap and every field of `input`; every byte must be consumed.
    pub fn decode(input: &'a [u8], table: &'a FieldTable) -> Result<Self, DecodeError> {
        let env = |k| DecodeError::new(0, k);
        if input.len() < 10 {
            return Err(env(DecodeErrorKind::Truncated));
        }
        let mti = bcd::read_len(&input[..2]).ok_or(env(DecodeErrorKind::BadBcd))? as u16;
        let present = u64::from_be_bytes(input[2..10].try_into().expect("8 bytes"));
        if present & bit(1) != 0 {
            return Err(env(DecodeErrorKind::SecondaryBitmap));
        }
        let mut at = [0u16; 65];
        let mut pos = 10;
        let mut rest = present;
        while rest != 0 {
            let n = rest.leading_zeros() as usize + 1;
            rest &= !(1u64 << (64 - n));
            let fail = |k| DecodeError::new(n as u8, k);
            let Some(spec) = &table[n] else {
                return Err(fail(DecodeErrorKind::UndefinedField));
            };
            let (units, prefix) = spec.read_length(&input[pos..]).map_err(fail)?;
            let start = pos + prefix;
            let end = start + spec.wire_bytes(units);
            let Some(content) = input.get(start..end) else {
                return Err(fail(DecodeErrorKind::Truncated));
            };
            match spec.kind {
                Kind::N | Kind::Z => {
                    if !bcd::check(content, units, spec.left_align, spec.kind == Kind::Z) {
                        return Err(fail(DecodeErrorKind::BadBcd));
                    }
                }
                Kind::An => {
                    if !ascii::all_printable(content) {
                        return Err(fail(DecodeErrorKind::NotPrintable));
                    }
                }
                Kind::Ans | Kind::B => {}
            }
            if pos > u16::MAX as usize {
                return Err(fail(DecodeErrorKind::TooLong {
                    got: end,
                    max: u16::MAX as usize,
                }));
            }
            at[n] = pos as u16;
            pos = end;
        }
        if pos != input.len() {
            return Err(env(DecodeErrorKind::TrailingBytes(input.len() - pos)));
        }
        Ok(MessageView {
            mti: Mti::new(mti).ok_or(env(DecodeErrorKind::BadBcd))?,
            present,
            input,
            table,
            at,
        })
    }

    /// Message type.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// Whether a field is present.
    pub fn has(&self, field: u8) -> bool {
        (2..=64).contains(&field) && self.present & bit(field) != 0
    }

    /// Present field numbers in ascending order.
    pub fn fields(&self) -> impl Iterator<Item = u8> + '_ {
        (2..=64u8).filter(|&n| self.present & bit(n) != 0)
    }

    /// A field as it is on the wire, length prefix excluded (packed BCD for n and z fields).
    pub fn raw(&self, field: u8) -> Option<&'a [u8]> {
        let s = self.span(field)?;
        Some(&self.input[s.start..s.start + s.bytes])
    }

    fn span(&self, field: u8) -> Option<Span> {
        if !self.has(field) {
            return None;
        }
        let pos = self.at[field as usize] as usize;
        let spec = self.spec(field);
        let (units, prefix) = spec
            .read_length(&self.input[pos..])
            .expect("checked at decode");
        Some(Span {
            start: pos + prefix,
            bytes: spec.wire_bytes(units),
            units,
        })
    }

    fn spec(&self, field: u8) -> &FieldSpec {
        self.table[field as usize]
            .as_ref()
            .expect("decode checked every present field has a spec")
    }

    /// A field's value as [`Message::get`] gives it: text fields as their characters (n and z
    /// unpacked now, into a new buffer), binary fields as bytes, both borrowed when no unpacking
    /// is needed.
    pub fn get(&self, field: u8) -> Option<Cow<'a, [u8]>> {
        let raw = self.raw(field)?;
        let spec = self.spec(field);
        match spec.kind {
            Kind::N | Kind::Z => {
                let mut out = Vec::with_capacity(raw.len() * 2);
                self.unpack(field, raw, &mut out);
                Some(Cow::Owned(out))
            }
            Kind::An | Kind::Ans | Kind::B => Some(Cow::Borrowed(raw)),
        }
    }

    /// [`MessageView::get`] appended to `out` (no allocation once `out` has grown); false when
    /// the field is absent.
    pub fn read_into(&self, field: u8, out: &mut Vec<u8>) -> bool {
        let Some(raw) = self.raw(field) else {
            return false;
        };
        match self.spec(field).kind {
            Kind::N | Kind::Z => self.unpack(field, raw, out),
            Kind::An | Kind::Ans | Kind::B => out.extend_from_slice(raw),
        }
        true
    }

    fn unpack(&self, field: u8, raw: &[u8], out: &mut Vec<u8>) {
        let spec = self.spec(field);
        let ok = bcd::unpack_into(
            raw,
            self.span(field).map_or(0, |s| s.units),
            spec.left_align,
            spec.kind == Kind::Z,
            out,
        );
        debug_assert!(ok, "decode checked the digits");
    }

    /// A text field as a string (None if absent or not UTF-8).
    pub fn get_str(&self, field: u8) -> Option<Cow<'a, str>> {
        match self.get(field)? {
            Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
            Cow::Owned(v) => String::from_utf8(v).ok().map(Cow::Owned),
        }
    }

    /// Every field copied out into an owned [`Message`].
    pub fn to_message(&self) -> Message {
        let mut m = Message::new(self.mti);
        let mut buf = Vec::new();
        for n in self.fields() {
            buf.clear();
            self.read_into(n, &mut buf);
            m.set(n, &buf);
        }
        m
    }
}

/// A framed message decoded without copying: `LEN | TPDU | header | message`.
///
/// ```
/// use smartpos_core::iso8583::{samples, FrameView, CUP_FIELDS};
/// let (request, _) = samples::sale_pair();
/// let bytes = request.encode(&CUP_FIELDS).unwrap();
/// let v = FrameView::decode(&bytes, &CUP_FIELDS).unwrap();
/// assert_eq!(v.message.mti().to_string(), "0200");
/// assert_eq!(v.message.to_message(), request.message);
/// ```
#[derive(Clone)]
pub struct FrameView<'a> {
    /// Transport protocol data unit.
    pub tpdu: [u8; 5],
    /// CUP header.
    pub header: Header,
    /// The message, borrowing the frame.
    pub message: MessageView<'a>,
}

impl<'a> FrameView<'a> {
    /// Decodes a whole frame; the length prefix must match exactly.
    pub fn decode(bytes: &'a [u8], table: &'a FieldTable) -> Result<Self, DecodeError> {
        let (tpdu, header, message) = super::frame::envelope(bytes)?;
        Ok(FrameView {
            tpdu,
            header,
            message: MessageView::decode(message, table)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Frame, CUP_FIELDS};
    use super::*;
    use proptest::prelude::*;

    fn digits(min: usize, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(0u8..10, min..=max)
            .prop_map(|v| v.into_iter().map(|d| (b'0' + d) as char).collect())
    }

    proptest! {
        #[test]
        fn reads_what_the_copying_decoder_reads(pan in digits(12, 19), f60 in digits(1, 19),
                track in "[0-9]{12,19}=[0-9]{1,17}",
                f62 in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut m = Message::new(Mti::new(200).unwrap());
            m.set(2, pan).set(4, "000000001234").set(22, "051").set(35, track)
                .set(41, "12345678").set(60, f60).set(62, f62);
            let b = m.encode(&CUP_FIELDS).unwrap();
            let v = MessageView::decode(&b, &CUP_FIELDS).unwrap();
            for (n, value) in m.iter() {
                let got = v.get(n);
                prop_assert_eq!(got.as_deref(), Some(value));
            }
            prop_assert_eq!(v.to_message(), m);
        }

        #[test]
        fn accepts_exactly_what_the_copying_decoder_accepts(
                bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let copied = Message::decode(&bytes, &CUP_FIELDS);
            let viewed = MessageView::decode(&bytes, &CUP_FIELDS);
            match (copied, viewed) {
                (Ok(m), Ok(v)) => prop_assert_eq!(v.to_message(), m),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "copy {:?}, view {:?}", a.is_ok(), b.is_ok()),
            }
        }

        #[test]
        fn mutated_frames_agree_too(at in 0usize..200, to in any::<u8>()) {
            let (req, _) = super::super::samples::sale_pair();
            let mut b = req.encode(&CUP_FIELDS).unwrap();
            let i = 13 + at % (b.len() - 13);
            b[i] = to;
            let copied = Frame::decode(&b, &CUP_FIELDS);
            let viewed = FrameView::decode(&b, &CUP_FIELDS);
            match (copied, viewed) {
                (Ok(f), Ok(v)) => prop_assert_eq!(v.message.to_message(), f.message),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "copy {:?}, view {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }

    #[test]
    fn names_the_field_that_fails() {
        let (req, _) = super::super::samples::sale_pair();
        let b = req.encode(&CUP_FIELDS).unwrap();
        let err = FrameView::decode(&b[..b.len() - 1], &CUP_FIELDS)
            .err()
            .unwrap();
        assert_eq!(
            err.kind,
            DecodeErrorKind::LengthMismatch {
                declared: b.len() - 2,
                actual: b.len() - 3
            }
        );
        let msg = &b[13..];
        let err = MessageView::decode(&msg[..msg.len() - 1], &CUP_FIELDS)
            .err()
            .unwrap();
        assert_eq!(
            err,
            DecodeError {
                field: 64,
                kind: DecodeErrorKind::Truncated
            }
        );
    }
}
