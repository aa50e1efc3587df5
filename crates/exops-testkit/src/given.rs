//! Given/when/then over the state machine: a few events, one more, and what should come
//! of it, with failure messages that show the event and the state.

use exops_core::{Envelope, Gated, Outcome, Rejection, State};
use exops_jsonl::LineDecoder;

use crate::StateAt;

/// Starts an expectation from `events`, JSON Lines (the first declares the venue; `seq`
/// may be left out). Every given event must be accepted: a parse error, a rejection or a
/// duplicate among them panics, naming the line, since the test would not be testing
/// what it says.
///
/// ```
/// use exops_testkit::given;
///
/// given(r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"BTC","class":"crypto","decimals":8}],"markets":[],"margin":false,"approvals_required":[]}"#)
///     .when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"h","cause":"maintenance","services":["withdrawals:BTC"]}"#)
///     .then_applied()
///     .then_state(|state| assert_eq!(state.services().0.get("withdrawals:BTC").unwrap().holds, ["h"]));
/// ```
pub fn given(events: &str) -> Given {
    let mut given = Given { decoder: LineDecoder::new("given"), state: State::new(), lines: Vec::new() };
    for text in events.lines().filter(|line| !line.trim().is_empty()) {
        let envelope = given.decode(text);
        match given.state.apply(&envelope) {
            Outcome::Rejected(rejection) => {
                panic!("exops-testkit: given event {} is rejected ({rejection}):\n  {text}", envelope.seq)
            }
            Outcome::Duplicate { last_id } => {
                panic!("exops-testkit: given event {} is a duplicate (last id {last_id}):\n  {text}", envelope.seq)
            }
            Outcome::Applied { .. } | Outcome::Customer(_) => {}
        }
        given.lines.push(text.to_owned());
    }
    given
}

/// The events so far; [`Given::when`] adds the one under test.
///
/// ```
/// let given = exops_testkit::given("");
/// assert!(given.state().state().venue().is_none());
/// ```
#[derive(Debug)]
pub struct Given {
    decoder: LineDecoder,
    state: State,
    lines: Vec<String>,
}

impl Given {
    fn decode(&mut self, text: &str) -> Envelope {
        let seq = self.decoder.next_seq();
        self.decoder
            .decode(seq, text.as_bytes())
            .unwrap_or_else(|error| panic!("exops-testkit: event {seq} does not parse: {error}\n  {text}"))
    }

    /// The state after the given events.
    ///
    /// ```
    /// assert_eq!(exops_testkit::given("").state().state().seq(), 0);
    /// ```
    pub fn state(&self) -> StateAt {
        StateAt::new(self.state.clone())
    }

    /// Applies `event` (one JSON line) to the state the given events left.
    ///
    /// ```
    /// let when = exops_testkit::given("").when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#);
    /// assert!(matches!(when.outcome(), exops_core::Outcome::Rejected(exops_core::Rejection::NoVenue)));
    /// ```
    pub fn when(mut self, event: &str) -> When {
        let envelope = self.decode(event);
        let before = self.state.clone();
        let outcome = self.state.apply(&envelope);
        When { event: event.to_owned(), given: self.lines.len(), before, after: self.state, outcome }
    }
}

/// The event under test and what came of it; each `then_` checks one thing and hands
/// the expectation back, so they chain.
///
/// ```
/// use exops_testkit::{Rejection, given};
/// let when = given("").when(r#"{"at":"2024-03-04T10:00:00Z","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#);
/// when.then_rejected(|rejection| *rejection == Rejection::NoVenue)
///     .then_state(|state| assert_eq!(state.state().counters().rejected, 1));
/// ```
#[derive(Debug)]
pub struct When {
    event: String,
    given: usize,
    before: State,
    after: State,
    outcome: Outcome,
}

impl When {
    /// What `apply` answered.
    ///
    /// ```
    /// let when = exops_testkit::given("").when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#);
    /// assert!(matches!(when.outcome(), exops_core::Outcome::Rejected(_)));
    /// ```
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The state after the event.
    ///
    /// ```
    /// let when = exops_testkit::given("").when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#);
    /// assert_eq!(when.state().state().counters().rejected, 1);
    /// ```
    pub fn state(&self) -> StateAt {
        StateAt::new(self.after.clone())
    }

    fn fail(&self, expected: &str) -> ! {
        let outcome = match &self.outcome {
            Outcome::Applied { .. } => "applied".to_owned(),
            Outcome::Customer(gated) => format!("gated: {gated:?}"),
            Outcome::Duplicate { last_id } => format!("a duplicate (the actor's last id is {last_id})"),
            Outcome::Rejected(rejection) => format!("rejected: {rejection}"),
        };
        let services = crate::yaml(&StateAt::new(self.before.clone()).services());
        panic!(
            "exops-testkit: expected {expected}, but the event was {outcome}\n  event (after {} given): {}\n  \
             services before it:\n{}",
            self.given,
            self.event,
            services.lines().map(|line| format!("    {line}\n")).collect::<String>()
        )
    }

    /// The event must be an operator event that took effect.
    ///
    /// ```should_panic
    /// // No venue yet: the marker is rejected, and the message says so.
    /// exops_testkit::given("").when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#).then_applied();
    /// ```
    pub fn then_applied(self) -> When {
        if !matches!(self.outcome, Outcome::Applied { .. }) {
            self.fail("it to be applied");
        }
        self
    }

    /// The event must be rejected, for a reason `expected` accepts (typically
    /// `|rejection| matches!(rejection, Rejection::ControlUnmet { .. })`). A rejected
    /// event changes nothing but the sequence number and the rejection count; this
    /// checks that too.
    ///
    /// ```
    /// use exops_core::Rejection;
    /// exops_testkit::given("")
    ///     .when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#)
    ///     .then_rejected(|rejection| matches!(rejection, Rejection::NoVenue));
    /// ```
    pub fn then_rejected(self, expected: impl FnOnce(&Rejection) -> bool) -> When {
        let Outcome::Rejected(rejection) = &self.outcome else { self.fail("it to be rejected") };
        if !expected(rejection) {
            self.fail("another rejection");
        }
        let (mut before, mut after) = (self.before.view(), self.after.view());
        (before.seq, after.seq, before.events.rejected, after.events.rejected) = (0, 0, 0, 0);
        assert!(before == after, "exops-testkit: the rejected event changed the state: {}", self.event);
        self
    }

    /// The event must be a customer operation gated as `expected` accepts
    /// (`|gated| matches!(gated, Gated::Refused(_))`).
    ///
    /// ```
    /// use exops_core::Gated;
    /// exops_testkit::given(r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}"#)
    ///     .when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"customer:7","kind":"login_attempted"}"#)
    ///     .then_gated(|gated| *gated == Gated::Accepted);
    /// ```
    pub fn then_gated(self, expected: impl FnOnce(&Gated) -> bool) -> When {
        let Outcome::Customer(gated) = &self.outcome else { self.fail("a customer operation to be gated") };
        if !expected(gated) {
            self.fail("another gating");
        }
        self
    }

    /// Runs `check` (your assertions) on the state after the event.
    ///
    /// ```
    /// exops_testkit::given("")
    ///     .when(r#"{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"phase_opened","phase":"one"}"#)
    ///     .then_state(|state| assert_eq!(state.state().seq(), 1));
    /// ```
    pub fn then_state(self, check: impl FnOnce(&StateAt)) -> When {
        check(&StateAt::new(self.after.clone()));
        self
    }
}
