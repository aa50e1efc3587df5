//! `exops timeline`: the Mermaid gantt, service selection and selector errors.

use crate::{arg, exops, fixture, temp_dir, write_log};

/// Section names of a Mermaid gantt, in order.
fn sections(mermaid: &str) -> Vec<&str> {
    mermaid.lines().filter_map(|line| line.trim().strip_prefix("section ")).collect()
}

/// Task lines: every line of the block but the header, title, formats and sections.
fn tasks(mermaid: &str) -> Vec<&str> {
    mermaid
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !["title ", "dateFormat ", "axisFormat ", "section "].iter().any(|key| line.starts_with(key))
        })
        .collect()
}

/// Mermaid's gantt grammar: a task name ends at the first `:`, and `#` or `;` end a line.
#[track_caller]
fn assert_valid_gantt(mermaid: &str) {
    let mut lines = mermaid.lines();
    assert_eq!(lines.next(), Some("gantt"), "a gantt block:\n{mermaid}");
    assert!(mermaid.lines().any(|line| line.trim().starts_with("dateFormat ")), "a dateFormat:\n{mermaid}");
    for line in mermaid.lines() {
        assert!(!line.contains(['#', ';']), "`#` or `;` would cut the line short: `{line}`");
    }
    for section in sections(mermaid) {
        assert!(!section.contains(':'), "section name with `:`: `{section}`");
    }
    for task in tasks(mermaid) {
        let (name, rest) = task.split_once(':').unwrap_or_else(|| panic!("task line without `:`: `{task}`"));
        assert!(!name.trim().is_empty(), "task without a name: `{task}`");
        assert!(!name.contains([':', '#', ';']), "task name `{name}` in `{task}`");
        assert!(rest.split(',').count() >= 3, "task `{task}` has an id, a start and an end");
    }
}

#[test]
fn mermaid_of_the_fixture_is_a_gantt_with_a_section_per_service() {
    let run = exops(&["timeline", &fixture(), "--format", "mermaid"]);
    run.expect_code(0);
    assert_valid_gantt(&run.stdout);
    let state = exops(&["replay", &fixture(), "--format", "json"]).expect_code(0).json();
    let services = state["services"].as_object().expect("services is an object");
    let sections = sections(&run.stdout);
    assert_eq!(sections.len(), services.len(), "one section per service: {sections:?}");
    assert!(sections.contains(&"trading BTC/JPY"), "{sections:?}");
    assert!(!tasks(&run.stdout).is_empty());
}

#[test]
fn services_option_limits_the_sections() {
    let run = exops(&["timeline", &fixture(), "--services", "withdrawals:*,margin", "--format", "mermaid"]);
    run.expect_code(0);
    assert_valid_gantt(&run.stdout);
    assert_eq!(
        sections(&run.stdout),
        [
            "withdrawals JPY",
            "withdrawals BTC",
            "withdrawals ETH",
            "withdrawals XRP",
            "withdrawals LTC",
            "withdrawals BCH",
            "margin"
        ]
    );
}

#[test]
fn timeline_json_and_table_honour_the_selection() {
    let json = exops(&["timeline", &fixture(), "--services", "margin", "--format", "json"]).expect_code(0).json();
    let services = json["services"].as_array().expect("services is a list");
    assert_eq!(services.len(), 1, "{json:#}");
    assert_eq!(services[0]["service"], "margin");
    let table = exops(&["timeline", &fixture(), "--services", "margin"]).expect_code(0).stdout.clone();
    assert!(table.lines().skip(1).all(|line| line.starts_with("margin")), "only margin rows:\n{table}");
}

#[test]
fn an_unknown_selector_is_a_usage_error_listing_the_valid_ones() {
    let run = exops(&["timeline", &fixture(), "--services", "trade:BTC"]);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "no output on a usage error: {}", run.stdout);
    assert!(run.stderr.contains("trade"), "{}", run.stderr);
    for valid in ["trading:*", "withdrawals:ASSET", "margin", "onboarding", "login"] {
        assert!(run.stderr.contains(valid), "`{valid}` among the valid selectors in:\n{}", run.stderr);
    }
}

#[test]
fn a_market_the_venue_lacks_is_a_usage_error_naming_the_known_markets() {
    let run = exops(&["timeline", &fixture(), "--services", "trading:DOGE/JPY"]);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "no output on a usage error: {}", run.stdout);
    assert!(run.stderr.contains("DOGE/JPY"), "{}", run.stderr);
    for market in ["BTC/JPY", "ETH/JPY", "XRP/JPY", "LTC/JPY", "BCH/JPY"] {
        assert!(run.stderr.contains(market), "`{market}` among the known markets in:\n{}", run.stderr);
    }
}

#[test]
fn an_asset_the_venue_lacks_is_a_usage_error_naming_the_known_assets() {
    let run = exops(&["timeline", &fixture(), "--services", "withdrawals:DOGE"]);
    run.expect_code(2);
    assert!(run.stderr.contains("DOGE") && run.stderr.contains("BTC") && run.stderr.contains("JPY"), "{}", run.stderr);
}

#[test]
fn mermaid_escapes_names_with_mermaid_syntax() {
    let dir = temp_dir();
    let venue = r#"{"seq":1,"at":"2024-01-01T00:00:00Z","id":1,"actor":"system:setup","kind":"venue_declared","name":"Evil: Ex#change; test","assets":[{"code":"JPY","class":"fiat","decimals":0},{"code":"USDT","class":"crypto","decimals":6,"networks":["tron","erc20"]}],"markets":["USDT/JPY"]}"#;
    let hold = r#"{"seq":2,"at":"2024-01-02T00:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"w","cause":"maintenance","services":["withdrawals:USDT@tron"],"mode":"delayed"}"#;
    let cap = r#"{"seq":3,"at":"2024-01-03T00:00:00Z","id":2,"actor":"staff:ops","kind":"hold_placed","hold":"caps:spot","cause":"maintenance","services":["trading:*"],"mode":"online","max_order_notional_minor":5000}"#;
    let later = r#"{"seq":4,"at":"2024-01-04T00:00:00Z","id":3,"actor":"staff:ops","kind":"hold_lifted","hold":"w"}"#;
    let log = write_log(dir.path(), "evil.jsonl", &[venue, hold, cap, later]);
    let run = exops(&["timeline", arg(&log), "--format", "mermaid"]);
    run.expect_code(0);
    assert_valid_gantt(&run.stdout);
    assert!(sections(&run.stdout).contains(&"withdrawals USDT@tron"), "{}", run.stdout);
    assert!(run.stdout.contains("delayed by w :active"), "a restricted mode is drawn `active`:\n{}", run.stdout);
    assert!(
        run.stdout.contains("online cap 5000 under caps spot :"),
        "a capped interval, its hold's `:` escaped:\n{}",
        run.stdout
    );
}

/// `replay --at 2019-08-07` shows withdrawals:BTC held by two holds; the timeline's
/// interval covering that instant must name both, and the one that sets the mode.
#[test]
fn an_interval_lists_every_hold_covering_the_service_during_it() {
    let json =
        exops(&["timeline", &fixture(), "--services", "withdrawals:BTC", "--format", "json"]).expect_code(0).json();
    let state =
        exops(&["replay", &fixture(), "--at", "2019-08-07T00:00:00+09:00", "--format", "json"]).expect_code(0).json();
    let held_then = &state["services"]["withdrawals:BTC"]["holds"];
    assert_eq!(held_then, &serde_json::json!(["crypto-transfers-suspended", "all-services-suspended"]));
    let instant = "2019-08-06T15:00:00Z";
    let intervals = json["services"][0]["intervals"].as_array().expect("intervals is a list");
    let covering: Vec<&serde_json::Value> = intervals
        .iter()
        .filter(|interval| {
            interval["from"].as_str().is_some_and(|from| from <= instant)
                && interval["to"].as_str().is_none_or(|to| instant < to)
        })
        .collect();
    assert_eq!(covering.len(), 1, "one interval covers {instant}: {json:#}");
    assert_eq!(covering[0]["mode"], "closed");
    assert_eq!(&covering[0]["holds"], held_then, "{json:#}");
    assert_eq!(covering[0]["held_by"], "crypto-transfers-suspended", "{json:#}");
}

/// After `venue_ceased` no hold sets the mode: the interval names none, and says the
/// venue ceased rather than crediting the holds still covering the service.
#[test]
fn after_the_venue_ceased_no_hold_is_said_to_set_the_mode() {
    let dir = temp_dir();
    let venue = r#"{"seq":1,"at":"2024-01-01T00:00:00Z","id":1,"actor":"system:setup","kind":"venue_declared","name":"Gone","assets":[{"code":"JPY","class":"fiat","decimals":0},{"code":"BTC","class":"crypto","decimals":8}],"markets":["BTC/JPY"]}"#;
    let hold = r#"{"seq":2,"at":"2024-01-02T00:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"trading-halted","cause":"maintenance","services":["trading:*"]}"#;
    let ceased = r#"{"seq":3,"at":"2024-01-03T00:00:00Z","id":1,"actor":"system:court","kind":"venue_ceased","reason":"insolvent"}"#;
    let log = write_log(dir.path(), "ceased.jsonl", &[venue, hold, ceased]);
    let json = exops(&["timeline", arg(&log), "--services", "trading:*", "--format", "json"]).expect_code(0).json();
    let intervals = json["services"][0]["intervals"].as_array().expect("intervals is a list");
    let modes: Vec<(&str, &serde_json::Value)> =
        intervals.iter().map(|interval| (interval["mode"].as_str().unwrap(), &interval["held_by"])).collect();
    assert_eq!(
        modes,
        [
            ("online", &serde_json::Value::Null),
            ("halted", &"trading-halted".into()),
            ("halted", &serde_json::Value::Null)
        ],
        "{json:#}"
    );
    assert_eq!(intervals[2]["holds"], serde_json::json!(["trading-halted"]), "the hold still covers it: {json:#}");
    let table = exops(&["timeline", arg(&log), "--services", "trading:*"]).expect_code(0).stdout.clone();
    assert!(table.lines().last().is_some_and(|line| line.contains("(venue ceased)  trading-halted")), "{table}");
    let mermaid = exops(&["timeline", arg(&log), "--format", "mermaid"]).expect_code(0).stdout.clone();
    assert_valid_gantt(&mermaid);
    assert!(mermaid.contains("halted (venue ceased) under trading-halted :crit"), "{mermaid}");
}
