//! Plain-text renderings of metrics: one run ([`render`]), and several plans side by side
//! ([`comparison`], [`render_comparison`], and [`ComparisonJson`] for JSON).

use std::fmt::Write;

use serde::Serialize;

use crate::metrics::{Metrics, Milestone, StillRestricted};
use crate::units::{Clock, money};

/// Services short of a milestone, grouped by what holds them: each group's services and
/// a sentence of why (`closed by `withdrawals-suspended` (holds: …)`, `ceased`).
pub(crate) fn still_restricted_groups(list: &[StillRestricted], metrics: &Metrics) -> Vec<(Vec<String>, String)> {
    let mut groups: Vec<(Vec<String>, String)> = Vec::new();
    for item in list {
        let why = if item.ceased {
            match &metrics.ceased {
                Some(ceased) => format!("ceased with the venue on {}", Clock::of(metrics).date(ceased.at)),
                None => "ceased with the venue".to_owned(),
            }
        } else {
            let mut mode = item.mode.name().to_owned();
            if let Some(cap) = item.max_order_notional_minor {
                mode.push_str(&format!(" with an order cap of {}", cap_text(metrics, &item.service, cap)));
            }
            let others: Vec<&str> =
                item.holds.iter().map(String::as_str).filter(|hold| Some(*hold) != item.held_by.as_deref()).collect();
            let (by, also) = match &item.held_by {
                Some(hold) if others.is_empty() => (format!(" by `{hold}`"), String::new()),
                Some(hold) => (format!(" by `{hold}`"), format!(" (also held by `{}`)", others.join("`, `"))),
                None if others.is_empty() => (String::new(), String::new()),
                None => (format!(" under `{}`", others.join("`, `")), String::new()),
            };
            format!("{mode}{by}{also}")
        };
        match groups.iter_mut().find(|(_, other)| *other == why) {
            Some((services, _)) => services.push(item.service.clone()),
            None => groups.push((vec![item.service.clone()], why)),
        }
    }
    groups
}

/// An order cap on a market's service, in its quote asset (`trading:BTC/JPY` → JPY).
pub(crate) fn cap_text(metrics: &Metrics, service: &str, cap_minor: i64) -> String {
    match service.strip_prefix("trading:").and_then(|market| market.split_once('/')) {
        Some((_, quote)) => money(metrics, cap_minor, quote),
        None => format!("{cap_minor} (minor units of the quote asset)"),
    }
}

/// `never: …` with the services still short of the milestone and their holds.
fn never_because(list: &[StillRestricted], metrics: &Metrics) -> String {
    if list.is_empty() {
        return "never (within the period)".to_owned();
    }
    let parts: Vec<String> = still_restricted_groups(list, metrics)
        .into_iter()
        .map(|(services, why)| {
            if services.len() > 6 {
                format!("{} services ({}, …): {why}", services.len(), services[..3].join(", "))
            } else {
                format!("{}: {why}", services.join(", "))
            }
        })
        .collect();
    format!("never: at the end, {}", parts.join("; "))
}

fn milestone(value: &Option<Milestone>) -> String {
    match value {
        None => "never (within the period)".to_owned(),
        Some(Milestone { at, hours_after_incident: Some(hours) }) => {
            format!("{at} ({} days {} h after the incident)", hours / 24, hours % 24)
        }
        Some(Milestone { at, hours_after_incident: None }) => at.to_string(),
    }
}

use exops_replay::render_table as table;

/// One run's metrics as text, what `exops simulate` prints: the period, the phases, the
/// recovery milestones, the requests refused per service and by cause, and any
/// violations. Times read in the venue's local time with UTC beside them; money in each
/// asset's units.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan.toml"))?;
/// let metrics = simulate(&scenario, &plan, &Options { scale_percent: 1, ..Options::default() }, &mut |_| {})?.metrics;
/// let text = exops_sim::text::render(&metrics);
/// assert!(text.contains(&metrics.scenario) && text.contains(&metrics.plan));
/// for phase in &plan.phases {
///     assert!(text.contains(&phase.id), "phase {} is listed", phase.id);
/// }
/// assert_eq!(text, exops_sim::text::render(&metrics), "the same metrics read the same");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(metrics: &Metrics) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\nplan: {}\nseed {}, {} .. {}",
        metrics.scenario, metrics.plan, metrics.seed, metrics.start, metrics.end
    );
    if let Some(ceased) = &metrics.ceased {
        let _ = writeln!(
            out,
            "\nTHE VENUE CEASED on {}: {}\nEvery service is ceased from then on (a terminal state: it never reopens).",
            Clock::of(metrics).both(ceased.at),
            ceased.reason
        );
    }
    let _ = writeln!(
        out,
        "\n{} events, {} customer requests: {} accepted, {} refused, {} queued; {} customers affected \
         (people with a request refused or queued, sign-up applicants included)",
        metrics.events,
        metrics.customer_requests,
        metrics.requests.accepted,
        metrics.requests.refused,
        metrics.requests.queued,
        metrics.customers_affected
    );
    let _ = writeln!(
        out,
        "withdrawal backlog peak: {} queued{}",
        metrics.withdrawal_backlog_peak,
        metrics.withdrawal_backlog_peak_at.map(|at| format!(" at {at}")).unwrap_or_default()
    );
    let recovery = &metrics.recovery;
    let reached = |value: &Option<Milestone>, blocked: &[StillRestricted]| match value {
        None => never_because(blocked, metrics),
        Some(_) => milestone(value),
    };
    let _ = writeln!(
        out,
        "existing customers served from: {}",
        reached(&recovery.existing_customers_served, &recovery.existing_customers_served_blocked_by)
    );
    let _ = writeln!(
        out,
        "full service from:              {}",
        reached(&recovery.full_service, &recovery.full_service_blocked_by)
    );
    let _ = writeln!(
        out,
        "sign-ups open from:             {}",
        reached(&recovery.signups_open, &recovery.signups_open_blocked_by)
    );
    if !metrics.withdrawals_refused_minor.0.is_empty() {
        let values: Vec<String> =
            metrics.withdrawals_refused_minor.0.iter().map(|(asset, amount)| money(metrics, *amount, asset)).collect();
        let _ = writeln!(out, "withdrawals refused, by value: {}", values.join(", "));
    }
    let refunds: Vec<String> = metrics
        .refunds_paid_minor
        .0
        .iter()
        .filter(|(_, amount)| *amount > 0)
        .map(|(asset, amount)| money(metrics, *amount, asset))
        .collect();
    let _ = writeln!(
        out,
        "paid to customers (refunds, converted claims): {}",
        if refunds.is_empty() { "none".to_owned() } else { refunds.join(", ") }
    );

    out.push_str("\nPHASES\n");
    let rows: Vec<Vec<String>> = metrics
        .phases
        .iter()
        .map(|phase| {
            vec![
                phase.id.clone(),
                phase.opened_at.map_or_else(|| "never".to_owned(), |at| at.to_string()),
                phase.blocked_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table(&["PHASE", "OPENED", "BLOCKED BY"], &rows));

    if metrics.violations.is_empty() {
        out.push_str("\nno control violations\n");
    } else {
        let _ = writeln!(out, "\nCONTROL VIOLATIONS ({})", metrics.violations.len());
        for violation in &metrics.violations {
            let _ = writeln!(
                out,
                "- phase `{}` action {} (`{}`) at {}: {}",
                violation.phase, violation.action, violation.kind, violation.at, violation.reason
            );
        }
    }

    if !metrics.scenario_rejections.is_empty() {
        let _ = writeln!(
            out,
            "\nSCENARIO EVENTS REFUSED BY THE STATE ({}): the scenario does not hold together here",
            metrics.scenario_rejections.len()
        );
        for rejection in metrics.scenario_rejections.iter().take(10) {
            let _ =
                writeln!(out, "- {} `{}` ({}): {}", rejection.at, rejection.kind, rejection.source, rejection.reason);
        }
        if metrics.scenario_rejections.len() > 10 {
            let _ = writeln!(out, "- … and {} more (see --format json)", metrics.scenario_rejections.len() - 10);
        }
    }

    out.push_str("\nSERVICES\n");
    let rows: Vec<Vec<String>> = metrics
        .services
        .0
        .iter()
        .map(|(name, service)| {
            let refused_by = match service.refused_by.0.first() {
                None => String::new(),
                Some((cause, _)) if service.refused_by.0.len() == 1 => cause.clone(),
                Some((cause, count)) => format!(
                    "{cause} ({}%), +{} more",
                    count * 100 / service.refused.max(1),
                    service.refused_by.0.len() - 1
                ),
            };
            vec![
                name.clone(),
                if service.ceased_at_end { "ceased".to_owned() } else { service.mode_at_end.to_string() },
                service.accepted.to_string(),
                service.refused.to_string(),
                service.queued.to_string(),
                service.restricted_hours.to_string(),
                service.closed_hours.to_string(),
                refused_by,
            ]
        })
        .collect();
    out.push_str(&table(
        &["SERVICE", "AT END", "ACCEPTED", "REFUSED", "QUEUED", "RESTRICTED H", "CLOSED H", "REFUSED BY"],
        &rows,
    ));
    out
}

/// The JSON form of a comparison: the plans' names, the rows compared and every plan's
/// metrics, in the plans' order: what `exops compare --format json` prints.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// # let run = |plan: &str| -> Result<exops_sim::Metrics, Box<dyn std::error::Error>> {
/// #     Ok(simulate(&scenario, &Plan::load(&root.join(plan))?, &options, &mut |_| {})?.metrics)
/// # };
/// let runs = [run("plan.toml")?, run("plan-crypto-first.toml")?];
/// let rows = exops_sim::text::comparison(&runs);
/// let json = serde_json::to_value(exops_sim::text::ComparisonJson::new(&runs, &rows))?;
/// assert_eq!(json["plans"][1], runs[1].plan.as_str());
/// assert_eq!(json["rows"].as_array().map(Vec::len), Some(rows.len()));
/// assert_eq!(json["metrics"][0]["seed"], 2019);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Serialize)]
pub struct ComparisonJson<'a> {
    /// Each plan's name, in order.
    pub plans: Vec<&'a str>,
    /// The figures compared.
    pub rows: &'a [ComparisonRow],
    /// Each plan's metrics, in order.
    pub metrics: &'a [Metrics],
}

impl<'a> ComparisonJson<'a> {
    /// The comparison of `runs` (one per plan, in order) by `rows` (from [`comparison`]).
    pub fn new(runs: &'a [Metrics], rows: &'a [ComparisonRow]) -> ComparisonJson<'a> {
        ComparisonJson { plans: runs.iter().map(|run| run.plan.as_str()).collect(), rows, metrics: runs }
    }
}

/// One row of a comparison: a figure, each plan's value, and which is best (rows where
/// lower is not simply better mark none).
///
/// ```
/// use exops_sim::text::ComparisonRow;
///
/// let row = ComparisonRow { figure: "customers affected".to_owned(), values: vec![Some(120), Some(80)], best: Some(1) };
/// assert_eq!(serde_json::to_string(&row)?, r#"{"figure":"customers affected","values":[120,80],"best":1}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComparisonRow {
    /// The figure (`customers affected`).
    pub figure: String,
    /// Each plan's value, in the plans' order (`None`: never, for a milestone not reached).
    pub values: Vec<Option<u64>>,
    /// Index of the best plan (lowest value; `None` counts as worst), if one is best.
    pub best: Option<usize>,
}

/// A figure compared across plans and summarised over a sweep: its name and how to read
/// it from one run's metrics (`None`: never).
pub(crate) type Figure = (&'static str, fn(&Metrics) -> Option<u64>);

/// The figures compared, in order; lower is better for each but `requests queued`, which
/// is shown for information (a plan that refuses withdrawals queues none).
pub(crate) fn figures() -> [Figure; 10] {
    [
        ("customers affected", |m| Some(m.customers_affected)),
        ("requests refused", |m| Some(m.requests.refused)),
        ("requests queued", |m| Some(m.requests.queued)),
        ("withdrawal backlog peak", |m| Some(m.withdrawal_backlog_peak)),
        ("hours to serve existing customers", |m| {
            m.recovery.existing_customers_served.as_ref().and_then(|milestone| milestone.hours_after_incident)
        }),
        ("hours to full service", |m| {
            m.recovery.full_service.as_ref().and_then(|milestone| milestone.hours_after_incident)
        }),
        ("hours to open sign-ups", |m| {
            m.recovery.signups_open.as_ref().and_then(|milestone| milestone.hours_after_incident)
        }),
        ("withdrawal hours closed (all assets, summed)", |m| {
            Some(
                m.services
                    .0
                    .iter()
                    .filter(|(name, _)| name.starts_with("withdrawals:"))
                    .map(|(_, service)| service.closed_hours)
                    .sum(),
            )
        }),
        ("control violations", |m| Some(m.violations.len() as u64)),
        ("phases never opened", |m| Some(m.phases_never_opened.len() as u64)),
    ]
}

/// Plans side by side: one row per figure (customers affected, requests refused, hours
/// to each milestone, control violations, …) with each run's value and the best one
/// marked. `runs` are the metrics of one scenario under each plan, in order.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// # let run = |plan: &str| -> Result<exops_sim::Metrics, Box<dyn std::error::Error>> {
/// #     Ok(simulate(&scenario, &Plan::load(&root.join(plan))?, &options, &mut |_| {})?.metrics)
/// # };
/// let runs = [run("plan.toml")?, run("plan-crypto-first.toml")?];
/// let rows = exops_sim::text::comparison(&runs);
/// let affected = rows.iter().find(|row| row.figure == "customers affected").expect("a row");
/// assert_eq!(affected.values, [Some(runs[0].customers_affected), Some(runs[1].customers_affected)]);
/// // The best is the lowest value, when one plan alone has it.
/// if let Some(best) = affected.best {
///     assert!(affected.values.iter().all(|value| *value >= affected.values[best]));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn comparison(runs: &[Metrics]) -> Vec<ComparisonRow> {
    let informative = ["requests queued"];
    let figures = figures();
    figures
        .iter()
        .map(|(figure, value)| {
            let values: Vec<Option<u64>> = runs.iter().map(value).collect();
            let best_value = values.iter().flatten().min().copied();
            let winners: Vec<usize> = values
                .iter()
                .enumerate()
                .filter(|(_, value)| **value == best_value && value.is_some())
                .map(|(index, _)| index)
                .collect();
            let best = (winners.len() == 1 && !informative.contains(figure)).then(|| winners[0]);
            ComparisonRow { figure: (*figure).to_owned(), values, best }
        })
        .collect()
}

/// A comparison as text, what `exops compare` prints: the plans, then a table of the
/// figures with the best value of each row starred.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// # let run = |plan: &str| -> Result<exops_sim::Metrics, Box<dyn std::error::Error>> {
/// #     Ok(simulate(&scenario, &Plan::load(&root.join(plan))?, &options, &mut |_| {})?.metrics)
/// # };
/// let runs = [run("plan.toml")?, run("plan-crypto-first.toml")?];
/// let rows = exops_sim::text::comparison(&runs);
/// let text = exops_sim::text::render_comparison(&runs, &rows);
/// assert!(text.starts_with(&format!("plan 1: {}\nplan 2: {}\n", runs[0].plan, runs[1].plan)));
/// assert!(rows.iter().all(|row| text.contains(&row.figure)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_comparison(runs: &[Metrics], rows: &[ComparisonRow]) -> String {
    let mut out = String::new();
    for (index, run) in runs.iter().enumerate() {
        let _ = writeln!(out, "plan {}: {}", index + 1, run.plan);
    }
    out.push('\n');
    let mut header: Vec<String> = vec!["FIGURE (* best: lowest, where lower is better)".to_owned()];
    header.extend((1..=runs.len()).map(|index| format!("PLAN {index}")));
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.figure.clone()];
            for (index, value) in row.values.iter().enumerate() {
                let text = value.map_or_else(|| "never".to_owned(), |value| value.to_string());
                cells.push(if row.best == Some(index) { format!("{text} *") } else { text });
            }
            cells
        })
        .collect();
    out.push_str(&table(&header_refs, &table_rows));
    out
}
