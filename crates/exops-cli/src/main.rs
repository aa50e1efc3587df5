//! `exops`: replay, inspect and check exchange-operations event logs.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use exops_core::Selector;
use exops_replay::{Point, check, open_jsonl, render_state_text, render_timeline_mermaid, render_timeline_table};

const ABOUT: &str = "Record, replay and inspect a crypto exchange's operational state: which services are \
open, restricted or closed, why, and since when.";

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the data is invalid or (check) something was rejected; \
2 usage error (bad arguments, unreadable source).";

#[derive(Parser, Debug)]
#[command(name = "exops", version, about = ABOUT, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the state at the end of a log, or at a point in it.
    #[command(after_help = "Examples:
  exops replay fixtures/bitpoint-2019/events.jsonl
  exops replay fixtures/bitpoint-2019/events.jsonl --at 2019-08-07T00:00:00+09:00 --format json
  exops replay fixtures/bitpoint-2019/events.jsonl --at 120 --format yaml
  cat log.jsonl | exops replay -

Exit codes: 0 success; 1 a line of the log is invalid; 2 usage error.")]
    Replay {
        /// A JSON Lines log, or `-` for standard input.
        source: String,
        /// Stop after this sequence number, or after every event up to this RFC 3339 instant.
        #[arg(long, value_name = "SEQ|RFC3339", value_parser = Point::parse)]
        at: Option<Point>,
        #[arg(long, value_enum, default_value_t = StateFormat::Text)]
        format: StateFormat,
    },
    /// Print each service's modes as intervals.
    #[command(after_help = "Examples:
  exops timeline fixtures/bitpoint-2019/events.jsonl
  exops timeline fixtures/bitpoint-2019/events.jsonl --services 'withdrawals:*' margin --format mermaid
  exops timeline fixtures/bitpoint-2019/events.jsonl --format json

Exit codes: 0 success; 1 a line of the log is invalid; 2 usage error.")]
    Timeline {
        /// A JSON Lines log, or `-` for standard input.
        source: String,
        /// Only these services (selectors such as `trading:*`, `withdrawals:BTC`, `margin`).
        #[arg(long, num_args = 1.., value_name = "SELECTOR", value_parser = Selector::parse)]
        services: Vec<Selector>,
        /// Stop after this sequence number or instant.
        #[arg(long, value_name = "SEQ|RFC3339", value_parser = Point::parse)]
        at: Option<Point>,
        #[arg(long, value_enum, default_value_t = TimelineFormat::Table)]
        format: TimelineFormat,
    },
    /// Apply every event and list each rejection, with its line and reason.
    #[command(after_help = "Examples:
  exops check fixtures/bitpoint-2019/events.jsonl
  exops check my-log.jsonl --format json

Exit codes: 0 every line parsed and every event applied; 1 a line is invalid or an event was rejected; \
2 usage error.")]
    Check {
        /// A JSON Lines log, or `-` for standard input.
        source: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum StateFormat {
    Text,
    Json,
    Yaml,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum TimelineFormat {
    Table,
    Json,
    Mermaid,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

/// A failure and the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn data(message: impl ToString) -> Failure {
        Failure { code: 1, message: message.to_string() }
    }

    fn usage(message: impl ToString) -> Failure {
        Failure { code: 2, message: message.to_string() }
    }
}

/// Writes to standard output; a closed pipe (`exops … | head`) is not an error.
fn emit(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::data(format!("cannot write the output: {error}"))),
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    let mut text = serde_json::to_string_pretty(value).map_err(Failure::data)?;
    text.push('\n');
    Ok(text)
}

fn open(source: &str) -> Result<exops_jsonl::Reader<Box<dyn io::BufRead>>, Failure> {
    open_jsonl(source).map_err(|error| Failure::usage(format!("cannot open `{source}`: {error}")))
}

fn warn_rejections(replay: &exops_replay::Replay, source: &str) {
    let count = replay.rejections.len();
    if count > 0 {
        eprintln!(
            "exops: note: {count} event(s) of `{source}` were rejected and left the state unchanged; \
             `exops check {source}` lists them"
        );
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Replay { source, at, format } => {
            let replay = exops_replay::replay_until(open(&source)?, at.unwrap_or(Point::End)).map_err(Failure::data)?;
            warn_rejections(&replay, &source);
            let view = replay.state.view();
            let text = match format {
                StateFormat::Text => render_state_text(&view),
                StateFormat::Json => to_json(&view)?,
                StateFormat::Yaml => serde_norway::to_string(&view).map_err(Failure::data)?,
            };
            emit(&text)
        }
        Command::Timeline { source, services, at, format } => {
            let replay = exops_replay::replay_until(open(&source)?, at.unwrap_or(Point::End)).map_err(Failure::data)?;
            warn_rejections(&replay, &source);
            let mut timeline = replay.finished_timeline();
            if let Some(venue) = replay.state.venue() {
                timeline = timeline.select(venue, &services).map_err(Failure::usage)?;
            } else if !services.is_empty() {
                return Err(Failure::data(format!("`{source}` declares no venue, so no service can be selected")));
            }
            let text = match format {
                TimelineFormat::Table => render_timeline_table(&timeline),
                TimelineFormat::Json => to_json(&timeline)?,
                TimelineFormat::Mermaid => render_timeline_mermaid(&timeline),
            };
            emit(&text)
        }
        Command::Check { source, format } => {
            let report = check(open(&source)?);
            let source = if source == "-" { "<stdin>".to_owned() } else { source };
            let text = match format {
                ReportFormat::Json => to_json(&report)?,
                ReportFormat::Text => {
                    let mut text = String::new();
                    for error in &report.parse_errors {
                        text.push_str(&format!("invalid: {error}\n"));
                    }
                    for rejection in &report.rejections {
                        text.push_str(&format!(
                            "rejected: {source}:{}: seq {} `{}` by {}: {}\n",
                            rejection.line, rejection.seq, rejection.kind, rejection.actor, rejection.reason
                        ));
                    }
                    for duplicate in &report.duplicates {
                        text.push_str(&format!(
                            "duplicate (skipped): {source}:{}: seq {} id {} of {} (last applied id {})\n",
                            duplicate.line, duplicate.seq, duplicate.id, duplicate.actor, duplicate.last_id
                        ));
                    }
                    if report.events == 0 && report.parse_errors.is_empty() {
                        text.push_str(&format!(
                            "invalid: {source}: the log is empty; a log begins with `venue_declared`\n"
                        ));
                    }
                    text.push_str(&format!(
                        "{}: {} events, {} invalid lines, {} rejected, {} duplicates\n",
                        source,
                        report.events,
                        report.parse_errors.len(),
                        report.rejections.len(),
                        report.duplicates.len()
                    ));
                    text
                }
            };
            emit(&text)?;
            if report.is_clean() { Ok(()) } else { Err(Failure { code: 1, message: String::new() }) }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("exops: error: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}
