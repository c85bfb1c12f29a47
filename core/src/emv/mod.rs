//! EMV chip data: the BER-TLV codec for field 55 and the tags the CUP profile reads, and the
//! parameters (CA public keys, IC parameters) the terminal downloads at sign-in.

pub mod params;
pub mod tlv;
