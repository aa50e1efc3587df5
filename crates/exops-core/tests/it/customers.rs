//! Customer operations: `apply_batch` and `apply_records` against `apply` one by one (with
//! repeated ids, so duplicates land inside the look-ahead window), and the per-customer
//! arrays restored beside the state's serde form (their byte form is exops-log's).

use exops_core::{
    Actor, AssetId, Envelope, Event, HoldPlaced, MarketId, OrderSubmitted, OrderType, Record, Selector, State,
    Timestamp, Transfer,
};
use proptest::prelude::*;

use crate::venue;

/// A venue, a hold that closes BTC withdrawals (so some operations are refused and their
/// customers marked affected), then one customer operation per `(customer, id, kind)`.
fn envelopes(operations: &[(u32, u64, u8)]) -> Vec<Envelope> {
    let staff = |seq: u64, event| Envelope {
        seq,
        at: Timestamp::from_unix_micros(seq as i64),
        id: seq,
        actor: Actor::Staff("ops".into()),
        event,
        note: None,
    };
    let mut envelopes = vec![
        staff(1, Event::VenueDeclared(venue())),
        staff(
            2,
            Event::HoldPlaced(HoldPlaced {
                hold: "btc-out".into(),
                cause: exops_core::Cause::Maintenance,
                services: vec![Selector::parse("withdrawals:BTC").expect("a selector")],
                mode: None,
                max_order_notional_minor: None,
                reason: None,
            }),
        ),
    ];
    for (index, &(customer, id, kind)) in operations.iter().enumerate() {
        let seq = index as u64 + 3;
        let transfer = Transfer { asset: AssetId(u16::from(kind % 2)), network: None, amount_minor: 10 };
        let event = match kind % 4 {
            0 => Event::DepositReceived(transfer),
            1 => Event::WithdrawalRequested(transfer),
            2 => Event::OrderSubmitted(OrderSubmitted {
                market: MarketId(0),
                order_type: OrderType::Limit,
                notional_minor: 5,
            }),
            _ => Event::LoginAttempted,
        };
        envelopes.push(Envelope {
            seq,
            at: Timestamp::from_unix_micros(seq as i64),
            id,
            actor: Actor::Customer(customer),
            event,
            note: None,
        });
    }
    envelopes
}

fn operations() -> impl Strategy<Value = Vec<(u32, u64, u8)>> {
    prop::collection::vec((0_u32..40, 0_u64..6, any::<u8>()), 0..120)
}

proptest! {
    #[test]
    fn apply_batch_is_apply_one_by_one(operations in operations()) {
        let envelopes = envelopes(&operations);
        let mut one_by_one = State::new();
        let expected: Vec<_> = envelopes.iter().map(|envelope| one_by_one.apply(envelope)).collect();
        let mut batched = State::new();
        let mut outcomes = Vec::new();
        batched.apply_batch(&envelopes, |_, outcome| outcomes.push(outcome));
        prop_assert_eq!(outcomes, expected);
        prop_assert_eq!(batched, one_by_one);
    }

    /// The records path folds every envelope as `apply` does, including the ones that do
    /// not become customer records (a note, a non-customer sending a customer operation)
    /// and ones out of sequence or back in time.
    #[test]
    fn apply_records_is_apply_one_by_one(
        operations in operations(),
        odd in prop::collection::vec((0_usize..130, 0_u8..4), 0..12),
    ) {
        let mut envelopes = envelopes(&operations);
        for (index, what) in odd {
            let Some(envelope) = envelopes.get_mut(index) else { continue };
            match what {
                0 => envelope.note = Some("kept".into()),
                1 => envelope.actor = Actor::Staff("ops".into()),
                2 => envelope.seq += 1,
                _ => envelope.at = Timestamp::from_unix_micros(0),
            }
        }
        let mut one_by_one = State::new();
        let expected: Vec<_> = envelopes.iter().map(|envelope| one_by_one.apply(envelope)).collect();
        let records: Vec<Record> = envelopes.iter().cloned().map(Record::from).collect();
        let back: Vec<Envelope> = records.iter().cloned().map(Record::into_envelope).collect();
        prop_assert_eq!(&back, &envelopes);
        let mut by_records = State::new();
        let mut outcomes = Vec::new();
        by_records.apply_records(&records, |_, outcome| outcomes.push(outcome));
        prop_assert_eq!(outcomes, expected);
        prop_assert_eq!(by_records, one_by_one);
    }

    #[test]
    fn customer_arrays_come_back_beside_the_serde_form(operations in operations()) {
        let mut state = State::new();
        state.apply_batch(&envelopes(&operations), |_, _| ());
        let text = serde_json::to_string(&state).expect("the state serialises");
        let mut restored: State = serde_json::from_str(&text).expect("and comes back");
        restored.set_customer_arrays(state.customer_arrays().clone()).expect("its own arrays are consistent");
        prop_assert_eq!(restored, state);
    }
}

#[test]
fn arrays_whose_count_is_not_their_bitmap_are_refused_without_change() {
    let mut state = State::new();
    state.apply_batch(&envelopes(&[(3, 1, 1), (7, 1, 1), (9, 2, 2)]), |_, _| ());
    assert!(state.customer_arrays().affected_count > 0, "the hold refused someone");
    let before = state.clone();
    let mut arrays = state.customer_arrays().clone();
    arrays.affected_count += 1;
    assert!(state.set_customer_arrays(arrays).is_err());
    assert_eq!(state, before);
    assert_eq!(state.last_event_id(&Actor::Customer(9)), 2);
}
