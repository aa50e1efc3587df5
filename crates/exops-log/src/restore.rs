//! The state at a point of the log: from the newest usable snapshot at or before it,
//! plus the events after the snapshot. A snapshot that is damaged, or whose chain hash
//! does not match the log, is removed and the next older one tried; with none left the
//! log is folded from the start, rebuilding snapshots on the way.

use std::path::Path;

use exops_core::{Envelope, State, Timestamp};

use crate::pipeline::PipelinedReader;
use crate::reader::LogReader;
use crate::snapshots::{SnapshotMeta, Snapshots};
use crate::store::StoreError;

/// Where a restore stops.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    End,
    /// After the event with this sequence number.
    Seq(u64),
    /// After every event up to this instant (stopping before the first later one).
    At(Timestamp),
}

impl Target {
    fn includes(self, envelope: &Envelope) -> bool {
        match self {
            Target::End => true,
            Target::Seq(seq) => envelope.seq <= seq,
            Target::At(at) => envelope.at <= at,
        }
    }
}

/// A restored state and how it was obtained.
#[derive(Debug)]
pub struct Restored {
    pub state: State,
    /// The snapshot it started from, if any.
    pub from_snapshot: Option<u64>,
    /// Events folded after the snapshot (or from the start).
    pub events_folded: u64,
    /// The timestamp of the last event folded in, applied or not: where the log's clock
    /// stands at the target.
    pub last_at: Option<Timestamp>,
    /// What was repaired or rebuilt on the way, for the user.
    pub notes: Vec<String>,
}

/// Folds the reader's events into `state` up to `target`.
fn fold(
    reader: &mut LogReader,
    state: &mut State,
    target: Target,
    last_at: &mut Option<Timestamp>,
) -> Result<u64, StoreError> {
    let mut folded = 0;
    for envelope in reader {
        let envelope = envelope?;
        if !target.includes(&envelope) {
            break;
        }
        state.apply(&envelope);
        *last_at = Some(envelope.at);
        folded += 1;
    }
    Ok(folded)
}

/// Folds the whole log up to `target` on two threads (one reads and decodes, this one
/// applies), storing snapshots at block boundaries on the way when `snapshots` is given.
pub fn fold_pipelined(
    data_dir: &Path,
    target: Target,
    snapshots: Option<&Snapshots>,
) -> Result<(State, u64, Option<Timestamp>), StoreError> {
    let mut state = State::new();
    let mut pipeline = PipelinedReader::open(data_dir, 1)?;
    let every = snapshots.map_or(u64::MAX, Snapshots::snapshot_every);
    let mut next_snapshot = every;
    let (mut folded, mut last_at) = (0_u64, None);
    let mut decoded = Vec::new();
    while let Some(block) = pipeline.next_raw_block() {
        let block = block?;
        decoded.clear();
        block.decode_into(&mut decoded)?;
        let included = decoded.iter().position(|envelope| !target.includes(envelope));
        let events = &decoded[..included.unwrap_or(decoded.len())];
        state.apply_batch(events, |_, _| ());
        if let Some(last) = events.last() {
            last_at = Some(last.at);
        }
        folded += events.len() as u64;
        if included.is_some() {
            break;
        }
        if let (Some(store), (seq, hash, at)) = (snapshots, block.seal)
            && seq == state.seq()
        {
            let at = at.map(Timestamp::from_unix_micros);
            if seq >= next_snapshot {
                let _ = store.put(SnapshotMeta { seq, at, chain_hash: hash }, &state);
                next_snapshot = (seq / every).saturating_add(1).saturating_mul(every);
            }
        }
    }
    Ok((state, folded, last_at))
}

/// The state of the log in `data_dir` at `target`. `snapshots` is the data directory's
/// index, when it could be opened.
pub fn restore(data_dir: &Path, snapshots: Option<&Snapshots>, target: Target) -> Result<Restored, StoreError> {
    let mut notes = Vec::new();
    if let Some(store) = snapshots {
        let candidates = match target {
            Target::End => store.candidates_by_seq(u64::MAX),
            Target::Seq(seq) => store.candidates_by_seq(seq),
            Target::At(at) => store.candidates_by_time(at),
        };
        for seq in candidates {
            let (meta, mut state) = match store.load(seq) {
                Ok(loaded) => loaded,
                Err(damage) => {
                    notes.push(format!(
                        "snapshot at seq {} is damaged ({}): removed; snapshots are rebuilt from the log",
                        damage.seq, damage.reason
                    ));
                    store.remove(seq);
                    continue;
                }
            };
            let mut reader = LogReader::open(data_dir, meta.seq + 1)?;
            // Read up to the first tail event so the reader has passed the snapshot's
            // block and knows the log's chain hash there.
            let first = reader.next().transpose()?;
            if reader.chain_before_start() != Some(meta.chain_hash) {
                notes.push(format!(
                    "snapshot at seq {seq} does not match the log (the chain hash differs, or the log is shorter): \
                     removed; snapshots are rebuilt from the log"
                ));
                store.remove(seq);
                continue;
            }
            let mut folded = 0;
            let mut last_at = meta.at;
            if let Some(first) = first
                && target.includes(&first)
            {
                state.apply(&first);
                last_at = Some(first.at);
                folded = 1 + fold(&mut reader, &mut state, target, &mut last_at)?;
            }
            return Ok(Restored { state, from_snapshot: Some(seq), events_folded: folded, last_at, notes });
        }
    }
    let had_snapshots = snapshots.is_some_and(|store| store.coverage().0 > 0);
    let (state, folded, last_at) = fold_pipelined(data_dir, target, snapshots)?;
    if let Some(store) = snapshots {
        if !notes.is_empty() {
            notes.push("replayed the log from the start and rebuilt its snapshots".to_owned());
        } else if !had_snapshots && folded >= store.snapshot_every() {
            notes.push(format!(
                "the index in {} had no snapshots: replayed the log from the start and rebuilt them",
                store.path().display()
            ));
        }
        let _ = store.flush();
    }
    Ok(Restored { state, from_snapshot: None, events_folded: folded, last_at, notes })
}
