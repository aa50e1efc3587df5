//! Property tests: random sequences of `hold_placed`, `hold_lifted` (whole and partial)
//! and `hold_mode_set` over a small venue, checked event by event against the simple
//! reference model in `reference_model.rs`.

mod controls;
mod controls_safety;
mod customers;
mod phases;
mod reference_model;
mod rules;

use exops_core::{
    Actor, AssetClass, AssetSpec, Cause, Envelope, Event, HoldLifted, HoldModeSet, HoldPlaced, IncidentCategory,
    IncidentOpened, Mode, Outcome, Selector, State, Timestamp, VenueSpec,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reference_model::{Model, SERVICES};

/// Selectors drawn for holds and partial lifts: the first `VALID_SELECTORS` name services
/// of the test venue, the rest name nothing in it and must be rejected.
const SELECTORS: &[&str] = &[
    "*",
    "trading:*",
    "trading:BTC/JPY",
    "trading:USDT/JPY",
    "deposits:*",
    "deposits:JPY",
    "deposits:USDT",
    "deposits:USDT@tron",
    "withdrawals:*",
    "withdrawals:BTC",
    "withdrawals:USDT",
    "withdrawals:USDT@erc20",
    "margin",
    "onboarding",
    "login",
    // Unknown to the venue.
    "trading:ETH/JPY",
    "deposits:USDT@bsc",
    "withdrawals:BTC@tron",
];
const VALID_SELECTORS: usize = 15;

/// Hold names; the last is not a valid name.
const HOLD_NAMES: &[&str] = &["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "bad name"];

const ALL_MODES: [Mode; 10] = [
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
];

/// `inc-ddos` may hold anything, `inc-fault` only trading and login; `inc-none` is never
/// opened.
const INCIDENTS: &[&str] = &["inc-ddos", "inc-fault", "inc-none"];

const BASE_MICROS: i64 = 1_562_913_000_000_000;

/// Which hold an operation names.
#[derive(Clone, Debug)]
enum HoldRef {
    /// A name never used before (`h` and the number of holds placed so far).
    Fresh,
    /// One of the active holds, picked by this seed (`h0` when none is active).
    Active(usize),
    /// A fixed name from `HOLD_NAMES`: maybe used, maybe lifted, maybe never placed.
    Named(usize),
}

/// How an operation picks its mode.
#[derive(Clone, Debug)]
enum ModeChoice {
    /// Any of the ten modes, often not one of the covered services' modes.
    Any(Mode),
    /// A restrictive mode on the ladder of every covered service, picked by this seed (any
    /// mode when there is none).
    Fitting(usize),
}

#[derive(Clone, Debug)]
enum Scope {
    Whole,
    /// Services the model says the hold still covers, picked by these seeds.
    Covered(Vec<usize>),
    /// Arbitrary selectors (indices into `SELECTORS`), often not covered.
    Selectors(Vec<usize>),
    /// `services: Some([])`, always rejected.
    Nothing,
}

#[derive(Clone, Debug)]
enum Op {
    /// `cause`: `None` for maintenance, else an index into `INCIDENTS`; `mode`: `None`
    /// for fully closed.
    Place {
        hold: HoldRef,
        cause: Option<usize>,
        selectors: Vec<usize>,
        mode: Option<ModeChoice>,
        cap: Option<i64>,
    },
    Lift {
        hold: HoldRef,
        scope: Scope,
    },
    SetMode {
        hold: HoldRef,
        mode: ModeChoice,
        cap: Option<i64>,
    },
}

fn selector_index() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0..VALID_SELECTORS, 1 => VALID_SELECTORS..SELECTORS.len()]
}

fn mode_choice() -> impl Strategy<Value = ModeChoice> {
    prop_oneof![
        2 => prop::sample::select(ALL_MODES.to_vec()).prop_map(ModeChoice::Any),
        3 => any::<usize>().prop_map(ModeChoice::Fitting),
    ]
}

fn cap() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        10 => Just(None),
        2 => prop::sample::select(vec![1_i64, 50_000, 1_000_000, 25_000_000]).prop_map(Some),
        1 => prop::sample::select(vec![0_i64, -5]).prop_map(Some),
    ]
}

fn named_hold() -> impl Strategy<Value = HoldRef> {
    prop_oneof![20 => (0..HOLD_NAMES.len() - 1).prop_map(HoldRef::Named), 1 => Just(HoldRef::Named(HOLD_NAMES.len() - 1))]
}

fn op() -> impl Strategy<Value = Op> {
    let place = (
        prop_oneof![4 => Just(HoldRef::Fresh), 1 => named_hold()],
        prop_oneof![4 => Just(None), 1 => (0..INCIDENTS.len()).prop_map(Some)],
        prop_oneof![3 => prop::collection::vec(selector_index(), 1..=1), 2 => prop::collection::vec(selector_index(), 1..=3)],
        prop_oneof![1 => Just(None), 4 => mode_choice().prop_map(Some)],
        cap(),
    )
        .prop_map(|(hold, cause, selectors, mode, cap)| Op::Place { hold, cause, selectors, mode, cap });
    let existing = || prop_oneof![4 => any::<usize>().prop_map(HoldRef::Active), 1 => named_hold()];
    let scope = prop_oneof![
        2 => Just(Scope::Whole),
        4 => prop::collection::vec(any::<usize>(), 1..=3).prop_map(Scope::Covered),
        2 => prop::collection::vec(selector_index(), 1..=2).prop_map(Scope::Selectors),
        1 => Just(Scope::Nothing),
    ];
    let lift = (existing(), scope).prop_map(|(hold, scope)| Op::Lift { hold, scope });
    let set_mode = (existing(), mode_choice(), cap()).prop_map(|(hold, mode, cap)| Op::SetMode { hold, mode, cap });
    prop_oneof![7 => place, 3 => lift, 3 => set_mode]
}

/// Operations, each with how many seconds pass before it (0 keeps the same instant).
fn ops() -> impl Strategy<Value = Vec<(Op, u8)>> {
    prop::collection::vec((op(), 0_u8..3), 0..=40)
}

fn selector(text: &str) -> Selector {
    Selector::parse(text).expect("test selectors are well-formed")
}

fn venue() -> VenueSpec {
    let asset = |code: &str, class, decimals, networks: &[&str]| AssetSpec {
        code: code.to_owned(),
        class,
        decimals,
        networks: networks.iter().map(|network| network.to_string()).collect(),
        liabilities_minor: 0,
        hot_minor: 0,
        cold_minor: 0,
    };
    VenueSpec {
        name: "Proptest Exchange".to_owned(),
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

fn incident(name: &str, category: IncidentCategory, blast_radius: &[&str]) -> Event {
    Event::IncidentOpened(IncidentOpened {
        incident: name.to_owned(),
        title: format!("{name} (proptest)"),
        category,
        stolen: Vec::new(),
        blast_radius: blast_radius.iter().map(|text| selector(text)).collect(),
    })
}

/// The events every sequence starts with.
fn setup() -> Vec<Event> {
    vec![
        Event::VenueDeclared(venue()),
        incident("inc-ddos", IncidentCategory::Ddos, &["*"]),
        incident("inc-fault", IncidentCategory::SoftwareFault, &["trading:*", "login"]),
    ]
}

/// Numbers events and stamps them: consecutive `seq`, one staff actor with ids 1, 2, 3...,
/// and non-decreasing instants.
#[derive(Debug, Default)]
struct Clock {
    seq: u64,
    micros: i64,
}

impl Clock {
    fn wrap(&mut self, event: Event, advance_seconds: u8) -> Envelope {
        self.seq += 1;
        self.micros += i64::from(advance_seconds) * 1_000_000;
        Envelope {
            seq: self.seq,
            at: Timestamp::from_unix_micros(BASE_MICROS + self.micros),
            id: self.seq,
            actor: Actor::Staff("ops".to_owned()),
            event,
            note: None,
        }
    }
}

fn hold_name(hold: &HoldRef, model: &Model) -> String {
    match hold {
        HoldRef::Fresh => format!("h{}", model.holds_placed()),
        HoldRef::Active(seed) => model.active_hold_name(*seed).unwrap_or("h0").to_owned(),
        HoldRef::Named(index) => HOLD_NAMES[*index].to_owned(),
    }
}

fn pick_mode(choice: &ModeChoice, covers: &[String]) -> Mode {
    match choice {
        ModeChoice::Any(mode) => *mode,
        ModeChoice::Fitting(seed) => {
            let fitting: Vec<Mode> = ALL_MODES
                .into_iter()
                .filter(|mode| !matches!(mode, Mode::Online | Mode::Open))
                .filter(|mode| covers.iter().all(|service| reference_model::ladder_of(service).contains(mode)))
                .collect();
            if fitting.is_empty() { ALL_MODES[seed % ALL_MODES.len()] } else { fitting[seed % fitting.len()] }
        }
    }
}

/// The event an operation stands for. Operations may ask the model for the names of
/// active holds, what they cover and which modes fit; the core decides independently.
fn event_for(op: &Op, model: &Model) -> Event {
    let selectors = |indices: &[usize]| indices.iter().map(|index| selector(SELECTORS[*index])).collect();
    match op {
        Op::Place { hold, cause, selectors: indices, mode, cap } => {
            let covers: Vec<String> =
                indices.iter().flat_map(|index| reference_model::resolve(SELECTORS[*index])).collect();
            Event::HoldPlaced(HoldPlaced {
                hold: hold_name(hold, model),
                cause: match cause {
                    None => Cause::Maintenance,
                    Some(index) => Cause::Incident(INCIDENTS[*index].to_owned()),
                },
                services: selectors(indices),
                mode: mode.as_ref().map(|choice| pick_mode(choice, &covers)),
                max_order_notional_minor: *cap,
                reason: None,
            })
        }
        Op::Lift { hold, scope } => {
            let name = hold_name(hold, model);
            let services = match scope {
                Scope::Whole => None,
                Scope::Covered(seeds) => {
                    let covered: Vec<&String> =
                        model.covers_of(&name).map(|covers| covers.iter().collect()).unwrap_or_default();
                    if covered.is_empty() {
                        Some(vec![selector("login")])
                    } else {
                        Some(seeds.iter().map(|seed| selector(covered[seed % covered.len()])).collect())
                    }
                }
                Scope::Selectors(indices) => Some(selectors(indices)),
                Scope::Nothing => Some(Vec::new()),
            };
            Event::HoldLifted(HoldLifted { hold: name, services })
        }
        Op::SetMode { hold, mode, cap } => {
            let name = hold_name(hold, model);
            let covers: Vec<String> =
                model.covers_of(&name).map(|covers| covers.iter().cloned().collect()).unwrap_or_default();
            Event::HoldModeSet(HoldModeSet {
                mode: pick_mode(mode, &covers),
                hold: name,
                max_order_notional_minor: *cap,
            })
        }
    }
}

/// Checks that the core and the model agree on every service and every active hold.
fn check_agreement(state: &State, model: &Model, context: &str) -> Result<(), TestCaseError> {
    let venue = state.venue().expect("the venue is declared first");
    for service in SERVICES {
        let id = venue.service_id(service).expect("the model's services are the venue's");
        prop_assert_eq!(state.mode(id), Some(model.mode(service)), "mode of `{}` after {}", service, context);
        prop_assert_eq!(
            state.gate(id).cap_minor,
            model.cap(service).unwrap_or(i64::MAX),
            "cap of `{}` after {}",
            service,
            context
        );
        let dominant = Some(state.gate(id).dominant_hold)
            .filter(|slot| *slot != exops_core::NO_HOLD)
            .map(|slot| state.hold(slot).name.clone());
        prop_assert_eq!(dominant, model.dominant(service), "hold setting the mode of `{}` after {}", service, context);
        let covering: Vec<String> =
            state.holds_covering(id).iter().map(|slot| state.hold(*slot).name.clone()).collect();
        prop_assert_eq!(covering, model.covering_names(service), "holds covering `{}` after {}", service, context);
        prop_assert_eq!(
            Some(state.service_since(id)),
            model.since(service),
            "since of `{}` after {}",
            service,
            context
        );
    }
    let view = state.view();
    let active: Vec<&String> = view.holds.keys().collect();
    let mut expected: Vec<&String> = model.active_holds().map(|hold| &hold.name).collect();
    expected.sort();
    prop_assert_eq!(active, expected, "active holds after {}", context);
    for hold in model.active_holds() {
        let shown = &view.holds[&hold.name];
        let covers: Vec<&str> = SERVICES.iter().copied().filter(|service| hold.covers.contains(*service)).collect();
        prop_assert_eq!(&shown.covers, &covers, "covers of hold `{}` after {}", hold.name, context);
        prop_assert_eq!(shown.mode, hold.mode, "mode of hold `{}` after {}", hold.name, context);
        prop_assert_eq!(shown.max_order_notional_minor, hold.cap, "cap of hold `{}` after {}", hold.name, context);
    }
    Ok(())
}

/// The view with what a rejected event may change (the sequence number and the event
/// counters) blanked out.
fn view_without_counters(state: &State) -> exops_core::StateView {
    let mut view = state.view();
    view.seq = 0;
    view.events = exops_core::EventsView { applied: 0, rejected: 0, duplicates: 0, customer_operations: 0 };
    view
}

/// Applies one envelope to the core and to the model and checks they agree on whether
/// it applies, on what it changes, and, for a rejection, that nothing changed.
fn step(state: &mut State, model: &mut Model, envelope: &Envelope) -> Result<(), TestCaseError> {
    let context = format!("event #{} {:?}", envelope.seq, envelope.event);
    let before = view_without_counters(state);
    let rejected_before = state.counters().rejected;
    let expected = model.apply(&envelope.event, envelope.at);
    let outcome = state.apply(envelope);
    match (expected, outcome) {
        (
            Ok((expected_changed, expected_gates_or_holds_changed)),
            Outcome::Applied { changed, gates_or_holds_changed },
        ) => {
            let venue = state.venue().expect("the venue is declared first");
            let names = |ids: &[exops_core::ServiceId]| -> Vec<String> {
                ids.iter().map(|id| venue.service(*id).name.clone()).collect()
            };
            prop_assert_eq!(names(&changed), expected_changed, "services changed by {}", context);
            prop_assert_eq!(
                names(&gates_or_holds_changed),
                expected_gates_or_holds_changed,
                "services whose gate or holds changed by {}",
                context
            );
        }
        (Err(_), Outcome::Rejected(_)) => {
            prop_assert_eq!(&view_without_counters(state), &before, "a rejected event changed the state: {}", context);
            prop_assert_eq!(state.counters().rejected, rejected_before + 1, "rejections counted for {}", context);
        }
        (Ok(_), outcome) => prop_assert!(false, "the model applies {} but the core gives {:?}", context, outcome),
        (Err(reason), outcome) => {
            prop_assert!(false, "the model rejects {} ({}) but the core gives {:?}", context, reason, outcome)
        }
    }
    prop_assert_eq!(state.seq(), envelope.seq);
    check_agreement(state, model, &context)
}

/// Runs the setup and `ops` through the core and the model in lock-step.
fn run_against_model(ops: &[(Op, u8)]) -> Result<(State, Model), TestCaseError> {
    let (mut state, mut model, mut clock) = (State::new(), Model::default(), Clock::default());
    for event in setup() {
        let envelope = clock.wrap(event, 0);
        prop_assert!(model.apply(&envelope.event, envelope.at).is_ok(), "the model refuses the setup");
        let outcome = state.apply(&envelope);
        prop_assert!(matches!(outcome, Outcome::Applied { .. }), "setup event {:?}: {:?}", envelope.event, outcome);
    }
    let venue = state.venue().expect("declared");
    let names: Vec<&str> = venue.services.iter().map(|service| service.name.as_str()).collect();
    prop_assert_eq!(names, SERVICES.to_vec(), "the venue's services are the model's");
    check_agreement(&state, &model, "the setup")?;
    for (op, advance) in ops {
        let envelope = clock.wrap(event_for(op, &model), *advance);
        step(&mut state, &mut model, &envelope)?;
    }
    Ok((state, model))
}

/// The envelopes of a sequence (the setup, then `ops`), built with the model alone.
fn envelopes(ops: &[(Op, u8)]) -> Vec<Envelope> {
    let (mut model, mut clock) = (Model::default(), Clock::default());
    let mut envelopes: Vec<Envelope> = setup().into_iter().map(|event| clock.wrap(event, 0)).collect();
    for envelope in &envelopes {
        model.apply(&envelope.event, envelope.at).expect("the model accepts the setup");
    }
    for (op, advance) in ops {
        let envelope = clock.wrap(event_for(op, &model), *advance);
        // A rejection leaves the model as it was, which is all the next event needs.
        let _ = model.apply(&envelope.event, envelope.at);
        envelopes.push(envelope);
    }
    envelopes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn holds_agree_with_the_reference_model(ops in ops()) {
        run_against_model(&ops)?;
    }

    #[test]
    fn the_same_events_give_the_same_state(ops in ops()) {
        let envelopes = envelopes(&ops);
        let (mut first, mut second) = (State::new(), State::new());
        for envelope in &envelopes {
            let outcome = first.apply(envelope);
            prop_assert_eq!(outcome, second.apply(envelope), "outcome of event #{}", envelope.seq);
        }
        let first = serde_json::to_string(&first.view()).expect("views serialise");
        let second = serde_json::to_string(&second.view()).expect("views serialise");
        prop_assert_eq!(first, second);
    }
}

/// A fixed sequence through the same harness: partial lifts, a lifted name that cannot be
/// reused, and mode changes, so the harness itself is known to exercise both paths.
#[test]
fn a_fixed_sequence_agrees_with_the_model() {
    let place = |hold, selectors: &[usize], mode: Option<Mode>, cap| Op::Place {
        hold: HoldRef::Named(hold),
        cause: None,
        selectors: selectors.to_vec(),
        mode: mode.map(ModeChoice::Any),
        cap,
    };
    let lift = |hold, scope| Op::Lift { hold: HoldRef::Named(hold), scope };
    let set = |hold, mode, cap| Op::SetMode { hold: HoldRef::Named(hold), mode: ModeChoice::Any(mode), cap };
    let ops = vec![
        (place(0, &[10], Some(Mode::Delayed), None), 1), // withdrawals:USDT delayed
        (place(1, &[0], None, None), 1),                 // * closed
        (lift(1, Scope::Selectors(vec![10])), 1),        // release withdrawals:USDT from h1
        (lift(1, Scope::Selectors(vec![10])), 0),        // rejected: no longer covered
        (place(2, &[2], Some(Mode::LimitOnly), Some(50_000)), 1), // trading:BTC/JPY limit_only, capped
        (set(2, Mode::Online, None), 1),                 // rejected: restricts nothing
        (set(2, Mode::Online, Some(10)), 1),             // online, capped
        (lift(1, Scope::Whole), 1),
        (place(1, &[14], Some(Mode::ReadOnly), None), 1), // rejected: name used
        (set(1, Mode::Closed, None), 1),                  // rejected: lifted
    ];
    let (state, model) = run_against_model(&ops).expect("the core agrees with the model");
    assert_eq!(state.counters().rejected, 4);
    assert_eq!(model.mode("withdrawals:USDT@tron"), Mode::Delayed);
    assert_eq!(model.mode("trading:BTC/JPY"), Mode::Online);
    assert_eq!(model.cap("trading:BTC/JPY"), Some(10));
    assert_eq!(model.mode("login"), Mode::Open);
}
