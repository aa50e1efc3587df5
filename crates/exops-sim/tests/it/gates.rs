//! Plan gates against the state machine: a phase the `controls_met` gate opens must not
//! then be refused by the controls it waited for.

use exops_sim::plan::Plan;
use exops_sim::scenario::Scenario;
use exops_sim::{Options, simulate};

/// Two wallet compromises both stole BTC; BTC withdrawals are closed by one hold.
const SCENARIO: &str = r#"
name = "Two compromises of one asset"
start = "2024-01-01T00:00:00Z"
end = "2024-01-10T00:00:00Z"

[venue]
name = "Twice Exchange"
markets = ["BTC/JPY"]
approvals_required = ["ciso"]
assets = [
  { code = "JPY", class = "fiat", decimals = 0, liabilities_minor = 1000000, hot_minor = 1000000 },
  { code = "BTC", class = "crypto", decimals = 8, liabilities_minor = 1000000, hot_minor = 1000000 },
]

[[events]]
at = "2024-01-01T01:00:00Z"
actor = "system:setup"
kind = "role_granted"
person = "ciso-1"
role = "ciso"

[[events]]
at = "2024-01-01T02:00:00Z"
actor = "system:monitoring"
kind = "incident_opened"
incident = "first"
category = "wallet_compromise"
title = "BTC hot wallet drained"
blast_radius = ["*"]
stolen = [{ asset = "BTC", wallet = "hot", amount_minor = 1000 }]

[[events]]
at = "2024-01-01T03:00:00Z"
actor = "system:monitoring"
kind = "incident_opened"
incident = "second"
category = "wallet_compromise"
title = "BTC signing key leaked"
blast_radius = ["*"]
stolen = [{ asset = "BTC", wallet = "hot", amount_minor = 1000 }]

[[events]]
at = "2024-01-01T04:00:00Z"
actor = "staff:ops"
kind = "hold_placed"
hold = "btc-withdrawals-closed"
cause = { incident = "first" }
services = ["withdrawals:BTC"]

[workload]
customers = 10

[workload.per_day]
login = 10
"#;

/// Meets the first incident's controls only, then reopens once they are met.
const PLAN: &str = r#"
name = "Reopen after the first incident"

[[phases]]
id = "controls"
gate = { at = "2024-01-02T00:00:00Z" }
actions = [
  { kind = "keys_rotated", actor = "staff:security", incident = "first", asset = "BTC" },
  { kind = "security_review_passed", actor = "staff:reviewer", incident = "first" },
  { kind = "approval_given", actor = "staff:ciso-1", incident = "first", role = "ciso" },
]

[[phases]]
id = "reopen"
gate = { requires = ["controls"], controls_met = "first" }
actions = [{ kind = "hold_lifted", hold = "btc-withdrawals-closed" }]
"#;

#[test]
fn controls_met_waits_for_every_incident_that_compromised_the_assets() {
    let scenario = Scenario::parse("twice.toml", SCENARIO).unwrap();
    let plan = Plan::parse("plan.toml", PLAN).unwrap();
    let simulation = simulate(&scenario, &plan, &Options::default(), &mut |_| {}).unwrap();
    let metrics = &simulation.metrics;
    assert!(metrics.violations.is_empty(), "the gate opened a lift the controls refuse: {:#?}", metrics.violations);
    assert!(metrics.scenario_rejections.is_empty(), "{:#?}", metrics.scenario_rejections);
    let reopen = &metrics.phases[1];
    assert_eq!(reopen.opened_at, None, "{:#?}", metrics.phases);
    assert_eq!(
        reopen.blocked_by.as_deref(),
        Some("the controls of `first` are met, but its assets' withdrawals wait for those of `second`")
    );
}
