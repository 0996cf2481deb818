//! Long tool calls and elicitation on the real `aacon` binary in a
//! pseudo-terminal, against `@modelcontextprotocol/server-everything`: a
//! long-running call shows its elapsed time and progress and is cancelled
//! with its key; an elicitation form is answered; `aacon tools call`
//! cancels on Ctrl-C and says so.

use std::path::PathBuf;
use std::time::Duration;

use crate::support;

use crate::surface_pty::end;
use support::cli::{dirs, ok};
use support::pty::Console;

const DOWN: &[u8] = b"\x1b[B";
const END: &[u8] = b"\x1b[F";
const CTRL_S: &[u8] = b"\x13";
const CTRL_C: &[u8] = b"\x03";
const BACKSPACE: &[u8] = b"\x7f";
const CTRL_R: &[u8] = b"\x12";

/// Data and config dirs with server-everything created (not started).
fn created() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (tmp, data, config) = dirs();
    let spec = support::everything::stdio_spec().to_string();
    ok(
        &data,
        &config,
        &["instances", "create", "everything", "--spec", "-"],
        &spec,
    );
    (tmp, data, config)
}

/// A console on server-everything, running, on its Tools tab.
fn tools_tab() -> (tempfile::TempDir, Console) {
    let (tmp, data, config) = created();
    ok(&data, &config, &["instances", "start", "everything"], "");
    let mut con = Console::spawn(&data, &config, &[]);
    con.wait_for("running", Duration::from_secs(30));
    con.send(b"\r");
    con.send(b"\t\t\t");
    // The tab may have asked before the session listed its tools: refresh.
    let t0 = std::time::Instant::now();
    while !con.screen().contains(" TOOL") {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no tools:\n{}",
            con.screen()
        );
        std::thread::sleep(Duration::from_secs(1));
        con.send(CTRL_R);
    }
    (tmp, con)
}

/// Move the selection down to `tool`.
fn select(con: &mut Console, tool: &str) {
    con.wait_for(tool, Duration::from_secs(20));
    let want = format!("›{tool}");
    for _ in 0..40 {
        if con.screen().contains(&want) {
            return;
        }
        con.send(DOWN);
    }
    panic!("{tool} was never selected:\n{}", con.screen());
}

/// Open the argument editor and replace its `{}` with `args`.
fn call_with(con: &mut Console, args: &str) {
    con.send(b"\r");
    con.wait_for("arguments · ctrl-s call", Duration::from_secs(5));
    con.send(END);
    con.send(BACKSPACE);
    con.send(BACKSPACE);
    con.send(args.as_bytes());
    con.send(CTRL_S);
}

#[test]
fn a_long_call_shows_progress_and_is_cancelled_with_its_key() {
    let (_tmp, mut con) = tools_tab();
    select(&mut con, "trigger-long-running-operation");
    call_with(&mut con, r#"{"duration": 120, "steps": 120}"#);
    let s = con.wait_for("progress 2/120", Duration::from_secs(30));
    assert!(s.contains("elapsed · timeout 60s · ctrl-c cancels"), "{s}");
    con.send(CTRL_C);
    let s = con.wait_for("cancelled after", Duration::from_secs(15));
    assert!(
        s.contains("(the server was sent notifications/cancelled)"),
        "{s}"
    );
    assert!(!s.contains("calling trigger-long-running-operation"), "{s}");
    end(con);
}

#[test]
fn an_elicitation_form_is_answered() {
    let (_tmp, mut con) = tools_tab();
    select(&mut con, "trigger-elicitation-request");
    call_with(&mut con, "{}");
    // Not marked read-only: the call asks first.
    con.wait_for(
        "Call tool trigger-elicitation-request?",
        Duration::from_secs(5),
    );
    con.send(b"y");
    let s = con.wait_for("The server asks for input", Duration::from_secs(20));
    assert!(
        s.contains("Please provide inputs for the following fields"),
        "{s}"
    );
    assert!(
        s.contains("ctrl-s accept · ctrl-d decline · esc cancel · tab next"),
        "{s}"
    );
    con.send(b"Ada Lovelace");
    con.send(CTRL_S);
    let s = con.wait_for(
        "User provided the requested information",
        Duration::from_secs(20),
    );
    assert!(s.contains("Name: Ada Lovelace"), "{s}");
    end(con);
}

#[test]
fn tools_call_cancels_on_ctrl_c_and_says_so() {
    let (_tmp, data, config) = created();
    // Nobody hosts it: a session just for this call.
    let mut con = Console::spawn(
        &data,
        &config,
        &[
            "tools",
            "call",
            "everything",
            "trigger-long-running-operation",
            "--args",
            r#"{"duration": 120, "steps": 120}"#,
        ],
    );
    con.wait_for("progress 1/120", Duration::from_secs(60));
    con.send(CTRL_C);
    let s = con.wait_for("cancelled tool", Duration::from_secs(15));
    assert!(
        s.contains("on Ctrl-C (the server was sent notifications/cancelled)"),
        "{s}"
    );
    let status = con.wait_exit(Duration::from_secs(15));
    assert!(!status.success());
}

#[test]
fn tools_call_asks_an_elicitation_on_its_terminal() {
    let (_tmp, data, config) = created();
    let mut con = Console::spawn(
        &data,
        &config,
        &["tools", "call", "everything", "trigger-elicitation-request"],
    );
    con.wait_for(
        "answer it? [y]es / [n]o (decline) / [c]ancel",
        Duration::from_secs(60),
    );
    con.send(b"y\r");
    con.wait_for(
        "String (required) — Your full, legal name (text)",
        Duration::from_secs(10),
    );
    // Required: an empty answer is asked again.
    con.send(b"\r");
    con.wait_for("String is required", Duration::from_secs(10));
    con.send(b"Ada Lovelace\r");
    // Every other field keeps its default (or stays empty).
    for _ in 0..12 {
        con.send(b"\r");
    }
    let s = con.wait_for("Name: Ada Lovelace", Duration::from_secs(20));
    assert!(s.contains("User provided the requested information"), "{s}");
    assert!(con.wait_exit(Duration::from_secs(15)).success());
}
