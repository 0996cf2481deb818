//! End to end: the real `aacon` binary in a pseudo-terminal, driven like a
//! user, with the CLI changing the same data dir from outside.

use portable_pty::{CommandBuilder, PtySize};
use std::time::{Duration, Instant};

use crate::support;

use support::cli::{cli, create, dirs};
use support::pty::{COLS, Console, ROWS};

fn ends_restored(raw: &[u8]) {
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).to_string();
    assert!(
        tail.contains("\x1b[?1049l"),
        "the alternate screen was not left: {tail:?}"
    );
    assert!(
        tail.contains("\x1b[?25h"),
        "the cursor was not shown: {tail:?}"
    );
    assert!(
        tail.rfind("\x1b[?1049l") > tail.rfind("\x1b[?1049h"),
        "re-entered the alternate screen after leaving it: {tail:?}"
    );
}

#[test]
fn instance_created_outside_appears_without_a_key_press_and_quit_restores() {
    let (_tmp, data, config) = dirs();
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("No instances yet", Duration::from_secs(20));

    create(
        &data,
        &config,
        "pty-web",
        r#"{"command": ["mcp-server"], "env_vars": {"API_KEY": "secret_ref:k"}}"#,
    );
    let screen = con.wait_for("pty-web", Duration::from_secs(10));
    assert!(screen.contains("process"), "{screen}");
    assert!(screen.contains("1 instance "), "{screen}");

    // Edit its json_spec: after the opening brace, add an args line; save.
    con.send(b"e");
    con.wait_for("edit pty-web", Duration::from_secs(10));
    con.send(b"\x1b[F"); // End
    con.send(b"\r");
    con.send(br#""args": ["--verbose"],"#);
    con.wait_for("--verbose", Duration::from_secs(5));
    con.send(b"\x13"); // ctrl-s
    con.wait_for("saved pty-web", Duration::from_secs(10));
    let out = cli(
        &data,
        &config,
        &["instances", "get", "pty-web", "-o", "json"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        got["json_spec"]["args"],
        serde_json::json!(["--verbose"]),
        "{got}"
    );
    assert_eq!(
        got["json_spec"]["command"],
        serde_json::json!(["mcp-server"]),
        "{got}"
    );
    assert_eq!(got["version"], 2, "{got}");

    con.send(b"q");
    let st = con.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    ends_restored(&con.raw_text());
}

#[test]
fn sigterm_restores_the_terminal() {
    let (_tmp, data, config) = dirs();
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("instances (0)", Duration::from_secs(20));
    let pid = con.child.process_id().unwrap();
    // SAFETY: plain kill(2) on the child we spawned.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    con.wait_exit(Duration::from_secs(10));
    ends_restored(&con.raw_text());
}

#[test]
fn a_dropped_session_keeps_the_edit_as_a_draft_offered_at_next_start() {
    let (_tmp, data, config) = dirs();
    create(&data, &config, "drafty", r#"{"command": ["mcp-server"]}"#);
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("drafty", Duration::from_secs(20));
    con.send(b"e");
    con.wait_for("edit drafty", Duration::from_secs(10));
    con.send(b"\x1b[F\r");
    con.send(br#""cwd": "/tmp/unsaved-work","#);
    con.wait_for("unsaved-work", Duration::from_secs(5));
    // The SSH session drops: the terminal hangs up.
    let pid = con.child.process_id().unwrap();
    // SAFETY: plain kill(2) on the child we spawned.
    unsafe {
        libc::kill(pid as i32, libc::SIGHUP);
    }
    con.wait_exit(Duration::from_secs(10));
    ends_restored(&con.raw_text());

    let mut again = Console::spawn(&data, &config, &[]);
    let s = again.wait_for("Unsaved edits", Duration::from_secs(20));
    assert!(s.contains("edit of 'drafty'"), "{s}");
    again.send(b"\r");
    again.wait_for("edit drafty", Duration::from_secs(10));
    again.wait_for("unsaved-work", Duration::from_secs(5));
    again.send(b"\x13");
    again.wait_for("saved drafty", Duration::from_secs(10));
    let out = cli(
        &data,
        &config,
        &["instances", "get", "drafty", "-o", "json"],
        "",
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["json_spec"]["cwd"], "/tmp/unsaved-work", "{got}");
    again.send(b"q");
    again.wait_exit(Duration::from_secs(10));
}

#[test]
fn a_bad_keymap_file_is_one_clear_error_before_the_screen_opens() {
    let (_tmp, data, config) = dirs();
    std::fs::write(
        config.join("keymap.toml"),
        "[instances]\nstart = \"s\"\nstop = \"s\"\n",
    )
    .unwrap();
    let mut con = Console::spawn(&data, &config, &[]);
    let st = con.wait_exit(Duration::from_secs(20));
    assert!(!st.success());
    let raw = con.raw_text();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("keymap.toml"), "{text}");
    assert!(
        !text.contains("\x1b[?1049h"),
        "the screen was opened: {text:?}"
    );
}

#[test]
fn an_unknown_theme_in_the_command_line_is_a_toast_not_a_crash() {
    let (_tmp, data, config) = dirs();
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("instances (0)", Duration::from_secs(20));
    con.send(b":theme nope\r");
    con.wait_for("no theme 'nope'", Duration::from_secs(5));
    con.send(b":theme light\r");
    con.wait_for("theme light", Duration::from_secs(5));
    con.send(b"q");
    assert!(con.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn read_only_console_shows_the_badge_and_refuses_changes() {
    let (_tmp, data, config) = dirs();
    create(&data, &config, "keep-me", r#"{"command": ["mcp-server"]}"#);
    let mut con = Console::spawn(&data, &config, &["--read-only"]);
    let s = con.wait_for("keep-me", Duration::from_secs(20));
    assert!(s.contains("READ-ONLY"), "{s}");
    con.send(b"\x04"); // ctrl-d: delete
    con.wait_for("read-only mode", Duration::from_secs(5));
    con.send(b"e");
    con.send(b"y");
    con.send(b"q");
    assert!(con.wait_exit(Duration::from_secs(10)).success());
    let out = cli(
        &data,
        &config,
        &["instances", "get", "keep-me", "-o", "json"],
        "",
    );
    assert!(out.status.success(), "the instance is still there");
}

#[test]
fn a_resize_storm_is_fine() {
    let (_tmp, data, config) = dirs();
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("instances (0)", Duration::from_secs(20));
    for i in 0..60u16 {
        let (cols, rows) = (20 + (i * 7) % 120, 5 + (i * 5) % 40);
        con.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    }
    con.master
        .resize(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(con.child.try_wait().unwrap().is_none(), "the console died");
    con.send(b"q");
    assert!(con.wait_exit(Duration::from_secs(10)).success());
    ends_restored(&con.raw_text());
}

/// Re-run this test binary in a pty as the child of
/// `a_panic_restores_the_terminal_before_the_report`.
#[test]
fn panic_child() {
    if std::env::var_os("AACON_PANIC_CHILD").is_none() {
        return;
    }
    aacon::tui::run::install_hooks();
    let _guard = aacon::tui::run::TerminalGuard::enter().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    panic!("deliberate panic for the hook test");
}

#[test]
fn a_panic_restores_the_terminal_before_the_report() {
    let mut cmd = CommandBuilder::new(std::env::current_exe().unwrap());
    let panic_child = support::test_name(module_path!(), "panic_child");
    cmd.args(["--exact", &panic_child, "--nocapture", "--test-threads=1"]);
    cmd.env("AACON_PANIC_CHILD", "1");
    cmd.env("TERM", "xterm-256color");
    let mut con = Console::spawn_command(cmd);
    let start = Instant::now();
    while con.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(20), "the child hung");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let out = String::from_utf8_lossy(&con.raw.lock().unwrap()).to_string();
    let entered = out
        .find("\x1b[?1049h")
        .expect("entered the alternate screen");
    // The hook leaves the alternate screen before the report (the guard
    // leaves it again while unwinding, harmlessly).
    let left = out.find("\x1b[?1049l").expect("left the alternate screen");
    let report = out
        .find("deliberate panic for the hook test")
        .expect("the panic report is printed");
    assert!(entered < left && left < report, "{out:?}");
    let shown = out[left..].find("\x1b[?25h").map(|i| i + left);
    assert!(
        shown.is_some_and(|i| i < report),
        "the cursor is shown first: {out:?}"
    );
}

#[test]
fn a_terminal_known_to_drop_osc52_gets_a_sentence_not_a_false_copied() {
    let (_tmp, data, config) = dirs();
    create(&data, &config, "web-1", r#"{"command": ["srv"]}"#);
    let mut con = Console::spawn_with_env(
        &data,
        &config,
        &[],
        &[("TERM_PROGRAM", "Apple_Terminal".as_ref())],
    );
    con.wait_for("web-1", Duration::from_secs(10));
    con.send(b"c");
    con.wait_for(
        "name web-1 not copied: Terminal.app ignores OSC 52",
        Duration::from_secs(5),
    );
    let raw = con.raw_text();
    assert!(
        !raw.windows(5).any(|w| w == b"\x1b]52;"),
        "no OSC 52 sequence is sent"
    );
    con.send(b"q");
    con.wait_exit(Duration::from_secs(10));
}

#[test]
fn copy_sends_osc52_byte_for_byte_and_dump_writes_the_rows_to_a_file() {
    let (_tmp, data, config) = dirs();
    create(&data, &config, "web-1", r#"{"command": ["srv"]}"#);
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("web-1", Duration::from_secs(10));
    con.send(b"c");
    con.wait_for("copied name web-1", Duration::from_secs(5));
    let raw = con.raw_text();
    // "web-1" in base64 is "d2ViLTE=".
    let osc = b"\x1b]52;c;d2ViLTE=\x07";
    assert!(
        raw.windows(osc.len()).any(|w| w == osc),
        "no OSC 52 sequence for the name"
    );
    con.send(b"\x13"); // ctrl-s: dump the view's rows
    con.wait_for("wrote 1 row (instances) as CSV", Duration::from_secs(5));
    let dumps = data.join("dumps");
    let files: Vec<_> = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,name,kind,status,"), "{text}");
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(&cells[1..4], ["web-1", "process", "pending"], "{text}");
    con.send(b"q");
    con.wait_exit(Duration::from_secs(10));
}
