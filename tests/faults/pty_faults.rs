//! Terminal and session faults (issue 8, item 4) on the real `aacon` binary
//! in a pseudo-terminal: the SSH drop (SIGHUP) and SIGTERM while the editor
//! holds unsaved text and a stdio MCP server runs under the console; a
//! forced panic; a 1x1 terminal; a terminal name that is not UTF-8.

use portable_pty::PtySize;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support;

use support::cli::{cli, dirs, ok};
use support::procs::{alive, cmdline, descendants};
use support::pty::{COLS, Console, HangableConsole, ROWS};

use crate::support::FIXTURE;
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

/// A console hosting a running stdio MCP server (the fixture, with a
/// `sleep 300` grandchild), `env` set on top of the usual variables.
/// Returns the console, its pid and the pids of its MCP processes.
fn console_with_a_server(
    data: &Path,
    config: &Path,
    env: &[(&str, &OsStr)],
) -> (Console, u32, Vec<u32>) {
    running_instance(data, config);
    let con = Console::spawn_with_env(data, config, &[], env);
    con.wait_for("running", Duration::from_secs(30));
    let pid = con.child.process_id().unwrap();
    let mcp = mcp_under(pid);
    (con, pid, mcp)
}

/// Instance `live`: the fixture with a `sleep 300` child, desired running.
fn running_instance(data: &Path, config: &Path) {
    let spec = serde_json::json!({"command": [FIXTURE, "--child"]}).to_string();
    ok(
        data,
        config,
        &["instances", "create", "live", "--spec", "-"],
        &spec,
    );
    ok(data, config, &["instances", "start", "live"], "");
}

/// The MCP processes (the fixture and its `sleep 300`) under `pid`, once
/// they are there.
fn mcp_under(pid: u32) -> Vec<u32> {
    let mcp = poll(Duration::from_secs(30), || {
        let d = descendants(pid);
        if d.iter().any(|p| cmdline(*p).starts_with("sleep 300")) {
            return Ok(d);
        }
        Err(format!(
            "no MCP child under pid {pid}: {:?}",
            d.iter().map(|p| cmdline(*p)).collect::<Vec<_>>()
        ))
    });
    assert!(
        mcp.iter().any(|p| cmdline(*p).starts_with(FIXTURE)),
        "{:?}",
        mcp.iter().map(|p| cmdline(*p)).collect::<Vec<_>>()
    );
    mcp
}

/// Ask `f` every 50 ms until it answers; after `limit`, fail saying what
/// it last found missing.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(why) => assert!(start.elapsed() < limit, "{why}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
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

/// Send `sig`; the console must save the draft, end its MCP processes and
/// exit (within the bound `wait_exit` enforces; the time taken is printed).
/// SIGHUP (the operator asked for nothing to stop) detaches: a background
/// host runs the instance since; SIGTERM stops it.
fn signal_drill(sig: i32) {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
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
    if sig == libc::SIGHUP {
        let host = background_host(&data, &config);
        assert_ne!(host, pid);
        running_under(host, &data, &config);
    } else {
        let (doc, code) = host_status(&data, &config);
        assert_eq!(code, 4, "SIGTERM stops: no host is left; {doc}");
        assert_eq!(instance(&data, &config, "live")["status"], "stopped");
    }
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

// ---------- quitting, hangups and restarts (issue 14) ----------

/// Stops the data dir's background host when dropped, so a failing test
/// leaves no process behind.
struct HostGuard {
    data: PathBuf,
    config: PathBuf,
}

impl HostGuard {
    fn new(data: &Path, config: &Path) -> HostGuard {
        HostGuard {
            data: data.to_path_buf(),
            config: config.to_path_buf(),
        }
    }
}

impl Drop for HostGuard {
    fn drop(&mut self) {
        let _ = cli(&self.data, &self.config, &["host", "stop"], "");
    }
}

/// `aacon host status -o json`: the document and the exit code.
fn host_status(data: &Path, config: &Path) -> (serde_json::Value, i32) {
    let out = cli(data, config, &["host", "status", "-o", "json"], "");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (doc, out.status.code().unwrap_or(-1))
}

/// The pid of the background host, which must hold the runtime now.
fn background_host(data: &Path, config: &Path) -> u32 {
    let (doc, code) = host_status(data, config);
    assert_eq!(code, 0, "{doc}\nthe log:\n{}", log_text(data));
    assert_eq!(doc["host"]["role"], "host", "{doc}");
    assert_eq!(doc["host"]["background"], true, "{doc}");
    let pid = doc["host"]["pid"].as_u64().unwrap() as u32;
    assert!(alive(pid), "the background host {pid} is not running");
    // Its own session: it outlives the terminal.
    // SAFETY: getsid only reads the session id of a process.
    assert_eq!(unsafe { libc::getsid(pid as i32) }, pid as i32);
    pid
}

/// The data dir's log files, concatenated.
fn log_text(data: &Path) -> String {
    std::fs::read_dir(data.join("logs"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("aacon.log"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn instance(data: &Path, config: &Path, name: &str) -> serde_json::Value {
    let out = ok(data, config, &["instances", "get", name, "-o", "json"], "");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Wait until the fixture runs under `host` and the instance says running;
/// the MCP processes under it.
fn running_under(host: u32, data: &Path, config: &Path) -> Vec<u32> {
    let mcp = mcp_under(host);
    poll(Duration::from_secs(30), || {
        let got = instance(data, config, "live");
        match got["status"] == "running" {
            true => Ok(()),
            false => Err(format!("not running under the new host: {got}")),
        }
    });
    mcp
}

/// Wait until the screen no longer shows `what`.
fn wait_gone(con: &Console, what: &str) -> String {
    poll(Duration::from_secs(5), || {
        let s = con.screen();
        match s.contains(what) {
            false => Ok(s),
            true => Err(format!("'{what}' stayed:\n{s}")),
        }
    })
}

/// Quit with `q` and answer "stop them and quit".
fn stop_and_quit(con: &mut Console) {
    con.send(b"q");
    con.wait_for("Quit? 1 instance runs", Duration::from_secs(5));
    con.send(b"s");
    assert!(con.wait_exit(Duration::from_secs(30)).success());
}

/// Quit with `q` while the server runs: the prompt, naming the instance.
fn quit_prompt(con: &mut Console, pid: u32) {
    con.wait_for(
        &format!("runtime: this console, pid {pid}"),
        Duration::from_secs(10),
    );
    con.send(b"q");
    let s = con.wait_for(
        "Quit? 1 instance runs under this console",
        Duration::from_secs(5),
    );
    assert!(
        s.contains("its stdio server restarts under the new host"),
        "{s}"
    );
    assert!(s.contains("live"), "{s}");
}

#[test]
fn quit_and_detach_keeps_the_instance_running_under_a_background_host() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    let (mut con, pid, mcp) = console_with_a_server(&data, &config, &[]);
    quit_prompt(&mut con, pid);
    let start = Instant::now();
    con.send(b"d");
    assert!(con.wait_exit(Duration::from_secs(30)).success());
    println!("detach: the console exited in {:?}", start.elapsed());
    ends_restored(&con.raw_text());
    // Stdio servers cannot be handed over: the console's are gone ...
    let left = still_alive(&mcp);
    assert!(
        left.is_empty(),
        "the console's MCP processes live on: {left:?}"
    );
    // ... and the background host runs the instance (the process table).
    let host = background_host(&data, &config);
    assert_ne!(host, pid);
    let under = running_under(host, &data, &config);
    println!(
        "detach: running under the background host {:?} after the key",
        start.elapsed()
    );
    let fixture = under
        .iter()
        .copied()
        .find(|p| cmdline(*p).starts_with(FIXTURE))
        .unwrap();
    assert!(!mcp.contains(&fixture));
    // The text status says so too.
    let out = ok(&data, &config, &["host", "status"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("a background host (pid {host})")) && text.contains("1 running"),
        "{text}"
    );
    // A new console shows who hosts the runtime, and quits without asking.
    let mut second = Console::spawn(&data, &config, &[]);
    second.wait_for(
        &format!("runtime: background host, pid {host}"),
        Duration::from_secs(20),
    );
    second.send(b"q");
    assert!(second.wait_exit(Duration::from_secs(10)).success());
    assert!(
        alive(fixture),
        "a console that does not host stopped the server"
    );
    // `aacon host stop` stops it and its servers.
    let out = ok(&data, &config, &["host", "stop"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stopped the background host"),
        "{out:?}"
    );
    assert!(!alive(host));
    let left = still_alive(&under);
    assert!(left.is_empty(), "orphaned MCP processes: {left:?}");
    let got = instance(&data, &config, "live");
    assert_eq!(got["status"], "stopped", "{got}");
    assert_eq!(got["desired_state"], "running", "{got}");
    let (_, code) = host_status(&data, &config);
    assert_eq!(code, 4);
}

#[test]
fn quit_and_stop_stops_the_instance_and_leaves_no_host() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    let (mut con, pid, mcp) = console_with_a_server(&data, &config, &[]);
    quit_prompt(&mut con, pid);
    con.send(b"s");
    assert!(con.wait_exit(Duration::from_secs(30)).success());
    let left = still_alive(&mcp);
    assert!(left.is_empty(), "orphaned MCP processes: {left:?}");
    let (doc, code) = host_status(&data, &config);
    assert_eq!(code, 4, "{doc}");
    assert!(doc["host"].is_null(), "{doc}");
    let got = instance(&data, &config, "live");
    assert_eq!(got["status"], "stopped", "{got}");
}

#[test]
fn quit_and_cancel_keeps_the_console_and_the_server() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    let (mut con, pid, mcp) = console_with_a_server(&data, &config, &[]);
    quit_prompt(&mut con, pid);
    con.send(b"\x1b");
    wait_gone(&con, "Quit?");
    assert!(con.child.try_wait().unwrap().is_none(), "the console quit");
    let left = still_alive(&mcp);
    assert_eq!(left.len(), mcp.len(), "a server ended: {left:?}");
    // `:q` asks the same; `c` cancels too.
    con.send(b":q\r");
    con.wait_for("Quit? 1 instance runs", Duration::from_secs(5));
    con.send(b"c");
    wait_gone(&con, "Quit?");
    assert!(con.child.try_wait().unwrap().is_none(), "the console quit");
    stop_and_quit(&mut con);
}

#[test]
fn a_hangup_detaches_keeps_the_draft_and_logs_no_panic() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    running_instance(&data, &config);
    let mut con = HangableConsole::spawn(&data, &config);
    con.wait_for("running", Duration::from_secs(30));
    let pid = con.child.process_id().unwrap();
    let mcp = mcp_under(pid);
    con.send(b"e");
    con.wait_for("edit live", Duration::from_secs(10));
    con.send(b"\x1b[F\r");
    con.send(br#""cwd": "/tmp/unsaved-at-the-drop","#);
    con.wait_for("unsaved-at-the-drop", Duration::from_secs(5));
    // The SSH session drops: the terminal is gone, not just signalled.
    con.hang_up();
    con.wait_exit(Duration::from_secs(30));
    let left = still_alive(&mcp);
    assert!(
        left.is_empty(),
        "the console's MCP processes live on: {left:?}"
    );
    let host = background_host(&data, &config);
    running_under(host, &data, &config);
    // The draft is kept.
    let drafts: Vec<String> = std::fs::read_dir(data.join("drafts"))
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert!(drafts[0].contains("unsaved-at-the-drop"), "{}", drafts[0]);
    // Nothing panicked printing to the dead terminal.
    let logs: String = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("aacon.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(logs.contains("the terminal hung up"), "{logs}");
    assert!(
        logs.contains("the background host took the runtime over"),
        "{logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
}

/// The envelopes of instance `name`, oldest first.
fn events_of(data: &Path, config: &Path, name: &str) -> Vec<serde_json::Value> {
    let out = ok(
        data,
        config,
        &["events", "--instance", name, "--limit", "500", "-o", "json"],
        "",
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The fixture process under `pid`, once it is a different one than `old`.
fn new_fixture(pid: u32, old: u32) -> u32 {
    poll(Duration::from_secs(30), || {
        descendants(pid)
            .into_iter()
            .find(|p| *p != old && cmdline(*p).starts_with(FIXTURE))
            .ok_or_else(|| format!("no new server process under {pid}"))
    })
}

/// After the restart whose stop event is the last `Stopped` one: every
/// event of that restart (stop, start, the runtime's stopping, stopped,
/// starting, running reports) carries one correlation id.
fn restart_correlation(data: &Path, config: &Path) -> String {
    poll(Duration::from_secs(30), || {
        let events = events_of(data, config, "live");
        let stop = events
            .iter()
            .rposition(|e| e["event_type"] == "MCPServerInstanceStopped")
            .expect("a stop event");
        let corr = events[stop]["correlation_id"].as_str().unwrap().to_string();
        let after = &events[stop..];
        let with = |pred: &dyn Fn(&serde_json::Value) -> bool| {
            after
                .iter()
                .filter(|e| pred(e))
                .all(|e| e["correlation_id"] == corr.as_str())
                && after.iter().any(pred)
        };
        let started = with(&|e| e["event_type"] == "MCPServerInstanceStarted");
        let reported = ["stopping", "stopped", "starting", "running"]
            .iter()
            .all(|s| {
                with(&|e| {
                    e["event_type"] == "MCPServerInstanceStatusChanged" && e["data"]["status"] == *s
                })
            });
        match started && reported {
            true => Ok(corr),
            false => Err(format!(
                "the restart's events do not share one correlation id {corr}: {after:#?}"
            )),
        }
    })
}

#[test]
fn restart_changes_the_server_pid_under_one_correlation_id() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    let (mut con, pid, mcp) = console_with_a_server(&data, &config, &[]);
    let first = mcp
        .iter()
        .copied()
        .find(|p| cmdline(*p).starts_with(FIXTURE))
        .unwrap();
    // From the command line, while the console hosts the runtime.
    let out = ok(&data, &config, &["instances", "restart", "live"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("restart requested for 'live'"),
        "{out:?}"
    );
    let second = new_fixture(pid, first);
    assert!(!alive(first), "the old server still runs");
    let corr = restart_correlation(&data, &config);
    // From the console: R, then yes.
    con.send(b"R");
    con.wait_for("Restart instance live?", Duration::from_secs(5));
    con.send(b"y");
    let third = new_fixture(pid, second);
    assert_ne!(third, first);
    let corr2 = restart_correlation(&data, &config);
    assert_ne!(corr, corr2, "each restart is its own operation");
    assert_eq!(instance(&data, &config, "live")["status"], "running");
    stop_and_quit(&mut con);
}

#[test]
fn a_hangup_with_nothing_running_starts_no_background_host() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    let mut con = HangableConsole::spawn(&data, &config);
    con.wait_for("instances (0)", Duration::from_secs(20));
    con.hang_up();
    con.wait_exit(Duration::from_secs(20));
    let (doc, code) = host_status(&data, &config);
    assert_eq!(code, 4, "{doc}");
}

#[test]
fn a_hangup_stops_the_instances_when_the_config_says_stop() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    std::fs::write(config.join("config.toml"), "[ui]\non_hangup = \"stop\"\n").unwrap();
    running_instance(&data, &config);
    let mut con = HangableConsole::spawn(&data, &config);
    con.wait_for("running", Duration::from_secs(30));
    let mcp = mcp_under(con.child.process_id().unwrap());
    con.hang_up();
    con.wait_exit(Duration::from_secs(30));
    let left = still_alive(&mcp);
    assert!(left.is_empty(), "orphaned MCP processes: {left:?}");
    let (doc, code) = host_status(&data, &config);
    assert_eq!(code, 4, "{doc}");
    assert_eq!(instance(&data, &config, "live")["status"], "stopped");
}

#[test]
fn host_start_runs_the_instances_without_a_console_and_is_one_at_a_time() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    running_instance(&data, &config);
    let out = ok(&data, &config, &["host", "start"], "");
    let host = background_host(&data, &config);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("started a background host (pid {host})")),
        "{out:?}"
    );
    let mcp = running_under(host, &data, &config);
    // A second one is refused, naming the first; nothing changes.
    let again = cli(&data, &config, &["host", "start"], "");
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        format!(
            "aacon: the runtime is already hosted by host pid {host}; no background host started\n"
        )
    );
    assert_eq!(background_host(&data, &config), host);
    ok(&data, &config, &["host", "stop"], "");
    let left = still_alive(&mcp);
    assert!(left.is_empty(), "orphaned MCP processes: {left:?}");
    // Nothing to stop now: one sentence, exit 4.
    let none = cli(&data, &config, &["host", "stop"], "");
    assert_eq!(none.status.code(), Some(4));
    assert_eq!(
        String::from_utf8_lossy(&none.stderr),
        "aacon: no background host is running (nothing hosts the runtime)\n"
    );
}

#[test]
fn host_stop_does_not_stop_a_console() {
    let (_tmp, data, config) = dirs();
    let _host = HostGuard::new(&data, &config);
    let (mut con, pid, mcp) = console_with_a_server(&data, &config, &[]);
    let out = cli(&data, &config, &["host", "stop"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "aacon: no background host is running: the runtime is hosted by a console (pid {pid}); stop it there\n"
        )
    );
    assert_eq!(still_alive(&mcp).len(), mcp.len());
    let (doc, code) = host_status(&data, &config);
    assert_eq!(code, 0);
    assert_eq!(doc["host"]["role"], "console", "{doc}");
    assert_eq!(doc["host"]["background"], false, "{doc}");
    stop_and_quit(&mut con);
}
