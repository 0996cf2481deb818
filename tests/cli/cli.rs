//! The CLI end to end: the real binary in a temp data dir.

use crate::support::cli::Env;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The console's commands without colour, on [`Env`]'s dirs.
fn plain(env: &Env) -> Command {
    let mut c = env.cmd();
    c.env("NO_COLOR", "1");
    c
}

impl Env {
    fn run(&self, args: &[&str], stdin: &str) -> assert_cmd::assert::Assert {
        plain(self)
            .args(args)
            .write_stdin(stdin.to_string())
            .assert()
    }

    fn get_json(&self, name: &str) -> Value {
        let out = self
            .run(&["instances", "get", name, "-o", "json"], "")
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }

    fn file(&self, name: &str, body: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_string_lossy().into_owned()
    }
}

const SPEC: &str = r#"{"command": ["npx", "-y", "@modelcontextprotocol/server-everything"], "env_vars": {"API_KEY": "secret_ref:everything-key"}}"#;

#[test]
fn lifecycle_create_list_apply_conflict_delete() {
    let env = Env::new();
    env.run(
        &[
            "instances",
            "create",
            "everything",
            "--spec",
            "-",
            "--description",
            "demo",
        ],
        SPEC,
    )
    .success()
    .stdout(predicate::str::contains("everything").and(predicate::str::contains("process")));

    let list = env.run(&["instances", "list", "-o", "json"], "").success();
    let list: Value = serde_json::from_slice(&list.get_output().stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let inst = &list[0];
    for k in [
        "id",
        "name",
        "description",
        "server_spec_id",
        "json_spec",
        "status",
        "created_at",
        "updated_at",
        "version",
        "desired_state",
        "kind",
    ] {
        assert!(inst.get(k).is_some(), "missing {k} in {inst}");
    }
    assert_eq!(inst["status"], "pending");
    assert_eq!(inst["kind"], "process");
    assert_eq!(inst["version"], 1);
    assert_eq!(
        inst["json_spec"]["env_vars"]["API_KEY"],
        "secret_ref:everything-key"
    );

    // Table output lists it with the status symbol; created and never
    // started, it is stopped (JSON keeps the platform's "pending").
    env.run(&["instances", "list"], "")
        .success()
        .stdout(predicate::str::contains("NAME").and(predicate::str::contains("○ stopped")));

    // apply a change at version 1.
    let doc = json!({"name": "everything", "description": "changed", "server_spec_id": null, "json_spec": serde_json::from_str::<Value>(SPEC).unwrap()});
    let path = env.file("doc.json", &doc.to_string());
    env.run(
        &["instances", "apply", "-f", &path, "--expect-version", "1"],
        "",
    )
    .success()
    .stderr(predicate::str::contains("updated to version 2"));
    assert_eq!(env.get_json("everything")["description"], "changed");

    // A stale version is a conflict (5) and changes nothing.
    let doc2 =
        json!({"name": "everything", "description": "stale", "json_spec": {"command": "other"}});
    let path2 = env.file("doc2.json", &doc2.to_string());
    env.run(
        &["instances", "apply", "-f", &path2, "--expect-version", "1"],
        "",
    )
    .code(5)
    .stderr(
        predicate::str::contains("changed meanwhile")
            .and(predicate::str::contains("you had version 1")),
    );
    assert_eq!(env.get_json("everything")["description"], "changed");

    // apply with a new name creates.
    let doc3 = json!({"name": "fresh", "json_spec": {"endpoint_url": "http://127.0.0.1:9/mcp"}});
    env.run(&["instances", "apply", "-f", "-"], &doc3.to_string())
        .success()
        .stderr(predicate::str::contains("created"));
    assert_eq!(env.get_json("fresh")["kind"], "external");

    // start with no runtime host says so.
    env.run(&["instances", "start", "fresh"], "")
        .success()
        .stdout(predicate::str::contains("no runtime host is up"));
    assert_eq!(env.get_json("fresh")["desired_state"], "running");

    // delete needs --yes without a terminal.
    env.run(&["instances", "delete", "fresh"], "")
        .code(2)
        .stderr(predicate::str::contains("without --yes"));
    env.run(&["instances", "delete", "fresh", "--yes"], "")
        .success();
    env.run(&["instances", "get", "fresh"], "").code(4);

    // The event log kept everything, in order.
    let ev = env.run(&["events", "-o", "jsonl"], "").success();
    let types: Vec<String> = String::from_utf8_lossy(&ev.get_output().stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event_type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        [
            "MCPServerInstanceCreated",
            "MCPServerInstanceUpdated",
            "MCPServerInstanceCreated",
            "MCPServerInstanceStarted",
            "MCPServerInstanceDeleted"
        ]
    );
}

#[test]
fn every_exit_code_and_bad_input_is_one_sentence() {
    let env = Env::new();
    // 0
    env.run(
        &["instances", "create", "web", "--spec", "-"],
        r#"{"endpoint_url": "http://127.0.0.1:1/mcp"}"#,
    )
    .code(0);
    // 2: usage
    env.run(&["instances", "frobnicate"], "").code(2);
    env.run(
        &["instances", "create", "x", "--spec", "/does/not/exist"],
        "",
    )
    .code(2)
    .stderr(predicate::str::contains(
        "cannot read the json_spec from /does/not/exist",
    ));
    // 3: malformed JSON, with line and column
    env.run(
        &["instances", "create", "bad", "--spec", "-"],
        "{\n  \"command\": [\"x\",]\n}",
    )
    .code(3)
    .stderr(predicate::str::contains("is not valid JSON: line 2 column"));
    // 3: an array
    env.run(&["instances", "create", "arr", "--spec", "-"], "[1, 2]")
        .code(3)
        .stderr(predicate::str::contains(
            "must be a JSON object, not an array",
        ));
    // 3: 10 MB
    let big = format!(
        "{{\"command\": \"x\", \"blob\": \"{}\"}}",
        "a".repeat(10 * 1024 * 1024)
    );
    env.run(&["instances", "create", "big", "--spec", "-"], &big)
        .code(3)
        .stderr(predicate::str::contains("the limit is 1024 KiB"));
    // 3: hostile name
    env.run(
        &["instances", "create", ";rm -rf", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .code(3)
    .stderr(predicate::str::contains(
        "lowercase letters, digits and '-'",
    ));
    // 4: unknown instance
    env.run(&["instances", "get", "ghost"], "")
        .code(4)
        .stderr(predicate::str::diff(
            "aacon: no instance named or with id 'ghost'\n",
        ));
    // 5: duplicate name
    env.run(
        &["instances", "create", "web", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .code(5)
    .stderr(predicate::str::contains("already exists"));
    // 1: runtime error (a data dir that cannot be created)
    let blocker = env.file("blocker", "a file, not a dir");
    plain(&env)
        .env("AACON_DATA_DIR", format!("{blocker}/data"))
        .args(["instances", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot create the data dir"));
    // None of the failures changed anything.
    let list = env.run(&["instances", "list", "-o", "json"], "").success();
    let list: Value = serde_json::from_slice(&list.get_output().stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Errors are one line unless --debug.
    let out = env.run(&["instances", "get", "ghost"], "").code(4);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .lines()
            .count(),
        1
    );
}

#[test]
fn plain_secrets_are_flagged_and_redacted_and_apply_keeps_them() {
    let env = Env::new();
    let spec = r#"{"endpoint_url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer canary-6f1e"}}"#;
    env.run(&["instances", "create", "web", "--spec", "-"], spec)
        .success()
        .stderr(
            predicate::str::contains("/headers/Authorization")
                .and(predicate::str::contains("secret_ref:NAME")),
        )
        .stdout(predicate::str::contains("canary-6f1e").not());
    let got = env.get_json("web");
    assert_eq!(got["json_spec"]["headers"]["Authorization"], "<redacted>");
    // get → edit → apply keeps the stored value.
    let doc = json!({"name": "web", "description": "x", "json_spec": got["json_spec"]});
    env.run(&["instances", "apply", "-f", "-"], &doc.to_string())
        .success();
    let db = env.dir.path().join("data").join("aacon.db");
    let conn = rusqlite::Connection::open(db).unwrap();
    let stored: String = conn
        .query_row(
            "SELECT json_spec FROM instances WHERE name='web'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored.contains("Bearer canary-6f1e"), "{stored}");
    // The event log never holds the plain value.
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM events WHERE envelope LIKE '%canary-6f1e%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn events_follow_jsonl_streams_commits_from_other_processes() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("aacon");
    let mut follower = std::process::Command::new(&bin)
        .args(["events", "--follow", "-o", "jsonl"])
        .env("AACON_DATA_DIR", env.dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = crate::support::procs::lines_of(&mut follower);
    // Give the follower time to open the store, then commit from another process.
    std::thread::sleep(Duration::from_millis(500));
    for name in ["one", "two"] {
        env.run(
            &["instances", "create", name, "--spec", "-"],
            r#"{"command": "x"}"#,
        )
        .success();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut names = Vec::new();
    while names.len() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["event_type"], "MCPServerInstanceCreated");
            names.push(v["data"]["name"].as_str().unwrap().to_string());
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(names, ["one", "two"]);
}

#[test]
fn events_filters_by_instance_and_since() {
    let env = Env::new();
    env.run(
        &["instances", "create", "a", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .success();
    env.run(
        &["instances", "create", "b", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .success();
    env.run(&["instances", "start", "b"], "").success();
    let out = env
        .run(&["events", "--instance", "b", "-o", "jsonl"], "")
        .success();
    let lines = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .count();
    assert_eq!(lines, 2);
    env.run(&["events", "--since", "1h", "-o", "jsonl"], "")
        .success()
        .stdout(predicate::str::contains("\"a\""));
    env.run(&["events", "--since", "soon"], "")
        .code(2)
        .stderr(predicate::str::contains("like 30s"));
    env.run(&["events", "--instance", "ghost"], "").code(4);
}

#[test]
fn completions_are_valid_bash_and_complete_instance_names_live() {
    let env = Env::new();
    env.run(
        &["instances", "create", "alpha", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .success();
    env.run(
        &["instances", "create", "beta", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .success();
    let out = env.run(&["completions", "bash"], "").success();
    let script = env.file(
        "aacon.bash",
        &String::from_utf8_lossy(&out.get_output().stdout),
    );
    let check = std::process::Command::new("bash")
        .args(["-n", &script])
        .status()
        .unwrap();
    assert!(check.success(), "bash -n rejects the completion script");
    // Drive the completion function as bash would, with the real binary on PATH.
    let bin_dir = assert_cmd::cargo::cargo_bin("aacon")
        .parent()
        .unwrap()
        .to_path_buf();
    let probe = format!(
        "source {script}; COMP_WORDS=(aacon instances start a); COMP_CWORD=3; COMP_LINE='aacon instances start a'; COMP_POINT=${{#COMP_LINE}}; _clap_complete_aacon aacon a instances; echo \"${{COMPREPLY[@]}}\""
    );
    let got = std::process::Command::new("bash")
        .args(["-c", &probe])
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("AACON_DATA_DIR", env.dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "alpha");
    for shell in ["zsh", "fish"] {
        env.run(&["completions", shell], "")
            .success()
            .stdout(predicate::str::contains("aacon"));
    }
    env.run(&["completions", "tcsh"], "").code(2);
}

#[test]
fn man_page_and_log_file() {
    let env = Env::new();
    env.run(&["man"], "")
        .success()
        .stdout(predicate::str::starts_with(".ie").and(predicate::str::contains(".SH NAME")));
    env.run(
        &["instances", "create", "alpha", "--spec", "-"],
        r#"{"command": "x"}"#,
    )
    .success();
    let out = env.run(&["logs", "path"], "").success();
    let path = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_string();
    assert!(
        path.starts_with(
            &env.dir
                .path()
                .join("data")
                .join("logs")
                .to_string_lossy()
                .into_owned()
        ),
        "{path}"
    );
    env.run(&["logs", "tail", "-n", "5"], "")
        .success()
        .stdout(predicate::str::contains("instance=alpha"));
}

#[test]
fn a_redis_password_on_the_command_line_is_refused() {
    let env = Env::new();
    let out = env
        .run(
            &[
                "--redis",
                "redis://:hunter2-canary@127.0.0.1:1/0",
                "instances",
                "list",
            ],
            "",
        )
        .code(2)
        .stderr(predicate::str::contains("set AACON_REDIS_URL"));
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("hunter2-canary"));
}
