//! Push a log's blocks into a stream, follow it into replicas: byte-identical segments.
//! Tampered, out-of-order and forked messages are refused naming the block.

use std::fs;
use std::path::Path;

use exops_log::restore::{Target, restore};
use exops_log::{Log, LogOptions, LogReader, Submission};
use exops_nats::{Connection, Follower, NatsError, cluster};

/// Writes the BITPoint fixture into `data_dir` in blocks of at most `batch_max` events.
pub(crate) fn bitpoint_log(data_dir: &Path, batch_max: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bitpoint-2019/events.jsonl");
    let text = fs::read_to_string(root).unwrap();
    let lines = exops_jsonl::parse_str("events.jsonl", &text).unwrap();
    exops_log::init(data_dir).unwrap();
    let opened = Log::open(data_dir, LogOptions { batch_max, ..LogOptions::default() }, None).unwrap();
    let appender = opened.log.appender();
    for chunk in lines.chunks(batch_max) {
        let submissions = chunk
            .iter()
            .map(|line| {
                let envelope = line.envelope.clone();
                Submission {
                    at: envelope.at,
                    id: envelope.id,
                    actor: envelope.actor,
                    event: envelope.event,
                    note: envelope.note,
                }
            })
            .collect();
        for answer in appender.submit_batch(submissions).unwrap().wait() {
            answer.unwrap();
        }
    }
    drop(appender);
    opened.log.close().unwrap();
}

fn segments(data_dir: &Path) -> Vec<(String, Vec<u8>)> {
    exops_log::list_segments(data_dir)
        .unwrap()
        .into_iter()
        .map(|(_, path)| (path.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&path).unwrap()))
        .collect()
}

fn blocks(data_dir: &Path) -> u64 {
    let mut reader = LogReader::open(data_dir, 1).unwrap();
    std::iter::from_fn(|| reader.next_raw_block()).inspect(|block| assert!(block.is_ok(), "{block:?}")).count() as u64
}

#[test]
fn a_pushed_log_followed_into_two_replicas_is_byte_identical_and_a_tampered_message_is_refused() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let dir = tempfile::tempdir().unwrap();
    let writer = dir.path().join("writer");
    bitpoint_log(&writer, 64);
    let block_count = blocks(&writer);
    assert!(block_count > 5, "the test needs several blocks, has {block_count}");
    let connection = Connection::connect(&cluster.url(), "bitpoint").unwrap();
    let pushed = exops_nats::push(&connection, &writer, 3, "s1").unwrap();
    assert_eq!((pushed.published, pushed.already_there, pushed.created), (block_count, 0, true));
    // Idempotent: the second push checks every block and publishes none.
    let again = exops_nats::push(&connection, &writer, 3, "s1").unwrap();
    assert_eq!((again.published, again.already_there), (0, block_count));
    let head = connection.existing_head().unwrap();
    assert_eq!(head.last_seq, block_count, "one message per block");

    for name in ["replica-a", "replica-b"] {
        let replica = dir.path().join(name);
        let mut seen = Vec::new();
        let report = exops_nats::follow(&connection, &replica, true, &mut |block| {
            seen.push(block.seal.block_index);
            Ok(())
        })
        .unwrap();
        assert_eq!(report.appended, block_count);
        assert_eq!(seen, (0..block_count).collect::<Vec<_>>());
        assert_eq!(segments(&replica), segments(&writer), "{name} differs from the writer");
        // Following again from its own head appends nothing.
        let report = exops_nats::follow(&connection, &replica, true, &mut |_| Ok(())).unwrap();
        assert_eq!(report.appended, 0);
    }

    // A gateway's in-process follower: the live state after every block, equal to the
    // writer's at the end, and again when the replica is reopened.
    let gateway = dir.path().join("gateway");
    let mut follower = Follower::open(&gateway).unwrap();
    assert_eq!(follower.last_seq(), 0);
    let mut seqs = Vec::new();
    follower.follow(&connection, true, &mut |state, block| seqs.push((state.view().seq, block.seal.last_seq))).unwrap();
    assert_eq!(seqs.len() as u64, block_count);
    assert!(seqs.iter().all(|(state_seq, block_seq)| state_seq == block_seq), "{seqs:?}");
    let expected = restore(&writer, None, Target::End).unwrap().state.view();
    assert_eq!(follower.state().view(), expected);
    assert_eq!(follower.last_seq(), expected.seq);
    assert_eq!(Follower::open(&gateway).unwrap().state().view(), expected);

    // A foreign client publishes a tampered copy of the last block as the next message
    // (on the writer's subject, with the right expected sequence): every follower refuses
    // it, naming the block, and writes nothing.
    let last = connection.block_bytes(block_count - 1).unwrap();
    let mut tampered = last.clone();
    tampered[100] ^= 1;
    connection.publish_block(&pushed.subject, block_count, &[7; 32], &tampered).unwrap();
    let replica = dir.path().join("replica-a");
    let before = segments(&replica);
    let error = exops_nats::follow(&connection, &replica, true, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(&error, NatsError::BadBlock { stream_seq, .. } if *stream_seq == block_count + 1), "{error}");
    assert!(error.to_string().contains(&format!("block {block_count}")), "{error}");
    assert_eq!(segments(&replica), before, "a refused block leaves the replica as it was");

    // Replicas never cut to match: one holding the same events in more, smaller blocks
    // than the stream has is a stream behind it; one with fewer, larger blocks forks at
    // its last block. Both are refused with the block named, and left as they were.
    let stream_blocks = block_count + 1;
    let behind = dir.path().join("more-blocks");
    bitpoint_log(&behind, 16);
    let before = segments(&behind);
    let error = exops_nats::follow(&connection, &behind, true, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(error, NatsError::StreamBehind { stream_blocks: s, .. } if s == stream_blocks), "{error}");
    assert_eq!(segments(&behind), before);
    let forked = dir.path().join("fewer-blocks");
    bitpoint_log(&forked, 128);
    let forked_blocks = blocks(&forked);
    assert!(forked_blocks < stream_blocks);
    let error = exops_nats::follow(&connection, &forked, true, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(error, NatsError::Fork { block, .. } if block == forked_blocks - 1), "{error}");
    // And a push of that log stops at its first block, which differs from the stream's.
    let error = exops_nats::push(&connection, &forked, 3, "s1").unwrap_err();
    assert!(matches!(error, NatsError::Fork { block: 0, .. }), "{error}");
}

/// The last sequence number of each block of `data_dir`.
fn block_ends(data_dir: &Path) -> Vec<u64> {
    let mut reader = LogReader::open(data_dir, 1).unwrap();
    std::iter::from_fn(|| reader.next_raw_block()).map(|block| block.unwrap().seal.0).collect()
}

#[test]
fn publish_after_publishes_only_blocks_reported_durable_and_each_once() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let dir = tempfile::tempdir().unwrap();
    let writer = dir.path().join("writer");
    bitpoint_log(&writer, 64);
    let ends = block_ends(&writer);
    assert!(ends.len() > 4, "the test needs several blocks, has {}", ends.len());
    let connection = Connection::connect(&cluster.url(), "published").unwrap();
    connection.claim("s1", 3).unwrap();
    let subject = exops_nats::writer_subject("published", "s1");
    let mut resume = None;

    // Durable through the end of block 1: blocks 0 and 1, not the ones written after.
    let published = exops_nats::publish_after(&connection, &writer, &subject, &mut resume, ends[1]).unwrap();
    assert_eq!(published, exops_nats::Published { blocks: 0..2, through_seq: ends[1] });
    assert_eq!(connection.existing_head().unwrap().last_seq, 2);
    // The same commit reported again publishes nothing.
    let again = exops_nats::publish_after(&connection, &writer, &subject, &mut resume, ends[1]).unwrap();
    assert_eq!(again, exops_nats::Published { blocks: 2..2, through_seq: ends[1] });
    // A durable seq inside block 3 (as a commit report never is, but a bound is a bound):
    // block 2 only, since block 3 is not wholly durable.
    let partial = exops_nats::publish_after(&connection, &writer, &subject, &mut resume, ends[3] - 1).unwrap();
    assert_eq!(partial, exops_nats::Published { blocks: 2..3, through_seq: ends[2] });
    assert_eq!(connection.existing_head().unwrap().last_seq, 3);
    // Everything: the stream holds the log, block for block, and a replica is identical.
    let last = *ends.last().unwrap();
    let rest = exops_nats::publish_after(&connection, &writer, &subject, &mut resume, last).unwrap();
    let count = ends.len() as u64;
    assert_eq!(rest, exops_nats::Published { blocks: 3..count, through_seq: last });
    assert_eq!(connection.existing_head().unwrap().last_seq, count);
    let replica = dir.path().join("replica");
    exops_nats::follow(&connection, &replica, true, &mut |_| Ok(())).unwrap();
    assert_eq!(segments(&replica), segments(&writer));
}
