//! Events written in TOML (scenario events, plan actions) use the JSON Lines catalog's
//! vocabulary: a table with `kind` and the payload's fields. They are checked by the same
//! decoder as a log line, so the two formats cannot drift apart.

use exops_core::{Actor, Envelope, Timestamp, Venue};
use exops_jsonl::LineDecoder;
use serde_json::{Map, Value};

/// An operator event taken from TOML, not yet placed in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTemplate {
    /// The table without `at` and `actor`, as JSON.
    pub payload: Map<String, Value>,
    pub actor: Actor,
}

/// Turns a TOML table into an event template; `where_` names the table in errors.
pub fn template(table: &toml::Table, default_actor: &Actor, where_: &str) -> Result<EventTemplate, String> {
    let mut payload = match serde_json::to_value(table) {
        Ok(Value::Object(object)) => object,
        Ok(_) | Err(_) => return Err(format!("{where_}: not a table")),
    };
    payload.remove("at");
    let actor = match payload.remove("actor") {
        None => default_actor.clone(),
        Some(Value::String(text)) => Actor::parse(&text).map_err(|error| format!("{where_}: {error}"))?,
        Some(other) => return Err(format!("{where_}: `actor` is {other}; expected a string like \"staff:ops\"")),
    };
    if !payload.contains_key("kind") {
        return Err(format!("{where_}: missing `kind` (an event kind of docs/event-catalog.md, e.g. \"hold_lifted\")"));
    }
    for key in ["seq", "id"] {
        if payload.contains_key(key) {
            return Err(format!("{where_}: `{key}` is given by the simulator; leave it out"));
        }
    }
    Ok(EventTemplate { payload, actor })
}

impl EventTemplate {
    pub fn kind(&self) -> &str {
        self.payload.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// Decodes the template as the event `seq` at `at`, checked by the JSON Lines decoder
    /// against `venue` (for customer operations; operator events are named).
    pub fn decode(
        &self,
        venue: Option<&Venue>,
        seq: u64,
        at: Timestamp,
        id: u64,
        where_: &str,
    ) -> Result<Envelope, String> {
        let mut object = self.payload.clone();
        object.insert("at".into(), Value::String(at.to_string()));
        object.insert("id".into(), Value::from(id));
        object.insert("actor".into(), Value::String(self.actor.to_string()));
        let line = serde_json::to_string(&Value::Object(object)).map_err(|error| error.to_string())?;
        let mut decoder = LineDecoder::continuing(where_, venue.cloned(), seq);
        decoder.decode(0, line.as_bytes()).map_err(|error| match &error.field {
            Some(field) => format!("{where_}: field `{field}`: {}", error.message),
            None => format!("{where_}: {}", error.message),
        })
    }

    /// Whether the event is a venue declaration (only a scenario's venue may declare one).
    pub fn declares_venue(&self) -> bool {
        self.kind() == "venue_declared"
    }
}
