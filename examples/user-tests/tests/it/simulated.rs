//! A simulated plan's metrics, pinned with redactions for what this test does not want to
//! depend on: the plan's and the scenario's titles (edited freely) and the seed.

use exops_testkit::{Redactions, sim};

#[test]
fn bitpoint_plan_metrics_at_one_percent() {
    let run = sim::simulate(
        crate::repository("fixtures/bitpoint-2019/scenario.toml"),
        crate::repository("fixtures/bitpoint-2019/plan.toml"),
        1,
    )
    .expect("the plan runs");
    let redactions =
        Redactions::new().redact(".scenario", "[title]").redact(".plan", "[title]").redact(".seed", "[seed]");
    insta::assert_snapshot!("bitpoint-plan-metrics", redactions.yaml(&run.metrics));
    assert_eq!(run.log.phases().count(), 9, "the run's log marks every phase");
}
