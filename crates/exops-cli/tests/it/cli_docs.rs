//! docs/cli.md shows every command's `--help` exactly: this test holds it to the binary.
//! After changing a help text, `EXOPS_UPDATE_CLI_DOCS=1 cargo test -p exops-cli --test it
//! cli_docs` rewrites the reference part of the file (everything after its marker line);
//! review the diff like any other.

use crate::exops;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cli.md");
const MARKER: &str =
    "<!-- Everything below is the output of `--help`, checked by crates/exops-cli/tests/it/cli_docs.rs. -->";

/// The names listed under "Commands:" in a `--help` text, without `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path, found by walking `--help` itself, and each one's help text.
fn reference() -> String {
    let mut out = String::new();
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = exops(&args);
        run.expect_code(0);
        let name = if path.is_empty() { "exops".to_owned() } else { format!("exops {}", path.join(" ")) };
        out.push_str(&format!("\n### `{name}`\n\n```text\n{}```\n", run.stdout));
        for sub in subcommands(&run.stdout).into_iter().rev() {
            let mut child = path.clone();
            child.push(sub);
            queue.push(child);
        }
    }
    out
}

#[test]
fn docs_cli_md_matches_every_help_text() {
    let doc = std::fs::read_to_string(DOC).expect("docs/cli.md exists");
    let (prose, documented) = doc.split_once(MARKER).expect("docs/cli.md has its marker line");
    let expected = reference();
    if std::env::var_os("EXOPS_UPDATE_CLI_DOCS").is_some() {
        std::fs::write(DOC, format!("{prose}{MARKER}\n{expected}")).expect("docs/cli.md is writable");
        return;
    }
    assert!(
        documented.trim_start_matches('\n') == expected.trim_start_matches('\n'),
        "docs/cli.md differs from the binary's --help; run `EXOPS_UPDATE_CLI_DOCS=1 cargo test -p exops-cli \
         --test it cli_docs` and review the diff"
    );
}

#[test]
fn every_command_is_named_in_the_conventions_too() {
    // The prose part names every command once, so that no command is only a help dump.
    let doc = std::fs::read_to_string(DOC).expect("docs/cli.md exists");
    let (prose, _) = doc.split_once(MARKER).expect("docs/cli.md has its marker line");
    for command in subcommands(&exops(&["--help"]).stdout) {
        assert!(prose.contains(&format!("`{command}`")), "docs/cli.md's prose never names `{command}`");
    }
    for command in subcommands(&exops(&["log", "--help"]).stdout) {
        assert!(prose.contains(&format!("`log {command}`")), "docs/cli.md's prose never names `log {command}`");
    }
}
