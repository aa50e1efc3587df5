//! Plans under uncertainty: ranges in plans and scenarios, and seeded sweeps whose
//! result depends on the inputs and the number of runs only.

use std::path::{Path, PathBuf};

use exops_sim::plan::Plan;
use exops_sim::scenario::Scenario;
use exops_sim::sweep::{run_seed, sweep};
use exops_sim::{Options, simulate};

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(relative)
}

fn bitpoint(plan: &str) -> (Scenario, Plan) {
    (
        Scenario::load(&fixture("bitpoint-2019/scenario.toml")).unwrap(),
        Plan::load(&fixture(&format!("bitpoint-2019/{plan}"))).unwrap(),
    )
}

#[test]
fn a_sweep_is_the_same_whatever_the_threads_and_whenever_it_runs() {
    let (scenario, plan) = bitpoint("plan-uncertain.toml");
    let options = Options { scale_percent: 1, ..Options::default() };
    let one_thread = sweep(&scenario, &plan, &options, 6, 1, &|| {}).unwrap();
    let two_threads = sweep(&scenario, &plan, &options, 6, 2, &|| {}).unwrap();
    assert_eq!(one_thread, two_threads);
    assert!(one_thread.daily.len() >= 2 && one_thread.daily.iter().all(|band| !band.days.is_empty()));
    assert_eq!(one_thread.daily, two_threads.daily, "the daily bands too");
    assert_eq!(serde_json::to_string(&one_thread).unwrap(), serde_json::to_string(&two_threads).unwrap());
    assert_eq!(one_thread.seeds, (0..6).map(|run| run_seed(2019, run)).collect::<Vec<_>>());
    // Another base seed gives other runs.
    let other = sweep(&scenario, &plan, &Options { seed: Some(7), ..options.clone() }, 6, 2, &|| {}).unwrap();
    assert_ne!(other.figures, one_thread.figures);
}

#[test]
fn ranges_draw_the_gates_per_run_and_a_single_run_takes_their_central_values() {
    let (scenario, plan) = bitpoint("plan-uncertain.toml");
    let controls = plan.phases.iter().position(|phase| phase.id == "controls").unwrap();
    let spread = plan.phases[controls].gate.after_incident_spread.expect("a range");
    assert_eq!(plan.phases[controls].gate.after_incident_micros, Some(spread.central()));
    assert_eq!(spread.central(), 76 * 86_400_000_000, "the mode of 60d..76d..100d");
    let options = Options { scale_percent: 1, ..Options::default() };
    let result = sweep(&scenario, &plan, &options, 12, 2, &|| {}).unwrap();
    let phase = &result.phases[controls];
    let (low, high) = (phase.p5.unwrap(), phase.p95.unwrap());
    assert!(low < high, "the controls open on different days: {phase:?}");
    let incident = scenario.first_incident_at().unwrap();
    for at in [low, high] {
        let days = at.micros_since(incident) / 86_400_000_000;
        assert!((60..=100).contains(&days), "{days} days after the incident");
    }
    // The rates spread ±10%: the runs meet different numbers of requests.
    let requests = result.figures.iter().find(|figure| figure.figure == "customer requests").unwrap();
    assert!(requests.p5 < requests.p95, "{requests:?}");
    // One run of the plan as it is: the central values, as simulate has always done.
    let single = simulate(&scenario, &plan, &options, &mut |_| {}).unwrap().metrics;
    let opened = single.phases[controls].opened_at.unwrap();
    assert_eq!(opened.micros_since(incident), 76 * 86_400_000_000);
}

#[test]
fn a_sweep_of_twenty_runs_is_pinned() {
    let (scenario, plan) = bitpoint("plan.toml");
    let options = Options { scale_percent: 1, ..Options::default() };
    let result = sweep(&scenario, &plan, &options, 20, 2, &|| {}).unwrap();
    assert_eq!(result.runs, 20);
    for figure in &result.figures {
        assert!(figure.p5 <= figure.p50 || figure.p50.is_none(), "{figure:?}");
        assert!(figure.p50 <= figure.p95 || figure.p95.is_none(), "{figure:?}");
    }
    insta::assert_yaml_snapshot!("bitpoint-plan-20-runs", result, { ".seeds" => "[20 seeds, from run_seed]" });
}

#[test]
fn ranges_are_checked_where_they_are_written() {
    let plan = |gate: &str| {
        Plan::parse("p.toml", &format!("name = \"p\"\n[[phases]]\nid = \"a\"\ngate = {{ {gate} }}\n"))
            .map_err(|error| error.to_string())
    };
    assert!(plan("after_incident = \"14d..42d\"").is_ok());
    assert!(plan("at = \"2024-01-01T00:00:00Z..2024-01-05T00:00:00Z\"").is_ok());
    let error = plan("after_incident = \"42d..14d\"").unwrap_err();
    assert!(
        error.starts_with("p.toml:3: phase `a`: gate `after_incident`: `42d..14d`: a range runs from low to high"),
        "{error}"
    );
    let error = plan("after_incident = \"14d..x\"").unwrap_err();
    assert!(error.contains("`x` is not a duration"), "{error}");
    let error = plan("after_incident = \"1d..2d..3d..4d\"").unwrap_err();
    assert!(error.contains("LOW..HIGH (uniform) or LOW..MODE..HIGH (triangular)"), "{error}");

    let text = std::fs::read_to_string(fixture("bitpoint-2019/scenario.toml")).unwrap();
    let ranged = text.replacen(
        "at = \"2019-07-11T22:12:00+09:00\"",
        "at = \"2019-07-11T22:00:00+09:00..2019-07-11T22:12:00+09:00..2019-07-11T23:00:00+09:00\"",
        1,
    );
    assert_ne!(ranged, text, "the fixture's first incident is where this test expects it");
    let scenario = Scenario::parse("s.toml", &ranged).unwrap();
    let event = scenario.events.iter().find(|event| event.at_spread.is_some()).expect("a dated range");
    assert_eq!(event.at.to_string(), "2019-07-11T13:12:00Z", "the mode");
    let bad = text.replacen(
        "at = \"2019-07-11T22:12:00+09:00\"",
        "at = \"2019-07-11T23:00:00+09:00..2019-07-11T22:00:00+09:00\"",
        1,
    );
    let error = Scenario::parse("s.toml", &bad).unwrap_err().to_string();
    assert!(error.contains("`at`:") && error.contains("a range runs from low to high"), "{error}");
    let spread = text.replacen("rate_spread_percent = 10", "rate_spread_percent = 95", 1);
    let error = Scenario::parse("s.toml", &spread).unwrap_err().to_string();
    assert!(error.contains("`rate_spread_percent` must be between 0 and 90"), "{error}");
}

#[test]
fn the_report_of_a_sweep_reads_money_in_units_and_names_each_band() {
    let (scenario, plan) = bitpoint("plan-uncertain.toml");
    let options = Options { scale_percent: 1, ..Options::default() };
    let result = sweep(&scenario, &plan, &options, 4, 2, &|| {}).unwrap();
    let single = simulate(&scenario, &plan, &options, &mut |_| {}).unwrap();
    let html =
        exops_sim::report::html_with_sweep("sweep", &single.metrics, &single.replay.finished_timeline(), Some(&result));
    assert!(html.contains("<h2>Under uncertainty: 4 runs</h2>"));
    let section = &html[html.find("<section class=\"uncertainty\">").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("withdrawals refused, value in JPY</td><td class=\"num\">¥"), "{section}");
    assert!(!section.contains("minor units"));
    assert_eq!(section.matches("<rect class=\"band\"").count(), plan.phases.len());
    for phase in &plan.phases {
        assert!(section.contains(&format!(">{}</text>", phase.id)), "a label for {}", phase.id);
    }
    let text = exops_sim::sweep::render(&result);
    assert!(text.contains("withdrawals refused, value in BTC") && text.contains(" BTC "), "{text}");
}

/// The section of `html` whose class is `class`, up to its end.
fn section<'a>(html: &'a str, class: &str) -> &'a str {
    let from = html.find(&format!("<section class=\"{class}\">")).unwrap_or_else(|| panic!("a {class} section"));
    let rest = &html[from..];
    &rest[..rest.find("</section>").expect("the section's end")]
}

#[test]
fn every_daily_curve_of_a_sweeps_report_has_its_band_and_says_what_it_is() {
    let (scenario, plan) = bitpoint("plan-uncertain.toml");
    let options = Options { scale_percent: 1, ..Options::default() };
    let result = sweep(&scenario, &plan, &options, 5, 2, &|| {}).unwrap();
    let single = simulate(&scenario, &plan, &options, &mut |_| {}).unwrap();
    let timeline = single.replay.finished_timeline();
    let html = exops_sim::report::html_with_sweep("sweep", &single.metrics, &timeline, Some(&result));
    let refusals = section(&html, "refusals");
    assert_eq!(refusals.matches("<polygon class=\"curve-band\" data-curve=\"refused\"").count(), 1);
    assert_eq!(refusals.matches("class=\"band-edge\"").count(), 2, "p5 and p95 edges");
    assert!(refusals.contains("shaded: p5–p95 of 5 runs"), "the legend names the band");
    let backlog = section(&html, "backlog");
    assert_eq!(backlog.matches("<polygon class=\"curve-band\" data-curve=\"backlog\"").count(), 1);
    assert!(backlog.contains("shaded: p5–p95 of 5 runs"));
    let money = section(&html, "money");
    let charts = money.matches("<svg").count();
    assert_eq!(charts, 6, "one chart per asset with money out of reach");
    assert_eq!(money.matches("data-curve=\"refused-value\"").count(), charts, "a band per asset's refused value");
    assert_eq!(money.matches("data-curve=\"queued-value\"").count(), charts - 1, "JPY is never queued");
    assert!(money.contains("p5–p95 of 5 runs"));
    // The median is drawn where it is not the central run's curve.
    assert!(html.contains("<polyline class=\"band-p50\""));
    // Without a sweep: no band anywhere.
    let plain = exops_sim::report::html("sweep", &single.metrics, &timeline);
    assert!(!plain.contains("curve-band") && !plain.contains("p-band") && !plain.contains("band-p50"));

    // A comparison of two sweeps: each plan's band on every overlaid curve.
    let other = Plan::load(&fixture("bitpoint-2019/plan-crypto-first.toml")).unwrap();
    let sweeps = [result, sweep(&scenario, &other, &options, 5, 2, &|| {}).unwrap()];
    let singles = [single, simulate(&scenario, &other, &options, &mut |_| {}).unwrap()];
    let metrics: Vec<exops_sim::Metrics> = singles.iter().map(|run| run.metrics.clone()).collect();
    let timelines: Vec<_> = singles.iter().map(|run| run.replay.finished_timeline()).collect();
    let rows = exops_sim::text::comparison(&metrics);
    let pairs: Vec<_> = metrics.iter().zip(&timelines).collect();
    let compared = exops_sim::report::comparison_html_with_sweeps("two", &pairs, &rows, &sweeps);
    for (class, curve) in [("backlog", "backlog"), ("refusals", "refused")] {
        let part = section(&compared, class);
        for plan in [1, 2] {
            let band = format!("<polygon class=\"curve-band\" data-curve=\"{curve}\" data-plan=\"{plan}\"");
            assert_eq!(part.matches(&band).count(), 1, "{class}: plan {plan}'s band");
        }
        assert!(part.contains("its p5–p95 of 5 runs"), "{class}: the legend names the bands");
    }
    let money = section(&compared, "money");
    let charts = money.matches("<svg").count();
    assert!(charts >= 1);
    assert_eq!(money.matches("data-curve=\"refused-value\" data-plan=\"2\"").count(), charts);
    assert_eq!(compared, exops_sim::report::comparison_html_with_sweeps("two", &pairs, &rows, &sweeps), "same bytes");
    let plain = exops_sim::report::comparison_html("two", &pairs, &rows);
    assert!(!plain.contains("curve-band"));
}
