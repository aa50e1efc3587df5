//! Golden files of the log's own stored formats (beside the event bodies' in `codec.rs`):
//! a segment file of every segment format version, each still read by this build, the
//! current one byte for byte what this build writes, and the head record (`log/HEAD`,
//! kept from segment format version 2 on).
//!
//! After a deliberate format change (with its version bump):
//!
//! EXOPS_BLESS=1 cargo test -p exops-log --test it formats::
//!
//! writes the current version's file; older versions' files are never rewritten. The
//! event bodies inside a segment have a schema version of their own (`codec.rs`): when it
//! changes, the current files change too, and the previous ones are kept, renamed
//! `segment-vN-schema-vM.hex` and `head-vN-schema-vM.hex` after the schema they hold, so
//! that a whole segment of the older schema is still read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use exops_log::head::{HEAD_FORMAT_VERSION, HEAD_SLOT_BYTES, Head};
use exops_log::segment::SEGMENT_FORMAT_VERSION;
use exops_log::store::SEGMENTS_DIR;
use exops_log::{Appended, Log, LogOptions, LogReader, inspect};

use crate::support::{build_log, head_path, login, venue_submission};

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn blessing() -> bool {
    std::env::var_os("EXOPS_BLESS").is_some_and(|value| value == "1")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2 + 1), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    }) + "\n"
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap()).collect()
}

/// Compares `bytes` with the golden file `name`, or writes it when blessing.
fn check_golden(name: &str, bytes: &[u8]) {
    let path = golden_path(name);
    if blessing() {
        std::fs::write(&path, hex(bytes)).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; write it with `EXOPS_BLESS=1 cargo test -p exops-log --test it formats::`",
            path.display()
        )
    });
    assert!(
        unhex(&golden) == bytes,
        "{name}: this build writes other bytes; if the change is deliberate, bump the format version, keep \
         reading the old one, and bless the new file"
    );
}

/// The log every golden segment holds: the venue, then a block of two logins; and its
/// head record.
fn golden_log(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let built = build_log(dir, 1 << 20, &[1, 2]);
    (std::fs::read(&built.segments[0]).unwrap(), std::fs::read(head_path(dir)).unwrap())
}

fn read_golden(name: &str) -> Vec<u8> {
    unhex(&std::fs::read_to_string(golden_path(name)).unwrap())
}

#[test]
fn the_current_segment_format_is_what_this_build_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (segment, head) = golden_log(dir.path());
    check_golden(&format!("segment-v{SEGMENT_FORMAT_VERSION}.hex"), &segment);
    check_golden(&format!("head-v{HEAD_FORMAT_VERSION}.hex"), &head);
}

#[test]
fn the_golden_head_record_decodes_to_the_golden_log_s_end() {
    let bytes = read_golden(&format!("head-v{HEAD_FORMAT_VERSION}.hex"));
    assert_eq!(bytes.len(), 2 * HEAD_SLOT_BYTES);
    // Three records: the empty log's at init, then one per block, in slots 0, 1, 0.
    let slots = [Head::decode(&bytes[..HEAD_SLOT_BYTES]).unwrap(), Head::decode(&bytes[HEAD_SLOT_BYTES..]).unwrap()];
    assert_eq!(slots.map(|head| head.generation), [2, 1]);
    assert_eq!((slots[0].last_seq, slots[0].blocks, slots[0].segment_first_seq), (3, 2, 1));
    assert_eq!((slots[1].last_seq, slots[1].blocks), (1, 1));
    let segment = read_golden(&format!("segment-v{SEGMENT_FORMAT_VERSION}.hex"));
    assert_eq!(slots[0].end_offset, segment.len() as u64, "the head ends where the last seal does");
}

/// A log from before head records (version 1 segments, no `HEAD`) opens and appends: its
/// first block makes the head record, and it is checked from then on.
#[test]
fn a_log_from_before_head_records_gets_one_with_its_first_block() {
    let dir = tempfile::tempdir().unwrap();
    let segments = dir.path().join(SEGMENTS_DIR);
    std::fs::create_dir_all(&segments).unwrap();
    std::fs::write(segments.join("00000000000000000001.seg"), read_golden("segment-v1.hex")).unwrap();
    assert!(inspect::walk(dir.path(), true).unwrap().head_record.is_none());
    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    assert!(!head_path(dir.path()).exists(), "an open that writes no block makes no head record");
    let appended = opened.log.appender().append(login(1, 50, 50)).unwrap();
    assert!(matches!(appended, Appended::Durable { seq: 4, .. }), "{appended:?}");
    opened.log.close().unwrap();
    let head = inspect::walk(dir.path(), true).unwrap().head_record.expect("made with the first block");
    assert_eq!((head.last_seq, head.blocks), (4, 3));
}

/// Golden segments that hold event bodies of an older schema, with their head records.
const OLDER_SCHEMA_SEGMENTS: [(&str, &str); 1] = [("segment-v2-schema-v3.hex", "head-v1-schema-v3.hex")];

#[test]
fn every_segment_format_version_is_read() {
    let expected = {
        let dir = tempfile::tempdir().unwrap();
        build_log(dir.path(), 1 << 20, &[1, 2]).envelopes
    };
    assert_eq!(expected[0].event, venue_submission().event);
    let current_head = format!("head-v{HEAD_FORMAT_VERSION}.hex");
    let mut cases: Vec<(String, Option<String>)> = (1..=SEGMENT_FORMAT_VERSION)
        .map(|version| (format!("segment-v{version}.hex"), (version >= 2).then(|| current_head.clone())))
        .collect();
    cases.extend(OLDER_SCHEMA_SEGMENTS.map(|(segment, head)| (segment.to_owned(), Some(head.to_owned()))));
    for (name, head) in cases {
        let bytes = read_golden(&name);
        let dir = tempfile::tempdir().unwrap();
        let segments = dir.path().join(SEGMENTS_DIR);
        std::fs::create_dir_all(&segments).unwrap();
        std::fs::write(segments.join("00000000000000000001.seg"), &bytes).unwrap();
        if let Some(head) = head {
            std::fs::write(head_path(dir.path()), read_golden(&head)).unwrap();
        }
        let read: Vec<_> = LogReader::open(dir.path(), 1).unwrap().map(Result::unwrap).collect();
        assert_eq!(read, expected, "{name}");
        let summary = inspect::walk(dir.path(), true).unwrap();
        assert_eq!((summary.events, summary.blocks), (3, 2), "{name}");
    }
}
