//! The acquirer's response codes (CUP field 39) in words. A result carries the code as
//! `host_code`; an app may show this text beside its own message.

/// What a CUP response code (field 39; the result's `host_code`) means, for people.
///
/// ```
/// use smartpos_handoff::host_code::response_message;
/// assert_eq!(response_message("51"), "insufficient funds");
/// assert_eq!(response_message("zz"), "declined");
/// ```
pub fn response_message(code: &str) -> &'static str {
    match code {
        "00" => "approved",
        "01" => "refer to card issuer",
        "03" => "invalid merchant",
        "04" | "07" => "pick up card",
        "05" => "do not honour",
        "12" => "invalid transaction",
        "13" => "invalid amount",
        "14" => "invalid card number",
        "22" => "suspected malfunction",
        "25" => "original transaction not found",
        "30" => "format error",
        "33" | "54" => "expired card",
        "40" => "function not supported",
        "41" | "43" => "lost or stolen card",
        "51" => "insufficient funds",
        "55" => "incorrect PIN",
        "61" => "exceeds amount limit",
        "75" => "PIN tries exceeded",
        "77" => "batch number mismatch, sign in again",
        "94" => "duplicate transaction",
        "96" => "system malfunction",
        "97" => "terminal not registered",
        "98" => "no response from issuer",
        "99" => "PIN format error",
        "A0" => "MAC verification failed, sign in again",
        _ => "declined",
    }
}
