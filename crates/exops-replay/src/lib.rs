//! Replays event logs: folds them through the core into the state at any point, builds
//! per-service timelines, collects every rejection for `check`, and renders all of it
//! as text, JSON, YAML-ready views and Mermaid.
//!
//! Data directories (the durable log of `exops-log`, with sled, crossbeam and blake3
//! beneath it) are read only with the default-on `data-dir` feature; without it this
//! crate folds JSON Lines text alone and builds none of the storage stack.

mod render;
mod timeline;

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use exops_core::{Envelope, Event, Outcome, State, Timestamp};
use exops_jsonl::{Line, Reader};
use serde::Serialize;

pub use render::{
    YamlError, render_state_text, render_timeline_mermaid, render_timeline_table, render_yaml, table as render_table,
};
pub use timeline::{Interval, ServiceTimeline, Timeline};

/// Where a replay stops.
///
/// ```
/// use exops_replay::Point;
/// assert_eq!(Point::parse("120"), Ok(Point::Seq(120)));
/// assert!(matches!(Point::parse("2019-08-07T00:00:00+09:00"), Ok(Point::At(_))));
/// assert!(Point::parse("yesterday").unwrap_err().contains("neither a sequence number"));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Point {
    End,
    /// After the event with this sequence number.
    Seq(u64),
    /// After every event up to this instant: the replay stops before the first event
    /// whose timestamp is later.
    At(Timestamp),
}

impl Point {
    /// `123` is a sequence number; anything else must be an RFC 3339 instant.
    ///
    /// ```
    /// assert_eq!(exops_replay::Point::parse("7"), Ok(exops_replay::Point::Seq(7)));
    /// ```
    pub fn parse(text: &str) -> Result<Point, String> {
        if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
            return text.parse().map(Point::Seq).map_err(|_| format!("sequence number `{text}` is too large"));
        }
        Timestamp::parse_rfc3339(text).map(Point::At).map_err(|error| {
            format!(
                "`{text}` is neither a sequence number (e.g. 120) nor an RFC 3339 instant with an offset \
                 (e.g. 2019-08-07T00:00:00+09:00): {}",
                error.reason
            )
        })
    }

    fn includes(self, envelope: &Envelope) -> bool {
        match self {
            Point::End => true,
            Point::Seq(seq) => envelope.seq <= seq,
            Point::At(at) => envelope.at <= at,
        }
    }
}

/// An event the state refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedEvent {
    pub line: u64,
    pub seq: u64,
    pub at: Timestamp,
    pub kind: &'static str,
    pub actor: String,
    pub reason: String,
}

/// An event skipped because its actor already had that id applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DuplicateEvent {
    pub line: u64,
    pub seq: u64,
    pub actor: String,
    pub id: u64,
    pub last_id: u64,
}

/// A fold in progress: the state, its timeline and what was refused on the way.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}
/// # {"at":"2024-03-04T11:00:00+09:00","id":2,"actor":"staff:ops","kind":"hold_lifted","hold":"nope"}"#;
/// let lines = exops_jsonl::parse_str("tiny.jsonl", log).unwrap();
/// let mut replay = exops_replay::Replay::new();
/// for line in &lines {
///     replay.push(line.line, &line.envelope);
/// }
/// assert_eq!(replay.rejections[0].line, 3);
/// assert!(replay.notes.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Replay {
    pub state: State,
    pub timeline: Timeline,
    pub rejections: Vec<RejectedEvent>,
    pub duplicates: Vec<DuplicateEvent>,
    /// What the user should hear about this fold: where the point fell (before the first
    /// event, past the last), and what was repaired or rebuilt on the way.
    pub notes: Vec<String>,
}

impl Replay {
    /// An empty fold, before any event.
    ///
    /// ```
    /// assert_eq!(exops_replay::Replay::new().state.seq(), 0);
    /// ```
    pub fn new() -> Replay {
        Replay::default()
    }

    /// Applies one envelope; `line` is its position in the source, for reports.
    pub fn push(&mut self, line: u64, envelope: &Envelope) -> Outcome {
        let outcome = self.state.apply(envelope);
        match &outcome {
            Outcome::Applied { gates_or_holds_changed, .. } => {
                if let Event::VenueDeclared(_) = envelope.event
                    && let Some(venue) = self.state.venue()
                {
                    self.timeline.start(venue);
                }
                self.timeline.record(&self.state, gates_or_holds_changed, envelope.at);
            }
            Outcome::Customer(_) => {}
            Outcome::Duplicate { last_id } => self.duplicates.push(DuplicateEvent {
                line,
                seq: envelope.seq,
                actor: envelope.actor.to_string(),
                id: envelope.id,
                last_id: *last_id,
            }),
            Outcome::Rejected(rejection) => self.rejections.push(RejectedEvent {
                line,
                seq: envelope.seq,
                at: envelope.at,
                kind: envelope.event.kind_name(),
                actor: envelope.actor.to_string(),
                reason: rejection.to_string(),
            }),
        }
        outcome
    }

    /// The timeline closed at the state's current instant.
    pub fn finished_timeline(&self) -> Timeline {
        self.timeline.closed_at(self.state.at())
    }
}

/// Where events come from: a JSON Lines text, or a data directory's durable log.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("tiny.jsonl");
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}
/// # {"at":"2024-03-04T11:00:00+09:00","id":2,"actor":"staff:ops","kind":"hold_lifted","hold":"nope"}"#;
/// std::fs::write(&path, log).unwrap();
/// let source = exops_replay::Source::open(path.to_str().unwrap()).unwrap();
/// assert!(source.position_is_line());
/// assert_eq!(source.count(), 3);
/// ```
// Both variants are large readers held once per replay; boxing either saves nothing.
#[allow(missing_debug_implementations, clippy::large_enum_variant)]
pub enum Source {
    Jsonl(Reader<Box<dyn BufRead>>),
    #[cfg(feature = "data-dir")]
    Log(exops_log::LogReader),
}

/// Why a source could not be opened or read, each variant a different thing for the user
/// to do.
///
/// ```
/// let error = exops_replay::Source::open("no/such.jsonl").err().unwrap();
/// assert!(matches!(error, exops_replay::SourceError::NoSuchFile { .. }));
/// assert_eq!(error.to_string(), "cannot open `no/such.jsonl`: no such file or directory");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open `{path}`: no such file or directory")]
    NoSuchFile { path: String },
    #[error(
        "cannot open `{path}`: it is a directory but not an exops data directory (no `log/` inside); \
         give a .jsonl file, `-` for standard input, or a directory made by `exops log init`"
    )]
    NotADataDirectory { path: String },
    #[error("cannot open `{path}`: {error}")]
    Unreadable {
        path: String,
        #[source]
        error: io::Error,
    },
    /// A line of a JSON Lines text that is not an event.
    #[error(transparent)]
    Parse(#[from] exops_jsonl::ParseError),
    /// The data directory's log could not be read: damage, or an I/O error.
    #[cfg(feature = "data-dir")]
    #[error(transparent)]
    Store(#[from] exops_log::StoreError),
    /// No event at all: every log begins with `venue_declared`.
    #[error("`{log}` holds no event; a log begins with `venue_declared` (see docs/event-catalog.md)")]
    Empty { log: String },
}

impl Source {
    /// Opens `-` (standard input), a `.jsonl` file, or a data directory.
    pub fn open(source: &str) -> Result<Source, SourceError> {
        #[cfg(feature = "data-dir")]
        {
            let path = std::path::Path::new(source);
            if source != "-" && path.is_dir() {
                if !exops_log::segments_dir(path).is_dir() {
                    return Err(SourceError::NotADataDirectory { path: source.to_owned() });
                }
                return Ok(Source::Log(exops_log::LogReader::open(path, 1)?));
            }
        }
        open_jsonl(source).map(Source::Jsonl)
    }

    /// Whether positions in reports are line numbers (JSON Lines) or sequence numbers.
    pub fn position_is_line(&self) -> bool {
        matches!(self, Source::Jsonl(_))
    }
}

impl Iterator for Source {
    type Item = Result<Line, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Source::Jsonl(reader) => reader.next().map(|line| line.map_err(SourceError::Parse)),
            #[cfg(feature = "data-dir")]
            Source::Log(reader) => reader.next().map(|envelope| {
                envelope.map(|envelope| Line { line: envelope.seq, envelope }).map_err(SourceError::Store)
            }),
        }
    }
}

#[cfg(feature = "data-dir")]
const DIRECTORY_IS_NOT_JSONL: &str = "it is a directory, not a JSON Lines file";
#[cfg(not(feature = "data-dir"))]
const DIRECTORY_IS_NOT_JSONL: &str = "it is a directory, not a JSON Lines file (this build of exops-replay reads \
     data directories only with its `data-dir` feature)";

/// Opens a JSON Lines source: a path, or `-` for standard input.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let error = exops_replay::open_jsonl(dir.path().to_str().unwrap()).err().unwrap();
/// assert!(error.to_string().contains("it is a directory"), "{error}");
/// ```
pub fn open_jsonl(source: &str) -> Result<Reader<Box<dyn BufRead>>, SourceError> {
    if source == "-" {
        return Ok(Reader::new("<stdin>", Box::new(BufReader::new(io::stdin())) as Box<dyn BufRead>));
    }
    let unreadable = |error: io::Error| match error.kind() {
        io::ErrorKind::NotFound => SourceError::NoSuchFile { path: source.to_owned() },
        _ => SourceError::Unreadable { path: source.to_owned(), error },
    };
    let file = File::open(source).map_err(unreadable)?;
    if file.metadata().map_err(unreadable)?.is_dir() {
        return Err(SourceError::Unreadable {
            path: source.to_owned(),
            error: io::Error::new(io::ErrorKind::InvalidInput, DIRECTORY_IS_NOT_JSONL),
        });
    }
    Ok(Reader::new(source, Box::new(BufReader::with_capacity(1 << 16, file)) as Box<dyn BufRead>))
}

/// Folds `lines` up to `point`, stopping at the first line that cannot be parsed.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}
/// # {"at":"2024-03-04T11:00:00+09:00","id":2,"actor":"staff:ops","kind":"hold_lifted","hold":"nope"}"#;
/// let lines = exops_jsonl::parse_str("tiny.jsonl", log).unwrap();
/// let replay = exops_replay::replay_until(lines.into_iter().map(Ok::<_, ()>), exops_replay::Point::Seq(2)).unwrap();
/// assert_eq!(replay.state.seq(), 2);
/// assert!(replay.rejections.is_empty(), "the third line is past the point");
/// ```
pub fn replay_until<E>(lines: impl IntoIterator<Item = Result<Line, E>>, point: Point) -> Result<Replay, E> {
    let mut replay = Replay::new();
    for line in lines {
        let line = line?;
        if !point.includes(&line.envelope) {
            break;
        }
        replay.push(line.line, &line.envelope);
    }
    Ok(replay)
}

/// Where a fold stopped relative to the log: what a user asking for a point should hear
/// when the answer is not quite what they asked for. `first_at` is the first event's
/// instant, `last` the last folded event, `more` whether events follow the point.
fn point_notes(point: Point, first_at: Option<Timestamp>, last: Option<(u64, Timestamp)>, more: bool) -> Vec<String> {
    let Some((last_seq, last_at)) = last else {
        return match (point, first_at) {
            (Point::Seq(seq), _) => {
                vec![format!("--at {seq} is before the log's first event (seq 1): this is the state before it begins")]
            }
            (Point::At(at), Some(first_at)) => vec![format!(
                "--at {at} is before the log's first event (at {first_at}): this is the state before it begins"
            )],
            (Point::At(at), None) => {
                vec![format!("--at {at} is before the log's first event: this is the state before it begins")]
            }
            (Point::End, _) => Vec::new(),
        };
    };
    if more {
        return Vec::new();
    }
    match point {
        Point::Seq(seq) if seq > last_seq => vec![format!(
            "--at {seq} is past the end of the log (its last event is seq {last_seq}, at {last_at}): \
             this is the state at the end"
        )],
        Point::At(at) if at > last_at => vec![format!(
            "--at {at} is past the log's last event (seq {last_seq}, at {last_at}): this is the state at the end"
        )],
        _ => Vec::new(),
    }
}

/// Folds a source up to `point`, stopping at the first line that cannot be parsed. A
/// source with no event at all is [`SourceError::Empty`]; a point before the first event
/// or past the last one folds what there is, and says so in [`Replay::notes`].
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("tiny.jsonl");
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}
/// # {"at":"2024-03-04T11:00:00+09:00","id":2,"actor":"staff:ops","kind":"hold_lifted","hold":"nope"}"#;
/// std::fs::write(&path, log).unwrap();
/// let name = path.to_str().unwrap();
/// let source = exops_replay::Source::open(name).unwrap();
/// let replay = exops_replay::replay_source(source, name, exops_replay::Point::Seq(99)).unwrap();
/// assert!(replay.notes[0].starts_with("--at 99 is past the end of the log"), "{:?}", replay.notes);
/// ```
pub fn replay_source(mut source: Source, name: &str, point: Point) -> Result<Replay, SourceError> {
    let mut replay = Replay::new();
    let mut first = None;
    let mut last = None;
    let mut more = false;
    for line in source.by_ref() {
        let line = line?;
        let envelope = &line.envelope;
        first.get_or_insert(envelope.at);
        if !point.includes(envelope) {
            more = true;
            break;
        }
        last = Some((envelope.seq, envelope.at));
        replay.push(line.line, envelope);
    }
    if first.is_none() {
        return Err(SourceError::Empty { log: name.to_owned() });
    }
    replay.notes = point_notes(point, first, last, more);
    #[cfg(feature = "data-dir")]
    if let (Source::Log(reader), false) = (&source, more) {
        replay.notes.extend(reader.unsealed_tail.as_ref().map(exops_log::UnsealedTail::describe));
    }
    Ok(replay)
}

#[cfg(feature = "data-dir")]
/// The state of a data directory's log at `point`, from the nearest snapshot at or
/// before it plus the events after it. [`Replay::notes`] say what was repaired or
/// rebuilt, and where the point fell.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// exops_log::init(dir.path()).unwrap();
/// // A new data directory holds no event yet: that is an error, not an empty state.
/// let error = exops_replay::replay_data_dir(dir.path(), exops_replay::Point::End).unwrap_err();
/// assert!(matches!(error, exops_replay::SourceError::Empty { .. }), "{error}");
/// ```
pub fn replay_data_dir(data_dir: &std::path::Path, point: Point) -> Result<Replay, SourceError> {
    replay_data_dir_with_progress(data_dir, point, &mut |_| {})
}

#[cfg(feature = "data-dir")]
/// [`replay_data_dir`], telling `progress` how many events it has folded, block by block.
pub fn replay_data_dir_with_progress(
    data_dir: &std::path::Path,
    point: Point,
    progress: &mut dyn FnMut(u64),
) -> Result<Replay, SourceError> {
    use exops_log::restore::{Target, restore_with_progress};
    let mut notes = Vec::new();
    let snapshots = match exops_log::snapshots::Snapshots::open(data_dir) {
        Ok(snapshots) => Some(snapshots),
        Err(error) => {
            notes.push(format!("the snapshot index cannot be opened ({error}): replaying from the start"));
            None
        }
    };
    let target = match point {
        Point::End => Target::End,
        Point::Seq(seq) => Target::Seq(seq),
        Point::At(at) => Target::At(at),
    };
    let restored = restore_with_progress(data_dir, snapshots.as_ref(), target, progress)?;
    let seq = restored.state.seq();
    if seq == 0 && restored.reached_end {
        return Err(SourceError::Empty { log: data_dir.display().to_string() });
    }
    let last = restored.last_at.filter(|_| seq > 0).map(|at| (seq, at));
    notes.extend(point_notes(point, None, last, !restored.reached_end));
    notes.extend(restored.notes);
    Ok(Replay { state: restored.state, notes, ..Replay::default() })
}

/// A line (or, in a data directory, a stretch of the log) that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidLine {
    /// The line number in a JSON Lines text; `None` for damage in a data directory.
    pub line: Option<u64>,
    /// The field at fault, when one is.
    pub field: Option<String>,
    pub message: String,
    /// The whole sentence, as text output prints it.
    #[serde(skip)]
    pub display: String,
}

impl std::fmt::Display for InvalidLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl From<&SourceError> for InvalidLine {
    fn from(error: &SourceError) -> InvalidLine {
        match error {
            SourceError::Parse(parse) => InvalidLine {
                line: Some(parse.line),
                field: parse.field.clone(),
                message: parse.message.clone(),
                display: parse.to_string(),
            },
            other => InvalidLine { line: None, field: None, message: other.to_string(), display: other.to_string() },
        }
    }
}

/// What `check` found: every parse error and every rejected event of a source.
///
/// ```
/// let report = exops_replay::check(exops_jsonl::Reader::new("empty", &b""[..]));
/// assert!(!report.is_clean(), "a log without even a venue is not clean");
/// ```
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Events read (applied, rejected or duplicates).
    pub events: u64,
    /// Lines that are not events, all of them counted.
    pub invalid_lines: u64,
    /// The first [`PARSE_ERRORS_KEPT`] of them.
    pub parse_errors: Vec<InvalidLine>,
    /// How many invalid lines are counted but not in `parse_errors`.
    pub parse_errors_not_listed: u64,
    pub rejections: Vec<RejectedEvent>,
    pub duplicates: Vec<DuplicateEvent>,
    /// Set when the text is the tail of a log starting at this seq: it was not checked
    /// past its first line, since it needs the events before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail_from_seq: Option<u64>,
}

impl CheckReport {
    /// Every line parsed, no event was rejected, and there was at least the venue.
    pub fn is_clean(&self) -> bool {
        self.invalid_lines == 0 && self.rejections.is_empty() && self.events > 0
    }
}

/// Parse errors kept in a report; past this many, the rest are only counted.
pub const PARSE_ERRORS_KEPT: usize = 100;

/// Applies everything it can read and lists what went wrong; a line that does not parse
/// is reported and skipped. A tail of a log (its first line numbered past 1) is reported
/// once, as such, and not read further.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}
/// # {"at":"2024-03-04T11:00:00+09:00","id":2,"actor":"staff:ops","kind":"hold_lifted","hold":"nope"}"#;
/// let text = format!("{log}\nnot json");
/// let report = exops_replay::check(exops_jsonl::Reader::new("tiny.jsonl", text.as_bytes()));
/// assert_eq!((report.events, report.invalid_lines, report.rejections.len()), (3, 1, 1));
/// assert_eq!(report.parse_errors[0].line, Some(4));
/// ```
pub fn check<E>(lines: impl IntoIterator<Item = Result<Line, E>>) -> CheckReport
where
    SourceError: From<E>,
{
    let mut replay = Replay::new();
    let mut report = CheckReport::default();
    for line in lines {
        match line {
            Ok(line) => {
                report.events += 1;
                replay.push(line.line, &line.envelope);
            }
            Err(error) => {
                let error = SourceError::from(error);
                replay.state.reject_unreadable();
                report.invalid_lines += 1;
                if report.parse_errors.len() < PARSE_ERRORS_KEPT {
                    report.parse_errors.push(InvalidLine::from(&error));
                } else {
                    report.parse_errors_not_listed += 1;
                }
                if let SourceError::Parse(parse) = &error
                    && let Some(first) = parse.tail_from_seq
                {
                    report.tail_from_seq = Some(first);
                    break;
                }
            }
        }
    }
    report.rejections = replay.rejections;
    report.duplicates = replay.duplicates;
    report
}
