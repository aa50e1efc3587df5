//! Segment files: a header, then event frames grouped into blocks, each block closed by
//! a seal frame that carries the hash chain. A [`SegmentCursor`] walks one segment frame
//! by frame, checking checksums, sequence continuity and the chain as it goes, holding
//! one frame in memory at a time.
//!
//! ```text
//! segment header (72 bytes)
//!      0     8  magic            "EXOPSSEG"
//!      8     2  format version   2 (1: a log from before head records; read the same)
//!     10     2  reserved         0
//!     12     4  checksum         CRC32C of bytes 0..12 and 16..72
//!     16     8  segment index    0 for the first segment, then +1
//!     24     8  first sequence   of the first event in the segment
//!     32     8  first block      index of the first block in the segment
//!     40    32  previous hash    chain hash of the last block before this segment
//!
//! seal frame body (96 bytes)
//!      0     8  block index
//!      8     8  first sequence   of the block
//!     16     8  last sequence
//!     24     4  record count
//!     28     4  reserved         0
//!     32    32  previous hash    the chain before this block
//!     64    32  hash             BLAKE3(previous hash ‖ every event frame of the block)
//! ```

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::frame::{FRAME_HEADER_BYTES, FrameError, FrameHeader, FrameKind, check_body, parse_header};
use crate::storage::{SequentialReader, Storage, read_exact_at};

pub const SEGMENT_MAGIC: [u8; 8] = *b"EXOPSSEG";
/// Version 2 says the log keeps a head record (`log/HEAD`, see `head.rs`): a log with a
/// version 2 segment and no head record has lost it. Version 1 segments are laid out the
/// same and still read.
pub const SEGMENT_FORMAT_VERSION: u16 = 2;
pub const SEGMENT_FORMAT_VERSION_OLDEST: u16 = 1;
pub const SEGMENT_HEADER_BYTES: usize = 72;
pub const SEAL_BODY_BYTES: usize = 96;
pub const HASH_BYTES: usize = 32;

const _: () = assert!(SEGMENT_HEADER_BYTES == 8 + 2 + 2 + 4 + 8 + 8 + 8 + HASH_BYTES);
const _: () = assert!(SEAL_BODY_BYTES == 8 + 8 + 8 + 4 + 4 + 2 * HASH_BYTES);

pub type Hash = [u8; HASH_BYTES];

/// Where the chain stands between two blocks: what the next block must continue from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ChainPosition {
    pub next_seq: u64,
    pub next_block: u64,
    pub prev_hash: Hash,
    /// Timestamp of the last sealed event (the first event may be anything).
    pub last_at_micros: Option<i64>,
}

/// A place to resume reading a log without reading what comes before: just past a block
/// seal, in the segment whose first sequence number is `segment_first_seq`, with the
/// chain as it stands there. Snapshots record one, so that a restore starts at the
/// snapshot's block instead of the start of its segment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    pub segment_first_seq: u64,
    /// Offset in the segment just past the seal.
    pub offset: u64,
    pub position: ChainPosition,
}

impl ChainPosition {
    pub const GENESIS: ChainPosition =
        ChainPosition { next_seq: 1, next_block: 0, prev_hash: [0; HASH_BYTES], last_at_micros: None };
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// [`SEGMENT_FORMAT_VERSION`] for what this build writes.
    pub version: u16,
    pub segment_index: u64,
    pub first_seq: u64,
    pub first_block: u64,
    pub prev_hash: Hash,
}

fn header_checksum(bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&bytes[..12]), &bytes[16..SEGMENT_HEADER_BYTES])
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut bytes = [0; SEGMENT_HEADER_BYTES];
        bytes[..8].copy_from_slice(&SEGMENT_MAGIC);
        bytes[8..10].copy_from_slice(&self.version.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.segment_index.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.first_seq.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.first_block.to_le_bytes());
        bytes[40..72].copy_from_slice(&self.prev_hash);
        let crc = header_checksum(&bytes);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, String> {
        if bytes.len() < SEGMENT_HEADER_BYTES {
            return Err(format!("segment header truncated: {} of {SEGMENT_HEADER_BYTES} bytes", bytes.len()));
        }
        if bytes[..8] != SEGMENT_MAGIC {
            return Err("not an exops segment (bad magic)".to_owned());
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if !(SEGMENT_FORMAT_VERSION_OLDEST..=SEGMENT_FORMAT_VERSION).contains(&version) {
            return Err(format!(
                "segment format version {version}; this build reads versions {SEGMENT_FORMAT_VERSION_OLDEST} to \
                 {SEGMENT_FORMAT_VERSION}"
            ));
        }
        let stored = u32::from_le_bytes(bytes[12..16].try_into().expect("four bytes"));
        let computed = header_checksum(bytes);
        if stored != computed || bytes[10..12] != [0, 0] {
            return Err(format!("segment header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"));
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
        Ok(SegmentHeader {
            version,
            segment_index: u64_at(16),
            first_seq: u64_at(24),
            first_block: u64_at(32),
            prev_hash: bytes[40..72].try_into().expect("32 bytes"),
        })
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    pub block_index: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub record_count: u32,
    pub prev_hash: Hash,
    pub hash: Hash,
}

impl Seal {
    pub fn encode(&self) -> [u8; SEAL_BODY_BYTES] {
        let mut bytes = [0; SEAL_BODY_BYTES];
        bytes[0..8].copy_from_slice(&self.block_index.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.first_seq.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.last_seq.to_le_bytes());
        bytes[24..28].copy_from_slice(&self.record_count.to_le_bytes());
        bytes[32..64].copy_from_slice(&self.prev_hash);
        bytes[64..96].copy_from_slice(&self.hash);
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Option<Seal> {
        if bytes.len() != SEAL_BODY_BYTES || bytes[28..32] != [0; 4] {
            return None;
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
        Some(Seal {
            block_index: u64_at(0),
            first_seq: u64_at(8),
            last_seq: u64_at(16),
            record_count: u32::from_le_bytes(bytes[24..28].try_into().expect("four bytes")),
            prev_hash: bytes[32..64].try_into().expect("32 bytes"),
            hash: bytes[64..96].try_into().expect("32 bytes"),
        })
    }
}

/// Hashes one block as its frames are written or read.
/// `BLAKE3(previous hash ‖ the block's event frames)`, over the frames in one piece: fed
/// whole, BLAKE3 hashes many 1 KiB chunks at once with SIMD, where frame by frame it
/// could not.
pub fn block_hash(prev_hash: &Hash, frames: &[u8]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(prev_hash);
    hasher.update(frames);
    *hasher.finalize().as_bytes()
}

/// The event frames of the block being read, kept whole until its seal checks them.
#[derive(Clone, Debug)]
pub struct BlockHasher {
    prev_hash: Hash,
    frames: Vec<u8>,
    pub first_seq: Option<u64>,
    pub last_seq: u64,
    pub records: u32,
}

impl BlockHasher {
    pub fn new(prev_hash: &Hash) -> BlockHasher {
        BlockHasher { prev_hash: *prev_hash, frames: Vec::new(), first_seq: None, last_seq: 0, records: 0 }
    }

    /// Starts the next block, keeping the buffer's allocation.
    fn reset(&mut self, prev_hash: &Hash) {
        self.prev_hash = *prev_hash;
        self.frames.clear();
        self.first_seq = None;
        self.last_seq = 0;
        self.records = 0;
    }

    fn note(&mut self, seq: u64) {
        self.first_seq.get_or_insert(seq);
        self.last_seq = seq;
        self.records += 1;
    }

    pub fn finish(&self) -> Hash {
        block_hash(&self.prev_hash, &self.frames)
    }
}

/// Damage found in a segment: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub segment: PathBuf,
    pub offset: u64,
    pub message: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte offset {}: {}", self.segment.display(), self.offset, self.message)
    }
}

/// One step of a cursor.
#[derive(Debug)]
pub enum Step<'a> {
    Event {
        header: FrameHeader,
        body: &'a [u8],
    },
    Sealed(Seal),
    /// The segment ended cleanly after a seal (or right after its header).
    End,
}

/// A [`Step`] before its body is borrowed.
enum Stepped {
    Event { header: FrameHeader, start: usize },
    Sealed(Seal),
    End,
}

/// Why a cursor stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The bytes from `offset` to the end of the file are not a whole frame or a frame
    /// that checks: a torn write, if nothing valid follows (the caller decides).
    Unreadable {
        offset: u64,
        error: FrameError,
    },
    /// A whole, checksummed frame that breaks the log's structure (sequence, chain).
    Damaged(Damage),
    Io(io::Error),
}

/// Walks one segment, checking each frame and the chain.
#[derive(Debug)]
pub struct SegmentCursor {
    path: PathBuf,
    input: BufReader<SequentialReader>,
    pub header: SegmentHeader,
    /// Offset of the next frame.
    pub offset: u64,
    pub file_len: u64,
    /// The chain after the last seal read.
    pub sealed: ChainPosition,
    /// Offset just past the last seal (or the header).
    pub sealed_end: u64,
    block: BlockHasher,
    next_seq: u64,
    last_at_micros: Option<i64>,
    frame: Vec<u8>,
    /// The event frames of the block whose seal was read last, checked.
    sealed_frames: Vec<u8>,
    /// Whether event bodies are checked at the block's seal rather than frame by frame
    /// (see [`SegmentCursor::defer_body_checks`]).
    defer_body_checks: bool,
    /// The bytes at the start of the open block's frames whose bodies are not checked
    /// yet: whole frames, each read to its end.
    unchecked_len: usize,
}

impl SegmentCursor {
    /// Opens a segment whose header must continue `expected` (pass `None` to trust the
    /// header, e.g. for a segment a reader opens mid-log). The first segment (index 0)
    /// must always start the log: sequence 1, block 0, a zero previous hash.
    pub fn open(
        storage: &Storage,
        path: &Path,
        expected_index: u64,
        expected: Option<ChainPosition>,
    ) -> Result<SegmentCursor, Stop> {
        let file = storage.open_read(path).map_err(Stop::Io)?;
        let file_len = file.size().map_err(Stop::Io)?;
        let mut input = BufReader::with_capacity(1 << 16, SequentialReader::new(file));
        let mut bytes = [0; SEGMENT_HEADER_BYTES];
        let damage = |offset, message: String| Stop::Damaged(Damage { segment: path.to_owned(), offset, message });
        if file_len < SEGMENT_HEADER_BYTES as u64 {
            return Err(Stop::Unreadable {
                offset: 0,
                error: FrameError::Truncated { needed: SEGMENT_HEADER_BYTES, available: file_len as usize },
            });
        }
        input.read_exact(&mut bytes).map_err(Stop::Io)?;
        let header = SegmentHeader::decode(&bytes).map_err(|message| damage(0, message))?;
        if header.segment_index != expected_index {
            return Err(damage(16, format!("segment index {}, expected {expected_index}", header.segment_index)));
        }
        let expected = if expected_index == 0 { Some(ChainPosition::GENESIS) } else { expected };
        if header.first_seq == 0 || header.first_seq == u64::MAX || header.first_block == u64::MAX {
            return Err(damage(24, "segment header holds impossible sequence or block numbers".to_owned()));
        }
        let position = match expected {
            Some(expected) => {
                if header.first_seq != expected.next_seq {
                    return Err(damage(
                        24,
                        format!("segment starts at seq {}, expected {}", header.first_seq, expected.next_seq),
                    ));
                }
                if header.first_block != expected.next_block || header.prev_hash != expected.prev_hash {
                    return Err(damage(32, "segment does not continue the hash chain of the one before".to_owned()));
                }
                expected
            }
            None => ChainPosition {
                next_seq: header.first_seq,
                next_block: header.first_block,
                prev_hash: header.prev_hash,
                last_at_micros: None,
            },
        };
        Ok(SegmentCursor {
            path: path.to_owned(),
            input,
            header,
            offset: SEGMENT_HEADER_BYTES as u64,
            file_len,
            sealed: position,
            sealed_end: SEGMENT_HEADER_BYTES as u64,
            block: BlockHasher::new(&position.prev_hash),
            next_seq: position.next_seq,
            last_at_micros: position.last_at_micros,
            frame: Vec::new(),
            sealed_frames: Vec::new(),
            defer_body_checks: false,
            unchecked_len: 0,
        })
    }

    /// Checks each event body once per block instead of once per frame, for a reader
    /// that hands out whole sealed blocks and nothing before their seal. A block whose
    /// hash matches its seal has every byte its writer wrote, checksums included
    /// (BLAKE3 over the frames is the stronger check), so its bodies' CRC32Cs are not
    /// computed at all. On any error in the block, the bodies read so far are checked
    /// first, and the first that fails is the error, exactly what checking each frame as
    /// it was read would have returned. Switch it only between blocks.
    pub fn defer_body_checks(&mut self, defer: bool) {
        if self.defer_body_checks != defer {
            debug_assert_eq!(self.unchecked_len, 0, "switched between blocks");
            self.defer_body_checks = defer;
        }
    }

    /// The first event frame of the open block whose body fails its checksum, as the
    /// error checking it when it was read would have been.
    fn first_unchecked_damage(&mut self) -> Option<Stop> {
        let unchecked = std::mem::take(&mut self.unchecked_len);
        let mut at = 0;
        while at < unchecked {
            match crate::frame::parse_frame(&self.block.frames[at..unchecked]) {
                Ok((header, _)) => at += header.frame_len(),
                Err(error) => return Some(Stop::Unreadable { offset: self.sealed_end + at as u64, error }),
            }
        }
        None
    }

    /// Opens a segment to read from `resume` on: the segment's header is checked, and the
    /// block seal ending at `resume.offset` must be the one `resume.position` continues
    /// (its last seq, block number and hash); reading then starts there.
    pub fn open_at(storage: &Storage, path: &Path, resume: &ResumePoint) -> Result<SegmentCursor, Stop> {
        use std::io::Seek;
        let mut bytes = [0; SEGMENT_HEADER_BYTES];
        if !storage.read_exact_at(path, &mut bytes, 0).map_err(Stop::Io)? {
            return Err(Stop::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "segment header truncated")));
        }
        let index = SegmentHeader::decode(&bytes)
            .map_err(|message| Stop::Damaged(Damage { segment: path.to_owned(), offset: 0, message }))?
            .segment_index;
        let mut cursor = SegmentCursor::open(storage, path, index, None)?;
        let position = resume.position;
        if resume.offset < SEGMENT_HEADER_BYTES as u64
            || resume.offset > cursor.file_len
            || cursor.header.first_seq != resume.segment_first_seq
            || position.next_seq <= cursor.header.first_seq
        {
            return Err(cursor.damage(resume.offset, "not a place to resume reading this segment".to_owned()));
        }
        let seal = seal_before(storage, path, resume.offset).map_err(Stop::Io)?;
        let continues = seal.is_some_and(|seal| {
            seal.hash == position.prev_hash
                && seal.last_seq.checked_add(1) == Some(position.next_seq)
                && seal.block_index.checked_add(1) == Some(position.next_block)
        });
        if !continues {
            return Err(cursor.damage(resume.offset, "no seal of the resume point's block ends here".to_owned()));
        }
        cursor.input.seek(io::SeekFrom::Start(resume.offset)).map_err(Stop::Io)?;
        cursor.offset = resume.offset;
        cursor.sealed_end = resume.offset;
        cursor.sealed = position;
        cursor.next_seq = position.next_seq;
        cursor.last_at_micros = position.last_at_micros;
        cursor.block = BlockHasher::new(&position.prev_hash);
        Ok(cursor)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The event frames of the block just sealed (after a [`Step::Sealed`]), end to end,
    /// every checksum and the block's hash checked; empty if taken already.
    pub fn take_sealed_frames(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sealed_frames)
    }

    fn damage(&self, offset: u64, message: String) -> Stop {
        Stop::Damaged(Damage { segment: self.path.clone(), offset, message })
    }

    /// Whole event frames read since the last seal.
    pub fn unsealed_records(&self) -> u32 {
        self.block.records
    }

    /// Reads the next frame.
    pub fn step(&mut self) -> Result<Step<'_>, Stop> {
        match self.step_frame() {
            Ok(Stepped::Event { header, start }) => {
                let body = &self.block.frames[start + FRAME_HEADER_BYTES..start + header.frame_len()];
                Ok(Step::Event { header, body })
            }
            Ok(Stepped::Sealed(seal)) => Ok(Step::Sealed(seal)),
            Ok(Stepped::End) => Ok(Step::End),
            Err(stop) => Err(self.first_unchecked_damage().unwrap_or(stop)),
        }
    }

    /// [`SegmentCursor::step`], with an event's body as where it starts in the block.
    fn step_frame(&mut self) -> Result<Stepped, Stop> {
        let offset = self.offset;
        let remaining = self.file_len - offset;
        if remaining == 0 {
            if self.block.records > 0 {
                return Err(Stop::Unreadable {
                    offset: self.sealed_end,
                    error: FrameError::Truncated { needed: FRAME_HEADER_BYTES, available: 0 },
                });
            }
            return Ok(Stepped::End);
        }
        let unreadable = |error| Stop::Unreadable { offset, error };
        if remaining < FRAME_HEADER_BYTES as u64 {
            return Err(unreadable(FrameError::Truncated {
                needed: FRAME_HEADER_BYTES,
                available: remaining as usize,
            }));
        }
        let mut header_bytes = [0_u8; FRAME_HEADER_BYTES];
        self.input.read_exact(&mut header_bytes).map_err(Stop::Io)?;
        let header = parse_header(&header_bytes).map_err(unreadable)?;
        let len = header.frame_len();
        if remaining < len as u64 {
            return Err(unreadable(FrameError::Truncated { needed: len, available: remaining as usize }));
        }
        // An event frame is read straight onto the end of its block, so the block is in one
        // piece when its seal is checked; a seal goes to its own buffer.
        let start = if header.kind == FrameKind::Event { self.block.frames.len() } else { 0 };
        let buffer = if header.kind == FrameKind::Event { &mut self.block.frames } else { &mut self.frame };
        buffer.truncate(start);
        buffer.extend_from_slice(&header_bytes);
        buffer.resize(start + len, 0);
        self.input.read_exact(&mut buffer[start + FRAME_HEADER_BYTES..]).map_err(Stop::Io)?;
        if self.defer_body_checks && header.kind == FrameKind::Event {
            self.unchecked_len = start + len;
        } else {
            check_body(&header, &buffer[start + FRAME_HEADER_BYTES..]).map_err(unreadable)?;
        }
        self.offset += len as u64;
        match header.kind {
            FrameKind::Event => {
                if header.seq != self.next_seq {
                    return Err(self.damage(offset, format!("seq {} where {} was expected", header.seq, self.next_seq)));
                }
                if let Some(last) = self.last_at_micros
                    && header.at_micros < last
                {
                    return Err(self.damage(offset, format!("seq {}: timestamp goes backwards", header.seq)));
                }
                self.last_at_micros = Some(header.at_micros);
                let Some(next_seq) = self.next_seq.checked_add(1) else {
                    return Err(self.damage(offset, "sequence numbers overflow".to_owned()));
                };
                self.next_seq = next_seq;
                self.block.note(header.seq);
                Ok(Stepped::Event { header, start })
            }
            FrameKind::Seal => {
                let Some(seal) = Seal::decode(&self.frame[FRAME_HEADER_BYTES..]) else {
                    return Err(self.damage(offset, "malformed block seal".to_owned()));
                };
                let expected_hash = self.block.finish();
                let block_first = self.block.first_seq.unwrap_or(self.next_seq);
                // The seal's own header is not hashed, so each of its fields must agree
                // with what the chain does cover.
                if header.schema_version != 0
                    || Some(header.at_micros) != self.last_at_micros.filter(|_| self.block.records > 0)
                {
                    return Err(self.damage(offset, "block seal header does not match its block".to_owned()));
                }
                if seal.block_index != self.sealed.next_block
                    || seal.prev_hash != self.sealed.prev_hash
                    || seal.record_count != self.block.records
                    || seal.first_seq != block_first
                    || self.block.records == 0
                    || seal.last_seq != self.next_seq - 1
                    || header.seq != seal.last_seq
                {
                    return Err(self.damage(
                        offset,
                        format!(
                            "block seal {} does not match the {} records before it (block {}, seqs {}..={})",
                            seal.block_index,
                            self.block.records,
                            self.sealed.next_block,
                            block_first,
                            self.next_seq.saturating_sub(1)
                        ),
                    ));
                }
                if seal.hash != expected_hash {
                    return Err(self.damage(
                        offset,
                        format!("hash chain broken at block {}: its records were changed", seal.block_index),
                    ));
                }
                let Some(next_block) = seal.block_index.checked_add(1) else {
                    return Err(self.damage(offset, "block numbers overflow".to_owned()));
                };
                self.sealed = ChainPosition {
                    next_seq: self.next_seq,
                    next_block,
                    prev_hash: seal.hash,
                    last_at_micros: self.last_at_micros,
                };
                self.sealed_end = self.offset;
                // The block's frames stay readable until the next seal (see
                // `take_sealed_frames`); the two buffers take turns.
                std::mem::swap(&mut self.block.frames, &mut self.sealed_frames);
                assert_block_after_read(&self.sealed_frames, &seal);
                self.block.reset(&seal.hash);
                // The hash matched: every unchecked body is as its writer wrote it.
                self.unchecked_len = 0;
                Ok(Stepped::Sealed(seal))
            }
        }
    }
}

/// The block just sealed holds what its seal says, checked on the bytes the cursor hands
/// out (`take_sealed_frames`) rather than on the counters the steps kept: paired with the
/// writer's `assert_block_before_write` (store.rs), so a bug in reading stops here instead
/// of handing out a block that is not the one sealed. One walk over the frame headers
/// per block, beside the block's hash over all its bytes.
fn assert_block_after_read(frames: &[u8], seal: &Seal) {
    let (mut count, mut consumed, mut first_seq, mut last_seq) = (0_u64, 0_usize, None, None);
    for (header, body) in crate::frame::checked_frames(frames) {
        debug_assert_eq!(header.kind, FrameKind::Event, "a block's frames before its seal are events");
        count += 1;
        consumed += FRAME_HEADER_BYTES + body.len();
        first_seq.get_or_insert(header.seq);
        last_seq = Some(header.seq);
    }
    assert_eq!(consumed, frames.len(), "the sealed block's frames end where the block does");
    assert_eq!(count, u64::from(seal.record_count), "the sealed block holds as many frames as its seal counts");
    assert_eq!(first_seq, Some(seal.first_seq), "the sealed block starts at its seal's first seq");
    assert_eq!(last_seq, Some(seal.last_seq), "the sealed block ends at its seal's last seq");
}

/// The block seal whose frame ends exactly at byte `end` of the segment at `path`, if a
/// whole, checksummed one does.
pub fn seal_before(storage: &Storage, path: &Path, end: u64) -> io::Result<Option<Seal>> {
    let frame_len = (FRAME_HEADER_BYTES + SEAL_BODY_BYTES) as u64;
    let Some(start) = end.checked_sub(frame_len).filter(|start| *start >= SEGMENT_HEADER_BYTES as u64) else {
        return Ok(None);
    };
    let mut bytes = [0_u8; FRAME_HEADER_BYTES + SEAL_BODY_BYTES];
    if !storage.read_exact_at(path, &mut bytes, start)? {
        return Ok(None);
    }
    Ok(match crate::frame::parse_frame(&bytes) {
        Ok((header, body)) if header.kind == FrameKind::Seal => Seal::decode(body),
        _ => None,
    })
}

/// Whether a whole, checksummed seal of the block that continues the chain at `sealed`
/// starts in `path` after byte `from`. A cut that would remove one is not a torn write: a
/// crash leaves at most one unsealed block. Only the seal that continues the chain counts,
/// so bytes inside an event body that happen to look like a seal cannot block a repair.
pub fn seal_after(storage: &Storage, path: &Path, from: u64, sealed: &ChainPosition) -> io::Result<bool> {
    let file = storage.open_read(path)?;
    let file = &*file;
    let len = file.size()?;
    let mut chunk = vec![0_u8; 1 << 16];
    let mut position = from.saturating_add(1);
    while position < len {
        let read = file.read_at(&mut chunk, position)?;
        if read == 0 {
            break;
        }
        for index in 0..read {
            let rest = &chunk[index..read];
            let magic_here = rest.starts_with(&crate::frame::FRAME_MAGIC)
                || (rest.len() < 4 && crate::frame::FRAME_MAGIC.starts_with(rest));
            if !magic_here {
                continue;
            }
            let at = position + index as u64;
            let mut header = [0_u8; FRAME_HEADER_BYTES];
            if !read_exact_at(file, &mut header, at)? {
                continue;
            }
            let Ok(parsed) = parse_header(&header) else { continue };
            if parsed.kind != FrameKind::Seal || at + parsed.frame_len() as u64 > len {
                continue;
            }
            let mut body = vec![0_u8; parsed.body_len as usize];
            if read_exact_at(file, &mut body, at + FRAME_HEADER_BYTES as u64)?
                && check_body(&parsed, &body).is_ok()
                && Seal::decode(&body).is_some_and(|seal| {
                    seal.block_index == sealed.next_block
                        && seal.prev_hash == sealed.prev_hash
                        && seal.first_seq == sealed.next_seq
                })
            {
                return Ok(true);
            }
        }
        // Step back three bytes so a magic split between two chunks is seen whole.
        position += (read as u64).saturating_sub(3).max(1);
    }
    Ok(false)
}
