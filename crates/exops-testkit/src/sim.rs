//! Simulated plans for tests (the `sim` feature, off by default: it builds exops-sim and,
//! beneath it, the storage stack). A run gives its metrics, to snapshot with
//! [`crate::Redactions`], and its log as a [`Fixture`], to take states at its phases.

use std::path::Path;

use crate::Fixture;

/// The simulator's metrics of a run: impact, per-service hours, phases, violations.
pub use exops_sim::Metrics;

/// Why a simulation could not run: the scenario or the plan did not load (the message
/// names the file and line), or the run itself failed.
///
/// ```
/// let error = exops_testkit::sim::simulate("no/scenario.toml", "no/plan.toml", 1).unwrap_err();
/// assert!(matches!(error, exops_testkit::sim::SimulateError::Scenario(_)), "{error}");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Scenario(String),
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    Run(#[from] exops_sim::SimError),
    /// The run's log did not read back (a bug in exops, not in your test).
    #[error(transparent)]
    Log(#[from] crate::FixtureError),
}

/// A finished run: its metrics and its log (what `exops simulate --log-out` writes).
///
/// ```
/// let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/mtgox-2014");
/// let run = exops_testkit::sim::simulate(format!("{fixtures}/scenario.toml"), format!("{fixtures}/plan.toml"), 1)
///     .unwrap();
/// assert_eq!(run.metrics.events as usize, run.log.len());
/// ```
#[derive(Debug)]
pub struct Simulated {
    pub metrics: Metrics,
    pub log: Fixture,
}

/// Runs `plan` against `scenario` at `scale_percent` of the scenario's workload (100 is
/// as written; 1 is quick), with the scenario's seed, as `exops simulate --scale` does.
///
/// ```
/// let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019");
/// let run = exops_testkit::sim::simulate(
///     format!("{fixtures}/scenario.toml"),
///     format!("{fixtures}/plan.toml"),
///     1,
/// )
/// .unwrap();
/// assert!(run.metrics.violations.is_empty());
/// assert_eq!(run.log.phases().count(), 9);
/// ```
pub fn simulate(
    scenario: impl AsRef<Path>,
    plan: impl AsRef<Path>,
    scale_percent: u32,
) -> Result<Simulated, SimulateError> {
    let scenario =
        exops_sim::Scenario::load(scenario.as_ref()).map_err(|error| SimulateError::Scenario(error.to_string()))?;
    let plan = exops_sim::Plan::load(plan.as_ref()).map_err(|error| SimulateError::Plan(error.to_string()))?;
    let options = exops_sim::Options { scale_percent, ..exops_sim::Options::default() };
    let mut writer = exops_jsonl::Writer::new();
    let mut text = String::new();
    let simulation = exops_sim::simulate(&scenario, &plan, &options, &mut |envelope| {
        text.push_str(&writer.render(envelope));
        text.push('\n');
    })?;
    let log = Fixture::from_str(&format!("{} (simulated)", plan.source), &text)?;
    Ok(Simulated { metrics: simulation.metrics, log })
}
