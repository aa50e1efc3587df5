//! Tests of the JSON Lines format: the event catalog's examples form one log that applies
//! cleanly, every error path reports its exact text, nothing panics the reader, and
//! parse → render round-trips.

#![allow(clippy::unwrap_used)]

mod catalog;
mod errors;
mod round_trip;

use std::path::PathBuf;

use exops_jsonl::{Line, ParseError, parse_str};

pub fn workspace_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

pub fn read_workspace_file(relative: &str) -> String {
    let path = workspace_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Every ```json block of the event catalog, in document order: (line number in the
/// Markdown file, the block's text).
pub fn catalog_blocks() -> Vec<(usize, String)> {
    let markdown = read_workspace_file("docs/event-catalog.md");
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```json" => current = Some((index + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().unwrap()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "docs/event-catalog.md ends inside a ```json block");
    blocks
}

/// The catalog's examples joined into one log.
pub fn catalog_log() -> String {
    catalog_blocks().into_iter().map(|(_, text)| text).collect()
}

/// Parses a text that must parse.
pub fn parse_ok(text: &str) -> Vec<Line> {
    parse_str("test.jsonl", text).unwrap_or_else(|error| panic!("{error}"))
}

/// Parses a text that must fail, and returns the error's text.
pub fn parse_error(text: &str) -> String {
    parse_str("test.jsonl", text).map(|lines| lines.len()).map_or_else(
        |error: ParseError| error.to_string(),
        |count| panic!("expected a parse error, but {count} lines parsed"),
    )
}
