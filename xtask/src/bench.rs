//! `cargo xtask bench [--quick]`: runs the criterion benchmarks, then prints one table —
//! figure, events/s, baseline events/s, ratio — and writes it to
//! `target/bench-summary.json`.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::{run_with_env, target_dir};

const BENCHES: &[&str] = &["apply", "codec", "append", "replay", "time_travel", "simulate", "sweep"];

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
];

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
    for (figure, id, baseline) in FIGURES {
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
    let path = target.join("bench-summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&rows)? + "\n")?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}
