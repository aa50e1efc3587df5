//! Whole-log checks and figures: `verify` walks every segment, checking each checksum,
//! the sequence, the hash chain across blocks and segments, and that every body decodes.

use std::path::Path;

use exops_core::Timestamp;

use crate::codec::decode_body;
use crate::head::{Head, read_head};
use crate::reader::UnsealedTail;
use crate::reader::decode_error;
use crate::segment::{Damage, SegmentCursor, Step, Stop, seal_after};
use crate::storage::Storage;
use crate::store::{StoreError, check_head, list_segments_on, missing_head, segments_dir, stop_error};

/// What a walk of the whole log found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSummary {
    pub segments: u64,
    pub blocks: u64,
    pub events: u64,
    pub bytes: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub first_at: Option<Timestamp>,
    pub last_at: Option<Timestamp>,
    /// The chain hash after the last block, in hex: record it elsewhere to detect a log
    /// cut short later.
    pub head_hash: String,
    /// Bytes after the last seal of the last segment (a torn tail the next open cuts).
    pub unsealed_tail: Option<UnsealedTail>,
    /// The head record (`log/HEAD`), checked against the log: `None` for a log from
    /// before head records.
    pub head_record: Option<Head>,
    /// The notes of what earlier opens cut and kept in `quarantine/` (torn tails, a
    /// segment whose creation did not finish), in name order.
    pub quarantined: Vec<std::path::PathBuf>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Walks the whole log. With `decode`, every event body is decoded too.
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
/// let summary = exops_log::inspect::walk(data_dir, true).unwrap();
/// assert_eq!((summary.events, summary.first_seq, summary.last_seq), (764, Some(1), Some(764)));
/// assert_eq!(summary.head_hash.len(), 64, "a blake3 hash in hex");
/// assert!(summary.unsealed_tail.is_none() && summary.quarantined.is_empty());
/// ```
pub fn walk(data_dir: &Path, decode: bool) -> Result<LogSummary, StoreError> {
    walk_on(&Storage::real(), data_dir, decode)
}

/// [`walk`] of a log on `storage`.
pub fn walk_on(storage: &Storage, data_dir: &Path, decode: bool) -> Result<LogSummary, StoreError> {
    let dir = segments_dir(data_dir);
    // Read before the segments are listed: whatever it says was durable before.
    crate::store::require_log(storage, data_dir)?;
    let head = read_head(storage, &dir)?;
    let segments = list_segments_on(storage, data_dir)?;
    let mut summary = LogSummary { segments: segments.len() as u64, head_record: head, ..LogSummary::default() };
    let mut expected = None;
    // The last segment read whole: its path, where its last seal ends, its format version.
    let mut end: Option<(std::path::PathBuf, u64, u16)> = None;
    for (index, (name_seq, path)) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        let mut cursor = match SegmentCursor::open(storage, path, index as u64, expected) {
            Ok(cursor) => cursor,
            // A rollover that has not finished, or that a crash cut short.
            Err(Stop::Unreadable { error, .. }) if last && index > 0 && error.is_truncation() => {
                let len = storage.len(path).unwrap_or(0);
                summary.bytes += len;
                summary.unsealed_tail = Some(UnsealedTail { segment: path.clone(), offset: 0, bytes: len });
                break;
            }
            Err(stop) => return Err(stop_error(path, stop)),
        };
        if cursor.header.first_seq != *name_seq {
            return Err(StoreError::Damaged(Damage {
                segment: path.clone(),
                offset: 24,
                message: format!("segment named for seq {name_seq} starts at seq {}", cursor.header.first_seq),
            }));
        }
        summary.bytes += cursor.file_len;
        loop {
            match cursor.step() {
                Ok(Step::Event { header, body }) => {
                    if decode {
                        let at = Timestamp::from_unix_micros(header.at_micros);
                        if let Err(error) = decode_body(header.schema_version, header.seq, at, body) {
                            let offset = cursor.offset - header.frame_len() as u64;
                            return Err(decode_error(path, offset, (header.seq, error)));
                        }
                    }
                }
                Ok(Step::Sealed(seal)) => {
                    summary.blocks += 1;
                    summary.events += u64::from(seal.record_count);
                    summary.first_seq.get_or_insert(seal.first_seq);
                    summary.last_seq = Some(seal.last_seq);
                }
                Ok(Step::End) => break,
                Err(Stop::Unreadable { offset, error }) if last && (error.is_truncation() || head.is_some()) => {
                    if let Some(head) = head.filter(|head| head.blocks > cursor.sealed.next_block) {
                        return Err(StoreError::Damaged(Damage {
                            segment: path.clone(),
                            offset,
                            message: format!(
                                "{error}, inside acknowledged data: the log's head record says block {} (seq {}) \
                                 was acknowledged",
                                head.blocks - 1,
                                head.last_seq
                            ),
                        }));
                    }
                    // Past a head record nothing was acknowledged (see `SegmentWriter::open`).
                    if head.is_none()
                        && seal_after(storage, path, offset, &cursor.sealed)
                            .map_err(|error| StoreError::Io { path: path.clone(), error })?
                    {
                        return Err(StoreError::Damaged(Damage {
                            segment: path.clone(),
                            offset,
                            message: format!("{error}, yet whole sealed blocks follow: not a torn write"),
                        }));
                    }
                    summary.unsealed_tail = Some(UnsealedTail {
                        segment: path.clone(),
                        offset: cursor.sealed_end,
                        bytes: cursor.file_len - cursor.sealed_end,
                    });
                    break;
                }
                Err(stop) => return Err(stop_error(path, stop)),
            }
        }
        if summary.first_at.is_none() && summary.blocks > 0 {
            // The first event's time is the first sealed event's; read it back cheaply.
            summary.first_at = first_timestamp(storage, path)?;
        }
        summary.last_at = cursor.sealed.last_at_micros.map(Timestamp::from_unix_micros).or(summary.last_at);
        summary.head_hash = hex(&cursor.sealed.prev_hash);
        expected = Some(cursor.sealed);
        end = Some((path.clone(), cursor.sealed_end, cursor.header.version));
    }
    let quarantine = data_dir.join(crate::store::QUARANTINE_DIR);
    if storage.is_dir(&quarantine) {
        let mut notes: Vec<_> = storage
            .list_dir(&quarantine)
            .map_err(|error| StoreError::Io { path: quarantine.clone(), error })?
            .into_iter()
            .filter(|path| path.extension().is_some_and(|extension| extension == "note"))
            .collect();
        notes.sort();
        summary.quarantined = notes;
    }
    if let (Some((path, end_offset, version)), Some(position)) = (&end, &expected) {
        match &head {
            Some(head) => check_head(storage, &dir, head, path, *end_offset, position)?,
            None if *version >= 2 => return Err(missing_head(&dir)),
            None => {}
        }
    }
    Ok(summary)
}

fn first_timestamp(storage: &Storage, path: &Path) -> Result<Option<Timestamp>, StoreError> {
    let mut cursor = SegmentCursor::open(storage, path, 0, None).map_err(|stop| stop_error(path, stop));
    let Ok(cursor) = cursor.as_mut() else { return Ok(None) };
    match cursor.step() {
        Ok(Step::Event { header, .. }) => Ok(Some(Timestamp::from_unix_micros(header.at_micros))),
        _ => Ok(None),
    }
}
