//! Snapshot-test replays of exops event logs in your own crate.
//!
//! - [`Fixture`] holds a JSON Lines log, parsed once: [`Fixture::at`] is the state at one
//!   point, [`Fixture::states_at`] and [`Fixture::each_boundary`] fold the log **once** for
//!   many points, and [`Fixture::phases`] gives the state at every phase marker
//!   (`phase_opened`), so "snapshot every phase" needs no plan file and no dates.
//! - [`StateAt`] has focused views for snapshots ([`StateAt::services`], [`StateAt::holds`],
//!   [`StateAt::incidents`], [`StateAt::ledger`], [`StateAt::impact`] and the full view,
//!   [`StateAt::full`]), each rendered by [`yaml`], the same renderer as
//!   `exops replay --format yaml`: a snapshot of the full view is the CLI's output, byte
//!   for byte.
//! - [`given`] / [`Given::when`] / [`When::then_applied`] … state expectations over the
//!   state machine, with failure messages that show the event and the state.
//! - [`Redactions`] replace what your own events make volatile before rendering.
//!
//! The crate builds without the storage stack (no sled, crossbeam, blake3 or wincode).
//! The `sim` feature (off by default) adds [`sim`]: simulated plans, their metrics and
//! their logs, at the cost of building exops-sim and the storage stack beneath it.
//! docs/testing.md states the stability promise of each view.
//!
//! ```
//! use exops_testkit::{Fixture, Point, yaml};
//!
//! let fixture = Fixture::from_str(
//!     "two-events.jsonl",
//!     r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
//! {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}"#,
//! )
//! .unwrap();
//! let state = fixture.at(Point::End);
//! assert_eq!(state.state().mode(state.service("login")), Some(exops_core::Mode::Closed));
//! assert!(yaml(&state.services()).contains("login:\n  mode: closed\n"));
//! ```

mod given;
mod redact;
#[cfg(feature = "sim")]
pub mod sim;
mod views;

use std::path::Path;

use exops_core::{Envelope, Event, ServiceId};
use exops_jsonl::ParseError;

/// exops-core, for the types expectations name (`Rejection`, `Gated`, `Mode`, `State`…).
pub use exops_core as core;
pub use exops_core::{Gated, Mode, RefusalReason, Rejection, State};
pub use exops_replay::Point;
pub use given::{Given, When, given};
pub use redact::Redactions;
pub use views::{HoldsView, ImpactView, IncidentsView, LedgerView, ServiceLine, ServicesView, StateView};

/// Why a fixture could not be read.
///
/// ```
/// use exops_testkit::{Fixture, FixtureError};
/// let error = Fixture::from_str("mine.jsonl", "{\"at\":\"2024-03-04T09:00:00Z\"}").unwrap_err();
/// assert!(matches!(error, FixtureError::Parse(ref parse) if parse.line == 1), "{error}");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read the fixture `{path}`: {error}")]
    Unreadable {
        path: String,
        #[source]
        error: std::io::Error,
    },
    /// A line is not an event (the error names the fixture, the line and the field).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A point given as text is neither a sequence number nor an RFC 3339 instant.
    #[error("{0}")]
    Point(String),
}

/// A JSON Lines log, parsed once and kept in memory, to fold as often as a test needs.
/// (The examples use `fixtures/phased.jsonl` of this crate: a theft, a freeze, and two
/// phases that reopen trading and then withdrawals.)
///
/// ```
/// use exops_testkit::{Fixture, Point};
///
/// let fixture = Fixture::open(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phased.jsonl"))
///     .unwrap();
/// assert_eq!(fixture.name(), concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phased.jsonl"));
/// assert_eq!(fixture.len(), 12);
/// assert_eq!(fixture.at(Point::End).state().venue().unwrap().name, "Tiny Exchange");
/// ```
#[derive(Clone, Debug)]
pub struct Fixture {
    name: String,
    envelopes: Vec<Envelope>,
}

/// The state at one point of a fixture, with the views tests snapshot.
///
/// ```
/// use exops_testkit::{Fixture, Point};
///
/// let fixture = Fixture::from_str("empty.jsonl", "").unwrap();
/// let state = fixture.at(Point::End);
/// assert_eq!(state.state().seq(), 0);
/// assert_eq!(state.full().venue, "undeclared");
/// ```
#[derive(Clone, Debug)]
pub struct StateAt {
    state: State,
}

impl Fixture {
    /// Reads and parses a JSON Lines file; every line must be an event.
    ///
    /// ```
    /// let error = exops_testkit::Fixture::open("no/such/file.jsonl").unwrap_err();
    /// assert!(error.to_string().starts_with("cannot read the fixture `no/such/file.jsonl`"), "{error}");
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|error| FixtureError::Unreadable { path: name.clone(), error })?;
        Fixture::from_str(&name, &text)
    }

    /// Parses a JSON Lines text; `name` is what errors call it.
    ///
    /// ```
    /// let error = exops_testkit::Fixture::from_str("mine.jsonl", "{\"kind\":1}").unwrap_err();
    /// assert!(error.to_string().starts_with("mine.jsonl:1: "), "{error}");
    /// ```
    pub fn from_str(name: &str, text: &str) -> Result<Fixture, FixtureError> {
        let lines = exops_jsonl::parse_str(name, text)?;
        Ok(Fixture { name: name.to_owned(), envelopes: lines.into_iter().map(|line| line.envelope).collect() })
    }

    /// What errors and messages call the fixture: its path, or the name given.
    ///
    /// ```
    /// assert_eq!(exops_testkit::Fixture::from_str("mine.jsonl", "").unwrap().name(), "mine.jsonl");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many events the fixture holds.
    ///
    /// ```
    /// assert_eq!(exops_testkit::Fixture::from_str("mine.jsonl", "").unwrap().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.envelopes.len()
    }

    /// Whether the fixture holds no event.
    ///
    /// ```
    /// assert!(exops_testkit::Fixture::from_str("mine.jsonl", "\n").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.envelopes.is_empty()
    }

    /// The events, in log order.
    ///
    /// ```
    /// let fixture = exops_testkit::Fixture::from_str("mine.jsonl", "").unwrap();
    /// assert!(fixture.envelopes().is_empty());
    /// ```
    pub fn envelopes(&self) -> &[Envelope] {
        &self.envelopes
    }

    /// The state at `point`: after every event up to it (a sequence number, or an
    /// instant: the fold stops before the first event later than it).
    ///
    /// ```
    /// use exops_testkit::{Fixture, Point};
    /// let fixture = Fixture::from_str("mine.jsonl", "").unwrap();
    /// assert_eq!(fixture.at(Point::Seq(3)).state().seq(), 0);
    /// ```
    pub fn at(&self, point: Point) -> StateAt {
        self.states_at(&[point]).pop().expect("one state per point")
    }

    /// The state at each of `points`, in the order given, folding the log once (points
    /// given out of order are sorted for the fold and handed back in the order asked).
    ///
    /// ```
    /// use exops_testkit::{Fixture, Point, point};
    /// let fixture = Fixture::open(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phased.jsonl"))
    ///     .unwrap();
    /// let states = fixture.states_at(&[point("2024-03-05T00:00:00Z"), Point::Seq(1), Point::End]);
    /// assert_eq!(states[1].state().seq(), 1);
    /// assert!(states[0].state().seq() < states[2].state().seq());
    /// ```
    pub fn states_at(&self, points: &[Point]) -> Vec<StateAt> {
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by_key(|index| fold_position(&self.envelopes, points[*index]));
        let mut states: Vec<Option<StateAt>> = vec![None; points.len()];
        let mut state = State::new();
        let mut folded = 0;
        for index in order {
            let until = fold_position(&self.envelopes, points[index]);
            for envelope in &self.envelopes[folded..until] {
                state.apply(envelope);
            }
            folded = until;
            states[index] = Some(StateAt { state: state.clone() });
        }
        states.into_iter().map(|state| state.expect("every point was folded to")).collect()
    }

    /// The state after every event at which a service's mode, cap or holds changed (a
    /// "boundary"), with that event, folding once. Customer operations and events that
    /// change no service are not boundaries.
    ///
    /// ```
    /// use exops_testkit::Fixture;
    /// let fixture = Fixture::open(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phased.jsonl"))
    ///     .unwrap();
    /// let boundaries: Vec<_> = fixture.each_boundary().collect();
    /// assert_eq!(boundaries[0].0.seq, 1, "declaring the venue opens every service");
    /// assert!(boundaries.iter().all(|(envelope, _)| !envelope.event.is_customer_operation()));
    /// ```
    pub fn each_boundary(&self) -> impl Iterator<Item = (&Envelope, StateAt)> + '_ {
        let mut state = State::new();
        self.envelopes.iter().filter_map(move |envelope| match state.apply(envelope) {
            exops_core::Outcome::Applied { gates_or_holds_changed, .. } if !gates_or_holds_changed.is_empty() => {
                Some((envelope, StateAt { state: state.clone() }))
            }
            _ => None,
        })
    }

    /// The state at every phase marker (`phase_opened`), named as the marker names the
    /// phase, folding once. The state is taken *before* the marker's instant's other
    /// events: just as the phase opens, with the marker itself applied.
    ///
    /// ```
    /// use exops_testkit::Fixture;
    /// let fixture = Fixture::open(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phased.jsonl"))
    ///     .unwrap();
    /// let names: Vec<String> = fixture.phases().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["trading", "withdrawals"]);
    /// ```
    pub fn phases(&self) -> impl Iterator<Item = (String, StateAt)> + '_ {
        let mut state = State::new();
        self.envelopes.iter().filter_map(move |envelope| {
            let outcome = state.apply(envelope);
            match (&envelope.event, outcome) {
                (Event::PhaseOpened(opened), exops_core::Outcome::Applied { .. }) => {
                    Some((opened.phase.clone(), StateAt { state: state.clone() }))
                }
                _ => None,
            }
        })
    }
}

/// How many events a fold to `point` takes from the start of `envelopes`.
fn fold_position(envelopes: &[Envelope], point: Point) -> usize {
    match point {
        Point::End => envelopes.len(),
        Point::Seq(seq) => envelopes.partition_point(|envelope| envelope.seq <= seq),
        Point::At(at) => envelopes.iter().position(|envelope| envelope.at > at).unwrap_or(envelopes.len()),
    }
}

/// A point from text: a sequence number (`120`) or an RFC 3339 instant with an offset
/// (`2019-08-07T00:00:00+09:00`). Panics with the reason on anything else: it is for
/// points written in tests.
///
/// ```
/// use exops_testkit::{Point, point};
/// assert_eq!(point("120"), Point::Seq(120));
/// assert!(matches!(point("2019-08-07T00:00:00+09:00"), Point::At(_)));
/// ```
pub fn point(text: &str) -> Point {
    Point::parse(text).unwrap_or_else(|reason| panic!("exops-testkit: {reason}"))
}

/// Renders any view (or anything `Serialize`) as YAML, with the renderer that
/// `exops replay --format yaml` uses: snapshot the text with `insta::assert_snapshot!`.
/// Panics if the value cannot be YAML (a map with non-string keys), which no view has.
///
/// ```
/// use exops_testkit::{Fixture, Point, yaml};
/// let state = Fixture::from_str("empty.jsonl", "").unwrap().at(Point::End);
/// assert_eq!(yaml(&state.services()), "{}\n");
/// ```
pub fn yaml(value: &impl serde::Serialize) -> String {
    exops_replay::render_yaml(value).unwrap_or_else(|error| panic!("exops-testkit: {error}"))
}

impl StateAt {
    /// Wraps a state folded elsewhere (by [`given`], or by your own code).
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert_eq!(state.state().seq(), 0);
    /// ```
    pub fn new(state: State) -> StateAt {
        StateAt { state }
    }

    /// The core's state, for questions the views do not answer.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert!(state.state().venue().is_none());
    /// ```
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The id of the service named `name` (`withdrawals:BTC`, `login`); panics, listing
    /// the venue's services, when there is no such service.
    ///
    /// ```
    /// use exops_testkit::{given};
    /// let then = given(r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}"#);
    /// let state = then.state();
    /// assert_eq!(state.state().venue().unwrap().service(state.service("login")).name, "login");
    /// ```
    pub fn service(&self, name: &str) -> ServiceId {
        let Some(venue) = self.state.venue() else {
            panic!("exops-testkit: no service `{name}`: the venue is not declared yet");
        };
        venue.service_id(name).unwrap_or_else(|| {
            let names: Vec<&str> = venue.services.iter().map(|service| service.name.as_str()).collect();
            panic!("exops-testkit: no service `{name}`; the venue's services are {}", names.join(", "))
        })
    }

    /// Every service's mode, since, holds and cap, in the venue's service order.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert!(state.services().0.0.is_empty());
    /// ```
    pub fn services(&self) -> ServicesView {
        views::services(&self.state.view())
    }

    /// Every active hold, by name.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert!(state.holds().0.is_empty());
    /// ```
    pub fn holds(&self) -> HoldsView {
        HoldsView(self.state.view().holds)
    }

    /// Every incident, by name, with its controls.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert!(state.incidents().0.is_empty());
    /// ```
    pub fn incidents(&self) -> IncidentsView {
        IncidentsView(self.state.view().incidents)
    }

    /// The ledger of every asset, in declaration order.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert!(state.ledger().0.0.is_empty());
    /// ```
    pub fn ledger(&self) -> LedgerView {
        LedgerView(self.state.view().ledger)
    }

    /// What customers met: operations accepted, refused and queued per service, and how
    /// many customers were affected.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert_eq!(state.impact().0.customers_affected, 0);
    /// ```
    pub fn impact(&self) -> ImpactView {
        ImpactView(self.state.view().impact)
    }

    /// The full view: exactly what `exops replay --format yaml|json` prints.
    ///
    /// ```
    /// let state = exops_testkit::StateAt::new(exops_core::State::new());
    /// assert_eq!(state.full().seq, 0);
    /// ```
    pub fn full(&self) -> StateView {
        self.state.view()
    }
}
