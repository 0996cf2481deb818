//! Time travel in the real console (a pty): `:at` shows an instance as it
//! was before it was stopped, `C` lists what changed since, `[` / `]`
//! step between its changes, `:now` returns to live.

use crate::support;

use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use std::time::{Duration, Instant};
use support::cli::{cli, dirs, ok};
use support::pty::Console;

use crate::support::FIXTURE;

/// Wait (bounded) until the CLI reports `status` for `name`.
fn wait_status(data: &std::path::Path, config: &std::path::Path, name: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = cli(data, config, &["instances", "get", name, "-o", "json"], "");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if v["status"] == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never became {status}: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The table row of `name` on `screen`.
fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"))
}

/// Wait until the row of `name` satisfies `ok`.
pub(crate) fn wait_row(con: &Console, name: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let screen = con.screen();
        if screen.lines().any(|l| l.contains(name) && ok(l)) {
            return screen;
        }
        assert!(Instant::now() < deadline, "{name}: never {what}:\n{screen}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn at_shows_the_earlier_status_of_an_instance_stopped_since() {
    let (_tmp, data, config) = dirs();
    let spec = serde_json::json!({"command": [FIXTURE]}).to_string();
    ok(
        &data,
        &config,
        &["instances", "create", "tt-web", "--spec", "-"],
        &spec,
    );
    // The console hosts the runtime, so the instance really runs.
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("tt-web", Duration::from_secs(20));
    ok(&data, &config, &["instances", "start", "tt-web"], "");
    wait_status(&data, &config, "tt-web", "running");
    let noted = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    ok(&data, &config, &["instances", "stop", "tt-web"], "");
    wait_status(&data, &config, "tt-web", "stopped");
    wait_row(&con, "tt-web", "stopped", |l| {
        l.contains("stopped") && !l.contains("running")
    });

    // :at the noted time: running, under a banner that names the time.
    con.send(format!(":at {noted}\r").as_bytes());
    let screen = con.wait_for("AS IT WAS AT", Duration::from_secs(10));
    assert!(screen.contains("live updates paused"), "{screen}");
    let screen = wait_row(&con, "tt-web", "running then", |l| {
        l.contains("running") && !l.contains("stopped")
    });
    assert!(row(&screen, "tt-web").contains("running"), "{screen}");

    // `C`: what changed from then to now, for the instance, in a pager.
    con.send(b"C");
    let screen = con.wait_for("status: running → stopped", Duration::from_secs(10));
    assert!(screen.contains("changes since"), "{screen}");
    assert!(screen.contains("desired: running → stopped"), "{screen}");
    con.send(b"\x1b");
    wait_row(&con, "tt-web", "shown again after the pager", |l| {
        l.contains("running") && !l.contains("stopped")
    });
    assert!(!con.screen().contains("changes since"));

    // `]`: the next change is the stop (desired stopped).
    con.send(b"]");
    wait_row(&con, "tt-web", "stopped after ]", |l| l.contains("stopped"));
    assert!(con.screen().contains("AS IT WAS AT"));
    // `[`: back to before it, running again.
    con.send(b"[");
    wait_row(&con, "tt-web", "running after [", |l| {
        l.contains("running") && !l.contains("stopped")
    });

    // Nothing changes the platform from the past.
    con.send(b"s");
    con.wait_for("this is the past", Duration::from_secs(10));

    // :now: live again, stopped.
    con.send(b":now\r");
    con.wait_for("live again", Duration::from_secs(10));
    let screen = wait_row(&con, "tt-web", "stopped live", |l| {
        l.contains("stopped") && !l.contains("running")
    });
    assert!(!screen.contains("AS IT WAS AT"), "{screen}");
    con.send(b"q");
    con.wait_exit(Duration::from_secs(20));
}
