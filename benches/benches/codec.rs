//! Encode and decode of event bodies (the bincode wire format via wincode), beside a
//! baseline that only copies the same bytes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::workload;
use exops_log::codec::{EVENT_SCHEMA_VERSION, decode_body, encode_body};

const EVENTS: usize = 100_000;

fn bench_codec(c: &mut Criterion) {
    let events = workload(EVENTS, 2);
    let bodies: Vec<Vec<u8>> = events
        .iter()
        .map(|envelope| {
            let mut body = Vec::new();
            encode_body(envelope, &mut body).expect("the workload encodes");
            body
        })
        .collect();
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("copy_baseline", |b| {
        let mut out = Vec::with_capacity(64 << 20);
        b.iter(|| {
            out.clear();
            for body in &bodies {
                out.extend_from_slice(black_box(body));
            }
            out.len()
        })
    });
    group.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(64 << 20);
        b.iter(|| {
            out.clear();
            for envelope in &events {
                encode_body(black_box(envelope), &mut out).expect("encodes");
            }
            out.len()
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut count = 0_u64;
            for (envelope, body) in events.iter().zip(&bodies) {
                let decoded =
                    decode_body(EVENT_SCHEMA_VERSION, envelope.seq, envelope.at, black_box(body)).expect("decodes");
                count += decoded.id;
            }
            count
        })
    });
    group.finish();
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
