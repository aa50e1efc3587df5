//! A sweep (`simulate --runs N`) of the BITPoint plan on every core, beside the same runs
//! one after another on one thread: the baseline, measured in the same run, of what the
//! parallel sweep gains.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::size;
use exops_sim::Options;
use exops_sim::plan::Plan;
use exops_sim::scenario::Scenario;
use exops_sim::sweep::{sweep, threads_for};

fn bench_sweep(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bitpoint-2019");
    let scenario = Scenario::load(&fixtures.join("scenario.toml")).expect("the scenario loads");
    let plan = Plan::load(&fixtures.join("plan-uncertain.toml")).expect("the plan loads");
    // 8 runs at 10% (0.8 M requests each); at test time, 2 runs at 1%.
    let runs: u32 = size(8, 4, 2);
    let options = Options { scale_percent: size(10, 10, 1), ..Options::default() };
    let threads = threads_for(runs);
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(runs)));
    // `threads` is one per core: 2 on this machine.
    group.bench_function("parallel", |b| {
        b.iter(|| sweep(&scenario, &plan, black_box(&options), runs, threads, &|| {}).expect("sweeps").runs)
    });
    group.bench_function("one_thread_baseline", |b| {
        b.iter(|| sweep(&scenario, &plan, black_box(&options), runs, 1, &|| {}).expect("sweeps").runs)
    });
    group.finish();
}

criterion_group!(benches, bench_sweep);
criterion_main!(benches);
