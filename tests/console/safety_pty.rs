//! No surprises from the console (issue 14) on the real `aacon` binary in a
//! pseudo-terminal: a stdio server's environment is the spec's plus a small
//! allowlist, never the operator's; a tool is called only from the open
//! argument editor, and a tool not marked read-only asks first.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use crate::support;

use support::cli::{dirs, ok};
use support::procs::{cmdline, descendants};
use support::pty::Console;

use crate::support::FIXTURE;

/// The pid of the fixture server running under `root`.
fn fixture_under(root: u32) -> u32 {
    let start = Instant::now();
    loop {
        if let Some(p) = descendants(root)
            .into_iter()
            .find(|p| cmdline(*p).starts_with(FIXTURE))
        {
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no MCP server under the console"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `NAME=value` entries of a process's environment.
fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap()
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).to_string())
        .collect()
}

/// A console (with `env` on top of the usual variables) showing instance
/// `name` of `spec`, created and started from the CLI, running.
fn running(
    name: &str,
    spec: serde_json::Value,
    env: &[(&str, &OsStr)],
) -> (tempfile::TempDir, Console) {
    let (tmp, data, config) = dirs();
    let spec = spec.to_string();
    ok(
        &data,
        &config,
        &["instances", "create", name, "--spec", "-"],
        &spec,
    );
    ok(&data, &config, &["instances", "start", name], "");
    let con = Console::spawn_with_env(&data, &config, &[], env);
    con.wait_for("running", Duration::from_secs(30));
    (tmp, con)
}

#[test]
fn a_stdio_server_gets_the_allowlist_and_its_spec_env_only() {
    let canary = "canary-7f3e1c0d";
    let (_tmp, con) = running(
        "envy",
        serde_json::json!({"command": [FIXTURE], "env": {"SPEC_VAR": "from-the-spec"}}),
        &[
            ("AACON_CANARY_SECRET", OsStr::new(canary)),
            ("AWS_SECRET_ACCESS_KEY", OsStr::new(canary)),
            ("LC_TIME", OsStr::new("C.UTF-8")),
        ],
    );
    let pid = fixture_under(con.child.process_id().unwrap());
    let env = environ(pid);
    let names: Vec<&str> = env.iter().filter_map(|e| e.split('=').next()).collect();
    assert!(
        !env.iter().any(|e| e.contains(canary)),
        "the console's variables leaked into the server: {names:?}"
    );
    for gone in ["AACON_DATA_DIR", "AACON_CONFIG_DIR", "TERM"] {
        assert!(
            !names.contains(&gone),
            "{gone} reached the server: {names:?}"
        );
    }
    assert!(env.contains(&"LC_TIME=C.UTF-8".to_string()), "{names:?}");
    assert!(names.contains(&"PATH"), "{names:?}");
    assert!(
        env.contains(&"SPEC_VAR=from-the-spec".to_string()),
        "{names:?}"
    );
    end(con);
}

/// End the console with SIGTERM (it stops its servers) and wait for it.
fn end(mut con: Console) {
    // SAFETY: plain kill(2) on the child this test spawned.
    unsafe {
        libc::kill(con.child.process_id().unwrap() as i32, libc::SIGTERM);
    }
    con.wait_exit(Duration::from_secs(15));
}

#[test]
fn the_tools_tab_calls_only_from_the_editor_and_asks_before_a_destructive_tool() {
    let (_tmp, mut con) = running(
        "tooly",
        serde_json::json!({"command": [FIXTURE, "--more-tools"]}),
        &[],
    );
    con.send(b"\r");
    con.wait_for("Overview", Duration::from_secs(10));
    con.send(b"\t\t\t");
    // The whole name, not its first 15 columns.
    con.wait_for(
        "wipe_everything_in_the_named_directory",
        Duration::from_secs(20),
    );
    // echo, add, pid, fail, then the destructive one.
    for _ in 0..4 {
        con.send(b"\x1b[B");
    }
    con.wait_for("Calls ask first", Duration::from_secs(5));
    // The editor is closed: ctrl-s dumps the tools, as everywhere; no call.
    con.send(b"\x13");
    let s = con.wait_for("as CSV", Duration::from_secs(10));
    assert!(!s.contains("wiped"), "{s}");
    // Open the editor, write the directory between the quotes, call.
    con.send(b"\r");
    con.wait_for("ctrl-s call", Duration::from_secs(5));
    con.send(b"\x1b[B\x1b[F\x1b[D");
    con.send(b"/srv/data");
    con.send(b"\x13");
    let s = con.wait_for(
        "Call tool wipe_everything_in_the_named_directory?",
        Duration::from_secs(5),
    );
    assert!(s.contains(r#""dir": "/srv/data""#), "{s}");
    assert!(s.contains("marks this tool destructive"), "{s}");
    // No: nothing is called.
    con.send(b"n");
    std::thread::sleep(Duration::from_millis(500));
    let s = con.screen();
    assert!(!s.contains("Call tool wipe"), "{s}");
    assert!(!s.contains("wiped /srv/data"), "{s}");
    // Yes: exactly that call.
    con.send(b"\x13");
    con.wait_for("Call tool wipe", Duration::from_secs(5));
    con.send(b"y");
    con.wait_for("wiped /srv/data", Duration::from_secs(20));
    // A read-only tool answers at once; what is not text says what it is.
    con.send(b"\x1b");
    con.send(b"\x1b[B");
    con.wait_for("Answers with an image", Duration::from_secs(5));
    con.send(b"\r");
    con.send(b"\x13");
    let s = con.wait_for("[image image/png, 16 B]", Duration::from_secs(20));
    assert!(s.contains("[audio audio/wav, 12 B]"), "{s}");
    assert!(s.contains("[resource file:///notes.txt"), "{s}");
    assert!(!s.contains("Call tool"), "{s}");
    end(con);
}

#[test]
fn a_console_against_serve_shows_the_last_probe_in_health() {
    let (_tmp, data, config) = dirs();
    std::fs::write(
        config.join("config.toml"),
        "[runtime]\nhealth_interval_secs = 1\n",
    )
    .unwrap();
    let serve = support::serve::Serve::start(&data, &config, &[]);
    let cli_data = data.with_file_name("cli-data");
    let spec = serde_json::json!({"command": [FIXTURE]}).to_string();
    let url = serve.url.as_str();
    let api = ["--api", url];
    ok(
        &cli_data,
        &config,
        &["--api", url, "instances", "create", "probed", "--spec", "-"],
        &spec,
    );
    ok(
        &cli_data,
        &config,
        &["--api", url, "instances", "start", "probed"],
        "",
    );
    let mut con = Console::spawn_with_env(
        &cli_data,
        &config,
        &api,
        &[("AACON_API_POLL_MS", OsStr::new("200"))],
    );
    // The probe reaches the row over serve's API: result, age, latency.
    let start = Instant::now();
    let row = loop {
        let s = con.screen();
        if let Some(row) = s
            .lines()
            .find(|l| l.contains("probed") && l.contains("● running") && l.contains(" ok "))
        {
            break row.to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no probe in HEALTH: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(row.contains("ms"), "{row}");
    con.send(b"\r");
    con.wait_for("last probe", Duration::from_secs(10));
    let s = con.wait_for(", ok", Duration::from_secs(10));
    assert!(s.contains("last healthy"), "{s}");
    con.send(b"\x1b");
    con.send(b"q");
    con.wait_exit(Duration::from_secs(10));
}
