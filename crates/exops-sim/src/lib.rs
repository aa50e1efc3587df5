//! Recovery-plan simulation. A [`Scenario`] (a venue, dated incident events, a seeded
//! customer workload) and a [`Plan`] (phases of actions behind gates) run on a virtual
//! clock into an event log, whose replay gives the per-service timeline and the impact
//! metrics. The same seed gives the same bytes.

pub mod engine;
pub mod lint;
pub mod metrics;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod text;
mod toml_events;
pub mod uncertainty;
pub mod units;

pub use engine::{Options, SimError, Simulation, StartFrom, simulate};
pub use metrics::Metrics;
pub use plan::{Gate, Phase, Plan};
pub use scenario::{Scenario, Workload};
