//! The durable event log: framed, checksummed, hash-chained segment files written by one
//! writer thread with group commit. Only this crate knows the byte format.

mod admission;
pub mod codec;
pub mod frame;
pub mod head;
pub mod inspect;
pub mod pipeline;
pub mod reader;
pub mod replica;
pub mod restore;
pub mod segment;
pub mod sim_storage;
pub mod snapshots;
mod spool;
pub mod storage;
pub mod store;
pub mod writer;

pub use admission::{Admission, Verdict};
pub use reader::{LogReader, UnsealedTail};
pub use spool::SPOOL_PREFIX;
pub use store::{Recovery, StoreError, init, list_segments};
pub use writer::{AppendError, Appended, Appender, BatchTicket, Log, LogOptions, Opened, Submission, Ticket};
