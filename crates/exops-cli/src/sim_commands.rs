//! `exops simulate`, `exops compare`, `exops lint`: recovery plans against scenarios.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use exops_core::{Envelope, Timestamp};
use exops_log::{Log, LogOptions, Submission, Ticket};
use exops_sim::plan::Plan;
use exops_sim::scenario::Scenario;
use exops_sim::{Options, StartFrom};
use indicatif::{ProgressBar, ProgressStyle};

use crate::failure::{Code, Failure, input_file, io_reason};
use crate::output::{emit, to_json};

/// Loads the scenario at `path`; a file that is a plan instead is named as such: the
/// arguments were swapped, which is a usage error, not a broken scenario.
fn load_scenario(path: &Path) -> Result<Scenario, Failure> {
    input_file(path, "the scenario")?;
    Scenario::load(path).map_err(|error| {
        if Plan::load(path).is_ok() {
            return Failure::usage(format!(
                "`{}` is a plan, not a scenario: were the scenario and the plan swapped?",
                path.display()
            ));
        }
        Failure::from(error)
    })
}

/// Loads the plan at `path`; a file that is a scenario instead is named as such.
fn load_plan(path: &Path) -> Result<Plan, Failure> {
    input_file(path, "the plan")?;
    Plan::load(path).map_err(|error| {
        if Scenario::load(path).is_ok() {
            return Failure::usage(format!(
                "`{}` is a scenario, not a plan: were the scenario and the plan swapped?",
                path.display()
            ));
        }
        Failure::from(error)
    })
}

/// An output file named on the command line, created before the run so that a path that
/// cannot be written fails at once, not after minutes of simulation.
fn create_output(path: &Path, what: &str) -> Result<File, Failure> {
    File::create(path).map_err(|error| {
        let reason = match path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            Some(parent) if !parent.is_dir() => format!("its directory `{}` does not exist", parent.display()),
            _ => io_reason(&error),
        };
        Failure::io(format!("cannot create {what} `{}`: {reason}", path.display()))
    })
}

/// Where the simulated events go.
enum LogOut {
    None,
    Jsonl { writer: BufWriter<File>, render: exops_jsonl::Writer, path: PathBuf, error: Option<std::io::Error> },
    DataDir { log: Box<exops_log::Opened>, tickets: Vec<Ticket> },
}

impl LogOut {
    fn open(path: Option<&Path>) -> Result<LogOut, Failure> {
        let Some(path) = path else { return Ok(LogOut::None) };
        if path.extension().is_some_and(|extension| extension == "jsonl") {
            let file = create_output(path, "the log")?;
            return Ok(LogOut::Jsonl {
                writer: BufWriter::with_capacity(1 << 16, file),
                render: exops_jsonl::Writer::new(),
                path: path.to_owned(),
                error: None,
            });
        }
        let fresh = !exops_log::segments_dir(path).is_dir()
            || exops_log::list_segments(path).map(|segments| segments.len()).unwrap_or(0) <= 1
                && exops_log::inspect::walk(path, false).map(|summary| summary.events == 0).unwrap_or(false);
        if !fresh {
            return Err(Failure::usage(format!(
                "`{}` already holds a log; --log-out writes a new one (give an empty or new directory, or a .jsonl file)",
                path.display()
            )));
        }
        exops_log::init(path)?;
        let log = Log::open(path, LogOptions::default(), None)?;
        Ok(LogOut::DataDir { log: Box::new(log), tickets: Vec::new() })
    }

    fn write(&mut self, envelope: &Envelope) {
        match self {
            LogOut::None => {}
            LogOut::Jsonl { writer, render, error, .. } => {
                if error.is_none() {
                    let mut line = render.render(envelope);
                    line.push('\n');
                    if let Err(failure) = writer.write_all(line.as_bytes()) {
                        *error = Some(failure);
                    }
                }
            }
            LogOut::DataDir { log, tickets } => {
                let submission = Submission::from(envelope.clone());
                if let Ok(ticket) = log.log.appender().submit(submission) {
                    tickets.push(ticket);
                }
                if tickets.len() >= 65_536 {
                    for ticket in tickets.drain(..) {
                        let _ = ticket.wait();
                    }
                }
            }
        }
    }

    fn finish(self) -> Result<(), Failure> {
        match self {
            LogOut::None => Ok(()),
            LogOut::Jsonl { mut writer, path, error, .. } => {
                let flushed = writer.flush();
                match error.map_or(flushed, Err) {
                    Ok(()) => Ok(()),
                    Err(error) => Err(Failure::io(format!("cannot write `{}`: {}", path.display(), io_reason(&error)))),
                }
            }
            LogOut::DataDir { log, tickets } => {
                for ticket in tickets {
                    ticket.wait()?;
                }
                log.log.close().map(|_| ()).map_err(Failure::from)
            }
        }
    }
}

/// Arguments of `exops simulate`.
pub struct SimulateArgs {
    pub scenario: PathBuf,
    pub plan: PathBuf,
    pub seed: Option<u64>,
    pub scale_percent: u32,
    pub branch_from: Option<String>,
    pub branch_at: Option<Timestamp>,
    pub log_out: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub mermaid: Option<PathBuf>,
    pub json: bool,
    pub strict: bool,
    pub runs: u32,
}

fn options(
    seed: Option<u64>,
    scale_percent: u32,
    branch_from: Option<String>,
    branch_at: Option<Timestamp>,
) -> Result<Options, Failure> {
    let start_from = match (branch_from, branch_at) {
        (None, None) => StartFrom::Fresh,
        (Some(source), Some(at)) => StartFrom::Log { source, at },
        (Some(_), None) => {
            return Err(Failure::usage(
                "--branch-from needs --branch-at: the instant of the recorded log to start from",
            ));
        }
        (None, Some(_)) => {
            return Err(Failure::usage("--branch-at needs --branch-from: the recorded log to start from"));
        }
    };
    Ok(Options { seed, scale_percent, start_from, ..Options::default() })
}

fn progress(scenario: &Scenario, scale_percent: u32) -> ProgressBar {
    let days = (scenario.end.micros_since(scenario.start) / 86_400_000_000).max(1) as u64;
    let expected = scenario.workload.per_day.total().saturating_mul(u64::from(scale_percent)) / 100 * days;
    let bar = ProgressBar::new(expected.max(1));
    if let Ok(style) = ProgressStyle::with_template("simulating [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub fn simulate(args: SimulateArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&args.scenario)?;
    let plan = load_plan(&args.plan)?;
    if let Some(source) = &args.branch_from {
        // The same checks as every other command reading a log, before the run.
        drop(exops_replay::Source::open(source)?);
    }
    let options = options(args.seed, args.scale_percent, args.branch_from.clone(), args.branch_at)?;
    if args.runs > 1 && args.log_out.is_some() {
        return Err(Failure::usage("--log-out writes one run's events; it does not take --runs above 1"));
    }
    if args.runs > 1 && args.branch_from.as_deref() == Some("-") {
        return Err(Failure::usage(
            "--branch-from - reads standard input once, and every run of --runs starts from the log: give a file",
        ));
    }
    let report_file = args.report.as_deref().map(|path| create_output(path, "the report")).transpose()?;
    let mermaid_file = args.mermaid.as_deref().map(|path| create_output(path, "the Mermaid file")).transpose()?;
    if args.runs > 1 {
        return simulate_sweep(&args, &scenario, &plan, &options, report_file, mermaid_file);
    }
    let mut out = LogOut::open(args.log_out.as_deref())?;
    let bar = progress(&scenario, args.scale_percent);
    let mut written = 0_u64;
    let result = exops_sim::simulate(&scenario, &plan, &options, &mut |envelope| {
        out.write(envelope);
        written += 1;
        if written.is_multiple_of(65_536) {
            bar.set_position(written);
        }
    });
    bar.finish_and_clear();
    let simulation = match result {
        Ok(simulation) => simulation,
        Err(error) => {
            // Nothing was written to the outputs made for this run: leave no empty files.
            for path in [args.report.as_deref(), args.mermaid.as_deref()].into_iter().flatten() {
                let _ = std::fs::remove_file(path);
            }
            return Err(error.into());
        }
    };
    out.finish()?;
    let write = |file: Option<File>, path: Option<&Path>, text: &str| -> Result<(), Failure> {
        if let (Some(mut file), Some(path)) = (file, path) {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|error| Failure::io(format!("cannot write `{}`: {error}", path.display())))?;
        }
        Ok(())
    };
    if mermaid_file.is_some() {
        let gantt = exops_replay::render_timeline_mermaid(&simulation.replay.finished_timeline());
        write(mermaid_file, args.mermaid.as_deref(), &format!("```mermaid\n{gantt}```\n"))?;
    }
    if report_file.is_some() {
        let timeline = simulation.replay.finished_timeline();
        let title = format!("{} — {}", scenario.name, plan.name);
        write(report_file, args.report.as_deref(), &exops_sim::report::html(&title, &simulation.metrics, &timeline))?;
    }
    let text = if args.json { to_json(&simulation.metrics)? } else { exops_sim::text::render(&simulation.metrics) };
    emit(&text)?;
    if args.strict && !simulation.metrics.violations.is_empty() {
        return Err(Failure::new(
            Code::Violations,
            format!(
                "{} control violation(s) and --strict: the plan breaks the venue's controls",
                simulation.metrics.violations.len()
            ),
        ));
    }
    Ok(())
}

/// `simulate --runs N` (N > 1): the sweep's ranges as text or JSON; the report and the
/// Mermaid file describe the single run at every range's central value.
fn simulate_sweep(
    args: &SimulateArgs,
    scenario: &Scenario,
    plan: &Plan,
    options: &Options,
    report_file: Option<File>,
    mermaid_file: Option<File>,
) -> Result<(), Failure> {
    let remove_outputs = || {
        for path in [args.report.as_deref(), args.mermaid.as_deref()].into_iter().flatten() {
            let _ = std::fs::remove_file(path);
        }
    };
    let bar = ProgressBar::new(u64::from(args.runs));
    if let Ok(style) = ProgressStyle::with_template("simulating [{bar:40}] {pos}/{len} runs ({eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    let threads = exops_sim::sweep::threads_for(args.runs);
    let sweep = exops_sim::sweep::sweep(scenario, plan, options, args.runs, threads, &|| bar.inc(1));
    bar.finish_and_clear();
    let sweep = sweep.inspect_err(|_| remove_outputs())?;
    if report_file.is_some() || mermaid_file.is_some() {
        let simulation = exops_sim::simulate(scenario, plan, options, &mut |_| {}).inspect_err(|_| remove_outputs())?;
        let timeline = simulation.replay.finished_timeline();
        if mermaid_file.is_some() {
            let gantt = exops_replay::render_timeline_mermaid(&timeline);
            write_output(mermaid_file, args.mermaid.as_deref(), &format!("```mermaid\n{gantt}```\n"))?;
        }
        if report_file.is_some() {
            let title = format!("{} — {}", scenario.name, plan.name);
            let html = exops_sim::report::html_with_sweep(&title, &simulation.metrics, &timeline, Some(&sweep));
            write_output(report_file, args.report.as_deref(), &html)?;
        }
    }
    let text = if args.json { to_json(&sweep)? } else { exops_sim::sweep::render(&sweep) };
    emit(&text)?;
    if args.strict && sweep.runs_with_violations > 0 {
        return Err(Failure::new(
            Code::Violations,
            format!(
                "control violations in {} of {} runs and --strict: the plan breaks the venue's controls",
                sweep.runs_with_violations, sweep.runs
            ),
        ));
    }
    Ok(())
}

/// Arguments of `exops compare`.
pub struct CompareArgs {
    pub scenario: PathBuf,
    pub plans: Vec<PathBuf>,
    pub seed: Option<u64>,
    pub scale_percent: u32,
    pub branch_from: Option<String>,
    pub branch_at: Option<Timestamp>,
    pub report: Option<PathBuf>,
    pub mermaid: Option<PathBuf>,
    pub json: bool,
    pub strict: bool,
    pub runs: u32,
}

/// Writes `text` into an output file created before the run, and syncs it.
fn write_output(file: Option<File>, path: Option<&Path>, text: &str) -> Result<(), Failure> {
    if let (Some(mut file), Some(path)) = (file, path) {
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|error| Failure::io(format!("cannot write `{}`: {error}", path.display())))?;
    }
    Ok(())
}

pub fn compare(args: CompareArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&args.scenario)?;
    // Every plan loads before anything runs, so a bad plan fails at once.
    let plans: Vec<Plan> = args.plans.iter().map(|path| load_plan(path)).collect::<Result<_, _>>()?;
    if args.branch_from.as_deref() == Some("-") {
        return Err(Failure::usage(
            "--branch-from - reads standard input once, and every plan starts from the log: give a file",
        ));
    }
    if let Some(source) = &args.branch_from {
        drop(exops_replay::Source::open(source)?);
    }
    let options = options(args.seed, args.scale_percent, args.branch_from, args.branch_at)?;
    let report_file = args.report.as_deref().map(|path| create_output(path, "the report")).transpose()?;
    let mermaid_file = args.mermaid.as_deref().map(|path| create_output(path, "the Mermaid file")).transpose()?;
    let mut runs = Vec::with_capacity(plans.len());
    let mut timelines = Vec::with_capacity(plans.len());
    for plan in &plans {
        let bar = progress(&scenario, args.scale_percent);
        bar.set_message(plan.name.clone());
        let mut count = 0_u64;
        let simulation = exops_sim::simulate(&scenario, plan, &options, &mut |_| {
            count += 1;
            if count.is_multiple_of(65_536) {
                bar.set_position(count);
            }
        });
        bar.finish_and_clear();
        let simulation = match simulation {
            Ok(simulation) => simulation,
            Err(error) => {
                for path in [args.report.as_deref(), args.mermaid.as_deref()].into_iter().flatten() {
                    let _ = std::fs::remove_file(path);
                }
                return Err(error.into());
            }
        };
        timelines.push(simulation.replay.finished_timeline());
        runs.push(simulation.metrics);
    }
    let rows = exops_sim::text::comparison(&runs);
    let mut sweeps = Vec::new();
    if args.runs > 1 {
        let threads = exops_sim::sweep::threads_for(args.runs);
        for plan in &plans {
            let bar = ProgressBar::new(u64::from(args.runs));
            bar.set_message(plan.name.clone());
            let sweep = exops_sim::sweep::sweep(&scenario, plan, &options, args.runs, threads, &|| bar.inc(1));
            bar.finish_and_clear();
            match sweep {
                Ok(sweep) => sweeps.push(sweep),
                Err(error) => {
                    for path in [args.report.as_deref(), args.mermaid.as_deref()].into_iter().flatten() {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(error.into());
                }
            }
        }
    }
    if mermaid_file.is_some() {
        let mut text = String::new();
        for (index, (run, timeline)) in runs.iter().zip(&timelines).enumerate() {
            text.push_str(&format!(
                "## Plan {}: {}\n\n```mermaid\n{}```\n\n",
                index + 1,
                run.plan,
                exops_replay::render_timeline_mermaid(timeline)
            ));
        }
        write_output(mermaid_file, args.mermaid.as_deref(), &text)?;
    }
    if report_file.is_some() {
        let title = format!("{}: {} plans compared", scenario.name, runs.len());
        let pairs: Vec<(&exops_sim::Metrics, &exops_replay::Timeline)> = runs.iter().zip(&timelines).collect();
        let html = exops_sim::report::comparison_html_with_sweeps(&title, &pairs, &rows, &sweeps);
        write_output(report_file, args.report.as_deref(), &html)?;
    }
    let text = match (args.json, sweeps.is_empty()) {
        (true, true) => to_json(&exops_sim::text::ComparisonJson::new(&runs, &rows))?,
        (false, true) => exops_sim::text::render_comparison(&runs, &rows),
        (true, false) => to_json(&exops_sim::sweep::ComparisonSweepJson {
            plans: runs.iter().map(|run| run.plan.as_str()).collect(),
            runs: args.runs,
            sweeps: &sweeps,
        })?,
        (false, false) => exops_sim::sweep::render_comparison(&sweeps),
    };
    emit(&text)?;
    if args.strict && sweeps.iter().any(|sweep| sweep.runs_with_violations > 0) {
        let plans: Vec<String> = sweeps
            .iter()
            .enumerate()
            .filter(|(_, sweep)| sweep.runs_with_violations > 0)
            .map(|(index, sweep)| {
                format!("plan {} (in {} of {} runs)", index + 1, sweep.runs_with_violations, sweep.runs)
            })
            .collect();
        return Err(Failure::new(
            Code::Violations,
            format!("control violations and --strict: {} break(s) the venue's controls", plans.join(", ")),
        ));
    }
    let violations: usize = runs.iter().map(|run| run.violations.len()).sum();
    if args.strict && violations > 0 {
        let plans: Vec<String> = runs
            .iter()
            .enumerate()
            .filter(|(_, run)| !run.violations.is_empty())
            .map(|(index, run)| format!("plan {} ({} violation(s))", index + 1, run.violations.len()))
            .collect();
        return Err(Failure::new(
            Code::Violations,
            format!(
                "{violations} control violation(s) and --strict: {} break(s) the venue's controls",
                plans.join(", ")
            ),
        ));
    }
    Ok(())
}

pub fn lint(plan: &Path, scenario: Option<&Path>, json: bool) -> Result<(), Failure> {
    let plan = load_plan(plan)?;
    let findings = match scenario {
        Some(path) => exops_sim::lint::lint(&plan, &load_scenario(path)?)?,
        None => Vec::new(),
    };
    if json {
        emit(&to_json(&findings)?)?;
    } else {
        let mut text = String::new();
        for finding in &findings {
            text.push_str(&format!("{}: phase `{}`: {}\n", finding.location, finding.phase, finding.message));
        }
        text.push_str(&format!(
            "{}: {} phase(s), {} finding(s){}\n",
            plan.source,
            plan.phases.len(),
            findings.len(),
            if scenario.is_none() { " (structure only; give --scenario to dry-run it)" } else { "" }
        ));
        emit(&text)?;
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Failure::shown(Code::Findings, format!("{}: {} finding(s)", plan.source, findings.len())))
    }
}
