//! `exops log …`: create, fill, read back, check and describe a data directory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use exops_core::{Envelope, Event, Outcome, Venue};
use exops_jsonl::{Line, LineDecoder, Reader};
use exops_log::inspect::{LogSummary, walk};
use exops_log::{Appended, BatchTicket, Log, LogOptions, LogReader, Submission, Ticket};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::{Failure, emit, to_json};

/// Submissions in flight before the importer waits for the oldest: enough to fill many
/// group commits, bounded so memory stays flat.
const IN_FLIGHT_MAX: usize = 65_536;
/// Events handed to the writer at a time by `exops log import` (a block's worth).
const IMPORT_BATCH: usize = 4096;

fn store_failure(error: exops_log::StoreError) -> Failure {
    match error {
        exops_log::StoreError::NotALog(_) => Failure::usage(error),
        _ => Failure::data(error),
    }
}

pub fn init(data_dir: &Path) -> Result<(), Failure> {
    let created = exops_log::init(data_dir).map_err(store_failure)?;
    let message = if created { "created an empty log in" } else { "a log already exists in" };
    emit(&format!("{message} {}\n", data_dir.display()))
}

/// The venue the log declares (its first event), for decoding customer operations.
fn venue_of(data_dir: &Path) -> Result<Option<Venue>, Failure> {
    match LogReader::open(data_dir, 1).map_err(store_failure)?.next() {
        Some(Ok(Envelope { event: Event::VenueDeclared(spec), .. })) => Ok(Venue::from_spec(&spec).ok()),
        Some(Err(error)) => Err(store_failure(error)),
        _ => Ok(None),
    }
}

/// Counts of what an import or append did.
#[derive(Debug, Default, Serialize)]
pub struct AppendReport {
    pub durable: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub refused: u64,
    pub last_seq: u64,
}

impl AppendReport {
    fn count(&mut self, appended: Appended) {
        match appended {
            Appended::Durable { seq, outcome } => {
                self.durable += 1;
                self.last_seq = self.last_seq.max(seq);
                if let Outcome::Rejected(_) = outcome {
                    self.rejected += 1;
                }
            }
            Appended::Duplicate { .. } => self.duplicates += 1,
            Appended::Refused { reason } => {
                self.refused += 1;
                eprintln!("exops: refused: {reason}");
            }
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} events durable (last seq {}), {} of them rejected by the state and recorded as such, \
             {} duplicates skipped, {} refused\n",
            self.durable, self.last_seq, self.rejected, self.duplicates, self.refused
        )
    }
}

fn submission(line: Line) -> Submission {
    let envelope = line.envelope;
    Submission { at: envelope.at, id: envelope.id, actor: envelope.actor, event: envelope.event, note: envelope.note }
}

fn open_log(
    data_dir: &Path,
    commits: Option<crossbeam_channel::Sender<u64>>,
    snapshot_every: Option<u64>,
) -> Result<exops_log::Opened, Failure> {
    if snapshot_every == Some(0) {
        return Err(Failure::usage("--snapshot-every must be at least 1"));
    }
    let options = LogOptions { snapshot_every, ..LogOptions::default() };
    let opened = Log::open(data_dir, options, commits).map_err(store_failure)?;
    if let Some(repair) = opened.recovery.describe() {
        eprintln!("exops: recovered on open: {repair}");
    }
    for note in &opened.notes {
        eprintln!("exops: note: {note}");
    }
    Ok(opened)
}

/// Appends everything `lines` yields, keeping at most `IN_FLIGHT_MAX` unanswered. With a
/// `batch` above 1 (a whole file), events go to the writer `batch` at a time, encoded on
/// this thread and answered together; with 1 (a live stream), each as soon as it is read.
fn pump(
    opened: &exops_log::Opened,
    lines: impl Iterator<Item = Result<Line, exops_jsonl::ParseError>>,
    progress: &ProgressBar,
    batch: usize,
) -> Result<AppendReport, Failure> {
    enum Waiting {
        One(Ticket),
        Many(BatchTicket),
    }
    let appender = opened.log.appender();
    let mut report = AppendReport { last_seq: opened.last_seq, ..AppendReport::default() };
    let mut in_flight: VecDeque<(usize, Waiting)> = VecDeque::new();
    let mut unanswered = 0;
    let mut pending: Vec<Submission> = Vec::new();
    let mut failure = None;
    let count = |report: &mut AppendReport, waiting: Waiting| -> Result<(), Failure> {
        match waiting {
            Waiting::One(ticket) => report.count(ticket.wait().map_err(Failure::data)?),
            Waiting::Many(ticket) => {
                for answer in ticket.wait() {
                    report.count(answer.map_err(Failure::data)?);
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
                failure = Some(Failure::data(error));
                break;
            }
        };
        progress.inc(1);
        pending.push(submission(line));
        // A batch goes when it is full, or when the input pauses at an error or ends.
        if pending.len() >= batch || !matches!(lines.peek(), Some(Ok(_))) {
            let size = pending.len();
            let waiting = if size == 1 {
                Waiting::One(appender.submit(pending.remove(0)).map_err(Failure::data)?)
            } else {
                Waiting::Many(appender.submit_batch(std::mem::take(&mut pending)).map_err(Failure::data)?)
            };
            in_flight.push_back((size, waiting));
            unanswered += size;
        }
        while unanswered >= IN_FLIGHT_MAX
            && let Some((size, waiting)) = in_flight.pop_front()
        {
            unanswered -= size;
            count(&mut report, waiting)?;
        }
    }
    for (_, waiting) in in_flight {
        count(&mut report, waiting)?;
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(report),
    }
}

pub(crate) fn progress_bar(length: Option<u64>, what: &str) -> ProgressBar {
    let bar = match length {
        Some(length) => ProgressBar::new(length),
        None => ProgressBar::new_spinner(),
    };
    let template = if length.is_some() {
        "{prefix} [{bar:40}] {human_pos}/{human_len} events ({elapsed}, {eta} left)"
    } else {
        "{prefix} {spinner} {human_pos} events ({elapsed})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    bar
}

fn decoder(data_dir: &Path, source: &str, next_seq: u64) -> Result<LineDecoder, Failure> {
    Ok(LineDecoder::continuing(source, venue_of(data_dir)?, next_seq))
}

/// Reads `file` (or standard input, spooled to a temporary file first) twice: once to
/// check every line, so that a bad line leaves the log unchanged, then to append.
pub fn import(data_dir: &Path, file: &str, snapshot_every: Option<u64>) -> Result<(), Failure> {
    if !exops_log::store::segments_dir(data_dir).is_dir() {
        exops_log::init(data_dir).map_err(store_failure)?;
    }
    let (path, display, _spool) = if file == "-" {
        let mut spool = tempfile::NamedTempFile::new_in(data_dir)
            .map_err(|error| Failure::data(format!("cannot spool standard input: {error}")))?;
        io::copy(&mut io::stdin().lock(), spool.as_file_mut())
            .map_err(|error| Failure::data(format!("cannot read standard input: {error}")))?;
        let path = spool.path().to_owned();
        (path, "<stdin>".to_owned(), Some(spool))
    } else {
        (PathBuf::from(file), file.to_owned(), None)
    };
    let open = |path: &Path| -> Result<BufReader<File>, Failure> {
        if path.is_dir() {
            return Err(Failure::usage(format!("cannot import `{display}`: it is a directory")));
        }
        File::open(path)
            .map(|file| BufReader::with_capacity(1 << 16, file))
            .map_err(|error| Failure::usage(format!("cannot open `{display}`: {error}")))
    };

    let opened = open_log(data_dir, None, snapshot_every)?;
    let next_seq = opened.last_seq + 1;
    // Pass 1: every line must parse, and must not be one the writer would refuse (time
    // going backwards) or skip (an id not above the same actor's previous one in the
    // file), before anything is written.
    let mut lines = 0_u64;
    let mut last_at = opened.last_at;
    let mut last_ids: std::collections::BTreeMap<exops_core::Actor, (u64, u64)> = Default::default();
    for line in Reader::with_decoder(decoder(data_dir, &display, next_seq)?, open(&path)?) {
        let line = line.map_err(Failure::data)?;
        let envelope = &line.envelope;
        if let Some(previous) = last_at
            && envelope.at < previous
        {
            return Err(Failure::data(format!(
                "{display}:{}: field `at`: {} is earlier than the event before it ({previous}); \
                 time must not go backwards (nothing was imported)",
                line.line, envelope.at
            )));
        }
        last_at = Some(envelope.at);
        if let Some((previous_id, previous_line)) = last_ids.get(&envelope.actor)
            && envelope.id <= *previous_id
        {
            return Err(Failure::data(format!(
                "{display}:{}: field `id`: {} of {} is not above its id {previous_id} on line {previous_line}; \
                 ids go up per actor (nothing was imported)",
                line.line, envelope.id, envelope.actor
            )));
        }
        last_ids.insert(envelope.actor.clone(), (envelope.id, line.line));
        lines += 1;
    }
    // Pass 2: append.
    let progress = progress_bar(Some(lines), "importing");
    let reader = Reader::with_decoder(decoder(data_dir, &display, next_seq)?, open(&path)?);
    let report = pump(&opened, reader, &progress, IMPORT_BATCH);
    progress.finish_and_clear();
    let closed = opened.log.close();
    let report = report?;
    closed.map_err(Failure::data)?;
    emit(&format!("imported {display}: {}", report.summary()))
}

/// Appends JSON Lines from standard input as they come; after every group commit prints
/// `durable through seq N` and flushes, so a caller always knows what survived.
pub fn append(data_dir: &Path, snapshot_every: Option<u64>) -> Result<(), Failure> {
    let (commits, committed) = crossbeam_channel::bounded::<u64>(1024);
    let opened = open_log(data_dir, Some(commits), snapshot_every)?;
    let next_seq = opened.last_seq + 1;
    let printer = std::thread::spawn(move || {
        let mut stdout = io::stdout().lock();
        for seq in committed {
            if writeln!(stdout, "durable through seq {seq}").and_then(|()| stdout.flush()).is_err() {
                break;
            }
        }
    });
    let stdin = io::stdin().lock();
    let reader = Reader::with_decoder(decoder(data_dir, "<stdin>", next_seq)?, Box::new(stdin) as Box<dyn BufRead>);
    let report = pump(&opened, reader, &ProgressBar::hidden(), 1);
    let closed = opened.log.close();
    let _ = printer.join();
    let report = report?;
    closed.map_err(Failure::data)?;
    eprint!("exops: appended: {}", report.summary());
    Ok(())
}

pub fn export(data_dir: &Path, from: u64, to: Option<u64>) -> Result<(), Failure> {
    let mut writer = exops_jsonl::Writer::new();
    if from > 1 {
        // The writer names markets and assets through the venue the log declares first.
        if let Some(first) = LogReader::open(data_dir, 1).map_err(store_failure)?.next() {
            writer.render(&first.map_err(store_failure)?);
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    for envelope in LogReader::open(data_dir, from).map_err(store_failure)? {
        let envelope = envelope.map_err(store_failure)?;
        if to.is_some_and(|to| envelope.seq > to) {
            break;
        }
        let mut line = writer.render(&envelope);
        line.push('\n');
        match out.write_all(line.as_bytes()) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(error) => return Err(Failure::data(format!("cannot write the output: {error}"))),
        }
    }
    match out.flush() {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::data(format!("cannot write the output: {error}")))
        }
        _ => Ok(()),
    }
}

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
        unsealed_tail: summary.unsealed_tail.as_ref().map(describe_tail),
    }
}

fn describe_tail(tail: &exops_log::UnsealedTail) -> String {
    tail.describe()
}

pub fn verify(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let result = walk(data_dir, true);
    let summary = match result {
        Err(exops_log::StoreError::Damaged(damage)) => {
            let message = format!("damaged: {damage}");
            if json {
                emit(&to_json(&VerifyJson { ok: false, damage: Some(message.clone()), summary: None })?)?;
            }
            return Err(Failure::data(message));
        }
        Err(other) => return Err(store_failure(other)),
        Ok(summary) => summary,
    };
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
        Some(tail) => Err(Failure::data(describe_tail(tail))),
        None => Ok(()),
    }
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
    snapshots: Option<SnapshotCoverage>,
}

pub fn stats(data_dir: &Path, json: bool) -> Result<(), Failure> {
    let summary = walk(data_dir, false).map_err(store_failure)?;
    let coverage = exops_log::snapshots::Snapshots::open(data_dir).ok().map(|snapshots| {
        let (count, first_seq, last_seq) = snapshots.coverage();
        SnapshotCoverage { count, first_seq, last_seq, every: snapshots.snapshot_every() }
    });
    if json {
        return emit(&to_json(&StatsJson { summary: summary_json(&summary), snapshots: coverage })?);
    }
    let snapshots = match &coverage {
        None => "snapshots   unavailable (the index cannot be opened)\n".to_owned(),
        Some(SnapshotCoverage { count: 0, every, .. }) => format!("snapshots   none yet (one every {every} events)\n"),
        Some(SnapshotCoverage { count, first_seq, last_seq, every }) => format!(
            "snapshots   {count}, at seq {} .. {} (one every {every} events)\n",
            first_seq.unwrap_or(0),
            last_seq.unwrap_or(0)
        ),
    };
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    emit(&format!(
        "events      {}\nsequence    {} .. {}\nsegments    {}\nblocks      {}\nbytes       {}\nfirst event {}\nlast event  {}\nhead hash   {}\n{snapshots}{}",
        summary.events,
        or_dash(summary.first_seq.map(|seq| seq.to_string())),
        or_dash(summary.last_seq.map(|seq| seq.to_string())),
        summary.segments,
        summary.blocks,
        summary.bytes,
        or_dash(summary.first_at.map(|at| at.to_string())),
        or_dash(summary.last_at.map(|at| at.to_string())),
        summary.head_hash,
        summary.unsealed_tail.as_ref().map(|tail| format!("note        {}\n", describe_tail(tail))).unwrap_or_default()
    ))
}

/// Writes a synthetic log of `events` events into a new data directory.
pub fn generate(data_dir: &Path, events: u64, seed: u64) -> Result<(), Failure> {
    if exops_log::store::segments_dir(data_dir).is_dir()
        && walk(data_dir, false).map(|summary| summary.events > 0).unwrap_or(true)
    {
        return Err(Failure::usage(format!(
            "`{}` already holds a log; `exops gen` writes a new one (give a new or empty directory)",
            data_dir.display()
        )));
    }
    let progress = progress_bar(Some(events), "generating");
    let written = exops_sim::generate::write_log(data_dir, events, seed, &mut |written| progress.set_position(written));
    progress.finish_and_clear();
    let written = written.map_err(store_failure)?;
    emit(&format!("generated {written} events (seed {seed}) in {}\n", data_dir.display()))
}
