//! `aacon events --follow --output jsonl` over Redis, end to end: two aacon
//! processes with separate data dirs share only a real redis-server; what
//! one commits, the other prints as it happens.
//! (`relay_once` after one-shot commands, `bus::Live` behind `events --follow`.)

use crate::support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::RedisServer;

fn aacon(data: &Path, redis: &str) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("aacon"));
    c.arg("--redis")
        .arg(redis)
        .env("AACON_DATA_DIR", data)
        .env("AACON_CONFIG_DIR", data.join("config"))
        .env("NO_COLOR", "1");
    c
}

#[test]
fn events_follow_jsonl_over_redis_sees_another_data_dirs_commits_as_they_happen() {
    let server = RedisServer::start();
    let dirs = tempfile::tempdir().unwrap();
    let (watching, committing) = (dirs.path().join("a"), dirs.path().join("b"));
    let mut follower = aacon(&watching, &server.url())
        .args(["events", "--follow", "--output", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = crate::support::procs::lines_of(&mut follower);
    std::thread::sleep(Duration::from_millis(500));
    // One at a time: each line must arrive before the next commit.
    for name in ["one", "two", "three"] {
        let mut create = aacon(&committing, &server.url())
            .args(["instances", "create", name, "--spec", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        create
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"command": "x"}"#)
            .unwrap();
        assert!(create.wait().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => {
                    let v: Value = serde_json::from_str(&l).unwrap();
                    if v["event_type"] == "MCPServerInstanceCreated" {
                        break v;
                    }
                }
                Err(_) => panic!("no line for {name} within 10 s"),
            }
        };
        assert_eq!(line["data"]["name"], name);
    }
    let _ = follower.kill();
    let _ = follower.wait();
}

/// A one-shot command whose Redis is down still commits, says its events
/// wait in the outbox, and the next command publishes them with its own.
#[test]
fn a_cli_command_with_redis_down_leaves_its_event_for_the_next_publish() {
    let port = support::redis::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let dirs = tempfile::tempdir().unwrap();
    let data = dirs.path().join("d");
    let create = |name: &str| {
        let mut c = aacon(&data, &url)
            .args(["instances", "create", name, "--spec", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin
            .take()
            .unwrap()
            .write_all(br#"{"command": "x"}"#)
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let out = create("early");
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("events wait in the outbox"), "{err}");
    let server = RedisServer::builder().port(port).start();
    let out = create("late");
    assert!(out.status.success(), "{out:?}");
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(aacon::bus::DEFAULT_STREAM_KEY)
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    let names: Vec<String> = entries
        .ids
        .iter()
        .filter_map(|e| e.get::<String>(aacon::bus::entry::FIELD))
        .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|v| v["data"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, ["early", "late"], "both, in commit order");
}
