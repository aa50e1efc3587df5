//! Record frames: the fixed header every record carries in a segment file, and its
//! checks. A frame is `FRAME_HEADER_BYTES` of header followed by `body_len` body bytes.
//!
//! ```text
//! offset  size  field
//!      0     4  magic           "EXRC"
//!      4     1  kind            1 = event, 2 = block seal
//!      5     1  frame version   1
//!      6     2  schema version  of the event body (little-endian, as every integer)
//!      8     4  body length     at most BODY_BYTES_MAX
//!     12     4  body checksum   CRC32C of the body
//!     16     8  sequence number
//!     24     8  timestamp       microseconds since the Unix epoch, UTC
//!     32     4  header checksum CRC32C of bytes 0..32 and 36..40
//!     36     4  reserved        0
//!     40     …  body
//! ```
//!
//! The header has its own checksum so that its length field can be trusted before the
//! body is read: a frame cut short by a crash (fewer bytes than the header promises) is
//! then told apart from a whole frame whose bytes changed.

use crate::codec::BODY_BYTES_MAX;

pub const FRAME_MAGIC: [u8; 4] = *b"EXRC";
pub const FRAME_VERSION: u8 = 1;
pub const FRAME_HEADER_BYTES: usize = 40;

const _: () = assert!(FRAME_HEADER_BYTES == 4 + 1 + 1 + 2 + 4 + 4 + 8 + 8 + 4 + 4);
const _: () = assert!(BODY_BYTES_MAX <= u32::MAX as usize);

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Event,
    Seal,
}

impl FrameKind {
    fn byte(self) -> u8 {
        match self {
            FrameKind::Event => 1,
            FrameKind::Seal => 2,
        }
    }
}

/// A decoded frame header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    pub schema_version: u16,
    pub body_len: u32,
    pub body_checksum: u32,
    pub seq: u64,
    pub at_micros: i64,
}

impl FrameHeader {
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_BYTES + self.body_len as usize
    }
}

/// Why bytes are not a frame. Offsets are reported by the caller, who knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than a header, or than a header that checks says the body has: what a
    /// write cut short by a crash leaves.
    Truncated {
        needed: usize,
        available: usize,
    },
    BadMagic,
    UnknownKind(u8),
    UnknownVersion(u8),
    BodyTooLong(u32),
    ReservedNotZero,
    HeaderChecksumMismatch {
        stored: u32,
        computed: u32,
    },
    BodyChecksumMismatch {
        stored: u32,
        computed: u32,
    },
}

impl FrameError {
    /// Only a short read can come from a torn write; anything else means bytes changed.
    pub fn is_truncation(&self) -> bool {
        matches!(self, FrameError::Truncated { .. })
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Truncated { needed, available } => {
                write!(f, "truncated record: {needed} bytes needed, {available} present")
            }
            FrameError::BadMagic => f.write_str("no record starts here (bad magic)"),
            FrameError::UnknownKind(kind) => write!(f, "unknown record kind {kind}"),
            FrameError::UnknownVersion(version) => {
                write!(f, "record frame version {version}; this build reads version {FRAME_VERSION}")
            }
            FrameError::BodyTooLong(len) => {
                write!(f, "record body of {len} bytes exceeds the {BODY_BYTES_MAX}-byte limit")
            }
            FrameError::ReservedNotZero => f.write_str("record header has non-zero reserved bytes"),
            FrameError::HeaderChecksumMismatch { stored, computed } => {
                write!(f, "record header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
            FrameError::BodyChecksumMismatch { stored, computed } => {
                write!(f, "record body checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
        }
    }
}

fn header_checksum(header: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[..32]), &header[36..FRAME_HEADER_BYTES])
}

/// Appends one frame to `out`.
pub fn write_frame(out: &mut Vec<u8>, kind: FrameKind, schema_version: u16, seq: u64, at_micros: i64, body: &[u8]) {
    assert!(body.len() <= BODY_BYTES_MAX, "bodies are bounded before they are framed");
    let start = out.len();
    out.extend_from_slice(&FRAME_MAGIC);
    out.push(kind.byte());
    out.push(FRAME_VERSION);
    out.extend_from_slice(&schema_version.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&at_micros.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    let crc = header_checksum(&out[start..start + FRAME_HEADER_BYTES]);
    out[start + 32..start + 36].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(body);
    debug_assert_eq!(parse_frame(&out[start..]).map(|(header, _)| header.seq), Ok(seq));
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// Reads and checks the header (its checksum, magic, kind, version, length bound).
pub fn parse_header(bytes: &[u8]) -> Result<FrameHeader, FrameError> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(FrameError::Truncated { needed: FRAME_HEADER_BYTES, available: bytes.len() });
    }
    let stored = u32_at(bytes, 32);
    let computed = header_checksum(bytes);
    if stored != computed {
        return Err(FrameError::HeaderChecksumMismatch { stored, computed });
    }
    if bytes[..4] != FRAME_MAGIC {
        return Err(FrameError::BadMagic);
    }
    let kind = match bytes[4] {
        1 => FrameKind::Event,
        2 => FrameKind::Seal,
        other => return Err(FrameError::UnknownKind(other)),
    };
    if bytes[5] != FRAME_VERSION {
        return Err(FrameError::UnknownVersion(bytes[5]));
    }
    let body_len = u32_at(bytes, 8);
    if body_len as usize > BODY_BYTES_MAX {
        return Err(FrameError::BodyTooLong(body_len));
    }
    if bytes[36..40] != [0; 4] {
        return Err(FrameError::ReservedNotZero);
    }
    Ok(FrameHeader {
        kind,
        schema_version: u16::from_le_bytes([bytes[6], bytes[7]]),
        body_len,
        body_checksum: u32_at(bytes, 12),
        seq: u64_at(bytes, 16),
        at_micros: u64_at(bytes, 24) as i64,
    })
}

/// Checks a body against its header.
pub fn check_body(header: &FrameHeader, body: &[u8]) -> Result<(), FrameError> {
    let computed = crc32c::crc32c(body);
    if computed != header.body_checksum {
        return Err(FrameError::BodyChecksumMismatch { stored: header.body_checksum, computed });
    }
    Ok(())
}

/// Parses and verifies a whole frame at the start of `bytes`; returns its header and body.
pub fn parse_frame(bytes: &[u8]) -> Result<(FrameHeader, &[u8]), FrameError> {
    let header = parse_header(bytes)?;
    let len = header.frame_len();
    if bytes.len() < len {
        return Err(FrameError::Truncated { needed: len, available: bytes.len() });
    }
    let body = &bytes[FRAME_HEADER_BYTES..len];
    check_body(&header, body)?;
    Ok((header, body))
}

/// The frames of a buffer that already passed [`parse_frame`] (a sealed block handed on
/// by the reader), walked without checking their checksums again. Stops at the first
/// frame that does not fit, which a checked buffer never has.
pub fn checked_frames(mut bytes: &[u8]) -> impl Iterator<Item = (FrameHeader, &[u8])> {
    std::iter::from_fn(move || {
        let header = bytes.get(..FRAME_HEADER_BYTES)?;
        let body_len = u32_at(header, 8) as usize;
        let body = bytes.get(FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + body_len)?;
        let kind = if header[4] == 2 { FrameKind::Seal } else { FrameKind::Event };
        let fields = FrameHeader {
            kind,
            schema_version: u16::from_le_bytes([header[6], header[7]]),
            body_len: body_len as u32,
            body_checksum: u32_at(header, 12),
            seq: u64_at(header, 16),
            at_micros: u64_at(header, 24) as i64,
        };
        bytes = &bytes[FRAME_HEADER_BYTES + body_len..];
        Some((fields, body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_and_every_bit_flip_is_caught() {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, FrameKind::Event, 2, 42, -7, b"hello, frames");
        let (header, body) = parse_frame(&bytes).unwrap();
        assert_eq!((header.seq, header.at_micros, header.schema_version, body), (42, -7, 2, &b"hello, frames"[..]));
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(parse_frame(&flipped).is_err(), "bit {bit} flipped unnoticed");
        }
    }

    #[test]
    fn checked_frames_walks_what_parse_frame_reads() {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, FrameKind::Event, 2, 7, 70, b"first");
        write_frame(&mut bytes, FrameKind::Event, 2, 8, 80, b"");
        write_frame(&mut bytes, FrameKind::Seal, 0, 8, 80, b"seal bytes");
        let mut checked = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let (header, body) = parse_frame(rest).unwrap();
            checked.push((header, body));
            rest = &rest[header.frame_len()..];
        }
        assert_eq!(checked_frames(&bytes).collect::<Vec<_>>(), checked);
        assert_eq!(checked_frames(&bytes[..bytes.len() - 1]).count(), 2, "a frame cut short is not yielded");
    }
}
