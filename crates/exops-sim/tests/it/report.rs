//! The HTML report: self-contained, escaped, deterministic, and readable in a real browser.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use exops_core::{Mode, OrderedMap, Timestamp};
use exops_replay::{Interval, ServiceTimeline, Timeline};
use exops_sim::Metrics;
use exops_sim::metrics::{
    AssetUnit, BacklogSample, CauseKind, DayCount, Milestone, PhaseOutcome, RecoveryTimes, RefusalCause,
    ServiceMetrics, StillRestricted, Totals, Violation,
};
use exops_sim::plan::Plan;
use exops_sim::report;
use exops_sim::scenario::Scenario;

const HOSTILE: &str = "<script>alert(1)</script>&\"quoted\"";
const HOSTILE_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;quoted&quot;";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_owned()
}

#[derive(Debug)]
struct Run {
    metrics: Metrics,
    timeline: Timeline,
}

/// A fixture's plan simulated at `scale_percent` of its workload.
fn simulated(fixture: &str, plan: &str, scale_percent: u32) -> Run {
    let fixtures = root().join("fixtures").join(fixture);
    let scenario = Scenario::load(&fixtures.join("scenario.toml")).unwrap();
    let plan = Plan::load(&fixtures.join(plan)).unwrap();
    let options = exops_sim::Options { scale_percent, ..Default::default() };
    let simulation = exops_sim::simulate(&scenario, &plan, &options, &mut |_| {}).unwrap();
    Run { timeline: simulation.replay.finished_timeline(), metrics: simulation.metrics }
}

/// The BITPoint fixture simulated at 1% of its workload, once per test binary.
fn bitpoint() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| simulated("bitpoint-2019", "plan.toml", 1))
}

/// Mt. Gox's plan that tries to reopen after the insolvency, at 1%.
fn mtgox_reopen() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| simulated("mtgox-2014", "plan-reopen.toml", 1))
}

/// What Coincheck did, at 1%: XEM never reopens within the period.
fn coincheck() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| simulated("coincheck-2018", "plan.toml", 1))
}

fn bitpoint_html() -> String {
    let run = bitpoint();
    report::html("BITPoint Japan, July 2019: what BITPoint did", &run.metrics, &run.timeline)
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// An interval whose first hold sets the mode, unless the mode is fully open.
fn interval(mode: Mode, from: &str, to: Option<&str>, holds: &[&str], cap: Option<i64>) -> Interval {
    let restricted = !matches!(mode, Mode::Online | Mode::Open);
    Interval {
        mode,
        from: at(from),
        to: to.map(at),
        held_by: holds.first().filter(|_| restricted).map(|hold| (*hold).to_owned()),
        holds: holds.iter().map(|hold| (*hold).to_owned()).collect(),
        max_order_notional_minor: cap,
    }
}

fn service(mode_at_end: Mode) -> ServiceMetrics {
    ServiceMetrics {
        mode_at_end,
        ceased_at_end: false,
        accepted: 10,
        refused: 5,
        queued: 1,
        restricted_hours: 48,
        closed_hours: 24,
        refused_by: OrderedMap(vec![("all".to_owned(), 4), ("caps (order cap)".to_owned(), 1)]),
    }
}

/// A small hand-made run: hostile names, a capped interval, a violation, a phase that
/// never opened, no full service.
fn handmade() -> (Metrics, Timeline) {
    let start = at("2024-03-01T00:00:00Z");
    let end = at("2024-03-11T00:00:00Z");
    let metrics = Metrics {
        scenario: format!("scenario {HOSTILE}"),
        plan: format!("plan {HOSTILE}"),
        seed: 7,
        start,
        end,
        incident_at: Some(at("2024-03-01T06:00:00Z")),
        utc_offset_hours: 0,
        time_zone: None,
        customers: 10_000,
        ceased: None,
        assets: vec![
            AssetUnit { code: "JPY".to_owned(), decimals: 0 },
            AssetUnit { code: "BTC".to_owned(), decimals: 8 },
        ],
        events: 100,
        customer_requests: 90,
        requests: Totals { accepted: 60, refused: 25, queued: 5 },
        customers_affected: 12_345,
        withdrawal_backlog_peak: 5,
        withdrawal_backlog_peak_at: Some(at("2024-03-04T12:00:00Z")),
        recovery: RecoveryTimes {
            existing_customers_served: Some(Milestone {
                at: at("2024-03-05T06:00:00Z"),
                hours_after_incident: Some(96),
            }),
            full_service: None,
            signups_open: None,
            existing_customers_served_blocked_by: Vec::new(),
            full_service_blocked_by: vec![StillRestricted {
                service: "withdrawals:BTC".to_owned(),
                mode: Mode::Delayed,
                max_order_notional_minor: None,
                held_by: Some(HOSTILE.to_owned()),
                holds: vec![HOSTILE.to_owned()],
                ceased: false,
            }],
            signups_open_blocked_by: vec![StillRestricted {
                service: "onboarding".to_owned(),
                mode: Mode::Closed,
                max_order_notional_minor: None,
                held_by: Some("all".to_owned()),
                holds: vec!["all".to_owned()],
                ceased: false,
            }],
        },
        refunds_paid_minor: OrderedMap(vec![("JPY".to_owned(), 1_500_000), ("BTC".to_owned(), 0)]),
        scenario_rejections: Vec::new(),
        violations: vec![Violation {
            phase: "reopen-btc".to_owned(),
            action: 2,
            kind: "hold_lifted".to_owned(),
            at: at("2024-03-03T00:00:00Z"),
            reason: format!("keys not rotated {HOSTILE}"),
        }],
        phases: vec![
            PhaseOutcome {
                id: "reopen-btc".to_owned(),
                title: Some("BTC back".to_owned()),
                opened_at: Some(at("2024-03-03T00:00:00Z")),
                blocked_by: None,
            },
            PhaseOutcome {
                id: "signups".to_owned(),
                title: None,
                opened_at: None,
                blocked_by: Some("review not passed".to_owned()),
            },
        ],
        phases_never_opened: vec!["signups".to_owned()],
        services: OrderedMap(vec![
            ("trading:BTC/JPY".to_owned(), service(Mode::Online)),
            ("withdrawals:BTC".to_owned(), service(Mode::Delayed)),
            ("onboarding".to_owned(), service(Mode::Closed)),
        ]),
        withdrawal_backlog: (1..=10)
            .map(|day| BacklogSample {
                at: Timestamp::from_unix_micros(start.unix_micros() + day * 86_400_000_000),
                queued: (day as u64 * 7) % 5,
                queued_minor: OrderedMap(vec![("BTC".to_owned(), (day * 7) % 5 * 25_000_000)]),
            })
            .collect(),
        refused_per_day: (0..10)
            .map(|day| DayCount {
                day_start: Timestamp::from_unix_micros(start.unix_micros() + day * 86_400_000_000),
                refused: day as u64 % 4,
                by_cause: OrderedMap(
                    [
                        ("all".to_owned(), day as u64 % 4 / 2),
                        ("caps (order cap)".to_owned(), day as u64 % 4 - day as u64 % 4 / 2),
                    ]
                    .into_iter()
                    .filter(|(_, count)| *count > 0)
                    .collect(),
                ),
                withdrawals_refused_minor: OrderedMap(vec![("JPY".to_owned(), day * 10_000)]),
            })
            .collect(),
        refusal_causes: vec![
            RefusalCause {
                cause: "caps (order cap)".to_owned(),
                kind: CauseKind::OrderCap,
                hold: Some("caps".to_owned()),
                cap_minor: Some(1_000_000),
                cap_asset: Some("JPY".to_owned()),
                refused: 8,
            },
            RefusalCause {
                cause: "all".to_owned(),
                kind: CauseKind::Hold,
                hold: Some("all".to_owned()),
                cap_minor: None,
                cap_asset: None,
                refused: 6,
            },
        ],
        withdrawals_refused_minor: OrderedMap(vec![("JPY".to_owned(), 450_000)]),
    };
    let timeline = Timeline {
        venue: Some(format!("venue {HOSTILE}")),
        end: Some(end),
        services: vec![
            ServiceTimeline {
                service: "trading:BTC/JPY".to_owned(),
                intervals: vec![
                    interval(Mode::Online, "2024-03-01T00:00:00Z", Some("2024-03-01T06:00:00Z"), &[], None),
                    interval(Mode::Halted, "2024-03-01T06:00:00Z", Some("2024-03-03T00:00:00Z"), &["all"], None),
                    interval(Mode::Online, "2024-03-03T00:00:00Z", None, &["caps"], Some(1_000_000)),
                ],
            },
            ServiceTimeline {
                service: "withdrawals:BTC".to_owned(),
                intervals: vec![
                    interval(Mode::Closed, "2024-03-01T06:00:00Z", Some("2024-03-05T06:00:00Z"), &["all"], None),
                    interval(Mode::Delayed, "2024-03-05T06:00:00Z", None, &[HOSTILE], None),
                ],
            },
            ServiceTimeline {
                service: "onboarding".to_owned(),
                intervals: vec![interval(Mode::Closed, "2024-03-01T06:00:00Z", None, &["all"], None)],
            },
        ],
    };
    (metrics, timeline)
}

/// Checks what every report must be: one self-contained, balanced, escaped document.
fn assert_self_contained(html: &str) {
    for forbidden in ["http://", "https://", "src=", "href=", "<script", "<link", "@import", "<img", "<iframe"] {
        assert!(!html.to_lowercase().contains(forbidden), "the report must not contain `{forbidden}`");
    }
    // Fill patterns are referenced by id inside the document, never by address.
    for (offset, _) in html.match_indices("url(") {
        let reference = &html[offset + 4..];
        let id = &reference[..reference.find(')').unwrap()];
        assert!(id.starts_with('#'), "a url() that is not a fragment: url({id})");
        assert!(html.contains(&format!("<pattern id=\"{}\"", &id[1..])), "url({id}) names no pattern here");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    let opened = html.matches("<svg").count();
    assert!(opened >= 3, "a Gantt chart, a backlog curve and a refusals chart: {opened} <svg>");
    assert_eq!(opened, html.matches("</svg>").count(), "unbalanced <svg> tags");
    for tag in ["section", "table", "g", "title", "text"] {
        let open = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        assert_eq!(open, html.matches(&format!("</{tag}>")).count(), "unbalanced <{tag}> tags");
    }
}

/// The services labelling a Gantt row, in order.
fn gantt_rows(html: &str) -> Vec<&str> {
    html.split("<text class=\"row\"")
        .skip(1)
        .map(|rest| {
            let rest = &rest[rest.find('>').unwrap() + 1..];
            &rest[..rest.find("</text>").unwrap()]
        })
        .collect()
}

#[test]
fn bitpoint_report_is_self_contained_complete_and_deterministic() {
    let run = bitpoint();
    let html = bitpoint_html();
    assert_self_contained(&html);
    assert_eq!(html, bitpoint_html(), "the same input must give the same bytes");
    assert!(html.len() < 400_000, "the report is {} bytes", html.len());

    let services: Vec<&str> = run.timeline.services.iter().map(|entry| entry.service.as_str()).collect();
    assert!(services.contains(&"withdrawals:BTC"), "{services:?}");
    assert_eq!(gantt_rows(&html), services, "one Gantt row label per service, in order");

    let bars = html.matches("\" data-look=\"").count();
    let intervals: usize = run.timeline.services.iter().map(|entry| entry.intervals.len()).sum();
    assert!(bars > 0 && bars <= intervals, "{bars} bars for {intervals} intervals");
    for class in ["open", "restricted", "closed"] {
        assert!(html.contains(&format!("<rect class=\"{class}\"")), "no `{class}` bar");
    }
    for phase in &run.metrics.phases {
        assert!(html.contains(&format!(">{}</td>", phase.id)), "phase {} missing from the table", phase.id);
        assert!(html.contains(&format!("Phase {}", phase.id)), "phase {} has no marker", phase.id);
    }
    for text in [
        "Existing customers served",
        "Full service",
        "Sign-ups open",
        "Withdrawal backlog peak",
        "Refused requests per day",
        "Customers affected",
        "phase opened",
        "halted / closed",
        "Control violations",
        "Phases never opened",
    ] {
        assert!(html.contains(text), "the report lacks `{text}`");
    }
    assert!(html.contains(&format!("<strong>{}</strong>", group(run.metrics.customers_affected))));
    // While both suspensions cover BTC withdrawals, a bar says so, and which one closed them.
    assert!(
        html.contains(
            "withdrawals:BTC: closed\nfrom 2019-07-12 10:30 JST (01:30 UTC)\nto 2019-09-30 10:00 JST (01:00 UTC) (79 d 23 h)\n\
             held by: crypto-transfers-suspended\nholds: crypto-transfers-suspended, all-services-suspended</title>"
        ),
        "a tooltip for the interval under both suspensions"
    );
}

fn group(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[test]
fn hostile_names_are_escaped() {
    let run = bitpoint();
    let mut metrics = run.metrics.clone();
    metrics.plan = format!("plan {HOSTILE}");
    metrics.scenario = format!("scenario {HOSTILE}");
    let mut timeline = run.timeline.clone();
    timeline.venue = Some(format!("venue {HOSTILE}"));
    let html = report::html(&format!("title {HOSTILE}"), &metrics, &timeline);
    assert_self_contained(&html);
    for prefix in ["plan", "scenario", "venue", "title"] {
        assert!(html.contains(&format!("{prefix} {HOSTILE_ESCAPED}")), "{prefix} not escaped");
    }
    assert!(!html.contains("<script"));
    assert!(!html.contains("\"quoted\""));
}

#[test]
fn handmade_report_shows_caps_violations_and_unreached_milestones() {
    let (metrics, timeline) = handmade();
    let html = report::html("Drill", &metrics, &timeline);
    assert_self_contained(&html);
    assert_eq!(html, report::html("Drill", &metrics, &timeline));
    assert_eq!(gantt_rows(&html), ["trading:BTC/JPY", "withdrawals:BTC", "onboarding"]);
    assert!(!html.contains("<script"), "escaped everywhere");
    assert!(html.contains(&format!("keys not rotated {HOSTILE_ESCAPED}")));
    assert!(html.contains(&format!("holds: {HOSTILE_ESCAPED}")), "hold names escaped in tooltips");
    assert!(html.contains(&format!("held by: {HOSTILE_ESCAPED}")), "the hold setting the mode, escaped");
    // The capped but online interval is amber, the halted one red, the open one green.
    assert_eq!(html.matches("<rect class=\"restricted\"").count(), 2, "the capped interval and the delayed one");
    assert_eq!(html.matches("<rect class=\"closed\"").count(), 3);
    assert_eq!(html.matches("<rect class=\"open\"").count(), 1);
    assert!(html.contains("online (order cap ¥1,000,000)"));
    // One violation row, highlighted; the unreached milestones say never.
    assert_eq!(html.matches("<tr class=\"violation\">").count(), 1);
    assert!(html.contains("<strong>96 h</strong> after the incident"));
    assert_eq!(html.matches("<span class=\"never\">never</span>").count(), 3, "two milestones and one phase");
    // Phase and incident markers on every chart under the Gantt: refusals, backlog, one money chart per asset.
    assert_eq!(html.matches("<line class=\"moment\"").count(), 2 * 4, "two moments on each of four charts");
    assert!(html.contains("blocked by review not passed"));
    assert!(html.contains("¥1,500,000"), "money in the asset's units");
    assert!(html.contains("¥450,000"), "the value of the withdrawals refused");
    // Why full service and sign-ups never came: the services and the holds, escaped.
    assert!(html.contains(&format!("<code>withdrawals:BTC</code> — delayed by <code>{HOSTILE_ESCAPED}</code>")));
    assert!(html.contains("<code>onboarding</code> — closed by <code>all</code>"));
    // Refusals stacked by cause, with a legend naming the cap hold and its cap.
    assert!(html.contains("caps: orders over its size cap of ¥1,000,000 — 8 (61.5%)"), "{html}");
    assert!(html.contains("<span class=\"mono\">all</span> 80.0%"), "the per-service refused-by column");
    assert!(html.contains("more than the 10,000 customers") || html.contains("of 10,000 customers"));
    assert!(html.contains("12,345"));
    // Day ticks in month/day form, the incident and the phase as markers.
    for text in [">Mar 2</text>", ">Mar 10</text>", ">incident</text>", ">reopen-btc</text>"] {
        assert!(html.contains(text), "missing {text}");
    }
}

#[test]
fn empty_inputs_still_render() {
    let (mut metrics, _) = handmade();
    metrics.end = metrics.start;
    metrics.withdrawal_backlog.clear();
    metrics.refused_per_day.clear();
    metrics.phases.clear();
    metrics.violations.clear();
    metrics.incident_at = None;
    let html = report::html("Empty", &metrics, &Timeline::default());
    assert!(html.contains("The timeline has no services."));
    assert!(html.contains("None: no action of the plan broke a control."));
    assert!(html.trim_end().ends_with("</html>"));
}

/// The charts of a report (not the hidden one holding the fill patterns).
fn charts(html: &str) -> usize {
    html.matches("<svg viewBox").count()
}

#[test]
fn a_ceased_venue_is_the_headline_of_the_report_and_the_text() {
    let run = mtgox_reopen();
    let html = report::html("Mt. Gox", &run.metrics, &run.timeline);
    assert_self_contained(&html);
    let headline = html.find("<h2>The venue ceased on 2014-02-28 00:00 UTC</h2>").expect("a ceased headline");
    assert!(headline < html.find("Key metrics").unwrap(), "the headline comes before the metrics");
    assert!(html.contains("Why: civil rehabilitation filed"));
    // A marker on every chart: the Gantt chart labels it, the others draw its line.
    assert_eq!(html.matches("<title>The venue ceased at 2014-02-28 00:00 UTC").count(), charts(&html));
    assert!(html.contains(">venue ceased</text>"), "the Gantt chart's marker is labelled");
    // Every service reads as ceased at the end, in the table and on its last bar.
    let services = run.metrics.services.0.len();
    assert_eq!(html.matches("<span class=\"chip ceased\">ceased</span>").count(), services);
    assert_eq!(html.matches("<rect class=\"closed ceased\"").count(), services);
    assert!(html.contains("ceased with the venue on 2014-02-28"), "the milestones' never says why");
    let text = exops_sim::text::render(&run.metrics);
    assert!(
        text.contains("THE VENUE CEASED on 2014-02-28 00:00 UTC: civil rehabilitation filed"),
        "the text output's headline: {text}"
    );
    assert!(text.contains("withdrawals:BTC  ceased"), "services read as ceased: {text}");
}

#[test]
fn a_never_names_the_services_and_holds_still_restricted() {
    let run = coincheck();
    let html = report::html("Coincheck", &run.metrics, &run.timeline);
    assert_self_contained(&html);
    for text in [
        "<code>trading:XEM/JPY</code> — halted by <code>xem-trading-stopped</code> (also held by <code>altcoin-trading-suspended</code>)",
        "<code>deposits:XEM</code> — closed by <code>xem-deposits-restricted</code>",
        "<code>withdrawals:XEM</code> — closed by <code>withdrawals-suspended</code>",
    ] {
        assert_eq!(html.matches(text).count(), 2, "existing customers served and full service name `{text}`");
    }
    let text = exops_sim::text::render(&run.metrics);
    assert!(
        text.contains(
            "existing customers served from: never: at the end, trading:XEM/JPY: halted by `xem-trading-stopped`"
        ),
        "{text}"
    );
    // Empty charts are one sentence, and the venue's local time reads beside UTC.
    assert!(html.contains("<p class=\"note empty\">No withdrawal was ever queued.</p>"));
    assert!(html.contains("2018-01-26 03:00 JST (2018-01-25 18:00 UTC)"), "the incident in JST and UTC");
    assert!(html.contains("Time axis in JST (UTC+9)"));
}

#[test]
fn refusals_are_stacked_by_cause_and_money_reads_in_units() {
    let run = bitpoint();
    let html = bitpoint_html();
    let legend = &html[html.find("<ul class=\"legend\"").expect("a refusals legend")..];
    let legend = &legend[..legend.find("</ul>").unwrap()];
    assert!(legend.contains("spot-order-size-caps: orders over its size cap of ¥1,000,000"), "{legend}");
    assert!(legend.contains("all-services-suspended (hold)"), "{legend}");
    let causes = &run.metrics.refusal_causes;
    assert_eq!(causes[0].kind, CauseKind::OrderCap, "most refusals after reopening are the cap's: {causes:?}");
    assert_eq!(causes.iter().map(|cause| cause.refused).sum::<u64>(), run.metrics.requests.refused);
    for day in &run.metrics.refused_per_day {
        assert_eq!(day.by_cause.0.iter().map(|(_, count)| count).sum::<u64>(), day.refused, "{day:?}");
    }
    // A day's bar is as many rects as it has causes (up to the coloured ones).
    let stacked: usize = run.metrics.refused_per_day.iter().map(|day| day.by_cause.0.len()).sum();
    assert_eq!(html.matches("<rect class=\"cause\"").count(), stacked);
    // The per-service table's column, money in units, patterns for the restricted modes.
    assert!(html.contains("<th>Refused by</th>"));
    assert!(html.contains("<span class=\"mono\">spot-order-size-caps (order cap)</span>"));
    assert!(html.contains("¥160,000,000") && !html.contains("minor units"));
    for (look, legend) in [
        ("p-capped", "open with an order-size cap"),
        ("p-delayed", "delayed (queued, settled later)"),
        ("p-read-only", "read only"),
    ] {
        assert!(html.contains(&format!("data-look=\"{look}\"")), "no {look} bar");
        assert!(html.contains(&format!(">{legend}</text>")), "no legend for {look}");
    }
    assert!(html.contains(">delayed</text>") && html.contains(">cap ¥1,000,000</text>"), "bars carry labels");
    let text = exops_sim::text::render(&run.metrics);
    assert!(text.contains("paid to customers (refunds, converted claims): ¥160,000,000"), "{text}");
    assert!(text.contains("spot-order-size-caps (order cap)"), "the text's REFUSED BY column: {text}");
}

#[test]
fn short_intervals_stay_visible_and_local_time_labels_the_axis() {
    let (mut metrics, mut timeline) = handmade();
    metrics.utc_offset_hours = 9;
    metrics.time_zone = Some("JST".to_owned());
    timeline.services.push(ServiceTimeline {
        service: "login".to_owned(),
        intervals: vec![
            interval(Mode::Online, "2024-03-01T00:00:00Z", Some("2024-03-04T00:00:00Z"), &[], None),
            interval(Mode::Closed, "2024-03-04T00:00:00Z", Some("2024-03-04T00:30:00Z"), &["blip"], None),
            interval(Mode::Online, "2024-03-04T00:30:00Z", None, &[], None),
        ],
    });
    let html = report::html("Drill", &metrics, &timeline);
    assert_self_contained(&html);
    let bar = html.find("login: closed\nfrom 2024-03-04 09:00 JST (00:00 UTC)").expect("the short interval's bar");
    let rect = &html[html[..bar].rfind("<rect").unwrap()..bar];
    assert!(rect.contains("width=\"3\""), "drawn at the minimum width: {rect}");
    assert!(html.contains(">30 min</text>"), "labelled with its duration");
    // Ticks fall on local midnights: Mar 2 00:00 JST is Mar 1 15:00 UTC.
    assert!(html.contains(">Mar 2</text>"));
    assert!(html.contains("2024-03-01 09:00 JST (00:00 UTC) to 2024-03-11 09:00 JST (00:00 UTC)"));
    assert!(html.contains("Times are the venue's local time (JST, UTC+9) with UTC in parentheses"));
}

/// BITPoint's two plans at 1%, as `compare` runs them.
fn bitpoint_plans() -> &'static [Run] {
    static RUNS: OnceLock<Vec<Run>> = OnceLock::new();
    RUNS.get_or_init(|| {
        vec![simulated("bitpoint-2019", "plan.toml", 1), simulated("bitpoint-2019", "plan-crypto-first.toml", 1)]
    })
}

fn comparison_html() -> String {
    let runs = bitpoint_plans();
    let metrics: Vec<Metrics> = runs.iter().map(|run| run.metrics.clone()).collect();
    let rows = exops_sim::text::comparison(&metrics);
    let pairs: Vec<(&Metrics, &Timeline)> = runs.iter().map(|run| (&run.metrics, &run.timeline)).collect();
    report::comparison_html("BITPoint: two plans compared", &pairs, &rows)
}

#[test]
fn the_comparison_stacks_every_plans_gantt_on_one_axis_and_marks_the_best() {
    let runs = bitpoint_plans();
    let html = comparison_html();
    assert_self_contained(&html);
    assert_eq!(html, comparison_html(), "the same runs give the same bytes");
    assert_eq!(html.matches("<h3 class=\"plan-gantt\">").count(), 2, "one Gantt chart per plan");
    // One shared axis: the same tick positions under both Gantt charts.
    let ticks = |chart: &str| -> Vec<String> {
        chart
            .split("<text class=\"tick\" x=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .collect()
    };
    let gantts: Vec<&str> =
        html.split("<h3 class=\"plan-gantt\">").skip(1).map(|rest| &rest[..rest.find("</svg>").unwrap()]).collect();
    assert_eq!(ticks(gantts[0]), ticks(gantts[1]));
    for run in runs {
        for service in run.timeline.services.iter().map(|entry| entry.service.as_str()).take(1) {
            assert!(html.contains(service));
        }
        assert!(html.contains(&escape_text(&run.metrics.plan)));
    }
    // Best marks and deltas: the crypto-first plan serves existing customers sooner.
    let row = &html[html.find("<th scope=\"row\">hours to serve existing customers</th>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert_eq!(row.matches("★ best").count(), 1, "{row}");
    assert!(row.contains("<td class=\"num best\">"), "{row}");
    assert!(row.contains("vs plan 1"), "{row}");
    // Overlaid curves: a line per plan in the backlog, refusals and per-asset value charts.
    for plan in ["1", "2"] {
        assert!(html.matches(&format!("<polyline class=\"plan-curve\" data-plan=\"{plan}\"")).count() >= 3);
    }
    // Phases side by side: every phase of either plan, with both plans' columns.
    for run in runs {
        for phase in &run.metrics.phases {
            assert!(html.contains(&format!("<tr><td class=\"mono\">{}</td>", phase.id)), "{}", phase.id);
        }
    }
    assert!(html.contains("<th>Plan 2 opened</th>") && html.contains("not in this plan"));
    assert_eq!(html.matches("<div class=\"plan-violations\"").count(), 2, "violations per plan");
}

/// HTML-escaped as the report escapes text, written out here so that the test does not
/// share the function it checks.
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[test]
fn the_comparison_json_is_pinned() {
    let runs = bitpoint_plans();
    let metrics: Vec<Metrics> = runs.iter().map(|run| run.metrics.clone()).collect();
    let rows = exops_sim::text::comparison(&metrics);
    let json = exops_sim::text::ComparisonJson::new(&metrics, &rows);
    fn days(value: insta::internals::Content, _: insta::internals::ContentPath<'_>) -> String {
        format!("{} days", value.as_slice().map_or(0, <[_]>::len))
    }
    insta::assert_yaml_snapshot!("comparison-json", json, {
        ".metrics[].withdrawal_backlog" => insta::dynamic_redaction(days),
        ".metrics[].refused_per_day" => insta::dynamic_redaction(days),
        ".metrics[].services" => "[services: pinned by the fixtures' metrics snapshots]",
    });
    let first = serde_json::to_string(&json).unwrap();
    let again = serde_json::to_string(&exops_sim::text::ComparisonJson::new(&metrics, &rows)).unwrap();
    assert_eq!(first, again);
}

// ---------------------------------------------------------------------------------------
// The browser test.

fn chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless chromium on `page` with `extra` arguments, in a fresh profile, and
/// returns its standard output; fails on a non-zero exit or after two minutes.
fn run_chromium(binary: &Path, work: &Path, name: &str, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let stdout_path = work.join(format!("{name}.stdout"));
    let stderr_path = work.join(format!("{name}.stderr"));
    let mut command = Command::new(binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            // Anything the page tried to load would go to a closed port and fail.
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .env("HOME", work)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({name}) did not finish in 120 s; stderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(status.success(), "chromium ({name}) failed with {status}; stderr:\n{stderr}");
    std::fs::read_to_string(&stdout_path).unwrap()
}

/// A PNG's pixels as 8-bit RGB rows.
fn rgb(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let samples = frame.color_type.samples();
    assert!(samples >= 3, "a colour screenshot, not {:?}", frame.color_type);
    let mut pixels = Vec::with_capacity(frame.width as usize * frame.height as usize * 3);
    for row in buffer[..frame.buffer_size()].chunks_exact(frame.line_size) {
        for pixel in row[..frame.width as usize * samples].chunks_exact(samples) {
            pixels.extend_from_slice(&pixel[..3]);
        }
    }
    (frame.width, frame.height, pixels)
}

#[derive(Debug)]
struct Pixels {
    width: u32,
    height: u32,
    distinct_colours: usize,
    /// Pixels that are not (nearly) white, per thousand.
    inked_per_mille: usize,
}

fn measure(bytes: &[u8]) -> Pixels {
    let (width, height, pixels) = rgb(bytes);
    let pixels: Vec<&[u8]> = pixels.chunks_exact(3).collect();
    let distinct_colours = pixels.iter().collect::<std::collections::BTreeSet<_>>().len();
    let inked = pixels.iter().filter(|pixel| pixel.iter().any(|channel| *channel < 235)).count();
    Pixels { width, height, distinct_colours, inked_per_mille: inked * 1000 / pixels.len().max(1) }
}

/// The screenshot without the empty page background under the report.
fn trimmed(bytes: &[u8]) -> Vec<u8> {
    let (width, height, pixels) = rgb(bytes);
    let row_bytes = width as usize * 3;
    let background = &pixels[pixels.len() - 3..];
    let used = pixels
        .chunks_exact(row_bytes)
        .rposition(|row| row.chunks_exact(3).any(|pixel| pixel != background))
        .map_or(height as usize, |last| (last + 32).min(height as usize));
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, used as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    encoder.write_header().unwrap().write_image_data(&pixels[..used * row_bytes]).unwrap();
    out
}

fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let binary = chromium();
    if binary.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromium is not installed but CI is set: the browser test must run in CI \
                 (install it with `apt-get install -y chromium`; .ci/run does)"
            );
        }
        eprintln!("SKIPPED {test}: no chromium (/usr/bin/chromium or on PATH); CI is not set");
    }
    binary
}

/// Where the browser tests leave their screenshots: `target/screenshots/`.
fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opens `html` in headless chromium: takes a screenshot (kept as
/// `target/screenshots/NAME.png`) that must be a real chart, and returns the DOM
/// chromium built, which must hold every chart.
fn render_in_chromium(binary: &Path, name: &str, html: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let shot = work.path().join("shot.png");
    run_chromium(
        binary,
        work.path(),
        "screenshot",
        &page,
        &[format!("--screenshot={}", shot.display()), "--window-size=1400,1800".to_owned()],
    );
    let bytes = std::fs::read(&shot).unwrap_or_else(|error| panic!("no screenshot at {}: {error}", shot.display()));
    assert!(bytes.len() > 20_000, "the screenshot is only {} bytes", bytes.len());
    let pixels = measure(&bytes);
    assert_eq!((pixels.width, pixels.height), (1400, 1800), "{pixels:?}");
    assert!(pixels.distinct_colours > 10, "a blank or flat screenshot: {pixels:?}");
    assert!(pixels.inked_per_mille > 150, "too little on the page: {pixels:?}");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), &bytes).unwrap();
    let dom = run_chromium(binary, work.path(), "dom", &page, &["--dump-dom".to_owned()]);
    assert_eq!(dom.matches("<svg").count(), html.matches("<svg").count(), "chromium parsed every chart");
    dom
}

/// Renders the BITPoint report in headless chromium: the screenshot is a real chart (many
/// colours, much ink) and the DOM chromium built holds the key text, among which the
/// refusals legend naming the cap hold. Without chromium the test fails under CI (`CI`
/// set) and is skipped, loudly, elsewhere.
#[test]
fn bitpoint_report_renders_in_chromium() {
    let Some(binary) = chromium_or_skip("bitpoint_report_renders_in_chromium") else { return };
    let run = bitpoint();
    let dom = render_in_chromium(&binary, "report-bitpoint-2019", &bitpoint_html());
    for text in [
        run.metrics.plan.as_str(),
        "withdrawals:BTC",
        "crypto-withdrawals",
        "Existing customers served",
        "spot-order-size-caps: orders over its size cap of ¥1,000,000",
        "¥160,000,000",
        "JST (UTC+9)",
    ] {
        assert!(dom.contains(text), "chromium's DOM lacks `{text}`");
    }
    if std::env::var_os("EXOPS_UPDATE_SCREENSHOT").is_some_and(|value| value == "1") {
        update_screenshot(&binary, "bitpoint-2019", "plan.toml", "BITPoint Japan, July 2019: what BITPoint did");
    }
}

/// Mt. Gox's reopen attempt and Coincheck's plan in headless chromium: the cessation is
/// the headline, with its date; Coincheck's "never" names XEM's services and holds.
#[test]
fn mtgox_and_coincheck_reports_render_in_chromium() {
    let Some(binary) = chromium_or_skip("mtgox_and_coincheck_reports_render_in_chromium") else { return };
    let mtgox = mtgox_reopen();
    let html = report::html("Mt. Gox: reopen after the insolvency", &mtgox.metrics, &mtgox.timeline);
    let dom = render_in_chromium(&binary, "report-mtgox-2014", &html);
    for text in ["The venue ceased on 2014-02-28 00:00 UTC", "Why: civil rehabilitation filed", ">ceased</span>"] {
        assert!(dom.contains(text), "chromium's DOM of the Mt. Gox report lacks `{text}`");
    }
    let coincheck = coincheck();
    let html = report::html("Coincheck: what Coincheck did", &coincheck.metrics, &coincheck.timeline);
    let dom = render_in_chromium(&binary, "report-coincheck-2018", &html);
    for text in [
        "<code>trading:XEM/JPY</code> — halted by <code>xem-trading-stopped</code>",
        "<code>withdrawals:XEM</code> — closed by <code>withdrawals-suspended</code>",
        "No withdrawal was ever queued.",
    ] {
        assert!(dom.contains(text), "chromium's DOM of the Coincheck report lacks `{text}`");
    }
    if std::env::var_os("EXOPS_UPDATE_SCREENSHOT").is_some_and(|value| value == "1") {
        update_screenshot(&binary, "mtgox-2014", "plan-reopen.toml", "Mt. Gox: reopen after the insolvency");
        update_screenshot(&binary, "coincheck-2018", "plan.toml", "Coincheck: what Coincheck did");
    }
}

/// The comparison in headless chromium, with every network request sent to a closed
/// port: both plans' Gantt charts and the metrics table are in the DOM it built.
#[test]
fn the_comparison_renders_in_chromium() {
    let Some(binary) = chromium_or_skip("the_comparison_renders_in_chromium") else { return };
    let dom = render_in_chromium(&binary, "compare-bitpoint-2019", &comparison_html());
    assert_eq!(dom.matches("<h3 class=\"plan-gantt\">").count(), 2, "one Gantt chart per plan");
    for text in ["Metrics side by side", "★ best", "vs plan 1", "Phases side by side", "Crypto withdrawals first"] {
        assert!(dom.contains(text), "chromium's DOM of the comparison lacks `{text}`");
    }
    if std::env::var_os("EXOPS_UPDATE_SCREENSHOT").is_some_and(|value| value == "1") {
        let runs =
            [simulated("bitpoint-2019", "plan.toml", 100), simulated("bitpoint-2019", "plan-crypto-first.toml", 100)];
        let metrics: Vec<Metrics> = runs.iter().map(|run| run.metrics.clone()).collect();
        let rows = exops_sim::text::comparison(&metrics);
        let pairs: Vec<(&Metrics, &Timeline)> = runs.iter().map(|run| (&run.metrics, &run.timeline)).collect();
        let html = report::comparison_html("BITPoint Japan, July 2019: two plans compared", &pairs, &rows);
        write_full_page(&binary, &html, "compare-bitpoint-2019");
    }
}

/// Regenerates docs/report-FIXTURE.png: the fixture's plan at its full workload, the
/// whole page, trimmed of the empty background below it.
fn update_screenshot(binary: &Path, fixture: &str, plan: &str, title: &str) {
    let run = simulated(fixture, plan, 100);
    write_full_page(binary, &report::html(title, &run.metrics, &run.timeline), &format!("report-{fixture}"));
}

/// Writes docs/NAME.png: `html`'s whole page, trimmed of the empty background below it.
fn write_full_page(binary: &Path, html: &str, name: &str) {
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("full.html");
    std::fs::write(&page, html).unwrap();
    let shot = work.path().join("full.png");
    run_chromium(
        binary,
        work.path(),
        "full-page",
        &page,
        &[format!("--screenshot={}", shot.display()), "--window-size=1400,9000".to_owned()],
    );
    let png = trimmed(&std::fs::read(&shot).unwrap());
    let pixels = measure(&png);
    assert!(pixels.height < 9000, "the page is taller than the window: {pixels:?}");
    let target = root().join(format!("docs/{name}.png"));
    std::fs::write(&target, png).unwrap();
    eprintln!("updated {} ({}x{})", target.display(), pixels.width, pixels.height);
}
