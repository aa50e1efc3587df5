//! Event bytes: the bincode wire format, written with wincode.
//!
//! A record in the log carries `seq`, `at` and the schema version in its header; its
//! *body*, produced here, holds the rest of the [`Envelope`]: `id`, `actor`, `event`
//! and `note`. Bodies are in bincode 1.x's default format (little-endian fixed-width
//! integers, `u64` lengths for strings and sequences, `u32` enum tags, `Option` as a
//! `u8` tag), written and read with `wincode`, which produces the same bytes.
//!
//! The persisted schema belongs to this crate, not to `exops-core`: the body is the
//! [`wire`] mirror of the envelope, converted explicitly in both directions, so a change
//! to a domain type cannot silently change the bytes on disk. Selectors, actors and
//! decimals are stored in the canonical text (or plain numeric) forms core already
//! parses, and both directions check that a value survives that form, so whatever
//! [`encode_body`] accepts [`decode_body`] gives back equal, and whatever
//! [`decode_body`] accepts re-encodes to the very same bytes.
//!
//! Versions: [`EVENT_SCHEMA_VERSION`] (4) is written today. Version 3 bodies (before
//! rules versions: `venue_declared` has no `rules`, and is read as rules version 1),
//! version 2 bodies (before phase markers: `WireEvent` had no `PhaseOpened`) and version 1
//! bodies (before order-size caps and hold notes, so `hold_placed` has no
//! `max_order_notional_minor` and no `reason`) are upcast on reading, 1 → 2 → 3 → 4. A new
//! version adds a frozen copy of the previous layout as a module inside [`wire`] and an
//! upcast from it. Variants new in a version go at the end of `WireEvent`, so the tags (and
//! bytes) of the others stay the same: a version 2 body of any event but a phase marker is
//! byte for byte its version 3 body, and a version 3 body of any event but a venue
//! declaration is byte for byte its version 4 body.
//!
//! A venue declaration whose `rules` this build does not know decodes to a [`CodecError`]
//! whose [`rules`](CodecError::rules) says so: the bytes are sound, but this build cannot
//! fold the log they belong to.
//!
//! Decoding never panics and bounds its allocations: bodies longer than
//! [`BODY_BYTES_MAX`] are refused unread, and a length prefix may claim at most
//! `4 × BODY_BYTES_MAX` bytes of preallocated elements (wincode's preallocation limit,
//! set explicitly below) before anything is allocated for it.
//!
//! [`wire`] is public but hidden from the documentation only so that the integration
//! tests can serialize the same wire values with bincode 1.3.3 and compare bytes; it is
//! not an API for other crates.

use std::fmt;

use exops_core::{
    Actor, ApprovalGiven, AssetClass, AssetId, AssetSpec, CUSTOMER_ID_MAX, Cause, ClaimsConverted, CustodyReplenished,
    CustodyTransferred, CustomerOperation, CustomerRecord, DECIMAL_SCALE_MAX, Decimal, Envelope, Event, HaircutApplied,
    HoldLifted, HoldModeSet, HoldPlaced, IncidentCategory, IncidentOpened, IncidentStatus, IncidentUpdated,
    KeysRotated, MarginAction, MarginRequested, MarketId, Mode, OrderCancelled, OrderSubmitted, OrderType, PhaseOpened,
    Record, RefundPaid, RoleGranted, RulesVersion, RulesVersionError, SecurityReviewPassed, Selector, Theft,
    TheftRecorded, Timestamp, Transfer, VenueCeased, VenueSpec, Wallet, WithdrawalsSettled,
};
use wincode::config::Configuration;

use self::wire::{
    WireActor, WireApprovalGiven, WireAssetClass, WireAssetSpec, WireBody, WireCause, WireClaimsConverted,
    WireCustodyReplenished, WireCustodyTransferred, WireDecimal, WireEvent, WireHaircutApplied, WireHoldLifted,
    WireHoldModeSet, WireHoldPlaced, WireIncidentCategory, WireIncidentOpened, WireIncidentStatus, WireIncidentUpdated,
    WireKeysRotated, WireMarginAction, WireMarginRequested, WireMode, WireOrderCancelled, WireOrderSubmitted,
    WireOrderType, WirePhaseOpened, WireRefundPaid, WireRoleGranted, WireSecurityReviewPassed, WireTheft,
    WireTheftRecorded, WireTransfer, WireVenueCeased, WireVenueSpec, WireWallet, WireWithdrawalsSettled,
};

/// Schema version of event bodies written today.
///
/// ```
/// assert_eq!(exops_log::codec::EVENT_SCHEMA_VERSION, 4);
/// ```
pub const EVENT_SCHEMA_VERSION: u16 = 4;

/// The oldest schema version this build still reads (by upcasting).
const OLDEST_READABLE_SCHEMA_VERSION: u16 = 1;

/// Largest body accepted, in bytes (bounded allocations when decoding).
pub const BODY_BYTES_MAX: usize = 1 << 20;

/// The most one length prefix may make wincode preallocate, in bytes. No sequence
/// element of the wire types takes more than three times its smallest encoding in
/// memory (an empty `String`: 24 bytes for 8), so a body within [`BODY_BYTES_MAX`]
/// never legitimately needs more; anything claiming more is refused before allocating.
/// It is also wincode's default, set here explicitly.
const PREALLOCATION_BYTES_MAX: usize = 4 * BODY_BYTES_MAX;

/// bincode 1.x's default format (wincode's defaults) with our preallocation limit.
type WireConfig = Configuration<true, PREALLOCATION_BYTES_MAX>;

const WIRE_CONFIG: WireConfig = WireConfig::new();

/// Why an event body could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    pub message: String,
    /// Set when the body is well formed but declares a venue under a rules version this
    /// build does not fold (a log written by a newer exops): not damage, and not
    /// something to repair.
    pub rules: Option<RulesVersionError>,
}

impl CodecError {
    fn new(message: impl Into<String>) -> CodecError {
        CodecError { message: message.into(), rules: None }
    }

    /// The same error with more context in front of its message.
    fn context(self, message: impl FnOnce(String) -> String) -> CodecError {
        CodecError { message: message(self.message), rules: self.rules }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// Appends the body of `envelope` (id, actor, event, note — NOT seq and at, which the
/// record header carries) to `out`. The record header must say
/// [`EVENT_SCHEMA_VERSION`]. On error `out` is left as it was.
///
/// ```
/// use exops_core::{Actor, Envelope, Event, PhaseOpened, Timestamp};
/// use exops_log::codec::{EVENT_SCHEMA_VERSION, decode_body, encode_body};
///
/// let envelope = Envelope {
///     seq: 7,
///     at: Timestamp::from_unix_micros(1_000_000),
///     id: 1,
///     actor: Actor::Staff("lead".into()),
///     event: Event::PhaseOpened(PhaseOpened { phase: "reopen".into() }),
///     note: None,
/// };
/// let mut body = Vec::new();
/// encode_body(&envelope, &mut body).unwrap();
/// // seq and at travel in the record header, beside the body.
/// assert_eq!(decode_body(EVENT_SCHEMA_VERSION, 7, envelope.at, &body).unwrap(), envelope);
/// ```
pub fn encode_body(envelope: &Envelope, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let Envelope { seq, id, actor, event, note, .. } = envelope;
    encode_body_of(*id, actor, event, note.as_deref(), Some(*seq), out)
}

/// [`encode_body`] from the parts of an event that its body holds, before it has a
/// sequence number (the log writer's producers encode on their own threads); `seq`, if
/// known, is only for the error message.
///
/// ```
/// use exops_core::{Actor, Event};
/// let mut body = Vec::new();
/// exops_log::codec::encode_body_of(3, &Actor::Customer(7), &Event::LoginAttempted, None, None, &mut body).unwrap();
/// // id (u64), the actor's tag and number (u32, u32), the event's tag (u32), no note (u8).
/// assert_eq!(body.len(), 8 + 4 + 4 + 4 + 1);
/// ```
pub fn encode_body_of(
    id: u64,
    actor: &Actor,
    event: &Event,
    note: Option<&str>,
    seq: Option<u64>,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let context = |message: String| {
        let seq = seq.map(|seq| format!("seq {seq}, ")).unwrap_or_default();
        CodecError::new(format!("cannot encode the {} event ({seq}id {id}): {message}", event.kind_name()))
    };
    let body = WireBody {
        id,
        actor: actor_to_wire(actor).map_err(|error| context(error.message))?,
        event: event_to_wire(event).map_err(|error| context(error.message))?,
        note: note.map(str::to_owned),
    };
    let start = out.len();
    let written = wincode::config::serialize_into(&mut *out, &body, WIRE_CONFIG);
    let length = out.len() - start;
    if let Err(error) = written {
        out.truncate(start);
        return Err(context(error.to_string()));
    }
    if length > BODY_BYTES_MAX {
        out.truncate(start);
        return Err(context(format!("the body would take {length} bytes; at most {BODY_BYTES_MAX} are allowed")));
    }
    Ok(())
}

/// Decodes a body written with `schema_version`, upcasting older versions; seq and at
/// come from the record header.
///
/// ```
/// use exops_core::Timestamp;
/// // A version this build does not read is an error saying which versions it reads.
/// let error = exops_log::codec::decode_body(9, 1, Timestamp::from_unix_micros(0), &[]).unwrap_err();
/// assert!(error.message.contains("reads versions 1 to 4"), "{error}");
/// ```
pub fn decode_body(schema_version: u16, seq: u64, at: Timestamp, bytes: &[u8]) -> Result<Envelope, CodecError> {
    Ok(match decode_either(schema_version, seq, at, bytes)? {
        Ok(record) => record.into(),
        Err(envelope) => envelope,
    })
}

/// [`decode_body`] as the fold takes it: a customer operation by a customer, without a
/// note, becomes a [`Record::Customer`] straight from its bytes (no envelope is built);
/// anything else the [`Record`] of its decoded envelope. The same errors.
///
/// ```
/// use exops_core::{Actor, Envelope, Event, Record, Timestamp};
/// let at = Timestamp::from_unix_micros(0);
/// let login = Envelope { seq: 1, at, id: 4, actor: Actor::Customer(7), event: Event::LoginAttempted, note: None };
/// let mut bytes = Vec::new();
/// exops_log::codec::encode_body(&login, &mut bytes).unwrap();
/// let version = exops_log::codec::EVENT_SCHEMA_VERSION;
/// let record = exops_log::codec::decode_record(version, 1, at, &bytes).unwrap();
/// assert!(matches!(record, Record::Customer(_)));
/// assert_eq!(record.into_envelope(), login);
/// ```
pub fn decode_record(schema_version: u16, seq: u64, at: Timestamp, bytes: &[u8]) -> Result<Record, CodecError> {
    Ok(match decode_either(schema_version, seq, at, bytes)? {
        Ok(record) => Record::Customer(record),
        Err(envelope) => Record::from(envelope),
    })
}

/// What a body decodes into: a whole [`Envelope`] ([`decode_body`]) or, for a fold, a
/// [`Record`] ([`decode_record`]). Readers that hand out decoded events take either.
pub trait Decoded: Sized {
    /// Decodes a body written with `schema_version`; seq and at from the record header.
    fn decode(schema_version: u16, seq: u64, at: Timestamp, bytes: &[u8]) -> Result<Self, CodecError>;
}

impl Decoded for Envelope {
    fn decode(schema_version: u16, seq: u64, at: Timestamp, bytes: &[u8]) -> Result<Envelope, CodecError> {
        decode_body(schema_version, seq, at, bytes)
    }
}

impl Decoded for Record {
    fn decode(schema_version: u16, seq: u64, at: Timestamp, bytes: &[u8]) -> Result<Record, CodecError> {
        decode_record(schema_version, seq, at, bytes)
    }
}

/// The body as the short path reads it (a customer record), or else as the general path
/// does (an envelope); each caller then builds what it hands out, once. Inlined into each,
/// so that the envelope is built in place rather than moved out of a nested result.
#[inline(always)]
fn decode_either(
    schema_version: u16,
    seq: u64,
    at: Timestamp,
    bytes: &[u8],
) -> Result<Result<CustomerRecord, Envelope>, CodecError> {
    let context = |message: String| {
        CodecError::new(format!("event seq {seq}: the body (schema version {schema_version}) is not valid: {message}"))
    };
    if bytes.len() > BODY_BYTES_MAX {
        return Err(context(format!("it is {} bytes long; at most {BODY_BYTES_MAX} are allowed", bytes.len())));
    }
    // Customer operations have the same tags and layout in versions 2, 3 and 4.
    if (2..=EVENT_SCHEMA_VERSION).contains(&schema_version)
        && let Some(record) = decode_customer_operation(seq, at, bytes)
    {
        return Ok(Ok(record));
    }
    decode_body_generally(schema_version, seq, at, bytes).map(Err)
}

/// [`decode_body`] through the wire types, for every kind of event.
fn decode_body_generally(schema_version: u16, seq: u64, at: Timestamp, bytes: &[u8]) -> Result<Envelope, CodecError> {
    let context = |message: String| {
        CodecError::new(format!("event seq {seq}: the body (schema version {schema_version}) is not valid: {message}"))
    };
    let body = match schema_version {
        EVENT_SCHEMA_VERSION => read_exact::<WireBody>(bytes),
        3 => read_exact::<wire::v3::WireBody>(bytes).map(WireBody::from),
        2 => read_exact::<wire::v2::WireBody>(bytes).map(|body| WireBody::from(wire::v3::WireBody::from(body))),
        1 => read_exact::<wire::v1::WireBody>(bytes)
            .map(|body| WireBody::from(wire::v3::WireBody::from(wire::v2::WireBody::from(body)))),
        _ => {
            let newer = if schema_version > EVENT_SCHEMA_VERSION { " (written by a newer exops?)" } else { "" };
            return Err(CodecError::new(format!(
                "event seq {seq}: schema version {schema_version} is not supported{newer}; this build reads \
                 versions {OLDEST_READABLE_SCHEMA_VERSION} to {EVENT_SCHEMA_VERSION} and writes \
                 {EVENT_SCHEMA_VERSION}"
            )));
        }
    };
    let body = body.map_err(|error| context(error.to_string()))?;
    body.into_envelope(seq, at).map_err(|error| match error.rules {
        // Sound bytes under rules this build lacks: say so plainly, not as invalid bytes.
        Some(_) => error.context(|message| format!("event seq {seq} (venue_declared): {message}")),
        None => context(error.message),
    })
}

/// The short path of [`decode_body`] for ~99% of a busy log: a customer operation by a
/// customer, without a note, read straight from the schema-version-4 (or 3, or 2) bytes (bincode's
/// layout of [`WireBody`]: u64 id, u32 actor tag and u32 customer, u32 event tag and
/// the payload's fields, u8 note tag). `None` for anything else, or anything unusual
/// (a note, an out-of-range value, bytes left over): the general path then decides,
/// errors included, so the two agree on every input (tested).
#[inline]
fn decode_customer_operation(seq: u64, at: Timestamp, bytes: &[u8]) -> Option<CustomerRecord> {
    struct Bytes<'a>(&'a [u8]);
    impl Bytes<'_> {
        fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
            let (head, rest) = self.0.split_first_chunk::<N>()?;
            self.0 = rest;
            Some(*head)
        }
        fn u8(&mut self) -> Option<u8> {
            self.take::<1>().map(|[byte]| byte)
        }
        fn u16(&mut self) -> Option<u16> {
            self.take().map(u16::from_le_bytes)
        }
        fn u32(&mut self) -> Option<u32> {
            self.take().map(u32::from_le_bytes)
        }
        fn u64(&mut self) -> Option<u64> {
            self.take().map(u64::from_le_bytes)
        }
        fn i64(&mut self) -> Option<i64> {
            self.take().map(i64::from_le_bytes)
        }
    }
    let mut input = Bytes(bytes);
    let id = input.u64()?;
    if input.u32()? != 0 {
        return None; // not `WireActor::Customer`
    }
    let customer = input.u32()?;
    if customer > CUSTOMER_ID_MAX {
        return None;
    }
    let transfer = |input: &mut Bytes| {
        let asset = AssetId(input.u16()?);
        let network = match input.u8()? {
            0 => None,
            1 => Some(input.u8()?),
            _ => return None,
        };
        Some(Transfer { asset, network, amount_minor: input.i64()? })
    };
    // Variant numbers of `WireEvent`, in its declaration order.
    let operation = match input.u32()? {
        18 => {
            let market = MarketId(input.u16()?);
            let order_type = match input.u32()? {
                0 => OrderType::Market,
                1 => OrderType::Limit,
                2 => OrderType::PostOnly,
                _ => return None,
            };
            CustomerOperation::OrderSubmitted(OrderSubmitted { market, order_type, notional_minor: input.i64()? })
        }
        19 => CustomerOperation::OrderCancelled(OrderCancelled { market: MarketId(input.u16()?) }),
        20 => CustomerOperation::DepositReceived(transfer(&mut input)?),
        21 => CustomerOperation::WithdrawalRequested(transfer(&mut input)?),
        22 => {
            let action = match input.u32()? {
                0 => MarginAction::Open,
                1 => MarginAction::Close,
                _ => return None,
            };
            CustomerOperation::MarginRequested(MarginRequested { action, notional_minor: input.i64()? })
        }
        23 => CustomerOperation::SignupRequested,
        24 => CustomerOperation::LoginAttempted,
        _ => return None,
    };
    if input.u8()? != 0 || !input.0.is_empty() {
        return None; // a note, or bytes left over
    }
    Some(CustomerRecord { seq, at, id, customer, operation })
}

/// Reads exactly one `T` from `bytes`; bytes left over are an error.
fn read_exact<'de, T>(bytes: &'de [u8]) -> Result<T, wincode::ReadError>
where
    T: wincode::SchemaRead<'de, WireConfig, Dst = T>,
{
    wincode::config::deserialize_exact(bytes, WIRE_CONFIG)
}

/// The persisted shapes of event bodies. Each type derives wincode's schema (what is
/// written) and serde's (only so that tests can compare with bincode 1.3.3). Field and
/// variant order IS the format: never reorder, insert or remove; add a new schema
/// version instead.
#[doc(hidden)]
pub mod wire {
    use serde::{Deserialize, Serialize};
    use wincode::{SchemaRead, SchemaWrite};

    /// The body of schema version 4.
    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireBody {
        pub id: u64,
        pub actor: WireActor,
        pub event: WireEvent,
        pub note: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireActor {
        Customer(u32),
        Staff(String),
        System(String),
    }

    /// One variant per core `Event` variant: those of version 2 in core's order, then
    /// each variant added since, in the version that added it (never in between, so the
    /// tags of the others stay the same).
    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireEvent {
        VenueDeclared(WireVenueSpec),
        RoleGranted(WireRoleGranted),
        IncidentOpened(WireIncidentOpened),
        TheftRecorded(WireTheftRecorded),
        IncidentUpdated(WireIncidentUpdated),
        HoldPlaced(WireHoldPlaced),
        HoldLifted(WireHoldLifted),
        HoldModeSet(WireHoldModeSet),
        KeysRotated(WireKeysRotated),
        SecurityReviewPassed(WireSecurityReviewPassed),
        ApprovalGiven(WireApprovalGiven),
        CustodyTransferred(WireCustodyTransferred),
        CustodyReplenished(WireCustodyReplenished),
        RefundPaid(WireRefundPaid),
        ClaimsConverted(WireClaimsConverted),
        HaircutApplied(WireHaircutApplied),
        WithdrawalsSettled(WireWithdrawalsSettled),
        VenueCeased(WireVenueCeased),
        OrderSubmitted(WireOrderSubmitted),
        OrderCancelled(WireOrderCancelled),
        DepositReceived(WireTransfer),
        WithdrawalRequested(WireTransfer),
        MarginRequested(WireMarginRequested),
        SignupRequested,
        LoginAttempted,
        /// New in version 3.
        PhaseOpened(WirePhaseOpened),
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WirePhaseOpened {
        pub phase: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireAssetClass {
        Fiat,
        Crypto,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireAssetSpec {
        pub code: String,
        pub class: WireAssetClass,
        pub decimals: u8,
        pub networks: Vec<String>,
        pub liabilities_minor: i64,
        pub hot_minor: i64,
        pub cold_minor: i64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireVenueSpec {
        pub name: String,
        pub assets: Vec<WireAssetSpec>,
        pub markets: Vec<String>,
        pub margin: bool,
        pub approvals_required: Vec<String>,
        /// New in version 4: the rules version the log is folded with.
        pub rules: u32,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireWallet {
        Hot,
        Cold,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireIncidentCategory {
        WalletCompromise,
        Ddos,
        SoftwareFault,
        RegulatoryOrder,
        Insolvency,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireIncidentStatus {
        Investigating,
        Identified,
        Monitoring,
        Resolved,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireCause {
        Incident(String),
        Maintenance,
        RegulatorOrder(String),
        Insolvency,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireMode {
        Online,
        LimitOnly,
        PostOnly,
        CancelOnly,
        Halted,
        Open,
        Delayed,
        CloseOnly,
        ReadOnly,
        Closed,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireOrderType {
        Market,
        Limit,
        PostOnly,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub enum WireMarginAction {
        Open,
        Close,
    }

    /// `mantissa / 10^scale`, `scale` at most core's `DECIMAL_SCALE_MAX`.
    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireDecimal {
        pub mantissa: u64,
        pub scale: u8,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireRoleGranted {
        pub person: String,
        pub role: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireTheft {
        pub asset: String,
        pub wallet: WireWallet,
        pub amount_minor: i64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireIncidentOpened {
        pub incident: String,
        pub title: String,
        pub category: WireIncidentCategory,
        pub stolen: Vec<WireTheft>,
        /// Canonical selector texts.
        pub blast_radius: Vec<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireTheftRecorded {
        pub incident: String,
        pub stolen: Vec<WireTheft>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireIncidentUpdated {
        pub incident: String,
        pub status: WireIncidentStatus,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireHoldPlaced {
        pub hold: String,
        pub cause: WireCause,
        /// Canonical selector texts.
        pub services: Vec<String>,
        pub mode: Option<WireMode>,
        pub max_order_notional_minor: Option<i64>,
        pub reason: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireHoldLifted {
        pub hold: String,
        /// Canonical selector texts.
        pub services: Option<Vec<String>>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireHoldModeSet {
        pub hold: String,
        pub mode: WireMode,
        pub max_order_notional_minor: Option<i64>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireKeysRotated {
        pub incident: String,
        pub asset: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireSecurityReviewPassed {
        pub incident: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireApprovalGiven {
        pub incident: String,
        pub role: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireCustodyTransferred {
        pub asset: String,
        pub from: WireWallet,
        pub to: WireWallet,
        pub amount_minor: i64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireCustodyReplenished {
        pub incident: String,
        pub asset: String,
        pub wallet: WireWallet,
        pub amount_minor: i64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireRefundPaid {
        pub incident: Option<String>,
        pub asset: String,
        pub amount_minor: i64,
        pub customers: u32,
        pub reason: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireClaimsConverted {
        pub incident: String,
        pub from_asset: String,
        pub to_asset: String,
        pub rate: WireDecimal,
        pub held_minor: i64,
        pub customers: u32,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireHaircutApplied {
        pub incident: String,
        pub ratio: WireDecimal,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireWithdrawalsSettled {
        pub asset: String,
        pub network: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireVenueCeased {
        pub reason: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireOrderSubmitted {
        /// Index of the market in the declared venue.
        pub market: u16,
        pub order_type: WireOrderType,
        pub notional_minor: i64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireOrderCancelled {
        pub market: u16,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireTransfer {
        /// Index of the asset in the declared venue.
        pub asset: u16,
        /// Index of one of the asset's declared networks.
        pub network: Option<u8>,
        pub amount_minor: i64,
    }

    #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
    pub struct WireMarginRequested {
        pub action: WireMarginAction,
        pub notional_minor: i64,
    }

    /// Schema version 3, frozen: `venue_declared` had no `rules` (such a log is folded
    /// with rules version 1). Every other payload is the same as in version 4.
    pub mod v3 {
        use serde::{Deserialize, Serialize};
        use wincode::{SchemaRead, SchemaWrite};

        use super::{
            WireActor, WireApprovalGiven, WireAssetSpec, WireClaimsConverted, WireCustodyReplenished,
            WireCustodyTransferred, WireHaircutApplied, WireHoldLifted, WireHoldModeSet, WireHoldPlaced,
            WireIncidentOpened, WireIncidentUpdated, WireKeysRotated, WireMarginRequested, WireOrderCancelled,
            WireOrderSubmitted, WirePhaseOpened, WireRefundPaid, WireRoleGranted, WireSecurityReviewPassed,
            WireTheftRecorded, WireTransfer, WireVenueCeased, WireWithdrawalsSettled,
        };

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub struct WireBody {
            pub id: u64,
            pub actor: WireActor,
            pub event: WireEvent,
            pub note: Option<String>,
        }

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub struct WireVenueSpec {
            pub name: String,
            pub assets: Vec<WireAssetSpec>,
            pub markets: Vec<String>,
            pub margin: bool,
            pub approvals_required: Vec<String>,
        }

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub enum WireEvent {
            VenueDeclared(WireVenueSpec),
            RoleGranted(WireRoleGranted),
            IncidentOpened(WireIncidentOpened),
            TheftRecorded(WireTheftRecorded),
            IncidentUpdated(WireIncidentUpdated),
            HoldPlaced(WireHoldPlaced),
            HoldLifted(WireHoldLifted),
            HoldModeSet(WireHoldModeSet),
            KeysRotated(WireKeysRotated),
            SecurityReviewPassed(WireSecurityReviewPassed),
            ApprovalGiven(WireApprovalGiven),
            CustodyTransferred(WireCustodyTransferred),
            CustodyReplenished(WireCustodyReplenished),
            RefundPaid(WireRefundPaid),
            ClaimsConverted(WireClaimsConverted),
            HaircutApplied(WireHaircutApplied),
            WithdrawalsSettled(WireWithdrawalsSettled),
            VenueCeased(WireVenueCeased),
            OrderSubmitted(WireOrderSubmitted),
            OrderCancelled(WireOrderCancelled),
            DepositReceived(WireTransfer),
            WithdrawalRequested(WireTransfer),
            MarginRequested(WireMarginRequested),
            SignupRequested,
            LoginAttempted,
            PhaseOpened(WirePhaseOpened),
        }

        /// The upcast to version 4: a version 3 venue was declared under rules version 1.
        impl From<WireBody> for super::WireBody {
            fn from(body: WireBody) -> super::WireBody {
                use super::WireEvent as V4;
                let event = match body.event {
                    WireEvent::VenueDeclared(WireVenueSpec { name, assets, markets, margin, approvals_required }) => {
                        V4::VenueDeclared(super::WireVenueSpec {
                            name,
                            assets,
                            markets,
                            margin,
                            approvals_required,
                            rules: 1,
                        })
                    }
                    WireEvent::RoleGranted(payload) => V4::RoleGranted(payload),
                    WireEvent::IncidentOpened(payload) => V4::IncidentOpened(payload),
                    WireEvent::TheftRecorded(payload) => V4::TheftRecorded(payload),
                    WireEvent::IncidentUpdated(payload) => V4::IncidentUpdated(payload),
                    WireEvent::HoldPlaced(payload) => V4::HoldPlaced(payload),
                    WireEvent::HoldLifted(payload) => V4::HoldLifted(payload),
                    WireEvent::HoldModeSet(payload) => V4::HoldModeSet(payload),
                    WireEvent::KeysRotated(payload) => V4::KeysRotated(payload),
                    WireEvent::SecurityReviewPassed(payload) => V4::SecurityReviewPassed(payload),
                    WireEvent::ApprovalGiven(payload) => V4::ApprovalGiven(payload),
                    WireEvent::CustodyTransferred(payload) => V4::CustodyTransferred(payload),
                    WireEvent::CustodyReplenished(payload) => V4::CustodyReplenished(payload),
                    WireEvent::RefundPaid(payload) => V4::RefundPaid(payload),
                    WireEvent::ClaimsConverted(payload) => V4::ClaimsConverted(payload),
                    WireEvent::HaircutApplied(payload) => V4::HaircutApplied(payload),
                    WireEvent::WithdrawalsSettled(payload) => V4::WithdrawalsSettled(payload),
                    WireEvent::VenueCeased(payload) => V4::VenueCeased(payload),
                    WireEvent::OrderSubmitted(payload) => V4::OrderSubmitted(payload),
                    WireEvent::OrderCancelled(payload) => V4::OrderCancelled(payload),
                    WireEvent::DepositReceived(payload) => V4::DepositReceived(payload),
                    WireEvent::WithdrawalRequested(payload) => V4::WithdrawalRequested(payload),
                    WireEvent::MarginRequested(payload) => V4::MarginRequested(payload),
                    WireEvent::SignupRequested => V4::SignupRequested,
                    WireEvent::LoginAttempted => V4::LoginAttempted,
                    WireEvent::PhaseOpened(payload) => V4::PhaseOpened(payload),
                };
                super::WireBody { id: body.id, actor: body.actor, event, note: body.note }
            }
        }
    }

    /// Schema version 2, frozen: the events of version 3 but the phase marker. Every
    /// payload is the same as in version 3.
    pub mod v2 {
        use serde::{Deserialize, Serialize};
        use wincode::{SchemaRead, SchemaWrite};

        use super::v3::WireVenueSpec;
        use super::{
            WireActor, WireApprovalGiven, WireClaimsConverted, WireCustodyReplenished, WireCustodyTransferred,
            WireHaircutApplied, WireHoldLifted, WireHoldModeSet, WireHoldPlaced, WireIncidentOpened,
            WireIncidentUpdated, WireKeysRotated, WireMarginRequested, WireOrderCancelled, WireOrderSubmitted,
            WireRefundPaid, WireRoleGranted, WireSecurityReviewPassed, WireTheftRecorded, WireTransfer,
            WireVenueCeased, WireWithdrawalsSettled,
        };

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub struct WireBody {
            pub id: u64,
            pub actor: WireActor,
            pub event: WireEvent,
            pub note: Option<String>,
        }

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub enum WireEvent {
            VenueDeclared(WireVenueSpec),
            RoleGranted(WireRoleGranted),
            IncidentOpened(WireIncidentOpened),
            TheftRecorded(WireTheftRecorded),
            IncidentUpdated(WireIncidentUpdated),
            HoldPlaced(WireHoldPlaced),
            HoldLifted(WireHoldLifted),
            HoldModeSet(WireHoldModeSet),
            KeysRotated(WireKeysRotated),
            SecurityReviewPassed(WireSecurityReviewPassed),
            ApprovalGiven(WireApprovalGiven),
            CustodyTransferred(WireCustodyTransferred),
            CustodyReplenished(WireCustodyReplenished),
            RefundPaid(WireRefundPaid),
            ClaimsConverted(WireClaimsConverted),
            HaircutApplied(WireHaircutApplied),
            WithdrawalsSettled(WireWithdrawalsSettled),
            VenueCeased(WireVenueCeased),
            OrderSubmitted(WireOrderSubmitted),
            OrderCancelled(WireOrderCancelled),
            DepositReceived(WireTransfer),
            WithdrawalRequested(WireTransfer),
            MarginRequested(WireMarginRequested),
            SignupRequested,
            LoginAttempted,
        }

        /// The upcast to version 3: every version 2 event is a version 3 event.
        impl From<WireBody> for super::v3::WireBody {
            fn from(body: WireBody) -> super::v3::WireBody {
                use super::v3::WireEvent as V3;
                let event = match body.event {
                    WireEvent::VenueDeclared(payload) => V3::VenueDeclared(payload),
                    WireEvent::RoleGranted(payload) => V3::RoleGranted(payload),
                    WireEvent::IncidentOpened(payload) => V3::IncidentOpened(payload),
                    WireEvent::TheftRecorded(payload) => V3::TheftRecorded(payload),
                    WireEvent::IncidentUpdated(payload) => V3::IncidentUpdated(payload),
                    WireEvent::HoldPlaced(payload) => V3::HoldPlaced(payload),
                    WireEvent::HoldLifted(payload) => V3::HoldLifted(payload),
                    WireEvent::HoldModeSet(payload) => V3::HoldModeSet(payload),
                    WireEvent::KeysRotated(payload) => V3::KeysRotated(payload),
                    WireEvent::SecurityReviewPassed(payload) => V3::SecurityReviewPassed(payload),
                    WireEvent::ApprovalGiven(payload) => V3::ApprovalGiven(payload),
                    WireEvent::CustodyTransferred(payload) => V3::CustodyTransferred(payload),
                    WireEvent::CustodyReplenished(payload) => V3::CustodyReplenished(payload),
                    WireEvent::RefundPaid(payload) => V3::RefundPaid(payload),
                    WireEvent::ClaimsConverted(payload) => V3::ClaimsConverted(payload),
                    WireEvent::HaircutApplied(payload) => V3::HaircutApplied(payload),
                    WireEvent::WithdrawalsSettled(payload) => V3::WithdrawalsSettled(payload),
                    WireEvent::VenueCeased(payload) => V3::VenueCeased(payload),
                    WireEvent::OrderSubmitted(payload) => V3::OrderSubmitted(payload),
                    WireEvent::OrderCancelled(payload) => V3::OrderCancelled(payload),
                    WireEvent::DepositReceived(payload) => V3::DepositReceived(payload),
                    WireEvent::WithdrawalRequested(payload) => V3::WithdrawalRequested(payload),
                    WireEvent::MarginRequested(payload) => V3::MarginRequested(payload),
                    WireEvent::SignupRequested => V3::SignupRequested,
                    WireEvent::LoginAttempted => V3::LoginAttempted,
                };
                super::v3::WireBody { id: body.id, actor: body.actor, event, note: body.note }
            }
        }
    }

    /// Schema version 1, frozen: `hold_placed` had no order-size cap and no note (the
    /// `reason` text). Every other payload is the same as in version 2.
    pub mod v1 {
        use serde::{Deserialize, Serialize};
        use wincode::{SchemaRead, SchemaWrite};

        use super::v3::WireVenueSpec;
        use super::{
            WireActor, WireApprovalGiven, WireCause, WireClaimsConverted, WireCustodyReplenished,
            WireCustodyTransferred, WireHaircutApplied, WireHoldLifted, WireHoldModeSet, WireIncidentOpened,
            WireIncidentUpdated, WireKeysRotated, WireMarginRequested, WireMode, WireOrderCancelled,
            WireOrderSubmitted, WireRefundPaid, WireRoleGranted, WireSecurityReviewPassed, WireTheftRecorded,
            WireTransfer, WireVenueCeased, WireWithdrawalsSettled,
        };

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub struct WireBody {
            pub id: u64,
            pub actor: WireActor,
            pub event: WireEvent,
            pub note: Option<String>,
        }

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub enum WireEvent {
            VenueDeclared(WireVenueSpec),
            RoleGranted(WireRoleGranted),
            IncidentOpened(WireIncidentOpened),
            TheftRecorded(WireTheftRecorded),
            IncidentUpdated(WireIncidentUpdated),
            HoldPlaced(WireHoldPlaced),
            HoldLifted(WireHoldLifted),
            HoldModeSet(WireHoldModeSet),
            KeysRotated(WireKeysRotated),
            SecurityReviewPassed(WireSecurityReviewPassed),
            ApprovalGiven(WireApprovalGiven),
            CustodyTransferred(WireCustodyTransferred),
            CustodyReplenished(WireCustodyReplenished),
            RefundPaid(WireRefundPaid),
            ClaimsConverted(WireClaimsConverted),
            HaircutApplied(WireHaircutApplied),
            WithdrawalsSettled(WireWithdrawalsSettled),
            VenueCeased(WireVenueCeased),
            OrderSubmitted(WireOrderSubmitted),
            OrderCancelled(WireOrderCancelled),
            DepositReceived(WireTransfer),
            WithdrawalRequested(WireTransfer),
            MarginRequested(WireMarginRequested),
            SignupRequested,
            LoginAttempted,
        }

        #[derive(Debug, Clone, PartialEq, Eq, SchemaWrite, SchemaRead, Serialize, Deserialize)]
        pub struct WireHoldPlaced {
            pub hold: String,
            pub cause: WireCause,
            pub services: Vec<String>,
            pub mode: Option<WireMode>,
        }

        /// The upcast to version 2: a version 1 hold has no cap and no reason.
        impl From<WireBody> for super::v2::WireBody {
            fn from(body: WireBody) -> super::v2::WireBody {
                use super::v2::WireEvent as V2;
                let event = match body.event {
                    WireEvent::VenueDeclared(payload) => V2::VenueDeclared(payload),
                    WireEvent::RoleGranted(payload) => V2::RoleGranted(payload),
                    WireEvent::IncidentOpened(payload) => V2::IncidentOpened(payload),
                    WireEvent::TheftRecorded(payload) => V2::TheftRecorded(payload),
                    WireEvent::IncidentUpdated(payload) => V2::IncidentUpdated(payload),
                    WireEvent::HoldPlaced(WireHoldPlaced { hold, cause, services, mode }) => {
                        V2::HoldPlaced(super::WireHoldPlaced {
                            hold,
                            cause,
                            services,
                            mode,
                            max_order_notional_minor: None,
                            reason: None,
                        })
                    }
                    WireEvent::HoldLifted(payload) => V2::HoldLifted(payload),
                    WireEvent::HoldModeSet(payload) => V2::HoldModeSet(payload),
                    WireEvent::KeysRotated(payload) => V2::KeysRotated(payload),
                    WireEvent::SecurityReviewPassed(payload) => V2::SecurityReviewPassed(payload),
                    WireEvent::ApprovalGiven(payload) => V2::ApprovalGiven(payload),
                    WireEvent::CustodyTransferred(payload) => V2::CustodyTransferred(payload),
                    WireEvent::CustodyReplenished(payload) => V2::CustodyReplenished(payload),
                    WireEvent::RefundPaid(payload) => V2::RefundPaid(payload),
                    WireEvent::ClaimsConverted(payload) => V2::ClaimsConverted(payload),
                    WireEvent::HaircutApplied(payload) => V2::HaircutApplied(payload),
                    WireEvent::WithdrawalsSettled(payload) => V2::WithdrawalsSettled(payload),
                    WireEvent::VenueCeased(payload) => V2::VenueCeased(payload),
                    WireEvent::OrderSubmitted(payload) => V2::OrderSubmitted(payload),
                    WireEvent::OrderCancelled(payload) => V2::OrderCancelled(payload),
                    WireEvent::DepositReceived(payload) => V2::DepositReceived(payload),
                    WireEvent::WithdrawalRequested(payload) => V2::WithdrawalRequested(payload),
                    WireEvent::MarginRequested(payload) => V2::MarginRequested(payload),
                    WireEvent::SignupRequested => V2::SignupRequested,
                    WireEvent::LoginAttempted => V2::LoginAttempted,
                };
                super::v2::WireBody { id: body.id, actor: body.actor, event, note: body.note }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Domain → wire (encoding) and wire → domain (decoding).
// ---------------------------------------------------------------------------------------

impl WireBody {
    /// The wire form of `envelope`'s body; `seq` and `at` are left to the record header.
    /// Fails on values that could not be read back equal (see the module docs).
    pub fn from_envelope(envelope: &Envelope) -> Result<WireBody, CodecError> {
        Ok(WireBody {
            id: envelope.id,
            actor: actor_to_wire(&envelope.actor)?,
            event: event_to_wire(&envelope.event)?,
            note: envelope.note.clone(),
        })
    }

    /// The envelope this body describes, with `seq` and `at` from the record header.
    pub fn into_envelope(self, seq: u64, at: Timestamp) -> Result<Envelope, CodecError> {
        Ok(Envelope {
            seq,
            at,
            id: self.id,
            actor: actor_from_wire(self.actor)?,
            event: event_from_wire(self.event)?,
            note: self.note,
        })
    }
}

/// Customer ids must be within core's bound; staff and system names must be names
/// `Actor::parse` accepts.
fn check_actor(actor: &Actor) -> Result<(), CodecError> {
    match actor {
        Actor::Customer(id) if *id <= CUSTOMER_ID_MAX => Ok(()),
        Actor::Customer(id) => {
            Err(CodecError::new(format!("customer id {id} is above the largest customer id {CUSTOMER_ID_MAX}")))
        }
        Actor::Staff(_) | Actor::System(_) => match Actor::parse(&actor.to_string()) {
            Ok(parsed) if parsed == *actor => Ok(()),
            Ok(_) => Err(CodecError::new(format!("actor {actor:?} does not survive its text form `{actor}`"))),
            Err(error) => Err(CodecError::new(error)),
        },
    }
}

fn actor_to_wire(actor: &Actor) -> Result<WireActor, CodecError> {
    check_actor(actor)?;
    Ok(match actor {
        Actor::Customer(id) => WireActor::Customer(*id),
        Actor::Staff(name) => WireActor::Staff(name.clone()),
        Actor::System(name) => WireActor::System(name.clone()),
    })
}

fn actor_from_wire(actor: WireActor) -> Result<Actor, CodecError> {
    let actor = match actor {
        WireActor::Customer(id) => Actor::Customer(id),
        WireActor::Staff(name) => Actor::Staff(name),
        WireActor::System(name) => Actor::System(name),
    };
    check_actor(&actor)?;
    Ok(actor)
}

fn selector_to_wire(selector: &Selector) -> Result<String, CodecError> {
    let text = selector.to_string();
    match Selector::parse(&text) {
        Ok(parsed) if parsed == *selector => Ok(text),
        _ => Err(CodecError::new(format!(
            "selector {selector:?} cannot be stored: its text form `{text}` does not parse back to it"
        ))),
    }
}

fn selectors_to_wire(selectors: &[Selector]) -> Result<Vec<String>, CodecError> {
    selectors.iter().map(selector_to_wire).collect()
}

fn selector_from_wire(text: String) -> Result<Selector, CodecError> {
    let selector = Selector::parse(&text).map_err(|error| CodecError::new(format!("stored {error}")))?;
    if selector.to_string() != text {
        return Err(CodecError::new(format!("stored selector `{text}` is not in its canonical form `{selector}`")));
    }
    Ok(selector)
}

fn selectors_from_wire(texts: Vec<String>) -> Result<Vec<Selector>, CodecError> {
    texts.into_iter().map(selector_from_wire).collect()
}

fn decimal_to_wire(decimal: Decimal) -> Result<WireDecimal, CodecError> {
    if decimal.scale > DECIMAL_SCALE_MAX {
        return Err(CodecError::new(format!(
            "decimal {decimal:?} has scale {}; at most {DECIMAL_SCALE_MAX}",
            decimal.scale
        )));
    }
    Ok(WireDecimal { mantissa: decimal.mantissa, scale: decimal.scale })
}

fn decimal_from_wire(decimal: WireDecimal) -> Result<Decimal, CodecError> {
    if decimal.scale > DECIMAL_SCALE_MAX {
        return Err(CodecError::new(format!(
            "stored decimal {}e-{} has scale {}; at most {DECIMAL_SCALE_MAX}",
            decimal.mantissa, decimal.scale, decimal.scale
        )));
    }
    Ok(Decimal { mantissa: decimal.mantissa, scale: decimal.scale })
}

fn asset_class_to_wire(class: AssetClass) -> WireAssetClass {
    match class {
        AssetClass::Fiat => WireAssetClass::Fiat,
        AssetClass::Crypto => WireAssetClass::Crypto,
    }
}

fn asset_class_from_wire(class: WireAssetClass) -> AssetClass {
    match class {
        WireAssetClass::Fiat => AssetClass::Fiat,
        WireAssetClass::Crypto => AssetClass::Crypto,
    }
}

fn wallet_to_wire(wallet: Wallet) -> WireWallet {
    match wallet {
        Wallet::Hot => WireWallet::Hot,
        Wallet::Cold => WireWallet::Cold,
    }
}

fn wallet_from_wire(wallet: WireWallet) -> Wallet {
    match wallet {
        WireWallet::Hot => Wallet::Hot,
        WireWallet::Cold => Wallet::Cold,
    }
}

fn category_to_wire(category: IncidentCategory) -> WireIncidentCategory {
    match category {
        IncidentCategory::WalletCompromise => WireIncidentCategory::WalletCompromise,
        IncidentCategory::Ddos => WireIncidentCategory::Ddos,
        IncidentCategory::SoftwareFault => WireIncidentCategory::SoftwareFault,
        IncidentCategory::RegulatoryOrder => WireIncidentCategory::RegulatoryOrder,
        IncidentCategory::Insolvency => WireIncidentCategory::Insolvency,
    }
}

fn category_from_wire(category: WireIncidentCategory) -> IncidentCategory {
    match category {
        WireIncidentCategory::WalletCompromise => IncidentCategory::WalletCompromise,
        WireIncidentCategory::Ddos => IncidentCategory::Ddos,
        WireIncidentCategory::SoftwareFault => IncidentCategory::SoftwareFault,
        WireIncidentCategory::RegulatoryOrder => IncidentCategory::RegulatoryOrder,
        WireIncidentCategory::Insolvency => IncidentCategory::Insolvency,
    }
}

fn status_to_wire(status: IncidentStatus) -> WireIncidentStatus {
    match status {
        IncidentStatus::Investigating => WireIncidentStatus::Investigating,
        IncidentStatus::Identified => WireIncidentStatus::Identified,
        IncidentStatus::Monitoring => WireIncidentStatus::Monitoring,
        IncidentStatus::Resolved => WireIncidentStatus::Resolved,
    }
}

fn status_from_wire(status: WireIncidentStatus) -> IncidentStatus {
    match status {
        WireIncidentStatus::Investigating => IncidentStatus::Investigating,
        WireIncidentStatus::Identified => IncidentStatus::Identified,
        WireIncidentStatus::Monitoring => IncidentStatus::Monitoring,
        WireIncidentStatus::Resolved => IncidentStatus::Resolved,
    }
}

fn cause_to_wire(cause: &Cause) -> WireCause {
    match cause {
        Cause::Incident(incident) => WireCause::Incident(incident.clone()),
        Cause::Maintenance => WireCause::Maintenance,
        Cause::RegulatorOrder(reference) => WireCause::RegulatorOrder(reference.clone()),
        Cause::Insolvency => WireCause::Insolvency,
    }
}

fn cause_from_wire(cause: WireCause) -> Cause {
    match cause {
        WireCause::Incident(incident) => Cause::Incident(incident),
        WireCause::Maintenance => Cause::Maintenance,
        WireCause::RegulatorOrder(reference) => Cause::RegulatorOrder(reference),
        WireCause::Insolvency => Cause::Insolvency,
    }
}

fn mode_to_wire(mode: Mode) -> WireMode {
    match mode {
        Mode::Online => WireMode::Online,
        Mode::LimitOnly => WireMode::LimitOnly,
        Mode::PostOnly => WireMode::PostOnly,
        Mode::CancelOnly => WireMode::CancelOnly,
        Mode::Halted => WireMode::Halted,
        Mode::Open => WireMode::Open,
        Mode::Delayed => WireMode::Delayed,
        Mode::CloseOnly => WireMode::CloseOnly,
        Mode::ReadOnly => WireMode::ReadOnly,
        Mode::Closed => WireMode::Closed,
    }
}

fn mode_from_wire(mode: WireMode) -> Mode {
    match mode {
        WireMode::Online => Mode::Online,
        WireMode::LimitOnly => Mode::LimitOnly,
        WireMode::PostOnly => Mode::PostOnly,
        WireMode::CancelOnly => Mode::CancelOnly,
        WireMode::Halted => Mode::Halted,
        WireMode::Open => Mode::Open,
        WireMode::Delayed => Mode::Delayed,
        WireMode::CloseOnly => Mode::CloseOnly,
        WireMode::ReadOnly => Mode::ReadOnly,
        WireMode::Closed => Mode::Closed,
    }
}

fn order_type_to_wire(order_type: OrderType) -> WireOrderType {
    match order_type {
        OrderType::Market => WireOrderType::Market,
        OrderType::Limit => WireOrderType::Limit,
        OrderType::PostOnly => WireOrderType::PostOnly,
    }
}

fn order_type_from_wire(order_type: WireOrderType) -> OrderType {
    match order_type {
        WireOrderType::Market => OrderType::Market,
        WireOrderType::Limit => OrderType::Limit,
        WireOrderType::PostOnly => OrderType::PostOnly,
    }
}

fn margin_action_to_wire(action: MarginAction) -> WireMarginAction {
    match action {
        MarginAction::Open => WireMarginAction::Open,
        MarginAction::Close => WireMarginAction::Close,
    }
}

fn margin_action_from_wire(action: WireMarginAction) -> MarginAction {
    match action {
        WireMarginAction::Open => MarginAction::Open,
        WireMarginAction::Close => MarginAction::Close,
    }
}

fn thefts_to_wire(thefts: &[Theft]) -> Vec<WireTheft> {
    thefts
        .iter()
        .map(|theft| WireTheft {
            asset: theft.asset.clone(),
            wallet: wallet_to_wire(theft.wallet),
            amount_minor: theft.amount_minor,
        })
        .collect()
}

fn thefts_from_wire(thefts: Vec<WireTheft>) -> Vec<Theft> {
    thefts
        .into_iter()
        .map(|theft| Theft {
            asset: theft.asset,
            wallet: wallet_from_wire(theft.wallet),
            amount_minor: theft.amount_minor,
        })
        .collect()
}

fn venue_to_wire(venue: &VenueSpec) -> WireVenueSpec {
    WireVenueSpec {
        name: venue.name.clone(),
        assets: venue
            .assets
            .iter()
            .map(|asset| WireAssetSpec {
                code: asset.code.clone(),
                class: asset_class_to_wire(asset.class),
                decimals: asset.decimals,
                networks: asset.networks.clone(),
                liabilities_minor: asset.liabilities_minor,
                hot_minor: asset.hot_minor,
                cold_minor: asset.cold_minor,
            })
            .collect(),
        markets: venue.markets.clone(),
        margin: venue.margin,
        approvals_required: venue.approvals_required.clone(),
        rules: venue.rules.get(),
    }
}

fn venue_from_wire(venue: WireVenueSpec) -> Result<VenueSpec, CodecError> {
    let rules = RulesVersion::new(venue.rules)
        .map_err(|error| CodecError { message: format!("field `rules`: {error}"), rules: Some(error) })?;
    Ok(VenueSpec {
        name: venue.name,
        assets: venue
            .assets
            .into_iter()
            .map(|asset| AssetSpec {
                code: asset.code,
                class: asset_class_from_wire(asset.class),
                decimals: asset.decimals,
                networks: asset.networks,
                liabilities_minor: asset.liabilities_minor,
                hot_minor: asset.hot_minor,
                cold_minor: asset.cold_minor,
            })
            .collect(),
        markets: venue.markets,
        margin: venue.margin,
        approvals_required: venue.approvals_required,
        rules,
    })
}

fn transfer_to_wire(transfer: &Transfer) -> WireTransfer {
    WireTransfer { asset: transfer.asset.0, network: transfer.network, amount_minor: transfer.amount_minor }
}

fn transfer_from_wire(transfer: WireTransfer) -> Transfer {
    Transfer { asset: AssetId(transfer.asset), network: transfer.network, amount_minor: transfer.amount_minor }
}

fn event_to_wire(event: &Event) -> Result<WireEvent, CodecError> {
    Ok(match event {
        Event::VenueDeclared(venue) => WireEvent::VenueDeclared(venue_to_wire(venue)),
        Event::RoleGranted(RoleGranted { person, role }) => {
            WireEvent::RoleGranted(WireRoleGranted { person: person.clone(), role: role.clone() })
        }
        Event::IncidentOpened(IncidentOpened { incident, title, category, stolen, blast_radius }) => {
            WireEvent::IncidentOpened(WireIncidentOpened {
                incident: incident.clone(),
                title: title.clone(),
                category: category_to_wire(*category),
                stolen: thefts_to_wire(stolen),
                blast_radius: selectors_to_wire(blast_radius)?,
            })
        }
        Event::TheftRecorded(TheftRecorded { incident, stolen }) => {
            WireEvent::TheftRecorded(WireTheftRecorded { incident: incident.clone(), stolen: thefts_to_wire(stolen) })
        }
        Event::IncidentUpdated(IncidentUpdated { incident, status }) => {
            WireEvent::IncidentUpdated(WireIncidentUpdated {
                incident: incident.clone(),
                status: status_to_wire(*status),
            })
        }
        Event::HoldPlaced(HoldPlaced { hold, cause, services, mode, max_order_notional_minor, reason }) => {
            WireEvent::HoldPlaced(WireHoldPlaced {
                hold: hold.clone(),
                cause: cause_to_wire(cause),
                services: selectors_to_wire(services)?,
                mode: mode.map(mode_to_wire),
                max_order_notional_minor: *max_order_notional_minor,
                reason: reason.clone(),
            })
        }
        Event::HoldLifted(HoldLifted { hold, services }) => WireEvent::HoldLifted(WireHoldLifted {
            hold: hold.clone(),
            services: services.as_deref().map(selectors_to_wire).transpose()?,
        }),
        Event::HoldModeSet(HoldModeSet { hold, mode, max_order_notional_minor }) => {
            WireEvent::HoldModeSet(WireHoldModeSet {
                hold: hold.clone(),
                mode: mode_to_wire(*mode),
                max_order_notional_minor: *max_order_notional_minor,
            })
        }
        Event::KeysRotated(KeysRotated { incident, asset }) => {
            WireEvent::KeysRotated(WireKeysRotated { incident: incident.clone(), asset: asset.clone() })
        }
        Event::SecurityReviewPassed(SecurityReviewPassed { incident }) => {
            WireEvent::SecurityReviewPassed(WireSecurityReviewPassed { incident: incident.clone() })
        }
        Event::ApprovalGiven(ApprovalGiven { incident, role }) => {
            WireEvent::ApprovalGiven(WireApprovalGiven { incident: incident.clone(), role: role.clone() })
        }
        Event::CustodyTransferred(CustodyTransferred { asset, from, to, amount_minor }) => {
            WireEvent::CustodyTransferred(WireCustodyTransferred {
                asset: asset.clone(),
                from: wallet_to_wire(*from),
                to: wallet_to_wire(*to),
                amount_minor: *amount_minor,
            })
        }
        Event::CustodyReplenished(CustodyReplenished { incident, asset, wallet, amount_minor }) => {
            WireEvent::CustodyReplenished(WireCustodyReplenished {
                incident: incident.clone(),
                asset: asset.clone(),
                wallet: wallet_to_wire(*wallet),
                amount_minor: *amount_minor,
            })
        }
        Event::RefundPaid(RefundPaid { incident, asset, amount_minor, customers, reason }) => {
            WireEvent::RefundPaid(WireRefundPaid {
                incident: incident.clone(),
                asset: asset.clone(),
                amount_minor: *amount_minor,
                customers: *customers,
                reason: reason.clone(),
            })
        }
        Event::ClaimsConverted(ClaimsConverted { incident, from_asset, to_asset, rate, held_minor, customers }) => {
            WireEvent::ClaimsConverted(WireClaimsConverted {
                incident: incident.clone(),
                from_asset: from_asset.clone(),
                to_asset: to_asset.clone(),
                rate: decimal_to_wire(*rate)?,
                held_minor: *held_minor,
                customers: *customers,
            })
        }
        Event::HaircutApplied(HaircutApplied { incident, ratio }) => WireEvent::HaircutApplied(WireHaircutApplied {
            incident: incident.clone(),
            ratio: decimal_to_wire(*ratio)?,
        }),
        Event::WithdrawalsSettled(WithdrawalsSettled { asset, network }) => {
            WireEvent::WithdrawalsSettled(WireWithdrawalsSettled { asset: asset.clone(), network: network.clone() })
        }
        Event::VenueCeased(VenueCeased { reason }) => {
            WireEvent::VenueCeased(WireVenueCeased { reason: reason.clone() })
        }
        Event::PhaseOpened(PhaseOpened { phase }) => WireEvent::PhaseOpened(WirePhaseOpened { phase: phase.clone() }),
        Event::OrderSubmitted(OrderSubmitted { market, order_type, notional_minor }) => {
            WireEvent::OrderSubmitted(WireOrderSubmitted {
                market: market.0,
                order_type: order_type_to_wire(*order_type),
                notional_minor: *notional_minor,
            })
        }
        Event::OrderCancelled(OrderCancelled { market }) => {
            WireEvent::OrderCancelled(WireOrderCancelled { market: market.0 })
        }
        Event::DepositReceived(transfer) => WireEvent::DepositReceived(transfer_to_wire(transfer)),
        Event::WithdrawalRequested(transfer) => WireEvent::WithdrawalRequested(transfer_to_wire(transfer)),
        Event::MarginRequested(MarginRequested { action, notional_minor }) => {
            WireEvent::MarginRequested(WireMarginRequested {
                action: margin_action_to_wire(*action),
                notional_minor: *notional_minor,
            })
        }
        Event::SignupRequested => WireEvent::SignupRequested,
        Event::LoginAttempted => WireEvent::LoginAttempted,
    })
}

fn event_from_wire(event: WireEvent) -> Result<Event, CodecError> {
    Ok(match event {
        WireEvent::VenueDeclared(venue) => Event::VenueDeclared(venue_from_wire(venue)?),
        WireEvent::RoleGranted(WireRoleGranted { person, role }) => Event::RoleGranted(RoleGranted { person, role }),
        WireEvent::IncidentOpened(WireIncidentOpened { incident, title, category, stolen, blast_radius }) => {
            Event::IncidentOpened(IncidentOpened {
                incident,
                title,
                category: category_from_wire(category),
                stolen: thefts_from_wire(stolen),
                blast_radius: selectors_from_wire(blast_radius)?,
            })
        }
        WireEvent::TheftRecorded(WireTheftRecorded { incident, stolen }) => {
            Event::TheftRecorded(TheftRecorded { incident, stolen: thefts_from_wire(stolen) })
        }
        WireEvent::IncidentUpdated(WireIncidentUpdated { incident, status }) => {
            Event::IncidentUpdated(IncidentUpdated { incident, status: status_from_wire(status) })
        }
        WireEvent::HoldPlaced(WireHoldPlaced { hold, cause, services, mode, max_order_notional_minor, reason }) => {
            Event::HoldPlaced(HoldPlaced {
                hold,
                cause: cause_from_wire(cause),
                services: selectors_from_wire(services)?,
                mode: mode.map(mode_from_wire),
                max_order_notional_minor,
                reason,
            })
        }
        WireEvent::HoldLifted(WireHoldLifted { hold, services }) => {
            Event::HoldLifted(HoldLifted { hold, services: services.map(selectors_from_wire).transpose()? })
        }
        WireEvent::HoldModeSet(WireHoldModeSet { hold, mode, max_order_notional_minor }) => {
            Event::HoldModeSet(HoldModeSet { hold, mode: mode_from_wire(mode), max_order_notional_minor })
        }
        WireEvent::KeysRotated(WireKeysRotated { incident, asset }) => {
            Event::KeysRotated(KeysRotated { incident, asset })
        }
        WireEvent::SecurityReviewPassed(WireSecurityReviewPassed { incident }) => {
            Event::SecurityReviewPassed(SecurityReviewPassed { incident })
        }
        WireEvent::ApprovalGiven(WireApprovalGiven { incident, role }) => {
            Event::ApprovalGiven(ApprovalGiven { incident, role })
        }
        WireEvent::CustodyTransferred(WireCustodyTransferred { asset, from, to, amount_minor }) => {
            Event::CustodyTransferred(CustodyTransferred {
                asset,
                from: wallet_from_wire(from),
                to: wallet_from_wire(to),
                amount_minor,
            })
        }
        WireEvent::CustodyReplenished(WireCustodyReplenished { incident, asset, wallet, amount_minor }) => {
            Event::CustodyReplenished(CustodyReplenished {
                incident,
                asset,
                wallet: wallet_from_wire(wallet),
                amount_minor,
            })
        }
        WireEvent::RefundPaid(WireRefundPaid { incident, asset, amount_minor, customers, reason }) => {
            Event::RefundPaid(RefundPaid { incident, asset, amount_minor, customers, reason })
        }
        WireEvent::ClaimsConverted(WireClaimsConverted {
            incident,
            from_asset,
            to_asset,
            rate,
            held_minor,
            customers,
        }) => Event::ClaimsConverted(ClaimsConverted {
            incident,
            from_asset,
            to_asset,
            rate: decimal_from_wire(rate)?,
            held_minor,
            customers,
        }),
        WireEvent::HaircutApplied(WireHaircutApplied { incident, ratio }) => {
            Event::HaircutApplied(HaircutApplied { incident, ratio: decimal_from_wire(ratio)? })
        }
        WireEvent::WithdrawalsSettled(WireWithdrawalsSettled { asset, network }) => {
            Event::WithdrawalsSettled(WithdrawalsSettled { asset, network })
        }
        WireEvent::VenueCeased(WireVenueCeased { reason }) => Event::VenueCeased(VenueCeased { reason }),
        WireEvent::PhaseOpened(WirePhaseOpened { phase }) => Event::PhaseOpened(PhaseOpened { phase }),
        WireEvent::OrderSubmitted(WireOrderSubmitted { market, order_type, notional_minor }) => {
            Event::OrderSubmitted(OrderSubmitted {
                market: MarketId(market),
                order_type: order_type_from_wire(order_type),
                notional_minor,
            })
        }
        WireEvent::OrderCancelled(WireOrderCancelled { market }) => {
            Event::OrderCancelled(OrderCancelled { market: MarketId(market) })
        }
        WireEvent::DepositReceived(transfer) => Event::DepositReceived(transfer_from_wire(transfer)),
        WireEvent::WithdrawalRequested(transfer) => Event::WithdrawalRequested(transfer_from_wire(transfer)),
        WireEvent::MarginRequested(WireMarginRequested { action, notional_minor }) => {
            Event::MarginRequested(MarginRequested { action: margin_action_from_wire(action), notional_minor })
        }
        WireEvent::SignupRequested => Event::SignupRequested,
        WireEvent::LoginAttempted => Event::LoginAttempted,
    })
}

#[cfg(test)]
mod customer_operation_tests {
    use proptest::prelude::*;

    use super::*;

    fn customer_event() -> impl Strategy<Value = Event> {
        let transfer = (any::<u16>(), prop::option::of(any::<u8>()), any::<i64>())
            .prop_map(|(asset, network, amount_minor)| Transfer { asset: AssetId(asset), network, amount_minor });
        prop_oneof![
            (any::<u16>(), 0..3_usize, any::<i64>()).prop_map(|(market, order_type, notional_minor)| {
                Event::OrderSubmitted(OrderSubmitted {
                    market: MarketId(market),
                    order_type: [OrderType::Market, OrderType::Limit, OrderType::PostOnly][order_type],
                    notional_minor,
                })
            }),
            any::<u16>().prop_map(|market| Event::OrderCancelled(OrderCancelled { market: MarketId(market) })),
            transfer.clone().prop_map(Event::DepositReceived),
            transfer.prop_map(Event::WithdrawalRequested),
            (any::<bool>(), any::<i64>()).prop_map(|(open, notional_minor)| {
                let action = if open { MarginAction::Open } else { MarginAction::Close };
                Event::MarginRequested(MarginRequested { action, notional_minor })
            }),
            Just(Event::SignupRequested),
            Just(Event::LoginAttempted),
        ]
    }

    fn envelope() -> impl Strategy<Value = Envelope> {
        (any::<u64>(), 0..=CUSTOMER_ID_MAX, customer_event(), prop::option::of("[a-z ]{0,8}")).prop_map(
            |(id, customer, event, note)| Envelope {
                seq: 7,
                at: Timestamp::from_unix_micros(70),
                id,
                actor: Actor::Customer(customer),
                event,
                note,
            },
        )
    }

    /// Whatever the short path reads, the general path reads the same.
    fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
        let at = Timestamp::from_unix_micros(70);
        if let Some(short) = decode_customer_operation(7, at, bytes) {
            let short = Envelope::from(short);
            let general = decode_body_generally(EVENT_SCHEMA_VERSION, 7, at, bytes);
            prop_assert_eq!(general.as_ref().ok(), Some(&short), "bytes {:?}", bytes);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn the_short_path_reads_every_customer_operation_without_a_note(envelope in envelope()) {
            let mut bytes = Vec::new();
            encode_body(&envelope, &mut bytes).expect("encodes");
            let short = decode_customer_operation(envelope.seq, envelope.at, &bytes);
            prop_assert_eq!(short.is_some(), envelope.note.is_none());
            agree(&bytes)?;
            prop_assert_eq!(decode_body(EVENT_SCHEMA_VERSION, envelope.seq, envelope.at, &bytes).ok(), Some(envelope));
        }

        #[test]
        fn changed_bytes_are_read_alike_or_left_to_the_general_path(
            envelope in envelope(),
            changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
            extra in prop::collection::vec(any::<u8>(), 0..3),
        ) {
            let mut bytes = Vec::new();
            encode_body(&envelope, &mut bytes).expect("encodes");
            for (index, byte) in &changes {
                let at = index.index(bytes.len());
                bytes[at] = *byte;
            }
            agree(&bytes)?;
            agree(&bytes[..cut.index(bytes.len() + 1)])?;
            bytes.extend_from_slice(&extra);
            agree(&bytes)?;
        }
    }
}
