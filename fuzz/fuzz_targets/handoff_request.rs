//! Any bytes as a deep link or as intent extras: a typed result, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smartpos_core::handoff::{Carrier, HandoffRequest};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = HandoffRequest::from_deep_link(&text, 1_700_000_000);
    let _ = HandoffRequest::from_deep_link(&format!("smartpos://pay/v1?{text}"), 1_700_000_000);
    let pairs: Vec<(String, String)> = text
        .split('\n')
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let _ = HandoffRequest::from_pairs(&pairs, Carrier::Intent, 1_700_000_000);
});
