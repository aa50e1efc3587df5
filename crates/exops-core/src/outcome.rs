//! What applying an event did: a typed outcome, or a typed rejection with its reason.

use std::fmt;

use crate::mode::Mode;
use crate::time::Timestamp;
use crate::venue::ServiceId;

/// Marks "no hold" in tables indexed by hold slot.
pub const NO_HOLD: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An operator event took effect. Both lists are in service order.
    Applied {
        /// The services whose effective mode or cap changed (their `since` moved to the
        /// event's instant).
        changed: Vec<ServiceId>,
        /// Every service whose gate (mode, cap, the holds setting them) or set of covering
        /// holds changed: `changed` and the services held differently under the same mode
        /// and cap, such as a closed service a second hold now covers too.
        gates_or_holds_changed: Vec<ServiceId>,
    },
    /// A customer operation was gated by the state at its instant.
    Customer(Gated),
    /// The actor already had an event with this id or a later one applied.
    Duplicate { last_id: u64 },
    /// The event was refused and changed nothing.
    Rejected(Rejection),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Gated {
    Accepted,
    /// Accepted but not settled: a withdrawal while withdrawals are `delayed`.
    Queued,
    Refused(Refusal),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub service: ServiceId,
    pub reason: RefusalReason,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// The hold (by slot) that put the service in `mode`, which does not allow the operation.
    Hold {
        hold: u32,
        mode: Mode,
    },
    /// The order is larger than the cap a hold sets.
    OrderTooLarge {
        hold: u32,
        cap_minor: i64,
    },
    VenueCeased,
    /// The venue's wallets cannot cover the withdrawal.
    InsufficientCustody,
    /// The withdrawal exceeds what customers are owed in that asset.
    ExceedsLiabilities,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    OutOfSequence {
        expected: u64,
        found: u64,
    },
    TimeWentBackwards {
        previous: Timestamp,
        found: Timestamp,
    },
    NoVenue,
    VenueAlreadyDeclared,
    InvalidVenue(String),
    VenueCeased {
        at: Timestamp,
    },
    WrongActor {
        event: &'static str,
        expected: &'static str,
        found: String,
    },
    UnknownService(String),
    UnknownHold(String),
    UnknownIncident(String),
    UnknownAsset(String),
    NameTaken {
        what: &'static str,
        name: String,
    },
    Invalid {
        field: &'static str,
        message: String,
    },
    OutsideBlastRadius {
        hold: String,
        incident: String,
        service: String,
    },
    /// Controls keep `service` from reopening: the event would have moved it to `would_be`.
    ControlUnmet {
        service: String,
        would_be: Mode,
        incident: String,
        missing: Vec<String>,
    },
    ApprovalRefused(String),
    InsufficientFunds {
        asset: String,
        what: &'static str,
        available_minor: i64,
        requested_minor: i64,
    },
    IncidentHasActiveHolds {
        incident: String,
        holds: Vec<String>,
    },
    Overflow {
        asset: String,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::OutOfSequence { expected, found } => {
                write!(f, "sequence number {found} out of order; expected {expected}")
            }
            Rejection::TimeWentBackwards { previous, found } => write!(
                f,
                "timestamp {found} is earlier than the previous event's {previous}; time must not go backwards"
            ),
            Rejection::NoVenue => f.write_str("no venue declared yet; a log must begin with `venue_declared`"),
            Rejection::VenueAlreadyDeclared => f.write_str("the venue is already declared; a log declares it once"),
            Rejection::InvalidVenue(message) => write!(f, "invalid venue: {message}"),
            Rejection::VenueCeased { at } => {
                write!(f, "the venue ceased operating at {at}; `ceased` is terminal and nothing reopens")
            }
            Rejection::WrongActor { event, expected, found } => {
                write!(f, "`{event}` must come from {expected}, not `{found}`")
            }
            Rejection::UnknownService(message) => f.write_str(message),
            Rejection::UnknownHold(hold) => write!(f, "no active hold `{hold}`"),
            Rejection::UnknownIncident(incident) => write!(f, "no incident `{incident}`"),
            Rejection::UnknownAsset(asset) => write!(f, "the venue has no asset `{asset}`"),
            Rejection::NameTaken { what, name } => write!(f, "{what} `{name}` is already used; names are never reused"),
            Rejection::Invalid { field, message } => write!(f, "`{field}`: {message}"),
            Rejection::OutsideBlastRadius { hold, incident, service } => {
                write!(f, "hold `{hold}` would cover `{service}`, outside the blast radius of incident `{incident}`")
            }
            Rejection::ControlUnmet { service, would_be, incident, missing } => write!(
                f,
                "`{service}` must stay closed (this would make it {would_be}): wallet compromise `{incident}` still needs {}",
                missing.join(", ")
            ),
            Rejection::ApprovalRefused(message) => write!(f, "approval refused: {message}"),
            Rejection::InsufficientFunds { asset, what, available_minor, requested_minor } => write!(
                f,
                "{asset} {what} holds {available_minor} minor units, fewer than the {requested_minor} requested"
            ),
            Rejection::IncidentHasActiveHolds { incident, holds } => {
                write!(f, "incident `{incident}` cannot be resolved while its holds are active: {}", holds.join(", "))
            }
            Rejection::Overflow { asset } => write!(f, "{asset} amounts would overflow 64-bit minor units"),
        }
    }
}

impl std::error::Error for Rejection {}
