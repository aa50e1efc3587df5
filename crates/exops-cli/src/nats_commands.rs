//! `exops log push`, `exops log follow` and `exops serve`: the log replicated through a
//! NATS JetStream stream (exops-nats decides everything; this module prints).

use std::io::{self, BufRead, Write};
use std::path::Path;

use exops_jsonl::Reader;
use exops_log::LogReader;
use exops_log::ResumePoint;
use exops_nats::{Connection, NatsError};
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
pub fn serve(target: &NatsTarget, data_dir: &Path, replicas: usize, json: bool) -> Result<(), Failure> {
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
    let publisher = {
        let data_dir = data_dir.to_owned();
        std::thread::spawn(move || publish_as_durable(&connection, &data_dir, &subject, resume, committed, json))
    };
    let stdin = io::stdin().lock();
    let reader = Reader::with_decoder(decoder(data_dir, "<stdin>", next_seq)?, Box::new(stdin) as Box<dyn BufRead>);
    let tell = if json { Tell::JsonLines } else { Tell::Stderr };
    let report = pump(&opened, reader, &ProgressBar::hidden(), 1, "<stdin>", tell);
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
