//! docs/bad-inputs.md is data: every case in it (a command, its exit code, the lines it
//! prints) is run here in a scratch directory, and must exit as shown, print every line
//! shown, not panic, and leave every file where it was. After a deliberate change of a
//! message, `EXOPS_UPDATE_BAD_INPUTS=1 cargo test -p exops-cli --test it bad_inputs`
//! rewrites the shown exit codes and lines from the binary; read the diff before keeping it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{EXOPS, SMALL_VENUE, assert_no_panic, exops, files_under, fixture, temp_dir};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/bad-inputs.md");
const INPUTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad-inputs");

/// One case of the catalogue, and where its block sits in the document.
#[derive(Debug)]
struct Case {
    title: String,
    args: Vec<String>,
    exit: Option<i32>,
    lines: Vec<String>,
    /// Byte range of the block's body (from `$ exops` to the closing fence) in the doc.
    body: std::ops::Range<usize>,
}

fn parse(doc: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut title = String::new();
    let mut offset = 0;
    let mut lines = doc.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let start = offset;
        offset += line.len();
        if let Some(heading) = line.strip_prefix("### ") {
            title = heading.trim().to_owned();
        }
        if line.trim_end() != "```console" {
            continue;
        }
        let body_start = offset;
        let mut body = Vec::new();
        for inner in lines.by_ref() {
            offset += inner.len();
            if inner.trim_end() == "```" {
                break;
            }
            body.push(inner.trim_end_matches('\n').to_owned());
        }
        let body_end = offset - "```\n".len();
        let _ = start;
        let command =
            body.first().and_then(|line| line.strip_prefix("$ exops ")).expect("a case starts with `$ exops`");
        let exit = body.get(1).and_then(|line| line.strip_prefix("exit ")).and_then(|code| code.parse().ok());
        cases.push(Case {
            title: title.clone(),
            args: command.split_whitespace().map(str::to_owned).collect(),
            exit,
            lines: body.iter().skip(2).cloned().collect(),
            body: body_start..body_end,
        });
    }
    cases
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create the scratch directory");
    for entry in fs::read_dir(from).expect("read the inputs") {
        let path = entry.expect("an entry").path();
        fs::copy(&path, to.join(path.file_name().expect("a name"))).expect("copy an input");
    }
}

/// The scratch directory every case runs in.
fn scratch() -> tempfile::TempDir {
    let dir = temp_dir();
    let root = dir.path();
    copy_dir(Path::new(INPUTS), root);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bitpoint-2019");
    fs::copy(fixture(), root.join("bitpoint.jsonl")).expect("copy the fixture");
    fs::copy(fixtures.join("scenario.toml"), root.join("scenario.toml")).expect("copy the scenario");
    fs::copy(fixtures.join("plan.toml"), root.join("plan.toml")).expect("copy the plan");
    fs::create_dir(root.join("plain-dir")).expect("mkdir");
    let long = format!("{SMALL_VENUE}\n{{\"note\":\"{}\"}}\n", "x".repeat(1_100_000));
    fs::write(root.join("long-line.jsonl"), long).expect("write the long line");
    let data = root.join("data");
    exops(&["log", "import", &fixture(), "--data-dir", data.to_str().expect("UTF-8"), "--snapshot-every", "100"])
        .expect_code(0);
    exops(&["replay", data.to_str().expect("UTF-8")]).expect_code(0);
    dir
}

/// Every file under `dir` with its bytes (what a case may not change), sorted.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir).into_iter().map(|(path, bytes, _)| (path, bytes)).collect()
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[String]) -> Ran {
    let output = Command::new(EXOPS)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {EXOPS}: {error}"));
    let ran = Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_no_panic(&refs, output.status, &ran.stderr);
    ran
}

/// What a case shows: every line of standard error, or (when that is empty) the first
/// line of standard output.
fn shown(ran: &Ran) -> Vec<String> {
    let lines: Vec<String> = ran.stderr.lines().map(str::to_owned).collect();
    if !lines.is_empty() {
        return lines;
    }
    ran.stdout.lines().take(1).map(str::to_owned).collect()
}

#[test]
fn every_bad_input_of_the_catalogue_is_answered_as_documented() {
    let doc = fs::read_to_string(DOC).expect("docs/bad-inputs.md exists");
    let cases = parse(&doc);
    assert!(cases.len() >= 40, "the catalogue has {} cases; it promises at least 40", cases.len());
    let dir = scratch();
    let before = files(dir.path());
    let update = std::env::var_os("EXOPS_UPDATE_BAD_INPUTS").is_some();
    let mut rewritten = doc.clone();
    let mut failures = Vec::new();
    // Blocks are rewritten from the last, so that earlier ranges stay valid.
    for case in cases.iter().rev() {
        let ran = run(dir.path(), &case.args);
        let after = files(dir.path());
        if after != before {
            let changed: Vec<String> = after
                .iter()
                .filter(|entry| !before.contains(entry))
                .map(|(path, _)| path.display().to_string())
                .chain(before.iter().filter(|entry| !after.contains(entry)).map(|(path, _)| path.display().to_string()))
                .collect();
            failures.push(format!("{}: files changed: {changed:?}", case.title));
            continue;
        }
        if update {
            let code = ran.code.map_or("signal".to_owned(), |code| code.to_string());
            let mut body = format!("$ exops {}\nexit {code}\n", case.args.join(" "));
            for line in shown(&ran) {
                body.push_str(&line);
                body.push('\n');
            }
            rewritten.replace_range(case.body.clone(), &body);
            continue;
        }
        if ran.code != case.exit || case.exit == Some(0) {
            failures.push(format!("{}: exit {:?}, documented {:?}", case.title, ran.code, case.exit));
        }
        let printed: Vec<&str> = ran.stderr.lines().chain(ran.stdout.lines()).collect();
        for line in &case.lines {
            if !printed.contains(&line.as_str()) {
                failures.push(format!(
                    "{}: `{line}` was not printed; stderr:\n{}stdout:\n{}",
                    case.title, ran.stderr, ran.stdout
                ));
            }
        }
        if case.lines.is_empty() {
            failures.push(format!("{}: the case shows no message", case.title));
        }
    }
    if update {
        fs::write(DOC, rewritten).expect("rewrite docs/bad-inputs.md");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
