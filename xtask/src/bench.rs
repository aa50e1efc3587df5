//! `cargo xtask bench [--quick]`: runs the criterion benchmarks and the whole-process
//! figures (`whole_process`), then prints one table (figure, events/s, baseline events/s
//! from the same run, ratio, the brief's target where it sets one, met or not) and writes
//! it to `bench-summary.json` in the target directory. The replicated append (a real
//! 3-node cluster) adds its follower lag, p50 and p99 in milliseconds; without a
//! `nats-server` its rows say "not measured".

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::{run_with_env, target_dir};

mod whole_process;

const BENCHES: &[&str] = &["apply", "codec", "append", "replay", "time_travel", "simulate", "sweep", "replicate"];

/// A target of docs/performance.md, checked against one figure of the run.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// At least this many events (or requests) a second.
    Rate(f64),
    /// At least this many events a second, and at least this ratio to the baseline.
    RateAndRatio(f64, f64),
    /// At least this ratio to the figure's baseline.
    Ratio(f64),
    /// At most this many milliseconds an iteration.
    Millis(f64),
}

impl Target {
    fn text(self) -> String {
        match self {
            Target::Rate(per_second) => format!("≥ {}/s", human(per_second)),
            Target::RateAndRatio(per_second, ratio) => format!("≥ {}/s, ≥ {ratio:.2}", human(per_second)),
            Target::Ratio(ratio) => format!("ratio ≥ {ratio:.2}"),
            Target::Millis(millis) => format!("≤ {millis} ms"),
        }
    }

    fn met(self, rate: f64, ratio: f64, millis: f64) -> bool {
        match self {
            Target::Rate(per_second) => rate >= per_second,
            Target::RateAndRatio(per_second, at_least) => rate >= per_second && ratio >= at_least,
            Target::Ratio(at_least) => ratio >= at_least,
            Target::Millis(at_most) => millis <= at_most,
        }
    }
}

/// (figure, benchmark id, baseline id, target): every figure beside a baseline from the
/// same run, and the brief's target where it sets one.
const FIGURES: &[(&str, &str, &str, Option<Target>)] = &[
    (
        "apply, full domain, records (prefetch)",
        "apply/full_domain_records",
        "apply/gate_loop_records_baseline",
        Some(Target::RateAndRatio(100e6, 0.45)),
    ),
    ("apply, full domain, envelopes (prefetch)", "apply/full_domain_batch", "apply/gate_loop_baseline", None),
    ("apply, full domain, one by one", "apply/full_domain", "apply/gate_loop_baseline", None),
    ("codec encode", "codec/encode", "codec/copy_baseline", None),
    ("codec decode", "codec/decode", "codec/copy_baseline", None),
    ("append, batch 1", "append/exops_log/batch_1", "append/plain_file_baseline/batch_1", None),
    ("append, batch 64", "append/exops_log/batch_64", "append/plain_file_baseline/batch_64", None),
    (
        "append, batch 4096",
        "append/exops_log/batch_4096",
        "append/plain_file_baseline/batch_4096",
        Some(Target::Ratio(0.80)),
    ),
    (
        "sled, a key per event, batch 4096",
        "append/sled_key_per_event/batch_4096",
        "append/plain_file_baseline/batch_4096",
        None,
    ),
    ("replay, single thread", "replay/single_thread", "replay/gate_loop_baseline", None),
    ("replay, pipelined (cold, 2 cores)", "replay/pipelined", "replay/gate_loop_baseline", Some(Target::Rate(40e6))),
    (
        "time travel (snapshot + tail)",
        "time_travel/snapshot_plus_tail",
        "time_travel/full_replay_baseline",
        Some(Target::Millis(30.0)),
    ),
    (
        "time travel, longest tail",
        "time_travel/snapshot_plus_longest_tail",
        "time_travel/full_replay_baseline",
        Some(Target::Millis(30.0)),
    ),
    // 100 M requests in 5 s is 20 M a second; the whole process is timed below.
    (
        "simulate BITPoint 2019 (requests/s)",
        "simulate/bitpoint_2019",
        "simulate/apply_baseline",
        Some(Target::Rate(20e6)),
    ),
    ("sweep of BITPoint runs (runs/s), every core", "sweep/parallel", "sweep/one_thread_baseline", None),
    (
        "local append, blocks of 1024 (serve's)",
        "replicate/local_append_4096_blocks_1024",
        "replicate/local_append_4096",
        None,
    ),
    ("replicated append, batch 4096, R3", "replicate/replicated_append_4096", "replicate/local_append_4096", None),
];

/// The group whose figures need a nats-server, and the record its bench leaves: whether
/// it measured, why not, and the follower lag.
const REPLICATE_GROUP: &str = "replicate/";
const REPLICATE_RECORD: &str = "replicate/follower_lag.json";

/// The replicated-append bench's record, or why there is none.
fn replicate_record(criterion: &Path) -> Result<Value> {
    let path = criterion.join(REPLICATE_RECORD);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("no result of the replicate benchmark ({}): run `cargo xtask bench [--quick]` first", path.display())
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Why the replicate figures were not measured, or `None` when they were.
fn not_measured(record: &Value) -> Option<String> {
    if record["measured"].as_bool() == Some(true) {
        return None;
    }
    Some(record["short"].as_str().unwrap_or("see follower_lag.json").to_owned())
}

/// Events per second of one criterion benchmark, from its saved estimates.
fn events_per_second(criterion: &Path, id: &str) -> Result<(f64, f64)> {
    // Criterion files `group/function` under the group, with `/` in the function as `_`.
    let (group, function) = id.split_once('/').context("benchmark ids are group/function")?;
    let directory = criterion.join(group).join(function.replace('/', "_")).join("new");
    let read = |name: &str| -> Result<Value> {
        let path = directory.join(name);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no result of benchmark `{id}` ({}): run `cargo xtask bench [--quick]` first", path.display())
        })?;
        Ok(serde_json::from_str(&text)?)
    };
    let mean_ns = read("estimates.json")?["mean"]["point_estimate"].as_f64().context("no mean estimate")?;
    let elements = read("benchmark.json")?["throughput"]["Elements"].as_f64().context("no throughput in elements")?;
    Ok((elements / (mean_ns / 1e9), mean_ns / 1e6))
}

fn met_text(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k", rate / 1e3)
    } else {
        format!("{rate:.2}")
    }
}

/// Runs the benchmarks (unless `summary_only`), then summarises the latest results.
pub fn bench(quick: bool, summary_only: bool) -> Result<()> {
    let mut criterion_args = vec!["--noplot"];
    if quick {
        criterion_args.extend(["--warm-up-time", "1", "--measurement-time", "3"]);
    }
    let benches: &[&str] = if summary_only { &[] } else { BENCHES };
    for name in benches {
        let mut args = vec!["bench", "--locked", "-p", "exops-benches", "--bench", name, "--"];
        args.extend(&criterion_args);
        let env: &[(&str, &str)] = if quick { &[("EXOPS_BENCH_QUICK", "1")] } else { &[] };
        run_with_env("cargo", &args, env)?;
    }
    let target = target_dir()?;
    let criterion = target.join("criterion");
    let mut rows = Vec::new();
    println!(
        "\n{:<44} {:>12} {:>12} {:>7} {:>18} {:>4}   (time per iteration: figure / baseline)",
        "FIGURE", "EVENTS/S", "BASELINE", "RATIO", "TARGET", "MET"
    );
    let replicate = replicate_record(&criterion)?;
    let replicate_missing = not_measured(&replicate);
    for (figure, id, baseline, target) in FIGURES {
        if id.starts_with(REPLICATE_GROUP)
            && let Some(why) = &replicate_missing
        {
            println!("{figure:<44} {:>12}", format!("not measured ({why})"));
            rows.push(json!({ "name": figure, "benchmark": id, "measured": false, "why": why }));
            continue;
        }
        let (rate, millis) = events_per_second(&criterion, id)?;
        let (baseline_rate, baseline_millis) = events_per_second(&criterion, baseline)?;
        let ratio = rate / baseline_rate;
        let met = target.map(|target| target.met(rate, ratio, millis));
        println!(
            "{figure:<44} {:>12} {:>12} {ratio:>7.3} {:>18} {:>4}   ({millis:.2} ms / {baseline_millis:.2} ms)",
            human(rate),
            human(baseline_rate),
            target.map(Target::text).unwrap_or_else(|| "-".to_owned()),
            met_text(met),
        );
        rows.push(json!({
            "target": target.map(Target::text),
            "met": met,
            "name": figure,
            "events_per_s": rate.round(),
            "baseline": baseline,
            "baseline_events_per_s": baseline_rate.round(),
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "benchmark": id,
            "ms_per_iteration": (millis * 1000.0).round() / 1000.0,
        }));
    }
    for (figure, key) in [("follower lag p50 (ms)", "p50_ms"), ("follower lag p99 (ms)", "p99_ms")] {
        if let Some(why) = &replicate_missing {
            println!("{figure:<44} {:>12}", format!("not measured ({why})"));
            rows.push(json!({ "name": figure, "benchmark": REPLICATE_RECORD, "measured": false, "why": why }));
            continue;
        }
        let server = replicate["server"].as_str().unwrap_or("?");
        let blocks = replicate["blocks"].as_u64().unwrap_or(0);
        let millis = replicate[key].as_f64().with_context(|| format!("no {key} in {REPLICATE_RECORD}"))?;
        println!(
            "{figure:<44} {millis:>12.3} {:>12} {:>7} {:>18} {:>4}   ({blocks} blocks; {server})",
            "-", "-", "-", "-"
        );
        rows.push(json!({
            "name": figure,
            "ms": millis,
            "blocks": blocks,
            "server": server,
            "benchmark": REPLICATE_RECORD,
        }));
    }
    rows.extend(whole_process::figures(&target, quick, summary_only)?);
    let path = target.join("bench-summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&rows)? + "\n")?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}
