//! The settings file is configuration: recording the snapshot interval keeps what else it
//! says, and a file that is not valid is never overwritten.

use std::fs;

use exops_log::settings::{NatsSettings, SETTINGS_FILE, Settings};
use exops_log::snapshots::Snapshots;

#[test]
fn recording_the_snapshot_interval_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let file = dir.path().join(SETTINGS_FILE);
    fs::write(&file, "[nats]\nurl = \"nats://10.0.0.1:4222\"\nvenue = \"bitpoint\"\n").unwrap();
    let snapshots = Snapshots::open(dir.path()).unwrap();
    snapshots.set_snapshot_every(1_000).unwrap();
    let settings = Settings::load(dir.path()).unwrap();
    let nats = NatsSettings { url: Some("nats://10.0.0.1:4222".into()), venue: Some("bitpoint".into()) };
    assert_eq!(settings, Settings { snapshot_every: Some(1_000), nats: Some(nats) });
    assert_eq!(snapshots.snapshot_every(), 1_000);
}

#[test]
fn a_settings_file_that_is_not_valid_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    exops_log::init(dir.path()).unwrap();
    let file = dir.path().join(SETTINGS_FILE);
    for text in ["snapshot_evry = 5\n", "snapshot_every = 0\n", "[nats\n"] {
        fs::write(&file, text).unwrap();
        let snapshots = Snapshots::open(dir.path()).unwrap();
        let error = snapshots.set_snapshot_every(1_000).unwrap_err();
        assert!(error.contains(&file.display().to_string()), "{text:?}: {error}");
        assert_eq!(fs::read_to_string(&file).unwrap(), text, "left as it was");
        // The interval falls back to the default meanwhile.
        assert_eq!(snapshots.snapshot_every(), exops_log::snapshots::SNAPSHOT_EVERY_DEFAULT);
    }
}
