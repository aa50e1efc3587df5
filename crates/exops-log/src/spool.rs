//! The import spool: standard input copied to a file in the data directory, so that an
//! import can read it twice (check every line, then append). A spool is made only while
//! the log is held open (`Opened::create_spool`), under the writer lock, so a spool that
//! `Log::open` finds was left by an import that was killed, and it goes.

use std::fs;
use std::io;
use std::path::Path;

/// How a spool's file name starts: only files named so are ever removed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// exops_log::init(dir.path()).unwrap();
/// // A spool an import killed before its end left behind...
/// let stale = dir.path().join(format!("{}abc123", exops_log::SPOOL_PREFIX));
/// std::fs::write(&stale, b"{\"kind\":").unwrap();
/// let opened = exops_log::Log::open(dir.path(), Default::default(), None).unwrap();
/// // ...is removed by the next open, which says so.
/// assert!(!stale.exists());
/// assert!(opened.notes[0].contains("stale import spool"), "{:?}", opened.notes);
/// opened.log.close().unwrap();
/// ```
pub const SPOOL_PREFIX: &str = ".import-spool-";

/// A new spool in `data_dir`, deleted when dropped.
pub(crate) fn create(data_dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(SPOOL_PREFIX).tempfile_in(data_dir)
}

/// Removes the spools interrupted imports left in `data_dir` (files only, named with
/// [`SPOOL_PREFIX`]), in name order; returns a note for each. Called with the writer
/// lock held, so no live import's spool can be among them.
pub(crate) fn remove_stale(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(data_dir) else { return Vec::new() };
    let mut stale: Vec<(String, u64)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let bytes = entry.metadata().map_or(0, |meta| meta.len());
            name.starts_with(SPOOL_PREFIX).then_some((name, bytes))
        })
        .collect();
    stale.sort();
    stale
        .into_iter()
        .map(|(name, bytes)| match fs::remove_file(data_dir.join(&name)) {
            Ok(()) => format!("removed a stale import spool `{name}` ({bytes} bytes) left by an interrupted import"),
            Err(error) => {
                format!("cannot remove `{name}`, a stale import spool left by an interrupted import: {error}")
            }
        })
        .collect()
}
