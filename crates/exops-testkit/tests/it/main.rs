//! The testkit on the BITPoint fixture and on a simulated log: states at phases and
//! points in one fold, the views' snapshots, given/when/then messages, redactions.

use std::path::{Path, PathBuf};

use exops_core::{Gated, Rejection};
use exops_testkit::{Fixture, Point, Redactions, given, point, yaml};

fn workspace(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn bitpoint() -> Fixture {
    Fixture::open(workspace("fixtures/bitpoint-2019/events.jsonl")).expect("the fixture parses")
}

/// The instant the full view is pinned at; exops-cli's tests compare
/// `exops replay … --at` this instant `--format yaml` with this snapshot's body.
const FULL_VIEW_AT: &str = "2019-08-07T00:00:00+09:00";

#[test]
fn the_full_view_at_2019_08_07() {
    insta::assert_snapshot!("bitpoint-full-2019-08-07", yaml(&bitpoint().at(point(FULL_VIEW_AT)).full()));
}

#[test]
fn services_at_every_phase_of_bitpoint() {
    let mut names = Vec::new();
    for (name, state) in bitpoint().phases() {
        insta::assert_snapshot!(format!("bitpoint-phase-{name}"), yaml(&state.services()));
        names.push(name);
    }
    assert_eq!(names.len(), 9, "{names:?}");
}

/// The fixture's markers are the phases of plan.toml, in order, each at its gate's `at`.
#[test]
fn the_fixture_marks_every_phase_of_the_plan_at_its_date() {
    let plan = exops_sim::plan::Plan::load(&workspace("fixtures/bitpoint-2019/plan.toml")).expect("the plan loads");
    let expected: Vec<(String, Option<exops_core::Timestamp>)> =
        plan.phases.iter().map(|phase| (phase.id.clone(), phase.gate.at)).collect();
    let marked: Vec<(String, Option<exops_core::Timestamp>)> =
        bitpoint().phases().map(|(name, state)| (name, state.state().at())).collect();
    assert_eq!(marked, expected);
}

/// `phases()` on a `--log-out` log of the BITPoint plan: one state per phase of the plan,
/// named as in the plan, and the state at each is the simulated state as it opened.
#[test]
fn phases_of_a_simulated_log_are_the_plans_phases() {
    let scenario = exops_sim::scenario::Scenario::load(&workspace("fixtures/bitpoint-2019/scenario.toml")).unwrap();
    let plan = exops_sim::plan::Plan::load(&workspace("fixtures/bitpoint-2019/plan.toml")).unwrap();
    let mut events = Vec::new();
    let options = exops_sim::Options { scale_percent: 1, ..exops_sim::Options::default() };
    exops_sim::simulate(&scenario, &plan, &options, &mut |envelope| events.push(envelope.clone())).unwrap();
    let fixture = Fixture::from_str("run.jsonl", &exops_jsonl::render_all(&events)).expect("the log parses");
    let phases: Vec<(String, exops_testkit::StateAt)> = fixture.phases().collect();
    let names: Vec<&str> = phases.iter().map(|(name, _)| name.as_str()).collect();
    let planned: Vec<&str> = plan.phases.iter().map(|phase| phase.id.as_str()).collect();
    assert_eq!(names, planned);
    for (name, state) in &phases {
        let marker = state.state().phases().last().expect("the marker is applied");
        assert_eq!(&marker.phase, name);
        assert_eq!(state.state().seq(), marker.seq, "the state is taken at the marker");
    }
}

/// One fold for many points gives, point by point, what a fold to each gives.
#[test]
fn states_at_many_points_agree_with_one_fold_each() {
    let fixture = bitpoint();
    let points = [
        Point::End,
        point("2019-09-30T10:00:00+09:00"),
        Point::Seq(1),
        Point::Seq(400),
        point("2019-01-01T00:00:00+09:00"),
    ];
    let together = fixture.states_at(&points);
    for (point, state) in points.iter().zip(&together) {
        let alone = exops_replay::replay_until(
            exops_jsonl::parse_str(
                "f",
                &std::fs::read_to_string(workspace("fixtures/bitpoint-2019/events.jsonl")).unwrap(),
            )
            .unwrap()
            .into_iter()
            .map(Ok::<_, exops_jsonl::ParseError>),
            *point,
        )
        .unwrap();
        assert_eq!(state.full(), alone.state.view(), "{point:?}");
    }
    assert_eq!(together[2].state().seq(), 1);
    assert_eq!(together[4].state().seq(), 0, "before the first event");
}

#[test]
fn each_boundary_is_a_change_to_some_service() {
    let fixture = bitpoint();
    let boundaries: Vec<_> = fixture.each_boundary().collect();
    assert!(boundaries.len() >= 10, "{}", boundaries.len());
    let mut previous = exops_testkit::StateAt::new(exops_core::State::new()).services();
    for (envelope, state) in &boundaries {
        assert_eq!(state.state().seq(), envelope.seq);
        let services = state.services();
        assert_ne!(services, previous, "seq {} changed no service's mode, cap or holds", envelope.seq);
        previous = services;
    }
    // Every service change is at a boundary: the last boundary's services are the end's.
    assert_eq!(previous, fixture.at(Point::End).services());
}

const VENUE: &str = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0},{"code":"BTC","class":"crypto","decimals":8,"liabilities_minor":100,"hot_minor":100}],"markets":["BTC/JPY"],"margin":false,"approvals_required":["ciso"]}"#;
const THEFT: &str = r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"incident_opened","incident":"INC-1","title":"hot wallet","category":"wallet_compromise","stolen":[{"asset":"BTC","wallet":"hot","amount_minor":50}],"blast_radius":["*"]}"#;
const HOLD: &str = r#"{"at":"2024-03-04T10:05:00+09:00","id":2,"actor":"staff:ops","kind":"hold_placed","hold":"freeze","cause":{"incident":"INC-1"},"services":["withdrawals:BTC"]}"#;
const LIFT: &str =
    r#"{"at":"2024-03-04T11:00:00+09:00","id":3,"actor":"staff:ops","kind":"hold_lifted","hold":"freeze"}"#;
const WITHDRAWAL: &str = r#"{"at":"2024-03-04T11:00:00+09:00","id":1,"actor":"customer:7","kind":"withdrawal_requested","asset":"BTC","amount_minor":10}"#;

fn panic_message(run: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(run).expect_err("it panics");
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn given_when_then_over_controls_and_gating() {
    let setup = [VENUE, THEFT, HOLD].join("\n");
    given(&setup)
        .when(LIFT)
        .then_rejected(|rejection| matches!(rejection, Rejection::ControlUnmet { .. }))
        .then_state(|state| assert_eq!(state.services().0.get("withdrawals:BTC").unwrap().holds, ["freeze"]));
    given(&setup).when(WITHDRAWAL).then_gated(|gated| matches!(gated, Gated::Refused(_)));
}

#[test]
fn a_failed_expectation_shows_the_event_and_the_state() {
    let setup = [VENUE, THEFT, HOLD].join("\n");
    let message = panic_message(|| {
        given(&setup).when(LIFT).then_applied();
    });
    assert!(message.contains("expected it to be applied, but the event was rejected: "), "{message}");
    assert!(message.contains("event (after 3 given): {\"at\":\"2024-03-04T11:00:00+09:00\""), "{message}");
    assert!(message.contains("    withdrawals:BTC:\n      mode: closed\n"), "{message}");
    let message = panic_message(|| {
        given(&setup).when(LIFT).then_rejected(|rejection| matches!(rejection, Rejection::NoVenue));
    });
    assert!(message.contains("expected another rejection, but the event was rejected: "), "{message}");
    let message = panic_message(|| {
        given(&[VENUE, LIFT].join("\n"));
    });
    assert!(message.contains("given event 2 is rejected (no active hold `freeze`"), "{message}");
}

#[test]
fn redactions_replace_what_they_name_and_refuse_what_matches_nothing() {
    let state = bitpoint().at(point(FULL_VIEW_AT));
    let redacted = Redactions::new().redact(".*.placed_at", "[at]").yaml(&state.holds());
    assert!(redacted.contains("  placed_at: '[at]'\n"), "{redacted}");
    assert!(!redacted.contains("placed_at: 20"), "{redacted}");
    assert_eq!(Redactions::new().yaml(&state.full()), yaml(&state.full()), "no redaction, the same text");
    let message = panic_message(|| {
        Redactions::new().redact(".*.placed", "[at]").yaml(&bitpoint().at(Point::End).holds());
    });
    assert!(message.contains("redaction path `.*.placed` matches nothing"), "{message}");
}
