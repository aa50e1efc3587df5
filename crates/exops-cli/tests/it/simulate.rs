//! `exops simulate`, `compare` and `lint` through the real binary.

use crate::{arg, exops};

fn fixture(relative: &str) -> String {
    format!("{}/../../fixtures/{relative}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn simulate_writes_its_report_and_mermaid_and_strict_fails_on_violations() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    let mermaid = dir.path().join("timeline.md");
    let scenario = fixture("mtgox-2014/scenario.toml");
    let plan = fixture("mtgox-2014/plan-reopen.toml");
    let args = [
        "simulate",
        scenario.as_str(),
        "--plan",
        plan.as_str(),
        "--scale",
        "1",
        "--format",
        "json",
        "--report",
        arg(&report),
        "--mermaid",
        arg(&mermaid),
    ];
    let metrics = exops(&args).expect_code(0).json();
    let violations = metrics["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 2);
    assert!(violations[0]["reason"].as_str().unwrap().contains("`ceased` is terminal"));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("withdrawals:BTC"));
    let gantt = std::fs::read_to_string(&mermaid).unwrap();
    assert!(gantt.starts_with("```mermaid\ngantt\n") && gantt.contains("section withdrawals BTC"), "{gantt}");
    let strict = exops(&["simulate", scenario.as_str(), "--plan", plan.as_str(), "--scale", "1", "--strict"]);
    strict.expect_code(1);
    assert!(strict.stderr.contains("--strict"), "{}", strict.stderr);
}

#[test]
fn lint_and_compare_name_what_they_find() {
    let scenario = fixture("mtgox-2014/scenario.toml");
    let reopen = fixture("mtgox-2014/plan-reopen.toml");
    let lint = exops(&["lint", reopen.as_str(), "--scenario", scenario.as_str()]);
    lint.expect_code(1);
    assert!(lint.stdout.contains("plan-reopen.toml:6: phase `reopen-withdrawals`"), "{}", lint.stdout);
    exops(&["lint", fixture("bitpoint-2019/plan.toml").as_str()]).expect_code(0);
    let plan = fixture("mtgox-2014/plan.toml");
    let compare = exops(&["compare", scenario.as_str(), plan.as_str(), reopen.as_str(), "--scale", "1"]);
    compare.expect_code(0);
    assert!(compare.stdout.contains("PLAN 1") && compare.stdout.contains("control violations"), "{}", compare.stdout);
}

#[test]
fn simulate_usage_errors_exit_2() {
    let scenario = fixture("bitpoint-2019/scenario.toml");
    let plan = fixture("bitpoint-2019/plan.toml");
    exops(&["simulate", scenario.as_str(), "--plan", "no-such-plan.toml"]).expect_code(2);
    exops(&[
        "simulate",
        scenario.as_str(),
        "--plan",
        plan.as_str(),
        "--branch-from",
        "missing.jsonl",
        "--branch-at",
        "2019-08-05T00:00:00Z",
    ])
    .expect_code(2);
    exops(&["simulate", scenario.as_str(), "--plan", plan.as_str(), "--branch-at", "2019-08-05T00:00:00Z"])
        .expect_code(2);
}

/// A scenario mistake stops `simulate`, `compare` and `lint --scenario` with exit 1 before
/// anything runs, naming the scenario file and the line of the event: a hold on an asset
/// the venue does not have is not five violations of a correct plan.
#[test]
fn a_scenario_event_the_venue_cannot_apply_stops_every_command_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(fixture("bitpoint-2019/scenario.toml")).unwrap();
    // The eighth event, `all-services-suspended`, whose `[[events]]` is on line 85.
    let broken = original.replacen("services = [\"*\"]", "services = [\"withdrawals:DOGE\"]", 1);
    assert_ne!(broken, original);
    let scenario = dir.path().join("doge.toml");
    std::fs::write(&scenario, broken).unwrap();
    let expected = format!(
        "exops: error: {}:85: event 8 (hold_placed `all-services-suspended`): selector `withdrawals:DOGE`: the venue \
         has no asset `DOGE`; its assets: JPY, BTC, ETH, XRP, LTC, BCH\n",
        arg(&scenario)
    );
    let plan = fixture("bitpoint-2019/plan.toml");
    let runs = [
        exops(&["simulate", arg(&scenario), "--plan", plan.as_str(), "--scale", "0"]),
        exops(&["compare", arg(&scenario), plan.as_str(), plan.as_str(), "--scale", "0"]),
        exops(&["lint", plan.as_str(), "--scenario", arg(&scenario)]),
    ];
    for run in &runs {
        run.expect_code(1);
        assert_eq!(run.stderr, expected);
        assert_eq!(run.stdout, "", "nothing is simulated");
    }
}

/// A `--log-out` log of the BITPoint plan, opened with exops-testkit: `phases()` yields one
/// state per phase of plan.toml, named as in the plan, in the order they opened.
#[test]
fn a_log_out_log_has_one_phase_per_phase_of_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    let (scenario, plan) = (fixture("bitpoint-2019/scenario.toml"), fixture("bitpoint-2019/plan.toml"));
    exops(&["simulate", &scenario, "--plan", &plan, "--scale", "1", "--log-out", arg(&log)]).expect_code(0);
    let fixture = exops_testkit::Fixture::open(&log).expect("the simulated log parses");
    let names: Vec<String> = fixture.phases().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "jpy-funding",
            "margin",
            "spot-capped",
            "refunds",
            "password-reset",
            "password-reset-done",
            "controls",
            "crypto-withdrawals",
            "crypto-deposits"
        ]
    );
}

#[test]
fn compare_writes_its_report_and_mermaid_branches_and_strict_fails_on_violations() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("cmp.html");
    let mermaid = dir.path().join("plans.md");
    let scenario = fixture("bitpoint-2019/scenario.toml");
    let plan = fixture("bitpoint-2019/plan.toml");
    let crypto_first = fixture("bitpoint-2019/plan-crypto-first.toml");
    let args = [
        "compare",
        scenario.as_str(),
        plan.as_str(),
        crypto_first.as_str(),
        "--scale",
        "1",
        "--report",
        arg(&report),
        "--mermaid",
        arg(&mermaid),
        "--format",
        "json",
    ];
    let json = exops(&args).expect_code(0).json();
    assert_eq!(json["plans"].as_array().unwrap().len(), 2);
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<h3 class=\"plan-gantt\">").count(), 2, "one Gantt chart per plan");
    assert!(html.contains("<h2>Metrics side by side</h2>") && html.contains("★ best"));
    let gantt = std::fs::read_to_string(&mermaid).unwrap();
    assert_eq!(gantt.matches("```mermaid\ngantt\n").count(), 2, "{gantt}");
    assert!(gantt.starts_with("## Plan 1: What BITPoint did"), "{gantt}");

    // Branching off the recorded history: both plans start from its state on 2019-08-05.
    let events = fixture("bitpoint-2019/events.jsonl");
    let branched = exops(&[
        "compare",
        scenario.as_str(),
        plan.as_str(),
        crypto_first.as_str(),
        "--scale",
        "1",
        "--branch-from",
        events.as_str(),
        "--branch-at",
        "2019-08-05T00:00:00+09:00",
        "--format",
        "json",
    ])
    .expect_code(0)
    .json();
    for metrics in branched["metrics"].as_array().unwrap() {
        assert_eq!(metrics["start"], "2019-08-04T15:00:00Z", "{metrics}");
    }
    let half = exops(&[
        "compare",
        scenario.as_str(),
        plan.as_str(),
        crypto_first.as_str(),
        "--branch-at",
        "2019-08-05T00:00:00+09:00",
    ]);
    half.expect_code(2);
    let stdin = exops(&[
        "compare",
        scenario.as_str(),
        plan.as_str(),
        crypto_first.as_str(),
        "--branch-from",
        "-",
        "--branch-at",
        "2019-08-05T00:00:00+09:00",
    ]);
    stdin.expect_code(2);
    assert!(stdin.stderr.contains("reads standard input once"), "{}", stdin.stderr);

    let mtgox = fixture("mtgox-2014/scenario.toml");
    let reopen = fixture("mtgox-2014/plan-reopen.toml");
    let quiet = fixture("mtgox-2014/plan.toml");
    let strict = exops(&["compare", mtgox.as_str(), quiet.as_str(), reopen.as_str(), "--scale", "1", "--strict"]);
    strict.expect_code(1);
    assert!(
        strict.stderr.contains("--strict") && strict.stderr.contains("plan 2 (2 violation(s))"),
        "{}",
        strict.stderr
    );
    exops(&["compare", mtgox.as_str(), quiet.as_str(), quiet.as_str(), "--scale", "1", "--strict"]).expect_code(0);
}

#[test]
fn runs_one_is_a_single_run_byte_for_byte_and_a_sweep_is_deterministic() {
    let scenario = fixture("bitpoint-2019/scenario.toml");
    let plan = fixture("bitpoint-2019/plan.toml");
    let base = ["simulate", scenario.as_str(), "--plan", plan.as_str(), "--scale", "1"];
    for format in ["text", "json"] {
        let single = exops(&[&base[..], &["--format", format]].concat()).expect_code(0).stdout.clone();
        let runs_one = exops(&[&base[..], &["--format", format, "--runs", "1"]].concat()).expect_code(0).stdout.clone();
        assert_eq!(single, runs_one, "--runs 1 is today's {format} output");
    }
    let sweep_args = [&base[..], &["--runs", "6", "--format", "json"]].concat();
    let first = exops(&sweep_args);
    first.expect_code(0);
    let again = exops(&sweep_args);
    again.expect_code(0);
    assert_eq!(first.stdout, again.stdout, "the same seed and runs give identical bytes");
    let json = first.json();
    assert_eq!(json["runs"], 6);
    for figure in json["figures"].as_array().unwrap() {
        for key in ["p5", "p50", "p95", "never"] {
            assert!(figure.get(key).is_some(), "{figure}");
        }
    }
    let log = tempfile::tempdir().unwrap();
    let with_log = exops(&[&base[..], &["--runs", "3", "--log-out", arg(&log.path().join("run.jsonl"))]].concat());
    with_log.expect_code(2);
    assert!(with_log.stderr.contains("--log-out writes one run's events"), "{}", with_log.stderr);
    let reopen = fixture("mtgox-2014/plan-reopen.toml");
    let mtgox = fixture("mtgox-2014/scenario.toml");
    let strict =
        exops(&["simulate", mtgox.as_str(), "--plan", reopen.as_str(), "--scale", "1", "--runs", "2", "--strict"]);
    strict.expect_code(1);
    assert!(strict.stderr.contains("control violations in 2 of 2 runs"), "{}", strict.stderr);
    // With a report, the single run at the central values, and the sweep's ranges.
    let report = log.path().join("r.html");
    exops(&[&base[..], &["--runs", "3", "--report", arg(&report)]].concat()).expect_code(0);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<h2>Under uncertainty: 3 runs</h2>") && html.contains("<rect class=\"band\""),
        "a sweep section"
    );
}

/// `--runs 5 --report`: every daily curve has its p5–p95 band, labelled, the same bytes
/// twice; `--runs 1 --report` is the single run's report byte for byte. Likewise for
/// `compare`.
#[test]
fn reports_of_a_sweep_band_every_daily_curve_and_runs_one_is_the_single_report() {
    let scenario = fixture("bitpoint-2019/scenario.toml");
    let plan = fixture("bitpoint-2019/plan-uncertain.toml");
    let other = fixture("bitpoint-2019/plan-crypto-first.toml");
    let dir = tempfile::tempdir().unwrap();
    let report = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        exops(&[args, &["--scale", "1", "--report", arg(&path)]].concat()).expect_code(0);
        std::fs::read_to_string(&path).unwrap()
    };
    let simulate = ["simulate", scenario.as_str(), "--plan", plan.as_str()];
    let single = report("single.html", &simulate);
    let runs_one = report("one.html", &[&simulate[..], &["--runs", "1"]].concat());
    assert_eq!(single, runs_one, "--runs 1 writes the single run's report");
    assert!(!single.contains("curve-band"));
    let swept = report("five.html", &[&simulate[..], &["--runs", "5"]].concat());
    let again = report("five-again.html", &[&simulate[..], &["--runs", "5"]].concat());
    assert_eq!(swept, again, "the same seed and runs give the same report");
    for curve in ["refused", "backlog", "refused-value", "queued-value"] {
        assert!(swept.contains(&format!("<polygon class=\"curve-band\" data-curve=\"{curve}\"")), "a {curve} band");
    }
    assert_eq!(swept.matches("shaded: p5–p95 of 5 runs").count(), 2, "the refusals' and the backlog's legends");
    assert!(swept.contains("value refused per day, p5–p95 of 5 runs"), "the money charts' legend");

    let compare = ["compare", scenario.as_str(), plan.as_str(), other.as_str()];
    let single = report("cmp.html", &compare);
    let runs_one = report("cmp-one.html", &[&compare[..], &["--runs", "1"]].concat());
    assert_eq!(single, runs_one, "--runs 1 writes the single comparison");
    let swept = report("cmp-five.html", &[&compare[..], &["--runs", "5"]].concat());
    for curve in ["refused", "backlog", "refused-value"] {
        for plan in [1, 2] {
            let band = format!("<polygon class=\"curve-band\" data-curve=\"{curve}\" data-plan=\"{plan}\"");
            assert!(swept.contains(&band), "plan {plan}'s {curve} band");
        }
    }
    assert!(swept.contains("its p5–p95 of 5 runs"));
}

#[test]
fn compare_runs_sweeps_every_plan_with_the_same_seeds() {
    let scenario = fixture("bitpoint-2019/scenario.toml");
    let plan = fixture("bitpoint-2019/plan.toml");
    let uncertain = fixture("bitpoint-2019/plan-uncertain.toml");
    let args = ["compare", scenario.as_str(), plan.as_str(), uncertain.as_str(), "--scale", "1", "--runs", "3"];
    let text = exops(&args);
    text.expect_code(0);
    assert!(text.stdout.contains("FIGURE: P50 (P5 – P95)") && text.stdout.contains("PLAN 2"), "{}", text.stdout);
    let json = exops(&[&args[..], &["--format", "json"]].concat());
    json.expect_code(0);
    let json = json.json();
    let sweeps = json["sweeps"].as_array().unwrap();
    assert_eq!(sweeps.len(), 2);
    assert_eq!(sweeps[0]["seeds"], sweeps[1]["seeds"], "every plan meets the same draws of customers");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("cmp.html");
    exops(&[&args[..], &["--report", arg(&report)]].concat()).expect_code(0);
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<h2>Plan 2: under uncertainty: 3 runs</h2>").count(), 1);
    assert_eq!(html.matches("<h3 class=\"plan-gantt\">").count(), 2);
}
