//! Every answer true and complete: no silent exit 0 on a questionable replay, rejections
//! visible where they happen, one admission rule for import, append and check, counts
//! that count, tails that say what they need, and one exit code per failure everywhere.

use std::fs;

use crate::{SMALL_VENUE, arg, exops, exops_with_stdin, files_under, fixture, temp_dir, write_log};

/// The fixture's lines, without their newlines.
fn fixture_lines() -> Vec<String> {
    fs::read_to_string(fixture()).expect("the fixture").lines().map(str::to_owned).collect()
}

#[test]
fn check_counts_every_invalid_line_and_keeps_json_structured() {
    let dir = temp_dir();
    let lines: Vec<String> = (0..500).map(|index| format!("not json {index}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let path = write_log(dir.path(), "bad.jsonl", &refs);
    let run = exops(&["check", arg(&path)]);
    run.expect_code(1);
    assert!(run.stdout.contains("500 invalid lines"), "{}", run.stdout);
    assert!(run.stdout.contains("… and 400 more lines"), "{}", run.stdout);
    let run = exops(&["check", arg(&path), "--format", "json"]);
    run.expect_code(1);
    let json = run.json();
    assert_eq!(json["invalid_lines"], 500);
    assert_eq!(json["parse_errors_not_listed"], 400);
    let listed = json["parse_errors"].as_array().expect("an array");
    assert_eq!(listed.len(), 100);
    assert!(listed.iter().all(serde_json::Value::is_object), "every entry is an object: {listed:?}");
    assert_eq!(listed[0]["line"], 1);
}

#[test]
fn an_empty_log_is_invalid_for_replay_timeline_check_and_import() {
    let dir = temp_dir();
    let path = dir.path().join("empty.jsonl");
    fs::write(&path, "").expect("write");
    for args in [vec!["replay", arg(&path)], vec!["timeline", arg(&path)], vec!["check", arg(&path)]] {
        let run = exops(&args);
        run.expect_code(1);
        assert!(run.stderr.contains("no event") || run.stdout.contains("empty"), "{args:?}: {run:#?}");
    }
    let data = dir.path().join("data");
    let run = exops(&["log", "import", arg(&path), "--data-dir", arg(&data)]);
    run.expect_code(1);
    assert!(run.stderr.contains("holds no event"), "{}", run.stderr);
    let run = exops_with_stdin(&["replay", "-"], Vec::new());
    run.expect_code(1);
}

#[test]
fn a_point_past_the_end_or_before_the_start_is_answered_with_a_note() {
    let run = exops(&["replay", &fixture(), "--at", "99999"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("note: --at 99999 is past the end of the log (its last event is seq 764"),
        "{}",
        run.stderr
    );
    let json = exops(&["replay", &fixture(), "--at", "99999", "--format", "json"]).expect_code(0).json();
    let notes = json["notes"].as_array().expect("a notes array");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].as_str().is_some_and(|note| note.contains("past the end")));
    let run = exops(&["replay", &fixture(), "--at", "2000-01-01T00:00:00Z"]);
    run.expect_code(0);
    assert!(run.stderr.contains("before the log's first event"), "{}", run.stderr);
    // A point inside the log needs no note.
    let run = exops(&["replay", &fixture(), "--at", "120"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    let json = exops(&["replay", &fixture(), "--at", "120", "--format", "json"]).expect_code(0).json();
    assert_eq!(json["notes"], serde_json::json!([]));
}

#[test]
fn a_data_directory_answers_points_outside_it_and_emptiness_alike() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data), "--snapshot-every", "100"]).expect_code(0);
    for (at, expected) in [
        ("99999", "past the end of the log (its last event is seq 764"),
        ("2030-01-01T00:00:00Z", "past the log's last event (seq 764"),
        ("2000-01-01T00:00:00Z", "before the log's first event"),
        ("0", "before the log's first event"),
    ] {
        let run = exops(&["replay", arg(&data), "--at", at]);
        run.expect_code(0);
        assert!(run.stderr.contains(expected), "--at {at}: {}", run.stderr);
    }
    let run = exops(&["replay", arg(&data), "--at", "500"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    let empty = dir.path().join("empty");
    exops(&["log", "init", "--data-dir", arg(&empty)]).expect_code(0);
    let run = exops(&["replay", arg(&empty)]);
    run.expect_code(1);
    assert!(run.stderr.contains("holds no event"), "{}", run.stderr);
}

#[test]
fn a_retry_is_a_duplicate_for_import_and_append_alike() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data)]).expect_code(0);
    // Line 754 again, without its seq: a retry of an event already applied, with its
    // original (earlier) timestamp.
    let line = &fixture_lines()[753];
    let mut retry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    retry.as_object_mut().expect("an object").remove("seq");
    let retry = retry.to_string();
    let file = write_log(dir.path(), "retry.jsonl", &[&retry]);
    let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data)]);
    run.expect_code(0);
    assert!(run.stdout.contains("0 events durable") && run.stdout.contains("1 duplicates skipped"), "{run:#?}");
    assert!(run.stderr.contains("duplicate (skipped):") && run.stderr.contains("retry.jsonl:1"), "{}", run.stderr);
    let run = exops_with_stdin(&["log", "append", "--data-dir", arg(&data)], format!("{retry}\n").into_bytes());
    run.expect_code(0);
    assert!(run.stderr.contains("1 duplicates skipped"), "{}", run.stderr);
    assert!(run.stderr.contains("duplicate (skipped): <stdin>:1"), "{}", run.stderr);
    let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data), "--format", "json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["duplicates"], 1);
    assert_eq!(json["notices"][0]["answer"], "duplicate");
    assert_eq!(json["notices"][0]["line"], 1);
}

#[test]
fn an_event_earlier_than_the_log_is_refused_by_import_before_anything_is_written() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data)]).expect_code(0);
    let fresh = r#"{"at":"2019-12-31T07:00:00Z","id":9001,"actor":"customer:1","kind":"login_attempted"}"#;
    let early = r#"{"at":"2019-01-01T00:00:00Z","id":9002,"actor":"customer:2","kind":"login_attempted"}"#;
    let file = write_log(dir.path(), "early.jsonl", &[fresh, early]);
    let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data)]);
    run.expect_code(1);
    assert!(run.stderr.contains("early.jsonl:2") && run.stderr.contains("nothing was imported"), "{}", run.stderr);
    let stats = exops(&["log", "stats", "--data-dir", arg(&data), "--format", "json"]).expect_code(0).json();
    assert_eq!(stats["events"], 764, "nothing was written");
}

#[test]
fn rejections_are_printed_with_seq_line_and_reason_and_are_history_for_check() {
    let dir = temp_dir();
    let lift = r#"{"seq":2,"at":"2024-01-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_lifted","hold":"never-placed"}"#;
    let file = write_log(dir.path(), "log.jsonl", &[SMALL_VENUE, lift]);
    let data = dir.path().join("data");
    let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data)]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("rejected (recorded): ")
            && run.stderr.contains("log.jsonl:2: seq 2 `hold_lifted` by staff:ops"),
        "{}",
        run.stderr
    );
    // The same file checked as text is a mistake; the data directory holds history.
    exops(&["check", arg(&file)]).expect_code(1);
    let run = exops(&["check", arg(&data)]);
    run.expect_code(0);
    assert!(run.stdout.contains("1 rejected"), "{}", run.stdout);
    exops(&["check", arg(&data), "--strict"]).expect_code(1);
}

#[test]
fn a_tail_export_imports_onto_the_log_before_it_and_replays_equal() {
    let dir = temp_dir();
    let whole = dir.path().join("whole");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&whole)]).expect_code(0);
    let tail = exops(&["log", "export", "--data-dir", arg(&whole), "--from-seq", "100"]);
    tail.expect_code(0);
    let tail_path = dir.path().join("tail.jsonl");
    fs::write(&tail_path, &tail.stdout).expect("write the tail");
    let head: Vec<String> = fixture_lines().into_iter().take(99).collect();
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let head_path = write_log(dir.path(), "head.jsonl", &head_refs);
    let part = dir.path().join("part");
    exops(&["log", "import", arg(&head_path), "--data-dir", arg(&part)]).expect_code(0);
    exops(&["log", "import", arg(&tail_path), "--data-dir", arg(&part)]).expect_code(0);
    exops(&["log", "verify", "--data-dir", arg(&part)]).expect_code(0);
    let rebuilt = exops(&["replay", arg(&part), "--format", "json"]).expect_code(0).json();
    let original = exops(&["replay", &fixture(), "--format", "json"]).expect_code(0).json();
    assert_eq!(rebuilt, original);

    // On its own, the tail says what it is and what it needs, once.
    let run = exops(&["check", arg(&tail_path)]);
    run.expect_code(1);
    assert!(run.stdout.contains("this is the tail of a log"), "{}", run.stdout);
    assert!(run.stdout.contains("ends at seq 99"), "{}", run.stdout);
    assert!(
        run.stdout.contains("1 invalid lines") && run.stdout.contains("a tail starting at seq 100"),
        "{}",
        run.stdout
    );
    let run = exops(&["replay", arg(&tail_path)]);
    run.expect_code(1);
    assert!(run.stderr.contains("this is the tail of a log"), "{}", run.stderr);
}

#[test]
fn the_same_failure_has_the_same_exit_code_and_json_code_everywhere() {
    let dir = temp_dir();
    let not_data = dir.path().join("plain");
    fs::create_dir(&not_data).expect("mkdir");
    let scenario = format!("{}/../../fixtures/bitpoint-2019/scenario.toml", env!("CARGO_MANIFEST_DIR"));
    let plan = format!("{}/../../fixtures/bitpoint-2019/plan.toml", env!("CARGO_MANIFEST_DIR"));
    let runs = [
        vec!["replay", arg(&not_data), "--format", "json"],
        vec!["timeline", arg(&not_data), "--format", "json"],
        vec!["check", arg(&not_data), "--format", "json"],
        vec!["log", "stats", "--data-dir", arg(&not_data), "--format", "json"],
        vec!["log", "verify", "--data-dir", arg(&not_data), "--format", "json"],
        vec![
            "simulate",
            &scenario,
            "--plan",
            &plan,
            "--branch-from",
            arg(&not_data),
            "--branch-at",
            "2019-08-05T00:00:00Z",
            "--format",
            "json",
        ],
    ];
    for args in runs {
        let run = exops(&args);
        run.expect_code(2);
        let error: serde_json::Value = serde_json::from_str(run.stderr.trim())
            .unwrap_or_else(|error| panic!("{args:?}: stderr is not JSON ({error}): {}", run.stderr));
        assert_eq!(error["error"]["code"], "not_a_data_directory", "{args:?}");
        assert_eq!(error["error"]["exit"], 2, "{args:?}");
    }
    let missing = dir.path().join("missing.jsonl");
    for args in [vec!["replay", arg(&missing)], vec!["check", arg(&missing)], vec!["timeline", arg(&missing)]] {
        let run = exops(&args);
        run.expect_code(2);
        assert!(run.stderr.contains("no such file or directory"), "{args:?}: {}", run.stderr);
    }
    let run = exops(&["simulate", arg(&missing), "--plan", &plan]);
    run.expect_code(2);
    assert!(run.stderr.contains("no such file"), "{}", run.stderr);
    // A usage error under --format json is JSON too.
    let run = exops(&["replay", &fixture(), "--at", "soon", "--format", "json"]);
    run.expect_code(2);
    let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).expect("a JSON usage error");
    assert_eq!(error["error"]["code"], "usage");
}

#[test]
fn multi_value_flags_never_swallow_the_source() {
    // The source after --services stays the source.
    let run = exops(&["timeline", "--services", "margin,login", &fixture(), "--format", "json"]);
    run.expect_code(0);
    let services: Vec<String> = run.json()["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|entry| entry["service"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(services, ["margin", "login"]);
    let repeated = exops(&["timeline", "--services", "margin", "--services", "login", &fixture(), "--format", "json"]);
    assert_eq!(repeated.expect_code(0).json(), run.json());
}

#[test]
fn mistakes_are_named_with_the_likely_intent() {
    let run = exops(&["timeline", &fixture(), "--services", "withdrawls:BTC"]);
    run.expect_code(2);
    assert!(run.stderr.contains("did you mean `withdrawals`?"), "{}", run.stderr);
    let run = exops(&["timeline", &fixture(), "--services", "withdrawals:BTX"]);
    run.expect_code(2);
    assert!(run.stderr.contains("did you mean `BTC`?"), "{}", run.stderr);
    let dir = temp_dir();
    let kind = r#"{"seq":2,"at":"2024-01-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_place","hold":"h","cause":"maintenance","services":["*"]}"#;
    let path = write_log(dir.path(), "kind.jsonl", &[SMALL_VENUE, kind]);
    let run = exops(&["check", arg(&path)]);
    assert!(run.stdout.contains("did you mean `hold_placed`?"), "{}", run.stdout);
    let field = r#"{"seq":2,"at":"2024-01-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"h","cause":"maintenance","servces":["*"]}"#;
    let path = write_log(dir.path(), "field.jsonl", &[SMALL_VENUE, field]);
    let run = exops(&["check", arg(&path)]);
    assert!(run.stdout.contains("did you mean `services`?"), "{}", run.stdout);
    let bom = dir.path().join("bom.jsonl");
    fs::write(&bom, format!("\u{feff}{SMALL_VENUE}\n")).expect("write");
    let run = exops(&["check", arg(&bom)]);
    run.expect_code(1);
    assert!(run.stdout.contains("byte-order mark (BOM"), "{}", run.stdout);
}

#[test]
fn swapped_scenario_and_plan_are_named_and_a_bad_report_path_fails_before_the_run() {
    let scenario = format!("{}/../../fixtures/bitpoint-2019/scenario.toml", env!("CARGO_MANIFEST_DIR"));
    let plan = format!("{}/../../fixtures/bitpoint-2019/plan.toml", env!("CARGO_MANIFEST_DIR"));
    let run = exops(&["simulate", &plan, "--plan", &scenario]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("is a plan, not a scenario: were the scenario and the plan swapped?"),
        "{}",
        run.stderr
    );
    let dir = temp_dir();
    let report = dir.path().join("no-such-dir").join("report.html");
    let run = exops(&["simulate", &scenario, "--plan", &plan, "--report", arg(&report), "--scale", "1"]);
    run.expect_code(3);
    assert!(run.stderr.contains("cannot create the report"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing was simulated: {}", run.stdout);
}

#[test]
fn version_names_the_commit_and_completions_are_printed() {
    let run = exops(&["--version"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("exops ") && run.stdout.contains("(commit "), "{}", run.stdout);
    let run = exops(&["completions", "bash"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("_exops") && run.stdout.contains("replay"),
        "{}",
        &run.stdout[..200.min(run.stdout.len())]
    );
    exops(&["completions", "tcsh"]).expect_code(2);
}

#[test]
fn an_unsealed_tail_in_a_data_directory_is_never_silent() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data)]).expect_code(0);
    let segment = fs::read_dir(data.join("log"))
        .expect("the log directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
        .max()
        .expect("a segment");
    let mut bytes = fs::read(&segment).expect("read");
    bytes.extend_from_slice(&[0xAB; 37]);
    fs::write(&segment, bytes).expect("write");
    for args in [
        vec!["replay", arg(&data)],
        vec!["log", "export", "--data-dir", arg(&data)],
        vec!["log", "stats", "--data-dir", arg(&data)],
    ] {
        let run = exops(&args);
        run.expect_code(0);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(all.contains("37 unsealed bytes at byte offset"), "{args:?}: {run:#?}");
    }
}

#[test]
fn stats_and_a_refused_import_leave_every_file_of_the_data_directory_alone() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data), "--snapshot-every", "100"]).expect_code(0);
    // A replay builds the derived files once; from then on, reads and refusals keep them.
    exops(&["replay", arg(&data)]).expect_code(0);
    let before = files_under(&data);
    exops(&["log", "stats", "--data-dir", arg(&data)]).expect_code(0);
    exops(&["log", "stats", "--data-dir", arg(&data), "--format", "json"]).expect_code(0);
    let early = r#"{"at":"2019-01-01T00:00:00Z","id":9002,"actor":"customer:2","kind":"login_attempted"}"#;
    let file = write_log(dir.path(), "early.jsonl", &[early]);
    exops(&["log", "import", arg(&file), "--data-dir", arg(&data), "--snapshot-every", "7"]).expect_code(1);
    let after = files_under(&data);
    let names = |files: &[(std::path::PathBuf, Vec<u8>, std::time::SystemTime)]| -> Vec<std::path::PathBuf> {
        files.iter().map(|(path, _, _)| path.clone()).collect()
    };
    assert_eq!(names(&after), names(&before));
    for ((path, bytes, modified), (_, bytes_after, modified_after)) in before.iter().zip(&after) {
        assert!(bytes == bytes_after && modified == modified_after, "{} changed", path.display());
    }
}

#[test]
fn a_spool_left_by_a_killed_import_is_removed_by_the_next_open() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "init", "--data-dir", arg(&data)]).expect_code(0);
    let stale = data.join(".import-spool-left-over");
    fs::write(&stale, b"half of a file").expect("write a stale spool");
    let run =
        exops_with_stdin(&["log", "import", "-", "--data-dir", arg(&data)], fs::read(fixture()).expect("the fixture"));
    run.expect_code(0);
    assert!(!stale.exists(), "the stale spool is gone");
    assert!(run.stderr.contains("stale import spool"), "{}", run.stderr);
    let leftovers: Vec<_> = fs::read_dir(&data)
        .expect("the data directory")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
