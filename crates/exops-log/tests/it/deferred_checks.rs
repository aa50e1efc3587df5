//! A cursor that checks event bodies once per block (`defer_body_checks`, what the raw
//! block reader of a replay uses) walks every damaged segment as one that checks each
//! frame as it reads it: the same blocks sealed, with the same bytes, then the same error
//! at the same offset (or the same end). Only the events it steps over before an error
//! differ, which its reader never acts on (it hands out nothing before a block's seal).
//! Every single-bit flip of every byte of a small log, and every cut, both ways.

use std::fs;
use std::path::Path;

use exops_log::segment::{SegmentCursor, Step, Stop};
use exops_log::storage::Storage;

use crate::support::{build_log, segment_paths};

/// The blocks a cursor sealed, then its first error or its end.
fn walk(path: &Path, index: u64, defer: bool) -> Vec<String> {
    let mut cursor = match SegmentCursor::open(&Storage::real(), path, index, None) {
        Ok(cursor) => cursor,
        Err(stop) => return vec![describe(&stop)],
    };
    cursor.defer_body_checks(defer);
    let mut steps = Vec::new();
    loop {
        match cursor.step() {
            Ok(Step::Event { .. }) => {}
            Ok(Step::Sealed(seal)) => {
                steps.push(format!("sealed {} {:?}", seal.block_index, cursor.take_sealed_frames()))
            }
            Ok(Step::End) => {
                steps.push("end".to_owned());
                return steps;
            }
            Err(stop) => {
                steps.push(describe(&stop));
                return steps;
            }
        }
    }
}

fn describe(stop: &Stop) -> String {
    match stop {
        Stop::Unreadable { offset, error } => format!("unreadable at {offset}: {error}"),
        Stop::Damaged(damage) => format!("damaged at {}: {}", damage.offset, damage.message),
        Stop::Io(error) => format!("io: {error}"),
    }
}

#[test]
fn deferred_body_checks_walk_every_damaged_segment_as_frame_by_frame_checks_do() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    build_log(&log, 800, &[4, 4, 4, 3]);
    let scratch = dir.path().join("scratch.seg");
    let (mut compared, mut body_errors) = (0, 0);
    for (index, path) in segment_paths(&log).iter().enumerate() {
        let original = fs::read(path).unwrap();
        let mut check = |bytes: &[u8], what: &str| {
            fs::write(&scratch, bytes).unwrap();
            let (each, deferred) = (walk(&scratch, index as u64, false), walk(&scratch, index as u64, true));
            assert_eq!(deferred, each, "segment {index}, {what}");
            compared += 1;
            if each.last().is_some_and(|last| last.contains("body checksum")) {
                body_errors += 1;
            }
        };
        check(&original, "as written");
        for offset in 0..original.len() {
            let mut flipped = original.clone();
            flipped[offset] ^= 1 << (offset % 8);
            check(&flipped, &format!("bit {} of byte {offset} flipped", offset % 8));
        }
        for len in 0..original.len() {
            check(&original[..len], &format!("cut to {len} bytes"));
        }
    }
    assert!(compared > 3_000, "{compared} walks compared");
    assert!(body_errors > 100, "flips inside bodies are found by their checksums: {body_errors}");
}
