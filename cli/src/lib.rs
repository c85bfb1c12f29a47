//! The `smartpos` command's library: the command families (the simulated terminal, the market,
//! the HAL tools, benchmarks) and the end-to-end demo. The host simulator and the other test
//! doubles are in `smartpos-testing`. The binary in `main.rs` is a thin clap front end.

pub mod bench;
pub mod bench_apk;
pub mod cmd;
pub mod decode;
pub mod demo;
pub mod hal_cmd;
pub mod market_cmd;
pub mod terminal_cmd;
