//! Byte-level helpers for text fields: the printable check (an fields) eight bytes at a time
//! and a short copy that does not call out to `memcpy` for the few bytes a field holds.

const LANES_01: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether the eight bytes of `x` are all printable ASCII (0x20..=0x7E). With bit 7 clear in
/// every byte, adding 0x60 sets it exactly when the byte is at least 0x20, and adding 1 sets
/// it exactly when the byte is 0x7F; no sum carries into the next byte. A byte with bit 7 set
/// fails on its own, whatever the sums carry.
#[inline(always)]
fn word_printable(x: u64) -> bool {
    (x | x.wrapping_add(LANES_01) | !x.wrapping_add(0x60 * LANES_01)) & HIGH == 0
}

/// Whether every byte is printable ASCII (0x20..=0x7E), as an fields require.
#[inline]
pub(crate) fn all_printable(bytes: &[u8]) -> bool {
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    match bytes.len() {
        0..=7 => bytes.iter().all(|b| (0x20..0x7F).contains(b)),
        n => {
            // whole words, then one last word overlapping the tail
            let mut ok = word_printable(word(&bytes[n - 8..]));
            for c in bytes.chunks_exact(8) {
                ok &= word_printable(word(c));
            }
            ok
        }
    }
}

/// Copies `src` to the front of `dst` (at least as long): overlapping word moves for up to
/// 16 bytes, `copy_from_slice` beyond.
#[inline(always)]
pub(crate) fn copy_short(src: &[u8], dst: &mut [u8]) {
    let n = src.len();
    let dst = &mut dst[..n];
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            let a = u32::from_ne_bytes(src[..4].try_into().expect("4 bytes"));
            let b = u32::from_ne_bytes(src[n - 4..].try_into().expect("4 bytes"));
            dst[..4].copy_from_slice(&a.to_ne_bytes());
            dst[n - 4..].copy_from_slice(&b.to_ne_bytes());
        }
        8..=16 => {
            let a = u64::from_ne_bytes(src[..8].try_into().expect("8 bytes"));
            let b = u64::from_ne_bytes(src[n - 8..].try_into().expect("8 bytes"));
            dst[..8].copy_from_slice(&a.to_ne_bytes());
            dst[n - 8..].copy_from_slice(&b.to_ne_bytes());
        }
        _ => dst.copy_from_slice(src),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn printable_agrees_with_bytewise(bytes in proptest::collection::vec(any::<u8>(), 0..40),
                fill in proptest::collection::vec(0x20u8..0x7F, 0..40), at in any::<usize>()) {
            let bytewise = |b: &[u8]| b.iter().all(|c| (0x20..0x7F).contains(c));
            prop_assert_eq!(all_printable(&bytes), bytewise(&bytes));
            // mostly printable with one byte changed: the case the words must catch
            let mut f = fill.clone();
            if !f.is_empty() {
                let i = at % f.len();
                f[i] = bytes.first().copied().unwrap_or(0x7F);
            }
            prop_assert_eq!(all_printable(&f), bytewise(&f));
        }

        #[test]
        fn short_copy_copies(src in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut dst = vec![0xAAu8; src.len() + 3];
            copy_short(&src, &mut dst);
            prop_assert_eq!(&dst[..src.len()], &src[..]);
            prop_assert!(dst[src.len()..].iter().all(|&b| b == 0xAA));
        }
    }

    #[test]
    fn edges_of_printable() {
        for b in 0u8..=255 {
            let word = [b'A', b'A', b'A', b'A', b'A', b'A', b'A', b'A', b];
            assert_eq!(
                all_printable(&word),
                (0x20..0x7F).contains(&b),
                "byte {b:#04x}"
            );
        }
    }
}
