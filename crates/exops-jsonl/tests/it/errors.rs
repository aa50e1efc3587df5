//! Every way a line can fail to be an event, with the exact text the author sees
//! (`SOURCE:LINE: field `F`: message`), and the reader going on after a bad line.

use std::io::{BufReader, Read};

use exops_core::{Actor, Event};
use exops_jsonl::{KINDS, LINE_BYTES_MAX, Line, ParseError, Reader};
use proptest::prelude::*;

use crate::{catalog_log, parse_error, parse_ok};

/// A small venue: JPY without networks, USDT on two networks, one market.
const VENUE: &str = r#"{"at":"2024-03-01T00:00:00Z","id":1,"actor":"system:test","kind":"venue_declared","name":"Test","assets":[{"code":"JPY","class":"fiat","decimals":0,"liabilities_minor":1000,"hot_minor":1000},{"code":"USDT","class":"crypto","decimals":6,"networks":["erc20","tron"]}],"markets":["USDT/JPY"]}"#;

/// The venue, then `line` as line 2.
fn after_venue(line: &str) -> String {
    format!("{VENUE}\n{line}\n")
}

/// Every item a reader yields for `bytes`, as the line and seq of each event or the
/// text of each error.
fn read_all(bytes: &[u8]) -> Vec<Result<(u64, u64), String>> {
    Reader::new("test.jsonl", bytes)
        .map(|item| item.map(|line: Line| (line.line, line.envelope.seq)).map_err(|error| error.to_string()))
        .collect()
}

#[test]
fn a_typo_in_a_field_name_names_the_line_and_the_field() {
    let text = format!(
        "{VENUE}\n\n{}\n",
        r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"h","cause":"maintenance","services":["login"],"mdoe":"read_only"}"#
    );
    assert_eq!(
        parse_error(&text),
        "test.jsonl:3: field `mdoe`: `hold_placed` has no field `mdoe`, expected one of `hold`, `cause`, `services`, \
         `mode`, `max_order_notional_minor`, `reason` (did you mean `mode`?)"
    );
    let error = exops_jsonl::parse_str("test.jsonl", &text).unwrap_err();
    assert_eq!(
        (error.source.as_str(), error.line, error.field.as_deref()),
        ("test.jsonl", 3, Some("mdoe")),
        "the error's parts, not only its text"
    );
}

#[test]
fn a_field_that_a_kind_without_payload_does_not_have() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted","password":"x"}"#
        )),
        "test.jsonl:2: field `password`: `login_attempted` has no field `password`, there are no fields"
    );
}

#[test]
fn an_unknown_kind_lists_the_valid_kinds() {
    let expected = "test.jsonl:2: field `kind`: unknown kind `hold_plcaed` (did you mean `hold_placed`?); valid kinds: venue_declared, role_granted, \
        incident_opened, theft_recorded, incident_updated, hold_placed, hold_lifted, hold_mode_set, keys_rotated, \
        security_review_passed, approval_given, custody_transferred, custody_replenished, refund_paid, \
        claims_converted, haircut_applied, withdrawals_settled, venue_ceased, phase_opened, order_submitted, order_cancelled, \
        deposit_received, withdrawal_requested, margin_requested, signup_requested, login_attempted";
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_plcaed"}"#)),
        expected
    );
    assert!(expected.ends_with(&KINDS.join(", ")), "the list is KINDS, in order");
}

#[test]
fn a_missing_or_mistyped_kind() {
    let missing = parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops"}"#));
    assert_eq!(missing, format!("test.jsonl:2: field `kind`: missing; valid kinds: {}", KINDS.join(", ")));
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":7}"#)),
        "test.jsonl:2: field `kind`: is 7; expected a string"
    );
}

#[test]
fn malformed_json() {
    // A truncated last line, without its newline.
    assert_eq!(
        parse_error(&format!(
            r#"{VENUE}
{{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"login_attempted""#
        )),
        "test.jsonl:2: not a JSON object: EOF while parsing an object at column 80"
    );
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z",}"#)),
        "test.jsonl:2: not a JSON object: trailing comma at column 30"
    );
    assert_eq!(parse_error(&after_venue("[1,2]")), "test.jsonl:2: not a JSON object: the line holds an array");
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z"} {"id":1}"#)),
        "test.jsonl:2: not a JSON object: trailing characters at column 31"
    );
}

/// The reader hands the decoder each line with its newline, so serde_json places the end
/// of a truncated line on a "line 2" of its own, and the ` at line 1 column` → ` at column`
/// rewrite in `decode_text` does not apply.
#[test]
fn a_truncated_line_followed_by_a_newline_reports_its_column() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"login_attempted""#
        )),
        "test.jsonl:2: not a JSON object: EOF while parsing an object at column 80"
    );
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let deep = format!(r#"{{"at":"2024-03-01T01:00:00Z","x":{}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        parse_error(&after_venue(&deep)),
        "test.jsonl:2: not a JSON object: recursion limit exceeded at column 160"
    );
}

#[test]
fn a_missing_at() {
    assert_eq!(
        parse_error(&after_venue(r#"{"id":1,"actor":"staff:ops","kind":"login_attempted"}"#)),
        "test.jsonl:2: field `at`: missing; every event says when it happened"
    );
}

#[test]
fn an_at_without_offset() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T09:00:00","id":1,"actor":"customer:1","kind":"login_attempted"}"#
        )),
        "test.jsonl:2: field `at`: `2024-03-01T09:00:00` is not an RFC 3339 instant with an offset \
         (e.g. 2019-07-12T06:30:00+09:00): failed to find offset component, which is required for parsing a timestamp"
    );
    assert_eq!(
        parse_error(&after_venue(r#"{"at":1709280000,"id":1,"actor":"customer:1","kind":"login_attempted"}"#)),
        "test.jsonl:2: field `at`: is 1709280000; expected an RFC 3339 string"
    );
}

#[test]
fn offsets_are_normalised_to_utc() {
    let lines = parse_ok(&format!(
        "{VENUE}\n{}\n",
        r#"{"at":"2024-03-01T09:00:00+09:00","id":1,"actor":"customer:1","kind":"login_attempted"}"#
    ));
    assert_eq!(lines[1].envelope.at.to_string(), "2024-03-01T00:00:00Z");
}

#[test]
fn a_wrong_seq() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"seq":3,"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted"}"#
        )),
        "test.jsonl:2: field `seq`: is 3, expected 2: sequence numbers start at 1 and go up by one"
    );
    assert_eq!(
        parse_error(&format!("{}\n", VENUE.replacen('{', r#"{"seq":0,"#, 1))),
        "test.jsonl:1: field `seq`: is 0, expected 1: sequence numbers start at 1 and go up by one"
    );
    assert_eq!(
        parse_error(&after_venue(
            r#"{"seq":"2","at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted"}"#
        )),
        "test.jsonl:2: field `seq`: is \"2\", expected 2: sequence numbers start at 1 and go up by one"
    );
}

#[test]
fn seq_counts_every_non_blank_line_even_a_bad_one() {
    let text = format!(
        "{VENUE}\n\nnot json\n\n{}\n",
        r#"{"seq":3,"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted"}"#
    );
    assert_eq!(
        read_all(text.as_bytes()),
        [Ok((1, 1)), Err("test.jsonl:3: not a JSON object: expected ident at column 2".to_owned()), Ok((5, 3))]
    );
}

#[test]
fn a_bad_or_missing_id() {
    for (id, shown) in [
        ("0", "0"),
        ("-1", "-1"),
        ("1.5", "1.5"),
        ("\"1\"", "\"1\""),
        ("18446744073709551616", "1.8446744073709552e+19"),
    ] {
        assert_eq!(
            parse_error(&after_venue(&format!(
                r#"{{"at":"2024-03-01T01:00:00Z","id":{id},"actor":"customer:1","kind":"login_attempted"}}"#
            ))),
            format!("test.jsonl:2: field `id`: is {shown}; expected a positive integer, numbered upwards per actor")
        );
    }
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","actor":"customer:1","kind":"login_attempted"}"#)),
        "test.jsonl:2: field `id`: missing; every event has an id, numbered upwards per actor"
    );
}

#[test]
fn a_bad_actor() {
    let valid = "valid: customer:ID (ID up to 16777215), staff:NAME, system:NAME";
    for (actor, message) in [
        ("robot:r2", format!("actor `robot:r2` has an unknown kind `robot`; {valid}")),
        ("alice", format!("actor `alice` has no kind; {valid}")),
        ("customer:x", format!("actor `customer:x`: `x` is not a customer id; {valid}")),
        ("customer:16777216", format!("actor `customer:16777216`: `16777216` is not a customer id; {valid}")),
        ("customer:-1", format!("actor `customer:-1`: `-1` is not a customer id; {valid}")),
        ("staff:", format!("actor `staff:`: names are 1 to 64 letters, digits, `.`, `_` or `-`; {valid}")),
        (
            "staff:k tanaka",
            format!("actor `staff:k tanaka`: names are 1 to 64 letters, digits, `.`, `_` or `-`; {valid}"),
        ),
    ] {
        assert_eq!(
            parse_error(&after_venue(&format!(
                r#"{{"at":"2024-03-01T01:00:00Z","id":1,"actor":"{actor}","kind":"login_attempted"}}"#
            ))),
            format!("test.jsonl:2: field `actor`: {message}")
        );
    }
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":42,"kind":"login_attempted"}"#)),
        "test.jsonl:2: field `actor`: is 42; expected a string"
    );
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","id":1,"kind":"login_attempted"}"#)),
        "test.jsonl:2: field `actor`: missing; e.g. \"staff:ops\" or \"customer:42\""
    );
    let lines = parse_ok(&after_venue(
        r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:16777215","kind":"login_attempted"}"#,
    ));
    assert_eq!(lines[1].envelope.actor, Actor::Customer(16_777_215));
}

#[test]
fn a_note_that_is_not_a_string() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted","note":["a"]}"#
        )),
        "test.jsonl:2: field `note`: is [\"a\"]; expected a string"
    );
}

#[test]
fn a_customer_operation_before_venue_declared() {
    for line in [
        r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted"}"#,
        r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"deposit_received","asset":"JPY","amount_minor":5}"#,
    ] {
        let kind = if line.contains("login") { "login_attempted" } else { "deposit_received" };
        assert_eq!(
            parse_error(line),
            format!(
                "test.jsonl:1: field `kind`: `{kind}` before `venue_declared`: a log begins by declaring its venue"
            )
        );
    }
    // An operator event before the venue parses; it is the state machine that rejects it.
    let lines =
        parse_ok(r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"venue_ceased","reason":"x"}"#);
    assert!(matches!(lines[0].envelope.event, Event::VenueCeased(_)));
}

#[test]
fn an_invalid_venue_is_an_error_on_its_line() {
    assert_eq!(
        parse_error(&VENUE.replace(r#""code":"JPY""#, r#""code":"jpy""#)),
        "test.jsonl:1: asset code `jpy` is not valid: use 1 to 16 upper-case letters or digits"
    );
    assert_eq!(
        parse_error(&VENUE.replace("USDT/JPY", "BTC/JPY")),
        "test.jsonl:1: market `BTC/JPY` names an undeclared asset; declared assets: JPY, USDT"
    );
}

#[test]
fn a_venue_declared_under_newer_rules_names_the_field_and_the_versions_this_build_folds() {
    let newer = exops_core::RULES_VERSION + 1;
    let declared = VENUE.replace(r#""markets":["USDT/JPY"]"#, &format!(r#""markets":["USDT/JPY"],"rules":{newer}"#));
    assert_eq!(
        parse_error(&declared),
        format!(
            "test.jsonl:1: field `rules`: rules version {newer} is newer than this build, which folds rules \
             versions 1 to {}; fold this log with the exops that wrote it, or a later one",
            exops_core::RULES_VERSION
        )
    );
    let zero = VENUE.replace(r#""markets":["USDT/JPY"]"#, r#""markets":["USDT/JPY"],"rules":0"#);
    assert!(parse_error(&zero).starts_with("test.jsonl:1: field `rules`: rules version 0 does not exist"));
    let text = VENUE.replace(r#""markets":["USDT/JPY"]"#, r#""markets":["USDT/JPY"],"rules":"one""#);
    assert!(
        parse_error(&text).starts_with("test.jsonl:1: field `rules`: invalid type: string"),
        "{}",
        parse_error(&text)
    );
}

#[test]
fn rules_version_1_is_read_whether_said_or_not_and_rendered_unsaid() {
    let said = VENUE.replace(r#""markets":["USDT/JPY"]"#, r#""markets":["USDT/JPY"],"rules":1"#);
    let (said, unsaid) = (parse_ok(&said), parse_ok(VENUE));
    assert_eq!(said, unsaid);
    let Event::VenueDeclared(spec) = &said[0].envelope.event else { panic!("a venue declaration") };
    assert_eq!(spec.rules, exops_core::RulesVersion::FIRST);
    let rendered = exops_jsonl::render_all(said.iter().map(|line| &line.envelope));
    assert!(!rendered.contains("rules"), "{rendered}");
}

#[test]
fn an_unknown_market_in_a_customer_operation() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"order_submitted","market":"BTC/JPY","order_type":"limit","notional_minor":5}"#
        )),
        "test.jsonl:2: field `market`: the venue has no market `BTC/JPY`; its markets: USDT/JPY"
    );
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"order_cancelled","market":"JPY/USDT"}"#
        )),
        "test.jsonl:2: field `market`: the venue has no market `JPY/USDT`; its markets: USDT/JPY"
    );
}

#[test]
fn an_unknown_asset_in_a_customer_operation() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"withdrawal_requested","asset":"BTC","amount_minor":5}"#
        )),
        "test.jsonl:2: field `asset`: the venue has no asset `BTC`; its assets: JPY, USDT"
    );
}

#[test]
fn an_unknown_missing_or_superfluous_network_in_a_customer_operation() {
    let line = |fields: &str| {
        after_venue(&format!(
            r#"{{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"deposit_received",{fields},"amount_minor":5}}"#
        ))
    };
    assert_eq!(
        parse_error(&line(r#""asset":"USDT","network":"sol""#)),
        "test.jsonl:2: field `network`: `USDT` has no network `sol`; its networks: erc20, tron"
    );
    assert_eq!(
        parse_error(&line(r#""asset":"USDT""#)),
        "test.jsonl:2: field `network`: missing; `USDT` moves on several networks: erc20, tron"
    );
    assert_eq!(
        parse_error(&line(r#""asset":"JPY","network":"tron""#)),
        "test.jsonl:2: field `network`: `JPY` is declared without networks"
    );
    parse_ok(&line(r#""asset":"USDT","network":"tron""#));
}

#[test]
fn a_wrong_value_type_names_the_field() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"deposit_received","asset":"JPY","amount_minor":"5"}"#
        )),
        "test.jsonl:2: field `amount_minor`: invalid type: string \"5\", expected i64"
    );
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"haircut_applied","incident":"i","ratio":0.5}"#
        )),
        "test.jsonl:2: field `ratio`: invalid type: floating point `0.5`, expected a string"
    );
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"haircut_applied","incident":"i","ratio":"1e-2"}"#
        )),
        "test.jsonl:2: field `ratio`: `1e-2` is not a plain decimal number such as 88.549 or 0.36067"
    );
    // Nested fields are named by their path.
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"incident_opened","incident":"i","title":"t","category":"wallet_compromise","stolen":[{"asset":"JPY","wallet":"warm","amount_minor":1}],"blast_radius":["*"]}"#
        )),
        "test.jsonl:2: field `stolen[0].wallet`: unknown variant `warm`, expected `hot` or `cold`"
    );
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"h","cause":"maintenance","services":["login","trade:*"]}"#
        )),
        "test.jsonl:2: field `services[1]`: selector `trade:*`: unknown service `trade` (did you mean `trading`?); valid: trading:BASE/QUOTE, \
         trading:*, deposits:ASSET, deposits:ASSET@NETWORK, deposits:*, withdrawals:ASSET, withdrawals:ASSET@NETWORK, \
         withdrawals:*, margin, onboarding, login, *"
    );
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"hold_placed","hold":"h","cause":"maintenance","services":["login"],"mode":"paused"}"#
        )),
        "test.jsonl:2: field `mode`: unknown variant `paused`, expected one of `online`, `limit_only`, `post_only`, \
         `cancel_only`, `halted`, `open`, `delayed`, `close_only`, `read_only`, `closed`"
    );
}

#[test]
fn a_missing_payload_field_is_named() {
    assert_eq!(
        parse_error(&after_venue(r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"venue_ceased"}"#)),
        "test.jsonl:2: field `reason`: missing field `reason`"
    );
}

/// A valid line padded with spaces to exactly `length` bytes (without its newline).
fn padded_line(length: usize) -> Vec<u8> {
    let mut line = br#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted"}"#.to_vec();
    line.resize(length, b' ');
    line
}

#[test]
fn a_line_longer_than_the_limit_is_an_error_and_the_reader_goes_on() {
    let mut text = format!("{VENUE}\n").into_bytes();
    text.extend(padded_line(LINE_BYTES_MAX + 1));
    text.push(b'\n');
    text.extend(br#"{"seq":3,"at":"2024-03-01T02:00:00Z","id":2,"actor":"customer:1","kind":"login_attempted"}"#);
    text.push(b'\n');
    assert_eq!(
        read_all(&text),
        [Ok((1, 1)), Err(format!("test.jsonl:2: line is longer than {LINE_BYTES_MAX} bytes")), Ok((3, 3))]
    );
}

#[test]
fn a_line_of_exactly_the_limit_is_read() {
    let mut text = format!("{VENUE}\n").into_bytes();
    text.extend(padded_line(LINE_BYTES_MAX));
    text.push(b'\n');
    assert_eq!(read_all(&text), [Ok((1, 1)), Ok((2, 2))]);
    // Without its final newline too.
    text.pop();
    assert_eq!(read_all(&text), [Ok((1, 1)), Ok((2, 2))]);
}

#[test]
fn an_overlong_last_line_without_newline() {
    let mut text = format!("{VENUE}\n").into_bytes();
    text.extend(padded_line(3 * LINE_BYTES_MAX));
    assert_eq!(read_all(&text), [Ok((1, 1)), Err(format!("test.jsonl:2: line is longer than {LINE_BYTES_MAX} bytes"))]);
}

#[test]
fn non_utf8_bytes_are_an_error_and_the_reader_goes_on() {
    let mut text = format!("{VENUE}\n").into_bytes();
    text.extend(br#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted","note":"caf"#);
    text.extend(b"\xe9\"}\n");
    text.extend(br#"{"at":"2024-03-01T02:00:00Z","id":2,"actor":"customer:1","kind":"login_attempted","note":"caf"#);
    text.extend("é\"}\n".as_bytes());
    assert_eq!(
        read_all(&text),
        [Ok((1, 1)), Err("test.jsonl:2: not UTF-8 (byte 94 of the line)".to_owned()), Ok((3, 3))]
    );
}

#[test]
fn blank_lines_are_skipped_and_take_no_number() {
    let text = format!(
        "\n{VENUE}\r\n   \n\t\n\r\n{}\n\n",
        r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"customer:1","kind":"login_attempted"}"#
    );
    assert_eq!(read_all(text.as_bytes()), [Ok((2, 1)), Ok((6, 2))]);
    assert_eq!(read_all(b""), []);
    assert_eq!(read_all(b"\n\n  \n"), []);
}

#[test]
fn a_read_error_is_reported_once_and_ends_the_stream() {
    #[derive(Debug)]
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let mut reader = Reader::new("test.jsonl", BufReader::new(Failing));
    let error: ParseError = reader.next().expect("an item").expect_err("an error");
    assert_eq!(error.to_string(), "test.jsonl:1: cannot read: disk on fire");
    assert!(reader.next().is_none());
}

/// Feeds `bytes` through a reader to the end, applying what parses to a state.
fn read_and_apply(bytes: &[u8]) {
    let mut state = exops_core::State::new();
    for item in Reader::new("fuzz.jsonl", bytes) {
        match item {
            Ok(line) => {
                state.apply(&line.envelope);
            }
            Err(_) => state.reject_unreadable(),
        }
    }
}

/// Replaces, inserts or deletes bytes of a valid log.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(position, operation, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let position = position % bytes.len();
        match operation % 3 {
            0 => bytes[position] = byte,
            1 => bytes.insert(position, byte),
            _ => {
                bytes.remove(position);
            }
        }
    }
    bytes
}

/// JSON values that hit the interesting cases of every field.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|number| json!(number)),
        any::<u64>().prop_map(|number| json!(number)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1.5)),
        "[a-zA-Z0-9:/@*._ -]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "",
            "*",
            "BTC",
            "JPY",
            "USDT",
            "USDT/JPY",
            "BTC/JPY",
            "tron",
            "erc20",
            "hot",
            "cold",
            "closed",
            "delayed",
            "halted",
            "read_only",
            "open",
            "maintenance",
            "insolvency",
            "customer:1",
            "staff:ops",
            "ciso",
            "0",
            "1",
            "0.5",
            "2",
            "9999999999999999999",
            "withdrawals:*",
            "deposits:USDT@tron",
            "trading:*",
            "login",
            "2024-03-01T00:00:00Z",
            "INC-2024-03-hot-wallet",
            "withdrawals-paused",
        ])
        .prop_map(|text| Value::String(text.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        read_and_apply(&bytes);
    }

    #[test]
    fn arbitrary_lines_after_a_venue_never_panic(lines in prop::collection::vec("[ -~]{0,120}", 0..8)) {
        read_and_apply(format!("{VENUE}\n{}", lines.join("\n")).as_bytes());
    }

    #[test]
    fn byte_mutations_of_the_catalog_log_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..12),
    ) {
        read_and_apply(&mutate(catalog_log().into_bytes(), &edits));
    }

    #[test]
    fn field_mutations_of_the_catalog_log_never_panic(
        line_index in any::<prop::sample::Index>(),
        field_index in any::<prop::sample::Index>(),
        value in any_json(),
        remove in any::<bool>(),
    ) {
        let log = catalog_log();
        let mut lines: Vec<serde_json::Value> =
            log.lines().map(|line| serde_json::from_str(line).expect("catalog lines are JSON")).collect();
        let line = line_index.get_mut(&mut lines).as_object_mut().expect("catalog lines are objects");
        let keys: Vec<String> = line.keys().cloned().collect();
        let key = field_index.get(&keys).clone();
        if remove {
            line.remove(&key);
        } else {
            line.insert(key, value);
        }
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        read_and_apply(text.as_bytes());
    }
}

#[test]
fn a_repeated_field_is_an_error_at_any_depth() {
    assert_eq!(
        parse_error(&after_venue(
            r#"{"at":"2024-03-01T01:00:00Z","id":2,"id":5,"actor":"customer:1","kind":"login_attempted"}"#
        )),
        "test.jsonl:2: not a JSON object: field `id` appears twice at column 40"
    );
    let nested = after_venue(
        r#"{"at":"2024-03-01T01:00:00Z","id":1,"actor":"staff:ops","kind":"theft_recorded","incident":"i","stolen":[{"asset":"BTC","asset":"JPY","wallet":"hot","amount_minor":1}]}"#,
    );
    assert!(parse_error(&nested).contains("field `asset` appears twice"), "{}", parse_error(&nested));
}
