//! Replays pinned with insta snapshots: the BITPoint 2019 fixture at every phase
//! boundary, and small hand-written cases (`tests/cases/*.jsonl`) for each rule.

#![allow(clippy::unwrap_used)]

mod bitpoint;
mod cases;
mod rules;
mod time_travel;
mod timeline;

use std::path::Path;

use exops_jsonl::Reader;
use exops_replay::{Point, Replay, replay_until};

/// Replays a JSON Lines file up to `point`; every test goes through here.
pub fn replay_file(path: &Path, point: Point) -> Replay {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    replay_until(Reader::new(name, text.as_bytes()), point).unwrap()
}

pub fn workspace_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}
