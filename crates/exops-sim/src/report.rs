//! A self-contained HTML report of one simulation, for people who will not read JSON: a
//! header, a headline when the venue ceased, the key metrics with what they count, a Gantt
//! chart of every service's modes, the refusals per day by cause, the withdrawal backlog,
//! the money customers could not reach, and the tables behind them.
//!
//! The file needs nothing but a browser: styles are inline, charts are inline SVG (whose
//! fill patterns are referenced inside the document only), there is no script and no
//! reference to anything outside the file. The same metrics and timeline always give the
//! same bytes: nothing here reads a clock or iterates a hash map, and chart coordinates
//! are whole pixels computed with integer arithmetic. Instants read in the venue's local
//! time beside UTC, amounts in each asset's units; restricted modes differ by pattern and
//! label as well as by colour (an Okabe–Ito palette, safe for colour-blind readers).

use std::fmt::Write;

use exops_core::{Mode, Timestamp};
use exops_replay::{Interval, Timeline};

use crate::metrics::{CauseKind, Metrics, Milestone, RefusalCause, StillRestricted};
use crate::sweep::Sweep;
use crate::text::{cap_text, still_restricted_groups};
use crate::units::{Clock, civil, duration, grouped, money};

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;
const MINUTE_MICROS: i64 = 60_000_000;

/// Width of every chart, in SVG user units; the charts share their time axis.
const CHART_WIDTH: i64 = 1200;
const RIGHT_MARGIN: i64 = 24;

// Okabe–Ito colours: told apart with every common colour-vision deficiency.
const OPEN: &str = "#009e73";
const RESTRICTED: &str = "#e69f00";
const CLOSED: &str = "#d55e00";
const CEASED: &str = "#1f1f1f";
const BLUE: &str = "#0072b2";
const INCIDENT: &str = "#a3211a";
const MUTED: &str = "#66727f";
const GRID: &str = "#e3e7eb";
const PHASE: &str = "#3b4a8c";
/// Colours of the refusal causes, most refusals first; the rest share `OTHER`.
const CAUSE_COLOURS: [&str; 7] = ["#0072b2", "#e69f00", "#cc79a7", "#009e73", "#56b4e9", "#d55e00", "#f0e442"];
const OTHER: &str = "#9a9a9a";
/// Bars never narrower than this, so that a short interval stays visible.
const BAR_WIDTH_MIN: i64 = 3;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The whole report of one run as one HTML document titled `title`; `timeline` is the
/// run's [`exops_replay::Replay::finished_timeline`].
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let run = simulate(&scenario, &plan, &options, &mut |_| {})?;
/// let timeline = run.replay.finished_timeline();
/// let page = exops_sim::report::html("BITPoint <2019>", &run.metrics, &timeline);
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("<h1>BITPoint &lt;2019&gt;</h1>"), "the title is escaped");
/// // Self-contained: no script, nothing fetched.
/// assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));
/// assert_eq!(page, exops_sim::report::html("BITPoint <2019>", &run.metrics, &timeline), "the same bytes");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn html(title: &str, metrics: &Metrics, timeline: &Timeline) -> String {
    html_with_sweep(title, metrics, timeline, None)
}

/// The report of one run and, with `sweep`, the ranges of a sweep of the same plan
/// (figures' p5/p50/p95, and each phase's opening range drawn as a band). With `None` it
/// is [`html`].
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let plan = Plan::load(&root.join("plan.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// let run = simulate(&scenario, &plan, &options, &mut |_| {})?;
/// let timeline = run.replay.finished_timeline();
/// let sweep = exops_sim::sweep::sweep(&scenario, &plan, &options, 3, 1, &|| {})?;
/// let page = exops_sim::report::html_with_sweep("BITPoint", &run.metrics, &timeline, Some(&sweep));
/// assert!(page.contains("<h2>Under uncertainty: 3 runs</h2>"));
/// let plain = exops_sim::report::html_with_sweep("BITPoint", &run.metrics, &timeline, None);
/// assert_eq!(plain, exops_sim::report::html("BITPoint", &run.metrics, &timeline));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn html_with_sweep(title: &str, metrics: &Metrics, timeline: &Timeline, sweep: Option<&Sweep>) -> String {
    let clock = Clock::of(metrics);
    let axis = Axis::new(metrics, timeline, &clock);
    let mut out = String::with_capacity(128 * 1024);
    head(&mut out, title);
    header(&mut out, title, metrics, timeline, &clock);
    ceased_headline(&mut out, metrics, &clock);
    summary(&mut out, metrics, &clock);
    if let Some(sweep) = sweep {
        uncertainty(&mut out, sweep, &axis, &clock);
    }
    gantt(&mut out, metrics, timeline, &axis, &clock);
    refusals_chart(&mut out, metrics, &axis, &clock);
    backlog_chart(&mut out, metrics, &axis, &clock);
    money_charts(&mut out, metrics, &axis, &clock);
    services_table(&mut out, metrics);
    phases_table(&mut out, metrics, &clock);
    violations(&mut out, metrics, &clock);
    scenario_rejections(&mut out, metrics, &clock);
    definitions(&mut out, metrics);
    let _ = write!(
        out,
        "<footer>Simulated with exops-sim. Times are the venue's local time ({}{}){}. Amounts are in each \
         asset's units. This file is self-contained: it loads nothing from the network.</footer>\n</main>\n</body>\n</html>\n",
        escape(&clock.zone),
        if clock.zone == clock.offset_text() { String::new() } else { format!(", {}", clock.offset_text()) },
        if clock.is_utc() { "" } else { " with UTC in parentheses" }
    );
    out
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
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

/// `part` as a share of `whole`, to one decimal place, from integers.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn month_name(month: u32) -> &'static str {
    MONTHS[(month.clamp(1, 12) - 1) as usize]
}

/// `Jul 11` of local micros.
fn day_label(local_micros: i64) -> String {
    let (_, month, day) = civil(local_micros.div_euclid(DAY_MICROS));
    format!("{} {day}", month_name(month))
}

/// `Jul 11 13:12` of local micros.
fn day_time_label(local_micros: i64) -> String {
    let of_day = local_micros.rem_euclid(DAY_MICROS);
    format!("{} {:02}:{:02}", day_label(local_micros), of_day / HOUR_MICROS, of_day % HOUR_MICROS / MINUTE_MICROS)
}

/// Escapes `text`, turning its `backticked` names into `<code>` spans.
fn code_spans(text: &str) -> String {
    let mut out = String::new();
    for (index, part) in text.split('`').enumerate() {
        if index % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

fn never_html(metrics: &Metrics, blocked_by: &[StillRestricted]) -> String {
    let mut text = "<span class=\"never\">never</span>".to_owned();
    if blocked_by.is_empty() {
        text.push_str(" (not reached by the end of the period)");
        return text;
    }
    text.push_str(": at the end of the period,<ul class=\"why\">");
    for (services, why) in still_restricted_groups(blocked_by, metrics) {
        let names: Vec<String> = services.iter().map(|service| format!("<code>{}</code>", escape(service))).collect();
        let _ = write!(text, "<li>{} — {}</li>", names.join(", "), code_spans(&why));
    }
    text.push_str("</ul>");
    text
}

fn milestone(
    metrics: &Metrics,
    milestone: Option<&Milestone>,
    blocked_by: &[StillRestricted],
    clock: &Clock,
) -> String {
    let Some(milestone) = milestone else {
        return never_html(metrics, blocked_by);
    };
    match milestone.hours_after_incident {
        Some(hours) => {
            let tenths_of_days = (u128::from(hours) * 10 + 12) / 24;
            format!(
                "<strong>{} h</strong> after the incident (≈ {}.{} days), from {}",
                grouped(hours),
                tenths_of_days / 10,
                tenths_of_days % 10,
                escape(&clock.both(milestone.at))
            )
        }
        None => format!("from {}", escape(&clock.both(milestone.at))),
    }
}

/// Approximate rendered width of `text` at the chart's label size (11px sans-serif).
fn text_width(text: &str, per_char_tenths: i64) -> i64 {
    (text.chars().count() as i64 * per_char_tenths + 9) / 10
}

// ---------------------------------------------------------------------------------------
// Modes, colours and patterns.

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

    fn class(self) -> &'static str {
        match self {
            Severity::Open => "open",
            Severity::Restricted => "restricted",
            Severity::Closed => "closed",
        }
    }
}

/// How a bar is drawn: one look per kind of restriction, told apart by pattern and label
/// as well as by colour, so that a greyscale print still says which is which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Look {
    Open,
    Capped,
    Delayed,
    LimitOrPostOnly,
    CancelOnly,
    CloseOnly,
    ReadOnly,
    Closed,
    Ceased,
}

impl Look {
    const ALL: [Look; 9] = [
        Look::Open,
        Look::Capped,
        Look::Delayed,
        Look::LimitOrPostOnly,
        Look::CancelOnly,
        Look::CloseOnly,
        Look::ReadOnly,
        Look::Closed,
        Look::Ceased,
    ];

    fn of(interval: &Interval) -> Look {
        if interval.closed_by_cessation() {
            return Look::Ceased;
        }
        match interval.mode {
            Mode::Online | Mode::Open if interval.max_order_notional_minor.is_some() => Look::Capped,
            Mode::Online | Mode::Open => Look::Open,
            Mode::Delayed => Look::Delayed,
            Mode::LimitOnly | Mode::PostOnly => Look::LimitOrPostOnly,
            Mode::CancelOnly => Look::CancelOnly,
            Mode::CloseOnly => Look::CloseOnly,
            Mode::ReadOnly => Look::ReadOnly,
            Mode::Halted | Mode::Closed => Look::Closed,
        }
    }

    /// The pattern's id (`None`: a solid fill).
    fn pattern(self) -> Option<&'static str> {
        match self {
            Look::Open | Look::Closed | Look::Ceased => None,
            Look::Capped => Some("p-capped"),
            Look::Delayed => Some("p-delayed"),
            Look::LimitOrPostOnly => Some("p-limit"),
            Look::CancelOnly => Some("p-cancel-only"),
            Look::CloseOnly => Some("p-close-only"),
            Look::ReadOnly => Some("p-read-only"),
        }
    }

    fn fill(self) -> String {
        match self.pattern() {
            Some(id) => format!("url(#{id})"),
            None => match self {
                Look::Open => OPEN.to_owned(),
                Look::Ceased => CEASED.to_owned(),
                _ => CLOSED.to_owned(),
            },
        }
    }

    fn legend(self) -> &'static str {
        match self {
            Look::Open => "fully open",
            Look::Capped => "open with an order-size cap",
            Look::Delayed => "delayed (queued, settled later)",
            Look::LimitOrPostOnly => "limit / post only",
            Look::CancelOnly => "cancel only",
            Look::CloseOnly => "close only",
            Look::ReadOnly => "read only",
            Look::Closed => "halted / closed",
            Look::Ceased => "ceased (the venue ceased: for good)",
        }
    }

    /// The short label written inside a bar wide enough for it.
    fn label(self) -> &'static str {
        match self {
            Look::Open => "",
            Look::Capped => "cap",
            Look::Delayed => "delayed",
            Look::LimitOrPostOnly => "limit only",
            Look::CancelOnly => "cancel only",
            Look::CloseOnly => "close only",
            Look::ReadOnly => "read only",
            Look::Closed => "closed",
            Look::Ceased => "ceased",
        }
    }

    /// The label's class: light text on the dark solid fills, dark text with a light halo
    /// on the patterns.
    fn label_class(self) -> &'static str {
        match self {
            Look::Closed | Look::Ceased => "inbar light",
            _ => "inbar dark",
        }
    }
}

/// The fill patterns of the restricted modes: amber with dark strokes, a different stroke
/// for each, defined once in a hidden SVG and referenced by id within the document.
fn pattern_defs(out: &mut String) {
    out.push_str("<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\"><defs>\n");
    let stroke = "stroke=\"#3d2600\" stroke-width=\"1.6\"";
    let patterns: [(&str, &str, String); 6] = [
        ("p-capped", "", "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#3d2600\"/>".to_owned()),
        (
            "p-delayed",
            " patternTransform=\"rotate(45)\"",
            format!("<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" {stroke}/>"),
        ),
        ("p-limit", "", format!("<line x1=\"3\" y1=\"0\" x2=\"3\" y2=\"6\" {stroke}/>")),
        ("p-cancel-only", "", format!("<line x1=\"0\" y1=\"3\" x2=\"6\" y2=\"3\" {stroke}/>")),
        (
            "p-close-only",
            " patternTransform=\"rotate(-45)\"",
            format!("<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" {stroke}/>"),
        ),
        (
            "p-read-only",
            "",
            format!(
                "<line x1=\"3\" y1=\"0\" x2=\"3\" y2=\"6\" {stroke}/><line x1=\"0\" y1=\"3\" x2=\"6\" y2=\"3\" {stroke}/>"
            ),
        ),
    ];
    for (id, transform, body) in patterns {
        let _ = writeln!(
            out,
            "<pattern id=\"{id}\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"{transform}>\
             <rect width=\"6\" height=\"6\" fill=\"{RESTRICTED}\"/>{body}</pattern>"
        );
    }
    out.push_str("</defs></svg>\n");
}

fn mode_chip(mode: Mode, ceased: bool) -> String {
    if ceased {
        return "<span class=\"chip ceased\">ceased</span>".to_owned();
    }
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
    /// The venue's offset from UTC: ticks fall on its local midnights.
    offset: i64,
    zone: String,
}

impl Axis {
    fn new(metrics: &Metrics, timeline: &Timeline, clock: &Clock) -> Axis {
        Axis::shared(metrics, std::slice::from_ref(timeline), clock)
    }

    /// One axis for several runs of the same period, wide enough for every row label.
    fn shared(metrics: &Metrics, timelines: &[Timeline], clock: &Clock) -> Axis {
        let start = metrics.start.unix_micros();
        let end = metrics.end.unix_micros().max(start.saturating_add(HOUR_MICROS));
        // Row labels are monospace, about 7.2 units a character at 12px.
        let longest = timelines
            .iter()
            .flat_map(|timeline| timeline.services.iter().map(|entry| entry.service.chars().count()))
            .max()
            .unwrap_or(0) as i64;
        let left = ((longest * 72 + 9) / 10 + 28).clamp(120, 320);
        Axis {
            start,
            end,
            left,
            width: CHART_WIDTH - left - RIGHT_MARGIN,
            offset: clock.offset_micros,
            zone: clock.zone.clone(),
        }
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

    /// Gridline positions and their labels (`None` where a label would collide), at the
    /// venue's local midnights (or hours, for short periods).
    fn ticks(&self) -> Vec<(i64, Option<String>)> {
        let span_days = (self.end - self.start) / DAY_MICROS;
        let (local_start, local_end) = (self.start + self.offset, self.end + self.offset);
        let mut instants: Vec<(i64, String)> = Vec::new();
        if span_days < 3 {
            let step = if span_days < 1 { 3 * HOUR_MICROS } else { 6 * HOUR_MICROS };
            let mut at = local_start.div_euclid(step) * step;
            while at <= local_end {
                if at >= local_start {
                    instants.push((at - self.offset, day_time_label(at)));
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
            let first = local_start.div_euclid(DAY_MICROS) + i64::from(local_start.rem_euclid(DAY_MICROS) != 0);
            let last = local_end.div_euclid(DAY_MICROS);
            for day_index in first..=last {
                let (year, month, day) = civil(day_index);
                if keep(day_index, month, day) {
                    let label = if span_days > 600 && month == 1 {
                        format!("{year}")
                    } else {
                        format!("{} {day}", month_name(month))
                    };
                    instants.push((day_index * DAY_MICROS - self.offset, label));
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
        let _ = writeln!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            self.left - 8,
            bottom + 17,
            escape(&self.zone)
        );
    }

    fn caption(&self, clock: &Clock) -> String {
        format!(
            "Time axis in {}: {} to {}.",
            if clock.zone == clock.offset_text() {
                clock.zone.clone()
            } else {
                format!("{} ({})", clock.zone, clock.offset_text())
            },
            clock.both(Timestamp::from_unix_micros(self.start)),
            clock.both(Timestamp::from_unix_micros(self.end))
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

#[allow(clippy::too_many_arguments)]
fn y_axis(
    out: &mut String,
    axis: &Axis,
    title: &str,
    max: u64,
    step: u64,
    top: i64,
    bottom: i64,
    label: &dyn Fn(u64) -> String,
) {
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
            escape(&label(value))
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

/// The run's dated moments, drawn on every chart: the incident, each phase opening, the
/// cessation.
#[derive(Debug)]
struct Moment {
    at: Timestamp,
    kind: MomentKind,
    /// Phase ids opening at this instant (for phases).
    label: String,
    tooltip: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MomentKind {
    Incident,
    Phase,
    Ceased,
}

fn moments(metrics: &Metrics, clock: &Clock) -> Vec<Moment> {
    let inside = |at: Timestamp| at >= metrics.start && at <= metrics.end;
    let mut moments = Vec::new();
    if let Some(at) = metrics.incident_at.filter(|at| inside(*at)) {
        moments.push(Moment {
            at,
            kind: MomentKind::Incident,
            label: "incident".to_owned(),
            tooltip: format!("Incident opened at {}", clock.both(at)),
        });
    }
    let mut opened: Vec<(Timestamp, &str, String)> = metrics
        .phases
        .iter()
        .filter_map(|phase| {
            let at = phase.opened_at.filter(|at| inside(*at))?;
            let title = phase.title.as_deref().map_or_else(String::new, |title| format!(": {title}"));
            Some((at, phase.id.as_str(), format!("Phase {}{title}, opened at {}", phase.id, clock.both(at))))
        })
        .collect();
    opened.sort_by_key(|(at, _, _)| *at);
    for (at, id, tooltip) in opened {
        moments.push(Moment { at, kind: MomentKind::Phase, label: id.to_owned(), tooltip });
    }
    if let Some(ceased) = metrics.ceased.as_ref().filter(|ceased| inside(ceased.at)) {
        moments.push(Moment {
            at: ceased.at,
            kind: MomentKind::Ceased,
            label: "venue ceased".to_owned(),
            tooltip: format!("The venue ceased at {}: {}", clock.both(ceased.at), ceased.reason),
        });
    }
    moments
}

impl MomentKind {
    fn stroke(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MomentKind::Incident => (INCIDENT, "1.5", ""),
            MomentKind::Phase => (PHASE, "1.5", " stroke-dasharray=\"4 3\""),
            MomentKind::Ceased => (CEASED, "3", ""),
        }
    }
}

/// The moments as vertical lines from `top` to `bottom`, each with its tooltip, for the
/// charts under the Gantt (which labels them).
fn moment_lines(out: &mut String, moments: &[Moment], axis: &Axis, top: i64, bottom: i64) {
    out.push_str("<g class=\"moments\">\n");
    for moment in moments {
        let x = axis.x(moment.at);
        let (colour, width, dash) = moment.kind.stroke();
        let _ = writeln!(
            out,
            "<line class=\"moment\" x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{colour}\" \
             stroke-width=\"{width}\"{dash}><title>{}</title></line>",
            escape(&moment.tooltip)
        );
    }
    out.push_str("</g>\n");
}

/// The note under a chart naming its marker lines.
fn moments_note(moments: &[Moment]) -> &'static str {
    if moments.is_empty() {
        ""
    } else if moments.iter().any(|moment| moment.kind == MomentKind::Ceased) {
        " Vertical lines: the incident (solid red), phases opening (dashed blue, named on the Gantt chart), the venue ceasing (thick black)."
    } else {
        " Vertical lines: the incident (solid red) and phases opening (dashed blue, named on the Gantt chart)."
    }
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
.chip.open { background: #007a5a; }
.chip.restricted { background: #e69f00; color: #1f2933; }
.chip.closed { background: #b34700; }
.chip.ceased { background: #1f1f1f; }
svg.defs { position: absolute; width: 0; height: 0; overflow: hidden; }
.ceased-headline { border: 2px solid #1f1f1f; background: #f2f2f2; }
.ceased-headline h2 { font-size: 22px; }
.ceased-headline .why { font-size: 16px; font-weight: 600; }
.def { font-weight: 400; font-size: 12px; color: #66727f; margin-top: 2px; }
ul.why { margin: 4px 0 0; padding-left: 18px; }
ul.legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 13px; }
ul.legend .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px; border: 1px solid #52606d; }
h3 { font-size: 14px; margin: 14px 0 2px; }
td.by { font-size: 12px; }
td.best { background: #e6f4ee; font-weight: 700; }
.best-mark { color: #006a4e; font-size: 12px; }
.delta { font-weight: 400; font-size: 12px; color: #52606d; }
.muted { color: #8a96a3; }
ul.legend .plan-line { display: inline-block; width: 28px; height: 0; margin-right: 6px; vertical-align: 3px; }
table.comparison th[scope=row] { font-size: 14px; text-transform: none; letter-spacing: 0; color: #1f2933; background: none; font-weight: 600; }
.definitions dt { font-weight: 600; margin-top: 6px; }
.definitions dd { margin: 0 0 0 16px; color: #3e4c59; }
svg text.inbar { font-size: 10px; font-weight: 600; }
svg text.inbar.light { fill: #ffffff; }
svg text.inbar.dark { fill: #1f1f1f; paint-order: stroke; stroke: #fff6e0; stroke-width: 3px; }
svg text.band-label { font-family: ui-monospace, \"DejaVu Sans Mono\", \"Liberation Mono\", Menlo, Consolas, monospace; font-size: 11px; }
svg text.short { font-size: 10px; fill: #1f1f1f; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
svg text.ceased { fill: #1f1f1f; font-weight: 700; }
.never { color: #b3261e; font-weight: 700; }
.bad { color: #b3261e; font-weight: 700; }
.good { color: #1e7a43; font-weight: 700; }
.note { color: #66727f; font-size: 12px; margin: 6px 0 0; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, \"Segoe UI\", Roboto, \"Liberation Sans\", \"DejaVu Sans\", Arial, sans-serif; font-size: 11px; fill: #1f2933; }
svg text.row { font-family: ui-monospace, \"DejaVu Sans Mono\", \"Liberation Mono\", Menlo, Consolas, monospace; font-size: 12px; }
svg text.tick { fill: #52606d; }
svg text.phase { fill: #3b4a8c; font-weight: 600; }
svg text.incident { fill: #a3211a; font-weight: 700; }
svg text.peak { fill: #7a3e00; font-weight: 700; }
tr.violation td { background: #fdecea; color: #8a1c14; }
.violations { border-color: #e5a19b; background: #fff7f6; }
.violations.none { border-color: #d9dee3; background: #fff; }
footer { margin-top: 26px; color: #66727f; font-size: 12px; }
@media print { body { background: #fff; } section { break-inside: avoid; border-color: #bbb; } }
";

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
    pattern_defs(out);
}

fn header(out: &mut String, title: &str, metrics: &Metrics, timeline: &Timeline, clock: &Clock) {
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
    row(
        "Period",
        format!("{} to {} ({days} days)", escape(&clock.both(metrics.start)), escape(&clock.both(metrics.end))),
    );
    row("Incident", metrics.incident_at.map_or_else(|| "none recorded".to_owned(), |at| escape(&clock.both(at))));
    row(
        "Local time",
        if clock.is_utc() {
            "UTC".to_owned()
        } else {
            format!("{} ({}); every time reads in it, with UTC beside it", escape(&clock.zone), clock.offset_text())
        },
    );
    out.push_str("</dl>\n</header>\n");
}

/// When the venue ceased, that is the headline: when, why, and what it means.
fn ceased_headline(out: &mut String, metrics: &Metrics, clock: &Clock) {
    let Some(ceased) = &metrics.ceased else { return };
    let after = metrics.violations.iter().filter(|violation| violation.at >= ceased.at).count();
    let _ = writeln!(
        out,
        "<section class=\"ceased-headline\" id=\"ceased\">\n<h2>The venue ceased on {}</h2>\n\
         <p class=\"why\">Why: {}</p>\n<p>Ceasing is terminal: from then on every service is <strong>ceased</strong> \
         (not merely closed) and nothing reopens.{}</p>\n</section>",
        escape(&clock.both(ceased.at)),
        escape(&ceased.reason),
        if after == 0 {
            String::new()
        } else {
            format!(" The plan's {after} action(s) after it were refused (see the control violations).")
        }
    );
}

fn summary(out: &mut String, metrics: &Metrics, clock: &Clock) {
    out.push_str("<section class=\"summary\">\n<h2>Key metrics</h2>\n<table class=\"summary\">\n");
    let mut row = |term: &str, definition: &str, value: String| {
        let definition =
            if definition.is_empty() { String::new() } else { format!("<div class=\"def\">{definition}</div>") };
        let _ = writeln!(out, "<tr><th scope=\"row\">{term}{definition}</th><td>{value}</td></tr>");
    };
    let requests = &metrics.requests;
    let total = requests.accepted + requests.refused + requests.queued;
    let over = if metrics.customers_affected > u64::from(metrics.customers) {
        format!(
            " — more than the {} customers, because refused sign-up applicants count too",
            grouped(u64::from(metrics.customers))
        )
    } else {
        format!(" of {} customers (and sign-up applicants)", grouped(u64::from(metrics.customers)))
    };
    row(
        "Customers affected",
        "distinct people with at least one request refused or queued: existing customers and sign-up applicants",
        format!("<strong>{}</strong>{over}", grouped(metrics.customers_affected)),
    );
    row(
        "Customer requests",
        "",
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
        "the most withdrawals queued at once (delayed withdrawals wait for a settlement)",
        match metrics.withdrawal_backlog_peak_at {
            Some(at) if metrics.withdrawal_backlog_peak > 0 => format!(
                "<strong>{}</strong> queued withdrawals, at {}",
                grouped(metrics.withdrawal_backlog_peak),
                escape(&clock.both(at))
            ),
            _ => "no withdrawal was ever queued".to_owned(),
        },
    );
    let recovery = &metrics.recovery;
    row(
        "Existing customers served",
        "from when every service but sign-ups stayed usable (not closed or halted) to the end",
        milestone(
            metrics,
            recovery.existing_customers_served.as_ref(),
            &recovery.existing_customers_served_blocked_by,
            clock,
        ),
    );
    row(
        "Full service",
        "from when every service but sign-ups stayed fully open, without caps",
        milestone(metrics, recovery.full_service.as_ref(), &recovery.full_service_blocked_by, clock),
    );
    row(
        "Sign-ups open",
        "from when new customers could sign up, to the end",
        milestone(metrics, recovery.signups_open.as_ref(), &recovery.signups_open_blocked_by, clock),
    );
    let refused_value: Vec<String> = metrics
        .withdrawals_refused_minor
        .0
        .iter()
        .map(|(asset, amount)| escape(&money(metrics, *amount, asset)))
        .collect();
    row(
        "Withdrawals refused, by value",
        "the money customers asked for and could not take out, per asset",
        if refused_value.is_empty() { "none".to_owned() } else { refused_value.join(", ") },
    );
    let refunds: Vec<String> = metrics
        .refunds_paid_minor
        .0
        .iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|(asset, amount)| escape(&money(metrics, *amount, asset)))
        .collect();
    row(
        "Paid to customers",
        "refunds and converted claims, per asset",
        if refunds.is_empty() { "none".to_owned() } else { refunds.join(", ") },
    );
    let count = metrics.violations.len();
    row(
        "Control violations",
        "plan actions the venue's controls refused",
        if count == 0 {
            "<span class=\"good\">0</span>".to_owned()
        } else {
            format!("<span class=\"bad\">{count}</span> (listed below)")
        },
    );
    row(
        "Phases never opened",
        "",
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
    kind: MomentKind,
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

fn gantt(out: &mut String, metrics: &Metrics, timeline: &Timeline, axis: &Axis, clock: &Clock) {
    out.push_str("<section class=\"gantt\">\n<h2>Service modes over time</h2>\n");
    gantt_chart(out, metrics, timeline, axis, clock);
    out.push_str("</section>\n");
}

/// The Gantt chart of one run and its note.
fn gantt_chart(out: &mut String, metrics: &Metrics, timeline: &Timeline, axis: &Axis, clock: &Clock) {
    if timeline.services.is_empty() {
        out.push_str("<p class=\"note\">The timeline has no services.</p>\n");
        return;
    }
    // Markers: the incident, each phase that opened inside the period (phases opening at
    // one instant share a marker), the cessation.
    let mut markers: Vec<Marker> = Vec::new();
    let mut ceased_x = None;
    for moment in moments(metrics, clock) {
        let x = axis.x(moment.at);
        match (markers.last_mut(), moment.kind) {
            (Some(last), MomentKind::Phase) if last.kind == MomentKind::Phase && last.x == x => {
                last.label.push_str(", ");
                last.label.push_str(&moment.label);
                last.tooltip.push('\n');
                last.tooltip.push_str(&moment.tooltip);
            }
            _ => {
                if moment.kind == MomentKind::Ceased {
                    ceased_x = Some(x);
                }
                markers.push(Marker { x, label: moment.label, tooltip: moment.tooltip, kind: moment.kind });
            }
        }
    }
    markers.sort_by_key(|marker| marker.x);
    let (placement, lane_count) = lanes(&markers, axis.right() + RIGHT_MARGIN);

    const LANE: i64 = 15;
    const ROW: i64 = 22;
    const BAR: i64 = 16;
    let looks: std::collections::BTreeSet<Look> =
        timeline.services.iter().flat_map(|entry| entry.intervals.iter().map(Look::of)).collect();
    let rows_top = 8 + lane_count as i64 * LANE + 6;
    let rows_bottom = rows_top + timeline.services.len() as i64 * ROW;
    // The legend wraps over lines of at most the chart's width.
    let mut legend: Vec<(Option<Look>, Option<MomentKind>, &str)> =
        Look::ALL.iter().filter(|look| looks.contains(look)).map(|look| (Some(*look), None, look.legend())).collect();
    legend.push((None, Some(MomentKind::Phase), "phase opened"));
    legend.push((None, Some(MomentKind::Incident), "incident"));
    if ceased_x.is_some() {
        legend.push((None, Some(MomentKind::Ceased), "venue ceased"));
    }
    type LegendItem<'a> = (i64, Option<Look>, Option<MomentKind>, &'a str);
    let mut legend_rows: Vec<Vec<LegendItem>> = vec![Vec::new()];
    let mut x = axis.left;
    for (look, moment, label) in legend {
        let width = 19 + text_width(label, 54) + 20;
        if x + width > CHART_WIDTH && x > axis.left {
            legend_rows.push(Vec::new());
            x = axis.left;
        }
        if let Some(row) = legend_rows.last_mut() {
            row.push((x, look, moment, label));
        }
        x += width;
    }
    let legend_top = rows_bottom + 44;
    let height = legend_top + legend_rows.len() as i64 * 20;
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

    // One bar per interval, clipped to the period, never narrower than BAR_WIDTH_MIN; a
    // bar wide enough carries its mode's label, a sliver its duration beside it.
    let end = metrics.end;
    for (index, entry) in timeline.services.iter().enumerate() {
        let y = rows_top + index as i64 * ROW + (ROW - BAR) / 2;
        let mut labels_free_from = i64::MIN;
        // Labels go after the row's bars, so that no later bar covers them.
        let mut labels = String::new();
        for interval in &entry.intervals {
            let to = interval.to.unwrap_or(end).min(end);
            let from = interval.from.max(metrics.start);
            if to < from || (to == from && interval.to.is_some()) {
                continue;
            }
            let (x0, x1) = (axis.x(from), axis.x(to));
            let width = (x1 - x0).max(BAR_WIDTH_MIN);
            let severity = Severity::of_interval(interval);
            let look = Look::of(interval);
            let mut mode = interval.mode.name().to_owned();
            if look == Look::Ceased {
                mode = "ceased (the venue ceased)".to_owned();
            }
            if let Some(cap) = interval.max_order_notional_minor {
                let _ = write!(mode, " (order cap {})", cap_text(metrics, &entry.service, cap));
            }
            let held_by = match &interval.held_by {
                Some(hold) => hold.as_str(),
                None if interval.closed_by_cessation() => "none (the venue ceased)",
                None => "none",
            };
            let holds = if interval.holds.is_empty() { "none".to_owned() } else { interval.holds.join(", ") };
            let until = interval.to.map_or_else(|| "end of the period".to_owned(), |to| clock.both(to));
            let tooltip = format!(
                "{}: {mode}\nfrom {}\nto {until} ({})\nheld by: {held_by}\nholds: {holds}",
                entry.service,
                clock.both(interval.from),
                duration(to.micros_since(from))
            );
            let class = if look == Look::Ceased { "closed ceased" } else { severity.class() };
            let _ = writeln!(
                out,
                "<rect class=\"{class}\" data-look=\"{}\" x=\"{x0}\" y=\"{y}\" width=\"{width}\" height=\"{BAR}\" \
                 fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"0.5\"><title>{}</title></rect>",
                look.pattern().unwrap_or(look.label()),
                look.fill(),
                escape(&tooltip)
            );
            if look == Look::Open {
                continue;
            }
            let label = match (look, interval.max_order_notional_minor) {
                (Look::Capped, Some(cap)) => format!("cap {}", cap_text(metrics, &entry.service, cap)),
                _ => look.label().to_owned(),
            };
            let label_width = text_width(&label, 60);
            // After any label a sliver before it wrote over this bar's start.
            let label_x = (x0 + 4).max(labels_free_from);
            if label_x + label_width + 4 <= x0 + width {
                let _ = writeln!(
                    labels,
                    "<text class=\"{}\" x=\"{label_x}\" y=\"{}\">{}</text>",
                    look.label_class(),
                    y + BAR / 2 + 4,
                    escape(&label)
                );
                labels_free_from = label_x + label_width + 4;
            } else if x1 - x0 < 8 {
                let short = duration(to.micros_since(from));
                let short_x = x0 + width + 2;
                if short_x >= labels_free_from && short_x + text_width(&short, 55) <= axis.right() {
                    let _ = writeln!(
                        labels,
                        "<text class=\"short\" x=\"{short_x}\" y=\"{}\">{}</text>",
                        y + BAR / 2 + 4,
                        escape(&short)
                    );
                    labels_free_from = short_x + text_width(&short, 55) + 4;
                }
            }
        }
        out.push_str(&labels);
    }

    // Markers over the bars, labels in lanes above them.
    for (marker, (lane, leftward)) in markers.iter().zip(&placement) {
        let label_y = 8 + *lane as i64 * LANE + 11;
        let class = match marker.kind {
            MomentKind::Incident => "incident",
            MomentKind::Phase => "phase",
            MomentKind::Ceased => "ceased",
        };
        let (colour, width, dash) = marker.kind.stroke();
        let x = marker.x;
        let _ = writeln!(
            out,
            "<g><title>{}</title><line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{rows_bottom}\" stroke=\"{colour}\" \
             stroke-width=\"{width}\"{dash}/>",
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
    for (row, items) in legend_rows.iter().enumerate() {
        let legend_y = legend_top + row as i64 * 20;
        for (x, look, moment, label) in items {
            match (look, moment) {
                (Some(look), _) => {
                    let _ = writeln!(
                        out,
                        "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"12\" fill=\"{}\" stroke=\"#52606d\" stroke-width=\"0.5\"/>\
                         <text x=\"{}\" y=\"{legend_y}\">{}</text>",
                        legend_y - 10,
                        look.fill(),
                        x + 19,
                        escape(label)
                    );
                }
                (None, Some(kind)) => {
                    let (colour, width, dash) = kind.stroke();
                    let _ = writeln!(
                        out,
                        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"{width}\"{dash}/>\
                         <text x=\"{}\" y=\"{legend_y}\">{}</text>",
                        x + 7,
                        legend_y - 11,
                        x + 7,
                        legend_y + 3,
                        x + 19,
                        escape(label)
                    );
                }
                (None, None) => {}
            }
        }
    }
    out.push_str("</svg>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">{} Restricted modes differ by pattern and by the label written in each bar wide enough; \
         a bar shorter than {BAR_WIDTH_MIN} pixels is drawn {BAR_WIDTH_MIN} wide with its duration beside it. \
         Hover a bar for its mode, dates and holds, a marker for its phase.</p>",
        escape(&axis.caption(clock))
    );
}

/// What a refusal cause reads as in a legend.
fn cause_label(metrics: &Metrics, cause: &RefusalCause) -> String {
    match cause.kind {
        CauseKind::OrderCap => {
            let cap = match (cause.cap_minor, &cause.cap_asset) {
                (Some(cap), Some(asset)) => format!(" of {}", money(metrics, cap, asset)),
                _ => String::new(),
            };
            format!("{}: orders over its size cap{cap}", cause.hold.as_deref().unwrap_or(&cause.cause))
        }
        CauseKind::Hold => format!("{} (hold)", cause.cause),
        CauseKind::VenueCeased => "the venue ceased".to_owned(),
        CauseKind::InsufficientCustody => "the wallets could not cover the withdrawal".to_owned(),
        CauseKind::ExceedsLiabilities => "more than customers are owed".to_owned(),
    }
}

fn refusals_chart(out: &mut String, metrics: &Metrics, axis: &Axis, clock: &Clock) {
    out.push_str("<section class=\"refusals\">\n<h2>Refused requests per day, by cause</h2>\n");
    let total: u64 = metrics.refused_per_day.iter().map(|day| day.refused).sum();
    if total == 0 {
        out.push_str("<p class=\"note empty\">No customer request was refused.</p>\n</section>\n");
        return;
    }
    // The first causes (most refusals first) get a colour each, the rest one together.
    let shown = metrics.refusal_causes.len().min(CAUSE_COLOURS.len());
    let colour_of = |cause: &str| -> &'static str {
        metrics.refusal_causes[..shown]
            .iter()
            .position(|known| known.cause == cause)
            .map_or(OTHER, |index| CAUSE_COLOURS[index])
    };
    let highest = metrics.refused_per_day.iter().map(|day| day.refused).max().unwrap_or(0);
    let (max, step) = nice_scale(highest);
    let (top, bottom) = (26, 206);
    let height = bottom + 26;
    svg_open(out, height, "Refused customer requests per day, stacked by cause");
    y_axis(out, axis, "refused", max, step, top, bottom, &grouped);
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
        let day_name = day_label(from + axis.offset);
        // Stacked from the bottom in the legend's order; causes beyond the coloured ones
        // share one block.
        let mut below = 0_u64;
        let mut other = 0_u64;
        let draw = |out: &mut String, count: u64, colour: &str, name: &str, below: &mut u64| {
            let (y_low, y_high) = (y_of(*below, max, top, bottom), y_of(*below + count, max, top, bottom));
            let _ = writeln!(
                out,
                "<rect class=\"cause\" x=\"{x0}\" y=\"{y_high}\" width=\"{width}\" height=\"{}\" fill=\"{colour}\">\
                 <title>{}: {} refused by {}</title></rect>",
                (y_low - y_high).max(1),
                escape(&day_name),
                grouped(count),
                escape(name)
            );
            *below += count;
        };
        for (cause, count) in &day.by_cause.0 {
            let colour = colour_of(cause);
            if colour == OTHER {
                other += count;
            } else {
                draw(out, *count, colour, cause, &mut below);
            }
        }
        if other > 0 {
            draw(out, other, OTHER, "other causes", &mut below);
        }
    }
    let moments = moments(metrics, clock);
    moment_lines(out, &moments, axis, top, bottom);
    out.push_str("</svg>\n<ul class=\"legend\" aria-label=\"Causes of refusals\">\n");
    for (index, cause) in metrics.refusal_causes.iter().enumerate().take(shown) {
        let _ = writeln!(
            out,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{} — {} ({})</li>",
            CAUSE_COLOURS[index],
            escape(&cause_label(metrics, cause)),
            grouped(cause.refused),
            percent(cause.refused, total)
        );
    }
    if metrics.refusal_causes.len() > shown {
        let rest: u64 = metrics.refusal_causes[shown..].iter().map(|cause| cause.refused).sum();
        let _ = writeln!(
            out,
            "<li><span class=\"swatch\" style=\"background:{OTHER}\"></span>{} other causes — {} ({})</li>",
            metrics.refusal_causes.len() - shown,
            grouped(rest),
            percent(rest, total)
        );
    }
    out.push_str("</ul>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">{} customer requests refused over {} days; the worst day refused {}. Each day's bar is \
         split by what refused the requests: the hold whose mode did not allow them, an order-size cap, or the \
         venue's cessation.{}</p>\n</section>",
        grouped(total),
        metrics.refused_per_day.len(),
        grouped(highest),
        moments_note(&moments)
    );
}

fn backlog_chart(out: &mut String, metrics: &Metrics, axis: &Axis, clock: &Clock) {
    out.push_str("<section class=\"backlog\">\n<h2>Withdrawal backlog</h2>\n");
    let highest = metrics.withdrawal_backlog.iter().map(|sample| sample.queued).max().unwrap_or(0);
    if highest == 0 && metrics.withdrawal_backlog_peak == 0 {
        out.push_str("<p class=\"note empty\">No withdrawal was ever queued.</p>\n</section>\n");
        return;
    }
    if metrics.withdrawal_backlog.is_empty() {
        out.push_str("<p class=\"note empty\">No daily backlog samples: the period ends before its first day does.</p>\n</section>\n");
        return;
    }
    let (max, step) = nice_scale(highest.max(metrics.withdrawal_backlog_peak));
    let (top, bottom) = (26, 206);
    let height = bottom + 26;
    svg_open(out, height, "Withdrawal backlog over time");
    y_axis(out, axis, "queued", max, step, top, bottom, &grouped);
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
        "<polygon points=\"{first_x},{bottom} {} {last_x},{bottom}\" fill=\"{BLUE}\" fill-opacity=\"0.15\"/>",
        line.join(" ")
    );
    let _ = writeln!(
        out,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{BLUE}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
        line.join(" ")
    );
    // Daily points carry their value as a tooltip.
    for (sample, (x, y)) in metrics.withdrawal_backlog.iter().zip(&points) {
        let _ = writeln!(
            out,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"{BLUE}\" fill-opacity=\"0.01\"><title>{}: {} queued</title></circle>",
            escape(&clock.both(sample.at)),
            grouped(sample.queued)
        );
    }
    let moments = moments(metrics, clock);
    moment_lines(out, &moments, axis, top, bottom);
    if let Some(at) = metrics.withdrawal_backlog_peak_at.filter(|_| metrics.withdrawal_backlog_peak > 0) {
        let (x, y) = (axis.x(at), y_of(metrics.withdrawal_backlog_peak, max, top, bottom));
        let label =
            format!("peak {} at {}", grouped(metrics.withdrawal_backlog_peak), day_time_label(clock.local_micros(at)));
        let leftward = x + text_width(&label, 66) + 10 > axis.right();
        let (text_x, anchor) = if leftward { (x - 8, "end") } else { (x + 8, "start") };
        let _ = writeln!(
            out,
            "<g><title>Highest backlog: {} queued withdrawals at {}</title>\
             <circle cx=\"{x}\" cy=\"{y}\" r=\"5\" fill=\"{CLOSED}\" stroke=\"#fff\" stroke-width=\"1.5\"/>\
             <text class=\"peak\" x=\"{text_x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text></g>",
            grouped(metrics.withdrawal_backlog_peak),
            escape(&clock.both(at)),
            (y - 6).max(top - 12) + 4,
            escape(&label)
        );
    }
    out.push_str("</svg>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">Queued withdrawals across every asset at the end of each day; the dot is the highest \
         backlog at any instant.{}</p>\n</section>",
        moments_note(&moments)
    );
}

/// Per asset: the value of the withdrawals refused each day (bars) and of those queued at
/// the end of each day (line), in the asset's units.
fn money_charts(out: &mut String, metrics: &Metrics, axis: &Axis, clock: &Clock) {
    out.push_str("<section class=\"money\">\n<h2>Money customers could not reach</h2>\n");
    let value_of = |map: &exops_core::OrderedMap<i64>, asset: &str| map.get(asset).copied().unwrap_or(0).max(0) as u64;
    let assets: Vec<&str> = metrics
        .assets
        .iter()
        .map(|asset| asset.code.as_str())
        .filter(|asset| {
            metrics.refused_per_day.iter().any(|day| value_of(&day.withdrawals_refused_minor, asset) > 0)
                || metrics.withdrawal_backlog.iter().any(|sample| value_of(&sample.queued_minor, asset) > 0)
        })
        .collect();
    if assets.is_empty() {
        out.push_str("<p class=\"note empty\">No withdrawal was refused or queued, so no money was out of reach.</p>\n</section>\n");
        return;
    }
    let moments = moments(metrics, clock);
    let end = metrics.end.unix_micros();
    for asset in &assets {
        let refused_total: u64 =
            metrics.refused_per_day.iter().map(|day| value_of(&day.withdrawals_refused_minor, asset)).sum();
        let queued_peak =
            metrics.withdrawal_backlog.iter().map(|sample| value_of(&sample.queued_minor, asset)).max().unwrap_or(0);
        let highest = metrics
            .refused_per_day
            .iter()
            .map(|day| value_of(&day.withdrawals_refused_minor, asset))
            .max()
            .unwrap_or(0)
            .max(queued_peak);
        let to_money = |value: u64| money(metrics, i64::try_from(value).unwrap_or(i64::MAX), asset);
        let _ = writeln!(
            out,
            "<h3>{}: {} refused in all; {}</h3>",
            escape(asset),
            escape(&to_money(refused_total)),
            if queued_peak == 0 {
                "none queued".to_owned()
            } else {
                format!("at most {} queued at a day's end", escape(&to_money(queued_peak)))
            }
        );
        let (max, step) = nice_scale(highest);
        let (top, bottom) = (22, 132);
        svg_open(out, bottom + 26, &format!("Value of {asset} withdrawals refused and queued over time"));
        y_axis(out, axis, asset, max, step, top, bottom, &to_money);
        axis.draw(out, top, bottom);
        for (index, day) in metrics.refused_per_day.iter().enumerate() {
            let value = value_of(&day.withdrawals_refused_minor, asset);
            if value == 0 {
                continue;
            }
            let from = day.day_start.unix_micros();
            let to = metrics
                .refused_per_day
                .get(index + 1)
                .map_or_else(|| from.saturating_add(DAY_MICROS).min(end), |next| next.day_start.unix_micros());
            let (x0, x1) = (axis.x_micros(from), axis.x_micros(to));
            let width = if x1 - x0 > 2 { x1 - x0 - 1 } else { (x1 - x0).max(1) };
            let y = y_of(value, max, top, bottom);
            let _ = writeln!(
                out,
                "<rect class=\"refused-value\" x=\"{x0}\" y=\"{y}\" width=\"{width}\" height=\"{}\" fill=\"{CLOSED}\" \
                 fill-opacity=\"0.8\"><title>{}: {} of withdrawals refused</title></rect>",
                (bottom - y).max(1),
                escape(&day_label(from + axis.offset)),
                escape(&to_money(value))
            );
        }
        if queued_peak > 0 {
            let line: Vec<String> = metrics
                .withdrawal_backlog
                .iter()
                .map(|sample| {
                    format!("{},{}", axis.x(sample.at), y_of(value_of(&sample.queued_minor, asset), max, top, bottom))
                })
                .collect();
            let _ = writeln!(
                out,
                "<polyline class=\"queued-value\" points=\"{}\" fill=\"none\" stroke=\"{BLUE}\" stroke-width=\"2\" \
                 stroke-linejoin=\"round\"/>",
                line.join(" ")
            );
        }
        moment_lines(out, &moments, axis, top, bottom);
        out.push_str("</svg>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Bars: the value of the withdrawals refused each day (vermillion). Line: the value queued \
         at the end of each day, waiting for a settlement (blue). Amounts in each asset's units.{}</p>\n</section>",
        moments_note(&moments)
    );
}

fn services_table(out: &mut String, metrics: &Metrics) {
    out.push_str(
        "<section class=\"services\">\n<h2>Per service</h2>\n<table>\n<thead><tr><th>Service</th><th>Mode at end</th>\
         <th class=\"num\">Accepted</th><th class=\"num\">Refused</th><th>Refused by</th><th class=\"num\">Queued</th>\
         <th class=\"num\">Restricted hours</th><th class=\"num\">Closed hours</th></tr></thead>\n<tbody>\n",
    );
    for (name, service) in &metrics.services.0 {
        let causes: Vec<String> = service
            .refused_by
            .0
            .iter()
            .take(2)
            .map(|(cause, count)| {
                format!("<span class=\"mono\">{}</span> {}", escape(cause), percent(*count, service.refused))
            })
            .collect();
        let mut refused_by = causes.join(", ");
        if service.refused_by.0.len() > 2 {
            let _ = write!(refused_by, ", +{} more", service.refused_by.0.len() - 2);
        }
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"by\">{refused_by}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(name),
            mode_chip(service.mode_at_end, service.ceased_at_end),
            grouped(service.accepted),
            grouped(service.refused),
            grouped(service.queued),
            grouped(service.restricted_hours),
            grouped(service.closed_hours)
        );
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"note\">Refused by: the share of the service's refusals each cause made \
         (at most two shown). Restricted hours: any mode short of fully open, caps included; closed hours: \
         closed or halted.</p>\n</section>\n",
    );
}

fn phases_table(out: &mut String, metrics: &Metrics, clock: &Clock) {
    out.push_str(
        "<section class=\"phases\">\n<h2>Phases</h2>\n<table>\n<thead><tr><th>Phase</th><th>Title</th>\
         <th>Opened at</th></tr></thead>\n<tbody>\n",
    );
    for phase in &metrics.phases {
        let opened = match (phase.opened_at, &phase.blocked_by) {
            (Some(at), _) => escape(&clock.both(at)),
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

fn violations(out: &mut String, metrics: &Metrics, clock: &Clock) {
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
            escape(&clock.both(violation.at)),
            escape(&violation.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Scenario events and settlements the state refused: shown only when there are some.
fn scenario_rejections(out: &mut String, metrics: &Metrics, clock: &Clock) {
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
            escape(&clock.both(rejection.at)),
            escape(&rejection.kind),
            escape(&rejection.source),
            escape(&rejection.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// What each figure counts, in one place at the end.
fn definitions(out: &mut String, metrics: &Metrics) {
    let _ = writeln!(
        out,
        "<section class=\"definitions\">\n<h2>What the figures count</h2>\n<dl>\n\
         <dt>Customers affected</dt><dd>Distinct people with at least one request refused or queued. It counts the \
         workload's {} existing customers and every sign-up applicant refused, so it can exceed the customer base.</dd>\n\
         <dt>Existing customers served</dt><dd>From when every service but sign-ups was usable (not closed or halted) \
         and stayed so to the end. <em>Never</em> names the services still short of it at the end and the holds \
         keeping them there.</dd>\n\
         <dt>Full service</dt><dd>From when every service but sign-ups was fully open, without order-size caps, and \
         stayed so.</dd>\n\
         <dt>Refusals by cause</dt><dd>Each refused request counts once, against the hold whose mode did not allow it \
         (the most restrictive hold covering the service), an order-size cap it exceeded, or the venue's cessation.</dd>\n\
         <dt>Withdrawal backlog</dt><dd>Withdrawals accepted while <code>delayed</code> and not yet settled.</dd>\n\
         <dt>Ceased</dt><dd>A venue that ceased (insolvency) is terminal: its services are ceased, not closed, and \
         nothing reopens.</dd>\n</dl>\n</section>",
        grouped(u64::from(metrics.customers))
    );
}

/// The ranges of a sweep: each figure's p5, p50 and p95, and each phase's opening range
/// as a band from p5 to p95 with a tick at p50, on the report's time axis.
fn uncertainty(out: &mut String, sweep: &Sweep, axis: &Axis, clock: &Clock) {
    let _ = writeln!(
        out,
        "<section class=\"uncertainty\">\n<h2>Under uncertainty: {} runs</h2>\n<p class=\"note\">Each run draws its own \
         customers (a seed derived from {}) and every range of the plan and the scenario; the rest of this report is \
         the single run at every range's central value.</p>\n<table>\n<thead><tr><th>Figure</th><th class=\"num\">p5</th>\
         <th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">Never (runs)</th></tr></thead>\n<tbody>",
        sweep.runs, sweep.base_seed
    );
    let number = |figure: &crate::sweep::FigureRange, value: Option<u64>| match (value, &figure.asset) {
        (None, _) => "<span class=\"never\">never</span>".to_owned(),
        (Some(_), Some(_)) => escape(&sweep.value_text(figure, value)),
        (Some(value), None) => grouped(value),
    };
    for figure in &sweep.figures {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&figure.figure),
            number(figure, figure.p5),
            number(figure, figure.p50),
            number(figure, figure.p95),
            figure.never
        );
    }
    out.push_str("</tbody>\n</table>\n<h3>Phase openings: p5 to p95, p50 marked</h3>\n");
    const ROW: i64 = 22;
    let top = 8;
    let bottom = top + sweep.phases.len() as i64 * ROW;
    svg_open(out, bottom + 26, "Phase opening ranges over the sweep");
    axis.draw(out, top, bottom);
    for (index, phase) in sweep.phases.iter().enumerate() {
        let y = top + index as i64 * ROW;
        let describe = |at: Option<Timestamp>| at.map_or_else(|| "never".to_owned(), |at| clock.both(at));
        let tooltip = format!(
            "{}: p5 {}, p50 {}, p95 {}; never in {} of {} runs",
            phase.id,
            describe(phase.p5),
            describe(phase.p50),
            describe(phase.p95),
            phase.never,
            sweep.runs
        );
        let Some(low) = phase.p5 else {
            let _ = writeln!(
                out,
                "<text class=\"band-label\" x=\"{}\" y=\"{}\">{}: never opened<title>{}</title></text>",
                axis.left + 4,
                y + ROW / 2 + 4,
                escape(&phase.id),
                escape(&tooltip)
            );
            continue;
        };
        let x0 = axis.x(low);
        let x1 = phase.p95.map_or(axis.right(), |at| axis.x(at));
        // The phase's name beside its band: right of it, or left where it would not fit.
        let band_end = x1.max(x0 + BAR_WIDTH_MIN);
        let label_width = text_width(&phase.id, 66);
        let (label_x, anchor) =
            if band_end + 6 + label_width <= axis.right() { (band_end + 6, "start") } else { (x0 - 6, "end") };
        let _ = writeln!(
            out,
            "<text class=\"band-label\" x=\"{label_x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            y + ROW / 2 + 4,
            escape(&phase.id)
        );
        let _ = writeln!(
            out,
            "<rect class=\"band\" x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"12\" fill=\"{BLUE}\" fill-opacity=\"0.35\" \
             stroke=\"{BLUE}\"><title>{}</title></rect>",
            y + 5,
            (x1 - x0).max(BAR_WIDTH_MIN),
            escape(&tooltip)
        );
        if let Some(median) = phase.p50 {
            let x = axis.x(median);
            let _ = writeln!(
                out,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{CEASED}\" stroke-width=\"2\"/>",
                y + 3,
                y + 19
            );
        }
    }
    out.push_str("</svg>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">Control violations in {} of {} runs. A band running to the right edge: the phase never opened \
         in more than 5% of the runs.</p>\n</section>",
        sweep.runs_with_violations, sweep.runs
    );
}

// ---------------------------------------------------------------------------------------
// The comparison of several plans.

/// Colours and dash patterns of the plans in a comparison: told apart by both.
const PLAN_COLOURS: [&str; 6] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];
const PLAN_DASHES: [&str; 4] = ["", "7 4", "2 3", "9 3 2 3"];
const PLAN_CSS_BORDERS: [&str; 4] = ["solid", "dashed", "dotted", "double"];

fn plan_stroke(index: usize) -> (&'static str, String) {
    let dash = PLAN_DASHES[index % PLAN_DASHES.len()];
    let dash = if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") };
    (PLAN_COLOURS[index % PLAN_COLOURS.len()], dash)
}

fn plan_legend(out: &mut String, runs: &[(&Metrics, &Timeline)]) {
    out.push_str("<ul class=\"legend\" aria-label=\"Plans\">\n");
    for (index, (metrics, _)) in runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "<li><span class=\"plan-line\" style=\"border-top:3px {} {}\"></span>Plan {}: {}</li>",
            PLAN_CSS_BORDERS[index % PLAN_CSS_BORDERS.len()],
            PLAN_COLOURS[index % PLAN_COLOURS.len()],
            index + 1,
            escape(&metrics.plan)
        );
    }
    out.push_str("</ul>\n");
}

/// A self-contained HTML comparison of plans run against one scenario: the metrics side
/// by side with the best marked and deltas against the first plan, every plan's Gantt
/// chart on one shared time axis, the backlog and refusal curves overlaid, the phases'
/// opening dates side by side, and each plan's violations. `rows` is
/// [`crate::text::comparison`] of the same runs.
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// # let mut runs = Vec::new();
/// # for plan in ["plan.toml", "plan-crypto-first.toml"] {
/// #     let run = simulate(&scenario, &Plan::load(&root.join(plan))?, &options, &mut |_| {})?;
/// #     runs.push((run.replay.finished_timeline(), run.metrics));
/// # }
/// let metrics: Vec<exops_sim::Metrics> = runs.iter().map(|(_, metrics)| metrics.clone()).collect();
/// let rows = exops_sim::text::comparison(&metrics);
/// let pairs: Vec<_> = runs.iter().map(|(timeline, metrics)| (metrics, timeline)).collect();
/// let page = exops_sim::report::comparison_html("BITPoint: two plans", &pairs, &rows);
/// assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<h1>BITPoint: two plans</h1>"));
/// assert!(page.contains("<th>Plan 2 opened</th>"));
/// assert!(!page.contains("<script"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn comparison_html(title: &str, runs: &[(&Metrics, &Timeline)], rows: &[crate::text::ComparisonRow]) -> String {
    comparison_html_with_sweeps(title, runs, rows, &[])
}

/// The comparison and, when `sweeps` has one sweep per plan, each plan's ranges. With no
/// sweeps it is [`comparison_html`].
///
/// ```
/// # use std::path::Path;
/// # use exops_sim::{Options, Plan, Scenario, simulate};
/// # let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
/// # let scenario = Scenario::load(&root.join("scenario.toml"))?;
/// # let options = Options { scale_percent: 1, ..Options::default() };
/// # let mut runs = Vec::new();
/// # for plan in ["plan.toml", "plan-crypto-first.toml"] {
/// #     let run = simulate(&scenario, &Plan::load(&root.join(plan))?, &options, &mut |_| {})?;
/// #     runs.push((run.replay.finished_timeline(), run.metrics));
/// # }
/// let metrics: Vec<exops_sim::Metrics> = runs.iter().map(|(_, metrics)| metrics.clone()).collect();
/// let rows = exops_sim::text::comparison(&metrics);
/// let pairs: Vec<_> = runs.iter().map(|(timeline, metrics)| (metrics, timeline)).collect();
/// let page = exops_sim::report::comparison_html_with_sweeps("two plans", &pairs, &rows, &[]);
/// assert_eq!(page, exops_sim::report::comparison_html("two plans", &pairs, &rows));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn comparison_html_with_sweeps(
    title: &str,
    runs: &[(&Metrics, &Timeline)],
    rows: &[crate::text::ComparisonRow],
    sweeps: &[Sweep],
) -> String {
    let mut out = String::with_capacity(256 * 1024);
    head(&mut out, title);
    let Some((first, _)) = runs.first() else {
        out.push_str("<p>No plan to compare.</p>\n</main>\n</body>\n</html>\n");
        return out;
    };
    let clock = Clock::of(first);
    let timelines: Vec<Timeline> = runs.iter().map(|(_, timeline)| (*timeline).clone()).collect();
    let axis = Axis::shared(first, &timelines, &clock);
    let _ = writeln!(out, "<header>\n<h1>{}</h1>\n<dl class=\"meta\">", escape(title));
    let _ = writeln!(out, "<dt>Scenario</dt><dd>{}</dd>", escape(&first.scenario));
    for (index, (metrics, _)) in runs.iter().enumerate() {
        let _ = writeln!(out, "<dt>Plan {}</dt><dd>{}</dd>", index + 1, escape(&metrics.plan));
    }
    let days = first.end.micros_since(first.start).max(0) / DAY_MICROS;
    let _ = writeln!(
        out,
        "<dt>Seed</dt><dd>{}, the same customer requests for every plan</dd>\n<dt>Period</dt><dd>{} to {} ({days} days)</dd>\n\
         <dt>Local time</dt><dd>{}</dd>\n</dl>\n</header>",
        first.seed,
        escape(&clock.both(first.start)),
        escape(&clock.both(first.end)),
        if clock.is_utc() { "UTC".to_owned() } else { format!("{} ({})", escape(&clock.zone), clock.offset_text()) }
    );
    for (index, (metrics, _)) in runs.iter().enumerate() {
        if let Some(ceased) = &metrics.ceased {
            let _ = writeln!(
                out,
                "<section class=\"ceased-headline\">\n<h2>Plan {}: the venue ceased on {}</h2>\n<p class=\"why\">Why: {}</p>\n</section>",
                index + 1,
                escape(&clock.both(ceased.at)),
                escape(&ceased.reason)
            );
        }
    }
    comparison_table(&mut out, runs, rows);
    for (index, sweep) in sweeps.iter().enumerate() {
        let mut section = String::new();
        uncertainty(&mut section, sweep, &axis, &clock);
        out.push_str(&section.replacen(
            "<h2>Under uncertainty",
            &format!("<h2>Plan {}: under uncertainty", index + 1),
            1,
        ));
    }

    out.push_str("<section class=\"gantt\">\n<h2>Service modes over time, plan by plan</h2>\n");
    let _ = writeln!(out, "<p class=\"note\">Every chart shares one time axis. {}</p>", escape(&axis.caption(&clock)));
    for (index, (metrics, timeline)) in runs.iter().enumerate() {
        let _ = writeln!(out, "<h3 class=\"plan-gantt\">Plan {}: {}</h3>", index + 1, escape(&metrics.plan));
        gantt_chart(&mut out, metrics, timeline, &axis, &clock);
    }
    out.push_str("</section>\n");

    overlaid_backlog(&mut out, runs, &axis);
    overlaid_refusals(&mut out, runs, &axis);
    overlaid_money(&mut out, runs, &axis);
    phases_side_by_side(&mut out, runs, &clock);
    for (index, (metrics, _)) in runs.iter().enumerate() {
        let _ = writeln!(out, "<div class=\"plan-violations\" data-plan=\"{}\">", index + 1);
        let mut section = String::new();
        violations(&mut section, metrics, &clock);
        out.push_str(&section.replacen(
            "<h2>Control violations",
            &format!("<h2>Plan {}: control violations", index + 1),
            1,
        ));
        out.push_str("</div>\n");
    }
    definitions(&mut out, first);
    let _ = write!(
        out,
        "<footer>Compared with exops-sim. Times are the venue's local time ({}){}. Amounts are in each asset's \
         units. This file is self-contained: it loads nothing from the network.</footer>\n</main>\n</body>\n</html>\n",
        escape(&clock.zone),
        if clock.is_utc() { "" } else { " with UTC in parentheses" }
    );
    out
}

/// `+1,234`, `−1,234` or `±0`.
fn delta(value: u64, base: u64) -> String {
    match value.cmp(&base) {
        std::cmp::Ordering::Equal => "±0".to_owned(),
        std::cmp::Ordering::Greater => format!("+{}", grouped(value - base)),
        std::cmp::Ordering::Less => format!("−{}", grouped(base - value)),
    }
}

fn comparison_table(out: &mut String, runs: &[(&Metrics, &Timeline)], rows: &[crate::text::ComparisonRow]) {
    out.push_str("<section class=\"comparison\">\n<h2>Metrics side by side</h2>\n<table class=\"comparison\">\n<thead><tr><th>Figure</th>");
    for index in 0..runs.len() {
        let _ = write!(out, "<th class=\"num\">Plan {}</th>", index + 1);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(&row.figure));
        for (index, value) in row.values.iter().enumerate() {
            let text = value.map_or_else(|| "<span class=\"never\">never</span>".to_owned(), grouped);
            let delta = match (index, value, row.values[0]) {
                (0, _, _) => String::new(),
                (_, Some(value), Some(base)) => format!("<div class=\"delta\">{} vs plan 1</div>", delta(*value, base)),
                _ => String::new(),
            };
            let best = row.best == Some(index);
            let _ = write!(
                out,
                "<td class=\"num{}\">{text}{}{delta}</td>",
                if best { " best" } else { "" },
                if best { " <span class=\"best-mark\">★ best</span>" } else { "" }
            );
        }
        out.push_str("</tr>\n");
    }
    // The money out of reach, per asset, in its units.
    let mut assets: Vec<&str> = Vec::new();
    for (metrics, _) in runs {
        for (asset, _) in &metrics.withdrawals_refused_minor.0 {
            if !assets.contains(&asset.as_str()) {
                assets.push(asset);
            }
        }
    }
    for asset in assets {
        let _ = write!(out, "<tr><th scope=\"row\">withdrawals refused, value in {}</th>", escape(asset));
        let values: Vec<i64> = runs
            .iter()
            .map(|(metrics, _)| metrics.withdrawals_refused_minor.get(asset).copied().unwrap_or(0))
            .collect();
        let lowest = values.iter().min().copied().unwrap_or(0);
        let unique = values.iter().filter(|value| **value == lowest).count() == 1;
        for (index, ((metrics, _), value)) in runs.iter().zip(&values).enumerate() {
            let best = unique && *value == lowest;
            let delta = if index == 0 {
                String::new()
            } else {
                let difference = value.saturating_sub(values[0]);
                let sign = if difference > 0 {
                    "+"
                } else if difference < 0 {
                    "−"
                } else {
                    "±"
                };
                format!(
                    "<div class=\"delta\">{sign}{} vs plan 1</div>",
                    escape(money(metrics, difference.saturating_abs(), asset).trim_start_matches('-'))
                )
            };
            let _ = write!(
                out,
                "<td class=\"num{}\">{}{}{delta}</td>",
                if best { " best" } else { "" },
                escape(&money(metrics, *value, asset)),
                if best { " <span class=\"best-mark\">★ best</span>" } else { "" }
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"note\">★ marks the best plan of a row (the lowest value, where lower is \
         better, when exactly one plan has it; \"requests queued\" is shown for information). Deltas are against \
         plan 1; <em>never</em> counts as worse than any number.</p>\n</section>\n",
    );
}

/// One line per plan over days: `value(metrics)` gives each plan's daily points.
#[allow(clippy::type_complexity)]
fn overlaid_chart(
    out: &mut String,
    runs: &[(&Metrics, &Timeline)],
    axis: &Axis,
    label: &str,
    y_title: &str,
    points: &dyn Fn(&Metrics) -> Vec<(Timestamp, u64)>,
    y_label: &dyn Fn(u64) -> String,
) {
    let series: Vec<Vec<(Timestamp, u64)>> = runs.iter().map(|(metrics, _)| points(metrics)).collect();
    let highest = series.iter().flatten().map(|(_, value)| *value).max().unwrap_or(0);
    let (max, step) = nice_scale(highest);
    let (top, bottom) = (26, 206);
    svg_open(out, bottom + 26, label);
    y_axis(out, axis, y_title, max, step, top, bottom, y_label);
    axis.draw(out, top, bottom);
    for (index, points) in series.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let (colour, dash) = plan_stroke(index);
        let line: Vec<String> =
            points.iter().map(|(at, value)| format!("{},{}", axis.x(*at), y_of(*value, max, top, bottom))).collect();
        let _ = writeln!(
            out,
            "<polyline class=\"plan-curve\" data-plan=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" \
             stroke-width=\"2\"{dash} stroke-linejoin=\"round\"><title>Plan {}</title></polyline>",
            index + 1,
            line.join(" "),
            index + 1
        );
    }
    out.push_str("</svg>\n");
}

fn overlaid_backlog(out: &mut String, runs: &[(&Metrics, &Timeline)], axis: &Axis) {
    out.push_str("<section class=\"backlog\">\n<h2>Withdrawal backlog, plans overlaid</h2>\n");
    if runs.iter().all(|(metrics, _)| metrics.withdrawal_backlog.iter().all(|sample| sample.queued == 0)) {
        out.push_str("<p class=\"note empty\">No plan ever queued a withdrawal.</p>\n</section>\n");
        return;
    }
    overlaid_chart(
        out,
        runs,
        axis,
        "Withdrawal backlog over time, one line per plan",
        "queued",
        &|metrics| metrics.withdrawal_backlog.iter().map(|sample| (sample.at, sample.queued)).collect(),
        &grouped,
    );
    plan_legend(out, runs);
    out.push_str("<p class=\"note\">Queued withdrawals across every asset at the end of each day.</p>\n</section>\n");
}

fn overlaid_refusals(out: &mut String, runs: &[(&Metrics, &Timeline)], axis: &Axis) {
    out.push_str("<section class=\"refusals\">\n<h2>Refused requests per day, plans overlaid</h2>\n");
    if runs.iter().all(|(metrics, _)| metrics.requests.refused == 0) {
        out.push_str("<p class=\"note empty\">No plan refused a customer request.</p>\n</section>\n");
        return;
    }
    overlaid_chart(
        out,
        runs,
        axis,
        "Refused requests per day, one line per plan",
        "refused",
        &|metrics| metrics.refused_per_day.iter().map(|day| (day.day_start, day.refused)).collect(),
        &grouped,
    );
    plan_legend(out, runs);
    out.push_str("<p class=\"note\">Each point is one day's refusals, at the day's start.</p>\n</section>\n");
}

fn overlaid_money(out: &mut String, runs: &[(&Metrics, &Timeline)], axis: &Axis) {
    out.push_str("<section class=\"money\">\n<h2>Value of refused withdrawals per day, plans overlaid</h2>\n");
    let Some((first, _)) = runs.first() else { return };
    let assets: Vec<&str> = first
        .assets
        .iter()
        .map(|asset| asset.code.as_str())
        .filter(|asset| {
            runs.iter().any(|(metrics, _)| metrics.withdrawals_refused_minor.get(asset).is_some_and(|value| *value > 0))
        })
        .collect();
    if assets.is_empty() {
        out.push_str("<p class=\"note empty\">No plan refused a withdrawal.</p>\n</section>\n");
        return;
    }
    for asset in assets {
        let _ = writeln!(out, "<h3>{}</h3>", escape(asset));
        let to_money = |value: u64| money(first, i64::try_from(value).unwrap_or(i64::MAX), asset);
        overlaid_chart(
            out,
            runs,
            axis,
            &format!("Value of {asset} withdrawals refused per day, one line per plan"),
            asset,
            &|metrics| {
                metrics
                    .refused_per_day
                    .iter()
                    .map(|day| {
                        (day.day_start, day.withdrawals_refused_minor.get(asset).copied().unwrap_or(0).max(0) as u64)
                    })
                    .collect()
            },
            &to_money,
        );
    }
    plan_legend(out, runs);
    out.push_str("</section>\n");
}

fn phases_side_by_side(out: &mut String, runs: &[(&Metrics, &Timeline)], clock: &Clock) {
    out.push_str("<section class=\"phases\">\n<h2>Phases side by side</h2>\n<table>\n<thead><tr><th>Phase</th>");
    for index in 0..runs.len() {
        let _ = write!(out, "<th>Plan {} opened</th>", index + 1);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut ids: Vec<&str> = Vec::new();
    for (metrics, _) in runs {
        for phase in &metrics.phases {
            if !ids.contains(&phase.id.as_str()) {
                ids.push(&phase.id);
            }
        }
    }
    for id in ids {
        let _ = write!(out, "<tr><td class=\"mono\">{}</td>", escape(id));
        for (metrics, _) in runs {
            let cell = match metrics.phases.iter().find(|phase| phase.id == id) {
                None => "<span class=\"muted\">not in this plan</span>".to_owned(),
                Some(phase) => match (phase.opened_at, &phase.blocked_by) {
                    (Some(at), _) => escape(&clock.both(at)),
                    (None, Some(blocked)) => {
                        format!("<span class=\"never\">never</span> (blocked by {})", escape(blocked))
                    }
                    (None, None) => "<span class=\"never\">never</span>".to_owned(),
                },
            };
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
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
}
