//! Many producers, one log: 8 threads × 100,000 events each through one writer. Every
//! event is written exactly once, sequence numbers are contiguous, each producer's events
//! keep its order, and a re-submitted (actor, id) is a duplicate that is not written.

use std::collections::VecDeque;
use std::sync::{Arc, Barrier};

use exops_core::{Actor, Event};
use exops_log::inspect::walk;
use exops_log::{AppendError, Appended, Log, LogOptions, LogReader, Submission};

use crate::support::{at, login, read_all, venue_submission};

const PRODUCERS: u32 = 8;
const EVENTS_PER_PRODUCER: u64 = 100_000;
/// Tickets a producer keeps unanswered before it waits for the oldest: enough for group
/// commit to fill large blocks (one fsync each), few enough to stay in the writer's queue.
const IN_FLIGHT: usize = 1024;
/// Every this many ids, a producer waits for its event and submits it again.
const RESUBMIT_EVERY: u64 = 20_000;

/// Every event happens at the same instant, so that none is refused for going backwards.
fn event(producer: u32, id: u64) -> Submission {
    Submission { at: at(60), id, actor: Actor::Customer(producer), event: Event::LoginAttempted, note: None }
}

fn durable_seq(appended: Appended, what: &str) -> u64 {
    match appended {
        Appended::Durable { seq, outcome } => {
            assert!(!matches!(outcome, exops_core::Outcome::Rejected(_)), "{what}: rejected: {outcome:?}");
            seq
        }
        other => panic!("{what}: not durable: {other:?}"),
    }
}

/// One producer: submits its ids in order, keeping `IN_FLIGHT` tickets open; returns the
/// sequence number each id got (index `id - 1`).
fn produce(log_appender: exops_log::Appender, producer: u32, start: Arc<Barrier>) -> Vec<u64> {
    let mut seqs = Vec::with_capacity(EVENTS_PER_PRODUCER as usize);
    let mut in_flight = VecDeque::with_capacity(IN_FLIGHT);
    start.wait();
    for id in 1..=EVENTS_PER_PRODUCER {
        in_flight.push_back((id, log_appender.submit(event(producer, id)).unwrap()));
        if in_flight.len() >= IN_FLIGHT || id % RESUBMIT_EVERY == 0 {
            // At each re-submission point, drain everything so that `id` is durable.
            let drain_all = id % RESUBMIT_EVERY == 0;
            while let Some((waited_id, ticket)) = in_flight.pop_front() {
                let seq = durable_seq(ticket.wait().unwrap(), &format!("producer {producer} id {waited_id}"));
                assert_eq!(waited_id as usize, seqs.len() + 1);
                seqs.push(seq);
                if !drain_all && in_flight.len() < IN_FLIGHT / 2 {
                    break;
                }
            }
        }
        if id % RESUBMIT_EVERY == 0 {
            // Again, while the other producers keep writing: a duplicate, not written.
            let again = log_appender.append(event(producer, id)).unwrap();
            assert!(
                matches!(again, Appended::Duplicate { last_id } if last_id == id),
                "producer {producer} id {id} again: {again:?}"
            );
            // An older id too.
            let older = log_appender.append(event(producer, id / 2)).unwrap();
            assert!(
                matches!(older, Appended::Duplicate { last_id } if last_id == id),
                "producer {producer} id {} again: {older:?}",
                id / 2
            );
        }
    }
    for (waited_id, ticket) in in_flight {
        let seq = durable_seq(ticket.wait().unwrap(), &format!("producer {producer} id {waited_id}"));
        assert_eq!(waited_id as usize, seqs.len() + 1);
        seqs.push(seq);
    }
    seqs
}

#[test]
fn eight_producers_of_100_000_events_each_through_one_log() {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let (commits, committed) = crossbeam_channel::unbounded();
    let opened = Log::open(dir.path(), LogOptions::default(), Some(commits)).unwrap();
    assert_eq!(opened.last_seq, 0);
    let venue = opened.log.appender().append(venue_submission()).unwrap();
    assert_eq!(durable_seq(venue, "the venue"), 1);

    let barrier = Arc::new(Barrier::new(PRODUCERS as usize));
    let producers: Vec<_> = (1..=PRODUCERS)
        .map(|producer| {
            let appender = opened.log.appender();
            let barrier = Arc::clone(&barrier);
            std::thread::Builder::new()
                .name(format!("producer-{producer}"))
                .spawn(move || produce(appender, producer, barrier))
                .unwrap()
        })
        .collect();
    let seqs: Vec<Vec<u64>> = producers.into_iter().map(|thread| thread.join().unwrap()).collect();
    let total = u64::from(PRODUCERS) * EVENTS_PER_PRODUCER + 1;

    // What the producers were told: each one's seqs increase with its ids, and together
    // with the venue they are exactly 1..=total.
    let mut owner = vec![0_u32; total as usize + 1];
    owner[1] = u32::MAX;
    for (index, producer_seqs) in seqs.iter().enumerate() {
        assert_eq!(producer_seqs.len() as u64, EVENTS_PER_PRODUCER);
        assert!(producer_seqs.windows(2).all(|pair| pair[0] < pair[1]), "producer {} out of order", index + 1);
        for &seq in producer_seqs {
            assert!((2..=total).contains(&seq), "seq {seq} out of range");
            assert_eq!(owner[seq as usize], 0, "seq {seq} given twice");
            owner[seq as usize] = index as u32 + 1;
        }
    }

    // Once everything is written, re-submitting is a duplicate too.
    let appender = opened.log.appender();
    for producer in 1..=PRODUCERS {
        for id in [1, 2, EVENTS_PER_PRODUCER / 3, EVENTS_PER_PRODUCER] {
            let again = appender.append(event(producer, id)).unwrap();
            assert_eq!(again, Appended::Duplicate { last_id: EVENTS_PER_PRODUCER }, "producer {producer} id {id}");
        }
    }
    drop(appender);
    let state = opened.log.close().expect("the writer closes cleanly");
    assert_eq!(state.seq(), total);
    let commits: Vec<u64> = committed.try_iter().collect();
    assert!(commits.windows(2).all(|pair| pair[0] < pair[1]), "group commits report increasing seqs");
    assert_eq!(commits.last(), Some(&total), "the last group commit is reported");
    let blocks_written = commits.len();
    let written_in = started.elapsed();

    // What the log holds: the venue, then every (producer, id) exactly once, at the seq
    // its producer was told, in each producer's id order; nothing else (no duplicates).
    let summary = walk(dir.path(), false).unwrap();
    assert_eq!((summary.events, summary.last_seq, summary.unsealed_tail), (total, Some(total), None));
    let mut next_id = vec![1_u64; PRODUCERS as usize + 1];
    let mut expected_seq = 1;
    for envelope in LogReader::open(dir.path(), 1).unwrap() {
        let envelope = envelope.unwrap();
        assert_eq!(envelope.seq, expected_seq);
        expected_seq += 1;
        if envelope.seq == 1 {
            assert!(matches!(envelope.event, Event::VenueDeclared(_)));
            continue;
        }
        let Actor::Customer(producer) = envelope.actor else { panic!("seq {}: {:?}", envelope.seq, envelope.actor) };
        let producer = producer as usize;
        assert!((1..=PRODUCERS as usize).contains(&producer), "seq {}: customer {producer}", envelope.seq);
        assert_eq!(envelope.id, next_id[producer], "seq {}: producer {producer} out of order", envelope.seq);
        assert_eq!(owner[envelope.seq as usize] as usize, producer, "seq {}", envelope.seq);
        assert_eq!(seqs[producer - 1][envelope.id as usize - 1], envelope.seq, "seq {}", envelope.seq);
        next_id[producer] += 1;
    }
    assert_eq!(expected_seq, total + 1, "the log ends at seq {total}");
    assert!(next_id[1..].iter().all(|next| *next == EVENTS_PER_PRODUCER + 1), "{next_id:?}");

    // Reopened, the restored state still knows every producer's last id.
    let reopened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    assert_eq!(reopened.last_seq, total);
    for producer in 1..=PRODUCERS {
        let again = reopened.log.appender().append(event(producer, EVENTS_PER_PRODUCER)).unwrap();
        assert_eq!(again, Appended::Duplicate { last_id: EVENTS_PER_PRODUCER }, "producer {producer} after reopening");
    }
    reopened.log.close().expect("the writer closes cleanly");
    assert_eq!(walk(dir.path(), false).unwrap().last_seq, Some(total));
    eprintln!(
        "concurrency: {total} events written in {written_in:?} in {blocks_written} group commits, \
         checked in {:?} total",
        started.elapsed()
    );
}

/// A batch longer than a block is split over several blocks yet answered once, in
/// submission order: durable events with consecutive seqs, and the duplicates and the
/// refusal inside it answered as such and not written. Single submissions sent beside it
/// keep their own answers.
#[test]
fn a_batch_spanning_blocks_is_answered_in_order_with_its_duplicates_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let (commits, committed) = crossbeam_channel::unbounded();
    let options = LogOptions { batch_max: 7, ..LogOptions::default() };
    let opened = Log::open(dir.path(), options, Some(commits)).unwrap();
    let appender = opened.log.appender();
    let mut batch = vec![venue_submission()];
    for id in 1..=20 {
        batch.push(login(1, id, id as i64));
    }
    batch.push(login(1, 5, 30)); // a duplicate of id 5
    batch.push(login(2, 1, 3)); // earlier than the log's clock: refused
    batch.push(login(2, 2, 40));
    let ticket = appender.submit_batch(batch).unwrap();
    let single = appender.submit(login(3, 1, 50)).unwrap();
    let answers: Vec<Appended> = ticket.wait().into_iter().map(|answer| answer.unwrap()).collect();
    assert_eq!(answers.len(), 24);
    for (index, answer) in answers[..21].iter().enumerate() {
        assert!(
            matches!(answer, Appended::Durable { seq, .. } if *seq == index as u64 + 1),
            "answer {index}: {answer:?}"
        );
    }
    assert_eq!(answers[21], Appended::Duplicate { last_id: 20 });
    assert!(matches!(&answers[22], Appended::Refused { reason } if reason.contains("earlier")), "{:?}", answers[22]);
    assert!(matches!(answers[23], Appended::Durable { seq: 22, .. }), "{:?}", answers[23]);
    assert!(matches!(single.wait().unwrap(), Appended::Durable { seq: 23, .. }));
    drop(appender);
    assert_eq!(opened.log.close().unwrap().seq(), 23);
    let commits: Vec<u64> = committed.try_iter().collect();
    assert!(commits.len() >= 4, "22 events at 7 a block take at least 4 blocks: {commits:?}");
    assert_eq!(read_all(dir.path()).len(), 23);
}

/// An event that cannot be stored (a staff name that does not survive its text form) is
/// answered with the encoding error, in its place in the batch and as a single
/// submission alike, and takes no sequence number.
#[test]
fn an_event_that_cannot_be_encoded_is_answered_so_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
    let appender = opened.log.appender();
    let unstorable = Submission { actor: Actor::Staff("two words".into()), ..login(9, 1, 2) };
    let batch = vec![venue_submission(), login(1, 1, 1), unstorable.clone(), login(1, 2, 3)];
    let answers = appender.submit_batch(batch).unwrap().wait();
    assert!(matches!(answers[1], Ok(Appended::Durable { seq: 2, .. })), "{:?}", answers[1]);
    let Err(AppendError::Encoding(message)) = &answers[2] else { panic!("{:?}", answers[2]) };
    assert!(message.contains("cannot encode the login_attempted event"), "{message}");
    assert!(matches!(answers[3], Ok(Appended::Durable { seq: 3, .. })), "{:?}", answers[3]);
    let single = appender.append(Submission { at: at(4), ..unstorable });
    assert!(matches!(single, Err(AppendError::Encoding(_))), "{single:?}");
    drop(appender);
    assert_eq!(opened.log.close().unwrap().seq(), 3);
    assert_eq!(read_all(dir.path()).len(), 3);
}
