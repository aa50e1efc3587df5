//! `cargo xtask docs-check`: runs every shell command that README.md and docs/*.md mark
//! runnable and compares its output with what the document shows.
//!
//! A runnable block is a fenced block whose info string has the word `runnable`
//! (```` ```text runnable ````). In it, a line starting with `$ ` is a command (a line
//! ending in `\` continues it, and a here-document runs to its terminator); the lines
//! after it, up to the next command, are its expected output, standard output and
//! standard error together. A line `…` stands for any number of lines. A command shown
//! without output must succeed, unless the next command is `echo $?`, which then shows
//! its exit code. The blocks of one file run in order, in one shell each, from the
//! repository root, with the debug build of `exops` first on the `PATH`.
//!
//! A block whose info string has `file=PATH` (```` ```rust file=examples/user-tests/tests/tiny.rs ````)
//! must be the text of that file, which the workspace's tests compile and run: code shown
//! in the docs is code that is tested.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// One command of a runnable block, with what the document shows it printing.
#[derive(Debug)]
struct Step {
    /// The line of the command in its file, counting from 1.
    line: usize,
    command: String,
    expected: Vec<String>,
}

#[derive(Debug)]
struct Block {
    steps: Vec<Step>,
}

/// A block that shows a file of the repository: its line, the file, and the text shown.
#[derive(Debug)]
struct Shown {
    line: usize,
    file: String,
    text: String,
}

/// The blocks of a Markdown text that show a file (`file=PATH` in the info string).
fn shown_files(text: &str) -> Vec<Shown> {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(info) = lines[index].strip_prefix("```") else {
            index += 1;
            continue;
        };
        let start = index + 1;
        let end = (start..lines.len()).find(|at| lines[*at].starts_with("```")).unwrap_or(lines.len());
        if let Some(file) = info.split_whitespace().find_map(|word| word.strip_prefix("file=")) {
            let mut text = lines[start..end].join("\n");
            text.push('\n');
            shown.push(Shown { line: index + 1, file: file.to_owned(), text });
        }
        index = end + 1;
    }
    shown
}

/// The runnable blocks of a Markdown text.
fn runnable_blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(info) = lines[index].strip_prefix("```") else {
            index += 1;
            continue;
        };
        let runnable = info.split_whitespace().any(|word| word == "runnable");
        let start = index + 1;
        let end = (start..lines.len()).find(|at| lines[*at].starts_with("```")).unwrap_or(lines.len());
        if runnable {
            blocks.push(Block { steps: steps(&lines[start..end], start + 1) });
        }
        index = end + 1;
    }
    blocks
}

fn steps(lines: &[&str], first_line: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(command) = lines[index].strip_prefix("$ ") else {
            if let Some(step) = steps.last_mut() {
                step.expected.push(lines[index].trim_end().to_owned());
            }
            index += 1;
            continue;
        };
        let line = first_line + index;
        let mut command = command.to_owned();
        let heredoc = command.split("<<'").nth(1).and_then(|rest| rest.split('\'').next()).map(str::to_owned);
        while command.ends_with('\\') && index + 1 < lines.len() {
            index += 1;
            command.push('\n');
            command.push_str(lines[index]);
        }
        if let Some(terminator) = heredoc {
            while index + 1 < lines.len() {
                index += 1;
                command.push('\n');
                command.push_str(lines[index]);
                if lines[index] == terminator {
                    break;
                }
            }
        }
        steps.push(Step { line, command, expected: Vec::new() });
        index += 1;
    }
    steps
}

const BEGIN: &str = "@@docs-check begin@@";
const STATUS: &str = "@@docs-check status";

/// The shell script of a block: each command in a group with its standard error on
/// standard output, framed by markers that carry its exit code (which `$?` keeps for
/// the next command).
fn script(block: &Block) -> String {
    let mut script = String::from("__status=0\n");
    for step in &block.steps {
        script.push_str(&format!(
            "printf '\\n{BEGIN}\\n'\n(exit $__status)\n{{ {}\n}} 2>&1\n__status=$?\nprintf '\\n{STATUS} %d@@\\n' $__status\n",
            step.command
        ));
    }
    script
}

/// Whether `actual` matches `expected`, where an expected line `…` matches any run of lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "…" => (0..=actual.len()).any(|skip| matches(rest, &actual[skip..])),
        Some((first, rest)) => {
            actual.split_first().is_some_and(|(line, tail)| line.trim_end() == first && matches(rest, tail))
        }
    }
}

/// The outputs and exit codes of a block's commands, from the marked output of its script.
fn outputs(text: &str) -> Vec<(Vec<&str>, i32)> {
    let mut results = Vec::new();
    for chunk in text.split(&format!("\n{BEGIN}\n")).skip(1) {
        let Some((output, status)) = chunk.rsplit_once(&format!("\n{STATUS} ")) else { continue };
        let status = status.trim_end().trim_end_matches("@@").parse().unwrap_or(-1);
        let mut lines: Vec<&str> = output.split('\n').collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        results.push((lines, status));
    }
    results
}

fn binary_dir(root: &Path) -> PathBuf {
    crate::target_dir().unwrap_or_else(|_| root.join("target")).join("debug")
}

pub fn docs_check(root: &Path) -> Result<()> {
    crate::run("cargo", &["build", "--locked", "-p", "exops-cli"])?;
    let started = Instant::now();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .context("cannot list docs/")?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let path = format!("{}:{}", binary_dir(root).display(), std::env::var("PATH").unwrap_or_default());
    let (mut commands, mut failures) = (0, Vec::new());
    for file in &files {
        let name = file.strip_prefix(root).unwrap_or(file).display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        for shown in shown_files(&text) {
            commands += 1;
            match std::fs::read_to_string(root.join(&shown.file)) {
                Ok(actual) if actual == shown.text => {}
                Ok(_) => failures.push(format!(
                    "{name}:{}: the block differs from {}, the tested file it shows; make them the same text",
                    shown.line, shown.file
                )),
                Err(error) => failures.push(format!("{name}:{}: cannot read {}: {error}", shown.line, shown.file)),
            }
        }
        for block in runnable_blocks(&text) {
            let output = Command::new("bash")
                .args(["-c", &script(&block)])
                .current_dir(root)
                .env("PATH", &path)
                .output()
                .context("cannot start `bash`")?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            let results = outputs(&stdout);
            for (index, step) in block.steps.iter().enumerate() {
                commands += 1;
                let Some((actual, status)) = results.get(index) else {
                    failures.push(format!("{name}:{}: `{}` did not run (the block stopped)", step.line, step.command));
                    continue;
                };
                let shows_status = block.steps.get(index + 1).is_some_and(|next| next.command == "echo $?");
                if step.expected.is_empty() && *status != 0 && !shows_status {
                    failures.push(format!(
                        "{name}:{}: `{}` exited with {status} (the document shows no output, so it must succeed):\n{}",
                        step.line,
                        step.command,
                        actual.join("\n")
                    ));
                } else if !step.expected.is_empty() && !matches(&step.expected, actual) {
                    failures.push(format!(
                        "{name}:{}: `{}` printed\n{}\nbut the document shows\n{}",
                        step.line,
                        step.command,
                        actual.join("\n"),
                        step.expected.join("\n")
                    ));
                }
            }
        }
    }
    eprintln!(
        "xtask: docs-check ran {commands} commands and file comparisons in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        bail!(
            "{} of {commands} documented commands do not do what the docs say:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
    if commands == 0 {
        bail!("no runnable command in README.md or docs/*.md: the marking (```text runnable) must have changed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_steps_and_expected_output_are_read() {
        let text =
            "intro\n```text runnable\n$ echo a \\\n  b\na b\n$ cat <<'EOF'\nx\nEOF\nx\n```\n```text\n$ not run\n```\n";
        let blocks = runnable_blocks(text);
        assert_eq!(blocks.len(), 1);
        let steps = &blocks[0].steps;
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[0].line, steps[0].command.as_str()), (3, "echo a \\\n  b"));
        assert_eq!(steps[0].expected, ["a b"]);
        assert_eq!(steps[1].command, "cat <<'EOF'\nx\nEOF");
        assert_eq!(steps[1].expected, ["x"]);
    }

    #[test]
    fn a_block_showing_a_file_is_read_with_its_path() {
        let shown = shown_files("```rust file=a/b.rs\nfn main() {}\n```\n```rust\nnot shown\n```\n");
        assert_eq!(shown.len(), 1);
        assert_eq!((shown[0].line, shown[0].file.as_str(), shown[0].text.as_str()), (1, "a/b.rs", "fn main() {}\n"));
    }

    #[test]
    fn an_ellipsis_matches_any_run_of_lines() {
        let expected = |lines: &[&str]| lines.iter().map(|line| line.to_string()).collect::<Vec<_>>();
        assert!(matches(&expected(&["a", "…", "d"]), &["a", "b", "c", "d"]));
        assert!(matches(&expected(&["a", "…", "d"]), &["a", "d"]));
        assert!(!matches(&expected(&["a", "…", "d"]), &["a", "b"]));
        assert!(!matches(&expected(&["a", "b"]), &["a", "c"]));
        assert!(matches(&expected(&["a", "…"]), &["a", "b", "c"]));
    }

    #[test]
    fn a_script_runs_its_commands_and_keeps_each_exit_code() {
        let block =
            runnable_blocks("```text runnable\n$ printf 'one\\ntwo\\n'\n$ false\n$ echo $?\n1\n$ echo err >&2\n```\n")
                .pop()
                .expect("one block");
        let output = Command::new("bash").args(["-c", &script(&block)]).output().expect("bash runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let results = outputs(&stdout);
        assert_eq!(results, vec![(vec!["one", "two"], 0), (vec![], 1), (vec!["1"], 0), (vec!["err"], 0)]);
    }
}
