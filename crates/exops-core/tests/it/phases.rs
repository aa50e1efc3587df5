//! Phase markers (`phase_opened`): recorded in the state and the view, never gating.

use exops_core::{Actor, Envelope, Event, Outcome, PhaseOpened, Rejection, State, Timestamp, VenueCeased};

fn envelope(seq: u64, actor: Actor, event: Event) -> Envelope {
    Envelope {
        seq,
        at: Timestamp::from_unix_micros(1_562_913_000_000_000 + seq as i64),
        id: seq,
        actor,
        event,
        note: None,
    }
}

fn phase(name: &str) -> Event {
    Event::PhaseOpened(PhaseOpened { phase: name.to_owned() })
}

fn staff() -> Actor {
    Actor::Staff("ops".to_owned())
}

fn declared() -> State {
    let mut state = State::new();
    let outcome = state.apply(&envelope(1, staff(), Event::VenueDeclared(super::venue())));
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    state
}

#[test]
fn a_marker_is_recorded_and_changes_no_service() {
    let mut state = declared();
    let before = state.view();
    let outcome = state.apply(&envelope(2, staff(), phase("Phase 1: investigate")));
    assert_eq!(outcome, Outcome::Applied { changed: Vec::new(), gates_or_holds_changed: Vec::new() });
    let view = state.view();
    assert_eq!(view.services, before.services, "a marker never gates");
    assert_eq!(view.phases.len(), 1);
    assert_eq!(view.phases[0].phase, "Phase 1: investigate");
    assert_eq!(view.phases[0].seq, 2);
    assert_eq!(state.phases()[0].at, Timestamp::from_unix_micros(1_562_913_000_000_002));
    let json = serde_json::to_string(&view).expect("views serialise");
    assert!(json.contains(r#""phases":[{"phase":"Phase 1: investigate","at":"#), "{json}");
}

#[test]
fn a_view_without_markers_has_no_phases_key() {
    let json = serde_json::to_string(&declared().view()).expect("views serialise");
    assert!(!json.contains("phases"), "{json}");
}

#[test]
fn an_empty_name_or_a_customer_is_refused() {
    let mut state = declared();
    let outcome = state.apply(&envelope(2, staff(), phase("  ")));
    assert!(matches!(outcome, Outcome::Rejected(Rejection::Invalid { field: "phase", .. })), "{outcome:?}");
    let outcome = state.apply(&envelope(3, Actor::Customer(1), phase("Phase 1")));
    assert!(matches!(outcome, Outcome::Rejected(Rejection::WrongActor { .. })), "{outcome:?}");
    assert!(state.phases().is_empty());
}

#[test]
fn markers_are_accepted_after_the_venue_ceased() {
    let mut state = declared();
    state.apply(&envelope(2, staff(), Event::VenueCeased(VenueCeased { reason: "wound up".to_owned() })));
    let outcome = state.apply(&envelope(3, staff(), phase("Distribution")));
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    assert_eq!(state.phases().len(), 1);
}
