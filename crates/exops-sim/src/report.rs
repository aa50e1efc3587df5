//! A self-contained HTML report of one simulation, for people who will not read JSON: a
//! header, the key metrics, a Gantt chart of every service's modes, the withdrawal
//! backlog, the refusals per day and the tables behind them.
//!
//! The file needs nothing but a browser: styles are inline, charts are inline SVG, there
//! is no script and no reference to anything outside the file. The same metrics and
//! timeline always give the same bytes: nothing here reads a clock or iterates a hash map,
//! and chart coordinates are whole pixels computed with integer arithmetic.

use std::fmt::Write;

use exops_core::{Mode, Timestamp};
use exops_replay::{Interval, Timeline};

use crate::metrics::{Metrics, Milestone};

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;
const MINUTE_MICROS: i64 = 60_000_000;

/// Width of every chart, in SVG user units; the charts share their time axis.
const CHART_WIDTH: i64 = 1200;
const RIGHT_MARGIN: i64 = 24;

const GREEN: &str = "#2e9d5b";
const AMBER: &str = "#f0a020";
const RED: &str = "#d8423a";
const MUTED: &str = "#66727f";
const GRID: &str = "#e3e7eb";
const PHASE: &str = "#3b4a8c";

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The whole report as one HTML document titled `title`.
pub fn html(title: &str, metrics: &Metrics, timeline: &Timeline) -> String {
    let axis = Axis::new(metrics, timeline);
    let mut out = String::with_capacity(96 * 1024);
    head(&mut out, title);
    header(&mut out, title, metrics, timeline);
    summary(&mut out, metrics);
    gantt(&mut out, metrics, timeline, &axis);
    backlog_chart(&mut out, metrics, &axis);
    refusals_chart(&mut out, metrics, &axis);
    services_table(&mut out, metrics);
    phases_table(&mut out, metrics);
    violations(&mut out, metrics);
    scenario_rejections(&mut out, metrics);
    out.push_str(
        "<footer>Simulated with exops-sim. All times are UTC. Amounts are in minor units of each asset. \
         This file is self-contained: it loads nothing from the network.</footer>\n</main>\n</body>\n</html>\n",
    );
    out
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Formatting helpers.

/// `1234567` as `1,234,567`.
fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn grouped_signed(value: i64) -> String {
    if value < 0 { format!("-{}", grouped(value.unsigned_abs())) } else { grouped(value.unsigned_abs()) }
}

/// `part` as a share of `whole`, to one decimal place, from integers.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn month_name(month: u32) -> &'static str {
    MONTHS[(month.clamp(1, 12) - 1) as usize]
}

/// `2019-07-11 13:12 UTC`.
fn instant(at: Timestamp) -> String {
    let micros = at.unix_micros();
    let (year, month, day) = civil(micros.div_euclid(DAY_MICROS));
    let of_day = micros.rem_euclid(DAY_MICROS);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", of_day / HOUR_MICROS, of_day % HOUR_MICROS / MINUTE_MICROS)
}

/// `Jul 11`.
fn day_label(micros: i64) -> String {
    let (_, month, day) = civil(micros.div_euclid(DAY_MICROS));
    format!("{} {day}", month_name(month))
}

/// `Jul 11 13:12`.
fn day_time_label(micros: i64) -> String {
    let of_day = micros.rem_euclid(DAY_MICROS);
    format!("{} {:02}:{:02}", day_label(micros), of_day / HOUR_MICROS, of_day % HOUR_MICROS / MINUTE_MICROS)
}

fn milestone(milestone: Option<&Milestone>) -> String {
    let Some(milestone) = milestone else {
        return "<span class=\"never\">never</span> (not reached by the end of the period)".to_owned();
    };
    match milestone.hours_after_incident {
        Some(hours) => {
            let tenths_of_days = (u128::from(hours) * 10 + 12) / 24;
            format!(
                "<strong>{} h</strong> after the incident (≈ {}.{} days), from {}",
                grouped(hours),
                tenths_of_days / 10,
                tenths_of_days % 10,
                escape(&instant(milestone.at))
            )
        }
        None => format!("from {}", escape(&instant(milestone.at))),
    }
}

/// Approximate rendered width of `text` at the chart's label size (11px sans-serif).
fn text_width(text: &str, per_char_tenths: i64) -> i64 {
    (text.chars().count() as i64 * per_char_tenths + 9) / 10
}

// ---------------------------------------------------------------------------------------
// Modes and colours.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Severity {
    Open,
    Restricted,
    Closed,
}

impl Severity {
    fn of_mode(mode: Mode) -> Severity {
        match mode {
            Mode::Online | Mode::Open => Severity::Open,
            Mode::Halted | Mode::Closed => Severity::Closed,
            Mode::LimitOnly | Mode::PostOnly | Mode::CancelOnly | Mode::Delayed | Mode::CloseOnly | Mode::ReadOnly => {
                Severity::Restricted
            }
        }
    }

    fn of_interval(interval: &Interval) -> Severity {
        match Severity::of_mode(interval.mode) {
            Severity::Open if interval.max_order_notional_minor.is_some() => Severity::Restricted,
            severity => severity,
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Severity::Open => GREEN,
            Severity::Restricted => AMBER,
            Severity::Closed => RED,
        }
    }

    fn class(self) -> &'static str {
        match self {
            Severity::Open => "open",
            Severity::Restricted => "restricted",
            Severity::Closed => "closed",
        }
    }
}

fn mode_chip(mode: Mode) -> String {
    format!("<span class=\"chip {}\">{}</span>", Severity::of_mode(mode).class(), mode.name())
}

// ---------------------------------------------------------------------------------------
// The shared time axis.

#[derive(Debug)]
struct Axis {
    start: i64,
    end: i64,
    /// Left edge of the plotting area (after the row labels).
    left: i64,
    /// Width of the plotting area.
    width: i64,
}

impl Axis {
    fn new(metrics: &Metrics, timeline: &Timeline) -> Axis {
        let start = metrics.start.unix_micros();
        let end = metrics.end.unix_micros().max(start.saturating_add(HOUR_MICROS));
        // Row labels are monospace, about 7.2 units a character at 12px.
        let longest = timeline.services.iter().map(|entry| entry.service.chars().count()).max().unwrap_or(0) as i64;
        let left = ((longest * 72 + 9) / 10 + 28).clamp(120, 320);
        Axis { start, end, left, width: CHART_WIDTH - left - RIGHT_MARGIN }
    }

    /// The x coordinate of an instant, clamped to the plotting area.
    fn x_micros(&self, micros: i64) -> i64 {
        let offset = i128::from(micros.clamp(self.start, self.end) - self.start);
        let span = i128::from(self.end - self.start);
        self.left + (offset * i128::from(self.width) / span) as i64
    }

    fn x(&self, at: Timestamp) -> i64 {
        self.x_micros(at.unix_micros())
    }

    fn right(&self) -> i64 {
        self.left + self.width
    }

    /// Gridline positions and their labels (`None` where a label would collide).
    fn ticks(&self) -> Vec<(i64, Option<String>)> {
        let span_days = (self.end - self.start) / DAY_MICROS;
        let mut instants: Vec<(i64, String)> = Vec::new();
        if span_days < 3 {
            let step = if span_days < 1 { 3 * HOUR_MICROS } else { 6 * HOUR_MICROS };
            let mut at = self.start.div_euclid(step) * step;
            while at <= self.end {
                if at >= self.start {
                    instants.push((at, day_time_label(at)));
                }
                at += step;
            }
        } else {
            let keep = |day_index: i64, month: u32, day: u32| -> bool {
                match span_days {
                    0..=16 => true,
                    17..=35 => day_index.rem_euclid(2) == 0,
                    36..=80 => matches!(day, 1 | 8 | 15 | 22),
                    81..=220 => matches!(day, 1 | 15),
                    221..=600 => day == 1,
                    601..=2200 => day == 1 && matches!(month, 1 | 4 | 7 | 10),
                    _ => day == 1 && month == 1,
                }
            };
            let first = self.start.div_euclid(DAY_MICROS) + i64::from(self.start.rem_euclid(DAY_MICROS) != 0);
            let last = self.end.div_euclid(DAY_MICROS);
            for day_index in first..=last {
                let (year, month, day) = civil(day_index);
                if keep(day_index, month, day) {
                    let label = if span_days > 600 && month == 1 {
                        format!("{year}")
                    } else {
                        format!("{} {day}", month_name(month))
                    };
                    instants.push((day_index * DAY_MICROS, label));
                }
            }
        }
        let mut ticks = Vec::with_capacity(instants.len());
        let mut free_from = i64::MIN;
        for (at, label) in instants {
            let x = self.x_micros(at);
            let half = text_width(&label, 62) / 2;
            if x - half >= free_from && x + half <= self.right() + RIGHT_MARGIN {
                free_from = x + half + 8;
                ticks.push((x, Some(label)));
            } else {
                ticks.push((x, None));
            }
        }
        ticks
    }

    /// Vertical gridlines from `top` to `bottom` and tick labels under `bottom`.
    fn draw(&self, out: &mut String, top: i64, bottom: i64) {
        for (x, label) in self.ticks() {
            let _ = writeln!(out, "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{GRID}\"/>");
            let _ =
                writeln!(out, "<line x1=\"{x}\" y1=\"{bottom}\" x2=\"{x}\" y2=\"{}\" stroke=\"{MUTED}\"/>", bottom + 4);
            if let Some(label) = label {
                let _ = writeln!(
                    out,
                    "<text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    bottom + 17,
                    escape(&label)
                );
            }
        }
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"{MUTED}\"/>",
            self.left,
            self.right()
        );
    }

    fn caption(&self) -> String {
        format!(
            "Time axis: {} to {} (UTC).",
            instant(Timestamp::from_unix_micros(self.start)),
            instant(Timestamp::from_unix_micros(self.end))
        )
    }
}

/// A "nice" axis maximum and step for values up to `max`: 1, 2 or 5 times a power of ten.
fn nice_scale(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let raw = max.div_ceil(5);
    let mut power = 1_u64;
    loop {
        for factor in [1, 2, 5] {
            let step = power.saturating_mul(factor);
            if step >= raw {
                return (step.saturating_mul(max.div_ceil(step)), step);
            }
        }
        power = power.saturating_mul(10);
    }
}

/// The y coordinate of `value` on a scale from 0 at `bottom` to `max` at `top`.
fn y_of(value: u64, max: u64, top: i64, bottom: i64) -> i64 {
    let height = i128::from(bottom - top);
    bottom - (i128::from(value.min(max)) * height / i128::from(max.max(1))) as i64
}

fn y_axis(out: &mut String, axis: &Axis, title: &str, max: u64, step: u64, top: i64, bottom: i64) {
    let _ = writeln!(
        out,
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        axis.left - 8,
        top - 14,
        escape(title)
    );
    let mut value = 0;
    while value <= max {
        let y = y_of(value, max, top, bottom);
        if value > 0 {
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{GRID}\"/>",
                axis.left,
                axis.right()
            );
        }
        let _ = writeln!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            axis.left - 8,
            y + 4,
            grouped(value)
        );
        value += step.max(1);
    }
    let _ = writeln!(
        out,
        "<line x1=\"{}\" y1=\"{top}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"{MUTED}\"/>",
        axis.left, axis.left
    );
}

fn svg_open(out: &mut String, height: i64, label: &str) {
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {CHART_WIDTH} {height}\" width=\"{CHART_WIDTH}\" \
         height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        escape(label)
    );
}

// ---------------------------------------------------------------------------------------
// Sections.

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{}</style>\n\
         </head>\n<body>\n<main>\n",
        escape(title),
        STYLE
    );
}

const STYLE: &str = "\
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f8; color: #1f2933; font: 14px/1.45 system-ui, -apple-system, \"Segoe UI\", Roboto, \"Liberation Sans\", \"DejaVu Sans\", Arial, sans-serif; }
main { max-width: 1260px; margin: 0 auto; padding: 24px 30px 40px; }
header { border-bottom: 3px solid #1f2933; padding-bottom: 12px; margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 30px 0 8px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0 0; color: #3e4c59; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; }
section { background: #fff; border: 1px solid #d9dee3; border-radius: 6px; padding: 12px 18px 16px; margin-top: 18px; }
section h2 { margin-top: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e3e7eb; vertical-align: baseline; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #52606d; background: #f7f9fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { width: 30%; text-transform: none; letter-spacing: 0; font-size: 14px; color: #1f2933; background: none; font-weight: 600; }
code, .mono { font-family: ui-monospace, \"DejaVu Sans Mono\", \"Liberation Mono\", Menlo, Consolas, monospace; font-size: 13px; }
.chip { display: inline-block; padding: 0 8px; border-radius: 9px; font-size: 12px; font-weight: 600; color: #fff; }
.chip.open { background: #2e9d5b; }
.chip.restricted { background: #f0a020; color: #1f2933; }
.chip.closed { background: #d8423a; }
.never { color: #b3261e; font-weight: 700; }
.bad { color: #b3261e; font-weight: 700; }
.good { color: #1e7a43; font-weight: 700; }
.note { color: #66727f; font-size: 12px; margin: 6px 0 0; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, \"Segoe UI\", Roboto, \"Liberation Sans\", \"DejaVu Sans\", Arial, sans-serif; font-size: 11px; fill: #1f2933; }
svg text.row { font-family: ui-monospace, \"DejaVu Sans Mono\", \"Liberation Mono\", Menlo, Consolas, monospace; font-size: 12px; }
svg text.tick { fill: #52606d; }
svg text.phase { fill: #3b4a8c; font-weight: 600; }
svg text.incident { fill: #b3261e; font-weight: 700; }
svg text.peak { fill: #7a3e00; font-weight: 700; }
tr.violation td { background: #fdecea; color: #8a1c14; }
.violations { border-color: #e5a19b; background: #fff7f6; }
.violations.none { border-color: #d9dee3; background: #fff; }
footer { margin-top: 26px; color: #66727f; font-size: 12px; }
@media print { body { background: #fff; } section { break-inside: avoid; border-color: #bbb; } }
";

fn header(out: &mut String, title: &str, metrics: &Metrics, timeline: &Timeline) {
    let _ = writeln!(out, "<header>\n<h1>{}</h1>\n<dl class=\"meta\">", escape(title));
    let mut row = |term: &str, value: String| {
        let _ = writeln!(out, "<dt>{term}</dt><dd>{value}</dd>");
    };
    row("Scenario", escape(&metrics.scenario));
    row("Plan", escape(&metrics.plan));
    if let Some(venue) = &timeline.venue {
        row("Venue", escape(venue));
    }
    row("Seed", metrics.seed.to_string());
    let days = metrics.end.micros_since(metrics.start).max(0) / DAY_MICROS;
    row("Period", format!("{} to {} ({days} days)", escape(&instant(metrics.start)), escape(&instant(metrics.end))));
    row("Incident", metrics.incident_at.map_or_else(|| "none recorded".to_owned(), |at| escape(&instant(at))));
    out.push_str("</dl>\n</header>\n");
}

fn summary(out: &mut String, metrics: &Metrics) {
    out.push_str("<section class=\"summary\">\n<h2>Key metrics</h2>\n<table class=\"summary\">\n");
    let mut row = |term: &str, value: String| {
        let _ = writeln!(out, "<tr><th scope=\"row\">{term}</th><td>{value}</td></tr>");
    };
    let requests = &metrics.requests;
    let total = requests.accepted + requests.refused + requests.queued;
    row("Customers affected", format!("<strong>{}</strong>", grouped(metrics.customers_affected)));
    row(
        "Customer requests",
        format!(
            "{} in all: <span class=\"good\">{}</span> accepted ({}), <span class=\"bad\">{}</span> refused ({}), {} queued ({})",
            grouped(total),
            grouped(requests.accepted),
            percent(requests.accepted, total),
            grouped(requests.refused),
            percent(requests.refused, total),
            grouped(requests.queued),
            percent(requests.queued, total)
        ),
    );
    row(
        "Withdrawal backlog peak",
        match metrics.withdrawal_backlog_peak_at {
            Some(at) if metrics.withdrawal_backlog_peak > 0 => format!(
                "<strong>{}</strong> queued withdrawals, at {}",
                grouped(metrics.withdrawal_backlog_peak),
                escape(&instant(at))
            ),
            _ => "no withdrawal was ever queued".to_owned(),
        },
    );
    row("Existing customers served", milestone(metrics.recovery.existing_customers_served.as_ref()));
    row("Full service", milestone(metrics.recovery.full_service.as_ref()));
    row("Sign-ups open", milestone(metrics.recovery.signups_open.as_ref()));
    let refunds: Vec<String> = metrics
        .refunds_paid_minor
        .0
        .iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(asset, amount)| format!("{} <span class=\"mono\">{}</span>", grouped_signed(*amount), escape(asset)))
        .collect();
    row(
        "Paid to customers: refunds, converted claims (minor units)",
        if refunds.is_empty() { "none".to_owned() } else { refunds.join(", ") },
    );
    let count = metrics.violations.len();
    row(
        "Control violations",
        if count == 0 {
            "<span class=\"good\">0</span>".to_owned()
        } else {
            format!("<span class=\"bad\">{count}</span> (listed below)")
        },
    );
    row(
        "Phases never opened",
        if metrics.phases_never_opened.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "<span class=\"bad\">{}</span>",
                metrics.phases_never_opened.iter().map(|id| escape(id)).collect::<Vec<_>>().join(", ")
            )
        },
    );
    out.push_str("</table>\n</section>\n");
}

/// A labelled vertical marker above the Gantt chart.
#[derive(Debug)]
struct Marker {
    x: i64,
    label: String,
    tooltip: String,
    incident: bool,
}

/// Spreads marker labels over lanes so that no label overlaps another label or crosses
/// another marker's line (a line runs from its label down through every lower lane).
/// Returns each marker's lane and whether its label sits left of its line, and the number
/// of lanes.
fn lanes(markers: &[Marker], right: i64) -> (Vec<(usize, bool)>, usize) {
    const GAP: i64 = 6;
    // (lane, from, to) of each placed label and (lane, x) of each placed line.
    let mut labels: Vec<(usize, i64, i64)> = Vec::new();
    let mut lines: Vec<(usize, i64)> = Vec::new();
    let mut lane_count = 0;
    let mut placed = Vec::with_capacity(markers.len());
    for marker in markers {
        let width = text_width(&marker.label, 62) + 4;
        let leftward = marker.x + width > right;
        let (from, to) = if leftward { (marker.x - width, marker.x) } else { (marker.x, marker.x + width) };
        let fits = |lane: usize| {
            let label_free = labels.iter().all(|(other, other_from, other_to)| {
                *other != lane || *other_to + GAP <= from || to + GAP <= *other_from
            });
            let not_crossed = lines.iter().all(|(other, x)| *other >= lane || *x + 2 < from || to + 2 < *x);
            let crosses_nothing = labels.iter().all(|(other, other_from, other_to)| {
                *other <= lane || marker.x + 2 < *other_from || *other_to + 2 < marker.x
            });
            label_free && not_crossed && crosses_nothing
        };
        let lane = (0..=lane_count).find(|lane| fits(*lane)).unwrap_or(lane_count);
        lane_count = lane_count.max(lane + 1);
        labels.push((lane, from, to));
        lines.push((lane, marker.x));
        placed.push((lane, leftward));
    }
    (placed, lane_count)
}

fn gantt(out: &mut String, metrics: &Metrics, timeline: &Timeline, axis: &Axis) {
    out.push_str("<section class=\"gantt\">\n<h2>Service modes over time</h2>\n");
    if timeline.services.is_empty() {
        out.push_str("<p class=\"note\">The timeline has no services.</p>\n</section>\n");
        return;
    }
    // Markers: the incident, then each phase that opened inside the period; phases opening
    // at one instant share a marker.
    let mut markers: Vec<Marker> = Vec::new();
    if let Some(at) = metrics.incident_at.filter(|at| *at >= metrics.start && *at <= metrics.end) {
        markers.push(Marker {
            x: axis.x(at),
            label: "incident".to_owned(),
            tooltip: format!("Incident opened at {at}"),
            incident: true,
        });
    }
    let mut opened: Vec<(Timestamp, &str, String)> = metrics
        .phases
        .iter()
        .filter_map(|phase| {
            let at = phase.opened_at.filter(|at| *at >= metrics.start && *at <= metrics.end)?;
            let title = phase.title.as_deref().map_or_else(String::new, |title| format!(": {title}"));
            Some((at, phase.id.as_str(), format!("Phase {}{title}, opened at {at}", phase.id)))
        })
        .collect();
    opened.sort_by_key(|(at, _, _)| *at);
    for (at, id, tooltip) in opened {
        let x = axis.x(at);
        match markers.last_mut() {
            Some(last) if !last.incident && last.x == x => {
                last.label.push_str(", ");
                last.label.push_str(id);
                last.tooltip.push('\n');
                last.tooltip.push_str(&tooltip);
            }
            _ => markers.push(Marker { x, label: id.to_owned(), tooltip, incident: false }),
        }
    }
    markers.sort_by_key(|marker| marker.x);
    let (placement, lane_count) = lanes(&markers, axis.right() + RIGHT_MARGIN);

    const LANE: i64 = 15;
    const ROW: i64 = 22;
    const BAR: i64 = 16;
    let rows_top = 8 + lane_count as i64 * LANE + 6;
    let rows_bottom = rows_top + timeline.services.len() as i64 * ROW;
    let legend_y = rows_bottom + 44;
    let height = legend_y + 16;
    svg_open(out, height, "Gantt chart of service modes over time");

    // Row backgrounds and labels.
    for (index, entry) in timeline.services.iter().enumerate() {
        let y = rows_top + index as i64 * ROW;
        if index % 2 == 1 {
            let _ =
                writeln!(out, "<rect x=\"0\" y=\"{y}\" width=\"{}\" height=\"{ROW}\" fill=\"#f5f7f9\"/>", axis.right());
        }
        let _ = writeln!(
            out,
            "<text class=\"row\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            axis.left - 10,
            y + ROW / 2 + 4,
            escape(&entry.service)
        );
    }
    axis.draw(out, rows_top, rows_bottom);

    // One bar per interval, clipped to the period.
    let end = metrics.end;
    for (index, entry) in timeline.services.iter().enumerate() {
        let y = rows_top + index as i64 * ROW + (ROW - BAR) / 2;
        for interval in &entry.intervals {
            let to = interval.to.unwrap_or(end).min(end);
            let from = interval.from.max(metrics.start);
            if to < from || (to == from && interval.to.is_some()) {
                continue;
            }
            let (x0, x1) = (axis.x(from), axis.x(to));
            let width = (x1 - x0).max(1);
            let severity = Severity::of_interval(interval);
            let mut mode = interval.mode.name().to_owned();
            if let Some(cap) = interval.max_order_notional_minor {
                let _ = write!(mode, " (order cap {})", grouped_signed(cap));
            }
            let held_by = match &interval.held_by {
                Some(hold) => hold.as_str(),
                None if interval.closed_by_cessation() => "none (the venue ceased)",
                None => "none",
            };
            let holds = if interval.holds.is_empty() { "none".to_owned() } else { interval.holds.join(", ") };
            let until = interval.to.map_or_else(|| "end of the period".to_owned(), |to| to.to_string());
            let tooltip = format!(
                "{}: {mode}\nfrom {}\nto {until}\nheld by: {held_by}\nholds: {holds}",
                entry.service, interval.from
            );
            let _ = writeln!(
                out,
                "<rect class=\"{}\" x=\"{x0}\" y=\"{y}\" width=\"{width}\" height=\"{BAR}\" fill=\"{}\"><title>{}</title></rect>",
                severity.class(),
                severity.colour(),
                escape(&tooltip)
            );
        }
    }

    // Markers over the bars, labels in lanes above them.
    for (marker, (lane, leftward)) in markers.iter().zip(&placement) {
        let label_y = 8 + *lane as i64 * LANE + 11;
        let (colour, class, dash) =
            if marker.incident { (RED, "incident", "") } else { (PHASE, "phase", " stroke-dasharray=\"4 3\"") };
        let x = marker.x;
        let _ = writeln!(
            out,
            "<g><title>{}</title><line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{rows_bottom}\" stroke=\"{colour}\" \
             stroke-width=\"1.5\"{dash}/>",
            escape(&marker.tooltip),
            label_y - 10
        );
        let (text_x, anchor) = if *leftward { (x - 3, "end") } else { (x + 3, "start") };
        let _ = writeln!(
            out,
            "<text class=\"{class}\" x=\"{text_x}\" y=\"{label_y}\" text-anchor=\"{anchor}\">{}</text></g>",
            escape(&marker.label)
        );
    }

    // Legend.
    let items: [(&str, &str); 3] = [
        (GREEN, "fully open"),
        (AMBER, "restricted: limit/post/cancel only, delayed, close-only, read-only, or order cap"),
        (RED, "halted / closed"),
    ];
    let mut x = axis.left;
    for (colour, label) in items {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"{legend_y}\">{}</text>",
            legend_y - 10,
            x + 19,
            escape(label)
        );
        x += 19 + text_width(label, 54) + 20;
    }
    let _ = writeln!(
        out,
        "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{PHASE}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{}\" y=\"{legend_y}\">phase opened</text>",
        legend_y - 11,
        legend_y + 3,
        x + 6
    );
    x += 6 + text_width("phase opened", 54) + 20;
    let _ = writeln!(
        out,
        "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{RED}\" stroke-width=\"1.5\"/>\
         <text x=\"{}\" y=\"{legend_y}\">incident</text>",
        legend_y - 11,
        legend_y + 3,
        x + 6
    );
    out.push_str("</svg>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">{} Hover a bar for its mode, dates and holds, a marker for its phase.</p>\n</section>",
        escape(&axis.caption())
    );
}

fn backlog_chart(out: &mut String, metrics: &Metrics, axis: &Axis) {
    out.push_str("<section class=\"backlog\">\n<h2>Withdrawal backlog</h2>\n");
    if metrics.withdrawal_backlog.is_empty() {
        out.push_str("<p class=\"note\">No daily backlog samples.</p>\n</section>\n");
        return;
    }
    let highest = metrics.withdrawal_backlog.iter().map(|sample| sample.queued).max().unwrap_or(0);
    let (max, step) = nice_scale(highest.max(metrics.withdrawal_backlog_peak));
    let (top, bottom) = (26, 206);
    let height = bottom + 26;
    svg_open(out, height, "Withdrawal backlog over time");
    y_axis(out, axis, "queued", max, step, top, bottom);
    axis.draw(out, top, bottom);
    let points: Vec<(i64, i64)> = metrics
        .withdrawal_backlog
        .iter()
        .map(|sample| (axis.x(sample.at), y_of(sample.queued, max, top, bottom)))
        .collect();
    let line: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
    let (first_x, last_x) = (points[0].0, points[points.len() - 1].0);
    let _ = writeln!(
        out,
        "<polygon points=\"{first_x},{bottom} {} {last_x},{bottom}\" fill=\"#f0a020\" fill-opacity=\"0.18\"/>",
        line.join(" ")
    );
    let _ = writeln!(
        out,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#c77700\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
        line.join(" ")
    );
    // Daily points carry their value as a tooltip.
    for (sample, (x, y)) in metrics.withdrawal_backlog.iter().zip(&points) {
        let _ = writeln!(
            out,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"#c77700\" fill-opacity=\"0.01\"><title>{}: {} queued</title></circle>",
            escape(&instant(sample.at)),
            grouped(sample.queued)
        );
    }
    if let Some(at) = metrics.withdrawal_backlog_peak_at.filter(|_| metrics.withdrawal_backlog_peak > 0) {
        let (x, y) = (axis.x(at), y_of(metrics.withdrawal_backlog_peak, max, top, bottom));
        let label =
            format!("peak {} at {}", grouped(metrics.withdrawal_backlog_peak), day_time_label(at.unix_micros()));
        let leftward = x + text_width(&label, 66) + 10 > axis.right();
        let (text_x, anchor) = if leftward { (x - 8, "end") } else { (x + 8, "start") };
        let _ = writeln!(
            out,
            "<g><title>Highest backlog: {} queued withdrawals at {at}</title>\
             <circle cx=\"{x}\" cy=\"{y}\" r=\"5\" fill=\"{RED}\" stroke=\"#fff\" stroke-width=\"1.5\"/>\
             <text class=\"peak\" x=\"{text_x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text></g>",
            grouped(metrics.withdrawal_backlog_peak),
            (y - 6).max(top - 12) + 4,
            escape(&label)
        );
    }
    out.push_str("</svg>\n");
    out.push_str(
        "<p class=\"note\">Queued withdrawals across every asset at the end of each day; the red dot is the \
         highest backlog at any instant.</p>\n</section>\n",
    );
}

fn refusals_chart(out: &mut String, metrics: &Metrics, axis: &Axis) {
    out.push_str("<section class=\"refusals\">\n<h2>Refused requests per day</h2>\n");
    if metrics.refused_per_day.is_empty() {
        out.push_str("<p class=\"note\">No daily counts.</p>\n</section>\n");
        return;
    }
    let highest = metrics.refused_per_day.iter().map(|day| day.refused).max().unwrap_or(0);
    let (max, step) = nice_scale(highest);
    let (top, bottom) = (26, 206);
    let height = bottom + 26;
    svg_open(out, height, "Refused customer requests per day");
    y_axis(out, axis, "refused", max, step, top, bottom);
    axis.draw(out, top, bottom);
    let end = metrics.end.unix_micros();
    for (index, day) in metrics.refused_per_day.iter().enumerate() {
        if day.refused == 0 {
            continue;
        }
        let from = day.day_start.unix_micros();
        let to = metrics
            .refused_per_day
            .get(index + 1)
            .map_or_else(|| from.saturating_add(DAY_MICROS).min(end), |next| next.day_start.unix_micros());
        let (x0, x1) = (axis.x_micros(from), axis.x_micros(to));
        let width = if x1 - x0 > 2 { x1 - x0 - 1 } else { (x1 - x0).max(1) };
        let y = y_of(day.refused, max, top, bottom);
        let _ = writeln!(
            out,
            "<rect x=\"{x0}\" y=\"{y}\" width=\"{width}\" height=\"{}\" fill=\"{RED}\"><title>{}: {} refused</title></rect>",
            (bottom - y).max(1),
            escape(&day_label(from)),
            grouped(day.refused)
        );
    }
    out.push_str("</svg>\n");
    let total: u64 = metrics.refused_per_day.iter().map(|day| day.refused).sum();
    let _ = writeln!(
        out,
        "<p class=\"note\">{} customer requests refused over {} days; the worst day refused {}.</p>\n</section>",
        grouped(total),
        metrics.refused_per_day.len(),
        grouped(highest)
    );
}

fn services_table(out: &mut String, metrics: &Metrics) {
    out.push_str(
        "<section class=\"services\">\n<h2>Per service</h2>\n<table>\n<thead><tr><th>Service</th><th>Mode at end</th>\
         <th class=\"num\">Accepted</th><th class=\"num\">Refused</th><th class=\"num\">Queued</th>\
         <th class=\"num\">Restricted hours</th><th class=\"num\">Closed hours</th></tr></thead>\n<tbody>\n",
    );
    for (name, service) in &metrics.services.0 {
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(name),
            mode_chip(service.mode_at_end),
            grouped(service.accepted),
            grouped(service.refused),
            grouped(service.queued),
            grouped(service.restricted_hours),
            grouped(service.closed_hours)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn phases_table(out: &mut String, metrics: &Metrics) {
    out.push_str(
        "<section class=\"phases\">\n<h2>Phases</h2>\n<table>\n<thead><tr><th>Phase</th><th>Title</th>\
         <th>Opened at</th></tr></thead>\n<tbody>\n",
    );
    for phase in &metrics.phases {
        let opened = match (phase.opened_at, &phase.blocked_by) {
            (Some(at), _) => escape(&instant(at)),
            (None, Some(blocked)) => format!("<span class=\"never\">never</span> (blocked by {})", escape(blocked)),
            (None, None) => "<span class=\"never\">never</span>".to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{opened}</td></tr>",
            escape(&phase.id),
            escape(phase.title.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn violations(out: &mut String, metrics: &Metrics) {
    if metrics.violations.is_empty() {
        out.push_str(
            "<section class=\"violations none\">\n<h2>Control violations</h2>\n\
             <p>None: no action of the plan broke a control.</p>\n</section>\n",
        );
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"violations\">\n<h2>Control violations <span class=\"bad\">({})</span></h2>\n<table>\n\
         <thead><tr><th>Phase</th><th class=\"num\">Action</th><th>Kind</th><th>At</th><th>Reason</th></tr></thead>\n<tbody>",
        metrics.violations.len()
    );
    for violation in &metrics.violations {
        let _ = writeln!(
            out,
            "<tr class=\"violation\"><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&violation.phase),
            violation.action,
            escape(&violation.kind),
            escape(&instant(violation.at)),
            escape(&violation.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Scenario events and settlements the state refused: shown only when there are some.
fn scenario_rejections(out: &mut String, metrics: &Metrics) {
    if metrics.scenario_rejections.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"violations\">\n<h2>Scenario events refused by the state <span class=\"bad\">({})</span></h2>\n\
         <p>Not the plan's doing: the scenario does not hold together here.</p>\n<table>\n\
         <thead><tr><th>At</th><th>Kind</th><th>Source</th><th>Reason</th></tr></thead>\n<tbody>",
        metrics.scenario_rejections.len()
    );
    for rejection in &metrics.scenario_rejections {
        let _ = writeln!(
            out,
            "<tr class=\"violation\"><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            escape(&instant(rejection.at)),
            escape(&rejection.kind),
            escape(&rejection.source),
            escape(&rejection.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(18_088), (2019, 7, 11));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }

    #[test]
    fn numbers_are_grouped_and_scales_are_nice() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped_signed(-1_234), "-1,234");
        assert_eq!(nice_scale(316), (400, 100));
        assert_eq!(nice_scale(4_088), (5_000, 1_000));
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(7), (8, 2));
        assert_eq!(nice_scale(36), (40, 10));
        assert_eq!(percent(1, 3), "33.3%");
    }

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    }

    #[test]
    fn instants_are_formatted_in_utc() {
        let at = Timestamp::parse_rfc3339("2019-07-11T22:12:00+09:00").unwrap_or_default();
        assert_eq!(instant(at), "2019-07-11 13:12 UTC");
    }
}
