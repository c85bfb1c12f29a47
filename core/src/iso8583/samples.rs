//! Reference frames: a CUP sale request (0200) and its response (0210), as benchmarks and
//! peer comparisons use them. The card is a test card; the PIN block and MACs are placeholders.

use super::{Frame, Header, Message, Mti};

/// A sale request and its approval, fully populated as a magnetic-stripe sale with PIN.
///
/// ```
/// use smartpos_core::iso8583::{samples, Frame, CUP_FIELDS};
/// let (req, resp) = samples::sale_pair();
/// let bytes = req.encode(&CUP_FIELDS).unwrap();
/// assert_eq!(Frame::decode(&bytes, &CUP_FIELDS).unwrap(), req);
/// assert_eq!(resp.message.get_str(39), Some("00"));
/// ```
pub fn sale_pair() -> (Frame, Frame) {
    let header = Header([0x60, 0x31, 0x00, 0x31, 0x10, 0x01]);
    let mut req = Message::new(Mti::new(200).expect("valid MTI"));
    req.set(2, "6222021234567890123")
        .set(3, "000000")
        .set(4, "000000001234")
        .set(11, "000123")
        .set(12, "101530")
        .set(13, "1122")
        .set(14, "3012")
        .set(22, "021")
        .set(25, "00")
        .set(26, "12")
        .set(35, "6222021234567890123=3012101")
        .set(41, "10000001")
        .set(42, "898310048990001")
        .set(49, "156")
        .set(52, [0x11u8; 8])
        .set(53, "2600000000000000")
        .set(60, "2200000100050")
        .set(64, "0A1B2C3D");
    let mut resp = Message::new(Mti::new(210).expect("valid MTI"));
    resp.set(2, "6222021234567890123")
        .set(3, "000000")
        .set(4, "000000001234")
        .set(11, "000123")
        .set(12, "101531")
        .set(13, "1122")
        .set(15, "1122")
        .set(25, "00")
        .set(32, "48020000")
        .set(37, "000000004711")
        .set(38, "123456")
        .set(39, "00")
        .set(41, "10000001")
        .set(42, "898310048990001")
        .set(49, "156")
        .set(60, "2200000100050")
        .set(64, "9F8E7D6C");
    (
        Frame {
            tpdu: [0x60, 0, 3, 0, 0],
            header,
            message: req,
        },
        Frame {
            tpdu: [0x60, 0, 0, 0, 3],
            header,
            message: resp,
        },
    )
}
