//! `Follower`: a verified replica with its state live in the process, for a gateway that
//! gates requests by the venue's operational state: every block the replica appends is
//! decoded and folded at once.

use std::path::{Path, PathBuf};

use exops_core::State;
use exops_log::replica::CheckedBlock;
use exops_log::restore::{Target, restore};

use crate::connection::Connection;
use crate::error::NatsError;
use crate::follow::{FollowReport, follow};

/// A replica in a data directory and the state of its log.
///
/// ```no_run
/// use exops_nats::{Connection, Follower};
/// let connection = Connection::connect("nats://127.0.0.1:4222", "bitpoint")?;
/// let mut follower = Follower::open(std::path::Path::new("./replica"))?;
/// // Runs until an error: each block is checked, appended, fsynced, then folded.
/// follower.follow(&connection, false, &mut |state, block| {
///     println!("at seq {} after block {}", state.view().seq, block.seal.block_index);
/// })?;
/// # Ok::<(), exops_nats::NatsError>(())
/// ```
#[derive(Debug)]
pub struct Follower {
    data_dir: PathBuf,
    state: State,
    last_seq: u64,
}

impl Follower {
    /// Opens the replica in `data_dir` (created when missing) and folds its log, reading
    /// only (no snapshot or index is written).
    pub fn open(data_dir: &Path) -> Result<Follower, NatsError> {
        exops_log::init(data_dir)?;
        let restored = restore(data_dir, None, Target::End)?;
        let last_seq = restored.state.view().seq;
        Ok(Follower { data_dir: data_dir.to_owned(), state: restored.state, last_seq })
    }

    /// The state after every event of the replica.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The last sequence number folded (0 for an empty replica).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Follows the stream (see [`follow`]), folding each block as soon as it is durable in
    /// the replica; `on_block` sees the state after each block.
    pub fn follow(
        &mut self,
        connection: &Connection,
        until_head: bool,
        on_block: &mut dyn FnMut(&State, &CheckedBlock),
    ) -> Result<FollowReport, NatsError> {
        let Follower { data_dir, state, last_seq } = self;
        let mut records: Vec<exops_core::Record> = Vec::new();
        follow(connection, data_dir, until_head, &mut |block| {
            records.clear();
            block
                .decode_into(&mut records)
                .map_err(|source| NatsError::Decode { block: block.seal.block_index, source })?;
            state.apply_records(&records, |_, _| ());
            *last_seq = block.seal.last_seq;
            on_block(state, block);
            Ok(())
        })
    }
}
