//! Rendering what was parsed gives back the log.

use exops_jsonl::{parse_str, render_all};

use crate::{catalog_log, parse_ok, read_workspace_file};

const FIXTURE: &str = "fixtures/bitpoint-2019/events.jsonl";

#[test]
fn the_bitpoint_fixture_renders_back_byte_for_byte() {
    let text = read_workspace_file(FIXTURE);
    let lines = parse_str(FIXTURE, &text).unwrap_or_else(|error| panic!("{error}"));
    assert!(lines.len() > 700, "the fixture has {} events", lines.len());
    let rendered = render_all(lines.iter().map(|line| &line.envelope));
    if rendered != text {
        let first_difference = rendered.lines().zip(text.lines()).position(|(ours, theirs)| ours != theirs);
        panic!(
            "rendering differs from {FIXTURE} (first differing line: {:?}; {} vs {} bytes)",
            first_difference.map(|index| index + 1),
            rendered.len(),
            text.len()
        );
    }
}

#[test]
fn the_catalog_log_survives_parse_render_parse() {
    let first = parse_ok(&catalog_log());
    let rendered = render_all(first.iter().map(|line| &line.envelope));
    let second = parse_ok(&rendered);
    assert_eq!(first.len(), second.len());
    for (before, after) in first.iter().zip(&second) {
        assert_eq!(before.envelope, after.envelope, "line {}", before.line);
    }
    // Rendering normalises: offsets become UTC and every line carries its `seq`.
    assert!(rendered.starts_with(r#"{"seq":1,"at":"2024-03-01T00:00:00Z","id":1,"actor":"system:catalog""#));
    // And what exops writes, it writes back unchanged.
    assert_eq!(render_all(second.iter().map(|line| &line.envelope)), rendered);
}
