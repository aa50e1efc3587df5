//! The one writer thread. Producers on any thread send submissions over a bounded
//! channel; the writer takes whatever is waiting (up to a batch limit), assigns sequence
//! numbers, skips duplicate event ids, writes the batch as one block, `fdatasync`s it and
//! only then answers each producer (group commit).

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use exops_core::{Actor, Envelope, Event, Outcome, State, Timestamp};

use crate::admission::Admission;
use crate::codec::{EVENT_SCHEMA_VERSION, encode_body, encode_body_of};
use crate::restore::restore_read_only;
use crate::segment::ChainPosition;
use crate::snapshots::{SnapshotFiles, SnapshotMeta, Snapshots, encode};
use crate::storage::Storage;
use crate::store::{Recovery, SEGMENT_BYTES_DEFAULT, SegmentWriter, StoreError, Written};

#[derive(Clone, Debug)]
pub struct LogOptions {
    pub segment_bytes_max: u64,
    /// Most events in one block (one group commit).
    pub batch_max: usize,
    /// Submissions waiting for the writer before producers block.
    pub queue_capacity: usize,
    /// Events between state snapshots; `None` keeps the data directory's setting.
    pub snapshot_every: Option<u64>,
    /// Where the segments live: the real file system, or a simulated disk in tests. The
    /// derived files (snapshots, their index, the settings) are kept only on the real one.
    pub storage: Storage,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes_max: SEGMENT_BYTES_DEFAULT,
            batch_max: 4096,
            queue_capacity: 16_384,
            snapshot_every: None,
            storage: Storage::real(),
        }
    }
}

/// An event to append; the writer gives it its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub at: Timestamp,
    pub id: u64,
    pub actor: Actor,
    pub event: Event,
    pub note: Option<String>,
}

impl From<Envelope> for Submission {
    /// The envelope's event as a submission: its `seq` is dropped, as the writer gives the
    /// next one.
    ///
    /// ```
    /// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
    /// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
    /// let first: exops_log::Submission = lines[0].envelope.clone().into();
    /// assert_eq!((first.id, first.event.kind_name()), (lines[0].envelope.id, "venue_declared"));
    /// ```
    fn from(envelope: Envelope) -> Submission {
        Submission { at: envelope.at, id: envelope.id, actor: envelope.actor, event: envelope.event, note: envelope.note }
    }
}

/// What became of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Written, fsynced and chained at `seq`; `outcome` is what the state made of it
    /// (a rejected event is recorded too, as a rejection).
    Durable { seq: u64, outcome: Outcome },
    /// The actor already had this id or a later one: not written again.
    Duplicate { last_id: u64 },
    /// Not written: its timestamp is earlier than the log's last event.
    Refused { reason: String },
}

#[derive(Debug)]
pub enum AppendError {
    /// The writer failed earlier (an I/O error) and accepts nothing more.
    Poisoned(String),
    Closed,
    Encoding(String),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Poisoned(reason) => write!(f, "the log writer stopped after an error: {reason}"),
            AppendError::Closed => f.write_str("the log writer is closed"),
            AppendError::Encoding(reason) => write!(f, "cannot encode the event: {reason}"),
        }
    }
}

impl std::error::Error for AppendError {}

type Answer = Result<Appended, AppendError>;

/// Where a request's answers go: one submission's, or a batch's all together.
enum Reply {
    One(Sender<Answer>),
    Many(Sender<Vec<Answer>>),
}

// Almost every request is an append: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Request {
    Append {
        submissions: Submissions,
        reply: Reply,
    },
    /// Answer what came before, then stop.
    Shutdown,
}

/// One submission inline (the common case needs no allocation), or several, encoded
/// already on the producer's thread.
#[allow(clippy::large_enum_variant)]
enum Submissions {
    One(Submission),
    Many(EncodedBatch),
}

/// Submissions and their bodies, encoded by the producer so that the writer thread only
/// copies them: the writer is the one thread every event goes through.
struct EncodedBatch {
    submissions: Vec<Submission>,
    /// The bodies, end to end.
    bodies: Vec<u8>,
    /// Where each submission's body ends in `bodies`, or why it could not be encoded.
    ends: Vec<Result<usize, String>>,
}

impl EncodedBatch {
    fn encode(submissions: Vec<Submission>) -> EncodedBatch {
        let mut bodies = Vec::with_capacity(submissions.len() * 64);
        let ends = submissions
            .iter()
            .map(|submission| {
                let Submission { id, actor, event, note, .. } = submission;
                encode_body_of(*id, actor, event, note.as_deref(), None, &mut bodies)
                    .map(|()| bodies.len())
                    .map_err(|error| error.to_string())
            })
            .collect();
        EncodedBatch { submissions, bodies, ends }
    }
}

impl Submissions {
    fn len(&self) -> usize {
        match self {
            Submissions::One(_) => 1,
            Submissions::Many(batch) => batch.submissions.len(),
        }
    }

    fn into_queue(self) -> Queue {
        match self {
            Submissions::One(submission) => Queue::One(Some(submission)),
            Submissions::Many(EncodedBatch { submissions, bodies, ends }) => {
                Queue::Many { submissions: submissions.into_iter(), bodies, ends: ends.into_iter(), start: 0 }
            }
        }
    }
}

/// A submission's body: to encode, or encoded by its producer (a range of the queue's
/// bodies), or not encodable.
enum Body {
    ToEncode,
    Encoded(std::ops::Range<usize>),
    Failed(String),
}

/// The submissions of a request not yet taken, with a look ahead.
enum Queue {
    One(Option<Submission>),
    Many {
        submissions: std::vec::IntoIter<Submission>,
        bodies: Vec<u8>,
        ends: std::vec::IntoIter<Result<usize, String>>,
        /// Where the next body starts.
        start: usize,
    },
}

impl Queue {
    fn next(&mut self) -> Option<(Submission, Body)> {
        match self {
            Queue::One(submission) => submission.take().map(|submission| (submission, Body::ToEncode)),
            Queue::Many { submissions, ends, start, .. } => {
                let submission = submissions.next()?;
                let body = match ends.next() {
                    Some(Ok(end)) => Body::Encoded(std::mem::replace(start, end)..end),
                    Some(Err(error)) => Body::Failed(error),
                    None => Body::ToEncode,
                };
                Some((submission, body))
            }
        }
    }

    /// The bytes of a body `next` returned as encoded.
    fn bytes(&self, range: std::ops::Range<usize>) -> &[u8] {
        match self {
            Queue::One(_) => &[],
            Queue::Many { bodies, .. } => bodies.get(range).unwrap_or(&[]),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Queue::One(submission) => submission.is_none(),
            Queue::Many { submissions, .. } => submissions.len() == 0,
        }
    }

    /// The submission `distance` after the next one, if any.
    fn ahead(&self, distance: usize) -> Option<&Submission> {
        match self {
            Queue::One(_) => None,
            Queue::Many { submissions, .. } => submissions.as_slice().get(distance),
        }
    }
}

/// A pending answer.
#[derive(Debug)]
pub struct Ticket(Receiver<Answer>);

impl Ticket {
    /// Blocks until the submission is durable (or refused).
    pub fn wait(self) -> Result<Appended, AppendError> {
        self.0.recv().unwrap_or(Err(AppendError::Closed))
    }
}

/// The pending answers to a batch, in submission order.
#[derive(Debug)]
pub struct BatchTicket {
    answers: Receiver<Vec<Answer>>,
    len: usize,
}

impl BatchTicket {
    /// Blocks until every submission of the batch is durable (or refused).
    pub fn wait(self) -> Vec<Result<Appended, AppendError>> {
        match self.answers.recv() {
            Ok(answers) => answers,
            Err(_) => (0..self.len).map(|_| Err(AppendError::Closed)).collect(),
        }
    }
}

/// A cloneable handle for producers.
#[derive(Clone, Debug)]
pub struct Appender {
    sender: Sender<Request>,
}

impl Appender {
    /// Queues a submission; blocks only while the queue is full.
///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// let opened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
    /// # let venue = exops_core::VenueSpec { name: "demo".into(), assets: vec![exops_core::AssetSpec { code: "BTC".into(), class: exops_core::AssetClass::Crypto, decimals: 8, networks: vec![], liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }], markets: vec![], margin: false, approvals_required: vec![], rules: exops_core::RulesVersion::FIRST };
    /// # let declare = exops_log::Submission { at: exops_core::Timestamp::from_unix_micros(0), id: 1, actor: exops_core::Actor::Staff("ops".into()), event: exops_core::Event::VenueDeclared(venue), note: None };
    /// # opened.log.appender().append(declare).unwrap(); // seq 1
    /// let login = |id: u64| exops_log::Submission {
    ///     at: exops_core::Timestamp::from_unix_micros(1_704_067_200_000_000 + id as i64),
    ///     id,
    ///     actor: exops_core::Actor::Customer(7),
    ///     event: exops_core::Event::LoginAttempted,
    ///     note: None,
    /// };
    /// let tickets: Vec<_> = (1..=3).map(|id| opened.log.appender().submit(login(id)).unwrap()).collect();
    /// let seqs: Vec<u64> = tickets.into_iter().map(|ticket| match ticket.wait().unwrap() {
    ///     exops_log::Appended::Durable { seq, .. } => seq,
    ///     other => panic!("{other:?}"),
    /// }).collect();
    /// assert_eq!(seqs, [2, 3, 4], "answered in submission order");
    /// opened.log.close().unwrap();
    /// ```
    pub fn submit(&self, submission: Submission) -> Result<Ticket, AppendError> {
        let (reply, answer) = bounded(1);
        let request = Request::Append { submissions: Submissions::One(submission), reply: Reply::One(reply) };
        self.sender.send(request).map_err(|_| AppendError::Closed)?;
        Ok(Ticket(answer))
    }

    /// Queues several submissions, to be answered together: one message each way for
    /// the whole batch instead of one per event. Their events stay in order and together
    /// (several blocks if the batch is longer than a block). Their bodies are encoded here,
    /// on the caller's thread.
///
    /// ```
    /// use exops_log::Appended;
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// let opened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
    /// # let venue = exops_core::VenueSpec { name: "demo".into(), assets: vec![exops_core::AssetSpec { code: "BTC".into(), class: exops_core::AssetClass::Crypto, decimals: 8, networks: vec![], liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }], markets: vec![], margin: false, approvals_required: vec![], rules: exops_core::RulesVersion::FIRST };
    /// # let declare = exops_log::Submission { at: exops_core::Timestamp::from_unix_micros(0), id: 1, actor: exops_core::Actor::Staff("ops".into()), event: exops_core::Event::VenueDeclared(venue), note: None };
    /// # opened.log.appender().append(declare).unwrap(); // seq 1
    /// let login = |id: u64| exops_log::Submission {
    ///     at: exops_core::Timestamp::from_unix_micros(1_704_067_200_000_000 + id as i64),
    ///     id,
    ///     actor: exops_core::Actor::Customer(7),
    ///     event: exops_core::Event::LoginAttempted,
    ///     note: None,
    /// };
    /// let answers = opened.log.appender().submit_batch(vec![login(1), login(2), login(2)]).unwrap().wait();
    /// assert!(matches!(answers[1], Ok(Appended::Durable { seq: 3, .. })));
    /// assert!(matches!(answers[2], Ok(Appended::Duplicate { .. })), "a retry is not written twice");
    /// opened.log.close().unwrap();
    /// ```
    pub fn submit_batch(&self, submissions: Vec<Submission>) -> Result<BatchTicket, AppendError> {
        let (reply, answers) = bounded(1);
        let len = submissions.len();
        let batch = EncodedBatch::encode(submissions);
        let request = Request::Append { submissions: Submissions::Many(batch), reply: Reply::Many(reply) };
        self.sender.send(request).map_err(|_| AppendError::Closed)?;
        Ok(BatchTicket { answers, len })
    }

    /// Submits and waits until durable.
///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// let opened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
    /// # let venue = exops_core::VenueSpec { name: "demo".into(), assets: vec![exops_core::AssetSpec { code: "BTC".into(), class: exops_core::AssetClass::Crypto, decimals: 8, networks: vec![], liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }], markets: vec![], margin: false, approvals_required: vec![], rules: exops_core::RulesVersion::FIRST };
    /// # let declare = exops_log::Submission { at: exops_core::Timestamp::from_unix_micros(0), id: 1, actor: exops_core::Actor::Staff("ops".into()), event: exops_core::Event::VenueDeclared(venue), note: None };
    /// # opened.log.appender().append(declare).unwrap(); // seq 1
    /// let login = |id: u64| exops_log::Submission {
    ///     at: exops_core::Timestamp::from_unix_micros(1_704_067_200_000_000 + id as i64),
    ///     id,
    ///     actor: exops_core::Actor::Customer(7),
    ///     event: exops_core::Event::LoginAttempted,
    ///     note: None,
    /// };
    /// let answer = opened.log.appender().append(login(1)).unwrap();
    /// assert!(matches!(answer, exops_log::Appended::Durable { seq: 2, .. }));
    /// opened.log.close().unwrap();
    /// ```
    pub fn append(&self, submission: Submission) -> Result<Appended, AppendError> {
        self.submit(submission)?.wait()
    }
}

/// An open log with its writer thread.
#[derive(Debug)]
pub struct Log {
    appender: Option<Appender>,
    thread: Option<JoinHandle<(State, Option<String>)>>,
}

/// What opening a log found.
#[derive(Debug)]
pub struct Opened {
    pub log: Log,
    pub recovery: Recovery,
    /// The sequence number of the last event in the log.
    pub last_seq: u64,
    /// What restoring the writer's state repaired or rebuilt.
    pub notes: Vec<String>,
    /// The timestamp of the log's last event: an append earlier than this is refused.
    pub last_at: Option<Timestamp>,
    /// The writer's admission state as the log was opened.
    admission: Admission,
    data_dir: PathBuf,
}

impl Opened {
    /// The log's state at open, with the writer's admission rule: for a dry run of what
    /// is about to be sent while the log is held open (no other writer can come between).
    /// A copy: what the writer has taken since is not in it.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # exops_log::init(dir.path()).unwrap();
    /// use exops_log::{Log, LogOptions};
    ///
    /// let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    /// let admission = opened.admission();
    /// assert_eq!((admission.last_seq(), admission.last_at()), (opened.last_seq, opened.last_at));
    /// opened.log.close().unwrap();
    /// ```
    pub fn admission(&self) -> Admission {
        self.admission.clone()
    }

    /// A new import spool in the data directory (named with
    /// [`SPOOL_PREFIX`](crate::SPOOL_PREFIX)), deleted when dropped. Made only while the
    /// log is held open, so that the next [`Log::open`] can remove any spool it finds: one
    /// an import killed before its end left behind.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # exops_log::init(dir.path()).unwrap();
    /// use exops_log::{Log, LogOptions};
    ///
    /// let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    /// let spool = opened.create_spool().unwrap();
    /// assert_eq!(spool.path().parent(), Some(dir.path()));
    /// opened.log.close().unwrap();
    /// ```
    pub fn create_spool(&self) -> std::io::Result<tempfile::NamedTempFile> {
        crate::spool::create(&self.data_dir)
    }
}

impl Log {
    /// Opens (recovering a torn tail), replays the log into the writer's state, and starts
    /// the writer. `commits`, when given, receives the last durable sequence number after
    /// every group commit.
    ///
    /// ```
    /// use exops_log::{Log, LogOptions};
        /// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
    /// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// let (commits, durable) = crossbeam_channel::unbounded();
    /// let opened = Log::open(dir.path(), LogOptions::default(), Some(commits)).unwrap();
    /// assert_eq!((opened.last_seq, opened.recovery.describe(), opened.notes.len()), (0, None, 0));
    /// let submissions = lines.into_iter().map(|line| line.envelope.into()).collect();
    /// let answers = opened.log.appender().submit_batch(submissions).unwrap().wait();
    /// assert_eq!(answers.len(), 764);
    /// let state = opened.log.close().unwrap();
    /// assert_eq!(durable.try_iter().last(), Some(764), "the last group commit");
    /// // Opened again, the writer's state is the log's.
    /// let again = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    /// assert_eq!(again.last_seq, 764);
    /// assert_eq!(again.admission().state().view(), state.view());
    /// ```
    pub fn open(data_dir: &Path, options: LogOptions, commits: Option<Sender<u64>>) -> Result<Opened, StoreError> {
        let (segment_writer, recovery) = SegmentWriter::open_on(&options.storage, data_dir, options.segment_bytes_max)?;
        // The writer lock is held from here: no import is running, so any spool is stale.
        let mut notes = if options.storage.is_real() { crate::spool::remove_stale(data_dir) } else { Vec::new() };
        let (admission, derived) = restore_at_open(data_dir, &options, &segment_writer, &mut notes)?;
        let last_seq = admission.last_seq();
        let (sender, receiver) = bounded(options.queue_capacity.max(1));
        let batch_max = options.batch_max.max(1);
        let writer_admission = admission.clone();
        let thread = std::thread::Builder::new()
            .name("exops-log-writer".to_owned())
            .spawn(move || write_loop(segment_writer, writer_admission, receiver, batch_max, commits, derived))
            .map_err(|error| StoreError::Io { path: data_dir.to_owned(), error })?;
        Ok(Opened {
            log: Log { appender: Some(Appender { sender }), thread: Some(thread) },
            recovery,
            last_seq,
            notes,
            last_at: admission.last_at(),
            admission,
            data_dir: data_dir.to_owned(),
        })
    }

    /// A handle to submit events with; clone it for each producer thread.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// let opened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
    /// let appender = opened.log.appender();
    /// drop(opened.log); // closing the log...
    /// assert!(appender.append(exops_log::Submission {
    ///     at: exops_core::Timestamp::from_unix_micros(0),
    ///     id: 1,
    ///     actor: exops_core::Actor::Customer(1),
    ///     event: exops_core::Event::LoginAttempted,
    ///     note: None,
    /// }).is_err(), "...answers later submissions with an error");
    /// ```
    pub fn appender(&self) -> Appender {
        self.appender.clone().expect("the appender lives until close")
    }

    /// Stops the writer once every submission queued before this call is answered
    /// (later ones, from appenders still alive, are answered `Closed`), and returns the
    /// writer's state: the live state of the log. An error says the writer had failed,
    /// and its state may hold events that are not durable.
    ///
    /// ```
        /// # let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019/events.jsonl")).unwrap();
    /// # let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let data_dir = dir.path();
    /// # exops_log::init(data_dir).unwrap();
    /// # let opened = exops_log::Log::open(data_dir, Default::default(), None).unwrap();
    /// # opened.log.appender().submit_batch(lines.into_iter().map(|line| line.envelope.into()).collect()).unwrap().wait();
    /// # let state = opened.log.close().unwrap();
    /// let opened = exops_log::Log::open(data_dir, Default::default(), None).unwrap();
    /// assert_eq!(opened.log.close().unwrap().view(), state.view(), "the state of the whole log");
    /// ```
    pub fn close(mut self) -> Result<State, AppendError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<State, AppendError> {
        if let Some(appender) = self.appender.take() {
            let _ = appender.sender.send(Request::Shutdown);
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok((state, None))) => Ok(state),
            Some(Ok((_, Some(reason)))) => Err(AppendError::Poisoned(reason)),
            Some(Err(_)) => Err(AppendError::Poisoned("the writer thread panicked".to_owned())),
            None => Err(AppendError::Closed),
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The writer's state at open, folded from the newest usable snapshot without writing
/// anything (sled writes as it opens), and what its first block is to repair in the
/// derived files: so an open that writes no block changes nothing.
fn restore_at_open(
    data_dir: &Path,
    options: &LogOptions,
    segment_writer: &SegmentWriter,
    notes: &mut Vec<String>,
) -> Result<(Admission, Derived), StoreError> {
    let files = SnapshotFiles::new(data_dir);
    // A log on simulated storage keeps no derived files: they would go to the real disk.
    let index = if options.storage.is_real() { Snapshots::check_openable(data_dir) } else { Err(String::new()) };
    let every = match &index {
        Ok(()) => options.snapshot_every.unwrap_or_else(|| files.snapshot_every()).max(1),
        Err(error) => {
            if options.storage.is_real() {
                notes.push(format!("the snapshot index cannot be opened ({error}); appending without it"));
            }
            u64::MAX
        }
    };
    let (restored, repairs) = restore_read_only(&options.storage, data_dir, index.is_ok().then_some(&files), every)?;
    notes.extend(restored.notes);
    let admission = Admission::new(restored.state, restored.last_at);
    let last_seq = admission.last_seq();
    let position = segment_writer.position();
    if last_seq + 1 != position.next_seq {
        return Err(StoreError::Damaged(crate::segment::Damage {
            segment: segment_writer.segment_path().to_owned(),
            offset: 0,
            message: format!("the log ends at seq {} but its events fold to seq {last_seq}", position.next_seq - 1),
        }));
    }
    // Encoded now, while the state is the one at open; written with the first block.
    let at_open = repairs.snapshot_due.then_some(SnapshotMeta {
        seq: last_seq,
        at: position.last_at_micros.map(Timestamp::from_unix_micros),
        chain_hash: position.prev_hash,
        resume: segment_writer.resume_point(),
    });
    let first_block = FirstBlock {
        record_every: options.snapshot_every.filter(|_| options.storage.is_real()),
        index: index.is_ok(),
        unusable: repairs.unusable,
        at_open: at_open.and_then(|meta| Some((meta, encode(meta, admission.state()).ok()?))),
    };
    let derived = Derived::new(data_dir, every, last_seq, first_block);
    Ok((admission, derived))
}

/// A submission's answer while its block is being written: final already (a duplicate,
/// a refusal), or durable once the block is.
pub(crate) enum Pending {
    Final(Answer),
    Written { seq: u64, outcome: Outcome },
}

/// The writer's work in progress: the events of the block being built, their encoded
/// bodies end to end in one buffer, and the answers owed for them.
struct Block {
    bodies: Vec<u8>,
    /// Each body's timestamp and end offset in `bodies`.
    ends: Vec<(i64, usize)>,
    answers: Vec<(Reply, Vec<Pending>)>,
}

impl Block {
    fn frames(&self) -> impl Iterator<Item = (u16, i64, &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(at, end)| {
            let body = &self.bodies[start..end];
            start = end;
            (EVENT_SCHEMA_VERSION, at, body)
        })
    }

    /// Sends every answer: `written` says whether the block is durable.
    fn answer(&mut self, written: Result<(), &str>) {
        send_answers(std::mem::take(&mut self.answers), written);
        self.bodies.clear();
        self.ends.clear();
    }
}

/// Sends the answers of a block's requests: `written` says whether the block is durable.
fn send_answers(answers: Vec<(Reply, Vec<Pending>)>, written: Result<(), &str>) {
    for (reply, pending) in answers {
        let mut answers = pending.into_iter().map(|pending| finish(pending, written));
        match reply {
            Reply::One(reply) => {
                if let Some(answer) = answers.next() {
                    let _ = reply.send(answer);
                }
            }
            Reply::Many(reply) => {
                let _ = reply.send(answers.collect());
            }
        }
    }
}

/// A pending answer made final: durable, or failed with the block it was written in.
fn finish(pending: Pending, written: Result<(), &str>) -> Answer {
    match (pending, written) {
        (Pending::Final(answer), _) => answer,
        (Pending::Written { seq, outcome }, Ok(())) => Ok(Appended::Durable { seq, outcome }),
        (Pending::Written { .. }, Err(reason)) => Err(AppendError::Poisoned(reason.to_owned())),
    }
}

/// Makes final the answers of a carried batch's events up to `through` (the last seq of
/// the block just synced); on a failure, of all its written events.
fn settle(pending: &mut Vec<Pending>, written: Result<(), &str>, through: u64) {
    *pending = pending
        .drain(..)
        .map(|answer| match answer {
            Pending::Written { seq, .. } if seq > through && written.is_ok() => answer,
            answer => Pending::Final(finish(answer, written)),
        })
        .collect();
}

/// A written block on its way to being durable: the sync thread syncs it, answers its
/// requests and reports back.
struct SyncJob {
    written: Written,
    answers: Vec<(Reply, Vec<Pending>)>,
    last_seq: u64,
}

/// Syncs written blocks in order, answering each block's requests once it is durable;
/// reports each result (the block's last seq, or why it failed) to the writer.
fn sync_loop(jobs: Receiver<SyncJob>, done: Sender<Result<u64, String>>, commits: Option<Sender<u64>>) {
    for job in jobs {
        let result = job.written.sync().map_err(|error| error.to_string());
        send_answers(job.answers, result.as_ref().map(|_| ()).map_err(String::as_str));
        if result.is_ok()
            && let Some(commits) = &commits
        {
            let _ = commits.send(job.last_seq);
        }
        if done.send(result.map(|()| job.last_seq)).is_err() {
            return;
        }
    }
}

/// Takes one submission onto `block`: a duplicate or a refusal is answered at once;
/// anything else is encoded onto the block (or copied, when its producer encoded it) and
/// folded into the state, by the admission rule.
fn take(
    admission: &mut Admission,
    submission: Submission,
    body: Result<Option<&[u8]>, String>,
    block: &mut Block,
) -> Pending {
    admission.take(submission, |envelope| {
        match body {
            Ok(Some(bytes)) => block.bodies.extend_from_slice(bytes),
            Ok(None) => encode_body(envelope, &mut block.bodies).map_err(|error| error.to_string())?,
            Err(error) => return Err(error),
        }
        block.ends.push((envelope.at.unix_micros(), block.bodies.len()));
        Ok(())
    })
}

fn write_loop(
    mut segment: SegmentWriter,
    mut admission: Admission,
    requests: Receiver<Request>,
    batch_max: usize,
    commits: Option<Sender<u64>>,
    mut derived: Derived,
) -> (State, Option<String>) {
    // Group commit, pipelined: while the sync thread waits for block k to be durable, this
    // thread prepares block k + 1 (checks, encoding, folding), but writes it only once k
    // is durable, so that at most one block is ever unsynced. Every answer, a duplicate's
    // or a refusal's too, goes out only once everything before it is durable.
    let (jobs, job_queue) = bounded::<SyncJob>(1);
    let (done_sender, done) = bounded::<Result<u64, String>>(1);
    let syncer = std::thread::Builder::new()
        .name("exops-log-sync".to_owned())
        .spawn(move || sync_loop(job_queue, done_sender, commits));
    let syncer = match syncer {
        Ok(syncer) => syncer,
        Err(error) => return (admission.into_state(), Some(format!("cannot start the sync thread: {error}"))),
    };
    let mut in_flight = false;
    // Waits for the block in flight (if any) to be durable: Ok(its last seq, or None).
    let wait_for_sync = |in_flight: &mut bool| -> Result<Option<u64>, String> {
        if !std::mem::take(in_flight) {
            return Ok(None);
        }
        match done.recv() {
            Ok(result) => result.map(Some),
            Err(_) => Err("the sync thread stopped".to_owned()),
        }
    };
    let mut poisoned: Option<String> = None;
    let mut block = Block { bodies: Vec::new(), ends: Vec::with_capacity(batch_max), answers: Vec::new() };
    let mut shutting_down = false;
    // A batch request longer than a block continues in the next one.
    let mut carried: Option<(Reply, Queue, Vec<Pending>)> = None;
    while !shutting_down || carried.is_some() {
        // Blocks end where snapshots are due, so that snapshots sit on block boundaries.
        let room =
            usize::try_from(derived.next_snapshot.saturating_sub(admission.last_seq())).unwrap_or(usize::MAX).max(1);
        let limit = batch_max.min(room);
        let mut taken = 0;
        loop {
            let (reply, mut submissions, mut pending) = match carried.take() {
                Some(carried) => carried,
                None if shutting_down => break,
                None => {
                    let request = if taken == 0 && block.answers.is_empty() {
                        match requests.recv() {
                            Ok(request) => request,
                            Err(_) => {
                                shutting_down = true;
                                break;
                            }
                        }
                    } else {
                        match requests.try_recv() {
                            Ok(request) => request,
                            Err(_) => break,
                        }
                    };
                    match request {
                        Request::Append { submissions, reply } => {
                            let len = submissions.len();
                            (reply, submissions.into_queue(), Vec::with_capacity(len))
                        }
                        Request::Shutdown => {
                            shutting_down = true;
                            break;
                        }
                    }
                }
            };
            while taken < limit
                && let Some((submission, body)) = submissions.next()
            {
                // As in `State::apply_batch`: the customer lookups of a long batch are
                // cache misses, started early so that they overlap.
                if let Some(ahead) = submissions.ahead(exops_core::LOOKAHEAD) {
                    admission.prefetch(&ahead.actor);
                }
                let answer = match &poisoned {
                    Some(reason) => Pending::Final(Err(AppendError::Poisoned(reason.clone()))),
                    None => {
                        let body = match body {
                            Body::ToEncode => Ok(None),
                            Body::Encoded(range) => Ok(Some(submissions.bytes(range))),
                            Body::Failed(error) => Err(error),
                        };
                        take(&mut admission, submission, body, &mut block)
                    }
                };
                taken += usize::from(matches!(answer, Pending::Written { .. }));
                pending.push(answer);
            }
            if !submissions.is_empty() {
                carried = Some((reply, submissions, pending));
                break;
            }
            block.answers.push((reply, pending));
            if taken >= limit {
                break;
            }
        }
        // The block before must be durable before this one is written, or answered.
        match wait_for_sync(&mut in_flight) {
            Ok(synced) => {
                if let (Some(through), Some((_, _, pending))) = (synced, &mut carried) {
                    settle(pending, Ok(()), through);
                }
            }
            Err(reason) => {
                // The state already folded events that are not durable: nothing more
                // may be accepted until the log is reopened.
                poisoned = Some(reason);
            }
        }
        if let Some(reason) = &poisoned {
            block.answer(Err(reason));
            if let Some((_, _, pending)) = &mut carried {
                settle(pending, Err(reason), u64::MAX);
            }
            continue;
        }
        if block.ends.is_empty() {
            block.answer(Ok(()));
            continue;
        }
        match segment.write_block(block.frames()) {
            Ok((position, written)) => {
                let last_seq = position.next_seq - 1;
                derived.block_written(position, segment.resume_point(), admission.state());
                let answers = std::mem::take(&mut block.answers);
                block.answer(Ok(()));
                if jobs.send(SyncJob { written, answers, last_seq }).is_err() {
                    poisoned = Some("the sync thread stopped".to_owned());
                } else {
                    in_flight = true;
                }
            }
            Err(error) => {
                let reason = error.to_string();
                block.answer(Err(&reason));
                if let Some((_, _, pending)) = &mut carried {
                    settle(pending, Err(&reason), u64::MAX);
                }
                poisoned = Some(reason);
            }
        }
    }
    if let Err(reason) = wait_for_sync(&mut in_flight) {
        poisoned.get_or_insert(reason);
    }
    drop(jobs);
    let _ = syncer.join();
    derived.flush();
    (admission.into_state(), poisoned)
}

/// The derived files the writer keeps up: a snapshot every `every` events, and their time
/// index. Nothing is opened or written before the first block is, so an open that writes
/// no block leaves every derived file (and the settings) as it was; with that block, what
/// the open found to repair is repaired first.
struct Derived {
    data_dir: PathBuf,
    every: u64,
    /// Where the next snapshot is due: blocks end there.
    next_snapshot: u64,
    /// What waits for the first block: `None` once it is written.
    first_block: Option<FirstBlock>,
    snapshots: Option<Snapshots>,
}

/// What opening the log left for the first block written to do.
struct FirstBlock {
    /// The interval to record in the settings (`--snapshot-every`).
    record_every: Option<u64>,
    /// Whether the index could be opened (as far as open could tell without writing);
    /// without it the writer keeps no snapshots.
    index: bool,
    /// Snapshots the open found damaged or not matching the log: removed.
    unusable: Vec<u64>,
    /// A snapshot of the state at open, encoded, when the open folded past where one was
    /// due.
    at_open: Option<(SnapshotMeta, Vec<u8>)>,
}

impl Derived {
    fn new(data_dir: &Path, every: u64, last_seq: u64, first_block: FirstBlock) -> Derived {
        Derived {
            data_dir: data_dir.to_owned(),
            every,
            next_snapshot: (last_seq / every).saturating_add(1).saturating_mul(every),
            first_block: Some(first_block),
            snapshots: None,
        }
    }

    /// After a block is written (not yet durable): the first block's repairs, then the
    /// snapshot of the state after it if one is due. Derived data: a failure here costs
    /// speed later, never an event. A snapshot of a block that then fails to sync does
    /// not match the log once reopened, and is dropped.
    fn block_written(&mut self, position: ChainPosition, resume: crate::segment::ResumePoint, state: &State) {
        if let Some(first_block) = self.first_block.take() {
            self.repair(first_block);
        }
        let last_seq = position.next_seq - 1;
        if let Some(snapshots) = &self.snapshots
            && last_seq >= self.next_snapshot
        {
            let at = position.last_at_micros.map(Timestamp::from_unix_micros);
            let meta = SnapshotMeta { seq: last_seq, at, chain_hash: position.prev_hash, resume };
            let _ = snapshots.put(meta, state);
            self.next_snapshot = (last_seq / self.every).saturating_add(1).saturating_mul(self.every);
        }
    }

    fn repair(&mut self, first_block: FirstBlock) {
        let FirstBlock { record_every, index, unusable, at_open } = first_block;
        if let Some(every) = record_every {
            let _ = SnapshotFiles::new(&self.data_dir).record_snapshot_every(every);
        }
        if !index {
            return;
        }
        self.snapshots = Snapshots::open(&self.data_dir).ok();
        let Some(snapshots) = &self.snapshots else { return };
        // Removed first: the snapshot at open may take the place of an unusable one.
        for seq in unusable {
            snapshots.remove(seq);
        }
        if let Some((meta, bytes)) = at_open {
            let _ = snapshots.put_encoded(meta, &bytes);
        }
    }

    fn flush(&self) {
        if let Some(snapshots) = &self.snapshots {
            let _ = snapshots.flush();
        }
    }
}
