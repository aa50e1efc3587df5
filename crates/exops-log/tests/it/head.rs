//! The head record (`log/HEAD`): acknowledged blocks cut off or deleted are damage, named
//! with the segment and offset where the log now ends, by `verify` (`inspect::walk`),
//! every reader and the writer's open; only bytes past the head are a torn write, and
//! open moves them to `quarantine/` with a note instead of deleting them.

use std::fs;
use std::path::{Path, PathBuf};

use exops_log::segment::Damage;
use exops_log::store::QUARANTINE_DIR;
use exops_log::{Log, LogOptions, LogReader, StoreError, inspect};

use crate::support::{build_log, frames, head_path, segment_paths};

fn damage(result: Result<impl std::fmt::Debug, StoreError>, context: &str) -> Damage {
    match result {
        Err(StoreError::Damaged(damage)) => damage,
        other => panic!("{context}: expected damage, got {other:?}"),
    }
}

/// Every way of reading the log refuses, naming `segment` and `offset`, and the refused
/// open changes no byte.
fn assert_refused_everywhere(dir: &Path, segment: &Path, offset: u64, context: &str) {
    let before: Vec<(PathBuf, Vec<u8>)> =
        segment_paths(dir).into_iter().map(|path| (path.clone(), fs::read(&path).unwrap())).collect();
    let walked = damage(inspect::walk(dir, true), context);
    let read = damage(LogReader::open(dir, 1).unwrap().collect::<Result<Vec<_>, _>>(), context);
    let opened = damage(Log::open(dir, LogOptions::default(), None).map(|opened| opened.last_seq), context);
    for found in [&walked, &read, &opened] {
        assert_eq!((found.segment.as_path(), found.offset), (segment, offset), "{context}: {found}");
        assert!(found.message.contains("acknowledged"), "{context}: {found}");
    }
    let after: Vec<(PathBuf, Vec<u8>)> =
        segment_paths(dir).into_iter().map(|path| (path.clone(), fs::read(&path).unwrap())).collect();
    assert_eq!(before, after, "{context}: the refused open changed the log");
    assert!(!dir.join(QUARANTINE_DIR).exists(), "{context}: nothing is quarantined on a refusal");
}

#[test]
fn a_segment_cut_inside_or_at_the_end_of_an_acknowledged_block_is_damage() {
    let scratch = tempfile::tempdir().unwrap();
    let pristine = scratch.path().join("pristine");
    let built = build_log(&pristine, 64 << 20, &[1, 3, 2]);
    let last = built.blocks.last().unwrap().clone();
    let segment_bytes = fs::read(&built.segments[0]).unwrap();
    // Inside the last block (the damage is where the frame that runs past the end of the
    // file starts), and exactly at its start (the whole block gone, the file ending
    // cleanly at the seal before it).
    let frame_at =
        |cut: u64| frames(&segment_bytes).into_iter().find(|frame| frame.start < cut && cut < frame.end).unwrap().start;
    for (cut, offset) in
        [(last.start + 1, last.start), (last.end - 1, frame_at(last.end - 1)), (last.start, last.start)]
    {
        let dir = scratch.path().join(format!("cut-{cut}"));
        crate::support::copy_log(&pristine, &dir);
        let segment = segment_paths(&dir)[0].clone();
        fs::write(&segment, &segment_bytes[..cut as usize]).unwrap();
        assert_refused_everywhere(&dir, &segment, offset, &format!("cut at {cut}"));
    }
}

#[test]
fn deleting_the_last_segment_is_damage() {
    let scratch = tempfile::tempdir().unwrap();
    let pristine = scratch.path().join("pristine");
    let built = build_log(&pristine, 600, &[1, 3, 2, 3, 2]);
    assert!(built.segments.len() >= 2, "the log needs a second segment");
    let dir = scratch.path().join("deleted");
    crate::support::copy_log(&pristine, &dir);
    let segments = segment_paths(&dir);
    fs::remove_file(segments.last().unwrap()).unwrap();
    let now_last = segments[segments.len() - 2].clone();
    let end = fs::metadata(&now_last).unwrap().len();
    assert_refused_everywhere(&dir, &now_last, end, "the last segment deleted");
}

#[test]
fn a_torn_tail_past_the_head_is_cut_into_quarantine_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_log(dir.path(), 64 << 20, &[1, 3, 2]);
    let last = built.blocks.last().unwrap().clone();
    let segment = built.segments[0].clone();
    let bytes = fs::read(&segment).unwrap();
    // The last block was written and never acknowledged (the head is from before it),
    // then torn, with a bit flipped in what was kept: not a prefix of what was written.
    fs::write(head_path(dir.path()), built.heads.last().unwrap()).unwrap();
    let cut = last.end - 7;
    let mut torn = bytes[..cut as usize].to_vec();
    torn[last.start as usize + 50] ^= 0x10;
    fs::write(&segment, &torn).unwrap();

    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    assert_eq!(opened.last_seq, last.first_seq - 1);
    assert_eq!(opened.recovery.truncated.as_ref().map(|cut| (cut.1, cut.2)), Some((last.start, cut - last.start)));
    let [kept] = opened.recovery.quarantined.as_slice() else { panic!("{:?}", opened.recovery) };
    assert_eq!(fs::read(kept).unwrap(), torn[last.start as usize..], "the quarantine holds the bytes cut");
    let note = fs::read_to_string(kept.with_extension("note")).unwrap();
    assert!(
        note.contains(&segment.display().to_string()) && note.contains(&format!("byte offset {}", last.start)),
        "{note}"
    );
    let described = opened.recovery.describe().unwrap();
    assert!(described.contains(&kept.display().to_string()), "{described}");
    opened.log.close().unwrap();
    assert_eq!(fs::metadata(&segment).unwrap().len(), last.start);
}
