//! `publish_after`: the writer's side of replication. After a group commit, the blocks the
//! local log made durable since the last call are read back from the data directory and
//! published, each stored by the stream's quorum before the call returns: what
//! `exops serve` does before it acknowledges anything.

use std::ops::Range;
use std::path::Path;

use exops_log::{LogReader, ResumePoint};

use crate::connection::{Connection, PIPELINE_MAX};
use crate::error::NatsError;

/// What one [`publish_after`] published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The indices of the blocks published by this call (empty when none was due).
    pub blocks: Range<u64>,
    /// The last sequence number of the log now stored by the stream (0 for none): every
    /// event up to it is durable locally and in the stream, and may be acknowledged.
    pub through_seq: u64,
}

/// Publishes, in order, every sealed block of `data_dir` after `resume` (the whole log
/// when `None`) whose events are all at or below `durable_through` (the sequence number
/// a group commit reported durable: [`exops_log::Log::open`]'s `commits`), and moves
/// `resume` past the last one published. A block written but not yet fsynced is left for
/// a later call, so that nothing is in the stream, or acknowledged, before it is durable
/// in the writer's data directory. The blocks go out [`PIPELINE_MAX`] at a time, their
/// acknowledgements awaited together ([`Connection::publish_blocks`]). Returns once the
/// stream's quorum stored every block published; on an error, `resume` stays after the
/// last chunk known stored.
///
/// ```no_run
/// # let (data_dir, subject) = (std::path::Path::new("./writer"), "exops.bitpoint.log.s1");
/// let connection = exops_nats::Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// let (commits, durable) = crossbeam_channel::unbounded();
/// let opened = exops_log::Log::open(data_dir, Default::default(), Some(commits))?;
/// // ... appends through opened.log.appender() ...
/// let mut resume = None;
/// for durable_through in durable {
///     let published = exops_nats::publish_after(&connection, data_dir, subject, &mut resume, durable_through)?;
///     println!("acknowledged through seq {}", published.through_seq);
/// }
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
pub fn publish_after(
    connection: &Connection,
    data_dir: &Path,
    subject: &str,
    resume: &mut Option<ResumePoint>,
    durable_through: u64,
) -> Result<Published, NatsError> {
    let through_seq = resume.map_or(0, |point| point.position.next_seq - 1);
    let first = resume.map_or(0, |point| point.position.next_block);
    let mut published = Published { blocks: first..first, through_seq };
    if through_seq >= durable_through {
        return Ok(published);
    }
    let mut reader = match resume {
        Some(point) => LogReader::open_at(data_dir, point)?,
        None => LogReader::open(data_dir, 1)?,
    };
    // Read and published a chunk at a time: a backlog (after a leader election, say) is
    // never held in memory whole.
    let mut chunk = Vec::with_capacity(PIPELINE_MAX);
    let mut chunk_end = None;
    let mut done = false;
    while !done {
        while chunk.len() < PIPELINE_MAX {
            let Some(block) = reader.next_raw_block() else {
                done = true;
                break;
            };
            let block = block?;
            if block.seal.0 > durable_through {
                done = true;
                break;
            }
            chunk.push((block.block_index(), block.seal.1, block.segment_bytes()?));
            chunk_end = Some((block.resume, block.seal.0));
            if block.seal.0 >= durable_through {
                done = true;
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        connection.publish_blocks(subject, &chunk)?;
        chunk.clear();
        if let Some((end, through_seq)) = chunk_end.take() {
            *resume = Some(end);
            published.blocks.end = end.position.next_block;
            published.through_seq = through_seq;
        }
    }
    Ok(published)
}
