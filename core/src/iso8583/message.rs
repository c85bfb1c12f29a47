//! An ISO 8583 message: MTI and fields, packed and unpacked by a field table.

use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::spec::{FieldSpec, Kind, LenRule};
use super::{ascii, bcd};

/// A message type indicator, four decimal digits.
///
/// ```
/// use smartpos_core::iso8583::Mti;
/// let m = Mti::new(200).unwrap();
/// assert_eq!(m.to_string(), "0200");
/// assert_eq!(m.response().unwrap().to_string(), "0210");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mti(u16);

impl Mti {
    /// 0000: a placeholder until a message is decoded into.
    pub(crate) const EMPTY: Mti = Mti(0);
    /// An MTI from its number (0..=9999).
    pub fn new(n: u16) -> Option<Self> {
        (n <= 9999).then_some(Mti(n))
    }
    /// The number.
    pub fn value(self) -> u16 {
        self.0
    }
    /// The response MTI (request + 10), if this is a request.
    pub fn response(self) -> Option<Mti> {
        (self.0 / 10).is_multiple_of(2).then(|| Mti(self.0 + 10))
    }
    fn bcd(self) -> [u8; 2] {
        let d = |n: u16| (n % 10) as u8;
        [
            (d(self.0 / 1000) << 4) | d(self.0 / 100),
            (d(self.0 / 10) << 4) | d(self.0),
        ]
    }
}

impl std::fmt::Display for Mti {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// An ISO 8583 message. Text fields (n, z, an, ans) hold their characters as bytes; binary
/// fields hold raw bytes. Fields 2..=64; the bitmap is derived from which are present.
///
/// Field values live in one buffer with a span per field, so decoding a message makes one
/// allocation rather than one per field.
#[derive(Clone)]
pub struct Message {
    /// Message type.
    pub mti: Mti,
    /// Field `n` present when bit `64 - n` is set: the primary bitmap as a big-endian number.
    present: u64,
    spans: [(u32, u32); 65],
    data: Vec<u8>,
}

const fn bit(field: u8) -> u64 {
    1u64 << (64 - field as u32)
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.mti == other.mti && self.present == other.present && self.iter().eq(other.iter())
    }
}

impl Eq for Message {}

impl std::fmt::Debug for Message {
    /// Never prints card data or secrets: fields 2, 35, 36, 52, 55 and 62 are summarized.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_map();
        d.entry(&"mti", &self.mti.to_string());
        for (n, v) in self.iter() {
            match n {
                2 => d.entry(&n, &crate::card::mask_pan(&String::from_utf8_lossy(v))),
                35 | 36 | 52 | 55 | 62 => d.entry(&n, &format!("<{} bytes>", v.len())),
                _ => d.entry(&n, &String::from_utf8_lossy(v)),
            };
        }
        d.finish()
    }
}

impl Message {
    /// An empty message of this type.
    pub fn new(mti: Mti) -> Self {
        Self::with_capacity(mti, 0)
    }
    pub(crate) fn with_capacity(mti: Mti, bytes: usize) -> Self {
        Message {
            mti,
            present: 0,
            spans: [(0, 0); 65],
            data: Vec::with_capacity(bytes),
        }
    }
    /// Sets a field (2..=64). Text fields take their characters.
    pub fn set(&mut self, field: u8, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        if (2..=64).contains(&field) {
            let (start, len) = self.spans[field as usize];
            if self.present & bit(field) != 0 && value.len() <= len as usize {
                // overwrite in place: no growth when a field is set again
                let start = start as usize;
                self.data[start..start + value.len()].copy_from_slice(value);
            } else {
                let start = self.data.len() as u32;
                self.data.extend_from_slice(value);
                self.spans[field as usize].0 = start;
            }
            self.spans[field as usize].1 = value.len() as u32;
            self.present |= bit(field);
        }
        self
    }
    /// Removes a field.
    pub fn remove(&mut self, field: u8) -> Option<Vec<u8>> {
        let v = self.get(field)?.to_vec();
        self.present &= !bit(field);
        Some(v)
    }
    /// A field's bytes.
    pub fn get(&self, field: u8) -> Option<&[u8]> {
        if !(2..=64).contains(&field) || self.present & bit(field) == 0 {
            return None;
        }
        let (start, len) = self.spans[field as usize];
        Some(&self.data[start as usize..start as usize + len as usize])
    }
    /// A text field as `&str` (None if absent or not UTF-8).
    pub fn get_str(&self, field: u8) -> Option<&str> {
        std::str::from_utf8(self.get(field)?).ok()
    }
    /// Whether a field is present.
    pub fn has(&self, field: u8) -> bool {
        (2..=64).contains(&field) && self.present & bit(field) != 0
    }
    /// Present fields in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        let mut rest = self.present;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let n = rest.leading_zeros() as u8 + 1;
            rest &= !bit(n);
            let (start, len) = self.spans[n as usize];
            Some((n, &self.data[start as usize..start as usize + len as usize]))
        })
    }

    /// Packs MTI, bitmap and fields with `table`.
    ///
    /// ```
    /// use smartpos_core::iso8583::{Message, Mti, CUP_FIELDS};
    /// let mut m = Message::new(Mti::new(800).unwrap());
    /// m.set(11, "000001").set(41, "12345678");
    /// let bytes = m.encode(&CUP_FIELDS).unwrap();
    /// assert_eq!(Message::decode(&bytes, &CUP_FIELDS).unwrap(), m);
    /// ```
    pub fn encode(&self, table: &[Option<FieldSpec>; 65]) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(128);
        self.encode_into(table, &mut out)?;
        Ok(out)
    }

    /// Packs into `out` (appending).
    pub fn encode_into(
        &self,
        table: &[Option<FieldSpec>; 65],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        // Written into a slice sized for the most it can take (MTI, bitmap, every field's
        // characters and a 2-byte prefix each), then cut to what was written.
        let base = out.len();
        // (+ 8: the wide digit packer writes whole words)
        out.resize(
            base + 18 + self.data.len() + 2 * self.present.count_ones() as usize,
            0,
        );
        match self.encode_to(table, &mut out[base..]) {
            Ok(n) => {
                out.truncate(base + n);
                Ok(())
            }
            Err(e) => {
                out.truncate(base);
                Err(e)
            }
        }
    }

    /// Packs into `buf` (large enough); returns the bytes written.
    fn encode_to(
        &self,
        table: &[Option<FieldSpec>; 65],
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        buf[..2].copy_from_slice(&self.mti.bcd());
        buf[2..10].copy_from_slice(&self.present.to_be_bytes());
        let mut pos = 10;
        let mut rest = self.present;
        while rest != 0 {
            let n = rest.leading_zeros() as usize + 1;
            rest &= !(1u64 << (64 - n));
            let Some(spec) = &table[n] else {
                return Err(EncodeError::UndefinedField(n as u8));
            };
            let (start, len) = self.spans[n];
            pos += encode_field(
                n as u8,
                spec,
                &self.data,
                start as usize,
                len as usize,
                &mut buf[pos..],
            )?;
        }
        Ok(pos)
    }

    /// The MAC block: MTI through field 63 as sent, with bit 64 set in the bitmap.
    pub fn mac_block(&self, table: &[Option<FieldSpec>; 65]) -> Result<Vec<u8>, EncodeError> {
        let mut m = self.clone();
        m.set(64, vec![0u8; 8]);
        let mut bytes = m.encode(table)?;
        bytes.truncate(bytes.len() - 8);
        Ok(bytes)
    }

    /// Unpacks MTI, bitmap and fields; every byte must be consumed.
    pub fn decode(bytes: &[u8], table: &[Option<FieldSpec>; 65]) -> Result<Message, DecodeError> {
        // digits unpack to twice their packed size; one allocation for every field
        let mut msg = Message::with_capacity(Mti::EMPTY, 2 * bytes.len());
        msg.decode_into(bytes, table)?;
        Ok(msg)
    }

    /// [`Message::decode`] into this message, reusing its buffer (no allocation once the buffer
    /// is large enough). On error the message is left empty.
    ///
    /// ```
    /// use smartpos_core::iso8583::{Message, Mti, CUP_FIELDS};
    /// let mut a = Message::new(Mti::new(800).unwrap());
    /// a.set(11, "000001");
    /// let bytes = a.encode(&CUP_FIELDS).unwrap();
    /// let mut b = Message::new(Mti::new(200).unwrap());
    /// b.decode_into(&bytes, &CUP_FIELDS).unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn decode_into(
        &mut self,
        bytes: &[u8],
        table: &[Option<FieldSpec>; 65],
    ) -> Result<(), DecodeError> {
        self.present = 0;
        self.data.clear();
        let env = |k| DecodeError::new(0, k);
        if bytes.len() < 10 {
            return Err(env(DecodeErrorKind::Truncated));
        }
        let mti_n = bcd::read_len(&bytes[..2]).ok_or(env(DecodeErrorKind::BadBcd))? as u16;
        let present = u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes"));
        if present & bit(1) != 0 {
            return Err(env(DecodeErrorKind::SecondaryBitmap));
        }
        self.mti = Mti(mti_n);
        let mut pos = 10;
        let mut rest = present;
        while rest != 0 {
            let n = rest.leading_zeros() as u8 + 1;
            rest &= !bit(n);
            let spec = table[n as usize]
                .as_ref()
                .ok_or(DecodeError::new(n, DecodeErrorKind::UndefinedField))?;
            let start = self.data.len();
            let used = decode_field(spec, &bytes[pos..], &mut self.data)
                .map_err(|k| DecodeError::new(n, k))?;
            self.spans[n as usize] = (start as u32, (self.data.len() - start) as u32);
            pos += used;
        }
        if pos != bytes.len() {
            return Err(env(DecodeErrorKind::TrailingBytes(bytes.len() - pos)));
        }
        self.present = present;
        Ok(())
    }
}

fn spec_words(spec: &FieldSpec) -> String {
    format!("{:?} {:?}", spec.kind, spec.len)
}

/// Writes one field (length prefix and content) at the front of `out`; returns the bytes
/// written.
#[inline(always)]
fn encode_field(
    n: u8,
    spec: &FieldSpec,
    data: &[u8],
    start: usize,
    len: usize,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let v = &data[start..start + len];
    let bad_len = || EncodeError::BadLength {
        field: n,
        got: v.len(),
        spec: spec_words(spec),
    };
    match spec.len {
        LenRule::Fixed(l) if v.len() != l => return Err(bad_len()),
        LenRule::LlVar(max) | LenRule::LllVar(max) if v.len() > max => return Err(bad_len()),
        _ => {}
    }
    let prefix = spec.prefix_width();
    bcd::write_len_to(v.len(), &mut out[..prefix]);
    let out = &mut out[prefix..];
    match spec.kind {
        Kind::N | Kind::Z => {
            let bytes = v.len().div_ceil(2);
            let wide = (spec.kind == Kind::N)
                .then(|| bcd::pack_digits_wide(data, start, len, spec.left_align, out))
                .flatten();
            let ok = wide.unwrap_or_else(|| {
                bcd::pack_to(v, spec.left_align, spec.kind == Kind::Z, &mut out[..bytes])
            });
            if !ok {
                return Err(EncodeError::BadContent { field: n });
            }
            Ok(prefix + bytes)
        }
        Kind::An => {
            if !ascii::all_printable(v) {
                return Err(EncodeError::BadContent { field: n });
            }
            ascii::copy_short(v, out);
            Ok(prefix + v.len())
        }
        Kind::Ans | Kind::B => {
            ascii::copy_short(v, out);
            Ok(prefix + v.len())
        }
    }
}

fn take(input: &[u8], n: usize) -> Result<&[u8], DecodeErrorKind> {
    input.get(..n).ok_or(DecodeErrorKind::Truncated)
}

#[inline]
/// Decodes one field from the front of `input` into `out`; returns the bytes consumed.
fn decode_field(
    spec: &FieldSpec,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, DecodeErrorKind> {
    let (units, prefix) = spec.read_length(input)?;
    let rest = &input[prefix..];
    match spec.kind {
        Kind::N | Kind::Z => {
            let nbytes = units.div_ceil(2);
            let raw = take(rest, nbytes)?;
            if !bcd::unpack_into(raw, units, spec.left_align, spec.kind == Kind::Z, out) {
                return Err(DecodeErrorKind::BadBcd);
            }
            Ok(prefix + nbytes)
        }
        Kind::An => {
            let raw = take(rest, units)?;
            if !ascii::all_printable(raw) {
                return Err(DecodeErrorKind::NotPrintable);
            }
            out.extend_from_slice(raw);
            Ok(prefix + units)
        }
        Kind::Ans | Kind::B => {
            out.extend_from_slice(take(rest, units)?);
            Ok(prefix + units)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::CUP_FIELDS;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packs_fields_on_literal_bytes() {
        let mut m = Message::new(Mti::new(200).unwrap());
        m.set(3, "000000")
            .set(4, "000000001234")
            .set(22, "021")
            .set(35, "6222=3012");
        let b = m.encode(&CUP_FIELDS).unwrap();
        assert_eq!(
            hex::encode_upper(&b),
            // MTI | bitmap (3,4,22,35) | F3 | F4 | F22 left-aligned | F35 LL=09 digits, D separator
            "020030000400200000000000000000000012340210096222D30120"
        );
        assert_eq!(Message::decode(&b, &CUP_FIELDS).unwrap(), m);
    }

    #[test]
    fn decode_names_the_field() {
        let mut m = Message::new(Mti::new(200).unwrap());
        m.set(4, "000000001234").set(41, "12345678");
        let b = m.encode(&CUP_FIELDS).unwrap();
        let err = Message::decode(&b[..b.len() - 1], &CUP_FIELDS).unwrap_err();
        assert_eq!(
            err,
            DecodeError {
                field: 41,
                kind: DecodeErrorKind::Truncated
            }
        );
        let mut bad = b.clone();
        bad[10] = 0xAB; // first byte of F4 is not BCD
        assert_eq!(Message::decode(&bad, &CUP_FIELDS).unwrap_err().field, 4);
        let mut trailing = b;
        trailing.push(0);
        assert_eq!(
            Message::decode(&trailing, &CUP_FIELDS).unwrap_err().kind,
            DecodeErrorKind::TrailingBytes(1)
        );
    }

    #[test]
    fn refuses_undefined_fields_and_bad_lengths() {
        let mut m = Message::new(Mti::new(200).unwrap());
        m.set(5, "1");
        assert_eq!(m.encode(&CUP_FIELDS), Err(EncodeError::UndefinedField(5)));
        let mut m = Message::new(Mti::new(200).unwrap());
        m.set(4, "1234");
        assert!(matches!(
            m.encode(&CUP_FIELDS),
            Err(EncodeError::BadLength { field: 4, .. })
        ));
        let mut m = Message::new(Mti::new(200).unwrap());
        m.set(2, "12345678901234567890");
        assert!(matches!(
            m.encode(&CUP_FIELDS),
            Err(EncodeError::BadLength { field: 2, .. })
        ));
        // a bitmap bit for an undefined field
        let bytes = [0x02, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x00];
        assert_eq!(
            Message::decode(&bytes, &CUP_FIELDS).unwrap_err(),
            DecodeError {
                field: 5,
                kind: DecodeErrorKind::UndefinedField
            }
        );
    }

    fn digits(min: usize, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(0u8..10, min..=max)
            .prop_map(|v| v.into_iter().map(|d| (b'0' + d) as char).collect())
    }

    proptest! {
        #[test]
        fn round_trips(pan in digits(12, 19), amount in digits(12, 12), f60 in digits(1, 17),
                       f62 in proptest::collection::vec(any::<u8>(), 0..512),
                       f63 in proptest::collection::vec(any::<u8>(), 0..163)) {
            let mut m = Message::new(Mti::new(210).unwrap());
            m.set(2, pan).set(4, amount).set(22, "051").set(39, "00").set(60, f60).set(62, f62).set(63, f63);
            let b = m.encode(&CUP_FIELDS).unwrap();
            prop_assert_eq!(&Message::decode(&b, &CUP_FIELDS).unwrap(), &m);
            // decoding into a message that held other fields leaves none of them behind
            let mut reused = Message::new(Mti::new(800).unwrap());
            reused.set(11, "000001").set(41, "12345678").set(62, vec![7u8; 40]);
            reused.decode_into(&b, &CUP_FIELDS).unwrap();
            prop_assert_eq!(reused, m);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Message::decode(&bytes, &CUP_FIELDS);
        }
    }
}
