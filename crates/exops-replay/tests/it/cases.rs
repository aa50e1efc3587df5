//! One snapshot per case file: what `check` reports and the final state.

use exops_core::StateView;
use exops_jsonl::Reader;
use exops_replay::{CheckReport, Point, check};
use serde::Serialize;

#[derive(Serialize)]
struct CaseOutcome {
    check: CheckReport,
    state: StateView,
}

#[test]
fn every_case_file_replays_as_pinned() {
    insta::glob!("../cases", "*.jsonl", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let report = check(Reader::new(name, text.as_bytes()));
        assert!(report.parse_errors.is_empty(), "{:?}", report.parse_errors);
        let state = crate::replay_file(path, Point::End).state.view();
        insta::assert_yaml_snapshot!(CaseOutcome { check: report, state });
    });
}

/// Each case file says, in the note of every event it expects to be refused, "rejected";
/// the checker must agree line by line, so a changed rule cannot slip into a snapshot.
#[test]
fn notes_that_say_rejected_match_the_rejections() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    assert!(paths.len() >= 6);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| line.contains("\"note\":\"rejected"))
            .map(|(index, _)| index as u64 + 1)
            .collect();
        let report = check(Reader::new("case", text.as_bytes()));
        let found: Vec<u64> = report.rejections.iter().map(|rejection| rejection.line).collect();
        assert_eq!(found, expected, "{}: {:#?}", path.display(), report.rejections);
    }
}

/// The text view says why an incident whose own controls are met still reads as unmet.
#[test]
fn the_text_view_names_the_incident_holding_withdrawals_back() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/controls-two-incidents.jsonl");
    let text = exops_replay::render_state_text(&crate::replay_file(&path, Point::End).state.view());
    let row = |incident: &str| text.lines().find(|line| line.starts_with(incident)).unwrap().to_owned();
    assert!(row("INC-1 ").ends_with("  withdrawals wait for INC-2"), "{text}");
    assert!(row("INC-2 ").ends_with("  missing keys of USDT, review, approval:ciso"), "{text}");
}
