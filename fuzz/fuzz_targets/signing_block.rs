//! `smartpos_apk::fuzz_targets::signing_block` under libFuzzer.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smartpos_apk::fuzz_targets::signing_block(data));
