//! Events and their envelope. Operator events name things (holds, incidents, assets,
//! selectors) by their human names; customer operations, the high-volume stream, refer
//! to markets and assets by their index in the declared venue.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mode::Mode;
use crate::selector::Selector;
use crate::time::Timestamp;
use crate::venue::{AssetId, MarketId, VenueSpec};

/// Customer ids are dense small integers so that per-customer tables stay arrays.
pub const CUSTOMER_ID_MAX: u32 = (1 << 24) - 1;

/// Who caused an event. Event ids are numbered per actor (see [`Envelope::id`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Customer(u32),
    Staff(String),
    System(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Customer(id) => write!(f, "customer:{id}"),
            Actor::Staff(name) => write!(f, "staff:{name}"),
            Actor::System(name) => write!(f, "system:{name}"),
        }
    }
}

impl Actor {
    pub fn parse(text: &str) -> Result<Actor, String> {
        let valid = "valid: customer:ID (ID up to 16777215), staff:NAME, system:NAME";
        let Some((kind, rest)) = text.split_once(':') else {
            return Err(format!("actor `{text}` has no kind; {valid}"));
        };
        let name_ok = !rest.is_empty()
            && rest.len() <= 64
            && rest.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte));
        match kind {
            "customer" => match rest.parse::<u32>() {
                Ok(id) if id <= CUSTOMER_ID_MAX => Ok(Actor::Customer(id)),
                _ => Err(format!("actor `{text}`: `{rest}` is not a customer id; {valid}")),
            },
            "staff" if name_ok => Ok(Actor::Staff(rest.to_owned())),
            "system" if name_ok => Ok(Actor::System(rest.to_owned())),
            "staff" | "system" => {
                Err(format!("actor `{text}`: names are 1 to 64 letters, digits, `.`, `_` or `-`; {valid}"))
            }
            _ => Err(format!("actor `{text}` has an unknown kind `{kind}`; {valid}")),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Actor::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A non-negative decimal such as a refund rate (`88.549`) or a haircut (`0.36067`),
/// held exactly as `mantissa / 10^scale`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub mantissa: u64,
    pub scale: u8,
}

pub const DECIMAL_SCALE_MAX: u8 = 18;

impl Decimal {
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let invalid = || format!("`{text}` is not a plain decimal number such as 88.549 or 0.36067");
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || !whole.bytes().all(|byte| byte.is_ascii_digit())
            || !fraction.bytes().all(|byte| byte.is_ascii_digit())
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(invalid());
        }
        if fraction.len() > usize::from(DECIMAL_SCALE_MAX) {
            return Err(format!("`{text}` has more than {DECIMAL_SCALE_MAX} decimal places"));
        }
        let digits = format!("{whole}{fraction}");
        let mantissa = digits.parse::<u64>().map_err(|_| format!("`{text}` is too large"))?;
        Ok(Decimal { mantissa, scale: fraction.len() as u8 })
    }

    /// `amount × self`, rounded towards zero, or `None` on overflow.
    pub fn mul_floor(self, amount: i128) -> Option<i128> {
        amount.checked_mul(i128::from(self.mantissa))?.checked_div(10_i128.checked_pow(u32::from(self.scale))?)
    }

    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// Whether the value is at most 1.
    pub fn at_most_one(self) -> bool {
        u128::from(self.mantissa) <= 10_u128.pow(u32::from(self.scale))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:0>width$}", self.mantissa, width = usize::from(self.scale) + 1);
        let (whole, fraction) = digits.split_at(digits.len() - usize::from(self.scale));
        if fraction.is_empty() { f.write_str(whole) } else { write!(f, "{whole}.{fraction}") }
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Decimal::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wallet {
    Hot,
    Cold,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCategory {
    WalletCompromise,
    Ddos,
    SoftwareFault,
    RegulatoryOrder,
    Insolvency,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentCategory {
    pub fn name(self) -> &'static str {
        match self {
            IncidentCategory::WalletCompromise => "wallet_compromise",
            IncidentCategory::Ddos => "ddos",
            IncidentCategory::SoftwareFault => "software_fault",
            IncidentCategory::RegulatoryOrder => "regulatory_order",
            IncidentCategory::Insolvency => "insolvency",
        }
    }
}

impl IncidentStatus {
    pub fn name(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
        }
    }
}

/// Why a hold exists.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Incident(String),
    Maintenance,
    RegulatorOrder(String),
    Insolvency,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Incident(incident) => write!(f, "incident {incident}"),
            Cause::Maintenance => f.write_str("maintenance"),
            Cause::RegulatorOrder(reference) => write!(f, "regulator order {reference}"),
            Cause::Insolvency => f.write_str("insolvency"),
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    Market,
    Limit,
    PostOnly,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginAction {
    Open,
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGranted {
    pub person: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theft {
    pub asset: String,
    pub wallet: Wallet,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentOpened {
    pub incident: String,
    pub title: String,
    pub category: IncidentCategory,
    /// What left the venue's wallets (wallet compromises only; more can follow in
    /// `theft_recorded`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stolen: Vec<Theft>,
    /// The services holds caused by this incident may cover.
    pub blast_radius: Vec<Selector>,
}

/// More funds found stolen in a wallet compromise already open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheftRecorded {
    pub incident: String,
    pub stolen: Vec<Theft>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdated {
    pub incident: String,
    pub status: IncidentStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldPlaced {
    pub hold: String,
    pub cause: Cause,
    pub services: Vec<Selector>,
    /// The mode the hold puts its services in; fully closed when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// An order-size cap on trading services, in each market's quote asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
    /// Why the hold exists, in words, beyond its cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldLifted {
    pub hold: String,
    /// Release only these services and keep the hold on the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<Selector>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldModeSet {
    pub hold: String,
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_notional_minor: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysRotated {
    pub incident: String,
    pub asset: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityReviewPassed {
    pub incident: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalGiven {
    pub incident: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyTransferred {
    pub asset: String,
    pub from: Wallet,
    pub to: Wallet,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyReplenished {
    pub incident: String,
    pub asset: String,
    pub wallet: Wallet,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundPaid {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    pub asset: String,
    pub amount_minor: i64,
    pub customers: u32,
    /// What the refund is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsConverted {
    pub incident: String,
    pub from_asset: String,
    pub to_asset: String,
    /// Whole units of `to_asset` paid per whole unit of `from_asset`.
    pub rate: Decimal,
    pub held_minor: i64,
    pub customers: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaircutApplied {
    pub incident: String,
    /// The share of every customer balance written off, between 0 and 1.
    pub ratio: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalsSettled {
    pub asset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueCeased {
    pub reason: String,
}

/// An operator's annotation that a phase of a recovery plan has opened. The state records
/// it (in [`crate::State::phases`] and the view's `phases`) and never gates on it: it changes
/// no service, hold or ledger, and is accepted even after the venue ceased. The simulator
/// writes one whenever a plan phase opens; an operator may write them by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseOpened {
    /// The phase's name, as the plan spells it; never empty.
    pub phase: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderSubmitted {
    pub market: MarketId,
    pub order_type: OrderType,
    pub notional_minor: i64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderCancelled {
    pub market: MarketId,
}

/// A deposit or a withdrawal request; `network` is the index of one of the asset's
/// declared networks, and must be given exactly when it has some.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transfer {
    pub asset: AssetId,
    pub network: Option<u8>,
    pub amount_minor: i64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MarginRequested {
    pub action: MarginAction,
    pub notional_minor: i64,
}

/// Every kind of event: operator events (the venue, incidents, holds, controls, money,
/// phase markers) and customer operations, each named as in JSON Lines by
/// [`Event::kind_name`].
///
/// ```
/// let event = exops_core::Event::PhaseOpened(exops_core::PhaseOpened { phase: "reopen".into() });
/// assert_eq!(event.kind_name(), "phase_opened");
/// assert!(!event.is_customer_operation());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    VenueDeclared(VenueSpec),
    RoleGranted(RoleGranted),
    IncidentOpened(IncidentOpened),
    TheftRecorded(TheftRecorded),
    IncidentUpdated(IncidentUpdated),
    HoldPlaced(HoldPlaced),
    HoldLifted(HoldLifted),
    HoldModeSet(HoldModeSet),
    KeysRotated(KeysRotated),
    SecurityReviewPassed(SecurityReviewPassed),
    ApprovalGiven(ApprovalGiven),
    CustodyTransferred(CustodyTransferred),
    CustodyReplenished(CustodyReplenished),
    RefundPaid(RefundPaid),
    ClaimsConverted(ClaimsConverted),
    HaircutApplied(HaircutApplied),
    WithdrawalsSettled(WithdrawalsSettled),
    VenueCeased(VenueCeased),
    PhaseOpened(PhaseOpened),
    OrderSubmitted(OrderSubmitted),
    OrderCancelled(OrderCancelled),
    DepositReceived(Transfer),
    WithdrawalRequested(Transfer),
    MarginRequested(MarginRequested),
    SignupRequested,
    LoginAttempted,
}

impl Event {
    /// The `kind` this event has in JSON Lines.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Event::VenueDeclared(_) => "venue_declared",
            Event::RoleGranted(_) => "role_granted",
            Event::IncidentOpened(_) => "incident_opened",
            Event::TheftRecorded(_) => "theft_recorded",
            Event::IncidentUpdated(_) => "incident_updated",
            Event::HoldPlaced(_) => "hold_placed",
            Event::HoldLifted(_) => "hold_lifted",
            Event::HoldModeSet(_) => "hold_mode_set",
            Event::KeysRotated(_) => "keys_rotated",
            Event::SecurityReviewPassed(_) => "security_review_passed",
            Event::ApprovalGiven(_) => "approval_given",
            Event::CustodyTransferred(_) => "custody_transferred",
            Event::CustodyReplenished(_) => "custody_replenished",
            Event::RefundPaid(_) => "refund_paid",
            Event::ClaimsConverted(_) => "claims_converted",
            Event::HaircutApplied(_) => "haircut_applied",
            Event::WithdrawalsSettled(_) => "withdrawals_settled",
            Event::VenueCeased(_) => "venue_ceased",
            Event::PhaseOpened(_) => "phase_opened",
            Event::OrderSubmitted(_) => "order_submitted",
            Event::OrderCancelled(_) => "order_cancelled",
            Event::DepositReceived(_) => "deposit_received",
            Event::WithdrawalRequested(_) => "withdrawal_requested",
            Event::MarginRequested(_) => "margin_requested",
            Event::SignupRequested => "signup_requested",
            Event::LoginAttempted => "login_attempted",
        }
    }

    /// Customer operations are gated by the state; everything else is an operator event.
    pub fn is_customer_operation(&self) -> bool {
        matches!(
            self,
            Event::OrderSubmitted(_)
                | Event::OrderCancelled(_)
                | Event::DepositReceived(_)
                | Event::WithdrawalRequested(_)
                | Event::MarginRequested(_)
                | Event::SignupRequested
                | Event::LoginAttempted
        )
    }
}

/// Every event travels in an envelope.
///
/// ```
/// use exops_core::{Actor, Envelope, Event, Timestamp};
/// let envelope = Envelope {
///     seq: 1,
///     at: Timestamp::parse_rfc3339("2024-03-04T09:00:00+09:00").unwrap(),
///     id: 1,
///     actor: Actor::parse("customer:7").unwrap(),
///     event: Event::LoginAttempted,
///     note: None,
/// };
/// assert!(envelope.event.is_customer_operation());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Position in the log: 1 for the first event, then consecutive.
    pub seq: u64,
    /// When the event happened; never earlier than the previous applied event.
    pub at: Timestamp,
    /// The actor's own number for this event. Each actor numbers its events upwards, so an
    /// id at or below the actor's last applied id is a retry and is not applied again.
    pub id: u64,
    pub actor: Actor,
    pub event: Event,
    /// Free text kept with the event (a source, or why a step is modelled).
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        let rate = Decimal::parse("88.549").unwrap();
        assert_eq!(rate, Decimal { mantissa: 88_549, scale: 3 });
        assert_eq!(rate.to_string(), "88.549");
        assert_eq!(Decimal::parse("0.36067").unwrap().to_string(), "0.36067");
        assert_eq!(Decimal::parse("7").unwrap().to_string(), "7");
        assert_eq!(rate.mul_floor(1_000_000), Some(88_549_000));
        for bad in ["", ".5", "5.", "-1", "1e3", "1.2.3", "x"] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn actors_round_trip_and_refuse_garbage() {
        for text in ["customer:42", "staff:k.tanaka", "system:monitoring"] {
            assert_eq!(Actor::parse(text).unwrap().to_string(), text);
        }
        for bad in ["customer:-1", "customer:99999999", "staff:", "robot:x", "alice", "staff:a b"] {
            assert!(Actor::parse(bad).is_err(), "{bad}");
        }
    }
}
