//! The per-customer arrays' byte form in snapshots (customers.rs): what is encoded decodes
//! back, any bytes decode or are refused with an offset, never a panic.

use exops_core::CustomerArrays;
use exops_log::customers::{decode, encode};
use proptest::prelude::*;

fn arrays() -> impl Strategy<Value = CustomerArrays> {
    let ids = prop::collection::vec(prop_oneof![0_u64..300, any::<u64>()], 0..200);
    let bits = prop::collection::vec(any::<u64>(), 0..8);
    (ids, bits).prop_map(|(last_event_id, affected_bits)| {
        let affected_count = affected_bits.iter().map(|word| u64::from(word.count_ones())).sum();
        CustomerArrays { last_event_id, affected_bits, affected_count }
    })
}

fn encoded(arrays: &CustomerArrays) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode(arrays, &mut bytes);
    bytes
}

proptest! {
    #[test]
    fn arrays_come_back_from_their_bytes(arrays in arrays()) {
        prop_assert_eq!(decode(&encoded(&arrays)).unwrap(), arrays);
    }

    #[test]
    fn any_bytes_decode_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(arrays) = decode(&bytes) {
            // What decodes re-encodes to bytes that decode the same (varints may shrink).
            prop_assert_eq!(decode(&encoded(&arrays)).unwrap(), arrays);
        }
    }
}

#[test]
fn large_ids_round_trip_and_a_cut_is_caught_at_its_offset() {
    let arrays = CustomerArrays {
        last_event_id: vec![0, u64::MAX - 1, 1 << 40, 127, 128],
        affected_bits: vec![0b101],
        affected_count: 2,
    };
    let bytes = encoded(&arrays);
    assert_eq!(decode(&bytes).unwrap(), arrays);
    // 127 takes one byte, 128 two, u64::MAX - 1 ten.
    assert_eq!(bytes.len(), 4 + (1 + 10 + 6 + 1 + 2) + 4 + 8 + 8);
    let error = decode(&bytes[..bytes.len() - 3]).unwrap_err();
    assert_eq!(error, format!("customer data ends inside the affected count (offset {})", bytes.len() - 8));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(decode(&long).unwrap_err(), "1 bytes left over after the customer data");
    let too_wide = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    assert_eq!(decode(&too_wide).unwrap_err(), "a last id does not fit in 64 bits");
}
