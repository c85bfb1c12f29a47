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
    let start = out.len();
    out.resize(start + text.len().div_ceil(2), 0);
    pack_to(text, left_align, track, &mut out[start..])
}

/// [`pack`] into `dst`, which is exactly `text.len().div_ceil(2)` bytes.
#[inline(always)]
pub(crate) fn pack_to(text: &[u8], left_align: bool, track: bool, dst: &mut [u8]) -> bool {
    let (mut rest, mut dst) = (text, dst);
    if text.len() % 2 == 1 && !left_align {
        let Some(n) = nibble(text[0], track) else {
            return false;
        };
        dst[0] = n;
        rest = &text[1..];
        dst = &mut dst[1..];
    }
    let (whole, last) = rest.split_at(rest.len() & !1);
    let (dst_whole, dst_last) = dst.split_at_mut(whole.len() / 2);
    if track {
        for (d, p) in dst_whole.iter_mut().zip(whole.chunks_exact(2)) {
            match (nibble(p[0], track), nibble(p[1], track)) {
                (Some(h), Some(l)) => *d = (h << 4) | l,
                _ => return false,
            }
        }
    } else {
        // digits only: one subtraction and one range check a character
        let mut bad = 0u8;
        for (d, p) in dst_whole.iter_mut().zip(whole.chunks_exact(2)) {
            let (h, l) = (p[0].wrapping_sub(b'0'), p[1].wrapping_sub(b'0'));
            bad |= u8::from(h > 9) | u8::from(l > 9);
            *d = (h << 4) | (l & 0x0F);
        }
        if bad != 0 {
            return false;
        }
    }
    if let ([last], [d]) = (last, dst_last) {
        let Some(h) = nibble(*last, track) else {
            return false;
        };
        *d = h << 4;
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

const LANES_01: u64 = 0x0101_0101_0101_0101;

/// Packs digits `data[start..start + len]` eight at a time, reading whole words (the caller's
/// buffer continues past the field) and writing four bytes a word into `dst` (which has room
/// for whole words; the bytes past the field are scratch the caller overwrites or cuts).
/// `None` when this path does not apply (an odd count with a leading pad, or the data ends
/// within eight bytes of a word): the caller packs bytewise.
#[inline(always)]
pub(crate) fn pack_digits_wide(
    data: &[u8],
    start: usize,
    len: usize,
    left_align: bool,
    dst: &mut [u8],
) -> Option<bool> {
    if (len % 2 == 1 && !left_align) || dst.len() < 4 * len.div_ceil(8) {
        return None;
    }
    let mut bad = 0u64;
    let mut i = 0;
    while i < len {
        let word = data.get(start + i..start + i + 8)?;
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // the field's bytes of this word (the rest belongs to what follows it)
        let mask = if len - i >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * (len - i))) - 1
        };
        // a byte is a digit exactly when its value xor '0' is at most 9; bytes past the
        // field are zero and stay zero (the trailing pad nibble)
        let d = (x ^ (0x30 * LANES_01)) & mask;
        bad |= d | d.wrapping_add(0x76 * LANES_01);
        // byte 2k of t holds digit 2k in its high nibble and digit 2k+1 in its low
        let t = ((d << 4) | (d >> 8)) & 0x00FF_00FF_00FF_00FF;
        let t = (t | (t >> 8)) & 0x0000_FFFF_0000_FFFF;
        let t = (t | (t >> 16)) & 0xFFFF_FFFF;
        dst[i / 2..i / 2 + 4].copy_from_slice(&(t as u32).to_le_bytes());
        i += 8;
    }
    Some(bad & (0x80 * LANES_01) == 0)
}

/// Whether `bytes` hold `digits` nibbles that [`unpack_into`] accepts, without unpacking them
/// (the lazy decoder validates with it and unpacks a field only when it is read).
#[inline]
pub fn check(bytes: &[u8], digits: usize, left_align: bool, track: bool) -> bool {
    let skip = usize::from(digits % 2 == 1 && !left_align);
    if bytes.len() * 2 < skip + digits {
        return false;
    }
    let digit = |n: u8| n <= 9 || (track && n == 0xD);
    let src = if skip == 1 {
        if !digit(bytes[0] & 0x0F) {
            return false;
        }
        &bytes[1..]
    } else {
        bytes
    };
    let whole = (digits - skip) / 2;
    let mut ok = if track {
        src[..whole]
            .iter()
            .all(|&b| TRACK_PAIRS[b as usize][0] != 0)
    } else {
        all_digits(&src[..whole])
    };
    if (digits - skip) % 2 == 1 {
        ok &= digit(src[whole] >> 4);
    }
    ok
}

/// Whether every nibble of `bytes` is a decimal digit, eight bytes at a time (the rest by
/// table): a nibble `n` is
/// at most 9 exactly when `n + 6` stays below 16 (nibbles are spread one a byte, so no carry
/// crosses into the next).
#[inline]
fn all_digits(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    const SIX: u64 = 0x0606_0606_0606_0606;
    const SIXTEEN: u64 = 0x1010_1010_1010_1010;
    let over = |x: u64| ((x & LOW) + SIX) | (((x >> 4) & LOW) + SIX);
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc |= over(u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    acc & SIXTEEN == 0
        && chunks
            .remainder()
            .iter()
            .all(|&b| DIGIT_PAIRS[b as usize][0] != 0)
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

/// Each byte's value as two BCD digits (0..=99), or 0xFF when a nibble is not a digit.
static BCD_VALUE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut b = 0;
    while b < 256 {
        let (h, l) = (b >> 4, b & 0x0F);
        if h <= 9 && l <= 9 {
            t[b] = (h * 10 + l) as u8;
        }
        b += 1;
    }
    t
};

/// Decodes a BCD length prefix of `bytes.len()` bytes.
#[inline]
pub fn read_len(bytes: &[u8]) -> Option<usize> {
    bytes
        .iter()
        .try_fold(0usize, |n, &b| match BCD_VALUE[b as usize] {
            0xFF => None,
            v => Some(n * 100 + v as usize),
        })
}

/// Writes `n` as a BCD length prefix filling `out` (its last two digits in the last byte).
#[inline]
pub fn write_len_to(n: usize, out: &mut [u8]) {
    let mut v = n;
    for b in out.iter_mut().rev() {
        *b = ((((v / 10) % 10) as u8) << 4) | (v % 10) as u8;
        v /= 100;
    }
}

/// Encodes `n` as a BCD length prefix of `width` bytes.
pub fn write_len(n: usize, width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + width, 0);
    write_len_to(n, &mut out[start..]);
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

    proptest::proptest! {
        #[test]
        fn wide_paths_agree_with_bytewise(
            text in proptest::collection::vec(proptest::prop_oneof![b'0'..=b'9', proptest::arbitrary::any::<u8>()], 0..40),
            pre in 0usize..4, post in 0usize..12, left in proptest::arbitrary::any::<bool>(),
        ) {
            // packing: the field inside a longer buffer, as in a message
            let mut data = vec![b'7'; pre];
            data.extend_from_slice(&text);
            data.extend(std::iter::repeat_n(b'x', post));
            let mut dst = vec![0xEE; text.len() + 8];
            if let Some(ok) = pack_digits_wide(&data, pre, text.len(), left, &mut dst) {
                let want = pack(&text, left, false);
                proptest::prop_assert_eq!(ok, want.is_some());
                if let Some(w) = want {
                    proptest::prop_assert_eq!(&dst[..w.len()], &w[..]);
                }
            }
        }
    }

    #[test]
    fn check_agrees_with_unpack_on_every_byte() {
        for b in 0..=255u8 {
            for len in 1..=12 {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| if i == len / 2 { b } else { 0x12 })
                    .collect();
                for digits in [2 * len, 2 * len - 1] {
                    for (left, track) in
                        [(true, false), (false, false), (true, true), (false, true)]
                    {
                        assert_eq!(
                            check(&bytes, digits, left, track),
                            unpack(&bytes, digits, left, track).is_some(),
                            "{b:02X} len {len} digits {digits} left {left} track {track}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn length_prefixes() {
        let mut v = Vec::new();
        write_len(7, 1, &mut v);
        write_len(322, 2, &mut v);
        write_len(12345, 3, &mut v);
        assert_eq!(v, vec![0x07, 0x03, 0x22, 0x01, 0x23, 0x45]);
        let mut v = Vec::new();
        write_len(19, 2, &mut v);
        assert_eq!(v, vec![0x00, 0x19]);
        assert_eq!(read_len(&v), Some(19));
        assert_eq!(read_len(&[0x1F]), None);
    }
}
