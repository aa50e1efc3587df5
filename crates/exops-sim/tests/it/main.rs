//! Integration tests of exops-sim.

#![allow(clippy::unwrap_used)]

mod fixtures;
mod gates;
mod report;
mod scenario;
mod sweep;
