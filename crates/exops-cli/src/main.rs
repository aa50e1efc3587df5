//! `exops`: replay, inspect and check exchange-operations event logs.

mod log_commands;
mod sim_commands;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use exops_core::Selector;
use exops_replay::{Point, Source, check, render_state_text, render_timeline_mermaid, render_timeline_table};

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
        /// A JSON Lines log, `-` for standard input, or a data directory (`exops log init`).
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
        /// A JSON Lines log, `-` for standard input, or a data directory.
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
        /// A JSON Lines log, `-` for standard input, or a data directory.
        source: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Work with the durable log in a data directory.
    #[command(subcommand)]
    Log(LogCommand),
    /// Run a recovery plan against an incident scenario and report its impact.
    #[command(after_help = "Examples:
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan.toml
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan.toml \\
      --report report.html --log-out run.jsonl --format json
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan-crypto-first.toml \\
      --from fixtures/bitpoint-2019/events.jsonl --at 2019-08-05T00:00:00+09:00

The same scenario, plan and seed always give the same output, byte for byte.
Exit codes: 0 success (violations are reported, not fatal); 1 invalid scenario or plan,
or a violation with --strict; 2 usage error.")]
    Simulate {
        /// The scenario (TOML): venue, incident events, workload.
        scenario: PathBuf,
        /// The recovery plan (TOML): phases, gates, actions.
        #[arg(long)]
        plan: PathBuf,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Scales the scenario's requests per day, in percent.
        #[arg(long, value_name = "PERCENT", default_value_t = 100)]
        scale: u32,
        /// Start from a recorded log (JSON Lines or data directory) cut at --at, instead of a fresh venue.
        #[arg(long, value_name = "LOG")]
        from: Option<String>,
        /// The instant of --from's log to start from (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
        at: Option<exops_core::Timestamp>,
        /// Write every simulated event: a .jsonl file, or a new data directory.
        #[arg(long, value_name = "DIR|FILE.jsonl")]
        log_out: Option<PathBuf>,
        /// Write a self-contained HTML report (Gantt chart, backlog, refusals, metrics).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// Write the services' timeline as a Mermaid `gantt` block (for Markdown docs).
        #[arg(long, value_name = "FILE")]
        mermaid: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Exit 1 when the plan breaks a control.
        #[arg(long)]
        strict: bool,
    },
    /// Run several plans against one scenario and show their metrics side by side.
    #[command(after_help = "Example:
  exops compare fixtures/bitpoint-2019/scenario.toml fixtures/bitpoint-2019/plan.toml fixtures/bitpoint-2019/plan-crypto-first.toml")]
    Compare {
        scenario: PathBuf,
        /// Two or more plans.
        #[arg(required = true, num_args = 2..)]
        plans: Vec<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_name = "PERCENT", default_value_t = 100)]
        scale: u32,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Write a synthetic log (a venue with dozens of markets, a million customers, ~99%
    /// customer operations, custody sweeps, an incident every million events) for
    /// benchmarks and load tests.
    #[command(after_help = "Example:
  exops gen --events 100000000 --seed 1 --data-dir ./big
  exops replay ./big

The same seed gives the same log. The directory must be new or empty.")]
    Gen {
        /// How many events.
        #[arg(long)]
        events: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
    },
    /// Check a plan: unknown phases, cycles, malformed actions; with --scenario, also unknown
    /// selectors and holds, actions the controls refuse, and phases that never open.
    #[command(after_help = "Examples:
  exops lint fixtures/bitpoint-2019/plan.toml
  exops lint fixtures/mtgox-2014/plan-reopen.toml --scenario fixtures/mtgox-2014/scenario.toml

Exit codes: 0 no finding; 1 the plan has findings or does not parse; 2 usage error.")]
    Lint {
        plan: PathBuf,
        #[arg(long)]
        scenario: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

fn parse_instant(text: &str) -> Result<exops_core::Timestamp, String> {
    exops_core::Timestamp::parse_rfc3339(text).map_err(|error| error.to_string())
}

const DATA_DIR_HELP: &str = "The data directory holding the log (default ./.exops).";

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Create an empty log in a data directory.
    #[command(after_help = "Example:\n  exops log init --data-dir ./bitpoint")]
    Init {
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
    },
    /// Append every event of a JSON Lines file (checked whole first: a bad line leaves the log unchanged).
    #[command(after_help = "Examples:
  exops log import fixtures/bitpoint-2019/events.jsonl --data-dir ./bitpoint
  cat more.jsonl | exops log import - --data-dir ./bitpoint

The data directory is created when missing. Sequence numbers are the log's: a `seq` in the
file must continue the log. Exit codes: 0 imported; 1 a line is invalid (nothing written);
2 usage error.")]
    Import {
        /// A JSON Lines file, or `-` for standard input.
        file: String,
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Take a state snapshot every N events (kept for the data directory).
        #[arg(long, value_name = "N")]
        snapshot_every: Option<u64>,
    },
    /// Print the log as JSON Lines (round-trips with `import`).
    #[command(after_help = "Examples:
  exops log export --data-dir ./bitpoint > events.jsonl
  exops log export --data-dir ./bitpoint --from 100 --to 200")]
    Export {
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// First sequence number to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last sequence number to print.
        #[arg(long)]
        to: Option<u64>,
    },
    /// Append JSON Lines from standard input as they arrive; print `durable through seq N` after each group commit.
    #[command(after_help = "Example:
  producer | exops log append --data-dir ./live

An event is durable (written, fsynced and chained) when a `durable through seq N` line with
N at or past its sequence number has been printed. A line that does not parse stops the
append (exit 1); everything acknowledged before it stays.")]
    Append {
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Take a state snapshot every N events (kept for the data directory).
        #[arg(long, value_name = "N")]
        snapshot_every: Option<u64>,
    },
    /// Check every checksum, the sequence and the hash chain; exit 1 naming the first damage.
    #[command(after_help = "Example:
  exops log verify --data-dir ./bitpoint

Exit codes: 0 whole; 1 damaged (the segment file and byte offset are named) or a torn tail
awaits cutting; 2 usage error.")]
    Verify {
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Events, segments, bytes, first and last timestamps.
    #[command(after_help = "Example:\n  exops log stats --data-dir ./bitpoint --format json")]
    Stats {
        #[arg(long, default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
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
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    pub(crate) fn data(message: impl ToString) -> Failure {
        Failure { code: 1, message: message.to_string() }
    }

    pub(crate) fn usage(message: impl ToString) -> Failure {
        Failure { code: 2, message: message.to_string() }
    }
}

/// Writes to standard output; a closed pipe (`exops … | head`) is not an error.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::data(format!("cannot write the output: {error}"))),
    }
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    let mut text = serde_json::to_string_pretty(value).map_err(Failure::data)?;
    text.push('\n');
    Ok(text)
}

fn open(source: &str) -> Result<Source, Failure> {
    Source::open(source).map_err(|error| Failure::usage(format!("cannot open `{source}`: {error}")))
}

fn warn_rejections(replay: &exops_replay::Replay, source: &str) {
    let count = replay.state.counters().rejected;
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
            let point = at.unwrap_or(Point::End);
            let replay = if source != "-" && std::path::Path::new(&source).is_dir() {
                open(&source)?;
                let bar = log_commands::progress_bar(None, "replaying");
                let folded =
                    exops_replay::replay_data_dir_with_progress(std::path::Path::new(&source), point, &mut |n| {
                        bar.set_position(n)
                    });
                bar.finish_and_clear();
                let (replay, notes) = folded.map_err(Failure::data)?;
                for note in notes {
                    eprintln!("exops: note: {note}");
                }
                replay
            } else {
                exops_replay::replay_until(open(&source)?, point).map_err(Failure::data)?
            };
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
        Command::Simulate { scenario, plan, seed, scale, from, at, log_out, report, mermaid, format, strict } => {
            sim_commands::simulate(sim_commands::SimulateArgs {
                scenario,
                plan,
                seed,
                scale_percent: scale,
                from,
                at,
                log_out,
                report,
                mermaid,
                json: matches!(format, ReportFormat::Json),
                strict,
            })
        }
        Command::Compare { scenario, plans, seed, scale, format } => {
            sim_commands::compare(&scenario, &plans, seed, scale, matches!(format, ReportFormat::Json))
        }
        Command::Gen { events, seed, data_dir } => log_commands::generate(&data_dir, events, seed),
        Command::Lint { plan, scenario, format } => {
            sim_commands::lint(&plan, scenario.as_deref(), matches!(format, ReportFormat::Json))
        }
        Command::Log(command) => match command {
            LogCommand::Init { data_dir } => log_commands::init(&data_dir),
            LogCommand::Import { file, data_dir, snapshot_every } => {
                log_commands::import(&data_dir, &file, snapshot_every)
            }
            LogCommand::Export { data_dir, from, to } => log_commands::export(&data_dir, from, to),
            LogCommand::Append { data_dir, snapshot_every } => log_commands::append(&data_dir, snapshot_every),
            LogCommand::Verify { data_dir, format } => {
                log_commands::verify(&data_dir, matches!(format, ReportFormat::Json))
            }
            LogCommand::Stats { data_dir, format } => {
                log_commands::stats(&data_dir, matches!(format, ReportFormat::Json))
            }
        },
        Command::Check { source, format } => {
            let opened = open(&source)?;
            let by_line = opened.position_is_line();
            let report = check(opened);
            let source = if source == "-" { "<stdin>".to_owned() } else { source };
            let at = |position: u64| {
                if by_line { format!("{source}:{position}") } else { format!("{source} seq {position}") }
            };
            let text = match format {
                ReportFormat::Json => to_json(&report)?,
                ReportFormat::Text => {
                    let mut text = String::new();
                    for error in &report.parse_errors {
                        text.push_str(&format!("invalid: {error}\n"));
                    }
                    for rejection in &report.rejections {
                        text.push_str(&format!(
                            "rejected: {}: seq {} `{}` by {}: {}\n",
                            at(rejection.line),
                            rejection.seq,
                            rejection.kind,
                            rejection.actor,
                            rejection.reason
                        ));
                    }
                    for duplicate in &report.duplicates {
                        text.push_str(&format!(
                            "duplicate (skipped): {}: seq {} id {} of {} (last applied id {})\n",
                            at(duplicate.line),
                            duplicate.seq,
                            duplicate.id,
                            duplicate.actor,
                            duplicate.last_id
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
