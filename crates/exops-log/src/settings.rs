//! The data directory's settings file, `exops.toml`: configuration, unlike the index and
//! the snapshots, is not derived, and is never rewritten except for the one key the log
//! records itself (`snapshot_every`, when an import or append is given an interval).
//!
//! ```toml
//! snapshot_every = 262144
//!
//! [nats]
//! url = "nats://10.0.0.1:4222,nats://10.0.0.2:4222"
//! venue = "bitpoint"
//! ```
//!
//! This crate reads `snapshot_every`; the `[nats]` table is for the commands that reach a
//! NATS cluster, whose flags override it. One schema for the whole file, here, so that a
//! misspelt key is an error naming it wherever the file is read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The data directory's settings file.
pub const SETTINGS_FILE: &str = "exops.toml";

/// What `exops.toml` may say. Every key is optional; unknown keys are errors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Events between snapshots (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<u64>,
    /// The NATS cluster and venue stream this directory replicates through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsSettings>,
}

/// The `[nats]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// One server URL, or several comma-separated (`nats://host:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The venue whose stream this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
}

/// A settings file that cannot be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {error}", path = .path.display())]
    Io { path: PathBuf, error: std::io::Error },
    /// Not TOML, or a key or value the file may not hold; `message` has the line and
    /// column, and the keys allowed.
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
}

impl Settings {
    /// The settings of `data_dir`: the defaults when it has no settings file.
    ///
    /// ```
    /// use exops_log::settings::{SETTINGS_FILE, Settings};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// assert_eq!(Settings::load(dir.path()).unwrap(), Settings::default());
    /// std::fs::write(dir.path().join(SETTINGS_FILE), "[nats]\nurl = \"nats://127.0.0.1:4222\"\nvenu = \"x\"\n").unwrap();
    /// let error = Settings::load(dir.path()).unwrap_err().to_string();
    /// assert!(error.contains("line 3") && error.contains("unknown field `venu`, expected `url` or `venue`"), "{error}");
    /// ```
    pub fn load(data_dir: &Path) -> Result<Settings, SettingsError> {
        let path = data_dir.join(SETTINGS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(error) => return Err(SettingsError::Io { path, error }),
        };
        let settings: Settings = toml::from_str(&text)
            .map_err(|error| SettingsError::Invalid { path: path.clone(), message: one_line(&error.to_string()) })?;
        if settings.snapshot_every == Some(0) {
            return Err(SettingsError::Invalid { path, message: "snapshot_every must be at least 1".to_owned() });
        }
        Ok(settings)
    }

    /// Writes these settings as `data_dir`'s settings file.
    pub(crate) fn save(&self, data_dir: &Path) -> Result<(), SettingsError> {
        let path = data_dir.join(SETTINGS_FILE);
        let text = toml::to_string(self)
            .map_err(|error| SettingsError::Invalid { path: path.clone(), message: error.to_string() })?;
        std::fs::write(&path, text).map_err(|error| SettingsError::Io { path, error })
    }
}

/// toml's message, which spans several lines (the offending line quoted under its
/// position), as one: "TOML parse error at line 3, column 1: unknown field ...".
fn one_line(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|line| !line.is_empty());
    let position = lines.next().unwrap_or_default().to_owned();
    let reason = lines.rfind(|line| !line.starts_with('|') && !line.chars().next().is_some_and(|c| c.is_ascii_digit()));
    match reason {
        Some(reason) => format!("{position}: {reason}"),
        None => position,
    }
}
