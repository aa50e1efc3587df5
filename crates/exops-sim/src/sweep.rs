//! A plan tested under uncertainty: N seeded runs (`--runs N`), each with its own seed
//! derived from the scenario's ([`run_seed`]) and its own draw of every range of the plan
//! and the scenario, run in parallel on the machine's cores, then each figure's p5, p50
//! and p95 and each phase's opening-date range. The result depends on the inputs and N
//! only: runs are numbered, each is deterministic, and they are gathered in run order
//! whatever thread ran them.

use std::num::NonZero;
use std::sync::atomic::{AtomicUsize, Ordering};

use exops_core::Timestamp;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::engine::{Options, SimError, simulate};
use crate::metrics::Metrics;
use crate::plan::Plan;
use crate::scenario::Scenario;
pub use crate::uncertainty::run_seed;

/// Most runs a sweep takes.
pub(crate) const RUNS_MAX: u32 = 10_000;

/// A figure over the runs of a sweep. `None` is "never" (a milestone not reached), which
/// ranks after every number.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let sweep = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 2, &|| {})?;
/// let requests = sweep.figures.iter().find(|figure| figure.figure == "customer requests").expect("a figure");
/// assert!(requests.p5 <= requests.p50 && requests.p50 <= requests.p95);
/// assert_eq!(requests.never, 0, "every run makes requests");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FigureRange {
    /// The figure's name (`customers affected`).
    pub figure: String,
    /// Its 5th percentile (nearest rank).
    pub p5: Option<u64>,
    /// Its median.
    pub p50: Option<u64>,
    /// Its 95th percentile.
    pub p95: Option<u64>,
    /// Runs where the figure was never reached.
    pub never: u32,
    /// For a value of money: the asset whose minor units the figure counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
}

/// A phase's opening instant over the runs; `None` is "never opened".
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let sweep = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 2, &|| {})?;
/// assert_eq!(sweep.phases.len(), plan.phases.len());
/// let controls = sweep.phases.iter().find(|phase| phase.id == "controls").expect("the phase");
/// assert!(controls.p5 <= controls.p95);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseRange {
    /// The phase's id.
    pub id: String,
    /// The 5th percentile of its opening instant.
    pub p5: Option<Timestamp>,
    /// The median.
    pub p50: Option<Timestamp>,
    /// The 95th percentile.
    pub p95: Option<Timestamp>,
    /// Runs where the phase never opened.
    pub never: u32,
}

/// A plan under uncertainty: the ranges of its figures and of its phases' opening dates
/// over N seeded runs, what `exops simulate --runs N` prints.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let sweep = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 2, &|| {})?;
/// assert_eq!((sweep.runs, sweep.base_seed, sweep.scale_percent), (4, scenario.seed, 1));
/// assert_eq!(sweep.seeds, (0..4).map(|run| exops_sim::sweep::run_seed(scenario.seed, run)).collect::<Vec<_>>());
/// assert_eq!(sweep.plan, plan.name);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// The scenario's name.
    pub scenario: String,
    /// The plan's name.
    pub plan: String,
    /// The runs made.
    pub runs: u32,
    /// The seed every run's seed derives from (the scenario's, or `--seed`).
    pub base_seed: u64,
    /// The workload's scale, as in [`Options::scale_percent`].
    pub scale_percent: u32,
    /// Every figure of a comparison, then `events`, `customer requests`, `requests
    /// accepted`, and the value of the withdrawals refused per asset (minor units).
    pub figures: Vec<FigureRange>,
    /// Every phase of the plan, in plan order.
    pub phases: Vec<PhaseRange>,
    /// Each asset's unit, for the figures of money.
    pub assets: Vec<crate::metrics::AssetUnit>,
    /// Runs in which the controls refused at least one action of the plan.
    pub runs_with_violations: u32,
    /// Each run's seed, in run order.
    pub seeds: Vec<u64>,
    /// Every daily curve of the reports over the runs, each day's p5, p50 and p95: what
    /// the reports draw as bands. Not in the JSON, which keeps to the figures and phases.
    #[serde(skip)]
    pub daily: Vec<DailyBand>,
}

/// A daily curve of the reports: the series one run's [`Metrics`] holds per day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Curve {
    /// Withdrawals queued at the end of each day ([`Metrics::withdrawal_backlog`]).
    QueuedWithdrawals,
    /// Customer requests refused each day ([`Metrics::refused_per_day`]).
    RefusedRequests,
    /// The value of the withdrawals of an asset refused each day (minor units).
    RefusedValue(String),
    /// The value of the withdrawals of an asset queued at the end of each day (minor units).
    QueuedValue(String),
}

/// One day of a curve over the runs: the nearest-rank p5, p50 and p95 of the runs'
/// values that day, the rule of the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    /// The day's instant as the curve has it: a day's start for refusals, its end for
    /// what is queued.
    pub at: Timestamp,
    /// The 5th percentile of the runs' values.
    pub p5: u64,
    /// The median.
    pub p50: u64,
    /// The 95th percentile.
    pub p95: u64,
}

/// A curve's range over the runs, day by day, in time order.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// use exops_sim::sweep::Curve;
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let sweep = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 2, &|| {})?;
/// let refused = sweep.band(&Curve::RefusedRequests).expect("refusals every day");
/// assert!(refused.days.iter().all(|day| day.p5 <= day.p50 && day.p50 <= day.p95));
/// assert!(sweep.band(&Curve::RefusedValue("BTC".to_owned())).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyBand {
    /// Which curve.
    pub curve: Curve,
    /// Its days, in time order.
    pub days: Vec<DayRange>,
}

/// The threads a sweep uses: one per core, at most one per run.
///
/// ```
/// assert_eq!(exops_sim::sweep::threads_for(1), 1);
/// let many = exops_sim::sweep::threads_for(1_000);
/// assert!(many >= 1 && many <= std::thread::available_parallelism()?.get());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn threads_for(runs: u32) -> usize {
    std::thread::available_parallelism().map_or(1, NonZero::get).min(runs.max(1) as usize)
}

/// One run of a sweep: its seed, its draw of every range, its scaled rates.
fn run_one(scenario: &Scenario, plan: &Plan, options: &Options, base: u64, run: u32) -> Result<Metrics, SimError> {
    let seed = run_seed(base, run);
    // The draws have a stream of their own, so that adding a range to a plan does not
    // change the customers' requests.
    let mut draws = ChaCha8Rng::seed_from_u64(seed ^ 0xD1B5_4A32_D192_ED03);
    let scenario = scenario.drawn(&mut draws);
    let plan = plan.drawn(&mut draws);
    let options = Options {
        seed: Some(seed),
        scale_percent: options.scale_percent,
        start_from: options.start_from.clone(),
        draw_ahead: false,
    };
    Ok(simulate(&scenario, &plan, &options, &mut |_| {})?.metrics)
}

/// Runs `runs` seeded draws of `plan` against `scenario` on `threads` threads
/// ([`threads_for`] is one per core) and summarises them. Run `n` has the seed
/// [`run_seed`]`(base, n)`, `base` being `options.seed` or the scenario's; it draws every
/// range of the plan and the scenario once. `runs` is taken between 1 and 10,000.
/// `on_done` is called (from any thread) after each run. The result depends on the
/// inputs and `runs` only, not on `threads`.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let on_two = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 2, &|| {})?;
/// let on_one = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 1, &|| {})?;
/// assert_eq!(on_two, on_one);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sweep(
    scenario: &Scenario,
    plan: &Plan,
    options: &Options,
    runs: u32,
    threads: usize,
    on_done: &(dyn Fn() + Sync),
) -> Result<Sweep, SimError> {
    let runs = runs.clamp(1, RUNS_MAX);
    let base = options.seed.unwrap_or(scenario.seed);
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Metrics, SimError>>> = (0..runs).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, runs as usize))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let run = next.fetch_add(1, Ordering::Relaxed);
                        if run >= runs as usize {
                            return done;
                        }
                        done.push((run, run_one(scenario, plan, options, base, run as u32)));
                        on_done();
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    for (run, result) in done {
                        results[run] = Some(result);
                    }
                }
                // The simulator does not panic on any input; if it ever did, that bug is
                // the caller's to see, not a run quietly missing from the percentiles.
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
    });
    let mut metrics = Vec::with_capacity(runs as usize);
    // Every run has a result: the workers took every number below `runs`.
    for result in results.into_iter().flatten() {
        metrics.push(result?);
    }
    debug_assert_eq!(metrics.len(), runs as usize, "a run of the sweep has no result");
    Ok(summarise(scenario, plan, options, base, &metrics))
}

/// The nearest-rank percentile `percent` of `sorted` (ascending, `None` last).
fn percentile<T: Copy>(sorted: &[Option<T>], percent: usize) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Sorts with `None` (never) after every value.
fn sorted<T: Ord + Copy>(mut values: Vec<Option<T>>) -> Vec<Option<T>> {
    values.sort_by(|a, b| match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    values
}

/// The p5, p50 and p95 of `values` (the one rule of a sweep: nearest rank, `None` last)
/// and how many are `None`.
fn ranges<T: Ord + Copy>(values: Vec<Option<T>>) -> ([Option<T>; 3], u32) {
    let never = values.iter().filter(|value| value.is_none()).count() as u32;
    let values = sorted(values);
    ([percentile(&values, 5), percentile(&values, 50), percentile(&values, 95)], never)
}

fn figure_range(figure: String, values: Vec<Option<u64>>) -> FigureRange {
    let ([p5, p50, p95], never) = ranges(values);
    FigureRange { figure, p5, p50, p95, never, asset: None }
}

/// Each day's range of the curve whose per-run series `series` gives, days matched by
/// their instant (every run of a sweep has the same days).
fn daily_band(curve: Curve, runs: &[Metrics], series: &dyn Fn(&Metrics) -> Vec<(Timestamp, u64)>) -> DailyBand {
    let mut by_day: std::collections::BTreeMap<Timestamp, Vec<Option<u64>>> = std::collections::BTreeMap::new();
    for run in runs {
        for (at, value) in series(run) {
            by_day.entry(at).or_default().push(Some(value));
        }
    }
    let days = by_day
        .into_iter()
        .filter_map(|(at, values)| match ranges(values).0 {
            [Some(p5), Some(p50), Some(p95)] => Some(DayRange { at, p5, p50, p95 }),
            _ => None,
        })
        .collect();
    DailyBand { curve, days }
}

/// The bands of every daily curve the reports draw: the backlog, the refusals, and per
/// asset with any value in any run, the value refused and the value queued.
fn daily_bands(scenario: &Scenario, runs: &[Metrics]) -> Vec<DailyBand> {
    let value = |map: &exops_core::OrderedMap<i64>, asset: &str| map.get(asset).copied().unwrap_or(0).max(0) as u64;
    let mut bands = vec![
        daily_band(Curve::QueuedWithdrawals, runs, &|run| {
            run.withdrawal_backlog.iter().map(|sample| (sample.at, sample.queued)).collect()
        }),
        daily_band(Curve::RefusedRequests, runs, &|run| {
            run.refused_per_day.iter().map(|day| (day.day_start, day.refused)).collect()
        }),
    ];
    for asset in scenario.venue_spec.assets.iter().map(|asset| asset.code.as_str()) {
        let refused = daily_band(Curve::RefusedValue(asset.to_owned()), runs, &|run| {
            run.refused_per_day
                .iter()
                .map(|day| (day.day_start, value(&day.withdrawals_refused_minor, asset)))
                .collect()
        });
        let queued = daily_band(Curve::QueuedValue(asset.to_owned()), runs, &|run| {
            run.withdrawal_backlog.iter().map(|sample| (sample.at, value(&sample.queued_minor, asset))).collect()
        });
        for band in [refused, queued] {
            if band.days.iter().any(|day| day.p95 > 0) {
                bands.push(band);
            }
        }
    }
    bands
}

/// The percentiles of every figure and phase over the runs, in run order.
pub(crate) fn summarise(scenario: &Scenario, plan: &Plan, options: &Options, base: u64, runs: &[Metrics]) -> Sweep {
    let mut figures: Vec<FigureRange> = crate::text::figures()
        .iter()
        .map(|(figure, value)| figure_range((*figure).to_owned(), runs.iter().map(value).collect()))
        .collect();
    figures.push(figure_range("events".to_owned(), runs.iter().map(|run| Some(run.events)).collect()));
    figures.push(figure_range(
        "customer requests".to_owned(),
        runs.iter().map(|run| Some(run.customer_requests)).collect(),
    ));
    figures.push(figure_range(
        "requests accepted".to_owned(),
        runs.iter().map(|run| Some(run.requests.accepted)).collect(),
    ));
    for asset in scenario.venue_spec.assets.iter().map(|asset| asset.code.as_str()) {
        let values: Vec<Option<u64>> = runs
            .iter()
            .map(|run| Some(run.withdrawals_refused_minor.get(asset).copied().unwrap_or(0).max(0) as u64))
            .collect();
        if values.iter().any(|value| *value != Some(0)) {
            let mut range = figure_range(format!("withdrawals refused, value in {asset}"), values);
            range.asset = Some(asset.to_owned());
            figures.push(range);
        }
    }
    let phases = plan
        .phases
        .iter()
        .enumerate()
        .map(|(index, phase)| {
            let opened: Vec<Option<Timestamp>> =
                runs.iter().map(|run| run.phases.get(index).and_then(|outcome| outcome.opened_at)).collect();
            let ([p5, p50, p95], never) = ranges(opened);
            PhaseRange { id: phase.id.clone(), p5, p50, p95, never }
        })
        .collect();
    Sweep {
        scenario: scenario.name.clone(),
        plan: plan.name.clone(),
        runs: runs.len() as u32,
        base_seed: base,
        scale_percent: options.scale_percent,
        figures,
        phases,
        assets: scenario
            .venue_spec
            .assets
            .iter()
            .map(|asset| crate::metrics::AssetUnit { code: asset.code.clone(), decimals: asset.decimals })
            .collect(),
        runs_with_violations: runs.iter().filter(|run| !run.violations.is_empty()).count() as u32,
        seeds: (0..runs.len() as u32).map(|run| run_seed(base, run)).collect(),
        daily: daily_bands(scenario, runs),
    }
}

impl Sweep {
    /// The band of `curve`, when the sweep has it (a value curve only for an asset with
    /// some value in some run).
    pub fn band(&self, curve: &Curve) -> Option<&DailyBand> {
        self.daily.iter().find(|band| band.curve == *curve)
    }

    /// A figure's value as it reads: a number, `never`, or money in the asset's units.
    pub(crate) fn value_text(&self, figure: &FigureRange, value: Option<u64>) -> String {
        let Some(value) = value else { return "never".to_owned() };
        match figure.asset.as_deref().and_then(|code| self.assets.iter().find(|asset| asset.code == code)) {
            Some(unit) => crate::units::money_in(i64::try_from(value).unwrap_or(i64::MAX), &unit.code, unit.decimals),
            None => value.to_string(),
        }
    }
}

/// The sweep as text: each figure's p5, p50 and p95, each phase's opening range.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let sweep = exops_sim::sweep::sweep(&scenario, &plan, &options, 4, 2, &|| {})?;
/// let text = exops_sim::sweep::render(&sweep);
/// assert!(text.contains("4 runs from seed 2019"));
/// assert!(sweep.phases.iter().all(|phase| text.contains(&phase.id)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(sweep: &Sweep) -> String {
    let instant = |value: Option<Timestamp>| value.map_or_else(|| "never".to_owned(), |at| at.to_string());
    let mut out = format!(
        "{}\nplan: {}\n{} runs from seed {} (each run's seed derived from it), scale {}%\n\nFIGURES\n",
        sweep.scenario, sweep.plan, sweep.runs, sweep.base_seed, sweep.scale_percent
    );
    let rows: Vec<Vec<String>> = sweep
        .figures
        .iter()
        .map(|figure| {
            vec![
                figure.figure.clone(),
                sweep.value_text(figure, figure.p5),
                sweep.value_text(figure, figure.p50),
                sweep.value_text(figure, figure.p95),
                figure.never.to_string(),
            ]
        })
        .collect();
    out.push_str(&exops_replay::render_table(&["FIGURE", "P5", "P50", "P95", "NEVER (RUNS)"], &rows));
    out.push_str("\nPHASES (opening instant)\n");
    let rows: Vec<Vec<String>> = sweep
        .phases
        .iter()
        .map(|phase| {
            vec![phase.id.clone(), instant(phase.p5), instant(phase.p50), instant(phase.p95), phase.never.to_string()]
        })
        .collect();
    out.push_str(&exops_replay::render_table(&["PHASE", "P5", "P50", "P95", "NEVER (RUNS)"], &rows));
    if sweep.runs_with_violations == 0 {
        out.push_str("\nno control violations in any run\n");
    } else {
        out.push_str(&format!("\ncontrol violations in {} of {} runs\n", sweep.runs_with_violations, sweep.runs));
    }
    out
}

/// Several plans' sweeps side by side: each figure's p50 with its p5–p95 range per plan,
/// what `exops compare --runs N` prints.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// # let other = Plan::load(&root.join("plan.toml"))?;
/// let sweeps = [
///     exops_sim::sweep::sweep(&scenario, &plan, &options, 3, 2, &|| {})?,
///     exops_sim::sweep::sweep(&scenario, &other, &options, 3, 2, &|| {})?,
/// ];
/// let text = exops_sim::sweep::render_comparison(&sweeps);
/// assert!(text.starts_with(&format!("plan 1: {}\nplan 2: {}\n", plan.name, other.name)));
/// assert!(text.contains("3 runs per plan from seed 2019"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_comparison(sweeps: &[Sweep]) -> String {
    let mut out = String::new();
    for (index, sweep) in sweeps.iter().enumerate() {
        out.push_str(&format!("plan {}: {}\n", index + 1, sweep.plan));
    }
    if let Some(first) = sweeps.first() {
        out.push_str(&format!(
            "{} runs per plan from seed {} (the same seeds for every plan), scale {}%\n\n",
            first.runs, first.base_seed, first.scale_percent
        ));
    }
    let mut header = vec!["FIGURE: P50 (P5 – P95)".to_owned()];
    header.extend((1..=sweeps.len()).map(|index| format!("PLAN {index}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut names: Vec<&str> = Vec::new();
    for sweep in sweeps {
        for figure in &sweep.figures {
            if !names.contains(&figure.figure.as_str()) {
                names.push(&figure.figure);
            }
        }
    }
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|name| {
            let mut row = vec![(*name).to_owned()];
            for sweep in sweeps {
                row.push(match sweep.figures.iter().find(|figure| figure.figure == *name) {
                    Some(figure) => format!(
                        "{} ({} – {})",
                        sweep.value_text(figure, figure.p50),
                        sweep.value_text(figure, figure.p5),
                        sweep.value_text(figure, figure.p95)
                    ),
                    None => "-".to_owned(),
                });
            }
            row
        })
        .collect();
    out.push_str(&exops_replay::render_table(&header, &rows));
    out
}

/// The JSON of `compare --runs N`: every plan's sweep, in the plans' order.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan-uncertain.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let sweeps = [exops_sim::sweep::sweep(&scenario, &plan, &options, 3, 2, &|| {})?];
/// let json = exops_sim::sweep::ComparisonSweepJson { plans: vec![plan.name.as_str()], runs: 3, sweeps: &sweeps };
/// let json = serde_json::to_value(&json)?;
/// assert_eq!(json["runs"], 3);
/// assert_eq!(json["sweeps"][0]["plan"], plan.name.as_str());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Serialize)]
pub struct ComparisonSweepJson<'a> {
    /// Each plan's name, in order.
    pub plans: Vec<&'a str>,
    /// The runs of each sweep.
    pub runs: u32,
    /// Each plan's sweep, in order.
    pub sweeps: &'a [Sweep],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_rank_never_last() {
        let values = sorted(vec![Some(3), None, Some(1), Some(2)]);
        assert_eq!(values, [Some(1), Some(2), Some(3), None]);
        assert_eq!(percentile(&values, 5), Some(1));
        assert_eq!(percentile(&values, 50), Some(2));
        assert_eq!(percentile(&values, 95), None);
        let hundred: Vec<Option<u64>> = (1..=100).map(Some).collect();
        assert_eq!(
            (percentile(&hundred, 5), percentile(&hundred, 50), percentile(&hundred, 95)),
            (Some(5), Some(50), Some(95))
        );
    }

    fn bitpoint() -> (Scenario, Plan) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bitpoint-2019");
        (
            Scenario::load(&root.join("scenario.toml")).expect("the scenario"),
            Plan::load(&root.join("plan-uncertain.toml")).expect("the plan"),
        )
    }

    /// Each curve's values per day in every run, as the report draws them.
    fn series(run: &Metrics, curve: &Curve) -> Vec<(Timestamp, u64)> {
        let value = |map: &exops_core::OrderedMap<i64>, asset: &str| map.get(asset).copied().unwrap_or(0).max(0) as u64;
        match curve {
            Curve::QueuedWithdrawals => {
                run.withdrawal_backlog.iter().map(|sample| (sample.at, sample.queued)).collect()
            }
            Curve::RefusedRequests => run.refused_per_day.iter().map(|day| (day.day_start, day.refused)).collect(),
            Curve::RefusedValue(asset) => run
                .refused_per_day
                .iter()
                .map(|day| (day.day_start, value(&day.withdrawals_refused_minor, asset)))
                .collect(),
            Curve::QueuedValue(asset) => {
                run.withdrawal_backlog.iter().map(|sample| (sample.at, value(&sample.queued_minor, asset))).collect()
            }
        }
    }

    /// With 5 runs, nearest rank makes p5 the lowest run and p95 the highest: each day's
    /// band holds every run's value that day and its bounds are values some run had.
    #[test]
    fn daily_bands_come_from_the_runs_series_and_hold_every_run_of_five() {
        let (scenario, plan) = bitpoint();
        let options = Options { scale_percent: 1, ..Options::default() };
        let result = sweep(&scenario, &plan, &options, 5, 2, &|| {}).expect("the sweep");
        let base = scenario.seed;
        let runs: Vec<Metrics> =
            (0..5).map(|run| run_one(&scenario, &plan, &options, base, run).expect("a run")).collect();
        let days = runs[0].refused_per_day.len();
        assert!(days > 100, "BITPoint's period is 153 days: {days}");
        for curve in [Curve::QueuedWithdrawals, Curve::RefusedRequests, Curve::RefusedValue("BTC".to_owned())] {
            assert!(result.band(&curve).is_some(), "a band of {curve:?}");
        }
        let mut spread_days = 0;
        for band in &result.daily {
            let per_run: Vec<Vec<(Timestamp, u64)>> = runs.iter().map(|run| series(run, &band.curve)).collect();
            assert_eq!(band.days.len(), per_run[0].len(), "{:?}: one range per day", band.curve);
            for (index, day) in band.days.iter().enumerate() {
                let mut values: Vec<u64> = per_run
                    .iter()
                    .map(|run| {
                        assert_eq!(run[index].0, day.at, "{:?}: the runs share their days", band.curve);
                        run[index].1
                    })
                    .collect();
                values.sort_unstable();
                assert_eq!(
                    (day.p5, day.p50, day.p95),
                    (values[0], values[2], values[4]),
                    "{:?} day {index}",
                    band.curve
                );
                for value in &values {
                    assert!(
                        day.p5 <= *value && *value <= day.p95,
                        "{:?} day {index}: {value} outside the band",
                        band.curve
                    );
                }
                spread_days += usize::from(day.p5 < day.p95);
            }
        }
        assert!(spread_days > 100, "the runs differ from day to day: {spread_days} days with a spread");
    }

    /// Twenty runs whose refusals on one day are 1 to 20 (in a shuffled run order): the
    /// day's band is the nearest-rank p5, p50 and p95 of the figures, 1, 10 and 19.
    #[test]
    fn a_daily_band_takes_the_figures_percentile_rule() {
        let (scenario, plan) = bitpoint();
        let options = Options { scale_percent: 1, ..Options::default() };
        let run = run_one(&scenario, &plan, &options, scenario.seed, 0).expect("a run");
        let runs: Vec<Metrics> = (0..20_u64)
            .map(|index| {
                let mut metrics = run.clone();
                metrics.refused_per_day[3].refused = (index * 7) % 20 + 1;
                metrics.withdrawal_backlog[3].queued = 100 - index;
                metrics
            })
            .collect();
        let result = summarise(&scenario, &plan, &options, scenario.seed, &runs);
        let refused = result.band(&Curve::RefusedRequests).expect("refusals");
        let day = refused.days[3];
        assert_eq!((day.at, day.p5, day.p50, day.p95), (run.refused_per_day[3].day_start, 1, 10, 19));
        let unchanged = refused.days[4];
        let same = run.refused_per_day[4].refused;
        assert_eq!((unchanged.p5, unchanged.p50, unchanged.p95), (same, same, same));
        let queued = result.band(&Curve::QueuedWithdrawals).expect("the backlog").days[3];
        let figure = figure_range(String::new(), (0..20).map(|index| Some(100 - index)).collect());
        assert_eq!((Some(queued.p5), Some(queued.p50), Some(queued.p95)), (figure.p5, figure.p50, figure.p95));
        assert_eq!((queued.p5, queued.p50, queued.p95), (81, 90, 99), "81 to 100: ranks 1, 10 and 19");
    }
}
