//! A log whose venue was declared under a rules version this build does not know (one
//! written by a newer exops) is refused, as such, by everything that reads it: the
//! reader, a restore, `verify`'s walk and the writer's open. Nothing is cut, moved or
//! repaired: the bytes are sound, only this build cannot fold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use exops_core::{Envelope, RULES_VERSION, RulesVersionError};
use exops_log::codec::{EVENT_SCHEMA_VERSION, encode_body, wire};
use exops_log::restore::{Target, restore};
use exops_log::segment::SEGMENT_HEADER_BYTES;
use exops_log::store::SegmentWriter;
use exops_log::{Log, LogOptions, LogReader, StoreError, inspect};

use crate::support::{login, segment_paths, venue_submission};

/// A data directory whose first event declares the venue under `rules`, then two blocks
/// of logins, written as a build that knows `rules` would write them.
fn log_declared_under(data_dir: &Path, rules: u32) {
    exops_log::init(data_dir).unwrap();
    let (mut writer, _) = SegmentWriter::open(data_dir, 1 << 20).unwrap();
    let venue = venue_submission();
    let declaration =
        Envelope { seq: 1, at: venue.at, id: venue.id, actor: venue.actor, event: venue.event, note: None };
    let mut body = wire::WireBody::from_envelope(&declaration).unwrap();
    let wire::WireEvent::VenueDeclared(spec) = &mut body.event else { panic!("the first event declares the venue") };
    spec.rules = rules;
    let declaration_body = wincode::serialize(&body).unwrap();
    let mut blocks = vec![vec![(declaration.at.unix_micros(), declaration_body)]];
    for (seq, id) in [(2, 1), (3, 2)] {
        let submission = login(1, id, seq);
        let envelope = Envelope {
            seq: seq as u64,
            at: submission.at,
            id,
            actor: submission.actor,
            event: submission.event,
            note: None,
        };
        let mut bytes = Vec::new();
        encode_body(&envelope, &mut bytes).unwrap();
        blocks.push(vec![(envelope.at.unix_micros(), bytes)]);
    }
    for block in &blocks {
        writer.append_block(block.iter().map(|(at, body)| (EVENT_SCHEMA_VERSION, *at, body.as_slice()))).unwrap();
    }
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

fn assert_refused(error: StoreError, segment: &Path) {
    let newer = RULES_VERSION + 1;
    let message = error.to_string();
    match error {
        StoreError::Rules { segment: found, offset, seq, error } => {
            assert_eq!(found, segment);
            assert_eq!((offset, seq), (SEGMENT_HEADER_BYTES as u64, 1), "the declaration is the first record");
            assert_eq!(error, RulesVersionError::Newer { found: newer });
        }
        other => panic!("expected StoreError::Rules, got {other:?}"),
    }
    assert_eq!(
        message,
        format!(
            "{} at byte offset {SEGMENT_HEADER_BYTES}: event seq 1 (venue_declared), field `rules`: rules version \
             {newer} is newer than this build, which folds rules versions 1 to {RULES_VERSION}; fold this log with \
             the exops that wrote it, or a later one",
            segment.display()
        )
    );
}

#[test]
fn a_log_from_a_newer_rules_version_is_refused_by_every_reader_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    log_declared_under(dir.path(), RULES_VERSION + 1);
    let segment = segment_paths(dir.path()).remove(0);
    let before = files(dir.path());

    let first = LogReader::open(dir.path(), 1).unwrap().next().expect("the first block");
    assert_refused(first.unwrap_err(), &segment);
    assert_refused(restore(dir.path(), None, Target::End).unwrap_err(), &segment);
    assert_refused(inspect::walk(dir.path(), true).unwrap_err(), &segment);
    match Log::open(dir.path(), LogOptions::default(), None) {
        Ok(_) => panic!("the writer opened a log it cannot fold"),
        Err(error) => assert_refused(error, &segment),
    }

    assert_eq!(files(dir.path()).keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    assert!(files(dir.path()) == before, "a refused log is not touched");
}

#[test]
fn the_same_log_under_every_known_rules_version_opens() {
    for rules in 1..=RULES_VERSION {
        let dir = tempfile::tempdir().unwrap();
        log_declared_under(dir.path(), rules);
        let restored = restore(dir.path(), None, Target::End).unwrap();
        assert_eq!((restored.state.rules().get(), restored.state.seq()), (rules, 3));
        let opened = Log::open(dir.path(), LogOptions::default(), None).unwrap();
        assert_eq!(opened.admission().state().rules().get(), rules);
        opened.log.close().unwrap();
    }
}
