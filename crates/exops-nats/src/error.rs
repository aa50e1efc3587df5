//! Every way replication can fail, each saying what to do about it.

use std::path::PathBuf;

/// Why a push, a follow or a writer stopped.
#[derive(Debug, thiserror::Error)]
///
/// Each says what to do next:
///
/// ```
/// let error = exops_nats::NatsError::NoStream { stream: "EXOPS_bitpoint".into() };
/// assert!(error.to_string().contains("push a log first (`exops log push`)"));
/// ```
pub enum NatsError {
    /// A venue name that cannot be part of a stream name and a subject.
    #[error("venue `{venue}`: {reason}; a venue is 1 to 64 ASCII letters, digits, `-` or `_`")]
    BadVenue { venue: String, reason: &'static str },
    /// A follower name that cannot be a key of the followers bucket.
    #[error("follower name `{name}`: a follower is named by 1 to 64 ASCII letters, digits, `-` or `_`")]
    BadFollowerName { name: String },
    /// A follower's report in the bucket is not one (written by something else).
    #[error("{bucket}: the report of follower `{follower}` is not a follower report: {message}")]
    BadReport { bucket: String, follower: String, message: String },
    /// The server cannot be reached or refused the connection.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect { url: String, message: String },
    /// A JetStream request failed (the server's answer is in `message`).
    #[error("NATS JetStream: {what}: {message}")]
    Api { what: String, message: String },
    /// The venue has no stream yet (nothing was pushed or served).
    #[error("the stream {stream} does not exist: push a log first (`exops log push`) or start `exops serve`")]
    NoStream { stream: String },
    /// Another writer took the stream: this session's publishes are refused.
    #[error(
        "fenced: the stream {stream} now takes blocks only on {now}, not on this writer's {ours}; \
         another writer claimed it, and nothing more from this one is accepted"
    )]
    Fenced { stream: String, ours: String, now: String },
    /// The stream's block and the local one at the same index differ: the logs forked.
    #[error(
        "fork at block {block}: the stream's block hash is {stream_hash}, the local log's is {local_hash}; \
         nothing was written, the local log and the stream hold different histories"
    )]
    Fork { block: u64, stream_hash: String, local_hash: String },
    /// The stream holds fewer blocks than the local log: it lost or never had blocks.
    #[error(
        "the stream is behind the local log: it holds {stream_blocks} blocks, the local log {local_blocks}; \
         block {first_missing} onwards is only here (run `exops log push` to publish them, if this log is \
         the writer's)"
    )]
    StreamBehind { stream_blocks: u64, local_blocks: u64, first_missing: u64 },
    /// A stream message is not the block that continues the local log (tampered, out of
    /// order, or a fork): refused, nothing written.
    #[error("stream message {stream_seq} refused: {source}")]
    BadBlock {
        stream_seq: u64,
        #[source]
        source: exops_log::replica::BlockError,
    },
    /// The stream's sequence and the block index do not agree (a message was added to the
    /// stream by something other than an exops writer, or one is missing).
    #[error("stream message {stream_seq} arrived where message {expected} (block {block}) was expected")]
    Sequence { stream_seq: u64, expected: u64, block: u64 },
    /// A block too large for one NATS message.
    #[error(
        "block {block} is {bytes} bytes, over the server's max_payload of {max_payload} bytes less headers; \
         write smaller blocks (fewer events per group commit) or raise max_payload"
    )]
    TooLarge { block: u64, bytes: usize, max_payload: usize },
    /// A publish whose outcome is unknown after every retry.
    #[error(
        "block {block}: no acknowledgement from the stream after {attempts} attempts ({message}); \
         its outcome is unknown until the stream's head is read again"
    )]
    Unacknowledged { block: u64, attempts: u32, message: String },
    /// A block that checked (checksums, chain) holds an event that does not decode: the
    /// writer that made it is broken. The replica keeps it, as the stream does.
    #[error("block {block}: {source}")]
    Decode {
        block: u64,
        #[source]
        source: exops_log::codec::CodecError,
    },
    /// The local log could not be read or written.
    #[error(transparent)]
    Store(#[from] exops_log::StoreError),
    /// The local log refused to append a block (its own check).
    #[error("{data_dir}: {source}")]
    Append {
        data_dir: PathBuf,
        #[source]
        source: exops_log::replica::AppendBytesError,
    },
}
