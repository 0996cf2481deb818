//! API mode's flight recorder against the real `aacon serve`: what
//! `events --follow --record` observed answers `--at` and `--between`.

use crate::support;

use support::recorder::{Remote, observe_and_travel, recordings};

/// A plain secret in the instances' json_spec: never in a recording.
const CANARY: &str = "canary-rec-5f1e9a";

/// A fresh `aacon serve` and a CLI data dir for it.
fn on_serve() -> (tempfile::TempDir, support::serve::Serve, Remote) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let serve = support::serve::Serve::start(&tmp.path().join("serve-data"), &config, &[]);
    let remote = Remote {
        url: serve.url.clone(),
        token: None,
        data: tmp.path().join("cli-data"),
        config,
        spec: serde_json::json!({"command": [support::FIXTURE], "env": {"API_TOKEN": CANARY}}),
    };
    (tmp, serve, remote)
}

#[test]
fn the_recorder_observes_serve_and_at_gives_the_earlier_state() {
    let (_tmp, _serve, remote) = on_serve();
    observe_and_travel(&remote, "rec-web");
    // One recording, owner-only, for this remote.
    let files = recordings(&remote.data);
    assert_eq!(files.len(), 1, "{files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    // What the console was shown, redacted: never the plain secret.
    for f in std::fs::read_dir(files[0].parent().unwrap()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
            "the canary reached the recording"
        );
    }
}

/// Two recorders on one remote and one data dir (two consoles) share the
/// recording: each change they both observed is kept once.
#[test]
fn two_recorders_on_one_remote_keep_each_observed_change_once() {
    let (_tmp, _serve, remote) = on_serve();
    let t0 = support::recorder::now();
    let mut one = remote.record();
    let mut two = remote.record();
    remote.ok(
        &["instances", "create", "twice", "--spec", "-"],
        &remote.spec.to_string(),
    );
    remote.ok(&["instances", "start", "twice"], "");
    remote.wait_recorded("twice", "running", |v| v["status"] == "running");
    remote.ok(&["instances", "stop", "twice"], "");
    remote.wait_recorded("twice", "stopped", |v| v["status"] == "stopped");
    one.stop();
    two.stop();
    let out = remote.ok(
        &[
            "events",
            "--between",
            &t0,
            &support::recorder::now(),
            "--instance",
            "twice",
            "-o",
            "json",
        ],
        "",
    );
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let count = |kind: &str| events.iter().filter(|e| e["event_type"] == kind).count();
    assert_eq!(count("MCPServerInstanceCreated"), 1, "{events:#?}");
    assert_eq!(count("MCPServerInstanceStopped"), 1, "{events:#?}");
    assert_eq!(recordings(&remote.data).len(), 1);
}
