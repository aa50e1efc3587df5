//! Shared by the benchmarks: the seeded synthetic workload, and the size of a run.

use exops_core::{CustomerOperation, Envelope, Event, Record};

/// The first `count` events of the seeded synthetic log (`exops gen`'s events).
pub fn workload(count: usize, seed: u64) -> Vec<Envelope> {
    exops_gen::Generator::new(seed).take(count).collect()
}

/// How big a run is: `cargo bench` (full), `cargo xtask bench --quick` (which sets
/// `EXOPS_BENCH_QUICK=1`), or a test run (`cargo test`, where criterion runs each
/// benchmark once only to show it still works; no `--bench` argument is passed then).
pub fn size<T>(full: T, quick: T, test: T) -> T {
    if !std::env::args().any(|argument| argument == "--bench") {
        test
    } else if std::env::var_os("EXOPS_BENCH_QUICK").is_some() {
        quick
    } else {
        full
    }
}

/// [`gate_loop`] over the events as records (customer operations in 56 bytes): the
/// baseline of a fold over records.
pub fn gate_loop_records(records: &[Record]) -> u64 {
    let mut sum = 0_u64;
    for record in records {
        sum = sum.wrapping_add(match record {
            Record::Customer(customer) => match customer.operation {
                CustomerOperation::OrderSubmitted(order) => order.notional_minor as u64,
                CustomerOperation::DepositReceived(transfer) | CustomerOperation::WithdrawalRequested(transfer) => {
                    transfer.amount_minor as u64
                }
                _ => 1,
            },
            Record::Other(_) => 1,
        });
    }
    sum
}

/// The baseline of apply and replay: read each event's kind and amount and add them up,
/// nothing else. What the machine can stream, not what the domain costs.
pub fn gate_loop(events: &[Envelope]) -> u64 {
    let mut sum = 0_u64;
    for envelope in events {
        sum = sum.wrapping_add(match &envelope.event {
            Event::OrderSubmitted(order) => order.notional_minor as u64,
            Event::DepositReceived(transfer) | Event::WithdrawalRequested(transfer) => transfer.amount_minor as u64,
            _ => 1,
        });
    }
    sum
}
