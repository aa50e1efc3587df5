//! The targets no criterion benchmark can show, measured on the release `exops` binary as
//! a user runs it: the wall time of the full-scale BITPoint simulation (100 M requests)
//! and the peak memory of a first replay as the log grows (flat in its length). Each is
//! beside a baseline from the same run. `--summary` re-prints the last run's record,
//! `whole_process.json` in the target directory's `criterion/`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{project_root, run};

const RECORD: &str = "criterion/whole_process.json";

/// Runs (or, with `summary_only`, re-reads) the whole-process figures, prints them as rows
/// of the table and returns them for `bench-summary.json`.
pub fn figures(target: &Path, quick: bool, summary_only: bool) -> Result<Vec<Value>> {
    let record = target.join(RECORD);
    let rows: Vec<Value> = if summary_only {
        let text = std::fs::read_to_string(&record).with_context(|| {
            format!("no whole-process figures ({}): run `cargo xtask bench [--quick]` first", record.display())
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", record.display()))?
    } else {
        let rows = measure(target, quick)?;
        std::fs::write(&record, serde_json::to_string_pretty(&rows)? + "\n")
            .with_context(|| format!("writing {}", record.display()))?;
        rows
    };
    for row in &rows {
        println!(
            "{:<44} {:>12} {:>12} {:>7} {:>18} {:>4}   ({})",
            row["name"].as_str().unwrap_or("?"),
            row["value_text"].as_str().unwrap_or("?"),
            row["baseline_text"].as_str().unwrap_or("?"),
            row["ratio"].as_f64().map(|ratio| format!("{ratio:.3}")).unwrap_or_else(|| "-".to_owned()),
            row["target"].as_str().unwrap_or("-"),
            match row["met"].as_bool() {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            },
            row["detail"].as_str().unwrap_or(""),
        );
    }
    Ok(rows)
}

fn measure(target: &Path, quick: bool) -> Result<Vec<Value>> {
    run("cargo", &["build", "--release", "--locked", "-p", "exops-cli"])?;
    let exops = target.join("release/exops");
    let work = target.join("bench-work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let rows = vec![simulate_full_scale(&exops, quick)?, replay_memory(&exops, &work, quick)?];
    let _ = std::fs::remove_dir_all(&work);
    Ok(rows)
}

/// `exops simulate` of BITPoint at 1,250% (101.5 M requests) against the same at 100% in
/// the same run: wall time, the median of 3 runs (1 with `--quick`).
fn simulate_full_scale(exops: &Path, quick: bool) -> Result<Value> {
    let runs = if quick { 1 } else { 3 };
    let fixtures = project_root().join("fixtures/bitpoint-2019");
    let scenario = fixtures.join("scenario.toml");
    let plan = fixtures.join("plan.toml");
    let wall = |scale: &str| -> Result<f64> {
        let mut times = Vec::new();
        for _ in 0..runs {
            let mut command = Command::new(exops);
            command
                .arg("simulate")
                .arg(&scenario)
                .arg("--plan")
                .arg(&plan)
                .args(["--scale", scale, "--format", "json"]);
            times.push(time_and_peak(command)?.0.as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        Ok(times[times.len() / 2])
    };
    let baseline = wall("100")?;
    let full = wall("1250")?;
    let at_most = 5.0;
    Ok(json!({
        "name": "simulate BITPoint at 1,250%, whole process",
        "value_text": format!("{full:.2} s"),
        "baseline_text": format!("{baseline:.2} s"),
        "seconds": full,
        "baseline_seconds": baseline,
        "ratio": full / baseline,
        "target": format!("≤ {at_most} s"),
        "met": full <= at_most,
        "detail": format!("101.5 M requests / 8.1 M at 100%; median of {runs}"),
    }))
}

/// Peak RSS of a first `exops replay` (building its snapshots) of a generated log, at
/// 4× the length of the baseline's log: flat means within 10%.
fn replay_memory(exops: &Path, work: &Path, quick: bool) -> Result<Value> {
    let (small, large): (u64, u64) = if quick { (1_000_000, 4_000_000) } else { (10_000_000, 40_000_000) };
    let peak = |events: u64| -> Result<u64> {
        let dir = work.join(format!("gen-{events}"));
        let mut generate = Command::new(exops);
        generate.args(["gen", "--events", &events.to_string(), "--seed", "1", "--data-dir"]).arg(&dir);
        time_and_peak(generate)?;
        let mut replay = Command::new(exops);
        replay.arg("replay").arg(&dir).args(["--format", "json"]);
        let (_, peak_kb) = time_and_peak(replay)?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(peak_kb)
    };
    let baseline = peak(small)?;
    let value = peak(large)?;
    let ratio = value as f64 / baseline as f64;
    Ok(json!({
        "name": "replay peak memory, 4x the log",
        "value_text": format!("{:.1} MB", value as f64 / 1024.0),
        "baseline_text": format!("{:.1} MB", baseline as f64 / 1024.0),
        "peak_kb": value,
        "baseline_peak_kb": baseline,
        "ratio": ratio,
        "target": "ratio ≤ 1.10",
        "met": ratio <= 1.10,
        "detail": format!("first replay of {} M events / {} M", large / 1_000_000, small / 1_000_000),
    }))
}

/// Runs `command` to its end (standard output discarded) and returns its wall time and
/// its peak resident memory in KiB, the last `VmHWM` read from `/proc` before it exited
/// (the high-water mark only grows; it is read every 2 ms).
fn time_and_peak(mut command: Command) -> Result<(Duration, u64)> {
    let shown = format!("{command:?}");
    let started = Instant::now();
    let mut child = command.stdout(Stdio::null()).spawn().with_context(|| format!("cannot run {shown}"))?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok((elapsed, peak_kb))
}
