//! API mode's flight recorder against the real `aacon serve`: what
//! `events --follow --record` observed answers `--at` and `--between`.

use crate::support;

use support::recorder::{Remote, observe_and_travel, recordings};

#[test]
fn the_recorder_observes_serve_and_at_gives_the_earlier_state() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let serve = support::serve::Serve::start(&tmp.path().join("serve-data"), &config, &[]);
    let remote = Remote {
        url: serve.url.clone(),
        token: None,
        data: tmp.path().join("cli-data"),
        config,
        spec: serde_json::json!({"command": [support::FIXTURE]}),
    };
    observe_and_travel(&remote, "rec-web");
    // One recording, owner-only, for this remote.
    let files = recordings(&remote.data);
    assert_eq!(files.len(), 1, "{files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}
