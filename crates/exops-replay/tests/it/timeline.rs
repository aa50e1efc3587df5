//! The timeline against the state it is built from: after every event, each service's
//! last interval is what the state says of it right now (mode, the hold setting it, every
//! covering hold, cap), on the BITPoint fixture and on random hold sequences.

use exops_core::{
    Actor, AssetClass, AssetSpec, Cause, Envelope, Event, HoldLifted, HoldModeSet, HoldPlaced, Mode, NO_HOLD, Selector,
    ServiceId, Timestamp, VenueCeased, VenueSpec,
};
use exops_replay::{Interval, Replay};
use proptest::prelude::*;

use crate::workspace_path;

const FIXTURE: &str = "fixtures/bitpoint-2019/events.jsonl";

/// What the state says of a service now, in the terms of an interval.
fn restriction_now(replay: &Replay, service: ServiceId) -> (Mode, Option<String>, Vec<String>, Option<i64>) {
    let state = &replay.state;
    let gate = state.gate(service);
    let name = |slot: u32| state.hold(slot).name.clone();
    (
        state.mode(service).expect("the venue is declared"),
        (gate.dominant_hold != NO_HOLD).then(|| name(gate.dominant_hold)),
        state.holds_covering(service).iter().map(|slot| name(*slot)).collect(),
        (gate.cap_minor != i64::MAX).then_some(gate.cap_minor),
    )
}

fn restriction_of(interval: &Interval) -> (Mode, Option<String>, Vec<String>, Option<i64>) {
    (interval.mode, interval.held_by.clone(), interval.holds.clone(), interval.max_order_notional_minor)
}

/// Every service's last interval is open and says what the state says; intervals follow
/// each other without gaps, each is longer than an instant, and no two in a row say the
/// same thing.
fn check_timeline(replay: &Replay, context: &str) -> Result<(), String> {
    let Some(venue) = replay.state.venue() else { return Ok(()) };
    for (index, entry) in replay.timeline.services.iter().enumerate() {
        let service = ServiceId(index as u32);
        let name = &venue.service(service).name;
        let last = entry.intervals.last().ok_or_else(|| format!("`{name}` has no interval after {context}"))?;
        if last.to.is_some() {
            return Err(format!("the last interval of `{name}` is closed after {context}: {last:?}"));
        }
        if restriction_of(last) != restriction_now(replay, service) {
            return Err(format!(
                "`{name}` after {context}: the timeline says {:?}, the state {:?}",
                restriction_of(last),
                restriction_now(replay, service)
            ));
        }
        for pair in entry.intervals.windows(2) {
            if pair[0].to != Some(pair[1].from) || pair[0].from >= pair[1].from {
                return Err(format!("`{name}` after {context}: {:?} is not followed by {:?}", pair[0], pair[1]));
            }
            if restriction_of(&pair[0]) == restriction_of(&pair[1]) {
                return Err(format!(
                    "`{name}` after {context}: two intervals in a row say {:?}",
                    restriction_of(&pair[0])
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn the_fixture_timeline_follows_the_state_at_every_event() {
    let text = std::fs::read_to_string(workspace_path(FIXTURE)).unwrap();
    let mut replay = Replay::new();
    for line in exops_jsonl::parse_str(FIXTURE, &text).unwrap() {
        replay.push(line.line, &line.envelope);
        if let Err(message) = check_timeline(&replay, &format!("line {}", line.line)) {
            panic!("{message}");
        }
    }
}

/// Hold shapes that usually apply: selectors and the modes that fit all they cover.
const SHAPES: &[(&str, &[Option<Mode>])] = &[
    ("*", &[None]),
    ("withdrawals:*", &[None, Some(Mode::Delayed)]),
    ("withdrawals:BTC", &[None, Some(Mode::Delayed)]),
    ("withdrawals:USDT@tron", &[Some(Mode::Delayed), None]),
    ("deposits:USDT", &[None]),
    ("trading:*", &[Some(Mode::LimitOnly), Some(Mode::Halted), Some(Mode::Online)]),
    ("trading:BTC/JPY", &[Some(Mode::CancelOnly), Some(Mode::PostOnly), Some(Mode::Online)]),
    ("login", &[Some(Mode::ReadOnly), None]),
    ("margin", &[Some(Mode::CloseOnly), None]),
];

#[derive(Clone, Debug)]
enum Op {
    Place {
        shape: usize,
        mode: usize,
        cap: Option<i64>,
    },
    /// Lift an active hold (picked by the seed) wholly, or release one of its services.
    Lift {
        hold: usize,
        release: Option<usize>,
    },
    SetMode {
        hold: usize,
        shape: usize,
        mode: usize,
        cap: Option<i64>,
    },
    Cease,
}

fn op() -> impl Strategy<Value = Op> {
    let cap = prop_oneof![3 => Just(None), 1 => (1_i64..4).prop_map(|cap| Some(cap * 1000))];
    prop_oneof![
        6 => (0..SHAPES.len(), any::<usize>(), cap.clone()).prop_map(|(shape, mode, cap)| Op::Place { shape, mode, cap }),
        4 => (any::<usize>(), prop::option::of(any::<usize>())).prop_map(|(hold, release)| Op::Lift { hold, release }),
        3 => (any::<usize>(), 0..SHAPES.len(), any::<usize>(), cap)
            .prop_map(|(hold, shape, mode, cap)| Op::SetMode { hold, shape, mode, cap }),
        1 => Just(Op::Cease),
    ]
}

fn venue() -> VenueSpec {
    let asset = |code: &str, class, decimals, networks: &[&str]| AssetSpec {
        code: code.to_owned(),
        class,
        decimals,
        networks: networks.iter().map(|network| (*network).to_owned()).collect(),
        liabilities_minor: 0,
        hot_minor: 0,
        cold_minor: 0,
    };
    VenueSpec {
        name: "Timeline Exchange".to_owned(),
        assets: vec![
            asset("JPY", AssetClass::Fiat, 0, &[]),
            asset("BTC", AssetClass::Crypto, 8, &[]),
            asset("USDT", AssetClass::Crypto, 6, &["erc20", "tron"]),
        ],
        markets: vec!["BTC/JPY".to_owned(), "USDT/JPY".to_owned()],
        margin: true,
        approvals_required: Vec::new(),
        rules: exops_core::RulesVersion::FIRST,
    }
}

fn selector(text: &str) -> Selector {
    Selector::parse(text).unwrap()
}

/// The event for `op` in the state `replay` is in: lifts and mode changes name an active
/// hold when there is one, and release a service it covers.
fn event_for(op: &Op, replay: &Replay, placed: &mut usize) -> Event {
    let state = &replay.state;
    let active: Vec<_> = state.holds().iter().filter(|hold| hold.is_active()).collect();
    let pick = |seed: usize| active.get(seed % active.len().max(1)).map_or("h0".to_owned(), |hold| hold.name.clone());
    let mode_of = |shape: usize, seed: usize| SHAPES[shape].1[seed % SHAPES[shape].1.len()];
    match op {
        Op::Place { shape, mode, cap } => {
            *placed += 1;
            Event::HoldPlaced(HoldPlaced {
                hold: format!("h{placed}"),
                cause: Cause::Maintenance,
                services: vec![selector(SHAPES[*shape].0)],
                mode: mode_of(*shape, *mode),
                max_order_notional_minor: *cap,
                reason: None,
            })
        }
        Op::Lift { hold, release } => {
            let services = release.and_then(|seed| {
                let hold = active.get(*hold % active.len().max(1))?;
                let venue = state.venue()?;
                let service = hold.covers[seed % hold.covers.len()];
                Some(vec![selector(&venue.service(service).name)])
            });
            Event::HoldLifted(HoldLifted { hold: pick(*hold), services })
        }
        Op::SetMode { hold, shape, mode, cap } => Event::HoldModeSet(HoldModeSet {
            hold: pick(*hold),
            mode: mode_of(*shape, *mode).unwrap_or(Mode::Closed),
            max_order_notional_minor: *cap,
        }),
        Op::Cease => Event::VenueCeased(VenueCeased { reason: "wound up".to_owned() }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_timeline_follows_the_state_at_every_event(ops in prop::collection::vec((op(), 0_u8..3), 0..=40)) {
        let mut replay = Replay::new();
        let mut placed = 0;
        let mut micros = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap().unix_micros();
        let mut event = Event::VenueDeclared(venue());
        // The venue first, then each operation as an event made for the state it meets.
        for (seq, next) in (1_u64..).zip(ops.iter().map(Some).chain([None])) {
            let envelope = Envelope {
                seq,
                at: Timestamp::from_unix_micros(micros),
                id: seq,
                actor: Actor::Staff("ops".to_owned()),
                event,
                note: None,
            };
            replay.push(seq, &envelope);
            if let Err(message) = check_timeline(&replay, &format!("event #{seq} {:?}", envelope.event)) {
                prop_assert!(false, "{}", message);
            }
            let Some((op, advance)) = next else { break };
            micros += i64::from(*advance) * 1_000_000;
            event = event_for(op, &replay, &mut placed);
        }
    }
}
