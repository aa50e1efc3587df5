//! The snapshot decoder over arbitrary bytes as a snapshot file (`snapshots::internals::decode`,
//! what a restore reads), and the per-customer arrays' reader
//! (exops-log's `customers::decode`, then `State::set_customer_arrays`) over the same bytes. No panic; a snapshot that
//! decodes is encoded again (which decodes the new bytes back and asserts they give the
//! same state: the pair of assertions the writer runs) and then used as a restore uses
//! it (its view built, an event folded on), and customer data that reads reads back the
//! same after it is written again.
//!
//! The first byte chooses: bit 0 mends the snapshot's checksum; bit 1 files it under seq
//! 0 instead of the seq it holds.
#![no_main]

use exops_core::State;
use exops_log::snapshots::internals::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else { return };
    let mut value = rest.to_vec();
    if mode & 1 == 1 && value.len() >= 10 {
        let checksum = crc32c::crc32c(&value[10..]);
        value[6..10].copy_from_slice(&checksum.to_le_bytes());
    }
    let held_seq = value.get(10..18).map(|seq| u64::from_le_bytes(seq.try_into().expect("eight bytes")));
    let seq = if mode & 2 == 2 { 0 } else { held_seq.unwrap_or(0) };
    match decode(seq, &value) {
        Ok((meta, state)) => {
            assert_eq!((meta.seq, state.seq()), (seq, seq));
            let again = encode(meta, &state).expect("a decoded snapshot encodes");
            assert_eq!(decode(seq, &again).map(|(_, state)| state).as_ref(), Ok(&state));
            let mut state = state;
            let _ = state.view();
            let envelope = exops_core::Envelope {
                seq: seq.wrapping_add(1),
                at: exops_core::Timestamp::from_unix_micros(1_562_889_600_000_000),
                id: 1_000_000,
                actor: exops_core::Actor::Customer(1),
                event: exops_core::Event::LoginAttempted,
                note: None,
            };
            let _ = state.apply(&envelope);
        }
        Err(damage) => assert_eq!(damage.seq, seq, "the damage names the snapshot"),
    }

    if let Ok(arrays) = exops_log::customers::decode(rest) {
        let mut written = Vec::new();
        exops_log::customers::encode(&arrays, &mut written);
        let again = exops_log::customers::decode(&written).expect("customer data written reads back");
        assert_eq!(again, arrays, "customer data reads back the same");
        let mut state = State::new();
        if state.set_customer_arrays(arrays).is_err() {
            assert_eq!(state, State::new(), "arrays that are refused leave the state as it was");
        }
    }
});
