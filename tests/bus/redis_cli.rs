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
