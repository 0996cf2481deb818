//! The Resources and Prompts tabs on the real `aacon` binary in a
//! pseudo-terminal, against `@modelcontextprotocol/server-everything`
//! (installed by scripts/test.d/mcp-servers.sh): the Overview shows the
//! server's identity and pings it, a resource is read and paged and
//! searched, a prompt is got with arguments from its form.

use std::path::Path;
use std::time::Duration;

use crate::support;

use support::cli::{dirs, ok};
use support::pty::Console;

const DOWN: &[u8] = b"\x1b[B";
const PGDN: &[u8] = b"\x1b[6~";
const CTRL_S: &[u8] = b"\x13";

/// A console showing server-everything running, and the position of the
/// entry whose `field` is `want` in the CLI's JSON answer to `list`.
fn running(
    list: &[&str],
    key: &str,
    field: &str,
    want: &str,
) -> (tempfile::TempDir, Console, usize) {
    let (tmp, data, config) = dirs();
    let spec = support::everything::stdio_spec().to_string();
    ok(
        &data,
        &config,
        &["instances", "create", "everything", "--spec", "-"],
        &spec,
    );
    let pos = position(&data, &config, list, key, field, want);
    ok(&data, &config, &["instances", "start", "everything"], "");
    let con = Console::spawn(&data, &config, &[]);
    con.wait_for("running", Duration::from_secs(30));
    (tmp, con, pos)
}

/// Where `want` stands in `aacon -o json LIST everything` (a one-shot
/// session: nothing hosts the instance yet).
fn position(
    data: &Path,
    config: &Path,
    list: &[&str],
    key: &str,
    field: &str,
    want: &str,
) -> usize {
    let mut args = vec!["-o", "json"];
    args.extend_from_slice(list);
    args.push("everything");
    let out = ok(data, config, &args, "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e[field].as_str().is_some_and(|s| s.ends_with(want)))
        .unwrap_or_else(|| panic!("{want} is not in {v}"))
}

/// End the console with SIGTERM (it stops its servers) and wait for it.
pub(crate) fn end(mut con: Console) {
    // SAFETY: plain kill(2) on the child this test spawned.
    unsafe {
        libc::kill(con.child.process_id().unwrap() as i32, libc::SIGTERM);
    }
    con.wait_exit(Duration::from_secs(15));
}

#[test]
fn the_overview_pings_and_a_resource_is_read_paged_and_searched() {
    let (_tmp, mut con, pos) = running(&["resources", "list"], "resources", "uri", "/features.md");
    con.send(b"\r");
    // The identity, from the initialize result, on the Overview.
    con.wait_for("server · p pings", Duration::from_secs(10));
    let s = con.wait_for("capabilities", Duration::from_secs(10));
    assert!(s.contains("protocol"), "{s}");
    assert!(s.contains("resources (subscribe"), "{s}");
    con.send(b"p");
    con.wait_for(" ms at ", Duration::from_secs(10));

    // Resources, beside Tools and Logs.
    con.send(b"\t\t\t\t\t");
    con.wait_for("features.md", Duration::from_secs(15));
    for _ in 0..pos {
        con.send(DOWN);
    }
    con.send(b"\r");
    let s = con.wait_for("Everything Server - Features", Duration::from_secs(15));
    assert!(s.contains("lines 1-"), "{s}");
    // Paged: the first line scrolls away.
    con.send(PGDN);
    let start = std::time::Instant::now();
    let s = loop {
        let s = con.screen();
        if !s.contains("lines 1-") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no page down:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!s.contains("Everything Server - Features"), "{s}");
    // Searched: `/` finds a line near the end and scrolls to it.
    con.send(b"/");
    con.send(b"tasks/result");
    con.send(b"\r");
    let s = con.wait_for("'tasks/result' 2 lines", Duration::from_secs(5));
    assert!(s.contains("client calls `tasks/result`"), "{s}");
    // n: the next hit.
    con.send(b"n");
    con.wait_for("server calls `tasks/result`", Duration::from_secs(5));
    end(con);
}

#[test]
fn a_prompt_is_got_with_arguments_from_its_form() {
    let (_tmp, mut con, pos) = running(&["prompts", "list"], "prompts", "name", "args-prompt");
    con.send(b"\r");
    con.wait_for("Overview", Duration::from_secs(10));
    con.send(b"\t\t\t\t\t\t");
    con.wait_for("args-prompt  (city*, state)", Duration::from_secs(15));
    for _ in 0..pos {
        con.send(DOWN);
    }
    con.send(b"\r");
    con.wait_for("ctrl-s get", Duration::from_secs(5));
    // The required city missing: one sentence, nothing sent.
    con.send(CTRL_S);
    con.wait_for(
        "needs an argument: city; nothing was",
        Duration::from_secs(5),
    );
    con.send(b"Lisbon");
    con.send(DOWN);
    con.send(b"Tejo");
    con.send(CTRL_S);
    let s = con.wait_for(
        "user: What's weather in Lisbon, Tejo?",
        Duration::from_secs(15),
    );
    assert!(s.contains("prompt args-prompt"), "{s}");
    end(con);
}
