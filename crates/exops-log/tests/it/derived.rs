//! Reads, and opens that write no block, leave the derived files (`index.sled/`,
//! `snapshots/`) and the settings as they were, byte for byte and in their modification
//! times: `stats`, `verify`, a restore without an index, and a `Log::open` whose import
//! or append is refused. The repairs an open finds are made with the first block written.

use std::fs;
use std::path::Path;

use exops_log::inspect::walk;
use exops_log::restore::{Target, restore};
use exops_log::snapshots::{Coverage, SETTINGS_FILE, SNAPSHOTS_DIR, Snapshots};
use exops_log::{Appended, Log, LogOptions, LogReader, Submission};

use crate::support::{changes, copy_dir, fingerprint, login, venue_submission};

/// The venue and 20 logins, written by the writer with a snapshot every 4 events: blocks
/// end at the snapshots, which are at seqs 4, 8, 12, 16 and 20; the log ends at seq 21.
fn written_log(dir: &Path) {
    exops_log::init(dir).unwrap();
    let opened = Log::open(dir, LogOptions { snapshot_every: Some(4), ..LogOptions::default() }, None).unwrap();
    let mut batch = vec![venue_submission()];
    batch.extend((1..=20).map(|id| login(1 + id as u32 % 3, id, id as i64)));
    let answers = opened.log.appender().submit_batch(batch).unwrap().wait();
    assert!(answers.iter().all(|answer| matches!(answer, Ok(Appended::Durable { .. }))), "{answers:?}");
    opened.log.close().unwrap();
}

/// A copy of [`written_log`] at a path this process has never opened an index at (sled's
/// handles live as long as the process, and one could flush on its own).
fn fixture() -> tempfile::TempDir {
    let original = tempfile::tempdir().unwrap();
    written_log(original.path());
    let copy = tempfile::tempdir().unwrap();
    copy_dir(original.path(), copy.path());
    copy
}

fn snapshot_path(dir: &Path, seq: u64) -> std::path::PathBuf {
    dir.join(SNAPSHOTS_DIR).join(format!("{seq:020}.snap"))
}

fn opens_and_closes_unchanged(dir: &Path, options: LogOptions, context: &str) -> Vec<String> {
    let before = fingerprint(dir);
    let opened = Log::open(dir, options, None).unwrap_or_else(|error| panic!("{context}: {error}"));
    let notes = opened.notes.clone();
    opened.log.close().unwrap();
    assert_eq!(changes(&before, &fingerprint(dir)), Vec::<String>::new(), "{context}: {notes:?}");
    notes
}

#[test]
fn reading_a_data_directory_writes_nothing() {
    let dir = fixture();
    let before = fingerprint(dir.path());
    let summary = walk(dir.path(), true).unwrap();
    assert_eq!(summary.last_seq, Some(21));
    assert_eq!(walk(dir.path(), false).unwrap(), summary);
    let coverage = Snapshots::coverage_read_only(dir.path());
    assert_eq!(coverage, Coverage { count: 5, first_seq: Some(4), last_seq: Some(20), every: 4 });
    assert_eq!(LogReader::open(dir.path(), 1).unwrap().count(), 21);
    assert_eq!(restore(dir.path(), None, Target::Seq(10)).unwrap().state.seq(), 10);
    assert_eq!(changes(&before, &fingerprint(dir.path())), Vec::<String>::new());

    // A directory without derived files reads the same, and stays without them.
    let bare = tempfile::tempdir().unwrap();
    crate::support::copy_log(dir.path(), bare.path());
    let before = fingerprint(bare.path());
    let coverage = Snapshots::coverage_read_only(bare.path());
    let every = exops_log::snapshots::SNAPSHOT_EVERY_DEFAULT;
    assert_eq!(coverage, Coverage { count: 0, first_seq: None, last_seq: None, every });
    assert_eq!(changes(&before, &fingerprint(bare.path())), Vec::<String>::new());
}

/// What a refused `exops log import` or `append` does to the log: opens it (with its
/// `--snapshot-every`), dry-runs or submits what is then refused or skipped, and closes
/// it. No block is written, so nothing else is either.
#[test]
fn an_open_that_writes_no_block_changes_no_file() {
    let dir = fixture();
    opens_and_closes_unchanged(dir.path(), LogOptions::default(), "a plain open");
    let with_interval = LogOptions { snapshot_every: Some(7), ..LogOptions::default() };
    opens_and_closes_unchanged(dir.path(), with_interval.clone(), "an open with another --snapshot-every");

    let before = fingerprint(dir.path());
    let opened = Log::open(dir.path(), with_interval, None).unwrap();
    let duplicate = login(1 + 20 % 3, 20, 20);
    let backwards = login(3, 100, 5);
    let mut admission = opened.admission();
    assert!(matches!(admission.dry_run(&duplicate), Ok(Appended::Duplicate { .. })));
    assert!(matches!(admission.dry_run(&backwards), Ok(Appended::Refused { .. })));
    let appender = opened.log.appender();
    assert!(matches!(appender.append(duplicate).unwrap(), Appended::Duplicate { .. }));
    assert!(matches!(appender.append(backwards).unwrap(), Appended::Refused { .. }));
    drop(appender);
    opened.log.close().unwrap();
    assert_eq!(changes(&before, &fingerprint(dir.path())), Vec::<String>::new());

    // A data directory without any derived file gets none from an open. (Its writer
    // lock file is kept: the first open of a directory makes one, to lock it.)
    let bare = tempfile::tempdir().unwrap();
    crate::support::copy_log(dir.path(), bare.path());
    let lock = Path::new(exops_log::store::SEGMENTS_DIR).join(exops_log::store::LOCK_FILE);
    fs::copy(dir.path().join(&lock), bare.path().join(&lock)).unwrap();
    opens_and_closes_unchanged(bare.path(), LogOptions::default(), "an open without an index");
}

/// The repairs an open finds (a damaged snapshot; a long fold from the start; a new
/// interval) are made when the first block is written, not before.
#[test]
fn the_repairs_an_open_finds_wait_for_the_first_block() {
    let dir = fixture();
    // The newest snapshot is damaged: the open folds from the one before it.
    let damaged = snapshot_path(dir.path(), 20);
    let mut bytes = fs::read(&damaged).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&damaged, &bytes).unwrap();
    let options = LogOptions { snapshot_every: Some(7), ..LogOptions::default() };
    let notes = opens_and_closes_unchanged(dir.path(), options.clone(), "a damaged snapshot");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].starts_with("snapshot at seq 20 is damaged (checksum mismatch): not used"), "{notes:?}");
    assert!(notes[1].contains("a snapshot at seq 21 is written with the next block"), "{notes:?}");

    let opened = Log::open(dir.path(), options, None).unwrap();
    let appended = opened.log.appender().append(login(1, 100, 100)).unwrap();
    assert!(matches!(appended, Appended::Durable { seq: 22, .. }), "{appended:?}");
    opened.log.close().unwrap();
    assert!(!damaged.exists(), "the damaged snapshot is removed");
    let coverage = Snapshots::coverage_read_only(dir.path());
    assert_eq!(coverage, Coverage { count: 5, first_seq: Some(4), last_seq: Some(21), every: 7 });
    assert_eq!(fs::read_to_string(dir.path().join(SETTINGS_FILE)).unwrap().trim(), "snapshot_every = 7");
    // The snapshot of the state at open is a good one: a restore starts there.
    let snapshots = Snapshots::open(dir.path()).unwrap();
    let restored = restore(dir.path(), Some(&snapshots), Target::End).unwrap();
    assert_eq!((restored.from_snapshot, restored.events_folded), (Some(21), 1));
    assert!(restored.notes.is_empty(), "{:?}", restored.notes);

    // Without any derived file, the first block makes the index and the snapshot at open.
    let bare = tempfile::tempdir().unwrap();
    crate::support::copy_log(dir.path(), bare.path());
    let opened = Log::open(bare.path(), LogOptions { snapshot_every: Some(4), ..LogOptions::default() }, None).unwrap();
    assert!(!bare.path().join(exops_log::snapshots::INDEX_DIR).exists());
    let late = Submission { id: 101, ..login(1, 101, 101) };
    assert!(matches!(opened.log.appender().append(late).unwrap(), Appended::Durable { seq: 23, .. }));
    opened.log.close().unwrap();
    assert!(bare.path().join(exops_log::snapshots::INDEX_DIR).is_dir());
    let coverage = Snapshots::coverage_read_only(bare.path());
    assert_eq!(coverage, Coverage { count: 1, first_seq: Some(22), last_seq: Some(22), every: 4 });
}

/// 419 bytes that are not a sled database, from a seeded generator (the issue's
/// `head -c 419 /dev/urandom`, reproducibly).
fn garbage(len: usize) -> Vec<u8> {
    let mut rng = crate::support::Rng::new(419);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// A damaged, truncated or foreign index is moved to `quarantine/` and made anew on the
/// next open, with a note, every time; the restore after that starts from a snapshot
/// again, silently.
#[test]
fn a_damaged_index_is_moved_aside_and_rebuilt_every_time() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 3] = [
        ("its db overwritten with garbage", |index| fs::write(index.join("db"), garbage(419)).unwrap()),
        ("its db cut to 10 bytes", |index| {
            let bytes = fs::read(index.join("db")).unwrap();
            fs::write(index.join("db"), &bytes[..10]).unwrap();
        }),
        ("a plain file in its place", |index| {
            fs::remove_dir_all(index).unwrap();
            fs::write(index, b"a foreign file").unwrap();
        }),
    ];
    for (round, (what, damage)) in damages.iter().enumerate() {
        // A path this process has not opened an index at: a later process, in effect.
        let dir = fixture();
        let index = dir.path().join(exops_log::snapshots::INDEX_DIR);
        assert!(index.join("db").exists(), "{what}: the writer made the index");
        damage(&index);
        let snapshots = Snapshots::open(dir.path()).unwrap_or_else(|error| panic!("{what}: {error}"));
        let note = snapshots.healing_note().unwrap_or_else(|| panic!("{what}: no note")).to_owned();
        let aside = dir.path().join("quarantine").join("index.sled.1");
        assert!(note.contains(&aside.display().to_string()) && note.contains("rebuilt"), "{what}: {note}");
        assert!(aside.exists(), "{what}: the damaged index is kept aside");
        let at = crate::support::at(10);
        let first = restore(dir.path(), Some(&snapshots), Target::At(at)).unwrap();
        assert_eq!(first.notes.first(), Some(&note), "{what}: the restore says so");
        assert_eq!(first.from_snapshot, None, "{what}: the empty new index knows no snapshot yet");
        // The same handle again (as the next process would open the rebuilt index).
        let again = Snapshots::open(dir.path()).unwrap();
        assert_eq!(again.healing_note(), None, "{what}: healed once, not again");
        let second = restore(dir.path(), Some(&again), Target::At(at)).unwrap();
        assert_eq!(second.notes, Vec::<String>::new(), "{what}: silent");
        assert_eq!(second.from_snapshot, Some(8), "{what}: from the rebuilt index (round {round})");
        assert_eq!(second.state, first.state, "{what}");
    }
}

/// A new index is one the next process can open without healing it, however soon this one
/// exits: the files as they are on disk while the handle is still open (sled writes back
/// on a timer) open elsewhere with no note.
#[test]
fn a_new_index_is_durable_as_soon_as_it_is_opened() {
    for damaged in [false, true] {
        let dir = fixture();
        let index = dir.path().join(exops_log::snapshots::INDEX_DIR);
        if damaged {
            fs::write(index.join("db"), garbage(419)).unwrap();
        } else {
            fs::remove_dir_all(&index).unwrap();
        }
        let snapshots = Snapshots::open(dir.path()).unwrap();
        assert_eq!(snapshots.healing_note().is_some(), damaged);
        let later = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), later.path());
        let reopened = Snapshots::open(later.path()).unwrap();
        assert_eq!(reopened.healing_note(), None, "damaged before: {damaged}");
        drop(snapshots);
    }
}
