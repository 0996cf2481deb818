//! The live Logs tab on the real `aacon` binary in a pseudo-terminal,
//! against `@modelcontextprotocol/server-everything`: the runtime's marker,
//! `logging/setLevel` from the tab, then the server's `notifications/message`
//! lines arriving live with their level and source; and
//! `aacon instances logs -f` printing a line that arrives after it started.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support;

use support::cli::{dirs, ok};
use support::pty::Console;

const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// A console hosting server-everything, running.
fn running() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    Console,
) {
    let (tmp, data, config) = dirs();
    let spec = support::everything::stdio_spec().to_string();
    ok(
        &data,
        &config,
        &["instances", "create", "everything", "--spec", "-"],
        &spec,
    );
    ok(&data, &config, &["instances", "start", "everything"], "");
    let con = Console::spawn(&data, &config, &[]);
    con.wait_for("running", Duration::from_secs(30));
    (tmp, data, config, con)
}

#[test]
fn the_live_logs_tab_shows_a_log_message_with_its_level() {
    let (_tmp, data, config, mut con) = running();
    con.send(b"\r");
    // Overview, json_spec, Events, Tools, Logs.
    con.send(b"\t\t\t\t");
    let s = con.wait_for("── running: ", Duration::from_secs(15));
    assert!(s.contains("following"), "{s}");
    assert!(s.contains("aacon"), "the marker's source: {s}");
    // logging/setLevel from the tab: the level shown (debug: everything).
    con.send(b"S");
    con.wait_for("server logs from debug", Duration::from_secs(15));
    // The server starts logging (one message at once, then every 5 s):
    // through the console's own session, over its socket.
    ok(
        &data,
        &config,
        &["tools", "call", "everything", "toggle-simulated-logging"],
        "",
    );
    let start = Instant::now();
    let line = loop {
        let s = con.screen();
        let hit = s
            .lines()
            .find(|l| l.contains(" mcp ") && l.contains("message"))
            .map(str::to_string);
        if let Some(l) = hit {
            break l;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no log message arrived:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Time, level, source, text: the level the server sent, in its column.
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "mcp").unwrap();
    assert!(at >= 1 && LEVELS.contains(&words[at - 1]), "{line}");
    let text_level = words[at + 1].split('-').next().unwrap().to_lowercase();
    assert_eq!(
        words[at - 1],
        text_level,
        "the level is the message's: {line}"
    );
    // The least level shown cycles; pausing holds the view.
    con.send(b"v");
    con.wait_for("level ≥ info", Duration::from_secs(5));
    con.send(b"f");
    con.wait_for("paused at", Duration::from_secs(5));
    con.terminate(Duration::from_secs(15));
}

#[test]
fn instances_logs_follows_a_line_that_arrives_after_it_started() {
    let (_tmp, data, config, con) = running();
    // Wait until the host has the session.
    let start = Instant::now();
    loop {
        let out = ok(&data, &config, &["instances", "logs", "everything"], "");
        if String::from_utf8_lossy(&out.stdout).contains("running: ") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no running marker"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut follower = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .args(["-o", "json", "instances", "logs", "everything", "-f"])
        .env("AACON_DATA_DIR", &data)
        .env("AACON_CONFIG_DIR", &config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    // What it printed first is what was there; then a new line arrives.
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(v["seq"].is_u64() && v["level"].is_string(), "{first}");
    // The server starts logging: one message at once.
    ok(
        &data,
        &config,
        &["tools", "call", "everything", "toggle-simulated-logging"],
        "",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let l = rx
            .recv_timeout(left)
            .expect("the follower printed no new line");
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        if v["source"] == "mcp" {
            break v;
        }
    };
    assert!(LEVELS.contains(&got["level"].as_str().unwrap()), "{got}");
    // Ctrl-C ends it cleanly.
    // SAFETY: plain kill(2) on the child this test spawned.
    unsafe {
        libc::kill(follower.id() as i32, libc::SIGINT);
    }
    let st = follower.wait().unwrap();
    assert!(st.success(), "{st:?}");
    con.terminate(Duration::from_secs(15));
}
