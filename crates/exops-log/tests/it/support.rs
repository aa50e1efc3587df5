//! Shared helpers of the durability, corruption and concurrency tests: a small venue,
//! filler events, logs built block by block with exact boundaries, frame maps of segment
//! files, and a seeded random number generator (never the clock).

use std::fs;
use std::path::{Path, PathBuf};

use exops_core::{Actor, AssetClass, AssetSpec, Envelope, Event, Timestamp, VenueSpec};
use exops_log::codec::{EVENT_SCHEMA_VERSION, encode_body};
use exops_log::frame::{FrameKind, parse_frame};
use exops_log::segment::SEGMENT_HEADER_BYTES;
use exops_log::snapshots::INDEX_DIR;
use exops_log::store::{SEGMENTS_DIR, SegmentWriter};
use exops_log::{LogReader, Submission};

/// 2024-01-01T00:00:00Z.
pub const NEW_YEAR_MICROS: i64 = 1_704_067_200_000_000;

/// `seconds` after [`NEW_YEAR_MICROS`].
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(NEW_YEAR_MICROS + seconds * 1_000_000)
}

/// A venue with one fiat asset and no markets: enough for logins to be accepted (an
/// accepted event records its actor's id, which duplicate detection relies on).
pub fn venue() -> Event {
    Event::VenueDeclared(VenueSpec {
        name: "Test Venue".to_owned(),
        assets: vec![AssetSpec {
            code: "JPY".to_owned(),
            class: AssetClass::Fiat,
            decimals: 0,
            networks: vec![],
            liabilities_minor: 1_000,
            hot_minor: 500,
            cold_minor: 500,
        }],
        markets: vec![],
        margin: false,
        approvals_required: vec![],
        rules: exops_core::RulesVersion::FIRST,
    })
}

pub fn setup_actor() -> Actor {
    Actor::System("setup".to_owned())
}

pub fn venue_submission() -> Submission {
    Submission { at: at(0), id: 1, actor: setup_actor(), event: venue(), note: None }
}

pub fn login(customer: u32, id: u64, seconds: i64) -> Submission {
    Submission { at: at(seconds), id, actor: Actor::Customer(customer), event: Event::LoginAttempted, note: None }
}

/// One block of a [`BuiltLog`]: where its frames are and what it holds.
#[derive(Clone, Debug)]
pub struct Block {
    pub segment: usize,
    /// Offset of its first event frame in its segment.
    pub start: u64,
    /// Offset just past its seal.
    pub end: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// A log written block by block through [`SegmentWriter`], so that block boundaries are
/// exact (the group commit of [`exops_log::Log`] batches whatever is waiting).
#[derive(Debug)]
pub struct BuiltLog {
    pub segments: Vec<PathBuf>,
    pub blocks: Vec<Block>,
    /// Every event, in sequence order.
    pub envelopes: Vec<Envelope>,
    /// The head record's bytes (`log/HEAD`) before each block was written: restoring
    /// `heads[i]` makes block `i` and later ones written but never acknowledged.
    pub heads: Vec<Vec<u8>>,
}

impl BuiltLog {
    pub fn last_seq(&self) -> u64 {
        self.envelopes.len() as u64
    }

    /// Sequence number of the last event of the block before the last one.
    pub fn last_seq_before_last_block(&self) -> u64 {
        self.blocks[self.blocks.len() - 1].first_seq - 1
    }
}

/// Initializes `data_dir` and writes one block per entry of `block_sizes`: the first block
/// starts with the venue, then logins by customers 1..=3 in turn, each with its own
/// increasing ids, one second apart.
pub fn build_log(data_dir: &Path, segment_bytes_max: u64, block_sizes: &[usize]) -> BuiltLog {
    exops_log::init(data_dir).unwrap();
    let (mut writer, recovery) = SegmentWriter::open(data_dir, segment_bytes_max).unwrap();
    assert_eq!(recovery, Default::default());
    let mut envelopes: Vec<Envelope> = Vec::new();
    let mut blocks = Vec::new();
    let mut heads = Vec::new();
    let mut ids = [0_u64; 4];
    for &size in block_sizes {
        assert!(size > 0, "a block holds at least one event");
        let first_seq = envelopes.len() as u64 + 1;
        let mut bodies = Vec::new();
        for _ in 0..size {
            let seq = envelopes.len() as u64 + 1;
            let submission = if seq == 1 {
                venue_submission()
            } else {
                let customer = (seq % 3) as u32 + 1;
                ids[customer as usize] += 1;
                login(customer, ids[customer as usize], seq as i64)
            };
            let envelope = Envelope {
                seq,
                at: submission.at,
                id: submission.id,
                actor: submission.actor,
                event: submission.event,
                note: submission.note,
            };
            let mut body = Vec::new();
            encode_body(&envelope, &mut body).unwrap();
            bodies.push((envelope.at.unix_micros(), body));
            envelopes.push(envelope);
        }
        heads.push(fs::read(head_path(data_dir)).unwrap());
        let before = writer.position();
        let (before_path, before_len) = {
            let path = writer.segment_path().to_owned();
            let len = fs::metadata(&path).unwrap().len();
            (path, len)
        };
        writer.append_block(bodies.iter().map(|(at, body)| (EVENT_SCHEMA_VERSION, *at, body.as_slice()))).unwrap();
        assert_eq!(writer.position().next_seq, before.next_seq + size as u64);
        let end = fs::metadata(writer.segment_path()).unwrap().len();
        // A block that did not fit went into a new segment, right after its header.
        let start = if writer.segment_path() == before_path { before_len } else { SEGMENT_HEADER_BYTES as u64 };
        let segment = segment_paths(data_dir).iter().position(|path| path == writer.segment_path()).unwrap();
        blocks.push(Block { segment, start, end, first_seq, last_seq: first_seq + size as u64 - 1 });
    }
    drop(writer);
    BuiltLog { segments: segment_paths(data_dir), blocks, envelopes, heads }
}

/// The segment files of a data directory, in order.
pub fn segment_paths(data_dir: &Path) -> Vec<PathBuf> {
    exops_log::list_segments(data_dir).unwrap().into_iter().map(|(_, path)| path).collect()
}

/// One frame of a segment file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameSpan {
    pub start: u64,
    pub end: u64,
    pub kind: FrameKind,
    pub seq: u64,
}

/// The frames of an undamaged segment file, in order (after its header).
pub fn frames(bytes: &[u8]) -> Vec<FrameSpan> {
    let mut spans = Vec::new();
    let mut offset = SEGMENT_HEADER_BYTES;
    while offset < bytes.len() {
        let (header, _) = parse_frame(&bytes[offset..]).unwrap();
        let end = offset + header.frame_len();
        spans.push(FrameSpan { start: offset as u64, end: end as u64, kind: header.kind, seq: header.seq });
        offset = end;
    }
    spans
}

/// Copies the segments (only: no snapshot index) of `from` into a new data directory `to`.
pub fn copy_log(from: &Path, to: &Path) {
    let target = to.join(SEGMENTS_DIR);
    fs::create_dir_all(&target).unwrap();
    for path in segment_paths(from) {
        fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
    }
    fs::copy(head_path(from), head_path(to)).unwrap();
}

/// The head record of the log in `data_dir`.
pub fn head_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SEGMENTS_DIR).join(exops_log::head::HEAD_FILE)
}

/// Puts a plain file where the snapshot index (a sled directory) would go, so that
/// [`exops_log::Log::open`] runs without snapshots (its documented fallback) instead of
/// opening a sled database for every one of thousands of damaged copies. Opening then
/// folds the whole log from the start, which is the path that must notice damage.
pub fn block_snapshot_index(data_dir: &Path) {
    fs::write(data_dir.join(INDEX_DIR), b"not a sled database").unwrap();
}

/// The note [`exops_log::Log::open`] leaves when the index is blocked: checking for it
/// makes sure the trick above still does what it says.
pub fn index_blocked(notes: &[String]) -> bool {
    notes.iter().any(|note| note.contains("snapshot index cannot be opened"))
}

/// Every segment file's bytes, to check that a refused open changed nothing.
pub fn snapshot_files(data_dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    segment_paths(data_dir).into_iter().map(|path| (path.clone(), fs::read(&path).unwrap())).collect()
}

/// Every envelope the log holds, or the first error.
pub fn read_all(data_dir: &Path) -> Vec<Envelope> {
    LogReader::open(data_dir, 1).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}

/// Overwrites one byte of `path` in place. (Rewriting a whole file truncates it first,
/// which ext4 answers with a flush: a thousand times slower, for a sweep of every bit.)
pub fn put_byte(path: &Path, offset: u64, byte: u8) {
    use std::os::unix::fs::FileExt;
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(&[byte], offset).unwrap();
}

/// The tests' seeded generator is the simulated disk's own (SplitMix64), so that a
/// failing run reproduces exactly.
pub use exops_log::sim_storage::SimRng as Rng;

/// One entry under a directory as a reader could tell it changed: its path, a file's
/// bytes (a directory has none), and its modification time (a directory's moves when an
/// entry is added or removed).
pub type Entry = (PathBuf, Option<Vec<u8>>, std::time::SystemTime);

/// Every entry under `dir` (itself included), in path order.
pub fn fingerprint(dir: &Path) -> Vec<Entry> {
    fn visit(path: &Path, out: &mut Vec<Entry>) {
        let meta = fs::symlink_metadata(path).unwrap();
        let modified = meta.modified().unwrap();
        if meta.is_dir() {
            out.push((path.to_owned(), None, modified));
            for entry in fs::read_dir(path).unwrap() {
                visit(&entry.unwrap().path(), out);
            }
        } else {
            out.push((path.to_owned(), Some(fs::read(path).unwrap()), modified));
        }
    }
    let mut entries = Vec::new();
    visit(dir, &mut entries);
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// The paths whose entry differs between two fingerprints of the same directory, with
/// what differs.
pub fn changes(before: &[Entry], after: &[Entry]) -> Vec<String> {
    let mut changes = Vec::new();
    for (path, bytes, modified) in before {
        match after.iter().find(|entry| &entry.0 == path) {
            None => changes.push(format!("{} removed", path.display())),
            Some((_, after_bytes, after_modified)) => {
                if after_bytes != bytes {
                    changes.push(format!("{} rewritten", path.display()));
                } else if after_modified != modified {
                    changes.push(format!("{} touched", path.display()));
                }
            }
        }
    }
    for (path, ..) in after {
        if !before.iter().any(|entry| &entry.0 == path) {
            changes.push(format!("{} added", path.display()));
        }
    }
    changes
}

/// Copies a whole data directory (segments, index, snapshots, settings) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}
