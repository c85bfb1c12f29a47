//! Packed BCD helpers (two decimal digits a byte; `D` nibble stands for `=` in track data).

/// Packs ASCII digits (and `=` as nibble D when `track` is set). Odd counts get a 0 nibble:
/// leading when `left_align` is false, trailing when true. `None` on a character not allowed.
pub fn pack(text: &[u8], left_align: bool, track: bool) -> Option<Vec<u8>> {
    let mut nibbles = Vec::with_capacity(text.len() + 1);
    if text.len() % 2 == 1 && !left_align {
        nibbles.push(0u8);
    }
    for &c in text {
        nibbles.push(match c {
            b'0'..=b'9' => c - b'0',
            b'=' | b'D' if track => 0xD,
            _ => return None,
        });
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0);
    }
    Some(
        nibbles
            .chunks_exact(2)
            .map(|p| (p[0] << 4) | p[1])
            .collect(),
    )
}

/// Unpacks `digits` nibbles from `bytes`; the pad nibble sits first unless `left_align`.
pub fn unpack(bytes: &[u8], digits: usize, left_align: bool, track: bool) -> Option<Vec<u8>> {
    let skip = if digits % 2 == 1 && !left_align { 1 } else { 0 };
    let mut out = Vec::with_capacity(digits);
    for i in skip..skip + digits {
        let b = bytes[i / 2];
        let n = if i % 2 == 0 { b >> 4 } else { b & 0x0F };
        out.push(match n {
            0..=9 => b'0' + n,
            0xD if track => b'=',
            _ => return None,
        });
    }
    Some(out)
}

/// Decodes a BCD length prefix of `bytes.len()` bytes.
pub fn read_len(bytes: &[u8]) -> Option<usize> {
    let mut n = 0usize;
    for &b in bytes {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        n = n * 100 + (hi * 10 + lo) as usize;
    }
    Some(n)
}

/// Encodes `n` as a BCD length prefix of `width` bytes.
pub fn write_len(n: usize, width: usize, out: &mut Vec<u8>) {
    let mut digits = Vec::with_capacity(width);
    let mut v = n;
    for _ in 0..width {
        let lo = (v % 10) as u8;
        let hi = ((v / 10) % 10) as u8;
        digits.push((hi << 4) | lo);
        v /= 100;
    }
    digits.reverse();
    out.extend_from_slice(&digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_alignment() {
        assert_eq!(pack(b"021", true, false).unwrap(), vec![0x02, 0x10]);
        assert_eq!(pack(b"021", false, false).unwrap(), vec![0x00, 0x21]);
        assert_eq!(pack(b"12=34", true, true).unwrap(), vec![0x12, 0xD3, 0x40]);
        assert_eq!(
            unpack(&[0x12, 0xD3, 0x40], 5, true, true).unwrap(),
            b"12=34"
        );
        assert_eq!(unpack(&[0x00, 0x21], 3, false, false).unwrap(), b"021");
        assert!(pack(b"1A", true, false).is_none());
        assert!(unpack(&[0x1A], 2, true, false).is_none());
    }

    #[test]
    fn length_prefixes() {
        let mut v = Vec::new();
        write_len(19, 2, &mut v);
        assert_eq!(v, vec![0x00, 0x19]);
        assert_eq!(read_len(&v), Some(19));
        assert_eq!(read_len(&[0x1F]), None);
    }
}
