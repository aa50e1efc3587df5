//! The seed corpora of the log decoders' fuzz targets (`fuzz/corpus/frame`,
//! `segment_cursor`, `snapshot` and `event_body`), made here from the BITPoint fixture
//! (`fixtures/bitpoint-2019/events.jsonl`) and the golden files, and held to what this
//! build writes like golden files, so that a format change cannot leave the fuzzer
//! starting from bytes that fail at the first check. Each seed starts with the target's
//! mode byte (see each target's documentation). After a deliberate change:
//!
//! EXOPS_BLESS=1 cargo test -p exops-log --test it fuzz_seeds
//!
//! rewrites them; review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use exops_core::{Envelope, State, Timestamp};
use exops_log::codec::{EVENT_SCHEMA_VERSION, encode_body};
use exops_log::frame::{FrameKind, parse_frame, write_frame};
use exops_log::segment::SEGMENT_HEADER_BYTES;
use exops_log::snapshots::SnapshotMeta;
use exops_log::snapshots::internals::encode;
use exops_log::store::SegmentWriter;

/// The largest seed kept: libFuzzer is run with `-max_len=65536`.
const SEED_BYTES_MAX: usize = 1 << 16;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn blessing() -> bool {
    std::env::var_os("EXOPS_BLESS").is_some_and(|value| value == "1")
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap()).collect()
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(root().join("crates/exops-log/tests/golden").join(name)).unwrap()
}

/// The first body of each of `kinds` in a golden file of event bodies.
fn golden_bodies(name: &str, kinds: &[&str]) -> Vec<(String, Vec<u8>)> {
    let text = golden(name);
    let lines: Vec<(&str, &str)> = text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split_once(' ').unwrap())
        .collect();
    kinds
        .iter()
        .map(|kind| {
            let (_, bytes) = lines.iter().find(|(found, _)| found == kind).unwrap_or_else(|| panic!("{name}: {kind}"));
            ((*kind).to_owned(), unhex(bytes))
        })
        .collect()
}

fn bitpoint() -> Vec<Envelope> {
    let path = root().join("fixtures/bitpoint-2019/events.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    exops_jsonl::parse_str("events.jsonl", &text).unwrap().into_iter().map(|line| line.envelope).collect()
}

/// A log of `events` written in blocks of `block_sizes` into a fresh directory: its one
/// segment's bytes, and a snapshot file's bytes after each block.
fn write_log(events: &[Envelope], block_sizes: &[usize]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let (mut writer, _) = SegmentWriter::open(dir.path(), u64::MAX).unwrap();
    let mut state = State::new();
    let mut snapshots = Vec::new();
    let mut rest = events;
    for &size in block_sizes {
        let (block, after) = rest.split_at(size);
        rest = after;
        let bodies: Vec<(i64, Vec<u8>)> = block
            .iter()
            .map(|envelope| {
                let mut body = Vec::new();
                encode_body(envelope, &mut body).unwrap();
                (envelope.at.unix_micros(), body)
            })
            .collect();
        let position =
            writer.append_block(bodies.iter().map(|(at, body)| (EVENT_SCHEMA_VERSION, *at, body.as_slice()))).unwrap();
        for envelope in block {
            state.apply(envelope);
        }
        let meta = SnapshotMeta {
            seq: position.next_seq - 1,
            at: position.last_at_micros.map(Timestamp::from_unix_micros),
            chain_hash: position.prev_hash,
            resume: writer.resume_point(),
        };
        snapshots.push(encode(meta, &state).unwrap());
    }
    let segment = std::fs::read(writer.segment_path()).unwrap();
    (segment, snapshots)
}

/// The frames of a segment's blocks, one slice of bytes per block (event frames, then
/// the seal frame).
fn blocks(segment: &[u8]) -> Vec<&[u8]> {
    let mut blocks = Vec::new();
    let (mut offset, mut start) = (SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES);
    while offset < segment.len() {
        let (header, _) = parse_frame(&segment[offset..]).unwrap();
        offset += header.frame_len();
        if header.kind == FrameKind::Seal {
            blocks.push(&segment[start..offset]);
            start = offset;
        }
    }
    blocks
}

fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut seed = vec![mode];
    seed.extend_from_slice(bytes);
    seed
}

/// Every seed, by target and file name.
fn seeds() -> BTreeMap<(&'static str, String), Vec<u8>> {
    let mut seeds = BTreeMap::new();
    let mut put = |target: &'static str, name: &str, bytes: Vec<u8>| {
        assert!(bytes.len() <= SEED_BYTES_MAX, "{target}/{name}: {} bytes", bytes.len());
        seeds.insert((target, name.to_owned()), bytes);
    };
    let events = bitpoint();

    // segment_cursor: bit 0 mends checksums, bit 1 records a head, bit 2 short reads.
    let golden_v1 = unhex(&golden("segment-v1.hex"));
    let golden_v2 = unhex(&golden("segment-v2.hex"));
    put("segment_cursor", "golden-v1", with_mode(0b001, &golden_v1));
    put("segment_cursor", "golden-v2", with_mode(0b011, &golden_v2));
    let (three_blocks, _) = write_log(&events, &[1, 4, 15]);
    put("segment_cursor", "bitpoint-blocks-1-4-15", with_mode(0b011, &three_blocks));
    put("segment_cursor", "bitpoint-blocks-1-4-15-unmended", with_mode(0b000, &three_blocks));
    put("segment_cursor", "bitpoint-blocks-1-4-15-short-reads", with_mode(0b111, &three_blocks));
    let (sixty, _) = write_log(&events, &[20, 20, 20]);
    put("segment_cursor", "bitpoint-60-in-blocks-of-20", with_mode(0b011, &sixty));
    put("segment_cursor", "bitpoint-60-torn-tail", with_mode(0b011, &sixty[..sixty.len() - 50]));
    let (header_only, _) = write_log(&events, &[]);
    put("segment_cursor", "header-only", with_mode(0b001, &header_only));
    let mut unsealed = three_blocks.clone();
    for envelope in &events[20..25] {
        let mut body = Vec::new();
        encode_body(envelope, &mut body).unwrap();
        write_frame(
            &mut unsealed,
            FrameKind::Event,
            EVENT_SCHEMA_VERSION,
            envelope.seq,
            envelope.at.unix_micros(),
            &body,
        );
    }
    put("segment_cursor", "bitpoint-unsealed-tail", with_mode(0b011, &unsealed));

    // frame: bit 0 mends, bit 1 checks against the chain position the seal names.
    let three = blocks(&three_blocks);
    put("frame", "bitpoint-block-0", with_mode(0b01, three[0]));
    put("frame", "bitpoint-block-1", with_mode(0b11, three[1]));
    put("frame", "bitpoint-block-2", with_mode(0b11, three[2]));
    put("frame", "bitpoint-block-2-unmended", with_mode(0b10, three[2]));
    put("frame", "golden-v2-frames", with_mode(0b01, &golden_v2[SEGMENT_HEADER_BYTES..]));
    put("frame", "golden-v2-segment-header", with_mode(0b00, &golden_v2[..SEGMENT_HEADER_BYTES]));
    let (first_frame, _) = parse_frame(three[1]).unwrap();
    put("frame", "one-event-frame", with_mode(0b00, &three[1][..first_frame.frame_len()]));

    // snapshot: bit 0 mends the checksum.
    let (_, snapshots) = write_log(&events, &[1, 19, 40, 80, events.len() - 140]);
    for (snapshot, name) in snapshots.iter().zip(["seq-1", "seq-20", "seq-60", "seq-140", "end"]) {
        put("snapshot", &format!("bitpoint-{name}"), with_mode(0b01, snapshot));
    }
    put("snapshot", "bitpoint-seq-20-filed-under-0", with_mode(0b11, &snapshots[1]));

    // event_body: the first byte is the schema version. Today's version's bodies, then
    // a few of each older version's (upcast).
    let today = format!("events-v{EVENT_SCHEMA_VERSION}.hex");
    let today_kinds = ["venue_declared", "hold_placed", "theft_recorded", "order_submitted", "withdrawal_requested"];
    for (version, name, kinds) in [
        (EVENT_SCHEMA_VERSION, today.as_str(), &today_kinds[..]),
        (3, "events-v3.hex", &["venue_declared", "approval_given", "phase_opened"][..]),
        (2, "events-v2.hex", &["hold_placed", "login_attempted"][..]),
        (1, "events-v1.hex", &["hold_placed", "order_submitted"][..]),
    ] {
        let mode = u8::try_from(version).unwrap();
        for (kind, body) in golden_bodies(name, kinds) {
            put("event_body", &format!("v{version}-{kind}"), with_mode(mode, &body));
        }
    }
    seeds
}

#[test]
fn fuzz_seeds_are_what_this_build_writes() {
    let corpus = root().join("fuzz/corpus");
    let seeds = seeds();
    for ((target, name), bytes) in &seeds {
        let path = corpus.join(target).join(name);
        if blessing() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            continue;
        }
        let found = std::fs::read(&path).unwrap_or_else(|error| {
            panic!(
                "{}: {error}; write the seeds with `EXOPS_BLESS=1 cargo test -p exops-log --test it fuzz_seeds`",
                path.display()
            )
        });
        assert!(
            found == *bytes,
            "{}: this build writes another seed; if the format changed deliberately, regenerate with \
             `EXOPS_BLESS=1 cargo test -p exops-log --test it fuzz_seeds` and review the diff",
            path.display()
        );
    }
    // No seed left over from an earlier layout in these targets' corpora.
    for target in ["frame", "segment_cursor", "snapshot", "event_body"] {
        for entry in std::fs::read_dir(corpus.join(target)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(seeds.contains_key(&(target, name.clone())), "fuzz/corpus/{target}/{name} is no seed made here");
        }
    }
}
