//! The states the logs fold to, pinned: every fixture, every case file, and a generated
//! 10 M-event log (about 15 s of one core in the test profile). A
//! change to the state machine, the event types or the fold that changes any of them
//! fails here, with the view's diff; a change meant to change them regenerates the files
//! with `EXOPS_UPDATE_PINNED=1` and says why in its commit.
//!
//! Each is folded the ways the tool folds it: a text log line by line (`State::apply`)
//! and, when the writer admits every line, also written to a data directory and restored
//! (the codec and the fold over records); the generated log through records
//! (`State::apply_records`), and a shorter generated log through a data directory
//! against the in-memory fold.
//!
//! The pinned form is the full view (`State::view`) as JSON: everything the state answers,
//! services, holds, incidents, ledger, impact, phases and event counters, but no internal
//! layout, so a redesign of how the state is held keeps these files as they are.

#![allow(clippy::unwrap_used, reason = "a test: a failure is the panic")]

use std::path::{Path, PathBuf};

use exops_core::{Record, State};
use exops_log::restore::{Target, restore};
use exops_log::{Appended, Log, LogOptions, Submission};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pinned_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pinned")
}

/// The JSON Lines logs shipped with the project that are valid (the bad-input catalogue's
/// are not, on purpose).
fn text_logs() -> Vec<PathBuf> {
    let mut logs = Vec::new();
    for dir in
        ["fixtures", "crates/exops-replay/tests/cases", "crates/exops-testkit/fixtures", "examples/user-tests/tests"]
    {
        let mut stack = vec![root().join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display())) {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|ext| ext == "jsonl") {
                    logs.push(path);
                }
            }
        }
    }
    logs.sort();
    assert!(logs.len() >= 10, "the project's logs were not found: {logs:?}");
    logs
}

fn view_json(state: &State) -> String {
    serde_json::to_string_pretty(&state.view()).unwrap() + "\n"
}

/// Compares `json` with the pinned file `name`, or writes it under `EXOPS_UPDATE_PINNED=1`.
fn check(name: &str, json: &str) -> Result<(), String> {
    let path = pinned_dir().join(format!("{name}.json"));
    if std::env::var_os("EXOPS_UPDATE_PINNED").is_some() {
        std::fs::write(&path, json).unwrap();
        return Ok(());
    }
    let pinned = std::fs::read_to_string(&path)
        .map_err(|error| format!("{}: {error} (pin it with EXOPS_UPDATE_PINNED=1)", path.display()))?;
    if pinned == json {
        return Ok(());
    }
    let (line, (old, new)) = pinned
        .lines()
        .zip(json.lines())
        .enumerate()
        .find(|(_, (old, new))| old != new)
        .map_or((pinned.lines().count().min(json.lines().count()), ("<end>", "<end>")), |found| found);
    Err(format!(
        "{name}: the state differs from {}; first at line {}: pinned `{old}`, now `{new}`",
        path.display(),
        line + 1
    ))
}

/// A name for a file's pinned state: its path under the root, `/` as `__`.
fn pinned_name(path: &Path) -> String {
    let relative = path.strip_prefix(root()).unwrap_or(path);
    relative.to_string_lossy().trim_end_matches(".jsonl").replace(['/', '\\'], "__")
}

#[test]
fn every_shipped_log_folds_to_its_pinned_state() {
    let mut failures = Vec::new();
    let mut written = Vec::new();
    let logs = text_logs();
    let count = logs.len();
    for path in logs {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = exops_jsonl::parse_str(&path.display().to_string(), &text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let mut state = State::new();
        for line in &lines {
            state.apply(&line.envelope);
        }
        state.check_consistency().unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let name = pinned_name(&path);
        if let Err(failure) = check(&name, &view_json(&state)) {
            failures.push(failure);
        }
        let submissions: Vec<Submission> = lines.into_iter().map(|line| line.envelope.into()).collect();
        if let Some(restored) = through_a_data_directory(submissions) {
            written.push(name.clone());
            if let Err(failure) = check(&name, &view_json(&restored)) {
                failures.push(format!("through a data directory: {failure}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("through a data directory as well: {}", written.join(", "));
    // envelope.jsonl holds a retry and a clock going back on purpose; every other shipped
    // log is admitted whole.
    assert!(written.len() + 1 >= count, "{} of {count} admitted whole: {written:?}", written.len());
}

/// The state a data directory holding `submissions` restores to, or `None` when the
/// writer did not write each of them (a duplicate or an earlier timestamp is answered at
/// the door, so that log's state differs from its text's on purpose).
fn through_a_data_directory(submissions: Vec<Submission>) -> Option<State> {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    let answers = opened.log.appender().submit_batch(submissions).unwrap().wait();
    opened.log.close().unwrap();
    if !answers.iter().all(|answer| matches!(answer, Ok(Appended::Durable { .. }))) {
        return None;
    }
    let restored = restore(dir.path(), None, Target::End).unwrap();
    Some(restored.state)
}

/// Events of the generated log folded.
const GENERATED_EVENTS: u64 = 10_000_000;

#[test]
fn a_generated_log_folds_to_its_pinned_state() {
    let events = GENERATED_EVENTS;
    let state = fold_generated(events);
    assert_eq!(state.seq(), events);
    state.check_consistency().unwrap();
    check(&format!("generated-seed-1-{events}-events"), &view_json(&state))
        .unwrap_or_else(|failure| panic!("{failure}"));
}

/// The first `events` of the generated log (seed 1), folded as records in blocks of 4,096.
fn fold_generated(events: u64) -> State {
    let mut state = State::new();
    let mut batch: Vec<Record> = Vec::with_capacity(4096);
    let mut generator = exops_gen::Generator::new(1);
    let mut folded = 0;
    while folded < events {
        batch.clear();
        batch.extend(generator.by_ref().take((events - folded).min(4096) as usize).map(Record::from));
        state.apply_records(&batch, |_, _| {});
        folded += batch.len() as u64;
    }
    state
}

#[test]
fn a_generated_data_directory_restores_to_the_fold_in_memory() {
    let events = 300_000;
    let dir = tempfile::tempdir().unwrap();
    exops_gen::write_log(dir.path(), events, 1, &mut |_| {}).unwrap();
    let restored = restore(dir.path(), None, Target::End).unwrap();
    assert_eq!(restored.state.seq(), events);
    let folded = fold_generated(events);
    assert_eq!(view_json(&restored.state), view_json(&folded));
    assert_eq!(restored.state, folded, "and the whole state, per-customer arrays too");
}
