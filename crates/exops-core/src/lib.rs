//! The exchange-operations domain as a pure, deterministic state machine.
//!
//! A venue's services (spot trading per market, deposits and withdrawals per asset and
//! network, margin, onboarding, login) are open, restricted or closed by *holds*, each
//! with a cause; an event log folded through [`State::apply`] gives the state at any
//! point. This crate does no I/O and reads no clock: time comes from the events.

mod controls;
mod event;
mod mode;
mod outcome;
mod record;
mod rules;
mod selector;
mod state;
mod suggest;
mod time;
mod venue;
mod view;

pub use controls::{IncidentControls, MissingControl, UnmetControls, WithdrawalControls};
pub use event::*;
pub use mode::{Level, Mode, closed_level, ladder, level_of, mode_at, valid_modes};
pub use outcome::*;
pub use record::{CustomerOperation, CustomerRecord, Record};
pub use rules::{RULES_VERSION, RulesVersion, RulesVersionError};
pub use selector::{AssetPattern, SELECTOR_SYNTAX, Selector, SelectorError};
pub use state::*;
pub use suggest::{closest, did_you_mean};
pub use time::{Timestamp, TimestampError};
pub use venue::*;
pub use view::*;
