//! The state at random points of a log with snapshots (snapshot + tail), and at the
//! point with the longest tail (just before a snapshot), beside a full pipelined replay
//! of the same log. Snapshots are at the default interval. A restore reads only from
//! its snapshot's block on (snapshots record where it ends), so its cost depends on the
//! interval, not on the log's length.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::size;
use exops_log::restore::{Target, fold_pipelined, restore};
use exops_log::snapshots::{SNAPSHOT_EVERY_DEFAULT, Snapshots};

fn bench_time_travel(c: &mut Criterion) {
    let events: u64 = size(4_000_000, 1_000_000, 12_288);
    // A multiple of the generated log's blocks (4,096 events), so that snapshots fall
    // exactly every `every` events.
    let every = size(SNAPSHOT_EVERY_DEFAULT, SNAPSHOT_EVERY_DEFAULT, 4_096);
    let dir = tempfile::tempdir().expect("a temporary directory");
    exops_gen::write_log(dir.path(), events, 1, &mut |_| {}).expect("the log is written");
    let snapshots = Snapshots::open(dir.path()).expect("the index opens");
    snapshots.set_snapshot_every(every).expect("the setting is kept");
    fold_pipelined(dir.path(), Target::End, Some(&snapshots)).expect("snapshots are built");
    let mut group = c.benchmark_group("time_travel");
    group.sample_size(10);
    // Expressed per log event so the two figures compare: a restore "covers" the log.
    group.throughput(Throughput::Elements(events));
    group.bench_function("full_replay_baseline", |b| {
        b.iter(|| fold_pipelined(dir.path(), Target::End, None).expect("folds").0.seq())
    });
    let mut point = 12_345_u64;
    group.bench_function("snapshot_plus_tail", |b| {
        b.iter(|| {
            // A seeded walk over the log's sequence numbers.
            point = (point.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1)) % events + 1;
            let restored = restore(dir.path(), Some(&snapshots), Target::Seq(black_box(point))).expect("restores");
            assert_eq!(restored.state.seq(), point);
            restored.events_folded
        })
    });
    // The longest tail: the event before the second snapshot, folded from the first.
    let longest = 2 * every - 1;
    group.bench_function("snapshot_plus_longest_tail", |b| {
        b.iter(|| {
            let restored = restore(dir.path(), Some(&snapshots), Target::Seq(black_box(longest))).expect("restores");
            assert_eq!((restored.state.seq(), restored.events_folded), (longest, every - 1));
            restored.events_folded
        })
    });
    group.finish();
}

criterion_group!(benches, bench_time_travel);
criterion_main!(benches);
