//! Human renderings: the state as text tables, timelines as a table or a Mermaid gantt.

use std::fmt::Write;

use exops_core::{Mode, StateView, Timestamp};

use crate::timeline::{Interval, Timeline};

/// Left-aligned columns, two spaces apart, the last column unpadded.
///
/// ```
/// let text = exops_replay::render_table(&["A", "B"], &[vec!["long".to_owned(), "x".to_owned()]]);
/// assert_eq!(text, "A     B\nlong  x\n");
/// ```
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|cell| (*cell).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[index]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn or_dash(items: &[String]) -> String {
    if items.is_empty() { "-".to_owned() } else { items.join(", ") }
}

/// The state as text: a header line, the services table, the active holds, incidents
/// with their controls, the ledger and the customer operations per service.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}"#;
/// # let lines = exops_jsonl::parse_str("tiny.jsonl", log).unwrap();
/// # let replay = exops_replay::replay_until(lines.into_iter().map(Ok::<_, ()>), exops_replay::Point::End).unwrap();
/// let text = exops_replay::render_state_text(&replay.state.view());
/// assert!(text.starts_with("Tiny: operating at seq 2 (2024-03-04T01:00:00Z)\n"), "{text}");
/// ```
pub fn render_state_text(view: &StateView) -> String {
    let mut out = String::new();
    let at = view.at.map_or_else(|| "-".to_owned(), |at| at.to_string());
    let name = view.name.as_deref().unwrap_or("(no venue declared)");
    let _ = writeln!(out, "{name}: {} at seq {} ({at})", view.venue, view.seq);
    if let Some(ceased) = &view.ceased {
        let _ = writeln!(out, "ceased at {}: {}", ceased.at, ceased.reason);
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = view
        .services
        .0
        .iter()
        .map(|(name, service)| {
            let mut mode = service.mode.to_string();
            if let Some(cap) = service.max_order_notional_minor {
                let _ = write!(mode, " (cap {cap})");
            }
            vec![name.clone(), mode, service.since.to_string(), or_dash(&service.holds)]
        })
        .collect();
    out.push_str(&table(&["SERVICE", "MODE", "SINCE", "HOLDS"], &rows));

    if !view.holds.is_empty() {
        out.push_str("\nACTIVE HOLDS\n");
        let rows: Vec<Vec<String>> = view
            .holds
            .iter()
            .map(|(name, hold)| {
                let mode = hold.mode.map_or_else(|| "closed".to_owned(), |mode| mode.to_string());
                vec![
                    name.clone(),
                    hold.cause.to_string(),
                    mode,
                    hold.placed_at.to_string(),
                    hold.refusals.to_string(),
                    format!("{} service(s)", hold.covers.len()),
                ]
            })
            .collect();
        out.push_str(&table(&["HOLD", "CAUSE", "MODE", "PLACED", "REFUSED", "COVERS"], &rows));
    }

    if !view.incidents.is_empty() {
        out.push_str("\nINCIDENTS\n");
        let rows: Vec<Vec<String>> = view
            .incidents
            .iter()
            .map(|(name, incident)| {
                let controls = match &incident.controls {
                    None => "-".to_owned(),
                    Some(controls) if controls.met => "controls met".to_owned(),
                    Some(controls) => {
                        let mut missing = Vec::new();
                        let unrotated: Vec<&str> = controls
                            .keys_rotated
                            .0
                            .iter()
                            .filter(|(_, at)| at.is_none())
                            .map(|(asset, _)| asset.as_str())
                            .collect();
                        if !unrotated.is_empty() {
                            missing.push(format!("keys of {}", unrotated.join("/")));
                        }
                        if controls.review_passed_at.is_none() {
                            missing.push("review".to_owned());
                        }
                        for role in &controls.approvals_missing {
                            missing.push(format!("approval:{role}"));
                        }
                        let mut parts = Vec::new();
                        if !missing.is_empty() {
                            parts.push(format!("missing {}", missing.join(", ")));
                        }
                        if !controls.held_back_by.is_empty() {
                            parts.push(format!("withdrawals wait for {}", controls.held_back_by.join(", ")));
                        }
                        parts.join("; ")
                    }
                };
                vec![
                    name.clone(),
                    incident.category.name().to_owned(),
                    incident.status.name().to_owned(),
                    incident.opened_at.to_string(),
                    controls,
                ]
            })
            .collect();
        out.push_str(&table(&["INCIDENT", "CATEGORY", "STATUS", "OPENED", "CONTROLS"], &rows));
    }

    if !view.ledger.0.is_empty() {
        out.push_str("\nLEDGER (minor units)\n");
        let rows: Vec<Vec<String>> = view
            .ledger
            .0
            .iter()
            .map(|(asset, entry)| {
                vec![
                    asset.clone(),
                    entry.liabilities_minor.to_string(),
                    entry.hot_minor.to_string(),
                    entry.cold_minor.to_string(),
                    entry.solvency.clone(),
                    entry.stolen_minor.to_string(),
                    entry.refunds_paid_minor.to_string(),
                    format!("{} ({})", entry.withdrawal_backlog_minor, entry.withdrawal_backlog_count),
                ]
            })
            .collect();
        out.push_str(&table(
            &["ASSET", "LIABILITIES", "HOT", "COLD", "SOLVENCY", "STOLEN", "REFUNDED", "QUEUED (COUNT)"],
            &rows,
        ));
    }

    if !view.impact.services.0.is_empty() {
        let _ = writeln!(out, "\nCUSTOMER OPERATIONS ({} customers affected)", view.impact.customers_affected);
        let rows: Vec<Vec<String>> = view
            .impact
            .services
            .0
            .iter()
            .map(|(name, impact)| {
                vec![name.clone(), impact.accepted.to_string(), impact.refused.to_string(), impact.queued.to_string()]
            })
            .collect();
        out.push_str(&table(&["SERVICE", "ACCEPTED", "REFUSED", "QUEUED"], &rows));
    }

    if !view.phases.is_empty() {
        out.push_str("\nPHASES (phase_opened markers)\n");
        let rows: Vec<Vec<String>> = view
            .phases
            .iter()
            .map(|marker| vec![marker.phase.clone(), marker.at.to_string(), marker.seq.to_string()])
            .collect();
        out.push_str(&table(&["PHASE", "OPENED", "SEQ"], &rows));
    }
    let events = &view.events;
    let _ = writeln!(
        out,
        "\nevents: {} applied, {} rejected, {} duplicates ({} customer operations)",
        events.applied, events.rejected, events.duplicates, events.customer_operations
    );
    out
}

/// The timeline as a table, one row per interval.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}"#;
/// # let lines = exops_jsonl::parse_str("tiny.jsonl", log).unwrap();
/// # let replay = exops_replay::replay_until(lines.into_iter().map(Ok::<_, ()>), exops_replay::Point::End).unwrap();
/// let table = exops_replay::render_timeline_table(&replay.finished_timeline());
/// assert!(table.lines().any(|line| line.starts_with("login ") && line.contains("maint")), "{table}");
/// ```
pub fn render_timeline_table(timeline: &Timeline) -> String {
    let mut rows = Vec::new();
    for entry in &timeline.services {
        for interval in &entry.intervals {
            let mut mode = interval.mode.to_string();
            if let Some(cap) = interval.max_order_notional_minor {
                let _ = write!(mode, " (cap {cap})");
            }
            rows.push(vec![
                entry.service.clone(),
                mode,
                interval.from.to_string(),
                interval.to.map_or_else(|| "…".to_owned(), |to| to.to_string()),
                match &interval.held_by {
                    Some(hold) => hold.clone(),
                    None if interval.closed_by_cessation() => "(venue ceased)".to_owned(),
                    None => "-".to_owned(),
                },
                or_dash(&interval.holds),
            ]);
        }
    }
    table(&["SERVICE", "MODE", "FROM", "TO", "HELD BY", "HOLDS"], &rows)
}

/// An interval's bar label: the mode and cap, what sets the mode, then the other holds
/// covering the service (`closed by crypto-transfers-suspended + all-services-suspended`,
/// `online cap 1000000 under spot-order-size-caps`, `halted (venue ceased) under site-down`).
fn mermaid_label(interval: &Interval) -> String {
    let mut label = interval.mode.to_string();
    if let Some(cap) = interval.max_order_notional_minor {
        let _ = write!(label, " cap {cap}");
    }
    match &interval.held_by {
        Some(hold) => {
            let _ = write!(label, " by {hold}");
        }
        None if interval.closed_by_cessation() => label.push_str(" (venue ceased)"),
        None => {}
    }
    let others: Vec<&str> =
        interval.holds.iter().map(String::as_str).filter(|hold| Some(*hold) != interval.held_by.as_deref()).collect();
    if !others.is_empty() {
        let joiner = if interval.held_by.is_some() { " + " } else { " under " };
        let _ = write!(label, "{joiner}{}", others.join(" + "));
    }
    mermaid_text(&label)
}

/// Mermaid's gantt grammar ends a task name at `:` and a line at `#` or `;`.
fn mermaid_text(text: &str) -> String {
    text.replace([':', '#', ';'], " ")
}

/// `YYYY-MM-DD HH:mm` in UTC, matching the block's `dateFormat`.
fn mermaid_instant(at: Timestamp) -> String {
    let text = at.to_string();
    format!("{} {}", &text[..10], &text[11..16])
}

/// A Mermaid `gantt` block: one section per service, one bar per interval, labelled with
/// its mode and holds; restricted modes are `active`, fully closed ones `crit`. Times are
/// UTC.
///
/// ```
/// # let log = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
/// # {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"maint","cause":"maintenance","services":["login"]}"#;
/// # let lines = exops_jsonl::parse_str("tiny.jsonl", log).unwrap();
/// # let replay = exops_replay::replay_until(lines.into_iter().map(Ok::<_, ()>), exops_replay::Point::End).unwrap();
/// let mermaid = exops_replay::render_timeline_mermaid(&replay.finished_timeline());
/// assert!(mermaid.starts_with("gantt\n"), "{mermaid}");
/// ```
pub fn render_timeline_mermaid(timeline: &Timeline) -> String {
    let mut out = String::from("gantt\n");
    let title = timeline.venue.as_deref().map_or_else(|| "exops".to_owned(), mermaid_text);
    let _ = writeln!(out, "    title {title} service modes (UTC)");
    out.push_str("    dateFormat YYYY-MM-DD HH:mm\n    axisFormat %Y-%m-%d\n");
    let Some(end) = timeline.end else { return out };
    let mut task = 0_usize;
    for entry in &timeline.services {
        let _ = writeln!(out, "    section {}", mermaid_text(&entry.service));
        for interval in &entry.intervals {
            // A change made by the last event still gets a visible (one-minute) bar.
            let to = match interval.to {
                Some(to) => to,
                None if end > interval.from => end,
                None => Timestamp::from_unix_micros(interval.from.unix_micros().saturating_add(60_000_000)),
            };
            if to <= interval.from {
                continue;
            }
            let tag = match interval.mode {
                Mode::Online | Mode::Open => "",
                Mode::Halted | Mode::Closed => "crit, ",
                _ => "active, ",
            };
            let label = mermaid_label(interval);
            let _ =
                writeln!(out, "    {label} :{tag}t{task}, {}, {}", mermaid_instant(interval.from), mermaid_instant(to));
            task += 1;
        }
    }
    out
}

/// Why a value could not be rendered as YAML (a map with keys that are not strings, or
/// a `Serialize` implementation that failed).
#[derive(Debug, thiserror::Error)]
#[error("cannot render YAML: {0}")]
pub struct YamlError(#[from] serde_norway::Error);

/// The one YAML rendering of exops outputs: what `exops replay --format yaml` prints and
/// what exops-testkit snapshots, so the two are the same text for the same state. Keys
/// keep the order the value serialises them in; strings are quoted only where YAML needs
/// it (instants are not: `at: 2019-08-06T14:24:27Z`, where insta's own YAML writer would
/// quote them, which is why snapshots are taken of this text); the text ends with a
/// newline.
///
/// ```
/// use exops_core::State;
/// let yaml = exops_replay::render_yaml(&State::new().view()).unwrap();
/// assert!(yaml.starts_with("seq: 0\nat: null\nvenue: undeclared\n"), "{yaml}");
/// ```
pub fn render_yaml(value: &impl serde::Serialize) -> Result<String, YamlError> {
    Ok(serde_norway::to_string(value)?)
}
