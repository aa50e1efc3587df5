use exops_testkit::{Fixture, Point, Rejection, given, yaml};

#[test]
fn the_freeze_holds_until_the_controls_are_met() {
    let fixture = Fixture::open("tests/tiny.jsonl").unwrap();
    // The services after the fifth event, as text that `exops replay --format yaml` would print.
    insta::assert_snapshot!(yaml(&fixture.at(Point::End).services()));
}

#[test]
fn lifting_the_freeze_early_is_refused() {
    let log = std::fs::read_to_string("tests/tiny.jsonl").unwrap();
    let (setup, lift) = log.trim_end().rsplit_once('\n').unwrap();
    given(setup)
        .when(lift)
        .then_rejected(|rejection| matches!(rejection, Rejection::ControlUnmet { .. }))
        .then_state(|state| assert_eq!(state.services().0.get("withdrawals:BTC").unwrap().holds, ["freeze"]));
}
