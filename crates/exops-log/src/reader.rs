//! Streams envelopes out of the log from any sequence number. Events are released a
//! whole block at a time, once the block's seal has checked, so a reader never hands out
//! an event that is not durable and chained; memory is one block.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use exops_core::{Envelope, Timestamp};

use crate::codec::decode_body;
use crate::segment::{Damage, SegmentCursor, Step, Stop};
use crate::store::{StoreError, list_segments, stop_error};

#[derive(Debug)]
pub struct LogReader {
    segments: Vec<(u64, PathBuf)>,
    next_segment: usize,
    cursor: Option<SegmentCursor>,
    from_seq: u64,
    block: Vec<Envelope>,
    ready: VecDeque<Envelope>,
    finished: bool,
    /// Unsealed bytes found at the end (a writer mid-block, or a torn tail not yet cut).
    pub unsealed_tail: Option<(PathBuf, u64)>,
}

impl LogReader {
    /// A reader of every event with `seq >= from_seq`.
    pub fn open(data_dir: &Path, from_seq: u64) -> Result<LogReader, StoreError> {
        let segments = list_segments(data_dir)?;
        // Start in the last segment whose first event is at or before `from_seq`.
        let start = segments.iter().rposition(|(first, _)| *first <= from_seq.max(1)).unwrap_or(0);
        Ok(LogReader {
            segments,
            next_segment: start,
            cursor: None,
            from_seq,
            block: Vec::new(),
            ready: VecDeque::new(),
            finished: false,
            unsealed_tail: None,
        })
    }

    fn open_next_segment(&mut self) -> Result<bool, StoreError> {
        let Some((_, path)) = self.segments.get(self.next_segment).cloned() else {
            return Ok(false);
        };
        let expected = self.cursor.as_ref().map(|cursor| cursor.sealed);
        let cursor =
            SegmentCursor::open(&path, self.next_segment as u64, expected).map_err(|stop| stop_error(&path, stop))?;
        self.cursor = Some(cursor);
        self.next_segment += 1;
        Ok(true)
    }

    /// Reads until a block is sealed (or the log ends); returns false at the end.
    fn fill(&mut self) -> Result<bool, StoreError> {
        loop {
            if self.cursor.is_none() && !self.open_next_segment()? {
                return Ok(false);
            }
            let cursor = self.cursor.as_mut().expect("opened above");
            let last_segment = self.next_segment == self.segments.len();
            match cursor.step() {
                Ok(Step::Event { header, body }) => {
                    if header.seq >= self.from_seq {
                        let at = Timestamp::from_unix_micros(header.at_micros);
                        let envelope = decode_body(header.schema_version, header.seq, at, body).map_err(|error| {
                            StoreError::Damaged(Damage {
                                segment: cursor.path().to_owned(),
                                offset: cursor.offset - header.frame_len() as u64,
                                message: format!("seq {}: {error}", header.seq),
                            })
                        })?;
                        self.block.push(envelope);
                    }
                }
                Ok(Step::Sealed(_)) => {
                    self.ready.extend(self.block.drain(..));
                    return Ok(true);
                }
                Ok(Step::End) => {
                    if last_segment {
                        return Ok(false);
                    }
                    // Keep the cursor's chain position for the next segment's check.
                    if !self.open_next_segment()? {
                        return Ok(false);
                    }
                }
                Err(Stop::Unreadable { offset, error }) if last_segment && error.is_truncation() => {
                    self.unsealed_tail = Some((cursor.path().to_owned(), offset));
                    self.block.clear();
                    return Ok(false);
                }
                Err(stop) => {
                    let path = cursor.path().to_owned();
                    return Err(stop_error(&path, stop));
                }
            }
        }
    }
}

impl Iterator for LogReader {
    type Item = Result<Envelope, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(envelope) = self.ready.pop_front() {
                return Some(Ok(envelope));
            }
            if self.finished {
                return None;
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => self.finished = true,
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            }
        }
    }
}
