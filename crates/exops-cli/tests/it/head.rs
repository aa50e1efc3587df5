//! `exops log head` and `log verify --expect-head`, and acknowledged blocks cut off: a
//! data directory whose last segment lost bytes below its head record makes `verify` and
//! `replay` exit 1 naming the segment and offset, and `append` refuses too.

use std::fs;

use crate::{arg, exops, fixture, temp_dir};

fn imported() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data)]).expect_code(0);
    (dir, data)
}

#[test]
fn head_prints_what_verify_expect_head_checks() {
    let (_dir, data) = imported();
    let head = exops(&["log", "head", "--data-dir", arg(&data), "--format", "json"]).expect_code(0).json();
    assert_eq!(head["seq"].as_u64(), Some(764));
    assert_eq!(head["recorded"]["seq"].as_u64(), Some(764));
    let hash = head["hash"].as_str().unwrap().to_owned();
    assert_eq!(head["recorded"]["hash"].as_str(), Some(hash.as_str()));
    let expect = head["expect_head"].as_str().unwrap().to_owned();
    assert_eq!(expect, format!("764:{hash}"));
    let text = exops(&["log", "head", "--data-dir", arg(&data)]).expect_code(0).stdout.clone();
    assert!(text.contains(&format!("expect      {expect}")), "{text}");

    exops(&["log", "verify", "--data-dir", arg(&data), "--expect-head", &expect]).expect_code(0);
    exops(&["log", "verify", "--data-dir", arg(&data), "--expect-head", &hash]).expect_code(0);
    let other = format!("764:{}", "0".repeat(64));
    let run = exops(&["log", "verify", "--data-dir", arg(&data), "--expect-head", &other]);
    run.expect_code(1);
    assert!(run.stderr.contains("the chain hash after seq 764 is"), "{}", run.stderr);
    let run = exops(&["log", "verify", "--data-dir", arg(&data), "--expect-head", &format!("900:{hash}")]);
    run.expect_code(1);
    assert!(run.stderr.contains("the log ends at seq 764, before the expected head at seq 900"), "{}", run.stderr);
    let run = exops(&["log", "verify", "--data-dir", arg(&data), "--expect-head", "764:xyz"]);
    run.expect_code(2);
    assert!(run.stderr.contains("expected 64 hexadecimal digits"), "{}", run.stderr);
}

#[test]
fn a_segment_cut_below_its_head_makes_verify_replay_and_append_exit_1_naming_segment_and_offset() {
    let (_dir, data) = imported();
    let segment = data.join("log/00000000000000000001.seg");
    let len = fs::metadata(&segment).unwrap().len();
    // The 764 events are one block: cut inside it, 100 bytes short of its seal's end.
    fs::write(&segment, &fs::read(&segment).unwrap()[..(len - 100) as usize]).unwrap();
    let named = format!("{} at byte offset", segment.display());
    for args in [
        &["log", "verify", "--data-dir", arg(&data)][..],
        &["replay", arg(&data)],
        &["log", "stats", "--data-dir", arg(&data)],
    ] {
        let run = exops(args);
        run.expect_code(1);
        assert!(run.stderr.contains(&named) && run.stderr.contains("acknowledged"), "{args:?}: {}", run.stderr);
    }
    let run = crate::exops_with_stdin(&["log", "append", "--data-dir", arg(&data)], Vec::new());
    run.expect_code(1);
    assert!(run.stderr.contains(&named), "{}", run.stderr);
    assert_eq!(fs::metadata(&segment).unwrap().len(), len - 100, "the refused append cut nothing");
    assert!(!data.join("quarantine").exists());
}

/// The recipe: `head -c 419 /dev/urandom > DATA_DIR/index.sled/db` once the index
/// was opened; the next `replay --at` heals it with a note, the one after is silent.
#[test]
fn a_garbled_index_is_rebuilt_by_the_next_replay_which_says_so_and_the_one_after_is_silent() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&data), "--snapshot-every", "100"]).expect_code(0);
    let first = exops(&["replay", arg(&data), "--at", "500"]).expect_code(0).stdout.clone();
    // 419 bytes from a fixed generator (not /dev/urandom: the test must reproduce).
    let mut state = 419_u64;
    let garbage: Vec<u8> = (0..419)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    fs::write(data.join("index.sled/db"), garbage).unwrap();
    let healing = exops(&["replay", arg(&data), "--at", "500"]);
    healing.expect_code(0);
    assert_eq!(healing.stdout, first);
    assert!(
        healing.stderr.contains("the snapshot index could not be opened") && healing.stderr.contains("rebuilt"),
        "{}",
        healing.stderr
    );
    assert!(data.join("quarantine/index.sled.1/db").exists(), "the garbled index is kept aside");
    let after = exops(&["replay", arg(&data), "--at", "500"]);
    after.expect_code(0);
    assert_eq!(after.stdout, first);
    assert_eq!(after.stderr, "", "the replay after the repair is silent");
}

/// A torn tail past the head: the next append cuts it into `quarantine/`, says so, and
/// `stats` lists what is kept there.
#[test]
fn a_torn_tail_is_cut_by_append_into_quarantine_and_stats_lists_it() {
    let (_dir, data) = imported();
    let segment = data.join("log/00000000000000000001.seg");
    let mut bytes = fs::read(&segment).unwrap();
    // Half a frame header after the last seal: a write torn by a crash.
    let half_header = bytes[72..92].to_vec();
    bytes.extend_from_slice(&half_header);
    fs::write(&segment, &bytes).unwrap();
    let stats = exops(&["log", "stats", "--data-dir", arg(&data)]).expect_code(0).stdout.clone();
    assert!(stats.contains("20 unsealed bytes") && !stats.contains("quarantine"), "{stats}");
    let run = crate::exops_with_stdin(&["log", "append", "--data-dir", arg(&data)], Vec::new());
    run.expect_code(0);
    assert!(run.stderr.contains("cut a torn tail of 20 bytes") && run.stderr.contains("quarantine"), "{}", run.stderr);
    let cut_at = bytes.len() - 20;
    let kept = fs::read(data.join(format!("quarantine/00000000000000000001.seg.at-{cut_at}.bytes"))).unwrap();
    assert_eq!(kept, bytes[bytes.len() - 20..]);
    let stats = exops(&["log", "stats", "--data-dir", arg(&data), "--format", "json"]).expect_code(0).json();
    let notes = stats["quarantined"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{stats}");
    assert!(notes[0].as_str().unwrap().ends_with(&format!("00000000000000000001.seg.at-{cut_at}.note")), "{stats}");
}
