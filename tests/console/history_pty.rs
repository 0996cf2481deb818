//! The History tab on the real `aacon` binary in a pseudo-terminal: calls
//! made from a shell show as the CLI's; enter shows one in full; the
//! re-run key sends a read-only tool's call again at once and asks first
//! for a destructive one, naming the tool and the instance.

use std::time::{Duration, Instant};

use crate::support::{self, FIXTURE};

use support::cli::{create, dirs, ok};
use support::pty::Console;

const WIPE: &str = "wipe_everything_in_the_named_directory";
const DOWN: &[u8] = b"\x1b[B";

fn wait_count(con: &Console, what: &str, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = con.screen();
        if s.matches(what).count() >= n {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} × {what:?} on screen:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn history_shows_calls_and_re_runs_one_asking_first_for_a_destructive_tool() {
    let (_tmp, data, config) = dirs();
    let spec = serde_json::json!({"command": [FIXTURE, "--more-tools"]}).to_string();
    create(&data, &config, "fx", &spec);
    ok(
        &data,
        &config,
        &[
            "tools",
            "call",
            "fx",
            "echo",
            "--args",
            r#"{"message":"from the shell"}"#,
        ],
        "",
    );
    ok(
        &data,
        &config,
        &[
            "tools",
            "call",
            "fx",
            WIPE,
            "--args",
            r#"{"dir":"/tmp/nothing"}"#,
        ],
        "",
    );
    // Running, so the console knows the tools' annotations.
    ok(&data, &config, &["instances", "start", "fx"], "");
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("running", Duration::from_secs(30));
    con.send(b"\r");
    con.wait_for("Overview", Duration::from_secs(10));
    for _ in 0..7 {
        con.send(b"\t");
    }
    let s = con.wait_for("re-runs it", Duration::from_secs(10));
    assert!(s.contains("History"), "{s}");
    let s = wait_count(&con, "CLI pid", 2);
    assert!(s.contains("tool echo"), "{s}");

    // Enter: the newest call (the wipe) in full, in the pager.
    con.send(b"\r");
    let s = con.wait_for("arguments:", Duration::from_secs(10));
    assert!(s.contains("/tmp/nothing") && s.contains("who"), "{s}");
    con.send(b"\x1b");

    // A destructive tool asks first, naming the tool and the instance.
    con.send(b"a");
    let s = con.wait_for("Re-run tool", Duration::from_secs(10));
    assert!(s.contains("instance fx again"), "{s}");
    assert!(s.contains("marks this tool destructive"), "{s}");
    con.send(b"y");
    wait_count(&con, "console pid", 1);

    // A read-only one runs at once: the echo is the last row.
    for _ in 0..3 {
        con.send(DOWN);
    }
    con.send(b"a");
    let s = wait_count(&con, "console pid", 2);
    assert!(
        !s.contains("Re-run tool"),
        "no question for a read-only tool: {s}"
    );
    let out = ok(
        &data,
        &config,
        &["tools", "history", "fx", "-o", "json"],
        "",
    );
    let calls: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_console: Vec<&str> = calls
        .iter()
        .filter(|c| c["caller"]["via"] == "console")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(by_console, ["echo", WIPE], "{calls:?}");
    assert_eq!(
        calls[0]["arguments"],
        serde_json::json!({"message": "from the shell"})
    );
}
