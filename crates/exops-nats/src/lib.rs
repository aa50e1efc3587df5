//! Replication of the exops log through a NATS JetStream stream: one message per sealed
//! block (its exact segment bytes), a stream per venue whose only subject belongs to the
//! one writer session allowed to publish, and followers that check every block against
//! their own chain before appending it verbatim. The only crate that knows NATS: async-nats
//! and tokio run on a runtime thread of their own behind a synchronous API, so exops-log's
//! writer stays synchronous and the core stays pure.
//!
//! The stream of venue `V` is `EXOPS_V`; block `b` of the log is stream message `b + 1`,
//! published with the content-derived id `V.b<b>.<first 16 hex digits of the block hash>`
//! (so a retry is a duplicate and a different block at the same place is not) and
//! `Nats-Expected-Last-Sequence: b` (so each position takes one block).

pub mod cluster;
mod connection;
mod error;
mod fleet;
mod follow;
mod follower;
mod publish;
mod push;
mod submit;

pub use connection::{
    Connection, PIPELINE_MAX, StreamHead, message_id, new_session, redact_password, stream_name, validate_venue,
    writer_subject,
};
pub use error::NatsError;
pub use fleet::{
    Chain, FleetStatus, FollowerReport, FollowerStatus, fleet_status, followers_bucket, validate_follower_name,
};
pub use follow::{FollowReport, follow, follow_reporting};
pub use follower::Follower;
pub use publish::{Published, publish_after};
pub use push::{PushReport, push};
pub use submit::{Sender, SubmitReply};
