//! Crash test through the real binary: `exops log append` is fed JSON Lines and killed
//! with SIGKILL at a seeded-random moment, again and again on one data directory. After
//! every kill, every sequence number the child reported durable (`durable through seq
//! N`) must be in the log; a torn tail, if the kill left one, is cut by the next open and
//! `exops log verify` then passes; and the next run continues where the log ends.
//!
//! ```text
//! EXOPS_CRASH_ITERATIONS=2000 EXOPS_CRASH_SEED=7 cargo test -p exops-cli --test it crash:: -- --nocapture
//! cargo xtask crash --iterations 2000     # the same, in release mode
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use exops_core::{Actor, Event};
use exops_log::LogReader;

use crate::{EXOPS, SMALL_VENUE, arg, exops, exops_with_stdin, temp_dir, write_log};

const ITERATIONS_DEFAULT: u64 = 200;
const SEED_DEFAULT: u64 = 0xc4a5_4ed5_eed0_2019;
/// Lines fed to one child, at most.
const LINES_MAX: u64 = 120;
/// Customers whose ids continue across runs (each run picks one).
const CUSTOMERS: u64 = 5;
/// Every line happens at this instant (after the venue's), so none is refused.
const AT: &str = "2024-01-02T00:00:00Z";
/// Longest wait for the child to make progress before the test calls it stuck.
const PATIENCE: Duration = Duration::from_secs(30);

/// A whole number from the environment, decimal or `0x` hexadecimal (as the seed is printed).
fn env_u64(name: &str, default: u64) -> u64 {
    let Ok(text) = std::env::var(name) else { return default };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number"))
}

/// SplitMix64: a tiny seeded generator, so that a failing run reproduces.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// When to kill the child.
#[derive(Copy, Clone, Debug)]
enum KillAt {
    /// This long after it was started: it may still be opening (and repairing) the log.
    Delay(Duration),
    /// Once it has reported this sequence number durable.
    Durable(u64),
    /// This long after its first `durable through` line: in the middle of the stream.
    AfterFirstCommit(Duration),
}

/// A child that is killed if the test fails while it runs.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one run of `exops log append` told us.
#[derive(Debug)]
struct RunOutcome {
    durable: Vec<u64>,
    /// The exit code, `None` when the kill ended it.
    code: Option<i32>,
    stderr: String,
}

/// Runs `exops log append` on `data_dir`, feeding `lines` in seeded-random chunks from a
/// writer thread while this thread reads the acknowledgements, and kills it as `kill_at`
/// says. With `close_stdin`, the input ends after the last line (so the child may finish
/// on its own first); otherwise it stays open until the kill.
fn run_and_kill(data_dir: &Path, lines: Vec<String>, kill_at: KillAt, close_stdin: bool, seed: u64) -> RunOutcome {
    let started = Instant::now();
    let child = Command::new(EXOPS)
        .args(["log", "append", "--data-dir", arg(data_dir)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {EXOPS}: {error}"));
    let mut child = Running(child);
    let mut stdin = child.0.stdin.take().expect("stdin is piped");
    let stdout = child.0.stdout.take().expect("stdout is piped");
    let mut stderr = child.0.stderr.take().expect("stderr is piped");

    // Feeds the lines, pausing a little between chunks so that they spread over several
    // group commits; then holds standard input open until told to let go.
    let (release, released) = mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut rng = Rng(seed);
        let mut rest = &lines[..];
        while !rest.is_empty() {
            let take = (rng.below(32) as usize + 1).min(rest.len());
            let chunk: String = rest[..take].concat();
            rest = &rest[take..];
            if stdin.write_all(chunk.as_bytes()).and_then(|()| stdin.flush()).is_err() {
                return; // Killed: the pipe is broken.
            }
            if rng.below(2) == 0 {
                std::thread::sleep(Duration::from_micros(rng.below(2_000)));
            }
        }
        if !close_stdin {
            let _ = released.recv();
        }
        drop(stdin);
    });
    let (acks, acked) = mpsc::channel::<Result<u64, String>>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let seq = line
                .strip_prefix("durable through seq ")
                .and_then(|seq| seq.parse().ok())
                .ok_or_else(|| format!("unexpected output line {line:?}"));
            if acks.send(seq).is_err() {
                break;
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let mut durable = Vec::new();
    let mut take = |ack: Result<u64, String>| durable.push(ack.unwrap_or_else(|error| panic!("{error}")));
    let wait_for = |until: &mut dyn FnMut(u64) -> bool, take: &mut dyn FnMut(Result<u64, String>)| loop {
        match acked.recv_timeout(PATIENCE) {
            Ok(Ok(seq)) => {
                take(Ok(seq));
                if until(seq) {
                    return;
                }
            }
            Ok(Err(error)) => take(Err(error)),
            Err(RecvTimeoutError::Disconnected) => return, // The child ended on its own.
            Err(RecvTimeoutError::Timeout) => panic!("`exops log append` made no progress in {PATIENCE:?}"),
        }
    };
    match kill_at {
        KillAt::Delay(delay) => std::thread::sleep(delay.saturating_sub(started.elapsed())),
        KillAt::Durable(target) => wait_for(&mut |seq| seq >= target, &mut take),
        KillAt::AfterFirstCommit(delay) => {
            wait_for(&mut |_| true, &mut take);
            std::thread::sleep(delay);
        }
    }
    // `Child::kill` sends SIGKILL on Unix. It fails only if the child was already reaped,
    // which it was not; a child that already exited is not an error here.
    let _ = child.0.kill();
    let status = child.0.wait().expect("wait for the killed child");
    drop(release);
    writer.join().expect("the writer thread does not panic");
    // Everything the child printed before it died is still in the pipe.
    for ack in acked.iter() {
        take(ack);
    }
    reader.join().expect("the reader thread does not panic");
    let stderr = stderr_reader.join().expect("the stderr thread does not panic");
    RunOutcome { durable, code: status.code(), stderr }
}

#[derive(Debug, Default)]
struct Tally {
    killed: u64,
    finished: u64,
    acknowledgements: u64,
    events: u64,
    unacknowledged_survivors: u64,
    duplicates_resent: u64,
    torn_tails_cut_after_kill: u64,
    torn_tails_made_and_cut: u64,
}

/// Runs `exops log verify`: it passes, or it reports a torn tail (exit 1, "not whole"),
/// which an `exops log append` with no input then cuts, after which it passes. Returns
/// whether there was a tail to cut.
fn verify_or_repair(data_dir: &Path, context: &str) -> bool {
    let verify = exops(&["log", "verify", "--data-dir", arg(data_dir)]);
    match verify.code() {
        Some(0) => false,
        Some(1) if verify.stdout.starts_with("not whole") => {
            let repair = exops_with_stdin(&["log", "append", "--data-dir", arg(data_dir)], Vec::new());
            repair.expect_code(0);
            assert!(repair.stderr.contains("recovered on open: cut a torn tail"), "{context}: {}", repair.stderr);
            exops(&["log", "verify", "--data-dir", arg(data_dir)]).expect_code(0);
            true
        }
        _ => panic!("{context}: verify failed: {verify:#?}"),
    }
}

/// Appends to the last segment a seeded-random proper prefix of a block of `events`
/// logins by `customer` (ids from `first_id`) at seqs from `first_seq`: frames exactly as
/// the writer makes them, cut short as by a crash during their write.
fn tear(data_dir: &Path, first_seq: u64, customer: u32, first_id: u64, events: u64, rng: &mut Rng) {
    use exops_log::codec::{EVENT_SCHEMA_VERSION, encode_body};
    use exops_log::frame::{FrameKind, write_frame};
    use exops_log::segment::{Seal, block_hash};

    // The chain position of the log's end, read without taking the writer's lock: a lock
    // held in this process would be inherited by any child another test thread forks in
    // that instant, and held by it until its exec, making the next `append` here busy.
    let mut reader = exops_log::LogReader::open(data_dir, 1).expect("read the log");
    let mut position = exops_log::ChainPosition::GENESIS;
    while let Some(block) = reader.next_raw_block() {
        position = block.expect("a sealed block").resume.position;
    }
    assert!(reader.unsealed_tail.is_none(), "nothing to repair here");
    let segment = exops_log::list_segments(data_dir).expect("list the segments").pop().expect("a segment").1;
    assert_eq!(position.next_seq, first_seq);
    let at = exops_core::Timestamp::parse_rfc3339(AT).expect("AT is an instant");
    let mut block = Vec::new();
    for index in 0..events {
        let seq = first_seq + index;
        let envelope = exops_core::Envelope {
            seq,
            at,
            id: first_id + index,
            actor: Actor::Customer(customer),
            event: Event::LoginAttempted,
            note: None,
        };
        let mut body = Vec::new();
        encode_body(&envelope, &mut body).expect("a login encodes");
        write_frame(&mut block, FrameKind::Event, EVENT_SCHEMA_VERSION, seq, at.unix_micros(), &body);
    }
    let last_seq = first_seq + events - 1;
    let seal = Seal {
        block_index: position.next_block,
        first_seq,
        last_seq,
        record_count: events as u32,
        prev_hash: position.prev_hash,
        hash: block_hash(&position.prev_hash, &block),
    };
    write_frame(&mut block, FrameKind::Seal, 0, last_seq, at.unix_micros(), &seal.encode());
    let cut = 1 + rng.below(block.len() as u64 - 1) as usize;
    let mut file = std::fs::OpenOptions::new().append(true).open(&segment).expect("open the last segment");
    file.write_all(&block[..cut]).expect("write a torn block");
}

#[test]
fn appends_killed_at_random_moments_keep_every_acknowledged_event() {
    let iterations = env_u64("EXOPS_CRASH_ITERATIONS", ITERATIONS_DEFAULT);
    let seed = env_u64("EXOPS_CRASH_SEED", SEED_DEFAULT);
    let started = Instant::now();
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "init", "--data-dir", arg(&data)]).expect_code(0);
    let venue = write_log(dir.path(), "venue.jsonl", &[SMALL_VENUE]);
    exops(&["log", "import", arg(&venue), "--data-dir", arg(&data)]).expect_code(0);

    let mut rng = Rng(seed);
    let mut last_seq = 1_u64;
    let mut last_ids: BTreeMap<u32, u64> = BTreeMap::new();
    let mut tally = Tally::default();
    for iteration in 0..iterations {
        let customer = rng.below(CUSTOMERS) as u32 + 1;
        let last_id = last_ids.get(&customer).copied().unwrap_or(0);
        // Now and then the run starts by re-sending ids the log already has, as a producer
        // that lost its acknowledgements would: they are duplicates, skipped.
        let resent = if last_id > 0 && rng.below(4) == 0 { rng.below(last_id.min(5)) + 1 } else { 0 };
        let count = rng.below(LINES_MAX) + 1;
        let new = count.saturating_sub(resent);
        let lines: Vec<String> = (0..count)
            .map(|index| {
                let id = last_id + 1 - resent + index;
                format!(
                    "{{\"at\":\"{AT}\",\"id\":{id},\"actor\":\"customer:{customer}\",\"kind\":\"login_attempted\"}}\n"
                )
            })
            .collect();
        let kill_at = match rng.below(4) {
            0 => KillAt::Delay(Duration::from_micros(rng.below(80_000))),
            1 if new > 0 => KillAt::AfterFirstCommit(Duration::from_micros(rng.below(4_000))),
            _ if new > 0 => KillAt::Durable(last_seq + 1 + rng.below(new)),
            _ => KillAt::Delay(Duration::from_micros(rng.below(80_000))),
        };
        let close_stdin = rng.below(8) == 0;
        let context = format!(
            "seed {seed:#x}, iteration {iteration}: customer {customer} ids {}..={} after seq {last_seq}, \
             kill {kill_at:?}, close stdin {close_stdin}",
            last_id + 1 - resent,
            last_id + count - resent,
        );
        let outcome = run_and_kill(&data, lines, kill_at, close_stdin, rng.next_u64());
        assert!(!outcome.stderr.contains("panicked"), "{context}: the child panicked:\n{}", outcome.stderr);
        match outcome.code {
            None => tally.killed += 1,
            Some(0) => tally.finished += 1,
            Some(code) => panic!("{context}: the child exited with {code}:\n{}", outcome.stderr),
        }

        // Every acknowledgement is in the log: the events after `last_seq` are this run's
        // new ids, in order, and reach at least the last seq acknowledged.
        assert!(outcome.durable.windows(2).all(|pair| pair[0] < pair[1]), "{context}: {:?}", outcome.durable);
        let written: Vec<_> = LogReader::open(&data, last_seq + 1)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|error| panic!("{context}: reading back: {error}"));
        for (index, envelope) in written.iter().enumerate() {
            let index = index as u64;
            assert_eq!(envelope.seq, last_seq + 1 + index, "{context}");
            assert_eq!(envelope.actor, Actor::Customer(customer), "{context}: seq {}", envelope.seq);
            assert_eq!(envelope.id, last_id + 1 + index, "{context}: seq {} (a duplicate written?)", envelope.seq);
            assert!(matches!(envelope.event, Event::LoginAttempted), "{context}");
        }
        let end = last_seq + written.len() as u64;
        if let Some(&acknowledged) = outcome.durable.last() {
            assert!(
                acknowledged <= end,
                "{context}: seq {acknowledged} was reported durable but the log ends at seq {end}:\n{}",
                outcome.stderr
            );
            assert!(acknowledged > last_seq, "{context}: seq {acknowledged} acknowledged again");
        }
        assert!(written.len() as u64 <= new, "{context}: {} events from {new} new lines", written.len());
        if outcome.code == Some(0) && close_stdin {
            assert_eq!(written.len() as u64, new, "{context}: a clean exit writes every line");
        }
        tally.acknowledgements += outcome.durable.len() as u64;
        tally.events += written.len() as u64;
        tally.unacknowledged_survivors += end - outcome.durable.last().copied().unwrap_or(last_seq);
        tally.duplicates_resent += resent.min(count);

        // verify passes, or reports a torn tail that the next open cuts (then it passes).
        if verify_or_repair(&data, &context) {
            tally.torn_tails_cut_after_kill += 1;
        }
        // Now and then, a torn write on top: what a crash in the middle of writing the next
        // block leaves (SIGKILL rarely does; a power cut can). The same must hold.
        if rng.below(8) == 0 {
            let next_id = last_id + written.len() as u64 + 1;
            tear(&data, end + 1, customer, next_id, rng.below(3) + 1, &mut rng);
            assert!(verify_or_repair(&data, &context), "{context}: verify missed a torn tail");
            tally.torn_tails_made_and_cut += 1;
        }
        // What the reader returned stopped before any tail: a cut loses none of it.
        let after: Vec<_> = LogReader::open(&data, last_seq + 1).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(after, written, "{context}: the cut changed sealed events");
        last_seq = end;
        last_ids.insert(customer, last_id + written.len() as u64);
    }

    // The whole log: the venue, then per customer ids 1, 2, 3, … each once, and `export`
    // prints all of it.
    let mut next_ids: BTreeMap<u32, u64> = BTreeMap::new();
    let all: Vec<_> = LogReader::open(&data, 1).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len() as u64, last_seq);
    for envelope in &all[1..] {
        let Actor::Customer(customer) = envelope.actor else { panic!("{envelope:?}") };
        let next = next_ids.entry(customer).or_insert(1);
        assert_eq!(envelope.id, *next, "seq {}", envelope.seq);
        *next += 1;
    }
    let export = exops(&["log", "export", "--data-dir", arg(&data)]);
    export.expect_code(0);
    assert_eq!(export.stdout.lines().count() as u64, last_seq);
    assert!(export.stdout.lines().last().is_some_and(|line| line.starts_with(&format!("{{\"seq\":{last_seq},"))));
    eprintln!(
        "crash test: {iterations} runs (seed {seed:#x}) in {:?}: {tally:?}, log ends at seq {last_seq}",
        started.elapsed()
    );
}
