//! Loading scenarios: every event is checked against the scenario's own venue, and every
//! error names the file and the line of the event's table.

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
fn a_hold_on_an_asset_the_venue_does_not_have_names_the_line() {
    let error = load_error(
        r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "hold_placed"
hold = "doge"
cause = "maintenance"
services = ["withdrawals:DOGE"]
"#,
    );
    assert_eq!(
        error,
        "s.toml:30: event 3 (hold_placed `doge`): selector `withdrawals:DOGE`: the venue has no asset `DOGE`; \
         its assets: JPY, BTC"
    );
}

#[test]
fn a_hold_on_a_market_the_venue_does_not_have_names_the_line() {
    let error = load_error(
        r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "hold_placed"
hold = "eth"
cause = "maintenance"
services = ["trading:ETH/JPY"]
"#,
    );
    assert_eq!(
        error,
        "s.toml:30: event 3 (hold_placed `eth`): selector `trading:ETH/JPY`: the venue has no market `ETH/JPY`; \
         its markets: BTC/JPY"
    );
}

#[test]
fn a_hold_on_a_network_the_asset_does_not_have_names_the_line() {
    let error = load_error(
        r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "hold_placed"
hold = "lightning"
cause = "maintenance"
services = ["deposits:BTC@lightning"]
"#,
    );
    assert_eq!(
        error,
        "s.toml:30: event 3 (hold_placed `lightning`): selector `deposits:BTC@lightning`: asset `BTC` is declared \
         without networks; use `deposits:BTC`"
    );
}

#[test]
fn lifting_a_hold_never_placed_names_the_line() {
    let error = load_error(
        r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "hold_lifted"
hold = "all-services-suspended"
"#,
    );
    assert_eq!(
        error,
        "s.toml:30: event 3 (hold_lifted `all-services-suspended`): no active hold `all-services-suspended`"
    );
}

#[test]
fn events_the_state_refuses_are_load_errors() {
    // A hold name is never reused.
    let twice = r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "hold_placed"
hold = "all-suspended"
cause = "maintenance"
services = ["login"]
"#;
    assert_eq!(
        load_error(twice),
        "s.toml:30: event 3 (hold_placed `all-suspended`): hold `all-suspended` is already used; names are never reused"
    );
    // The compromised asset's withdrawals stay closed until the controls are met.
    let reopen = r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "theft_recorded"
incident = "INC-1"
stolen = [{ asset = "BTC", wallet = "hot", amount_minor = 100000000 }]

[[events]]
at = "2024-01-04T00:00:00Z"
kind = "hold_lifted"
hold = "all-suspended"
"#;
    let error = load_error(reopen);
    assert!(
        error.starts_with("s.toml:36: event 4 (hold_lifted `all-suspended`): `withdrawals:BTC` must stay closed"),
        "{error}"
    );
    // An incident the scenario never opened.
    let cause = r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "hold_placed"
hold = "other"
cause = { incident = "INC-2" }
services = ["login"]
"#;
    assert_eq!(load_error(cause), "s.toml:30: event 3 (hold_placed `other`): no incident `INC-2`");
    // A theft larger than the wallet the venue declared.
    let theft = r#"
[[events]]
at = "2024-01-03T00:00:00Z"
kind = "theft_recorded"
incident = "INC-1"
stolen = [{ asset = "BTC", wallet = "hot", amount_minor = 300000001 }]
"#;
    assert_eq!(
        load_error(theft),
        "s.toml:30: event 3 (theft_recorded `INC-1`): BTC hot wallet holds 300000000 minor units, fewer than the \
         300000001 requested"
    );
}

#[test]
fn events_are_folded_in_time_order_not_file_order() {
    // The lift is written before the hold it lifts, but dated after it: valid.
    let lift_then_place = r#"
[[events]]
at = "2024-01-05T00:00:00Z"
kind = "hold_lifted"
hold = "maintenance"

[[events]]
at = "2024-01-04T00:00:00Z"
kind = "hold_placed"
hold = "maintenance"
cause = "maintenance"
services = ["login"]
"#;
    let scenario = Scenario::parse("s.toml", &scenario_text(lift_then_place)).unwrap();
    let kinds: Vec<&str> = scenario.events.iter().map(|event| event.kind()).collect();
    assert_eq!(kinds, ["incident_opened", "hold_placed", "hold_placed", "hold_lifted"]);
    // Dated before the hold it lifts: refused, and named by its own line.
    let lift_first = lift_then_place.replace("2024-01-05", "2024-01-03");
    assert_eq!(load_error(&lift_first), "s.toml:30: event 3 (hold_lifted `maintenance`): no active hold `maintenance`");
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
fn customer_operations_and_settlements_are_not_scenario_events() {
    let login = "\n[[events]]\nat = \"2024-01-03T00:00:00Z\"\nactor = \"customer:1\"\nkind = \"login_attempted\"\n";
    assert_eq!(
        load_error(login),
        "s.toml:30: event 3 (login_attempted): `login_attempted` is a customer operation; a scenario's events are \
         operator events, and [workload] makes the customers' requests"
    );
    let settled = "\n[[events]]\nat = \"2024-01-03T00:00:00Z\"\nkind = \"withdrawals_settled\"\nasset = \"BTC\"\n";
    assert_eq!(
        load_error(settled),
        "s.toml:30: event 3 (withdrawals_settled): `withdrawals_settled` is not a scenario event: [settlement] \
         settles the queues the workload makes"
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
         `hold` or `services` (did you mean `services`?)"
    );
}

#[test]
fn the_local_time_zone_is_a_short_name() {
    let with_zone =
        |zone: &str| scenario_text("").replace("customers = 10\n", &format!("customers = 10\ntime_zone = {zone}\n"));
    let scenario = Scenario::parse("s.toml", &with_zone("\"JST\"")).unwrap();
    assert_eq!(scenario.workload.time_zone.as_deref(), Some("JST"));
    for bad in ["\"\"", "\"Japan Standard Time\"", "\"J<S>T\""] {
        let error = Scenario::parse("s.toml", &with_zone(bad)).unwrap_err().to_string();
        assert!(error.starts_with("s.toml: [workload] `time_zone` is a short name for reports"), "{bad}: {error}");
    }
}
