//! The segment directory: opening (with torn-tail recovery), appending whole blocks, and
//! rolling over to a new segment when one is full.
//!
//! Durability path of one block: every event frame and the block's seal are written with
//! one `write_all` at the end of the last segment, then `fdatasync`; only then is any event
//! of the block acknowledged. A new segment is created, written with its header and
//! `fsync`ed, and the directory is `fsync`ed, before the first block goes into it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::frame::{FrameKind, write_frame};
use crate::head::{Head, HeadFile, SharedHead, head_path, read_head};
use crate::segment::{
    ChainPosition, Damage, ResumePoint, SEGMENT_HEADER_BYTES, Seal, SegmentCursor, SegmentHeader, Step, Stop,
    block_hash, seal_after, seal_before,
};
use crate::storage::{LockError, LockGuard, Storage, StorageFile};

/// The segments live in this subdirectory of a data directory.
pub const SEGMENTS_DIR: &str = "log";
pub const SEGMENT_EXTENSION: &str = "seg";
pub const SEGMENT_BYTES_DEFAULT: u64 = 64 << 20;

/// Why a log cannot be opened or written.
#[derive(Debug)]
pub enum StoreError {
    /// The path holds no log: a directory without `log/`, or not a directory at all.
    NotALog {
        path: PathBuf,
        is_file: bool,
    },
    /// Another writer holds the log.
    Busy(PathBuf),
    Damaged(Damage),
    /// The log's venue declaration is sound but names a rules version this build does not
    /// fold (the log was written by a newer exops): nothing is wrong with the bytes, and
    /// nothing is repaired.
    Rules {
        segment: PathBuf,
        /// Where the declaration's record starts in `segment`.
        offset: u64,
        seq: u64,
        error: exops_core::RulesVersionError,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotALog { path, is_file: true } => write!(
                f,
                "{} is a file, not an exops data directory; a JSON Lines log is read as a SOURCE \
                 (`exops replay {}`) or imported into one (`exops log import {} --data-dir DIR`)",
                path.display(),
                path.display(),
                path.display()
            ),
            StoreError::NotALog { path, is_file: false } => write!(
                f,
                "{} is not an exops data directory (no `{SEGMENTS_DIR}/`); create one with `exops log init --data-dir {}`",
                path.display(),
                path.display()
            ),
            StoreError::Busy(path) => write!(
                f,
                "another process is writing to the log in {} (an `exops log append` or `import`?): \
                 one writer at a time",
                path.display()
            ),
            StoreError::Damaged(damage) => write!(f, "the log is damaged: {damage}"),
            StoreError::Rules { segment, offset, seq, error } => write!(
                f,
                "{} at byte offset {offset}: event seq {seq} (venue_declared), field `rules`: {error}",
                segment.display()
            ),
            StoreError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Rules { error, .. } => Some(error),
            StoreError::Io { error, .. } => Some(error),
            StoreError::NotALog { .. } | StoreError::Busy(_) | StoreError::Damaged(_) => None,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |error| StoreError::Io { path: path.to_owned(), error }
}

/// What opening the log repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// A torn tail cut off: the segment, the offset it was cut at, the bytes removed, and
    /// how many whole but unsealed (never acknowledged) event records they held.
    pub truncated: Option<(PathBuf, u64, u64, u32)>,
    /// A segment created by a rollover that crashed before its header was whole.
    pub removed_segment: Option<PathBuf>,
    /// Where the bytes cut or removed were moved (`DATA_DIR/quarantine/`), with a note.
    pub quarantined: Vec<PathBuf>,
}

impl Recovery {
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some((path, offset, bytes, records)) = &self.truncated {
            parts.push(format!(
                "cut a torn tail of {bytes} bytes from {} at byte offset {offset} ({records} whole but unacknowledged records)",
                path.display()
            ));
        }
        if let Some(path) = &self.removed_segment {
            parts.push(format!("removed {}, a segment whose creation did not finish", path.display()));
        }
        for path in &self.quarantined {
            parts.push(format!("the bytes are kept in {}", path.display()));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The directory of `data_dir` that holds the segment files.
///
/// ```
/// let dir = std::path::Path::new("/srv/exops/bitpoint");
/// assert_eq!(exops_log::segments_dir(dir), dir.join("log"));
/// ```
pub fn segments_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SEGMENTS_DIR)
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.{SEGMENT_EXTENSION}"))
}

/// The segment files, in order, with the first sequence number their name gives.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// exops_log::init(dir.path()).unwrap();
/// let segments = exops_log::list_segments(dir.path()).unwrap();
/// assert_eq!(segments[0].0, 1, "the first segment starts at seq 1");
/// assert!(segments[0].1.ends_with("log/00000000000000000001.seg"));
/// // A directory that holds no log is named as such.
/// let plain = tempfile::tempdir().unwrap();
/// assert!(matches!(exops_log::list_segments(plain.path()), Err(exops_log::StoreError::NotALog { .. })));
/// ```
pub fn list_segments(data_dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    list_segments_on(&Storage::real(), data_dir)
}

/// [`list_segments`] of a log on `storage`.
pub fn list_segments_on(storage: &Storage, data_dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let dir = segments_dir(data_dir);
    if !storage.is_dir(&dir) {
        return Err(StoreError::NotALog { path: data_dir.to_owned(), is_file: data_dir.is_file() });
    }
    let mut segments = Vec::new();
    for path in storage.list_dir(&dir).map_err(io_error(&dir))? {
        if path.extension().and_then(|ext| ext.to_str()) != Some(SEGMENT_EXTENSION) {
            continue;
        }
        let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("");
        let first_seq = (name.len() == 20 && name.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| name.parse::<u64>().ok())
            .flatten();
        let Some(first_seq) = first_seq else {
            return Err(StoreError::Damaged(Damage {
                segment: path,
                offset: 0,
                message: "a segment's name must be its first sequence number in 20 digits".to_owned(),
            }));
        };
        segments.push((first_seq, path));
    }
    segments.sort();
    Ok(segments)
}

fn sync_dir(storage: &Storage, dir: &Path) -> Result<(), StoreError> {
    storage.sync_dir(dir).map_err(io_error(dir))
}

/// Creates an empty log in `data_dir` (and the directory itself); an existing log is left
/// as it is.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let data_dir = dir.path().join("venue");
/// assert!(exops_log::init(&data_dir).unwrap(), "made");
/// assert!(!exops_log::init(&data_dir).unwrap(), "already a log: left as it is");
/// assert_eq!(exops_log::list_segments(&data_dir).unwrap().len(), 1);
/// ```
pub fn init(data_dir: &Path) -> Result<bool, StoreError> {
    init_on(&Storage::real(), data_dir)
}

/// Refuses a path that holds no log before anything inside it is read, so that a file or
/// a plain directory is named as such rather than as an I/O error on a path below it.
pub(crate) fn require_log(storage: &Storage, data_dir: &Path) -> Result<(), StoreError> {
    if storage.is_dir(&segments_dir(data_dir)) {
        return Ok(());
    }
    Err(StoreError::NotALog { path: data_dir.to_owned(), is_file: data_dir.is_file() })
}

/// [`init`] on `storage`.
pub fn init_on(storage: &Storage, data_dir: &Path) -> Result<bool, StoreError> {
    if data_dir.is_file() {
        return Err(StoreError::NotALog { path: data_dir.to_owned(), is_file: true });
    }
    let dir = segments_dir(data_dir);
    if storage.is_dir(&dir) {
        let segments = list_segments_on(storage, data_dir)?;
        match segments.as_slice() {
            [] => {}
            // A crash inside `init` itself leaves a first segment shorter than its header:
            // it can hold nothing, so it is made again.
            [(_, only)] if storage.len(only).map_err(io_error(only))? < SEGMENT_HEADER_BYTES as u64 => {
                storage.remove_file(only).map_err(io_error(only))?;
            }
            _ => return Ok(false),
        }
    }
    storage.create_dir_all(&dir).map_err(io_error(&dir))?;
    // The head record first (its directory synced): a log whose segments say it keeps
    // one and that has none has lost it.
    let genesis = ResumePoint {
        segment_first_seq: ChainPosition::GENESIS.next_seq,
        offset: SEGMENT_HEADER_BYTES as u64,
        position: ChainPosition::GENESIS,
    };
    HeadFile::new(storage, &dir, read_head(storage, &dir).ok().flatten()).record(&genesis)?;
    create_segment(storage, &dir, 0, ChainPosition::GENESIS)?;
    sync_dir(storage, data_dir)?;
    if let Some(parent) = data_dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        sync_dir(storage, parent)?;
    }
    Ok(true)
}

/// The lock a writer holds on the log: one writer per data directory, across processes.
pub const LOCK_FILE: &str = "LOCK";

fn lock_log(storage: &Storage, dir: &Path) -> Result<Box<dyn LockGuard>, StoreError> {
    let path = dir.join(LOCK_FILE);
    match storage.lock(&path) {
        Ok(guard) => Ok(guard),
        Err(LockError::Busy) => Err(StoreError::Busy(dir.to_owned())),
        Err(LockError::Io(error)) => Err(StoreError::Io { path, error }),
    }
}

/// Reads every segment's header (cheap) and checks that they form one log: indices from
/// 0, names matching first sequence numbers that increase, the first at the genesis.
/// The frames inside earlier segments are checked by `verify`, not here.
/// Returns whether a segment says the log keeps a head record (format version 2 on).
fn check_headers(storage: &Storage, segments: &[(u64, PathBuf)]) -> Result<bool, StoreError> {
    let mut previous_first = 0;
    let mut keeps_head = false;
    for (index, (name_seq, path)) in segments.iter().enumerate() {
        let mut bytes = [0_u8; SEGMENT_HEADER_BYTES];
        let whole = storage.read_exact_at(path, &mut bytes, 0).map_err(io_error(path))?;
        let damage = |offset, message: String| StoreError::Damaged(Damage { segment: path.clone(), offset, message });
        if !whole {
            let read = storage.len(path).map_err(io_error(path))?;
            if index + 1 == segments.len() {
                continue; // A rollover cut short; open removes it.
            }
            return Err(damage(0, format!("segment header truncated: {read} of {SEGMENT_HEADER_BYTES} bytes")));
        }
        let header = SegmentHeader::decode(&bytes).map_err(|message| damage(0, message))?;
        keeps_head |= header.version >= 2;
        if header.segment_index != index as u64 {
            return Err(damage(16, format!("segment index {}, expected {index}", header.segment_index)));
        }
        if header.first_seq != *name_seq {
            return Err(damage(24, format!("segment named for seq {name_seq} starts at seq {}", header.first_seq)));
        }
        let genesis = ChainPosition::GENESIS;
        if index == 0
            && (header.first_seq != genesis.next_seq
                || header.first_block != genesis.next_block
                || header.prev_hash != genesis.prev_hash)
        {
            return Err(damage(24, "the first segment does not start the log (seq 1, block 0)".to_owned()));
        }
        if index > 0 && header.first_seq <= previous_first {
            return Err(damage(24, format!("segment starts at seq {}, not after the one before", header.first_seq)));
        }
        previous_first = header.first_seq;
    }
    Ok(keeps_head)
}

fn create_segment(
    storage: &Storage,
    dir: &Path,
    index: u64,
    position: ChainPosition,
) -> Result<(PathBuf, Box<dyn StorageFile>), StoreError> {
    let path = segment_path(dir, position.next_seq);
    let header = SegmentHeader {
        version: crate::segment::SEGMENT_FORMAT_VERSION,
        segment_index: index,
        first_seq: position.next_seq,
        first_block: position.next_block,
        prev_hash: position.prev_hash,
    };
    let file = storage.create_new(&path).map_err(io_error(&path))?;
    file.append(&header.encode()).map_err(io_error(&path))?;
    file.sync_data().map_err(io_error(&path))?;
    sync_dir(storage, dir)?;
    Ok((path, file))
}

/// Walks a segment to its end; returns the chain position after its last seal, or where
/// it stops being readable.
pub fn scan_to_end(cursor: &mut SegmentCursor) -> Result<(), Stop> {
    loop {
        match cursor.step()? {
            Step::End => return Ok(()),
            Step::Event { .. } | Step::Sealed(_) => {}
        }
    }
}

/// The open end of the log: where the next block goes.
#[derive(Debug)]
pub struct SegmentWriter {
    /// Held for as long as the writer lives: the cross-process writer lock.
    _lock: Box<dyn LockGuard>,
    storage: Storage,
    dir: PathBuf,
    path: PathBuf,
    file: Arc<dyn StorageFile>,
    segment_index: u64,
    /// The first sequence number of the current segment (its name).
    segment_first_seq: u64,
    segment_bytes: u64,
    segment_bytes_max: u64,
    position: ChainPosition,
    buffer: Vec<u8>,
    /// The head record, written after each block is durable and before it is answered.
    head: SharedHead,
}

impl SegmentWriter {
    /// Opens the log for appending: reads every segment through (checksums, sequence,
    /// chain), cuts a torn tail off the last one, and refuses any other damage with its
    /// segment and offset.
    pub fn open(data_dir: &Path, segment_bytes_max: u64) -> Result<(SegmentWriter, Recovery), StoreError> {
        SegmentWriter::open_on(&Storage::real(), data_dir, segment_bytes_max)
    }

    /// [`SegmentWriter::open`] of a log on `storage`.
    pub fn open_on(
        storage: &Storage,
        data_dir: &Path,
        segment_bytes_max: u64,
    ) -> Result<(SegmentWriter, Recovery), StoreError> {
        let dir = segments_dir(data_dir);
        list_segments_on(storage, data_dir)?;
        let lock = lock_log(storage, &dir)?;
        let mut recovery = Recovery::default();
        // A crash inside `init`: no segment, or one shorter than its header.
        init_on(storage, data_dir)?;
        // The head is read before the segments: whatever it says was durable before it.
        let head = read_head(storage, &dir)?;
        let mut segments = list_segments_on(storage, data_dir)?;
        // A rollover that crashed before the new segment's header was whole (or durable)
        // leaves a file shorter than a header, or, past the head record, one whose header
        // does not check: it holds nothing acknowledged and goes (to quarantine).
        if segments.len() > 1
            && let Some((name_seq, last)) = segments.last()
        {
            let len = storage.len(last).map_err(io_error(last))?;
            let mut header = [0_u8; SEGMENT_HEADER_BYTES];
            let garbled = head.is_some_and(|head| head.last_seq < *name_seq)
                && storage.read_exact_at(last, &mut header, 0).map_err(io_error(last))?
                && SegmentHeader::decode(&header).is_err();
            if len < SEGMENT_HEADER_BYTES as u64 || garbled {
                let note = if garbled {
                    "a segment made after the last acknowledged block, whose header does not check"
                } else {
                    "a segment whose creation did not finish (shorter than its header)"
                };
                if len > 0 {
                    recovery.quarantined.push(quarantine(storage, data_dir, last, 0, note)?);
                }
                storage.remove_file(last).map_err(io_error(last))?;
                sync_dir(storage, &dir)?;
                recovery.removed_segment = Some(last.clone());
                segments.pop();
            }
        }
        let keeps_head = check_headers(storage, &segments)?;
        if keeps_head && head.is_none() {
            return Err(missing_head(&dir));
        }
        // Every sealed segment is read through, checking every frame and the chain: damage
        // anywhere is refused here, not found later by a reader.
        let mut expected = None;
        for (index, (_, path)) in segments.iter().enumerate().take(segments.len() - 1) {
            let mut cursor =
                SegmentCursor::open(storage, path, index as u64, expected).map_err(|stop| stop_error(path, stop))?;
            scan_to_end(&mut cursor).map_err(|stop| stop_error(path, stop))?;
            expected = Some(cursor.sealed);
        }
        let index = segments.len() as u64 - 1;
        let (name_seq, path) = segments.last().cloned().expect("at least one segment");
        let mut cursor =
            SegmentCursor::open(storage, &path, index, expected).map_err(|stop| stop_error(&path, stop))?;
        if cursor.header.first_seq != name_seq {
            return Err(StoreError::Damaged(Damage {
                segment: path,
                offset: 24,
                message: format!("segment named for seq {name_seq} starts at seq {}", cursor.header.first_seq),
            }));
        }
        match scan_to_end(&mut cursor) {
            Ok(()) => {}
            // Short of the head: acknowledged blocks are missing, whatever the bytes say.
            Err(Stop::Unreadable { offset, error })
                if head.is_some_and(|head| head.blocks > cursor.sealed.next_block) =>
            {
                let head = head.expect("checked in the guard");
                return Err(StoreError::Damaged(Damage {
                    segment: path,
                    offset,
                    message: format!("{error}, inside acknowledged data: {}", short_of_head(&head, &cursor.sealed)),
                }));
            }
            // Past the head nothing was acknowledged: any unreadable tail is a torn write
            // (with a head record) or a tail cut short (without one, from older logs).
            Err(Stop::Unreadable { offset, error }) if head.is_some() || error.is_truncation() => {
                let cut_at = cursor.sealed_end;
                // Without a head record, a whole seal further on says a length was changed
                // (a crash leaves at most one unsealed block). Past the head, nothing was
                // acknowledged, even a block whose seal survived a damaged frame.
                if head.is_none() && seal_after(storage, &path, offset, &cursor.sealed).map_err(io_error(&path))? {
                    return Err(StoreError::Damaged(Damage {
                        segment: path,
                        offset,
                        message: format!(
                            "{error}, yet whole sealed blocks follow: the record's length was changed, \
                             this is not a torn write"
                        ),
                    }));
                }
                let removed = cursor.file_len - cut_at;
                let note = format!(
                    "a torn tail cut by open: {removed} bytes after the last whole block, never acknowledged ({error} \
                     at byte offset {offset})"
                );
                recovery.quarantined.push(quarantine(storage, data_dir, &path, cut_at, &note)?);
                let file = storage.open_write(&path).map_err(io_error(&path))?;
                file.set_len(cut_at).map_err(io_error(&path))?;
                file.sync_data().map_err(io_error(&path))?;
                recovery.truncated = Some((path.clone(), cut_at, removed, cursor.unsealed_records()));
            }
            Err(stop) => return Err(stop_error(&path, stop)),
        }
        let position = cursor.sealed;
        let segment_bytes = cursor.sealed_end;
        let segment_first_seq = cursor.header.first_seq;
        if let Some(head) = &head {
            check_head(storage, &dir, head, &path, segment_bytes, &position)?;
        }
        let file = storage.open_write(&path).map_err(io_error(&path))?;
        // What this open read is what it builds on: made durable before anything goes on
        // top, whatever an earlier process's failed sync left unwritten (a cut whose sync
        // failed, say, would otherwise come back after a power loss, under a newer segment).
        file.sync_data().map_err(io_error(&path))?;
        let head = std::sync::Arc::new(std::sync::Mutex::new(HeadFile::new(storage, &dir, head)));
        Ok((
            SegmentWriter {
                _lock: lock,
                storage: storage.clone(),
                dir,
                path,
                file: Arc::from(file),
                segment_index: index,
                segment_first_seq,
                segment_bytes,
                segment_bytes_max: segment_bytes_max.max(SEGMENT_HEADER_BYTES as u64 + 1),
                position,
                buffer: Vec::new(),
                head,
            },
            recovery,
        ))
    }

    /// Where a reader can resume after the last block written.
    pub fn resume_point(&self) -> ResumePoint {
        ResumePoint { segment_first_seq: self.segment_first_seq, offset: self.segment_bytes, position: self.position }
    }

    /// Where the next block continues the chain.
    pub fn position(&self) -> ChainPosition {
        self.position
    }

    pub fn segment_path(&self) -> &Path {
        &self.path
    }

    /// Frames `records` (schema version, timestamp, body; sequence numbers follow on from
    /// the log) as one block with its seal, writes it and makes it durable.
    pub fn append_block<'a>(
        &mut self,
        records: impl IntoIterator<Item = (u16, i64, &'a [u8])>,
    ) -> Result<ChainPosition, StoreError> {
        let (position, written) = self.write_block(records)?;
        written.sync()?;
        Ok(position)
    }

    /// Writes one block (events and seal) at the end of the log without waiting for it to
    /// be durable: the caller syncs it with the [`Written`] returned, and must not write
    /// the next block before that sync has succeeded, so that at most one block is ever
    /// unsynced (a crash then leaves only a torn tail, which open cuts).
    pub fn write_block<'a>(
        &mut self,
        records: impl IntoIterator<Item = (u16, i64, &'a [u8])>,
    ) -> Result<(ChainPosition, Written), StoreError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let mut seq = self.position.next_seq;
        let mut last_at = self.position.last_at_micros;
        let mut count = 0_u32;
        for (schema_version, at_micros, body) in records {
            write_frame(&mut buffer, FrameKind::Event, schema_version, seq, at_micros, body);
            last_at = Some(at_micros);
            seq += 1;
            count += 1;
        }
        if count == 0 {
            self.buffer = buffer;
            return Ok((self.position, self.written()));
        }
        let seal = Seal {
            block_index: self.position.next_block,
            first_seq: self.position.next_seq,
            last_seq: seq - 1,
            record_count: count,
            prev_hash: self.position.prev_hash,
            hash: block_hash(&self.position.prev_hash, &buffer),
        };
        write_frame(&mut buffer, FrameKind::Seal, 0, seq - 1, last_at.unwrap_or(0), &seal.encode());
        assert_block_before_write(&buffer, &seal, count);
        if self.segment_bytes > SEGMENT_HEADER_BYTES as u64
            && self.segment_bytes + buffer.len() as u64 > self.segment_bytes_max
        {
            self.roll_over()?;
        }
        self.file.append(&buffer).map_err(io_error(&self.path))?;
        self.segment_bytes += buffer.len() as u64;
        self.position = ChainPosition {
            next_seq: seq,
            next_block: seal.block_index + 1,
            prev_hash: seal.hash,
            last_at_micros: last_at,
        };
        self.buffer = buffer;
        Ok((self.position, self.written()))
    }

    fn written(&self) -> Written {
        Written {
            file: Arc::clone(&self.file),
            path: self.path.clone(),
            head: Arc::clone(&self.head),
            resume: self.resume_point(),
        }
    }

    fn roll_over(&mut self) -> Result<(), StoreError> {
        // A log from before head records gets one before its first version 2 segment,
        // which says the log has one.
        let mut head = self.head.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if head.written.is_none() {
            head.record(&self.resume_point())?;
        }
        drop(head);
        let (path, file) = create_segment(&self.storage, &self.dir, self.segment_index + 1, self.position)?;
        self.segment_index += 1;
        self.segment_first_seq = self.position.next_seq;
        self.path = path;
        self.file = Arc::from(file);
        self.segment_bytes = SEGMENT_HEADER_BYTES as u64;
        Ok(())
    }
}

/// The block about to be written reads back as what it claims, checked the way the
/// cursor will check it when it is read (`SegmentCursor::step`): paired assertions, so a
/// bug in framing stops the writer instead of reaching the disk. Cheap: the seal frame is
/// parsed again, the event frames are only counted.
fn assert_block_before_write(buffer: &[u8], seal: &Seal, count: u32) {
    use crate::frame::{FRAME_HEADER_BYTES, parse_frame};
    use crate::segment::SEAL_BODY_BYTES;
    let seal_frame_bytes = FRAME_HEADER_BYTES + SEAL_BODY_BYTES;
    assert!(buffer.len() > seal_frame_bytes, "a block holds at least one event frame before its seal");
    assert_eq!(seal.record_count, count, "the seal counts the block's records");
    assert_eq!(seal.last_seq - seal.first_seq + 1, u64::from(count), "the seal's seqs span its records");
    let (header, body) = parse_frame(&buffer[buffer.len() - seal_frame_bytes..]).expect("the seal frame parses back");
    assert_eq!(header.kind, FrameKind::Seal, "the block ends with its seal");
    assert_eq!(header.seq, seal.last_seq, "the seal frame's seq is the block's last");
    assert_eq!(Seal::decode(body).as_ref(), Some(seal), "the seal body decodes to the seal");
}

/// A block written by [`SegmentWriter::write_block`], not yet known to be durable: the
/// handle of the segment file it went into. Can be synced from another thread.
#[derive(Debug)]
pub struct Written {
    file: Arc<dyn StorageFile>,
    path: PathBuf,
    head: SharedHead,
    /// Where the block ends.
    resume: ResumePoint,
}

impl Written {
    /// Waits until the block (and everything before it in its segment) is on disk, then
    /// records it in the head record and waits for that too: only then may any of its
    /// events be acknowledged, so every acknowledged block is at or below the head.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(io_error(&self.path))?;
        self.head.lock().unwrap_or_else(std::sync::PoisonError::into_inner).record(&self.resume)
    }
}

pub(crate) fn missing_head(dir: &Path) -> StoreError {
    StoreError::Damaged(Damage {
        segment: head_path(dir),
        offset: 0,
        message: "the head record is missing, yet the segments say this log keeps one (format version 2): \
                  acknowledged blocks at the end cannot be told from a torn write without it"
            .to_owned(),
    })
}

/// What a log that ends at `end` is short of, by its head record.
fn short_of_head(head: &Head, end: &ChainPosition) -> String {
    let ends = match end.next_block {
        0 => "before its first block".to_owned(),
        blocks => format!("after block {} (seq {})", blocks - 1, end.next_seq - 1),
    };
    format!(
        "the log ends {ends}, but its head record (log/HEAD) says block {} (seq {}) was acknowledged: \
         acknowledged blocks were cut off or deleted (the head's block ended at byte offset {} of segment \
         {:020}.{SEGMENT_EXTENSION})",
        head.blocks.saturating_sub(1),
        head.last_seq,
        head.end_offset,
        head.segment_first_seq,
    )
}

/// Checks the end of the log (`end`, just past the last seal at `end_offset` of
/// `last_segment`) against its head record: no shorter, and the head's block where the
/// head says, with its hash. Damage names the last segment and where it ends.
pub(crate) fn check_head(
    storage: &Storage,
    dir: &Path,
    head: &Head,
    last_segment: &Path,
    end_offset: u64,
    end: &ChainPosition,
) -> Result<(), StoreError> {
    let damage =
        |segment: &Path, offset, message| StoreError::Damaged(Damage { segment: segment.to_owned(), offset, message });
    if head.blocks > end.next_block {
        return Err(damage(last_segment, end_offset, short_of_head(head, end)));
    }
    if head.blocks == 0 {
        return Ok(());
    }
    let head_segment = segment_path(dir, head.segment_first_seq);
    let seal = seal_before(storage, &head_segment, head.end_offset).map_err(io_error(&head_segment))?;
    let matches = seal.is_some_and(|seal| {
        seal.block_index + 1 == head.blocks && seal.last_seq == head.last_seq && seal.hash == head.hash
    });
    if !matches {
        return Err(damage(
            &head_segment,
            head.end_offset,
            format!(
                "the head record (log/HEAD) says block {} (seq {}) ends here with another chain hash: the log \
                 was rewritten after it was acknowledged",
                head.blocks - 1,
                head.last_seq
            ),
        ));
    }
    Ok(())
}

/// Copies the bytes of `segment` from `from` to its end into `DATA_DIR/quarantine/`, with
/// a note beside them saying where they came from and why; synced before the caller
/// cuts them. Returns the quarantine file.
fn quarantine(storage: &Storage, data_dir: &Path, segment: &Path, from: u64, why: &str) -> Result<PathBuf, StoreError> {
    let len = storage.len(segment).map_err(io_error(segment))?;
    let mut bytes = vec![0_u8; usize::try_from(len.saturating_sub(from)).unwrap_or(0)];
    if !storage.read_exact_at(segment, &mut bytes, from).map_err(io_error(segment))? {
        return Err(StoreError::Io {
            path: segment.to_owned(),
            error: io::Error::new(io::ErrorKind::UnexpectedEof, "the segment shrank while being read"),
        });
    }
    let dir = data_dir.join(QUARANTINE_DIR);
    storage.create_dir_all(&dir).map_err(io_error(&dir))?;
    let name = segment.file_name().and_then(|name| name.to_str()).unwrap_or("segment");
    // An earlier open that crashed before its cut may have kept the same bytes already.
    let mut attempt = 0;
    let (path, file) = loop {
        let path = dir.join(match attempt {
            0 => format!("{name}.at-{from}.bytes"),
            _ => format!("{name}.at-{from}.{attempt}.bytes"),
        });
        match storage.create_new(&path) {
            Ok(file) => break (path, file),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            Err(error) => return Err(StoreError::Io { path, error }),
        }
    };
    file.append(&bytes).map_err(io_error(&path))?;
    file.sync_data().map_err(io_error(&path))?;
    let note_path = path.with_extension("note");
    let note = format!(
        "{} bytes from {} at byte offset {from} to {len}: {why}.\nTo put them back: \
         dd if={} of={} bs=1 seek={from} conv=notrunc (after checking why they were cut).\n",
        bytes.len(),
        segment.display(),
        path.display(),
        segment.display(),
    );
    let note_file = match storage.create_new(&note_path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            storage.open_write(&note_path).map_err(io_error(&note_path))?
        }
        Err(error) => return Err(StoreError::Io { path: note_path, error }),
    };
    note_file.append(note.as_bytes()).map_err(io_error(&note_path))?;
    note_file.sync_data().map_err(io_error(&note_path))?;
    sync_dir(storage, &dir)?;
    sync_dir(storage, data_dir)?;
    Ok(path)
}

/// Where open moves the bytes it cuts: `DATA_DIR/quarantine/`.
pub const QUARANTINE_DIR: &str = "quarantine";

pub fn stop_error(path: &Path, stop: Stop) -> StoreError {
    match stop {
        Stop::Unreadable { offset, error } => {
            StoreError::Damaged(Damage { segment: path.to_owned(), offset, message: error.to_string() })
        }
        Stop::Damaged(damage) => StoreError::Damaged(damage),
        Stop::Io(error) => StoreError::Io { path: path.to_owned(), error },
    }
}
