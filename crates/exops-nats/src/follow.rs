//! `follow`: keeps a local replica of the stream, from its own head on. Each message must
//! be stream message `block + 1`, and must check against the replica's chain (every
//! checksum, the sequence, the hash chain, the exact bytes) before it is appended
//! verbatim. A replica is never cut to match the stream: a stream behind it, or a fork,
//! stops the follower with the block named.

use std::path::Path;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use exops_log::ChainPosition;
use exops_log::replica::{AppendBytesError, CheckedBlock, Replica};

use crate::FollowerReport;
use futures_util::StreamExt;

use crate::connection::{Connection, seal_hash_hex};
use crate::error::NatsError;

/// What a follow did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowReport {
    /// Blocks appended to the replica.
    pub appended: u64,
    /// Blocks in the replica now.
    pub blocks: u64,
    /// Its last sequence number and chain hash (hex), when it holds a block.
    pub last_seq: u64,
    pub head_hash: Option<String>,
}

/// Follows the venue's stream into `data_dir` (created when missing). With `until_head`,
/// returns once the replica holds every block the stream held when it started; otherwise
/// runs until an error. `on_block` is called after each block is durable in the replica;
/// an error it returns stops the follower.
///
/// ```no_run
/// let connection = exops_nats::Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// let report = exops_nats::follow(&connection, std::path::Path::new("./replica"), true, &mut |_| Ok(()))?;
/// println!("{} blocks appended, head hash {:?}", report.appended, report.head_hash);
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
pub fn follow(
    connection: &Connection,
    data_dir: &Path,
    until_head: bool,
    on_block: &mut dyn FnMut(&CheckedBlock) -> Result<(), NatsError>,
) -> Result<FollowReport, NatsError> {
    follow_from(connection, data_dir, until_head, None, on_block)
}

/// [`follow`], reporting where the replica stands to the venue's followers bucket as
/// follower `name` ([`crate::fleet_status`] reads the reports): once at the start, then
/// after every block appended.
///
/// ```no_run
/// let connection = exops_nats::Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// let replica = std::path::Path::new("./replica");
/// exops_nats::follow_reporting(&connection, replica, "tokyo-gw-1", false, &mut |_| Ok(()))?;
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
pub fn follow_reporting(
    connection: &Connection,
    data_dir: &Path,
    name: &str,
    until_head: bool,
    on_block: &mut dyn FnMut(&CheckedBlock) -> Result<(), NatsError>,
) -> Result<FollowReport, NatsError> {
    crate::validate_follower_name(name)?;
    follow_from(connection, data_dir, until_head, Some(name), on_block)
}

/// What a follower reports when its replica ends at `position`.
fn report_at(position: &ChainPosition) -> FollowerReport {
    FollowerReport {
        blocks: position.next_block,
        last_seq: position.next_seq - 1,
        head_hash: (position.next_block > 0).then(|| hex(&position.prev_hash)),
        last_at: position.last_at_micros.map(|micros| exops_core::Timestamp::from_unix_micros(micros).to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// [`follow`], reporting as follower `report_as` when given.
fn follow_from(
    connection: &Connection,
    data_dir: &Path,
    until_head: bool,
    report_as: Option<&str>,
    on_block: &mut dyn FnMut(&CheckedBlock) -> Result<(), NatsError>,
) -> Result<FollowReport, NatsError> {
    let (mut writer, _recovery) = Replica::open(data_dir)?;
    let start = writer.position();
    if let Some(name) = report_as {
        connection.report_follower(name, &report_at(&start))?;
    }
    let head = connection.existing_head()?;
    let local_blocks = start.next_block;
    if head.last_seq < local_blocks {
        return Err(NatsError::StreamBehind {
            stream_blocks: head.last_seq,
            local_blocks,
            first_missing: head.last_seq,
        });
    }
    // The replica's last block must be the stream's: the chain continues only from there.
    if local_blocks > 0 {
        let stored = connection.block_bytes(local_blocks - 1)?;
        let local_hash = hex(&start.prev_hash);
        let stream_hash = seal_hash_hex(&stored);
        if stream_hash != local_hash {
            return Err(NatsError::Fork { block: local_blocks - 1, stream_hash, local_hash });
        }
    }
    let mut report = FollowReport { appended: 0, blocks: local_blocks, last_seq: start.next_seq - 1, head_hash: None };
    let target = head.last_seq;
    if !(until_head && target <= local_blocks) {
        consume(connection, &mut writer, data_dir, until_head.then_some(target), report_as, &mut report, on_block)?;
    }
    let end = writer.position();
    report.blocks = end.next_block;
    report.last_seq = end.next_seq - 1;
    report.head_hash = (end.next_block > 0).then(|| hex(&end.prev_hash));
    Ok(report)
}

/// Reads the stream with an ordered consumer from the replica's next block on (no server
/// state is kept for a follower), appending each message; stops after stream message
/// `until` when given.
fn consume(
    connection: &Connection,
    writer: &mut Replica,
    data_dir: &Path,
    until: Option<u64>,
    report_as: Option<&str>,
    report: &mut FollowReport,
    on_block: &mut dyn FnMut(&CheckedBlock) -> Result<(), NatsError>,
) -> Result<(), NatsError> {
    let name = connection.stream_name();
    let api = |what: &str, error: &dyn std::fmt::Display| NatsError::Api {
        what: what.to_owned(),
        message: error.to_string(),
    };
    connection.block_on(async {
        let stream =
            connection.jetstream().get_stream_no_info(&name).await.map_err(|e| api("reading the stream", &e))?;
        let start_sequence = writer.position().next_block + 1;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence { start_sequence },
                ..Default::default()
            })
            .await
            .map_err(|e| api("creating an ordered consumer", &e))?;
        let mut messages = consumer.messages().await.map_err(|e| api("reading the stream", &e))?;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| api("reading the stream", &e))?;
            let stream_seq = message.info().map_err(|e| api("reading a message's metadata", &*e))?.stream_sequence;
            let position = writer.position();
            let block = position.next_block;
            if stream_seq != block + 1 {
                return Err(NatsError::Sequence { stream_seq, expected: block + 1, block });
            }
            let block = writer.append(&message.payload).map_err(|error| match error {
                AppendBytesError::Block(source) => NatsError::BadBlock { stream_seq, source },
                store @ AppendBytesError::Store(_) => {
                    NatsError::Append { data_dir: data_dir.to_owned(), source: store }
                }
            })?;
            report.appended += 1;
            on_block(&block)?;
            if let Some(name) = report_as {
                connection.report_follower_async(name, &report_at(&writer.position())).await?;
            }
            if until.is_some_and(|until| stream_seq >= until) {
                break;
            }
        }
        Ok(())
    })
}
