//! The frame the internet front takes: `LEN(2, big-endian) | TPDU(5) | header(6) | message`.

use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::message::Message;
use super::spec::FieldSpec;

/// The 6-byte CUP header (12 BCD digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header(pub [u8; 6]);

/// What the host asks of the terminal in the header's processing-requirement nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum HostRequest {
    /// Nothing asked.
    None,
    /// 1: download parameters.
    DownloadParameters,
    /// 2: upload status.
    UploadStatus,
    /// 3: sign in again.
    SignInAgain,
    /// 4: download CA public keys.
    DownloadCaKeys,
    /// 5: download IC card parameters.
    DownloadIcParameters,
    /// 6, 7 and others: another download the terminal should schedule.
    Other(u8),
}

impl Header {
    /// The processing-requirement nibble (low nibble of byte 3).
    pub fn host_request(&self) -> HostRequest {
        match self.0[2] & 0x0F {
            0 => HostRequest::None,
            1 => HostRequest::DownloadParameters,
            2 => HostRequest::UploadStatus,
            3 => HostRequest::SignInAgain,
            4 => HostRequest::DownloadCaKeys,
            5 => HostRequest::DownloadIcParameters,
            n => HostRequest::Other(n),
        }
    }
    /// The header with a processing requirement set (host side).
    pub fn with_request(mut self, nibble: u8) -> Header {
        self.0[2] = (self.0[2] & 0xF0) | (nibble & 0x0F);
        self
    }
}

/// Splits a frame into TPDU, header and message; the length prefix must match exactly.
pub(crate) fn envelope(bytes: &[u8]) -> Result<([u8; 5], Header, &[u8]), DecodeError> {
    let env = |k| DecodeError::new(0, k);
    if bytes.len() < 13 {
        return Err(env(DecodeErrorKind::Truncated));
    }
    let declared = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    if declared != bytes.len() - 2 {
        return Err(env(DecodeErrorKind::LengthMismatch {
            declared,
            actual: bytes.len() - 2,
        }));
    }
    Ok((
        bytes[2..7].try_into().expect("5 bytes"),
        Header(bytes[7..13].try_into().expect("6 bytes")),
        &bytes[13..],
    ))
}

/// A framed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Transport protocol data unit: `60` + destination + source.
    pub tpdu: [u8; 5],
    /// CUP header.
    pub header: Header,
    /// The ISO 8583 message.
    pub message: Message,
}

impl Frame {
    /// Encodes with the 2-byte length prefix.
    pub fn encode(&self, table: &[Option<FieldSpec>; 65]) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(160);
        self.encode_into(table, &mut out)?;
        Ok(out)
    }

    /// [`Frame::encode`] into `out` (cleared first), reusing its capacity.
    pub fn encode_into(
        &self,
        table: &[Option<FieldSpec>; 65],
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        out.clear();
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.tpdu);
        out.extend_from_slice(&self.header.0);
        self.message.encode_into(table, out)?;
        let body = out.len() - 2;
        if body > u16::MAX as usize {
            return Err(EncodeError::BadLength {
                field: 0,
                got: body,
                spec: "frame".into(),
            });
        }
        out[..2].copy_from_slice(&(body as u16).to_be_bytes());
        Ok(())
    }

    /// [`Frame::decode`] into this frame, reusing the message's buffer.
    pub fn decode_into(
        &mut self,
        bytes: &[u8],
        table: &[Option<FieldSpec>; 65],
    ) -> Result<(), DecodeError> {
        let (tpdu, header, message) = envelope(bytes)?;
        self.tpdu = tpdu;
        self.header = header;
        self.message.decode_into(message, table)
    }

    /// Decodes a whole frame; the length prefix must match exactly.
    pub fn decode(bytes: &[u8], table: &[Option<FieldSpec>; 65]) -> Result<Frame, DecodeError> {
        let mut f = Frame {
            tpdu: [0; 5],
            header: Header([0; 6]),
            message: Message::with_capacity(super::message::Mti::EMPTY, 2 * bytes.len()),
        };
        f.decode_into(bytes, table)?;
        Ok(f)
    }

    /// The TPDU with source and destination swapped, as a host answers.
    pub fn reply_tpdu(&self) -> [u8; 5] {
        let t = self.tpdu;
        [t[0], t[3], t[4], t[1], t[2]]
    }
}
