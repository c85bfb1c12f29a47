//! ISO 8583 in the China UnionPay POS profile.
//!
//! Field formats are data ([`spec::CUP_FIELDS`]), in the style of jPOS packagers: a field is a
//! content kind, a length rule and an alignment. [`Message`] is MTI + fields; [`Frame`] adds the
//! 2-byte length, TPDU and header that the internet front expects. [`MessageView`] and
//! [`FrameView`] decode without copying and unpack a field only when it is read.

mod ascii;
pub mod bcd;
pub mod catalog;
pub mod error;
pub mod frame;
pub mod message;
pub mod samples;
pub mod spec;
pub mod view;

pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use frame::{Frame, Header, HostRequest};
pub use message::{Message, Mti};
pub use spec::{FieldSpec, FieldTable, Kind, LenRule, CUP_FIELDS, CUP_SM4_FIELDS};
pub use view::{FrameView, MessageView};
