//! The fleet of followers: each reports where its replica stands (blocks, last sequence
//! number, chain hash, the time of its last event) to a key-value bucket of the venue,
//! `exops_<venue>_followers`, one key per follower; `fleet_status` reads every report
//! against the stream: each follower's lag, and whether its chain hash is the stream's
//! at the same block (a follower that holds something else is named).

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::connection::{Connection, StreamHead, api, seal_hash_hex};
use crate::error::NatsError;

/// What a follower says of its replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerReport {
    /// Blocks it holds (block `blocks - 1` is its last).
    pub blocks: u64,
    /// Its last sequence number (0: empty).
    pub last_seq: u64,
    /// The chain hash after its last block, hex; `None` when empty.
    pub head_hash: Option<String>,
    /// The timestamp of its last event (RFC 3339), when it holds one: where the venue's
    /// own clock stands in the replica.
    pub last_at: Option<String>,
}

/// One follower as the stream sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FollowerStatus {
    pub name: String,
    #[serde(flatten)]
    pub report: FollowerReport,
    /// Blocks the stream holds that the follower does not.
    pub lag_blocks: u64,
    /// What its hash is against the stream's at the same block.
    pub chain: Chain,
}

/// A follower's chain hash against the stream's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Chain {
    /// The same hash at the same block.
    Matches,
    /// An empty replica: nothing to compare yet.
    Empty,
    /// Another hash at the same block: the replica holds something the stream does not.
    Mismatch { block: u64, stream_hash: String },
    /// The follower claims a block the stream does not hold.
    AheadOfStream { block: u64 },
}

/// The fleet against the stream's head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FleetStatus {
    pub stream: String,
    /// Blocks in the stream.
    pub stream_blocks: u64,
    /// Every follower that has reported, by name.
    pub followers: Vec<FollowerStatus>,
}

impl FleetStatus {
    /// The followers whose chain is not the stream's.
    pub fn diverged(&self) -> impl Iterator<Item = &FollowerStatus> {
        self.followers
            .iter()
            .filter(|follower| matches!(follower.chain, Chain::Mismatch { .. } | Chain::AheadOfStream { .. }))
    }
}

/// The venue's followers bucket.
///
/// ```
/// assert_eq!(exops_nats::followers_bucket("bitpoint"), "exops_bitpoint_followers");
/// ```
pub fn followers_bucket(venue: &str) -> String {
    format!("exops_{venue}_followers")
}

/// Checks that `name` can be a follower's key: 1 to 64 letters, digits, `-` or `_`.
///
/// ```
/// assert!(exops_nats::validate_follower_name("tokyo-gw-1").is_ok());
/// assert!(exops_nats::validate_follower_name("tokyo gw").is_err());
/// ```
pub fn validate_follower_name(name: &str) -> Result<(), NatsError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid { Ok(()) } else { Err(NatsError::BadFollowerName { name: name.to_owned() }) }
}

impl Connection {
    /// The venue's followers bucket, made when missing with the stream's replica count.
    async fn followers(&self) -> Result<async_nats::jetstream::kv::Store, NatsError> {
        let bucket = followers_bucket(self.venue());
        if let Ok(store) = self.jetstream().get_key_value(&bucket).await {
            return Ok(store);
        }
        let name = self.stream_name();
        let mut stream =
            self.jetstream().get_stream(&name).await.map_err(|error| api(format!("reading {name}"))(&error))?;
        let replicas = stream.info().await.map_err(|error| api(format!("reading {name}"))(&error))?.config.num_replicas;
        // The bucket's stream made directly: the client's own bucket creation first asks for
        // the account's limits, an answer 2.9 servers give in a form it cannot read.
        let config = async_nats::jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            description: Some(format!("where each follower of {name} stands")),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            storage: async_nats::jetstream::stream::StorageType::File,
            num_replicas: replicas,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: async_nats::jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        };
        self.jetstream()
            .get_or_create_stream(config)
            .await
            .map_err(|error| api(format!("creating the bucket {bucket}"))(&error))?;
        self.jetstream()
            .get_key_value(&bucket)
            .await
            .map_err(|error| api(format!("opening the bucket {bucket}"))(&error))
    }

    /// Records `report` as follower `name`'s (the last report wins).
    pub fn report_follower(&self, name: &str, report: &FollowerReport) -> Result<(), NatsError> {
        self.block_on(self.report_follower_async(name, report))
    }

    /// [`Connection::report_follower`] from inside this connection's runtime.
    pub(crate) async fn report_follower_async(&self, name: &str, report: &FollowerReport) -> Result<(), NatsError> {
        validate_follower_name(name)?;
        let value = serde_json::to_vec(report).expect("a report serialises");
        let store = self.followers().await?;
        store
            .put(name, value.into())
            .await
            .map(|_| ())
            .map_err(|error| api(format!("reporting follower {name}"))(&error))
    }

    /// Every follower's report, by name.
    pub fn follower_reports(&self) -> Result<Vec<(String, FollowerReport)>, NatsError> {
        let bucket = followers_bucket(self.venue());
        self.block_on(async {
            let store = self.followers().await?;
            let mut keys: Vec<String> = Vec::new();
            let mut listed = store.keys().await.map_err(|error| api(format!("listing {bucket}"))(&error))?;
            while let Some(key) = listed.next().await {
                keys.push(key.map_err(|error| api(format!("listing {bucket}"))(&error))?);
            }
            keys.sort();
            let mut reports = Vec::with_capacity(keys.len());
            for key in keys {
                let Some(value) =
                    store.get(&key).await.map_err(|error| api(format!("reading {bucket}.{key}"))(&error))?
                else {
                    continue;
                };
                let report = serde_json::from_slice(&value).map_err(|error| NatsError::BadReport {
                    bucket: bucket.clone(),
                    follower: key.clone(),
                    message: error.to_string(),
                })?;
                reports.push((key, report));
            }
            Ok(reports)
        })
    }
}

/// Every follower's report against the stream: its lag, and its chain hash against the
/// stream's block at the same index.
///
/// ```no_run
/// let connection = exops_nats::Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// let status = exops_nats::fleet_status(&connection)?;
/// for follower in &status.followers {
///     println!("{}: {} blocks behind, {:?}", follower.name, follower.lag_blocks, follower.chain);
/// }
/// assert_eq!(status.diverged().count(), 0);
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
pub fn fleet_status(connection: &Connection) -> Result<FleetStatus, NatsError> {
    let head: StreamHead = connection.existing_head()?;
    let stream_blocks = head.last_seq;
    let mut followers = Vec::new();
    for (name, report) in connection.follower_reports()? {
        let chain = match (report.blocks.checked_sub(1), &report.head_hash) {
            (None, _) | (_, None) => Chain::Empty,
            (Some(last), Some(_)) if last >= stream_blocks => Chain::AheadOfStream { block: last },
            (Some(last), Some(hash)) => {
                let stream_hash = seal_hash_hex(&connection.block_bytes(last)?);
                if *hash == stream_hash { Chain::Matches } else { Chain::Mismatch { block: last, stream_hash } }
            }
        };
        let lag_blocks = stream_blocks.saturating_sub(report.blocks);
        followers.push(FollowerStatus { name, report, lag_blocks, chain });
    }
    Ok(FleetStatus { stream: connection.stream_name(), stream_blocks, followers })
}
