//! The `smartpos` command's library: the acquirer host simulator, its HTTPS server and PKI,
//! and the end-to-end demo. The binary in `main.rs` is a thin clap front end.

pub mod acquirer;
pub mod bench;
pub mod bench_apk;
pub mod cmd;
pub mod decode;
pub mod demo;
pub mod faults;
pub mod hal_cmd;
pub mod market_cmd;
pub mod pki;
pub mod qr_gateway;
pub mod server;
pub mod terminal_cmd;
