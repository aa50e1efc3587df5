//! In-memory apply of decoded events through the full domain (holds, gating, money,
//! impact counters), beside a trivial gate loop over the same events: the rate at which
//! the machine can merely stream them, measured in the same run.
//!
//! The state is in its steady shape: it has already folded the events before the
//! measured ones (a million customers seen, incidents under way), as it would be deep
//! into a replay; a fresh state would also time the first touch of its per-customer
//! arrays.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::{gate_loop, gate_loop_records, workload};
use exops_core::{Envelope, Outcome, Record, State};

fn events() -> usize {
    exops_benches::size(1 << 20, 1 << 20, 5_000)
}

fn check(envelope: &Envelope, outcome: &Outcome) {
    if let Outcome::Rejected(rejection) = outcome {
        panic!("the workload is valid, yet seq {} was rejected: {rejection}", envelope.seq);
    }
}

fn apply_each(mut state: State, events: &[Envelope]) -> State {
    for envelope in events {
        check(envelope, &state.apply(envelope));
    }
    state
}

fn apply_batched(mut state: State, events: &[Envelope]) -> State {
    state.apply_batch(events, |envelope, outcome| check(envelope, &outcome));
    state
}

fn apply_records(mut state: State, records: &[Record]) -> State {
    state.apply_records(records, |record, outcome| {
        if let Outcome::Rejected(rejection) = outcome {
            panic!("the workload is valid, yet seq {} was rejected: {rejection}", record.seq());
        }
    });
    state
}

fn bench_apply(c: &mut Criterion) {
    let count = events();
    let mut events = workload(2 * count, 1);
    let measured = events.split_off(count);
    let warm = apply_each(State::new(), &events);
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("gate_loop_baseline", |b| b.iter(|| gate_loop(black_box(&measured))));
    group.bench_function("full_domain", |b| {
        b.iter_batched(|| warm.clone(), |state| apply_each(state, black_box(&measured)), BatchSize::PerIteration)
    });
    group.bench_function("full_domain_batch", |b| {
        b.iter_batched(|| warm.clone(), |state| apply_batched(state, black_box(&measured)), BatchSize::PerIteration)
    });
    // The same events as the fold takes them from a data directory: customer operations
    // as 56-byte records, the rest boxed envelopes (what `RawBlock::decode_into` yields).
    let records: Vec<Record> = measured.iter().cloned().map(Record::from).collect();
    assert_eq!(apply_records(warm.clone(), &records), apply_batched(warm.clone(), &measured), "the same fold");
    group.bench_function("gate_loop_records_baseline", |b| b.iter(|| gate_loop_records(black_box(&records))));
    group.bench_function("full_domain_records", |b| {
        b.iter_batched(|| warm.clone(), |state| apply_records(state, black_box(&records)), BatchSize::PerIteration)
    });
    group.finish();
}

criterion_group!(benches, bench_apply);
criterion_main!(benches);
