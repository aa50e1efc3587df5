//! Cold replay of a data directory, single-threaded and pipelined, beside a trivial gate
//! loop over the same decoded events held in memory (the memory-streaming limit).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::{gate_loop, size};
use exops_core::{Envelope, State};
use exops_log::LogReader;
use exops_log::restore::{Target, fold_pipelined};

fn bench_replay(c: &mut Criterion) {
    let events: u64 = size(4_000_000, 1_000_000, 10_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    exops_gen::write_log(dir.path(), events, 1, &mut |_| {}).expect("the log is written");
    let decoded: Vec<Envelope> =
        LogReader::open(dir.path(), 1).expect("opens").map(|event| event.expect("reads")).collect();
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("gate_loop_baseline", |b| b.iter(|| gate_loop(black_box(&decoded))));
    group.bench_function("single_thread", |b| {
        b.iter(|| {
            let mut state = State::new();
            for envelope in LogReader::open(dir.path(), 1).expect("opens") {
                state.apply(&envelope.expect("reads"));
            }
            state.seq()
        })
    });
    group.bench_function("pipelined", |b| {
        b.iter(|| fold_pipelined(dir.path(), Target::End, None).expect("folds").0.seq())
    });
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
