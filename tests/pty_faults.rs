//! Terminal and session faults (issue 8, item 4) on the real `aacon` binary
//! in a pseudo-terminal: the SSH drop (SIGHUP) and SIGTERM while the editor
//! holds unsaved text and a stdio MCP server runs under the console; a
//! forced panic; a 1x1 terminal; a terminal name that is not UTF-8.

use portable_pty::PtySize;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

mod support;

use support::cli::{cli, dirs, ok};
use support::procs::{cmdline, descendants};
use support::pty::{COLS, Console, ROWS};

const FIXTURE: &str = env!("CARGO_BIN_EXE_mcp-fixture");
const AACON: &str = env!("CARGO_BIN_EXE_aacon");

fn ends_restored(raw: &[u8]) {
    let text = String::from_utf8_lossy(raw).to_string();
    let left = text
        .rfind("\x1b[?1049l")
        .expect("the alternate screen was left");
    assert!(
        text.rfind("\x1b[?1049h")
            .is_none_or(|entered| entered < left),
        "re-entered the alternate screen after leaving it"
    );
    assert!(
        text[left.saturating_sub(64)..].contains("\x1b[?25h"),
        "the cursor was shown again"
    );
}

/// Alive: exists and is not a zombie (kill(pid, 0) says yes to zombies).
fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid as i32, 0) } == 0;
    exists
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.split_whitespace().next() != Some("Z"))
            })
            .unwrap_or(false)
}

/// A console hosting a running stdio MCP server (the fixture, with a
/// `sleep 300` grandchild), `env` set on top of the usual variables.
/// Returns the console, its pid and the pids of its MCP processes.
fn console_with_a_server(
    data: &Path,
    config: &Path,
    env: &[(&str, &OsStr)],
) -> (Console, u32, Vec<u32>) {
    let spec = serde_json::json!({"command": [FIXTURE, "--child"]}).to_string();
    ok(
        data,
        config,
        &["instances", "create", "live", "--spec", "-"],
        &spec,
    );
    ok(data, config, &["instances", "start", "live"], "");
    let con = Console::spawn_with_env(data, config, &[], env);
    con.wait_for("running", Duration::from_secs(30));
    let pid = con.child.process_id().unwrap();
    let start = Instant::now();
    let mcp = loop {
        let d = descendants(pid);
        if d.iter().any(|p| cmdline(*p).starts_with("sleep 300")) {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no MCP child under the console: {:?}",
            d.iter().map(|p| cmdline(*p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        mcp.iter().any(|p| cmdline(*p).starts_with(FIXTURE)),
        "{:?}",
        mcp.iter().map(|p| cmdline(*p)).collect::<Vec<_>>()
    );
    (con, pid, mcp)
}

/// The processes among `pids` still alive, by command line.
fn still_alive(pids: &[u32]) -> Vec<String> {
    pids.iter()
        .filter(|p| alive(**p))
        .map(|p| cmdline(*p))
        .collect()
}

/// [`console_with_a_server`] with the editor open on the instance holding
/// unsaved text.
fn dirty_console_with_a_server(data: &Path, config: &Path) -> (Console, u32, Vec<u32>) {
    let (mut con, pid, mcp) = console_with_a_server(data, config, &[]);
    con.send(b"e");
    con.wait_for("edit live", Duration::from_secs(10));
    con.send(b"\x1b[F\r");
    con.send(br#""cwd": "/tmp/unsaved-at-the-drop","#);
    con.wait_for("unsaved-at-the-drop", Duration::from_secs(5));
    (con, pid, mcp)
}

/// Send `sig`; the console must save the draft, stop its MCP processes and
/// exit (within the bound `wait_exit` enforces; the time taken is printed).
fn signal_drill(sig: i32) {
    let (_tmp, data, config) = dirs();
    let (mut con, pid, mcp) = dirty_console_with_a_server(&data, &config);
    let start = Instant::now();
    // SAFETY: plain kill(2) on the child we spawned.
    unsafe {
        libc::kill(pid as i32, sig);
    }
    // Generous bound against a loaded machine; the time is printed.
    con.wait_exit(Duration::from_secs(15));
    let took = start.elapsed();
    println!("signal {sig}: the console exited in {took:?}");
    let left = still_alive(&mcp);
    assert!(left.is_empty(), "orphaned MCP processes: {left:?}");
    // The draft is on disk with the unsaved text.
    let drafts: Vec<String> = std::fs::read_dir(data.join("drafts"))
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert!(drafts[0].contains("unsaved-at-the-drop"), "{}", drafts[0]);
    // The stored instance is unchanged: the edit was never saved.
    let out = cli(
        &data,
        &config,
        &["instances", "get", "live", "-o", "json"],
        "",
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(got["json_spec"].get("cwd").is_none(), "{got}");
}

#[test]
fn sighup_with_a_dirty_editor_and_a_running_server_saves_the_draft_and_leaves_no_orphans() {
    signal_drill(libc::SIGHUP);
}

#[test]
fn sigterm_with_a_dirty_editor_and_a_running_server_saves_the_draft_and_leaves_no_orphans() {
    signal_drill(libc::SIGTERM);
}

#[test]
fn a_forced_panic_restores_the_terminal_logs_the_report_and_kills_the_servers() {
    let (tmp, data, config) = dirs();
    // The trigger waits for this file.
    let trigger = tmp.path().join("panic-now");
    let (mut con, _, mcp) = console_with_a_server(
        &data,
        &config,
        &[("AACON_DEBUG_PANIC", trigger.as_os_str())],
    );
    std::fs::write(&trigger, "").unwrap();
    // A key makes a frame; the frame panics.
    con.send(b"?");
    let st = con.wait_exit(Duration::from_secs(20));
    assert!(!st.success(), "{st:?}");
    let left = still_alive(&mcp);
    assert!(left.is_empty(), "orphaned MCP processes: {left:?}");
    let raw = con.raw_text();
    ends_restored(&raw);
    let text = String::from_utf8_lossy(&raw);
    // The hook leaves the screen first (the guard leaves it again while
    // unwinding, harmlessly).
    let left = text.find("\x1b[?1049l").unwrap();
    let report = text
        .find("deliberate panic (AACON_DEBUG_PANIC)")
        .expect("the report is printed");
    assert!(left < report, "the terminal is restored before the report");
    // The report is in the data dir's log file, with a timestamp.
    let logs: String = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("aacon.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let line = logs
        .lines()
        .find(|l| l.contains("the console panicked"))
        .unwrap_or_else(|| panic!("no panic report in the log:\n{logs}"));
    assert!(line.contains("ERROR"), "{line}");
    let stamp = line.split_whitespace().next().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "the line starts with a timestamp: {line}"
    );
    assert!(
        logs.contains("deliberate panic (AACON_DEBUG_PANIC)"),
        "{logs}"
    );
}

#[test]
fn a_one_by_one_terminal_and_back_redraws_the_screen() {
    let (_tmp, data, config) = dirs();
    let mut con = Console::spawn_with_env(&data, &config, &[], &[]);
    con.wait_for("instances (0)", Duration::from_secs(20));
    let resize = |con: &Console, cols, rows| {
        con.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    };
    resize(&con, 1, 1);
    // Let it draw at 1x1 (keys pressed meanwhile must not matter either).
    std::thread::sleep(Duration::from_millis(500));
    con.send(b"?");
    con.send(b"\x1b");
    assert!(
        con.child.try_wait().unwrap().is_none(),
        "the console died at 1x1"
    );
    con.raw.lock().unwrap().clear();
    resize(&con, COLS, ROWS);
    // A full frame comes back after the resize.
    let s = con.wait_for("No instances yet", Duration::from_secs(10));
    assert!(s.contains("instances (0)"), "{s}");
    con.send(b"q");
    assert!(con.wait_exit(Duration::from_secs(10)).success());
    ends_restored(&con.raw_text());
}

/// TERM with bytes that are not UTF-8.
fn bad_term() -> &'static OsStr {
    OsStr::from_bytes(b"xterm-\xff\xfe-256color")
}

#[test]
fn a_terminal_name_that_is_not_utf8_still_opens_the_console() {
    let (_tmp, data, config) = dirs();
    let mut con = Console::spawn_with_env(&data, &config, &[], &[("TERM", bad_term())]);
    con.wait_for("instances (0)", Duration::from_secs(20));
    con.send(b"q");
    let st = con.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    ends_restored(&con.raw_text());
}

#[test]
fn doctor_names_a_terminal_name_that_is_not_utf8() {
    let (_tmp, data, config) = dirs();
    let out = std::process::Command::new(AACON)
        .args(["doctor", "-o", "json"])
        .env("AACON_DATA_DIR", &data)
        .env("AACON_CONFIG_DIR", &config)
        .env("TERM", bad_term())
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let checks: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let term = checks
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == "terminal"))
        .unwrap_or_else(|| panic!("no terminal check: {text}"));
    assert_eq!(
        term["detail"],
        "TERM=xterm-\u{fffd}\u{fffd}-256color (not UTF-8), 256 colours, UTF-8 (LC_ALL=C.UTF-8), not a terminal"
    );
}
