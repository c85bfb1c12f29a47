//! Card numbers as people and logs may see them.

/// Masks a card number to its first 6 and last 4 characters, the rest as `*`; 10 characters or
/// fewer are masked entirely. Counts characters, not bytes, so any text is safe to pass.
///
/// ```
/// use smartpos_handoff::masking::mask_pan;
/// assert_eq!(mask_pan("6222021234567890123"), "622202*********0123");
/// assert_eq!(mask_pan("12345"), "*****");
/// ```
pub fn mask_pan(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let n = chars.len();
    if n <= 10 {
        return "*".repeat(n);
    }
    let mut out: String = chars[..6].iter().collect();
    out.push_str(&"*".repeat(n - 10));
    out.extend(&chars[n - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::mask_pan;

    #[test]
    fn any_text_is_masked_without_panicking() {
        assert_eq!(mask_pan("1234567890123456"), "123456******3456");
        assert_eq!(mask_pan(""), "");
        // Multi-byte characters from a hostile message: counted as characters.
        assert_eq!(mask_pan("银联银联银联1234567890"), "银联银联银联******7890");
    }
}
