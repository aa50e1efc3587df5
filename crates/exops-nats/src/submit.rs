//! Submissions over NATS: gateways and operators send the writer one JSON Lines event per
//! request, and the writer answers once it is durable and in the stream.
//!
//! Who sent a request is decided by the NATS server, not by the request: each sender
//! publishes on a subject of its own, and the server's `authorization` block lets each
//! user publish only on its own (docs/scale-out.md has the configuration). So the subject a
//! request arrives on names its authenticated sender:
//!
//! - `exops.<venue>.submit.customer`: an order gateway. It may submit customer
//!   operations only (by `customer:ID` actors).
//! - `exops.<venue>.submit.operator.<name>`: the operator `<name>`. It may submit operator
//!   events only, and only as `staff:<name>`: a line that claims another actor is refused.
//!
//! [`Sender::admits`] is that rule, in one place; the writer applies it before anything
//! reaches the log, so a refused request leaves the log unchanged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use exops_core::{Actor, Envelope};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::connection::{Connection, api};
use crate::error::NatsError;

/// How long [`Connection::submit`] waits for the writer's reply: an append waits for its
/// group commit and the stream's acknowledgement.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often [`Connection::serve_submissions`] looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Who sent a submission, as the subject it came on says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    /// An order gateway: customer operations only.
    Gateway,
    /// The operator of that name: operator events as `staff:<name>` only.
    Operator(String),
}

impl Sender {
    /// The subject this sender publishes its submissions for `venue` on.
    ///
    /// ```
    /// use exops_nats::Sender;
    /// assert_eq!(Sender::Gateway.subject("bitpoint"), "exops.bitpoint.submit.customer");
    /// assert_eq!(Sender::Operator("ciso-1".into()).subject("bitpoint"), "exops.bitpoint.submit.operator.ciso-1");
    /// ```
    pub fn subject(&self, venue: &str) -> String {
        match self {
            Sender::Gateway => format!("exops.{venue}.submit.customer"),
            Sender::Operator(name) => format!("exops.{venue}.submit.operator.{name}"),
        }
    }

    /// The sender a request on `subject` comes from, or `None` for a subject that names
    /// none (which the writer refuses).
    ///
    /// ```
    /// use exops_nats::Sender;
    /// assert_eq!(Sender::from_subject("bitpoint", "exops.bitpoint.submit.customer"), Some(Sender::Gateway));
    /// let operator = Sender::from_subject("bitpoint", "exops.bitpoint.submit.operator.ciso-1");
    /// assert_eq!(operator, Some(Sender::Operator("ciso-1".into())));
    /// assert_eq!(Sender::from_subject("bitpoint", "exops.bitpoint.submit.operator"), None);
    /// ```
    pub fn from_subject(venue: &str, subject: &str) -> Option<Sender> {
        let rest = subject.strip_prefix("exops.")?.strip_prefix(venue)?.strip_prefix(".submit.")?;
        if rest == "customer" {
            return Some(Sender::Gateway);
        }
        let name = rest.strip_prefix("operator.")?;
        (!name.is_empty() && !name.contains('.')).then(|| Sender::Operator(name.to_owned()))
    }

    /// Whether this sender may submit `envelope`: the one rule of who may write what.
    ///
    /// ```
    /// use exops_core::{Actor, Envelope, Event, Timestamp};
    /// use exops_nats::Sender;
    /// let login = Envelope { seq: 1, at: Timestamp::from_unix_micros(0), id: 1, actor: Actor::Customer(7), event: Event::LoginAttempted, note: None };
    /// assert!(Sender::Gateway.admits(&login).is_ok());
    /// let refused = Sender::Operator("ciso-1".into()).admits(&login).unwrap_err();
    /// assert!(refused.contains("operator events only"), "{refused}");
    /// ```
    pub fn admits(&self, envelope: &Envelope) -> Result<(), String> {
        let kind = envelope.event.kind_name();
        match self {
            Sender::Gateway => {
                if !envelope.event.is_customer_operation() {
                    return Err(format!(
                        "a gateway may submit customer operations only, not `{kind}`: operator events come \
                         from an authenticated operator (`exops.<venue>.submit.operator.<name>`)"
                    ));
                }
                if !matches!(envelope.actor, Actor::Customer(_)) {
                    return Err(format!(
                        "a gateway submits for customers (`customer:ID`), not as `{}`",
                        envelope.actor
                    ));
                }
            }
            Sender::Operator(name) => {
                if envelope.event.is_customer_operation() {
                    return Err(format!(
                        "operator {name} may submit operator events only, not the customer operation `{kind}`"
                    ));
                }
                if envelope.actor != Actor::Staff(name.clone()) {
                    return Err(format!(
                        "the sender is authenticated as operator {name}, so its events are `staff:{name}`'s; \
                         this line claims `{}`",
                        envelope.actor
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The writer's answer to one submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitReply {
    /// The event's sequence number, when it was written (durable and in the stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// What the state made of it (`accepted`, `refused`, `applied`, `rejected: …`), or
    /// why it was not written (`duplicate`, `refused: …` for a clock going back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Why the submission was refused before the log (its sender may not submit it, or
    /// the line does not parse), or why its outcome is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SubmitReply {
    /// A refusal: nothing was written.
    pub fn refused(error: impl Into<String>) -> SubmitReply {
        SubmitReply { seq: None, outcome: None, error: Some(error.into()) }
    }
}

impl Connection {
    /// Sends one JSON Lines event to the venue's writer as `sender`, and waits for its
    /// reply. The server decides whether this connection's user may publish on the
    /// sender's subject: one that may not gets no reply (the server drops the message
    /// and reports a permissions violation), so this times out and nothing is written.
    pub fn submit(&self, sender: &Sender, line: &str) -> Result<SubmitReply, NatsError> {
        let subject = sender.subject(self.venue());
        let request = self.client().request(subject.clone(), line.to_owned().into());
        let message = self
            .block_on(async { tokio::time::timeout(SUBMIT_TIMEOUT, request).await })
            .map_err(|_| NatsError::Api {
                what: format!("submitting on {subject}"),
                message: format!(
                    "no reply within {} s: no writer serves this venue, or this user may not publish on {subject}",
                    SUBMIT_TIMEOUT.as_secs()
                ),
            })?
            .map_err(|error| api(format!("submitting on {subject}"))(&error))?;
        serde_json::from_slice(&message.payload).map_err(|error| NatsError::Api {
            what: format!("the reply on {subject}"),
            message: format!("not a submission reply: {error}"),
        })
    }

    /// Takes submissions on the venue's submit subjects until `stop` is set: each
    /// request's sender (from its subject) and payload go to `handle`, whose reply is sent
    /// back. Requests are handled one at a time, in the order they arrive.
    pub fn serve_submissions(
        &self,
        stop: &AtomicBool,
        handle: &mut dyn FnMut(Option<Sender>, &[u8]) -> SubmitReply,
    ) -> Result<(), NatsError> {
        // The subscription unsubscribes as it is dropped, which needs the runtime.
        let _runtime = self.enter();
        let subjects = format!("exops.{}.submit.>", self.venue());
        let client = self.client().clone();
        let mut subscriber = self
            .block_on(client.subscribe(subjects.clone()))
            .map_err(|error| api(format!("subscribing to {subjects}"))(&error))?;
        while !stop.load(Ordering::Relaxed) {
            let Ok(next) = self.block_on(async { tokio::time::timeout(STOP_POLL, subscriber.next()).await }) else {
                continue;
            };
            let Some(message) = next else { break };
            let sender = Sender::from_subject(self.venue(), message.subject.as_str());
            let reply = handle(sender, &message.payload);
            if let Some(reply_to) = message.reply {
                let body = serde_json::to_vec(&reply).unwrap_or_default();
                self.block_on(async { client.publish(reply_to, body.into()).await })
                    .map_err(|error| api("replying to a submission")(&error))?;
            }
        }
        Ok(())
    }
}
