//! Recognizing the wallet behind a customer's payment code (B scans C).

pub use smartpos_handoff::kinds::Wallet;

/// Why a scanned code is not a payment code the terminal takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrCodeError {
    /// Not digits only.
    #[error("a payment code is digits only")]
    NotDigits,
    /// Digits, but no wallet uses this length and prefix.
    #[error("no wallet issues {len}-digit payment codes starting {prefix}")]
    UnknownWallet {
        /// Length of the code.
        len: usize,
        /// Its first two digits.
        prefix: String,
    },
}

/// The wallet of a customer's payment code: WeChat 18 digits starting 10-15, Alipay 16-24
/// digits starting 25-30, UnionPay 19 digits starting 62. Anything else is refused.
///
/// ```
/// use smartpos_core::qr::{detect_wallet, Wallet};
/// assert_eq!(detect_wallet("134567890123456789"), Ok(Wallet::Wechat));
/// assert_eq!(detect_wallet("281234567890123456"), Ok(Wallet::Alipay));
/// assert_eq!(detect_wallet("6228123456789012345"), Ok(Wallet::Unionpay));
/// assert!(detect_wallet("991234567890123456").is_err());
/// ```
pub fn detect_wallet(code: &str) -> Result<Wallet, QrCodeError> {
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QrCodeError::NotDigits);
    }
    let len = code.len();
    let prefix: u8 = code.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    match (len, prefix) {
        (18, 10..=15) => Ok(Wallet::Wechat),
        (16..=24, 25..=30) => Ok(Wallet::Alipay),
        (19, 62) => Ok(Wallet::Unionpay),
        _ => Err(QrCodeError::UnknownWallet {
            len,
            prefix: code.chars().take(2).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(detect_wallet("100000000000000000"), Ok(Wallet::Wechat));
        assert_eq!(detect_wallet("159999999999999999"), Ok(Wallet::Wechat));
        assert!(
            detect_wallet("160000000000000000").is_err(),
            "16 is not WeChat"
        );
        assert!(detect_wallet("10000000000000000").is_err(), "17 digits");
        assert_eq!(detect_wallet("2500000000000000"), Ok(Wallet::Alipay));
        assert_eq!(
            detect_wallet("300000000000000000000000"),
            Ok(Wallet::Alipay)
        );
        assert!(
            detect_wallet("3000000000000000000000000").is_err(),
            "25 digits"
        );
        assert!(detect_wallet("310000000000000000").is_err());
        assert_eq!(detect_wallet("12 345"), Err(QrCodeError::NotDigits));
        assert_eq!(detect_wallet(""), Err(QrCodeError::NotDigits));
    }
}
