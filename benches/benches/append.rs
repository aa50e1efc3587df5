//! Durable appends. Each figure has its disk baseline measured in the same run: a plain
//! file receiving the same framed bytes in the same batches, with one `fdatasync` per
//! batch. Another adds the head record's write and sync per batch to that file. A last figure stores one sled key per event, flushed per batch, which is why
//! the log is not kept in sled (docs/adr/0002-log-storage.md).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::workload;
use exops_log::codec::{EVENT_SCHEMA_VERSION, encode_body};
use exops_log::frame::{FrameKind, write_frame};
use exops_log::{Appended, Log, LogOptions, Submission};

/// Events per measured iteration at batch 4096: enough blocks (64) that the fixed costs
/// of a fresh log (its per-customer arrays growing to a million entries) are spread as
/// they would be in a long run.
const EVENTS: usize = 1 << 18;

/// Events per measured iteration for a batch size: fewer where every batch waits for its
/// own `fdatasync`, to keep the run in bounds.
fn events_for(batch: usize) -> usize {
    match batch {
        1 => 512,
        64 => 16_384,
        _ => EVENTS,
    }
}

fn bodies() -> Vec<(i64, Vec<u8>)> {
    workload(EVENTS + 1, 3)
        .iter()
        .map(|envelope| {
            let mut body = Vec::new();
            encode_body(envelope, &mut body).expect("the workload encodes");
            (envelope.at.unix_micros(), body)
        })
        .collect()
}

fn bench_append(c: &mut Criterion) {
    let bodies = bodies();
    let envelopes = workload(EVENTS + 1, 3);
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    for batch in [1_usize, 64, 4096] {
        let events = events_for(batch);
        group.throughput(Throughput::Elements(events as u64));
        group.bench_function(format!("plain_file_baseline/batch_{batch}"), |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("a temporary directory"),
                |dir| {
                    let mut file =
                        OpenOptions::new().create(true).append(true).open(dir.path().join("plain")).expect("opens");
                    let mut buffer = Vec::new();
                    for (index, chunk) in bodies[1..=events].chunks(batch).enumerate() {
                        buffer.clear();
                        for (offset, (at, body)) in chunk.iter().enumerate() {
                            let seq = (index * batch + offset + 1) as u64;
                            write_frame(&mut buffer, FrameKind::Event, EVENT_SCHEMA_VERSION, seq, *at, body);
                        }
                        file.write_all(black_box(&buffer)).expect("writes");
                        file.sync_data().expect("syncs");
                    }
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        // The same, plus what the log's head record costs: after each batch's sync, one
        // 512-byte slot of a second file rewritten (slots taking turns) and `fdatasync`ed
        // (docs/adr/0004-head-record.md).
        group.bench_function(format!("plain_file_with_head_record/batch_{batch}"), |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("a temporary directory"),
                |dir| {
                    use std::os::unix::fs::FileExt;
                    let mut file =
                        OpenOptions::new().create(true).append(true).open(dir.path().join("plain")).expect("opens");
                    let head = OpenOptions::new().create(true).write(true).truncate(true).open(dir.path().join("HEAD"));
                    let head = head.expect("opens");
                    let mut buffer = Vec::new();
                    for (index, chunk) in bodies[1..=events].chunks(batch).enumerate() {
                        buffer.clear();
                        for (offset, (at, body)) in chunk.iter().enumerate() {
                            let seq = (index * batch + offset + 1) as u64;
                            write_frame(&mut buffer, FrameKind::Event, EVENT_SCHEMA_VERSION, seq, *at, body);
                        }
                        file.write_all(black_box(&buffer)).expect("writes");
                        file.sync_data().expect("syncs");
                        let slot = [index as u8; 512];
                        head.write_all_at(&slot, (index % 2 * 512) as u64).expect("writes the head");
                        head.sync_data().expect("syncs the head");
                    }
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        // The log is opened before the clock starts (creating its index and starting the
        // writer thread is not appending) and closed after it stops; the producer hands
        // over `batch` events at a time, each batch committed as one block.
        group.bench_function(format!("exops_log/batch_{batch}"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    exops_log::init(dir.path()).expect("init");
                    let options = LogOptions { batch_max: batch, ..LogOptions::default() };
                    let opened = Log::open(dir.path(), options, None).expect("opens");
                    let batches: Vec<Vec<Submission>> = envelopes[..=events]
                        .chunks(batch)
                        .map(|chunk| {
                            chunk
                                .iter()
                                .map(|envelope| Submission {
                                    at: envelope.at,
                                    id: envelope.id,
                                    actor: envelope.actor.clone(),
                                    event: envelope.event.clone(),
                                    note: None,
                                })
                                .collect()
                        })
                        .collect();
                    (dir, opened.log, batches)
                },
                |(dir, log, batches)| {
                    let appender = log.appender();
                    let tickets: Vec<_> =
                        batches.into_iter().map(|batch| appender.submit_batch(batch).expect("submits")).collect();
                    for ticket in tickets {
                        for answer in ticket.wait() {
                            assert!(matches!(answer, Ok(Appended::Durable { .. })), "{answer:?}");
                        }
                    }
                    (dir, log)
                },
                BatchSize::PerIteration,
            )
        });
    }
    let events = events_for(64);
    group.throughput(Throughput::Elements(events as u64));
    group.bench_function("sled_key_per_event/batch_4096", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temporary directory"),
            |dir| {
                let db = sled::Config::new().path(dir.path().join("sled")).open().expect("opens");
                for (index, chunk) in bodies[1..=events].chunks(4096).enumerate() {
                    for (offset, (_, body)) in chunk.iter().enumerate() {
                        let seq = (index * 4096 + offset + 1) as u64;
                        db.insert(seq.to_be_bytes(), body.as_slice()).expect("inserts");
                    }
                    db.flush().expect("flushes");
                }
                drop(db);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
