//! `smartpos_core::fuzz_targets::result_link` under libFuzzer.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smartpos_core::fuzz_targets::result_link(data));
