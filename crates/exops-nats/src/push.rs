//! `push`: publishes the local log's blocks that the stream lacks (seeding a stream,
//! repairing one), after checking, block by block, that those it has are the same.

use std::path::Path;

use exops_log::LogReader;

use crate::connection::{Connection, seal_hash_hex};
use crate::error::NatsError;

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushReport {
    /// Blocks in the local log.
    pub local_blocks: u64,
    /// Blocks the stream already had, each checked equal to the local one.
    pub already_there: u64,
    /// Blocks published now.
    pub published: u64,
    /// The subject they were published on (the current writer session's).
    pub subject: String,
    /// Whether the push created the stream (with a writer session of its own).
    pub created: bool,
}

/// Publishes every block of `data_dir` that the venue's stream lacks, creating the stream
/// (`replicas` copies, a new writer session) when there is none. A block the stream has
/// must equal the local one byte for byte, or the push stops at it as a fork. Idempotent:
/// a second push publishes nothing.
///
/// ```no_run
/// let connection = exops_nats::Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// let report = exops_nats::push(&connection, std::path::Path::new("./bitpoint"), 3, &exops_nats::new_session())?;
/// println!("{} published, {} already there", report.published, report.already_there);
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
pub fn push(connection: &Connection, data_dir: &Path, replicas: usize, session: &str) -> Result<PushReport, NatsError> {
    let mut created = false;
    let head = match connection.head()? {
        Some(head) => head,
        None => {
            connection.claim(session, replicas)?;
            created = true;
            connection.existing_head()?
        }
    };
    let subject = match head.subjects.as_slice() {
        [only] => only.clone(),
        _ => {
            return Err(NatsError::Api {
                what: format!("the stream {}", connection.stream_name()),
                message: format!("has subjects {:?}; an exops stream has exactly one", head.subjects),
            });
        }
    };
    let mut report = PushReport { local_blocks: 0, already_there: 0, published: 0, subject: subject.clone(), created };
    let mut reader = LogReader::open(data_dir, 1)?;
    while let Some(block) = reader.next_raw_block() {
        let block = block?;
        let index = block.block_index();
        let bytes = block.segment_bytes()?;
        report.local_blocks += 1;
        if index < head.last_seq {
            let stored = connection.block_bytes(index)?;
            if stored != bytes {
                return Err(NatsError::Fork {
                    block: index,
                    stream_hash: seal_hash_hex(&stored),
                    local_hash: seal_hash_hex(&bytes),
                });
            }
            report.already_there += 1;
            continue;
        }
        connection.publish_block(&subject, index, &block.seal.1, &bytes)?;
        report.published += 1;
    }
    Ok(report)
}
