//! Loading scenarios: every error in an event names the file and the line of the event's
//! table.

use exops_sim::scenario::Scenario;

/// A small scenario: an incident (its `[[events]]` on line 15) and a hold on every
/// service (line 23), then `extra` from line 29, so that an `extra` starting with a blank
/// line has its first `[[events]]` on line 30.
fn scenario_text(extra: &str) -> String {
    format!(
        r#"name = "test"
start = "2024-01-01T00:00:00Z"
end = "2024-01-10T00:00:00Z"

[venue]
name = "Test Venue"
margin = true
approvals_required = ["ciso"]
markets = ["BTC/JPY"]
assets = [
  {{ code = "JPY", class = "fiat", decimals = 0, liabilities_minor = 1000000, hot_minor = 500000, cold_minor = 500000 }},
  {{ code = "BTC", class = "crypto", decimals = 8, liabilities_minor = 1000000000, hot_minor = 300000000, cold_minor = 700000000 }},
]

[[events]]
at = "2024-01-02T00:00:00Z"
kind = "incident_opened"
incident = "INC-1"
category = "wallet_compromise"
title = "keys leaked"
blast_radius = ["*"]

[[events]]
at = "2024-01-02T01:00:00Z"
kind = "hold_placed"
hold = "all-suspended"
cause = {{ incident = "INC-1" }}
services = ["*"]
{extra}
[workload]
customers = 10
[workload.per_day]
login = 1
"#
    )
}

/// The error of loading the scenario with `extra` events, as `s.toml`.
fn load_error(extra: &str) -> String {
    match Scenario::parse("s.toml", &scenario_text(extra)) {
        Ok(_) => panic!("the scenario loads, but should not:\n{extra}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn the_base_scenario_loads() {
    let scenario = Scenario::parse("s.toml", &scenario_text("")).unwrap();
    assert_eq!(scenario.events.len(), 2);
    assert_eq!(scenario.events[1].label, "s.toml:23: event 2");
}

#[test]
fn malformed_events_name_the_line() {
    let kind = "\n[[events]]\nat = \"2024-01-03T00:00:00Z\"\nkind = \"hold_lift\"\nhold = \"all-suspended\"\n";
    let error = load_error(kind);
    assert!(error.starts_with("s.toml:30: event 3 (hold_lift `all-suspended`): "), "{error}");
    assert!(error.contains("`hold_lift`"), "{error}");
    let missing_at = "\n[[events]]\nkind = \"hold_lifted\"\nhold = \"all-suspended\"\n";
    assert_eq!(
        load_error(missing_at),
        "s.toml:30: event 3 (hold_lifted `all-suspended`): missing `at` (an RFC 3339 instant, quoted)"
    );
    let field = "\n[[events]]\nat = \"2024-01-03T00:00:00Z\"\nkind = \"incident_updated\"\nincident = \"INC-1\"\nstatus = \"fixed\"\n";
    let error = load_error(field);
    assert!(
        error.starts_with("s.toml:30: event 3 (incident_updated `INC-1`): field `status`: unknown variant `fixed`"),
        "{error}"
    );
    let venue = "\n[[events]]\nat = \"2024-01-03T00:00:00Z\"\nkind = \"venue_declared\"\n";
    assert_eq!(
        load_error(venue),
        "s.toml:30: event 3 (venue_declared): the venue is declared by [venue], not by an event"
    );
}

#[test]
fn events_in_an_inline_array_name_their_own_line() {
    let text = r#"name = "inline"
start = "2024-01-01T00:00:00Z"
end = "2024-01-10T00:00:00Z"
events = [
  { at = "2024-01-02T00:00:00Z", kind = "hold_placed", hold = "maint", cause = "maintenance", services = ["login"] },
  { at = "2024-01-02T01:00:00Z", kind = "hold_lifted", hold = "maint", servcies = ["login"] },
]

[venue]
name = "Test Venue"
markets = []
assets = [{ code = "JPY", class = "fiat", decimals = 0 }]

[workload]
customers = 10
[workload.per_day]
login = 1
"#;
    let error = Scenario::parse("s.toml", text).unwrap_err().to_string();
    assert_eq!(
        error,
        "s.toml:6: event 2 (hold_lifted `maint`): field `servcies`: `hold_lifted` has no field `servcies`, expected \
         `hold` or `services`"
    );
}
