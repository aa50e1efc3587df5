//! The durable event log: framed, checksummed, hash-chained segment files written by one
//! writer thread with group commit. Only this crate knows the byte format.
//!
//! The public surface is the boundary `docs/architecture.md` lists: open a log and append
//! to it ([`init`], [`Log`], [`Appender`]), read it ([`LogReader`]), restore the state at a
//! point ([`restore`]), its snapshots ([`snapshots`]), what `verify` and `stats` walk
//! ([`inspect`]), replication's checked blocks ([`replica`]), the storage interface and
//! its simulated disk ([`storage`], [`sim_storage`]) and the body codec ([`codec`]).
//!
//! ```
//! use exops_log::{Appended, Log, LogOptions, LogReader, Submission};
//! use exops_core::{Actor, AssetClass, AssetSpec, Event, Outcome, Timestamp, VenueSpec};
//!
//! let dir = tempfile::tempdir().unwrap();
//! exops_log::init(dir.path()).unwrap();
//! let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
//! let venue = VenueSpec {
//!     name: "demo".into(),
//!     assets: vec![AssetSpec {
//!         code: "BTC".into(),
//!         class: AssetClass::Crypto,
//!         decimals: 8,
//!         networks: vec![],
//!         liabilities_minor: 100,
//!         hot_minor: 100,
//!         cold_minor: 0,
//!     }],
//!     markets: vec![],
//!     margin: false,
//!     approvals_required: vec![],
//!     rules: exops_core::RulesVersion::FIRST,
//! };
//! let at = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
//! let submission = Submission { at, id: 1, actor: Actor::Staff("ops".into()), event: Event::VenueDeclared(venue), note: None };
//! let answer = opened.log.appender().append(submission).unwrap();
//! let Appended::Durable { seq: 1, outcome } = answer else { panic!("{answer:?}") };
//! assert!(!matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
//! opened.log.close().unwrap();
//!
//! let events: Vec<_> = LogReader::open(dir.path(), 1).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(events.len(), 1);
//! ```
//!
//! The crate's internals (frames, segments, the segment writer, the head record) are
//! public only with the `internals` feature, for this workspace's own tests, benchmarks
//! and fuzzers: they are not part of the boundary and may change with any release.

/// Declares modules that are private, or public and hidden with the `internals` feature.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

internal_modules!(frame, head, pipeline, reader, segment, spool, store, writer);

mod admission;
mod bulk;
pub mod codec;
pub mod inspect;
pub mod replica;
pub mod restore;
pub mod settings;
pub mod sim_storage;
pub mod snapshots;
pub mod storage;

pub use admission::{Admission, Verdict};
pub use bulk::BulkWriter;
pub use reader::{LogReader, RawBlock, UnsealedTail};
pub use segment::{ChainPosition, Damage, ResumePoint};
pub use spool::SPOOL_PREFIX;
pub use store::{Recovery, StoreError, init, init_on, list_segments, segments_dir};
pub use writer::{AppendError, Appended, Appender, BatchTicket, Log, LogOptions, Opened, Submission, Ticket};
