//! BER-TLV as EMV uses it (EMV Book 3 Annex B): tags of one to three bytes, lengths in short
//! form or long form with one or two length bytes. Field 55 carries a flat list of them.

/// A tag, its bytes read as a big-endian number (`0x9F26`, `0x95`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl Tag {
    /// Whether the tag is constructed (its value is itself a TLV list): bit 6 of its first byte.
    pub fn constructed(self) -> bool {
        let first = self.bytes()[0];
        first & 0x20 != 0
    }

    /// The tag's bytes as they go on the wire.
    pub fn bytes(self) -> Vec<u8> {
        let b = self.0.to_be_bytes();
        let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
        b[skip..].to_vec()
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", hex::encode_upper(self.bytes()))
    }
}

/// One data object, borrowing its value from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Why a TLV list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The input ended inside a tag, a length or a value.
    #[error("TLV data ends inside the object at byte {at}")]
    Truncated {
        /// Offset of the object.
        at: usize,
    },
    /// A tag longer than three bytes.
    #[error("tag at byte {at} is longer than three bytes")]
    TagTooLong {
        /// Offset of the tag.
        at: usize,
    },
    /// A length form EMV does not use (indefinite, or more than two length bytes).
    #[error("unsupported length form 0x{form:02X} at byte {at}")]
    BadLength {
        /// The first length byte.
        form: u8,
        /// Offset of the length.
        at: usize,
    },
    /// A value too long to encode (over 65,535 bytes).
    #[error("value of {len} bytes is too long for a TLV")]
    TooLong {
        /// The length.
        len: usize,
    },
}

/// Reads a flat list of data objects (constructed values are not opened; read them with
/// [`decode`] again). Padding bytes `00` and `FF` between objects are skipped, as EMV allows.
///
/// ```
/// use smartpos_core::emv::tlv::{decode, Tag};
/// let list = decode(&[0x9F, 0x36, 0x02, 0x00, 0x2A, 0x95, 0x05, 0, 0, 0, 0, 0]).unwrap();
/// assert_eq!(list[0].tag, Tag(0x9F36));
/// assert_eq!(list[0].value, &[0x00, 0x2A]);
/// assert_eq!(list[1].tag.to_string(), "95");
/// ```
pub fn decode(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        if matches!(input[pos], 0x00 | 0xFF) {
            pos += 1;
            continue;
        }
        let at = pos;
        let truncated = TlvError::Truncated { at };
        // tag: a first byte whose low five bits are all set continues while bit 8 is set
        let mut tag = input[pos] as u32;
        pos += 1;
        if tag & 0x1F == 0x1F {
            loop {
                let b = *input.get(pos).ok_or(truncated.clone())?;
                pos += 1;
                if tag > 0xFFFF {
                    return Err(TlvError::TagTooLong { at });
                }
                tag = (tag << 8) | b as u32;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let form = *input.get(pos).ok_or(truncated.clone())?;
        pos += 1;
        let len = match form {
            0x00..=0x7F => form as usize,
            0x81 => {
                let l = *input.get(pos).ok_or(truncated.clone())? as usize;
                pos += 1;
                l
            }
            0x82 => {
                let b = input.get(pos..pos + 2).ok_or(truncated.clone())?;
                pos += 2;
                ((b[0] as usize) << 8) | b[1] as usize
            }
            _ => return Err(TlvError::BadLength { form, at: pos - 1 }),
        };
        let value = input.get(pos..pos + len).ok_or(truncated)?;
        pos += len;
        out.push(Tlv {
            tag: Tag(tag),
            value,
        });
    }
    Ok(out)
}

/// Appends one data object (shortest length form).
///
/// ```
/// use smartpos_core::emv::tlv::{encode, Tag};
/// let mut out = Vec::new();
/// encode(Tag(0x9F26), &[1, 2, 3, 4, 5, 6, 7, 8], &mut out).unwrap();
/// assert_eq!(hex::encode_upper(&out), "9F26080102030405060708");
/// ```
pub fn encode(tag: Tag, value: &[u8], out: &mut Vec<u8>) -> Result<(), TlvError> {
    out.extend_from_slice(&tag.bytes());
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n @ 0x100..=0xFFFF => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        n => return Err(TlvError::TooLong { len: n }),
    }
    out.extend_from_slice(value);
    Ok(())
}

/// The value of the first object with `tag` in a flat list.
pub fn find<'a>(list: &[Tlv<'a>], tag: Tag) -> Option<&'a [u8]> {
    list.iter().find(|t| t.tag == tag).map(|t| t.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_long_forms_and_refuses_what_emv_does_not_use() {
        let mut data = vec![0x71, 0x81, 0x80];
        data.extend(std::iter::repeat_n(0xAA, 0x80));
        let list = decode(&data).unwrap();
        assert_eq!((list[0].tag, list[0].value.len()), (Tag(0x71), 0x80));
        assert!(list[0].tag.constructed());
        assert_eq!(
            decode(&[0x9F, 0x26, 0x80]),
            Err(TlvError::BadLength { form: 0x80, at: 2 })
        );
        assert_eq!(
            decode(&[0x9F, 0x26, 0x08, 1]),
            Err(TlvError::Truncated { at: 0 })
        );
        assert_eq!(
            decode(&[0x9F, 0xFF, 0xFF, 0x01, 0x00]),
            Err(TlvError::TagTooLong { at: 0 })
        );
    }

    proptest! {
        #[test]
        fn round_trips(objs in proptest::collection::vec(
                (prop_oneof![Just(0x82u32), Just(0x95), Just(0x9F26), Just(0x9F10), Just(0x5F2A), Just(0xDF8101)],
                 proptest::collection::vec(any::<u8>(), 0..300)), 0..6)) {
            let mut out = Vec::new();
            for (t, v) in &objs {
                encode(Tag(*t), v, &mut out).unwrap();
            }
            let list = decode(&out).unwrap();
            prop_assert_eq!(list.len(), objs.len());
            for (l, (t, v)) in list.iter().zip(&objs) {
                prop_assert_eq!(l.tag, Tag(*t));
                prop_assert_eq!(l.value, &v[..]);
            }
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&data);
        }
    }
}
