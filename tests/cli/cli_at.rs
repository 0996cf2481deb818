//! Time travel from the command line, through the real binary:
//! `instances list --at`, `instances get --at`, `events --between`.

use crate::support;

use chrono::{Local, SecondsFormat, Utc};
use serde_json::Value;
use support::cli::{cli, create, dirs, ok};

const SPEC: &str = r#"{"command": ["mcp-fixture"]}"#;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Wait until the wall clock has passed a whole second, so a time written
/// to the second (03:12:07) falls between what came before and after.
fn next_second() {
    let ms = 1_000 - Utc::now().timestamp_subsec_millis() as u64;
    std::thread::sleep(std::time::Duration::from_millis(ms + 20));
}

/// The event types of a JSON list of events, in order.
fn kinds(events: &Value) -> Vec<&str> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_instance_is_shown_as_it_was_before_it_was_stopped_and_deleted() {
    let (_tmp, data, config) = dirs();
    let before = now();
    create(&data, &config, "web", SPEC);
    create(&data, &config, "gone", SPEC);
    ok(&data, &config, &["instances", "start", "web"], "");
    next_second();
    let noted = now();
    let noted_local = Local::now().format("%H:%M:%S").to_string();
    next_second();
    ok(&data, &config, &["instances", "stop", "web"], "");
    ok(
        &data,
        &config,
        &["instances", "delete", "gone", "--yes"],
        "",
    );

    // Now: web stopped, gone gone.
    let live = json(&ok(
        &data,
        &config,
        &["instances", "list", "-o", "json"],
        "",
    ));
    assert_eq!(live.as_array().unwrap().len(), 1);
    assert_eq!(live[0]["desired_state"], "stopped");

    // Then (RFC 3339 and the local clock time): web asked to run, gone there.
    for at in [noted.as_str(), noted_local.as_str()] {
        let then = json(&ok(
            &data,
            &config,
            &["instances", "list", "--at", at, "-o", "json"],
            "",
        ));
        let names: Vec<&str> = then
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["gone", "web"], "at {at}");
        let web = json(&ok(
            &data,
            &config,
            &["instances", "get", "web", "--at", at, "-o", "json"],
            "",
        ));
        assert_eq!(web["desired_state"], "running", "at {at}");
    }

    // The table names the moment on stderr; stdout keeps its shape.
    let table = ok(&data, &config, &["instances", "list", "--at", &noted], "");
    assert!(
        stderr(&table).starts_with("aacon: as it was at "),
        "{}",
        stderr(&table)
    );
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("gone") && text.contains("web"), "{text}");

    // Before anything happened: nothing.
    let empty = json(&ok(
        &data,
        &config,
        &["instances", "list", "--at", &before, "-o", "json"],
        "",
    ));
    assert_eq!(empty, Value::Array(vec![]));
    let missing = cli(
        &data,
        &config,
        &["instances", "get", "web", "--at", &before],
        "",
    );
    assert_eq!(missing.status.code(), Some(4), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("existed at"),
        "{}",
        stderr(&missing)
    );

    // The events of a window: the creates and the start, not the stop.
    let evs = json(&ok(
        &data,
        &config,
        &["events", "--between", &before, &noted, "-o", "json"],
        "",
    ));
    assert_eq!(
        kinds(&evs),
        [
            "MCPServerInstanceCreated",
            "MCPServerInstanceCreated",
            "MCPServerInstanceStarted"
        ]
    );
    // A deleted instance is still found by its name then.
    let gone = json(&ok(
        &data,
        &config,
        &[
            "events",
            "--between",
            &before,
            &now(),
            "--instance",
            "gone",
            "-o",
            "json",
        ],
        "",
    ));
    assert_eq!(
        kinds(&gone),
        ["MCPServerInstanceCreated", "MCPServerInstanceDeleted"]
    );
}

#[test]
fn bad_times_get_one_sentence_and_exit_2() {
    let (_tmp, data, config) = dirs();
    create(&data, &config, "web", SPEC);
    for args in [
        &["instances", "list", "--at", "yesterday"][..],
        &["instances", "get", "web", "--at", "25:99"],
        &["instances", "list", "--at", "-10x"],
        &["instances", "list", "--at", "2999-01-01T00:00:00Z"],
        &["events", "--between", "-1h", "nonsense"],
        &["events", "--between", "-1m", "-2h"],
    ] {
        let out = cli(&data, &config, args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = cli(&data, &config, &["instances", "list", "--at", "-10x"], "");
    let err = stderr(&out);
    assert!(err.contains("is not a time"), "{err}");
    assert!(err.contains("RFC 3339"), "{err}");
    // Nothing changed.
    let live = json(&ok(
        &data,
        &config,
        &["instances", "list", "-o", "json"],
        "",
    ));
    assert_eq!(live.as_array().unwrap().len(), 1);
}
