//! The BITPoint 2019 fixture: state at every phase boundary, its timeline, and
//! determinism.

use exops_core::Timestamp;
use exops_jsonl::Reader;
use exops_replay::{Point, check, render_timeline_mermaid};

use crate::{replay_file, workspace_path};

const FIXTURE: &str = "fixtures/bitpoint-2019/events.jsonl";

/// Instants just after each dated step of the recovery (JST).
const PHASES: &[(&str, &str)] = &[
    ("01-before-the-theft", "2019-07-11T12:00:00+09:00"),
    ("02-crypto-transfers-suspended", "2019-07-12T07:00:00+09:00"),
    ("03-all-services-suspended", "2019-07-12T11:00:00+09:00"),
    ("04-jpy-funding-back", "2019-08-07T00:00:00+09:00"),
    ("05-margin-back", "2019-08-10T00:00:00+09:00"),
    ("06-spot-trading-capped", "2019-08-14T00:00:00+09:00"),
    ("07-refunds-paid", "2019-09-13T00:00:00+09:00"),
    ("08-password-reset", "2019-09-18T00:00:00+09:00"),
    ("09-controls-met", "2019-09-28T00:00:00+09:00"),
    ("10-crypto-withdrawals-delayed", "2019-10-01T00:00:00+09:00"),
    ("11-crypto-deposits-back", "2019-12-11T00:00:00+09:00"),
    ("12-end-of-log", "2020-01-01T00:00:00+09:00"),
];

#[test]
fn state_at_every_phase_boundary() {
    for (name, at) in PHASES {
        let point = Point::At(Timestamp::parse_rfc3339(at).unwrap());
        let view = replay_file(&workspace_path(FIXTURE), point).state.view();
        insta::assert_yaml_snapshot!(format!("bitpoint-{name}"), view);
    }
}

#[test]
fn the_fixture_applies_without_a_rejection() {
    let text = std::fs::read_to_string(workspace_path(FIXTURE)).unwrap();
    let report = check(Reader::new(FIXTURE, text.as_bytes()));
    assert!(report.is_clean(), "{:#?}", report.rejections);
    assert!(report.duplicates.is_empty());
}

#[test]
fn timeline_of_every_service() {
    let replay = replay_file(&workspace_path(FIXTURE), Point::End);
    let timeline = replay.finished_timeline();
    insta::assert_yaml_snapshot!("bitpoint-timeline", timeline.by_service());
    insta::assert_snapshot!("bitpoint-timeline-mermaid", render_timeline_mermaid(&timeline));
}

#[test]
fn replaying_twice_gives_byte_identical_json() {
    let once = serde_json::to_string(&replay_file(&workspace_path(FIXTURE), Point::End).state.view()).unwrap();
    let twice = serde_json::to_string(&replay_file(&workspace_path(FIXTURE), Point::End).state.view()).unwrap();
    assert_eq!(once, twice);
}

/// Cutting at a sequence number or at that event's instant gives the same state when no
/// later event shares the instant.
#[test]
fn cutting_by_sequence_or_by_instant_agrees() {
    let full = replay_file(&workspace_path(FIXTURE), Point::End);
    let text = std::fs::read_to_string(workspace_path(FIXTURE)).unwrap();
    let lines: Vec<_> = exops_jsonl::parse_str(FIXTURE, &text).unwrap();
    let mut compared = 0;
    for window in lines.windows(2).step_by(37) {
        let (this, next) = (&window[0].envelope, &window[1].envelope);
        if this.at == next.at {
            continue;
        }
        let by_seq = replay_file(&workspace_path(FIXTURE), Point::Seq(this.seq)).state.view();
        let by_at = replay_file(&workspace_path(FIXTURE), Point::At(this.at)).state.view();
        assert_eq!(by_seq, by_at, "seq {}", this.seq);
        compared += 1;
    }
    assert!(compared > 10, "compared only {compared} cut points");
    assert_eq!(full.state.seq(), lines.len() as u64);
}

/// The customer operations the fixture's README points at get the outcomes it says.
#[test]
fn the_operations_the_readme_names_are_gated_as_it_says() {
    use exops_core::{Gated, Outcome, RefusalReason};

    let text = std::fs::read_to_string(workspace_path(FIXTURE)).unwrap();
    let mut replay = exops_replay::Replay::new();
    let mut seen = Vec::new();
    for line in exops_jsonl::parse_str(FIXTURE, &text).unwrap() {
        let outcome = replay.push(line.line, &line.envelope);
        let at = line.envelope.at.to_string();
        let expected = match (line.envelope.actor.to_string().as_str(), at.as_str()) {
            ("customer:7", "2019-07-20T03:00:00Z") => "refused by crypto-transfers-suspended",
            ("customer:7", "2019-10-01T03:00:00Z") => "queued",
            ("customer:8", "2019-08-07T00:00:00Z") => "accepted",
            ("customer:9", "2019-08-14T00:00:00Z") => "refused by spot-order-size-caps",
            ("customer:10", "2019-12-11T00:00:00Z") => "refused by all-services-suspended",
            _ => continue,
        };
        let found = match outcome {
            Outcome::Customer(Gated::Accepted) => "accepted".to_owned(),
            Outcome::Customer(Gated::Queued) => "queued".to_owned(),
            Outcome::Customer(Gated::Refused(refusal)) => match refusal.reason {
                RefusalReason::Hold { hold, .. } | RefusalReason::OrderTooLarge { hold, .. } => {
                    format!("refused by {}", replay.state.hold(hold).name)
                }
                other => format!("refused: {other:?}"),
            },
            other => format!("{other:?}"),
        };
        assert_eq!(found, expected, "{} at {at}", line.envelope.actor);
        seen.push(at);
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
}
