//! The JSON Lines text format of an exops log: one envelope per line,
//! `{"seq":1,"at":"…","id":1,"actor":"staff:ops","kind":"hold_placed", …payload…, "note":"…"}`.
//!
//! Parsing is strict: unknown fields and unknown kinds are errors, and every error names
//! the source, the line and the field. Customer operations name markets and assets; the
//! reader resolves them against the venue the log declared on its first event.
//!
//! ```
//! let text = r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}
//! {"at":"2024-03-04T10:00:00+09:00","id":1,"actor":"customer:7","kind":"deposit_received","asset":"JPY","amount_minor":5000}"#;
//! let lines = exops_jsonl::parse_str("tiny.jsonl", text).unwrap();
//! assert_eq!(lines[1].envelope.seq, 2);
//! assert_eq!(lines[1].envelope.event.kind_name(), "deposit_received");
//! // Rendering gives the canonical text back: seq filled in, instants in UTC.
//! let again = exops_jsonl::render_all(lines.iter().map(|line| &line.envelope));
//! assert!(again.starts_with(r#"{"seq":1,"at":"2024-03-04T00:00:00Z","id":1,"actor":"system:setup""#), "{again}");
//! ```

use std::fmt;
use std::io::BufRead;

use exops_core::{
    Actor, ApprovalGiven, ClaimsConverted, CustodyReplenished, CustodyTransferred, Envelope, Event, HaircutApplied,
    HoldLifted, HoldModeSet, HoldPlaced, IncidentOpened, IncidentUpdated, KeysRotated, MarginAction, MarginRequested,
    OrderCancelled, OrderSubmitted, OrderType, PhaseOpened, RefundPaid, RoleGranted, SecurityReviewPassed,
    TheftRecorded, Timestamp, Transfer, Venue, VenueCeased, VenueSpec, WithdrawalsSettled,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest line accepted; a longer one is an error, and the reader never buffers more.
pub const LINE_BYTES_MAX: usize = 1 << 20;

/// Every `kind` the format knows, in catalog order.
///
/// ```
/// assert_eq!(exops_jsonl::KINDS[0], "venue_declared");
/// assert!(exops_jsonl::KINDS.contains(&"phase_opened"));
/// ```
pub const KINDS: &[&str] = &[
    "venue_declared",
    "role_granted",
    "incident_opened",
    "theft_recorded",
    "incident_updated",
    "hold_placed",
    "hold_lifted",
    "hold_mode_set",
    "keys_rotated",
    "security_review_passed",
    "approval_given",
    "custody_transferred",
    "custody_replenished",
    "refund_paid",
    "claims_converted",
    "haircut_applied",
    "withdrawals_settled",
    "venue_ceased",
    "phase_opened",
    "order_submitted",
    "order_cancelled",
    "deposit_received",
    "withdrawal_requested",
    "margin_requested",
    "signup_requested",
    "login_attempted",
];

/// The kinds of customer operations: the last seven of [`KINDS`].
pub const CUSTOMER_KINDS: &[&str] = KINDS.split_at(KINDS.len() - 7).1;

/// The envelope's own fields; every other field belongs to the payload of `kind`.
pub const ENVELOPE_FIELDS: &[&str] = &["seq", "at", "id", "actor", "kind", "note"];

/// A line that could not be read as an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file name, or `<stdin>`.
    pub source: String,
    pub line: u64,
    /// The field at fault, when one is.
    pub field: Option<String>,
    pub message: String,
    /// Set when the first line of a log that has not begun carries a later sequence
    /// number: the text is the tail of a log, starting at this seq (`exops log export
    /// --from-seq`), and needs the events before it.
    pub tail_from_seq: Option<u64>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.source, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// One parsed line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub line: u64,
    pub envelope: Envelope,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireOrder {
    market: String,
    order_type: OrderType,
    notional_minor: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCancel {
    market: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTransfer {
    asset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    amount_minor: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMargin {
    action: MarginAction,
    notional_minor: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEmpty {}

/// Decodes single lines, following the venue the log declares. [`Reader`] drives it over
/// a stream; callers that already have lines (a generator, a socket) use it directly.
///
/// ```
/// let mut decoder = exops_jsonl::LineDecoder::new("socket");
/// let seq = decoder.next_seq();
/// let declared = decoder.decode(seq, br#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}"#);
/// assert!(declared.is_ok());
/// // An unknown asset is an error naming the source, the line and the field.
/// let error = decoder
///     .decode(2, br#"{"at":"2024-03-04T10:00:00Z","id":1,"actor":"customer:7","kind":"deposit_received","asset":"BTC","amount_minor":1}"#)
///     .unwrap_err();
/// assert!(error.to_string().starts_with("socket:2: field `asset`: "), "{error}");
/// assert_eq!(decoder.next_seq(), 3, "a failed line takes its number too");
/// ```
#[derive(Debug)]
pub struct LineDecoder {
    source: String,
    line: u64,
    next_seq: u64,
    /// The seq the first line takes: above 1 when the lines continue a log.
    first_seq: u64,
    venue: Option<Venue>,
}

impl LineDecoder {
    /// A decoder for a log from its first line; `source` names it in errors.
    ///
    /// ```
    /// assert_eq!(exops_jsonl::LineDecoder::new("mine.jsonl").next_seq(), 1);
    /// ```
    pub fn new(source: impl Into<String>) -> Self {
        LineDecoder { source: source.into(), line: 0, next_seq: 1, first_seq: 1, venue: None }
    }

    /// A decoder for lines that continue a log: its venue is already declared and its next
    /// sequence number is `next_seq`.
    pub fn continuing(source: impl Into<String>, venue: Option<Venue>, next_seq: u64) -> Self {
        LineDecoder { source: source.into(), line: 0, next_seq, first_seq: next_seq, venue }
    }

    /// The venue declared so far, if any.
    pub fn venue(&self) -> Option<&Venue> {
        self.venue.as_ref()
    }

    /// The sequence number the next line will take.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn error(&self, field: Option<&str>, message: impl Into<String>) -> ParseError {
        ParseError {
            source: self.source.clone(),
            line: self.line,
            field: field.map(str::to_owned),
            message: message.into(),
            tail_from_seq: None,
        }
    }

    /// Decodes the text of line number `line`. Every call takes a sequence number, even
    /// one that fails, so the numbers after a bad line stay where the author expects them.
    pub fn decode(&mut self, line: u64, text: &[u8]) -> Result<Envelope, ParseError> {
        self.line = line;
        let decoded = self.decode_text(text);
        self.next_seq += 1;
        decoded
    }

    /// Accounts for a line that could not even be read (too long, unreadable).
    pub fn skip(&mut self, line: u64) {
        self.line = line;
        self.next_seq += 1;
    }

    fn decode_text(&mut self, bytes: &[u8]) -> Result<Envelope, ParseError> {
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(self.error(
                None,
                "the line starts with a byte-order mark (BOM, bytes EF BB BF); save the file as UTF-8 without a BOM",
            ));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|error| self.error(None, format!("not UTF-8 (byte {} of the line)", error.valid_up_to() + 1)))?;
        let StrictValue(value) = serde_json::from_str(text).map_err(|error| {
            self.error(None, format!("not a JSON object: {error}").replace(" at line 1 column", " at column"))
        })?;
        let Value::Object(mut object) = value else {
            return Err(self.error(None, format!("not a JSON object: the line holds {}", kind_of(&value))));
        };
        let seq = self.next_seq;
        match object.remove("seq") {
            None => {}
            Some(Value::Number(number)) if number.as_u64() == Some(seq) => {}
            Some(Value::Number(number))
                if seq == 1
                    && self.venue.is_none()
                    && number.as_u64().is_some_and(|found| found > 1)
                    && object.get("kind").and_then(Value::as_str) != Some("venue_declared") =>
            {
                let first = number.as_u64().unwrap_or(0);
                let mut error = self.error(
                    Some("seq"),
                    format!(
                        "is {first}: this is the tail of a log (as `exops log export --from-seq {first}` writes), \
                         not a whole one; it needs the {} events before it: import it onto a data directory whose \
                         log ends at seq {} (`exops log import FILE --data-dir DIR`)",
                        first - 1,
                        first - 1
                    ),
                );
                error.tail_from_seq = Some(first);
                return Err(error);
            }
            Some(other) if seq == self.first_seq && seq > 1 => {
                return Err(self.error(
                    Some("seq"),
                    format!(
                        "is {other}, expected {seq}: the log these lines continue ends at seq {}; number the \
                         first line {seq} or leave `seq` out",
                        seq - 1
                    ),
                ));
            }
            Some(other) => {
                return Err(self.error(
                    Some("seq"),
                    format!("is {other}, expected {seq}: sequence numbers start at 1 and go up by one"),
                ));
            }
        }
        let at = match object.remove("at") {
            Some(Value::String(text)) => {
                Timestamp::parse_rfc3339(&text).map_err(|error| self.error(Some("at"), error.to_string()))?
            }
            Some(other) => return Err(self.error(Some("at"), format!("is {other}; expected an RFC 3339 string"))),
            None => return Err(self.error(Some("at"), "missing; every event says when it happened")),
        };
        let id = match object.remove("id") {
            Some(Value::Number(number)) if number.as_u64().is_some_and(|id| id > 0) => number.as_u64().unwrap_or(0),
            Some(other) => {
                return Err(self.error(
                    Some("id"),
                    format!("is {other}; expected a positive integer, numbered upwards per actor"),
                ));
            }
            None => return Err(self.error(Some("id"), "missing; every event has an id, numbered upwards per actor")),
        };
        let actor = match object.remove("actor") {
            Some(Value::String(text)) => Actor::parse(&text).map_err(|message| self.error(Some("actor"), message))?,
            Some(other) => return Err(self.error(Some("actor"), format!("is {other}; expected a string"))),
            None => return Err(self.error(Some("actor"), "missing; e.g. \"staff:ops\" or \"customer:42\"")),
        };
        let note = match object.remove("note") {
            None => None,
            Some(Value::String(text)) => Some(text),
            Some(other) => return Err(self.error(Some("note"), format!("is {other}; expected a string"))),
        };
        let kind = match object.remove("kind") {
            Some(Value::String(kind)) => kind,
            Some(other) => return Err(self.error(Some("kind"), format!("is {other}; expected a string"))),
            None => return Err(self.error(Some("kind"), format!("missing; valid kinds: {}", KINDS.join(", ")))),
        };
        let event = self.parse_event(&kind, object)?;
        Ok(Envelope { seq, at, id, actor, event, note })
    }

    fn payload<T: DeserializeOwned>(&self, kind: &str, object: Map<String, Value>) -> Result<T, ParseError> {
        serde_path_to_error::deserialize(Value::Object(object)).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            let field = if path == "." {
                inner.split('`').nth(1).map(str::to_owned).filter(|_| inner.contains("field `"))
            } else {
                Some(path)
            };
            let message = match inner.strip_prefix("unknown field ") {
                Some(rest) => {
                    // serde says "`name`, expected one of `a`, `b`": suggest among those
                    // and the envelope's own fields.
                    let mut quoted = rest.split('`').skip(1).step_by(2);
                    let unknown = quoted.next().unwrap_or_default();
                    let known: Vec<&str> = quoted.chain(ENVELOPE_FIELDS.iter().copied()).collect();
                    format!("`{kind}` has no field {rest}{}", exops_core::did_you_mean(unknown, known))
                }
                None => inner,
            };
            ParseError { source: self.source.clone(), line: self.line, field, message, tail_from_seq: None }
        })
    }

    fn venue_for(&self, kind: &str) -> Result<&Venue, ParseError> {
        self.venue.as_ref().ok_or_else(|| {
            self.error(Some("kind"), format!("`{kind}` before `venue_declared`: a log begins by declaring its venue"))
        })
    }

    fn resolve_market(&self, kind: &str, market: &str) -> Result<exops_core::MarketId, ParseError> {
        let venue = self.venue_for(kind)?;
        venue.market_id(market).ok_or_else(|| {
            self.error(
                Some("market"),
                format!("the venue has no market `{market}`; its markets: {}", venue.market_symbols().join(", ")),
            )
        })
    }

    fn resolve_transfer(&self, kind: &str, wire: WireTransfer) -> Result<Transfer, ParseError> {
        let venue = self.venue_for(kind)?;
        let asset = venue.asset_id(&wire.asset).ok_or_else(|| {
            self.error(
                Some("asset"),
                format!("the venue has no asset `{}`; its assets: {}", wire.asset, venue.asset_codes().join(", ")),
            )
        })?;
        let networks = &venue.asset(asset).networks;
        let network = match (&wire.network, networks.is_empty()) {
            (None, true) => None,
            (Some(network), false) => Some(venue.network_index(asset, network).ok_or_else(|| {
                self.error(
                    Some("network"),
                    format!("`{}` has no network `{network}`; its networks: {}", wire.asset, networks.join(", ")),
                )
            })?),
            (None, false) => {
                return Err(self.error(
                    Some("network"),
                    format!("missing; `{}` moves on several networks: {}", wire.asset, networks.join(", ")),
                ));
            }
            (Some(_), true) => {
                return Err(self.error(Some("network"), format!("`{}` is declared without networks", wire.asset)));
            }
        };
        Ok(Transfer { asset, network, amount_minor: wire.amount_minor })
    }

    fn parse_event(&mut self, kind: &str, object: Map<String, Value>) -> Result<Event, ParseError> {
        Ok(match kind {
            "venue_declared" => {
                let spec: VenueSpec = self.payload(kind, object)?;
                if self.venue.is_none() {
                    let venue = Venue::from_spec(&spec).map_err(|error| self.error(None, error.to_string()))?;
                    self.venue = Some(venue);
                }
                Event::VenueDeclared(spec)
            }
            "role_granted" => Event::RoleGranted(self.payload::<RoleGranted>(kind, object)?),
            "incident_opened" => Event::IncidentOpened(self.payload::<IncidentOpened>(kind, object)?),
            "theft_recorded" => Event::TheftRecorded(self.payload::<TheftRecorded>(kind, object)?),
            "incident_updated" => Event::IncidentUpdated(self.payload::<IncidentUpdated>(kind, object)?),
            "hold_placed" => Event::HoldPlaced(self.payload::<HoldPlaced>(kind, object)?),
            "hold_lifted" => Event::HoldLifted(self.payload::<HoldLifted>(kind, object)?),
            "hold_mode_set" => Event::HoldModeSet(self.payload::<HoldModeSet>(kind, object)?),
            "keys_rotated" => Event::KeysRotated(self.payload::<KeysRotated>(kind, object)?),
            "security_review_passed" => Event::SecurityReviewPassed(self.payload(kind, object)?),
            "approval_given" => Event::ApprovalGiven(self.payload::<ApprovalGiven>(kind, object)?),
            "custody_transferred" => Event::CustodyTransferred(self.payload::<CustodyTransferred>(kind, object)?),
            "custody_replenished" => Event::CustodyReplenished(self.payload::<CustodyReplenished>(kind, object)?),
            "refund_paid" => Event::RefundPaid(self.payload::<RefundPaid>(kind, object)?),
            "claims_converted" => Event::ClaimsConverted(self.payload::<ClaimsConverted>(kind, object)?),
            "haircut_applied" => Event::HaircutApplied(self.payload::<HaircutApplied>(kind, object)?),
            "withdrawals_settled" => Event::WithdrawalsSettled(self.payload::<WithdrawalsSettled>(kind, object)?),
            "venue_ceased" => Event::VenueCeased(self.payload::<VenueCeased>(kind, object)?),
            "phase_opened" => Event::PhaseOpened(self.payload::<PhaseOpened>(kind, object)?),
            "order_submitted" => {
                let wire: WireOrder = self.payload(kind, object)?;
                let market = self.resolve_market(kind, &wire.market)?;
                Event::OrderSubmitted(OrderSubmitted {
                    market,
                    order_type: wire.order_type,
                    notional_minor: wire.notional_minor,
                })
            }
            "order_cancelled" => {
                let wire: WireCancel = self.payload(kind, object)?;
                Event::OrderCancelled(OrderCancelled { market: self.resolve_market(kind, &wire.market)? })
            }
            "deposit_received" => {
                let wire: WireTransfer = self.payload(kind, object)?;
                Event::DepositReceived(self.resolve_transfer(kind, wire)?)
            }
            "withdrawal_requested" => {
                let wire: WireTransfer = self.payload(kind, object)?;
                Event::WithdrawalRequested(self.resolve_transfer(kind, wire)?)
            }
            "margin_requested" => {
                let wire: WireMargin = self.payload(kind, object)?;
                self.venue_for(kind)?;
                Event::MarginRequested(MarginRequested { action: wire.action, notional_minor: wire.notional_minor })
            }
            "signup_requested" | "login_attempted" => {
                let _: WireEmpty = self.payload(kind, object)?;
                self.venue_for(kind)?;
                if kind == "signup_requested" { Event::SignupRequested } else { Event::LoginAttempted }
            }
            unknown => {
                return Err(self.error(
                    Some("kind"),
                    format!(
                        "unknown kind `{unknown}`{}; valid kinds: {}",
                        exops_core::did_you_mean(unknown, KINDS.iter().copied()),
                        KINDS.join(", ")
                    ),
                ));
            }
        })
    }
}

/// Streams envelopes out of JSON Lines, one line at a time, never buffering more than
/// one line of at most [`LINE_BYTES_MAX`] bytes.
///
/// ```
/// let mut reader = exops_jsonl::Reader::new("<stdin>", &b"{\n\n"[..]);
/// let error = reader.next().unwrap().unwrap_err();
/// assert!(error.to_string().starts_with("<stdin>:1: "), "{error}");
/// assert!(reader.next().is_none(), "blank lines are skipped");
/// ```
#[derive(Debug)]
pub struct Reader<R> {
    decoder: LineDecoder,
    input: R,
    line: u64,
    buffer: Vec<u8>,
    /// Set after an I/O error: a stream that failed once is not read again.
    failed: bool,
}

impl<R: BufRead> Reader<R> {
    /// Reads `input` from its first line; `source` names it in errors.
    ///
    /// ```
    /// assert_eq!(exops_jsonl::Reader::new("empty", &b""[..]).count(), 0);
    /// ```
    pub fn new(source: impl Into<String>, input: R) -> Self {
        Reader::with_decoder(LineDecoder::new(source), input)
    }

    pub fn with_decoder(decoder: LineDecoder, input: R) -> Self {
        Reader { decoder, input, line: 0, buffer: Vec::new(), failed: false }
    }

    /// The venue declared so far, if any.
    pub fn venue(&self) -> Option<&Venue> {
        self.decoder.venue()
    }

    /// Reads one line into `self.buffer`. Returns `Ok(false)` at the end of input.
    fn read_line(&mut self) -> Result<bool, ParseError> {
        self.buffer.clear();
        if self.failed {
            return Ok(false);
        }
        let mut limited = <&mut R as std::io::Read>::take(&mut self.input, LINE_BYTES_MAX as u64 + 1);
        let read = match limited.read_until(b'\n', &mut self.buffer) {
            Ok(read) => read,
            Err(error) => {
                self.failed = true;
                return Err(ParseError {
                    source: self.decoder.source.clone(),
                    line: self.line + 1,
                    field: None,
                    message: format!("cannot read: {error}"),
                    tail_from_seq: None,
                });
            }
        };
        if read == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buffer.len() > LINE_BYTES_MAX && self.buffer.last() != Some(&b'\n') {
            // Skip the rest of the overlong line so that the next call starts afresh.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let mut chunk = <&mut R as std::io::Read>::take(&mut self.input, 64 * 1024);
                let Ok(read) = chunk.read_until(b'\n', &mut sink) else {
                    self.failed = true;
                    break;
                };
                if read == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            self.buffer.clear();
            self.decoder.skip(self.line);
            return Err(self.decoder.error(None, format!("line is longer than {LINE_BYTES_MAX} bytes")));
        }
        Ok(true)
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Line, ParseError>;

    /// The next event, or the error of the line that could not be read. Blank lines are
    /// skipped; every other line takes the next sequence number.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.read_line() {
                Ok(false) => return None,
                Ok(true) => {}
                Err(error) => return Some(Err(error)),
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = self.line;
            return Some(self.decoder.decode(line, &self.buffer).map(|envelope| Line { line, envelope }));
        }
    }
}

/// Renders envelopes as JSON Lines; it follows the venue the log declares so that
/// customer operations are written with market and asset names.
///
/// ```
/// let lines = exops_jsonl::parse_str("t", r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}"#).unwrap();
/// let mut writer = exops_jsonl::Writer::new();
/// let line = writer.render(&lines[0].envelope);
/// assert!(line.starts_with(r#"{"seq":1,"at":"2024-03-04T00:00:00Z","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny""#));
/// ```
#[derive(Debug, Default)]
pub struct Writer {
    venue: Option<Venue>,
}

impl Writer {
    /// A writer for a log from its first event.
    ///
    /// ```
    /// let _writer = exops_jsonl::Writer::new();
    /// ```
    pub fn new() -> Self {
        Writer::default()
    }

    /// One line, without its newline. The key order is fixed: envelope, payload, note.
    pub fn render(&mut self, envelope: &Envelope) -> String {
        if let Event::VenueDeclared(spec) = &envelope.event
            && self.venue.is_none()
        {
            self.venue = Venue::from_spec(spec).ok();
        }
        let payload = self.payload(&envelope.event);
        let mut line = format!(
            "{{\"seq\":{},\"at\":\"{}\",\"id\":{},\"actor\":{},\"kind\":\"{}\"",
            envelope.seq,
            envelope.at,
            envelope.id,
            json_string(&envelope.actor.to_string()),
            envelope.event.kind_name()
        );
        let body = payload.trim_start_matches('{').trim_end_matches('}');
        if !body.is_empty() {
            line.push(',');
            line.push_str(body);
        }
        if let Some(note) = &envelope.note {
            line.push_str(",\"note\":");
            line.push_str(&json_string(note));
        }
        line.push('}');
        line
    }

    fn payload(&self, event: &Event) -> String {
        let venue = self.venue.as_ref();
        let market = |id: exops_core::MarketId| {
            venue
                .and_then(|venue| venue.markets.get(usize::from(id.0)))
                .map_or_else(|| format!("#{}", id.0), |market| market.symbol.clone())
        };
        let transfer = |transfer: &Transfer| {
            let asset = venue.and_then(|venue| venue.assets.get(usize::from(transfer.asset.0)));
            WireTransfer {
                asset: asset.map_or_else(|| format!("#{}", transfer.asset.0), |asset| asset.code.clone()),
                network: transfer.network.map(|index| {
                    asset
                        .and_then(|asset| asset.networks.get(usize::from(index)))
                        .cloned()
                        .unwrap_or_else(|| format!("#{index}"))
                }),
                amount_minor: transfer.amount_minor,
            }
        };
        let json = match event {
            Event::VenueDeclared(payload) => serde_json::to_string(payload),
            Event::RoleGranted(payload) => serde_json::to_string(payload),
            Event::IncidentOpened(payload) => serde_json::to_string(payload),
            Event::TheftRecorded(payload) => serde_json::to_string(payload),
            Event::IncidentUpdated(payload) => serde_json::to_string(payload),
            Event::HoldPlaced(payload) => serde_json::to_string(payload),
            Event::HoldLifted(payload) => serde_json::to_string(payload),
            Event::HoldModeSet(payload) => serde_json::to_string(payload),
            Event::KeysRotated(payload) => serde_json::to_string(payload),
            Event::SecurityReviewPassed(payload) => serde_json::to_string::<SecurityReviewPassed>(payload),
            Event::ApprovalGiven(payload) => serde_json::to_string(payload),
            Event::CustodyTransferred(payload) => serde_json::to_string(payload),
            Event::CustodyReplenished(payload) => serde_json::to_string(payload),
            Event::RefundPaid(payload) => serde_json::to_string(payload),
            Event::ClaimsConverted(payload) => serde_json::to_string(payload),
            Event::HaircutApplied(payload) => serde_json::to_string(payload),
            Event::WithdrawalsSettled(payload) => serde_json::to_string(payload),
            Event::VenueCeased(payload) => serde_json::to_string(payload),
            Event::PhaseOpened(payload) => serde_json::to_string(payload),
            Event::OrderSubmitted(order) => serde_json::to_string(&WireOrder {
                market: market(order.market),
                order_type: order.order_type,
                notional_minor: order.notional_minor,
            }),
            Event::OrderCancelled(cancel) => serde_json::to_string(&WireCancel { market: market(cancel.market) }),
            Event::DepositReceived(payload) | Event::WithdrawalRequested(payload) => {
                serde_json::to_string(&transfer(payload))
            }
            Event::MarginRequested(request) => {
                serde_json::to_string(&WireMargin { action: request.action, notional_minor: request.notional_minor })
            }
            Event::SignupRequested | Event::LoginAttempted => Ok("{}".to_owned()),
        };
        json.expect("event payloads serialise to JSON without fail: they hold only strings, numbers and lists")
    }
}

/// A JSON value in which no object repeats a key: `serde_json` would keep the last one
/// silently, and a log must not mean something other than what it says.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StrictValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, value: bool) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Bool(value)))
            }
            fn visit_i64<E>(self, value: i64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(value)))
            }
            fn visit_u64<E>(self, value: u64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(value)))
            }
            fn visit_f64<E>(self, value: f64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(value)))
            }
            fn visit_str<E>(self, value: &str) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(value.to_owned())))
            }
            fn visit_string<E>(self, value: String) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(value)))
            }
            fn visit_unit<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
                let mut items = Vec::new();
                while let Some(StrictValue(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(StrictValue(Value::Array(items)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if object.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("field `{key}` appears twice")));
                    }
                    let StrictValue(value) = map.next_value()?;
                    object.insert(key, value);
                }
                Ok(StrictValue(Value::Object(object)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serialises")
}

/// Parses a whole text (a file's contents), stopping at the first error.
///
/// ```
/// let error = exops_jsonl::parse_str("bad.jsonl", "{").unwrap_err();
/// assert_eq!((error.source.as_str(), error.line), ("bad.jsonl", 1));
/// ```
pub fn parse_str(source: &str, text: &str) -> Result<Vec<Line>, ParseError> {
    Reader::new(source, text.as_bytes()).collect()
}

/// Renders envelopes as a JSON Lines text, each line ending in a newline.
///
/// ```
/// let once = exops_jsonl::parse_str("t", r#"{"at":"2024-03-04T09:00:00+09:00","id":1,"actor":"system:setup","kind":"venue_declared","name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[],"margin":false,"approvals_required":[]}"#).unwrap();
/// let text = exops_jsonl::render_all(once.iter().map(|line| &line.envelope));
/// let twice = exops_jsonl::parse_str("t", &text).unwrap();
/// assert_eq!(exops_jsonl::render_all(twice.iter().map(|line| &line.envelope)), text, "canonical text round-trips");
/// ```
pub fn render_all<'a>(envelopes: impl IntoIterator<Item = &'a Envelope>) -> String {
    let mut writer = Writer::new();
    let mut text = String::new();
    for envelope in envelopes {
        text.push_str(&writer.render(envelope));
        text.push('\n');
    }
    text
}
