//! The BITPoint 2019 scenario and plan, simulated (requests generated, gated, measured),
//! beside applying the same number of already-generated events (the apply limit).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::{size, workload};
use exops_core::State;
use exops_sim::plan::Plan;
use exops_sim::scenario::Scenario;
use exops_sim::{Options, simulate};

fn bench_simulate(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bitpoint-2019");
    let scenario = Scenario::load(&fixtures.join("scenario.toml")).expect("the scenario loads");
    let plan = Plan::load(&fixtures.join("plan.toml")).expect("the plan loads");
    // 100% is 8.1 M requests over 153 days; the brief's figure is 100 M (1,250%).
    let scale_percent = size(1_250, 100, 1);
    let options = Options { scale_percent, ..Options::default() };
    let events = simulate(&scenario, &plan, &options, &mut |_| {}).expect("simulates").metrics.events;
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("bitpoint_2019", |b| {
        b.iter(|| simulate(&scenario, &plan, black_box(&options), &mut |_| {}).expect("simulates").metrics.events)
    });
    let applied = workload(events.min(2_000_000) as usize, 1);
    group.throughput(Throughput::Elements(applied.len() as u64));
    group.bench_function("apply_baseline", |b| {
        b.iter(|| {
            let mut state = State::new();
            for envelope in &applied {
                state.apply(envelope);
            }
            state.seq()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_simulate);
criterion_main!(benches);
