//! Bad sources and bad arguments: every one gets an exit code and a message, never a
//! panic; and the odd but valid ones (an empty log, standard input, a closed pipe).

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{EXOPS, arg, assert_no_panic, big_log, exops, exops_with_stdin, fixture, temp_dir, write_log};

const SUBCOMMANDS: [&str; 3] = ["replay", "timeline", "check"];

/// Deterministic pseudo-random bytes (xorshift64), so that a failure reproduces.
fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[3]
        })
        .collect()
}

#[test]
fn a_missing_file_is_a_usage_error_naming_the_path() {
    let dir = temp_dir();
    let missing = dir.path().join("no-such-log.jsonl");
    for subcommand in SUBCOMMANDS {
        let run = exops(&[subcommand, arg(&missing)]);
        run.expect_code(2);
        assert!(run.stderr.contains(arg(&missing)), "{subcommand}: the path in:\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "{subcommand}: {}", run.stdout);
    }
}

#[test]
fn a_directory_as_source_fails_without_panicking() {
    let dir = temp_dir();
    for subcommand in SUBCOMMANDS {
        let run = exops(&[subcommand, arg(dir.path())]);
        run.expect_code(2);
        assert!(run.stderr.contains("directory"), "{subcommand}: {}", run.stderr);
        let message = format!("{}{}", run.stdout, run.stderr);
        assert!(message.contains(arg(dir.path())), "{subcommand}: the path in:\n{message}");
    }
}

#[test]
fn binary_garbage_is_invalid_data() {
    let dir = temp_dir();
    for (seed, len) in [(0x9e37_79b9_7f4a_7c15_u64, 4096_usize), (42, 100_000), (7, 3)] {
        let path = dir.path().join(format!("garbage-{seed}.bin"));
        fs::write(&path, garbage(len, seed)).expect("write garbage");
        for subcommand in SUBCOMMANDS {
            let run = exops(&[subcommand, arg(&path)]);
            run.expect_code(1);
            let message = format!("{}{}", run.stdout, run.stderr);
            assert!(message.contains(&format!("{}:", arg(&path))), "{subcommand}: the source in:\n{message}");
        }
    }
    let run = exops_with_stdin(&["check", "-"], garbage(10_000, 3));
    run.expect_code(1);
    assert!(run.stdout.contains("<stdin>:"), "{}", run.stdout);
}

#[test]
fn an_overlong_line_is_invalid_data() {
    let dir = temp_dir();
    let path = dir.path().join("long.jsonl");
    let mut text = String::from(crate::SMALL_VENUE);
    text.push('\n');
    text.push_str(&"x".repeat(3 << 20));
    text.push('\n');
    fs::write(&path, text).expect("write a long line");
    let run = exops(&["check", arg(&path)]);
    run.expect_code(1);
    assert!(run.stdout.contains(&format!("{}:2:", arg(&path))) && run.stdout.contains("longer than"), "{}", run.stdout);
    exops(&["replay", arg(&path)]).expect_code(1);
}

#[test]
fn an_empty_log_is_refused_by_every_reader() {
    let dir = temp_dir();
    let empty = write_log(dir.path(), "empty.jsonl", &[]);
    let blank = write_log(dir.path(), "blank.jsonl", &["", "   ", "\t"]);
    for path in [&empty, &blank] {
        // A log begins with its venue: an empty one is no answer to give in silence.
        for args in [vec!["replay", arg(path)], vec!["timeline", arg(path), "--format", "mermaid"]] {
            let run = exops(&args);
            run.expect_code(1);
            assert!(run.stderr.contains("holds no event") && run.stdout.is_empty(), "{args:?}: {run:#?}");
        }
        let run = exops(&["replay", arg(path), "--format", "json"]);
        run.expect_code(1);
        let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).expect("a JSON error");
        assert_eq!(error["error"]["code"], "invalid_log");

        let run = exops(&["check", arg(path)]);
        run.expect_code(1);
        assert!(run.stdout.contains("0 events") && run.stdout.contains("the log is empty"), "{}", run.stdout);
    }
}

#[test]
fn a_log_not_starting_with_its_venue_is_invalid() {
    let dir = temp_dir();
    let log = write_log(
        dir.path(),
        "headless.jsonl",
        &[r#"{"seq":1,"at":"2024-01-02T01:00:00Z","id":1,"actor":"customer:7","kind":"login_attempted"}"#],
    );
    let run = exops(&["check", arg(&log)]);
    run.expect_code(1);
    assert!(run.stdout.contains("venue_declared"), "{}", run.stdout);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let run = exops(&["replay", &fixture(), "--at", "nonsense"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--at") && run.stderr.contains("nonsense"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let run = exops(&["frobnicate", &fixture()]);
    run.expect_code(2);
    assert!(run.stderr.contains("frobnicate"), "{}", run.stderr);

    exops(&[]).expect_code(2);
    exops(&["replay"]).expect_code(2);
    exops(&["replay", &fixture(), "--format", "xml"]).expect_code(2);
    exops(&["timeline", &fixture(), "--format", "yaml"]).expect_code(2);
    exops(&["timeline", &fixture(), "--services"]).expect_code(2);
    exops(&["check", &fixture(), "--at", "12"]).expect_code(2);
    exops(&["replay", &fixture(), "--at", "99999999999999999999999"]).expect_code(2);
}

#[test]
fn each_subcommand_help_has_examples() {
    for subcommand in SUBCOMMANDS {
        let run = exops(&[subcommand, "--help"]);
        run.expect_code(0);
        assert!(run.stdout.contains("Examples:"), "{subcommand} --help:\n{}", run.stdout);
        assert!(run.stdout.contains(&format!("exops {subcommand} ")), "{subcommand} --help:\n{}", run.stdout);
        assert!(run.stdout.contains("Exit codes"), "{subcommand} --help:\n{}", run.stdout);
    }
    let run = exops(&["--help"]);
    run.expect_code(0);
    for subcommand in SUBCOMMANDS {
        assert!(run.stdout.contains(subcommand), "--help lists {subcommand}:\n{}", run.stdout);
    }
}

#[test]
fn a_dash_reads_standard_input() {
    let path = fixture();
    let input = fs::read(&path).expect("read the fixture");
    for args in [
        vec!["replay", "--format", "json"],
        vec!["replay", "--at", "2019-08-07T00:00:00+09:00"],
        vec!["timeline", "--format", "mermaid"],
        vec!["check"],
    ] {
        let from_file: Vec<&str> =
            std::iter::once(args[0]).chain([path.as_str()]).chain(args[1..].iter().copied()).collect();
        let from_stdin: Vec<&str> = std::iter::once(args[0]).chain(["-"]).chain(args[1..].iter().copied()).collect();
        let expected = exops(&from_file);
        expected.expect_code(0);
        let run = exops_with_stdin(&from_stdin, input.clone());
        run.expect_code(0);
        if args[0] == "check" {
            assert!(run.stdout.contains(": 764 events, 0 invalid lines, 0 rejected"), "{}", run.stdout);
        } else {
            assert!(
                run.stdout_bytes == expected.stdout_bytes,
                "`exops {}` reads stdin like the file",
                from_stdin.join(" ")
            );
        }
    }
}

/// `exops ARGS | head -1`: reads one line, closes the pipe, and waits.
fn read_one_line_then_hang_up(args: &[&str]) {
    let mut child = Command::new(EXOPS)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {EXOPS}: {error}"));
    let mut reader = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("read the first line");
    assert!(!line.is_empty(), "`exops {}` printed something", args.join(" "));
    drop(reader);
    let output = child.wait_with_output().expect("wait for exops");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_no_panic(args, output.status, &stderr);
    assert!(
        output.status.success(),
        "`exops {}` after its reader hung up: {:?}, stderr:\n{stderr}",
        args.join(" "),
        output.status
    );
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    read_one_line_then_hang_up(&["replay", &fixture()]);
    // Outputs far larger than a pipe's buffer, so that the writes really hit the closed pipe.
    let dir = temp_dir();
    let many_holds = dir.path().join("many-holds.jsonl");
    fs::write(&many_holds, big_log(0, 400)).expect("write a log");
    let many_changes = dir.path().join("many-changes.jsonl");
    fs::write(&many_changes, big_log(2000, 0)).expect("write a log");
    let json = exops(&["replay", arg(&many_holds), "--format", "json"]);
    json.expect_code(0);
    assert!(json.stdout.len() > 1 << 17, "the output is {} bytes", json.stdout.len());
    let table = exops(&["timeline", arg(&many_changes)]);
    table.expect_code(0);
    assert!(table.stdout.len() > 1 << 20, "the output is {} bytes", table.stdout.len());

    read_one_line_then_hang_up(&["replay", arg(&many_holds), "--format", "json"]);
    read_one_line_then_hang_up(&["replay", arg(&many_holds), "--format", "yaml"]);
    read_one_line_then_hang_up(&["timeline", arg(&many_changes)]);
    read_one_line_then_hang_up(&["timeline", arg(&many_changes), "--format", "json"]);
    read_one_line_then_hang_up(&["timeline", arg(&many_changes), "--format", "mermaid"]);
}
