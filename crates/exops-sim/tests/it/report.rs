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
    BacklogSample, DayCount, Milestone, PhaseOutcome, RecoveryTimes, ServiceMetrics, Totals, Violation,
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

/// The BITPoint fixture simulated at 1% of its workload, once per test binary.
fn bitpoint() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let fixtures = root().join("fixtures/bitpoint-2019");
        let scenario = Scenario::load(&fixtures.join("scenario.toml")).unwrap();
        let plan = Plan::load(&fixtures.join("plan.toml")).unwrap();
        let options = exops_sim::Options { scale_percent: 1, ..Default::default() };
        let simulation = exops_sim::simulate(&scenario, &plan, &options, &mut |_| {}).unwrap();
        Run { timeline: simulation.replay.finished_timeline(), metrics: simulation.metrics }
    })
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
    ServiceMetrics { mode_at_end, accepted: 10, refused: 5, queued: 1, restricted_hours: 48, closed_hours: 24 }
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
            })
            .collect(),
        refused_per_day: (0..10)
            .map(|day| DayCount {
                day_start: Timestamp::from_unix_micros(start.unix_micros() + day * 86_400_000_000),
                refused: day as u64 % 4,
            })
            .collect(),
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
    for forbidden in ["http://", "https://", "src=", "href=", "<script", "<link", "url(", "@import", "<img", "<iframe"]
    {
        assert!(!html.to_lowercase().contains(forbidden), "the report must not contain `{forbidden}`");
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

    let bars = html.matches("<rect class=\"").count();
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
            "withdrawals:BTC: closed\nfrom 2019-07-12T01:30:00Z\nto 2019-09-30T01:00:00Z\n\
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
    assert!(html.contains("online (order cap 1,000,000)"));
    // One violation row, highlighted; the unreached milestones say never.
    assert_eq!(html.matches("<tr class=\"violation\">").count(), 1);
    assert!(html.contains("<strong>96 h</strong> after the incident"));
    assert_eq!(html.matches("<span class=\"never\">never</span>").count(), 3, "two milestones and one phase");
    assert!(html.contains("blocked by review not passed"));
    assert!(html.contains("1,500,000 <span class=\"mono\">JPY</span>"));
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

/// Renders the BITPoint report in headless chromium: the screenshot is a real chart (many
/// colours, much ink) and the DOM chromium built holds the key text. Without chromium the
/// test fails under CI (`CI` set) and is skipped, loudly, elsewhere.
#[test]
fn bitpoint_report_renders_in_chromium() {
    let Some(binary) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromium is not installed but CI is set: the browser test must run in CI \
                 (install it with `apt-get install -y chromium`; .ci/run does)"
            );
        }
        eprintln!(
            "SKIPPED bitpoint_report_renders_in_chromium: no chromium (/usr/bin/chromium or on PATH); CI is not set"
        );
        return;
    };
    let run = bitpoint();
    let html = bitpoint_html();
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("report.html");
    std::fs::write(&page, &html).unwrap();

    let shot = work.path().join("shot.png");
    run_chromium(
        &binary,
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

    let dom = run_chromium(&binary, work.path(), "dom", &page, &["--dump-dom".to_owned()]);
    for text in [run.metrics.plan.as_str(), "withdrawals:BTC", "crypto-withdrawals", "Existing customers served"] {
        assert!(dom.contains(text), "chromium's DOM lacks `{text}`");
    }
    assert_eq!(dom.matches("<svg").count(), html.matches("<svg").count(), "chromium parsed every chart");

    if std::env::var_os("EXOPS_UPDATE_SCREENSHOT").is_some_and(|value| value == "1") {
        update_screenshot(&binary, work.path());
    }
}

/// Regenerates docs/report-bitpoint-2019.png: the BITPoint scenario at its full workload,
/// the whole page, trimmed of the empty background below it.
fn update_screenshot(binary: &Path, work: &Path) {
    let fixtures = root().join("fixtures/bitpoint-2019");
    let scenario = Scenario::load(&fixtures.join("scenario.toml")).unwrap();
    let plan = Plan::load(&fixtures.join("plan.toml")).unwrap();
    let simulation = exops_sim::simulate(&scenario, &plan, &exops_sim::Options::default(), &mut |_| {}).unwrap();
    let html = report::html(
        "BITPoint Japan, July 2019: what BITPoint did",
        &simulation.metrics,
        &simulation.replay.finished_timeline(),
    );
    let page = work.join("full.html");
    std::fs::write(&page, html).unwrap();
    let shot = work.join("full.png");
    run_chromium(
        binary,
        work,
        "full-page",
        &page,
        &[format!("--screenshot={}", shot.display()), "--window-size=1400,6000".to_owned()],
    );
    let png = trimmed(&std::fs::read(&shot).unwrap());
    let pixels = measure(&png);
    assert!(pixels.height < 6000, "the page is taller than the window: {pixels:?}");
    let target = root().join("docs/report-bitpoint-2019.png");
    std::fs::write(&target, png).unwrap();
    eprintln!("updated {} ({}x{})", target.display(), pixels.width, pixels.height);
}
