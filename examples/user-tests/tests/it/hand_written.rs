//! A five-line log written by hand: a venue, a wallet theft, a freeze on BTC withdrawals,
//! a customer's withdrawal, and the lift the controls must refuse.

use exops_testkit::{Gated, RefusalReason, Rejection, given};

const LOG: &str = r#"
{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0},{"code":"BTC","class":"crypto","decimals":8,"liabilities_minor":100000000,"hot_minor":100000000}],"markets":["BTC/JPY"],"margin":false,"approvals_required":["ciso"]}
{"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"staff:ops","kind":"incident_opened","incident":"INC-1","title":"hot wallet drained","category":"wallet_compromise","stolen":[{"asset":"BTC","wallet":"hot","amount_minor":40000000}],"blast_radius":["*"]}
{"at":"2024-03-04T10:05:00+09:00","id":2,"actor":"staff:ops","kind":"hold_placed","hold":"freeze","cause":{"incident":"INC-1"},"services":["withdrawals:BTC"]}
"#;
const WITHDRAWAL: &str = r#"{"at":"2024-03-04T10:30:00+09:00","id":1,"actor":"customer:7","kind":"withdrawal_requested","asset":"BTC","amount_minor":1000}"#;
const LIFT: &str =
    r#"{"at":"2024-03-04T11:00:00+09:00","id":3,"actor":"staff:ops","kind":"hold_lifted","hold":"freeze"}"#;

#[test]
fn a_withdrawal_during_the_freeze_is_refused_by_the_hold() {
    given(LOG).when(WITHDRAWAL).then_gated(
        |gated| matches!(gated, Gated::Refused(refusal) if matches!(refusal.reason, RefusalReason::Hold { .. })),
    );
}

#[test]
fn the_lift_is_refused_until_the_controls_are_met() {
    given(LOG).when(LIFT).then_rejected(|rejection| matches!(rejection, Rejection::ControlUnmet { .. })).then_state(
        |state| {
            let services = state.services();
            let withdrawals = services.0.get("withdrawals:BTC").expect("declared");
            assert_eq!(withdrawals.holds, ["freeze"]);
            assert_eq!(withdrawals.mode, exops_testkit::Mode::Closed);
        },
    );
}

#[test]
fn a_phase_marker_is_recorded_and_gates_nothing() {
    given(LOG)
        .when(
            r#"{"at":"2024-03-04T12:00:00+09:00","id":1,"actor":"staff:lead","kind":"phase_opened","phase":"contain"}"#,
        )
        .then_applied()
        .then_state(|state| {
            assert_eq!(state.full().phases.len(), 1);
            assert_eq!(state.services().0.get("withdrawals:BTC").expect("declared").holds, ["freeze"]);
        });
}
