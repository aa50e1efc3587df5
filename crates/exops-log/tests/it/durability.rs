//! Crashes: a block cut short at any byte is a torn tail that opening cuts back to the
//! last seal (losing only unacknowledged events), and a rollover that crashed before the
//! new segment's header was whole leaves a file that opening removes. After either, the
//! log is whole and appending continues.

use std::fs;
use std::path::{Path, PathBuf};

use exops_log::frame::FrameKind;
use exops_log::inspect::walk;
use exops_log::restore::{Target, restore};
use exops_log::segment::{SEGMENT_HEADER_BYTES, SegmentHeader};
use exops_log::snapshots::Snapshots;
use exops_log::store::{SEGMENTS_DIR, SegmentWriter};
use exops_log::{Appended, Log, LogOptions, LogReader, Recovery, Submission, UnsealedTail};

use crate::support::{
    BuiltLog, block_snapshot_index, build_log, frames, index_blocked, login, read_all, segment_paths,
};

fn options(segment_bytes_max: u64) -> LogOptions {
    LogOptions { segment_bytes_max, ..LogOptions::default() }
}

/// Writes a data directory holding `built`'s segments, the last one cut to `last_len`
/// bytes (written fresh: a truncating rewrite of a file makes ext4 flush, and is slow).
fn copy_with_last_cut(built: &BuiltLog, originals: &[Vec<u8>], to: &Path, last_len: usize) -> PathBuf {
    let dir = to.join(SEGMENTS_DIR);
    fs::create_dir_all(&dir).unwrap();
    let mut last = PathBuf::new();
    for (index, (path, bytes)) in built.segments.iter().zip(originals).enumerate() {
        let target = dir.join(path.file_name().unwrap());
        let bytes = if index + 1 == originals.len() { &bytes[..last_len] } else { &bytes[..] };
        fs::write(&target, bytes).unwrap();
        last = target;
    }
    // The last block was written, never acknowledged: the head record is from before it.
    fs::write(crate::support::head_path(to), built.heads.last().unwrap()).unwrap();
    last
}

/// The submission that wrote `seq` of `built`.
fn resubmission(built: &BuiltLog, seq: u64) -> Submission {
    let envelope = built.envelopes[seq as usize - 1].clone();
    Submission { at: envelope.at, id: envelope.id, actor: envelope.actor, event: envelope.event, note: envelope.note }
}

/// Cuts the last segment of a log built from `block_sizes` at every length from the start
/// of its last block to one byte short of its end, and checks each copy before, during
/// and after the open that repairs it. `real_index_every`: every how many cuts the open
/// uses a real snapshot index (the others block it, for speed: see `support`).
fn torn_tail_sweep(segment_bytes_max: u64, block_sizes: &[usize], real_index_every: usize) -> (BuiltLog, usize) {
    let pristine = tempfile::tempdir().unwrap();
    let built = build_log(pristine.path(), segment_bytes_max, block_sizes);
    let originals: Vec<Vec<u8>> = built.segments.iter().map(|path| fs::read(path).unwrap()).collect();
    let last_block = built.blocks.last().unwrap().clone();
    assert_eq!(last_block.segment + 1, built.segments.len(), "the last block is in the last segment");
    let last_bytes = originals.last().unwrap();
    assert_eq!(last_block.end, last_bytes.len() as u64);
    let previous_seq = built.last_seq_before_last_block();
    let block_frames: Vec<_> = frames(last_bytes).into_iter().filter(|frame| frame.start >= last_block.start).collect();
    assert_eq!(block_frames.first().unwrap().start, last_block.start);
    assert_eq!(block_frames.last().unwrap().kind, FrameKind::Seal);

    let scratch = tempfile::tempdir().unwrap();
    let mut cuts = 0;
    for len in last_block.start..last_block.end {
        let dir = scratch.path().join(format!("cut-{len}"));
        let path = copy_with_last_cut(&built, &originals, &dir, len as usize);
        let torn = len - last_block.start;
        let whole_records =
            block_frames.iter().filter(|frame| frame.kind == FrameKind::Event && frame.end <= len).count() as u32;
        let context = format!("cut at {len} ({torn} bytes of the last block, {whole_records} whole records)");

        // Before the repair: verify sees the unsealed tail, a reader stops before it.
        let summary = walk(&dir, true).unwrap_or_else(|error| panic!("{context}: walk: {error}"));
        assert_eq!(summary.last_seq, Some(previous_seq), "{context}");
        let expected_tail =
            (torn > 0).then(|| UnsealedTail { segment: path.clone(), offset: last_block.start, bytes: torn });
        assert_eq!(summary.unsealed_tail, expected_tail, "{context}");
        let mut reader = LogReader::open(&dir, 1).unwrap();
        let read: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len() as u64, previous_seq, "{context}");
        assert_eq!(read, built.envelopes[..previous_seq as usize], "{context}");
        assert_eq!(reader.unsealed_tail, expected_tail, "{context}");
        // A restore of the cut log says what it did not fold, in the same words.
        let restored = restore(&dir, None, Target::End).unwrap_or_else(|error| panic!("{context}: restore: {error}"));
        assert_eq!(restored.state.seq(), previous_seq, "{context}");
        let tail_note = expected_tail.as_ref().map(UnsealedTail::describe);
        assert_eq!(restored.notes, Vec::from_iter(tail_note), "{context}");

        // The open cuts back to the previous block's seal and reports it.
        let real_index = cuts % real_index_every == 0;
        if !real_index {
            block_snapshot_index(&dir);
        }
        let opened = Log::open(&dir, options(segment_bytes_max), None)
            .unwrap_or_else(|error| panic!("{context}: the open refused: {error}"));
        assert_eq!(index_blocked(&opened.notes), !real_index, "{context}: {:?}", opened.notes);
        let expected = Recovery {
            truncated: (torn > 0).then(|| (path.clone(), last_block.start, torn, whole_records)),
            removed_segment: None,
            quarantined: opened.recovery.quarantined.clone(),
        };
        assert_eq!(opened.recovery, expected, "{context}");
        assert_eq!(opened.last_seq, previous_seq, "{context}");
        assert_eq!(fs::metadata(&path).unwrap().len(), last_block.start, "{context}");

        // The first event of the cut block was never acknowledged: submitting it again
        // appends it (it is no duplicate) right after the previous block.
        let again = resubmission(&built, previous_seq + 1);
        let appended = opened.log.appender().append(again.clone()).unwrap();
        assert!(
            matches!(appended, Appended::Durable { seq, .. } if seq == previous_seq + 1),
            "{context}: {appended:?}"
        );
        opened.log.close().expect("the writer closes cleanly");

        let summary = walk(&dir, true).unwrap_or_else(|error| panic!("{context}: walk after: {error}"));
        assert_eq!((summary.last_seq, summary.unsealed_tail), (Some(previous_seq + 1), None), "{context}");
        let read = read_all(&dir);
        assert_eq!(read[..previous_seq as usize], built.envelopes[..previous_seq as usize], "{context}");
        let last = read.last().unwrap();
        assert_eq!((last.seq, &last.actor, last.id, last.at), (previous_seq + 1, &again.actor, again.id, again.at));
        fs::remove_dir_all(&dir).unwrap();
        cuts += 1;
    }
    (built, cuts)
}

#[test]
fn a_torn_last_block_is_cut_back_to_the_seal_before_it() {
    // One segment; the last block follows two others in it.
    let (built, cuts) = torn_tail_sweep(64 << 20, &[4, 3, 5], 64);
    assert_eq!(built.segments.len(), 1);
    assert!(built.blocks.last().unwrap().start > SEGMENT_HEADER_BYTES as u64);
    eprintln!("torn tail, one segment: {cuts} cuts");
}

#[test]
fn a_torn_block_alone_in_a_new_segment_is_cut_back_to_the_segment_header() {
    // Small segments: the last block went into a new segment of its own, so the cut
    // leaves that segment's header only (which must stay, and take the next block).
    let (built, cuts) = torn_tail_sweep(600, &[4, 4, 5], 64);
    assert!(built.segments.len() >= 2);
    assert_eq!(built.blocks.last().unwrap().start, SEGMENT_HEADER_BYTES as u64, "{:?}", built.blocks);
    eprintln!("torn tail, block alone in its segment: {cuts} cuts");
}

/// A log of several segments, and the header a rollover after it would write.
fn next_segment_header(dir: &Path, segment_bytes_max: u64) -> (BuiltLog, PathBuf, [u8; SEGMENT_HEADER_BYTES]) {
    let built = build_log(dir, segment_bytes_max, &[4, 4, 4]);
    assert!(built.segments.len() >= 2);
    let (writer, _) = SegmentWriter::open(dir, segment_bytes_max).unwrap();
    let position = writer.position();
    drop(writer);
    let header = SegmentHeader {
        version: exops_log::segment::SEGMENT_FORMAT_VERSION,
        segment_index: built.segments.len() as u64,
        first_seq: position.next_seq,
        first_block: position.next_block,
        prev_hash: position.prev_hash,
    };
    let path = dir.join(SEGMENTS_DIR).join(format!("{:020}.seg", position.next_seq));
    (built, path, header.encode())
}

#[test]
fn a_rollover_that_crashed_before_its_header_was_whole_is_removed() {
    const SEGMENT_BYTES_MAX: u64 = 600;
    let pristine = tempfile::tempdir().unwrap();
    let (built, new_segment, header) = next_segment_header(pristine.path(), SEGMENT_BYTES_MAX);
    let originals: Vec<Vec<u8>> = built.segments.iter().map(|path| fs::read(path).unwrap()).collect();
    let last_len = originals.last().unwrap().len();
    let scratch = tempfile::tempdir().unwrap();
    for len in 0..=SEGMENT_HEADER_BYTES {
        let dir = scratch.path().join(format!("rollover-{len}"));
        copy_with_last_cut(&built, &originals, &dir, last_len);
        let path = dir.join(SEGMENTS_DIR).join(new_segment.file_name().unwrap());
        fs::write(&path, &header[..len]).unwrap();
        let context = format!("a new segment of {len} bytes");
        // A few opens with the real snapshot index, the rest without (see `support`).
        if len >= 3 {
            block_snapshot_index(&dir);
        }
        if len < SEGMENT_HEADER_BYTES {
            // verify repairs nothing: it reports the short segment as a tail to cut.
            let summary = walk(&dir, true).unwrap_or_else(|error| panic!("{context}: walk: {error}"));
            assert_eq!(summary.last_seq, Some(built.last_seq()), "{context}");
            let tail = UnsealedTail { segment: path.clone(), offset: 0, bytes: len as u64 };
            assert_eq!(summary.unsealed_tail.as_ref(), Some(&tail), "{context}");
            let mut reader = LogReader::open(&dir, 1).unwrap();
            let read: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
            assert_eq!(read, built.envelopes, "{context}");
            assert_eq!(reader.unsealed_tail.as_ref(), Some(&tail), "{context}");
            let restored = restore(&dir, None, Target::End).unwrap();
            assert_eq!(restored.notes, [tail.describe()], "{context}");
        }
        let opened = Log::open(&dir, options(SEGMENT_BYTES_MAX), None)
            .unwrap_or_else(|error| panic!("{context}: the open refused: {error}"));
        let whole = len == SEGMENT_HEADER_BYTES;
        let expected = Recovery {
            truncated: None,
            removed_segment: (!whole).then(|| path.clone()),
            quarantined: opened.recovery.quarantined.clone(),
        };
        assert_eq!(opened.recovery, expected, "{context}");
        assert_eq!(opened.last_seq, built.last_seq(), "{context}");
        assert_eq!(path.exists(), whole, "{context}");
        assert_eq!(segment_paths(&dir).len(), built.segments.len() + usize::from(whole), "{context}");

        // Appending continues: into the whole new segment, or into a new one made again.
        let appended = opened.log.appender().append(login(9, 1, built.last_seq() as i64 + 1)).unwrap();
        assert!(
            matches!(appended, Appended::Durable { seq, .. } if seq == built.last_seq() + 1),
            "{context}: {appended:?}"
        );
        opened.log.close().expect("the writer closes cleanly");
        let summary = walk(&dir, true).unwrap_or_else(|error| panic!("{context}: walk after: {error}"));
        assert_eq!((summary.last_seq, summary.unsealed_tail), (Some(built.last_seq() + 1), None), "{context}");
        assert_eq!(read_all(&dir)[..built.envelopes.len()], built.envelopes[..], "{context}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// The same crash inside `exops_log::init` (the first segment's file made, its header not
/// yet whole) leaves a lone segment that holds nothing: opening, or `init` again, makes
/// it again, and the log works.
#[test]
fn an_init_that_crashed_before_its_header_was_whole_is_recovered() {
    let pristine = tempfile::tempdir().unwrap();
    exops_log::init(pristine.path()).unwrap();
    let path = segment_paths(pristine.path()).pop().unwrap();
    let header = fs::read(&path).unwrap();
    assert_eq!(header.len(), SEGMENT_HEADER_BYTES);
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for len in 0..SEGMENT_HEADER_BYTES {
        for through_init in [false, true] {
            let dir = scratch.path().join(format!("init-{len}-{through_init}"));
            fs::create_dir_all(dir.join(SEGMENTS_DIR)).unwrap();
            let segment = dir.join(SEGMENTS_DIR).join(path.file_name().unwrap());
            fs::write(&segment, &header[..len]).unwrap();
            block_snapshot_index(&dir);
            if through_init {
                match exops_log::init(&dir) {
                    Ok(true) => {}
                    other => failures.push(format!("{len} bytes: init again: {other:?}")),
                }
            }
            match Log::open(&dir, LogOptions::default(), None) {
                Ok(opened) => {
                    assert_eq!(opened.last_seq, 0);
                    let appended = opened.log.appender().append(crate::support::venue_submission()).unwrap();
                    assert!(matches!(appended, Appended::Durable { seq: 1, .. }), "{appended:?}");
                    opened.log.close().expect("the writer closes cleanly");
                    let summary = walk(&dir, true).unwrap();
                    assert_eq!((summary.last_seq, summary.unsealed_tail), (Some(1), None), "{len} bytes");
                    assert_eq!(segment_paths(&dir), vec![segment.clone()]);
                }
                Err(error) => failures.push(format!("{len} bytes: {error}")),
            }
            fs::remove_dir_all(&dir).unwrap();
        }
    }
    assert!(failures.is_empty(), "a first segment shorter than its header is refused:\n{}", failures.join("\n"));
}

/// A seal frame's bytes, all ASCII (so that they can sit in a note): its checksums are
/// steered into ASCII by trying seeded-random ASCII fields.
fn seal_frame_as_text() -> String {
    use exops_log::frame::write_frame;
    let mut rng = crate::support::Rng::new(0x5ea1);
    let mut ascii = |len: usize| -> Vec<u8> { (0..len).map(|_| 0x20 + rng.below(0x5f) as u8).collect() };
    loop {
        let body = ascii(96);
        let seq = u64::from_le_bytes(ascii(8).try_into().unwrap());
        let at = i64::from_le_bytes(ascii(8).try_into().unwrap());
        let mut frame = Vec::new();
        write_frame(&mut frame, FrameKind::Seal, 0, seq, at, &body);
        if frame.is_ascii() {
            return String::from_utf8(frame).unwrap();
        }
    }
}

/// A torn tail is cut only if no whole, checksummed seal frame follows the cut point
/// (`segment::seal_after`): a guard against cutting sealed blocks when a length changed.
/// But it looks for seal frames byte by byte, inside event bodies too, so an event whose
/// note holds the bytes of a seal frame, torn by a crash before its block's seal was
/// written, makes the log impossible to open. Ignored until the guard checks what it
/// finds (e.g. that the seal continues the chain at the cut point, or that it starts
/// where the frames before it end).
#[test]
fn a_torn_block_whose_note_looks_like_a_seal_is_still_cut() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_log(dir.path(), 64 << 20, &[3]);
    let path = built.segments[0].clone();
    let sealed_len = fs::metadata(&path).unwrap().len();
    block_snapshot_index(dir.path());
    let opened = Log::open(dir.path(), options(64 << 20), None).unwrap();
    let head_before = fs::read(crate::support::head_path(dir.path())).unwrap();
    let mut submission = login(1, 100, 100);
    submission.note = Some(format!("pasted from a log dump: {} (end)", seal_frame_as_text()));
    let appended = opened.log.appender().append(submission).unwrap();
    assert!(matches!(appended, Appended::Durable { seq: 4, .. }), "{appended:?}");
    opened.log.close().expect("the writer closes cleanly");
    // A crash had torn that block one byte before its event frame ended (so before its
    // seal, too): the event was never acknowledged.
    let event_end = frames(&fs::read(&path).unwrap()).iter().find(|frame| frame.seq == 4).unwrap().end;
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(event_end - 1).unwrap();
    drop(file);
    fs::write(crate::support::head_path(dir.path()), head_before).unwrap();

    let opened = Log::open(dir.path(), options(64 << 20), None)
        .unwrap_or_else(|error| panic!("a torn tail is refused as damage: {error}"));
    assert_eq!(opened.last_seq, 3);
    assert_eq!(opened.recovery.truncated.as_ref().map(|cut| cut.1), Some(sealed_len));
    opened.log.close().expect("the writer closes cleanly");
}

/// Bytes after the last seal that a torn write can leave (fewer than a frame header, so
/// they cannot be checked) are never passed over in silence: the reader reports them
/// after its last event, and a restore, from a snapshot or from the start, carries the
/// note every command prints.
#[test]
fn garbage_after_the_last_seal_is_reported_by_the_reader_and_noted_by_restore() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_log(dir.path(), 64 << 20, &[3, 2]);
    let path = built.segments[0].clone();
    let sealed_len = fs::metadata(&path).unwrap().len();
    let garbage = b"\x00\xffnot a frame, 31 bytes long\x01";
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, garbage).unwrap();
    drop(file);
    let tail = UnsealedTail { segment: path.clone(), offset: sealed_len, bytes: garbage.len() as u64 };
    let note = format!(
        "{} unsealed bytes at byte offset {sealed_len} of {} were never acknowledged (a torn write); \
         the next `exops log append` or `import` cuts them",
        garbage.len(),
        path.display()
    );
    assert_eq!(tail.describe(), note);

    let mut reader = LogReader::open(dir.path(), 1).unwrap();
    assert_eq!(reader.by_ref().count() as u64, built.last_seq());
    assert_eq!(reader.unsealed_tail, Some(tail.clone()));
    assert_eq!(walk(dir.path(), true).unwrap().unsealed_tail, Some(tail));

    let restored = restore(dir.path(), None, Target::End).unwrap();
    assert_eq!((restored.state.seq(), restored.notes), (built.last_seq(), vec![note.clone()]));
    // From a snapshot (the first restore with an index stores one after the first block).
    let snapshots = Snapshots::open(dir.path()).unwrap();
    snapshots.set_snapshot_every(3).unwrap();
    let first = restore(dir.path(), Some(&snapshots), Target::End).unwrap();
    assert_eq!(first.from_snapshot, None);
    assert_eq!(first.notes.last(), Some(&note), "{:?}", first.notes);
    let resumed = restore(dir.path(), Some(&snapshots), Target::End).unwrap();
    assert_eq!(resumed.from_snapshot, Some(3));
    assert_eq!((resumed.state.seq(), resumed.notes), (built.last_seq(), vec![note]));
    // A point before the tail is reached without reading it: nothing to say.
    assert_eq!(restore(dir.path(), Some(&snapshots), Target::Seq(4)).unwrap().notes, Vec::<String>::new());
}

/// `exops log import -` spools standard input into the data directory while it holds the
/// log open; an import killed before it ends leaves its spool behind. The next open
/// (which holds the writer lock, so no import is running) removes it and says so, and
/// leaves every other file alone, whatever its name.
#[test]
fn a_spool_left_by_an_interrupted_import_is_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    build_log(dir.path(), 64 << 20, &[2]);
    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    let mut spool = opened.create_spool().unwrap();
    let name = spool.path().file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(spool.path().parent(), Some(dir.path()));
    assert!(name.starts_with(exops_log::SPOOL_PREFIX), "{name}");
    std::io::Write::write_all(spool.as_file_mut(), b"{\"half\": \"a line\"").unwrap();
    // The import is killed: the spool is never deleted.
    let spool = spool.into_temp_path().keep().unwrap();
    drop(opened);
    // Files that only look alike stay: another tool's temporary file, a directory, a
    // file whose name merely contains the prefix.
    let others = [".tmpAbC123", "import-spool-notes.txt", "x.import-spool-1"];
    for other in others {
        fs::write(dir.path().join(other), b"not a spool").unwrap();
    }
    let spool_dir = dir.path().join(format!("{}dir", exops_log::SPOOL_PREFIX));
    fs::create_dir(&spool_dir).unwrap();

    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    assert_eq!(
        opened.notes,
        [format!("removed a stale import spool `{name}` (17 bytes) left by an interrupted import")],
        "{:?}",
        opened.notes
    );
    assert!(!spool.exists());
    for other in others {
        assert_eq!(fs::read(dir.path().join(other)).unwrap(), b"not a spool", "{other}");
    }
    assert!(spool_dir.is_dir());
    // The spool of an import that ends is gone with it; the log works as before.
    let live = opened.create_spool().unwrap();
    let live_path = live.path().to_owned();
    assert!(live_path.exists());
    drop(live);
    assert!(!live_path.exists());
    assert_eq!(opened.last_seq, 2);
    opened.log.close().unwrap();
}
