//! Any bytes as a host frame: a typed decode error, never a panic; what decodes re-encodes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smartpos_core::iso8583::{Frame, CUP_FIELDS};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data, &CUP_FIELDS) {
        let again = frame.encode(&CUP_FIELDS).expect("a decoded frame re-encodes");
        assert_eq!(Frame::decode(&again, &CUP_FIELDS).expect("and decodes"), frame);
    }
});
