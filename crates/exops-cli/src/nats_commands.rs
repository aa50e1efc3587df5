//! `exops log push`, `exops log follow` and `exops serve`: the log replicated through a
//! NATS JetStream stream (exops-nats decides everything; this module prints).

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use exops_core::{Gated, Outcome};

use exops_jsonl::Reader;
use exops_log::LogReader;
use exops_log::{Appended, ResumePoint};
use exops_nats::{Connection, NatsError, SubmitReply};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::NatsTarget;
use crate::failure::{Code, Failure};
use crate::log_commands::{Tell, decoder, open_log, pump};
use crate::output::{emit, note, to_json};

/// Events per block in `exops serve`: a block is one NATS message, and must stay under
/// the server's `max_payload` (1 MiB by default).
const SERVE_BATCH_MAX: usize = 1024;

/// The cluster URL and the venue: the flags, else the `[nats]` table of
/// `DATA_DIR/exops.toml`; a venue that cannot name a stream is refused here.
fn resolve(target: &NatsTarget, data_dir: &Path) -> Result<(String, String), Failure> {
    let from_file = if target.nats.is_some() && target.venue.is_some() {
        None
    } else {
        exops_log::settings::Settings::load(data_dir).map_err(Failure::usage)?.nats
    };
    let from_file = from_file.unwrap_or_default();
    let file = data_dir.join(exops_log::settings::SETTINGS_FILE);
    let missing = |flag: &str, key: &str| {
        Failure::usage(format!("--{flag} is needed: give it, or set `{key}` under `[nats]` in {}", file.display()))
    };
    let url = target.nats.clone().or(from_file.url).ok_or_else(|| missing("nats", "url"))?;
    let venue = target.venue.clone().or(from_file.venue).ok_or_else(|| missing("venue", "venue"))?;
    exops_nats::validate_venue(&venue)?;
    Ok((url, venue))
}

#[derive(Serialize)]
struct PushJson<'a> {
    venue: &'a str,
    stream: String,
    subject: &'a str,
    created: bool,
    local_blocks: u64,
    already_there: u64,
    published: u64,
}

pub fn push(target: &NatsTarget, data_dir: &Path, replicas: usize, json: bool) -> Result<(), Failure> {
    let (url, venue) = resolve(target, data_dir)?;
    let (url, venue) = (url.as_str(), venue.as_str());
    // The log must be there before anything goes to the cluster.
    exops_log::list_segments(data_dir)?;
    let connection = Connection::connect(url, venue)?;
    let report = exops_nats::push(&connection, data_dir, replicas, &exops_nats::new_session())?;
    if json {
        let body = PushJson {
            venue,
            stream: connection.stream_name(),
            subject: &report.subject,
            created: report.created,
            local_blocks: report.local_blocks,
            already_there: report.already_there,
            published: report.published,
        };
        return emit(&format!("{}\n", to_json(&body)?));
    }
    emit(&format!(
        "pushed {} blocks to {} ({} already there, checked equal; {} in the data directory){}\n",
        report.published,
        connection.stream_name(),
        report.already_there,
        report.local_blocks,
        if report.created { "; the stream was created" } else { "" }
    ))
}

#[derive(Serialize)]
struct BlockJson {
    replicated_block: u64,
    through_seq: u64,
}

#[derive(Serialize)]
struct FollowJson<'a> {
    venue: &'a str,
    appended: u64,
    blocks: u64,
    last_seq: u64,
    head_hash: Option<String>,
}

pub fn follow(
    target: &NatsTarget,
    data_dir: &Path,
    until_head: bool,
    name: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let (url, venue) = resolve(target, data_dir)?;
    if let Some(name) = name {
        exops_nats::validate_follower_name(name)?;
    }
    let (url, venue) = (url.as_str(), venue.as_str());
    let connection = Connection::connect(url, venue)?;
    let mut failed_output = None;
    let mut on_block = |block: &exops_log::replica::CheckedBlock| {
        let seal = &block.seal;
        let line = if json {
            to_json(&BlockJson { replicated_block: seal.block_index, through_seq: seal.last_seq }).unwrap_or_default()
        } else {
            format!("replicated block {} through seq {}", seal.block_index, seal.last_seq)
        };
        let mut stdout = io::stdout().lock();
        if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            failed_output.get_or_insert(error);
        }
        Ok(())
    };
    let report = match name {
        Some(name) => exops_nats::follow_reporting(&connection, data_dir, name, until_head, &mut on_block)?,
        None => exops_nats::follow(&connection, data_dir, until_head, &mut on_block)?,
    };
    if let Some(error) = failed_output {
        return Err(Failure::io(format!("standard output: {error}")));
    }
    if json {
        let body = FollowJson {
            venue,
            appended: report.appended,
            blocks: report.blocks,
            last_seq: report.last_seq,
            head_hash: report.head_hash,
        };
        return emit(&format!("{}\n", to_json(&body)?));
    }
    eprintln!(
        "exops: at the stream's head: {} blocks appended, {} in the replica, last seq {}, head hash {}",
        report.appended,
        report.blocks,
        report.last_seq,
        report.head_hash.as_deref().unwrap_or("(empty log)")
    );
    Ok(())
}

#[derive(Serialize)]
struct ClaimJson<'a> {
    stream: String,
    session: &'a str,
    subject: String,
    fenced: &'a [String],
}

/// Moves an existing stream's subject to a new session, fencing its writer.
pub fn claim(target: &NatsTarget, data_dir: &Path, json: bool) -> Result<(), Failure> {
    let (url, venue) = resolve(target, data_dir)?;
    let (url, venue) = (url.as_str(), venue.as_str());
    let connection = Connection::connect(url, venue)?;
    // A claim that created a stream would fence nobody and make a stream nobody writes.
    connection.existing_head()?;
    let session = exops_nats::new_session();
    let fenced = connection.claim(&session, 3)?;
    let subject = exops_nats::writer_subject(venue, &session);
    if json {
        let body = ClaimJson { stream: connection.stream_name(), session: &session, subject, fenced: &fenced };
        return emit(&format!("{}\n", to_json(&body)?));
    }
    emit(&format!(
        "claimed {} for session {session} ({subject}); fenced: {}\n",
        connection.stream_name(),
        fenced.join(", ")
    ))
}

/// Every reporting follower against the stream; exit 1 when one diverged.
pub fn fleet_status(target: &NatsTarget, data_dir: &Path, json: bool) -> Result<(), Failure> {
    let (url, venue) = resolve(target, data_dir)?;
    let connection = Connection::connect(&url, &venue)?;
    let status = exops_nats::fleet_status(&connection)?;
    let diverged: Vec<String> = status
        .diverged()
        .map(|follower| match &follower.chain {
            exops_nats::Chain::Mismatch { block, stream_hash } => format!(
                "follower `{}` diverged at block {block}: its hash is {}, the stream's {stream_hash}",
                follower.name,
                follower.report.head_hash.as_deref().unwrap_or("none")
            ),
            _ => format!(
                "follower `{}` reports {} blocks, the stream holds {}",
                follower.name, follower.report.blocks, status.stream_blocks
            ),
        })
        .collect();
    let printed = if json { format!("{}\n", to_json(&status)?) } else { fleet_table(&status) };
    if diverged.is_empty() {
        return emit(&printed);
    }
    emit(&printed)?;
    Err(Failure::new(Code::Diverged, diverged.join("; ")))
}

fn fleet_table(status: &exops_nats::FleetStatus) -> String {
    let mut out = format!("{}: {} blocks\n", status.stream, status.stream_blocks);
    if status.followers.is_empty() {
        out.push_str("no follower has reported (`exops log follow --name NAME` reports)\n");
        return out;
    }
    let rows: Vec<[String; 6]> = status
        .followers
        .iter()
        .map(|follower| {
            let chain = match &follower.chain {
                exops_nats::Chain::Matches => "matches".to_owned(),
                exops_nats::Chain::Empty => "empty".to_owned(),
                exops_nats::Chain::Mismatch { block, .. } => format!("DIVERGED at block {block}"),
                exops_nats::Chain::AheadOfStream { block } => format!("AHEAD of the stream (block {block})"),
            };
            [
                follower.name.clone(),
                follower.report.blocks.to_string(),
                follower.report.last_seq.to_string(),
                follower.lag_blocks.to_string(),
                follower.report.last_at.clone().unwrap_or_else(|| "-".to_owned()),
                chain,
            ]
        })
        .collect();
    let header = ["FOLLOWER", "BLOCKS", "LAST SEQ", "LAG (BLOCKS)", "LAST EVENT AT", "CHAIN"];
    let widths: Vec<usize> = (0..6)
        .map(|column| rows.iter().map(|row| row[column].len()).chain([header[column].len()]).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct AcknowledgedJson {
    acknowledged_through_seq: u64,
}

#[derive(Serialize)]
struct ServingJson<'a> {
    serving: &'a str,
    session: &'a str,
    subject: &'a str,
    fenced: &'a [String],
    blocks: u64,
}

/// Claims the stream, brings the data directory to its head, then appends standard input
/// and publishes each block as it becomes durable, acknowledging only after both.
pub fn serve(target: &NatsTarget, data_dir: &Path, replicas: usize, no_stdin: bool, json: bool) -> Result<(), Failure> {
    let (url, venue) = resolve(target, data_dir)?;
    let (url, venue) = (url.as_str(), venue.as_str());
    let connection = Connection::connect(url, venue)?;
    let session = exops_nats::new_session();
    let subject = exops_nats::writer_subject(venue, &session);
    let fenced = connection.claim(&session, replicas)?;
    // Only now, with no other writer able to publish, is the stream's head final.
    let caught_up = match exops_nats::follow(&connection, data_dir, true, &mut |_| Ok(())) {
        Ok(report) => report.blocks,
        Err(NatsError::StreamBehind { .. }) => {
            exops_nats::push(&connection, data_dir, replicas, &session)?.local_blocks
        }
        Err(error) => return Err(error.into()),
    };
    if json {
        let body =
            ServingJson { serving: venue, session: &session, subject: &subject, fenced: &fenced, blocks: caught_up };
        eprintln!("{}", to_json(&body)?);
    } else {
        let fenced_text = if fenced.is_empty() { "none (a new stream)".to_owned() } else { fenced.join(", ") };
        eprintln!(
            "exops: serving {} as session {session} on {subject}; fenced: {fenced_text}; {caught_up} blocks",
            connection.stream_name()
        );
    }
    let (commits, committed) = crossbeam_channel::bounded::<u64>(1024);
    let options_batch = Some(SERVE_BATCH_MAX);
    let opened = open_log(data_dir, Some(commits), None, options_batch)?;
    let next_seq = opened.last_seq + 1;
    let resume = resume_after_last_block(data_dir)?;
    let published = Arc::new(Published::default());
    let publisher = {
        let data_dir = data_dir.to_owned();
        let published = Arc::clone(&published);
        std::thread::spawn(move || {
            publish_as_durable(&connection, &data_dir, &subject, resume, committed, &published, json)
        })
    };
    // Gateways and operators submit over NATS beside standard input (`submit_loop`).
    let stop = Arc::new(AtomicBool::new(false));
    let submissions = {
        let submit_connection = Connection::connect(url, venue)?;
        let (appender, stop, published) = (opened.log.appender(), Arc::clone(&stop), Arc::clone(&published));
        let data_dir = data_dir.to_owned();
        std::thread::spawn(move || submit_loop(&submit_connection, &data_dir, &appender, &published, &stop))
    };
    let report = if no_stdin {
        // Only the submit subjects: run until killed (or the connection fails).
        let outcome = submissions.join().map_err(|_| Failure::new(Code::Nats, "the submissions thread stopped"))?;
        outcome?;
        return Err(Failure::new(Code::Nats, "the submissions subscription ended"));
    } else {
        let stdin = io::stdin().lock();
        let reader = Reader::with_decoder(decoder(data_dir, "<stdin>", next_seq)?, Box::new(stdin) as Box<dyn BufRead>);
        let tell = if json { Tell::JsonLines } else { Tell::Stderr };
        let report = pump(&opened, reader, &ProgressBar::hidden(), 1, "<stdin>", tell);
        stop.store(true, Ordering::Relaxed);
        let taken = submissions.join().map_err(|_| Failure::new(Code::Nats, "the submissions thread stopped"))?;
        taken?;
        report
    };
    let closed = opened.log.close();
    let published = publisher.join().map_err(|_| Failure::new(Code::Nats, "the publishing thread stopped"))?;
    let report = report?;
    closed?;
    published?;
    if json {
        return emit(&format!("{}\n", serde_json::to_string(&ServeSummary { summary: &report }).map_err(Failure::io)?));
    }
    eprint!("exops: served: {}", report.summary());
    Ok(())
}

#[derive(Serialize)]
struct ServeSummary<'a> {
    summary: &'a crate::log_commands::AppendReport,
}

/// Where the log's last sealed block ends, to read the blocks after it.
fn resume_after_last_block(data_dir: &Path) -> Result<Option<ResumePoint>, Failure> {
    let mut reader = LogReader::open(data_dir, 1)?;
    let mut resume = None;
    while let Some(block) = reader.next_raw_block() {
        resume = Some(block?.resume);
    }
    Ok(resume)
}

/// For each group commit the writer reports, publishes the blocks made durable since the
/// last one (`exops_nats::publish_after`) and prints the acknowledgement. A failure ends
/// the process: the writer must not acknowledge anything more, and standard input may
/// still be open.
fn publish_as_durable(
    connection: &Connection,
    data_dir: &Path,
    subject: &str,
    mut resume: Option<ResumePoint>,
    committed: crossbeam_channel::Receiver<u64>,
    published: &Published,
    json: bool,
) -> Result<(), Failure> {
    while let Ok(durable) = committed.recv() {
        // Commits that queued up while the last blocks were published: one call for all.
        let durable_through = committed.try_iter().fold(durable, u64::max);
        let outcome = exops_nats::publish_after(connection, data_dir, subject, &mut resume, durable_through);
        let through_seq = match outcome {
            Ok(published) => published.through_seq,
            Err(error) => stop(error.into(), json),
        };
        published.advance(through_seq);
        let line = if json {
            to_json(&AcknowledgedJson { acknowledged_through_seq: through_seq })?
        } else {
            format!("acknowledged through seq {through_seq}")
        };
        let mut stdout = io::stdout().lock();
        if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
            stop(Failure::io("standard output is closed"), json);
        }
    }
    Ok(())
}

/// How far the stream holds the log: the last seq published and acknowledged by its
/// quorum, for a submission's reply to wait on.
#[derive(Debug, Default)]
struct Published {
    through_seq: Mutex<u64>,
    advanced: Condvar,
}

/// How long a submission's reply waits for its event to reach the stream.
const REPLICATED_WAIT: Duration = Duration::from_secs(30);

impl Published {
    fn advance(&self, seq: u64) {
        let mut through = self.through_seq.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *through = (*through).max(seq);
        self.advanced.notify_all();
    }

    /// Waits until the stream holds `seq`; false after [`REPLICATED_WAIT`].
    fn wait_for(&self, seq: u64) -> bool {
        let through = self.through_seq.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (through, _) = self
            .advanced
            .wait_timeout_while(through, REPLICATED_WAIT, |through| *through < seq)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *through >= seq
    }
}

/// Takes the submissions gateways and operators send over NATS until `stop`: each line is
/// checked against who sent it (`Sender::admits`, the server having authenticated the
/// sender by the subject it may publish on), appended like a line of standard input, and
/// answered once it is durable here and in the stream.
fn submit_loop(
    connection: &Connection,
    data_dir: &Path,
    appender: &exops_log::Appender,
    published: &Published,
    stop: &AtomicBool,
) -> Result<(), Failure> {
    // The venue, once the log has declared it (standard input may declare it after start).
    let mut venue: Option<exops_core::Venue> = None;
    connection
        .serve_submissions(stop, &mut |sender, payload| {
            let Some(sender) = sender else {
                return SubmitReply::refused(
                    "not a submit subject: use exops.<venue>.submit.customer or .operator.<name>",
                );
            };
            if venue.is_none() {
                venue = crate::log_commands::venue_of(data_dir).ok().flatten();
            }
            let envelope = match submitted_envelope(venue.as_ref(), payload) {
                Ok(envelope) => envelope,
                Err(error) => return SubmitReply::refused(error),
            };
            if let Err(error) = sender.admits(&envelope) {
                return SubmitReply::refused(error);
            }
            match appender.append(envelope.into()) {
                Ok(Appended::Durable { seq, outcome }) => {
                    if !published.wait_for(seq) {
                        return SubmitReply {
                            seq: Some(seq),
                            outcome: None,
                            error: Some(format!(
                                "durable here at seq {seq}, but not acknowledged by the stream within {} s: its \
                                 outcome in the stream is unknown",
                                REPLICATED_WAIT.as_secs()
                            )),
                        };
                    }
                    SubmitReply { seq: Some(seq), outcome: Some(outcome_text(&outcome)), error: None }
                }
                Ok(Appended::Duplicate { last_id }) => SubmitReply {
                    seq: None,
                    outcome: Some(format!("duplicate: the actor's last id is {last_id}; not written again")),
                    error: None,
                },
                Ok(Appended::Refused { reason }) => SubmitReply::refused(reason),
                Err(error) => SubmitReply::refused(format!("not written: {error}")),
            }
        })
        .map_err(Failure::from)
}

/// The event a submission's line holds. The writer numbers events, so a line that
/// carries a `seq` is refused.
fn submitted_envelope(venue: Option<&exops_core::Venue>, payload: &[u8]) -> Result<exops_core::Envelope, String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(payload).map_err(|error| format!("not a JSON object: {error}"))?;
    if object.contains_key("seq") {
        return Err("a submission carries no `seq`: the writer numbers the events it appends".to_owned());
    }
    let mut decoder = exops_jsonl::LineDecoder::continuing("<submission>", venue.cloned(), 1);
    decoder.decode(1, payload).map_err(|error| error.to_string())
}

/// What the state made of an appended event, for a submission's reply.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Applied { .. } => "applied".to_owned(),
        Outcome::Customer(Gated::Accepted) => "accepted".to_owned(),
        Outcome::Customer(Gated::Queued) => "queued".to_owned(),
        Outcome::Customer(Gated::Refused(refusal)) => format!("refused by {:?}", refusal.reason),
        Outcome::Duplicate { last_id } => format!("duplicate (last id {last_id})"),
        Outcome::Rejected(rejection) => format!("rejected: {rejection}"),
    }
}

/// Ends the process after a failure the writer cannot go on from, saying why.
fn stop(failure: Failure, json: bool) -> ! {
    if json {
        eprintln!("{}", failure.to_json());
    } else {
        eprintln!("exops: error: {}", failure.message);
        if failure.code == Code::Fenced {
            note("events after the last `acknowledged through seq` line were not acknowledged");
        }
    }
    std::process::exit(i32::from(failure.code.exit()));
}
