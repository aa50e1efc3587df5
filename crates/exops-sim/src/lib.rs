//! Recovery-plan simulation. A [`Scenario`] (a venue, dated incident events, a seeded
//! customer workload) and a [`Plan`] (phases of actions behind gates) run on a virtual
//! clock into an event log, whose replay gives the per-service timeline and the impact
//! metrics. The same seed gives the same bytes.
//!
//! Load a scenario and a plan, simulate, read the metrics and render them:
//!
//! ```
//! use std::path::Path;
//!
//! use exops_sim::{Options, Plan, Scenario, simulate};
//!
//! let fixtures = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bitpoint-2019"));
//! let scenario = Scenario::load(&fixtures.join("scenario.toml"))?;
//! let plan = Plan::load(&fixtures.join("plan.toml"))?;
//! // 1% of the scenario's customer requests: the same plan and dates, in a fraction of the time.
//! let options = Options { scale_percent: 1, ..Options::default() };
//! let mut written = 0_u64;
//! let run = simulate(&scenario, &plan, &options, &mut |_envelope| written += 1)?;
//!
//! // Every event went to the sink, and the plan BITPoint followed breaks no control.
//! assert_eq!(run.metrics.events, written);
//! assert!(run.metrics.violations.is_empty());
//! assert!(run.metrics.phases_never_opened.is_empty());
//! let served = run.metrics.recovery.existing_customers_served.as_ref().expect("customers are served again");
//! assert!(served.at > run.metrics.incident_at.expect("an incident"));
//! // Full service is never reached: order-size caps stay on spot trading.
//! assert!(run.metrics.recovery.full_service.is_none());
//! assert!(!run.metrics.recovery.full_service_blocked_by.is_empty());
//!
//! let text = exops_sim::text::render(&run.metrics);
//! assert!(text.contains(&plan.name));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The API boundary (docs/architecture.md): [`Scenario::load`] and [`Plan::load`] (with
//! their in-memory [`Scenario::parse`] and [`Plan::parse`]), [`simulate`] with
//! [`Options`] and [`StartFrom`] (→ [`Simulation`], or a [`SimError`]), [`Metrics`] and
//! the [`metrics`] types it is made of, [`lint::lint`], the [`text`] renderings, the
//! [`report`] pages, the [`units`] formatters, [`sweep::sweep`] and [`sweep::Sweep`], and
//! [`uncertainty::Spread`].

#![deny(missing_docs)]

mod engine;
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
