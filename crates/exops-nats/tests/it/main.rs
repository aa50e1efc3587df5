//! Replication against a real 3-node JetStream cluster on loopback (exops_nats::cluster).
//! Without a nats-server these tests say so and pass, except under `CI=true`, where
//! a missing server fails them.

#![allow(clippy::unwrap_used)]

mod permissions;
mod replicate;
