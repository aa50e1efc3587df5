//! Every fixture's plans, simulated at 1% of their workload: metrics and timelines pinned
//! with insta, determinism, and agreement with the recorded BITPoint history.

use std::path::{Path, PathBuf};

use exops_core::{Envelope, Timestamp};
use exops_replay::{Point, render_timeline_mermaid, replay_until};
use exops_sim::plan::Plan;
use exops_sim::scenario::Scenario;
use exops_sim::{Options, Simulation, simulate};

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(relative)
}

/// Runs one fixture plan at 1% of the scenario's requests, keeping every event.
fn run(scenario: &str, plan: &str) -> (Simulation, Vec<Envelope>) {
    let scenario = Scenario::load(&fixture(scenario)).unwrap();
    let plan = Plan::load(&fixture(plan)).unwrap();
    let mut events = Vec::new();
    let options = Options { scale_percent: 1, ..Options::default() };
    let simulation = simulate(&scenario, &plan, &options, &mut |envelope| events.push(envelope.clone())).unwrap();
    (simulation, events)
}

const RUNS: &[(&str, &str, &str)] = &[
    ("bitpoint-2019/scenario.toml", "bitpoint-2019/plan.toml", "bitpoint-plan"),
    ("bitpoint-2019/scenario.toml", "bitpoint-2019/plan-crypto-first.toml", "bitpoint-plan-crypto-first"),
    ("coincheck-2018/scenario.toml", "coincheck-2018/plan.toml", "coincheck-plan"),
    ("mtgox-2014/scenario.toml", "mtgox-2014/plan.toml", "mtgox-plan"),
    ("mtgox-2014/scenario.toml", "mtgox-2014/plan-reopen.toml", "mtgox-plan-reopen"),
];

#[test]
fn metrics_and_timelines_of_every_fixture_plan() {
    for (scenario, plan, name) in RUNS {
        let (simulation, _) = run(scenario, plan);
        insta::with_settings!({ snapshot_suffix => name.to_string() }, {
            // The daily series are long; their shape is pinned by the report tests.
            insta::assert_yaml_snapshot!("metrics", simulation.metrics, {
                ".withdrawal_backlog" => insta::dynamic_redaction(|value, _| format!("{} days", value.as_slice().map_or(0, <[_]>::len))),
                ".refused_per_day" => insta::dynamic_redaction(|value, _| format!("{} days", value.as_slice().map_or(0, <[_]>::len))),
            });
            insta::assert_snapshot!("timeline", render_timeline_mermaid(&simulation.replay.finished_timeline()));
        });
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let render = |events: &[Envelope]| exops_jsonl::render_all(events);
    let (first, first_events) = run("bitpoint-2019/scenario.toml", "bitpoint-2019/plan.toml");
    let (second, second_events) = run("bitpoint-2019/scenario.toml", "bitpoint-2019/plan.toml");
    assert_eq!(render(&first_events), render(&second_events));
    assert_eq!(serde_json::to_string(&first.metrics).unwrap(), serde_json::to_string(&second.metrics).unwrap());
    let scenario = Scenario::load(&fixture("bitpoint-2019/scenario.toml")).unwrap();
    let plan = Plan::load(&fixture("bitpoint-2019/plan.toml")).unwrap();
    let other_seed = Options { scale_percent: 1, seed: Some(7), ..Options::default() };
    let mut other = Vec::new();
    simulate(&scenario, &plan, &other_seed, &mut |envelope| other.push(envelope.clone())).unwrap();
    assert_ne!(render(&first_events), render(&other), "another seed draws other requests");
}

/// Drawing the requests on a second thread changes nothing: every fixture plan gives the
/// same events, byte for byte, and the same metrics with it on and off.
#[test]
fn drawing_ahead_on_a_second_thread_gives_the_same_bytes() {
    for (scenario, plan, name) in RUNS {
        let scenario = Scenario::load(&fixture(scenario)).unwrap();
        let plan = Plan::load(&fixture(plan)).unwrap();
        let run = |draw_ahead: bool| {
            let options = Options { scale_percent: 2, draw_ahead, ..Options::default() };
            let mut events = Vec::new();
            let simulation =
                simulate(&scenario, &plan, &options, &mut |envelope| events.push(envelope.clone())).unwrap();
            (exops_jsonl::render_all(&events), serde_json::to_string(&simulation.metrics).unwrap(), events.len())
        };
        let (ahead, one_thread) = (run(true), run(false));
        assert!(ahead.2 > 1_000, "{name}: a run with customer requests ({} events)", ahead.2);
        assert!(ahead.0 == one_thread.0, "{name}: the events differ");
        assert_eq!(ahead.1, one_thread.1, "{name}: the metrics differ");
    }
}

/// The simulated log, replayed at each dated step, has every service in the mode the
/// recorded fixture has then.
#[test]
fn the_simulated_bitpoint_log_agrees_with_the_recorded_history() {
    let (_, events) = run("bitpoint-2019/scenario.toml", "bitpoint-2019/plan.toml");
    let simulated = exops_jsonl::render_all(&events);
    let recorded = std::fs::read_to_string(fixture("bitpoint-2019/events.jsonl")).unwrap();
    for at in [
        "2019-07-12T07:00:00+09:00",
        "2019-07-12T11:00:00+09:00",
        "2019-08-07T00:00:00+09:00",
        "2019-08-10T00:00:00+09:00",
        "2019-08-14T00:00:00+09:00",
        "2019-09-18T00:00:00+09:00",
        "2019-09-25T00:00:00+09:00",
        "2019-10-01T00:00:00+09:00",
        "2019-12-11T00:00:00+09:00",
    ] {
        let point = Point::At(Timestamp::parse_rfc3339(at).unwrap());
        let modes = |text: &str| {
            let replay = replay_until(exops_jsonl::Reader::new("log", text.as_bytes()), point).unwrap();
            let view = replay.state.view();
            view.services
                .0
                .iter()
                .map(|(name, service)| (name.clone(), service.mode, service.max_order_notional_minor))
                .collect::<Vec<_>>()
        };
        assert_eq!(modes(&simulated), modes(&recorded), "at {at}");
    }
}

#[test]
fn reopening_after_insolvency_is_a_violation_naming_the_terminal_state() {
    let (simulation, _) = run("mtgox-2014/scenario.toml", "mtgox-2014/plan-reopen.toml");
    assert_eq!(simulation.metrics.violations.len(), 2);
    for violation in &simulation.metrics.violations {
        assert!(violation.reason.contains("`ceased` is terminal"), "{}", violation.reason);
    }
}

#[test]
fn a_counterfactual_starts_from_the_recorded_state() {
    let scenario = Scenario::load(&fixture("bitpoint-2019/scenario.toml")).unwrap();
    let plan = Plan::load(&fixture("bitpoint-2019/plan-crypto-first.toml")).unwrap();
    let at = Timestamp::parse_rfc3339("2019-08-05T00:00:00+09:00").unwrap();
    let options = Options {
        scale_percent: 1,
        start_from: exops_sim::StartFrom::Log {
            source: fixture("bitpoint-2019/events.jsonl").display().to_string(),
            at,
        },
        ..Options::default()
    };
    let mut events = Vec::new();
    let simulation = simulate(&scenario, &plan, &options, &mut |envelope| events.push(envelope.clone())).unwrap();
    assert!(simulation.metrics.violations.is_empty(), "{:?}", simulation.metrics.violations);
    assert!(simulation.metrics.phases.iter().all(|phase| phase.opened_at.is_some()));
    // The output log is self-contained: it begins with the recorded events up to `at`.
    let recorded = std::fs::read_to_string(fixture("bitpoint-2019/events.jsonl")).unwrap();
    let prefix: Vec<Envelope> = exops_jsonl::parse_str("events.jsonl", &recorded)
        .unwrap()
        .into_iter()
        .map(|line| line.envelope)
        .filter(|envelope| envelope.at <= at)
        .collect();
    assert!(prefix.len() > 100);
    assert_eq!(&events[..prefix.len()], prefix.as_slice());
    assert!(events.len() > prefix.len());
    let served = simulation.metrics.recovery.existing_customers_served.as_ref().unwrap();
    assert!(served.at < Timestamp::parse_rfc3339("2019-12-10T00:00:00Z").unwrap());
}

/// Every phase that opens writes one `phase_opened` marker, named as in the plan, at the
/// instant it opened and before the phase's own actions; the state records the same.
#[test]
fn every_opened_phase_writes_a_marker_named_as_in_the_plan() {
    for (scenario, plan, _) in RUNS {
        let (simulation, events) = run(scenario, plan);
        // The metrics list phases in plan order; markers are in the order they opened.
        let mut opened: Vec<(String, Timestamp)> = simulation
            .metrics
            .phases
            .iter()
            .filter_map(|phase| phase.opened_at.map(|at| (phase.id.clone(), at)))
            .collect();
        opened.sort_by_key(|(_, at)| *at);
        assert!(!opened.is_empty(), "{plan}: no phase opened");
        let markers: Vec<(String, Timestamp)> = events
            .iter()
            .filter_map(|envelope| match &envelope.event {
                exops_core::Event::PhaseOpened(marker) => Some((marker.phase.clone(), envelope.at)),
                _ => None,
            })
            .collect();
        assert_eq!(markers, opened, "{plan}: the markers are the opened phases, in order");
        let recorded: Vec<(String, Timestamp)> =
            simulation.replay.state.phases().iter().map(|marker| (marker.phase.clone(), marker.at)).collect();
        assert_eq!(recorded, opened, "{plan}: the state records every marker");
        // The marker precedes the phase's actions, which carry the note `plan phase ID`.
        for (phase, _) in &opened {
            let marker = events.iter().position(
                |envelope| matches!(&envelope.event, exops_core::Event::PhaseOpened(marker) if marker.phase == *phase),
            );
            let first_action =
                events.iter().position(|envelope| envelope.note.as_deref() == Some(&format!("plan phase {phase}")));
            if let (Some(marker), Some(action)) = (marker, first_action) {
                assert!(marker < action, "{plan}: the marker of `{phase}` comes after its first action");
            }
        }
    }
}
