//! Replays event logs: folds them through the core into the state at any point, builds
//! per-service timelines, collects every rejection for `check`, and renders all of it
//! as text, JSON, YAML-ready views and Mermaid.

mod render;
mod timeline;

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use exops_core::{Envelope, Event, Outcome, State, Timestamp};
use exops_jsonl::{Line, Reader};
use serde::Serialize;

pub use render::{render_state_text, render_timeline_mermaid, render_timeline_table, table as render_table};
pub use timeline::{Interval, ServiceTimeline, Timeline};

/// Where a replay stops.
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
    pub fn parse(text: &str) -> Result<Point, String> {
        if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
            return text.parse().map(Point::Seq).map_err(|_| format!("sequence number `{text}` is too large"));
        }
        Timestamp::parse_rfc3339(text)
            .map(Point::At)
            .map_err(|error| format!("`--at` takes a sequence number (e.g. 120) or {error}"))
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
#[derive(Debug, Default)]
pub struct Replay {
    pub state: State,
    pub timeline: Timeline,
    pub rejections: Vec<RejectedEvent>,
    pub duplicates: Vec<DuplicateEvent>,
}

impl Replay {
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
// Both variants are large readers held once per replay; boxing either saves nothing.
#[allow(missing_debug_implementations, clippy::large_enum_variant)]
pub enum Source {
    Jsonl(Reader<Box<dyn BufRead>>),
    Log(exops_log::LogReader),
}

/// A source that could not be read, with where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError(pub String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

impl Source {
    /// Opens `-` (standard input), a `.jsonl` file, or a data directory.
    pub fn open(source: &str) -> io::Result<Source> {
        let path = std::path::Path::new(source);
        if source != "-" && path.is_dir() {
            if !exops_log::store::segments_dir(path).is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a directory but not an exops data directory (no `log/` inside); \
                     give a .jsonl file or a directory made by `exops log init`",
                ));
            }
            return exops_log::LogReader::open(path, 1)
                .map(Source::Log)
                .map_err(|error| io::Error::other(error.to_string()));
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
            Source::Jsonl(reader) => reader.next().map(|line| line.map_err(|error| SourceError(error.to_string()))),
            Source::Log(reader) => reader.next().map(|envelope| {
                envelope
                    .map(|envelope| Line { line: envelope.seq, envelope })
                    .map_err(|error| SourceError(error.to_string()))
            }),
        }
    }
}

/// Opens a JSON Lines source: a path, or `-` for standard input.
pub fn open_jsonl(source: &str) -> io::Result<Reader<Box<dyn BufRead>>> {
    if source == "-" {
        return Ok(Reader::new("<stdin>", Box::new(BufReader::new(io::stdin())) as Box<dyn BufRead>));
    }
    let file = File::open(source)?;
    if file.metadata()?.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is a directory, not a JSON Lines file"));
    }
    Ok(Reader::new(source, Box::new(BufReader::with_capacity(1 << 16, file)) as Box<dyn BufRead>))
}

/// Folds `lines` up to `point`, stopping at the first line that cannot be parsed.
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

/// The state of a data directory's log at `point`, from the nearest snapshot at or
/// before it plus the events after it. The notes say what was repaired or rebuilt.
pub fn replay_data_dir(data_dir: &std::path::Path, point: Point) -> Result<(Replay, Vec<String>), SourceError> {
    replay_data_dir_with_progress(data_dir, point, &mut |_| {})
}

/// [`replay_data_dir`], telling `progress` how many events it has folded, block by block.
pub fn replay_data_dir_with_progress(
    data_dir: &std::path::Path,
    point: Point,
    progress: &mut dyn FnMut(u64),
) -> Result<(Replay, Vec<String>), SourceError> {
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
    let restored = restore_with_progress(data_dir, snapshots.as_ref(), target, progress)
        .map_err(|error| SourceError(error.to_string()))?;
    notes.extend(restored.notes);
    Ok((Replay { state: restored.state, ..Replay::default() }, notes))
}

/// What `check` found: every parse error and every rejected event of a source.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub events: u64,
    pub parse_errors: Vec<String>,
    pub rejections: Vec<RejectedEvent>,
    pub duplicates: Vec<DuplicateEvent>,
}

impl CheckReport {
    /// Every line parsed, every event applied, and there was at least the venue.
    pub fn is_clean(&self) -> bool {
        self.parse_errors.is_empty() && self.rejections.is_empty() && self.events > 0
    }
}

/// Parse errors kept in a report; past this many, the rest are only counted.
pub const PARSE_ERRORS_KEPT: usize = 100;

/// Applies everything it can read and lists what went wrong; a line that does not parse
/// is reported and skipped.
pub fn check<E: std::fmt::Display>(lines: impl IntoIterator<Item = Result<Line, E>>) -> CheckReport {
    let mut replay = Replay::new();
    let mut report = CheckReport::default();
    let mut parse_errors_dropped = 0_u64;
    for line in lines {
        match line {
            Ok(line) => {
                report.events += 1;
                replay.push(line.line, &line.envelope);
            }
            Err(error) => {
                replay.state.reject_unreadable();
                if report.parse_errors.len() < PARSE_ERRORS_KEPT {
                    report.parse_errors.push(error.to_string());
                } else {
                    parse_errors_dropped += 1;
                }
            }
        }
    }
    if parse_errors_dropped > 0 {
        report.parse_errors.push(format!("… and {parse_errors_dropped} more lines that do not parse"));
    }
    report.rejections = replay.rejections;
    report.duplicates = replay.duplicates;
    report
}
