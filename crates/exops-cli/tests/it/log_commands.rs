//! `exops log import|export|verify|stats` on bad input and on the fixture: a bad line
//! leaves the log as it was, usage errors exit 2 with a message, `export` slices by
//! sequence number, and export → import round-trips byte for byte.

use std::fs;
use std::path::Path;

use crate::{SMALL_VENUE, arg, exops, exops_with_stdin, fixture, temp_dir, write_log};

/// Logins by customer 1, ids `ids`, one minute apart on 2024-01-01 (after the venue).
fn logins(ids: std::ops::RangeInclusive<u64>) -> Vec<String> {
    ids.map(|id| {
        format!(r#"{{"at":"2024-01-01T00:{id:02}:00Z","id":{id},"actor":"customer:1","kind":"login_attempted"}}"#)
    })
    .collect()
}

/// Everything a reader could tell about a data directory: its export, its stats, and
/// the bytes of its segment files.
fn observe(data_dir: &Path) -> (String, String, Vec<(String, Vec<u8>)>) {
    let export = exops(&["log", "export", "--data-dir", arg(data_dir)]);
    export.expect_code(0);
    let stats = exops(&["log", "stats", "--data-dir", arg(data_dir), "--format", "json"]);
    stats.expect_code(0);
    let mut stats = stats.json();
    // The snapshot index is derived data, and opening may create it.
    stats.as_object_mut().expect("stats is an object").remove("snapshots");
    let mut segments: Vec<(String, Vec<u8>)> = fs::read_dir(data_dir.join("log"))
        .expect("the log directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            (name, fs::read(&path).expect("read a segment"))
        })
        .collect();
    segments.sort();
    (export.stdout, stats.to_string(), segments)
}

#[test]
fn an_import_with_a_bad_fifth_line_names_it_and_changes_nothing() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let mut first = vec![SMALL_VENUE.to_owned()];
    first.extend(logins(1..=3));
    let first = write_log(dir.path(), "first.jsonl", &first.iter().map(String::as_str).collect::<Vec<_>>());
    exops(&["log", "import", arg(&first), "--data-dir", arg(&data)]).expect_code(0);
    let before = observe(&data);
    assert_eq!(before.0.lines().count(), 4);

    let bad_lines = [
        r#"{"at":"2024-01-01T00:09:00Z","id":9,"actor":"customer:1","kind":"no_such_kind"}"#,
        r#"{"at":"2024-01-01T00:09:00Z","id":9,"actor":"customer:1","kind":"login_attempted""#,
        r#"{"at":"yesterday","id":9,"actor":"customer:1","kind":"login_attempted"}"#,
        r#"{"at":"2024-01-01T00:09:00Z","id":9,"actor":"nobody","kind":"login_attempted"}"#,
        r#"{"seq":99,"at":"2024-01-01T00:09:00Z","id":9,"actor":"customer:1","kind":"login_attempted"}"#,
        "\u{0}\u{1}binary",
    ];
    for (case, bad) in bad_lines.iter().enumerate() {
        // Four good lines that continue the log, the bad fifth, then more good ones.
        let mut lines = logins(4..=7);
        lines.push((*bad).to_owned());
        lines.extend(logins(10..=12));
        let name = format!("bad-{case}.jsonl");
        let file = write_log(dir.path(), &name, &lines.iter().map(String::as_str).collect::<Vec<_>>());
        let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data)]);
        run.expect_code(1);
        assert!(run.stderr.contains(&format!("{}:5:", arg(&file))), "case {case}: the line in:\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "case {case}: {}", run.stdout);
        assert_eq!(observe(&data), before, "case {case}: the log changed");
        exops(&["log", "verify", "--data-dir", arg(&data)]).expect_code(0);
    }

    // The same through standard input.
    let mut lines = logins(4..=7);
    lines.push(bad_lines[0].to_owned());
    let run =
        exops_with_stdin(&["log", "import", "-", "--data-dir", arg(&data)], (lines.join("\n") + "\n").into_bytes());
    run.expect_code(1);
    assert!(run.stderr.contains("<stdin>:5:"), "{}", run.stderr);
    assert_eq!(observe(&data), before, "stdin: the log changed");

    // Fixed, the same file imports whole.
    let good = write_log(dir.path(), "good.jsonl", &logins(4..=8).iter().map(String::as_str).collect::<Vec<_>>());
    exops(&["log", "import", arg(&good), "--data-dir", arg(&data)]).expect_code(0);
    assert_eq!(observe(&data).0.lines().count(), 9);
}

#[test]
fn a_bad_line_in_a_first_import_leaves_an_empty_log() {
    let dir = temp_dir();
    let data = dir.path().join("fresh");
    let mut lines = vec![SMALL_VENUE.to_owned()];
    lines.extend(logins(1..=3));
    lines.push("not json".to_owned());
    let file = write_log(dir.path(), "bad.jsonl", &lines.iter().map(String::as_str).collect::<Vec<_>>());
    let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data)]);
    run.expect_code(1);
    assert!(run.stderr.contains(&format!("{}:5:", arg(&file))), "{}", run.stderr);
    let (export, stats, _) = observe(&data);
    assert_eq!(export, "");
    assert!(stats.contains("\"events\":0"), "{stats}");
}

#[test]
fn importing_a_directory_or_a_missing_file_is_a_usage_error() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let venue = write_log(dir.path(), "venue.jsonl", &[SMALL_VENUE]);
    exops(&["log", "import", arg(&venue), "--data-dir", arg(&data)]).expect_code(0);
    let before = observe(&data);

    let directory = dir.path().join("a-directory");
    fs::create_dir(&directory).unwrap();
    let run = exops(&["log", "import", arg(&directory), "--data-dir", arg(&data)]);
    run.expect_code(2);
    assert!(run.stderr.contains(arg(&directory)) && run.stderr.contains("directory"), "{}", run.stderr);

    let missing = dir.path().join("missing.jsonl");
    let run = exops(&["log", "import", arg(&missing), "--data-dir", arg(&data)]);
    run.expect_code(2);
    assert!(run.stderr.contains(arg(&missing)), "{}", run.stderr);

    assert_eq!(observe(&data), before);
}

#[test]
fn commands_on_a_directory_that_is_not_a_log_are_usage_errors() {
    let dir = temp_dir();
    let plain = dir.path().join("plain");
    fs::create_dir(&plain).unwrap();
    fs::write(plain.join("notes.txt"), "not a log").unwrap();
    let missing = dir.path().join("missing");
    for data in [&plain, &missing] {
        for command in
            [&["log", "verify"][..], &["log", "verify", "--format", "json"], &["log", "stats"], &["log", "export"]]
        {
            let mut args = command.to_vec();
            args.extend(["--data-dir", arg(data)]);
            let run = exops(&args);
            run.expect_code(2);
            assert!(
                run.stderr.contains("is not an exops data directory") && run.stderr.contains(arg(data)),
                "{args:?}: {}",
                run.stderr
            );
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        }
    }
    // None of them made a log there.
    assert!(!plain.join("log").exists() && !missing.exists());
}

#[test]
fn export_slices_by_sequence_number() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data)]).expect_code(0);
    let original = fs::read_to_string(fixture()).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let total = lines.len() as u64;
    let slice = |from: u64, to: u64| -> String {
        lines[(from - 1) as usize..to.min(total) as usize].iter().map(|line| format!("{line}\n")).collect()
    };
    for (from, to) in [(1, 1), (1, 3), (2, 2), (10, 20), (total / 2, total / 2 + 7), (total - 3, total), (total, total)]
    {
        let run = exops(&[
            "log",
            "export",
            "--data-dir",
            arg(&data),
            "--from-seq",
            &from.to_string(),
            "--to-seq",
            &to.to_string(),
        ]);
        run.expect_code(0);
        assert_eq!(run.stdout, slice(from, to), "--from-seq {from} --to-seq {to}");
    }
    // Open-ended, and past the end.
    let run = exops(&["log", "export", "--data-dir", arg(&data), "--from-seq", &(total - 4).to_string()]);
    assert_eq!(run.expect_code(0).stdout, slice(total - 4, total));
    let run = exops(&["log", "export", "--data-dir", arg(&data), "--to-seq", "5"]);
    assert_eq!(run.expect_code(0).stdout, slice(1, 5));
    let run =
        exops(&["log", "export", "--data-dir", arg(&data), "--from-seq", "3", "--to-seq", &(total + 100).to_string()]);
    assert_eq!(run.expect_code(0).stdout, slice(3, total));
    // A range that ends before it starts is a usage error, not an empty answer.
    exops(&["log", "export", "--data-dir", arg(&data), "--from-seq", "5", "--to-seq", "4"]).expect_code(2);
    for (from, to) in [(total + 1, None), (total + 1000, Some(total + 2000))] {
        let mut args = vec!["log", "export", "--data-dir", arg(&data)];
        let (from, to) = (from.to_string(), to.map(|to: u64| to.to_string()));
        args.extend(["--from-seq", &from]);
        if let Some(to) = &to {
            args.extend(["--to-seq", to]);
        }
        assert_eq!(exops(&args).expect_code(0).stdout, "", "{args:?}");
    }
}

#[test]
fn export_then_import_round_trips_byte_for_byte() {
    let dir = temp_dir();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let original = fs::read(fixture()).unwrap();
    exops(&["log", "import", &fixture(), "--data-dir", arg(&first)]).expect_code(0);
    let exported = exops(&["log", "export", "--data-dir", arg(&first)]);
    exported.expect_code(0);
    assert!(exported.stdout_bytes == original, "the export of the fixture differs from it");

    // Into a fresh directory, through standard input this time.
    exops_with_stdin(&["log", "import", "-", "--data-dir", arg(&second)], exported.stdout_bytes.clone()).expect_code(0);
    let again = exops(&["log", "export", "--data-dir", arg(&second)]);
    assert!(again.expect_code(0).stdout_bytes == exported.stdout_bytes, "the second export differs");

    // Both logs hold the same events (their blocks, and so their bytes and head hashes,
    // follow how group commit happened to batch them).
    let text = String::from_utf8(original).unwrap();
    let at = |line: Option<&str>| serde_json::from_str::<serde_json::Value>(line.unwrap()).unwrap()["at"].clone();
    let (events, first_at, last_at) = (text.lines().count() as u64, at(text.lines().next()), at(text.lines().last()));
    for data in [&first, &second] {
        let stats = exops(&["log", "stats", "--data-dir", arg(data), "--format", "json"]).expect_code(0).json();
        assert_eq!((stats["events"].as_u64(), stats["last_seq"].as_u64()), (Some(events), Some(events)));
        assert_eq!((&stats["first_at"], &stats["last_at"]), (&first_at, &last_at));
    }
    let verify = exops(&["log", "verify", "--data-dir", arg(&second), "--format", "json"]).expect_code(0).json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["summary"]["events"].as_u64(), Some(events));
}

/// An import is checked whole before anything is written, time order included: a line
/// earlier than the one before it is named, and the log stays as it was (the writer would
/// otherwise refuse it and renumber the lines after it).
#[test]
fn an_import_with_a_line_going_back_in_time_names_it_and_changes_nothing() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let venue = write_log(dir.path(), "venue.jsonl", &[SMALL_VENUE]);
    exops(&["log", "import", arg(&venue), "--data-dir", arg(&data)]).expect_code(0);
    let before = observe(&data);
    let mut lines = logins(4..=7);
    // Line 5: id 8 at 00:01, before line 4's 00:07.
    lines.push(r#"{"at":"2024-01-01T00:01:00Z","id":8,"actor":"customer:1","kind":"login_attempted"}"#.to_owned());
    lines.extend(logins(10..=12));
    let file = write_log(dir.path(), "backwards.jsonl", &lines.iter().map(String::as_str).collect::<Vec<_>>());
    let run = exops(&["log", "import", arg(&file), "--data-dir", arg(&data)]);
    assert_eq!(observe(&data), before, "the log changed: {run:#?}");
    run.expect_code(1);
    assert!(run.stderr.contains(&format!("{}:5:", arg(&file))), "{}", run.stderr);
}
