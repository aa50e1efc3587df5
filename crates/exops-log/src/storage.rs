//! The file operations the log makes on its segment directory, behind one interface: the
//! real file system ([`Storage::real`], the default) or a simulated disk
//! ([`crate::sim_storage::SimStorage`]) that loses, tears and corrupts what was not synced
//! and fails writes and syncs on purpose. Every read and write of a segment, of `log/` and
//! of `log/LOCK` goes through a [`Storage`]; the derived files (snapshots, the sled index,
//! the settings) stay on the real file system and are kept only by a log on it.

use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One open segment file (or the lock file).
pub trait StorageFile: Send + Sync + Debug {
    /// Reads at `offset`; may return fewer bytes than asked (0 at the end of the file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `bytes` at the end of the file (a file opened for writing only).
    fn append(&self, bytes: &[u8]) -> io::Result<()>;
    /// Writes all of `bytes` at `offset` (the head record's slots).
    fn write_at(&self, bytes: &[u8], offset: u64) -> io::Result<()>;
    /// `fdatasync`: once it returns `Ok`, everything written before is durable.
    fn sync_data(&self) -> io::Result<()>;
    /// The file's length in bytes, unsynced writes included.
    fn size(&self) -> io::Result<u64>;
    /// Cuts (or extends) the file to `len` bytes; durable only after a sync.
    fn set_len(&self, len: u64) -> io::Result<()>;
}

/// Why the writer lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another writer holds it.
    Busy,
    Io(io::Error),
}

/// Held for as long as a writer lives; dropping it lets the lock go.
pub trait LockGuard: Send + Sync + Debug {}

/// A file system, real or simulated.
pub trait Backend: Send + Sync + Debug {
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file to write to it: [`StorageFile::append`] at its end,
    /// [`StorageFile::write_at`] anywhere, and cuts.
    fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Creates a file that must not exist yet, open to append; its name is durable only
    /// once its directory is synced.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// `fsync` of a directory: the names created or removed in it are durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    fn is_dir(&self, path: &Path) -> bool;
    /// The files in a directory, in no particular order.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// Takes the exclusive writer lock of the file at `path` (made if missing).
    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError>;
    /// Whether this is the real file system, beside which the derived files (snapshots,
    /// the index, the settings) are kept. A log on a simulated disk keeps none.
    fn is_real(&self) -> bool;
}

/// A handle on the storage a log lives on: cheap to clone, shared by the writer, its
/// sync thread and every reader of the log.
///
/// ```
/// use exops_log::storage::Storage;
/// assert!(Storage::real().is_real());
/// ```
#[derive(Clone, Debug)]
pub struct Storage(Arc<dyn Backend>);

impl Default for Storage {
    fn default() -> Self {
        Storage::real()
    }
}

impl Storage {
    /// The real file system.
    pub fn real() -> Storage {
        Storage(Arc::new(RealFs))
    }

    pub fn new(backend: Arc<dyn Backend>) -> Storage {
        Storage(backend)
    }

    pub fn backend(&self) -> &dyn Backend {
        &*self.0
    }

    pub fn is_real(&self) -> bool {
        self.0.is_real()
    }

    pub fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.0.open_read(path)
    }

    pub fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.0.open_write(path)
    }

    pub fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.0.create_new(path)
    }

    pub fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.0.remove_file(path)
    }

    pub fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.0.create_dir_all(path)
    }

    pub fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.0.sync_dir(path)
    }

    pub fn is_dir(&self, path: &Path) -> bool {
        self.0.is_dir(path)
    }

    pub fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        self.0.list_dir(path)
    }

    pub fn len(&self, path: &Path) -> io::Result<u64> {
        self.0.len(path)
    }

    pub fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError> {
        self.0.lock(path)
    }

    /// Reads exactly `buf.len()` bytes at `offset` of the file at `path`; `Ok(false)` if
    /// the file ends first.
    pub fn read_exact_at(&self, path: &Path, buf: &mut [u8], offset: u64) -> io::Result<bool> {
        read_exact_at(&*self.open_read(path)?, buf, offset)
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, through short reads; `Ok(false)` if the
/// file ends first.
pub fn read_exact_at(file: &dyn StorageFile, buf: &mut [u8], offset: u64) -> io::Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => return Ok(false),
            Ok(read) => done += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

/// A [`StorageFile`] read in order, as [`Read`] and [`Seek`] (for a `BufReader`).
#[derive(Debug)]
pub struct SequentialReader {
    file: Box<dyn StorageFile>,
    position: u64,
}

impl SequentialReader {
    pub fn new(file: Box<dyn StorageFile>) -> SequentialReader {
        SequentialReader { file, position: 0 }
    }
}

impl Read for SequentialReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buf, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for SequentialReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let position = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => self.file.size()?.checked_add_signed(delta),
        };
        self.position = position.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.position)
    }
}

/// The real file system.
#[derive(Debug)]
struct RealFs;

#[derive(Debug)]
struct RealFile(File);

impl StorageFile for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }

    fn append(&self, bytes: &[u8]) -> io::Result<()> {
        let end = self.0.metadata()?.len();
        self.0.write_all_at(bytes, end)
    }

    fn write_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(bytes, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
}

impl LockGuard for RealFile {}

impl Backend for RealFs {
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(RealFile(File::open(path)?)))
    }

    // Not `O_APPEND`, under which `pwrite` appends too: `append` writes at the file's
    // length, which only the one writer changes.
    fn open_write(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(RealFile(OpenOptions::new().read(true).write(true).open(path)?)))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(RealFile(OpenOptions::new().read(true).write(true).create_new(true).open(path)?)))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        fs::read_dir(path)?.map(|entry| entry.map(|entry| entry.path())).collect()
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError> {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(RealFile(file))),
            Err(fs::TryLockError::WouldBlock) => Err(LockError::Busy),
            Err(fs::TryLockError::Error(error)) => Err(LockError::Io(error)),
        }
    }

    fn is_real(&self) -> bool {
        true
    }
}
