//! Time travel in a data directory: the state from the nearest snapshot plus the tail
//! equals a full replay of the JSON Lines fixture cut at the same point.

use std::sync::OnceLock;

use exops_core::Timestamp;
use exops_log::{Log, LogOptions, Submission};
use exops_replay::{Point, replay_data_dir};
use proptest::prelude::*;

use crate::{replay_file, workspace_path};

const FIXTURE: &str = "fixtures/bitpoint-2019/events.jsonl";

/// The fixture imported once into a data directory with a snapshot every 40 events.
fn data_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let opened = Log::open(dir.path(), LogOptions { snapshot_every: Some(40), ..LogOptions::default() }, None)
            .unwrap_or_else(|_| {
                exops_log::init(dir.path()).unwrap();
                Log::open(dir.path(), LogOptions { snapshot_every: Some(40), ..LogOptions::default() }, None).unwrap()
            });
        let text = std::fs::read_to_string(workspace_path(FIXTURE)).unwrap();
        let appender = opened.log.appender();
        let tickets: Vec<_> = exops_jsonl::parse_str(FIXTURE, &text)
            .unwrap()
            .into_iter()
            .map(|line| {
                let envelope = line.envelope;
                appender
                    .submit(Submission {
                        at: envelope.at,
                        id: envelope.id,
                        actor: envelope.actor,
                        event: envelope.event,
                        note: envelope.note,
                    })
                    .unwrap()
            })
            .collect();
        for ticket in tickets {
            ticket.wait().unwrap();
        }
        drop(appender);
        opened.log.close().unwrap();
        dir
    })
    .path()
}

fn events_in_fixture() -> u64 {
    std::fs::read_to_string(workspace_path(FIXTURE)).unwrap().lines().count() as u64
}

#[test]
fn the_data_directory_has_snapshots_to_travel_from() {
    let snapshots = exops_log::snapshots::Snapshots::open(data_dir()).unwrap();
    let (count, first, last) = snapshots.coverage();
    assert!(count >= 15, "{count} snapshots");
    assert_eq!(first, Some(40));
    assert!(last.unwrap() > 700);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn snapshot_plus_tail_equals_a_full_replay_at_any_sequence_number(seq in 0_u64..800) {
        let point = Point::Seq(seq);
        let from_snapshots = replay_data_dir(data_dir(), point).unwrap();
        // Nothing is repaired; the only note says where the point fell, when it fell
        // outside the log.
        let notes = &from_snapshots.notes;
        let outside = seq == 0 || seq > events_in_fixture();
        prop_assert_eq!(notes.len(), usize::from(outside), "{:?}", notes);
        prop_assert!(notes.iter().all(|note| note.starts_with(&format!("--at {seq} is "))), "{:?}", notes);
        let full = replay_file(&workspace_path(FIXTURE), point);
        prop_assert_eq!(from_snapshots.state.view(), full.state.view());
        prop_assert_eq!(from_snapshots.state.seq(), seq.min(events_in_fixture()));
    }

    #[test]
    fn snapshot_plus_tail_equals_a_full_replay_at_any_instant(minutes in 0_i64..(200 * 24 * 60)) {
        let start = Timestamp::parse_rfc3339("2019-06-30T00:00:00Z").unwrap().unix_micros();
        let point = Point::At(Timestamp::from_unix_micros(start + minutes * 60_000_000));
        let from_snapshots = replay_data_dir(data_dir(), point).unwrap();
        let full = replay_file(&workspace_path(FIXTURE), point);
        prop_assert_eq!(from_snapshots.state.view(), full.state.view());
    }
}

#[test]
fn a_point_between_snapshots_folds_only_the_tail() {
    use exops_log::restore::{Target, restore};
    let snapshots = exops_log::snapshots::Snapshots::open(data_dir()).unwrap();
    let restored = restore(data_dir(), Some(&snapshots), Target::Seq(419)).unwrap();
    assert_eq!(restored.from_snapshot, Some(400));
    assert_eq!(restored.events_folded, 19);
    assert!(restored.notes.is_empty(), "{:?}", restored.notes);
}

/// A copy of the fixture's data directory whose index the test may break.
fn scratch_copy() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let source = exops_log::segments_dir(data_dir());
    let target = exops_log::segments_dir(copy.path());
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
    std::fs::copy(data_dir().join("exops.toml"), copy.path().join("exops.toml")).unwrap();
    copy
}

#[test]
fn a_missing_index_is_rebuilt_from_the_log_and_says_so() {
    let copy = scratch_copy();
    let replay = replay_data_dir(copy.path(), Point::End).unwrap();
    let notes = replay.notes.clone();
    assert_eq!(replay.state.view(), replay_file(&workspace_path(FIXTURE), Point::End).state.view());
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("had no snapshots: replayed the log from the start and rebuilt them"), "{notes:?}");
    let (count, _, _) = exops_log::snapshots::Snapshots::open(copy.path()).unwrap().coverage();
    assert!(count >= 15);
}

#[test]
fn a_damaged_or_foreign_snapshot_is_removed_and_rebuilt() {
    use exops_log::restore::{Target, restore};
    use exops_log::snapshots::{SnapshotMeta, Snapshots};
    let copy = scratch_copy();
    let snapshots = Snapshots::open(copy.path()).unwrap();
    restore(copy.path(), Some(&snapshots), Target::End).unwrap();
    // Put back the snapshot at 720 with a chain hash this log never had: a foreign one.
    let (meta, state) = snapshots.load(720).unwrap();
    let mut foreign = SnapshotMeta { chain_hash: [7; 32], ..meta };
    foreign.resume.position.prev_hash = [7; 32];
    snapshots.put(foreign, &state).unwrap();
    let restored = restore(copy.path(), Some(&snapshots), Target::Seq(730)).unwrap();
    assert!(restored.notes[0].contains("snapshot at seq 720 does not match the log"), "{:?}", restored.notes);
    assert_eq!(restored.from_snapshot, Some(680));
    assert_eq!(restored.state.view(), replay_file(&workspace_path(FIXTURE), Point::Seq(730)).state.view());
}

/// A snapshot that says its block ends somewhere else in the log (a resume point off by
/// a byte, or in a segment that does not exist) is not trusted: removed, and the state
/// comes from an older one, the same as folding the log.
#[test]
fn a_snapshot_pointing_elsewhere_in_the_log_is_removed() {
    use exops_log::restore::{Target, restore};
    use exops_log::snapshots::{SnapshotMeta, Snapshots};
    let copy = scratch_copy();
    let snapshots = Snapshots::open(copy.path()).unwrap();
    restore(copy.path(), Some(&snapshots), Target::End).unwrap();
    let (meta, state) = snapshots.load(720).unwrap();
    let mut off_by_one = meta.resume;
    off_by_one.offset += 1;
    snapshots.put(SnapshotMeta { resume: off_by_one, ..meta }, &state).unwrap();
    let restored = restore(copy.path(), Some(&snapshots), Target::Seq(730)).unwrap();
    assert!(restored.notes[0].contains("snapshot at seq 720 does not match the log"), "{:?}", restored.notes);
    assert_eq!(restored.from_snapshot, Some(680));
    assert_eq!(restored.state.view(), replay_file(&workspace_path(FIXTURE), Point::Seq(730)).state.view());

    let (meta, state) = snapshots.load(680).unwrap();
    let mut nowhere = meta.resume;
    nowhere.segment_first_seq += 3;
    snapshots.put(SnapshotMeta { resume: nowhere, ..meta }, &state).unwrap();
    let restored = restore(copy.path(), Some(&snapshots), Target::Seq(700)).unwrap();
    assert!(restored.notes[0].contains("snapshot at seq 680 does not match the log"), "{:?}", restored.notes);
    assert_eq!(restored.state.view(), replay_file(&workspace_path(FIXTURE), Point::Seq(700)).state.view());
}

#[test]
fn the_pipelined_fold_equals_the_single_threaded_one() {
    use exops_log::restore::{Target, fold_pipelined};
    for seq in [0, 1, 39, 40, 41, 400, 754, 755, 10_000] {
        let (state, folded, _) = fold_pipelined(data_dir(), Target::Seq(seq), None).unwrap();
        let full = replay_file(&workspace_path(FIXTURE), Point::Seq(seq));
        assert_eq!(state.view(), full.state.view(), "seq {seq}");
        assert_eq!(folded, seq.min(events_in_fixture()));
    }
}
