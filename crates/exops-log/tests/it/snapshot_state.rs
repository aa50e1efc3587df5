//! A snapshot whose checksum holds but whose state is not one the fold makes (an index
//! pointing past what the state holds: a bug, or a file edited with its checksum
//! recomputed) is damage, refused before anything indexes into it. The snapshot fuzz
//! target found one that made `view` panic.

use exops_core::State;
use exops_log::snapshots::SnapshotMeta;
use exops_log::snapshots::internals::{decode, encode};
use exops_log::{ChainPosition, ResumePoint};

#[test]
fn a_snapshot_whose_state_indexes_past_itself_is_damage() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl"))
            .unwrap();
    let mut state = State::new();
    for line in exops_jsonl::parse_str("events.jsonl", &text).unwrap() {
        state.apply(&line.envelope);
    }
    let seq = state.seq();
    let chain_hash = [7; 32];
    let position = ChainPosition { next_seq: seq + 1, next_block: 3, prev_hash: chain_hash, last_at_micros: None };
    let meta = SnapshotMeta {
        seq,
        at: state.at(),
        chain_hash,
        resume: ResumePoint { segment_first_seq: 1, offset: 4096, position },
    };
    let bytes = encode(meta, &state).unwrap();
    assert!(decode(seq, &bytes).is_ok(), "the snapshot as written reads back");

    // The same file with one service's holds naming a hold the state does not have, the
    // checksum made to match.
    const HEADER: usize = 90;
    let json_len = u32::from_le_bytes(bytes[HEADER..HEADER + 4].try_into().unwrap()) as usize;
    let (json, customers) = bytes[HEADER + 4..].split_at(json_len);
    let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
    value["service_holds"][0] = serde_json::json!([9999]);
    let edited_json = serde_json::to_vec(&value).unwrap();
    let mut edited = bytes[..HEADER].to_vec();
    edited.extend_from_slice(&(edited_json.len() as u32).to_le_bytes());
    edited.extend_from_slice(&edited_json);
    edited.extend_from_slice(customers);
    let checksum = crc32c::crc32c(&edited[10..]);
    edited[6..10].copy_from_slice(&checksum.to_le_bytes());
    let damage = decode(seq, &edited).unwrap_err();
    assert_eq!(damage.seq, seq);
    assert!(
        damage.reason.contains("the state is not one the log folds to") && damage.reason.contains("hold 9999"),
        "{}",
        damage.reason
    );
}
