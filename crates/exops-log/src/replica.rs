//! Whole sealed blocks as bytes, for replication: a block read from one log (its event
//! frames and its seal frame, exactly as they sit in the segment) is checked against the
//! chain position of another log before that log appends it. The check rebuilds the
//! block from its records exactly as the writer frames one and requires the same bytes,
//! so nothing a writer would not have written is ever appended.

use crate::frame::{FRAME_HEADER_BYTES, FrameKind, parse_frame, write_frame};
use crate::segment::{ChainPosition, Hash, Seal, block_hash};
use crate::store::{SegmentWriter, StoreError};

/// Why a block's bytes cannot continue a log. Each variant names the block index the
/// bytes claim (or the one expected) so that an alarm can say which block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// A frame inside the bytes fails its checksums or is cut short.
    #[error("block {block}: record at byte {offset} of the block: {message}")]
    Frame { block: u64, offset: usize, message: String },
    /// The bytes hold no seal, or something follows it.
    #[error("block {block}: {message}")]
    Shape { block: u64, message: String },
    /// The block does not continue the log here: another index, another previous hash
    /// (a fork), or sequence numbers that do not follow on.
    #[error("block {block}: {message}")]
    Chain { block: u64, message: String },
    /// The bytes are not what the writer frames for these records (a seal or a header
    /// field edited, its checksums recomputed).
    #[error("block {block}: its bytes are not the block its records make (hash {found}, expected {expected})")]
    NotCanonical { block: u64, found: String, expected: String },
}

/// A block that checked against a chain position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBlock {
    pub seal: Seal,
    /// Each event's schema version, timestamp and body, in order.
    pub records: Vec<(u16, i64, Vec<u8>)>,
    /// The timestamp of its last event.
    pub last_at_micros: i64,
}

impl CheckedBlock {
    /// Decodes the block's events onto `out`; the error names the event that did not
    /// decode.
    ///
    /// ```
    /// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
    /// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let data_dir = dir.path();
    /// # exops_log::init(data_dir).unwrap();
    /// # let opened = exops_log::Log::open(data_dir, Default::default(), None).unwrap();
    /// # opened.log.appender().submit_batch(lines.into_iter().map(|line| line.envelope.into()).collect()).unwrap().wait();
    /// # opened.log.close().unwrap();
    /// let mut reader = exops_log::LogReader::open(data_dir, 1).unwrap();
    /// let bytes = reader.next_raw_block().unwrap().unwrap().segment_bytes().unwrap();
    /// let checked = exops_log::replica::check_block(&exops_log::ChainPosition::GENESIS, &bytes).unwrap();
    /// let mut events: Vec<exops_core::Envelope> = Vec::new();
    /// checked.decode_into(&mut events).unwrap();
    /// assert_eq!(events[0].event.kind_name(), "venue_declared");
    /// assert_eq!(events.len() as u32, checked.seal.record_count);
    /// ```
    pub fn decode_into<T: crate::codec::Decoded>(&self, out: &mut Vec<T>) -> Result<(), crate::codec::CodecError> {
        for (seq, (schema_version, at_micros, body)) in (self.seal.first_seq..).zip(&self.records) {
            let at = exops_core::Timestamp::from_unix_micros(*at_micros);
            out.push(T::decode(*schema_version, seq, at, body)?);
        }
        Ok(())
    }
}

/// The hexadecimal form of a chain hash.
pub fn hash_hex(hash: &Hash) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks that `bytes` (event frames, then one seal frame) are the block that continues
/// the log at `position`: every checksum, the sequence, timestamps that do not go back,
/// the block index, the previous hash and the block hash, and that the bytes are exactly
/// what the writer would write for those records.
///
/// ```
/// use exops_log::replica::{check_block, BlockError};
/// use exops_log::segment::ChainPosition;
/// let error = check_block(&ChainPosition::GENESIS, b"not a block").unwrap_err();
/// assert!(matches!(error, BlockError::Frame { block: 0, offset: 0, .. }), "{error}");
/// ```
pub fn check_block(position: &ChainPosition, bytes: &[u8]) -> Result<CheckedBlock, BlockError> {
    let block = position.next_block;
    let mut records = Vec::new();
    let mut offset = 0;
    let mut seq = position.next_seq;
    let mut last_at = position.last_at_micros;
    let mut seal = None;
    while offset < bytes.len() {
        let (header, body) = parse_frame(&bytes[offset..]).map_err(|error| BlockError::Frame {
            block,
            offset,
            message: error.to_string(),
        })?;
        if seal.is_some() {
            return Err(BlockError::Shape { block, message: format!("a record follows the seal at byte {offset}") });
        }
        match header.kind {
            FrameKind::Event => {
                if header.seq != seq {
                    return Err(BlockError::Chain {
                        block,
                        message: format!("holds seq {} where the log continues at seq {seq}", header.seq),
                    });
                }
                if last_at.is_some_and(|last| header.at_micros < last) {
                    return Err(BlockError::Chain { block, message: format!("seq {seq}: timestamp goes backwards") });
                }
                last_at = Some(header.at_micros);
                records.push((header.schema_version, header.at_micros, body.to_vec()));
                seq += 1;
            }
            FrameKind::Seal => {
                seal = Some(Seal::decode(body).ok_or_else(|| BlockError::Shape {
                    block,
                    message: format!("malformed block seal at byte {offset}"),
                })?);
            }
        }
        offset += FRAME_HEADER_BYTES + body.len();
    }
    let Some(seal) = seal else {
        return Err(BlockError::Shape { block, message: "no seal: not a whole block".to_owned() });
    };
    if seal.block_index != block {
        return Err(BlockError::Chain {
            block,
            message: format!("the bytes are block {}, the log continues at block {block}", seal.block_index),
        });
    }
    if seal.prev_hash != position.prev_hash {
        return Err(BlockError::Chain {
            block,
            message: format!(
                "previous hash {} where the log's chain is at {}: a fork",
                hash_hex(&seal.prev_hash),
                hash_hex(&position.prev_hash)
            ),
        });
    }
    let Some(last_at_micros) = last_at.filter(|_| !records.is_empty()) else {
        return Err(BlockError::Shape { block, message: "a block without events".to_owned() });
    };
    // Rebuild the block as the writer frames it: equal bytes mean equal fields everywhere,
    // including the seal header and the fields the hash does not cover.
    let mut canonical = Vec::with_capacity(bytes.len());
    let mut next_seq = position.next_seq;
    for (schema_version, at_micros, body) in &records {
        write_frame(&mut canonical, FrameKind::Event, *schema_version, next_seq, *at_micros, body);
        next_seq += 1;
    }
    let expected = Seal {
        block_index: block,
        first_seq: position.next_seq,
        last_seq: next_seq - 1,
        record_count: records.len() as u32,
        prev_hash: position.prev_hash,
        hash: block_hash(&position.prev_hash, &canonical),
    };
    write_frame(&mut canonical, FrameKind::Seal, 0, next_seq - 1, last_at_micros, &expected.encode());
    if canonical != bytes {
        return Err(BlockError::NotCanonical {
            block,
            found: hash_hex(&seal.hash),
            expected: hash_hex(&expected.hash),
        });
    }
    Ok(CheckedBlock { seal, records, last_at_micros })
}

/// A log that grows only by whole blocks checked against its own chain: a replica's
/// writer. It holds the log's writer lock for as long as it lives.
///
/// ```
/// use exops_log::replica::Replica;
///
/// let dir = tempfile::tempdir().unwrap();
/// let (replica, recovery) = Replica::open(dir.path()).unwrap();
/// assert_eq!(recovery.describe(), None, "a new log needed no repair");
/// assert_eq!(replica.position(), exops_log::ChainPosition::GENESIS);
/// // A second writer is refused while this one lives.
/// assert!(matches!(Replica::open(dir.path()), Err(exops_log::StoreError::Busy(_))));
/// ```
#[derive(Debug)]
pub struct Replica {
    writer: SegmentWriter,
}

impl Replica {
    /// Opens the log in `data_dir` (made when missing) for appending checked blocks: the
    /// log is read through as any writer's open reads it, a torn tail cut (said in the
    /// [`crate::Recovery`]) and any other damage refused.
    pub fn open(data_dir: &std::path::Path) -> Result<(Replica, crate::Recovery), StoreError> {
        crate::init(data_dir)?;
        let (writer, recovery) = SegmentWriter::open(data_dir, crate::store::SEGMENT_BYTES_DEFAULT)?;
        Ok((Replica { writer }, recovery))
    }

    /// A replica over a writer opened by the caller (with another segment limit, or on
    /// simulated storage): for this workspace's tests.
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn from_writer(writer: SegmentWriter) -> Replica {
        Replica { writer }
    }

    /// Where the next block must continue the chain.
    pub fn position(&self) -> ChainPosition {
        self.writer.position()
    }

    /// Checks `bytes` against the log's end ([`check_block`]) and appends them, fsynced
    /// before this returns: the bytes in the segment are exactly `bytes`. Returns the
    /// block appended.
    pub fn append(&mut self, bytes: &[u8]) -> Result<CheckedBlock, AppendBytesError> {
        append_block_bytes(&mut self.writer, bytes)
    }
}

/// [`Replica::append`] through a writer of the crate's own.
pub(crate) fn append_block_bytes(writer: &mut SegmentWriter, bytes: &[u8]) -> Result<CheckedBlock, AppendBytesError> {
    let position = writer.position();
    let checked = check_block(&position, bytes)?;
    let records = checked.records.iter().map(|(version, at, body)| (*version, *at, body.as_slice()));
    let after = writer.append_block(records)?;
    // Paired with the check above: the writer framed the same block.
    assert_eq!(after.prev_hash, checked.seal.hash, "a checked block must frame to the same hash");
    assert_eq!(after.next_block, checked.seal.block_index + 1, "a checked block must be the next block");
    Ok(checked)
}

/// Why [`Replica::append`] did not append.
#[derive(Debug, thiserror::Error)]
pub enum AppendBytesError {
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
