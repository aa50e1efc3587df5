//! `cargo xtask bench [--quick]`: runs the criterion benchmarks, then prints one table —
//! figure, events/s, baseline events/s, ratio — and writes it to
//! `target/bench-summary.json`. The replicated append (a real 3-node cluster) adds its
//! follower lag, p50 and p99 in milliseconds; without a `nats-server` its rows say
//! "not measured".

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::{run_with_env, target_dir};

const BENCHES: &[&str] = &["apply", "codec", "append", "replay", "time_travel", "simulate", "sweep", "replicate"];

/// (figure, benchmark id, baseline id): every figure beside a baseline from the same run.
const FIGURES: &[(&str, &str, &str)] = &[
    ("apply, full domain, batch (prefetch)", "apply/full_domain_batch", "apply/gate_loop_baseline"),
    ("apply, full domain, one by one", "apply/full_domain", "apply/gate_loop_baseline"),
    ("codec encode", "codec/encode", "codec/copy_baseline"),
    ("codec decode", "codec/decode", "codec/copy_baseline"),
    ("append, batch 1", "append/exops_log/batch_1", "append/plain_file_baseline/batch_1"),
    ("append, batch 64", "append/exops_log/batch_64", "append/plain_file_baseline/batch_64"),
    ("append, batch 4096", "append/exops_log/batch_4096", "append/plain_file_baseline/batch_4096"),
    (
        "sled, a key per event, batch 4096",
        "append/sled_key_per_event/batch_4096",
        "append/plain_file_baseline/batch_4096",
    ),
    ("replay, single thread", "replay/single_thread", "replay/gate_loop_baseline"),
    ("replay, pipelined", "replay/pipelined", "replay/gate_loop_baseline"),
    ("time travel (snapshot + tail)", "time_travel/snapshot_plus_tail", "time_travel/full_replay_baseline"),
    ("time travel, longest tail", "time_travel/snapshot_plus_longest_tail", "time_travel/full_replay_baseline"),
    ("simulate BITPoint 2019", "simulate/bitpoint_2019", "simulate/apply_baseline"),
    ("sweep of BITPoint runs (runs/s), every core", "sweep/parallel", "sweep/one_thread_baseline"),
    (
        "local append, blocks of 1024 (serve's)",
        "replicate/local_append_4096_blocks_1024",
        "replicate/local_append_4096",
    ),
    ("replicated append, batch 4096, R3", "replicate/replicated_append_4096", "replicate/local_append_4096"),
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

fn human(rate: f64) -> String {
    if rate >= 1e6 { format!("{:.2} M", rate / 1e6) } else { format!("{:.1} k", rate / 1e3) }
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
        "\n{:<38} {:>14} {:>14} {:>8}   (time per iteration: figure / baseline)",
        "FIGURE", "EVENTS/S", "BASELINE", "RATIO"
    );
    let replicate = replicate_record(&criterion)?;
    let replicate_missing = not_measured(&replicate);
    for (figure, id, baseline) in FIGURES {
        if id.starts_with(REPLICATE_GROUP)
            && let Some(why) = &replicate_missing
        {
            println!("{figure:<38} {:>14}", format!("not measured ({why})"));
            rows.push(json!({ "name": figure, "benchmark": id, "measured": false, "why": why }));
            continue;
        }
        let (rate, millis) = events_per_second(&criterion, id)?;
        let (baseline_rate, baseline_millis) = events_per_second(&criterion, baseline)?;
        let ratio = rate / baseline_rate;
        println!(
            "{figure:<38} {:>14} {:>14} {ratio:>8.3}   ({millis:.2} ms / {baseline_millis:.2} ms)",
            human(rate),
            human(baseline_rate)
        );
        rows.push(json!({
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
            println!("{figure:<38} {:>14}", format!("not measured ({why})"));
            rows.push(json!({ "name": figure, "benchmark": REPLICATE_RECORD, "measured": false, "why": why }));
            continue;
        }
        let server = replicate["server"].as_str().unwrap_or("?");
        let blocks = replicate["blocks"].as_u64().unwrap_or(0);
        let millis = replicate[key].as_f64().with_context(|| format!("no {key} in {REPLICATE_RECORD}"))?;
        println!("{figure:<38} {millis:>14.3} {:>14} {:>8}   ({blocks} blocks; {server})", "-", "-");
        rows.push(json!({
            "name": figure,
            "ms": millis,
            "blocks": blocks,
            "server": server,
            "benchmark": REPLICATE_RECORD,
        }));
    }
    let path = target.join("bench-summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&rows)? + "\n")?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}
