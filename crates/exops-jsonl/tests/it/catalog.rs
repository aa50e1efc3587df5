//! Keeps docs/event-catalog.md true: its ```json examples form one log that parses and
//! applies without a rejection or a duplicate, with an example of every kind.

use exops_core::{Event, Gated, Outcome, State};
use exops_jsonl::KINDS;

use crate::{catalog_blocks, catalog_log, parse_ok, read_workspace_file};

#[test]
fn every_block_is_one_json_object_on_one_line() {
    let blocks = catalog_blocks();
    assert!(!blocks.is_empty(), "the catalog has no ```json blocks");
    for (line, text) in &blocks {
        assert_eq!(text.lines().count(), 1, "docs/event-catalog.md:{line}: a block holds exactly one line");
        let value: serde_json::Value = serde_json::from_str(text)
            .unwrap_or_else(|error| panic!("docs/event-catalog.md:{line}: not JSON: {error}"));
        assert!(value.is_object(), "docs/event-catalog.md:{line}: not a JSON object");
    }
}

#[test]
fn there_is_an_example_of_every_kind() {
    let lines = parse_ok(&catalog_log());
    for kind in KINDS {
        assert!(
            lines.iter().any(|line| line.envelope.event.kind_name() == *kind),
            "docs/event-catalog.md has no example of `{kind}`"
        );
    }
}

#[test]
fn the_event_subsections_follow_kinds_in_order() {
    let markdown = read_workspace_file("docs/event-catalog.md");
    let headings: Vec<&str> = markdown
        .lines()
        .filter_map(|line| line.strip_prefix("### `"))
        .filter_map(|rest| rest.strip_suffix('`'))
        .collect();
    assert_eq!(headings, KINDS, "one `### `kind`` subsection per kind, in the order of KINDS");
}

#[test]
fn the_examples_form_one_log_that_applies_cleanly() {
    let lines = parse_ok(&catalog_log());
    let mut state = State::new();
    let mut customer_outcomes = Vec::new();
    let mut jpy_credited_by_conversion = None;
    for line in &lines {
        let jpy_before = state.ledger().first().map(|ledger| ledger.liabilities_minor);
        let outcome = state.apply(&line.envelope);
        let kind = line.envelope.event.kind_name();
        match &outcome {
            Outcome::Rejected(rejection) => {
                panic!("catalog log line {} (`{kind}`) is rejected: {rejection}", line.line)
            }
            Outcome::Duplicate { last_id } => {
                panic!("catalog log line {} (`{kind}`) is a duplicate (last id {last_id})", line.line)
            }
            Outcome::Customer(gated) => customer_outcomes.push((kind, *gated)),
            Outcome::Applied { .. } => {}
        }
        if let Event::ClaimsConverted(_) = line.envelope.event {
            jpy_credited_by_conversion = Some(state.ledger()[0].liabilities_minor - jpy_before.unwrap());
        }
    }
    assert_eq!(state.counters().rejected, 0);
    assert_eq!(state.counters().duplicates, 0);

    // What the prose around the examples says.
    let venue = state.venue().unwrap();
    let services: Vec<&str> = venue.services.iter().map(|service| service.name.as_str()).collect();
    assert_eq!(
        services,
        [
            "trading:BTC/JPY",
            "trading:USDT/JPY",
            "deposits:JPY",
            "withdrawals:JPY",
            "deposits:BTC",
            "withdrawals:BTC",
            "deposits:USDT@erc20",
            "deposits:USDT@tron",
            "withdrawals:USDT@erc20",
            "withdrawals:USDT@tron",
            "margin",
            "onboarding",
            "login",
        ]
    );
    assert_eq!(jpy_credited_by_conversion, Some(23_780_864), "2.5 BTC × 9512345.67, rounded down");
    assert_eq!(
        customer_outcomes,
        [
            ("withdrawal_requested", Gated::Queued),
            ("order_submitted", Gated::Accepted),
            ("order_cancelled", Gated::Accepted),
            ("deposit_received", Gated::Accepted),
            ("withdrawal_requested", Gated::Queued),
            ("margin_requested", Gated::Accepted),
            ("signup_requested", Gated::Accepted),
            ("login_attempted", Gated::Accepted),
        ]
    );
    let last = &lines.last().unwrap().envelope;
    assert_eq!(last.event.kind_name(), "venue_ceased", "venue_ceased closes the catalog log");
    assert!(state.ceased().is_some());
}

#[test]
fn customer_kinds_are_the_customer_operations() {
    assert_eq!(
        exops_jsonl::CUSTOMER_KINDS,
        [
            "order_submitted",
            "order_cancelled",
            "deposit_received",
            "withdrawal_requested",
            "margin_requested",
            "signup_requested",
            "login_attempted"
        ]
    );
}
