//! `exops replay`, `exops timeline`, `exops check`: reading a log of either kind.

use std::path::Path;

use exops_core::Selector;
use exops_replay::{
    CheckReport, Point, Replay, Source, check, render_state_text, render_timeline_mermaid, render_timeline_table,
};
use serde::Serialize;

use crate::cli::{ReportFormat, StateFormat, TimelineFormat};
use crate::failure::{Code, Failure};
use crate::output::{emit, note, progress_bar, to_json};

/// How a source is named in messages: its path, or `<stdin>`.
fn display_name(source: &str) -> String {
    if source == "-" { "<stdin>".to_owned() } else { source.to_owned() }
}

fn is_data_dir(source: &str) -> bool {
    source != "-" && Path::new(source).is_dir()
}

/// Folds `source` up to `point`. A data directory restores through its snapshots (no
/// timeline needed), unless `full_history` asks for the whole fold (timelines do).
fn fold(source: &str, point: Point, full_history: bool) -> Result<Replay, Failure> {
    let name = display_name(source);
    if is_data_dir(source) && !full_history {
        // Opening first turns "not a data directory" into its own error.
        drop(Source::open(source)?);
        let bar = progress_bar(None, "replaying");
        let folded =
            exops_replay::replay_data_dir_with_progress(Path::new(source), point, &mut |n| bar.set_position(n));
        bar.finish_and_clear();
        return Ok(folded?);
    }
    Ok(exops_replay::replay_source(Source::open(source)?, &name, point)?)
}

/// Notes for the user: on standard error in text; in JSON they are part of the output.
fn print_notes(replay: &Replay, source: &str, json: bool) {
    if !json {
        for text in &replay.notes {
            note(text);
        }
    }
    let count = replay.state.counters().rejected;
    if count > 0 {
        note(&format!(
            "{count} event(s) of `{}` were rejected and left the state unchanged; `exops check {source}` lists them",
            display_name(source)
        ));
    }
}

/// A JSON output with the notes beside it.
#[derive(Serialize)]
struct WithNotes<'a, T: Serialize> {
    #[serde(flatten)]
    value: &'a T,
    notes: &'a [String],
}

pub fn replay(source: &str, at: Option<Point>, format: StateFormat) -> Result<(), Failure> {
    let replay = fold(source, at.unwrap_or(Point::End), false)?;
    print_notes(&replay, source, format == StateFormat::Json);
    let view = replay.state.view();
    let text = match format {
        StateFormat::Text => render_state_text(&view),
        StateFormat::Json => to_json(&WithNotes { value: &view, notes: &replay.notes })?,
        StateFormat::Yaml => exops_replay::render_yaml(&view).map_err(Failure::io)?,
    };
    emit(&text)
}

pub fn timeline(source: &str, services: &[Selector], at: Option<Point>, format: TimelineFormat) -> Result<(), Failure> {
    let replay = fold(source, at.unwrap_or(Point::End), true)?;
    print_notes(&replay, source, format == TimelineFormat::Json);
    let mut timeline = replay.finished_timeline();
    if let Some(venue) = replay.state.venue() {
        timeline = timeline.select(venue, services).map_err(Failure::usage)?;
    } else if !services.is_empty() {
        return Err(Failure::new(
            Code::InvalidLog,
            format!("`{}` declares no venue, so no service can be selected", display_name(source)),
        ));
    }
    let text = match format {
        TimelineFormat::Text => render_timeline_table(&timeline),
        TimelineFormat::Json => to_json(&WithNotes { value: &timeline, notes: &replay.notes })?,
        TimelineFormat::Mermaid => render_timeline_mermaid(&timeline),
    };
    emit(&text)
}

fn check_text(report: &CheckReport, source: &str, by_line: bool) -> String {
    // A line in a text; in a data directory the position is the seq, said once.
    let at = |position: u64| if by_line { format!("{source}:{position}: ") } else { format!("{source}: ") };
    let mut text = String::new();
    for error in &report.parse_errors {
        text.push_str(&format!("invalid: {error}\n"));
    }
    if report.parse_errors_not_listed > 0 {
        text.push_str(&format!("invalid: … and {} more lines that are not events\n", report.parse_errors_not_listed));
    }
    for rejection in &report.rejections {
        text.push_str(&format!(
            "rejected: {}seq {} `{}` by {}: {}\n",
            at(rejection.line),
            rejection.seq,
            rejection.kind,
            rejection.actor,
            rejection.reason
        ));
    }
    for duplicate in &report.duplicates {
        text.push_str(&format!(
            "duplicate (skipped): {}seq {} id {} of {} (last applied id {})\n",
            at(duplicate.line),
            duplicate.seq,
            duplicate.id,
            duplicate.actor,
            duplicate.last_id
        ));
    }
    if report.events == 0 && report.invalid_lines == 0 {
        text.push_str(&format!("invalid: {source}: the log is empty; a log begins with `venue_declared`\n"));
    }
    let tail = match report.tail_from_seq {
        Some(first) => format!(" (a tail starting at seq {first}: not checked past its first line)"),
        None => String::new(),
    };
    text.push_str(&format!(
        "{source}: {} events, {} invalid lines, {} rejected, {} duplicates{tail}\n",
        report.events,
        report.invalid_lines,
        report.rejections.len(),
        report.duplicates.len()
    ));
    text
}

pub fn check_command(source: &str, strict: bool, format: ReportFormat) -> Result<(), Failure> {
    let opened = Source::open(source)?;
    let by_line = opened.position_is_line();
    let bar = progress_bar(None, "checking");
    let mut read = 0_u64;
    let report = check(opened.inspect(|_| {
        read += 1;
        if read.is_multiple_of(4096) {
            bar.set_position(read);
        }
    }));
    bar.finish_and_clear();
    let name = display_name(source);
    let text = match format {
        ReportFormat::Json => to_json(&report)?,
        ReportFormat::Text => check_text(&report, &name, by_line),
    };
    emit(&text)?;
    // In a data directory, a rejection is recorded history, not a fault of the file.
    let rejections_fail = by_line || strict;
    let clean = report.invalid_lines == 0 && report.events > 0 && (report.rejections.is_empty() || !rejections_fail);
    if clean {
        Ok(())
    } else if report.invalid_lines > 0 || report.events == 0 {
        Err(Failure::shown(Code::InvalidLog, format!("{name}: {} invalid line(s)", report.invalid_lines)))
    } else {
        Err(Failure::shown(Code::Rejected, format!("{name}: {} event(s) rejected", report.rejections.len())))
    }
}
