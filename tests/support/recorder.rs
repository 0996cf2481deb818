//! API mode's flight recorder from the outside: `aacon events --follow
//! --record` as a child process, and the one scenario every remote must
//! pass (observe a create, a start, a stop and an update while recording;
//! then `--at` an earlier moment gives the earlier state, `--between` lists
//! the observed changes, and a moment before the recording is refused).

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A remote platform and the dirs a test's CLI uses for it.
pub struct Remote {
    pub url: String,
    pub token: Option<String>,
    pub data: PathBuf,
    pub config: PathBuf,
    /// A json_spec the remote accepts and can start.
    pub spec: Value,
}

impl Remote {
    fn vars(&self) -> Vec<(&str, &str)> {
        let mut v = vec![("AACON_API_URL", self.url.as_str())];
        if let Some(t) = &self.token {
            v.push(("AACON_API_TOKEN", t.as_str()));
        }
        v.push(("AACON_API_POLL_MS", "200"));
        v
    }

    /// `aacon ARGS` in API mode against the remote.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        super::cli::cli_env(
            &self.data,
            &self.config,
            args,
            stdin,
            &self.vars(),
            &["AACON_REDIS_URL", "AACON_WORKSPACE", "AACON_API_TOKEN"],
        )
    }

    pub fn ok(&self, args: &[&str], stdin: &str) -> Output {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "aacon {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `aacon events --follow --record` on this remote, until dropped.
    pub fn record(&self) -> Recorder {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aacon"));
        cmd.args(["events", "--follow", "--record", "-o", "jsonl"])
            .env("AACON_DATA_DIR", &self.data)
            .env("AACON_CONFIG_DIR", &self.config)
            .env_remove("AACON_REDIS_URL")
            .env_remove("AACON_WORKSPACE")
            .env_remove("AACON_API_TOKEN")
            .envs(self.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("events --record said nothing");
        assert!(line.contains("recording what is observed of"), "{line}");
        Recorder { child, path: line }
    }

    /// `instances get NAME --at AT -o json`, when it answers.
    pub fn get_at(&self, name: &str, at: &str) -> Option<Value> {
        let out = self.run(&["instances", "get", name, "--at", at, "-o", "json"], "");
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// Wait until the recording shows `name` (as of now) satisfying `ok`;
    /// the moment (RFC 3339) it did.
    pub fn wait_recorded(&self, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = now();
            if let Some(v) = self.get_at(name, &now)
                && ok(&v)
            {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "the recording never showed {name} {what}: {:?}",
                self.get_at(name, &now)
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A running `events --follow --record`; interrupted (as Ctrl-C) on drop.
pub struct Recorder {
    pub child: Child,
    /// What it said first (names the recording's file).
    pub path: String,
}

impl Recorder {
    /// Interrupt it; it must exit successfully.
    pub fn stop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "{st:?}");
                return;
            }
            assert!(Instant::now() < deadline, "events --record did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scenario: create, start, stop and update `name` while recording.
pub fn observe_and_travel(remote: &Remote, name: &str) {
    let t0 = now();
    let mut rec = remote.record();
    let spec = remote.spec.to_string();
    remote.ok(&["instances", "create", name, "--spec", "-"], &spec);
    remote.ok(&["instances", "start", name], "");
    let running = remote.wait_recorded(name, "running", |v| v["status"] == "running");
    remote.ok(&["instances", "stop", name], "");
    let stopped = remote.wait_recorded(name, "stopped", |v| v["status"] == "stopped");
    let doc = json!({"name": name, "description": "after", "json_spec": remote.spec});
    remote.ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    remote.wait_recorded(name, "updated", |v| v["description"] == "after");

    // --at an earlier moment: the earlier state, said to be as observed.
    let out = remote.ok(
        &["instances", "get", name, "--at", &running, "-o", "json"],
        "",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "running", "{v}");
    assert_ne!(v["description"], "after", "{v}");
    let out = remote.ok(&["instances", "list", "--at", &stopped], "");
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("stopped"), "{table}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("as observed by this console's recording since"),
        "{err}"
    );

    // --between: the observed changes, in order.
    let out = remote.ok(
        &[
            "events",
            "--between",
            &t0,
            &now(),
            "--instance",
            name,
            "-o",
            "json",
        ],
        "",
    );
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    for want in ["MCPServerInstanceCreated", "MCPServerInstanceUpdated"] {
        assert!(kinds.contains(&want), "{want} in {kinds:?}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "MCPServerInstanceStopped"
                || e["data"]["status"] == "stopped"),
        "the stop is among the observed changes: {kinds:?}"
    );
    let created = kinds.iter().position(|k| *k == "MCPServerInstanceCreated");
    let updated = kinds.iter().rposition(|k| *k == "MCPServerInstanceUpdated");
    assert!(created < updated, "{kinds:?}");
    assert!(
        events.iter().any(|e| e["data"]["observed"].is_object()),
        "list changes are marked observed: {events:?}"
    );

    // Before the recording: refused, naming when it starts.
    let out = remote.run(&["instances", "list", "--at", "-1d"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("is before this recording of"), "{err}");
    assert!(err.contains("starts ("), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    rec.stop();
    // After the recorder stopped, what it recorded is still there.
    let v = remote.get_at(name, &running).unwrap();
    assert_eq!(v["status"], "running", "{v}");
}

/// The recordings in `data`.
pub fn recordings(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data.join("recordings"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "db"))
                .collect()
        })
        .unwrap_or_default()
}
