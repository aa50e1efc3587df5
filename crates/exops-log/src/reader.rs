//! Streams envelopes out of the log from any sequence number. Events are released a
//! whole block at a time, once the block's seal has checked, so a reader never hands out
//! an event that is not durable and chained; memory is one block.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use exops_core::{Envelope, Timestamp};

use crate::codec::{CodecError, Decoded};
use crate::frame::{FRAME_HEADER_BYTES, FrameHeader, checked_frames};
use crate::head::{Head, read_head};
use crate::segment::{Damage, Hash, ResumePoint, SEAL_BODY_BYTES, SegmentCursor, Step, Stop, seal_after};
use crate::storage::Storage;
use crate::store::{StoreError, check_head, list_segments_on, missing_head, segments_dir, stop_error};

/// The events of one block (those at or after the reader's start) and the block's seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBlock {
    pub events: Vec<Envelope>,
    /// Last sequence number, chain hash and last timestamp of the block.
    pub seal: Option<(u64, Hash, Option<i64>)>,
}

/// A sealed block as read: its event frames, every checksum and the chain hash checked,
/// not yet decoded. Decoding is left to whoever takes it (the folding thread of a
/// pipelined replay), so that reading and decoding run on different cores.
#[derive(Clone, Debug)]
pub struct RawBlock {
    frames: Vec<u8>,
    /// Events before this one are skipped when decoding (the first block of a reader
    /// that starts mid-block).
    from_seq: u64,
    segment: PathBuf,
    /// Offset of the first frame in `segment`.
    offset: u64,
    /// Last sequence number, chain hash and last timestamp of the block.
    pub seal: (u64, Hash, Option<i64>),
    /// Where reading resumes after this block.
    pub resume: ResumePoint,
}

impl RawBlock {
    /// Decodes the block's events (those at or after the reader's start) onto `out`: as
    /// [`Envelope`]s, or as [`Record`](exops_core::Record)s for a fold (customer operations
    /// then never become envelopes).
    pub fn decode_into<T: Decoded>(&self, out: &mut Vec<T>) -> Result<(), StoreError> {
        let mut offset = self.offset;
        for (header, body) in checked_frames(&self.frames) {
            if header.seq >= self.from_seq {
                out.push(decode_frame(&header, body).map_err(|error| decode_error(&self.segment, offset, error))?);
            }
            offset += (FRAME_HEADER_BYTES + body.len()) as u64;
        }
        Ok(())
    }

    /// The block's index in the chain.
    pub fn block_index(&self) -> u64 {
        self.resume.position.next_block - 1
    }

    /// The block exactly as it sits in its segment: its event frames, then its seal frame
    /// (what replication sends, and `replica::Replica::append` appends verbatim). Read
    /// back from the segment and checked against the frames this reader already checked.
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
    /// let block = reader.next_raw_block().unwrap().unwrap();
    /// let bytes = block.segment_bytes().unwrap();
    /// // Exactly what another log checks before it appends them.
    /// let checked = exops_log::replica::check_block(&exops_log::ChainPosition::GENESIS, &bytes).unwrap();
    /// assert_eq!(checked.seal.last_seq, block.seal.0);
    /// ```
    pub fn segment_bytes(&self) -> Result<Vec<u8>, StoreError> {
        use std::os::unix::fs::FileExt;
        let io = |error| StoreError::Io { path: self.segment.clone(), error };
        let len = (self.resume.offset - self.offset) as usize;
        let mut bytes = vec![0; len];
        std::fs::File::open(&self.segment).and_then(|file| file.read_exact_at(&mut bytes, self.offset)).map_err(io)?;
        if !bytes.starts_with(&self.frames) || len != self.frames.len() + FRAME_HEADER_BYTES + SEAL_BODY_BYTES {
            return Err(damaged(self.segment.clone(), self.offset, "the block changed since it was read".to_owned()));
        }
        Ok(bytes)
    }
}

/// Decodes one checked event frame.
fn decode_frame<T: Decoded>(header: &FrameHeader, body: &[u8]) -> Result<T, (u64, CodecError)> {
    let at = Timestamp::from_unix_micros(header.at_micros);
    T::decode(header.schema_version, header.seq, at, body).map_err(|error| (header.seq, error))
}

/// What an event frame at `offset` of `segment` that did not decode means: a venue
/// declared under rules this build lacks, or damage; either way naming the event.
pub(crate) fn decode_error(segment: &Path, offset: u64, (seq, error): (u64, CodecError)) -> StoreError {
    match error.rules {
        Some(rules) => StoreError::Rules { segment: segment.to_owned(), offset, seq, error: rules },
        None => damaged(segment.to_owned(), offset, format!("seq {seq}: {error}")),
    }
}

/// Bytes after the last seal of the log's last segment: a block whose writer had not
/// sealed it yet, or a torn write not yet cut. Nothing in it was acknowledged, and no
/// reader hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsealedTail {
    pub segment: PathBuf,
    /// Where the unsealed bytes start: just past the last seal, or 0 in a segment whose
    /// header is not whole (a rollover cut short).
    pub offset: u64,
    pub bytes: u64,
}

impl UnsealedTail {
    /// What the tail is and what becomes of it, in the words every command uses.
    ///
    /// ```
    /// use exops_log::UnsealedTail;
    /// let tail = UnsealedTail { segment: "log/00000000000000000001.seg".into(), offset: 4_096, bytes: 57 };
    /// assert_eq!(
    ///     tail.describe(),
    ///     "57 unsealed bytes at byte offset 4096 of log/00000000000000000001.seg were never acknowledged \
    ///      (a torn write); the next `exops log append` or `import` cuts them"
    /// );
    /// ```
    pub fn describe(&self) -> String {
        format!(
            "{} unsealed bytes at byte offset {} of {} were never acknowledged (a torn write); \
             the next `exops log append` or `import` cuts them",
            self.bytes,
            self.offset,
            self.segment.display()
        )
    }
}

/// Damage at one frame of a segment.
fn damaged(segment: PathBuf, offset: u64, message: String) -> StoreError {
    StoreError::Damaged(Damage { segment, offset, message })
}

#[derive(Debug)]
pub struct LogReader {
    storage: Storage,
    /// The segment directory, and its head record as the reader was opened.
    dir: PathBuf,
    head: Option<Head>,
    segments: Vec<(u64, PathBuf)>,
    next_segment: usize,
    cursor: Option<SegmentCursor>,
    from_seq: u64,
    block: Vec<Envelope>,
    ready: VecDeque<Envelope>,
    finished: bool,
    /// Unsealed bytes found at the end (a writer mid-block, or a torn tail not yet cut),
    /// known once the reader has reached the end.
    pub unsealed_tail: Option<UnsealedTail>,
    /// The chain hash just before `from_seq`, once the reader has passed it.
    chain_before_start: Option<Hash>,
    /// The last seal read: its last sequence number, chain hash and last timestamp.
    last_seal: Option<(u64, Hash, Option<i64>)>,
    /// The block just sealed, when reading raw blocks.
    raw: Option<RawBlock>,
}

impl LogReader {
    /// A reader of every event with `seq >= from_seq`.
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
    /// let reader = exops_log::LogReader::open(data_dir, 750).unwrap();
    /// let seqs: Vec<u64> = reader.map(|event| event.unwrap().seq).collect();
    /// assert_eq!(seqs, (750..=764).collect::<Vec<_>>());
    /// ```
    pub fn open(data_dir: &Path, from_seq: u64) -> Result<LogReader, StoreError> {
        LogReader::open_on(&Storage::real(), data_dir, from_seq)
    }

    /// [`LogReader::open`] of a log on `storage`.
    pub fn open_on(storage: &Storage, data_dir: &Path, from_seq: u64) -> Result<LogReader, StoreError> {
        crate::store::require_log(storage, data_dir)?;
        // Read before the segments are listed: whatever it says was durable before.
        let head = read_head(storage, &segments_dir(data_dir))?;
        let segments = list_segments_on(storage, data_dir)?;
        // Start in the last segment whose first event is at or before `from_seq`.
        let start = segments.iter().rposition(|(first, _)| *first <= from_seq.max(1)).unwrap_or(0);
        Ok(LogReader {
            storage: storage.clone(),
            dir: segments_dir(data_dir),
            head,
            segments,
            next_segment: start,
            cursor: None,
            from_seq,
            block: Vec::new(),
            ready: VecDeque::new(),
            finished: false,
            unsealed_tail: None,
            chain_before_start: None,
            last_seal: None,
            raw: None,
        })
    }

    /// A reader of the events after `resume`, starting there: nothing before it is read.
    /// Refused unless the seal ending at `resume` is the block `resume` continues.
///
    /// ```
    /// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
    /// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let data_dir = dir.path();
    /// # exops_log::init(data_dir).unwrap();
    /// # let opened = exops_log::Log::open(data_dir, Default::default(), None).unwrap();
    /// # let mut submissions: Vec<exops_log::Submission> = lines.into_iter().map(|line| line.envelope.into()).collect();
    /// # let rest = submissions.split_off(100);
    /// // Two batches, answered one after the other: two blocks.
    /// opened.log.appender().submit_batch(submissions).unwrap().wait();
    /// opened.log.appender().submit_batch(rest).unwrap().wait();
    /// opened.log.close().unwrap();
    /// let mut reader = exops_log::LogReader::open(data_dir, 1).unwrap();
    /// let first = reader.next_raw_block().unwrap().unwrap();
    /// assert_eq!(first.seal.0, 100);
    /// // The blocks after the first, without reading the first again.
    /// let rest = exops_log::LogReader::open_at(data_dir, &first.resume).unwrap();
    /// assert_eq!(rest.map(|event| event.unwrap().seq).next(), Some(first.seal.0 + 1));
    /// ```
    pub fn open_at(data_dir: &Path, resume: &ResumePoint) -> Result<LogReader, StoreError> {
        LogReader::open_at_on(&Storage::real(), data_dir, resume)
    }

    /// [`LogReader::open_at`] of a log on `storage`.
    pub fn open_at_on(storage: &Storage, data_dir: &Path, resume: &ResumePoint) -> Result<LogReader, StoreError> {
        crate::store::require_log(storage, data_dir)?;
        let head = read_head(storage, &segments_dir(data_dir))?;
        let segments = list_segments_on(storage, data_dir)?;
        let Some(index) = segments.iter().position(|(first, _)| *first == resume.segment_first_seq) else {
            return Err(StoreError::Damaged(Damage {
                segment: data_dir.to_owned(),
                offset: 0,
                message: format!("no segment starts at seq {}", resume.segment_first_seq),
            }));
        };
        let path = segments[index].1.clone();
        let cursor = SegmentCursor::open_at(storage, &path, resume).map_err(|stop| stop_error(&path, stop))?;
        Ok(LogReader {
            storage: storage.clone(),
            dir: segments_dir(data_dir),
            head,
            segments,
            next_segment: index + 1,
            cursor: Some(cursor),
            from_seq: resume.position.next_seq,
            block: Vec::new(),
            ready: VecDeque::new(),
            finished: false,
            unsealed_tail: None,
            chain_before_start: Some(resume.position.prev_hash),
            last_seal: None,
            raw: None,
        })
    }

    /// The chain hash of the log just before the first event this reader was asked for
    /// (known once that point has been read past): what a snapshot taken there recorded.
    pub fn chain_before_start(&self) -> Option<Hash> {
        self.chain_before_start
    }

    /// The rest of the current block, or the next whole block, with its seal: its last
    /// sequence number, chain hash and last timestamp.
    pub fn next_block(&mut self) -> Option<Result<SealedBlock, StoreError>> {
        if self.ready.is_empty()
            && let Some(error) = self.refill()
        {
            return Some(Err(error));
        }
        if self.ready.is_empty() {
            return None;
        }
        let events: Vec<Envelope> = self.ready.drain(..).collect();
        Some(Ok(SealedBlock { events, seal: self.last_seal }))
    }

    /// The next whole block, checked but not decoded: see [`RawBlock`]. Do not mix with
    /// [`LogReader::next_block`] or iteration on one reader.
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
    /// let mut events = 0;
    /// while let Some(block) = reader.next_raw_block() {
    ///     let block = block.unwrap();
    ///     // Records for a fold; `Vec<Envelope>` gives whole envelopes.
    ///     let mut decoded: Vec<exops_core::Record> = Vec::new();
    ///     block.decode_into(&mut decoded).unwrap();
    ///     events += decoded.len();
    /// }
    /// assert_eq!(events, 764);
    /// assert!(reader.unsealed_tail.is_none());
    /// ```
    pub fn next_raw_block(&mut self) -> Option<Result<RawBlock, StoreError>> {
        if self.finished {
            return None;
        }
        match self.fill(Mode::Raw) {
            Ok(true) => self.raw.take().map(Ok),
            Ok(false) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }

    /// The last block sealed so far: its last sequence number, chain hash and timestamp.
    /// While a block's events are being handed out, this is that block.
    pub fn last_seal(&self) -> Option<(u64, Hash, Option<i64>)> {
        self.last_seal
    }

    fn open_next_segment(&mut self) -> Result<bool, StoreError> {
        let Some((name_seq, path)) = self.segments.get(self.next_segment).cloned() else {
            return Ok(false);
        };
        let last_segment = self.next_segment + 1 == self.segments.len();
        let expected = self.cursor.as_ref().map(|cursor| cursor.sealed);
        let cursor = match SegmentCursor::open(&self.storage, &path, self.next_segment as u64, expected) {
            Ok(cursor) => cursor,
            // A segment whose creation has not finished (or was cut short by a crash).
            Err(Stop::Unreadable { error, .. }) if last_segment && self.next_segment > 0 && error.is_truncation() => {
                let bytes = self.storage.len(&path).map_err(|error| StoreError::Io { path: path.clone(), error })?;
                if let Some(cursor) = &self.cursor {
                    self.check_end(cursor)?;
                }
                self.unsealed_tail = Some(UnsealedTail { segment: path, offset: 0, bytes });
                return Ok(false);
            }
            Err(stop) => return Err(stop_error(&path, stop)),
        };
        if cursor.header.first_seq != name_seq {
            return Err(StoreError::Damaged(Damage {
                segment: path,
                offset: 24,
                message: format!("segment named for seq {name_seq} starts at seq {}", cursor.header.first_seq),
            }));
        }
        if cursor.header.first_seq == self.from_seq.max(1) {
            self.chain_before_start = Some(cursor.header.prev_hash);
        }
        self.cursor = Some(cursor);
        self.next_segment += 1;
        Ok(true)
    }

    /// Reads the next sealed block into `ready`, marking the reader finished at the end
    /// of the log or at an error, which it returns.
    fn refill(&mut self) -> Option<StoreError> {
        if self.finished {
            return None;
        }
        match self.fill(Mode::Decode) {
            Ok(true) => None,
            Ok(false) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(error)
            }
        }
    }

    /// Reads until a block is sealed (or the log ends); returns false at the end.
    fn fill(&mut self, mode: Mode) -> Result<bool, StoreError> {
        loop {
            if self.cursor.is_none() && !self.open_next_segment()? {
                return Ok(false);
            }
            let cursor = self.cursor.as_mut().expect("opened above");
            let last_segment = self.next_segment == self.segments.len();
            let block_start = cursor.sealed_end;
            // A raw block is handed out only once sealed, its hash checked: its bodies'
            // checksums need not be computed one by one (see `defer_body_checks`).
            cursor.defer_body_checks(mode == Mode::Raw);
            match cursor.step() {
                Ok(Step::Event { header, body }) => {
                    if mode == Mode::Decode && header.seq >= self.from_seq {
                        let envelope = decode_frame(&header, body).map_err(|error| {
                            decode_error(cursor.path(), cursor.offset - header.frame_len() as u64, error)
                        })?;
                        self.block.push(envelope);
                    }
                }
                Ok(Step::Sealed(seal)) => {
                    if seal.last_seq.checked_add(1) == Some(self.from_seq.max(1)) {
                        self.chain_before_start = Some(seal.hash);
                    }
                    let last_seal = (seal.last_seq, seal.hash, cursor.sealed.last_at_micros);
                    self.last_seal = Some(last_seal);
                    match mode {
                        Mode::Decode => self.ready.extend(self.block.drain(..)),
                        Mode::Raw => {
                            let resume = ResumePoint {
                                segment_first_seq: cursor.header.first_seq,
                                offset: cursor.sealed_end,
                                position: cursor.sealed,
                            };
                            self.raw = Some(RawBlock {
                                frames: cursor.take_sealed_frames(),
                                from_seq: self.from_seq,
                                segment: cursor.path().to_owned(),
                                offset: block_start,
                                seal: last_seal,
                                resume,
                            })
                        }
                    }
                    return Ok(true);
                }
                Ok(Step::End) => {
                    if last_segment {
                        self.check_end(self.cursor.as_ref().expect("read above"))?;
                        return Ok(false);
                    }
                    // Keep the cursor's chain position for the next segment's check.
                    if !self.open_next_segment()? {
                        return Ok(false);
                    }
                }
                Err(Stop::Unreadable { offset, error })
                    if last_segment && (error.is_truncation() || self.head.is_some()) =>
                {
                    let path = cursor.path().to_owned();
                    if let Some(head) = self.head.filter(|head| head.blocks > cursor.sealed.next_block) {
                        return Err(StoreError::Damaged(Damage {
                            segment: path,
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
                    if self.head.is_none()
                        && seal_after(&self.storage, &path, offset, &cursor.sealed)
                            .map_err(|error| StoreError::Io { path: path.clone(), error })?
                    {
                        return Err(StoreError::Damaged(Damage {
                            segment: path,
                            offset,
                            message: format!("{error}, yet whole sealed blocks follow: not a torn write"),
                        }));
                    }
                    let bytes = cursor.file_len - cursor.sealed_end;
                    let cursor = self.cursor.as_ref().expect("read above");
                    self.check_end(cursor)?;
                    self.unsealed_tail = Some(UnsealedTail { segment: path, offset: cursor.sealed_end, bytes });
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

impl LogReader {
    /// At the end of the log: it must reach its head record, and hold the head's block
    /// where the head says; a log whose segments say it keeps a head record must have one.
    fn check_end(&self, cursor: &SegmentCursor) -> Result<(), StoreError> {
        match &self.head {
            Some(head) => check_head(&self.storage, &self.dir, head, cursor.path(), cursor.sealed_end, &cursor.sealed),
            None if cursor.header.version >= 2 => Err(missing_head(&self.dir)),
            None => Ok(()),
        }
    }
}

/// Whether [`LogReader::fill`] decodes events as it reads them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    Decode,
    Raw,
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
            if let Some(error) = self.refill() {
                return Some(Err(error));
            }
        }
    }
}
