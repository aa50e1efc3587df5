//! The state machine: [`State::apply`] folds one envelope into the state and says what
//! happened. It is total (no input panics), deterministic, and reads no clock.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::event::*;
use crate::mode::{Level, Mode, closed_level, level_of, mode_at, valid_modes};
use crate::outcome::*;
use crate::record::{CustomerOperation, Record};
use crate::rules::{Rules, RulesVersion};
use crate::selector::Selector;
use crate::time::Timestamp;
use crate::venue::{AssetId, ServiceId, ServiceKind, ServiceTarget, Venue};

/// Holds a state has ever had, active or lifted; placing more is refused.
pub const HOLDS_MAX: usize = 65_536;
pub const INCIDENTS_MAX: usize = 65_536;

/// The gate of one service: what its holds allow right now. Kept small and in one
/// vector because every customer operation reads exactly one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub level: Level,
    /// The hold that sets `level` (the earliest placed among equals), or [`NO_HOLD`].
    pub dominant_hold: u32,
    /// The smallest order-size cap of the holds, `i64::MAX` when uncapped.
    pub cap_minor: i64,
    pub cap_hold: u32,
}

impl Gate {
    const OPEN: Gate = Gate { level: 0, dominant_hold: NO_HOLD, cap_minor: i64::MAX, cap_hold: NO_HOLD };
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRecord {
    pub name: String,
    pub cause: Cause,
    pub mode: Option<Mode>,
    pub cap_minor: Option<i64>,
    pub reason: Option<String>,
    pub selectors: Vec<Selector>,
    /// Services still covered, in service order.
    pub covers: Vec<ServiceId>,
    pub placed_at: Timestamp,
    pub placed_by: Actor,
    pub lifted_at: Option<Timestamp>,
    /// Customer operations this hold refused.
    pub refusals: u64,
}

impl HoldRecord {
    pub fn is_active(&self) -> bool {
        self.lifted_at.is_none()
    }

    /// The rung this hold puts a service of `kind` on.
    pub fn level_for(&self, kind: ServiceKind) -> Level {
        self.mode.and_then(|mode| level_of(kind, mode)).unwrap_or_else(|| closed_level(kind))
    }
}

/// What a wallet compromise still needs before an asset's withdrawals may reopen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompromisedAsset {
    pub asset: AssetId,
    pub keys_rotated_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub name: String,
    pub title: String,
    pub category: IncidentCategory,
    pub status: IncidentStatus,
    pub opened_at: Timestamp,
    pub status_since: Timestamp,
    pub blast_radius: Vec<Selector>,
    pub blast_services: Vec<ServiceId>,
    pub stolen: Vec<(AssetId, Wallet, i64)>,
    pub compromised: Vec<CompromisedAsset>,
    pub review_passed_at: Option<Timestamp>,
    /// Role → person who approved, in role order.
    pub approvals: BTreeMap<String, String>,
}

/// The venue's position in one asset, in minor units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetLedger {
    pub liabilities_minor: i64,
    pub hot_minor: i64,
    pub cold_minor: i64,
    pub stolen_minor: i64,
    pub replenished_minor: i64,
    pub refunds_paid_minor: i64,
    pub claims_converted_minor: i64,
    pub haircut_minor: i64,
}

impl AssetLedger {
    pub fn custody_minor(&self) -> i64 {
        self.hot_minor.saturating_add(self.cold_minor)
    }
}

/// Per-service counters of customer operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceImpact {
    pub accepted: u64,
    pub refused: u64,
    pub queued: u64,
    /// Queued withdrawals not yet settled (withdrawal services only).
    pub backlog_count: u64,
    pub backlog_minor: i64,
    pub backlog_peak_count: u64,
    pub backlog_peak_minor: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounters {
    pub applied: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub customer_operations: u64,
}

/// The per-customer data, as arrays indexed by customer number, which the state's serde
/// form leaves out: a snapshot carries them in a byte format of its own (exops-log's
/// snapshot code; the core knows no byte format).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerArrays {
    /// Each customer's last applied event id (0: none yet).
    pub last_event_id: Vec<u64>,
    /// A bit per customer: set once any of the customer's operations was refused or
    /// queued (`impact.customers_affected` counts them).
    pub affected_bits: Vec<u64>,
    /// The bits set in `affected_bits`.
    pub affected_count: u64,
}

impl CustomerArrays {
    #[inline]
    fn last_id(&self, customer: u32) -> u64 {
        self.last_event_id.get(customer as usize).copied().unwrap_or(0)
    }

    /// Asks the processor to start loading a customer's entries, so that the cache miss
    /// overlaps the work on the events before it.
    #[inline]
    fn prefetch(&self, customer: u32) {
        let index = customer as usize;
        if index < self.last_event_id.len() {
            prefetch_index::prefetch_index(&self.last_event_id, index);
        }
    }

    #[inline]
    fn record_id(&mut self, customer: u32, id: u64) {
        let index = customer as usize;
        if index >= self.last_event_id.len() {
            self.last_event_id.resize(index + 1, 0);
        }
        self.last_event_id[index] = id;
    }

    fn mark_affected(&mut self, customer: u32) {
        let word = customer as usize / 64;
        if word >= self.affected_bits.len() {
            self.affected_bits.resize(word + 1, 0);
        }
        let bit = 1_u64 << (customer % 64);
        if self.affected_bits[word] & bit == 0 {
            self.affected_bits[word] |= bit;
            self.affected_count += 1;
        }
    }
}

/// The whole state, for snapshots. Its serde form leaves out the per-customer arrays
/// (megabytes for a million customers, and text would spell every id in digits): they
/// travel beside it, through [`State::customer_arrays`] and
/// [`State::set_customer_arrays`].
///
/// ```
/// # use exops_core::*;
/// # let spec = VenueSpec {
/// #     name: "Tiny".into(),
/// #     assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto, decimals: 8, networks: vec![],
/// #         liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }],
/// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST,
/// # };
/// # let at = |hour: i64| Timestamp::from_unix_micros(1_709_510_400_000_000 + hour * 3_600_000_000);
/// # let staff = Actor::Staff("ops".into());
/// # let envelope = |seq: u64, actor: &Actor, event: Event| Envelope { seq, at: at(seq as i64), id: seq, actor: actor.clone(), event, note: None };
/// let mut state = State::new();
/// state.apply(&envelope(1, &staff, Event::VenueDeclared(spec)));
/// let hold = HoldPlaced {
///     hold: "maint".into(), cause: Cause::Maintenance, services: vec![Selector::parse("withdrawals:BTC").unwrap()],
///     mode: None, max_order_notional_minor: None, reason: None,
/// };
/// assert!(matches!(state.apply(&envelope(2, &staff, Event::HoldPlaced(hold))), Outcome::Applied { .. }));
/// let withdrawals = state.venue().unwrap().service_id("withdrawals:BTC").unwrap();
/// assert_eq!(state.mode(withdrawals), Some(Mode::Closed));
/// assert_eq!((state.seq(), state.at()), (2, Some(at(2))));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    venue: Option<Box<Venue>>,
    /// The rules the log declared it was written under (version 1 until it declares).
    rules: RulesVersion,
    seq: u64,
    at: Option<Timestamp>,
    ceased: Option<(Timestamp, String)>,
    gates: Vec<Gate>,
    service_holds: Vec<Vec<u32>>,
    service_since: Vec<Timestamp>,
    holds: Vec<HoldRecord>,
    hold_names: BTreeMap<String, u32>,
    incidents: Vec<IncidentRecord>,
    incident_names: BTreeMap<String, u32>,
    roles: BTreeMap<String, BTreeSet<String>>,
    ledger: Vec<AssetLedger>,
    impact: Vec<ServiceImpact>,
    #[serde(skip)]
    customers: CustomerArrays,
    other_actor_last_id: BTreeMap<Actor, u64>,
    counters: EventCounters,
    phases: Vec<PhaseMarker>,
}

/// A `phase_opened` event the state recorded: which phase, when, and at which event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseMarker {
    pub phase: String,
    pub at: Timestamp,
    pub seq: u64,
}

/// What an applied operator event changed, for [`Outcome::Applied`].
#[derive(Debug, Default)]
struct ServicesChanged {
    mode_or_cap: Vec<ServiceId>,
    gate_or_holds: Vec<ServiceId>,
}

impl ServicesChanged {
    fn into_outcome(self) -> Outcome {
        Outcome::Applied { changed: self.mode_or_cap, gates_or_holds_changed: self.gate_or_holds }
    }
}

type Applied = Result<ServicesChanged, Rejection>;

/// How many events ahead [`State::apply_batch`] starts loading a customer's entries.
pub const LOOKAHEAD: usize = 8;

fn invalid(field: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::Invalid { field, message: message.into() }
}

fn positive(field: &'static str, amount: i64) -> Result<i64, Rejection> {
    if amount > 0 { Ok(amount) } else { Err(invalid(field, format!("must be positive, got {amount}"))) }
}

impl State {
    /// The state before any event: no venue, sequence number 0.
    ///
    /// ```
    /// assert_eq!(exops_core::State::new().seq(), 0);
    /// ```
    pub fn new() -> State {
        State::default()
    }

    /// ```
    /// assert!(exops_core::State::new().venue().is_none());
    /// ```
    pub fn venue(&self) -> Option<&Venue> {
        self.venue.as_deref()
    }

    /// Whether every index the state holds points inside it (services, holds, incidents,
    /// assets): a state read back from a snapshot's JSON is checked with this before it is
    /// used, so that bytes which pass a checksum but were never a state the fold made (a
    /// bug, or a file edited with its checksum recomputed) are refused, not indexed.
    ///
    /// ```
    /// let state = exops_core::State::new();
    /// assert_eq!(state.check_consistency(), Ok(()));
    /// let mut json: serde_json::Value = serde_json::to_value(&state).unwrap();
    /// json["service_holds"] = serde_json::json!([[0]]);
    /// let edited: exops_core::State = serde_json::from_value(json).unwrap();
    /// assert!(edited.check_consistency().is_err());
    /// ```
    pub fn check_consistency(&self) -> Result<(), String> {
        let (services, assets) = match &self.venue {
            Some(venue) => {
                venue.check_consistency()?;
                (venue.services.len(), venue.assets.len())
            }
            None => (0, 0),
        };
        let per_service = [
            ("gates", self.gates.len()),
            ("service_holds", self.service_holds.len()),
            ("service_since", self.service_since.len()),
            ("impact", self.impact.len()),
        ];
        for (what, len) in per_service {
            if len != services {
                return Err(format!("{len} {what} for {services} services"));
            }
        }
        if self.ledger.len() != assets {
            return Err(format!("{} ledgers for {assets} assets", self.ledger.len()));
        }
        let holds = self.holds.len();
        let hold = |slot: u32, what: &str| {
            if (slot as usize) < holds { Ok(()) } else { Err(format!("{what} names hold {slot} of {holds}")) }
        };
        let service = |id: ServiceId, what: &str| {
            if (id.0 as usize) < services {
                Ok(())
            } else {
                Err(format!("{what} names service {} of {services}", id.0))
            }
        };
        for gate in &self.gates {
            for slot in [gate.dominant_hold, gate.cap_hold] {
                if slot != NO_HOLD {
                    hold(slot, "a gate")?;
                }
            }
        }
        for slot in self.service_holds.iter().flatten().chain(self.hold_names.values()) {
            hold(*slot, "a service's holds")?;
        }
        for record in &self.holds {
            for id in &record.covers {
                service(*id, "a hold")?;
            }
        }
        for slot in self.incident_names.values() {
            if *slot as usize >= self.incidents.len() {
                return Err(format!("an incident name names incident {slot} of {}", self.incidents.len()));
            }
        }
        for incident in &self.incidents {
            for id in &incident.blast_services {
                service(*id, "an incident")?;
            }
            let stolen = incident.stolen.iter().map(|(asset, _, _)| *asset);
            for asset in stolen.chain(incident.compromised.iter().map(|compromised| compromised.asset)) {
                if usize::from(asset.0) >= assets {
                    return Err(format!("incident `{}` names asset {} of {assets}", incident.name, asset.0));
                }
            }
        }
        Ok(())
    }

    /// Sequence number of the last event folded in (applied, duplicate or rejected).
    ///
    /// ```
    /// assert_eq!(exops_core::State::new().seq(), 0);
    /// ```
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Instant of the last applied event.
    ///
    /// ```
    /// assert_eq!(exops_core::State::new().at(), None);
    /// ```
    pub fn at(&self) -> Option<Timestamp> {
        self.at
    }

    /// The rules version the log declared, which it is folded with (version 1 before the
    /// venue is declared, and for a declaration that does not say).
    ///
    /// ```
    /// assert_eq!(exops_core::State::new().rules(), exops_core::RulesVersion::FIRST);
    /// ```
    pub fn rules(&self) -> RulesVersion {
        self.rules
    }

    /// ```
    /// assert!(exops_core::State::new().ceased().is_none());
    /// ```
    pub fn ceased(&self) -> Option<(Timestamp, &str)> {
        self.ceased.as_ref().map(|(at, reason)| (*at, reason.as_str()))
    }

    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec { name: "Tiny".into(), assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto,
    /// #     decimals: 8, networks: vec![], liabilities_minor: 0, hot_minor: 0, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST };
    /// # let mut state = State::new();
    /// # state.apply(&Envelope { seq: 1, at: Timestamp::from_unix_micros(0), id: 1, actor: Actor::Staff("ops".into()),
    /// #     event: Event::VenueDeclared(spec), note: None });
    /// let login = state.venue().unwrap().service_id("login").unwrap();
    /// assert_eq!(state.gate(login).cap_minor, i64::MAX, "uncapped");
    /// ```
    pub fn gate(&self, service: ServiceId) -> Gate {
        self.gates[service.index()]
    }

    /// The effective mode of a service.
    ///
    /// ```
    /// assert_eq!(exops_core::State::new().mode(exops_core::ServiceId(0)), None, "no venue, no service");
    /// ```
    pub fn mode(&self, service: ServiceId) -> Option<Mode> {
        let venue = self.venue()?;
        let kind = venue.services.get(service.index())?.kind;
        Some(mode_at(kind, self.gates[service.index()].level))
    }

    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec { name: "Tiny".into(), assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto,
    /// #     decimals: 8, networks: vec![], liabilities_minor: 0, hot_minor: 0, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST };
    /// # let mut state = State::new();
    /// # state.apply(&Envelope { seq: 1, at: Timestamp::from_unix_micros(0), id: 1, actor: Actor::Staff("ops".into()),
    /// #     event: Event::VenueDeclared(spec), note: None });
    /// let login = state.venue().unwrap().service_id("login").unwrap();
    /// assert_eq!(state.service_since(login), Timestamp::from_unix_micros(0));
    /// ```
    pub fn service_since(&self, service: ServiceId) -> Timestamp {
        self.service_since[service.index()]
    }

    /// Active holds covering a service, by slot, in placement order.
    ///
    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec { name: "Tiny".into(), assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto,
    /// #     decimals: 8, networks: vec![], liabilities_minor: 0, hot_minor: 0, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST };
    /// # let mut state = State::new();
    /// # state.apply(&Envelope { seq: 1, at: Timestamp::from_unix_micros(0), id: 1, actor: Actor::Staff("ops".into()),
    /// #     event: Event::VenueDeclared(spec), note: None });
    /// let login = state.venue().unwrap().service_id("login").unwrap();
    /// assert!(state.holds_covering(login).is_empty());
    /// ```
    pub fn holds_covering(&self, service: ServiceId) -> &[u32] {
        &self.service_holds[service.index()]
    }

    /// The hold in `slot` (slots come from [`State::holds_covering`] and the gates);
    /// panics on a slot no hold was ever placed in.
    ///
    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec { name: "Tiny".into(), assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto,
    /// #     decimals: 8, networks: vec![], liabilities_minor: 0, hot_minor: 0, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST };
    /// # let staff = Actor::Staff("ops".into());
    /// # let envelope = |seq: u64, event: Event| Envelope { seq, at: Timestamp::from_unix_micros(0), id: seq, actor: staff.clone(), event, note: None };
    /// let mut state = State::new();
    /// state.apply(&envelope(1, Event::VenueDeclared(spec)));
    /// state.apply(&envelope(2, Event::HoldPlaced(HoldPlaced {
    ///     hold: "maint".into(), cause: Cause::Maintenance, services: vec![Selector::parse("login").unwrap()],
    ///     mode: None, max_order_notional_minor: None, reason: None,
    /// })));
    /// let login = state.venue().unwrap().service_id("login").unwrap();
    /// assert_eq!(state.hold(state.holds_covering(login)[0]).name, "maint");
    /// ```
    pub fn hold(&self, slot: u32) -> &HoldRecord {
        &self.holds[slot as usize]
    }

    /// Every hold ever placed, by slot.
    ///
    /// ```
    /// assert!(exops_core::State::new().holds().is_empty());
    /// ```
    pub fn holds(&self) -> &[HoldRecord] {
        &self.holds
    }

    /// ```
    /// assert!(exops_core::State::new().incidents().is_empty());
    /// ```
    pub fn incidents(&self) -> &[IncidentRecord] {
        &self.incidents
    }

    /// ```
    /// assert!(exops_core::State::new().roles().is_empty());
    /// ```
    pub fn roles(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.roles
    }

    /// ```
    /// assert!(exops_core::State::new().ledger().is_empty());
    /// ```
    pub fn ledger(&self) -> &[AssetLedger] {
        &self.ledger
    }

    /// ```
    /// assert!(exops_core::State::new().impact().is_empty());
    /// ```
    pub fn impact(&self) -> &[ServiceImpact] {
        &self.impact
    }

    /// ```
    /// assert_eq!(exops_core::State::new().customers_affected(), 0);
    /// ```
    pub fn customers_affected(&self) -> u64 {
        self.customers.affected_count
    }

    /// ```
    /// assert_eq!(exops_core::State::new().counters().applied, 0);
    /// ```
    pub fn counters(&self) -> &EventCounters {
        &self.counters
    }

    /// Every phase marker (`phase_opened`) applied so far, in log order.
    ///
    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec {
    /// #     name: "Tiny".into(),
    /// #     assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto, decimals: 8, networks: vec![],
    /// #         liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST,
    /// # };
    /// # let at = |hour: i64| Timestamp::from_unix_micros(1_709_510_400_000_000 + hour * 3_600_000_000);
    /// # let staff = Actor::Staff("ops".into());
    /// # let envelope = |seq: u64, actor: &Actor, event: Event| Envelope { seq, at: at(seq as i64), id: seq, actor: actor.clone(), event, note: None };
    /// let mut state = State::new();
    /// state.apply(&envelope(1, &staff, Event::VenueDeclared(spec)));
    /// state.apply(&envelope(2, &staff, Event::PhaseOpened(PhaseOpened { phase: "reopen".into() })));
    /// assert_eq!(state.phases()[0].phase, "reopen");
    /// ```
    pub fn phases(&self) -> &[PhaseMarker] {
        &self.phases
    }

    /// Folds one envelope into the state: applied, gated (a customer operation), a
    /// duplicate, or rejected with its reason (and then nothing but the sequence number
    /// and the rejection count changes). Never panics.
    ///
    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec {
    /// #     name: "Tiny".into(),
    /// #     assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto, decimals: 8, networks: vec![],
    /// #         liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST,
    /// # };
    /// # let at = |hour: i64| Timestamp::from_unix_micros(1_709_510_400_000_000 + hour * 3_600_000_000);
    /// # let staff = Actor::Staff("ops".into());
    /// # let envelope = |seq: u64, actor: &Actor, event: Event| Envelope { seq, at: at(seq as i64), id: seq, actor: actor.clone(), event, note: None };
    /// let mut state = State::new();
    /// // Nothing before the venue.
    /// let outcome = state.apply(&envelope(1, &staff, Event::PhaseOpened(PhaseOpened { phase: "one".into() })));
    /// assert_eq!(outcome, Outcome::Rejected(Rejection::NoVenue));
    /// state.apply(&envelope(2, &staff, Event::VenueDeclared(spec)));
    /// let login = envelope(3, &Actor::Customer(7), Event::LoginAttempted);
    /// assert_eq!(state.apply(&login), Outcome::Customer(Gated::Accepted));
    /// // The same event again, as the next in the log: a retry, applied once.
    /// let retry = Envelope { seq: 4, ..login };
    /// assert_eq!(state.apply(&retry), Outcome::Duplicate { last_id: 3 });
    /// ```
    #[inline]
    pub fn apply(&mut self, envelope: &Envelope) -> Outcome {
        // The one place the rules version decides: each version this build knows folds
        // with its own rules, and a new version must say here (and wherever its rules
        // differ) what it does. Version 1 is every rule below.
        match self.rules.rules() {
            Rules::V1 => self.apply_v1(envelope),
        }
    }

    /// [`State::apply`] under rules version 1.
    #[inline]
    fn apply_v1(&mut self, envelope: &Envelope) -> Outcome {
        if let Err(rejected) = self.take_seq(envelope.seq) {
            return rejected;
        }
        if let Actor::Customer(customer) = envelope.actor
            && let Some(operation) = envelope.event.customer_operation()
        {
            return self.apply_customer_operation(customer, envelope.id, envelope.at, operation);
        }
        self.apply_other(envelope)
    }

    /// Folds one record: the outcome [`State::apply`] gives the envelope it stands for
    /// (see [`Record`]), without building that envelope.
    ///
    /// ```
    /// # use exops_core::*;
    /// let login = Envelope { seq: 1, at: Timestamp::from_unix_micros(0), id: 1, actor: Actor::Customer(7), event: Event::LoginAttempted, note: None };
    /// let (mut by_envelope, mut by_record) = (State::new(), State::new());
    /// assert_eq!(by_record.apply_record(&Record::from(login.clone())), by_envelope.apply(&login));
    /// assert_eq!(by_record, by_envelope);
    /// ```
    #[inline]
    pub fn apply_record(&mut self, record: &Record) -> Outcome {
        match record {
            Record::Customer(record) => match self.rules.rules() {
                // As in `State::apply`: each rules version folds with its own rules.
                Rules::V1 => match self.take_seq(record.seq) {
                    Ok(()) => self.apply_customer_operation(record.customer, record.id, record.at, record.operation),
                    Err(rejected) => rejected,
                },
            },
            Record::Other(envelope) => self.apply(envelope),
        }
    }

    /// [`State::apply_record`] over a run of records, handing each outcome to `each`, with
    /// the customer lookups started [`LOOKAHEAD`] records early (as [`State::apply_batch`]).
    ///
    /// ```
    /// # use exops_core::*;
    /// let at = Timestamp::from_unix_micros(0);
    /// let records: Vec<Record> = (1..=3)
    ///     .map(|seq| Record::from(Envelope { seq, at, id: 1, actor: Actor::Customer(seq as u32), event: Event::LoginAttempted, note: None }))
    ///     .collect();
    /// let mut state = State::new();
    /// let mut outcomes = Vec::new();
    /// state.apply_records(&records, |_, outcome| outcomes.push(outcome));
    /// assert_eq!(outcomes, vec![Outcome::Rejected(Rejection::NoVenue); 3], "no venue declared yet");
    /// assert_eq!(state.seq(), 3);
    /// ```
    pub fn apply_records(&mut self, records: &[Record], mut each: impl FnMut(&Record, Outcome)) {
        for (index, record) in records.iter().enumerate() {
            if let Some(Record::Customer(ahead)) = records.get(index + LOOKAHEAD) {
                self.customers.prefetch(ahead.customer);
            }
            let outcome = self.apply_record(record);
            each(record, outcome);
        }
    }

    /// Takes `seq` as the next sequence number, or counts the event rejected when it is not.
    #[inline]
    fn take_seq(&mut self, seq: u64) -> Result<(), Outcome> {
        let expected = self.seq + 1;
        if seq != expected {
            self.counters.rejected += 1;
            return Err(Outcome::Rejected(Rejection::OutOfSequence { expected, found: seq }));
        }
        self.seq = seq;
        Ok(())
    }

    /// [`State::apply`] for a customer operation by a customer, ~99% of a busy log: the
    /// same checks in the same order as [`State::apply_in_sequence`], on a short path.
    #[inline]
    fn apply_customer_operation(
        &mut self,
        customer: u32,
        id: u64,
        at: Timestamp,
        operation: CustomerOperation,
    ) -> Outcome {
        let last_id = self.customers.last_id(customer);
        if id <= last_id {
            self.counters.duplicates += 1;
            return Outcome::Duplicate { last_id };
        }
        let rejection = if let Some(previous) = self.at
            && at < previous
        {
            Rejection::TimeWentBackwards { previous, found: at }
        } else if self.venue.is_none() {
            Rejection::NoVenue
        } else {
            match self.gate_customer_operation(customer, operation) {
                Ok(gated) => {
                    self.counters.applied += 1;
                    self.at = Some(at);
                    self.customers.record_id(customer, id);
                    return Outcome::Customer(gated);
                }
                Err(rejection) => rejection,
            }
        };
        self.counters.rejected += 1;
        Outcome::Rejected(rejection)
    }

    #[inline(never)]
    fn apply_other(&mut self, envelope: &Envelope) -> Outcome {
        let outcome = self.apply_in_sequence(envelope);
        match &outcome {
            Outcome::Rejected(_) => self.counters.rejected += 1,
            Outcome::Duplicate { .. } => self.counters.duplicates += 1,
            Outcome::Applied { .. } | Outcome::Customer(_) => {
                self.counters.applied += 1;
                self.at = Some(envelope.at);
                match &envelope.actor {
                    Actor::Customer(customer) => self.customers.record_id(*customer, envelope.id),
                    other => {
                        self.other_actor_last_id.insert(other.clone(), envelope.id);
                    }
                }
            }
        }
        outcome
    }

    /// The per-customer arrays, for a snapshot to carry beside the state's serde form.
    ///
    /// ```
    /// let state = exops_core::State::new();
    /// assert_eq!(state.customer_arrays(), &exops_core::CustomerArrays::default());
    /// ```
    pub fn customer_arrays(&self) -> &CustomerArrays {
        &self.customers
    }

    /// Restores the per-customer arrays a snapshot carried. Refused, leaving the state
    /// unchanged, when the affected count is not the number of bits set (a damaged or
    /// foreign snapshot).
    ///
    /// ```
    /// use exops_core::{CustomerArrays, State};
    /// let mut state = State::new();
    /// let arrays = CustomerArrays { last_event_id: vec![0, 7], affected_bits: vec![0b10], affected_count: 1 };
    /// state.set_customer_arrays(arrays.clone()).unwrap();
    /// assert_eq!(state.customer_arrays(), &arrays);
    /// let wrong = CustomerArrays { affected_count: 2, ..arrays };
    /// assert!(state.set_customer_arrays(wrong).unwrap_err().contains("2 customers affected"));
    /// ```
    pub fn set_customer_arrays(&mut self, arrays: CustomerArrays) -> Result<(), String> {
        let set: u64 = arrays.affected_bits.iter().map(|word| u64::from(word.count_ones())).sum();
        if set != arrays.affected_count {
            return Err(format!(
                "the customer data says {} customers affected, its bitmap {set}",
                arrays.affected_count
            ));
        }
        self.customers = arrays;
        Ok(())
    }

    /// Folds envelopes in order, handing each outcome to `each`: the same as calling
    /// [`State::apply`] on each, but faster on long runs of customer operations. With a
    /// million customers, the per-customer last-id lookup is a cache miss; here it is
    /// started [`LOOKAHEAD`] events early so that the misses overlap.
    ///
    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec {
    /// #     name: "Tiny".into(),
    /// #     assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto, decimals: 8, networks: vec![],
    /// #         liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST,
    /// # };
    /// # let at = |hour: i64| Timestamp::from_unix_micros(1_709_510_400_000_000 + hour * 3_600_000_000);
    /// # let staff = Actor::Staff("ops".into());
    /// # let envelope = |seq: u64, actor: &Actor, event: Event| Envelope { seq, at: at(seq as i64), id: seq, actor: actor.clone(), event, note: None };
    /// let events = vec![
    ///     envelope(1, &staff, Event::VenueDeclared(spec)),
    ///     envelope(2, &Actor::Customer(1), Event::LoginAttempted),
    ///     envelope(3, &Actor::Customer(2), Event::SignupRequested),
    /// ];
    /// let (mut one_by_one, mut batched) = (State::new(), State::new());
    /// let outcomes: Vec<Outcome> = events.iter().map(|event| one_by_one.apply(event)).collect();
    /// let mut batch_outcomes = Vec::new();
    /// batched.apply_batch(&events, |_, outcome| batch_outcomes.push(outcome));
    /// assert_eq!((batch_outcomes, batched), (outcomes, one_by_one));
    /// ```
    pub fn apply_batch(&mut self, envelopes: &[Envelope], mut each: impl FnMut(&Envelope, Outcome)) {
        for (index, envelope) in envelopes.iter().enumerate() {
            if let Some(ahead) = envelopes.get(index + LOOKAHEAD) {
                self.prefetch(&ahead.actor);
            }
            let outcome = self.apply(envelope);
            each(envelope, outcome);
        }
    }

    /// Starts loading what folding an event by `actor` will look up (a customer's last
    /// id), for callers that know their next events: see [`State::apply_batch`].
    #[inline]
    pub fn prefetch(&self, actor: &Actor) {
        if let Actor::Customer(customer) = actor {
            self.customers.prefetch(*customer);
        }
    }

    /// Counts an event that could not even be read (a malformed line) as rejected at
    /// the next sequence number, so that the events after it keep their numbers.
    pub fn reject_unreadable(&mut self) {
        self.seq += 1;
        self.counters.rejected += 1;
    }

    /// The last event id applied for `actor` (0 when none): an id at or below it is a
    /// duplicate.
    ///
    /// ```
    /// assert_eq!(exops_core::State::new().last_event_id(&exops_core::Actor::Customer(7)), 0);
    /// ```
    pub fn last_event_id(&self, actor: &Actor) -> u64 {
        self.last_id(actor)
    }

    fn last_id(&self, actor: &Actor) -> u64 {
        match actor {
            Actor::Customer(customer) => self.customers.last_id(*customer),
            other => self.other_actor_last_id.get(other).copied().unwrap_or(0),
        }
    }

    fn apply_in_sequence(&mut self, envelope: &Envelope) -> Outcome {
        // A retry is a duplicate whatever its timestamp, so ids are checked before time.
        let last_id = self.last_id(&envelope.actor);
        if envelope.id <= last_id {
            return Outcome::Duplicate { last_id };
        }
        if let Some(previous) = self.at
            && envelope.at < previous
        {
            return Outcome::Rejected(Rejection::TimeWentBackwards { previous, found: envelope.at });
        }
        if let (Event::VenueDeclared(_), Actor::Customer(_)) = (&envelope.event, &envelope.actor) {
            return Outcome::Rejected(Rejection::WrongActor {
                event: "venue_declared",
                expected: "staff or a system (`staff:NAME`, `system:NAME`)",
                found: envelope.actor.to_string(),
            });
        }
        if let Event::VenueDeclared(spec) = &envelope.event {
            return match self.declare_venue(spec, envelope.at) {
                Ok(changed) => changed.into_outcome(),
                Err(rejection) => Outcome::Rejected(rejection),
            };
        }
        if self.venue.is_none() {
            return Outcome::Rejected(Rejection::NoVenue);
        }
        if let Some(operation) = envelope.event.customer_operation() {
            let Actor::Customer(customer) = envelope.actor else {
                return Outcome::Rejected(Rejection::WrongActor {
                    event: envelope.event.kind_name(),
                    expected: "a customer (`customer:ID`)",
                    found: envelope.actor.to_string(),
                });
            };
            return match self.gate_customer_operation(customer, operation) {
                Ok(gated) => Outcome::Customer(gated),
                Err(rejection) => Outcome::Rejected(rejection),
            };
        }
        if let Actor::Customer(_) = envelope.actor {
            return Outcome::Rejected(Rejection::WrongActor {
                event: envelope.event.kind_name(),
                expected: "staff or a system (`staff:NAME`, `system:NAME`)",
                found: envelope.actor.to_string(),
            });
        }
        // A phase marker is an annotation: it changes no service and is accepted even after
        // the venue ceased (a plan may still open phases, such as a distribution, then).
        if let Event::PhaseOpened(opened) = &envelope.event {
            return match self.open_phase(opened, envelope) {
                Ok(changed) => changed.into_outcome(),
                Err(rejection) => Outcome::Rejected(rejection),
            };
        }
        if let Some((at, _)) = self.ceased {
            return Outcome::Rejected(Rejection::VenueCeased { at });
        }
        match self.apply_operator_event(envelope) {
            Ok(changed) => changed.into_outcome(),
            Err(rejection) => Outcome::Rejected(rejection),
        }
    }

    fn open_phase(&mut self, opened: &PhaseOpened, envelope: &Envelope) -> Applied {
        if opened.phase.trim().is_empty() {
            return Err(invalid("phase", "must name the phase that opened, got an empty name"));
        }
        self.phases.push(PhaseMarker { phase: opened.phase.clone(), at: envelope.at, seq: envelope.seq });
        Ok(ServicesChanged::default())
    }

    fn venue_ref(&self) -> &Venue {
        self.venue.as_deref().expect("operator and customer events are applied only after the venue")
    }

    fn declare_venue(&mut self, spec: &crate::venue::VenueSpec, at: Timestamp) -> Applied {
        if self.venue.is_some() {
            return Err(Rejection::VenueAlreadyDeclared);
        }
        let venue = Venue::from_spec(spec).map_err(|error| Rejection::InvalidVenue(error.0))?;
        let services = venue.services.len();
        self.gates = vec![Gate::OPEN; services];
        self.service_holds = vec![Vec::new(); services];
        self.service_since = vec![at; services];
        self.impact = vec![ServiceImpact::default(); services];
        self.ledger = spec
            .assets
            .iter()
            .map(|asset| AssetLedger {
                liabilities_minor: asset.liabilities_minor,
                hot_minor: asset.hot_minor,
                cold_minor: asset.cold_minor,
                ..AssetLedger::default()
            })
            .collect();
        self.venue = Some(Box::new(venue));
        self.rules = spec.rules;
        let all: Vec<ServiceId> = (0..services as u32).map(ServiceId).collect();
        Ok(ServicesChanged { mode_or_cap: all.clone(), gate_or_holds: all })
    }

    fn apply_operator_event(&mut self, envelope: &Envelope) -> Applied {
        let at = envelope.at;
        match &envelope.event {
            Event::RoleGranted(grant) => self.grant_role(grant),
            Event::IncidentOpened(opened) => self.open_incident(opened, at),
            Event::TheftRecorded(recorded) => self.add_thefts(recorded),
            Event::IncidentUpdated(update) => self.update_incident(update, at),
            Event::HoldPlaced(placed) => self.place_hold(placed, &envelope.actor, at),
            Event::HoldLifted(lifted) => self.lift_hold(lifted, at),
            Event::HoldModeSet(set) => self.set_hold_mode(set, at),
            Event::KeysRotated(rotated) => self.rotate_keys(rotated, at),
            Event::SecurityReviewPassed(review) => self.pass_review(review, &envelope.actor, at),
            Event::ApprovalGiven(approval) => self.approve(approval, &envelope.actor),
            Event::CustodyTransferred(transfer) => self.transfer_custody(transfer),
            Event::CustodyReplenished(replenished) => self.replenish(replenished),
            Event::RefundPaid(refund) => self.pay_refund(refund),
            Event::ClaimsConverted(conversion) => self.convert_claims(conversion),
            Event::HaircutApplied(haircut) => self.apply_haircut(haircut),
            Event::WithdrawalsSettled(settled) => self.settle_withdrawals(settled),
            Event::VenueCeased(ceased) => self.cease(ceased, at),
            Event::VenueDeclared(_)
            | Event::PhaseOpened(_)
            | Event::OrderSubmitted(_)
            | Event::OrderCancelled(_)
            | Event::DepositReceived(_)
            | Event::WithdrawalRequested(_)
            | Event::MarginRequested(_)
            | Event::SignupRequested
            | Event::LoginAttempted => unreachable!("handled before operator events"),
        }
    }

    // ----- names -------------------------------------------------------------------

    fn asset_named(&self, code: &str) -> Result<AssetId, Rejection> {
        self.venue_ref().asset_id(code).ok_or_else(|| Rejection::UnknownAsset(code.to_owned()))
    }

    fn incident_slot(&self, name: &str) -> Result<u32, Rejection> {
        self.incident_names.get(name).copied().ok_or_else(|| Rejection::UnknownIncident(name.to_owned()))
    }

    fn active_hold_slot(&self, name: &str) -> Result<u32, Rejection> {
        match self.hold_names.get(name) {
            Some(slot) if self.holds[*slot as usize].is_active() => Ok(*slot),
            _ => Err(Rejection::UnknownHold(name.to_owned())),
        }
    }

    fn resolve_all(&self, selectors: &[Selector]) -> Result<Vec<ServiceId>, Rejection> {
        let mut services = BTreeSet::new();
        for selector in selectors {
            let resolved =
                selector.resolve(self.venue_ref()).map_err(|error| Rejection::UnknownService(error.to_string()))?;
            services.extend(resolved);
        }
        Ok(services.into_iter().collect())
    }

    fn check_name(what: &'static str, name: &str) -> Result<(), Rejection> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-:/".contains(&byte));
        if valid { Ok(()) } else { Err(invalid(what, format!("`{name}` must be 1 to 64 letters, digits or `._-:/`"))) }
    }

    // ----- roles and incidents -------------------------------------------------------

    fn grant_role(&mut self, grant: &RoleGranted) -> Applied {
        Self::check_name("person", &grant.person)?;
        Self::check_name("role", &grant.role)?;
        let roles = self.roles.entry(grant.person.clone()).or_default();
        if !roles.insert(grant.role.clone()) {
            return Err(invalid("role", format!("`{}` already has role `{}`", grant.person, grant.role)));
        }
        Ok(ServicesChanged::default())
    }

    fn open_incident(&mut self, opened: &IncidentOpened, at: Timestamp) -> Applied {
        Self::check_name("incident", &opened.incident)?;
        if self.incident_names.contains_key(&opened.incident) {
            return Err(Rejection::NameTaken { what: "incident", name: opened.incident.clone() });
        }
        if self.incidents.len() >= INCIDENTS_MAX {
            return Err(invalid("incident", format!("at most {INCIDENTS_MAX} incidents")));
        }
        if opened.category != IncidentCategory::WalletCompromise && !opened.stolen.is_empty() {
            return Err(invalid("stolen", "only a `wallet_compromise` incident lists stolen funds"));
        }
        if opened.blast_radius.is_empty() {
            return Err(invalid("blast_radius", "list the services the incident may hold (e.g. [\"*\"])"));
        }
        let blast_services = self.resolve_all(&opened.blast_radius)?;
        let slot = self.incidents.len() as u32;
        self.incidents.push(IncidentRecord {
            name: opened.incident.clone(),
            title: opened.title.clone(),
            category: opened.category,
            status: IncidentStatus::Investigating,
            opened_at: at,
            status_since: at,
            blast_radius: opened.blast_radius.clone(),
            blast_services,
            stolen: Vec::new(),
            compromised: Vec::new(),
            review_passed_at: None,
            approvals: BTreeMap::new(),
        });
        if let Err(rejection) = self.record_thefts(slot, &opened.stolen) {
            self.incidents.pop();
            return Err(rejection);
        }
        self.incident_names.insert(opened.incident.clone(), slot);
        Ok(ServicesChanged::default())
    }

    fn add_thefts(&mut self, recorded: &TheftRecorded) -> Applied {
        let slot = self.compromise_incident(&recorded.incident)?;
        if self.incidents[slot as usize].status == IncidentStatus::Resolved {
            return Err(invalid("incident", format!("incident `{}` is resolved", recorded.incident)));
        }
        if recorded.stolen.is_empty() {
            return Err(invalid("stolen", "list what was stolen (asset, wallet, amount_minor)"));
        }
        self.record_thefts(slot, &recorded.stolen)?;
        Ok(ServicesChanged::default())
    }

    /// Takes stolen funds out of custody and puts their assets under the compromise
    /// controls; all or nothing.
    fn record_thefts(&mut self, slot: u32, thefts: &[Theft]) -> Result<(), Rejection> {
        let mut ledger = self.ledger.clone();
        let mut stolen = Vec::with_capacity(thefts.len());
        for theft in thefts {
            let asset = self.asset_named(&theft.asset)?;
            let amount = positive("amount_minor", theft.amount_minor)?;
            let entry = &mut ledger[asset.0 as usize];
            let (wallet_balance, what) = match theft.wallet {
                Wallet::Hot => (&mut entry.hot_minor, "hot wallet"),
                Wallet::Cold => (&mut entry.cold_minor, "cold wallet"),
            };
            if *wallet_balance < amount {
                return Err(Rejection::InsufficientFunds {
                    asset: theft.asset.clone(),
                    what,
                    available_minor: *wallet_balance,
                    requested_minor: amount,
                });
            }
            *wallet_balance -= amount;
            entry.stolen_minor =
                entry.stolen_minor.checked_add(amount).ok_or(Rejection::Overflow { asset: theft.asset.clone() })?;
            stolen.push((asset, theft.wallet, amount));
        }
        self.ledger = ledger;
        let incident = &mut self.incidents[slot as usize];
        for (asset, _, _) in &stolen {
            if !incident.compromised.iter().any(|known| known.asset == *asset) {
                incident.compromised.push(CompromisedAsset { asset: *asset, keys_rotated_at: None });
            }
        }
        incident.stolen.extend(stolen);
        Ok(())
    }

    fn update_incident(&mut self, update: &IncidentUpdated, at: Timestamp) -> Applied {
        let slot = self.incident_slot(&update.incident)?;
        let current = self.incidents[slot as usize].status;
        if update.status <= current {
            return Err(invalid(
                "status",
                format!(
                    "incident `{}` is `{}`; its status only moves forward (investigating, identified, monitoring, resolved)",
                    update.incident,
                    current.name()
                ),
            ));
        }
        if update.status == IncidentStatus::Resolved {
            let active: Vec<String> = self
                .holds
                .iter()
                .filter(|hold| hold.is_active() && hold.cause == Cause::Incident(update.incident.clone()))
                .map(|hold| hold.name.clone())
                .collect();
            if !active.is_empty() {
                return Err(Rejection::IncidentHasActiveHolds { incident: update.incident.clone(), holds: active });
            }
        }
        let incident = &mut self.incidents[slot as usize];
        incident.status = update.status;
        incident.status_since = at;
        Ok(ServicesChanged::default())
    }

    // ----- holds ----------------------------------------------------------------------

    /// Checks that `mode` and `cap` make sense for every service in `covers`.
    fn check_hold_shape(&self, covers: &[ServiceId], mode: Option<Mode>, cap: Option<i64>) -> Result<(), Rejection> {
        let venue = self.venue_ref();
        if let Some(mode) = mode {
            for service in covers {
                let service = venue.service(*service);
                if level_of(service.kind, mode).is_none() {
                    return Err(invalid(
                        "mode",
                        format!("`{mode}` is not a mode of `{}`; valid: {}", service.name, valid_modes(service.kind)),
                    ));
                }
            }
        }
        if let Some(cap) = cap {
            positive("max_order_notional_minor", cap)?;
            if let Some(service) = covers.iter().map(|id| venue.service(*id)).find(|s| s.kind != ServiceKind::Trading) {
                return Err(invalid(
                    "max_order_notional_minor",
                    format!("order-size caps apply to trading services only, and the hold covers `{}`", service.name),
                ));
            }
        }
        let restricts = covers.iter().any(|id| {
            let kind = venue.service(*id).kind;
            mode.and_then(|mode| level_of(kind, mode)).unwrap_or_else(|| closed_level(kind)) > 0
        });
        if !restricts && cap.is_none() {
            return Err(invalid("mode", "a hold in a fully open mode without a cap restricts nothing"));
        }
        Ok(())
    }

    fn compute_gate(&self, service: ServiceId, holds: &[u32], overrides: Option<(u32, &HoldRecord)>) -> Gate {
        if self.ceased.is_some() {
            let kind = self.venue_ref().service(service).kind;
            return Gate { level: closed_level(kind), ..Gate::OPEN };
        }
        let kind = self.venue_ref().service(service).kind;
        let mut gate = Gate::OPEN;
        for slot in holds {
            let hold = match overrides {
                Some((changed, record)) if changed == *slot => record,
                _ => &self.holds[*slot as usize],
            };
            let level = hold.level_for(kind);
            if level > gate.level {
                gate.level = level;
                gate.dominant_hold = *slot;
            }
            if let Some(cap) = hold.cap_minor
                && cap < gate.cap_minor
            {
                gate.cap_minor = cap;
                gate.cap_hold = *slot;
            }
        }
        gate
    }

    /// Refuses a change that would move a compromised asset's withdrawals out of
    /// `closed` before its controls are met ([`State::withdrawal_controls`]), naming the
    /// first incident, in opening order, that still needs something.
    fn check_controls(&self, service: ServiceId, new_gate: Gate) -> Result<(), Rejection> {
        let venue = self.venue_ref();
        let details = venue.service(service);
        let ServiceTarget::Asset { asset, .. } = details.target else { return Ok(()) };
        if details.kind != ServiceKind::Withdrawals || new_gate.level >= closed_level(details.kind) {
            return Ok(());
        }
        let Some(unmet) = self.withdrawal_controls(asset).unmet.into_iter().next() else { return Ok(()) };
        Err(Rejection::ControlUnmet {
            service: details.name.clone(),
            would_be: mode_at(details.kind, new_gate.level),
            incident: self.incidents[unmet.incident as usize].name.clone(),
            missing: unmet.missing.iter().map(|missing| missing.describe(venue)).collect(),
        })
    }

    /// Writes the new gates of `updates` (in service order). `holds_changed` says whether
    /// the event changed the covering holds of every service in `updates` (placing or
    /// lifting a hold), so that each is reported even when its gate stays the same.
    fn commit_gates(&mut self, updates: Vec<(ServiceId, Gate)>, holds_changed: bool, at: Timestamp) -> ServicesChanged {
        debug_assert!(updates.windows(2).all(|pair| pair[0].0 < pair[1].0), "updates are in service order");
        let mut changed = ServicesChanged::default();
        for (service, gate) in updates {
            let before = self.gates[service.index()];
            if before != gate || holds_changed {
                changed.gate_or_holds.push(service);
            }
            if before != gate {
                self.gates[service.index()] = gate;
                if before.level != gate.level || before.cap_minor != gate.cap_minor {
                    self.service_since[service.index()] = at;
                    changed.mode_or_cap.push(service);
                }
            }
        }
        changed
    }

    fn place_hold(&mut self, placed: &HoldPlaced, actor: &Actor, at: Timestamp) -> Applied {
        Self::check_name("hold", &placed.hold)?;
        if self.hold_names.contains_key(&placed.hold) {
            return Err(Rejection::NameTaken { what: "hold", name: placed.hold.clone() });
        }
        if self.holds.len() >= HOLDS_MAX {
            return Err(invalid("hold", format!("at most {HOLDS_MAX} holds")));
        }
        if placed.services.is_empty() {
            return Err(invalid("services", "list at least one selector"));
        }
        let covers = self.resolve_all(&placed.services)?;
        self.check_hold_shape(&covers, placed.mode, placed.max_order_notional_minor)?;
        match &placed.cause {
            Cause::Incident(name) => {
                let incident = &self.incidents[self.incident_slot(name)? as usize];
                if incident.status == IncidentStatus::Resolved {
                    return Err(invalid("cause", format!("incident `{name}` is resolved")));
                }
                if let Some(outside) =
                    covers.iter().find(|service| incident.blast_services.binary_search(service).is_err())
                {
                    return Err(Rejection::OutsideBlastRadius {
                        hold: placed.hold.clone(),
                        incident: name.clone(),
                        service: self.venue_ref().service(*outside).name.clone(),
                    });
                }
            }
            Cause::RegulatorOrder(reference) => Self::check_name("cause", reference)?,
            Cause::Maintenance | Cause::Insolvency => {}
        }
        let slot = self.holds.len() as u32;
        self.holds.push(HoldRecord {
            name: placed.hold.clone(),
            cause: placed.cause.clone(),
            mode: placed.mode,
            cap_minor: placed.max_order_notional_minor,
            reason: placed.reason.clone(),
            selectors: placed.services.clone(),
            covers: covers.clone(),
            placed_at: at,
            placed_by: actor.clone(),
            lifted_at: None,
            refusals: 0,
        });
        self.hold_names.insert(placed.hold.clone(), slot);
        let mut updates = Vec::with_capacity(covers.len());
        for service in covers {
            self.service_holds[service.index()].push(slot);
            updates.push((service, self.compute_gate(service, &self.service_holds[service.index()], None)));
        }
        Ok(self.commit_gates(updates, true, at))
    }

    fn lift_hold(&mut self, lifted: &HoldLifted, at: Timestamp) -> Applied {
        let slot = self.active_hold_slot(&lifted.hold)?;
        let covers = self.holds[slot as usize].covers.clone();
        let released = match &lifted.services {
            None => covers.clone(),
            Some(selectors) => {
                if selectors.is_empty() {
                    return Err(invalid(
                        "services",
                        "list at least one selector, or leave `services` out to lift the whole hold",
                    ));
                }
                let released = self.resolve_all(selectors)?;
                if let Some(outside) = released.iter().find(|service| covers.binary_search(service).is_err()) {
                    return Err(invalid(
                        "services",
                        format!("hold `{}` does not cover `{}`", lifted.hold, self.venue_ref().service(*outside).name),
                    ));
                }
                released
            }
        };
        let mut updates = Vec::with_capacity(released.len());
        for service in &released {
            let remaining: Vec<u32> =
                self.service_holds[service.index()].iter().copied().filter(|other| *other != slot).collect();
            let gate = self.compute_gate(*service, &remaining, None);
            self.check_controls(*service, gate)?;
            updates.push((*service, gate));
        }
        for service in &released {
            self.service_holds[service.index()].retain(|other| *other != slot);
        }
        let hold = &mut self.holds[slot as usize];
        hold.covers.retain(|service| released.binary_search(service).is_err());
        if hold.covers.is_empty() {
            hold.lifted_at = Some(at);
        }
        Ok(self.commit_gates(updates, true, at))
    }

    fn set_hold_mode(&mut self, set: &HoldModeSet, at: Timestamp) -> Applied {
        let slot = self.active_hold_slot(&set.hold)?;
        let covers = self.holds[slot as usize].covers.clone();
        self.check_hold_shape(&covers, Some(set.mode), set.max_order_notional_minor)?;
        let mut record = self.holds[slot as usize].clone();
        record.mode = Some(set.mode);
        record.cap_minor = set.max_order_notional_minor;
        let mut updates = Vec::with_capacity(covers.len());
        for service in &covers {
            let gate = self.compute_gate(*service, &self.service_holds[service.index()], Some((slot, &record)));
            self.check_controls(*service, gate)?;
            updates.push((*service, gate));
        }
        self.holds[slot as usize] = record;
        Ok(self.commit_gates(updates, false, at))
    }

    fn cease(&mut self, ceased: &VenueCeased, at: Timestamp) -> Applied {
        if ceased.reason.trim().is_empty() {
            return Err(invalid("reason", "say why the venue ceased"));
        }
        self.ceased = Some((at, ceased.reason.clone()));
        let services = self.venue_ref().services.len() as u32;
        let updates: Vec<(ServiceId, Gate)> =
            (0..services).map(ServiceId).map(|service| (service, self.compute_gate(service, &[], None))).collect();
        Ok(self.commit_gates(updates, false, at))
    }

    // ----- controls ---------------------------------------------------------------------

    fn compromise_incident(&self, name: &str) -> Result<u32, Rejection> {
        let slot = self.incident_slot(name)?;
        if self.incidents[slot as usize].category != IncidentCategory::WalletCompromise {
            return Err(invalid("incident", format!("incident `{name}` is not a wallet compromise")));
        }
        Ok(slot)
    }

    fn rotate_keys(&mut self, rotated: &KeysRotated, at: Timestamp) -> Applied {
        let slot = self.compromise_incident(&rotated.incident)?;
        let asset = self.asset_named(&rotated.asset)?;
        let incident = &mut self.incidents[slot as usize];
        let Some(entry) = incident.compromised.iter_mut().find(|entry| entry.asset == asset) else {
            return Err(invalid(
                "asset",
                format!("incident `{}` did not compromise `{}`", rotated.incident, rotated.asset),
            ));
        };
        if entry.keys_rotated_at.is_some() {
            return Err(invalid("asset", format!("keys of `{}` are already rotated", rotated.asset)));
        }
        entry.keys_rotated_at = Some(at);
        Ok(ServicesChanged::default())
    }

    fn pass_review(&mut self, review: &SecurityReviewPassed, actor: &Actor, at: Timestamp) -> Applied {
        let slot = self.compromise_incident(&review.incident)?;
        if !matches!(actor, Actor::Staff(_)) {
            return Err(Rejection::WrongActor {
                event: "security_review_passed",
                expected: "a person (`staff:NAME`)",
                found: actor.to_string(),
            });
        }
        let incident = &mut self.incidents[slot as usize];
        if incident.review_passed_at.is_some() {
            return Err(invalid("incident", format!("the review of `{}` already passed", review.incident)));
        }
        incident.review_passed_at = Some(at);
        Ok(ServicesChanged::default())
    }

    fn approve(&mut self, approval: &ApprovalGiven, actor: &Actor) -> Applied {
        let slot = self.compromise_incident(&approval.incident)?;
        let Actor::Staff(person) = actor else {
            return Err(Rejection::WrongActor {
                event: "approval_given",
                expected: "a person (`staff:NAME`)",
                found: actor.to_string(),
            });
        };
        let required = &self.venue_ref().approvals_required;
        if !required.contains(&approval.role) {
            return Err(Rejection::ApprovalRefused(format!(
                "role `{}` is not one the controls ask for; they ask for: {}",
                approval.role,
                if required.is_empty() { "none".to_owned() } else { required.join(", ") }
            )));
        }
        if !self.roles.get(person).is_some_and(|roles| roles.contains(&approval.role)) {
            return Err(Rejection::ApprovalRefused(format!("`{person}` does not hold role `{}`", approval.role)));
        }
        let incident = &self.incidents[slot as usize];
        if let Some(by) = incident.approvals.get(&approval.role) {
            return Err(Rejection::ApprovalRefused(format!(
                "role `{}` already approved `{}` (by `{by}`)",
                approval.role, approval.incident
            )));
        }
        if let Some((role, _)) = incident.approvals.iter().find(|(_, by)| *by == person) {
            return Err(Rejection::ApprovalRefused(format!(
                "`{person}` already approved `{}` as `{role}`; each approval needs a different person",
                approval.incident
            )));
        }
        self.incidents[slot as usize].approvals.insert(approval.role.clone(), person.clone());
        Ok(ServicesChanged::default())
    }

    // ----- money ------------------------------------------------------------------------

    fn transfer_custody(&mut self, transfer: &CustodyTransferred) -> Applied {
        let asset = self.asset_named(&transfer.asset)?;
        let amount = positive("amount_minor", transfer.amount_minor)?;
        if transfer.from == transfer.to {
            return Err(invalid("to", "custody moves between different wallets (hot, cold)"));
        }
        let entry = &mut self.ledger[asset.0 as usize];
        let (from, to) = match transfer.from {
            Wallet::Hot => (&mut entry.hot_minor, &mut entry.cold_minor),
            Wallet::Cold => (&mut entry.cold_minor, &mut entry.hot_minor),
        };
        if *from < amount {
            return Err(Rejection::InsufficientFunds {
                asset: transfer.asset.clone(),
                what: if transfer.from == Wallet::Hot { "hot wallet" } else { "cold wallet" },
                available_minor: *from,
                requested_minor: amount,
            });
        }
        let new_to = to.checked_add(amount).ok_or(Rejection::Overflow { asset: transfer.asset.clone() })?;
        *from -= amount;
        *to = new_to;
        Ok(ServicesChanged::default())
    }

    fn replenish(&mut self, replenished: &CustodyReplenished) -> Applied {
        self.incident_slot(&replenished.incident)?;
        let asset = self.asset_named(&replenished.asset)?;
        let amount = positive("amount_minor", replenished.amount_minor)?;
        let overflow = || Rejection::Overflow { asset: replenished.asset.clone() };
        let entry = &self.ledger[asset.0 as usize];
        let wallet_after = match replenished.wallet {
            Wallet::Hot => entry.hot_minor,
            Wallet::Cold => entry.cold_minor,
        }
        .checked_add(amount)
        .ok_or_else(overflow)?;
        let replenished_after = entry.replenished_minor.checked_add(amount).ok_or_else(overflow)?;
        let entry = &mut self.ledger[asset.0 as usize];
        match replenished.wallet {
            Wallet::Hot => entry.hot_minor = wallet_after,
            Wallet::Cold => entry.cold_minor = wallet_after,
        }
        entry.replenished_minor = replenished_after;
        Ok(ServicesChanged::default())
    }

    fn pay_refund(&mut self, refund: &RefundPaid) -> Applied {
        if let Some(incident) = &refund.incident {
            self.incident_slot(incident)?;
        }
        let asset = self.asset_named(&refund.asset)?;
        let amount = positive("amount_minor", refund.amount_minor)?;
        if refund.customers == 0 {
            return Err(invalid("customers", "a refund goes to at least one customer"));
        }
        self.credit_customers(asset, &refund.asset, amount)?;
        Ok(ServicesChanged::default())
    }

    /// Credits customers with company-funded money: both what they are owed and what the
    /// venue holds grow.
    fn credit_customers(&mut self, asset: AssetId, code: &str, amount: i64) -> Result<(), Rejection> {
        let overflow = || Rejection::Overflow { asset: code.to_owned() };
        let entry = &self.ledger[asset.0 as usize];
        let liabilities = entry.liabilities_minor.checked_add(amount).ok_or_else(overflow)?;
        let hot = entry.hot_minor.checked_add(amount).ok_or_else(overflow)?;
        let refunds = entry.refunds_paid_minor.checked_add(amount).ok_or_else(overflow)?;
        let entry = &mut self.ledger[asset.0 as usize];
        entry.liabilities_minor = liabilities;
        entry.hot_minor = hot;
        entry.refunds_paid_minor = refunds;
        Ok(())
    }

    fn convert_claims(&mut self, conversion: &ClaimsConverted) -> Applied {
        self.incident_slot(&conversion.incident)?;
        let from = self.asset_named(&conversion.from_asset)?;
        let to = self.asset_named(&conversion.to_asset)?;
        if from == to {
            return Err(invalid("to_asset", "claims convert into a different asset"));
        }
        let held = positive("held_minor", conversion.held_minor)?;
        if conversion.customers == 0 {
            return Err(invalid("customers", "a conversion pays at least one customer"));
        }
        if conversion.rate.is_zero() {
            return Err(invalid("rate", "must be positive"));
        }
        let available = self.free_liabilities(from);
        if available < held {
            return Err(Rejection::InsufficientFunds {
                asset: conversion.from_asset.clone(),
                what: "customer liabilities not queued for withdrawal",
                available_minor: available,
                requested_minor: held,
            });
        }
        let venue = self.venue_ref();
        let (from_decimals, to_decimals) = (venue.asset(from).decimals, venue.asset(to).decimals);
        // held (from minor) / 10^from_decimals × rate × 10^to_decimals, rounded down.
        let overflow = || Rejection::Overflow { asset: conversion.to_asset.clone() };
        let scaled = i128::from(held).checked_mul(10_i128.pow(u32::from(to_decimals))).ok_or_else(overflow)?;
        let paid = conversion.rate.mul_floor(scaled).ok_or_else(overflow)? / 10_i128.pow(u32::from(from_decimals));
        let paid = i64::try_from(paid).map_err(|_| overflow())?;
        if paid == 0 {
            return Err(invalid("held_minor", "the conversion pays nothing at this rate"));
        }
        self.credit_customers(to, &conversion.to_asset, paid)?;
        let entry = &mut self.ledger[from.0 as usize];
        entry.liabilities_minor -= held;
        entry.claims_converted_minor = entry.claims_converted_minor.saturating_add(held);
        Ok(ServicesChanged::default())
    }

    fn apply_haircut(&mut self, haircut: &HaircutApplied) -> Applied {
        self.incident_slot(&haircut.incident)?;
        if haircut.ratio.is_zero() || !haircut.ratio.at_most_one() {
            return Err(invalid("ratio", format!("{} is not a share between 0 and 1", haircut.ratio)));
        }
        // Queued withdrawals are already promised in full, so the haircut falls on the rest.
        for index in 0..self.ledger.len() {
            let free = self.free_liabilities(AssetId(index as u16));
            let cut = haircut.ratio.mul_floor(i128::from(free)).unwrap_or(0);
            let cut = i64::try_from(cut).unwrap_or(0);
            let entry = &mut self.ledger[index];
            entry.liabilities_minor -= cut;
            entry.haircut_minor = entry.haircut_minor.saturating_add(cut);
        }
        Ok(ServicesChanged::default())
    }

    fn settle_withdrawals(&mut self, settled: &WithdrawalsSettled) -> Applied {
        let asset = self.asset_named(&settled.asset)?;
        let venue = self.venue_ref();
        let services: Vec<ServiceId> = match &settled.network {
            None => venue.transfer_services(ServiceKind::Withdrawals, asset).map(ServiceId).collect(),
            Some(network) => match venue.network_index(asset, network) {
                Some(index) => vec![venue.transfer_service(ServiceKind::Withdrawals, asset, Some(index))],
                None => {
                    return Err(invalid("network", format!("`{}` has no network `{network}`", settled.asset)));
                }
            },
        };
        let total: i64 = services.iter().map(|service| self.impact[service.index()].backlog_minor).sum();
        if total == 0 {
            return Err(invalid("asset", format!("no queued {} withdrawals to settle", settled.asset)));
        }
        let entry = &self.ledger[asset.0 as usize];
        if entry.custody_minor() < total {
            return Err(Rejection::InsufficientFunds {
                asset: settled.asset.clone(),
                what: "custody",
                available_minor: entry.custody_minor(),
                requested_minor: total,
            });
        }
        // Delayed withdrawals settle from the cold wallet first: that is why they wait.
        let entry = &mut self.ledger[asset.0 as usize];
        let from_cold = total.min(entry.cold_minor);
        entry.cold_minor -= from_cold;
        entry.hot_minor -= total - from_cold;
        entry.liabilities_minor -= total;
        for service in services {
            let impact = &mut self.impact[service.index()];
            impact.backlog_count = 0;
            impact.backlog_minor = 0;
        }
        Ok(ServicesChanged::default())
    }

    /// What customers are owed in `asset` beyond the withdrawals already queued.
    fn free_liabilities(&self, asset: AssetId) -> i64 {
        let backlog: i64 = self
            .venue_ref()
            .transfer_services(ServiceKind::Withdrawals, asset)
            .map(|service| self.impact[service as usize].backlog_minor)
            .sum();
        self.ledger[asset.0 as usize].liabilities_minor.saturating_sub(backlog)
    }

    // ----- customer operations ----------------------------------------------------------

    fn transfer_target(&self, kind: ServiceKind, transfer: &Transfer) -> Result<ServiceId, Rejection> {
        let venue = self.venue_ref();
        let Some(asset) = venue.assets.get(transfer.asset.0 as usize) else {
            return Err(invalid("asset", format!("asset index {} is not declared", transfer.asset.0)));
        };
        match transfer.network {
            None if !asset.networks.is_empty() => Err(invalid(
                "network",
                format!("`{}` moves on several networks; name one of: {}", asset.code, asset.networks.join(", ")),
            )),
            Some(index) if usize::from(index) >= asset.networks.len() => {
                Err(invalid("network", format!("`{}` has no network number {index}", asset.code)))
            }
            network => {
                positive("amount_minor", transfer.amount_minor)?;
                Ok(venue.transfer_service(kind, transfer.asset, network))
            }
        }
    }

    #[inline]
    fn gate_customer_operation(&mut self, customer: u32, operation: CustomerOperation) -> Result<Gated, Rejection> {
        let venue = self.venue_ref();
        let (service, gated) = match operation {
            CustomerOperation::OrderSubmitted(order) => {
                if usize::from(order.market.0) >= venue.markets.len() {
                    return Err(invalid("market", format!("market index {} is not declared", order.market.0)));
                }
                positive("notional_minor", order.notional_minor)?;
                let service = venue.trading_service(order.market);
                let gate = self.gates[service.index()];
                let mode = mode_at(ServiceKind::Trading, gate.level);
                let allowed = match mode {
                    Mode::Online => true,
                    Mode::LimitOnly => order.order_type != OrderType::Market,
                    Mode::PostOnly => order.order_type == OrderType::PostOnly,
                    _ => false,
                };
                let gated = if !allowed {
                    self.refusal(service, gate, mode)
                } else if order.notional_minor > gate.cap_minor {
                    Gated::Refused(Refusal {
                        service,
                        reason: RefusalReason::OrderTooLarge { hold: gate.cap_hold, cap_minor: gate.cap_minor },
                    })
                } else {
                    Gated::Accepted
                };
                (service, gated)
            }
            CustomerOperation::OrderCancelled(cancel) => {
                if usize::from(cancel.market.0) >= venue.markets.len() {
                    return Err(invalid("market", format!("market index {} is not declared", cancel.market.0)));
                }
                let service = venue.trading_service(cancel.market);
                let gate = self.gates[service.index()];
                let gated = if gate.level < closed_level(ServiceKind::Trading) {
                    Gated::Accepted
                } else {
                    self.refusal(service, gate, Mode::Halted)
                };
                (service, gated)
            }
            CustomerOperation::DepositReceived(transfer) => {
                let service = self.transfer_target(ServiceKind::Deposits, &transfer)?;
                let gate = self.gates[service.index()];
                if gate.level == 0 {
                    let asset = &self.venue_ref().asset(transfer.asset).code;
                    let overflow = || Rejection::Overflow { asset: asset.clone() };
                    let entry = &self.ledger[transfer.asset.0 as usize];
                    let liabilities =
                        entry.liabilities_minor.checked_add(transfer.amount_minor).ok_or_else(overflow)?;
                    let hot = entry.hot_minor.checked_add(transfer.amount_minor).ok_or_else(overflow)?;
                    let entry = &mut self.ledger[transfer.asset.0 as usize];
                    entry.liabilities_minor = liabilities;
                    entry.hot_minor = hot;
                    (service, Gated::Accepted)
                } else {
                    (service, self.refusal(service, gate, Mode::Closed))
                }
            }
            CustomerOperation::WithdrawalRequested(transfer) => {
                let service = self.transfer_target(ServiceKind::Withdrawals, &transfer)?;
                (service, self.gate_withdrawal(service, &transfer))
            }
            CustomerOperation::MarginRequested(request) => {
                positive("notional_minor", request.notional_minor)?;
                let Some(service) = venue.margin_service() else {
                    return Err(invalid("kind", "the venue declares no margin desk"));
                };
                let gate = self.gates[service.index()];
                let mode = mode_at(ServiceKind::Margin, gate.level);
                let allowed = match mode {
                    Mode::Open => true,
                    Mode::CloseOnly => request.action == MarginAction::Close,
                    _ => false,
                };
                (service, if allowed { Gated::Accepted } else { self.refusal(service, gate, mode) })
            }
            CustomerOperation::SignupRequested => {
                let service = venue.onboarding_service();
                let gate = self.gates[service.index()];
                (service, if gate.level == 0 { Gated::Accepted } else { self.refusal(service, gate, Mode::Closed) })
            }
            CustomerOperation::LoginAttempted => {
                let service = venue.login_service();
                let gate = self.gates[service.index()];
                let closed = gate.level >= closed_level(ServiceKind::Login);
                (service, if closed { self.refusal(service, gate, Mode::Closed) } else { Gated::Accepted })
            }
        };
        self.counters.customer_operations += 1;
        let impact = &mut self.impact[service.index()];
        match gated {
            Gated::Accepted => impact.accepted += 1,
            Gated::Queued => {
                impact.queued += 1;
                self.customers.mark_affected(customer);
            }
            Gated::Refused(refusal) => {
                impact.refused += 1;
                self.customers.mark_affected(customer);
                let hold = match refusal.reason {
                    RefusalReason::Hold { hold, .. } | RefusalReason::OrderTooLarge { hold, .. } => hold,
                    _ => NO_HOLD,
                };
                if let Some(record) = self.holds.get_mut(hold as usize) {
                    record.refusals += 1;
                }
            }
        }
        Ok(gated)
    }

    fn refusal(&self, service: ServiceId, gate: Gate, mode: Mode) -> Gated {
        let reason = if self.ceased.is_some() {
            RefusalReason::VenueCeased
        } else {
            RefusalReason::Hold { hold: gate.dominant_hold, mode }
        };
        Gated::Refused(Refusal { service, reason })
    }

    fn gate_withdrawal(&mut self, service: ServiceId, transfer: &Transfer) -> Gated {
        let gate = self.gates[service.index()];
        let mode = mode_at(ServiceKind::Withdrawals, gate.level);
        let amount = transfer.amount_minor;
        let asset = transfer.asset.0 as usize;
        let owed = self.free_liabilities(transfer.asset);
        let refuse = |reason| Gated::Refused(Refusal { service, reason });
        match mode {
            Mode::Open => {
                if owed < amount {
                    return refuse(RefusalReason::ExceedsLiabilities);
                }
                let entry = &mut self.ledger[asset];
                if entry.custody_minor() < amount {
                    return refuse(RefusalReason::InsufficientCustody);
                }
                let from_hot = amount.min(entry.hot_minor);
                entry.hot_minor -= from_hot;
                entry.cold_minor -= amount - from_hot;
                entry.liabilities_minor -= amount;
                Gated::Accepted
            }
            Mode::Delayed => {
                if owed < amount {
                    return refuse(RefusalReason::ExceedsLiabilities);
                }
                let impact = &mut self.impact[service.index()];
                impact.backlog_count += 1;
                impact.backlog_minor += amount;
                impact.backlog_peak_count = impact.backlog_peak_count.max(impact.backlog_count);
                impact.backlog_peak_minor = impact.backlog_peak_minor.max(impact.backlog_minor);
                Gated::Queued
            }
            _ => self.refusal(service, gate, mode),
        }
    }
}
