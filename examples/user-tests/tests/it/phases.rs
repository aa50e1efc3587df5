//! Every phase of the BITPoint 2019 recovery, pinned: the log's `phase_opened` markers say
//! where the phases are, so the test needs no plan file and no dates.

use exops_testkit::{Fixture, yaml};

#[test]
fn bitpoint_at_every_phase() {
    let fixture = Fixture::open(crate::repository("fixtures/bitpoint-2019/events.jsonl")).expect("the log parses");
    let mut phases = 0;
    for (phase, state) in fixture.phases() {
        insta::assert_snapshot!(format!("bitpoint-{phase}"), yaml(&state.services()));
        phases += 1;
    }
    assert_eq!(phases, 9, "one snapshot per phase of the plan");
}
