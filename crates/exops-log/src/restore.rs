//! The state at a point of the log: from the newest usable snapshot at or before it,
//! plus the events after the snapshot. A snapshot that is damaged, or whose chain hash
//! does not match the log, is removed and the next older one tried; with none left the
//! log is folded from the start, rebuilding snapshots on the way. The writer's open
//! restores the same way without writing anything (`restore_read_only`), and leaves those
//! repairs to its first block. A fold that reads to the end of the log says so when it
//! finds unsealed bytes there.

use std::path::Path;

use exops_core::{Record, State, Timestamp};

use crate::pipeline::PipelinedReader;
use crate::reader::{LogReader, UnsealedTail};
use crate::snapshots::{SnapshotFiles, SnapshotMeta, Snapshots};
use crate::storage::Storage;
use crate::store::StoreError;

/// Where a restore stops.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    End,
    /// After the event with this sequence number.
    Seq(u64),
    /// After every event up to this instant (stopping before the first later one).
    At(Timestamp),
}

impl Target {
    fn includes(self, record: &Record) -> bool {
        match self {
            Target::End => true,
            Target::Seq(seq) => record.seq() <= seq,
            Target::At(at) => record.at() <= at,
        }
    }
}

/// A restored state and how it was obtained.
#[derive(Debug)]
pub struct Restored {
    pub state: State,
    /// Whether the fold read to the end of the log: no event follows the target. A target
    /// past the end is answered with the state at the end, and the caller can say so.
    pub reached_end: bool,
    /// The snapshot it started from, if any.
    pub from_snapshot: Option<u64>,
    /// Events folded after the snapshot (or from the start).
    pub events_folded: u64,
    /// The timestamp of the last event folded in, applied or not: where the log's clock
    /// stands at the target.
    pub last_at: Option<Timestamp>,
    /// What was repaired or rebuilt on the way, for the user.
    pub notes: Vec<String>,
}

/// Folds the whole log up to `target` on two threads (one reads and checks, this one
/// decodes and applies), storing snapshots at block boundaries on the way when
/// `snapshots` is given.
pub fn fold_pipelined(
    data_dir: &Path,
    target: Target,
    snapshots: Option<&Snapshots>,
) -> Result<(State, u64, Option<Timestamp>), StoreError> {
    let (state, folded) = fold_from_start(&Storage::real(), data_dir, target, snapshots, &mut |_| {})?;
    Ok((state, folded.events, folded.last_at))
}

fn fold_from_start(
    storage: &Storage,
    data_dir: &Path,
    target: Target,
    snapshots: Option<&Snapshots>,
    progress: &mut dyn FnMut(u64),
) -> Result<(State, Folded), StoreError> {
    let reader = LogReader::open_on(storage, data_dir, 1)?;
    let mut state = State::new();
    let folded = fold_blocks(reader, &mut state, target, snapshots, progress)?;
    Ok((state, folded))
}

/// What [`fold_blocks`] did.
struct Folded {
    events: u64,
    /// No event follows the target.
    reached_end: bool,
    /// The timestamp of the last event folded.
    last_at: Option<Timestamp>,
    /// Unsealed bytes after the last block, when the fold read to the end of the log.
    unsealed_tail: Option<UnsealedTail>,
}

/// Folds the blocks `reader` reads into `state` up to `target`, reading on another
/// thread; stores snapshots where due; tells `progress` the events folded so far after
/// each block.
fn fold_blocks(
    reader: LogReader,
    state: &mut State,
    target: Target,
    snapshots: Option<&Snapshots>,
    progress: &mut dyn FnMut(u64),
) -> Result<Folded, StoreError> {
    let mut pipeline = PipelinedReader::from_reader(reader)?;
    let every = snapshots.map_or(u64::MAX, Snapshots::snapshot_every);
    let mut next_snapshot = (state.seq() / every).saturating_add(1).saturating_mul(every);
    let (mut folded, mut last_at) = (0_u64, None);
    let mut reached_end = true;
    let mut decoded: Vec<Record> = Vec::new();
    while let Some(block) = pipeline.next_raw_block() {
        let block = block?;
        decoded.clear();
        block.decode_into(&mut decoded)?;
        // The fold continues exactly where the state stands: paired with the checks a
        // snapshot passes when read back (its state is at its seq, its resume point at the
        // seal of that seq) and the cursor's (sequence numbers follow on). One per block.
        if let Some(first) = decoded.first() {
            assert_eq!(first.seq(), state.seq() + 1, "the block read next continues the state folded so far");
        }
        let included = decoded.iter().position(|envelope| !target.includes(envelope));
        let events = &decoded[..included.unwrap_or(decoded.len())];
        state.apply_records(events, |_, _| ());
        if let Some(last) = events.last() {
            last_at = Some(last.at());
        }
        folded += events.len() as u64;
        progress(folded);
        if included.is_some() {
            reached_end = false;
            break;
        }
        let (seq, hash, at) = block.seal;
        if let Some(store) = snapshots
            && seq == state.seq()
            && seq >= next_snapshot
        {
            let at = at.map(Timestamp::from_unix_micros);
            let _ = store.put(SnapshotMeta { seq, at, chain_hash: hash, resume: block.resume }, state);
            next_snapshot = (seq / every).saturating_add(1).saturating_mul(every);
        }
    }
    Ok(Folded { events: folded, reached_end, last_at, unsealed_tail: pipeline.unsealed_tail().cloned() })
}

/// The state of the log in `data_dir` at `target`. `snapshots` is the data directory's
/// index, when it could be opened: unusable snapshots are removed from it, and new ones
/// stored on the way.
///
/// ```
/// use exops_core::Timestamp;
/// use exops_log::restore::{Target, restore};
/// use exops_log::snapshots::Snapshots;
/// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
/// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let data_dir = dir.path();
/// # exops_log::init(data_dir).unwrap();
/// # let opened = exops_log::Log::open(data_dir, Default::default(), None).unwrap();
/// # opened.log.appender().submit_batch(lines.into_iter().map(|line| line.envelope.into()).collect()).unwrap().wait();
/// # opened.log.close().unwrap();
/// let snapshots = Snapshots::open(data_dir).unwrap();
/// let at = Timestamp::parse_rfc3339("2019-08-07T00:00:00+09:00").unwrap();
/// let restored = restore(data_dir, Some(&snapshots), Target::At(at)).unwrap();
/// assert!(!restored.reached_end, "events follow that instant");
/// assert!(restored.last_at.unwrap() <= at);
/// let end = restore(data_dir, Some(&snapshots), Target::End).unwrap();
/// assert_eq!((end.state.seq(), end.reached_end), (764, true));
/// ```
pub fn restore(data_dir: &Path, snapshots: Option<&Snapshots>, target: Target) -> Result<Restored, StoreError> {
    restore_with_progress(data_dir, snapshots, target, &mut |_| {})
}

/// What becomes of an unusable snapshot, as the notes say it.
const REMOVED: &str = "moved to quarantine/; snapshots are rebuilt from the log";
const NOT_USED: &str = "not used; removed when the next block is written";

/// The newest of `candidates` that loads and matches the log, with a reader positioned
/// just after its block. Each unusable one is noted (`consequence` says what becomes of
/// it) and listed in `unusable`, newest first.
fn newest_usable(
    data_dir: &Path,
    files: &SnapshotFiles,
    candidates: Vec<u64>,
    consequence: &str,
    notes: &mut Vec<String>,
    unusable: &mut Vec<u64>,
) -> Option<(SnapshotMeta, State, LogReader)> {
    let mut same_damage: Option<(String, usize, usize)> = None;
    let mut damaged_first = 0;
    for seq in candidates {
        let (meta, state) = match files.load(seq) {
            Ok(loaded) => loaded,
            Err(damage) => {
                // Snapshots of an older format all fail alike: one note says so.
                match &mut same_damage {
                    Some((reason, count, note)) if *reason == damage.reason => {
                        *count += 1;
                        notes[*note] = format!(
                            "snapshot at seq {damaged_first} is damaged ({reason}), and {count} older ones for the \
                             same reason: {consequence}"
                        );
                    }
                    _ => {
                        damaged_first = damage.seq;
                        notes.push(format!(
                            "snapshot at seq {} is damaged ({}): {consequence}",
                            damage.seq, damage.reason
                        ));
                        same_damage = Some((damage.reason, 0, notes.len() - 1));
                    }
                }
                unusable.push(seq);
                continue;
            }
        };
        // The snapshot says where its block ends in the log; reading resumes there once
        // the seal found there is the snapshot's block.
        match LogReader::open_at(data_dir, &meta.resume) {
            Ok(reader) => return Some((meta, state, reader)),
            Err(_) => {
                notes.push(format!(
                    "snapshot at seq {seq} does not match the log (the chain hash differs, or the log is shorter): \
                     {consequence}"
                ));
                unusable.push(seq);
            }
        }
    }
    None
}

/// [`restore`], telling `progress` how many events it has folded after each block.
///
/// ```
/// use exops_log::restore::{Target, restore_with_progress};
/// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
/// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let data_dir = dir.path();
/// # exops_log::init(data_dir).unwrap();
/// # let opened = exops_log::Log::open(data_dir, Default::default(), None).unwrap();
/// # opened.log.appender().submit_batch(lines.into_iter().map(|line| line.envelope.into()).collect()).unwrap().wait();
/// # opened.log.close().unwrap();
/// let mut heard = Vec::new();
/// let restored = restore_with_progress(data_dir, None, Target::Seq(500), &mut |folded| heard.push(folded)).unwrap();
/// assert_eq!(restored.state.seq(), 500);
/// assert_eq!(heard.last(), Some(&restored.events_folded));
/// ```
pub fn restore_with_progress(
    data_dir: &Path,
    snapshots: Option<&Snapshots>,
    target: Target,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, StoreError> {
    let mut notes = Vec::new();
    notes.extend(snapshots.and_then(Snapshots::healing_note).map(str::to_owned));
    if let Some(store) = snapshots {
        let candidates = match target {
            Target::End => store.candidates_by_seq(u64::MAX),
            Target::Seq(seq) => store.candidates_by_seq(seq),
            Target::At(at) => store.candidates_by_time(at),
        };
        let mut unusable = Vec::new();
        let found = newest_usable(data_dir, store.files(), candidates, REMOVED, &mut notes, &mut unusable);
        for seq in unusable {
            store.remove(seq);
        }
        if let Some((meta, mut state, reader)) = found {
            let folded = fold_blocks(reader, &mut state, target, Some(store), progress)?;
            notes.extend(folded.unsealed_tail.as_ref().map(UnsealedTail::describe));
            // With nothing folded, the log's clock is where the snapshot's block left it.
            let last_at = folded.last_at.or(meta.resume.position.last_at_micros.map(Timestamp::from_unix_micros));
            return Ok(Restored {
                state,
                reached_end: folded.reached_end,
                from_snapshot: Some(meta.seq),
                events_folded: folded.events,
                last_at,
                notes,
            });
        }
    }
    let had_snapshots = snapshots.is_some_and(|store| store.coverage().0 > 0);
    let (state, folded) = fold_from_start(&Storage::real(), data_dir, target, snapshots, progress)?;
    if let Some(store) = snapshots {
        if !notes.is_empty() {
            notes.push("replayed the log from the start and rebuilt its snapshots".to_owned());
        } else if !had_snapshots && folded.events >= store.snapshot_every() {
            notes.push(format!(
                "the index in {} had no snapshots: replayed the log from the start and rebuilt them",
                store.path().display()
            ));
        }
        let _ = store.flush();
    }
    notes.extend(folded.unsealed_tail.as_ref().map(UnsealedTail::describe));
    Ok(Restored {
        state,
        reached_end: folded.reached_end,
        from_snapshot: None,
        events_folded: folded.events,
        last_at: folded.last_at,
        notes,
    })
}

/// What [`restore_read_only`] leaves for the first block written to put right.
#[derive(Debug, Default)]
pub(crate) struct Repairs {
    /// Snapshots found damaged or not matching the log, newest first.
    pub unusable: Vec<u64>,
    /// The fold passed where a snapshot was due (every `every` events): one of the state
    /// restored would spare the next open that fold.
    pub snapshot_due: bool,
}

/// The state at the end of the log, from the newest usable snapshot in `files` (none:
/// from the start), writing nothing: no snapshot removed, none stored, no index opened.
/// What a restore with the index would have repaired is returned instead. Snapshots are
/// files on the real file system: a log on other storage is folded from the start.
pub(crate) fn restore_read_only(
    storage: &Storage,
    data_dir: &Path,
    files: Option<&SnapshotFiles>,
    every: u64,
) -> Result<(Restored, Repairs), StoreError> {
    let mut notes = Vec::new();
    let mut unusable = Vec::new();
    let found = files.filter(|_| storage.is_real()).and_then(|files| {
        newest_usable(data_dir, files, files.candidates_by_seq(u64::MAX), NOT_USED, &mut notes, &mut unusable)
    });
    let (state, from_snapshot, folded, last_at) = match found {
        Some((meta, mut state, reader)) => {
            let folded = fold_blocks(reader, &mut state, Target::End, None, &mut |_| {})?;
            let last_at = folded.last_at.or(meta.resume.position.last_at_micros.map(Timestamp::from_unix_micros));
            (state, Some(meta.seq), folded, last_at)
        }
        None => {
            let (state, folded) = fold_from_start(storage, data_dir, Target::End, None, &mut |_| {})?;
            let last_at = folded.last_at;
            (state, None, folded, last_at)
        }
    };
    let start = from_snapshot.unwrap_or(0);
    let snapshot_due = state.seq() >= (start / every).saturating_add(1).saturating_mul(every);
    if snapshot_due && (!unusable.is_empty() || from_snapshot.is_none()) {
        let from = match from_snapshot {
            Some(seq) => format!("after the snapshot at seq {seq}"),
            None => "from the start of the log".to_owned(),
        };
        notes.push(format!(
            "folded {} events {from}; a snapshot at seq {} is written with the next block",
            folded.events,
            state.seq()
        ));
    }
    notes.extend(folded.unsealed_tail.as_ref().map(UnsealedTail::describe));
    let restored = Restored {
        state,
        reached_end: folded.reached_end,
        from_snapshot,
        events_folded: folded.events,
        last_at,
        notes,
    };
    Ok((restored, Repairs { unusable, snapshot_due }))
}
