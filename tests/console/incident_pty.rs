//! An incident bundle round-trips through `aacon --replay` in the real
//! console (a pty): the instance appears under the replay banner, `:at`
//! inside the window shows its earlier status, and a mutation key is
//! refused read-only.

use crate::support;

use chrono::{SecondsFormat, Utc};
use std::time::Duration;
use support::FIXTURE;
use support::cli::{dirs, ok, wait_status};
use support::pty::Console;

#[test]
fn a_bundle_replays_read_only_and_at_shows_the_earlier_status() {
    let (tmp, data, config) = dirs();
    let spec = serde_json::json!({"command": [FIXTURE]}).to_string();
    ok(
        &data,
        &config,
        &["instances", "create", "inc-tt", "--spec", "-"],
        &spec,
    );
    // The console hosts the runtime, so the instance really runs.
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("inc-tt", Duration::from_secs(20));
    ok(&data, &config, &["instances", "start", "inc-tt"], "");
    wait_status(&data, &config, "inc-tt", "running");
    let noted = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    ok(&data, &config, &["instances", "stop", "inc-tt"], "");
    wait_status(&data, &config, "inc-tt", "stopped");
    con.wait_row("inc-tt", "stopped", |l| l.contains("stopped"));
    con.send(b"q");
    con.wait_exit(Duration::from_secs(20));

    let bundle = tmp.path().join("inc-tt.tar.gz");
    let b = bundle.to_str().unwrap();
    ok(&data, &config, &["incident", "inc-tt", "-o", b], "");

    // Another data dir: the colleague's machine knows nothing of it.
    let (_tmp2, data2, config2) = dirs();
    let mut con = Console::spawn(&data2, &config2, &["--replay", b]);
    let screen = con.wait_for("REPLAY of", Duration::from_secs(20));
    assert!(screen.contains("inc-tt.tar.gz"), "{screen}");
    assert!(screen.contains("READ-ONLY"), "{screen}");
    con.wait_row("inc-tt", "stopped at the window's end", |l| {
        l.contains("stopped") && !l.contains("running")
    });

    // :at inside the window: running, as it was.
    con.send(format!(":at {noted}\r").as_bytes());
    con.wait_for("AS IT WAS AT", Duration::from_secs(10));
    con.wait_row("inc-tt", "running then", |l| {
        l.contains("running") && !l.contains("stopped")
    });
    con.send(b":now\r");
    con.wait_row("inc-tt", "stopped again", |l| {
        l.contains("stopped") && !l.contains("running")
    });

    // A mutation is refused, read-only.
    con.send(b"s");
    con.wait_for("read-only mode", Duration::from_secs(10));
    con.send(b"q");
    con.wait_exit(Duration::from_secs(20));
}
