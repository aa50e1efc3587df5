//! `exops replay`: the text table, the dated states of the BITPoint 2019 fixture, `--at`
//! by sequence number, YAML, and determinism.

use serde_json::Value;

use crate::{exops, fixture};

/// The fixture's state at an RFC 3339 instant, as JSON.
fn state_at(at: &str) -> Value {
    exops(&["replay", &fixture(), "--at", at, "--format", "json"]).expect_code(0).json()
}

/// The effective mode of `service` in a JSON state.
#[track_caller]
fn mode<'a>(state: &'a Value, service: &str) -> &'a str {
    state["services"][service]["mode"]
        .as_str()
        .unwrap_or_else(|| panic!("no mode for service `{service}` in {:#}", state["services"]))
}

#[test]
fn replay_of_the_fixture_prints_the_venue_and_the_services_table() {
    let run = exops(&["replay", &fixture()]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("BITPoint Japan: operating"), "header:\n{}", run.stdout);
    let header = run.stdout.lines().find(|line| line.starts_with("SERVICE ")).expect("a services table header");
    for column in ["MODE", "SINCE", "HOLDS"] {
        assert!(header.contains(column), "column {column} in `{header}`");
    }
    for service in ["trading:BTC/JPY", "deposits:JPY", "withdrawals:BTC", "margin", "onboarding", "login"] {
        assert!(run.stdout.lines().any(|line| line.starts_with(service)), "a row for `{service}` in:\n{}", run.stdout);
    }
    assert!(run.stderr.is_empty(), "a clean replay prints nothing on stderr: {}", run.stderr);
}

#[test]
fn json_state_has_the_documented_shape() {
    let state = exops(&["replay", &fixture(), "--format", "json"]).expect_code(0).json();
    assert_eq!(state["seq"], 764, "the fixture has 764 events");
    assert!(state["at"].is_string(), "at: {}", state["at"]);
    assert_eq!(state["venue"], "operating");
    assert_eq!(state["name"], "BITPoint Japan");
    let services = state["services"].as_object().expect("services is an object");
    assert!(!services.is_empty());
    for (name, service) in services {
        assert!(service["mode"].is_string(), "{name}: mode");
        assert!(service["holds"].is_array(), "{name}: holds");
    }
    assert_eq!(state["events"]["rejected"], 0);
}

#[test]
fn on_2019_08_07_jpy_transfers_are_open_and_the_rest_closed() {
    let state = state_at("2019-08-07T00:00:00+09:00");
    assert_eq!(state["venue"], "operating");
    assert_eq!(mode(&state, "deposits:JPY"), "open");
    assert_eq!(mode(&state, "withdrawals:JPY"), "open");
    assert_eq!(mode(&state, "margin"), "closed");
    assert_eq!(mode(&state, "trading:BTC/JPY"), "halted");
    assert_eq!(mode(&state, "withdrawals:BTC"), "closed");
    let holds = state["services"]["withdrawals:BTC"]["holds"].as_array().expect("holds is a list");
    assert!(!holds.is_empty(), "a closed service names the holds that close it");
}

#[test]
fn on_2019_08_10_margin_is_open() {
    assert_eq!(mode(&state_at("2019-08-10T00:00:00+09:00"), "margin"), "open");
}

#[test]
fn on_2019_08_14_spot_trading_is_online() {
    assert_eq!(mode(&state_at("2019-08-14T00:00:00+09:00"), "trading:BTC/JPY"), "online");
}

#[test]
fn on_2019_10_01_btc_withdrawals_run_but_deposits_do_not() {
    let state = state_at("2019-10-01T00:00:00+09:00");
    let withdrawals = mode(&state, "withdrawals:BTC");
    assert!(matches!(withdrawals, "open" | "delayed"), "withdrawals:BTC is {withdrawals}");
    assert_eq!(mode(&state, "deposits:BTC"), "closed");
}

#[test]
fn on_2019_12_11_btc_deposits_are_open_and_onboarding_closed() {
    let state = state_at("2019-12-11T00:00:00+09:00");
    assert_eq!(mode(&state, "deposits:BTC"), "open");
    assert_eq!(mode(&state, "onboarding"), "closed");
}

#[test]
fn before_the_hack_every_service_runs() {
    let state = state_at("2019-07-11T12:00:00+09:00");
    let services = state["services"].as_object().expect("services is an object");
    assert!(!services.is_empty());
    for (name, service) in services {
        let mode = service["mode"].as_str().expect("mode is a string");
        assert!(matches!(mode, "open" | "online"), "{name} is {mode} before the incident");
    }
}

#[test]
fn at_a_sequence_number_stops_after_that_event() {
    let state = exops(&["replay", &fixture(), "--at", "50", "--format", "json"]).expect_code(0).json();
    assert_eq!(state["seq"], 50);
    // Event 50 places `all-services-suspended` on every service.
    assert_eq!(mode(&state, "deposits:JPY"), "closed");
    let before = exops(&["replay", &fixture(), "--at", "49", "--format", "json"]).expect_code(0).json();
    assert_eq!(before["seq"], 49);
    assert_eq!(mode(&before, "deposits:JPY"), "open");
}

#[test]
fn at_zero_is_the_state_before_any_event() {
    let state = exops(&["replay", &fixture(), "--at", "0", "--format", "json"]).expect_code(0).json();
    assert_eq!(state["seq"], 0);
    assert_eq!(state["venue"], "undeclared");
}

#[test]
fn yaml_output_lists_the_services() {
    let run = exops(&["replay", &fixture(), "--at", "120", "--format", "yaml"]);
    run.expect_code(0);
    assert!(run.stdout.lines().any(|line| line == "services:"), "a top-level `services:` key in:\n{}", run.stdout);
    assert!(run.stdout.contains("venue: operating"), "{}", run.stdout);
    assert!(run.stdout.contains("seq: 120"), "{}", run.stdout);
}

#[test]
fn replaying_twice_gives_identical_bytes() {
    for format in ["json", "text", "yaml"] {
        let first = exops(&["replay", &fixture(), "--format", format]).expect_code(0).stdout_bytes.clone();
        let second = exops(&["replay", &fixture(), "--format", format]).expect_code(0).stdout_bytes.clone();
        assert!(!first.is_empty());
        assert!(first == second, "two replays in {format} differ");
    }
}

/// `exops replay --format yaml` and exops-testkit render with the same renderer: the CLI's
/// output at an instant is, byte for byte, the body of the testkit's snapshot of the full
/// view there (crates/exops-testkit/tests/it/snapshots/), and what the testkit renders now.
#[test]
fn yaml_output_is_the_testkit_snapshot_of_the_full_view() {
    let at = "2019-08-07T00:00:00+09:00";
    let run = exops(&["replay", &fixture(), "--at", at, "--format", "yaml"]);
    run.expect_code(0);
    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../exops-testkit/tests/it/snapshots/it__bitpoint-full-2019-08-07.snap");
    let snapshot = std::fs::read_to_string(&snapshot).expect("the testkit's snapshot of the full view");
    let body = snapshot.splitn(3, "---\n").nth(2).expect("an insta header, then the body");
    assert!(run.stdout == body, "the CLI's YAML differs from the testkit's snapshot:\n{}\n---\n{body}", run.stdout);
    let fixture = exops_testkit::Fixture::open(fixture()).expect("the fixture parses");
    assert_eq!(run.stdout, exops_testkit::yaml(&fixture.at(exops_testkit::point(at)).full()));
}

/// The text view lists the phase markers applied so far, and has no such section when the
/// log has none yet.
#[test]
fn text_output_lists_the_phases_opened_so_far() {
    let run = exops(&["replay", &fixture(), "--at", "2019-08-10T00:00:00+09:00"]);
    run.expect_code(0);
    let section = run.stdout.split("\nPHASES (phase_opened markers)\n").nth(1).expect("a PHASES section");
    let rows: Vec<&str> = section.lines().skip(1).take_while(|line| !line.is_empty()).collect();
    assert_eq!(rows, ["jpy-funding  2019-08-06T05:00:00Z  144", "margin       2019-08-09T05:00:00Z  155"]);
    let before = exops(&["replay", &fixture(), "--at", "2019-08-01T00:00:00+09:00"]);
    assert!(!before.expect_code(0).stdout.contains("PHASES"), "{}", before.stdout);
}
