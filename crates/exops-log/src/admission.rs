//! The one admission rule of the log: what becomes of a submission, given the state the
//! log folds to and the time of its last event. The writer thread decides with it, and a
//! caller can ask it the same question beforehand (a dry run) without writing anything,
//! so that no one keeps a second copy of the rule.

use exops_core::{Actor, Envelope, State, Timestamp};

use crate::codec::encode_body;
use crate::writer::{AppendError, Appended, Pending, Submission};

/// What the admission rule says about one submission.
///
/// ```
/// use exops_core::{Actor, Event, Timestamp};
/// use exops_log::{Submission, Verdict};
/// let dir = tempfile::tempdir().unwrap();
/// exops_log::init(dir.path()).unwrap();
/// let opened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
/// let at = |seconds: i64| Timestamp::from_unix_micros(1_704_067_200_000_000 + seconds * 1_000_000);
/// let login = |id, seconds| Submission { at: at(seconds), id, actor: Actor::Customer(7), event: Event::LoginAttempted, note: None };
/// # let venue = exops_core::VenueSpec { name: "demo".into(), assets: vec![exops_core::AssetSpec { code: "BTC".into(), class: exops_core::AssetClass::Crypto, decimals: 8, networks: vec![], liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }], markets: vec![], margin: false, approvals_required: vec![], rules: exops_core::RulesVersion::FIRST };
/// # let declare = exops_log::Submission { at: exops_core::Timestamp::from_unix_micros(0), id: 1, actor: exops_core::Actor::Staff("ops".into()), event: exops_core::Event::VenueDeclared(venue), note: None };
/// # opened.log.appender().append(declare).unwrap(); // seq 1
/// opened.log.appender().append(login(5, 60)).unwrap();
/// let admission = opened.admission(); // as the log was opened: empty
/// assert_eq!(admission.verdict(&Actor::Customer(7), 5, at(60)), Verdict::Write);
/// opened.log.close().unwrap();
/// let reopened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
/// let admission = reopened.admission();
/// assert_eq!(admission.verdict(&Actor::Customer(7), 5, at(60)), Verdict::Duplicate { last_id: 5 });
/// assert!(matches!(admission.verdict(&Actor::Customer(8), 1, at(0)), Verdict::Refused { .. }), "earlier than the log");
/// assert_eq!(admission.verdict(&Actor::Customer(8), 1, at(61)), Verdict::Write);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Written with the next sequence number and folded into the state (which may still
    /// reject it: a rejection is written too).
    Write,
    /// The actor already had this id or a later one: not written again.
    Duplicate { last_id: u64 },
    /// Not written: its timestamp is earlier than the log's last event, and the log's
    /// time never goes backwards.
    Refused { reason: String },
}

/// The writer's view of the log: the state its events fold to and the timestamp of the
/// last one written. [`Opened::admission`](crate::Opened::admission) hands out a copy
/// as it was when the log was opened, for a dry run.
#[derive(Clone, Debug)]
pub struct Admission {
    state: State,
    /// The last event written, applied or rejected alike.
    last_at: Option<Timestamp>,
    /// Where a dry run encodes bodies, to be checked and dropped.
    scratch: Vec<u8>,
}

impl Admission {
    pub(crate) fn new(state: State, last_at: Option<Timestamp>) -> Admission {
        Admission { state, last_at, scratch: Vec::new() }
    }

    /// The rule. Duplicates are decided first: a retry of an event already written
    /// carries its original timestamp, usually earlier than the log's last event, and it
    /// is the duplicate it is, not a refusal.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # exops_log::init(dir.path()).unwrap();
    /// use exops_core::{Actor, Timestamp};
    /// use exops_log::{Log, LogOptions, Verdict};
    ///
    /// let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    /// let admission = opened.admission();
    /// let customer = Actor::Customer(7);
    /// let at = Timestamp::from_unix_micros(1_704_067_200_000_000);
    /// assert_eq!(admission.verdict(&customer, 1, at), Verdict::Write);
    /// assert_eq!(admission.verdict(&customer, 0, at), Verdict::Duplicate { last_id: 0 });
    /// opened.log.close().unwrap();
    /// ```
    pub fn verdict(&self, actor: &Actor, id: u64, at: Timestamp) -> Verdict {
        let last_id = self.state.last_event_id(actor);
        if id <= last_id {
            return Verdict::Duplicate { last_id };
        }
        if let Some(previous) = self.last_at
            && at < previous
        {
            let reason = format!(
                "timestamp {at} is earlier than the log's last event at {previous}; time must not go backwards"
            );
            return Verdict::Refused { reason };
        }
        Verdict::Write
    }

    /// Decides what becomes of `submission` and, when it is written, has `encode` put
    /// its body where it goes, then folds it: the writer's path and the dry run's alike.
    pub(crate) fn take(
        &mut self,
        submission: Submission,
        encode: impl FnOnce(&Envelope) -> Result<(), String>,
    ) -> Pending {
        match self.verdict(&submission.actor, submission.id, submission.at) {
            Verdict::Write => {}
            Verdict::Duplicate { last_id } => return Pending::Final(Ok(Appended::Duplicate { last_id })),
            Verdict::Refused { reason } => return Pending::Final(Ok(Appended::Refused { reason })),
        }
        let envelope = Envelope {
            seq: self.state.seq() + 1,
            at: submission.at,
            id: submission.id,
            actor: submission.actor,
            event: submission.event,
            note: submission.note,
        };
        if let Err(error) = encode(&envelope) {
            return Pending::Final(Err(AppendError::Encoding(error)));
        }
        let outcome = self.state.apply(&envelope);
        self.last_at = Some(envelope.at);
        assert_eq!(self.state.seq(), envelope.seq, "folding an event gives it the next sequence number");
        Pending::Written { seq: envelope.seq, outcome }
    }

    /// What the writer would answer for this submission, folding it as the writer would
    /// (a dry run: nothing is written). `Durable { seq, .. }` is the seq it would get;
    /// an event that cannot be encoded is the writer's `AppendError::Encoding`. Feed the
    /// submissions in the order they will be sent, and the answers are the writer's.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # exops_log::init(dir.path()).unwrap();
    /// use exops_core::{Actor, AssetClass, AssetSpec, Event, Outcome, RulesVersion, Timestamp, VenueSpec};
    /// use exops_log::{Appended, Log, LogOptions, Submission};
    ///
    /// let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    /// let mut admission = opened.admission();
    /// let submission = |actor, id, seconds: i64, event| Submission {
    ///     at: Timestamp::from_unix_micros(seconds * 1_000_000),
    ///     id,
    ///     actor,
    ///     event,
    ///     note: None,
    /// };
    /// let venue = VenueSpec {
    ///     name: "Demo".to_owned(),
    ///     assets: vec![AssetSpec {
    ///         code: "JPY".to_owned(),
    ///         class: AssetClass::Fiat,
    ///         decimals: 0,
    ///         networks: vec![],
    ///         liabilities_minor: 0,
    ///         hot_minor: 0,
    ///         cold_minor: 0,
    ///     }],
    ///     markets: vec![],
    ///     margin: false,
    ///     approvals_required: vec![],
    ///     rules: RulesVersion::FIRST,
    /// };
    /// let setup = submission(Actor::System("setup".to_owned()), 1, 0, Event::VenueDeclared(venue));
    /// let login = |id, seconds| submission(Actor::Customer(1), id, seconds, Event::LoginAttempted);
    /// let Ok(Appended::Durable { seq: 1, outcome }) = admission.dry_run(&setup) else { panic!() };
    /// assert!(!matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    /// assert!(matches!(admission.dry_run(&login(1, 10)), Ok(Appended::Durable { seq: 2, .. })));
    /// assert_eq!(admission.dry_run(&login(1, 10)).unwrap(), Appended::Duplicate { last_id: 1 });
    /// assert!(matches!(admission.dry_run(&login(2, 5)), Ok(Appended::Refused { .. })));
    /// assert_eq!(admission.last_seq(), 2);
    /// // Nothing was written.
    /// assert_eq!(opened.log.close().unwrap().seq(), 0);
    /// ```
    pub fn dry_run(&mut self, submission: &Submission) -> Result<Appended, AppendError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let pending = self.take(submission.clone(), |envelope| {
            encode_body(envelope, &mut scratch).map_err(|error| error.to_string())
        });
        self.scratch = scratch;
        match pending {
            Pending::Final(answer) => answer,
            Pending::Written { seq, outcome } => Ok(Appended::Durable { seq, outcome }),
        }
    }

    /// The sequence number of the last event written (or, after a dry run, that would be).
    pub fn last_seq(&self) -> u64 {
        self.state.seq()
    }

    /// The timestamp of the last event written: a submission earlier than this is refused.
    pub fn last_at(&self) -> Option<Timestamp> {
        self.last_at
    }

    /// The state the log folds to (after a dry run, the state it would fold to).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Starts loading the entries `actor` will need (see `State::prefetch`).
    pub(crate) fn prefetch(&self, actor: &Actor) {
        self.state.prefetch(actor);
    }

    pub(crate) fn into_state(self) -> State {
        self.state
    }
}
