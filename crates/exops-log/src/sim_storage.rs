//! A simulated disk that lies, for the fault-injection tests: files live in memory, what
//! was written but not synced is kept apart, and a simulated crash decides, seeded, what
//! becomes of each unsynced write: kept, dropped, torn (at a 512-byte sector or at any
//! byte) or kept with a flipped bit. Writes and syncs can fail with `EIO` or `ENOSPC`,
//! reads can come back short or corrupted, and the process can "die" at any operation
//! (that operation and every later one fail, and change nothing). After a failed sync the
//! writes it covered are never made durable by a later sync (Linux's "fsyncgate": the
//! pages are marked clean and may be lost): only the crash decides what becomes of them.
//!
//! The model is FoundationDB's non-durable file and TigerBeetle's storage simulator, cut
//! down to what the log does: appends, `fdatasync`, cuts, file creation and removal made
//! durable by a directory sync. Directories themselves are durable once made.
//!
//! ```
//! use exops_log::sim_storage::{Faults, SimStorage};
//! use exops_log::storage::Storage;
//! use std::path::Path;
//!
//! let sim = SimStorage::new(7);
//! let storage = Storage::new(std::sync::Arc::new(sim.clone()));
//! exops_log::store::init_on(&storage, Path::new("/sim/log")).unwrap();
//! sim.crash();
//! assert_eq!(exops_log::store::list_segments_on(&storage, Path::new("/sim/log")).unwrap().len(), 1);
//! sim.set_faults(Faults::default());
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::storage::{Backend, LockError, LockGuard, StorageFile};

const SECTOR_BYTES: u64 = 512;

/// A seeded generator (SplitMix64): the only randomness of the simulation.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next_u64() % bound }
    }

    /// True with probability `per_million` / 1,000,000.
    pub fn chance(&mut self, per_million: u32) -> bool {
        self.below(1_000_000) < u64::from(per_million)
    }
}

/// ```
/// use exops_log::sim_storage::{Faults, SimStorage};
/// use exops_log::storage::Storage;
/// use std::sync::Arc;
///
/// let disk = SimStorage::new(7);
/// let storage = Storage::new(Arc::new(disk.clone()));
/// let dir = std::path::Path::new("/venue");
/// // Every sync fails: a log cannot even be made on this disk.
/// disk.set_faults(Faults { sync_failure_per_million: 1_000_000, ..Faults::default() });
/// assert!(exops_log::init_on(&storage, dir).is_err());
/// // A sound disk again: the log is made, in memory.
/// disk.set_faults(Faults::default());
/// exops_log::init_on(&storage, dir).unwrap();
/// let options = exops_log::LogOptions { storage: storage.clone(), ..Default::default() };
/// let opened = exops_log::Log::open(dir, options, None).unwrap();
/// opened.log.close().unwrap();
/// assert!(disk.contents(&dir.join("log/00000000000000000001.seg")).is_some());
/// ```
/// What the simulated disk does wrong, each as a chance per operation in millionths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// A write fails with `EIO` or `ENOSPC`, after writing a random prefix (maybe none).
    pub write_failure_per_million: u32,
    /// A sync fails with `EIO` or `ENOSPC`; what it covered stays unsynced.
    pub sync_failure_per_million: u32,
    /// A sync answers `Ok` and makes nothing durable: a disk that lies, which no log can
    /// survive; the fault loop's own test uses it to show that its checks catch a loss.
    pub sync_lie_per_million: u32,
    /// A read returns fewer bytes than asked (at least one).
    pub short_read_per_million: u32,
    /// A read returns its bytes with one bit flipped (the disk is not changed).
    pub corrupt_read_per_million: u32,
    /// The process dies at this operation (counted from the last crash): it and every
    /// later one fail with `EIO` and change nothing, until [`SimStorage::crash`].
    pub crash_at_operation: Option<u64>,
}

/// One unsynced change to a file.
#[derive(Clone, Debug)]
enum Unsynced {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

#[derive(Clone, Debug, Default)]
struct SimFile {
    /// What a crash leaves for certain.
    durable: Vec<u8>,
    /// What reads see: `durable` with every unsynced change applied.
    current: Vec<u8>,
    /// Changes not yet synced, in order; `true` marks those a failed sync covered, which
    /// no later sync makes durable.
    unsynced: Vec<(Unsynced, bool)>,
    /// Whether the file's name survives a crash (its directory was synced since).
    name_durable: bool,
}

#[derive(Debug)]
struct SimDisk {
    rng: SimRng,
    faults: Faults,
    operations: u64,
    dead: bool,
    files: BTreeMap<PathBuf, SimFile>,
    /// Files removed since their directory was last synced: a crash may bring them back.
    unlinked: BTreeMap<PathBuf, SimFile>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    /// Counts crashes: a lock taken before one is not let go by its late drop.
    boot: u64,
    /// Every fault injected, in order, for the report of a failing seed.
    journal: Vec<String>,
}

/// The simulated disk: cheap to clone, every clone the same disk.
#[derive(Clone, Debug)]
pub struct SimStorage {
    disk: Arc<Mutex<SimDisk>>,
}

fn injected(kind: io::ErrorKind, what: &str) -> io::Error {
    io::Error::new(kind, format!("simulated {what}"))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{}: no such simulated file", path.display()))
}

/// `EIO` or `ENOSPC`, as the raw OS error, so messages read as the real ones do.
fn eio_or_enospc(rng: &mut SimRng) -> (io::Error, &'static str) {
    const EIO: i32 = 5;
    const ENOSPC: i32 = 28;
    if rng.below(2) == 0 {
        (io::Error::from_raw_os_error(EIO), "EIO")
    } else {
        (io::Error::from_raw_os_error(ENOSPC), "ENOSPC")
    }
}

/// Drops from the writes a failed sync left (`doomed`) the bytes in `start..end` (to the
/// end of the file with `None`): written again or cut since, those pages hold the newer
/// bytes, which a later sync does make durable.
fn supersede(unsynced: &mut Vec<(Unsynced, bool)>, start: u64, end: Option<u64>) {
    let end = end.unwrap_or(u64::MAX);
    let mut kept = Vec::with_capacity(unsynced.len());
    for (change, doomed) in unsynced.drain(..) {
        let Unsynced::Write { offset, bytes } = &change else {
            kept.push((change, doomed));
            continue;
        };
        let (offset, write_end) = (*offset, *offset + bytes.len() as u64);
        if !doomed || write_end <= start || offset >= end {
            kept.push((change, doomed));
            continue;
        }
        // The parts before `start` and after `end` stay doomed.
        if offset < start {
            let bytes = bytes[..(start - offset) as usize].to_vec();
            kept.push((Unsynced::Write { offset, bytes }, true));
        }
        if write_end > end {
            let bytes = bytes[(end - offset) as usize..].to_vec();
            kept.push((Unsynced::Write { offset: end, bytes }, true));
        }
    }
    *unsynced = kept;
}

fn apply(content: &mut Vec<u8>, change: &Unsynced) {
    match change {
        Unsynced::Write { offset, bytes } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            let end = start.saturating_add(bytes.len());
            if content.len() < end {
                content.resize(end, 0);
            }
            content[start..end].copy_from_slice(bytes);
        }
        Unsynced::SetLen(len) => content.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
    }
}

impl SimDisk {
    /// Counts an operation; fails it if the process is dead or dies here.
    fn operation(&mut self, what: &str, path: &Path) -> io::Result<()> {
        self.operations += 1;
        if !self.dead && self.faults.crash_at_operation == Some(self.operations) {
            self.dead = true;
            self.journal.push(format!("op {}: the process dies at {what} {}", self.operations, path.display()));
        }
        if self.dead {
            return Err(injected(io::ErrorKind::Other, "crash: the process is dead"));
        }
        Ok(())
    }

    fn file(&mut self, path: &Path) -> io::Result<&mut SimFile> {
        self.files.get_mut(path).ok_or_else(|| not_found(path))
    }

    fn read_at(&mut self, path: &Path, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.operation("read", path)?;
        let short = self.rng.chance(self.faults.short_read_per_million);
        let corrupt = self.rng.chance(self.faults.corrupt_read_per_million);
        let file = self.file(path)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(file.current.len());
        let mut len = buf.len().min(file.current.len() - start);
        buf[..len].copy_from_slice(&file.current[start..start + len]);
        if short && len > 1 {
            len = 1 + self.rng.below(len as u64 - 1) as usize;
            self.journal.push(format!("op {}: short read of {len} bytes at {offset}", self.operations));
        }
        if corrupt && len > 0 {
            let bit = self.rng.below(len as u64 * 8);
            buf[(bit / 8) as usize] ^= 1 << (bit % 8);
            let (ops, path) = (self.operations, path.display());
            self.journal.push(format!("op {ops}: corrupt read of {path}, bit {bit} after offset {offset}"));
        }
        Ok(len)
    }

    fn append(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let end = self.files.get(path).map_or(0, |file| file.current.len() as u64);
        self.write_at(path, bytes, end)
    }

    fn write_at(&mut self, path: &Path, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.operation("write", path)?;
        let failure = self.rng.chance(self.faults.write_failure_per_million).then(|| {
            let (error, name) = eio_or_enospc(&mut self.rng);
            (error, name, self.rng.below(bytes.len() as u64 + 1) as usize)
        });
        let operations = self.operations;
        let file = self.file(path)?;
        let written = failure.as_ref().map_or(bytes.len(), |(_, _, prefix)| *prefix);
        supersede(&mut file.unsynced, offset, Some(offset + written as u64));
        let change = Unsynced::Write { offset, bytes: bytes[..written].to_vec() };
        apply(&mut file.current, &change);
        file.unsynced.push((change, false));
        match failure {
            Some((error, name, prefix)) => {
                let (path, len) = (path.display(), bytes.len());
                self.journal
                    .push(format!("op {operations}: write of {len} bytes to {path} fails with {name} after {prefix}"));
                Err(error)
            }
            None => Ok(()),
        }
    }

    fn sync(&mut self, path: &Path) -> io::Result<()> {
        self.operation("sync", path)?;
        let failure = self.rng.chance(self.faults.sync_failure_per_million).then(|| eio_or_enospc(&mut self.rng));
        let lie = self.rng.chance(self.faults.sync_lie_per_million);
        let operations = self.operations;
        let file = self.file(path)?;
        if let Some((error, name)) = failure {
            // The kernel marks the pages clean: no later sync writes them. A cut is the
            // inode's size, which the next sync that succeeds does write.
            for (change, doomed) in &mut file.unsynced {
                *doomed = matches!(change, Unsynced::Write { .. });
            }
            self.journal.push(format!("op {operations}: sync of {} fails with {name}", path.display()));
            return Err(error);
        }
        if lie {
            self.journal.push(format!("op {operations}: sync of {} lies: nothing is made durable", path.display()));
            return Ok(());
        }
        let unsynced = std::mem::take(&mut file.unsynced);
        for (change, doomed) in unsynced {
            if doomed {
                file.unsynced.push((change, doomed));
            } else {
                apply(&mut file.durable, &change);
            }
        }
        Ok(())
    }

    fn set_len(&mut self, path: &Path, len: u64) -> io::Result<()> {
        self.operation("set_len", path)?;
        let file = self.file(path)?;
        supersede(&mut file.unsynced, len, None);
        let change = Unsynced::SetLen(len);
        apply(&mut file.current, &change);
        file.unsynced.push((change, false));
        Ok(())
    }

    /// What a crash leaves of one unsynced change: kept, dropped, torn or bit-flipped.
    fn survive(&mut self, path: &Path, change: Unsynced, durable: &mut Vec<u8>) {
        let choice = self.rng.below(100);
        let path = path.display();
        match change {
            Unsynced::SetLen(len) => {
                if choice < 50 {
                    apply(durable, &Unsynced::SetLen(len));
                    self.journal.push(format!("crash: keeps the cut of {path} to {len} bytes"));
                } else {
                    self.journal.push(format!("crash: drops the cut of {path} to {len} bytes"));
                }
            }
            Unsynced::Write { offset, mut bytes } => {
                let len = bytes.len() as u64;
                let end = offset + len;
                let (kept, what) = match choice {
                    0..40 => (len, "keeps".to_owned()),
                    40..65 => (0, "drops".to_owned()),
                    65..80 => {
                        // Whole sectors only: the cut falls on a 512-byte boundary.
                        let first = offset.div_ceil(SECTOR_BYTES);
                        let boundaries = (end / SECTOR_BYTES + 1).saturating_sub(first);
                        let at = ((first + self.rng.below(boundaries.max(1))) * SECTOR_BYTES).clamp(offset, end);
                        (at - offset, format!("tears at sector boundary {at}"))
                    }
                    80..90 => {
                        let kept = self.rng.below(len + 1);
                        (kept, format!("tears at byte {}", offset + kept))
                    }
                    _ => {
                        if len > 0 {
                            let bit = self.rng.below(len * 8);
                            bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
                            (len, format!("keeps with bit {bit} flipped"))
                        } else {
                            (0, "keeps".to_owned())
                        }
                    }
                };
                bytes.truncate(kept as usize);
                if !bytes.is_empty() {
                    apply(durable, &Unsynced::Write { offset, bytes });
                }
                self.journal.push(format!("crash: {what} the write of {len} bytes at {offset} of {path}"));
            }
        }
    }
}

impl SimStorage {
    pub fn new(seed: u64) -> SimStorage {
        let disk = SimDisk {
            rng: SimRng::new(seed),
            faults: Faults::default(),
            operations: 0,
            dead: false,
            files: BTreeMap::new(),
            unlinked: BTreeMap::new(),
            dirs: BTreeSet::new(),
            locks: BTreeSet::new(),
            boot: 0,
            journal: Vec::new(),
        };
        SimStorage { disk: Arc::new(Mutex::new(disk)) }
    }

    fn disk(&self) -> MutexGuard<'_, SimDisk> {
        // A panic while the lock was held leaves a disk that is still consistent: every
        // change is made in one step under the lock.
        self.disk.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the faults injected from now on; the operation count restarts at 0.
    pub fn set_faults(&self, faults: Faults) {
        let mut disk = self.disk();
        disk.faults = faults;
        disk.operations = 0;
    }

    /// Operations counted since the faults were last set or the last crash.
    pub fn operations(&self) -> u64 {
        self.disk().operations
    }

    /// Whether the simulated process has died (see [`Faults::crash_at_operation`]).
    pub fn is_dead(&self) -> bool {
        self.disk().dead
    }

    /// Every fault injected so far, in order.
    pub fn journal(&self) -> Vec<String> {
        self.disk().journal.clone()
    }

    /// The bytes a file holds now (what reads see), if it exists.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        self.disk().files.get(path).map(|file| file.current.clone())
    }

    /// Replaces a file's bytes, durably: damage done from outside, as a person or another
    /// program would (a cut, a deletion with `None`).
    pub fn overwrite(&self, path: &Path, bytes: Option<Vec<u8>>) {
        let mut disk = self.disk();
        match bytes {
            Some(bytes) => {
                let file = disk.files.entry(path.to_owned()).or_default();
                file.durable.clone_from(&bytes);
                file.current = bytes;
                file.unsynced.clear();
                file.name_durable = true;
            }
            None => {
                disk.files.remove(path);
            }
        }
    }

    /// The machine loses power: every unsynced change is kept, dropped, torn or
    /// bit-flipped (seeded), file names not made durable by a directory sync may vanish
    /// and removed ones come back; locks go, the process lives again, faults are cleared.
    pub fn crash(&self) {
        let mut disk = self.disk();
        let disk = &mut *disk;
        let files = std::mem::take(&mut disk.files);
        for (path, mut file) in files {
            if !file.name_durable && disk.rng.below(2) == 0 {
                disk.journal.push(format!("crash: {} vanishes (its directory was not synced)", path.display()));
                continue;
            }
            let mut durable = std::mem::take(&mut file.durable);
            for (change, _) in std::mem::take(&mut file.unsynced) {
                disk.survive(&path, change, &mut durable);
            }
            disk.files
                .insert(path, SimFile { current: durable.clone(), durable, unsynced: Vec::new(), name_durable: true });
        }
        for (path, file) in std::mem::take(&mut disk.unlinked) {
            if disk.rng.below(2) == 0 && !disk.files.contains_key(&path) {
                disk.journal.push(format!("crash: removed {} comes back", path.display()));
                let durable = file.durable;
                disk.files.insert(
                    path,
                    SimFile { current: durable.clone(), durable, unsynced: Vec::new(), name_durable: true },
                );
            }
        }
        disk.locks.clear();
        disk.boot += 1;
        disk.dead = false;
        disk.faults = Faults::default();
        disk.operations = 0;
    }
}

#[derive(Debug)]
struct SimHandle {
    storage: SimStorage,
    path: PathBuf,
}

impl StorageFile for SimHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.storage.disk().read_at(&self.path, buf, offset)
    }

    fn append(&self, bytes: &[u8]) -> io::Result<()> {
        self.storage.disk().append(&self.path, bytes)
    }

    fn write_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.storage.disk().write_at(&self.path, bytes, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.storage.disk().sync(&self.path)
    }

    fn size(&self) -> io::Result<u64> {
        let mut disk = self.storage.disk();
        disk.operation("len", &self.path)?;
        Ok(disk.file(&self.path)?.current.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.storage.disk().set_len(&self.path, len)
    }
}

#[derive(Debug)]
struct SimLock {
    storage: SimStorage,
    path: PathBuf,
    boot: u64,
}

impl LockGuard for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut disk = self.storage.disk();
        if disk.boot == self.boot {
            disk.locks.remove(&self.path);
        }
    }
}

impl SimStorage {
    fn handle(&self, path: &Path) -> Box<dyn StorageFile> {
        Box::new(SimHandle { storage: self.clone(), path: path.to_owned() })
    }
}

impl Backend for SimStorage {
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let mut disk = self.disk();
        disk.operation("open", path)?;
        disk.file(path)?;
        Ok(self.handle(path))
    }

    fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.open_read(path)
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let mut disk = self.disk();
        disk.operation("create", path)?;
        if disk.files.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", path.display())));
        }
        if !path.parent().is_some_and(|parent| disk.dirs.contains(parent)) {
            return Err(not_found(path));
        }
        disk.files.insert(path.to_owned(), SimFile::default());
        Ok(self.handle(path))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.operation("remove", path)?;
        let file = disk.files.remove(path).ok_or_else(|| not_found(path))?;
        if file.name_durable {
            disk.unlinked.insert(path.to_owned(), file);
        }
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.operation("mkdir", path)?;
        for ancestor in path.ancestors() {
            disk.dirs.insert(ancestor.to_owned());
        }
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.operation("sync_dir", path)?;
        for (file_path, file) in &mut disk.files {
            if file_path.parent() == Some(path) {
                file.name_durable = true;
            }
        }
        disk.unlinked.retain(|file_path, _| file_path.parent() != Some(path));
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.disk().dirs.contains(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut disk = self.disk();
        disk.operation("list", path)?;
        if !disk.dirs.contains(path) {
            return Err(not_found(path));
        }
        Ok(disk.files.keys().filter(|file| file.parent() == Some(path)).cloned().collect())
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        let mut disk = self.disk();
        disk.operation("len", path)?;
        Ok(disk.file(path)?.current.len() as u64)
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError> {
        let mut disk = self.disk();
        disk.operation("lock", path).map_err(LockError::Io)?;
        if !disk.locks.insert(path.to_owned()) {
            return Err(LockError::Busy);
        }
        Ok(Box::new(SimLock { storage: self.clone(), path: path.to_owned(), boot: disk.boot }))
    }

    fn is_real(&self) -> bool {
        false
    }
}
