//! Integration tests of the exops event log.
#![allow(clippy::unwrap_used)]

mod admission;
mod codec;
mod concurrency;
mod corruption;
mod customers;
mod deferred_checks;
mod derived;
mod durability;
mod faults;
mod formats;
mod fuzz_seeds;
mod head;
mod replica;
mod rules;
mod settings;
mod snapshot_state;
mod support;
