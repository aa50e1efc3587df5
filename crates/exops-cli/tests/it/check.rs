//! `exops check`: a clean log, and the logs it must reject (or must not).

use crate::{SMALL_VENUE, arg, exops, fixture, temp_dir, write_log};

#[test]
fn the_fixture_checks_clean() {
    let run = exops(&["check", &fixture()]);
    run.expect_code(0);
    assert!(run.stdout.contains("764 events, 0 invalid lines, 0 rejected"), "{}", run.stdout);
    let report = exops(&["check", &fixture(), "--format", "json"]).expect_code(0).json();
    assert_eq!(report["events"], 764);
    assert_eq!(report["parse_errors"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["rejections"].as_array().map(Vec::len), Some(0));
}

/// A BTC hot-wallet theft, a hold on BTC withdrawals, and a lift with no controls met.
/// The blank second line makes line numbers differ from sequence numbers: the lift is
/// seq 4 on line 5.
const EARLY_LIFT: &[&str] = &[
    SMALL_VENUE,
    "",
    r#"{"seq":2,"at":"2024-01-02T00:00:00Z","id":1,"actor":"staff:ops","kind":"incident_opened","incident":"hack-1","title":"Hot wallet drained","category":"wallet_compromise","stolen":[{"asset":"BTC","wallet":"hot","amount_minor":100000000}],"blast_radius":["*"]}"#,
    r#"{"seq":3,"at":"2024-01-02T01:00:00Z","id":2,"actor":"staff:ops","kind":"hold_placed","hold":"btc-out","cause":{"incident":"hack-1"},"services":["withdrawals:BTC"]}"#,
    r#"{"seq":4,"at":"2024-01-03T00:00:00Z","id":3,"actor":"staff:ops","kind":"hold_lifted","hold":"btc-out"}"#,
];

#[test]
fn lifting_a_compromise_hold_without_controls_is_rejected_with_what_is_missing() {
    let dir = temp_dir();
    let log = write_log(dir.path(), "early-lift.jsonl", EARLY_LIFT);
    let run = exops(&["check", arg(&log)]);
    run.expect_code(1);
    let rejection = run
        .stdout
        .lines()
        .find(|line| line.starts_with("rejected:"))
        .unwrap_or_else(|| panic!("a rejection in:\n{}", run.stdout));
    assert!(rejection.contains(&format!("{}:5:", log.display())), "the line number (5) in `{rejection}`");
    assert!(rejection.contains("hold_lifted"), "{rejection}");
    assert!(rejection.contains("withdrawals:BTC"), "{rejection}");
    assert!(rejection.contains("keys of BTC rotated") && rejection.contains("keys_rotated"), "{rejection}");
    assert!(rejection.contains("security_review_passed"), "{rejection}");
    assert!(rejection.contains("approval by role `ciso`"), "{rejection}");
    assert!(rejection.contains("approval by role `ceo`"), "{rejection}");
    assert!(run.stdout.contains("4 events, 0 invalid lines, 1 rejected"), "{}", run.stdout);

    let report = exops(&["check", arg(&log), "--format", "json"]).expect_code(1).json();
    let rejections = report["rejections"].as_array().expect("rejections is a list");
    assert_eq!(rejections.len(), 1, "{report:#}");
    assert_eq!(rejections[0]["line"], 5);
    assert_eq!(rejections[0]["seq"], 4);
    assert_eq!(rejections[0]["kind"], "hold_lifted");

    // Replay applies what it can, keeps the hold, and points at `check` on stderr.
    let run = exops(&["replay", arg(&log), "--format", "json"]);
    run.expect_code(0);
    let state = run.json();
    assert_eq!(state["services"]["withdrawals:BTC"]["mode"], "closed");
    assert_eq!(state["events"]["rejected"], 1);
    assert!(run.stderr.contains("rejected") && run.stderr.contains("exops check"), "{}", run.stderr);
}

#[test]
fn lifting_after_every_control_is_met_is_accepted() {
    let dir = temp_dir();
    let mut lines: Vec<&str> = EARLY_LIFT[..EARLY_LIFT.len() - 1].to_vec();
    lines.extend([
        r#"{"seq":4,"at":"2024-01-02T02:00:00Z","id":2,"actor":"system:setup","kind":"role_granted","person":"alice","role":"ciso"}"#,
        r#"{"seq":5,"at":"2024-01-02T02:00:00Z","id":3,"actor":"system:setup","kind":"role_granted","person":"bob","role":"ceo"}"#,
        r#"{"seq":6,"at":"2024-01-02T03:00:00Z","id":1,"actor":"staff:security","kind":"keys_rotated","incident":"hack-1","asset":"BTC"}"#,
        r#"{"seq":7,"at":"2024-01-02T04:00:00Z","id":1,"actor":"staff:reviewer","kind":"security_review_passed","incident":"hack-1"}"#,
        r#"{"seq":8,"at":"2024-01-02T05:00:00Z","id":1,"actor":"staff:alice","kind":"approval_given","incident":"hack-1","role":"ciso"}"#,
        r#"{"seq":9,"at":"2024-01-02T06:00:00Z","id":1,"actor":"staff:bob","kind":"approval_given","incident":"hack-1","role":"ceo"}"#,
        r#"{"seq":10,"at":"2024-01-03T00:00:00Z","id":3,"actor":"staff:ops","kind":"hold_lifted","hold":"btc-out"}"#,
    ]);
    let log = write_log(dir.path(), "controlled-lift.jsonl", &lines);
    let run = exops(&["check", arg(&log)]);
    run.expect_code(0);
    assert!(run.stdout.contains("10 events, 0 invalid lines, 0 rejected, 0 duplicates"), "{}", run.stdout);
    let state = exops(&["replay", arg(&log), "--format", "json"]).expect_code(0).json();
    assert_eq!(state["services"]["withdrawals:BTC"]["mode"], "open");
    assert_eq!(state["incidents"]["hack-1"]["controls"]["met"], true);
}

#[test]
fn an_event_after_the_venue_ceased_is_rejected() {
    let dir = temp_dir();
    let log = write_log(
        dir.path(),
        "ceased.jsonl",
        &[
            SMALL_VENUE,
            r#"{"seq":2,"at":"2024-01-02T00:00:00Z","id":1,"actor":"staff:ops","kind":"venue_ceased","reason":"bankrupt"}"#,
            r#"{"seq":3,"at":"2024-01-03T00:00:00Z","id":2,"actor":"staff:ops","kind":"hold_placed","hold":"late","cause":"maintenance","services":["margin"]}"#,
        ],
    );
    let run = exops(&["check", arg(&log)]);
    run.expect_code(1);
    let rejection = run
        .stdout
        .lines()
        .find(|line| line.starts_with("rejected:"))
        .unwrap_or_else(|| panic!("a rejection in:\n{}", run.stdout));
    assert!(rejection.contains(&format!("{}:3:", log.display())), "{rejection}");
    assert!(rejection.contains("ceased") && rejection.contains("terminal"), "{rejection}");

    let state = exops(&["replay", arg(&log), "--format", "json"]).expect_code(0).json();
    assert_eq!(state["venue"], "ceased");
    assert_eq!(state["services"]["margin"]["mode"], "closed");
}

#[test]
fn a_misspelt_field_is_reported_with_its_line_and_name() {
    let dir = temp_dir();
    let log = write_log(
        dir.path(),
        "typo.jsonl",
        &[
            SMALL_VENUE,
            r#"{"seq":2,"at":"2024-01-02T00:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"m","cause":"maintenance","servces":["margin"]}"#,
        ],
    );
    let run = exops(&["check", arg(&log)]);
    run.expect_code(1);
    let invalid = run
        .stdout
        .lines()
        .find(|line| line.starts_with("invalid:"))
        .unwrap_or_else(|| panic!("an invalid line in:\n{}", run.stdout));
    assert!(invalid.contains(&format!("{}:2:", log.display())), "{invalid}");
    assert!(invalid.contains("`servces`"), "the misspelt field in `{invalid}`");
    assert!(invalid.contains("`services`"), "the expected fields in `{invalid}`");

    // Replay stops at the bad line: invalid data, exit 1, the same location on stderr.
    let run = exops(&["replay", arg(&log)]);
    run.expect_code(1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains(&format!("{}:2:", log.display())) && run.stderr.contains("servces"), "{}", run.stderr);
}

#[test]
fn a_refused_customer_withdrawal_is_not_a_rejection() {
    let dir = temp_dir();
    let log = write_log(
        dir.path(),
        "refused.jsonl",
        &[
            SMALL_VENUE,
            r#"{"seq":2,"at":"2024-01-02T00:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"no-withdrawals","cause":"maintenance","services":["withdrawals:*"]}"#,
            r#"{"seq":3,"at":"2024-01-02T01:00:00Z","id":1,"actor":"customer:7","kind":"withdrawal_requested","asset":"BTC","amount_minor":1000}"#,
        ],
    );
    let run = exops(&["check", arg(&log)]);
    run.expect_code(0);
    assert!(run.stdout.contains("3 events, 0 invalid lines, 0 rejected"), "{}", run.stdout);

    let state = exops(&["replay", arg(&log), "--format", "json"]).expect_code(0).json();
    assert_eq!(state["services"]["withdrawals:BTC"]["mode"], "closed");
    let impact = &state["impact"]["services"]["withdrawals:BTC"];
    assert_eq!(impact["refused"], 1, "{:#}", state["impact"]);
    assert_eq!(impact["accepted"], 0);
    assert_eq!(state["impact"]["customers_affected"], 1);
    assert_eq!(state["holds"]["no-withdrawals"]["refusals"], 1);
    assert_eq!(state["events"]["rejected"], 0);
    assert_eq!(state["events"]["customer_operations"], 1);
}
