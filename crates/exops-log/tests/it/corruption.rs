//! Changed bytes: every single-bit flip anywhere in a sealed log, segment headers
//! included, must be reported as damage in the file and at the frame where it happened,
//! and no open may "repair" it. A flip never shortens a file, so torn-tail recovery (which
//! only cuts bytes that are too few to be a frame) has nothing to cut: every open of a
//! flipped copy must refuse, leaving every file as it was.

use std::fs;
use std::path::{Path, PathBuf};

use exops_log::inspect::walk;
use exops_log::segment::{Damage, SEGMENT_HEADER_BYTES};
use exops_log::store::SegmentWriter;
use exops_log::{Log, LogOptions, LogReader, StoreError};

use crate::support::{
    BuiltLog, Rng, block_snapshot_index, build_log, copy_log, frames, index_blocked, put_byte, segment_paths,
    snapshot_files,
};

/// Small segments, so that the four blocks below take two segment files (two blocks each).
const SEGMENT_BYTES_MAX: u64 = 800;
const BLOCKS: [usize; 4] = [4, 4, 4, 3];

fn options() -> LogOptions {
    LogOptions { segment_bytes_max: SEGMENT_BYTES_MAX, ..LogOptions::default() }
}

/// The pristine log and, for each segment, its bytes and the frame start of every byte.
struct Sweep {
    built: BuiltLog,
    originals: Vec<Vec<u8>>,
    /// For each segment, for each byte offset: the offset of the frame holding it (0 for
    /// the segment header).
    frame_of: Vec<Vec<u64>>,
}

fn sweep_setup(dir: &Path) -> Sweep {
    let built = build_log(dir, SEGMENT_BYTES_MAX, &BLOCKS);
    assert!(built.segments.len() >= 2, "the sweep needs several segments: {:?}", built.blocks);
    assert!(built.blocks.len() >= 3);
    let mut originals = Vec::new();
    let mut frame_of = Vec::new();
    for path in &built.segments {
        let bytes = fs::read(path).unwrap();
        let mut owner = vec![0_u64; bytes.len()];
        for frame in frames(&bytes) {
            for slot in &mut owner[frame.start as usize..frame.end as usize] {
                *slot = frame.start;
            }
        }
        assert!(owner[..SEGMENT_HEADER_BYTES].iter().all(|start| *start == 0));
        originals.push(bytes);
        frame_of.push(owner);
    }
    Sweep { built, originals, frame_of }
}

impl Sweep {
    /// Events a reader may hand out before damage at `frame_start` of segment `segment`:
    /// those of the blocks sealed before it (a reader releases whole, checked blocks only).
    fn released_before(&self, segment: usize, frame_start: u64) -> usize {
        self.built
            .blocks
            .iter()
            .filter(|block| block.segment < segment || (block.segment == segment && block.end <= frame_start))
            .map(|block| (block.last_seq - block.first_seq + 1) as usize)
            .sum()
    }
}

fn same_place(damage: &Damage, path: &Path, offset: u64) -> bool {
    damage.segment == path && damage.offset == offset
}

/// Reads the whole log: the envelopes handed out before the first error, and the error.
fn read_until_error(dir: &Path) -> (usize, Option<StoreError>) {
    let mut count = 0;
    let reader = match LogReader::open(dir, 1) {
        Ok(reader) => reader,
        Err(error) => return (0, Some(error)),
    };
    for item in reader {
        match item {
            Ok(_) => count += 1,
            Err(error) => return (count, Some(error)),
        }
    }
    (count, None)
}

/// Everything one flipped copy must satisfy; returns the ways it did not.
fn check_flip(sweep: &Sweep, work: &Path, segment: usize, path: &Path, byte: usize, flipped: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let expected_offset = sweep.frame_of[segment][byte];
    let files_before = snapshot_files(work);

    // 1. verify's walk names the file and the frame.
    match walk(work, true) {
        Err(StoreError::Damaged(damage)) if same_place(&damage, path, expected_offset) => {}
        Err(StoreError::Damaged(damage)) => {
            problems.push(format!("walk reported damage elsewhere (frame at {expected_offset} expected): {damage}"))
        }
        Ok(summary) => problems.push(format!("UNDETECTED by walk: {summary:?}")),
        Err(other) => problems.push(format!("walk failed otherwise: {other}")),
    }

    // 2. A reader hands out the blocks before the damage, then the same damage.
    let (released, error) = read_until_error(work);
    let expected_released = sweep.released_before(segment, expected_offset);
    if released != expected_released {
        problems.push(format!("the reader handed out {released} events, {expected_released} expected"));
    }
    match error {
        Some(StoreError::Damaged(damage)) if same_place(&damage, path, expected_offset) => {}
        other => problems.push(format!("the reader ended with {other:?}")),
    }

    // 3. The segment writer reads every segment through before it appends: it must refuse
    // the damage wherever it is, and cut nothing.
    match SegmentWriter::open(work, SEGMENT_BYTES_MAX) {
        Err(StoreError::Damaged(damage)) if same_place(&damage, path, expected_offset) => {}
        Ok((_, recovery)) => problems.push(format!("the segment writer opened it, recovering {recovery:?}")),
        Err(other) => problems.push(format!("the segment writer refused it otherwise: {other}")),
    }

    // 4. Opening the log refuses it with the same damage.
    match Log::open(work, options(), None) {
        Err(StoreError::Damaged(damage)) if same_place(&damage, path, expected_offset) => {}
        Err(other) => problems.push(format!("Log::open refused it with other damage: {other}")),
        Ok(opened) => {
            problems.push(format!(
                "UNDETECTED by Log::open: it opened at seq {} recovering {:?}",
                opened.last_seq, opened.recovery
            ));
            opened.log.close().expect("the writer closes cleanly");
        }
    }

    // 5. Nothing was repaired: every segment file is as it was, none removed or added.
    let files_after = snapshot_files(work);
    if files_after != files_before {
        let names = |files: &[(PathBuf, Vec<u8>)]| {
            files.iter().map(|(path, bytes)| format!("{} ({} bytes)", path.display(), bytes.len())).collect::<Vec<_>>()
        };
        problems.push(format!("files changed: {:?} -> {:?}", names(&files_before), names(&files_after)));
    }
    assert_eq!(fs::read(path).unwrap(), flipped, "the flipped file must be restorable");
    problems
}

#[test]
fn every_bit_flip_in_every_segment_is_refused_at_its_frame() {
    let pristine = tempfile::tempdir().unwrap();
    let sweep = sweep_setup(pristine.path());
    let work = tempfile::tempdir().unwrap();
    copy_log(pristine.path(), work.path());
    block_snapshot_index(work.path());
    let paths = segment_paths(work.path());

    // The copy opens, without snapshots (so every open below folds the log from the start).
    let opened = Log::open(work.path(), options(), None).unwrap();
    assert!(index_blocked(&opened.notes), "{:?}", opened.notes);
    assert_eq!(opened.last_seq, sweep.built.last_seq());
    opened.log.close().expect("the writer closes cleanly");
    let bytes: Vec<Vec<u8>> = snapshot_files(work.path()).into_iter().map(|(_, bytes)| bytes).collect();
    assert_eq!(bytes, sweep.originals, "an open with nothing to repair changes nothing");

    let mut failures = Vec::new();
    let mut flips = 0_u64;
    for (segment, path) in paths.iter().enumerate() {
        let original = &sweep.originals[segment];
        for byte in 0..original.len() {
            for bit in 0..8 {
                let mut flipped = original.clone();
                flipped[byte] ^= 1 << bit;
                put_byte(path, byte as u64, flipped[byte]);
                for problem in check_flip(&sweep, work.path(), segment, path, byte, &flipped) {
                    failures.push(format!(
                        "{} byte {byte} (frame at {}) bit {bit}: {problem}",
                        path.file_name().unwrap().to_string_lossy(),
                        sweep.frame_of[segment][byte]
                    ));
                }
                flips += 1;
            }
            put_byte(path, byte as u64, original[byte]);
        }
    }
    eprintln!(
        "bit-flip sweep: {flips} flips over {} segments ({} bytes), {} failures",
        paths.len(),
        sweep.originals.iter().map(Vec::len).sum::<usize>(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {flips} flips mishandled; the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
    // Restored, the log is whole again.
    assert!(walk(work.path(), true).unwrap().unsealed_tail.is_none());
}

/// The sweep above opens the log without its snapshot index; here a seeded sample of
/// flips is opened with a real (sled) index too, which must not change the verdict.
#[test]
fn a_bit_flip_is_refused_when_the_snapshot_index_is_there_too() {
    let pristine = tempfile::tempdir().unwrap();
    let sweep = sweep_setup(pristine.path());
    let work = tempfile::tempdir().unwrap();
    copy_log(pristine.path(), work.path());
    let paths = segment_paths(work.path());
    let mut rng = Rng::new(0x5eed_f11b);
    let mut failures = Vec::new();
    const SAMPLES: usize = 24;
    for sample in 0..SAMPLES {
        // Every segment, header and frames alike, gets its share.
        let segment = sample % paths.len();
        let original = &sweep.originals[segment];
        let byte = if sample % 4 == 0 {
            rng.below(SEGMENT_HEADER_BYTES as u64) as usize
        } else {
            rng.below(original.len() as u64) as usize
        };
        let bit = rng.below(8);
        let mut flipped = original.clone();
        flipped[byte] ^= 1 << bit;
        put_byte(&paths[segment], byte as u64, flipped[byte]);
        for problem in check_flip(&sweep, work.path(), segment, &paths[segment], byte, &flipped) {
            failures.push(format!("segment {segment} byte {byte} bit {bit}: {problem}"));
        }
        put_byte(&paths[segment], byte as u64, original[byte]);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Undamaged, it opens with its index.
    let opened = Log::open(work.path(), options(), None).unwrap();
    assert!(!index_blocked(&opened.notes), "{:?}", opened.notes);
    assert_eq!(opened.last_seq, sweep.built.last_seq());
    opened.log.close().expect("the writer closes cleanly");
}
