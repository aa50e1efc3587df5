//! The segment cursor over arbitrary bytes as a segment file, on a simulated disk in
//! memory: walked to its end, it returns errors, never panics, always moves forward (so
//! it cannot loop) and holds at most the file's bytes (a length field cannot make it
//! allocate more). Then the same file is read as a whole log, by `LogReader` (events
//! decoded) and by `inspect::walk` (what `exops log verify` runs).
//!
//! The first byte chooses: bit 0 mends the checksums and chain hashes (see
//! `exops_fuzz::mend_segment`); bit 1 records a head at the last seal the cursor read,
//! so that the log readers go past the head check; bit 2 makes the disk return short
//! reads; bit 3 flips bits in what it returns. On a disk without faults, a cursor that
//! checks bodies once per block (`defer_body_checks`) seals the same blocks and stops with
//! the same error as one that checks each frame.
#![no_main]

use std::path::Path;

use exops_log::frame::FRAME_HEADER_BYTES;
use exops_log::head::HeadFile;
use exops_log::segment::{ResumePoint, SegmentCursor, Step};
use exops_log::sim_storage::Faults;
use exops_log::store::SEGMENTS_DIR;
use exops_log::{LogReader, inspect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else { return };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        exops_fuzz::mend_segment(&mut bytes);
    }
    let (disk, storage, path) = exops_fuzz::simulated_log(&bytes);
    disk.set_faults(Faults {
        short_read_per_million: if mode & 4 == 4 { 300_000 } else { 0 },
        corrupt_read_per_million: if mode & 8 == 8 { 2_000 } else { 0 },
        ..Faults::default()
    });

    let mut last_resume = None;
    // The index the header holds: index 0 must start the log, a later one is trusted.
    let index = bytes.get(16..24).map_or(0, |index| u64::from_le_bytes(index.try_into().expect("eight bytes")));
    if let Ok(mut cursor) = SegmentCursor::open(&storage, &path, index, None) {
        let first_seq = cursor.header.first_seq;
        let mut steps = 0_usize;
        loop {
            let before = cursor.offset;
            match cursor.step() {
                Ok(Step::End) | Err(_) => break,
                Ok(Step::Event { body, .. }) => assert!(body.len() <= bytes.len()),
                Ok(Step::Sealed(seal)) => {
                    let frames = cursor.take_sealed_frames();
                    assert!(frames.len() <= bytes.len(), "a block holds no more than the file");
                    assert_eq!(cursor.sealed_end, cursor.offset);
                    assert_eq!(cursor.sealed.next_block, seal.block_index + 1);
                    last_resume = Some(ResumePoint {
                        segment_first_seq: first_seq,
                        offset: cursor.offset,
                        position: cursor.sealed,
                    });
                }
            }
            assert!(cursor.offset >= before + FRAME_HEADER_BYTES as u64, "each step reads a whole frame");
            assert!(cursor.offset <= cursor.file_len);
            steps += 1;
            assert!(steps <= bytes.len() / FRAME_HEADER_BYTES, "a cursor cannot step more often than frames fit");
        }
    }

    if mode & 12 == 0 {
        let walk = |defer: bool| -> Vec<String> {
            let Ok(mut cursor) = SegmentCursor::open(&storage, &path, index, None) else { return Vec::new() };
            cursor.defer_body_checks(defer);
            let mut seen = Vec::new();
            loop {
                match cursor.step() {
                    Ok(Step::Event { .. }) => {}
                    Ok(Step::Sealed(seal)) => seen.push(format!("{seal:?} {:?}", cursor.take_sealed_frames())),
                    Ok(Step::End) => return seen,
                    Err(stop) => {
                        seen.push(format!("{stop:?}"));
                        return seen;
                    }
                }
            }
        };
        assert_eq!(walk(true), walk(false), "deferred body checks walk as frame-by-frame checks do");
    }

    let data_dir = Path::new(exops_fuzz::DATA_DIR);
    if mode & 2 == 2
        && let Some(resume) = &last_resume
    {
        let _ = HeadFile::new(&storage, &data_dir.join(SEGMENTS_DIR), None).record(resume);
    }
    if let Ok(mut reader) = LogReader::open_on(&storage, data_dir, 1) {
        let mut previous = 0;
        while let Some(Ok(block)) = reader.next_block() {
            for event in &block.events {
                assert!(event.seq > previous, "a reader hands out events in order");
                previous = event.seq;
            }
        }
    }
    let _ = inspect::walk_on(&storage, data_dir, true);
    if let Some(resume) = &last_resume {
        if let Ok(mut reader) = LogReader::open_at_on(&storage, data_dir, resume) {
            while let Some(Ok(_)) = reader.next_raw_block() {}
        }
    }
});
