//! Integration tests of the `exops` binary: each test runs the real executable with
//! `std::process::Command` and checks its exit code, standard output and standard error.
//!
//! Every run goes through [`exops`] (or [`exops_with_stdin`]), which also asserts that
//! the process did not panic, so no test can pass on a crash.

mod answers;
mod bad_inputs;
mod check;
mod cli_docs;
mod crash;
mod head;
mod log_commands;
mod nats;
mod replay;
mod robustness;
mod simulate;
mod timeline;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};

/// Path of the binary under test.
pub const EXOPS: &str = env!("CARGO_BIN_EXE_exops");

/// The BITPoint 2019 fixture, relative to this crate.
pub fn fixture() -> String {
    format!("{}/../../fixtures/bitpoint-2019/events.jsonl", env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The raw standard output, for byte-for-byte comparisons.
    pub stdout_bytes: Vec<u8>,
}

impl Run {
    fn from_output(args: &[&str], output: Output) -> Run {
        let run = Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            stdout_bytes: output.stdout,
        };
        assert_no_panic(args, run.status, &run.stderr);
        run
    }

    /// The exit code; `None` when the process was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts the exit code, showing the whole run when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), Some(code), "unexpected exit status; run: {self:#?}");
        self
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

/// A panic shows up as exit code 101 and a `panicked at` message on standard error.
#[track_caller]
pub fn assert_no_panic(args: &[&str], status: ExitStatus, stderr: &str) {
    assert!(!stderr.contains("panicked"), "`exops {}` panicked:\n{stderr}", args.join(" "));
    assert_ne!(status.code(), Some(101), "`exops {}` exited with 101 (a panic):\n{stderr}", args.join(" "));
}

/// Runs `exops ARGS` with no standard input.
#[track_caller]
pub fn exops(args: &[&str]) -> Run {
    let output = Command::new(EXOPS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {EXOPS}: {error}"));
    Run::from_output(args, output)
}

/// Runs `exops ARGS` with `input` piped to its standard input (written from a thread, so
/// that a large input cannot deadlock against the child's output).
#[track_caller]
pub fn exops_with_stdin(args: &[&str], input: Vec<u8>) -> Run {
    let mut child = Command::new(EXOPS)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {EXOPS}: {error}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || {
        // The child may stop reading early (on an error); a broken pipe here is fine.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for exops");
    writer.join().expect("the stdin writer thread does not panic");
    Run::from_output(args, output)
}

/// Writes `lines` (each without its newline) to `dir/name` and returns the path.
pub fn write_log(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(&path, text).expect("write a temporary log");
    path
}

/// A path as a `&str` argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// A small venue: JPY and BTC, one market, margin, two approval roles. Its services are
/// trading:BTC/JPY, deposits:JPY, withdrawals:JPY, deposits:BTC, withdrawals:BTC,
/// margin, onboarding and login.
pub const SMALL_VENUE: &str = r#"{"seq":1,"at":"2024-01-01T00:00:00Z","id":1,"actor":"system:setup","kind":"venue_declared","name":"Test Venue","assets":[{"code":"JPY","class":"fiat","decimals":0,"liabilities_minor":1000000,"hot_minor":500000,"cold_minor":500000},{"code":"BTC","class":"crypto","decimals":8,"liabilities_minor":1000000000,"hot_minor":300000000,"cold_minor":700000000}],"markets":["BTC/JPY"],"margin":true,"approvals_required":["ciso","ceo"]}"#;

/// `2024-01-DD HH:MM:00Z`, `minutes` after 2024-01-01T00:00Z (under 31 days).
pub fn minutes_after_new_year(minutes: u64) -> String {
    assert!(minutes < 30 * 24 * 60, "stay in January");
    let (day, rest) = (minutes / (24 * 60) + 1, minutes % (24 * 60));
    format!("2024-01-{day:02}T{:02}:{:02}:00Z", rest / 60, rest % 60)
}

/// A log on [`SMALL_VENUE`] whose outputs are large: `toggles` maintenance holds on every
/// service, each placed and lifted a minute apart (many timeline intervals), then `kept`
/// holds on every service left active (a long `holds` list for every service).
pub fn big_log(toggles: u64, kept: u64) -> String {
    let mut text = String::from(SMALL_VENUE);
    text.push('\n');
    let mut seq = 1;
    let mut minute = 0;
    let mut event = |text: &mut String, body: String| {
        seq += 1;
        minute += 1;
        let at = minutes_after_new_year(minute);
        text.push_str(&format!(r#"{{"seq":{seq},"at":"{at}","id":{id},"actor":"staff:ops",{body}}}"#, id = seq - 1));
        text.push('\n');
    };
    for index in 0..toggles {
        event(
            &mut text,
            format!(r#""kind":"hold_placed","hold":"toggle-{index}","cause":"maintenance","services":["*"]"#),
        );
        event(&mut text, format!(r#""kind":"hold_lifted","hold":"toggle-{index}""#));
    }
    for index in 0..kept {
        event(
            &mut text,
            format!(r#""kind":"hold_placed","hold":"kept-{index:05}","cause":"maintenance","services":["*"]"#),
        );
    }
    text
}

/// Every file under `dir`, with its bytes and modification time, sorted by path; the
/// writer's lock file (`log/LOCK`, which an open may create and which holds nothing) is
/// left out. For tests that hold a directory unchanged.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).expect("read a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with("log/LOCK") {
                let modified = fs::metadata(&path).and_then(|meta| meta.modified()).expect("an mtime");
                let bytes = fs::read(&path).expect("read a file");
                out.push((path, bytes, modified));
            }
        }
    }
    out.sort();
    out
}
