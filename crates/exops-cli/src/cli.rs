//! The command line: every command, flag and help text, in one place. docs/cli.md shows
//! the `--help` of each, and a test holds the two together.
//!
//! Conventions (docs/cli.md says them for users):
//! - `SOURCE` is a log to read: a `.jsonl` file, `-` for standard input, or a data
//!   directory. `--data-dir DIR` names a data directory a command writes or inspects.
//! - `--at POINT` always means "the state after this point" (a sequence number or an
//!   RFC 3339 instant); a simulation branching off a recorded log says `--branch-at`.
//! - Sequence-number ranges are `--from-seq` and `--to-seq`, both inclusive.
//! - `--format text|json` on every command (plus `yaml`, `mermaid` or `jsonl` where they
//!   exist); under `--format json`, errors are JSON on standard error.
//! - A flag taking several values takes them comma-separated or repeated, never as
//!   loose words that could swallow a positional argument.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use exops_core::{Selector, Timestamp};
use exops_replay::Point;

const ABOUT: &str = "Record, replay and inspect a crypto exchange's operational state: which services are \
open, restricted or closed, why, and since when.";

/// Exit codes, the same in every command (docs/cli.md).
pub const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the input is invalid, or a check found problems (a line that is not an event, damage,
     a rejection in `check`, lint findings, violations with --strict)
  2  usage: bad arguments, or an input that cannot be opened as what it should be
  3  the operation failed for a reason outside the input (an I/O error, another writer)";

const DATA_DIR_HELP: &str = "The data directory holding the durable log";

/// Where the venue's stream is: the flags, or the `[nats]` table of the data directory's
/// `exops.toml` (the flags win).
#[derive(clap::Args, Debug)]
pub struct NatsTarget {
    /// The NATS servers: one URL, or several comma-separated (nats://host:port); default:
    /// `url` under `[nats]` in DIR/exops.toml.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// The venue whose stream this is (EXOPS_<VENUE>): letters, digits, `-` and `_`;
    /// default: `venue` under `[nats]` in DIR/exops.toml.
    #[arg(long, value_name = "VENUE")]
    pub venue: Option<String>,
}

/// The commit this binary was built from, when the build could ask git.
const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("EXOPS_COMMIT"), ")");

#[derive(Parser, Debug)]
#[command(name = "exops", version = LONG_VERSION, about = ABOUT, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the state at the end of a log, or at a point in it.
    #[command(after_help = "Examples:
  exops replay fixtures/bitpoint-2019/events.jsonl
  exops replay fixtures/bitpoint-2019/events.jsonl --at 2019-08-07T00:00:00+09:00 --format json
  exops replay fixtures/bitpoint-2019/events.jsonl --at 120 --format yaml
  exops replay ./bitpoint --at 2019-10-01T00:00:00+09:00
  cat log.jsonl | exops replay -

A point before the first event or past the last one prints the state there with a note on
standard error (and a `notes` array with --format json).

Exit codes: 0 success; 1 a line of the log is invalid, the log is empty or only a tail, or
the data directory is damaged; 2 usage (bad arguments, a source that cannot be opened).")]
    Replay {
        /// The log: a .jsonl file, `-` for standard input, or a data directory.
        #[arg(value_name = "SOURCE")]
        source: String,
        /// The state after this point: a sequence number (e.g. 120), or an RFC 3339 instant
        /// with an offset (every event at or before it).
        #[arg(long, value_name = "SEQ|RFC3339", value_parser = Point::parse)]
        at: Option<Point>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = StateFormat::Text)]
        format: StateFormat,
    },
    /// Print each service's modes as intervals, with every hold covering it.
    #[command(after_help = "Examples:
  exops timeline fixtures/bitpoint-2019/events.jsonl
  exops timeline fixtures/bitpoint-2019/events.jsonl --services 'withdrawals:*',margin --format mermaid
  exops timeline fixtures/bitpoint-2019/events.jsonl --services withdrawals:BTC --format json

Exit codes: 0 success; 1 a line of the log is invalid or the log is empty; 2 usage (bad
arguments, an unknown selector, a source that cannot be opened).")]
    Timeline {
        /// The log: a .jsonl file, `-` for standard input, or a data directory.
        #[arg(value_name = "SOURCE")]
        source: String,
        /// Only these services: selectors, comma-separated or repeated (`trading:*`,
        /// `withdrawals:BTC`, `margin`).
        #[arg(long, value_name = "SELECTOR", value_delimiter = ',', value_parser = Selector::parse)]
        services: Vec<Selector>,
        /// Stop after this point: a sequence number or an RFC 3339 instant.
        #[arg(long, value_name = "SEQ|RFC3339", value_parser = Point::parse)]
        at: Option<Point>,
        /// Output format (`text` is a table; `mermaid` a gantt block for Markdown).
        #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
        format: TimelineFormat,
    },
    /// Apply every event and list each invalid line, rejection and duplicate.
    #[command(after_help = "Examples:
  exops check fixtures/bitpoint-2019/events.jsonl
  exops check my-log.jsonl --format json
  exops check ./bitpoint --strict

In a JSON Lines file, a rejected event is a mistake to fix: exit 1. In a data directory, a
rejection is history the log recorded when the event was appended (the state refused it and
the log says so): it is listed, and exits 0 unless --strict.

Exit codes: 0 clean; 1 a line is invalid, an event was rejected (JSON Lines, or --strict),
the log is empty or only a tail, or the data directory is damaged; 2 usage.")]
    Check {
        /// The log: a .jsonl file, `-` for standard input, or a data directory.
        #[arg(value_name = "SOURCE")]
        source: String,
        /// Exit 1 on recorded rejections in a data directory too.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Work with the durable log in a data directory.
    #[command(subcommand)]
    Log(LogCommand),
    /// The venue's followers, as they report themselves: lag and chain hash against the
    /// stream.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Be the venue's one writer: claim its NATS JetStream stream (fencing the writer before),
    /// take JSON Lines on standard input, and acknowledge each event once its block is
    /// fsynced here and stored by the stream's quorum.
    #[command(after_help = "Example:
  producer | exops serve --nats nats://10.0.0.1:4222,nats://10.0.0.2:4222 --venue bitpoint --data-dir ./writer

On start, the stream is created when absent (file storage, --replicas copies, no deletes or
purges) or its subject moved to this writer's session, which fences the writer before: its
later publishes are all refused. The data directory is first brought up to the stream's head
(it must hold a prefix of the stream; blocks only it has are pushed). `acknowledged through
seq N` (with --format json, {\"acknowledged_through_seq\":N}) is printed once every event up
to N is durable here and in the stream. Fenced, the writer stops with exit 3 and code
`fenced`; the events after its last acknowledgement were never acknowledged.

Gateways and operators submit over NATS too, one JSON Lines event (without `seq`) per request:
a gateway on exops.<venue>.submit.customer (customer operations only), operator NAME on
exops.<venue>.submit.operator.NAME (operator events as staff:NAME only). The NATS server's
users and permissions decide who may publish on which subject (docs/scale-out.md); a line its
sender may not submit is refused and the log is unchanged. Each reply, once the event is
durable here and in the stream: {\"seq\":N,\"outcome\":\"accepted\"}, or {\"error\":\"...\"}.

Exit codes: 0 standard input ended, everything acknowledged; 1 a line is invalid, or the data
directory and the stream differ (`diverged`); 2 usage; 3 fenced, or the cluster or the log
cannot be written (`fenced`, `nats`, `io`).")]
    Serve {
        #[command(flatten)]
        target: NatsTarget,
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Copies of the stream kept by the cluster, when this writer creates it.
        #[arg(long, value_name = "N", default_value_t = 3)]
        replicas: usize,
        /// Take events only from the submit subjects (gateways and operators over NATS),
        /// not from standard input; run until stopped.
        #[arg(long)]
        no_stdin: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Run a recovery plan against an incident scenario and report its impact.
    #[command(after_help = "Examples:
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan.toml
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan.toml \\
      --report report.html --log-out run.jsonl --format json
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan-crypto-first.toml \\
      --branch-from fixtures/bitpoint-2019/events.jsonl --branch-at 2019-08-05T00:00:00+09:00
  exops simulate fixtures/bitpoint-2019/scenario.toml --plan fixtures/bitpoint-2019/plan.toml \\
      --runs 50 --scale 10 --format json

The same scenario, plan and seed always give the same output, byte for byte, and so does a
sweep (--runs N) whatever the number of cores. With --runs N above 1, --report and
--mermaid describe the single run at every range's central value, the report adding the
sweep's ranges and, behind each daily curve, its p5-p95 band over the runs; --log-out
takes a single run. Output files
(--report, --mermaid, --log-out) are created before the run, so a bad path fails at once.

Exit codes: 0 success (violations are reported, not fatal); 1 invalid scenario or plan, or a
violation with --strict; 2 usage; 3 an output file cannot be written.")]
    Simulate {
        /// The scenario (TOML): venue, incident events, workload.
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// The recovery plan (TOML): phases, gates, actions.
        #[arg(long, value_name = "PLAN")]
        plan: PathBuf,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Scales the scenario's requests per day, in percent.
        #[arg(long, value_name = "PERCENT", default_value_t = 100)]
        scale: u32,
        /// Branch off a recorded log (SOURCE: .jsonl, `-` or data directory) instead of a
        /// fresh venue: the simulation starts from its state at --branch-at.
        #[arg(long, value_name = "SOURCE", requires = "branch_at")]
        branch_from: Option<String>,
        /// The instant of --branch-from's log to start from (RFC 3339 with an offset).
        #[arg(long, value_name = "RFC3339", value_parser = parse_instant, requires = "branch_from")]
        branch_at: Option<Timestamp>,
        /// Write every simulated event: a .jsonl file, or a new data directory.
        #[arg(long, value_name = "DIR|FILE.jsonl")]
        log_out: Option<PathBuf>,
        /// Write a self-contained HTML report (Gantt chart, backlog, refusals, metrics).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// Write the services' timeline as a Mermaid `gantt` block (for Markdown docs).
        #[arg(long, value_name = "FILE")]
        mermaid: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Exit 1 when the plan breaks a control.
        #[arg(long)]
        strict: bool,
        /// Run N seeded draws (seeds derived from the scenario's; every range of the plan
        /// and scenario drawn per run) in parallel, and report each figure's p5/p50/p95
        /// and each phase's opening range; 1 is a single run.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        runs: u32,
    },
    /// Run several plans against one scenario and show their metrics side by side.
    #[command(after_help = "Examples:
  exops compare fixtures/bitpoint-2019/scenario.toml fixtures/bitpoint-2019/plan.toml \\
      fixtures/bitpoint-2019/plan-crypto-first.toml
  exops compare fixtures/bitpoint-2019/scenario.toml fixtures/bitpoint-2019/plan.toml \\
      fixtures/bitpoint-2019/plan-crypto-first.toml --report cmp.html --format json
  exops compare fixtures/bitpoint-2019/scenario.toml fixtures/bitpoint-2019/plan.toml \\
      fixtures/bitpoint-2019/plan-crypto-first.toml \\
      --branch-from fixtures/bitpoint-2019/events.jsonl --branch-at 2019-08-05T00:00:00+09:00

Every plan meets the same customer requests (same seed, same --scale); with --runs N, the
same N seeds. Output files (--report, --mermaid) are created before the runs, so a bad path
fails at once; with --runs N they describe each plan's central run, the report adding the
sweeps' ranges and each plan's p5-p95 band behind its overlaid curves.

Exit codes: 0 success (violations are reported, not fatal); 1 an invalid scenario or plan,
or a violation in any plan with --strict; 2 usage; 3 an output file cannot be written.")]
    Compare {
        /// The scenario (TOML) every plan runs against.
        #[arg(value_name = "SCENARIO")]
        scenario: PathBuf,
        /// Two or more plans (TOML).
        #[arg(value_name = "PLAN", required = true, num_args = 2..)]
        plans: Vec<PathBuf>,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Scales the scenario's requests per day, in percent.
        #[arg(long, value_name = "PERCENT", default_value_t = 100)]
        scale: u32,
        /// Branch every plan off a recorded log (SOURCE: .jsonl, `-` or data directory)
        /// instead of a fresh venue: each run starts from its state at --branch-at.
        #[arg(long, value_name = "SOURCE", requires = "branch_at")]
        branch_from: Option<String>,
        /// The instant of --branch-from's log to start from (RFC 3339 with an offset).
        #[arg(long, value_name = "RFC3339", value_parser = parse_instant, requires = "branch_from")]
        branch_at: Option<Timestamp>,
        /// Write a self-contained HTML comparison (metrics side by side, every plan's
        /// Gantt chart on one time axis, overlaid curves, phases, violations).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// Write every plan's timeline as a Mermaid `gantt` block, one per plan (Markdown).
        #[arg(long, value_name = "FILE")]
        mermaid: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Exit 1 when any plan breaks a control.
        #[arg(long)]
        strict: bool,
        /// Run N seeded draws of every plan (the same seeds for each plan) in parallel and
        /// show each figure's p50 and p5–p95 side by side; 1 is a single run per plan.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        runs: u32,
    },
    /// Check a plan: unknown phases, cycles, malformed actions; with --scenario, also unknown
    /// selectors and holds, actions the controls refuse, and phases that never open.
    #[command(after_help = "Examples:
  exops lint fixtures/bitpoint-2019/plan.toml
  exops lint fixtures/mtgox-2014/plan-reopen.toml --scenario fixtures/mtgox-2014/scenario.toml

Exit codes: 0 no finding; 1 the plan has findings, or the plan or scenario is invalid; 2 usage.")]
    Lint {
        /// The plan (TOML) to check.
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
        /// Also dry-run the plan against this scenario (TOML).
        #[arg(long, value_name = "SCENARIO")]
        scenario: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Write a synthetic log (a venue with dozens of markets, a million customers, ~99%
    /// customer operations, custody sweeps, an incident every million events) for
    /// benchmarks and load tests.
    #[command(after_help = "Example:
  exops gen --events 100000000 --seed 1 --data-dir ./big
  exops replay ./big

The same seed gives the same log. The directory must be new or empty.

Exit codes: 0 written; 2 usage (the directory already holds a log); 3 it cannot be written.")]
    Gen {
        /// How many events.
        #[arg(long, value_name = "N")]
        events: u64,
        /// The seed of the workload.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  exops completions bash > ~/.local/share/bash-completion/completions/exops
  exops completions zsh > ~/.zfunc/_exops

Exit codes: 0 printed; 2 usage.")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

fn parse_instant(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|error| error.to_string())
}

/// A head recorded elsewhere: the chain hash after the last block, or after the block
/// ending at a sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedHead {
    pub seq: Option<u64>,
    /// 64 hexadecimal digits, lower case.
    pub hash: String,
}

fn parse_expected_head(text: &str) -> Result<ExpectedHead, String> {
    let (seq, hash) = match text.split_once(':') {
        Some((seq, hash)) => {
            let seq = seq.parse::<u64>().map_err(|_| {
                format!("`{seq}` is not a sequence number: expected HASH or SEQ:HASH, as `exops log head` prints them")
            })?;
            (Some(seq), hash)
        }
        None => (None, text),
    };
    if hash.len() != 64 || !hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(format!(
            "`{hash}` is not a chain hash: expected 64 hexadecimal digits (HASH or SEQ:HASH, as `exops log head` \
             prints them)"
        ));
    }
    Ok(ExpectedHead { seq, hash: hash.to_ascii_lowercase() })
}

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Every follower that reports (`exops log follow --name`): its blocks, last seq and
    /// event time, how many blocks it lags the stream, and whether its chain hash is the
    /// stream's at the same block.
    #[command(after_help = "Example:
  exops fleet status --nats nats://127.0.0.1:4222 --venue bitpoint

A follower whose hash differs from the stream's block at the same index holds another
history, and is named; so is one claiming a block the stream does not hold.

Exit codes: 0 every follower's chain is the stream's; 1 a follower diverged (`diverged`); 2
usage; 3 the cluster cannot be reached or has no such stream (`nats`).")]
    Status {
        #[command(flatten)]
        target: NatsTarget,
        /// A data directory whose exops.toml names the cluster and venue (`[nats]`), when
        /// the flags do not.
        #[arg(long, value_name = "DIR", default_value = ".exops")]
        data_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Create an empty log in a data directory.
    #[command(after_help = "Example:
  exops log init --data-dir ./bitpoint

Exit codes: 0 created (or already there); 2 usage; 3 it cannot be created.")]
    Init {
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Append every event of a JSON Lines file, checked whole first: a bad line leaves the
    /// log unchanged.
    #[command(after_help = "Examples:
  exops log import fixtures/bitpoint-2019/events.jsonl --data-dir ./bitpoint
  cat more.jsonl | exops log import - --data-dir ./bitpoint
  exops log export --data-dir ./a --from-seq 100 | exops log import - --data-dir ./b

The data directory is created when missing. Sequence numbers are the log's: a `seq` in the
file must continue the log, so a tail (`exops log export --from-seq N`) imports onto a log
that ends at seq N-1. The writer decides each event exactly as `log append` does: a retry
of an id already applied is skipped as a duplicate, an event the state refuses is recorded
as a rejection (and listed), an event earlier than the log's last one is refused, which
leaves the log unchanged.

Exit codes: 0 imported; 1 a line is invalid, the file is empty, or an event would be refused
(nothing written); 2 usage; 3 the log cannot be written.")]
    Import {
        /// A JSON Lines file, or `-` for standard input.
        #[arg(value_name = "FILE")]
        file: String,
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Take a state snapshot every N events (kept for the data directory).
        #[arg(long, value_name = "N")]
        snapshot_every: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Print the log as JSON Lines (round-trips with `import`).
    #[command(after_help = "Examples:
  exops log export --data-dir ./bitpoint > events.jsonl
  exops log export --data-dir ./bitpoint --from-seq 100 --to-seq 200

A range that starts past seq 1 is a tail: `exops log import` takes it onto a log that ends
just before it.

Exit codes: 0 printed; 1 the log is damaged; 2 usage; 3 the output cannot be written.")]
    Export {
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// First sequence number to print.
        #[arg(long, value_name = "SEQ", default_value_t = 1)]
        from_seq: u64,
        /// Last sequence number to print (inclusive).
        #[arg(long, value_name = "SEQ")]
        to_seq: Option<u64>,
        /// Output format: `jsonl` (one event per line) or `json` (one array).
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
    /// Append JSON Lines from standard input as they arrive; print `durable through seq N`
    /// after each group commit.
    #[command(after_help = "Example:
  producer | exops log append --data-dir ./live

An event is durable (written, fsynced and chained) when a `durable through seq N` line with
N at or past its sequence number has been printed. Each event the state rejects, each
duplicate skipped and each event refused is reported on standard error as it is answered
(with --format json, as JSON lines on standard output). A line that does not parse stops the
append; everything acknowledged before it stays.

Exit codes: 0 appended; 1 a line is invalid; 2 usage; 3 the log cannot be written.")]
    Append {
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Take a state snapshot every N events (kept for the data directory).
        #[arg(long, value_name = "N")]
        snapshot_every: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Check every checksum, the sequence, the hash chain and the head record; exit 1 naming the first damage.
    #[command(after_help = "Examples:
  exops log verify --data-dir ./bitpoint
  exops log verify --data-dir ./bitpoint --expect-head 755:HASH   (as `exops log head` printed it)

Exit codes: 0 whole (and the expected head is in the log); 1 damaged (the segment file and
byte offset are named), a torn tail awaits cutting, or the expected head is not in the
log; 2 usage.")]
    Verify {
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// A head recorded elsewhere, as `exops log head` prints it: HASH (the chain hash
        /// after the last block must be it) or SEQ:HASH (the block ending at SEQ must have
        /// it; the log may have grown since).
        #[arg(long, value_name = "HASH|SEQ:HASH", value_parser = parse_expected_head)]
        expect_head: Option<ExpectedHead>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// The head of the log: last sequence number, block and chain hash, checked against the head record. Only reads.
    #[command(after_help = "Example:
  exops log head --data-dir ./bitpoint
  (record its SEQ:HASH elsewhere; `exops log verify --expect-head SEQ:HASH` checks it later)

Exit codes: 0 printed; 1 the log is damaged (or shorter than its head record); 2 usage.")]
    Head {
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Publish the blocks of a data directory that the venue's NATS stream lacks, after
    /// checking those it has, block by block.
    #[command(after_help = "Example:
  exops log push --nats nats://127.0.0.1:4222 --venue bitpoint --data-dir ./bitpoint

Seeds a stream from an existing log, or repairs one. The stream is created when absent. Every
block the stream already has must be the local one, byte for byte, or the push stops naming
the block (`diverged`). Idempotent: pushed again, nothing is published. Blocks go on the
current writer session's subject, each at its own stream position (block b is message b+1).

Exit codes: 0 pushed (or nothing to push); 1 the data directory is damaged, or it and the
stream differ; 2 usage; 3 the cluster cannot be reached or refused the publish.")]
    Push {
        #[command(flatten)]
        target: NatsTarget,
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Copies of the stream kept by the cluster, when the push creates it.
        #[arg(long, value_name = "N", default_value_t = 3)]
        replicas: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Keep a replica of the venue's NATS stream in a data directory, checking every block
    /// (checksums, sequence, hash chain) before appending it verbatim.
    #[command(after_help = "Examples:
  exops log follow --nats nats://127.0.0.1:4222 --venue bitpoint --data-dir ./replica --until-head
  exops log follow --nats nats://127.0.0.1:4222 --venue bitpoint --data-dir ./replica

Starts from the replica's own head (a new directory starts at block 0). Stream message b+1
must be block b. The replica is never cut to match the stream: a stream holding fewer blocks,
a block that differs (a fork) or a message that fails a check stops the follower with the
block named, and nothing of it written. Each block appended prints `replicated block B
through seq N` (with --format json, a JSON line).

Exit codes: 0 at the stream's head (--until-head); 1 a refused block, a fork or a stream behind
the replica (`damaged`, `diverged`); 2 usage; 3 the cluster cannot be reached (`nats`).")]
    Follow {
        #[command(flatten)]
        target: NatsTarget,
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Stop once the replica holds every block the stream held at the start.
        #[arg(long)]
        until_head: bool,
        /// Report where the replica stands to the venue's followers bucket under this name
        /// (1 to 64 letters, digits, `-`, `_`): at the start and after every block; read
        /// with `exops fleet status`.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Take the venue's NATS stream from its writer: move the stream's one subject to a new
    /// session, and print whom that fenced.
    #[command(after_help = "Example:
  exops log claim --nats nats://127.0.0.1:4222 --venue bitpoint

Fences the running writer (`exops serve`): its next publish is refused and it stops with
`fenced`. Nothing writes on the new session until an `exops serve` claims the stream for
itself. The stream must exist.

Exit codes: 0 claimed; 2 usage; 3 the cluster cannot be reached or has no such stream (`nats`).")]
    Claim {
        #[command(flatten)]
        target: NatsTarget,
        /// A data directory whose exops.toml names the cluster and venue (`[nats]`), when
        /// the flags do not.
        #[arg(long, value_name = "DIR", default_value = ".exops")]
        data_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Events, segments, bytes, first and last timestamps, snapshots. Only reads.
    #[command(after_help = "Example:
  exops log stats --data-dir ./bitpoint --format json

Exit codes: 0 printed; 1 the log is damaged; 2 usage.")]
    Stats {
        #[arg(long, value_name = "DIR", default_value = ".exops", help = DATA_DIR_HELP)]
        data_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StateFormat {
    Text,
    Json,
    Yaml,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    #[value(alias = "table")]
    Text,
    Json,
    Mermaid,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Json,
}

impl Command {
    /// Whether the command was asked for JSON, so that its errors are JSON too.
    pub fn wants_json(&self) -> bool {
        match self {
            Command::Replay { format, .. } => *format == StateFormat::Json,
            Command::Timeline { format, .. } => *format == TimelineFormat::Json,
            Command::Check { format, .. }
            | Command::Simulate { format, .. }
            | Command::Compare { format, .. }
            | Command::Lint { format, .. }
            | Command::Gen { format, .. }
            | Command::Serve { format, .. } => *format == ReportFormat::Json,
            Command::Completions { .. } => false,
            Command::Fleet(FleetCommand::Status { format, .. }) => *format == ReportFormat::Json,
            Command::Log(command) => match command {
                LogCommand::Init { format, .. }
                | LogCommand::Import { format, .. }
                | LogCommand::Append { format, .. }
                | LogCommand::Verify { format, .. }
                | LogCommand::Head { format, .. }
                | LogCommand::Stats { format, .. }
                | LogCommand::Push { format, .. }
                | LogCommand::Follow { format, .. }
                | LogCommand::Claim { format, .. } => *format == ReportFormat::Json,
                LogCommand::Export { format, .. } => *format == ExportFormat::Json,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command below `command`, with its path (`exops log import`).
    fn all_commands(command: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            out.push((sub_path.clone(), sub.clone()));
            all_commands(sub, sub_path, out);
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_of_every_command_has_help_text() {
        let mut commands = Vec::new();
        all_commands(&Cli::command(), "exops".to_owned(), &mut commands);
        assert!(commands.len() > 10, "found only {} commands", commands.len());
        let mut blank = Vec::new();
        for (path, command) in &commands {
            if command.get_about().is_none_or(|about| about.to_string().trim().is_empty()) {
                blank.push(format!("{path}: the command itself"));
            }
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none_or(|help| help.to_string().trim().is_empty()) {
                    blank.push(format!("{path}: argument `{id}`"));
                }
            }
        }
        assert!(blank.is_empty(), "help text is missing for:\n{}", blank.join("\n"));
    }

    #[test]
    fn every_leaf_command_lists_its_exit_codes_and_an_example() {
        let mut commands = Vec::new();
        all_commands(&Cli::command(), "exops".to_owned(), &mut commands);
        let mut missing = Vec::new();
        for (path, command) in commands.iter().filter(|(_, command)| !command.has_subcommands()) {
            let after = command.get_after_help().map(ToString::to_string).unwrap_or_default();
            if !after.contains("Exit codes:") {
                missing.push(format!("{path}: no exit codes"));
            }
            let has_example = after.contains("Example")
                && after.lines().any(|line| line.starts_with("  ") && line.contains("exops "));
            if !has_example {
                missing.push(format!("{path}: no example"));
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
