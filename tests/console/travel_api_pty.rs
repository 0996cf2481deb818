//! Time travel in the real console in API mode (a pty, against the real
//! `aacon serve`): the console records what it observes, and `:at` shows
//! an instance as it was before it was stopped, under a banner that says
//! the moment is as observed by this console.

use crate::support;

use crate::travel_pty::wait_row;
use std::time::Duration;
use support::pty::Console;
use support::recorder::Remote;

#[test]
fn at_in_api_mode_shows_the_observed_past_under_an_as_observed_banner() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let serve = support::serve::Serve::start(&tmp.path().join("serve-data"), &config, &[]);
    let console_data = tmp.path().join("console-data");
    // The CLI reads the console's recording from the console's data dir.
    let remote = Remote {
        url: serve.url.clone(),
        token: None,
        data: console_data.clone(),
        config: config.clone(),
        spec: serde_json::json!({"command": [support::FIXTURE]}),
    };
    remote.ok(
        &["instances", "create", "obs-web", "--spec", "-"],
        &remote.spec.to_string(),
    );
    remote.ok(&["instances", "start", "obs-web"], "");

    let mut con = Console::spawn_with_env(
        &console_data,
        &config,
        &["--api", &serve.url],
        &[("AACON_API_POLL_MS", "200".as_ref())],
    );
    wait_row(&con, "obs-web", "running", |l| l.contains("running"));
    let noted = remote.wait_recorded("obs-web", "running", |v| v["status"] == "running");
    remote.ok(&["instances", "stop", "obs-web"], "");
    wait_row(&con, "obs-web", "stopped", |l| {
        l.contains("stopped") && !l.contains("running")
    });

    con.send(format!(":at {noted}\r").as_bytes());
    let screen = con.wait_for("as observed by this console since", Duration::from_secs(20));
    assert!(screen.contains("AS IT WAS AT"), "{screen}");
    wait_row(&con, "obs-web", "running then", |l| {
        l.contains("running") && !l.contains("stopped")
    });

    // `C`: the change since, said to be as observed.
    con.send(b"C");
    let screen = con.wait_for("status: running → stopped", Duration::from_secs(10));
    assert!(
        screen.contains("as observed by this console since"),
        "{screen}"
    );
    con.send(b"\x1b");

    // Before the recording: one sentence naming when it starts.
    con.send(b":at -1d\r");
    con.wait_for("is before this recording of", Duration::from_secs(10));

    con.send(b":now\r");
    con.wait_for("live again", Duration::from_secs(10));
    wait_row(&con, "obs-web", "stopped live", |l| l.contains("stopped"));
    con.send(b"q");
    con.wait_exit(Duration::from_secs(20));
}
