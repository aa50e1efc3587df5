//! The head record, `log/HEAD`: where the last acknowledged block ends, written after
//! group commits, so that a log found shorter than its head was cut (damage), while bytes
//! past the head were never acknowledged (a torn write, moved aside). Two slots, written
//! in turn, like a superblock: a torn write of one leaves the other whole, and the valid
//! slot with the higher generation is the head.
//!
//! ```text
//! HEAD file: two 512-byte slots (a slot is one sector, so tearing one spares the other)
//! slot
//!      0     8  magic            "EXOPSHED"
//!      8     2  format version   1
//!     10     2  reserved         0
//!     12     4  checksum         CRC32C of bytes 0..12 and 16..128
//!     16     8  generation       +1 per write; slot = generation % 2
//!     24     8  last sequence    of the last acknowledged block (0: none yet)
//!     32     8  blocks           index of the next block (blocks sealed so far)
//!     40     8  segment          first sequence of the segment holding the last seal
//!     48     8  end offset       just past the last seal in that segment
//!     56    32  chain hash       after the last block
//!     88    40  reserved         0
//!    128   384  zero
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::segment::{Damage, HASH_BYTES, Hash, ResumePoint};
use crate::storage::{Storage, StorageFile};
use crate::store::StoreError;

pub const HEAD_FILE: &str = "HEAD";
pub const HEAD_MAGIC: [u8; 8] = *b"EXOPSHED";
pub const HEAD_FORMAT_VERSION: u16 = 1;
pub const HEAD_SLOT_BYTES: usize = 512;
/// The bytes of a slot its checksum covers.
const HEAD_RECORD_BYTES: usize = 128;

const _: () = assert!(HEAD_RECORD_BYTES == 8 + 2 + 2 + 4 + 8 * 5 + HASH_BYTES + 40);
const _: () = assert!(HEAD_RECORD_BYTES <= HEAD_SLOT_BYTES);

/// Where the last acknowledged block ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub generation: u64,
    pub last_seq: u64,
    /// Blocks sealed so far (the index of the next one).
    pub blocks: u64,
    pub segment_first_seq: u64,
    pub end_offset: u64,
    pub hash: Hash,
}

impl Head {
    /// The head after the block ending at `resume`.
    pub fn at(generation: u64, resume: &ResumePoint) -> Head {
        Head {
            generation,
            last_seq: resume.position.next_seq - 1,
            blocks: resume.position.next_block,
            segment_first_seq: resume.segment_first_seq,
            end_offset: resume.offset,
            hash: resume.position.prev_hash,
        }
    }

    fn checksum(bytes: &[u8]) -> u32 {
        crc32c::crc32c_append(crc32c::crc32c(&bytes[..12]), &bytes[16..HEAD_RECORD_BYTES])
    }

    pub fn encode(&self) -> [u8; HEAD_SLOT_BYTES] {
        let mut bytes = [0; HEAD_SLOT_BYTES];
        bytes[..8].copy_from_slice(&HEAD_MAGIC);
        bytes[8..10].copy_from_slice(&HEAD_FORMAT_VERSION.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.generation.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.last_seq.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.blocks.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.segment_first_seq.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.end_offset.to_le_bytes());
        bytes[56..88].copy_from_slice(&self.hash);
        let crc = Head::checksum(&bytes);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// One slot; `None` unless it is whole and checks.
    pub fn decode(bytes: &[u8]) -> Option<Head> {
        if bytes.len() < HEAD_RECORD_BYTES
            || bytes[..8] != HEAD_MAGIC
            || bytes[8..10] != HEAD_FORMAT_VERSION.to_le_bytes()
            || bytes[10..12] != [0, 0]
            || bytes[88..HEAD_RECORD_BYTES].iter().any(|byte| *byte != 0)
        {
            return None;
        }
        let stored = u32::from_le_bytes(bytes[12..16].try_into().ok()?);
        if stored != Head::checksum(bytes) {
            return None;
        }
        let u64_at = |at: usize| bytes[at..at + 8].try_into().ok().map(u64::from_le_bytes);
        let head = Head {
            generation: u64_at(16)?,
            last_seq: u64_at(24)?,
            blocks: u64_at(32)?,
            segment_first_seq: u64_at(40)?,
            end_offset: u64_at(48)?,
            hash: bytes[56..88].try_into().ok()?,
        };
        // The last block's seq is below the next block's first: a head that says
        // otherwise was never written by a writer.
        (head.last_seq >= head.blocks && head.segment_first_seq >= 1).then_some(head)
    }
}

pub fn head_path(segments_dir: &Path) -> PathBuf {
    segments_dir.join(HEAD_FILE)
}

/// The head record of the log in `segments_dir`: `Ok(None)` if there is no `HEAD` file
/// (a log written before head records), damage if neither slot checks.
pub fn read_head(storage: &Storage, segments_dir: &Path) -> Result<Option<Head>, StoreError> {
    let path = head_path(segments_dir);
    let file = match storage.open_read(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(StoreError::Io { path, error }),
    };
    let mut bytes = [0_u8; 2 * HEAD_SLOT_BYTES];
    let mut read = 0;
    while read < bytes.len() {
        match file.read_at(&mut bytes[read..], read as u64) {
            Ok(0) => break,
            Ok(count) => read += count,
            Err(error) => return Err(StoreError::Io { path, error }),
        }
    }
    // Bytes past what was read stay zero, which no slot decodes from.
    let slots = [Head::decode(&bytes[..HEAD_SLOT_BYTES]), Head::decode(&bytes[HEAD_SLOT_BYTES..])];
    match slots.into_iter().flatten().max_by_key(|head| head.generation) {
        Some(head) => Ok(Some(head)),
        None => Err(StoreError::Damaged(Damage {
            segment: path,
            offset: 0,
            message: format!(
                "neither slot of the head record checks ({read} bytes; two {HEAD_SLOT_BYTES}-byte slots expected)"
            ),
        })),
    }
}

/// The writer's handle on `HEAD`: made with the first record written (a log from before
/// head records has none until its first block), then each record goes to the other slot.
#[derive(Debug)]
pub struct HeadFile {
    storage: Storage,
    dir: PathBuf,
    file: Option<Box<dyn StorageFile>>,
    next_generation: u64,
    /// The last head written and synced.
    pub written: Option<Head>,
}

pub type SharedHead = Arc<Mutex<HeadFile>>;

impl HeadFile {
    pub fn new(storage: &Storage, segments_dir: &Path, current: Option<Head>) -> HeadFile {
        HeadFile {
            storage: storage.clone(),
            dir: segments_dir.to_owned(),
            file: None,
            next_generation: current.map_or(0, |head| head.generation + 1),
            written: current,
        }
    }

    /// Writes the head after the block ending at `resume` to the next slot and syncs it
    /// (creating the file, and syncing its directory, the first time).
    pub fn record(&mut self, resume: &ResumePoint) -> Result<(), StoreError> {
        let path = head_path(&self.dir);
        let io = |error| StoreError::Io { path: path.clone(), error };
        if self.file.is_none() {
            let file = match self.storage.open_write(&path) {
                Ok(file) => file,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    let file = self.storage.create_new(&path).map_err(io)?;
                    file.write_at(&[0; 2 * HEAD_SLOT_BYTES], 0).map_err(io)?;
                    file.sync_data().map_err(io)?;
                    self.storage.sync_dir(&self.dir).map_err(io)?;
                    file
                }
                Err(error) => return Err(io(error)),
            };
            self.file = Some(file);
        }
        let head = Head::at(self.next_generation, resume);
        let slot = (head.generation % 2) as usize * HEAD_SLOT_BYTES;
        let file = self.file.as_ref().expect("opened above");
        file.write_at(&head.encode(), slot as u64).map_err(io)?;
        file.sync_data().map_err(io)?;
        self.next_generation += 1;
        self.written = Some(head);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::ChainPosition;

    fn resume(seq: u64) -> ResumePoint {
        let position =
            ChainPosition { next_seq: seq + 1, next_block: seq, prev_hash: [seq as u8; 32], last_at_micros: None };
        ResumePoint { segment_first_seq: 1, offset: 72 + seq * 100, position }
    }

    #[test]
    fn every_flipped_bit_of_a_slot_is_caught() {
        let good = Head::at(7, &resume(5)).encode();
        assert_eq!(Head::decode(&good), Some(Head::at(7, &resume(5))));
        for bit in 0..HEAD_RECORD_BYTES * 8 {
            let mut bad = good;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Head::decode(&bad), None, "bit {bit} flipped unnoticed");
        }
    }

    /// A torn write of the slot being written leaves the other, older, head: the head is
    /// never ahead of what was durable, and never lost.
    #[test]
    fn a_torn_slot_leaves_the_other_one() {
        let sim = crate::sim_storage::SimStorage::new(3);
        let storage = Storage::new(Arc::new(sim.clone()));
        let dir = Path::new("/sim/log");
        storage.create_dir_all(dir).unwrap();
        let mut file = HeadFile::new(&storage, dir, None);
        for seq in 1..=3 {
            file.record(&resume(seq)).unwrap();
        }
        assert_eq!(read_head(&storage, dir).unwrap().map(|head| head.last_seq), Some(3));
        // Generation 3 goes to slot 1: tear it at every length.
        let before = sim.contents(&head_path(dir)).unwrap();
        let next = Head::at(3, &resume(4)).encode();
        for kept in 0..HEAD_RECORD_BYTES {
            let mut torn = before.clone();
            torn[HEAD_SLOT_BYTES..HEAD_SLOT_BYTES + kept].copy_from_slice(&next[..kept]);
            let whole = torn[HEAD_SLOT_BYTES..] == next[..];
            sim.overwrite(&head_path(dir), Some(torn));
            let head = read_head(&storage, dir).unwrap().unwrap();
            // The new head once its slot holds it whole (its last bytes are zeros, as the
            // old slot's were), the old one before.
            assert_eq!(head.last_seq, if whole { 4 } else { 3 }, "{kept} bytes of the new slot");
        }
        sim.overwrite(&head_path(dir), Some(vec![0; 2 * HEAD_SLOT_BYTES]));
        assert!(matches!(read_head(&storage, dir), Err(StoreError::Damaged(_))), "no valid slot is damage");
    }
}
