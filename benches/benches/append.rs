//! Durable appends. Each figure has its disk baseline measured in the same run: a plain
//! file receiving the same framed bytes in the same batches, with one `fdatasync` per
//! batch. A third figure stores one sled key per event, flushed per batch, which is why
//! the log is not kept in sled (docs/adr/0002-log-storage.md).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::workload;
use exops_log::codec::{EVENT_SCHEMA_VERSION, encode_body};
use exops_log::frame::{FrameKind, write_frame};
use exops_log::{Log, LogOptions, Submission};

/// Events per measured iteration, for each batch size.
const EVENTS: usize = 16_384;

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
        // Batch 1 fsyncs 16k times per iteration; fewer events keep it in bounds.
        let events = if batch == 1 { 512 } else { EVENTS };
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
        group.bench_function(format!("exops_log/batch_{batch}"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    exops_log::init(dir.path()).expect("init");
                    dir
                },
                |dir| {
                    let options = LogOptions { batch_max: batch, ..LogOptions::default() };
                    let opened = Log::open(dir.path(), options, None).expect("opens");
                    let appender = opened.log.appender();
                    let tickets: Vec<_> = envelopes[..=events]
                        .iter()
                        .map(|envelope| {
                            appender
                                .submit(Submission {
                                    at: envelope.at,
                                    id: envelope.id,
                                    actor: envelope.actor.clone(),
                                    event: envelope.event.clone(),
                                    note: None,
                                })
                                .expect("submits")
                        })
                        .collect();
                    for ticket in tickets {
                        ticket.wait().expect("durable");
                    }
                    drop(appender);
                    opened.log.close().expect("closes");
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("sled_key_per_event/batch_4096", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temporary directory"),
            |dir| {
                let db = sled::Config::new().path(dir.path().join("sled")).open().expect("opens");
                for (index, chunk) in bodies[1..=EVENTS].chunks(4096).enumerate() {
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
