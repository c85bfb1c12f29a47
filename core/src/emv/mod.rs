//! EMV chip data: the BER-TLV codec for field 55 and the tags the CUP profile reads.

pub mod tlv;
