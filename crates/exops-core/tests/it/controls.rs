//! The wallet-compromise controls as shown and as enforced: for random sequences of
//! incidents, thefts, key rotations, reviews and approvals, what the view says about an
//! incident's controls is what `apply` decides when withdrawals are lifted.

use exops_core::{
    Actor, ApprovalGiven, AssetClass, AssetSpec, Cause, Envelope, Event, HoldLifted, HoldModeSet, HoldPlaced,
    IncidentCategory, IncidentOpened, KeysRotated, Mode, Outcome, Rejection, RoleGranted, SecurityReviewPassed,
    Selector, State, Theft, TheftRecorded, Timestamp, VenueSpec, Wallet,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Few assets and incidents, so that two incidents often compromise the same asset.
pub(crate) const CRYPTO: &[&str] = &["BTC", "ETH"];
pub(crate) const INCIDENTS: &[&str] = &["inc-a", "inc-b"];
pub(crate) const ROLES: &[&str] = &["ciso", "ceo"];
/// `both` holds both roles, so that one person approving twice is tried too.
pub(crate) const PEOPLE: &[&str] = &["ciso-1", "ceo-1", "both", "nobody"];

#[derive(Clone, Debug)]
enum Op {
    /// A wallet compromise, with or without a first theft, or an incident of another kind.
    Open {
        incident: usize,
        compromise: bool,
        stolen: Option<usize>,
    },
    Theft {
        incident: usize,
        asset: usize,
    },
    Rotate {
        incident: usize,
        asset: usize,
    },
    Review {
        incident: usize,
        person: usize,
    },
    Approve {
        incident: usize,
        role: usize,
        person: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let incident = || 0..INCIDENTS.len();
    let asset = || 0..CRYPTO.len();
    prop_oneof![
        2 => (incident(), prop::bool::weighted(0.8), prop::option::of(asset()))
            .prop_map(|(incident, compromise, stolen)| Op::Open { incident, compromise, stolen }),
        2 => (incident(), asset()).prop_map(|(incident, asset)| Op::Theft { incident, asset }),
        3 => (incident(), asset()).prop_map(|(incident, asset)| Op::Rotate { incident, asset }),
        2 => (incident(), 0..PEOPLE.len()).prop_map(|(incident, person)| Op::Review { incident, person }),
        4 => (incident(), 0..ROLES.len(), 0..PEOPLE.len())
            .prop_map(|(incident, role, person)| Op::Approve { incident, role, person }),
    ]
}

/// The venue both controls properties run on: JPY and the crypto assets, the two roles.
pub(crate) fn venue() -> VenueSpec {
    let asset = |code: &str, class| AssetSpec {
        code: code.to_owned(),
        class,
        decimals: 0,
        networks: Vec::new(),
        liabilities_minor: 1_000_000,
        hot_minor: 1_000_000,
        cold_minor: 0,
    };
    let mut assets = vec![asset("JPY", AssetClass::Fiat)];
    assets.extend(CRYPTO.iter().map(|code| asset(code, AssetClass::Crypto)));
    VenueSpec {
        name: "Controls Exchange".to_owned(),
        assets,
        markets: Vec::new(),
        margin: false,
        approvals_required: ROLES.iter().map(|role| (*role).to_owned()).collect(),
        rules: exops_core::RulesVersion::FIRST,
    }
}

pub(crate) fn theft(asset: usize) -> Theft {
    Theft { asset: CRYPTO[asset].to_owned(), wallet: Wallet::Hot, amount_minor: 1 }
}

pub(crate) fn staff(name: &str) -> Actor {
    Actor::Staff(name.to_owned())
}

fn event_for(op: &Op) -> (Actor, Event) {
    match op {
        Op::Open { incident, compromise, stolen } => (
            staff("ops"),
            Event::IncidentOpened(IncidentOpened {
                incident: INCIDENTS[*incident].to_owned(),
                title: "proptest".to_owned(),
                category: if *compromise { IncidentCategory::WalletCompromise } else { IncidentCategory::Ddos },
                stolen: stolen.iter().map(|asset| theft(*asset)).collect(),
                blast_radius: vec![Selector::All],
            }),
        ),
        Op::Theft { incident, asset } => (
            staff("ops"),
            Event::TheftRecorded(TheftRecorded {
                incident: INCIDENTS[*incident].to_owned(),
                stolen: vec![theft(*asset)],
            }),
        ),
        Op::Rotate { incident, asset } => (
            staff("security"),
            Event::KeysRotated(KeysRotated {
                incident: INCIDENTS[*incident].to_owned(),
                asset: CRYPTO[*asset].to_owned(),
            }),
        ),
        Op::Review { incident, person } => (
            staff(PEOPLE[*person]),
            Event::SecurityReviewPassed(SecurityReviewPassed { incident: INCIDENTS[*incident].to_owned() }),
        ),
        Op::Approve { incident, role, person } => (
            staff(PEOPLE[*person]),
            Event::ApprovalGiven(ApprovalGiven {
                incident: INCIDENTS[*incident].to_owned(),
                role: ROLES[*role].to_owned(),
            }),
        ),
    }
}

/// Applies events in order, numbering them and giving each actor rising ids.
#[derive(Debug, Default)]
struct Log {
    state: State,
    seq: u64,
}

impl Log {
    fn apply(&mut self, actor: Actor, event: Event) -> Outcome {
        self.seq += 1;
        let at = Timestamp::from_unix_micros(1_700_000_000_000_000 + self.seq as i64 * 1_000_000);
        self.state.apply(&Envelope { seq: self.seq, at, id: self.seq, actor, event, note: None })
    }
}

fn setup() -> Log {
    let mut log = Log::default();
    let grants = [("ciso-1", "ciso"), ("ceo-1", "ceo"), ("both", "ciso"), ("both", "ceo")];
    let events = std::iter::once(Event::VenueDeclared(venue())).chain(grants.iter().map(|(person, role)| {
        Event::RoleGranted(RoleGranted { person: (*person).to_owned(), role: (*role).to_owned() })
    }));
    for event in events {
        let outcome = log.apply(staff("setup"), event);
        assert!(matches!(outcome, Outcome::Applied { .. }), "setup: {outcome:?}");
    }
    log
}

/// How `apply` answers a step that would reopen the withdrawals of `assets`.
#[derive(Debug, PartialEq, Eq)]
enum Reopening {
    Applied,
    ControlUnmet { incident: String, missing: Vec<String> },
}

/// On a copy of the state: closes the withdrawals of `assets` with a hold of their own,
/// then tries to reopen them, wholly (`lift`) or to `delayed` (a mode change), and says
/// what `apply` did. The hold is the only one, so only the controls can refuse.
fn try_reopening(log: &Log, assets: &[&str], lift: bool) -> Result<Reopening, TestCaseError> {
    let mut probe = Log { state: log.state.clone(), seq: log.seq };
    let services = assets
        .iter()
        .map(|asset| Selector::parse(&format!("withdrawals:{asset}")).expect("a withdrawals selector"))
        .collect();
    let placed = probe.apply(
        staff("probe"),
        Event::HoldPlaced(HoldPlaced {
            hold: "probe".to_owned(),
            cause: Cause::Maintenance,
            services,
            mode: None,
            max_order_notional_minor: None,
            reason: None,
        }),
    );
    prop_assert!(matches!(placed, Outcome::Applied { .. }), "the probe hold: {:?}", placed);
    let reopen = if lift {
        Event::HoldLifted(HoldLifted { hold: "probe".to_owned(), services: None })
    } else {
        Event::HoldModeSet(HoldModeSet {
            hold: "probe".to_owned(),
            mode: Mode::Delayed,
            max_order_notional_minor: None,
        })
    };
    match probe.apply(staff("probe"), reopen) {
        Outcome::Applied { .. } => Ok(Reopening::Applied),
        Outcome::Rejected(Rejection::ControlUnmet { incident, missing, .. }) => {
            Ok(Reopening::ControlUnmet { incident, missing })
        }
        other => Err(TestCaseError::fail(format!("reopening {assets:?}: {other:?}"))),
    }
}

/// The view's `met` for each incident with controls is whether the withdrawals of every
/// asset it compromised can be reopened, by a lift and by a mode change alike; and for
/// each asset, `withdrawal_controls` says whether its withdrawals can, and what the
/// refusal lists when they cannot.
fn check_view_against_apply(log: &Log, context: &str) -> Result<(), TestCaseError> {
    let venue = log.state.venue().expect("declared");
    for code in CRYPTO {
        let asset = venue.asset_id(code).expect("declared");
        let controls = log.state.withdrawal_controls(asset);
        let expected = match controls.unmet.first() {
            None => Reopening::Applied,
            Some(unmet) => Reopening::ControlUnmet {
                incident: log.state.incidents()[unmet.incident as usize].name.clone(),
                missing: unmet.missing.iter().map(|missing| missing.describe(venue)).collect(),
            },
        };
        prop_assert_eq!(try_reopening(log, &[code], true)?, expected, "reopening {} after {}", code, context);
    }
    let view = log.state.view();
    for (name, incident) in &view.incidents {
        let Some(controls) = &incident.controls else { continue };
        let assets: Vec<&str> = controls.keys_rotated.0.iter().map(|(asset, _)| asset.as_str()).collect();
        for lift in [true, false] {
            let reopening = try_reopening(log, &assets, lift)?;
            prop_assert_eq!(
                controls.met,
                reopening == Reopening::Applied,
                "the view says the controls of `{}` are {}met, but reopening {:?} (lift: {}) gives {:?}, after {}",
                name,
                if controls.met { "" } else { "not " },
                assets,
                lift,
                reopening,
                context
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_view_of_the_controls_agrees_with_apply(ops in prop::collection::vec(op(), 0..=30)) {
        run(&ops)?;
    }
}

fn run(ops: &[Op]) -> Result<Log, TestCaseError> {
    let mut log = setup();
    check_view_against_apply(&log, "the setup")?;
    for op in ops {
        let (actor, event) = event_for(op);
        let outcome = log.apply(actor, event);
        check_view_against_apply(&log, &format!("{op:?} ({outcome:?})"))?;
    }
    Ok(log)
}

/// Two incidents compromise BTC; one meets every control. BTC withdrawals stay closed
/// until the other does too, and the view must not call the first one's controls met.
#[test]
fn a_second_compromise_of_the_same_asset_keeps_its_withdrawals_closed() {
    let open = |incident| Op::Open { incident, compromise: true, stolen: Some(0) };
    let ops = vec![
        open(0),
        open(1),
        Op::Rotate { incident: 0, asset: 0 },
        Op::Review { incident: 0, person: 3 },
        Op::Approve { incident: 0, role: 0, person: 0 },
        Op::Approve { incident: 0, role: 1, person: 1 },
        Op::Rotate { incident: 1, asset: 0 },
        Op::Review { incident: 1, person: 3 },
        Op::Approve { incident: 1, role: 0, person: 2 },
        Op::Approve { incident: 1, role: 1, person: 2 },
        Op::Approve { incident: 1, role: 1, person: 1 },
    ];
    let controls =
        |log: &Log, name: &str| log.state.view().incidents[name].controls.clone().expect("a compromise has controls");
    let log = run(&ops[..6]).unwrap_or_else(|error| panic!("{error}"));
    let first = controls(&log, "inc-a");
    assert_eq!((first.approvals_missing.len(), first.review_passed_at.is_some()), (0, true));
    assert_eq!((first.met, first.held_back_by), (false, vec!["inc-b".to_owned()]), "BTC waits for inc-b");
    let log = run(&ops).unwrap_or_else(|error| panic!("{error}"));
    let met: Vec<bool> = INCIDENTS.iter().map(|name| controls(&log, name).met).collect();
    assert_eq!(met, [true, true], "every control of both incidents is met in the end");
    assert!(controls(&log, "inc-a").held_back_by.is_empty());
    assert_eq!(log.state.counters().rejected, 1, "`both` approving a second role is refused");
}
