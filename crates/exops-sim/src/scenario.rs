//! Scenarios (TOML): the venue, the dated events of the incident (in the event catalog's
//! vocabulary), the period simulated, and the seeded customer workload. A scenario loads
//! only if its events, folded alone from its venue, are all applied by the state.
//!
//! ```toml
//! name = "BITPoint Japan, July 2019"
//! start = "2019-07-11T00:00:00+09:00"
//! end = "2019-12-31T00:00:00+09:00"
//! seed = 2019
//!
//! [venue]                       # as in `venue_declared`
//! name = "BITPoint Japan"
//! markets = ["BTC/JPY"]
//! assets = [{ code = "JPY", class = "fiat", decimals = 0 }, { code = "BTC", class = "crypto", decimals = 8 }]
//!
//! [[events]]                    # any operator event of docs/event-catalog.md, with `at`
//! at = "2019-07-11T22:12:00+09:00"
//! kind = "incident_opened"
//! incident = "BP-2019-07"
//! # …
//!
//! [workload]
//! customers = 110000
//! crypto_holders = 50000
//! [workload.per_day]
//! order = 400000
//! ```

use std::path::Path;

use exops_core::{Actor, Envelope, Event, Outcome, State, Timestamp, Venue, VenueSpec};
use serde::Deserialize;

use crate::toml_events::{EventTemplate, template};
use crate::uncertainty::Spread;

/// Requests per day, across all customers, by kind of customer operation (a scenario's
/// `[workload.per_day]`; a kind left out is 0).
///
/// ```
/// use std::path::Path;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/scenario.toml"));
/// let per_day = exops_sim::Scenario::load(path)?.workload.per_day;
/// assert_eq!((per_day.login, per_day.order), (12_000, 30_000));
/// # Ok::<(), exops_sim::scenario::ScenarioError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerDay {
    /// Logins.
    #[serde(default)]
    pub login: u64,
    /// Orders submitted (some are then cancelled: `cancel`).
    #[serde(default)]
    pub order: u64,
    /// Order cancellations.
    #[serde(default)]
    pub cancel: u64,
    /// Deposits, fiat or crypto (`crypto_percent`).
    #[serde(default)]
    pub deposit: u64,
    /// Withdrawal requests, fiat or crypto.
    #[serde(default)]
    pub withdrawal: u64,
    /// Margin desk requests.
    #[serde(default)]
    pub margin: u64,
    /// Sign-ups by new applicants.
    #[serde(default)]
    pub signup: u64,
}

impl PerDay {
    /// Every rate, to scale them all alike (`--scale`, a sweep's rate spread).
    pub(crate) fn rates_mut(&mut self) -> [&mut u64; 7] {
        [
            &mut self.login,
            &mut self.order,
            &mut self.cancel,
            &mut self.deposit,
            &mut self.withdrawal,
            &mut self.margin,
            &mut self.signup,
        ]
    }

    /// All requests a day, every kind together.
    ///
    /// ```
    /// let per_day = exops_sim::scenario::PerDay { login: 10, order: 5, ..Default::default() };
    /// assert_eq!(per_day.total(), 15);
    /// ```
    pub fn total(&self) -> u64 {
        self.login + self.order + self.cancel + self.deposit + self.withdrawal + self.margin + self.signup
    }
}

/// The seeded customer workload: who the customers are and how many requests of each
/// kind they make a day.
///
/// ```
/// use std::path::Path;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/scenario.toml"));
/// let workload = exops_sim::Scenario::load(path)?.workload;
/// assert!(workload.crypto_holders <= workload.customers);
/// assert_eq!(workload.utc_offset_hours, 9);
/// assert!(workload.per_day.total() > 0);
/// # Ok::<(), exops_sim::scenario::ScenarioError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Existing customers, numbered 1 ..= customers.
    pub customers: u32,
    /// Customers 1 ..= crypto_holders hold crypto: only they deposit or withdraw it.
    #[serde(default)]
    pub crypto_holders: u32,
    /// Of deposits and withdrawals, the percentage in crypto (the rest in fiat).
    #[serde(default = "default_crypto_percent")]
    pub crypto_percent: u8,
    /// Relative weight of each hour of the day (24 values, local time), for when
    /// requests arrive; flat when absent.
    #[serde(default)]
    pub day_pattern: Option<Vec<u32>>,
    /// Local time's offset from UTC, in hours, for `day_pattern` and settlement hours.
    #[serde(default)]
    pub utc_offset_hours: i8,
    /// In a sweep (`--runs N`), each run scales every rate by a factor drawn uniformly
    /// within this many percent of 100 (0: the rates as written).
    #[serde(default)]
    pub rate_spread_percent: u8,
    /// The local zone's name for reports (`JST`); `UTC+9` when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Requests a day by kind.
    pub per_day: PerDay,
}

fn default_crypto_percent() -> u8 {
    50
}

/// Delayed withdrawals settle once a day at this local hour (weekdays only by default).
///
/// ```
/// use std::path::Path;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/scenario.toml"));
/// let settlement = exops_sim::Scenario::load(path)?.settlement.expect("BITPoint settles delayed withdrawals");
/// assert_eq!((settlement.hour, settlement.weekdays_only), (15, true));
/// let text = std::fs::read_to_string(path).expect("the scenario reads");
/// let late = text.replace("[settlement]\nhour = 15", "[settlement]\nhour = 24");
/// assert_ne!(late, text);
/// let error = exops_sim::Scenario::parse("s.toml", &late).unwrap_err();
/// assert_eq!(error.to_string(), "s.toml: [settlement] `hour` must be between 0 and 23");
/// # Ok::<(), exops_sim::scenario::ScenarioError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settlement {
    /// The local hour (0 to 23).
    pub hour: u8,
    /// Not on Saturdays and Sundays (the default).
    #[serde(default = "yes")]
    pub weekdays_only: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: Option<String>,
    start: String,
    end: String,
    #[serde(default)]
    seed: Option<u64>,
    venue: VenueSpec,
    /// Spanned, so that each event's errors can name the line of its table.
    #[serde(default)]
    events: Vec<toml::Spanned<toml::Table>>,
    workload: Workload,
    #[serde(default)]
    settlement: Option<Settlement>,
}

/// A dated operator event of the scenario.
///
/// ```
/// use std::path::Path;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/scenario.toml"));
/// let scenario = exops_sim::Scenario::load(path)?;
/// let theft = scenario.events.iter().find(|event| event.kind() == "theft_recorded").expect("the theft");
/// assert_eq!(theft.at.to_string(), "2019-07-11T13:39:00Z");
/// assert!(theft.label.contains(".toml:49: event "), "{}", theft.label);
/// # Ok::<(), exops_sim::scenario::ScenarioError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioEvent {
    /// When it is applied.
    pub at: Timestamp,
    pub(crate) template: EventTemplate,
    /// `FILE:LINE: event N` (N counting from 1 in file order, LINE the line of the
    /// event's table), for messages.
    pub label: String,
    /// `at` given as a range: `at` is its central value, and each run of a sweep draws it.
    pub at_spread: Option<Spread>,
}

impl ScenarioEvent {
    /// The event's kind in the catalog (`hold_placed`).
    pub fn kind(&self) -> &str {
        self.template.kind()
    }
}

/// An incident scenario: the venue, the period, the dated operator events and the seeded
/// customer workload a plan is simulated against.
///
/// ```
/// use std::path::Path;
///
/// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/scenario.toml"));
/// let scenario = exops_sim::Scenario::load(path)?;
/// assert_eq!(scenario.seed, 2019);
/// assert!(scenario.start < scenario.end);
/// assert_eq!(scenario.venue.assets.len(), scenario.venue_spec.assets.len());
/// // Events are in time order; plan offsets count from the first incident.
/// assert!(scenario.events.windows(2).all(|pair| pair[0].at <= pair[1].at));
/// let incident = scenario.events.iter().find(|event| event.kind() == "incident_opened").map(|event| event.at);
/// assert_eq!(scenario.first_incident_at(), incident);
/// # Ok::<(), exops_sim::scenario::ScenarioError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The start of the period simulated.
    pub start: Timestamp,
    /// The end of the period simulated.
    pub end: Timestamp,
    /// The workload's seed (0 when the file gives none).
    pub seed: u64,
    /// The venue as declared (what the run's `venue_declared` event carries).
    pub venue_spec: VenueSpec,
    /// The venue built from it: the service table.
    pub venue: Venue,
    /// In time order (stable for equal instants).
    pub events: Vec<ScenarioEvent>,
    /// The customers' requests.
    pub workload: Workload,
    /// The daily settlement of delayed withdrawals, if the scenario has one.
    pub settlement: Option<Settlement>,
}

/// A scenario that cannot be used: the message names the file, the line and what is valid.
///
/// ```
/// let error = exops_sim::Scenario::parse("s.toml", "name = \"s\"\n").unwrap_err();
/// assert!(error.to_string().starts_with("s.toml: "), "{error}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError(pub String);

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScenarioError {}

/// Bounds that keep a simulation finite: days in the period, requests a day.
pub(crate) const DAYS_MAX: i64 = 3_660;
pub(crate) const REQUESTS_PER_DAY_MAX: u64 = 100_000_000;

fn instant(source: &str, field: &str, text: &str) -> Result<Timestamp, ScenarioError> {
    Timestamp::parse_rfc3339(text).map_err(|error| ScenarioError(format!("{source}: `{field}`: {error}")))
}

impl Scenario {
    /// Reads and parses the scenario at `path` (see [`Scenario::parse`]).
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/coincheck-2018/scenario.toml"));
    /// let scenario = exops_sim::Scenario::load(path)?;
    /// assert!(scenario.name.starts_with("Coincheck"), "{}", scenario.name);
    /// let missing = exops_sim::Scenario::load(Path::new("no/such/scenario.toml")).unwrap_err();
    /// assert!(missing.to_string().starts_with("cannot read no/such/scenario.toml: "), "{missing}");
    /// # Ok::<(), exops_sim::scenario::ScenarioError>(())
    /// ```
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ScenarioError(format!("cannot read {}: {error}", path.display())))?;
        Scenario::parse(&path.display().to_string(), &text)
    }

    /// Parses a scenario's TOML `text`; `source` names it in messages. The period, the
    /// venue and the workload are checked, and the events, folded alone from the venue,
    /// must all be applied by the state: an event it refuses is an error naming its line.
    ///
    /// ```
    /// let text = r#"
    /// name = "A drill"
    /// start = "2024-01-01T00:00:00Z"
    /// end = "2024-01-08T00:00:00Z"
    ///
    /// [venue]
    /// name = "Drill"
    /// markets = ["BTC/JPY"]
    /// assets = [{ code = "JPY", class = "fiat", decimals = 0 }, { code = "BTC", class = "crypto", decimals = 8 }]
    ///
    /// [[events]]
    /// at = "2024-01-02T00:00:00Z"
    /// kind = "hold_placed"
    /// hold = "maintenance"
    /// cause = "maintenance"
    /// services = ["login"]
    ///
    /// [workload]
    /// customers = 100
    /// [workload.per_day]
    /// login = 50
    /// "#;
    /// let scenario = exops_sim::Scenario::parse("drill.toml", text)?;
    /// assert_eq!(scenario.events[0].kind(), "hold_placed");
    /// assert_eq!(scenario.first_incident_at(), None, "maintenance is no incident");
    ///
    /// // Lifting a hold nobody placed is refused on load, with the event's line.
    /// let lift = text.replace("kind = \"hold_placed\"", "kind = \"hold_lifted\"").replace("cause = \"maintenance\"\n", "");
    /// let error = exops_sim::Scenario::parse("drill.toml", &lift).unwrap_err();
    /// assert!(error.to_string().contains("no active hold `maintenance`"), "{error}");
    /// # Ok::<(), exops_sim::scenario::ScenarioError>(())
    /// ```
    pub fn parse(source: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|error| ScenarioError(format!("{source}: {error}")))?;
        let start = instant(source, "start", &file.start)?;
        let end = instant(source, "end", &file.end)?;
        if end <= start {
            return Err(ScenarioError(format!("{source}: `end` ({end}) must be after `start` ({start})")));
        }
        let days = end.micros_since(start) / 86_400_000_000;
        if days > DAYS_MAX {
            return Err(ScenarioError(format!("{source}: the period is {days} days; at most {DAYS_MAX}")));
        }
        let venue =
            Venue::from_spec(&file.venue).map_err(|error| ScenarioError(format!("{source}: [venue]: {error}")))?;
        let workload = file.workload;
        if workload.per_day.total() > REQUESTS_PER_DAY_MAX {
            return Err(ScenarioError(format!(
                "{source}: [workload.per_day] adds up to {} requests a day; at most {REQUESTS_PER_DAY_MAX}",
                workload.per_day.total()
            )));
        }
        if workload.customers == 0 || workload.customers > exops_core::CUSTOMER_ID_MAX {
            return Err(ScenarioError(format!(
                "{source}: [workload] `customers` must be between 1 and {}",
                exops_core::CUSTOMER_ID_MAX
            )));
        }
        if workload.crypto_holders > workload.customers {
            return Err(ScenarioError(format!("{source}: [workload] `crypto_holders` exceeds `customers`")));
        }
        if workload.crypto_percent > 100 {
            return Err(ScenarioError(format!("{source}: [workload] `crypto_percent` is a percentage (0 to 100)")));
        }
        if let Some(pattern) = &workload.day_pattern
            && (pattern.len() != 24 || pattern.iter().all(|weight| *weight == 0))
        {
            return Err(ScenarioError(format!(
                "{source}: [workload] `day_pattern` takes 24 hourly weights, not all zero"
            )));
        }
        if !(-12..=14).contains(&workload.utc_offset_hours) {
            return Err(ScenarioError(format!("{source}: [workload] `utc_offset_hours` must be between -12 and 14")));
        }
        if workload.rate_spread_percent > 90 {
            return Err(ScenarioError(format!(
                "{source}: [workload] `rate_spread_percent` must be between 0 and 90, not {}",
                workload.rate_spread_percent
            )));
        }
        if let Some(zone) = &workload.time_zone
            && (zone.is_empty()
                || zone.len() > 8
                || !zone.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-'))
        {
            return Err(ScenarioError(format!(
                "{source}: [workload] `time_zone` is a short name for reports such as \"JST\" (1 to 8 letters, digits, + or -), not {zone:?}"
            )));
        }
        if let Some(settlement) = &file.settlement
            && settlement.hour > 23
        {
            return Err(ScenarioError(format!("{source}: [settlement] `hour` must be between 0 and 23")));
        }
        let events = scenario_events(source, text, start, &file.venue, &venue, &file.events)?;
        Ok(Scenario {
            name: file.name,
            description: file.description,
            start,
            end,
            seed: file.seed.unwrap_or(0),
            venue_spec: file.venue,
            venue,
            events,
            workload,
            settlement: file.settlement,
        })
    }

    /// The scenario with every dated range drawn once from `rng` (in the events' sorted
    /// order), events re-sorted by their drawn instants (stable), and then every rate of
    /// `[workload.per_day]` scaled by one factor drawn within `rate_spread_percent` of
    /// 100%. Only the nominal order is checked at load to apply cleanly; a draw that
    /// reorders events so that the state refuses one shows as the run's scenario
    /// rejections.
    pub(crate) fn drawn(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Scenario {
        let mut scenario = self.clone();
        for event in &mut scenario.events {
            if let Some(spread) = event.at_spread {
                event.at = Timestamp::from_unix_micros(spread.draw(rng));
            }
        }
        scenario.events.sort_by_key(|event| event.at);
        let spread = i64::from(self.workload.rate_spread_percent);
        if spread > 0 {
            // Per ten thousand, so that small rates still move.
            let factor =
                Spread { low: 10_000 - spread * 100, mode: None, high: 10_000 + spread * 100 }.draw(rng) as u64;
            for rate in scenario.workload.per_day.rates_mut() {
                *rate = (u128::from(*rate) * u128::from(factor) / 10_000) as u64;
            }
        }
        scenario
    }

    /// The first incident the scenario opens: what plan offsets count from.
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/mtgox-2014/scenario.toml"));
    /// let scenario = exops_sim::Scenario::load(path)?;
    /// let incident = scenario.first_incident_at().expect("Mt. Gox opens an incident");
    /// assert!(scenario.start <= incident && incident < scenario.end);
    /// # Ok::<(), exops_sim::scenario::ScenarioError>(())
    /// ```
    pub fn first_incident_at(&self) -> Option<Timestamp> {
        self.events.iter().find(|event| event.template.kind() == "incident_opened").map(|event| event.at)
    }
}

/// Byte offsets of line starts, to turn a span into a 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts: Vec<usize> =
            std::iter::once(0).chain(text.match_indices('\n').map(|(offset, _)| offset + 1)).collect();
        // `line_of` searches by bisection.
        debug_assert!(starts.is_sorted());
        LineIndex { starts }
    }

    /// The line holding byte `offset`: the number of line starts at or before it.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

/// `LABEL (KIND `NAME`)`: the event's kind and the hold or incident it names, as far as
/// the table says, so that a message is readable without opening the file.
fn describe(label: &str, table: &toml::Table) -> String {
    let text = |key: &str| table.get(key).and_then(toml::Value::as_str);
    match (text("kind"), text("hold").or_else(|| text("incident"))) {
        (Some(kind), Some(name)) => format!("{label} ({kind} `{name}`)"),
        (Some(kind), None) => format!("{label} ({kind})"),
        (None, _) => label.to_owned(),
    }
}

/// The kinds a scenario may date: operator events other than the venue's declaration and
/// the settlements, which depend on the customers' queues.
fn check_kind(template: &EventTemplate, description: &str) -> Result<(), ScenarioError> {
    let kind = template.kind();
    if template.declares_venue() {
        return Err(ScenarioError(format!("{description}: the venue is declared by [venue], not by an event")));
    }
    if exops_jsonl::CUSTOMER_KINDS.contains(&kind) {
        return Err(ScenarioError(format!(
            "{description}: `{kind}` is a customer operation; a scenario's events are operator events, and \
             [workload] makes the customers' requests"
        )));
    }
    if kind == "withdrawals_settled" {
        // The scenario's own events queue nothing, so no dated settlement could hold together.
        return Err(ScenarioError(format!(
            "{description}: `{kind}` is not a scenario event: [settlement] settles the queues the workload makes"
        )));
    }
    Ok(())
}

/// The scenario's events in time order (stable for equal instants), each checked alone in
/// file order, then all of them folded together from the venue's declaration.
fn scenario_events(
    source: &str,
    text: &str,
    start: Timestamp,
    venue_spec: &VenueSpec,
    venue: &Venue,
    tables: &[toml::Spanned<toml::Table>],
) -> Result<Vec<ScenarioEvent>, ScenarioError> {
    let lines = LineIndex::new(text);
    let default_actor = Actor::System("scenario".to_owned());
    // Each event with its description (kind and name), which only load errors use.
    let mut events = Vec::with_capacity(tables.len());
    for (index, spanned) in tables.iter().enumerate() {
        let table = spanned.get_ref();
        let label = format!("{source}:{}: event {}", lines.line_of(spanned.span().start), index + 1);
        let description = describe(&label, table);
        let (at, at_spread) = match table.get("at").and_then(toml::Value::as_str) {
            Some(text) if text.contains("..") => {
                let micros = |part: &str| {
                    Timestamp::parse_rfc3339(part).map(|at| at.unix_micros()).map_err(|error| error.to_string())
                };
                let spread = Spread::parse(text, &micros)
                    .map_err(|error| ScenarioError(format!("{description}: `at`: {error}")))?
                    .ok_or_else(|| ScenarioError(format!("{description}: `at`: `{text}` is not a range")))?;
                (Timestamp::from_unix_micros(spread.central()), Some(spread))
            }
            Some(text) => (instant(&description, "at", text)?, None),
            None => return Err(ScenarioError(format!("{description}: missing `at` (an RFC 3339 instant, quoted)"))),
        };
        let template = template(table, &default_actor, &description).map_err(ScenarioError)?;
        check_kind(&template, &description)?;
        // Decoding now reports every malformed event, in file order, before anything runs.
        template.decode(Some(venue), 2, at, 1, &description).map_err(ScenarioError)?;
        events.push((ScenarioEvent { at, template, label, at_spread }, description));
    }
    events.sort_by_key(|(event, _)| event.at);
    fold(source, start, venue_spec, &events)?;
    Ok(events.into_iter().map(|(event, _)| event).collect())
}

/// Folds the scenario on its own (the venue declared at `start`, then the events in time
/// order, each at its instant or at `start` if earlier, as the simulator dates them)
/// through `State::apply`: an event the state refuses here is the scenario's mistake,
/// whatever the plan. (In a run, customers and the plan can still make the state refuse
/// an event that passes here; the run lists those.)
fn fold(
    source: &str,
    start: Timestamp,
    venue: &VenueSpec,
    events: &[(ScenarioEvent, String)],
) -> Result<(), ScenarioError> {
    let mut state = State::new();
    let actor = Actor::System("scenario".to_owned());
    let declared = Envelope { seq: 1, at: start, id: 1, actor, event: Event::VenueDeclared(venue.clone()), note: None };
    if let Outcome::Rejected(rejection) = state.apply(&declared) {
        return Err(ScenarioError(format!("{source}: [venue]: {rejection}")));
    }
    for (event, description) in events {
        let at = event.at.max(start);
        let id = state.last_event_id(&event.template.actor) + 1;
        let envelope =
            event.template.decode(state.venue(), state.seq() + 1, at, id, description).map_err(ScenarioError)?;
        if let Outcome::Rejected(rejection) = state.apply(&envelope) {
            return Err(ScenarioError(format!("{description}: {rejection}")));
        }
    }
    Ok(())
}
