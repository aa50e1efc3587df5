//! In-memory apply of decoded events through the full domain (holds, gating, money,
//! impact counters), beside a trivial gate loop over the same events: the rate at which
//! the machine can merely stream them, measured in the same run.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::{gate_loop, workload};
use exops_core::{Envelope, Outcome, State};

fn events() -> usize {
    exops_benches::size(200_000, 200_000, 5_000)
}

fn apply_all(events: &[Envelope]) -> State {
    let mut state = State::new();
    for envelope in events {
        if let Outcome::Rejected(rejection) = state.apply(envelope) {
            panic!("the workload is valid, yet seq {} was rejected: {rejection}", envelope.seq);
        }
    }
    state
}

fn bench_apply(c: &mut Criterion) {
    let count = events();
    let events = workload(count, 1);
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("gate_loop_baseline", |b| b.iter(|| gate_loop(black_box(&events))));
    group.bench_function("full_domain", |b| {
        b.iter_batched(|| (), |()| apply_all(black_box(&events)), BatchSize::PerIteration)
    });
    group.finish();
}

criterion_group!(benches, bench_apply);
criterion_main!(benches);
