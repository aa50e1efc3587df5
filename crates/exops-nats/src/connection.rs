//! One connection to a NATS server and the venue's stream: a tokio runtime on a thread of
//! its own, driven through blocking calls, so no caller needs to be async.

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage, stream};
use bytes::Bytes;

use crate::error::NatsError;

/// How long one JetStream request or publish acknowledgement is waited for. Short: a
/// request lost with a killed leader is retried (safely: the message id makes a retry a
/// duplicate) rather than waited for, and a new leader is elected in a second or two.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts at publishing one block before its outcome is declared unknown. A leader
/// election takes a few seconds; 60 attempts span well over a minute.
const PUBLISH_ATTEMPTS: u32 = 60;
/// Pause between two attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Room left in a message for its headers (the id and the expected sequence).
const HEADER_ROOM_BYTES: usize = 512;
/// The duplicate window: a retry within it is recognised by its message id.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Most blocks [`Connection::publish_blocks`] has in flight at once: far below the
/// context's limit of acknowledgements in flight (5,000), so that holding their futures
/// while sending the next ones cannot wait on the limit.
pub const PIPELINE_MAX: usize = 32;

/// Checks that `venue` can name a stream and a subject token.
///
/// ```
/// assert!(exops_nats::validate_venue("bitpoint-2019").is_ok());
/// assert!(exops_nats::validate_venue("bit.point").is_err());
/// ```
pub fn validate_venue(venue: &str) -> Result<(), NatsError> {
    let bad = |reason| Err(NatsError::BadVenue { venue: venue.to_owned(), reason });
    if venue.is_empty() || venue.len() > 64 {
        return bad("its length is not 1 to 64");
    }
    if !venue.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') {
        return bad("it holds a character other than a letter, a digit, `-` or `_`");
    }
    Ok(())
}

/// The stream that holds venue `venue`'s log.
///
/// ```
/// assert_eq!(exops_nats::stream_name("bitpoint"), "EXOPS_bitpoint");
/// ```
pub fn stream_name(venue: &str) -> String {
    format!("EXOPS_{venue}")
}

/// The subject a writer session publishes blocks on: the stream's only subject while that
/// session is the writer.
///
/// ```
/// assert_eq!(exops_nats::writer_subject("bitpoint", "s1"), "exops.bitpoint.log.s1");
/// ```
pub fn writer_subject(venue: &str, session: &str) -> String {
    format!("exops.{venue}.log.{session}")
}

/// The message id of a block, derived from its content: a retry of the same block is a
/// duplicate the stream drops, a different block at the same index is not.
///
/// ```
/// let hash = [0xab; 32];
/// assert_eq!(exops_nats::message_id("bitpoint", 7, &hash), "bitpoint.b7.abababababababab");
/// ```
pub fn message_id(venue: &str, block: u64, hash: &[u8; 32]) -> String {
    let prefix: String = hash[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{venue}.b{block}.{prefix}")
}

/// `url` with the password of each `user:password@` replaced by `***`, for messages.
///
/// ```
/// let shown = exops_nats::redact_password("nats://gw:s3cret@10.0.0.1:4222,nats://10.0.0.2:4222");
/// assert_eq!(shown, "nats://gw:***@10.0.0.1:4222,nats://10.0.0.2:4222");
/// ```
pub fn redact_password(url: &str) -> String {
    url.split(',')
        .map(|part| match (part.find("://"), part.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => match part[scheme + 3..at].split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &part[..scheme + 3], &part[at..]),
                None => part.to_owned(),
            },
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// What the stream holds: its last message (block `last_seq - 1`) and who may write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHead {
    pub last_seq: u64,
    pub messages: u64,
    /// The subjects it takes messages on: the current writer session's.
    pub subjects: Vec<String>,
}

/// A connection to the cluster and the venue's stream.
#[derive(Debug)]
///
/// ```no_run
/// let connection = exops_nats::Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// match connection.head()? {
///     Some(head) => println!("the stream holds {} blocks", head.last_seq),
///     None => println!("no stream yet: `exops log push` one"),
/// }
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
pub struct Connection {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    venue: String,
    url: String,
}

pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(&dyn std::fmt::Display) -> NatsError {
    let what = what.into();
    move |error| NatsError::Api { what, message: error.to_string() }
}

impl Connection {
    /// Connects to `url` (`nats://host:port`, or several comma-separated; with
    /// `user:password@` before the host when the server requires credentials) for `venue`.
    ///
    /// A venue that cannot name a stream is refused before anything is dialled:
    ///
    /// ```
    /// let refused = exops_nats::Connection::connect("nats://127.0.0.1:1", "bit point").unwrap_err();
    /// assert!(matches!(refused, exops_nats::NatsError::BadVenue { .. }), "{refused}");
    /// ```
    pub fn connect(url: &str, venue: &str) -> Result<Connection, NatsError> {
        validate_venue(venue)?;
        let shown = redact_password(url);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("exops-nats")
            .enable_all()
            .build()
            .map_err(|error| NatsError::Connect { url: shown.clone(), message: error.to_string() })?;
        let addresses: Vec<String> = url.split(',').map(|part| part.trim().to_owned()).collect();
        let client = runtime
            .block_on(async {
                let addresses: Vec<async_nats::ServerAddr> =
                    addresses.iter().map(|address| address.parse()).collect::<Result<_, _>>()?;
                // A user and password in a URL (`nats://user:password@host:port`) are the
                // credentials the server's `authorization` block checks.
                let credentials = addresses.iter().find_map(|address| Some((address.username()?, address.password()?)));
                let options = match credentials {
                    Some((user, password)) => {
                        async_nats::ConnectOptions::with_user_and_password(user.to_owned(), password.to_owned())
                    }
                    None => async_nats::ConnectOptions::new(),
                };
                options
                    .connection_timeout(REQUEST_TIMEOUT)
                    .connect(addresses.as_slice())
                    .await
                    .map_err(async_nats::Error::from)
            })
            .map_err(|error| NatsError::Connect { url: shown.clone(), message: error.to_string() })?;
        // The context spawns its acknowledgement task on the runtime.
        let _entered = runtime.enter();
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .backpressure_on_inflight(true)
            .build(client.clone());
        drop(_entered);
        Ok(Connection { runtime, client, jetstream, venue: venue.to_owned(), url: shown })
    }

    pub fn venue(&self) -> &str {
        &self.venue
    }

    /// The URL connected to, any password in it replaced by `***`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn stream_name(&self) -> String {
        stream_name(&self.venue)
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Enters the runtime: what async-nats values dropped outside an `async` block need.
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.runtime.enter()
    }

    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The stream's head, or `None` when the venue has no stream yet.
    pub fn head(&self) -> Result<Option<StreamHead>, NatsError> {
        let name = self.stream_name();
        self.block_on(async {
            match self.jetstream.get_stream(&name).await {
                Ok(stream) => {
                    let info = stream.cached_info();
                    Ok(Some(StreamHead {
                        last_seq: info.state.last_sequence,
                        messages: info.state.messages,
                        subjects: info.config.subjects.clone(),
                    }))
                }
                Err(error) => match error.kind() {
                    jetstream::context::GetStreamErrorKind::JetStream(inner)
                        if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                    {
                        Ok(None)
                    }
                    _ => Err(api(format!("reading the stream {name}"))(&error)),
                },
            }
        })
    }

    /// The stream's head; an error when there is no stream.
    pub fn existing_head(&self) -> Result<StreamHead, NatsError> {
        self.head()?.ok_or_else(|| NatsError::NoStream { stream: self.stream_name() })
    }

    /// The bytes of block `block` (stream message `block + 1`).
    pub fn block_bytes(&self, block: u64) -> Result<Vec<u8>, NatsError> {
        let name = self.stream_name();
        self.block_on(async {
            let stream = self.jetstream.get_stream_no_info(&name).await.map_err(|e| api("reading the stream")(&e))?;
            let message = stream
                .get_raw_message(block + 1)
                .await
                .map_err(|e| api(format!("reading stream message {} (block {block})", block + 1))(&e))?;
            Ok(message.payload.to_vec())
        })
    }

    /// Makes `session` the writer: creates the stream with `session`'s subject as its only
    /// one, or moves the existing stream's subjects to it. Returns the subjects it took
    /// over (the fenced writers'; empty when the stream was created).
    pub fn claim(&self, session: &str, replicas: usize) -> Result<Vec<String>, NatsError> {
        let subject = writer_subject(&self.venue, session);
        let name = self.stream_name();
        match self.head()? {
            None => {
                let config = stream::Config {
                    name: name.clone(),
                    subjects: vec![subject],
                    storage: stream::StorageType::File,
                    num_replicas: replicas,
                    deny_delete: true,
                    deny_purge: true,
                    discard: stream::DiscardPolicy::New,
                    duplicate_window: DUPLICATE_WINDOW,
                    allow_direct: true,
                    ..Default::default()
                };
                // A cluster still electing its meta leader (just started, or loaded) lets a
                // request time out; creating with the same config again is harmless (an
                // existing stream with this config is answered as created).
                let mut attempt = 0;
                loop {
                    match self.block_on(self.jetstream.create_stream(config.clone())) {
                        Ok(_) => return Ok(Vec::new()),
                        Err(error) if attempt + 1 < PUBLISH_ATTEMPTS && error.to_string().contains("timed out") => {
                            attempt += 1;
                            std::thread::sleep(RETRY_PAUSE);
                        }
                        Err(error) => return Err(api(format!("creating the stream {name}"))(&error)),
                    }
                }
            }
            Some(_) => self.block_on(async {
                let mut stream =
                    self.jetstream.get_stream(&name).await.map_err(|e| api(format!("reading {name}"))(&e))?;
                let mut config = stream.info().await.map_err(|e| api(format!("reading {name}"))(&e))?.config.clone();
                let fenced = std::mem::replace(&mut config.subjects, vec![subject]);
                self.jetstream
                    .update_stream(config)
                    .await
                    .map_err(|e| api(format!("moving the subjects of {name}"))(&e))?;
                Ok(fenced)
            }),
        }
    }

    /// Publishes block `block` on `subject` and waits for the stream's quorum to have it:
    /// retried with the same message id after a timeout or a lost leader. Succeeds when the
    /// stream's message `block + 1` is these bytes (published now, or by an earlier attempt
    /// whose acknowledgement was lost).
    pub fn publish_block(&self, subject: &str, block: u64, hash: &[u8; 32], bytes: &[u8]) -> Result<(), NatsError> {
        let max_payload = self.client.server_info().max_payload;
        if bytes.len() + HEADER_ROOM_BYTES > max_payload {
            return Err(NatsError::TooLarge { block, bytes: bytes.len(), max_payload });
        }
        let id = message_id(&self.venue, block, hash);
        let payload = Bytes::copy_from_slice(bytes);
        let mut last_error = String::new();
        for attempt in 1..=PUBLISH_ATTEMPTS {
            if attempt > 1 {
                std::thread::sleep(RETRY_PAUSE);
            }
            let outcome = self.block_on(async {
                let message =
                    PublishMessage::build().payload(payload.clone()).message_id(&id).expected_last_sequence(block);
                self.jetstream.send_publish(subject.to_owned(), message).await?.await
            });
            match outcome {
                Ok(ack) if ack.sequence == block + 1 => return Ok(()),
                Ok(ack) => {
                    // A duplicate of an id the stream holds elsewhere: never an exops writer's.
                    return Err(NatsError::Sequence { stream_seq: ack.sequence, expected: block + 1, block });
                }
                Err(error) => {
                    last_error = error.to_string();
                    // Whatever went wrong, the stream's config and head say what holds now.
                    match self.resolve(subject, block, bytes, error.kind())? {
                        Resolved::Done => return Ok(()),
                        Resolved::Retry => continue,
                    }
                }
            }
        }
        Err(NatsError::Unacknowledged { block, attempts: PUBLISH_ATTEMPTS, message: last_error })
    }

    /// Publishes consecutive blocks `(index, hash, bytes)`, in order, at most
    /// [`PIPELINE_MAX`] at a time: a chunk is sent at once and its acknowledgements are
    /// awaited together (each waits from then, not from when it was sent). Returns once
    /// the stream's quorum stored every block. The first block of a chunk without its
    /// acknowledgement, and every block after it, is published again one by one with
    /// [`Connection::publish_block`] (retries with the same id, the outcome resolved by
    /// reading the stream): each message expects the one before it as the stream's last,
    /// so none after a block that was not stored can have been stored either.
    pub fn publish_blocks(&self, subject: &str, blocks: &[(u64, [u8; 32], Vec<u8>)]) -> Result<(), NatsError> {
        let max_payload = self.client.server_info().max_payload;
        if let Some((block, _, bytes)) =
            blocks.iter().find(|(_, _, bytes)| bytes.len() + HEADER_ROOM_BYTES > max_payload)
        {
            return Err(NatsError::TooLarge { block: *block, bytes: bytes.len(), max_payload });
        }
        for chunk in blocks.chunks(PIPELINE_MAX) {
            let outcomes = self.block_on(async {
                let mut acknowledgements = Vec::with_capacity(chunk.len());
                for (block, hash, bytes) in chunk {
                    let message = PublishMessage::build()
                        .payload(Bytes::copy_from_slice(bytes))
                        .message_id(message_id(&self.venue, *block, hash))
                        .expected_last_sequence(*block);
                    match self.jetstream.send_publish(subject.to_owned(), message).await {
                        Ok(acknowledgement) => acknowledgements.push(acknowledgement.into_future()),
                        // The ones after it would be refused: settled one by one below.
                        Err(_) => break,
                    }
                }
                futures_util::future::join_all(acknowledgements).await
            });
            let stored = outcomes
                .iter()
                .zip(chunk)
                .take_while(|(outcome, (block, _, _))| matches!(outcome, Ok(ack) if ack.sequence == block + 1))
                .count();
            for (block, hash, bytes) in &chunk[stored..] {
                self.publish_block(subject, *block, hash, bytes)?;
            }
        }
        Ok(())
    }

    /// After a failed publish of `block`: fenced, already there, a fork, or worth a retry.
    fn resolve(&self, subject: &str, block: u64, bytes: &[u8], kind: PublishErrorKind) -> Result<Resolved, NatsError> {
        let head = match self.head() {
            Ok(Some(head)) => head,
            Ok(None) => return Err(NatsError::NoStream { stream: self.stream_name() }),
            // The cluster is electing a leader, or unreachable: try again.
            Err(_) => return Ok(Resolved::Retry),
        };
        if !head.subjects.iter().any(|taken| taken == subject) {
            return Err(NatsError::Fenced {
                stream: self.stream_name(),
                ours: subject.to_owned(),
                now: head.subjects.join(", "),
            });
        }
        if head.last_seq > block {
            let stored = match self.block_bytes(block) {
                Ok(stored) => stored,
                Err(_) => return Ok(Resolved::Retry),
            };
            if stored == bytes {
                return Ok(Resolved::Done);
            }
            return Err(NatsError::Fork {
                block,
                stream_hash: seal_hash_hex(&stored),
                local_hash: seal_hash_hex(bytes),
            });
        }
        if head.last_seq < block && kind == PublishErrorKind::WrongLastSequence {
            return Err(NatsError::StreamBehind {
                stream_blocks: head.last_seq,
                local_blocks: block + 1,
                first_missing: head.last_seq,
            });
        }
        Ok(Resolved::Retry)
    }
}

enum Resolved {
    Done,
    Retry,
}

/// The chain hash in a block's seal (the last 32 bytes of its bytes), in hex; or a note
/// that the bytes are too short to hold one.
pub(crate) fn seal_hash_hex(bytes: &[u8]) -> String {
    match bytes.len().checked_sub(32) {
        Some(start) if bytes.len() >= 136 => bytes[start..].iter().map(|byte| format!("{byte:02x}")).collect(),
        _ => format!("(no seal in {} bytes)", bytes.len()),
    }
}

/// A new writer session's name: the wall clock and the process id in hex, unique enough
/// for one venue's writers (the clock is read here, outside the log and the core).
pub fn new_session() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    format!("s{nanos:x}p{:x}", std::process::id())
}

impl Connection {
    /// Whether JetStream answers (the cluster has elected its meta leader): a stream
    /// lookup is answered, found or not. (The account-info request is not used: async-nats
    /// 0.50 cannot parse 2.9's answer to it.)
    pub fn account_ready(&self) -> Result<(), NatsError> {
        self.head().map(|_| ())
    }

    /// The server name of the stream's leader, if it has one now.
    pub fn stream_leader(&self) -> Result<Option<String>, NatsError> {
        let name = self.stream_name();
        self.block_on(async {
            let mut stream = self.jetstream.get_stream(&name).await.map_err(|e| api(format!("reading {name}"))(&e))?;
            let info = stream.info().await.map_err(|e| api(format!("reading {name}"))(&e))?;
            Ok(info.cluster.as_ref().and_then(|cluster| cluster.leader.clone()))
        })
    }
}
