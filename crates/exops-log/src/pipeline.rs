//! Replay on two cores: a reader thread reads whole blocks and checks them (checksums,
//! the hash chain) and hands them, still encoded, over a bounded channel to the thread
//! that decodes and folds them, so reading one block overlaps decoding and applying the
//! one before. Memory is the channel's few blocks, not the log.

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, bounded};
use exops_core::Envelope;

use crate::reader::{LogReader, RawBlock, SealedBlock, UnsealedTail};
use crate::store::StoreError;

/// Blocks in flight between the threads (a block is at most a group commit's events).
pub const BLOCKS_IN_FLIGHT: usize = 4;

/// Whole blocks from `from_seq` on, read and decoded by a background thread.
#[derive(Debug)]
pub struct PipelinedReader {
    blocks: Receiver<Result<RawBlock, StoreError>>,
    /// The reader thread, which ends with what it found after the last seal.
    thread: Option<JoinHandle<Option<UnsealedTail>>>,
    current: std::vec::IntoIter<Envelope>,
    failed: bool,
    unsealed_tail: Option<UnsealedTail>,
}

impl PipelinedReader {
    /// Moves `reader` to a background thread that reads its blocks.
    pub fn from_reader(mut reader: LogReader) -> Result<PipelinedReader, StoreError> {
        let (sender, blocks) = bounded(BLOCKS_IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("exops-log-reader".to_owned())
            .spawn(move || {
                while let Some(block) = reader.next_raw_block() {
                    let stop = block.is_err();
                    if sender.send(block).is_err() || stop {
                        return None;
                    }
                }
                reader.unsealed_tail
            })
            .map_err(|error| StoreError::Io { path: "exops-log-reader".into(), error })?;
        Ok(PipelinedReader {
            blocks,
            thread: Some(thread),
            current: Vec::new().into_iter(),
            failed: false,
            unsealed_tail: None,
        })
    }

    /// Unsealed bytes after the last block (see [`LogReader::unsealed_tail`]), known once
    /// every block has been taken.
    pub fn unsealed_tail(&self) -> Option<&UnsealedTail> {
        self.unsealed_tail.as_ref()
    }

    /// The next block, checked and still encoded: the fastest way to consume the
    /// pipeline (decode it with [`RawBlock::decode_into`] into a buffer kept between
    /// blocks).
    pub fn next_raw_block(&mut self) -> Option<Result<RawBlock, StoreError>> {
        if self.failed {
            return None;
        }
        let Ok(block) = self.blocks.recv() else {
            // The reader thread has ended (it drops its sender last): what it found after
            // the last seal is known now.
            if let Some(thread) = self.thread.take() {
                self.unsealed_tail = thread.join().ok().flatten();
            }
            return None;
        };
        if block.is_err() {
            self.failed = true;
        }
        Some(block)
    }

    /// The next block, decoded.
    pub fn next_block(&mut self) -> Option<Result<SealedBlock, StoreError>> {
        let decoded = self.next_raw_block()?.and_then(|block| {
            let mut events = Vec::new();
            block.decode_into(&mut events)?;
            Ok(SealedBlock { events, seal: Some(block.seal) })
        });
        if decoded.is_err() {
            self.failed = true;
        }
        Some(decoded)
    }
}

impl Iterator for PipelinedReader {
    type Item = Result<Envelope, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(envelope) = self.current.next() {
                return Some(Ok(envelope));
            }
            match self.next_block()? {
                Ok(block) => self.current = block.events.into_iter(),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl Drop for PipelinedReader {
    fn drop(&mut self) {
        // Dropping the receiver ends the reader thread at its next send.
        let (_, closed) = bounded(0);
        self.blocks = closed;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
