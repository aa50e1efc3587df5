//! Per-service timelines: each service's effective modes and the holds behind them, as
//! consecutive intervals.

use exops_core::{Mode, NO_HOLD, OrderedMap, Selector, SelectorError, ServiceId, State, Timestamp, Venue, mode_at};
use serde::Serialize;

/// A stretch of time in which nothing about a service's restriction changed: its mode,
/// the hold setting it, every hold covering it and its order-size cap stayed the same.
/// A new interval starts when any of them changes, even if the mode stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interval {
    pub mode: Mode,
    pub from: Timestamp,
    /// `None` while the service is still in this interval at the end of the replay.
    pub to: Option<Timestamp>,
    /// The hold that sets `mode` (the earliest placed among those as restrictive), or
    /// `None` when the service is open or the venue ceased (see
    /// [`Interval::closed_by_cessation`]).
    pub held_by: Option<String>,
    /// Every active hold covering the service during the interval, in placement order.
    pub holds: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
}

impl Interval {
    /// Whether the venue's cessation, not a hold, sets the mode: ceasing closes every
    /// service, and any other restricted mode is set by a hold.
    pub fn closed_by_cessation(&self) -> bool {
        self.held_by.is_none() && !matches!(self.mode, Mode::Online | Mode::Open)
    }

    /// Whether two intervals describe the same restriction, whenever they run.
    fn same_restriction(&self, other: &Interval) -> bool {
        self.mode == other.mode
            && self.held_by == other.held_by
            && self.holds == other.holds
            && self.max_order_notional_minor == other.max_order_notional_minor
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceTimeline {
    pub service: String,
    pub intervals: Vec<Interval>,
}

/// Every service's intervals, in the venue's service order: a new interval whenever the
/// mode, the hold setting it, the covering holds or the cap changes.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}"#;
/// # let lines = exops_jsonl::parse_str("tiny.jsonl", log).unwrap();
/// # let replay = exops_replay::replay_until(lines.into_iter().map(Ok::<_, ()>), exops_replay::Point::End).unwrap();
/// let timeline = replay.finished_timeline();
/// let login = timeline.services.iter().find(|service| service.service == "login").unwrap();
/// assert_eq!(login.intervals.len(), 2, "open, then closed by `maint`");
/// ```
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

    /// The interval a service is in now, according to the state, starting at `at`.
    fn interval_now(state: &State, venue: &Venue, service: ServiceId, at: Timestamp) -> Interval {
        let gate = state.gate(service);
        let name = |slot: u32| state.hold(slot).name.clone();
        Interval {
            mode: mode_at(venue.service(service).kind, gate.level),
            from: at,
            to: None,
            held_by: (gate.dominant_hold != NO_HOLD).then(|| name(gate.dominant_hold)),
            holds: state.holds_covering(service).iter().map(|slot| name(*slot)).collect(),
            max_order_notional_minor: (gate.cap_minor != i64::MAX).then_some(gate.cap_minor),
        }
    }

    /// Opens a new interval at `at` for every service in `touched` whose restriction
    /// differs from its last interval's, closing that one at `at`.
    pub(crate) fn record(&mut self, state: &State, touched: &[ServiceId], at: Timestamp) {
        let Some(venue) = state.venue() else { return };
        for service in touched {
            let Some(entry) = self.services.get_mut(service.index()) else { continue };
            let interval = Self::interval_now(state, venue, *service, at);
            if entry.intervals.last().is_some_and(|last| last.same_restriction(&interval)) {
                continue;
            }
            // Two changes at one instant leave one interval, not an empty one; when the
            // second undoes the first, the interval before them simply goes on.
            if entry.intervals.last().is_some_and(|last| last.from == at) {
                entry.intervals.pop();
                if let Some(last) = entry.intervals.last_mut()
                    && last.same_restriction(&interval)
                {
                    last.to = None;
                    continue;
                }
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
