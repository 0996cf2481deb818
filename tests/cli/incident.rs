//! `aacon incident`: the bundle of an instance that really ran (a
//! background host runs the fixture server), was updated and stopped —
//! its manifest matches its files, its summary is in order, and no byte of
//! it holds a canary secret; a damaged or foreign file given to
//! `--replay` is refused with one sentence.

use crate::support;

use flate2::read::GzDecoder;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::FIXTURE;
use support::cli::{cli, dirs, ok, wait_status};

const REF_CANARY: &str = "ref-canary-7f3a9c1e5b";
const PLAIN_CANARY: &str = "plain-canary-42d8e6b0aa";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `aacon host run` on the test's dirs: it runs the instances.
struct Host(Child);

impl Host {
    fn start(data: &Path, config: &Path) -> Host {
        let child = Command::new(env!("CARGO_BIN_EXE_aacon"))
            .args(["host", "run"])
            .env("AACON_DATA_DIR", data)
            .env("AACON_CONFIG_DIR", config)
            .env_remove("AACON_REDIS_URL")
            .env_remove("AACON_API_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Host(child)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SIGTERM: the host stops its servers (process groups) and exits.
        // SAFETY: kill(2) on the pid of a child this test spawned.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The unpacked tar stream and its files.
fn unpack(path: &Path) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut raw = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let mut files = Vec::new();
    let mut ar = tar::Archive::new(raw.as_slice());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        files.push((name, b));
    }
    (raw, files)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// An instance that ran, was updated and stopped, and its bundle.
fn ran_updated_stopped() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let (tmp, data, config) = dirs();
    ok(
        &data,
        &config,
        &["secrets", "set", "API_KEY"],
        &format!("{REF_CANARY}\n"),
    );
    let spec = |mode: &str| {
        json!({
            "command": [FIXTURE, "--stderr-env", "API_KEY"],
            "env_vars": {"API_KEY": "secret_ref:API_KEY", "API_TOKEN": PLAIN_CANARY, "MODE": mode}
        })
    };
    ok(
        &data,
        &config,
        &["instances", "create", "inc-web", "--spec", "-"],
        &spec("one").to_string(),
    );
    let _host = Host::start(&data, &config);
    ok(&data, &config, &["instances", "start", "inc-web"], "");
    wait_status(&data, &config, "inc-web", "running");
    let doc = json!({"name": "inc-web", "json_spec": spec("two")});
    ok(
        &data,
        &config,
        &["instances", "apply", "-f", "-"],
        &doc.to_string(),
    );
    wait_status(&data, &config, "inc-web", "running");
    ok(&data, &config, &["instances", "stop", "inc-web"], "");
    wait_status(&data, &config, "inc-web", "stopped");
    let bundle = tmp.path().join("inc.tar.gz");
    let out = ok(
        &data,
        &config,
        &[
            "incident",
            "inc-web",
            "--since",
            "1h",
            "-o",
            bundle.to_str().unwrap(),
        ],
        "",
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("wrote the incident bundle of inc-web") && said.contains("inc.tar.gz"),
        "{said}"
    );
    (tmp, data, config, bundle)
}

#[test]
fn a_bundle_lists_its_files_tells_what_happened_in_order_and_holds_no_secret() {
    let (_tmp, data, config, bundle) = ran_updated_stopped();
    let (raw, files) = unpack(&bundle);

    // No byte of the archive holds either canary.
    for canary in [REF_CANARY, PLAIN_CANARY] {
        assert!(!contains(&raw, canary), "{canary} in the bundle");
    }

    // The manifest lists every other file with its size and SHA-256.
    let (last, manifest) = files.last().unwrap();
    assert_eq!(last, "MANIFEST.json", "the manifest comes last");
    let m: Value = serde_json::from_slice(manifest).unwrap();
    assert_eq!(m["format"], "aacon-incident/1");
    assert_eq!(m["instance"]["name"], "inc-web");
    assert_eq!(m["platform"]["mode"], "embedded");
    assert_eq!(m["aacon_version"], env!("CARGO_PKG_VERSION"));
    assert!(m["window"]["from"].is_string() && m["window"]["to"].is_string());
    let listed = m["files"].as_array().unwrap();
    assert_eq!(listed.len(), files.len() - 1, "{m:#}");
    for (name, bytes) in &files[..files.len() - 1] {
        let entry = listed
            .iter()
            .find(|e| e["path"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not in the manifest"));
        assert_eq!(entry["bytes"], bytes.len() as u64, "{name}");
        let sha: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry["sha256"], sha.as_str(), "{name}");
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "SUMMARY.md",
        "instance.json",
        "state-at-start.json",
        "events.jsonl",
        "status.jsonl",
        "restarts.jsonl",
        "spec-history/versions.jsonl",
        "logs.jsonl",
        "calls.jsonl",
        "doctor.txt",
        "doctor.json",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("spec-history/") && n.ends_with(".diff")),
        "{names:?}"
    );
    let text = |name: &str| {
        String::from_utf8_lossy(&files.iter().find(|(n, _)| n == name).unwrap().1).into_owned()
    };
    // What it could not hold is said; the call history is held.
    let missing = m["not_included"].to_string();
    assert!(!missing.contains("tool-call history"), "{missing}");

    // The diff shows the change, secrets redacted.
    let diff_name = names
        .iter()
        .find(|n| n.ends_with(".diff"))
        .unwrap()
        .to_string();
    let diff = text(&diff_name);
    assert!(diff.contains("-") && diff.contains("\"two\""), "{diff}");
    assert!(text("spec-history/v1.json").contains("<redacted>"));

    // Events carry their correlation ids.
    let events: Vec<Value> = text("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.len() >= 5, "{events:?}");
    assert!(events.iter().any(|e| e["correlation_id"].is_string()));

    // The log lines: the server's stderr, the secret it printed redacted.
    let logs = text("logs.jsonl");
    assert!(logs.contains("API_KEY="), "{logs}");
    // Typed lines: the runtime's markers beside the server's stderr.
    let sources: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["source"].clone())
        .collect();
    assert!(sources.contains(&Value::from("stderr")), "{logs}");
    assert!(sources.contains(&Value::from("aacon")), "{logs}");

    // SUMMARY.md tells it in order.
    let summary = text("SUMMARY.md");
    let mut at = 0;
    for step in [
        "window opens",
        "created by",
        "start asked",
        "running",
        "spec updated by",
        "stop asked",
        "window closes: stopped",
    ] {
        let found = summary[at..]
            .find(step)
            .unwrap_or_else(|| panic!("'{step}' not after byte {at}:\n{summary}"));
        at += found + step.len();
    }

    // Nothing in the data dir changed: the instance is as it was.
    let now: Value = serde_json::from_slice(
        &ok(
            &data,
            &config,
            &["instances", "get", "inc-web", "-o", "json"],
            "",
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(now["status"], "stopped");
}

#[test]
fn an_unknown_instance_or_window_changes_nothing() {
    let (tmp, data, config) = dirs();
    let file = tmp.path().join("x.tar.gz");
    let f = file.to_str().unwrap();
    let out = cli(&data, &config, &["incident", "nope", "-o", f], "");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end().lines().count(),
        1,
        "{}",
        stderr(&out)
    );
    let out = cli(
        &data,
        &config,
        &["incident", "nope", "--between", "-1m", "-2h", "-o", f],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!file.exists());
}

#[test]
fn a_damaged_or_foreign_file_is_refused_with_one_sentence() {
    let (tmp, data, config) = dirs();
    let foreign = tmp.path().join("foreign.tar.gz");
    std::fs::write(&foreign, b"this is no bundle").unwrap();
    let out = cli(&data, &config, &["--replay", foreign.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("is not an incident bundle"), "{err}");

    // A bundle with one file changed after it was written.
    ok(
        &data,
        &config,
        &["instances", "create", "small", "--spec", "-"],
        r#"{"command": ["x"]}"#,
    );
    let good = tmp.path().join("good.tar.gz");
    ok(
        &data,
        &config,
        &["incident", "small", "-o", good.to_str().unwrap()],
        "",
    );
    let (_, files) = unpack(&good);
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, bytes) in &files {
        let mut bytes = bytes.clone();
        if name == "SUMMARY.md" {
            bytes.extend_from_slice(b"\nnothing happened, honest\n");
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, bytes.as_slice()).unwrap();
    }
    let tampered = tmp.path().join("tampered.tar.gz");
    std::fs::write(&tampered, tar.into_inner().unwrap().finish().unwrap()).unwrap();
    let out = cli(
        &data,
        &config,
        &["--replay", tampered.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("is damaged") && err.contains("SUMMARY.md"),
        "{err}"
    );
}
