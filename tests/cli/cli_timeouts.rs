//! A json_spec's `timeout_seconds` and `roots` are checked like every other
//! key: a bad value is refused with its JSON pointer and one sentence, and
//! nothing is created.

use crate::support::cli::{cli, dirs, ok};

#[test]
fn a_bad_timeout_is_refused_with_its_pointer() {
    let (_tmp, data, config) = dirs();
    let out = cli(
        &data,
        &config,
        &["instances", "create", "slow", "--spec", "-"],
        r#"{"command": ["node", "server.js"], "timeout_seconds": -5}"#,
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "/timeout_seconds: `timeout_seconds` must be more than 0 and at most 86400 (a day); it is -5"
        ),
        "{err}"
    );
    let out = cli(
        &data,
        &config,
        &["instances", "create", "slow", "--spec", "-"],
        r#"{"command": ["node", "server.js"], "roots": ["/srv", 3]}"#,
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/roots/1: every item of `roots` must be a string"),
        "{err}"
    );
    let list = ok(&data, &config, &["instances", "list"], "");
    assert!(!String::from_utf8_lossy(&list.stdout).contains("slow"));
    // A good one is kept as written.
    ok(
        &data,
        &config,
        &["instances", "create", "slow", "--spec", "-"],
        r#"{"command": ["node", "server.js"], "timeout_seconds": 300, "roots": ["/srv"]}"#,
    );
    let got = ok(
        &data,
        &config,
        &["-o", "json", "instances", "get", "slow"],
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(v["json_spec"]["timeout_seconds"], 300);
}
