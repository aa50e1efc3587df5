//! Derived data: state snapshots at block boundaries, and in sled their time index. None of it is the source of truth: every snapshot is
//! checksummed, tied to the log by the chain hash of the block it follows, and rebuilt
//! from the log when missing or damaged.
//!
//! Each snapshot is a file, `snapshots/SEQ.snap` (SEQ in 20 digits), written under a
//! temporary name and renamed. Snapshots were sled values at first; sled kept every value
//! written in a process in memory whatever its cache size (a first replay of a
//! 100 M-event log peaked at 214 MB against 58 MB for 10 M events), and read and rewrote
//! up to 16 of them together. See docs/adr/0002-log-storage.md.
//!
//! ```text
//! snapshot file
//!      0     4  magic           "EXSN"
//!      4     2  format version  5
//!      6     4  checksum        CRC32C of bytes 10..end
//!     10     8  sequence number of the last event folded in (a block's last)
//!     18     8  timestamp       of that event, microseconds (i64::MIN when none)
//!     26    32  chain hash      of the block ending at that sequence number
//!     58     8  where reading resumes after that block: the first seq of its segment,
//!     66     8    the offset just past its seal,
//!     74     8    the next block's number,
//!     82     8    the log's last timestamp there (i64::MIN when none)
//!     90     4  length of the JSON below, u32
//!     94     …  the state, as JSON, without its per-customer arrays
//!      …     …  the per-customer arrays (customers.rs: LEB128 last ids,
//!               the affected bitmap)
//! ```

use std::path::{Path, PathBuf};

use exops_core::{State, Timestamp};

use crate::segment::{ChainPosition, HASH_BYTES, Hash, ResumePoint};
use crate::settings::Settings;

pub const INDEX_DIR: &str = "index.sled";
/// The directory of snapshot files, beside the index.
pub const SNAPSHOTS_DIR: &str = "snapshots";
const SNAPSHOT_MAGIC: [u8; 4] = *b"EXSN";
/// Version 1 held the whole state as JSON (every customer's last id in digits); version 2
/// had no resume point; version 3's state had no phase markers (an older build would read
/// a version 4 state and silently drop them, so the version says they are there); version
/// 4's state had no rules version (`State::rules`: an older build would fold on from a
/// version 5 snapshot with its own rules, whatever the log declared). A snapshot of another
/// version is damage to this build: it is moved aside and rebuilt from the log.
const SNAPSHOT_VERSION: u16 = 5;
/// Trees of earlier layouts (snapshots as sled values; a time index of every block, which
/// nothing read); dropped on open.
const RETIRED_TREES: [&str; 2] = ["snapshots", "blocks_by_time"];
const SNAPSHOT_HEADER_BYTES: usize = 90;
pub use crate::settings::SETTINGS_FILE;

/// Events between snapshots unless the data directory says otherwise. A restore folds at
/// most this many events after its snapshot (about 26 ms at the pipelined fold's 10 M
/// events/s on the 2-core development machine); a million-customer snapshot takes about
/// 1.3 MB, so the snapshots of a log take about 7% of its size (a 100 M-event log: 381
/// snapshots, 0.5 GB, beside 6.6 GB of segments).
pub const SNAPSHOT_EVERY_DEFAULT: u64 = 1 << 18;

/// sled's page cache. Its default (1 GiB) let a replay's memory grow with the number of
/// snapshots in the index; snapshots are read one at a time, so a small cache loses
/// nothing.
const SLED_CACHE_BYTES: u64 = 1 << 20;

/// A snapshot's identity, without its state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub seq: u64,
    pub at: Option<Timestamp>,
    pub chain_hash: Hash,
    /// Where the log continues after the snapshot's block (its chain: `seq + 1`,
    /// `chain_hash`).
    pub resume: ResumePoint,
}

/// Why a snapshot could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDamage {
    pub seq: u64,
    pub reason: String,
}

/// How many snapshots a data directory holds, the first and last sequence numbers they
/// are at, and the interval new ones are taken at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub count: usize,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub every: u64,
}

/// The snapshot files and the settings of a data directory, without the sled index:
/// reading through this writes nothing, so reads (`stats`, the writer's open) use it.
#[derive(Clone, Debug)]
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
    data_dir: PathBuf,
}

impl SnapshotFiles {
    pub(crate) fn new(data_dir: &Path) -> SnapshotFiles {
        SnapshotFiles { dir: data_dir.join(SNAPSHOTS_DIR), data_dir: data_dir.to_owned() }
    }

    /// The interval the settings file records, if any. A settings file that is not valid
    /// records none here: the commands that read the whole file say what is wrong with it.
    fn recorded_every(&self) -> Option<u64> {
        Settings::load(&self.data_dir).ok().and_then(|settings| settings.snapshot_every)
    }

    /// Events between snapshots for this data directory.
    pub(crate) fn snapshot_every(&self) -> u64 {
        self.recorded_every().unwrap_or(SNAPSHOT_EVERY_DEFAULT)
    }

    /// Records the interval in the settings file, unless it already says so.
    pub(crate) fn record_snapshot_every(&self, every: u64) -> Result<(), String> {
        let every = every.max(1);
        if self.recorded_every() == Some(every) {
            return Ok(());
        }
        // The rest of the file is kept; a file that is not valid is not overwritten.
        let mut settings = Settings::load(&self.data_dir).map_err(|error| error.to_string())?;
        settings.snapshot_every = Some(every);
        settings.save(&self.data_dir).map_err(|error| error.to_string())
    }

    fn file(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.snap"))
    }

    /// Writes the snapshot file for `seq` (under a temporary name, then renamed, so a
    /// crash leaves the old file or the new one). Derived data: no fsync.
    fn write_value(&self, seq: u64, value: &[u8]) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let file = self.file(seq);
        let temporary = file.with_extension("snap.tmp");
        std::fs::write(&temporary, value).map_err(io_error(&temporary))?;
        std::fs::rename(&temporary, &file).map_err(io_error(&file))
    }

    /// The bytes of the snapshot file for `seq` (`None` when there is none).
    fn read_value(&self, seq: u64) -> Result<Option<Vec<u8>>, String> {
        let file = self.file(seq);
        match std::fs::read(&file) {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("{}: {error}", file.display())),
        }
    }

    /// Snapshot sequence numbers at or before `seq`, newest first.
    pub(crate) fn candidates_by_seq(&self, seq: u64) -> Vec<u64> {
        let mut seqs: Vec<u64> = self.all_seqs().into_iter().filter(|candidate| *candidate <= seq).collect();
        seqs.reverse();
        seqs
    }

    /// Every snapshot's sequence number, in order: the snapshot files present.
    fn all_seqs(&self) -> Vec<u64> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut seqs: Vec<u64> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name();
                let digits = name.to_str()?.strip_suffix(".snap")?;
                (digits.len() == 20 && digits.bytes().all(|byte| byte.is_ascii_digit()))
                    .then(|| digits.parse().ok())
                    .flatten()
            })
            .collect();
        seqs.sort_unstable();
        seqs
    }

    pub(crate) fn coverage(&self) -> Coverage {
        let seqs = self.all_seqs();
        Coverage {
            count: seqs.len(),
            first_seq: seqs.first().copied(),
            last_seq: seqs.last().copied(),
            every: self.snapshot_every(),
        }
    }

    /// Loads and checks one snapshot.
    pub(crate) fn load(&self, seq: u64) -> Result<(SnapshotMeta, State), SnapshotDamage> {
        let damage = |reason: String| SnapshotDamage { seq, reason };
        let value = self.read_value(seq).map_err(damage)?.ok_or_else(|| damage("missing".to_owned()))?;
        decode(seq, &value)
    }
}

/// Decodes and checks the bytes of a snapshot file filed under `seq` (its name): every
/// field, the checksum, the state and its per-customer arrays. Never panics; what is
/// wrong is the error's `reason`.
pub(crate) fn decode(seq: u64, value: &[u8]) -> Result<(SnapshotMeta, State), SnapshotDamage> {
    let damage = |reason: String| SnapshotDamage { seq, reason };
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
    let u64_at = |offset: usize| u64::from_le_bytes(value[offset..offset + 8].try_into().expect("eight bytes"));
    let log_last_at = u64_at(82) as i64;
    let resume = ResumePoint {
        segment_first_seq: u64_at(58),
        offset: u64_at(66),
        position: ChainPosition {
            next_seq: seq.checked_add(1).ok_or_else(|| damage("its seq is the largest there is".to_owned()))?,
            next_block: u64_at(74),
            prev_hash: chain_hash,
            last_at_micros: (log_last_at != i64::MIN).then_some(log_last_at),
        },
    };
    let body = &value[SNAPSHOT_HEADER_BYTES..];
    let json_len = body.get(..4).map(|bytes| u32::from_le_bytes(bytes.try_into().expect("four bytes")) as usize);
    let Some((json, customers)) = json_len.and_then(|len| body.get(4..)?.split_at_checked(len)) else {
        return Err(damage("the JSON length runs past the end".to_owned()));
    };
    let mut state: State =
        serde_json::from_slice(json).map_err(|error| damage(format!("cannot decode the state: {error}")))?;
    state.check_consistency().map_err(|error| damage(format!("the state is not one the log folds to: {error}")))?;
    crate::customers::decode(customers)
        .and_then(|arrays| state.set_customer_arrays(arrays))
        .map_err(|error| damage(format!("cannot decode the customer data: {error}")))?;
    if state.seq() != seq {
        return Err(damage(format!("holds a state at seq {}", state.seq())));
    }
    let at = (at_micros != i64::MIN).then(|| Timestamp::from_unix_micros(at_micros));
    Ok((SnapshotMeta { seq, at, chain_hash, resume }, state))
}

/// The bytes of the snapshot file of `state`, taken after the block `meta` names. They
/// are decoded again before they are handed out, and must give back `meta` and `state`
/// (a paired assertion: the check [`decode`] makes after reading a file is made before
/// writing it, so a snapshot this build could not restore never reaches the disk).
pub(crate) fn encode(meta: SnapshotMeta, state: &State) -> Result<Vec<u8>, String> {
    // The file keeps the chain hash once and the seq once: a resume point that does not
    // continue them cannot be stored (it would read back as another one).
    let continues = meta.resume.position.prev_hash == meta.chain_hash
        && Some(meta.resume.position.next_seq) == meta.seq.checked_add(1);
    if !continues {
        return Err(format!(
            "cannot store the snapshot at seq {}: its resume point (next seq {}) does not continue its seq and \
             chain hash",
            meta.seq, meta.resume.position.next_seq
        ));
    }
    let value = encode_unchecked(meta, state)?;
    assert_snapshot_reads_back(meta, state, &value);
    Ok(value)
}

/// A snapshot file's bytes, for this workspace's fuzz targets and tests only (the
/// `internals` feature): not part of the boundary.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    use exops_core::State;

    use super::{SnapshotDamage, SnapshotMeta};

    /// See `snapshots::decode`: the bytes of a snapshot file filed under `seq`, checked.
    pub fn decode(seq: u64, value: &[u8]) -> Result<(SnapshotMeta, State), SnapshotDamage> {
        super::decode(seq, value)
    }

    /// See `snapshots::encode`: the bytes of the snapshot file of `state`, checked to
    /// decode back to it.
    pub fn encode(meta: SnapshotMeta, state: &State) -> Result<Vec<u8>, String> {
        super::encode(meta, state)
    }
}

/// What [`decode`] gives back for `meta`: the instants the format keeps as `i64::MIN`
/// mean "none", so an instant at exactly `i64::MIN` microseconds reads back as none.
fn as_stored(meta: SnapshotMeta) -> SnapshotMeta {
    let mut stored = meta;
    stored.at = meta.at.filter(|at| at.unix_micros() != i64::MIN);
    stored.resume.position.last_at_micros = meta.resume.position.last_at_micros.filter(|at| *at != i64::MIN);
    stored
}

/// The snapshot bytes about to be written decode to what they were made from. One check
/// per snapshot, field by field so that a failure names the part that does not read back.
fn assert_snapshot_reads_back(meta: SnapshotMeta, state: &State, value: &[u8]) {
    let (read_meta, read_state) = match decode(meta.seq, value) {
        Ok(read) => read,
        Err(damage) => panic!("a snapshot this build encoded at seq {} does not decode: {}", meta.seq, damage.reason),
    };
    let meta = as_stored(meta);
    assert_eq!(read_meta.seq, meta.seq, "the snapshot's seq reads back");
    assert_eq!(read_meta.at, meta.at, "the snapshot's instant reads back");
    assert_eq!(read_meta.chain_hash, meta.chain_hash, "the snapshot's chain hash reads back");
    assert_eq!(read_meta.resume, meta.resume, "the snapshot's resume point reads back (it continues its chain hash)");
    assert_eq!(read_state.seq(), state.seq(), "the snapshot's state reads back at its seq");
    assert!(read_state == *state, "the snapshot's state (seq {}) reads back as the state it was made from", meta.seq);
}

fn encode_unchecked(meta: SnapshotMeta, state: &State) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(state).map_err(|error| format!("cannot encode a snapshot: {error}"))?;
    let mut customers = Vec::new();
    crate::customers::encode(state.customer_arrays(), &mut customers);
    let json_len = u32::try_from(json.len()).map_err(|_| "a snapshot's JSON exceeds 4 GiB".to_owned())?;
    let mut value = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + 4 + json.len() + customers.len());
    value.extend_from_slice(&SNAPSHOT_MAGIC);
    value.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    value.extend_from_slice(&[0; 4]);
    value.extend_from_slice(&meta.seq.to_le_bytes());
    value.extend_from_slice(&meta.at.map_or(i64::MIN, Timestamp::unix_micros).to_le_bytes());
    value.extend_from_slice(&meta.chain_hash);
    value.extend_from_slice(&meta.resume.segment_first_seq.to_le_bytes());
    value.extend_from_slice(&meta.resume.offset.to_le_bytes());
    value.extend_from_slice(&meta.resume.position.next_block.to_le_bytes());
    value.extend_from_slice(&meta.resume.position.last_at_micros.unwrap_or(i64::MIN).to_le_bytes());
    value.extend_from_slice(&json_len.to_le_bytes());
    value.extend_from_slice(&json);
    value.extend_from_slice(&customers);
    let checksum = crc32c::crc32c(&value[10..]);
    value[6..10].copy_from_slice(&checksum.to_le_bytes());
    Ok(value)
}

/// The snapshots of a data directory with their time index in sled. Opening the index
/// writes to it (sled does, even to read), so only what writes snapshots opens one: a
/// restore that may rebuild them, and the writer once it writes its first block.
#[derive(Clone, Debug)]
pub struct Snapshots {
    files: SnapshotFiles,
    path: PathBuf,
    db: sled::Db,
    snapshots_by_time: sled::Tree,
    /// What opening repaired: an index that could not be opened, moved aside and made anew.
    healed: Option<String>,
}

/// Where derived files that could not be used are moved, beside the log's cut bytes.
fn quarantine_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::store::QUARANTINE_DIR)
}

/// Moves `path` (a file or a directory) into `DATA_DIR/quarantine/`, under its own name
/// and a number not taken yet; returns where it went.
fn move_aside(data_dir: &Path, path: &Path) -> Result<PathBuf, String> {
    let dir = quarantine_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("derived");
    for attempt in 1..=10_000_u32 {
        let target = dir.join(format!("{name}.{attempt}"));
        if target.exists() {
            continue;
        }
        std::fs::rename(path, &target).map_err(io_error(path))?;
        return Ok(target);
    }
    Err(format!("{}: ten thousand earlier copies are in the way", dir.display()))
}

/// Whether another process holds sled's lock on the index at `path` (a running append
/// or replay): then the index is busy, not damaged, and is left alone.
fn held_elsewhere(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path.join("db")) else { return false };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// The key and value every index made by this build holds: sled recovers some damage by
/// dropping what it cannot read, so an index that opens without its marker was damaged
/// (or is not an exops index) and is rebuilt.
const INDEX_MARKER_KEY: &[u8] = b"exops-snapshot-index";
const INDEX_MARKER: &[u8] = b"exops snapshot index, version 1";

fn open_sled(path: &Path) -> Result<(sled::Db, sled::Tree), String> {
    let fresh = !path.exists();
    let db = sled::Config::new().path(path).cache_capacity(SLED_CACHE_BYTES).open().map_err(sled_error(path))?;
    match db.get(INDEX_MARKER_KEY).map_err(sled_error(path))? {
        Some(marker) if marker.as_ref() == INDEX_MARKER => {}
        None if fresh => {
            // Durable before anything else is: sled writes back on its own timer, and a
            // process that exits before it fires would leave an index without its marker,
            // which the next process would take for a damaged one.
            db.insert(INDEX_MARKER_KEY, INDEX_MARKER).map_err(sled_error(path))?;
            db.flush().map_err(sled_error(path))?;
        }
        Some(_) | None => {
            return Err(format!(
                "{}: not an exops snapshot index, or a damaged one (its marker `{}` is missing or wrong)",
                path.display(),
                String::from_utf8_lossy(INDEX_MARKER_KEY)
            ));
        }
    }
    for retired in RETIRED_TREES {
        if db.tree_names().iter().any(|name| name.as_ref() == retired.as_bytes()) {
            db.drop_tree(retired).map_err(sled_error(path))?;
        }
    }
    let tree = db.open_tree("snapshots_by_time").map_err(sled_error(path))?;
    Ok((db, tree))
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |error| format!("{}: {error}", path.display())
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

/// The index handles open in this process, one per data directory: sled locks its files
/// against other processes, and against a second handle in this one.
fn open_indexes() -> std::sync::MutexGuard<'static, std::collections::BTreeMap<PathBuf, sled::Db>> {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};
    static OPEN: OnceLock<Mutex<BTreeMap<PathBuf, sled::Db>>> = OnceLock::new();
    OPEN.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn index_key(data_dir: &Path) -> PathBuf {
    std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned())
}

impl Snapshots {
    /// Opens the data directory's index, creating it if need be. sled locks its files
    /// against other processes, so within one process every caller shares one handle per
    /// directory; another process that holds the index (a running `exops log append`)
    /// makes this fail, and callers fall back to the log alone.
    ///
    /// An index that cannot be opened for any other reason (damaged, truncated, not a
    /// sled database, not a directory) is moved to `DATA_DIR/quarantine/` and made anew,
    /// every time: [`Snapshots::healing_note`] says so, and the snapshots it indexed are
    /// rebuilt as the log is folded.
    ///
    /// ```
    /// use exops_log::snapshots::{INDEX_DIR, Snapshots};
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// // Not a sled database: moved aside and made anew, with a note.
    /// std::fs::write(dir.path().join(INDEX_DIR), b"not an index").unwrap();
    /// let snapshots = Snapshots::open(dir.path()).unwrap();
    /// assert!(snapshots.healing_note().unwrap().contains("rebuilt from the log"));
    /// assert!(dir.path().join("quarantine/index.sled.1").exists());
    /// ```
    pub fn open(data_dir: &Path) -> Result<Snapshots, String> {
        let path = data_dir.join(INDEX_DIR);
        let key = index_key(data_dir);
        let mut open = open_indexes();
        // A handle whose directory was deleted under it is stale: reopen.
        if !path.exists() {
            open.remove(&key);
        }
        let mut healed = None;
        let (db, snapshots_by_time) = match open.get(&key) {
            Some(db) => {
                let tree = db.open_tree("snapshots_by_time").map_err(sled_error(&path))?;
                (db.clone(), tree)
            }
            None => {
                let opened = match open_sled(&path) {
                    Ok(opened) => opened,
                    Err(error) if path.is_dir() && held_elsewhere(&path) => return Err(error),
                    Err(error) => {
                        let aside = move_aside(data_dir, &path)?;
                        healed = Some(format!(
                            "the snapshot index could not be opened ({error}): moved to {} and rebuilt from the log",
                            aside.display()
                        ));
                        open_sled(&path)?
                    }
                };
                open.insert(key, opened.0.clone());
                opened
            }
        };
        drop(open);
        Ok(Snapshots { files: SnapshotFiles::new(data_dir), snapshots_by_time, db, path, healed })
    }

    /// What opening repaired, if anything: say it to the user.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// exops_log::init(dir.path()).unwrap();
    /// let snapshots = exops_log::snapshots::Snapshots::open(dir.path()).unwrap();
    /// assert_eq!(snapshots.healing_note(), None, "a new index needed no repair");
    /// ```
    pub fn healing_note(&self) -> Option<&str> {
        self.healed.as_deref()
    }

    /// Whether [`Snapshots::open`] would succeed, as far as can be told without writing
    /// anything: the index is missing (it would be made), or a directory that this
    /// process holds, or whose lock no other process holds. The lock is taken and let go
    /// at once; another process opening the index in that instant would find it busy and
    /// go on without it, as it does whenever the index is held.
    pub(crate) fn check_openable(data_dir: &Path) -> Result<(), String> {
        let path = data_dir.join(INDEX_DIR);
        match std::fs::metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(format!("{}: {error}", path.display())),
            Ok(meta) if !meta.is_dir() => return Err(format!("{}: not a directory", path.display())),
            Ok(_) => {}
        }
        if open_indexes().contains_key(&index_key(data_dir)) {
            return Ok(());
        }
        // sled's own lock: an exclusive `flock` of its `db` file.
        let db = path.join("db");
        let file = match std::fs::File::open(&db) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(format!("{}: {error}", db.display())),
        };
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(format!("{}: another process holds it (a replay, or another writer)", path.display()))
            }
            Err(std::fs::TryLockError::Error(error)) => Err(format!("{}: {error}", db.display())),
        }
    }

    /// How many snapshots `data_dir` holds, where, and at what interval, read from the
    /// snapshot files and the settings without opening the index: nothing is written.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let coverage = exops_log::snapshots::Snapshots::coverage_read_only(dir.path());
    /// assert_eq!((coverage.count, coverage.last_seq), (0, None));
    /// assert_eq!(coverage.every, exops_log::snapshots::SNAPSHOT_EVERY_DEFAULT);
    /// ```
    pub fn coverage_read_only(data_dir: &Path) -> Coverage {
        SnapshotFiles::new(data_dir).coverage()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn files(&self) -> &SnapshotFiles {
        &self.files
    }

    /// Events between snapshots for this data directory.
    pub fn snapshot_every(&self) -> u64 {
        self.files.snapshot_every()
    }

    /// Records the interval in the data directory's settings (unless they say so already).
    pub fn set_snapshot_every(&self, every: u64) -> Result<(), String> {
        self.files.record_snapshot_every(every)
    }

    /// Stores the state after the block ending at `meta.seq`.
    pub fn put(&self, meta: SnapshotMeta, state: &State) -> Result<(), String> {
        self.put_encoded(meta, &encode(meta, state)?)
    }

    /// Stores a snapshot [`encode`] made.
    pub(crate) fn put_encoded(&self, meta: SnapshotMeta, value: &[u8]) -> Result<(), String> {
        let at_micros = meta.at.map_or(i64::MIN, Timestamp::unix_micros);
        self.files.write_value(meta.seq, value)?;
        self.snapshots_by_time
            .insert(time_key(at_micros, meta.seq), &meta.seq.to_be_bytes())
            .map_err(sled_error(&self.path))?;
        Ok(())
    }

    /// Snapshot sequence numbers at or before `seq`, newest first.
    pub fn candidates_by_seq(&self, seq: u64) -> Vec<u64> {
        self.files.candidates_by_seq(seq)
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
        self.files.load(seq)
    }

    /// Forgets one snapshot (damaged, or not matching the log): out of the index, and
    /// its file moved to `DATA_DIR/quarantine/`.
    pub fn remove(&self, seq: u64) {
        let stale: Vec<sled::IVec> = self
            .snapshots_by_time
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, value)| seq_from(value) == Some(seq))
            .map(|(key, _)| key)
            .collect();
        for key in stale {
            let _ = self.snapshots_by_time.remove(key);
        }
        let file = self.files.file(seq);
        if file.exists() {
            let data_dir = self.path.parent().unwrap_or(Path::new("."));
            if move_aside(data_dir, &file).is_err() {
                let _ = std::fs::remove_file(&file);
            }
        }
    }

    /// Forgets everything derived at or after `seq` (the log no longer has it).
    pub fn forget_from(&self, seq: u64) {
        for stale in self.candidates_by_seq(u64::MAX).into_iter().filter(|stale| *stale >= seq) {
            self.remove(stale);
        }
    }

    /// How many snapshots, and the first and last sequence numbers they cover.
    pub fn coverage(&self) -> (usize, Option<u64>, Option<u64>) {
        let Coverage { count, first_seq, last_seq, .. } = self.files.coverage();
        (count, first_seq, last_seq)
    }

    /// Writes what is buffered; derived data needs no fsync per write.
    pub fn flush(&self) -> Result<(), String> {
        self.db.flush().map(|_| ()).map_err(sled_error(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_meta(seq: u64, at: Option<Timestamp>, chain_hash: Hash) -> SnapshotMeta {
        let position =
            ChainPosition { next_seq: seq + 1, next_block: 3, prev_hash: chain_hash, last_at_micros: Some(-5) };
        SnapshotMeta { seq, at, chain_hash, resume: ResumePoint { segment_first_seq: 1, offset: 900, position } }
    }

    #[test]
    fn snapshots_are_found_by_seq_and_time_and_forgotten_from_a_point() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::open(dir.path()).unwrap();
        for seq in [10_u64, 20, 30] {
            let mut state = State::new();
            for _ in 0..seq {
                state.reject_unreadable();
            }
            let meta = test_meta(seq, Some(Timestamp::from_unix_micros(seq as i64)), [1; 32]);
            snapshots.put(meta, &state).unwrap();
        }
        assert_eq!(snapshots.candidates_by_seq(25), [20, 10]);
        assert_eq!(snapshots.candidates_by_time(Timestamp::from_unix_micros(30)), [30, 20, 10]);
        assert_eq!(snapshots.coverage(), (3, Some(10), Some(30)));
        assert_eq!(snapshots.load(20).unwrap().1.seq(), 20);
        snapshots.forget_from(20);
        assert_eq!(snapshots.coverage(), (1, Some(10), Some(10)));
        assert!(!snapshots.files.file(20).exists() && !snapshots.files.file(30).exists());
        assert!(snapshots.load(30).unwrap_err().reason.contains("missing"));
    }

    /// A state that folded an event at an instant RFC 3339 cannot spell (the log takes any
    /// `i64` of microseconds) wrote `@…us` for it in its JSON, which did not read back:
    /// every snapshot after such an event was damaged on arrival.
    #[test]
    fn a_state_at_an_instant_outside_rfc_3339_reads_back() {
        use exops_core::{Actor, AssetClass, AssetSpec, Envelope, Event, Outcome, RulesVersion, VenueSpec};
        let spec = VenueSpec {
            name: "Far".into(),
            assets: vec![AssetSpec {
                code: "BTC".into(),
                class: AssetClass::Crypto,
                decimals: 8,
                networks: vec![],
                liabilities_minor: 1,
                hot_minor: 1,
                cold_minor: 0,
            }],
            markets: vec![],
            margin: false,
            approvals_required: vec![],
            rules: RulesVersion::FIRST,
        };
        for at_micros in [i64::MAX, i64::MIN + 1, -377_705_116_800_000_001] {
            let mut state = State::new();
            let at = Timestamp::from_unix_micros(at_micros);
            let envelope = Envelope {
                seq: 1,
                at,
                id: 1,
                actor: Actor::Staff("ops".into()),
                event: Event::VenueDeclared(spec.clone()),
                note: None,
            };
            assert!(matches!(state.apply(&envelope), Outcome::Applied { .. }));
            let meta = test_meta(1, Some(at), [2; HASH_BYTES]);
            let value = encode_unchecked(meta, &state).unwrap();
            let (read_meta, read_state) = decode(1, &value).unwrap_or_else(|damage| panic!("{at_micros}: {damage:?}"));
            assert_eq!((read_meta, read_state), (meta, state), "{at_micros}");
        }
    }

    #[test]
    fn a_resume_point_that_does_not_continue_the_snapshot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::open(dir.path()).unwrap();
        let mut meta = test_meta(0, None, [3; HASH_BYTES]);
        meta.chain_hash = [4; HASH_BYTES];
        let error = snapshots.put(meta, &State::new()).unwrap_err();
        assert!(error.contains("does not continue its seq and chain hash"), "{error}");
        assert_eq!(snapshots.coverage().0, 0, "nothing is written");
    }

    #[test]
    fn every_changed_byte_of_a_snapshot_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::open(dir.path()).unwrap();
        let meta = test_meta(0, None, [3; HASH_BYTES]);
        snapshots.put(meta, &State::new()).unwrap();
        assert_eq!(snapshots.load(0).unwrap().0, meta);
        let good = snapshots.files.read_value(0).unwrap().unwrap();
        for index in 0..good.len() {
            let mut bad = good.clone();
            bad[index] ^= 0x20;
            snapshots.files.write_value(0, &bad).unwrap();
            assert!(snapshots.load(0).is_err(), "byte {index} changed unnoticed");
        }
        snapshots.files.write_value(0, &good[..10]).unwrap();
        assert!(snapshots.load(0).unwrap_err().reason.contains("too short"));
    }
}
