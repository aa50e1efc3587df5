//! A serialisable picture of the state: what `exops replay --format json|yaml` prints
//! and what snapshot tests pin. Maps are in a fixed order (declaration order for
//! services and assets, name order for holds and incidents), so the output is stable.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer, ser::SerializeMap};

use crate::event::{Cause, IncidentCategory, IncidentStatus, Wallet};
use crate::mode::{Mode, mode_at};
use crate::state::{AssetLedger, State};
use crate::time::Timestamp;
use crate::venue::ServiceId;

/// A map serialised in the order its entries were pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedMap<T>(pub Vec<(String, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<T: Serialize> Serialize for OrderedMap<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<T> OrderedMap<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(name, _)| name == key).map(|(_, value)| value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateView {
    pub seq: u64,
    pub at: Option<Timestamp>,
    /// `operating`, `ceased`, or `undeclared` before the venue is declared.
    pub venue: &'static str,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceased: Option<CeasedView>,
    pub services: OrderedMap<ServiceView>,
    pub holds: BTreeMap<String, HoldView>,
    pub incidents: BTreeMap<String, IncidentView>,
    pub ledger: OrderedMap<LedgerView>,
    pub impact: ImpactView,
    /// The phase markers (`phase_opened`) applied so far, in log order; left out when
    /// there are none, so a log without markers has the view it always had.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseView>,
    pub events: EventsView,
}

/// One phase marker: the phase's name, when it opened and the event that said so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhaseView {
    pub phase: String,
    pub at: Timestamp,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CeasedView {
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    pub mode: Mode,
    /// Active holds covering the service, in the order they were placed.
    pub holds: Vec<String>,
    /// When the mode (or cap) last changed.
    pub since: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HoldView {
    pub cause: Cause,
    /// The mode the hold sets; `None` means fully closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
    pub covers: Vec<String>,
    pub placed_at: Timestamp,
    pub placed_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Customer operations this hold refused so far.
    pub refusals: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StolenView {
    pub asset: String,
    pub wallet: Wallet,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ControlsView {
    /// Asset → when its keys were rotated (`None`: not yet).
    pub keys_rotated: OrderedMap<Option<Timestamp>>,
    pub review_passed_at: Option<Timestamp>,
    /// Role → person, for the roles that approved so far.
    pub approvals: BTreeMap<String, String>,
    pub approvals_missing: Vec<String>,
    /// Other incidents that compromised one of these assets and still need something
    /// (in opening order): withdrawals of that asset wait for them too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_back_by: Vec<String>,
    /// Whether withdrawals of every asset this incident compromised may reopen: its own
    /// controls are met, and so are those of every other incident that compromised one
    /// of them ([`State::incident_controls`], the rule `apply` enforces).
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentView {
    pub title: String,
    pub category: IncidentCategory,
    pub status: IncidentStatus,
    pub opened_at: Timestamp,
    pub status_since: Timestamp,
    pub blast_radius: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stolen: Vec<StolenView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controls: Option<ControlsView>,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerView {
    pub liabilities_minor: i64,
    pub hot_minor: i64,
    pub cold_minor: i64,
    /// Custody over liabilities, as a percentage with two decimals (`n/a` when nothing is owed).
    pub solvency: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub stolen_minor: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub replenished_minor: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub refunds_paid_minor: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub claims_converted_minor: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub haircut_minor: i64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub withdrawal_backlog_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub withdrawal_backlog_minor: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub withdrawal_backlog_peak_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceImpactView {
    pub accepted: u64,
    pub refused: u64,
    pub queued: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImpactView {
    /// Distinct customers with at least one refused or queued operation.
    pub customers_affected: u64,
    /// Services that saw customer operations, in service order.
    pub services: OrderedMap<ServiceImpactView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventsView {
    pub applied: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub customer_operations: u64,
}

/// `custody / liabilities` as a percentage with two decimals, in integers.
pub fn solvency_percent(ledger: &AssetLedger) -> String {
    if ledger.liabilities_minor <= 0 {
        return "n/a".to_owned();
    }
    let basis_points = i128::from(ledger.custody_minor()) * 10_000 / i128::from(ledger.liabilities_minor);
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

impl State {
    /// The serialisable picture every output is made from, in a fixed order.
    ///
    /// ```
    /// let view = exops_core::State::new().view();
    /// assert_eq!((view.seq, view.venue), (0, "undeclared"));
    /// assert!(view.phases.is_empty());
    /// ```
    pub fn view(&self) -> StateView {
        let counters = self.counters();
        let events = EventsView {
            applied: counters.applied,
            rejected: counters.rejected,
            duplicates: counters.duplicates,
            customer_operations: counters.customer_operations,
        };
        let Some(venue) = self.venue() else {
            return StateView {
                seq: self.seq(),
                at: self.at(),
                venue: "undeclared",
                name: None,
                ceased: None,
                services: OrderedMap::default(),
                holds: BTreeMap::new(),
                incidents: BTreeMap::new(),
                ledger: OrderedMap::default(),
                impact: ImpactView { customers_affected: 0, services: OrderedMap::default() },
                phases: Vec::new(),
                events,
            };
        };
        let service_name = |id: &ServiceId| venue.service(*id).name.clone();
        let mut services = OrderedMap::default();
        let mut impact_services = OrderedMap::default();
        for (index, service) in venue.services.iter().enumerate() {
            let id = ServiceId(index as u32);
            let gate = self.gate(id);
            services.0.push((
                service.name.clone(),
                ServiceView {
                    mode: mode_at(service.kind, gate.level),
                    holds: self.holds_covering(id).iter().map(|slot| self.hold(*slot).name.clone()).collect(),
                    since: self.service_since(id),
                    max_order_notional_minor: (gate.cap_minor != i64::MAX).then_some(gate.cap_minor),
                },
            ));
            let impact = &self.impact()[index];
            if impact.accepted + impact.refused + impact.queued > 0 {
                impact_services.0.push((
                    service.name.clone(),
                    ServiceImpactView { accepted: impact.accepted, refused: impact.refused, queued: impact.queued },
                ));
            }
        }
        let holds = self
            .holds()
            .iter()
            .filter(|hold| hold.is_active())
            .map(|hold| {
                (
                    hold.name.clone(),
                    HoldView {
                        cause: hold.cause.clone(),
                        mode: hold.mode,
                        max_order_notional_minor: hold.cap_minor,
                        covers: hold.covers.iter().map(service_name).collect(),
                        placed_at: hold.placed_at,
                        placed_by: hold.placed_by.to_string(),
                        reason: hold.reason.clone(),
                        refusals: hold.refusals,
                    },
                )
            })
            .collect();
        let incidents = (0_u32..)
            .zip(self.incidents())
            .map(|(slot, incident)| {
                let controls = self.incident_controls(slot).map(|controls| {
                    let approvals_missing: Vec<String> = venue
                        .approvals_required
                        .iter()
                        .filter(|role| !incident.approvals.contains_key(*role))
                        .cloned()
                        .collect();
                    ControlsView {
                        keys_rotated: OrderedMap(
                            incident
                                .compromised
                                .iter()
                                .map(|entry| (venue.asset(entry.asset).code.clone(), entry.keys_rotated_at))
                                .collect(),
                        ),
                        review_passed_at: incident.review_passed_at,
                        approvals: incident.approvals.clone(),
                        approvals_missing,
                        held_back_by: controls
                            .held_back_by
                            .iter()
                            .map(|other| self.incidents()[*other as usize].name.clone())
                            .collect(),
                        met: controls.met(),
                    }
                });
                (
                    incident.name.clone(),
                    IncidentView {
                        title: incident.title.clone(),
                        category: incident.category,
                        status: incident.status,
                        opened_at: incident.opened_at,
                        status_since: incident.status_since,
                        blast_radius: incident.blast_radius.iter().map(ToString::to_string).collect(),
                        stolen: incident
                            .stolen
                            .iter()
                            .map(|(asset, wallet, amount_minor)| StolenView {
                                asset: venue.asset(*asset).code.clone(),
                                wallet: *wallet,
                                amount_minor: *amount_minor,
                            })
                            .collect(),
                        controls,
                    },
                )
            })
            .collect();
        let mut ledger = OrderedMap::default();
        for (index, asset) in venue.assets.iter().enumerate() {
            let entry = &self.ledger()[index];
            let withdrawals =
                venue.transfer_services(crate::venue::ServiceKind::Withdrawals, crate::venue::AssetId(index as u16));
            let (mut backlog_count, mut backlog_minor, mut backlog_peak_minor) = (0, 0, 0);
            for service in withdrawals {
                let impact = &self.impact()[service as usize];
                backlog_count += impact.backlog_count;
                backlog_minor += impact.backlog_minor;
                backlog_peak_minor += impact.backlog_peak_minor;
            }
            ledger.0.push((
                asset.code.clone(),
                LedgerView {
                    liabilities_minor: entry.liabilities_minor,
                    hot_minor: entry.hot_minor,
                    cold_minor: entry.cold_minor,
                    solvency: solvency_percent(entry),
                    stolen_minor: entry.stolen_minor,
                    replenished_minor: entry.replenished_minor,
                    refunds_paid_minor: entry.refunds_paid_minor,
                    claims_converted_minor: entry.claims_converted_minor,
                    haircut_minor: entry.haircut_minor,
                    withdrawal_backlog_count: backlog_count,
                    withdrawal_backlog_minor: backlog_minor,
                    withdrawal_backlog_peak_minor: backlog_peak_minor,
                },
            ));
        }
        StateView {
            seq: self.seq(),
            at: self.at(),
            venue: if self.ceased().is_some() { "ceased" } else { "operating" },
            name: Some(venue.name.clone()),
            ceased: self.ceased().map(|(at, reason)| CeasedView { at, reason: reason.to_owned() }),
            services,
            holds,
            incidents,
            ledger,
            impact: ImpactView { customers_affected: self.customers_affected(), services: impact_services },
            phases: self
                .phases()
                .iter()
                .map(|marker| PhaseView { phase: marker.phase.clone(), at: marker.at, seq: marker.seq })
                .collect(),
            events,
        }
    }
}
