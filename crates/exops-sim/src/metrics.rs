//! Impact metrics of a simulation: what customers met, service by service, and how long
//! the venue took to come back.

use exops_core::{Envelope, Event, Gated, Mode, OrderedMap, Outcome, State, Timestamp};
use exops_replay::{Interval, Replay};
use serde::Serialize;

use crate::plan::Plan;
use crate::scenario::Scenario;

const HOUR_MICROS: i64 = 3_600_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub phase: String,
    /// 1-based position of the action in its phase.
    pub action: usize,
    pub kind: String,
    pub at: Timestamp,
    pub reason: String,
}

/// A scenario event or a settlement the state refused: not the plan's doing, but a sign
/// the scenario does not hold together (say, a wallet too small to settle a queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioRejection {
    pub at: Timestamp,
    pub kind: String,
    /// `FILE:LINE: event N` of the scenario, or `[settlement]`.
    pub source: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseOutcome {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub opened_at: Option<Timestamp>,
    /// For a phase that never opened: which gate condition was still unmet at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceMetrics {
    pub mode_at_end: Mode,
    pub accepted: u64,
    pub refused: u64,
    pub queued: u64,
    /// Hours of the period in any mode short of fully open.
    pub restricted_hours: u64,
    /// Hours of the period fully closed (halted).
    pub closed_hours: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub accepted: u64,
    pub refused: u64,
    pub queued: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Milestone {
    pub at: Timestamp,
    /// Whole hours after the first incident opened.
    pub hours_after_incident: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecoveryTimes {
    /// From when every service but onboarding stayed usable (not closed or halted).
    pub existing_customers_served: Option<Milestone>,
    /// From when every service but onboarding stayed fully open, without caps.
    pub full_service: Option<Milestone>,
    /// From when sign-ups stayed open.
    pub signups_open: Option<Milestone>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BacklogSample {
    pub at: Timestamp,
    pub queued: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub day_start: Timestamp,
    pub refused: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub scenario: String,
    pub plan: String,
    pub seed: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub incident_at: Option<Timestamp>,
    pub events: u64,
    pub customer_requests: u64,
    pub requests: Totals,
    pub customers_affected: u64,
    pub withdrawal_backlog_peak: u64,
    pub withdrawal_backlog_peak_at: Option<Timestamp>,
    pub recovery: RecoveryTimes,
    /// Paid to customers by the venue, per asset: refunds and claims converted into it.
    pub refunds_paid_minor: OrderedMap<i64>,
    pub violations: Vec<Violation>,
    pub scenario_rejections: Vec<ScenarioRejection>,
    pub phases: Vec<PhaseOutcome>,
    pub phases_never_opened: Vec<String>,
    pub services: OrderedMap<ServiceMetrics>,
    /// The queued withdrawals at the end of each day.
    pub withdrawal_backlog: Vec<BacklogSample>,
    pub refused_per_day: Vec<DayCount>,
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
    refused_per_day: Vec<DayCount>,
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
                    Gated::Refused(_) => self.refused_today += 1,
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

    pub fn end_of_day(&mut self, _state: &State, at: Timestamp) {
        let day_start = self.day_start.unwrap_or(at);
        self.refused_per_day.push(DayCount { day_start, refused: self.refused_today });
        self.backlog_series.push(BacklogSample { at, queued: self.backlog });
        self.refused_today = 0;
        self.day_start = Some(at);
    }

    pub fn finish(self, replay: &Replay, mut phases: Vec<PhaseOutcome>, end: Timestamp) -> Metrics {
        let state = &replay.state;
        let view = state.view();
        let timeline = replay.finished_timeline();
        let incident_at = state.incidents().iter().map(|incident| incident.opened_at).min();
        let hours = |from: Timestamp, to: Timestamp| (to.micros_since(from).max(0) / HOUR_MICROS) as u64;
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
            let mode_at_end = entry.intervals.last().map_or(Mode::Open, |interval| interval.mode);
            services.0.push((
                entry.service.clone(),
                ServiceMetrics {
                    mode_at_end,
                    accepted: impact.accepted,
                    refused: impact.refused,
                    queued: impact.queued,
                    restricted_hours: (restricted / HOUR_MICROS) as u64,
                    closed_hours: (closed / HOUR_MICROS) as u64,
                },
            ));
        }
        let milestone = |at: Option<Timestamp>| {
            at.map(|at| Milestone { at, hours_after_incident: incident_at.map(|incident| hours(incident, at)) })
        };
        let since = |keep: &dyn Fn(&str) -> bool, good: &dyn Fn(&Interval) -> bool| -> Option<Timestamp> {
            let mut latest: Option<Timestamp> = None;
            for entry in timeline.services.iter().filter(|entry| keep(&entry.service)) {
                // The start of the final run of good intervals, if the service ends good.
                let mut from = None;
                for interval in &entry.intervals {
                    if good(interval) {
                        from.get_or_insert(interval.from);
                    } else {
                        from = None;
                    }
                }
                let from = from?;
                latest = Some(latest.map_or(from, |latest| latest.max(from)));
            }
            latest
        };
        let existing = |service: &str| service != "onboarding";
        let recovery = RecoveryTimes {
            existing_customers_served: milestone(since(&existing, &|interval| {
                !matches!(interval.mode, Mode::Halted | Mode::Closed)
            })),
            full_service: milestone(since(&existing, &fully_open)),
            signups_open: milestone(since(&|service| service == "onboarding", &fully_open)),
        };
        let mut never = Vec::new();
        for phase in &mut phases {
            if phase.opened_at.is_none() {
                never.push(phase.id.clone());
            }
        }
        Metrics {
            scenario: self.scenario,
            plan: self.plan,
            seed: self.seed,
            start: self.start,
            end,
            incident_at,
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
            refused_per_day: self.refused_per_day,
        }
    }
}

fn fully_open(interval: &Interval) -> bool {
    matches!(interval.mode, Mode::Online | Mode::Open) && interval.max_order_notional_minor.is_none()
}
