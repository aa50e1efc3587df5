//! Derived data in sled: state snapshots at block boundaries and a time → sequence index
//! of blocks. None of it is the source of truth: every entry is checksummed, tied to the
//! log by the chain hash of the block it follows, and rebuilt from the log when missing or
//! damaged.
//!
//! ```text
//! snapshot value
//!      0     4  magic           "EXSN"
//!      4     2  format version  1
//!      6     4  checksum        CRC32C of bytes 10..end
//!     10     8  sequence number of the last event folded in (a block's last)
//!     18     8  timestamp       of that event, microseconds (i64::MIN when none)
//!     26    32  chain hash      of the block ending at that sequence number
//!     58     …  the state, as JSON
//! ```

use std::path::{Path, PathBuf};

use exops_core::{State, Timestamp};

use crate::segment::{HASH_BYTES, Hash};

pub const INDEX_DIR: &str = "index.sled";
const SNAPSHOT_MAGIC: [u8; 4] = *b"EXSN";
const SNAPSHOT_VERSION: u16 = 1;
const SNAPSHOT_HEADER_BYTES: usize = 58;
/// The data directory's settings file: configuration, unlike the index, is not derived.
pub const SETTINGS_FILE: &str = "exops.toml";

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    snapshot_every: Option<u64>,
}

/// Events between snapshots unless the data directory says otherwise. Snapshots are JSON
/// for now, several megabytes for a million-customer state, so they stay a million events
/// apart by default; a fold of a million events takes well under a second.
pub const SNAPSHOT_EVERY_DEFAULT: u64 = 1 << 20;

/// A snapshot's identity, without its state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub seq: u64,
    pub at: Option<Timestamp>,
    pub chain_hash: Hash,
}

/// Why a snapshot could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDamage {
    pub seq: u64,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct Snapshots {
    path: PathBuf,
    settings: PathBuf,
    db: sled::Db,
    snapshots: sled::Tree,
    snapshots_by_time: sled::Tree,
    blocks_by_time: sled::Tree,
}

fn sled_error(path: &Path) -> impl Fn(sled::Error) -> String + '_ {
    move |error| format!("{}: {error}", path.display())
}

/// Instants as keys that sort like the instants (the sign bit flipped, big-endian).
fn time_key(at_micros: i64, seq: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&((at_micros as u64) ^ (1 << 63)).to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn seq_from(bytes: &[u8]) -> Option<u64> {
    bytes.get(..8).and_then(|bytes| bytes.try_into().ok()).map(u64::from_be_bytes)
}

impl Snapshots {
    /// Opens the data directory's index. sled locks its files against other processes,
    /// so within one process every caller shares one handle per directory; another
    /// process that holds the index (a running `exops log append`) makes this fail, and
    /// callers fall back to the log alone.
    pub fn open(data_dir: &Path) -> Result<Snapshots, String> {
        use std::collections::BTreeMap;
        use std::sync::{Mutex, OnceLock};
        static OPEN: OnceLock<Mutex<BTreeMap<PathBuf, sled::Db>>> = OnceLock::new();
        let path = data_dir.join(INDEX_DIR);
        let key = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned());
        let mut open = OPEN.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // A handle whose directory was deleted under it is stale: reopen.
        if !path.exists() {
            open.remove(&key);
        }
        let db = match open.get(&key) {
            Some(db) => db.clone(),
            None => {
                let db = sled::Config::new().path(&path).open().map_err(sled_error(&path))?;
                open.insert(key, db.clone());
                db
            }
        };
        drop(open);
        let tree = |name: &str| db.open_tree(name).map_err(sled_error(&path));
        Ok(Snapshots {
            snapshots: tree("snapshots")?,
            snapshots_by_time: tree("snapshots_by_time")?,
            blocks_by_time: tree("blocks_by_time")?,
            db,
            path,
            settings: data_dir.join(SETTINGS_FILE),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events between snapshots for this data directory.
    pub fn snapshot_every(&self) -> u64 {
        std::fs::read_to_string(&self.settings)
            .ok()
            .and_then(|text| toml::from_str::<Settings>(&text).ok())
            .and_then(|settings| settings.snapshot_every)
            .filter(|every| *every > 0)
            .unwrap_or(SNAPSHOT_EVERY_DEFAULT)
    }

    pub fn set_snapshot_every(&self, every: u64) -> Result<(), String> {
        let settings = Settings { snapshot_every: Some(every.max(1)) };
        let text = toml::to_string(&settings).map_err(|error| error.to_string())?;
        std::fs::write(&self.settings, text).map_err(|error| format!("{}: {error}", self.settings.display()))
    }

    /// Stores the state after the block ending at `meta.seq`.
    pub fn put(&self, meta: SnapshotMeta, state: &State) -> Result<(), String> {
        let payload = serde_json::to_vec(state).map_err(|error| format!("cannot encode a snapshot: {error}"))?;
        let mut value = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + payload.len());
        value.extend_from_slice(&SNAPSHOT_MAGIC);
        value.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        value.extend_from_slice(&[0; 4]);
        value.extend_from_slice(&meta.seq.to_le_bytes());
        value.extend_from_slice(&meta.at.map_or(i64::MIN, Timestamp::unix_micros).to_le_bytes());
        value.extend_from_slice(&meta.chain_hash);
        value.extend_from_slice(&payload);
        let checksum = crc32c::crc32c(&value[10..]);
        value[6..10].copy_from_slice(&checksum.to_le_bytes());
        let at_micros = meta.at.map_or(i64::MIN, Timestamp::unix_micros);
        self.snapshots.insert(meta.seq.to_be_bytes(), value).map_err(sled_error(&self.path))?;
        self.snapshots_by_time
            .insert(time_key(at_micros, meta.seq), &meta.seq.to_be_bytes())
            .map_err(sled_error(&self.path))?;
        Ok(())
    }

    /// Records that the block ending at `seq` ended at `at`.
    pub fn record_block(&self, at: Timestamp, seq: u64) -> Result<(), String> {
        self.blocks_by_time.insert(time_key(at.unix_micros(), seq), &[]).map_err(sled_error(&self.path))?;
        Ok(())
    }

    /// The last block that ended at or before `at`: its last sequence number.
    pub fn seq_at_or_before(&self, at: Timestamp) -> Option<u64> {
        let (key, _) = self.blocks_by_time.range(..=time_key(at.unix_micros(), u64::MAX)).next_back()?.ok()?;
        seq_from(&key[8..])
    }

    /// Snapshot sequence numbers at or before `seq`, newest first.
    pub fn candidates_by_seq(&self, seq: u64) -> Vec<u64> {
        self.snapshots
            .range(..=seq.to_be_bytes())
            .rev()
            .filter_map(|entry| entry.ok().and_then(|(key, _)| seq_from(&key)))
            .collect()
    }

    /// Snapshot sequence numbers whose instant is at or before `at`, newest first.
    pub fn candidates_by_time(&self, at: Timestamp) -> Vec<u64> {
        let mut seqs: Vec<u64> = self
            .snapshots_by_time
            .range(..=time_key(at.unix_micros(), u64::MAX))
            .filter_map(|entry| entry.ok().and_then(|(_, value)| seq_from(&value)))
            .collect();
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        seqs
    }

    /// Loads and checks one snapshot.
    pub fn load(&self, seq: u64) -> Result<(SnapshotMeta, State), SnapshotDamage> {
        let damage = |reason: String| SnapshotDamage { seq, reason };
        let value = self
            .snapshots
            .get(seq.to_be_bytes())
            .map_err(|error| damage(error.to_string()))?
            .ok_or_else(|| damage("missing".to_owned()))?;
        if value.len() < SNAPSHOT_HEADER_BYTES || value[..4] != SNAPSHOT_MAGIC {
            return Err(damage("not a snapshot (bad magic or too short)".to_owned()));
        }
        let version = u16::from_le_bytes([value[4], value[5]]);
        if version != SNAPSHOT_VERSION {
            return Err(damage(format!("snapshot format version {version}; this build reads {SNAPSHOT_VERSION}")));
        }
        let stored = u32::from_le_bytes(value[6..10].try_into().expect("four bytes"));
        if stored != crc32c::crc32c(&value[10..]) {
            return Err(damage("checksum mismatch".to_owned()));
        }
        let stored_seq = u64::from_le_bytes(value[10..18].try_into().expect("eight bytes"));
        if stored_seq != seq {
            return Err(damage(format!("filed under seq {seq} but holds seq {stored_seq}")));
        }
        let at_micros = i64::from_le_bytes(value[18..26].try_into().expect("eight bytes"));
        let chain_hash: Hash = value[26..26 + HASH_BYTES].try_into().expect("32 bytes");
        let state: State = serde_json::from_slice(&value[SNAPSHOT_HEADER_BYTES..])
            .map_err(|error| damage(format!("cannot decode the state: {error}")))?;
        if state.seq() != seq {
            return Err(damage(format!("holds a state at seq {}", state.seq())));
        }
        let at = (at_micros != i64::MIN).then(|| Timestamp::from_unix_micros(at_micros));
        Ok((SnapshotMeta { seq, at, chain_hash }, state))
    }

    /// Forgets one snapshot (damaged, or not matching the log).
    pub fn remove(&self, seq: u64) {
        if let Ok(Some(value)) = self.snapshots.remove(seq.to_be_bytes())
            && value.len() >= 26
        {
            let at_micros = i64::from_le_bytes(value[18..26].try_into().expect("eight bytes"));
            let _ = self.snapshots_by_time.remove(time_key(at_micros, seq));
        }
    }

    /// Forgets everything derived at or after `seq` (the log no longer has it).
    pub fn forget_from(&self, seq: u64) {
        for stale in self.candidates_by_seq(u64::MAX).into_iter().filter(|stale| *stale >= seq) {
            self.remove(stale);
        }
        let stale_blocks: Vec<sled::IVec> = self
            .blocks_by_time
            .iter()
            .filter_map(Result::ok)
            .filter(|(key, _)| seq_from(&key[8..]).is_some_and(|block| block >= seq))
            .map(|(key, _)| key)
            .collect();
        for key in stale_blocks {
            let _ = self.blocks_by_time.remove(key);
        }
    }

    /// How many snapshots, and the first and last sequence numbers they cover.
    pub fn coverage(&self) -> (usize, Option<u64>, Option<u64>) {
        let first = self.snapshots.first().ok().flatten().and_then(|(key, _)| seq_from(&key));
        let last = self.snapshots.last().ok().flatten().and_then(|(key, _)| seq_from(&key));
        (self.snapshots.len(), first, last)
    }

    /// Writes what is buffered; derived data needs no fsync per write.
    pub fn flush(&self) -> Result<(), String> {
        self.db.flush().map(|_| ()).map_err(sled_error(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_changed_byte_of_a_snapshot_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::open(dir.path()).unwrap();
        let meta = SnapshotMeta { seq: 0, at: None, chain_hash: [3; HASH_BYTES] };
        snapshots.put(meta, &State::new()).unwrap();
        assert_eq!(snapshots.load(0).unwrap().0, meta);
        let good = snapshots.snapshots.get(0_u64.to_be_bytes()).unwrap().unwrap().to_vec();
        for index in 0..good.len() {
            let mut bad = good.clone();
            bad[index] ^= 0x20;
            snapshots.snapshots.insert(0_u64.to_be_bytes(), bad).unwrap();
            assert!(snapshots.load(0).is_err(), "byte {index} changed unnoticed");
        }
        snapshots.snapshots.insert(0_u64.to_be_bytes(), &good[..10]).unwrap();
        assert!(snapshots.load(0).unwrap_err().reason.contains("too short"));
    }
}
