//! `smartpos_apk::fuzz_targets::apk_zip` under libFuzzer.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smartpos_apk::fuzz_targets::apk_zip(data));
