//! Impact metrics of a simulation: what customers met, service by service, and how long
//! the venue took to come back. [`Metrics`] is a run's whole account; the other types
//! are its parts. Its serde form is what `exops simulate --format json` prints.

use exops_core::{
    Envelope, Event, Gated, Mode, NO_HOLD, OrderedMap, Outcome, RefusalReason, ServiceKind, ServiceTarget, State,
    Timestamp,
};
use exops_replay::{Interval, Replay};
use serde::Serialize;

use crate::plan::Plan;
use crate::scenario::Scenario;

const HOUR_MICROS: i64 = 3_600_000_000;

/// A plan action the state refused (a control not met, a hold that does not exist): the
/// plan breaks the venue's rules there. The step is recorded, never skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The phase's id.
    pub phase: String,
    /// 1-based position of the action in its phase.
    pub action: usize,
    /// The action's event kind (`hold_lifted`).
    pub kind: String,
    /// When the phase opened and tried the action.
    pub at: Timestamp,
    /// Why the state refused it.
    pub reason: String,
}

/// A scenario event or a settlement the state refused: not the plan's doing, but a sign
/// the scenario does not hold together (say, a wallet too small to settle a queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioRejection {
    /// When the event was applied.
    pub at: Timestamp,
    /// The event's kind.
    pub kind: String,
    /// `FILE:LINE: event N` of the scenario, or `[settlement]`.
    pub source: String,
    /// Why the state refused it.
    pub reason: String,
}

/// When a plan's phase opened, or why it never did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseOutcome {
    /// The phase's id.
    pub id: String,
    /// The phase's title, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When its gate opened; `None`: never, within the period.
    pub opened_at: Option<Timestamp>,
    /// For a phase that never opened: which gate condition was still unmet at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

/// One service over the run: what its customers met and how long it was restricted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceMetrics {
    /// Its mode at the end of the period.
    pub mode_at_end: Mode,
    /// The venue's cessation, not a hold, sets the mode at the end: the service is
    /// ceased, not merely closed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ceased_at_end: bool,
    /// Customer requests it accepted.
    pub accepted: u64,
    /// Customer requests it refused.
    pub refused: u64,
    /// Withdrawal requests it queued (delayed withdrawals), settled later.
    pub queued: u64,
    /// Hours of the period in any mode short of fully open.
    pub restricted_hours: u64,
    /// Hours of the period fully closed (halted).
    pub closed_hours: u64,
    /// The refused requests by cause (a [`RefusalCause::cause`]), most first.
    #[serde(skip_serializing_if = "no_entries")]
    pub refused_by: OrderedMap<u64>,
}

/// What refused a customer request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// A hold whose mode does not allow the request.
    Hold,
    /// An order larger than the cap a hold sets.
    OrderCap,
    /// The venue ceased: nothing is allowed any more.
    VenueCeased,
    /// The venue's wallets could not cover a withdrawal.
    InsufficientCustody,
    /// A withdrawal of more than customers are owed in the asset.
    ExceedsLiabilities,
}

/// One cause of refusals over the whole run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusalCause {
    /// The hold's name, or a phrase for the causes that are not holds; a cap hold's name
    /// followed by ` (order cap)`, as a hold may refuse both by its mode and by its cap.
    pub cause: String,
    /// What sort of cause it is.
    pub kind: CauseKind,
    /// The hold's name, for holds and caps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
    /// For an order cap: the cap in minor units of `cap_asset` (the market's quote asset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_minor: Option<i64>,
    /// For an order cap: the asset the cap is counted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_asset: Option<String>,
    /// Customer requests it refused over the run.
    pub refused: u64,
}

/// An asset's unit, so that amounts read in it (¥160,000,000, 12.5 BTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssetUnit {
    /// The asset's code (`JPY`).
    pub code: String,
    /// Minor units per whole unit are 10^decimals.
    pub decimals: u8,
}

/// The venue ceased (a terminal state): when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cessation {
    /// When the venue ceased.
    pub at: Timestamp,
    /// The reason the `venue_ceased` event gave.
    pub reason: String,
}

/// A service short of a milestone at the end of the period, and what keeps it there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StillRestricted {
    /// The service (`withdrawals:BTC`).
    pub service: String,
    /// Its mode at the end.
    pub mode: Mode,
    /// Its order-size cap at the end, in minor units of the market's quote asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
    /// The hold setting the mode (none when the venue ceased).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    /// Every hold covering the service at the end.
    pub holds: Vec<String>,
    /// The venue's cessation closes it, for good.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ceased: bool,
}

/// Customer requests over every service, by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Accepted.
    pub accepted: u64,
    /// Refused.
    pub refused: u64,
    /// Queued (delayed withdrawals).
    pub queued: u64,
}

/// A recovery milestone reached: from when it held to the end of the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Milestone {
    /// When it was reached (and held from then on).
    pub at: Timestamp,
    /// Whole hours after the first incident opened.
    pub hours_after_incident: Option<u64>,
}

/// How long the venue took to come back: three milestones, each with the services still
/// short of it when it was never reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecoveryTimes {
    /// From when every service but onboarding stayed usable (not closed or halted).
    pub existing_customers_served: Option<Milestone>,
    /// From when every service but onboarding stayed fully open, without caps.
    pub full_service: Option<Milestone>,
    /// From when sign-ups stayed open.
    pub signups_open: Option<Milestone>,
    /// When `existing_customers_served` was never reached: the services still short of it
    /// at the end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub existing_customers_served_blocked_by: Vec<StillRestricted>,
    /// Likewise for `full_service`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub full_service_blocked_by: Vec<StillRestricted>,
    /// Likewise for `signups_open`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signups_open_blocked_by: Vec<StillRestricted>,
}

/// The withdrawal backlog at the end of one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BacklogSample {
    /// The end of the day.
    pub at: Timestamp,
    /// Withdrawals queued and not yet settled.
    pub queued: u64,
    /// The value queued, per asset with any (minor units).
    #[serde(skip_serializing_if = "no_entries")]
    pub queued_minor: OrderedMap<i64>,
}

/// The refusals of one day of the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day's first instant.
    pub day_start: Timestamp,
    /// Customer requests refused that day.
    pub refused: u64,
    /// The day's refusals by cause (a [`RefusalCause::cause`]), in the order of
    /// [`Metrics::refusal_causes`]; causes with none are left out.
    #[serde(skip_serializing_if = "no_entries")]
    pub by_cause: OrderedMap<u64>,
    /// The value of the withdrawals refused that day, per asset with any (minor units).
    #[serde(skip_serializing_if = "no_entries")]
    pub withdrawals_refused_minor: OrderedMap<i64>,
}

/// What a run cost customers, service by service, and how long the venue took to come
/// back: the account `text::render`, the reports and `--format json` are made from.
///
/// ```
/// use std::path::Path;
///
/// use exops_sim::{Options, Plan, Scenario, simulate};
///
/// let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// let plan = Plan::load(&root.join("plan.toml"))?;
/// let metrics = simulate(&scenario, &plan, &Options { scale_percent: 1, ..Options::default() }, &mut |_| {})?.metrics;
/// assert_eq!(metrics.plan, plan.name);
/// // Every request is counted once, by service and in the totals.
/// let requests = &metrics.requests;
/// assert_eq!(requests.accepted + requests.refused + requests.queued, metrics.customer_requests);
/// let refused: u64 = metrics.services.0.iter().map(|(_, service)| service.refused).sum();
/// assert_eq!(refused, requests.refused);
/// // The theft closed BTC withdrawals, so some customers met a refusal.
/// assert!(metrics.services.0.iter().any(|(name, service)| name == "withdrawals:BTC" && service.refused > 0));
/// assert!(metrics.customers_affected > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// The scenario's name.
    pub scenario: String,
    /// The plan's name.
    pub plan: String,
    /// The seed the workload was drawn with.
    pub seed: u64,
    /// The start of the period (the branch point, when starting from a log).
    pub start: Timestamp,
    /// The end of the period.
    pub end: Timestamp,
    /// When the first incident opened, if any did.
    pub incident_at: Option<Timestamp>,
    /// The venue's local time: its offset from UTC in hours and the zone's name (`JST`).
    pub utc_offset_hours: i8,
    /// The local zone's short name, when the scenario gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The workload's existing customers (sign-up applicants come on top).
    pub customers: u32,
    /// Set when the venue ceased during the run (or before it, when branching).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceased: Option<Cessation>,
    /// Each asset's unit, in the venue's order.
    pub assets: Vec<AssetUnit>,
    /// Events the run wrote to its sink.
    pub events: u64,
    /// Customer requests made.
    pub customer_requests: u64,
    /// Those requests by outcome.
    pub requests: Totals,
    /// Distinct people with at least one request refused or queued: existing customers
    /// and sign-up applicants, so it can exceed `customers`.
    pub customers_affected: u64,
    /// The most withdrawals queued at once.
    pub withdrawal_backlog_peak: u64,
    /// When the backlog first reached its peak.
    pub withdrawal_backlog_peak_at: Option<Timestamp>,
    /// The recovery milestones.
    pub recovery: RecoveryTimes,
    /// Paid to customers by the venue, per asset: refunds and claims converted into it.
    pub refunds_paid_minor: OrderedMap<i64>,
    /// Plan actions the state refused, in order.
    pub violations: Vec<Violation>,
    /// Scenario events and settlements the state refused, in order.
    pub scenario_rejections: Vec<ScenarioRejection>,
    /// Every phase of the plan, in plan order.
    pub phases: Vec<PhaseOutcome>,
    /// The ids of the phases that never opened, in plan order.
    pub phases_never_opened: Vec<String>,
    /// Every service of the venue, in the venue's service order.
    pub services: OrderedMap<ServiceMetrics>,
    /// The queued withdrawals at the end of each day.
    pub withdrawal_backlog: Vec<BacklogSample>,
    /// The refusals of each day.
    pub refused_per_day: Vec<DayCount>,
    /// Every cause of refusals, most refusals first (then by name).
    pub refusal_causes: Vec<RefusalCause>,
    /// The value of every withdrawal refused, per asset with any (minor units).
    #[serde(skip_serializing_if = "no_entries")]
    pub withdrawals_refused_minor: OrderedMap<i64>,
}

fn no_entries<T>(map: &OrderedMap<T>) -> bool {
    map.0.is_empty()
}

/// Refusal causes met so far, numbered in order of first refusal.
#[derive(Debug, Default)]
struct Causes {
    /// By hold slot: the cause number of its mode and of its cap (`u32::MAX`: none yet).
    by_hold: Vec<[u32; 2]>,
    /// The causes without a hold slot: the venue ceased, custody, liabilities, and a hold
    /// or cap refusal naming no hold (which the state does not make, but a number is not
    /// a reason to merge it with another cause).
    other: [u32; 5],
    list: Vec<RefusalCause>,
}

impl Causes {
    fn new() -> Causes {
        Causes { by_hold: Vec::new(), other: [u32::MAX; 5], list: Vec::new() }
    }

    /// The cause number of a refusal, registering the cause the first time.
    fn number(&mut self, state: &State, service: usize, reason: RefusalReason) -> usize {
        let (slot, which) = match reason {
            RefusalReason::Hold { hold: NO_HOLD, .. } => (NO_HOLD, 3),
            RefusalReason::OrderTooLarge { hold: NO_HOLD, .. } => (NO_HOLD, 4),
            RefusalReason::Hold { hold, .. } => (hold, 0),
            RefusalReason::OrderTooLarge { hold, .. } => (hold, 1),
            RefusalReason::VenueCeased => (NO_HOLD, 0),
            RefusalReason::InsufficientCustody => (NO_HOLD, 1),
            RefusalReason::ExceedsLiabilities => (NO_HOLD, 2),
        };
        let known = if slot == NO_HOLD {
            self.other[which]
        } else {
            self.by_hold.get(slot as usize).map_or(u32::MAX, |numbers| numbers[which])
        };
        if known != u32::MAX {
            return known as usize;
        }
        let number = self.list.len() as u32;
        let cause = match reason {
            RefusalReason::Hold { hold, .. } | RefusalReason::OrderTooLarge { hold, .. } => {
                let name = state.holds().get(hold as usize).map_or_else(|| format!("hold #{hold}"), |h| h.name.clone());
                match reason {
                    RefusalReason::OrderTooLarge { cap_minor, .. } => {
                        let cap_asset = state.venue().and_then(|venue| match venue.services.get(service)?.target {
                            ServiceTarget::Market(market) => {
                                Some(venue.asset(venue.markets.get(market.0 as usize)?.quote).code.clone())
                            }
                            _ => None,
                        });
                        RefusalCause {
                            cause: format!("{name} (order cap)"),
                            kind: CauseKind::OrderCap,
                            hold: Some(name),
                            cap_minor: Some(cap_minor),
                            cap_asset,
                            refused: 0,
                        }
                    }
                    _ => RefusalCause {
                        cause: name.clone(),
                        kind: CauseKind::Hold,
                        hold: Some(name),
                        cap_minor: None,
                        cap_asset: None,
                        refused: 0,
                    },
                }
            }
            other => {
                let (cause, kind) = match other {
                    RefusalReason::VenueCeased => ("venue ceased", CauseKind::VenueCeased),
                    RefusalReason::InsufficientCustody => {
                        ("wallets could not cover it", CauseKind::InsufficientCustody)
                    }
                    _ => ("more than customers are owed", CauseKind::ExceedsLiabilities),
                };
                RefusalCause { cause: cause.to_owned(), kind, hold: None, cap_minor: None, cap_asset: None, refused: 0 }
            }
        };
        self.list.push(cause);
        if slot == NO_HOLD {
            self.other[which] = number;
        } else {
            let slot = slot as usize;
            if self.by_hold.len() <= slot {
                self.by_hold.resize(slot + 1, [u32::MAX; 2]);
            }
            self.by_hold[slot][which] = number;
        }
        number as usize
    }
}

/// Adds `count` at `index`, growing the vector as needed.
fn add_at<T: Copy + Default + std::ops::AddAssign>(counts: &mut Vec<T>, index: usize, count: T) {
    if counts.len() <= index {
        counts.resize(index + 1, T::default());
    }
    counts[index] += count;
}

/// Gathers metrics while the simulation runs.
#[derive(Debug)]
pub(crate) struct Collector {
    scenario: String,
    plan: String,
    seed: u64,
    start: Timestamp,
    pub violations: Vec<Violation>,
    scenario_rejections: Vec<ScenarioRejection>,
    events: u64,
    requests: u64,
    refused_today: u64,
    day_start: Option<Timestamp>,
    backlog: u64,
    backlog_peak: u64,
    backlog_peak_at: Option<Timestamp>,
    backlog_series: Vec<BacklogSample>,
    /// Per day: refusals by cause number, and refused withdrawals' value by asset index.
    refused_by_cause_per_day: Vec<Vec<u64>>,
    withdrawals_refused_per_day: Vec<Vec<i64>>,
    refused_today_by_cause: Vec<u64>,
    withdrawals_refused_today: Vec<i64>,
    /// By service, refusals by cause number.
    refused_by_service: Vec<Vec<u64>>,
    causes: Causes,
    /// The scenario's UTC offset, zone name and customers.
    workload: (i8, Option<String>, u32),
    day_starts: Vec<Timestamp>,
    refused_per_day: Vec<u64>,
}

/// The value of the queued withdrawals per asset with any, in the venue's asset order.
fn backlog_value(state: &State) -> OrderedMap<i64> {
    let Some(venue) = state.venue() else { return OrderedMap::default() };
    let mut values = vec![0_i64; venue.assets.len()];
    for (index, service) in venue.services.iter().enumerate() {
        if let (ServiceKind::Withdrawals, ServiceTarget::Asset { asset, .. }) = (service.kind, service.target)
            && let Some(value) = values.get_mut(asset.0 as usize)
        {
            *value = value.saturating_add(state.impact()[index].backlog_minor);
        }
    }
    named_values(state, &values)
}

/// Non-zero values by asset index as a map from asset code.
fn named_values(state: &State, values: &[i64]) -> OrderedMap<i64> {
    let Some(venue) = state.venue() else { return OrderedMap::default() };
    OrderedMap(
        values
            .iter()
            .enumerate()
            .filter(|(index, value)| **value != 0 && *index < venue.assets.len())
            .map(|(index, value)| (venue.assets[index].code.clone(), *value))
            .collect(),
    )
}

fn total_backlog(state: &State) -> u64 {
    let Some(venue) = state.venue() else { return 0 };
    venue
        .services
        .iter()
        .enumerate()
        .filter(|(_, service)| service.kind == exops_core::ServiceKind::Withdrawals)
        .map(|(index, _)| state.impact()[index].backlog_count)
        .sum()
}

impl Collector {
    pub fn new(scenario: &Scenario, plan: &Plan) -> Collector {
        Collector {
            scenario: scenario.name.clone(),
            plan: plan.name.clone(),
            seed: scenario.seed,
            start: scenario.start,
            violations: Vec::new(),
            scenario_rejections: Vec::new(),
            events: 0,
            requests: 0,
            refused_today: 0,
            day_start: None,
            backlog: 0,
            backlog_peak: 0,
            backlog_peak_at: None,
            backlog_series: Vec::new(),
            refused_by_cause_per_day: Vec::new(),
            withdrawals_refused_per_day: Vec::new(),
            refused_today_by_cause: Vec::new(),
            withdrawals_refused_today: Vec::new(),
            refused_by_service: Vec::new(),
            causes: Causes::new(),
            workload: (
                scenario.workload.utc_offset_hours,
                scenario.workload.time_zone.clone(),
                scenario.workload.customers,
            ),
            day_starts: Vec::new(),
            refused_per_day: Vec::new(),
        }
    }

    pub fn record_rejection(&mut self, at: Timestamp, kind: &str, source: &str, reason: &str) {
        self.scenario_rejections.push(ScenarioRejection {
            at,
            kind: kind.to_owned(),
            source: source.to_owned(),
            reason: reason.to_owned(),
        });
    }

    pub fn begin(&mut self, state: &State, at: Timestamp) {
        self.start = at;
        self.day_start = Some(at);
        self.backlog = total_backlog(state);
    }

    pub fn observe(&mut self, state: &State, envelope: &Envelope, outcome: &Outcome) {
        self.events += 1;
        match outcome {
            Outcome::Customer(gated) => {
                self.requests += 1;
                match gated {
                    Gated::Refused(refusal) => {
                        self.refused_today += 1;
                        let service = refusal.service.index();
                        let cause = self.causes.number(state, service, refusal.reason);
                        add_at(&mut self.refused_today_by_cause, cause, 1);
                        if self.refused_by_service.len() <= service {
                            self.refused_by_service.resize(service + 1, Vec::new());
                        }
                        add_at(&mut self.refused_by_service[service], cause, 1);
                        if let Event::WithdrawalRequested(transfer) = &envelope.event {
                            let asset = transfer.asset.0 as usize;
                            if self.withdrawals_refused_today.len() <= asset {
                                self.withdrawals_refused_today.resize(asset + 1, 0);
                            }
                            let total = &mut self.withdrawals_refused_today[asset];
                            *total = total.saturating_add(transfer.amount_minor);
                        }
                    }
                    Gated::Queued => {
                        self.backlog += 1;
                        if self.backlog > self.backlog_peak {
                            self.backlog_peak = self.backlog;
                            self.backlog_peak_at = Some(envelope.at);
                        }
                    }
                    Gated::Accepted => {}
                }
            }
            Outcome::Applied { .. } if matches!(envelope.event, Event::WithdrawalsSettled(_)) => {
                self.backlog = total_backlog(state);
            }
            _ => {}
        }
    }

    pub fn end_of_day(&mut self, state: &State, at: Timestamp) {
        let day_start = self.day_start.unwrap_or(at);
        self.day_starts.push(day_start);
        self.refused_per_day.push(self.refused_today);
        self.refused_by_cause_per_day.push(std::mem::take(&mut self.refused_today_by_cause));
        self.withdrawals_refused_per_day.push(std::mem::take(&mut self.withdrawals_refused_today));
        self.backlog_series.push(BacklogSample { at, queued: self.backlog, queued_minor: backlog_value(state) });
        self.refused_today = 0;
        self.day_start = Some(at);
    }

    pub fn finish(self, replay: &Replay, mut phases: Vec<PhaseOutcome>, end: Timestamp) -> Metrics {
        let state = &replay.state;
        let view = state.view();
        let timeline = replay.finished_timeline();
        let incident_at = state.incidents().iter().map(|incident| incident.opened_at).min();
        let hours = |from: Timestamp, to: Timestamp| (to.micros_since(from).max(0) / HOUR_MICROS) as u64;

        // Causes, most refusals first: their order is the legend's and every map's.
        let mut causes = self.causes.list;
        let mut totals_by_cause = vec![0_u64; causes.len()];
        for day in &self.refused_by_cause_per_day {
            for (number, count) in day.iter().enumerate() {
                totals_by_cause[number] += count;
            }
        }
        for (cause, total) in causes.iter_mut().zip(&totals_by_cause) {
            cause.refused = *total;
        }
        let mut order: Vec<usize> = (0..causes.len()).collect();
        order.sort_by(|a, b| {
            causes[*b].refused.cmp(&causes[*a].refused).then_with(|| causes[*a].cause.cmp(&causes[*b].cause))
        });
        let by_cause = |counts: &[u64]| -> OrderedMap<u64> {
            OrderedMap(
                order
                    .iter()
                    .filter_map(|number| {
                        let count = counts.get(*number).copied().unwrap_or(0);
                        (count > 0).then(|| (causes[*number].cause.clone(), count))
                    })
                    .collect(),
            )
        };

        let mut services = OrderedMap::default();
        let mut totals = Totals::default();
        for (index, entry) in timeline.services.iter().enumerate() {
            let impact = &state.impact()[index];
            totals.accepted += impact.accepted;
            totals.refused += impact.refused;
            totals.queued += impact.queued;
            let (mut restricted, mut closed) = (0, 0);
            for interval in &entry.intervals {
                let from = interval.from.max(self.start);
                let to = interval.to.unwrap_or(end).min(end);
                if to <= from {
                    continue;
                }
                if !fully_open(interval) {
                    restricted += to.micros_since(from);
                }
                if matches!(interval.mode, Mode::Halted | Mode::Closed) {
                    closed += to.micros_since(from);
                }
            }
            let last = entry.intervals.last();
            services.0.push((
                entry.service.clone(),
                ServiceMetrics {
                    mode_at_end: last.map_or(Mode::Open, |interval| interval.mode),
                    ceased_at_end: last.is_some_and(Interval::closed_by_cessation),
                    accepted: impact.accepted,
                    refused: impact.refused,
                    queued: impact.queued,
                    restricted_hours: (restricted / HOUR_MICROS) as u64,
                    closed_hours: (closed / HOUR_MICROS) as u64,
                    refused_by: by_cause(self.refused_by_service.get(index).map_or(&[], Vec::as_slice)),
                },
            ));
        }
        let milestone = |at: Option<Timestamp>| {
            at.map(|at| Milestone { at, hours_after_incident: incident_at.map(|incident| hours(incident, at)) })
        };
        // The start of the final run of good intervals of every kept service, if each
        // ends good; otherwise the services that do not, and what holds them.
        let since = |keep: &dyn Fn(&str) -> bool,
                     good: &dyn Fn(&Interval) -> bool|
         -> (Option<Timestamp>, Vec<StillRestricted>) {
            let mut latest: Option<Timestamp> = None;
            let mut short = Vec::new();
            for entry in timeline.services.iter().filter(|entry| keep(&entry.service)) {
                let mut from = None;
                for interval in &entry.intervals {
                    if good(interval) {
                        from.get_or_insert(interval.from);
                    } else {
                        from = None;
                    }
                }
                match from {
                    Some(from) => latest = Some(latest.map_or(from, |latest| latest.max(from))),
                    None => {
                        if let Some(last) = entry.intervals.last() {
                            short.push(StillRestricted {
                                service: entry.service.clone(),
                                mode: last.mode,
                                max_order_notional_minor: last.max_order_notional_minor,
                                held_by: last.held_by.clone(),
                                holds: last.holds.clone(),
                                ceased: last.closed_by_cessation(),
                            });
                        }
                    }
                }
            }
            if short.is_empty() { (latest, short) } else { (None, short) }
        };
        let existing = |service: &str| service != "onboarding";
        let (served, served_blocked_by) =
            since(&existing, &|interval| !matches!(interval.mode, Mode::Halted | Mode::Closed));
        let (full, full_blocked_by) = since(&existing, &fully_open);
        let (signups, signups_blocked_by) = since(&|service| service == "onboarding", &fully_open);
        let recovery = RecoveryTimes {
            existing_customers_served: milestone(served),
            full_service: milestone(full),
            signups_open: milestone(signups),
            existing_customers_served_blocked_by: served_blocked_by,
            full_service_blocked_by: full_blocked_by,
            signups_open_blocked_by: signups_blocked_by,
        };
        let mut never = Vec::new();
        for phase in &mut phases {
            if phase.opened_at.is_none() {
                never.push(phase.id.clone());
            }
        }
        let mut refused_value_total: Vec<i64> = Vec::new();
        for day in &self.withdrawals_refused_per_day {
            for (asset, value) in day.iter().enumerate() {
                if refused_value_total.len() <= asset {
                    refused_value_total.resize(asset + 1, 0);
                }
                refused_value_total[asset] = refused_value_total[asset].saturating_add(*value);
            }
        }
        let refused_per_day = self
            .day_starts
            .iter()
            .zip(&self.refused_per_day)
            .zip(self.refused_by_cause_per_day.iter().zip(&self.withdrawals_refused_per_day))
            .map(|((day_start, refused), (causes_today, value_today))| DayCount {
                day_start: *day_start,
                refused: *refused,
                by_cause: by_cause(causes_today),
                withdrawals_refused_minor: named_values(state, value_today),
            })
            .collect();
        let refusal_causes = order.iter().map(|number| causes[*number].clone()).collect();
        let workload = &self.workload;
        Metrics {
            scenario: self.scenario,
            plan: self.plan,
            seed: self.seed,
            start: self.start,
            end,
            incident_at,
            utc_offset_hours: workload.0,
            time_zone: workload.1.clone(),
            customers: workload.2,
            ceased: state.ceased().map(|(at, reason)| Cessation { at, reason: reason.to_owned() }),
            assets: state.venue().map_or_else(Vec::new, |venue| {
                venue
                    .assets
                    .iter()
                    .map(|asset| AssetUnit { code: asset.code.clone(), decimals: asset.decimals })
                    .collect()
            }),
            events: self.events,
            customer_requests: self.requests,
            requests: totals,
            customers_affected: state.customers_affected(),
            withdrawal_backlog_peak: self.backlog_peak,
            withdrawal_backlog_peak_at: self.backlog_peak_at,
            recovery,
            refunds_paid_minor: OrderedMap(
                view.ledger.0.iter().map(|(asset, ledger)| (asset.clone(), ledger.refunds_paid_minor)).collect(),
            ),
            violations: self.violations,
            scenario_rejections: self.scenario_rejections,
            phases,
            phases_never_opened: never,
            services,
            withdrawal_backlog: self.backlog_series,
            refused_per_day,
            refusal_causes,
            withdrawals_refused_minor: named_values(state, &refused_value_total),
        }
    }
}

fn fully_open(interval: &Interval) -> bool {
    matches!(interval.mode, Mode::Online | Mode::Open) && interval.max_order_notional_minor.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_reason_is_its_own_cause() {
        let state = State::new();
        let mut causes = Causes::new();
        let reasons = [
            RefusalReason::Hold { hold: NO_HOLD, mode: Mode::Closed },
            RefusalReason::OrderTooLarge { hold: NO_HOLD, cap_minor: 1 },
            RefusalReason::VenueCeased,
            RefusalReason::InsufficientCustody,
            RefusalReason::ExceedsLiabilities,
            RefusalReason::Hold { hold: 3, mode: Mode::Closed },
            RefusalReason::OrderTooLarge { hold: 3, cap_minor: 1 },
        ];
        let numbers: Vec<usize> = reasons.iter().map(|reason| causes.number(&state, 0, *reason)).collect();
        assert_eq!(numbers, (0..reasons.len()).collect::<Vec<_>>(), "seven causes, numbered in order");
        let again: Vec<usize> = reasons.iter().map(|reason| causes.number(&state, 0, *reason)).collect();
        assert_eq!(again, numbers, "the same reason finds its cause again");
        assert_eq!(causes.list[2].kind, CauseKind::VenueCeased);
        assert_eq!(causes.list[6].cause, "hold #3 (order cap)");
    }
}
