//! Per-service timelines: each service's effective modes as consecutive intervals.

use exops_core::{Mode, OrderedMap, Selector, SelectorError, ServiceId, State, Timestamp, Venue, mode_at};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interval {
    pub mode: Mode,
    pub from: Timestamp,
    /// `None` while the service is still in this mode at the end of the replay.
    pub to: Option<Timestamp>,
    /// Active holds covering the service during the interval, in placement order.
    pub holds: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceTimeline {
    pub service: String,
    pub intervals: Vec<Interval>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub venue: Option<String>,
    /// The instant of the last applied event: where open intervals are drawn to.
    pub end: Option<Timestamp>,
    pub services: Vec<ServiceTimeline>,
}

impl Timeline {
    pub(crate) fn start(&mut self, venue: &Venue) {
        self.venue = Some(venue.name.clone());
        self.services = venue
            .services
            .iter()
            .map(|service| ServiceTimeline { service: service.name.clone(), intervals: Vec::new() })
            .collect();
    }

    /// Opens a new interval for every changed service, closing its previous one at `at`.
    pub(crate) fn record(&mut self, state: &State, changed: &[ServiceId], at: Timestamp) {
        let Some(venue) = state.venue() else { return };
        for service in changed {
            let Some(entry) = self.services.get_mut(service.index()) else { continue };
            let gate = state.gate(*service);
            let interval = Interval {
                mode: mode_at(venue.service(*service).kind, gate.level),
                from: at,
                to: None,
                holds: state.holds_covering(*service).iter().map(|slot| state.hold(*slot).name.clone()).collect(),
                max_order_notional_minor: (gate.cap_minor != i64::MAX).then_some(gate.cap_minor),
            };
            // Two changes at one instant leave one interval, not an empty one.
            if entry.intervals.last().is_some_and(|last| last.from == at) {
                entry.intervals.pop();
            }
            if let Some(last) = entry.intervals.last_mut() {
                last.to = Some(at);
            }
            entry.intervals.push(interval);
        }
    }

    /// The same timeline, ended at `end`.
    pub fn closed_at(&self, end: Option<Timestamp>) -> Timeline {
        Timeline { end, ..self.clone() }
    }

    /// Keeps only the services some selector covers; an unknown name is an error.
    pub fn select(&self, venue: &Venue, selectors: &[Selector]) -> Result<Timeline, SelectorError> {
        if selectors.is_empty() {
            return Ok(self.clone());
        }
        let mut keep = vec![false; self.services.len()];
        for selector in selectors {
            for service in selector.resolve(venue)? {
                if let Some(flag) = keep.get_mut(service.index()) {
                    *flag = true;
                }
            }
        }
        let services =
            self.services.iter().zip(keep).filter(|(_, keep)| *keep).map(|(entry, _)| entry.clone()).collect();
        Ok(Timeline { services, ..self.clone() })
    }

    /// The timeline as a JSON-friendly ordered map from service to intervals.
    pub fn by_service(&self) -> OrderedMap<&[Interval]> {
        OrderedMap(self.services.iter().map(|entry| (entry.service.clone(), entry.intervals.as_slice())).collect())
    }
}
