//! The simulator: a virtual clock walks the scenario's period day by day, interleaving
//! the scenario's dated events, the plan's phases as their gates open, daily settlements
//! of delayed withdrawals, and a seeded stream of customer requests. Every event goes
//! through the core state machine and out to a sink (a log), so a run can be replayed.

use std::collections::{BTreeMap, BTreeSet};

use exops_core::{
    Actor, AssetClass, AssetId, Envelope, Event, MarginAction, MarginRequested, MarketId, OrderCancelled,
    OrderSubmitted, OrderType, Outcome, PhaseOpened, ServiceKind, Timestamp, Transfer, WithdrawalsSettled,
};
use exops_replay::Replay;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metrics::{Collector, Metrics, PhaseOutcome, Violation};
use crate::plan::Plan;
use crate::scenario::Scenario;
use crate::toml_events::EventTemplate;

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;

/// Where a simulation starts: a fresh venue, or a recorded log's state at an instant (a
/// counterfactual: "what if we had followed this plan from there?").
///
/// ```
/// use std::path::Path;
///
/// use exops_sim::{Options, Plan, Scenario, StartFrom, simulate};
///
/// let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// let plan = Plan::load(&root.join("plan.toml"))?;
/// // BITPoint's recorded log as it stood on 2019-08-01, then this plan from there.
/// let at = exops_core::Timestamp::parse_rfc3339("2019-08-01T00:00:00+09:00")?;
/// let source = root.join("events.jsonl").display().to_string();
/// let options = Options { scale_percent: 1, start_from: StartFrom::Log { source, at }, ..Options::default() };
/// let run = simulate(&scenario, &plan, &options, &mut |_| {})?;
/// assert_eq!(run.metrics.start, at);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// A fresh venue declared at the scenario's start.
    Fresh,
    /// The state of a recorded log (JSON Lines or data directory) at an instant: the
    /// scenario's events before it are taken as already in the log.
    Log {
        /// The log: a JSON Lines file, a data directory, or `-` for standard input.
        source: String,
        /// The instant to start from: the log's state just after its last event at or before it.
        at: Timestamp,
    },
}

/// Why a simulation could not run.
///
/// ```
/// use std::path::Path;
///
/// use exops_sim::{Options, Plan, Scenario, SimError, simulate};
///
/// let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// let plan = Plan::load(&root.join("plan.toml"))?;
/// // A million times the scenario's requests is more than a day may hold.
/// let options = Options { scale_percent: 100_000_000, ..Options::default() };
/// let error = simulate(&scenario, &plan, &options, &mut |_| {}).unwrap_err();
/// assert!(matches!(error, SimError::TooManyRequests { .. }), "{error}");
/// assert!(error.to_string().contains("give a smaller --scale"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// `--scale` asks for more requests a day than the simulator bounds itself to.
    #[error("scaled to {requests} requests a day; at most {max} (give a smaller --scale)")]
    TooManyRequests {
        /// The scaled requests a day.
        requests: u64,
        /// The bound.
        max: u64,
    },
    /// The recorded log to branch from declares no venue before the branch point.
    #[error("the recorded log declares no venue before the branch point, so there is nothing to simulate from")]
    NoVenue,
    /// A scenario event does not fit the venue it meets (a recorded log's, when branching).
    #[error("{0}")]
    ScenarioEvent(String),
    /// The recorded log could not be opened or read.
    #[error(transparent)]
    Source(#[from] exops_replay::SourceError),
}

/// A finished run: the replay of every event it made, and the metrics drawn from it.
///
/// ```
/// use std::path::Path;
///
/// use exops_sim::{Options, Plan, Scenario, simulate};
///
/// let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/mtgox-2014"));
/// let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// let plan = Plan::load(&root.join("plan.toml"))?;
/// let run = simulate(&scenario, &plan, &Options { scale_percent: 1, ..Options::default() }, &mut |_| {})?;
/// // Mt. Gox never reopened: the replayed state has ceased, and so say the metrics.
/// assert!(run.replay.state.ceased().is_some());
/// assert!(run.metrics.ceased.is_some());
/// let timeline = run.replay.finished_timeline();
/// assert!(!timeline.services.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Simulation {
    /// The fold of every event of the run: the final state, the per-service timeline,
    /// the rejections.
    pub replay: Replay,
    /// What the run cost customers, and when each phase opened.
    pub metrics: Metrics,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Scenario(usize),
    /// Re-examine the gates at this instant.
    Tick,
}

struct Engine<'a> {
    scenario: &'a Scenario,
    plan: &'a Plan,
    replay: Replay,
    sink: &'a mut dyn FnMut(&Envelope),
    collector: Collector,
    schedule: BTreeMap<(Timestamp, u64), Item>,
    scheduled: u64,
    opened: Vec<Option<Timestamp>>,
    seen: BTreeSet<String>,
    last_change: Option<Timestamp>,
    incident_at: Option<Timestamp>,
    signups: u32,
    /// The log's clock: an event is never dated before the last one.
    now: Timestamp,
}

/// One customer request of a day's workload: small (40 bytes, where an event is 128), as
/// a day of them is sorted by time.
#[derive(Clone, Debug)]
struct Request {
    at: Timestamp,
    customer: u32,
    operation: Operation,
}

/// The memory of a day's requests, kept for the next day.
#[derive(Default)]
struct DayBuffers {
    drawn: Vec<Request>,
    keys: Vec<u64>,
    sorted: Vec<Request>,
}

/// The customer operations a workload draws, without the room the other events need.
#[derive(Clone, Debug)]
enum Operation {
    Order(OrderSubmitted),
    Cancel(OrderCancelled),
    Deposit(Transfer),
    Withdrawal(Transfer),
    Margin(MarginRequested),
    Signup,
    Login,
}

impl Operation {
    fn event(self) -> Event {
        match self {
            Operation::Order(order) => Event::OrderSubmitted(order),
            Operation::Cancel(cancel) => Event::OrderCancelled(cancel),
            Operation::Deposit(transfer) => Event::DepositReceived(transfer),
            Operation::Withdrawal(transfer) => Event::WithdrawalRequested(transfer),
            Operation::Margin(margin) => Event::MarginRequested(margin),
            Operation::Signup => Event::SignupRequested,
            Operation::Login => Event::LoginAttempted,
        }
    }
}

impl Engine<'_> {
    fn schedule(&mut self, at: Timestamp, item: Item) {
        self.scheduled += 1;
        self.schedule.insert((at, self.scheduled), item);
    }

    /// Applies one event at `at` and writes it out.
    fn emit(&mut self, at: Timestamp, actor: Actor, event: Event, note: Option<String>) -> Outcome {
        let at = at.max(self.now);
        self.now = at;
        let id = self.replay.state.last_event_id(&actor) + 1;
        let envelope = Envelope { seq: self.replay.state.seq() + 1, at, id, actor, event, note };
        let outcome = self.replay.push(envelope.seq, &envelope);
        (self.sink)(&envelope);
        self.collector.observe(&self.replay.state, &envelope, &outcome);
        if let Outcome::Applied { changed, .. } = &outcome {
            self.seen.insert(envelope.event.kind_name().to_owned());
            if !changed.is_empty() {
                self.last_change = Some(at);
                // A stable-for-N-hours gate may open N hours from now.
                let hours: BTreeSet<u32> =
                    self.plan.phases.iter().filter_map(|phase| phase.gate.stable_hours).collect();
                for hours in hours {
                    self.schedule(
                        Timestamp::from_unix_micros(at.unix_micros() + i64::from(hours) * HOUR_MICROS),
                        Item::Tick,
                    );
                }
            }
            if let Event::IncidentOpened(_) = envelope.event
                && self.incident_at.is_none()
            {
                self.incident_at = Some(at);
                self.schedule_offsets(at);
            }
        }
        outcome
    }

    fn schedule_offsets(&mut self, incident_at: Timestamp) {
        let offsets: Vec<i64> = self.plan.phases.iter().filter_map(|phase| phase.gate.after_incident_micros).collect();
        for offset in offsets {
            self.schedule(Timestamp::from_unix_micros(incident_at.unix_micros().saturating_add(offset)), Item::Tick);
        }
    }

    fn decode(&self, template: &EventTemplate, at: Timestamp, label: &str) -> Result<Envelope, String> {
        let id = self.replay.state.last_event_id(&template.actor) + 1;
        template.decode(self.replay.state.venue(), self.replay.state.seq() + 1, at.max(self.now), id, label)
    }

    fn run_item(&mut self, at: Timestamp, item: Item) -> Result<(), SimError> {
        if let Item::Scenario(index) = item {
            let event = &self.scenario.events[index];
            let envelope = self.decode(&event.template, at, &event.label).map_err(SimError::ScenarioEvent)?;
            let kind = envelope.event.kind_name();
            let label = event.label.clone();
            if let Outcome::Rejected(rejection) = self.emit(envelope.at, envelope.actor, envelope.event, envelope.note)
            {
                self.collector.record_rejection(at, kind, &label, &rejection.to_string());
            }
        }
        self.open_phases(at)
    }

    /// Whether phase `index`'s gate holds at `now`; if not, why.
    fn gate_blocker(&self, index: usize, now: Timestamp) -> Option<String> {
        let gate = &self.plan.phases[index].gate;
        if let Some(at) = gate.at
            && now < at
        {
            return Some(format!("waits for {at}"));
        }
        if let Some(offset) = gate.after_incident_micros {
            match self.incident_at {
                None => return Some("no incident has opened".to_owned()),
                Some(incident) if now.unix_micros() < incident.unix_micros().saturating_add(offset) => {
                    return Some("waits for its offset from the incident".to_owned());
                }
                Some(_) => {}
            }
        }
        for required in &gate.requires {
            if self.opened[*required].is_none() {
                return Some(format!("phase `{}` is not done", self.plan.phases[*required].id));
            }
        }
        for kind in &gate.seen {
            if !self.seen.contains(kind) {
                return Some(format!("no `{kind}` event has been applied"));
            }
        }
        if let Some(incident) = &gate.controls_met {
            let state = &self.replay.state;
            let Some(slot) = state.incidents().iter().position(|record| record.name == *incident) else {
                return Some(format!("incident `{incident}` does not exist"));
            };
            match state.incident_controls(slot as u32) {
                None => return Some(format!("incident `{incident}` is not a wallet compromise")),
                Some(controls) if controls.met() => {}
                Some(controls) if !controls.missing.is_empty() => {
                    return Some(format!("the controls of `{incident}` are not met"));
                }
                Some(controls) => {
                    let others: Vec<&str> = controls
                        .held_back_by
                        .iter()
                        .map(|other| state.incidents()[*other as usize].name.as_str())
                        .collect();
                    return Some(format!(
                        "the controls of `{incident}` are met, but its assets' withdrawals wait for those of `{}`",
                        others.join("`, `")
                    ));
                }
            }
        }
        if let Some(hours) = gate.stable_hours
            && let Some(change) = self.last_change
            && now.unix_micros() < change.unix_micros() + i64::from(hours) * HOUR_MICROS
        {
            return Some(format!("services changed less than {hours} hours before"));
        }
        None
    }

    /// Opens every phase whose gate holds, until none does.
    fn open_phases(&mut self, now: Timestamp) -> Result<(), SimError> {
        loop {
            let ready = (0..self.plan.phases.len())
                .find(|index| self.opened[*index].is_none() && self.gate_blocker(*index, now).is_none());
            let Some(index) = ready else { return Ok(()) };
            let at = now.max(self.now);
            self.opened[index] = Some(at);
            // The marker comes first, so the state at a marker is the state as the phase
            // opens, before any of its actions. It is an annotation: the state never
            // refuses a well-named marker, and a plan's phase ids are never empty.
            let phase = &self.plan.phases[index];
            self.emit(
                at,
                Actor::System("plan".to_owned()),
                Event::PhaseOpened(PhaseOpened { phase: phase.id.clone() }),
                phase.title.clone(),
            );
            let phase = &self.plan.phases[index];
            for (number, action) in phase.actions.iter().enumerate() {
                let label = format!("{}:{}: phase `{}` action {}", self.plan.source, phase.line, phase.id, number + 1);
                let envelope = match self.decode(action, at, &label) {
                    Ok(envelope) => envelope,
                    Err(reason) => {
                        self.collector.violations.push(Violation {
                            phase: phase.id.clone(),
                            action: number + 1,
                            kind: action.kind().to_owned(),
                            at,
                            reason,
                        });
                        continue;
                    }
                };
                if let Outcome::Rejected(rejection) =
                    self.emit(envelope.at, envelope.actor, envelope.event, Some(format!("plan phase {}", phase.id)))
                {
                    let phase = &self.plan.phases[index];
                    self.collector.violations.push(Violation {
                        phase: phase.id.clone(),
                        action: number + 1,
                        kind: action.kind().to_owned(),
                        at,
                        reason: rejection.to_string(),
                    });
                }
            }
        }
    }

    fn settle(&mut self, at: Timestamp) {
        let Some(venue) = self.replay.state.venue() else { return };
        let assets: Vec<String> = (0..venue.assets.len())
            .filter(|index| {
                venue
                    .transfer_services(ServiceKind::Withdrawals, AssetId(*index as u16))
                    .any(|service| self.replay.state.impact()[service as usize].backlog_count > 0)
            })
            .map(|index| venue.assets[index].code.clone())
            .collect();
        for asset in assets {
            let outcome = self.emit(
                at,
                Actor::System("settlement".to_owned()),
                Event::WithdrawalsSettled(WithdrawalsSettled { asset, network: None }),
                None,
            );
            if let Outcome::Rejected(rejection) = outcome {
                self.collector.record_rejection(at, "withdrawals_settled", "[settlement]", &rejection.to_string());
            }
        }
    }
}

/// A day's requests drawn on the second thread, in time order, with the sign-ups counted
/// before and after.
struct Drawn {
    day: i64,
    signups_before: u32,
    signups_after: u32,
    requests: Vec<Request>,
}

/// The second thread of a run: draws `days` in order (each as [`draw_day`] would on the
/// folding thread) and sends them on, reusing the buffers that come back; stops when the
/// folding thread hangs up.
fn draw_ahead(
    scenario: &Scenario,
    venue: &exops_core::Venue,
    mut signups: u32,
    days: std::ops::RangeInclusive<i64>,
    sender: &crossbeam_channel::Sender<Drawn>,
    recycled: &crossbeam_channel::Receiver<Vec<Request>>,
) {
    let first_day = *days.start();
    let mut buffers = DayBuffers::default();
    for day in days {
        let signups_before = signups;
        let day_start = Timestamp::from_unix_micros(day * DAY_MICROS);
        draw_day(scenario, Some(venue), &mut signups, day - first_day, day_start, &mut buffers);
        let requests = std::mem::replace(&mut buffers.sorted, recycled.try_recv().unwrap_or_default());
        if sender.send(Drawn { day, signups_before, signups_after: signups, requests }).is_err() {
            return;
        }
    }
}

/// The customer requests of one day, in time order, into `buffers.sorted` (whose memory,
/// and the other buffers', is reused from day to day). They depend on the scenario, the
/// day, the venue and the sign-ups drawn before (`signups`, counted on) alone, never on
/// the state the fold is in: so a second thread can draw tomorrow while today folds.
fn draw_day(
    scenario: &Scenario,
    venue: Option<&exops_core::Venue>,
    signups: &mut u32,
    day: i64,
    day_start: Timestamp,
    buffers: &mut DayBuffers,
) {
    buffers.sorted.clear();
    let workload = &scenario.workload;
    let Some(venue) = venue else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let weights: Vec<u32> = workload.day_pattern.clone().unwrap_or_else(|| vec![1; 24]);
    let total_weight: u32 = weights.iter().sum();
    let offset = i64::from(workload.utc_offset_hours);
    // The first hour whose running total of weights passes the roll; hours of weight 0
    // are never picked.
    let running: Vec<u32> = weights
        .iter()
        .scan(0_u32, |total, weight| {
            *total += weight;
            Some(*total)
        })
        .collect();
    let pick_time = |rng: &mut ChaCha8Rng| {
        let roll = rng.random_range(0..total_weight);
        let local_hour = running.partition_point(|total| *total <= roll) as i64;
        // The day runs from local midnight; its hours map back to UTC.
        let micros = local_hour * HOUR_MICROS + rng.random_range(0..HOUR_MICROS);
        Timestamp::from_unix_micros(day_start.unix_micros() - offset * HOUR_MICROS + micros)
    };
    let fiat: Vec<AssetId> =
        (0..venue.assets.len() as u16).map(AssetId).filter(|id| venue.asset(*id).class == AssetClass::Fiat).collect();
    let crypto: Vec<AssetId> =
        (0..venue.assets.len() as u16).map(AssetId).filter(|id| venue.asset(*id).class == AssetClass::Crypto).collect();
    let markets = venue.markets.len() as u16;
    let customers = workload.customers;
    // No holders given: every customer may hold crypto.
    let holders = if workload.crypto_holders == 0 { customers } else { workload.crypto_holders.min(customers) };
    let per_day = &workload.per_day;
    let out = &mut buffers.drawn;
    out.clear();
    let transfer = |rng: &mut ChaCha8Rng, crypto_share: u8| -> Option<(u32, Transfer)> {
        let use_crypto = !crypto.is_empty() && (fiat.is_empty() || rng.random_range(0..100) < crypto_share);
        let (asset, customer) = if use_crypto {
            (crypto[rng.random_range(0..crypto.len())], rng.random_range(1..=holders))
        } else if !fiat.is_empty() {
            (fiat[rng.random_range(0..fiat.len())], rng.random_range(1..=customers))
        } else {
            return None;
        };
        let details = venue.asset(asset);
        let amount = if details.class == AssetClass::Fiat {
            rng.random_range(1..=50_i64) * 10_000 * 10_i64.pow(u32::from(details.decimals))
        } else {
            // 0.0001 to 0.1 of a unit: retail-sized crypto transfers.
            rng.random_range(1..=1_000_i64) * 10_i64.pow(u32::from(details.decimals.saturating_sub(4)))
        };
        let network = (!details.networks.is_empty()).then(|| rng.random_range(0..details.networks.len()) as u8);
        Some((customer, Transfer { asset, network, amount_minor: amount }))
    };
    for _ in 0..per_day.login {
        let customer = rng.random_range(1..=customers);
        out.push(Request { at: pick_time(&mut rng), customer, operation: Operation::Login });
    }
    if markets > 0 {
        for _ in 0..per_day.order {
            let customer = rng.random_range(1..=customers);
            let order_type = match rng.random_range(0..10) {
                0..3 => OrderType::Market,
                3..9 => OrderType::Limit,
                _ => OrderType::PostOnly,
            };
            let operation = Operation::Order(OrderSubmitted {
                market: MarketId(rng.random_range(0..markets)),
                order_type,
                notional_minor: rng.random_range(1..=200_i64) * 10_000,
            });
            out.push(Request { at: pick_time(&mut rng), customer, operation });
        }
        for _ in 0..per_day.cancel {
            let customer = rng.random_range(1..=customers);
            let operation = Operation::Cancel(OrderCancelled { market: MarketId(rng.random_range(0..markets)) });
            out.push(Request { at: pick_time(&mut rng), customer, operation });
        }
    }
    for _ in 0..per_day.deposit {
        if let Some((customer, details)) = transfer(&mut rng, workload.crypto_percent) {
            out.push(Request { at: pick_time(&mut rng), customer, operation: Operation::Deposit(details) });
        }
    }
    for _ in 0..per_day.withdrawal {
        if let Some((customer, details)) = transfer(&mut rng, workload.crypto_percent) {
            out.push(Request { at: pick_time(&mut rng), customer, operation: Operation::Withdrawal(details) });
        }
    }
    if venue.margin_service().is_some() {
        for _ in 0..per_day.margin {
            let customer = rng.random_range(1..=customers);
            let action = if rng.random_range(0..2) == 0 { MarginAction::Open } else { MarginAction::Close };
            let operation =
                Operation::Margin(MarginRequested { action, notional_minor: rng.random_range(1..=100_i64) * 10_000 });
            out.push(Request { at: pick_time(&mut rng), customer, operation });
        }
    }
    for _ in 0..per_day.signup {
        *signups += 1;
        let customer = customers.saturating_add(*signups).min(exops_core::CUSTOMER_ID_MAX);
        out.push(Request { at: pick_time(&mut rng), customer, operation: Operation::Signup });
    }
    // In time order; requests at the same microsecond keep the order they were drawn
    // in. Sorting one u64 per request (its microsecond of the day, then its index)
    // and gathering is several times faster than moving whole requests around.
    let base = day_start.unix_micros() - offset * HOUR_MICROS;
    const INDEX_BITS: u32 = 27;
    let fits = |request: &Request| (0..1 << (64 - INDEX_BITS)).contains(&(request.at.unix_micros() - base));
    if out.len() >= 1 << INDEX_BITS || !out.iter().all(fits) {
        out.sort_by_key(|request| request.at);
        buffers.sorted.append(out);
        return;
    }
    let keys = &mut buffers.keys;
    keys.clear();
    keys.extend(
        out.iter()
            .enumerate()
            .map(|(index, request)| ((request.at.unix_micros() - base) as u64) << INDEX_BITS | index as u64),
    );
    keys.sort_unstable();
    // Gathering reads the drawn requests in random order: start each read early.
    let index_of = |key: u64| (key & ((1 << INDEX_BITS) - 1)) as usize;
    for (position, key) in keys.iter().enumerate() {
        if let Some(ahead) = keys.get(position + exops_core::LOOKAHEAD) {
            prefetch_index::prefetch_index(&*out, index_of(*ahead));
        }
        buffers.sorted.push(out[index_of(*key)].clone());
    }
}

/// How to run a simulation: the seed, the workload's scale and where to start.
///
/// ```
/// use exops_sim::{Options, StartFrom};
///
/// let options = Options::default();
/// assert_eq!((options.seed, options.scale_percent, options.start_from), (None, 100, StartFrom::Fresh));
/// // A quick run: the same plan and dates, a hundredth of the customers' requests.
/// let quick = Options { scale_percent: 1, ..Options::default() };
/// assert_eq!(quick.scale_percent, 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Scales the scenario's requests per day, in percent (100 = as written).
    pub scale_percent: u32,
    /// A fresh venue (the default) or a recorded log's state.
    pub start_from: StartFrom,
    /// Draw each day's customer requests on a second thread while the day before folds
    /// (the default). The output is the same either way, byte for byte; a sweep, which
    /// already keeps every core busy with runs, turns it off.
    pub draw_ahead: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { seed: None, scale_percent: 100, start_from: StartFrom::Fresh, draw_ahead: true }
    }
}

/// Runs `plan` against `scenario`, sending every event to `sink` in order (what
/// `exops simulate --log-out` writes), and returns the replay and the metrics.
///
/// The run depends on its inputs alone: the same scenario, plan and options give the
/// same events, byte for byte.
///
/// ```
/// use std::path::Path;
///
/// use exops_sim::{Options, Plan, Scenario, simulate};
///
/// let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// let plan = Plan::load(&root.join("plan.toml"))?;
/// let options = Options { scale_percent: 1, ..Options::default() };
/// let mut first = Vec::new();
/// let run = simulate(&scenario, &plan, &options, &mut |envelope| first.push(envelope.clone()))?;
/// let mut second = Vec::new();
/// simulate(&scenario, &plan, &options, &mut |envelope| second.push(envelope.clone()))?;
/// assert_eq!(first, second);
/// // The log opens with the venue's declaration, and each phase writes its marker.
/// assert_eq!(first[0].event.kind_name(), "venue_declared");
/// let markers = first.iter().filter(|envelope| envelope.event.kind_name() == "phase_opened").count();
/// assert_eq!(markers, plan.phases.len());
/// assert_eq!(run.metrics.phases.len(), plan.phases.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn simulate(
    scenario: &Scenario,
    plan: &Plan,
    options: &Options,
    sink: &mut dyn FnMut(&Envelope),
) -> Result<Simulation, SimError> {
    let mut scenario = scenario.clone();
    if let Some(seed) = options.seed {
        scenario.seed = seed;
    }
    let scale = |count: u64| count.saturating_mul(u64::from(options.scale_percent)) / 100;
    for count in scenario.workload.per_day.rates_mut() {
        *count = scale(*count);
    }
    if scenario.workload.per_day.total() > crate::scenario::REQUESTS_PER_DAY_MAX {
        return Err(SimError::TooManyRequests {
            requests: scenario.workload.per_day.total(),
            max: crate::scenario::REQUESTS_PER_DAY_MAX,
        });
    }
    let start_from = &options.start_from;
    let scenario = &scenario;
    let (replay, seen, start) = match start_from {
        StartFrom::Fresh => (Replay::new(), BTreeSet::new(), scenario.start),
        StartFrom::Log { source, at } => {
            let (replay, seen) = load_log(source, *at, sink)?;
            (replay, seen, (*at).max(scenario.start))
        }
    };
    let mut engine = Engine {
        scenario,
        plan,
        replay,
        sink,
        collector: Collector::new(scenario, plan),
        schedule: BTreeMap::new(),
        scheduled: 0,
        opened: vec![None; plan.phases.len()],
        seen,
        last_change: None,
        incident_at: None,
        signups: 0,
        now: start,
    };
    match start_from {
        StartFrom::Fresh => {
            engine.emit(
                scenario.start,
                Actor::System("scenario".to_owned()),
                Event::VenueDeclared(scenario.venue_spec.clone()),
                Some(format!("scenario: {}", scenario.name)),
            );
        }
        StartFrom::Log { .. } => {
            // The recorded prefix went to the sink as it was read, so the output log is
            // self-contained; what it implies for the gates carries over.
            engine.now = engine.replay.state.at().unwrap_or(start).max(engine.now);
            engine.incident_at = engine.replay.state.incidents().iter().map(|incident| incident.opened_at).min();
            // The last change of any service's mode in the recorded log.
            engine.last_change = engine.replay.state.venue().and_then(|venue| {
                (0..venue.services.len() as u32)
                    .map(|index| engine.replay.state.service_since(exops_core::ServiceId(index)))
                    .max()
            });
            // Stable-for-N-hours gates count from that change.
            if let Some(last) = engine.last_change {
                let hours: BTreeSet<u32> = plan.phases.iter().filter_map(|phase| phase.gate.stable_hours).collect();
                for hours in hours {
                    engine.schedule(
                        Timestamp::from_unix_micros(last.unix_micros() + i64::from(hours) * HOUR_MICROS),
                        Item::Tick,
                    );
                }
            }
        }
    }
    if engine.replay.state.venue().is_none() {
        return Err(SimError::NoVenue);
    }
    engine.collector.begin(&engine.replay.state, engine.now);
    for (index, event) in scenario.events.iter().enumerate() {
        if event.at >= start || matches!(start_from, StartFrom::Fresh) {
            engine.schedule(event.at, Item::Scenario(index));
        }
    }
    if let Some(incident) = engine.incident_at {
        engine.schedule_offsets(incident);
    }
    for phase in &plan.phases {
        if let Some(at) = phase.gate.at {
            engine.schedule(at, Item::Tick);
        }
    }
    engine.schedule(start, Item::Tick);

    let utc_offset = i64::from(scenario.workload.utc_offset_hours) * HOUR_MICROS;
    let first_day = (start.unix_micros() + utc_offset).div_euclid(DAY_MICROS);
    let last_day = (scenario.end.unix_micros() + utc_offset - 1).div_euclid(DAY_MICROS);
    let mut buffers = DayBuffers::default();
    // The second thread draws from the venue as it stands now. A day it drew is used only
    // if the venue and the sign-ups drawn before are still what it assumed, else that day
    // and the rest are drawn here. (A venue is declared once, a second declaration is
    // rejected, so they hold; the check keeps the output right should that rule change.)
    let venue_now = engine.replay.state.venue().cloned();
    std::thread::scope(|scope| -> Result<(), SimError> {
        let mut ahead = None;
        if options.draw_ahead
            && let Some(venue) = venue_now.clone()
        {
            // A rendezvous: the second thread draws the next day while this one folds, then
            // waits, so that at most three days' requests are in memory.
            let (sender, receiver) = crossbeam_channel::bounded(0);
            let (recycle, recycled) = crossbeam_channel::bounded(1);
            let signups = engine.signups;
            scope.spawn(move || draw_ahead(scenario, &venue, signups, first_day..=last_day, &sender, &recycled));
            ahead = Some((receiver, recycle));
        }
        for day in first_day..=last_day {
            let mut settlements = Vec::new();
            if let Some(settlement) = &scenario.settlement {
                // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays.
                let weekday = (day + 3).rem_euclid(7);
                if !settlement.weekdays_only || weekday < 5 {
                    let at = Timestamp::from_unix_micros(
                        day * DAY_MICROS - utc_offset + i64::from(settlement.hour) * HOUR_MICROS,
                    );
                    settlements.push(at);
                }
            }
            let drawn = ahead.as_ref().and_then(|(receiver, _)| receiver.recv().ok()).filter(|drawn| {
                drawn.day == day
                    && drawn.signups_before == engine.signups
                    && engine.replay.state.venue() == venue_now.as_ref()
            });
            match drawn {
                Some(drawn) => {
                    let used = std::mem::replace(&mut buffers.sorted, drawn.requests);
                    if let Some((_, recycle)) = &ahead {
                        let _ = recycle.try_send(used);
                    }
                    engine.signups = drawn.signups_after;
                }
                None => {
                    // Dropping the receiver stops the second thread.
                    ahead = None;
                    let venue = engine.replay.state.venue();
                    let day_start = Timestamp::from_unix_micros(day * DAY_MICROS);
                    draw_day(scenario, venue, &mut engine.signups, day - first_day, day_start, &mut buffers);
                }
            }
            let requests = &buffers.sorted;
            for (index, Request { at, customer, operation }) in requests.iter().cloned().enumerate() {
                // As in `State::apply_batch`: start loading the customer of a later request.
                if let Some(ahead) = requests.get(index + exops_core::LOOKAHEAD) {
                    engine.replay.state.prefetch(&Actor::Customer(ahead.customer));
                }
                if at < start || at >= scenario.end {
                    continue;
                }
                engine.run_until(at, &mut settlements)?;
                engine.emit(at, Actor::Customer(customer), operation.event(), None);
            }
            let day_end = Timestamp::from_unix_micros((day + 1) * DAY_MICROS - utc_offset).min(scenario.end);
            engine.run_until(day_end, &mut settlements)?;
            engine.collector.end_of_day(&engine.replay.state, day_end);
        }
        Ok(())
    })?;
    engine.run_until(scenario.end, &mut Vec::new())?;
    let blockers: Vec<Option<String>> = (0..plan.phases.len())
        .map(|index| if engine.opened[index].is_some() { None } else { engine.gate_blocker(index, scenario.end) })
        .collect();
    let Engine { replay, collector, opened, .. } = engine;
    let phases = plan
        .phases
        .iter()
        .zip(&opened)
        .zip(blockers)
        .map(|((phase, opened), blocked_by)| PhaseOutcome {
            id: phase.id.clone(),
            title: phase.title.clone(),
            opened_at: *opened,
            blocked_by,
        })
        .collect();
    let metrics = collector.finish(&replay, phases, scenario.end);
    Ok(Simulation { replay, metrics })
}

impl Engine<'_> {
    /// Runs every scheduled item (and settlement) due at or before `until`.
    fn run_until(&mut self, until: Timestamp, settlements: &mut Vec<Timestamp>) -> Result<(), SimError> {
        loop {
            let next_item = self.schedule.first_key_value().map(|((at, _), _)| *at).filter(|at| *at <= until);
            let next_settlement = settlements.first().copied().filter(|at| *at <= until);
            let settle_first = match (next_item, next_settlement) {
                (None, None) => return Ok(()),
                (Some(item), Some(settlement)) => settlement < item,
                (None, Some(_)) => true,
                (Some(_), None) => false,
            };
            if settle_first {
                let at = settlements.remove(0);
                self.settle(at);
                self.open_phases(at)?;
            } else if let Some(((at, _), item)) = self.schedule.pop_first() {
                self.run_item(at, item)?;
            }
        }
    }
}

/// Folds a recorded log up to `at`, sending each event to `sink`; returns the replay and
/// the kinds of events applied.
fn load_log(
    source: &str,
    at: Timestamp,
    sink: &mut dyn FnMut(&Envelope),
) -> Result<(Replay, BTreeSet<String>), SimError> {
    let opened = exops_replay::Source::open(source)?;
    let mut replay = Replay::new();
    let mut seen = BTreeSet::new();
    for line in opened {
        let line = line?;
        if line.envelope.at > at {
            break;
        }
        if let Outcome::Applied { .. } = replay.push(line.line, &line.envelope) {
            seen.insert(line.envelope.event.kind_name().to_owned());
        }
        sink(&line.envelope);
    }
    Ok((replay, seen))
}
