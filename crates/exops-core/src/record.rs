//! Events split by sender, for the fold's hot path. A customer operation by a customer
//! with no note (~99% of a busy log) is a [`CustomerRecord`]: 56 bytes, `Copy`, no heap.
//! Everything else (operator events, and the rare customer operation that carries a note
//! or comes from a non-customer, which the state then rejects) stays a whole [`Envelope`],
//! boxed so that a [`Record`] is one cache line where an `Envelope` is 208 bytes.
//!
//! A record folds exactly as the envelope it stands for: [`Record::from`] and
//! [`Record::into_envelope`] convert both ways without loss, and [`State::apply_record`]
//! gives the outcome [`State::apply`] gives the envelope (a property test in the state's
//! tests holds them to it).
//!
//! [`State::apply_record`]: crate::State::apply_record
//! [`State::apply`]: crate::State::apply

use crate::{Actor, Envelope, Event, MarginRequested, OrderCancelled, OrderSubmitted, Timestamp, Transfer};

/// The operations customers send, each gated by the state: the customer half of
/// [`Event`], as a small `Copy` value.
///
/// ```
/// use exops_core::{CustomerOperation, Event};
/// let operation = Event::LoginAttempted.customer_operation().unwrap();
/// assert_eq!(operation, CustomerOperation::LoginAttempted);
/// assert_eq!(Event::from(operation), Event::LoginAttempted);
/// assert_eq!(operation.kind_name(), "login_attempted");
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CustomerOperation {
    OrderSubmitted(OrderSubmitted),
    OrderCancelled(OrderCancelled),
    DepositReceived(Transfer),
    WithdrawalRequested(Transfer),
    MarginRequested(MarginRequested),
    SignupRequested,
    LoginAttempted,
}

impl CustomerOperation {
    /// The `kind` this operation has in JSON Lines (that of its [`Event`]).
    pub fn kind_name(self) -> &'static str {
        Event::from(self).kind_name()
    }
}

impl From<CustomerOperation> for Event {
    fn from(operation: CustomerOperation) -> Event {
        match operation {
            CustomerOperation::OrderSubmitted(order) => Event::OrderSubmitted(order),
            CustomerOperation::OrderCancelled(cancel) => Event::OrderCancelled(cancel),
            CustomerOperation::DepositReceived(transfer) => Event::DepositReceived(transfer),
            CustomerOperation::WithdrawalRequested(transfer) => Event::WithdrawalRequested(transfer),
            CustomerOperation::MarginRequested(request) => Event::MarginRequested(request),
            CustomerOperation::SignupRequested => Event::SignupRequested,
            CustomerOperation::LoginAttempted => Event::LoginAttempted,
        }
    }
}

impl Event {
    /// The customer operation this event is, if it is one (see
    /// [`Event::is_customer_operation`]).
    #[inline]
    pub fn customer_operation(&self) -> Option<CustomerOperation> {
        Some(match *self {
            Event::OrderSubmitted(order) => CustomerOperation::OrderSubmitted(order),
            Event::OrderCancelled(cancel) => CustomerOperation::OrderCancelled(cancel),
            Event::DepositReceived(transfer) => CustomerOperation::DepositReceived(transfer),
            Event::WithdrawalRequested(transfer) => CustomerOperation::WithdrawalRequested(transfer),
            Event::MarginRequested(request) => CustomerOperation::MarginRequested(request),
            Event::SignupRequested => CustomerOperation::SignupRequested,
            Event::LoginAttempted => CustomerOperation::LoginAttempted,
            _ => return None,
        })
    }
}

/// A customer operation by a customer, without a note: an [`Envelope`] in 56 bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CustomerRecord {
    pub seq: u64,
    pub at: Timestamp,
    /// The customer's own number for the operation (see [`Envelope::id`]).
    pub id: u64,
    pub customer: u32,
    pub operation: CustomerOperation,
}

impl From<CustomerRecord> for Envelope {
    fn from(record: CustomerRecord) -> Envelope {
        Envelope {
            seq: record.seq,
            at: record.at,
            id: record.id,
            actor: Actor::Customer(record.customer),
            event: record.operation.into(),
            note: None,
        }
    }
}

/// One event of the log as the fold takes it: a small customer record, or a boxed
/// envelope for everything else.
///
/// ```
/// use exops_core::{Actor, Envelope, Event, Record, Timestamp};
/// let login = Envelope {
///     seq: 3,
///     at: Timestamp::from_unix_micros(0),
///     id: 9,
///     actor: Actor::Customer(7),
///     event: Event::LoginAttempted,
///     note: None,
/// };
/// let record = Record::from(login.clone());
/// assert!(matches!(record, Record::Customer(_)));
/// assert_eq!((record.seq(), record.at()), (3, login.at));
/// assert_eq!(record.into_envelope(), login);
/// // A note keeps the whole envelope.
/// let noted = Envelope { note: Some("a retry from the mobile app".into()), ..login };
/// assert!(matches!(Record::from(noted), Record::Other(_)));
/// assert!(std::mem::size_of::<Record>() <= 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Customer(CustomerRecord),
    Other(Box<Envelope>),
}

impl Record {
    /// The event's position in the log.
    #[inline]
    pub fn seq(&self) -> u64 {
        match self {
            Record::Customer(record) => record.seq,
            Record::Other(envelope) => envelope.seq,
        }
    }

    /// When the event happened.
    #[inline]
    pub fn at(&self) -> Timestamp {
        match self {
            Record::Customer(record) => record.at,
            Record::Other(envelope) => envelope.at,
        }
    }

    /// The envelope this record stands for.
    pub fn into_envelope(self) -> Envelope {
        match self {
            Record::Customer(record) => record.into(),
            Record::Other(envelope) => *envelope,
        }
    }
}

impl From<Record> for Envelope {
    fn from(record: Record) -> Envelope {
        record.into_envelope()
    }
}

impl From<Envelope> for Record {
    #[inline]
    fn from(envelope: Envelope) -> Record {
        if let (Actor::Customer(customer), None) = (&envelope.actor, &envelope.note)
            && let Some(operation) = envelope.event.customer_operation()
        {
            return Record::Customer(CustomerRecord {
                seq: envelope.seq,
                at: envelope.at,
                id: envelope.id,
                customer: *customer,
                operation,
            });
        }
        Record::Other(Box::new(envelope))
    }
}
