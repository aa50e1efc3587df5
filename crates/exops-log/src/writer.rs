//! The one writer thread. Producers on any thread send submissions over a bounded
//! channel; the writer takes whatever is waiting (up to a batch limit), assigns sequence
//! numbers, skips duplicate event ids, writes the batch as one block, `fdatasync`s it and
//! only then answers each producer (group commit).

use std::path::Path;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use exops_core::{Actor, Envelope, Event, Outcome, State, Timestamp};

use crate::codec::{EVENT_SCHEMA_VERSION, encode_body};
use crate::restore::{Target, restore};
use crate::snapshots::{SnapshotMeta, Snapshots};
use crate::store::{Recovery, SEGMENT_BYTES_DEFAULT, SegmentWriter, StoreError};

#[derive(Clone, Debug)]
pub struct LogOptions {
    pub segment_bytes_max: u64,
    /// Most events in one block (one group commit).
    pub batch_max: usize,
    /// Submissions waiting for the writer before producers block.
    pub queue_capacity: usize,
    /// Events between state snapshots; `None` keeps the data directory's setting.
    pub snapshot_every: Option<u64>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes_max: SEGMENT_BYTES_DEFAULT,
            batch_max: 4096,
            queue_capacity: 16_384,
            snapshot_every: None,
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

type Reply = Sender<Result<Appended, AppendError>>;

// Almost every request is an append: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Request {
    Append {
        submission: Submission,
        reply: Reply,
    },
    /// Answer what came before, then stop.
    Shutdown,
}

/// A pending answer.
#[derive(Debug)]
pub struct Ticket(Receiver<Result<Appended, AppendError>>);

impl Ticket {
    /// Blocks until the submission is durable (or refused).
    pub fn wait(self) -> Result<Appended, AppendError> {
        self.0.recv().unwrap_or(Err(AppendError::Closed))
    }
}

/// A cloneable handle for producers.
#[derive(Clone, Debug)]
pub struct Appender {
    sender: Sender<Request>,
}

impl Appender {
    /// Queues a submission; blocks only while the queue is full.
    pub fn submit(&self, submission: Submission) -> Result<Ticket, AppendError> {
        let (reply, answer) = bounded(1);
        self.sender.send(Request::Append { submission, reply }).map_err(|_| AppendError::Closed)?;
        Ok(Ticket(answer))
    }

    /// Submits and waits until durable.
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
}

impl Log {
    /// Opens (recovering a torn tail), replays the log into the writer's state, and starts
    /// the writer. `commits`, when given, receives the last durable sequence number after
    /// every group commit.
    pub fn open(data_dir: &Path, options: LogOptions, commits: Option<Sender<u64>>) -> Result<Opened, StoreError> {
        let (segment_writer, recovery) = SegmentWriter::open(data_dir, options.segment_bytes_max)?;
        let mut notes = Vec::new();
        let snapshots = match Snapshots::open(data_dir) {
            Ok(snapshots) => Some(snapshots),
            Err(error) => {
                notes.push(format!("the snapshot index cannot be opened ({error}); appending without it"));
                None
            }
        };
        if let (Some(snapshots), Some(every)) = (&snapshots, options.snapshot_every)
            && let Err(error) = snapshots.set_snapshot_every(every)
        {
            notes.push(format!("cannot record the snapshot interval: {error}"));
        }
        let restored = restore(data_dir, snapshots.as_ref(), Target::End)?;
        notes.extend(restored.notes);
        let state = restored.state;
        let log_last_at = restored.last_at;
        let last_seq = state.seq();
        if last_seq + 1 != segment_writer.position().next_seq {
            return Err(StoreError::Damaged(crate::segment::Damage {
                segment: segment_writer.segment_path().to_owned(),
                offset: 0,
                message: format!(
                    "the log ends at seq {} but its events fold to seq {last_seq}",
                    segment_writer.position().next_seq - 1
                ),
            }));
        }
        let (sender, receiver) = bounded(options.queue_capacity.max(1));
        let batch_max = options.batch_max.max(1);
        let thread = std::thread::Builder::new()
            .name("exops-log-writer".to_owned())
            .spawn(move || write_loop(segment_writer, state, log_last_at, receiver, batch_max, commits, snapshots))
            .map_err(|error| StoreError::Io { path: data_dir.to_owned(), error })?;
        Ok(Opened {
            log: Log { appender: Some(Appender { sender }), thread: Some(thread) },
            recovery,
            last_seq,
            notes,
            last_at: log_last_at,
        })
    }

    pub fn appender(&self) -> Appender {
        self.appender.clone().expect("the appender lives until close")
    }

    /// Stops the writer once every submission queued before this call is answered
    /// (later ones, from appenders still alive, are answered `Closed`), and returns the
    /// writer's state: the live state of the log. An error says the writer had failed,
    /// and its state may hold events that are not durable.
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

fn write_loop(
    mut segment: SegmentWriter,
    mut state: State,
    log_last_at: Option<Timestamp>,
    requests: Receiver<Request>,
    batch_max: usize,
    commits: Option<Sender<u64>>,
    snapshots: Option<Snapshots>,
) -> (State, Option<String>) {
    let every = snapshots.as_ref().map_or(u64::MAX, Snapshots::snapshot_every);
    let mut next_snapshot = (state.seq() / every).saturating_add(1).saturating_mul(every);
    let mut poisoned: Option<String> = None;
    let mut batch: Vec<Request> = Vec::with_capacity(batch_max);
    let mut bodies: Vec<(i64, Vec<u8>)> = Vec::with_capacity(batch_max);
    let mut answers: Vec<(Reply, u64, Outcome)> = Vec::with_capacity(batch_max);
    // The log's clock: the last event written, applied or rejected alike.
    let mut last_at = log_last_at;
    let mut shutting_down = false;
    while !shutting_down {
        let Ok(first) = requests.recv() else { break };
        batch.push(first);
        // Blocks end where snapshots are due, so that snapshots sit on block boundaries.
        let room = usize::try_from(next_snapshot.saturating_sub(state.seq())).unwrap_or(usize::MAX).max(1);
        while batch.len() < batch_max.min(room) && !matches!(batch.last(), Some(Request::Shutdown)) {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        for request in batch.drain(..) {
            let (submission, reply) = match request {
                Request::Append { submission, reply } => (submission, reply),
                Request::Shutdown => {
                    shutting_down = true;
                    continue;
                }
            };
            if let Some(reason) = &poisoned {
                let _ = reply.send(Err(AppendError::Poisoned(reason.clone())));
                continue;
            }
            let last_id = state.last_event_id(&submission.actor);
            if submission.id <= last_id {
                let _ = reply.send(Ok(Appended::Duplicate { last_id }));
                continue;
            }
            if let Some(previous) = last_at
                && submission.at < previous
            {
                let reason = format!(
                    "timestamp {} is earlier than the log's last event at {previous}; time must not go backwards",
                    submission.at
                );
                let _ = reply.send(Ok(Appended::Refused { reason }));
                continue;
            }
            let envelope = Envelope {
                seq: state.seq() + 1,
                at: submission.at,
                id: submission.id,
                actor: submission.actor,
                event: submission.event,
                note: submission.note,
            };
            let mut body = Vec::new();
            if let Err(error) = encode_body(&envelope, &mut body) {
                let _ = reply.send(Err(AppendError::Encoding(error.to_string())));
                continue;
            }
            let outcome = state.apply(&envelope);
            last_at = Some(envelope.at);
            bodies.push((envelope.at.unix_micros(), body));
            answers.push((reply, envelope.seq, outcome));
        }
        if answers.is_empty() {
            continue;
        }
        let written =
            segment.append_block(bodies.iter().map(|(at, body)| (EVENT_SCHEMA_VERSION, *at, body.as_slice())));
        bodies.clear();
        match written {
            Ok(position) => {
                for (reply, seq, outcome) in answers.drain(..) {
                    let _ = reply.send(Ok(Appended::Durable { seq, outcome }));
                }
                if let Some(commits) = &commits {
                    let _ = commits.send(position.next_seq - 1);
                }
                // Derived data: a failure here costs speed later, never an event.
                if let Some(snapshots) = &snapshots {
                    let last_seq = position.next_seq - 1;
                    let at = position.last_at_micros.map(Timestamp::from_unix_micros);
                    if let Some(at) = at {
                        let _ = snapshots.record_block(at, last_seq);
                    }
                    if last_seq >= next_snapshot {
                        let _ =
                            snapshots.put(SnapshotMeta { seq: last_seq, at, chain_hash: position.prev_hash }, &state);
                        next_snapshot = (last_seq / every).saturating_add(1).saturating_mul(every);
                    }
                }
            }
            Err(error) => {
                // The state already folded events that are not durable: nothing more may
                // be accepted until the log is reopened.
                let reason = error.to_string();
                for (reply, _, _) in answers.drain(..) {
                    let _ = reply.send(Err(AppendError::Poisoned(reason.clone())));
                }
                poisoned = Some(reason);
            }
        }
    }
    if let Some(snapshots) = &snapshots {
        let _ = snapshots.flush();
    }
    (state, poisoned)
}
