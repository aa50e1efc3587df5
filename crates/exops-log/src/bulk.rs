//! Whole blocks of events written straight to the segments, without the writer thread and
//! without admission: for logs whose events are valid by construction (the synthetic
//! generator behind `exops gen`), where the writer's per-event bookkeeping would only slow
//! the loading down. The blocks are framed, sealed, chained and fsynced exactly as the
//! writer's are, so every reader, `verify` included, checks them as any other; snapshots
//! are built by the first replay.

use std::path::Path;

use exops_core::Envelope;

use crate::codec::{EVENT_SCHEMA_VERSION, encode_body};
use crate::segment::ChainPosition;
use crate::store::{SEGMENT_BYTES_DEFAULT, SegmentWriter, StoreError};

/// The open end of a log loaded in bulk. It holds the log's writer lock while it lives.
///
/// ```
/// use exops_core::{Actor, AssetClass, AssetSpec, Envelope, Event, Timestamp, VenueSpec};
/// use exops_log::BulkWriter;
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut bulk = BulkWriter::open(dir.path()).unwrap();
/// let venue = VenueSpec {
///     name: "demo".into(),
///     assets: vec![AssetSpec {
///         code: "BTC".into(),
///         class: AssetClass::Crypto,
///         decimals: 8,
///         networks: vec![],
///         liabilities_minor: 100,
///         hot_minor: 100,
///         cold_minor: 0,
///     }],
///     markets: vec![],
///     margin: false,
///     approvals_required: vec![],
///     rules: exops_core::RulesVersion::FIRST,
/// };
/// let at = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
/// let declared = Envelope {
///     seq: 1,
///     at,
///     id: 1,
///     actor: Actor::Staff("ops".into()),
///     event: Event::VenueDeclared(venue),
///     note: None,
/// };
/// let end = bulk.append_block(&[declared]).unwrap();
/// assert_eq!((end.next_seq, end.next_block), (2, 1));
/// drop(bulk);
/// let mut reader = exops_log::LogReader::open(dir.path(), 1).unwrap();
/// assert_eq!(reader.next().unwrap().unwrap().event.kind_name(), "venue_declared");
/// /// ```
#[derive(Debug)]
pub struct BulkWriter {
    writer: SegmentWriter,
    bodies: Vec<(i64, Vec<u8>)>,
}

impl BulkWriter {
    /// Opens the log in `data_dir` (made when missing) for appending, as any writer opens
    /// it: a torn tail is cut and any other damage refused.
    pub fn open(data_dir: &Path) -> Result<BulkWriter, StoreError> {
        crate::init(data_dir)?;
        let (writer, _recovery) = SegmentWriter::open(data_dir, SEGMENT_BYTES_DEFAULT)?;
        Ok(BulkWriter { writer, bodies: Vec::new() })
    }

    /// Appends `events` as one block, fsynced before this returns, and returns where the
    /// chain continues. Their sequence numbers must follow on from the log's (the first
    /// must be [`ChainPosition::next_seq`]), as their order is the log's.
    pub fn append_block(&mut self, events: &[Envelope]) -> Result<ChainPosition, StoreError> {
        let next_seq = self.writer.position().next_seq;
        let path = self.writer.segment_path().to_owned();
        let out_of_order = |detail: String| StoreError::Io { path: path.clone(), error: std::io::Error::other(detail) };
        self.bodies.resize_with(events.len(), Default::default);
        for ((expected, envelope), (at, body)) in (next_seq..).zip(events).zip(&mut self.bodies) {
            if envelope.seq != expected {
                return Err(out_of_order(format!(
                    "a bulk block's events must follow on from the log: seq {} where {expected} was due",
                    envelope.seq
                )));
            }
            body.clear();
            encode_body(envelope, body).map_err(|error| out_of_order(error.to_string()))?;
            *at = envelope.at.unix_micros();
        }
        let records = self.bodies[..events.len()].iter().map(|(at, body)| (EVENT_SCHEMA_VERSION, *at, body.as_slice()));
        self.writer.append_block(records)
    }
}
