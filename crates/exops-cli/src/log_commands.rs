//! `exops log …`: create, fill, read back, check and describe a data directory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use exops_core::{Envelope, Event, Outcome, Venue};
use exops_jsonl::{Line, LineDecoder, Reader};
use exops_log::inspect::{LogSummary, walk};
use exops_log::{Appended, BatchTicket, Log, LogOptions, LogReader, Submission, Ticket};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::{ExpectedHead, ExportFormat};
use crate::failure::{Code, Failure, input_file};
use crate::output::{emit, note, progress_bar, spinner, to_json};

/// Submissions in flight before the importer waits for the oldest: enough to fill many
/// group commits, bounded so memory stays flat.
const IN_FLIGHT_MAX: usize = 65_536;
/// Events handed to the writer at a time by `exops log import` (a block's worth).
const IMPORT_BATCH: usize = 4096;
/// Answers kept for `--format json` of an import: past this many, only counted.
const LISTED_MAX: usize = 1000;

#[derive(Serialize)]
struct InitJson<'a> {
    data_dir: &'a Path,
    created: bool,
}

pub fn init(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let created = exops_log::init(data_dir)?;
    if json {
        return emit(&to_json(&InitJson { data_dir, created })?);
    }
    let message = if created { "created an empty log in" } else { "a log already exists in" };
    emit(&format!("{message} {}\n", data_dir.display()))
}

/// The venue the log declares (its first event), for decoding customer operations.
pub(crate) fn venue_of(data_dir: &Path) -> Result<Option<Venue>, Failure> {
    match LogReader::open(data_dir, 1)?.next() {
        Some(Ok(Envelope { event: Event::VenueDeclared(spec), .. })) => Ok(Venue::from_spec(&spec).ok()),
        Some(Err(error)) => Err(error.into()),
        _ => Ok(None),
    }
}

/// Where an answered event came from, for messages.
#[derive(Clone, Debug)]
struct Origin {
    line: u64,
    kind: &'static str,
    /// Formatted only when the event is reported: most are not.
    actor: exops_core::Actor,
    id: u64,
}

/// An event the writer answered with something other than a plain acceptance.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Notice {
    /// Durable, but the state refused it: recorded as a rejection.
    Rejected { line: u64, seq: u64, kind: &'static str, actor: String, reason: String },
    /// A retry of an id already applied: not written again.
    Duplicate { line: u64, kind: &'static str, actor: String, id: u64, last_id: u64 },
    /// Not written: its timestamp is earlier than the log's last event.
    Refused { line: u64, kind: &'static str, actor: String, reason: String },
}

impl Notice {
    fn describe(&self, source: &str) -> String {
        match self {
            Notice::Rejected { line, seq, kind, actor, reason } => {
                format!("rejected (recorded): {source}:{line}: seq {seq} `{kind}` by {actor}: {reason}")
            }
            Notice::Duplicate { line, kind, actor, id, last_id, .. } => {
                format!("duplicate (skipped): {source}:{line}: `{kind}` id {id} of {actor} (last applied id {last_id})")
            }
            Notice::Refused { line, kind, actor, reason } => {
                format!("refused (not written): {source}:{line}: `{kind}` by {actor}: {reason}")
            }
        }
    }
}

/// Counts of what an import or append did, and each event answered otherwise than plainly.
#[derive(Debug, Default, Serialize)]
pub struct AppendReport {
    pub durable: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub refused: u64,
    pub last_seq: u64,
    /// The rejected, duplicate and refused events, the first 1,000 (`log import --format
    /// json`; text output and `log append` report each as it is answered instead).
    pub notices: Vec<Notice>,
    /// How many notices were counted but not listed.
    pub notices_not_listed: u64,
}

/// How answers reach the user as they come.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tell {
    /// A line on standard error per notice (text output).
    Stderr,
    /// A JSON line on standard output per notice (`log append --format json`).
    JsonLines,
    /// Only kept in the report (`log import --format json`).
    Report,
}

impl AppendReport {
    fn count(&mut self, origin: &Origin, appended: Appended, source: &str, tell: Tell) {
        let notice = match appended {
            Appended::Durable { seq, outcome } => {
                self.durable += 1;
                self.last_seq = self.last_seq.max(seq);
                let Outcome::Rejected(rejection) = outcome else { return };
                self.rejected += 1;
                Notice::Rejected {
                    line: origin.line,
                    seq,
                    kind: origin.kind,
                    actor: origin.actor.to_string(),
                    reason: rejection.to_string(),
                }
            }
            Appended::Duplicate { last_id } => {
                self.duplicates += 1;
                Notice::Duplicate {
                    line: origin.line,
                    kind: origin.kind,
                    actor: origin.actor.to_string(),
                    id: origin.id,
                    last_id,
                }
            }
            Appended::Refused { reason } => {
                self.refused += 1;
                Notice::Refused { line: origin.line, kind: origin.kind, actor: origin.actor.to_string(), reason }
            }
        };
        match tell {
            Tell::Stderr => eprintln!("exops: {}", notice.describe(source)),
            Tell::JsonLines => {
                if let Ok(line) = serde_json::to_string(&notice) {
                    let _ = writeln!(io::stdout().lock(), "{line}");
                }
            }
            Tell::Report if self.notices.len() < LISTED_MAX => self.notices.push(notice),
            Tell::Report => self.notices_not_listed += 1,
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "{} events durable (last seq {}), {} of them rejected by the state and recorded as such, \
             {} duplicates skipped, {} refused\n",
            self.durable, self.last_seq, self.rejected, self.duplicates, self.refused
        )
    }
}

fn origin_of(line: &Line) -> Origin {
    let envelope = &line.envelope;
    Origin { line: line.line, kind: envelope.event.kind_name(), actor: envelope.actor.clone(), id: envelope.id }
}

fn submission(line: Line) -> Submission {
    line.envelope.into()
}

pub(crate) fn open_log(
    data_dir: &Path,
    commits: Option<crossbeam_channel::Sender<u64>>,
    snapshot_every: Option<u64>,
    batch_max: Option<usize>,
) -> Result<exops_log::Opened, Failure> {
    if snapshot_every == Some(0) {
        return Err(Failure::usage("--snapshot-every must be at least 1"));
    }
    let defaults = LogOptions::default();
    let options = LogOptions { snapshot_every, batch_max: batch_max.unwrap_or(defaults.batch_max), ..defaults };
    let opened = Log::open(data_dir, options, commits)?;
    if let Some(repair) = opened.recovery.describe() {
        eprintln!("exops: recovered on open: {repair}");
    }
    for text in &opened.notes {
        note(text);
    }
    Ok(opened)
}

/// Appends everything `lines` yields, keeping at most `IN_FLIGHT_MAX` unanswered. With a
/// `batch` above 1 (a whole file), events go to the writer `batch` at a time, encoded on
/// this thread and answered together; with 1 (a live stream), each as soon as it is read.
pub(crate) fn pump(
    opened: &exops_log::Opened,
    lines: impl Iterator<Item = Result<Line, exops_jsonl::ParseError>>,
    progress: &ProgressBar,
    batch: usize,
    source: &str,
    tell: Tell,
) -> Result<AppendReport, Failure> {
    enum Waiting {
        One(Ticket),
        Many(BatchTicket),
    }
    let appender = opened.log.appender();
    let mut report = AppendReport { last_seq: opened.last_seq, ..AppendReport::default() };
    let mut in_flight: VecDeque<(Vec<Origin>, Waiting)> = VecDeque::new();
    let mut unanswered = 0;
    let mut pending: Vec<Submission> = Vec::new();
    let mut origins: Vec<Origin> = Vec::new();
    let mut failure = None;
    let count = |report: &mut AppendReport, origins: Vec<Origin>, waiting: Waiting| -> Result<(), Failure> {
        match waiting {
            Waiting::One(ticket) => {
                let answer = ticket.wait()?;
                if let Some(origin) = origins.first() {
                    report.count(origin, answer, source, tell);
                }
            }
            Waiting::Many(ticket) => {
                for (origin, answer) in origins.iter().zip(ticket.wait()) {
                    report.count(origin, answer?, source, tell);
                }
            }
        }
        Ok(())
    };
    let mut lines = lines.peekable();
    while let Some(line) = lines.next() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                failure = Some(Failure::from(error));
                break;
            }
        };
        progress.inc(1);
        origins.push(origin_of(&line));
        pending.push(submission(line));
        // A batch goes when it is full, or when the input pauses at an error or ends.
        if pending.len() >= batch || !matches!(lines.peek(), Some(Ok(_))) {
            let size = pending.len();
            let waiting = if size == 1 {
                Waiting::One(appender.submit(pending.remove(0))?)
            } else {
                Waiting::Many(appender.submit_batch(std::mem::take(&mut pending))?)
            };
            in_flight.push_back((std::mem::take(&mut origins), waiting));
            unanswered += size;
        }
        while unanswered >= IN_FLIGHT_MAX
            && let Some((origins, waiting)) = in_flight.pop_front()
        {
            unanswered -= origins.len();
            count(&mut report, origins, waiting)?;
        }
    }
    for (origins, waiting) in in_flight {
        count(&mut report, origins, waiting)?;
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(report),
    }
}

pub(crate) fn decoder(data_dir: &Path, source: &str, next_seq: u64) -> Result<LineDecoder, Failure> {
    Ok(LineDecoder::continuing(source, venue_of(data_dir)?, next_seq))
}

#[derive(Serialize)]
struct ImportJson<'a> {
    file: &'a str,
    #[serde(flatten)]
    report: &'a AppendReport,
}

/// Reads `file` (or standard input, spooled to a file in the data directory first) twice:
/// once to decide every event exactly as the writer will (exops-log's `Admission`), so
/// that a bad line or a refused event leaves the log unchanged, then to append.
pub fn import(data_dir: &Path, file: &str, snapshot_every: Option<u64>, json: bool) -> Result<(), Failure> {
    if file != "-" {
        input_file(Path::new(file), "the file to import")?;
    }
    if !exops_log::segments_dir(data_dir).is_dir() {
        exops_log::init(data_dir)?;
    }
    // The log is opened (and its writer lock taken) before standard input is spooled, so
    // that opening, which removes spools left by interrupted imports, never meets this one.
    let opened = open_log(data_dir, None, snapshot_every, None)?;
    let (path, display, _spool) = if file == "-" {
        let mut spool =
            opened.create_spool().map_err(|error| Failure::io(format!("cannot spool standard input: {error}")))?;
        io::copy(&mut io::stdin().lock(), spool.as_file_mut())
            .map_err(|error| Failure::io(format!("cannot read standard input: {error}")))?;
        let path = spool.path().to_owned();
        (path, "<stdin>".to_owned(), Some(spool))
    } else {
        (PathBuf::from(file), file.to_owned(), None)
    };
    let open = |path: &Path| -> Result<BufReader<File>, Failure> {
        File::open(path)
            .map(|file| BufReader::with_capacity(1 << 16, file))
            .map_err(|error| Failure::new(Code::Unreadable, format!("cannot open `{display}`: {error}")))
    };
    let next_seq = opened.last_seq + 1;
    // Pass 1: every line must parse, and the writer must not refuse any event, before
    // anything is written. The decisions are the writer's own rule, not a copy of it.
    let mut lines = 0_u64;
    let mut admission = opened.admission();
    let checking = progress_bar(None, "checking");
    for line in Reader::with_decoder(decoder(data_dir, &display, next_seq)?, open(&path)?) {
        let line = line.map_err(|error| {
            let mut failure = Failure::from(error);
            failure.message.push_str(" (nothing was imported)");
            failure
        })?;
        let origin = origin_of(&line);
        if let Appended::Refused { reason } = admission.dry_run(&submission(line))? {
            checking.finish_and_clear();
            return Err(Failure::new(
                Code::Refused,
                format!(
                    "{display}:{}: `{}` by {}: {reason} (nothing was imported)",
                    origin.line, origin.kind, origin.actor
                ),
            ));
        }
        lines += 1;
        if lines.is_multiple_of(4096) {
            checking.set_position(lines);
        }
    }
    checking.finish_and_clear();
    if lines == 0 {
        return Err(Failure::new(
            Code::InvalidLog,
            format!("`{display}` holds no event; nothing to import (a log begins with `venue_declared`)"),
        ));
    }
    // Pass 2: append.
    let progress = progress_bar(Some(lines), "importing");
    let reader = Reader::with_decoder(decoder(data_dir, &display, next_seq)?, open(&path)?);
    let tell = if json { Tell::Report } else { Tell::Stderr };
    let report = pump(&opened, reader, &progress, IMPORT_BATCH, &display, tell);
    progress.finish_and_clear();
    let closed = opened.log.close();
    let report = report?;
    closed?;
    if json {
        return emit(&to_json(&ImportJson { file: &display, report: &report })?);
    }
    emit(&format!("imported {display}: {}", report.summary()))
}

#[derive(Serialize)]
struct DurableJson {
    durable_through_seq: u64,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    summary: &'a AppendReport,
}

/// Appends JSON Lines from standard input as they come; after every group commit prints
/// `durable through seq N` and flushes, so a caller always knows what survived.
pub fn append(data_dir: &Path, snapshot_every: Option<u64>, json: bool) -> Result<(), Failure> {
    let (commits, committed) = crossbeam_channel::bounded::<u64>(1024);
    let opened = open_log(data_dir, Some(commits), snapshot_every, None)?;
    let next_seq = opened.last_seq + 1;
    let printer = std::thread::spawn(move || {
        for seq in committed {
            let line = if json {
                serde_json::to_string(&DurableJson { durable_through_seq: seq }).unwrap_or_default()
            } else {
                format!("durable through seq {seq}")
            };
            let mut stdout = io::stdout().lock();
            if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
                break;
            }
        }
    });
    let stdin = io::stdin().lock();
    let reader = Reader::with_decoder(decoder(data_dir, "<stdin>", next_seq)?, Box::new(stdin) as Box<dyn BufRead>);
    let tell = if json { Tell::JsonLines } else { Tell::Stderr };
    let report = pump(&opened, reader, &ProgressBar::hidden(), 1, "<stdin>", tell);
    let closed = opened.log.close();
    let _ = printer.join();
    let report = report?;
    closed?;
    if json {
        return emit(&format!("{}\n", serde_json::to_string(&SummaryLine { summary: &report }).map_err(Failure::io)?));
    }
    eprint!("exops: appended: {}", report.summary());
    Ok(())
}

/// Prints the events `from..=to` of the log. A range starting past seq 1 is a tail: the
/// venue is read first (not printed) so that customer operations can name markets.
pub fn export(data_dir: &Path, from: u64, to: Option<u64>, format: ExportFormat) -> Result<(), Failure> {
    if let Some(to) = to
        && to < from
    {
        return Err(Failure::usage(format!("--to-seq {to} is before --from-seq {from}: nothing to export")));
    }
    let mut writer = exops_jsonl::Writer::new();
    if from > 1
        && let Some(first) = LogReader::open(data_dir, 1)?.next()
    {
        // The writer names markets and assets through the venue the log declares first.
        writer.render(&first?);
    }
    let write_failure = |error: io::Error| Failure::io(format!("cannot write the output: {error}"));
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let bar = progress_bar(None, "exporting");
    let mut reader = LogReader::open(data_dir, from)?;
    let mut written = 0_u64;
    let json = format == ExportFormat::Json;
    let result = (|| -> Result<(), io::Error> {
        if json {
            out.write_all(b"[")?;
        }
        for envelope in reader.by_ref() {
            let envelope = envelope.map_err(|error| io::Error::other(StoreFailure(error)))?;
            if to.is_some_and(|to| envelope.seq > to) {
                break;
            }
            let line = writer.render(&envelope);
            if json {
                out.write_all(if written == 0 { b"\n" } else { b",\n" })?;
            }
            out.write_all(line.as_bytes())?;
            if !json {
                out.write_all(b"\n")?;
            }
            written += 1;
            if written.is_multiple_of(65_536) {
                bar.set_position(written);
            }
        }
        if json {
            out.write_all(b"\n]\n")?;
        }
        out.flush()
    })();
    bar.finish_and_clear();
    match result {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(error) => {
            return match error.into_inner().map(|inner| inner.downcast::<StoreFailure>()) {
                Some(Ok(store)) => Err(store.0.into()),
                Some(Err(other)) => Err(Failure::io(format!("cannot write the output: {other}"))),
                None => Err(write_failure(io::Error::other("unknown error"))),
            };
        }
    }
    if let Some(tail) = &reader.unsealed_tail {
        note(&tail.describe());
    }
    if written == 0 && from > 1 {
        note(&format!("the log holds no event at or after seq {from}"));
    }
    Ok(())
}

/// A read error carried through the export's I/O closure.
#[derive(Debug)]
struct StoreFailure(exops_log::StoreError);

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreFailure {}

#[derive(Serialize)]
struct VerifyJson<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    damage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<SummaryJson<'a>>,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    events: u64,
    segments: u64,
    blocks: u64,
    bytes: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    first_at: Option<String>,
    last_at: Option<String>,
    head_hash: &'a str,
    unsealed_tail: Option<String>,
}

fn summary_json(summary: &LogSummary) -> SummaryJson<'_> {
    SummaryJson {
        events: summary.events,
        segments: summary.segments,
        blocks: summary.blocks,
        bytes: summary.bytes,
        first_seq: summary.first_seq,
        last_seq: summary.last_seq,
        first_at: summary.first_at.map(|at| at.to_string()),
        last_at: summary.last_at.map(|at| at.to_string()),
        head_hash: &summary.head_hash,
        unsealed_tail: summary.unsealed_tail.as_ref().map(exops_log::UnsealedTail::describe),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether the log holds `expected`: the chain hash after its last block, or after the
/// block ending at the expected seq. An error says how it differs.
fn check_expected_head(data_dir: &Path, summary: &LogSummary, expected: &ExpectedHead) -> Result<(), String> {
    let last_seq = summary.last_seq.unwrap_or(0);
    let Some(seq) = expected.seq else {
        return match summary.head_hash == expected.hash {
            true => Ok(()),
            false => Err(format!(
                "the log's head is seq {last_seq} with chain hash {}, not the expected {}: the log was cut, \
                 extended or rewritten since (give SEQ:HASH to allow it to have grown)",
                summary.head_hash, expected.hash
            )),
        };
    };
    if seq > last_seq {
        return Err(format!(
            "the log ends at seq {last_seq}, before the expected head at seq {seq}: acknowledged events were cut off"
        ));
    }
    let mut reader = LogReader::open(data_dir, 1).map_err(|error| error.to_string())?;
    let mut previous_end = 0;
    while let Some(block) = reader.next_raw_block() {
        let (end, hash, _) = block.map_err(|error| error.to_string())?.seal;
        if end == seq {
            return match hex(&hash) == expected.hash {
                true => Ok(()),
                false => Err(format!(
                    "the chain hash after seq {seq} is {}, not the expected {}: the log was rewritten up to there",
                    hex(&hash),
                    expected.hash
                )),
            };
        }
        if end > seq {
            return Err(format!(
                "seq {seq} does not end a block (blocks end at seq {previous_end} and {end}): the expected head \
                 is not from this log"
            ));
        }
        previous_end = end;
    }
    Err(format!("the log ends at seq {previous_end}, before the expected head at seq {seq}"))
}

pub fn verify(data_dir: &Path, expected: Option<&ExpectedHead>, json: bool) -> Result<(), Failure> {
    let bar = spinner("verifying");
    let result = walk(data_dir, true);
    bar.finish_and_clear();
    let summary = match result {
        Err(exops_log::StoreError::Damaged(damage)) => {
            let message = format!("damaged: {damage}");
            if json {
                emit(&to_json(&VerifyJson { ok: false, damage: Some(message.clone()), summary: None })?)?;
            }
            return Err(Failure::new(Code::Damaged, message));
        }
        Err(other) => return Err(other.into()),
        Ok(summary) => summary,
    };
    if let Some(expected) = expected
        && let Err(difference) = check_expected_head(data_dir, &summary, expected)
    {
        let message = format!("the expected head is not in the log: {difference}");
        if json {
            emit(&to_json(&VerifyJson {
                ok: false,
                damage: Some(message.clone()),
                summary: Some(summary_json(&summary)),
            })?)?;
        }
        return Err(Failure::new(Code::Damaged, message));
    }
    let whole = summary.unsealed_tail.is_none();
    if json {
        emit(&to_json(&VerifyJson { ok: whole, damage: None, summary: Some(summary_json(&summary)) })?)?;
    } else {
        emit(&format!(
            "{}: {} events in {} blocks, {} segments, {} bytes; checksums, sequence and hash chain check\nhead hash {}\n",
            if whole { "ok" } else { "not whole" },
            summary.events,
            summary.blocks,
            summary.segments,
            summary.bytes,
            summary.head_hash
        ))?;
    }
    match &summary.unsealed_tail {
        Some(tail) => Err(Failure::new(Code::Damaged, tail.describe())),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct HeadRecordJson {
    seq: u64,
    block: Option<u64>,
    segment: String,
    offset: u64,
    hash: String,
}

#[derive(Serialize)]
struct HeadJson<'a> {
    seq: u64,
    /// The last block's index; `None` for a log with no block yet.
    block: Option<u64>,
    hash: &'a str,
    /// `SEQ:HASH`, to record elsewhere and give to `verify --expect-head`.
    expect_head: String,
    /// The head record (`log/HEAD`); `None` for a log from before head records.
    recorded: Option<HeadRecordJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unsealed_tail: Option<String>,
}

/// Only reads: the log walked (checksums, chain, head record) and its head printed.
pub fn head(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let summary = walk(data_dir, false)?;
    let seq = summary.last_seq.unwrap_or(0);
    let block = summary.blocks.checked_sub(1);
    let recorded = summary.head_record.map(|head| HeadRecordJson {
        seq: head.last_seq,
        block: head.blocks.checked_sub(1),
        segment: format!("{:020}.seg", head.segment_first_seq),
        offset: head.end_offset,
        hash: hex(&head.hash),
    });
    let expect_head = format!("{seq}:{}", summary.head_hash);
    let tail = summary.unsealed_tail.as_ref().map(exops_log::UnsealedTail::describe);
    if json {
        if let Some(tail) = &tail {
            note(tail);
        }
        let head = HeadJson { seq, block, hash: &summary.head_hash, expect_head, recorded, unsealed_tail: tail };
        return emit(&to_json(&head)?);
    }
    let block_text = block.map_or_else(|| "none yet".to_owned(), |block| block.to_string());
    let recorded_text = match &recorded {
        Some(head) => format!(
            "recorded    log/HEAD: seq {}, its block ending at byte offset {} of {}\n",
            head.seq, head.offset, head.segment
        ),
        None => "recorded    no head record (a log from before head records; its next block makes one)\n".to_owned(),
    };
    let tail_text = tail.map(|tail| format!("note        {tail}\n")).unwrap_or_default();
    emit(&format!(
        "seq         {seq}\nblock       {block_text}\nhash        {}\n{recorded_text}{tail_text}\
         expect      {expect_head}   (exops log verify --expect-head {expect_head})\n",
        summary.head_hash
    ))
}

#[derive(Serialize)]
struct SnapshotCoverage {
    count: usize,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    every: u64,
}

#[derive(Serialize)]
struct StatsJson<'a> {
    #[serde(flatten)]
    summary: SummaryJson<'a>,
    snapshots: SnapshotCoverage,
    /// The notes of the bytes earlier opens cut and kept in `quarantine/`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    quarantined: Vec<String>,
}

/// Only reads: the log's summary and the snapshot files, never the sled index (which
/// opening would write to).
pub fn stats(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let summary = walk(data_dir, false)?;
    let coverage = exops_log::snapshots::Snapshots::coverage_read_only(data_dir);
    let coverage = SnapshotCoverage {
        count: coverage.count,
        first_seq: coverage.first_seq,
        last_seq: coverage.last_seq,
        every: coverage.every,
    };
    if let Some(tail) = &summary.unsealed_tail
        && json
    {
        note(&tail.describe());
    }
    let quarantined: Vec<String> = summary.quarantined.iter().map(|note| note.display().to_string()).collect();
    if json {
        return emit(&to_json(&StatsJson { summary: summary_json(&summary), snapshots: coverage, quarantined })?);
    }
    let quarantine = match quarantined.as_slice() {
        [] => String::new(),
        notes => format!(
            "quarantine  {} cut by earlier opens and kept, each with a note: {}\n",
            notes.len(),
            notes.join(", ")
        ),
    };
    let snapshots = match &coverage {
        SnapshotCoverage { count: 0, every, .. } => format!("snapshots   none yet (one every {every} events)\n"),
        SnapshotCoverage { count, first_seq, last_seq, every } => format!(
            "snapshots   {count}, at seq {} .. {} (one every {every} events)\n",
            first_seq.unwrap_or(0),
            last_seq.unwrap_or(0)
        ),
    };
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    emit(&format!(
        "events      {}\nsequence    {} .. {}\nsegments    {}\nblocks      {}\nbytes       {}\nfirst event {}\nlast event  {}\nhead hash   {}\n{snapshots}{quarantine}{}",
        summary.events,
        or_dash(summary.first_seq.map(|seq| seq.to_string())),
        or_dash(summary.last_seq.map(|seq| seq.to_string())),
        summary.segments,
        summary.blocks,
        summary.bytes,
        or_dash(summary.first_at.map(|at| at.to_string())),
        or_dash(summary.last_at.map(|at| at.to_string())),
        summary.head_hash,
        summary.unsealed_tail.as_ref().map(|tail| format!("note        {}\n", tail.describe())).unwrap_or_default()
    ))
}

#[derive(Serialize)]
struct GeneratedJson<'a> {
    data_dir: &'a Path,
    events: u64,
    seed: u64,
}

/// Writes a synthetic log of `events` events into a new data directory.
pub fn generate(data_dir: &Path, events: u64, seed: u64, json: bool) -> Result<(), Failure> {
    if exops_log::segments_dir(data_dir).is_dir()
        && walk(data_dir, false).map(|summary| summary.events > 0).unwrap_or(true)
    {
        return Err(Failure::usage(format!(
            "`{}` already holds a log; `exops gen` writes a new one (give a new or empty directory)",
            data_dir.display()
        )));
    }
    let progress = progress_bar(Some(events), "generating");
    let written = exops_gen::write_log(data_dir, events, seed, &mut |written| progress.set_position(written));
    progress.finish_and_clear();
    let written = written?;
    if json {
        return emit(&to_json(&GeneratedJson { data_dir, events: written, seed })?);
    }
    emit(&format!("generated {written} events (seed {seed}) in {}\n", data_dir.display()))
}
