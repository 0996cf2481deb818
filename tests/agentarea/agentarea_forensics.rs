//! After an incident, against the real AgentArea (`../shared/agentarea/up`):
//! `tools history` says in one sentence that AgentArea keeps no call
//! history, and `incident` writes a bundle whose manifest names what
//! AgentArea could not give (events, log lines, calls). Each test in its own
//! workspace of the shared backend, as in `agentarea_api`.

use crate::agentarea_api::{CONTAINER, Ws, text};

use flate2::read::GzDecoder;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// The bundle's files, by name.
fn unpack(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let mut files = Vec::new();
    for e in tar::Archive::new(raw.as_slice()).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        files.push((name, b));
    }
    files
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| b.as_slice())
        .unwrap_or_else(|| panic!("{name} in the bundle: {names:?}"))
}

#[test]
fn tools_history_says_agentarea_keeps_no_call_history_and_fails() {
    let w = Ws::new("history");
    w.ok(&["instances", "create", "web", "--spec", "-"], CONTAINER);
    let id = w.list()[0]["id"].as_str().unwrap().to_string();
    for args in [
        vec!["tools", "history", "web"],
        vec!["tools", "history", "web", "--call", "1"],
    ] {
        let out = w.run(&args, "");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(
                "AgentArea keeps no call history (it has no history route); `aacon serve` and the embedded platform record every call"
            ),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // AgentArea's profile says it has no such route: nothing is asked for
    // (no 404 in its log per read), and nothing else broke.
    assert!(
        !w.aa.api_log().contains(&format!("{id}/history")),
        "the history route was not asked for"
    );
    assert_eq!(w.list().len(), 1);
}

#[test]
fn an_incident_bundle_names_what_agentarea_does_not_keep() {
    let w = Ws::new("incident");
    w.ok(
        &[
            "instances",
            "create",
            "web",
            "--spec",
            "-",
            "--description",
            "files",
        ],
        CONTAINER,
    );
    let id = w.list()[0]["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("web.tar.gz");
    let out = w.ok(
        &[
            "incident",
            "web",
            "--since",
            "1h",
            "-o",
            bundle.to_str().unwrap(),
        ],
        "",
    );
    assert!(bundle.is_file(), "written: {}", text(&out.stderr));

    let files = unpack(&bundle);
    let manifest: Value = serde_json::from_slice(file(&files, "MANIFEST.json")).unwrap();
    assert_eq!(manifest["instance"]["id"], id.as_str(), "{manifest}");
    assert_eq!(manifest["instance"]["name"], "web");
    let missing: Vec<&str> = manifest["not_included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let names = |what: &str| missing.iter().any(|m| m.contains(what));
    assert!(
        names("the event history: AgentArea keeps none for clients"),
        "{missing:#?}"
    );
    assert!(names("log lines: "), "{missing:#?}");
    assert!(
        names("AgentArea keeps no process logs for clients"),
        "{missing:#?}"
    );
    assert!(
        names("the tool-call history: ") && names("keeps no call history"),
        "{missing:#?}"
    );
    // What is missing is not shipped as an empty file.
    for absent in ["events.jsonl", "logs.jsonl", "calls.jsonl"] {
        assert!(
            files.iter().all(|(n, _)| n != absent),
            "{absent} is not in the bundle"
        );
    }

    let instance: Value = serde_json::from_slice(file(&files, "instance.json")).unwrap();
    let doc = instance.get("instance").unwrap_or(&instance);
    assert_eq!(doc["id"], id.as_str(), "{instance}");
    assert_eq!(doc["name"], "web");
    assert_eq!(doc["description"], "files");
    assert_eq!(doc["json_spec"]["image"], "mcp/filesystem");
    assert!(
        !w.aa.api_log().contains("/logs HTTP"),
        "no logs route was asked for"
    );
}
