//! `exops log push`, `exops log follow` and `exops serve` against a real 3-node JetStream
//! cluster on loopback (exops_nats::cluster; under `CI=true` a missing server fails).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};

use exops_nats::cluster;

use crate::{EXOPS, arg, exops, fixture, temp_dir};

/// Every segment file of a data directory: its name and bytes.
fn segments(data_dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(data_dir.join("log"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&path).unwrap()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no segment", data_dir.display());
    files
}

fn replay_json(data_dir: &Path) -> serde_json::Value {
    exops(&["replay", arg(data_dir), "--format", "json"]).expect_code(0).json()
}

/// A replay's JSON without its notes (which say how a data directory was read).
fn without_notes(mut replay: serde_json::Value) -> serde_json::Value {
    replay.as_object_mut().unwrap().remove("notes");
    replay
}

fn follow_until_head(url: &str, venue: &str, data_dir: &Path) -> crate::Run {
    exops(&["log", "follow", "--nats", url, "--venue", venue, "--data-dir", arg(data_dir), "--until-head"])
}

/// `--nats` and `--venue` default to the `[nats]` table of DATA_DIR/exops.toml, the flags
/// win, and a file that is not valid, or says nothing, is a usage error naming it. (The
/// ports refuse at once: nothing listens on 1 or 2.)
#[test]
fn the_cluster_and_venue_come_from_the_flags_or_the_data_directorys_settings() {
    let dir = temp_dir();
    let settings = dir.path().join("exops.toml");
    fs::write(&settings, "[nats]\nurl = \"nats://127.0.0.1:1\"\nvenue = \"bitpoint\"\n").unwrap();
    let data_dir = arg(dir.path());
    let from_file = exops(&["log", "claim", "--data-dir", data_dir]);
    assert!(
        from_file.expect_code(3).stderr.contains("cannot connect to NATS at nats://127.0.0.1:1:"),
        "{}",
        from_file.stderr
    );
    let flag = exops(&["log", "follow", "--data-dir", data_dir, "--nats", "nats://127.0.0.1:2"]);
    assert!(flag.expect_code(3).stderr.contains("at nats://127.0.0.1:2:"), "{}", flag.stderr);
    let bad_venue = exops(&["log", "claim", "--data-dir", data_dir, "--venue", "bit point"]);
    assert!(bad_venue.expect_code(2).stderr.contains("venue `bit point`"), "{}", bad_venue.stderr);
    fs::write(&settings, "[nats]\nurl = \"nats://127.0.0.1:1\"\nvenu = \"bitpoint\"\n").unwrap();
    let misspelt = exops(&["log", "claim", "--data-dir", data_dir]);
    let expected = format!(
        "{}: TOML parse error at line 3, column 1: unknown field `venu`, expected `url` or `venue`",
        settings.display()
    );
    assert!(misspelt.expect_code(2).stderr.contains(&expected), "{}", misspelt.stderr);
    fs::remove_file(&settings).unwrap();
    let nothing = exops(&["serve", "--data-dir", data_dir, "--venue", "bitpoint", "--format", "json"]);
    let error: serde_json::Value = serde_json::from_str(nothing.expect_code(2).stderr.trim()).unwrap();
    let expected = format!("--nats is needed: give it, or set `url` under `[nats]` in {}", settings.display());
    assert_eq!(error["error"]["message"], expected);
}

#[test]
fn a_pushed_fixture_followed_into_two_replicas_gives_identical_segments_and_replays() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let url = cluster.url();
    let dir = temp_dir();
    let writer = dir.path().join("writer");
    exops(&["log", "import", &fixture(), "--data-dir", arg(&writer)]).expect_code(0);
    let push =
        exops(&["log", "push", "--nats", &url, "--venue", "bitpoint", "--data-dir", arg(&writer), "--format", "json"]);
    let pushed = push.expect_code(0).json();
    assert_eq!(pushed["created"], true);
    assert!(pushed["published"].as_u64().unwrap() > 0);
    assert_eq!(pushed["published"], pushed["local_blocks"]);
    // Pushed again, the cluster and venue named by the data directory's exops.toml: every
    // block checked, none published.
    let settings = format!("[nats]\nurl = \"{url}\"\nvenue = \"bitpoint\"\n");
    fs::write(writer.join("exops.toml"), settings).unwrap();
    let again = exops(&["log", "push", "--data-dir", arg(&writer), "--format", "json"]);
    let again = again.expect_code(0).json();
    assert_eq!(
        (again["published"].as_u64(), again["already_there"].clone()),
        (Some(0), pushed["local_blocks"].clone())
    );
    let expected_replay = replay_json(&writer);
    for name in ["replica-a", "replica-b"] {
        let replica = dir.path().join(name);
        let run = follow_until_head(&url, "bitpoint", &replica);
        run.expect_code(0);
        assert!(run.stdout.starts_with("replicated block 0 through seq "), "{}", run.stdout);
        assert_eq!(segments(&replica), segments(&writer), "{name}'s segments differ from the writer's");
        assert_eq!(replay_json(&replica), expected_replay, "{name}'s replay differs");
    }
    // A replica that already has a different history is refused, not cut: a log of the
    // fixture's first lines only, written as one block, forks at block 0.
    let other = dir.path().join("other");
    let first_lines: String =
        fs::read_to_string(fixture()).unwrap().lines().take(3).map(|line| format!("{line}\n")).collect();
    fs::write(dir.path().join("first.jsonl"), first_lines).unwrap();
    exops(&["log", "import", arg(&dir.path().join("first.jsonl")), "--data-dir", arg(&other)]).expect_code(0);
    let before = segments(&other);
    let run = exops(&[
        "log",
        "follow",
        "--nats",
        &url,
        "--venue",
        "bitpoint",
        "--data-dir",
        arg(&other),
        "--until-head",
        "--format",
        "json",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("\"code\":\"diverged\"") && run.stderr.contains("fork at block 0"), "{}", run.stderr);
    assert_eq!(segments(&other), before);
}

/// A running `exops serve`: its standard input, and its outputs read line by line.
struct Serve {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: BufReader<ChildStderr>,
}

impl Serve {
    fn start(url: &str, venue: &str, data_dir: &Path) -> Serve {
        let mut child = Command::new(EXOPS)
            .args(["serve", "--nats", url, "--venue", venue, "--data-dir", arg(data_dir)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut serve = Serve { child, stdout, stderr };
        let line = serve.stderr_line();
        assert!(line.starts_with("exops: serving EXOPS_"), "{line}");
        serve
    }

    fn stderr_line(&mut self) -> String {
        let mut line = String::new();
        self.stderr.read_line(&mut line).unwrap();
        line
    }

    fn send(&mut self, lines: &[&str]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        for line in lines {
            writeln!(stdin, "{line}").unwrap();
        }
        stdin.flush().unwrap();
    }

    /// Reads acknowledgements until one reaches `seq`.
    fn wait_acknowledged(&mut self, seq: u64) {
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "serve ended before seq {seq} was acknowledged");
            let through: u64 = line.trim().strip_prefix("acknowledged through seq ").unwrap().parse().unwrap();
            if through >= seq {
                return;
            }
        }
    }

    /// Closes standard input and waits: exit code, and the rest of standard error.
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        crate::assert_no_panic(&["serve"], status, &rest);
        (status.code(), rest)
    }
}

#[test]
fn serve_takes_the_fixture_and_a_second_serve_fences_the_first() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let url = cluster.url();
    let dir = temp_dir();
    let text = fs::read_to_string(fixture()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(300);
    let (old_dir, new_dir) = (dir.path().join("old-writer"), dir.path().join("new-writer"));

    let mut old = Serve::start(&url, "bp", &old_dir);
    old.send(first);
    old.wait_acknowledged(300);
    // The second writer claims the stream and catches up from it.
    let mut new = Serve::start(&url, "bp", &new_dir);
    // The old writer's next append is written locally and refused by the stream. It
    // differs from what the new writer will take at that seq (its note), so that the old
    // writer's directory is a fork whatever blocks the new writer's group commits make.
    let mut stale: serde_json::Value = serde_json::from_str(second[0]).unwrap();
    stale["note"] = serde_json::Value::String("from the fenced writer".to_owned());
    let stale = stale.to_string();
    assert_ne!(stale, second[0]);
    old.send(&[stale.as_str()]);
    let (code, stderr) = old.finish();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("not acknowledged"), "{stderr}");
    assert!(stderr.contains("error: fenced: the stream EXOPS_bp now takes blocks only on exops.bp.log."), "{stderr}");
    // The new writer takes the rest; nothing of the old one's after the claim is in the stream.
    new.send(second);
    new.wait_acknowledged(lines.len() as u64);
    let (code, stderr) = new.finish();
    assert_eq!(code, Some(0), "{stderr}");
    let expected = exops(&["replay", &fixture(), "--format", "json"]).expect_code(0).json();
    for name in ["replica-a", "replica-b"] {
        let replica = dir.path().join(name);
        follow_until_head(&url, "bp", &replica).expect_code(0);
        assert_eq!(segments(&replica), segments(&new_dir), "{name}'s segments differ from the writer's");
        let replayed = replay_json(&replica);
        assert_eq!(replayed, replay_json(&new_dir));
        assert_eq!(without_notes(replayed), without_notes(expected.clone()), "{name} replays to the fixture's state");
    }
    // The fenced writer's data directory holds a block the stream refused: it forks there.
    let run = follow_until_head(&url, "bp", &old_dir);
    run.expect_code(1);
    assert!(run.stderr.contains("fork at block"), "{}", run.stderr);
}

/// kill -9 of the stream's leader, again and again, while `exops serve` appends: no
/// acknowledged event is lost, the chain stays whole (every follower verifies it), and the
/// restarted nodes catch up. Each kill stalls the stream for about 10 s (the cluster's
/// election timeout), so `EXOPS_NATS_KILLS` sets how many: 20 by default under `CI=true`,
/// 3 otherwise.
#[test]
fn killing_the_stream_leader_during_appends_loses_no_acknowledged_event() {
    let Some(mut cluster) = cluster::for_test(3) else { return };
    let default_kills = if std::env::var("CI").as_deref() == Ok("true") { 20 } else { 3 };
    let kills: usize =
        std::env::var("EXOPS_NATS_KILLS").ok().and_then(|text| text.parse().ok()).unwrap_or(default_kills);
    let url = cluster.url();
    let dir = temp_dir();
    let generated = dir.path().join("generated");
    let per_kill = 200;
    let events = (kills + 1) * per_kill;
    exops(&["gen", "--events", &events.to_string(), "--seed", "7", "--data-dir", arg(&generated)]).expect_code(0);
    let export = exops(&["log", "export", "--data-dir", arg(&generated)]).expect_code(0).stdout.clone();
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), events);
    let writer = dir.path().join("writer");
    let mut serve = Serve::start(&url, "kills", &writer);
    let watcher = exops_nats::Connection::connect(&url, "kills").unwrap();
    let mut acknowledged = 0;
    for (round, chunk) in lines.chunks(per_kill).enumerate() {
        serve.send(chunk);
        if round < kills {
            // The leader dies while the chunk is being appended and published.
            let leader = (0..50)
                .find_map(|_| {
                    let leader = watcher.stream_leader().ok().flatten();
                    if leader.is_none() {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    leader
                })
                .expect("the stream has a leader");
            let node = cluster.node_named(&leader).unwrap();
            cluster.kill(node).unwrap();
            cluster.restart(node).unwrap();
        }
        acknowledged += chunk.len() as u64;
        serve.wait_acknowledged(acknowledged);
    }
    let (code, stderr) = serve.finish();
    assert_eq!(code, Some(0), "{stderr}");
    // Every acknowledged event is in the stream, in order, once: a follower that checks
    // every block and the chain ends byte-identical to the writer, and its events are the
    // input's, line for line.
    for name in ["replica-a", "replica-b"] {
        let replica = dir.path().join(name);
        follow_until_head(&url, "kills", &replica).expect_code(0);
        assert_eq!(segments(&replica), segments(&writer), "{name}'s segments differ from the writer's");
        let replayed = exops(&["log", "export", "--data-dir", arg(&replica)]).expect_code(0).stdout.clone();
        assert!(replayed == export, "{name}'s events differ from the input");
    }
}

/// A live follower killed (kill -9) mid-stream resumes from its own head when started
/// again: no gap, no block twice, the writer's segments byte for byte.
#[test]
fn a_follower_killed_and_restarted_resumes_without_a_gap() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let url = cluster.url();
    let dir = temp_dir();
    let writer = dir.path().join("writer");
    exops(&["gen", "--events", "60000", "--seed", "3", "--data-dir", arg(&writer)]).expect_code(0);
    exops(&["log", "push", "--nats", &url, "--venue", "gen", "--data-dir", arg(&writer)]).expect_code(0);
    let replica = dir.path().join("replica");
    let mut child = Command::new(EXOPS)
        .args(["log", "follow", "--nats", &url, "--venue", "gen", "--data-dir", arg(&replica)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("replicated block 2 ") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the follower ended early");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let run = follow_until_head(&url, "gen", &replica);
    run.expect_code(0);
    // It went on from its own head: any block it appended now is past block 2 (the kill
    // may also have come after the last block).
    if let Some(line) = run.stdout.lines().next() {
        let first: u64 =
            line.strip_prefix("replicated block ").and_then(|rest| rest.split(' ').next()).unwrap().parse().unwrap();
        assert!(first > 2, "{}", run.stdout);
    }
    assert_eq!(segments(&replica), segments(&writer));
}

/// `exops log claim` fences the running writer and names it.
#[test]
fn log_claim_fences_the_running_writer_and_names_it() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let url = cluster.url();
    let dir = temp_dir();
    let text = fs::read_to_string(fixture()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // No stream yet: nothing to claim.
    let run = exops(&["log", "claim", "--nats", &url, "--venue", "cl", "--format", "json"]);
    run.expect_code(3);
    assert!(run.stderr.contains("\"code\":\"nats\"") && run.stderr.contains("does not exist"), "{}", run.stderr);
    let mut serve = Serve::start(&url, "cl", &dir.path().join("writer"));
    serve.send(&lines[..10]);
    serve.wait_acknowledged(10);
    let claimed = exops(&["log", "claim", "--nats", &url, "--venue", "cl", "--format", "json"]).expect_code(0).json();
    let fenced = claimed["fenced"].as_array().unwrap();
    assert_eq!(fenced.len(), 1);
    assert!(fenced[0].as_str().unwrap().starts_with("exops.cl.log.s"), "{claimed}");
    assert_ne!(fenced[0], claimed["subject"]);
    serve.send(&lines[10..11]);
    let (code, stderr) = serve.finish();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains(&format!("now takes blocks only on {}", claimed["subject"].as_str().unwrap())), "{stderr}");
    // The stream holds the ten acknowledged events only.
    let replica = dir.path().join("replica");
    follow_until_head(&url, "cl", &replica).expect_code(0);
    assert_eq!(replay_json(&replica)["seq"], 10);
}

/// Followers that report (`log follow --name`) are listed by `fleet status` with their lag
/// against the stream; one whose hash is not the stream's at its block is named, exit 1.
#[test]
fn fleet_status_lists_each_reporting_follower_its_lag_and_a_diverged_one() {
    let Some(cluster) = cluster::for_test(3) else { return };
    let url = cluster.url();
    let dir = temp_dir();
    let writer = dir.path().join("writer");
    let lines: Vec<String> = fs::read_to_string(fixture()).unwrap().lines().map(|line| format!("{line}\n")).collect();
    let (first, rest) = lines.split_at(400);
    fs::write(dir.path().join("first.jsonl"), first.concat()).unwrap();
    fs::write(dir.path().join("rest.jsonl"), rest.concat()).unwrap();
    exops(&["log", "import", arg(&dir.path().join("first.jsonl")), "--data-dir", arg(&writer)]).expect_code(0);
    exops(&["log", "push", "--nats", &url, "--venue", "fleet", "--data-dir", arg(&writer)]).expect_code(0);
    let status = || exops(&["fleet", "status", "--nats", &url, "--venue", "fleet", "--format", "json"]);
    let nobody = exops(&["fleet", "status", "--nats", &url, "--venue", "fleet"]);
    assert!(nobody.expect_code(0).stdout.contains("no follower has reported"), "{}", nobody.stdout);
    for name in ["tokyo-gw", "osaka-gw"] {
        let replica = dir.path().join(name);
        exops(&[
            "log",
            "follow",
            "--nats",
            &url,
            "--venue",
            "fleet",
            "--data-dir",
            arg(&replica),
            "--until-head",
            "--name",
            name,
        ])
        .expect_code(0);
    }
    let fleet = status().expect_code(0).json();
    let blocks = fleet["stream_blocks"].as_u64().unwrap();
    let followers = fleet["followers"].as_array().unwrap();
    let names: Vec<&str> = followers.iter().map(|follower| follower["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["osaka-gw", "tokyo-gw"]);
    for follower in followers {
        assert_eq!(
            (follower["blocks"].as_u64(), follower["lag_blocks"].as_u64()),
            (Some(blocks), Some(0)),
            "{follower}"
        );
        assert_eq!(follower["chain"]["state"], "matches", "{follower}");
        assert_eq!(follower["last_seq"], 400);
    }
    // The writer goes on; the followers have not followed yet: they lag, on the same chain.
    exops(&["log", "append", "--data-dir", arg(&writer)]).expect_code(0);
    let appended = crate::exops_with_stdin(&["log", "append", "--data-dir", arg(&writer)], rest.concat().into_bytes());
    appended.expect_code(0);
    exops(&["log", "push", "--nats", &url, "--venue", "fleet", "--data-dir", arg(&writer)]).expect_code(0);
    let fleet = status().expect_code(0).json();
    let now = fleet["stream_blocks"].as_u64().unwrap();
    assert!(now > blocks);
    for follower in fleet["followers"].as_array().unwrap() {
        assert_eq!(follower["lag_blocks"].as_u64(), Some(now - blocks), "{follower}");
        assert_eq!(follower["chain"]["state"], "matches", "{follower}");
    }
    // A follower reporting another history at block 0.
    let connection = exops_nats::Connection::connect(&url, "fleet").unwrap();
    let lie = exops_nats::FollowerReport { blocks: 1, last_seq: 3, head_hash: Some("00".repeat(32)), last_at: None };
    connection.report_follower("forked-gw", &lie).unwrap();
    let run = exops(&["fleet", "status", "--nats", &url, "--venue", "fleet"]);
    run.expect_code(1);
    assert!(run.stdout.contains("forked-gw") && run.stdout.contains("DIVERGED at block 0"), "{}", run.stdout);
    assert!(run.stderr.contains("follower `forked-gw` diverged at block 0"), "{}", run.stderr);
}

/// Users of a cluster that authenticates: the writer may do anything; the gateway may
/// only publish customer submissions, operator ciso-1 only its own (and each may take
/// replies on its inbox).
const AUTHORIZATION: &str = r#"authorization {
  users = [
    { user: writer, password: writer-pw }
    { user: gateway, password: gateway-pw,
      permissions: { publish: ["exops.bp.submit.customer"], subscribe: ["_INBOX.>"] } }
    { user: ciso-1, password: ciso-pw,
      permissions: { publish: ["exops.bp.submit.operator.ciso-1"], subscribe: ["_INBOX.>"] } }
  ]
}"#;

/// The events of a data directory, as `exops replay` counts them.
fn events_in(data_dir: &Path) -> u64 {
    replay_json(data_dir)["seq"].as_u64().unwrap()
}

/// Gateways and operators submit over NATS as the server authenticates them: a gateway's
/// customer operation is written, its operator event refused with the log unchanged; an
/// operator's event is written as its own, one claiming another operator refused; a
/// gateway may not publish on an operator's subject, and a client without credentials
/// cannot connect at all.
#[test]
fn submissions_are_admitted_by_who_the_server_says_sent_them() {
    use exops_nats::{Connection, Sender};
    let Some(cluster) = cluster::for_test_authorized(3, AUTHORIZATION, "writer", "writer-pw") else { return };
    let dir = temp_dir();
    let data_dir = dir.path().join("writer");
    let text = fs::read_to_string(fixture()).unwrap();
    let lines: Vec<&str> = text.lines().take(300).collect();
    let mut serve = Serve::start(&cluster.url_as("writer", "writer-pw"), "bp", &data_dir);
    serve.send(&lines);
    serve.wait_acknowledged(300);

    let gateway = Connection::connect(&cluster.url_as("gateway", "gateway-pw"), "bp").unwrap();
    let login = r#"{"at":"2020-01-01T00:00:00Z","id":1,"actor":"customer:900001","kind":"login_attempted"}"#;
    let written = gateway.submit(&Sender::Gateway, login).unwrap();
    assert_eq!((written.seq, written.error.as_deref()), (Some(301), None), "{written:?}");
    assert_eq!(written.outcome.as_deref(), Some("accepted"));

    let hold = |actor: &str, name: &str| {
        format!(
            r#"{{"at":"2020-01-01T01:00:00Z","id":1,"actor":"{actor}","kind":"hold_placed","hold":"{name}","cause":"maintenance","services":["withdrawals:BTC"]}}"#
        )
    };
    let from_gateway = gateway.submit(&Sender::Gateway, &hold("staff:ciso-1", "by-gateway")).unwrap();
    let error = from_gateway.error.unwrap_or_default();
    assert!(error.contains("a gateway may submit customer operations only"), "{error}");
    assert_eq!(from_gateway.seq, None);
    // Publishing on the operator's subject is the server's to refuse: no writer sees it.
    let as_operator = gateway.submit(&Sender::Operator("ciso-1".into()), &hold("staff:ciso-1", "forged"));
    assert!(as_operator.is_err(), "{as_operator:?}");

    let operator = Connection::connect(&cluster.url_as("ciso-1", "ciso-pw"), "bp").unwrap();
    let ciso = Sender::Operator("ciso-1".into());
    let claimed = operator.submit(&ciso, &hold("staff:ceo-1", "as-ceo")).unwrap();
    let error = claimed.error.unwrap_or_default();
    assert!(error.contains("authenticated as operator ciso-1") && error.contains("staff:ceo-1"), "{error}");
    let own = operator.submit(&ciso, &hold("staff:ciso-1", "maint-btc")).unwrap();
    assert_eq!((own.seq, own.outcome.as_deref()), (Some(302), Some("applied")), "{own:?}");

    let anonymous = Connection::connect(&cluster.url(), "bp").map(|_| ());
    let refused = anonymous.unwrap_err().to_string();
    assert!(refused.contains("cannot connect to NATS") && refused.contains("authorization"), "{refused}");
    let wrong_password = Connection::connect(&cluster.url_as("gateway", "guess"), "bp").map(|_| ()).unwrap_err();
    assert!(wrong_password.to_string().contains("gateway:***@"), "the password is not shown: {wrong_password}");

    let (code, stderr) = serve.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(events_in(&data_dir), 302, "exactly the two admitted submissions were written");
    let holds = replay_json(&data_dir)["holds"].clone();
    assert!(holds.get("maint-btc").is_some() && holds.get("by-gateway").is_none(), "{holds}");
}
