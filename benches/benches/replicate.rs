//! Replicated append on a 3-node JetStream cluster of real `nats-server` processes on
//! loopback (`exops_nats::cluster`), beside the local append of the same run.
//!
//! - `replicate/local_append_4096`: the baseline, as `append/exops_log/batch_4096`:
//!   batches of 4,096 generated events handed to the log together, each one block,
//!   answered once durable. The log stays open across iterations, replaced by a fresh one
//!   (untimed) every 2^21 events so that a fast run does not fill the disk.
//! - `replicate/local_append_4096_blocks_1024`: the same with the writer's blocks capped
//!   at 1,024 events, as `exops serve` caps them (a block is one NATS message and must stay
//!   under `max_payload`): what the smaller blocks cost before any network.
//! - `replicate/replicated_append_4096`: `exops serve`'s path: the same batches appended
//!   in blocks of at most 1,024 events; after each group commit a publisher thread calls
//!   `exops_nats::publish_after`, which publishes the blocks made durable to the R3 stream
//!   and returns once its quorum stored them. An iteration ends when the last event is
//!   acknowledged that way.
//!
//! Follower lag: while the replicated append runs, a follower (`exops_nats::follow`, its
//! own data directory and connection) consumes the stream. For every block, the time from
//! the writer's acknowledgement (`publish_after` returning) to the follower's `on_block`
//! (the block checked, appended and fsynced in its replica) is recorded; p50 and p99 over
//! every block of the run are printed and written to
//! `<criterion dir>/replicate/follower_lag.json`. Negative values mean the follower had the
//! block durable before the writer's acknowledgement arrived.
//!
//! Without a `nats-server` (`$EXOPS_NATS_SERVER`, the `PATH`, `/usr/sbin/nats-server`) the
//! bench says why, measures nothing, and records that in `follower_lag.json`, so that
//! `cargo xtask bench` prints these rows as not measured.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exops_benches::size;
use exops_log::{Appended, Log, LogOptions, Submission};
use exops_nats::Connection;
use exops_nats::cluster::{self, Cluster};

/// Events per batch handed to the writer.
const BATCH: usize = 4096;
/// Events per block in `exops serve` (its `SERVE_BATCH_MAX`).
const SERVE_BLOCK_MAX: usize = 1024;
/// The venue (and stream `EXOPS_bench`) of the run.
const VENUE: &str = "bench";
/// Events after which a local baseline's log is replaced by a fresh one (untimed), so that
/// a fast run does not fill the disk (about 140 MB of segments). The replicated log, whose
/// stream must continue, is never replaced; it grows only as fast as it is published.
const LOCAL_ROLL_EVENTS: u64 = 1 << 21;
/// How long the follower gets to catch up after the last acknowledgement.
const CATCH_UP: Duration = Duration::from_secs(120);

/// Batches per measured iteration: 64 × 4,096 = 2^18 events, as `append` at batch 4096.
fn batches_per_iteration() -> usize {
    size(64, 16, 1)
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `criterion` in the target
/// directory this bench runs from (`<target>/release/deps/replicate-…`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let target = exe.ancestors().nth(3).expect("the bench runs from <target>/<profile>/deps");
    target.join("criterion")
}

fn write_record(text: &str) {
    let dir = criterion_dir().join("replicate");
    std::fs::create_dir_all(&dir).expect("creates the criterion directory");
    let path = dir.join("follower_lag.json");
    std::fs::write(&path, text).expect("writes follower_lag.json");
    eprintln!("replicate: wrote {}", path.display());
}

/// A log opened in a fresh directory, and the generator that continues its events.
struct Writer {
    _dir: tempfile::TempDir,
    log: Option<Log>,
    generator: exops_gen::Generator,
    last_seq: u64,
}

impl Writer {
    fn open(batch_max: usize, commits: Option<crossbeam_channel::Sender<u64>>) -> Writer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        exops_log::init(dir.path()).expect("init");
        let options = LogOptions { batch_max, ..LogOptions::default() };
        let opened = Log::open(dir.path(), options, commits).expect("opens");
        Writer { _dir: dir, log: Some(opened.log), generator: exops_gen::Generator::new(3), last_seq: 0 }
    }

    fn path(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The next `batches` batches of generated events (made before the clock starts).
    fn next_batches(&mut self, batches: usize) -> Vec<Vec<Submission>> {
        (0..batches).map(|_| self.generator.by_ref().take(BATCH).map(Submission::from).collect()).collect()
    }

    /// Hands every batch over at once, as `append` does, and waits for each answer.
    fn append(&mut self, batches: Vec<Vec<Submission>>) -> u64 {
        let appender = self.log.as_ref().expect("open").appender();
        let tickets: Vec<_> = batches.into_iter().map(|batch| appender.submit_batch(batch).expect("submits")).collect();
        for ticket in tickets {
            for answer in ticket.wait() {
                match answer {
                    Ok(Appended::Durable { seq, .. }) => self.last_seq = self.last_seq.max(seq),
                    other => panic!("a generated event was not appended: {other:?}"),
                }
            }
        }
        self.last_seq
    }

    fn close(&mut self) {
        if let Some(log) = self.log.take() {
            log.close().expect("closes");
        }
    }
}

/// Times `iters` iterations of `batches_per_iteration` batches, the batches made untimed.
/// With `roll`, the log is replaced by a fresh one (untimed) once it holds
/// `LOCAL_ROLL_EVENTS`.
fn timed(writer: &mut Writer, iters: u64, roll: Option<usize>, mut wait: impl FnMut(u64)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        if let Some(batch_max) = roll
            && writer.last_seq >= LOCAL_ROLL_EVENTS
        {
            writer.close();
            let generator = std::mem::replace(&mut writer.generator, exops_gen::Generator::new(0));
            *writer = Writer::open(batch_max, None);
            writer.generator = generator;
        }
        let batches = writer.next_batches(batches_per_iteration());
        let started = Instant::now();
        let last_seq = writer.append(batches);
        wait(last_seq);
        total += started.elapsed();
    }
    total
}

/// The `p`-th percentile (nearest rank) of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Records why nothing was measured (`short` is what `cargo xtask bench` prints).
fn not_measured(short: &str, reason: &str) {
    eprintln!("replicate: not measured: {reason}");
    write_record(&format!("{{\n  \"measured\": false,\n  \"short\": {short:?},\n  \"reason\": {reason:?}\n}}\n"));
}

fn bench_replicate(c: &mut Criterion) {
    // Under `cargo test --benches` every benchmark runs once to show it works: a missing
    // server is then what it is for the cluster tests (a failure under `CI=true`), and
    // nothing is recorded over a real run's results.
    let testing = size(false, false, true);
    let cluster = if testing {
        let Some(cluster) = cluster::for_test(3) else { return };
        cluster
    } else {
        if cluster::find_server().is_none() {
            return not_measured("no nats-server", &cluster::ClusterError::NoServer.to_string());
        }
        match Cluster::start(3) {
            Ok(cluster) => cluster,
            Err(error) => return not_measured("the cluster did not start", &error.to_string()),
        }
    };
    let server = cluster::find_server().expect("the cluster found one");
    if !testing {
        // Replaced at the end: a run that stops half-way leaves no earlier run's lag
        // beside its own partial results.
        let dir = criterion_dir().join("replicate");
        std::fs::create_dir_all(&dir).expect("creates the criterion directory");
        let unfinished = "{\n  \"measured\": false,\n  \"short\": \"the last run did not finish\",\n  \
                          \"reason\": \"the replicate bench started and did not finish\"\n}\n";
        std::fs::write(dir.join("follower_lag.json"), unfinished).expect("writes follower_lag.json");
    }
    let version = format!("{}.{}", cluster.version.0, cluster.version.1);
    let version_text = std::process::Command::new(&server)
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or(version);
    eprintln!("replicate: 3 nodes of {} ({version_text}) at {}", server.display(), cluster.url());

    // The writer session owns the stream, created as `exops serve` creates it (R3).
    let connection = Connection::connect(&cluster.url(), VENUE).expect("connects");
    let session = exops_nats::new_session();
    connection.claim(&session, 3).expect("creates the stream");
    let subject = exops_nats::writer_subject(VENUE, &session);

    // The follower, on its own connection and data directory, from before the first block.
    let durable_at: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let follower_dir = tempfile::tempdir().expect("a temporary directory");
    {
        let durable_at = Arc::clone(&durable_at);
        let url = cluster.url();
        let replica = follower_dir.path().join("replica");
        // Detached: it follows until the process ends (its `follow` never returns first).
        std::thread::spawn(move || {
            let connection = Connection::connect(&url, VENUE).expect("the follower connects");
            let outcome = exops_nats::follow(&connection, &replica, false, &mut |block| {
                durable_at.lock().expect("not poisoned").push((block.seal.block_index, Instant::now()));
                Ok(())
            });
            if let Err(error) = outcome {
                eprintln!("replicate: the follower stopped: {error}");
            }
        });
    }

    let mut group = c.benchmark_group("replicate");
    group.sample_size(10);
    group.throughput(Throughput::Elements((batches_per_iteration() * BATCH) as u64));

    let mut local = Writer::open(BATCH, None);
    group.bench_function("local_append_4096", |b| b.iter_custom(|iters| timed(&mut local, iters, Some(BATCH), |_| {})));
    local.close();
    drop(local);

    let mut small_blocks = Writer::open(SERVE_BLOCK_MAX, None);
    group.bench_function("local_append_4096_blocks_1024", |b| {
        b.iter_custom(|iters| timed(&mut small_blocks, iters, Some(SERVE_BLOCK_MAX), |_| {}))
    });
    small_blocks.close();
    drop(small_blocks);

    // exops serve's path: the writer reports each group commit; the publisher publishes
    // what it made durable and acknowledges once the quorum stored it.
    let (commits, durable) = crossbeam_channel::unbounded::<u64>();
    let (acks, acknowledged) = crossbeam_channel::unbounded::<Result<u64, String>>();
    let acked_at: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let mut replicated = Writer::open(SERVE_BLOCK_MAX, Some(commits));
    let publisher = {
        let data_dir = replicated.path().to_owned();
        let acked_at = Arc::clone(&acked_at);
        std::thread::spawn(move || {
            let mut resume = None;
            while let Ok(first) = durable.recv() {
                let durable_through = durable.try_iter().fold(first, u64::max);
                let outcome = exops_nats::publish_after(&connection, &data_dir, &subject, &mut resume, durable_through);
                let now = Instant::now();
                let sent = match outcome {
                    Ok(published) => {
                        acked_at.lock().expect("not poisoned").extend(published.blocks.map(|block| (block, now)));
                        acks.send(Ok(published.through_seq))
                    }
                    Err(error) => acks.send(Err(error.to_string())),
                };
                if sent.is_err() {
                    return;
                }
            }
        })
    };
    let mut through = 0;
    group.bench_function("replicated_append_4096", |b| {
        b.iter_custom(|iters| {
            timed(&mut replicated, iters, None, |last_seq| {
                while through < last_seq {
                    through = acknowledged.recv().expect("the publisher runs").expect("published");
                }
            })
        })
    });
    group.finish();
    replicated.close();
    publisher.join().expect("the publisher ends with the log");

    // Follower lag over every block of the run.
    let acked_at = std::mem::take(&mut *acked_at.lock().expect("not poisoned"));
    let blocks = acked_at.len();
    // Blocks acknowledged together came from one `publish_after` call (one instant each).
    let publish_calls = 1 + acked_at.windows(2).filter(|pair| pair[0].1 != pair[1].1).count();
    let started = Instant::now();
    while durable_at.lock().expect("not poisoned").len() < blocks && started.elapsed() < CATCH_UP {
        std::thread::sleep(Duration::from_millis(50));
    }
    let durable_at = std::mem::take(&mut *durable_at.lock().expect("not poisoned"));
    if blocks == 0 {
        // A filter left the replicated append out: there is no lag to record.
        eprintln!("replicate/follower_lag: not measured (replicated_append_4096 did not run)");
        return;
    }
    assert_eq!(
        durable_at.len(),
        blocks,
        "the follower has {} of the {blocks} blocks {} s after the last acknowledgement",
        durable_at.len(),
        CATCH_UP.as_secs()
    );
    let mut lags_ms: Vec<f64> = acked_at
        .iter()
        .zip(&durable_at)
        .map(|((acked_block, acked), (durable_block, durable))| {
            assert_eq!(acked_block, durable_block, "the follower appends the blocks in order");
            if durable >= acked {
                durable.duration_since(*acked).as_secs_f64() * 1e3
            } else {
                -(acked.duration_since(*durable).as_secs_f64() * 1e3)
            }
        })
        .collect();
    lags_ms.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&lags_ms, 50.0), percentile(&lags_ms, 99.0));
    let (min, max) = (lags_ms[0], lags_ms[lags_ms.len() - 1]);
    eprintln!(
        "replicate/follower_lag: {blocks} blocks of at most {SERVE_BLOCK_MAX} events in {publish_calls} \
         publish_after calls: p50 {p50:.3} ms, \
         p99 {p99:.3} ms (min {min:.3} ms, max {max:.3} ms) from the writer's acknowledgement to the \
         follower's block durable"
    );
    if testing {
        return;
    }
    write_record(&format!(
        "{{\n  \"measured\": true,\n  \"server\": {version_text:?},\n  \"blocks\": {blocks},\n  \
         \"publish_calls\": {publish_calls},\n  \
         \"events_per_block_max\": {SERVE_BLOCK_MAX},\n  \"p50_ms\": {p50:.3},\n  \"p99_ms\": {p99:.3},\n  \
         \"min_ms\": {min:.3},\n  \"max_ms\": {max:.3}\n}}\n"
    ));
}

criterion_group!(benches, bench_replicate);
criterion_main!(benches);
