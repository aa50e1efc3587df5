//! Plan lint: what can be known before a run. Structural problems (unknown phases,
//! cycles, malformed actions) are found when the plan is parsed; with a scenario, the
//! plan is also dry-run on the scenario's events alone (no customers), which finds
//! unknown selectors and holds, actions the controls refuse, and phases that never open.

use serde::Serialize;

use crate::engine::{Options, simulate};
use crate::plan::Plan;
use crate::scenario::Scenario;

/// One problem lint found in a plan, with where.
///
/// ```
/// let finding = exops_sim::lint::Finding {
///     location: "plan.toml:7".to_owned(),
///     phase: "crypto".to_owned(),
///     message: "never opens".to_owned(),
/// };
/// assert_eq!(serde_json::to_value(&finding)?["location"], "plan.toml:7");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `file:line` of the phase.
    pub location: String,
    /// The phase's id.
    pub phase: String,
    /// What is wrong (a refused action's reason, or why the phase never opens).
    pub message: String,
}

/// Dry-runs `plan` on `scenario` without customers; every violation and every phase
/// that never opens is a finding. A plan lint accepts gives no findings.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Plan, Scenario};
/// let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"));
/// let scenario = Scenario::load(&root.join("mtgox-2014/scenario.toml"))?;
/// // What Mt. Gox did passes; reopening a venue that ceased is refused by its state.
/// let plan = Plan::load(&root.join("mtgox-2014/plan.toml"))?;
/// assert_eq!(exops_sim::lint::lint(&plan, &scenario)?, []);
/// let reopen = Plan::load(&root.join("mtgox-2014/plan-reopen.toml"))?;
/// let findings = exops_sim::lint::lint(&reopen, &scenario)?;
/// assert!(!findings.is_empty());
/// assert!(findings.iter().all(|finding| finding.location.contains("plan-reopen.toml:")), "{findings:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn lint(plan: &Plan, scenario: &Scenario) -> Result<Vec<Finding>, crate::SimError> {
    let mut dry = scenario.clone();
    dry.workload.per_day = Default::default();
    let simulation = simulate(&dry, plan, &Options::default(), &mut |_| {})?;
    let mut findings = Vec::new();
    let location = |phase: &str| {
        plan.phases
            .iter()
            .find(|candidate| candidate.id == phase)
            .map_or_else(|| plan.source.clone(), |found| format!("{}:{}", plan.source, found.line))
    };
    for violation in &simulation.metrics.violations {
        findings.push(Finding {
            location: location(&violation.phase),
            phase: violation.phase.clone(),
            message: format!("action {} (`{}`) is refused: {}", violation.action, violation.kind, violation.reason),
        });
    }
    for phase in &simulation.metrics.phases {
        if phase.opened_at.is_none() {
            findings.push(Finding {
                location: location(&phase.id),
                phase: phase.id.clone(),
                message: format!(
                    "never opens before the scenario ends ({}): {}",
                    scenario.end,
                    phase.blocked_by.clone().unwrap_or_else(|| "its gate never holds".to_owned())
                ),
            });
        }
    }
    Ok(findings)
}
