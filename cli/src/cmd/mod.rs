//! One module per command family: each has its clap `Args`, a typed error and `run`; `main.rs`
//! only dispatches. (The older families still live beside this folder and move here in turn.)

pub mod request;
pub mod verify_result;
