//! Packed BCD helpers (two decimal digits a byte; `D` nibble stands for `=` in track data).

/// Packs ASCII digits (and `=` as nibble D when `track` is set). Odd counts get a 0 nibble:
/// leading when `left_align` is false, trailing when true. `None` on a character not allowed.
pub fn pack(text: &[u8], left_align: bool, track: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len().div_ceil(2));
    pack_into(text, left_align, track, &mut out).then_some(out)
}

fn nibble(c: u8, track: bool) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'=' | b'D' if track => Some(0xD),
        _ => None,
    }
}

/// [`pack`] appending to `out`; false (with `out` partly written) on a character not allowed.
#[inline]
pub fn pack_into(text: &[u8], left_align: bool, track: bool, out: &mut Vec<u8>) -> bool {
    let mut rest = text;
    if text.len() % 2 == 1 && !left_align {
        let Some(n) = nibble(text[0], track) else {
            return false;
        };
        out.push(n);
        rest = &text[1..];
    }
    let mut pairs = rest.chunks_exact(2);
    if !track {
        // digits only: one subtraction and one range check a character
        let mut bad = 0u8;
        for p in &mut pairs {
            let (h, l) = (p[0].wrapping_sub(b'0'), p[1].wrapping_sub(b'0'));
            bad |= u8::from(h > 9) | u8::from(l > 9);
            out.push((h << 4) | (l & 0x0F));
        }
        if bad != 0 {
            return false;
        }
    }
    for p in &mut pairs {
        match (nibble(p[0], track), nibble(p[1], track)) {
            (Some(h), Some(l)) => out.push((h << 4) | l),
            _ => return false,
        }
    }
    if let [last] = pairs.remainder() {
        let Some(h) = nibble(*last, track) else {
            return false;
        };
        out.push(h << 4);
    }
    true
}

/// Unpacks `digits` nibbles from `bytes`; the pad nibble sits first unless `left_align`.
pub fn unpack(bytes: &[u8], digits: usize, left_align: bool, track: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(digits);
    unpack_into(bytes, digits, left_align, track, &mut out).then_some(out)
}

/// [`unpack`] appending to `out`; `bytes` must hold at least `digits.div_ceil(2)` bytes
/// (one more nibble when the pad leads). False on a nibble that is not a digit.
#[inline]
pub fn unpack_into(
    bytes: &[u8],
    digits: usize,
    left_align: bool,
    track: bool,
    out: &mut Vec<u8>,
) -> bool {
    let skip = usize::from(digits % 2 == 1 && !left_align);
    if bytes.len() * 2 < skip + digits {
        return false;
    }
    let digit = |n: u8| match n {
        0..=9 => Some(b'0' + n),
        0xD if track => Some(b'='),
        _ => None,
    };
    let start = out.len();
    out.resize(start + digits, 0);
    let mut ok = true;
    let (src, dst) = if skip == 1 {
        // the pad nibble leads: the first byte carries one digit
        match digit(bytes[0] & 0x0F) {
            Some(d) => out[start] = d,
            None => ok = false,
        }
        (&bytes[1..], &mut out[start + 1..])
    } else {
        (bytes, &mut out[start..])
    };
    let table = if track { &TRACK_PAIRS } else { &DIGIT_PAIRS };
    let mut pairs = dst.chunks_exact_mut(2);
    for (pair, &b) in (&mut pairs).zip(src) {
        let p = table[b as usize];
        ok &= p[0] != 0;
        pair.copy_from_slice(&p);
    }
    if let [last] = pairs.into_remainder() {
        match src
            .get(dst_len_half(digits, skip))
            .and_then(|b| digit(b >> 4))
        {
            Some(d) => *last = d,
            None => ok = false,
        }
    }
    if !ok {
        out.truncate(start);
    }
    ok
}

/// Each byte's two digits as ASCII; `[0, 0]` where a nibble is not a digit.
static DIGIT_PAIRS: [[u8; 2]; 256] = pair_table(false);
/// The same with nibble D read as `=` (track data).
static TRACK_PAIRS: [[u8; 2]; 256] = pair_table(true);

const fn pair_table(track: bool) -> [[u8; 2]; 256] {
    const fn ascii(n: u8, track: bool) -> u8 {
        match n {
            0..=9 => b'0' + n,
            0xD if track => b'=',
            _ => 0,
        }
    }
    let mut t = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        let (h, l) = (ascii((b >> 4) as u8, track), ascii((b & 0x0F) as u8, track));
        if h != 0 && l != 0 {
            t[b] = [h, l];
        }
        b += 1;
    }
    t
}

/// Index into the source (after a leading pad byte) of the byte holding a trailing lone digit.
fn dst_len_half(digits: usize, skip: usize) -> usize {
    (digits - skip) / 2
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
    let start = out.len();
    let mut v = n;
    for _ in 0..width {
        let lo = (v % 10) as u8;
        let hi = ((v / 10) % 10) as u8;
        out.push((hi << 4) | lo);
        v /= 100;
    }
    out[start..].reverse();
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
