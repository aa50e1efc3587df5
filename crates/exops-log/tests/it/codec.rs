//! The event codec: bincode 1.3.3 compatibility, round trips, golden bytes, robustness.
//!
//! Golden files live in `crates/exops-log/tests/golden/`:
//! - `events-v4.hex`: today's body of every example in [`examples`], one
//!   `kind_name hexbytes` line each, in order. A difference means the byte format
//!   changed, and logs already written would no longer read the same.
//! - `events-v3.hex`: schema version 3 bodies of every example (before `venue_declared`
//!   had `rules`), made once before version 4; they must keep decoding into the same
//!   examples (rules version 1), and all but the venue declarations are byte for byte
//!   their version 4 bodies.
//! - `events-v2.hex`: schema version 2 bodies of every example but the phase marker
//!   (which version 2 did not have), made once before version 3; they must keep decoding
//!   into the same examples, and are byte for byte their version 3 bodies.
//! - `events-v1.hex`: schema version 1 bodies, made once from the frozen `wire::v1`
//!   types; they must keep decoding into the current envelopes in [`v1_examples`].
//!
//! To regenerate both deliberately (after adding examples, or with a new schema
//! version), run
//!
//! ```text
//! EXOPS_BLESS=1 cargo test -p exops-log --test it codec::golden
//! ```
//!
//! and review the diff of `tests/golden/` before committing it.

use std::fmt::Write as _;
use std::path::PathBuf;

use exops_core::{
    Actor, ApprovalGiven, AssetClass, AssetId, AssetSpec, CUSTOMER_ID_MAX, Cause, ClaimsConverted, CustodyReplenished,
    CustodyTransferred, Decimal, Envelope, Event, HaircutApplied, HoldLifted, HoldModeSet, HoldPlaced,
    IncidentCategory, IncidentOpened, IncidentStatus, IncidentUpdated, KeysRotated, MarginAction, MarginRequested,
    MarketId, Mode, OrderCancelled, OrderSubmitted, OrderType, PhaseOpened, RefundPaid, RoleGranted, RulesVersion,
    SecurityReviewPassed, Selector, Theft, TheftRecorded, Timestamp, Transfer, VenueCeased, VenueSpec, Wallet,
    WithdrawalsSettled,
};
use exops_core::{RULES_VERSION, RulesVersionError};
use exops_log::codec::{self, BODY_BYTES_MAX, CodecError, EVENT_SCHEMA_VERSION, wire};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

/// The number of `Event` variants; [`variant_index`] is exhaustive, so a new variant
/// fails to compile here until it has an example.
const EVENT_VARIANTS: usize = 26;

fn variant_index(event: &Event) -> usize {
    match event {
        Event::VenueDeclared(_) => 0,
        Event::RoleGranted(_) => 1,
        Event::IncidentOpened(_) => 2,
        Event::TheftRecorded(_) => 3,
        Event::IncidentUpdated(_) => 4,
        Event::HoldPlaced(_) => 5,
        Event::HoldLifted(_) => 6,
        Event::HoldModeSet(_) => 7,
        Event::KeysRotated(_) => 8,
        Event::SecurityReviewPassed(_) => 9,
        Event::ApprovalGiven(_) => 10,
        Event::CustodyTransferred(_) => 11,
        Event::CustodyReplenished(_) => 12,
        Event::RefundPaid(_) => 13,
        Event::ClaimsConverted(_) => 14,
        Event::HaircutApplied(_) => 15,
        Event::WithdrawalsSettled(_) => 16,
        Event::VenueCeased(_) => 17,
        Event::OrderSubmitted(_) => 18,
        Event::OrderCancelled(_) => 19,
        Event::DepositReceived(_) => 20,
        Event::WithdrawalRequested(_) => 21,
        Event::MarginRequested(_) => 22,
        Event::SignupRequested => 23,
        Event::LoginAttempted => 24,
        Event::PhaseOpened(_) => 25,
    }
}

fn staff(name: &str) -> Actor {
    Actor::Staff(name.to_owned())
}

fn system(name: &str) -> Actor {
    Actor::System(name.to_owned())
}

fn selectors(texts: &[&str]) -> Vec<Selector> {
    texts.iter().map(|text| Selector::parse(text).unwrap()).collect()
}

fn decimal(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

fn text(value: &str) -> String {
    value.to_owned()
}

fn venue() -> VenueSpec {
    let asset = |code: &str, class, decimals, networks: &[&str], liabilities_minor| AssetSpec {
        code: code.to_owned(),
        class,
        decimals,
        networks: networks.iter().map(|network| (*network).to_owned()).collect(),
        liabilities_minor,
        hot_minor: liabilities_minor / 4,
        cold_minor: liabilities_minor - liabilities_minor / 4,
    };
    VenueSpec {
        name: text("BITPoint ビットポイント 🇯🇵"),
        assets: vec![
            asset("JPY", AssetClass::Fiat, 0, &[], 12_000_000_000),
            asset("BTC", AssetClass::Crypto, 8, &[], 250_000_000_000),
            asset("USDT", AssetClass::Crypto, 6, &["tron", "erc20"], i64::MAX),
            asset("XRP", AssetClass::Crypto, 6, &["xrpl"], 0),
        ],
        markets: vec![text("BTC/JPY"), text("USDT/JPY"), text("XRP/JPY")],
        margin: true,
        approvals_required: vec![text("ciso"), text("cfo")],
        rules: RulesVersion::FIRST,
    }
}

/// One envelope or more of every event variant, with every `Option` both `Some` and
/// `None` somewhere, unicode text, and extreme integers.
fn examples() -> Vec<Envelope> {
    let events: Vec<(Actor, Event, Option<String>)> = vec![
        (staff("k.tanaka"), Event::VenueDeclared(venue()), Some(text("宣言 — declared at launch 🚀"))),
        (
            staff("k.tanaka"),
            Event::VenueDeclared(VenueSpec {
                name: text("Tiny"),
                assets: vec![],
                markets: vec![],
                margin: false,
                approvals_required: vec![],
                rules: RulesVersion::FIRST,
            }),
            None,
        ),
        (staff("k.tanaka"), Event::RoleGranted(RoleGranted { person: text("Ōtani Shōhei"), role: text("ciso") }), None),
        (
            system("monitoring"),
            Event::IncidentOpened(IncidentOpened {
                incident: text("INC-2019-07"),
                title: text("Hot wallet drained — ホットウォレット流出"),
                category: IncidentCategory::WalletCompromise,
                stolen: vec![
                    Theft { asset: text("BTC"), wallet: Wallet::Hot, amount_minor: 105_000_000_000 },
                    Theft { asset: text("XRP"), wallet: Wallet::Cold, amount_minor: i64::MIN },
                ],
                blast_radius: selectors(&["withdrawals:*", "deposits:USDT@tron", "trading:BTC/JPY", "margin"]),
            }),
            Some(text("source: press release 2019-07-12")),
        ),
        (
            staff("ops-1"),
            Event::IncidentOpened(IncidentOpened {
                incident: text("INC-DDOS"),
                title: text(""),
                category: IncidentCategory::Ddos,
                stolen: vec![],
                blast_radius: selectors(&["*"]),
            }),
            None,
        ),
        (
            system("monitoring"),
            Event::TheftRecorded(TheftRecorded {
                incident: text("INC-2019-07"),
                stolen: vec![Theft { asset: text("USDT"), wallet: Wallet::Hot, amount_minor: 7 }],
            }),
            None,
        ),
        (
            staff("k.tanaka"),
            Event::IncidentUpdated(IncidentUpdated {
                incident: text("INC-2019-07"),
                status: IncidentStatus::Identified,
            }),
            None,
        ),
        (
            staff("k.tanaka"),
            Event::HoldPlaced(HoldPlaced {
                hold: text("H-wallet"),
                cause: Cause::Incident(text("INC-2019-07")),
                services: selectors(&[
                    "withdrawals:*",
                    "deposits:*",
                    "deposits:JPY",
                    "withdrawals:USDT@erc20",
                    "trading:*",
                    "onboarding",
                    "login",
                ]),
                mode: Some(Mode::CancelOnly),
                max_order_notional_minor: Some(5_000_000),
                reason: Some(text("凍結 pending review ❄")),
            }),
            Some(text("hold note")),
        ),
        (
            staff("k.tanaka"),
            Event::HoldPlaced(HoldPlaced {
                hold: text("H-maint"),
                cause: Cause::Maintenance,
                services: selectors(&["trading:BTC/JPY"]),
                mode: None,
                max_order_notional_minor: None,
                reason: None,
            }),
            None,
        ),
        (
            staff("k.tanaka"),
            Event::HoldPlaced(HoldPlaced {
                hold: text("H-fsa"),
                cause: Cause::RegulatorOrder(text("関東財務局 FSA-2019-07")),
                services: vec![],
                mode: Some(Mode::Closed),
                max_order_notional_minor: Some(i64::MIN),
                reason: None,
            }),
            None,
        ),
        (
            staff("k.tanaka"),
            Event::HoldPlaced(HoldPlaced {
                hold: text("H-insolvent"),
                cause: Cause::Insolvency,
                services: selectors(&["login"]),
                mode: Some(Mode::ReadOnly),
                max_order_notional_minor: None,
                reason: Some(text("")),
            }),
            None,
        ),
        (
            staff("k.tanaka"),
            Event::HoldLifted(HoldLifted {
                hold: text("H-wallet"),
                services: Some(selectors(&["deposits:*", "withdrawals:USDT@erc20"])),
            }),
            None,
        ),
        (staff("k.tanaka"), Event::HoldLifted(HoldLifted { hold: text("H-maint"), services: None }), None),
        (
            staff("k.tanaka"),
            Event::HoldModeSet(HoldModeSet {
                hold: text("H-wallet"),
                mode: Mode::LimitOnly,
                max_order_notional_minor: Some(i64::MAX),
            }),
            None,
        ),
        (
            staff("k.tanaka"),
            Event::HoldModeSet(HoldModeSet {
                hold: text("H-insolvent"),
                mode: Mode::Delayed,
                max_order_notional_minor: None,
            }),
            None,
        ),
        (
            staff("sec.team"),
            Event::KeysRotated(KeysRotated { incident: text("INC-2019-07"), asset: text("BTC") }),
            None,
        ),
        (staff("sec.team"), Event::SecurityReviewPassed(SecurityReviewPassed { incident: text("INC-2019-07") }), None),
        (
            staff("cfo_1"),
            Event::ApprovalGiven(ApprovalGiven { incident: text("INC-2019-07"), role: text("cfo") }),
            None,
        ),
        (
            staff("treasury"),
            Event::CustodyTransferred(CustodyTransferred {
                asset: text("BTC"),
                from: Wallet::Cold,
                to: Wallet::Hot,
                amount_minor: 1,
            }),
            None,
        ),
        (
            staff("treasury"),
            Event::CustodyReplenished(CustodyReplenished {
                incident: text("INC-2019-07"),
                asset: text("BTC"),
                wallet: Wallet::Hot,
                amount_minor: 105_000_000_000,
            }),
            None,
        ),
        (
            staff("treasury"),
            Event::RefundPaid(RefundPaid {
                incident: Some(text("INC-2019-07")),
                asset: text("JPY"),
                amount_minor: 3_000_000_000,
                customers: 50_000,
                reason: Some(text("返金 first tranche")),
            }),
            None,
        ),
        (
            staff("treasury"),
            Event::RefundPaid(RefundPaid {
                incident: None,
                asset: text("JPY"),
                amount_minor: 0,
                customers: u32::MAX,
                reason: None,
            }),
            None,
        ),
        (
            staff("treasury"),
            Event::ClaimsConverted(ClaimsConverted {
                incident: text("INC-2019-07"),
                from_asset: text("XRP"),
                to_asset: text("JPY"),
                rate: decimal("88.549"),
                held_minor: 1_234_567,
                customers: 3,
            }),
            None,
        ),
        (
            staff("trustee"),
            Event::HaircutApplied(HaircutApplied { incident: text("INC-2019-07"), ratio: decimal("0.36067") }),
            None,
        ),
        (
            staff("treasury"),
            Event::WithdrawalsSettled(WithdrawalsSettled { asset: text("USDT"), network: Some(text("tron")) }),
            None,
        ),
        (staff("treasury"), Event::WithdrawalsSettled(WithdrawalsSettled { asset: text("BTC"), network: None }), None),
        (
            staff("trustee"),
            Event::VenueCeased(VenueCeased { reason: text("事業終了 — business wound up") }),
            Some(text("end")),
        ),
        (
            Actor::Customer(42),
            Event::OrderSubmitted(OrderSubmitted {
                market: MarketId(0),
                order_type: OrderType::Market,
                notional_minor: 1_500_000,
            }),
            None,
        ),
        (
            Actor::Customer(CUSTOMER_ID_MAX),
            Event::OrderSubmitted(OrderSubmitted {
                market: MarketId(u16::MAX),
                order_type: OrderType::PostOnly,
                notional_minor: i64::MIN,
            }),
            Some(text("注文 via API")),
        ),
        (
            Actor::Customer(0),
            Event::OrderSubmitted(OrderSubmitted {
                market: MarketId(2),
                order_type: OrderType::Limit,
                notional_minor: 0,
            }),
            None,
        ),
        (Actor::Customer(42), Event::OrderCancelled(OrderCancelled { market: MarketId(1) }), None),
        (
            Actor::Customer(7),
            Event::DepositReceived(Transfer { asset: AssetId(2), network: Some(1), amount_minor: 10_000_000 }),
            None,
        ),
        (
            Actor::Customer(7),
            Event::DepositReceived(Transfer { asset: AssetId(0), network: None, amount_minor: 100_000 }),
            None,
        ),
        (
            Actor::Customer(8),
            Event::WithdrawalRequested(Transfer { asset: AssetId(2), network: Some(0), amount_minor: 5 }),
            None,
        ),
        (
            Actor::Customer(8),
            Event::WithdrawalRequested(Transfer { asset: AssetId(1), network: None, amount_minor: i64::MAX }),
            None,
        ),
        (
            Actor::Customer(9),
            Event::MarginRequested(MarginRequested { action: MarginAction::Open, notional_minor: 2_000_000 }),
            None,
        ),
        (
            Actor::Customer(9),
            Event::MarginRequested(MarginRequested { action: MarginAction::Close, notional_minor: -1 }),
            None,
        ),
        (Actor::Customer(10), Event::SignupRequested, None),
        (Actor::Customer(10), Event::LoginAttempted, Some(text(""))),
        // New in schema version 3; last, so the examples before it are version 2's.
        (
            system("planner"),
            Event::PhaseOpened(PhaseOpened { phase: text("Phase 2 — 出金再開") }),
            Some(text("opened by the plan")),
        ),
    ];
    let start = Timestamp::parse_rfc3339("2019-07-12T06:30:00+09:00").unwrap().unix_micros();
    events
        .into_iter()
        .enumerate()
        .map(|(index, (actor, event, note))| Envelope {
            seq: index as u64 + 1,
            at: Timestamp::from_unix_micros(start + index as i64 * 1_000_000),
            id: if index == 1 { u64::MAX } else { index as u64 * 10 },
            actor,
            event,
            note,
        })
        .collect()
}

fn encode(envelope: &Envelope) -> Vec<u8> {
    let mut bytes = Vec::new();
    codec::encode_body(envelope, &mut bytes).unwrap();
    bytes
}

fn decode(bytes: &[u8]) -> Result<Envelope, CodecError> {
    codec::decode_body(EVENT_SCHEMA_VERSION, 1, Timestamp::from_unix_micros(0), bytes)
}

fn decode_as(envelope: &Envelope, schema_version: u16, bytes: &[u8]) -> Result<Envelope, CodecError> {
    codec::decode_body(schema_version, envelope.seq, envelope.at, bytes)
}

#[test]
fn examples_cover_every_event_variant() {
    let mut covered = [false; EVENT_VARIANTS];
    for example in examples() {
        covered[variant_index(&example.event)] = true;
    }
    let missing: Vec<usize> = (0..EVENT_VARIANTS).filter(|index| !covered[*index]).collect();
    assert!(missing.is_empty(), "no example of the event variants at indices {missing:?}");
}

// ---------------------------------------------------------------------------------------
// 1. The bytes are bincode 1.3.3's default format
// ---------------------------------------------------------------------------------------

#[test]
fn encoding_is_byte_for_byte_bincode_1_3_3() {
    for example in examples() {
        let kind = example.event.kind_name();
        let body = wire::WireBody::from_envelope(&example).unwrap();
        let by_bincode = bincode::serialize(&body).unwrap();
        let ours = encode(&example);
        assert_eq!(hex(&ours), hex(&by_bincode), "{kind} (seq {}): wincode and bincode 1.3.3 differ", example.seq);
        // Each reads what the other wrote.
        assert_eq!(bincode::deserialize::<wire::WireBody>(&ours).unwrap(), body, "{kind}");
        assert_eq!(decode_as(&example, EVENT_SCHEMA_VERSION, &by_bincode).unwrap(), example, "{kind}");
    }
}

#[test]
fn version_1_wire_types_are_byte_for_byte_bincode_1_3_3() {
    for (body, _) in v1_examples() {
        let by_bincode = bincode::serialize(&body).unwrap();
        assert_eq!(hex(&wincode::serialize(&body).unwrap()), hex(&by_bincode));
        assert_eq!(wincode::deserialize::<wire::v1::WireBody>(&by_bincode).unwrap(), body);
    }
}

/// The layout spelled out by hand, independent of both libraries.
#[test]
fn a_small_body_has_the_documented_layout() {
    let envelope = Envelope {
        seq: 5,
        at: Timestamp::from_unix_micros(0),
        id: 0x0102,
        actor: Actor::Customer(7),
        event: Event::DepositReceived(Transfer { asset: AssetId(2), network: Some(1), amount_minor: -2 }),
        note: None,
    };
    let expected: Vec<u8> = [
        &[0x02, 0x01, 0, 0, 0, 0, 0, 0][..],               // id: u64 little-endian
        &[0, 0, 0, 0],                                     // actor: variant 0 (customer), u32 tag
        &[7, 0, 0, 0],                                     // customer id: u32
        &[20, 0, 0, 0],                                    // event: variant 20 (deposit_received), u32 tag
        &[2, 0],                                           // asset: u16
        &[1, 1],                                           // network: Some (u8 tag 1), then u8 index 1
        &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // amount: i64 -2
        &[0],                                              // note: None
    ]
    .concat();
    assert_eq!(hex(&encode(&envelope)), hex(&expected));

    let staff_note = Envelope { actor: staff("ab"), event: Event::LoginAttempted, note: Some(text("é")), ..envelope };
    let expected: Vec<u8> = [
        &[0x02, 0x01, 0, 0, 0, 0, 0, 0][..],
        &[1, 0, 0, 0],             // actor: variant 1 (staff)
        &[2, 0, 0, 0, 0, 0, 0, 0], // name length: u64
        b"ab",
        &[24, 0, 0, 0],                           // event: variant 24 (login_attempted), no payload
        &[1, 2, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0xa9], // note: Some, u64 length 2, UTF-8 bytes
    ]
    .concat();
    assert_eq!(hex(&encode(&staff_note)), hex(&expected));
}

#[test]
fn encoding_appends_to_the_buffer() {
    let examples = examples();
    let mut buffer = b"header".to_vec();
    let mut expected = buffer.clone();
    for example in &examples {
        codec::encode_body(example, &mut buffer).unwrap();
        expected.extend(encode(example));
    }
    assert_eq!(buffer, expected);
}

// ---------------------------------------------------------------------------------------
// 2. Round trips
// ---------------------------------------------------------------------------------------

#[test]
fn every_example_round_trips() {
    for example in examples() {
        let bytes = encode(&example);
        assert!(bytes.len() <= BODY_BYTES_MAX);
        assert_eq!(decode_as(&example, EVENT_SCHEMA_VERSION, &bytes).unwrap(), example);
    }
}

fn actor_strategy() -> impl Strategy<Value = Actor> {
    prop_oneof![
        4 => (0..=CUSTOMER_ID_MAX).prop_map(Actor::Customer),
        1 => "[A-Za-z0-9._-]{1,64}".prop_map(Actor::Staff),
        1 => "[A-Za-z0-9._-]{1,64}".prop_map(Actor::System),
    ]
}

fn transfer_strategy() -> impl Strategy<Value = Transfer> {
    (any::<u16>(), any::<Option<u8>>(), any::<i64>()).prop_map(|(asset, network, amount_minor)| Transfer {
        asset: AssetId(asset),
        network,
        amount_minor,
    })
}

fn customer_operation_strategy() -> impl Strategy<Value = Event> {
    let order_type = prop::sample::select(vec![OrderType::Market, OrderType::Limit, OrderType::PostOnly]);
    let action = prop::sample::select(vec![MarginAction::Open, MarginAction::Close]);
    prop_oneof![
        (any::<u16>(), order_type, any::<i64>()).prop_map(|(market, order_type, notional_minor)| {
            Event::OrderSubmitted(OrderSubmitted { market: MarketId(market), order_type, notional_minor })
        }),
        any::<u16>().prop_map(|market| Event::OrderCancelled(OrderCancelled { market: MarketId(market) })),
        transfer_strategy().prop_map(Event::DepositReceived),
        transfer_strategy().prop_map(Event::WithdrawalRequested),
        (action, any::<i64>())
            .prop_map(|(action, notional_minor)| Event::MarginRequested(MarginRequested { action, notional_minor })),
        Just(Event::SignupRequested),
        Just(Event::LoginAttempted),
    ]
}

fn selector_strategy() -> impl Strategy<Value = Selector> {
    prop_oneof![
        prop::sample::select(vec!["*", "trading:*", "deposits:*", "withdrawals:*", "margin", "onboarding", "login"])
            .prop_map(str::to_owned),
        "trading:[A-Z0-9]{1,6}/[A-Z0-9]{1,6}",
        "(deposits|withdrawals):[A-Z0-9]{1,8}(@[a-z0-9-]{1,10})?",
    ]
    .prop_map(|text| Selector::parse(&text).unwrap())
}

fn mode_strategy() -> impl Strategy<Value = Mode> {
    prop::sample::select(vec![
        Mode::Online,
        Mode::LimitOnly,
        Mode::PostOnly,
        Mode::CancelOnly,
        Mode::Halted,
        Mode::Open,
        Mode::Delayed,
        Mode::CloseOnly,
        Mode::ReadOnly,
        Mode::Closed,
    ])
}

fn hold_placed_strategy() -> impl Strategy<Value = Event> {
    let cause = prop_oneof![
        any::<String>().prop_map(Cause::Incident),
        Just(Cause::Maintenance),
        any::<String>().prop_map(Cause::RegulatorOrder),
        Just(Cause::Insolvency),
    ];
    (
        any::<String>(),
        cause,
        prop::collection::vec(selector_strategy(), 0..6),
        proptest::option::of(mode_strategy()),
        any::<Option<i64>>(),
        any::<Option<String>>(),
    )
        .prop_map(|(hold, cause, services, mode, max_order_notional_minor, reason)| {
            Event::HoldPlaced(HoldPlaced { hold, cause, services, mode, max_order_notional_minor, reason })
        })
}

fn envelope_strategy(event: impl Strategy<Value = Event>) -> impl Strategy<Value = Envelope> {
    (any::<u64>(), any::<i64>(), any::<u64>(), actor_strategy(), event, any::<Option<String>>()).prop_map(
        |(seq, at, id, actor, event, note)| Envelope {
            seq,
            at: Timestamp::from_unix_micros(at),
            id,
            actor,
            event,
            note,
        },
    )
}

/// The version 1 body of a `hold_placed` envelope: no cap, no reason.
fn as_v1_hold(envelope: &Envelope) -> wire::v1::WireBody {
    let body = wire::WireBody::from_envelope(envelope).unwrap();
    let wire::WireEvent::HoldPlaced(hold) = body.event else { panic!("not a hold_placed envelope") };
    wire::v1::WireBody {
        id: body.id,
        actor: body.actor,
        event: wire::v1::WireEvent::HoldPlaced(wire::v1::WireHoldPlaced {
            hold: hold.hold,
            cause: hold.cause,
            services: hold.services,
            mode: hold.mode,
        }),
        note: body.note,
    }
}

proptest! {
    #[test]
    fn customer_operations_round_trip(envelope in envelope_strategy(customer_operation_strategy())) {
        let bytes = encode(&envelope);
        prop_assert_eq!(&bytes, &bincode::serialize(&wire::WireBody::from_envelope(&envelope).unwrap()).unwrap());
        prop_assert_eq!(decode_as(&envelope, EVENT_SCHEMA_VERSION, &bytes).unwrap(), envelope);
    }

    #[test]
    fn holds_placed_round_trip_and_upcast_from_version_1(envelope in envelope_strategy(hold_placed_strategy())) {
        let bytes = encode(&envelope);
        prop_assert_eq!(&bytes, &bincode::serialize(&wire::WireBody::from_envelope(&envelope).unwrap()).unwrap());
        prop_assert_eq!(decode_as(&envelope, EVENT_SCHEMA_VERSION, &bytes).unwrap(), envelope.clone());

        let v1_bytes = bincode::serialize(&as_v1_hold(&envelope)).unwrap();
        let mut expected = envelope.clone();
        if let Event::HoldPlaced(hold) = &mut expected.event {
            hold.max_order_notional_minor = None;
            hold.reason = None;
        }
        prop_assert_eq!(decode_as(&envelope, 1, &v1_bytes).unwrap(), expected);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Golden bytes
// ---------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd number of hex digits");
    (0..text.len()).step_by(2).map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap()).collect()
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn blessing() -> bool {
    std::env::var_os("EXOPS_BLESS").is_some_and(|value| value == "1")
}

const BLESS_HINT: &str = "if the change is deliberate, bump EVENT_SCHEMA_VERSION, keep reading the old \
version (freeze its layout in `wire` and upcast it), then regenerate with \
`EXOPS_BLESS=1 cargo test -p exops-log --test it codec::golden` and review the diff";

fn write_golden(name: &str, header: &str, lines: &[(&str, Vec<u8>)]) {
    let mut text = String::from(header);
    for (kind, bytes) in lines {
        writeln!(text, "{kind} {}", hex(bytes)).unwrap();
    }
    let path = golden_path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    println!("wrote {}", path.display());
}

fn read_golden(name: &str) -> Vec<(String, Vec<u8>)> {
    let path = golden_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; create it with `EXOPS_BLESS=1 cargo test -p exops-log --test it codec::golden`",
            path.display()
        )
    });
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (kind, bytes) = line.split_once(' ').unwrap_or_else(|| panic!("{}: bad line `{line}`", path.display()));
            (kind.to_owned(), unhex(bytes))
        })
        .collect()
}

#[test]
fn golden_v4_bytes_are_unchanged() {
    let examples = examples();
    let today: Vec<(&str, Vec<u8>)> =
        examples.iter().map(|example| (example.event.kind_name(), encode(example))).collect();
    if blessing() {
        write_golden(
            "events-v4.hex",
            "# Event bodies of schema version 4, one `kind_name hexbytes` line per example of\n\
             # examples() in tests/it/codec.rs, in order. Regenerate deliberately with EXOPS_BLESS=1.\n",
            &today,
        );
        return;
    }
    let golden = read_golden("events-v4.hex");
    assert_eq!(
        golden.len(),
        today.len(),
        "the event byte format changed, or the examples did: tests/golden/events-v4.hex has {} bodies, \
         examples() {}; {BLESS_HINT}",
        golden.len(),
        today.len()
    );
    for (index, ((golden_kind, golden_bytes), (kind, bytes))) in golden.iter().zip(&today).enumerate() {
        assert!(
            golden_kind == kind && golden_bytes == bytes,
            "the event byte format changed: example {index} ({kind}, seq {}) is today\n  {kind} {}\nbut \
             tests/golden/events-v4.hex has\n  {golden_kind} {}\nLogs already written would no longer read the \
             same; {BLESS_HINT}",
            index + 1,
            hex(bytes),
            hex(golden_bytes),
        );
        // And the bytes on disk still decode into the example.
        assert_eq!(decode_as(&examples[index], EVENT_SCHEMA_VERSION, golden_bytes).unwrap(), examples[index]);
    }
}

/// The version 3 golden file (written before version 4 existed, and never regenerated)
/// decodes, through the upcast, into the examples it was made from, every venue declared
/// under rules version 1; its layout is the frozen `wire::v3`; and every version 3 body
/// but a venue declaration is byte for byte its version 4 body.
#[test]
fn golden_v3_bodies_upcast_to_current_envelopes() {
    let examples = examples();
    let golden = read_golden("events-v3.hex");
    assert_eq!(golden.len(), examples.len(), "tests/golden/events-v3.hex is version 3's examples; it never changes");
    let mut declarations = 0;
    for ((kind, bytes), expected) in golden.iter().zip(&examples) {
        assert_eq!(kind, expected.event.kind_name());
        assert_eq!(&decode_as(expected, 3, bytes).unwrap(), expected, "{kind} (seq {})", expected.seq);
        let body: wire::v3::WireBody = wincode::deserialize(bytes).unwrap();
        assert_eq!(hex(&wincode::serialize(&body).unwrap()), hex(bytes), "the frozen version 3 layout changed");
        if let Event::VenueDeclared(spec) = &expected.event {
            declarations += 1;
            assert_eq!(spec.rules, RulesVersion::FIRST, "a version 3 venue is folded with rules version 1");
            // Version 4 appends the rules version (u32) to the declaration's payload.
            assert_ne!(hex(&encode(expected)), hex(bytes));
        } else {
            assert_eq!(hex(&encode(expected)), hex(bytes), "{kind}: version 4 writes other bytes than version 3");
        }
    }
    assert!(declarations > 0, "the examples declare a venue");
}

/// A version 4 venue declaration under rules this build does not know is refused, as such:
/// the error is typed (`CodecError::rules`) and names the versions this build folds.
#[test]
fn a_declaration_under_newer_rules_is_refused_naming_the_versions_this_build_folds() {
    let example = examples().remove(0);
    let mut body = wire::WireBody::from_envelope(&example).unwrap();
    let wire::WireEvent::VenueDeclared(spec) = &mut body.event else { panic!("example 0 declares the venue") };
    spec.rules = RULES_VERSION + 1;
    let bytes = wincode::serialize(&body).unwrap();
    let error = decode_as(&example, EVENT_SCHEMA_VERSION, &bytes).unwrap_err();
    assert_eq!(error.rules, Some(RulesVersionError::Newer { found: RULES_VERSION + 1 }));
    assert_eq!(
        error.message,
        format!(
            "event seq 1 (venue_declared): field `rules`: rules version {} is newer than this build, which folds \
             rules versions 1 to {RULES_VERSION}; fold this log with the exops that wrote it, or a later one",
            RULES_VERSION + 1
        )
    );
    spec_rules(&mut body, 0);
    let error = decode_as(&example, EVENT_SCHEMA_VERSION, &wincode::serialize(&body).unwrap()).unwrap_err();
    assert_eq!(error.rules, Some(RulesVersionError::Zero), "{error}");
    // Every version this build knows decodes.
    for version in 1..=RULES_VERSION {
        spec_rules(&mut body, version);
        let decoded = decode_as(&example, EVENT_SCHEMA_VERSION, &wincode::serialize(&body).unwrap()).unwrap();
        let Event::VenueDeclared(spec) = decoded.event else { panic!() };
        assert_eq!(spec.rules.get(), version);
    }
}

fn spec_rules(body: &mut wire::WireBody, version: u32) {
    let wire::WireEvent::VenueDeclared(spec) = &mut body.event else { panic!("a venue declaration") };
    spec.rules = version;
}

/// The version 2 golden file (written before version 3 existed, and never regenerated)
/// decodes, through the upcasts, into the examples it was made from; its layout is the
/// frozen `wire::v2`; and every version 2 body is byte for byte its version 3 body.
#[test]
fn golden_v2_bodies_upcast_to_current_envelopes() {
    let v2_examples: Vec<Envelope> =
        examples().into_iter().filter(|example| !matches!(example.event, Event::PhaseOpened(_))).collect();
    let golden = read_golden("events-v2.hex");
    assert_eq!(golden.len(), v2_examples.len(), "tests/golden/events-v2.hex is version 2's examples; it never changes");
    for ((kind, bytes), expected) in golden.iter().zip(&v2_examples) {
        assert_eq!(kind, expected.event.kind_name());
        assert_eq!(&decode_as(expected, 2, bytes).unwrap(), expected, "{kind} (seq {})", expected.seq);
        let body: wire::v2::WireBody = wincode::deserialize(bytes).unwrap();
        assert_eq!(hex(&wincode::serialize(&body).unwrap()), hex(bytes), "the frozen version 2 layout changed");
        let v3: wire::v3::WireBody = body.into();
        assert_eq!(hex(&wincode::serialize(&v3).unwrap()), hex(bytes), "{kind}: version 3 bytes differ from version 2");
    }
    // A phase marker is not a version 2 event: its tag (25) is one past version 2's last.
    let marker = examples().into_iter().find(|example| matches!(example.event, Event::PhaseOpened(_))).unwrap();
    let error = decode_as(&marker, 2, &encode(&marker)).unwrap_err();
    assert!(error.message.contains("schema version 2"), "{error}");
}

/// Version 1 bodies and the current envelopes they must decode into.
fn v1_examples() -> Vec<(wire::v1::WireBody, Envelope)> {
    use wire::v1::{WireBody, WireEvent, WireHoldPlaced};
    let at = Timestamp::parse_rfc3339("2019-07-11T09:00:00Z").unwrap();
    let envelope = |seq: u64, id: u64, actor: Actor, event: Event, note: Option<&str>| Envelope {
        seq,
        at,
        id,
        actor,
        event,
        note: note.map(str::to_owned),
    };
    vec![
        (
            WireBody {
                id: 3,
                actor: wire::WireActor::Staff(text("k.tanaka")),
                event: WireEvent::HoldPlaced(WireHoldPlaced {
                    hold: text("H-wallet"),
                    cause: wire::WireCause::Incident(text("INC-2019-07")),
                    services: vec![text("withdrawals:*"), text("deposits:USDT@tron"), text("trading:BTC/JPY")],
                    mode: Some(wire::WireMode::Halted),
                }),
                note: Some(text("v1 の注記")),
            },
            envelope(
                1,
                3,
                staff("k.tanaka"),
                Event::HoldPlaced(HoldPlaced {
                    hold: text("H-wallet"),
                    cause: Cause::Incident(text("INC-2019-07")),
                    services: selectors(&["withdrawals:*", "deposits:USDT@tron", "trading:BTC/JPY"]),
                    mode: Some(Mode::Halted),
                    max_order_notional_minor: None,
                    reason: None,
                }),
                Some("v1 の注記"),
            ),
        ),
        (
            WireBody {
                id: 4,
                actor: wire::WireActor::System(text("scheduler")),
                event: WireEvent::HoldPlaced(WireHoldPlaced {
                    hold: text("H-maint"),
                    cause: wire::WireCause::Maintenance,
                    services: vec![text("*")],
                    mode: None,
                }),
                note: None,
            },
            envelope(
                2,
                4,
                system("scheduler"),
                Event::HoldPlaced(HoldPlaced {
                    hold: text("H-maint"),
                    cause: Cause::Maintenance,
                    services: selectors(&["*"]),
                    mode: None,
                    max_order_notional_minor: None,
                    reason: None,
                }),
                None,
            ),
        ),
        (
            WireBody {
                id: 99,
                actor: wire::WireActor::Customer(42),
                event: WireEvent::OrderSubmitted(wire::WireOrderSubmitted {
                    market: 1,
                    order_type: wire::WireOrderType::Limit,
                    notional_minor: 1_500_000,
                }),
                note: None,
            },
            envelope(
                3,
                99,
                Actor::Customer(42),
                Event::OrderSubmitted(OrderSubmitted {
                    market: MarketId(1),
                    order_type: OrderType::Limit,
                    notional_minor: 1_500_000,
                }),
                None,
            ),
        ),
        (
            WireBody {
                id: 5,
                actor: wire::WireActor::Staff(text("k.tanaka")),
                event: WireEvent::HoldLifted(wire::WireHoldLifted { hold: text("H-maint"), services: None }),
                note: None,
            },
            envelope(
                4,
                5,
                staff("k.tanaka"),
                Event::HoldLifted(HoldLifted { hold: text("H-maint"), services: None }),
                None,
            ),
        ),
    ]
}

#[test]
fn golden_v1_bodies_upcast_to_current_envelopes() {
    let examples = v1_examples();
    if blessing() {
        let lines: Vec<(&str, Vec<u8>)> = examples
            .iter()
            .map(|(body, expected)| (expected.event.kind_name(), wincode::serialize(body).unwrap()))
            .collect();
        write_golden(
            "events-v1.hex",
            "# Event bodies of schema version 1 (hold_placed without max_order_notional_minor and\n\
             # reason), made from the frozen wire::v1 types; see v1_examples() in tests/it/codec.rs.\n",
            &lines,
        );
        return;
    }
    let golden = read_golden("events-v1.hex");
    assert_eq!(golden.len(), examples.len(), "tests/golden/events-v1.hex does not match v1_examples(); {BLESS_HINT}");
    for ((kind, bytes), (body, expected)) in golden.iter().zip(&examples) {
        assert_eq!(kind, expected.event.kind_name());
        assert_eq!(
            hex(&wincode::serialize(body).unwrap()),
            hex(bytes),
            "the frozen version 1 layout changed (wire::v1 must never change)"
        );
        assert_eq!(&decode_as(expected, 1, bytes).unwrap(), expected, "{kind}");
    }
}

// ---------------------------------------------------------------------------------------
// 4. Robustness: bad input is an error, never a panic or a huge allocation
// ---------------------------------------------------------------------------------------

/// Whatever decodes re-encodes to exactly the bytes it came from.
fn assert_canonical(bytes: &[u8], decoded: &Envelope) {
    assert_eq!(hex(&encode(decoded)), hex(bytes), "{decoded:?} was decoded from non-canonical bytes");
}

#[test]
fn every_truncated_body_is_an_error() {
    for example in examples() {
        let bytes = encode(&example);
        for length in 0..bytes.len() {
            assert!(decode(&bytes[..length]).is_err(), "{} cut to {length} bytes decoded", example.event.kind_name());
        }
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    for example in examples() {
        let mut bytes = encode(&example);
        bytes.push(0);
        let error = decode(&bytes).unwrap_err();
        assert!(error.message.contains("Trailing bytes"), "{error}");
    }
}

#[test]
fn flipped_bytes_are_an_error_or_decode_canonically() {
    let (mut errors, mut decoded) = (0, 0);
    for example in examples() {
        let bytes = encode(&example);
        for position in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut mutated = bytes.clone();
                mutated[position] ^= flip;
                match decode(&mutated) {
                    Ok(envelope) => {
                        assert_canonical(&mutated, &envelope);
                        decoded += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
        }
    }
    // Integers and text change value freely; tags, lengths and UTF-8 are checked.
    assert!(errors > 0 && decoded > 0, "{errors} errors, {decoded} decoded");
}

proptest! {
    #[test]
    fn random_bytes_never_panic(schema_version in 0_u16..6, bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(envelope) = codec::decode_body(schema_version, 1, Timestamp::from_unix_micros(0), &bytes)
            && schema_version == EVENT_SCHEMA_VERSION
        {
            assert_canonical(&bytes, &envelope);
        }
    }

    #[test]
    fn mutated_bodies_never_panic(
        example in 0..examples().len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = encode(&examples()[example]);
        for (position, value) in edits {
            let position = position.index(bytes.len());
            bytes[position] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(envelope) = decode(&bytes) {
            assert_canonical(&bytes, &envelope);
        }
    }
}

/// A body made by hand: bincode writes tuples as their fields one after another, so the
/// tests can put any value (a bad tag, a wild length) in any position.
fn raw(fields: &impl serde::Serialize) -> Vec<u8> {
    bincode::serialize(fields).unwrap()
}

const CUSTOMER: u32 = 0;
const STAFF: u32 = 1;
const VENUE_DECLARED: u32 = 0;
const HOLD_PLACED: u32 = 5;
const HOLD_MODE_SET: u32 = 7;
const LOGIN_ATTEMPTED: u32 = 24;
const NONE: u8 = 0;

#[test]
fn hand_made_bodies_match_the_layout_the_robustness_tests_assume() {
    let bytes = raw(&(1_u64, STAFF, "ops", HOLD_MODE_SET, "H1", 9_u32, NONE, NONE));
    let envelope = decode(&bytes).unwrap();
    assert_eq!(
        envelope.event,
        Event::HoldModeSet(HoldModeSet { hold: text("H1"), mode: Mode::Closed, max_order_notional_minor: None })
    );
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, LOGIN_ATTEMPTED, NONE));
    assert_eq!(decode(&bytes).unwrap().event, Event::LoginAttempted);
}

fn assert_error_mentions(bytes: &[u8], needle: &str) {
    let error = decode(bytes).unwrap_err();
    assert!(error.message.contains(needle), "expected an error mentioning `{needle}`, got: {error}");
}

#[test]
fn huge_length_prefixes_are_refused_before_allocating() {
    // A staff name claiming 2^60 bytes.
    let bytes = raw(&(1_u64, STAFF, 1_u64 << 60, [0_u8; 16]));
    assert_error_mentions(&bytes, "preallocation limit");
    // A venue claiming 2^60 assets, then 2^40 and u64::MAX markets.
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, VENUE_DECLARED, "v", 1_u64 << 60, [0_u8; 32]));
    assert_error_mentions(&bytes, "preallocation limit");
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, VENUE_DECLARED, "v", 0_u64, 1_u64 << 40, [0_u8; 32]));
    assert_error_mentions(&bytes, "preallocation limit");
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, VENUE_DECLARED, "v", 0_u64, u64::MAX, [0_u8; 32]));
    assert_error_mentions(&bytes, "preallocation limit");
    // A note claiming just more than the limit, and a hold's services just more than it
    // in 24-byte strings: refused by the limit, not by running out of input.
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, LOGIN_ATTEMPTED, 1_u8, 4_u64 * BODY_BYTES_MAX as u64 + 1, [b'x'; 8]));
    assert_error_mentions(&bytes, "preallocation limit");
    let services = (4 * BODY_BYTES_MAX / 24 + 1) as u64;
    let bytes = raw(&(1_u64, STAFF, "ops", HOLD_PLACED, "H1", 1_u32, services, [0_u8; 32]));
    assert_error_mentions(&bytes, "preallocation limit");
    // Within the limit but past the end of the input: an ordinary error.
    let bytes = raw(&(1_u64, STAFF, "ops", HOLD_PLACED, "H1", 1_u32, services - 2, [0_u8; 32]));
    assert!(decode(&bytes).is_err());
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, LOGIN_ATTEMPTED, 1_u8, 1_000_000_u64, [b'x'; 8]));
    assert!(decode(&bytes).is_err());
}

#[test]
fn the_largest_legitimate_sequences_fit_the_preallocation_limit() {
    // Empty strings are the elements that take the most memory per encoded byte.
    let markets = (BODY_BYTES_MAX - 200) / 8;
    let envelope = Envelope {
        event: Event::VenueDeclared(VenueSpec {
            name: text("v"),
            assets: vec![],
            markets: vec![String::new(); markets],
            margin: false,
            approvals_required: vec![],
            rules: RulesVersion::FIRST,
        }),
        note: None,
        ..examples().remove(0)
    };
    let bytes = encode(&envelope);
    assert!(bytes.len() > BODY_BYTES_MAX - 300, "{}", bytes.len());
    assert_eq!(decode_as(&envelope, EVENT_SCHEMA_VERSION, &bytes).unwrap(), envelope);
}

#[test]
fn bodies_longer_than_the_maximum_are_refused_unread() {
    let bytes = vec![0_u8; BODY_BYTES_MAX + 1];
    assert_error_mentions(&bytes, &format!("at most {BODY_BYTES_MAX}"));
}

#[test]
fn unknown_enum_tags_are_errors() {
    for tag in [26_u32, 27, 1 << 16, u32::MAX] {
        assert_error_mentions(&raw(&(1_u64, CUSTOMER, 7_u32, tag, NONE)), "Invalid tag encoding");
    }
    // Tag 25 is a phase marker in versions 3 and 4, and unknown in version 2.
    let marker = raw(&(1_u64, STAFF, "ops", 25_u32, "Phase 1", NONE));
    assert!(matches!(decode(&marker).unwrap().event, Event::PhaseOpened(_)));
    let error = codec::decode_body(2, 1, Timestamp::from_unix_micros(0), &marker).unwrap_err();
    assert!(error.message.contains("Invalid tag encoding"), "{error}");
    assert_error_mentions(&raw(&(1_u64, 3_u32, "x", LOGIN_ATTEMPTED, NONE)), "Invalid tag encoding");
    // An Option tag other than 0 or 1.
    assert_error_mentions(&raw(&(1_u64, CUSTOMER, 7_u32, LOGIN_ATTEMPTED, 2_u8)), "Invalid tag encoding");
}

#[test]
fn out_of_range_modes_are_errors() {
    for mode in [10_u32, 255, u32::MAX] {
        let bytes = raw(&(1_u64, STAFF, "ops", HOLD_MODE_SET, "H1", mode, NONE, NONE));
        assert_error_mentions(&bytes, "Invalid tag encoding");
    }
}

#[test]
fn invalid_selectors_are_errors() {
    for (selector, needle) in [
        ("trade:BTC/JPY", "unknown service `trade`"),
        ("deposits:usdt", "is not an asset code"),
        ("", "unknown service"),
        ("margin:BTC", "takes no `:` argument"),
    ] {
        let bytes = raw(&(1_u64, STAFF, "ops", HOLD_PLACED, "H1", 1_u32, vec![selector], NONE, NONE, NONE, NONE));
        assert_error_mentions(&bytes, needle);
    }
}

#[test]
fn other_invalid_values_are_errors() {
    // Invalid UTF-8 in a note.
    assert_error_mentions(&raw(&(1_u64, CUSTOMER, 7_u32, LOGIN_ATTEMPTED, 1_u8, 2_u64, [0xc3_u8, 0x28])), "utf-8");
    // A bool that is neither 0 nor 1 (the venue's `margin`).
    let bytes = raw(&(1_u64, CUSTOMER, 7_u32, VENUE_DECLARED, "v", 0_u64, 0_u64, 2_u8, 0_u64, NONE));
    assert_error_mentions(&bytes, "Invalid bool encoding");
    // A customer id above the largest.
    let bytes = raw(&(1_u64, CUSTOMER, CUSTOMER_ID_MAX + 1, LOGIN_ATTEMPTED, NONE));
    assert_error_mentions(&bytes, "largest customer id");
    // A staff name Actor::parse refuses.
    assert_error_mentions(&raw(&(1_u64, STAFF, "a b", LOGIN_ATTEMPTED, NONE)), "names are 1 to 64");
    // A decimal with more places than core allows (haircut_applied is variant 15).
    let bytes = raw(&(1_u64, STAFF, "ops", 15_u32, "INC-1", 5_u64, 19_u8, NONE));
    assert_error_mentions(&bytes, "scale 19");
    // A selector that parses but is not in its canonical form cannot exist today; a
    // valid one passes.
    let bytes = raw(&(1_u64, STAFF, "ops", HOLD_PLACED, "H1", 1_u32, vec!["trading:*"], NONE, NONE, NONE, NONE));
    assert!(decode(&bytes).is_ok());
}

#[test]
fn unsupported_schema_versions_are_errors_naming_what_is_supported() {
    let bytes = encode(&examples()[0]);
    for version in [0, 5, 6, u16::MAX] {
        let error = codec::decode_body(version, 9, Timestamp::from_unix_micros(0), &bytes).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&format!("schema version {version} is not supported")), "{message}");
        assert!(message.contains("reads versions 1 to 4"), "{message}");
        assert!(message.contains("seq 9"), "{message}");
    }
}

#[test]
fn values_that_would_not_read_back_are_not_encoded() {
    let mut envelope = examples().remove(7);
    let Event::HoldPlaced(hold) = &mut envelope.event else { panic!("example 7 is a hold") };
    // Core can hold a selector no text parses back into.
    hold.services.push(Selector::Trading { market: Some(text("btc/jpy")) });
    let mut out = b"keep".to_vec();
    let error = codec::encode_body(&envelope, &mut out).unwrap_err();
    assert!(error.message.contains("does not parse back"), "{error}");
    assert_eq!(out, b"keep");

    let too_big = Envelope { note: Some("x".repeat(BODY_BYTES_MAX)), ..examples().remove(0) };
    let error = codec::encode_body(&too_big, &mut out).unwrap_err();
    assert!(error.message.contains(&format!("at most {BODY_BYTES_MAX}")), "{error}");
    assert_eq!(out, b"keep");

    let far_too_big = Envelope { note: Some("x".repeat(5 * BODY_BYTES_MAX)), ..examples().remove(0) };
    assert!(codec::encode_body(&far_too_big, &mut out).is_err());
    assert_eq!(out, b"keep");

    for actor in [Actor::Customer(CUSTOMER_ID_MAX + 1), staff(""), system("with space")] {
        let envelope = Envelope { actor, ..examples().remove(0) };
        assert!(codec::encode_body(&envelope, &mut out).is_err());
    }
    let envelope = Envelope {
        event: Event::HaircutApplied(HaircutApplied { incident: text("I"), ratio: Decimal { mantissa: 1, scale: 19 } }),
        ..examples().remove(0)
    };
    assert!(codec::encode_body(&envelope, &mut out).is_err());
    assert_eq!(out, b"keep");
}
