//! Golden logs, one per rules version: `tests/rules/vN.jsonl` is a log declared under
//! rules version N (v1 declares none, which means 1), and its folded state (the full view,
//! every rejection with its reason) is pinned by an insta snapshot.
//!
//! The log stores attempted events, and their outcomes are recomputed on every replay: a
//! change to any rule changes what these logs fold to, and fails this test. If the change
//! is deliberate, do NOT accept the new snapshot: bump `exops_core::RULES_VERSION`, keep
//! the old rules for the old version (a new arm of `Rules` in exops-core), and add
//! `tests/rules/v{N+1}.jsonl` declaring `"rules":N+1`, with its own snapshot. The old
//! snapshots must stay as they are: logs already written fold as they always did.
//!
//! The golden log of version 1 is the hand-written cases of `tests/cases/` in one log
//! (controls, gating, money, then cessation), each section under actors of its own so that
//! their ids do not collide: holds and partial lifts, modes and order-size caps, the
//! wallet-compromise controls (key rotation, the review, approvals by distinct people in
//! the required roles), incidents, custody and refunds, and nothing changing after
//! `ceased`.

use std::path::{Path, PathBuf};

use exops_core::{Event, RULES_VERSION, StateView};
use exops_jsonl::Reader;
use exops_log::{Appended, Log, LogOptions, Submission};
use exops_replay::{CheckReport, Point, check, replay_data_dir};
use serde::Serialize;

#[derive(Serialize)]
struct GoldenOutcome {
    rules: u32,
    check: CheckReport,
    state: StateView,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules")
}

/// The version a golden log is for, from its name (`v7.jsonl` is version 7).
fn version_of(path: &Path) -> u32 {
    let stem = path.file_stem().unwrap().to_string_lossy();
    stem.strip_prefix('v')
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("{}: golden logs are named vN.jsonl after their rules version", path.display()))
}

/// The golden logs, in version order.
fn golden_logs() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(golden_dir()).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort_by_key(|path| version_of(path));
    paths
}

#[test]
fn there_is_one_golden_log_per_rules_version() {
    let versions: Vec<u32> = golden_logs().iter().map(|path| version_of(path)).collect();
    let expected: Vec<u32> = (1..=RULES_VERSION).collect();
    assert_eq!(
        versions, expected,
        "a golden log per rules version this build folds: add tests/rules/v{RULES_VERSION}.jsonl"
    );
}

#[test]
fn every_golden_log_folds_to_its_pinned_state() {
    for path in golden_logs() {
        let path = path.as_path();
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version = version_of(path);
        let report = check(Reader::new(name.clone(), text.as_bytes()));
        assert!(report.parse_errors.is_empty(), "{:?}", report.parse_errors);
        let replay = crate::replay_file(path, Point::End);
        assert_eq!(replay.state.rules().get(), version, "{name} declares rules version {version}");
        // Every event the log's notes say is refused, and no other, is rejected.
        let noted: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.contains("\"note\":\"rejected"))
            .map(|(index, _)| index as u64 + 1)
            .collect();
        let found: Vec<u64> = report.rejections.iter().map(|rejection| rejection.line).collect();
        assert_eq!(found, noted, "{name}: {:#?}", report.rejections);
        // Named after the version, so that adding a version never renames an old snapshot.
        insta::assert_yaml_snapshot!(
            format!("rules-v{version}"),
            GoldenOutcome { rules: version, check: report, state: replay.state.view() }
        );
    }
}

/// The same log written to a data directory (its declaration in the event schema that
/// carries the rules version) folds to the same state.
#[test]
fn every_golden_log_folds_the_same_from_a_data_directory() {
    for path in golden_logs() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = exops_jsonl::parse_str("golden", &text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        exops_log::init(dir.path()).unwrap();
        let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
        let appender = opened.log.appender();
        for line in &lines {
            let envelope = &line.envelope;
            let submission = Submission {
                at: envelope.at,
                id: envelope.id,
                actor: envelope.actor.clone(),
                event: envelope.event.clone(),
                note: envelope.note.clone(),
            };
            let appended = appender.append(submission).unwrap();
            assert!(matches!(appended, Appended::Durable { .. }), "{}: {appended:?}", line.line);
        }
        drop(appender);
        opened.log.close().unwrap();
        let from_text = crate::replay_file(&path, Point::End).state;
        let from_log = replay_data_dir(dir.path(), Point::End).unwrap().state;
        assert_eq!(from_log.rules().get(), version_of(&path));
        assert_eq!(from_log.view(), from_text.view(), "{}", path.display());
        let Event::VenueDeclared(spec) = &lines[0].envelope.event else { panic!("a golden log declares its venue") };
        assert_eq!(spec.rules.get(), version_of(&path));
    }
}
