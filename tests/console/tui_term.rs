//! The real console in a pseudo-terminal, as terminals over SSH see it:
//! colours only as deep as the terminal says, ASCII without a UTF-8
//! locale, and `:ctx` switching between two real `aacon serve` processes
//! without a restart.

use std::ffi::OsStr;
use std::time::Duration;

use crate::support;

use support::cli::{create, dirs};
use support::pty::Console;
use support::serve::Serve;

const WAIT: Duration = Duration::from_secs(20);

/// The console on an embedded platform with one instance, in a terminal
/// described by `env`; its raw output once the instance shows.
fn raw_output(env: &[(&str, &OsStr)]) -> Vec<u8> {
    let (_tmp, data, config) = dirs();
    create(
        &data,
        &config,
        "colourful",
        r#"{"command": ["mcp-server"]}"#,
    );
    let mut con = Console::spawn_with_env(&data, &config, &[], env);
    con.wait_for("colourful", WAIT);
    // Open help too: more of the theme on screen.
    con.send(b"?");
    con.wait_for("esc closes", WAIT);
    con.send(b"\x1b");
    con.send(b"q");
    con.wait_exit(WAIT);
    con.raw_text()
}

fn count(raw: &[u8], what: &str) -> usize {
    raw.windows(what.len())
        .filter(|w| *w == what.as_bytes())
        .count()
}

/// The parameters of every SGR sequence (`ESC [ … m`) in `raw`, in order.
fn sgr_params(raw: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(raw);
    let mut out = Vec::new();
    for part in text.split("\x1b[").skip(1) {
        let end = part
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(part.len());
        if part[end..].starts_with('m') {
            out.extend(part[..end].split(';').filter_map(|p| p.parse::<u16>().ok()));
        }
    }
    out
}

/// The raw output under `TERM` and `COLORTERM`, in a UTF-8 locale.
fn output_in(term: &str, colorterm: &str) -> Vec<u8> {
    raw_output(&[
        ("TERM", OsStr::new(term)),
        ("COLORTERM", OsStr::new(colorterm)),
        ("LC_ALL", OsStr::new("")),
        ("LANG", OsStr::new("C.UTF-8")),
    ])
}

#[test]
fn basic_terminals_get_no_24_bit_colour() {
    for term in ["linux", "screen"] {
        let raw = output_in(term, "");
        assert_eq!(count(&raw, "38;2;"), 0, "TERM={term} got 24-bit colour");
        assert_eq!(count(&raw, "48;2;"), 0, "TERM={term} got 24-bit colour");
        assert_eq!(count(&raw, "38;5;"), 0, "TERM={term} got 256 colours");
        // Still coloured: the 16 ANSI colours.
        assert!(
            sgr_params(&raw)
                .iter()
                .any(|p| matches!(p, 30..=37 | 90..=97)),
            "TERM={term}: no colour at all"
        );
    }
}

#[test]
fn colorterm_truecolor_gets_24_bit_and_256color_gets_the_palette() {
    let raw = output_in("screen", "truecolor");
    assert!(
        count(&raw, "38;2;") > 0,
        "COLORTERM=truecolor got no 24-bit colour"
    );
    let raw = output_in("xterm-256color", "");
    assert_eq!(count(&raw, "38;2;"), 0);
    assert!(
        count(&raw, "38;5;") > 0,
        "xterm-256color got no 256 colours"
    );
}

#[test]
fn a_c_locale_gets_nothing_but_ascii() {
    let raw = raw_output(&[
        ("TERM", OsStr::new("xterm-256color")),
        ("LC_ALL", OsStr::new("")),
        ("LC_CTYPE", OsStr::new("")),
        ("LANG", OsStr::new("C")),
    ]);
    let high: Vec<usize> = raw
        .iter()
        .enumerate()
        .filter(|(_, b)| **b >= 0x80)
        .map(|(i, _)| i)
        .collect();
    assert!(
        high.is_empty(),
        "{} bytes ≥ 0x80 under LANG=C, first near: {:?}",
        high.len(),
        String::from_utf8_lossy(&raw[high[0].saturating_sub(40)..(high[0] + 40).min(raw.len())])
    );
    // The same console under UTF-8 draws box borders.
    let utf8 = raw_output(&[
        ("TERM", OsStr::new("xterm-256color")),
        ("LC_ALL", OsStr::new("")),
        ("LANG", OsStr::new("en_US.UTF-8")),
    ]);
    assert!(count(&utf8, "─") > 0);
}

#[test]
fn ctx_switches_between_two_serve_processes_live() {
    let (_tmp_a, data_a, config_a) = dirs();
    let (_tmp_b, data_b, config_b) = dirs();
    create(
        &data_a,
        &config_a,
        "alpha-one",
        r#"{"command": ["mcp-server"]}"#,
    );
    create(
        &data_b,
        &config_b,
        "beta-one",
        r#"{"command": ["mcp-server"]}"#,
    );
    create(
        &data_b,
        &config_b,
        "beta-two",
        r#"{"command": ["mcp-server"]}"#,
    );
    let a = Serve::start(&data_a, &config_a, &[]);
    // B wants a token: the context's token_env must reach it.
    let b = Serve::start_with_env(
        &data_b,
        &config_b,
        &[],
        &[("AACON_API_TOKEN", OsStr::new("tok-canary-8731"))],
    );

    let (_tmp, data, config) = dirs();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[contexts.lab-a]\napi_url = \"{}\"\n\n[contexts.lab-b]\napi_url = \"{}\"\ntoken_env = \"LAB_B_TOKEN\"\n",
            a.url, b.url
        ),
    )
    .unwrap();
    let mut con = Console::spawn_with_env(
        &data,
        &config,
        &["--context", "lab-a"],
        // Sent to B; never shown.
        &[("LAB_B_TOKEN", OsStr::new("tok-canary-8731"))],
    );
    let s = con.wait_for("alpha-one", WAIT);
    assert!(s.contains(&a.url), "the header names the platform: {s}");

    // The list: both contexts, the current one marked, no token.
    con.send(b":ctx\r");
    let s = con.wait_for("lab-b", WAIT);
    assert!(s.contains("* lab-a"), "{s}");
    assert!(s.contains("token from $LAB_B_TOKEN"), "{s}");
    con.send(b"\x1b");

    // Enter switches without a restart.
    con.send(b":ctx lab-b");
    con.send(b"\r");
    let s = con.wait_for("beta-two", WAIT);
    assert!(s.contains("beta-one"), "{s}");
    assert!(
        !s.contains("alpha-one"),
        "the other context's rows stay: {s}"
    );
    assert!(s.contains(&b.url), "{s}");
    let pid = con.child.process_id();

    // And back, completed with tab.
    con.send(b":ctx lab-");
    con.send(b"\t");
    con.wait_for("lab-a · lab-b", WAIT);
    con.send(b"a\r");
    let s = con.wait_for("alpha-one", WAIT);
    assert!(!s.contains("beta-one"), "{s}");

    // An unknown context changes nothing and says so.
    con.send(b":ctx nowhere\r");
    let s = con.wait_for("no context 'nowhere'", WAIT);
    assert!(s.contains("alpha-one"), "{s}");

    // `:NAME` jumps to the instance.
    con.send(b":alpha-one\r");
    con.wait_for("Overview", WAIT);
    assert_eq!(con.child.process_id(), pid, "the same console throughout");

    con.send(b"q");
    con.wait_exit(WAIT);
    let raw = con.raw_text();
    assert_eq!(
        count(&raw, "tok-canary-8731"),
        0,
        "the token reached the screen"
    );
}

/// `aacon doctor -o json` in a described terminal: each check's detail.
fn doctor(env: &[(&str, &str)]) -> serde_json::Value {
    let (_tmp, data, config) = dirs();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"));
    cmd.args(["doctor", "-o", "json"])
        .env("AACON_DATA_DIR", &data)
        .env("AACON_CONFIG_DIR", &config)
        .env_remove("NO_COLOR")
        .env_remove("COLORFGBG")
        .env_remove("TERM_PROGRAM");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn detail(v: &serde_json::Value, check: &str) -> String {
    v.as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_else(|| panic!("no {check} check: {v}"))
        .to_string()
}

#[test]
fn doctor_says_what_the_renderer_does() {
    let v = doctor(&[
        ("TERM", "linux"),
        ("COLORTERM", ""),
        ("LC_ALL", ""),
        ("LC_CTYPE", ""),
        ("LANG", "C"),
    ]);
    let t = detail(&v, "terminal");
    assert!(t.contains("TERM=linux"), "{t}");
    assert!(t.contains("basic colours"), "{t}");
    assert!(t.contains("16 ANSI colours"), "{t}");
    assert!(
        t.contains("not UTF-8 (LANG=C): ASCII glyphs and borders"),
        "{t}"
    );
    let v = doctor(&[
        ("TERM", "screen"),
        ("COLORTERM", "truecolor"),
        ("LANG", "en_US.UTF-8"),
        ("LC_ALL", ""),
    ]);
    let t = detail(&v, "terminal");
    assert!(t.contains("24-bit colour (COLORTERM=truecolor)"), "{t}");
    assert!(t.contains("UTF-8 (LANG=en_US.UTF-8)"), "{t}");
    // The theme and the terminal's background.
    let v = doctor(&[("TERM", "xterm-256color"), ("AACON_THEME", "light")]);
    let t = detail(&v, "theme");
    assert_eq!(
        t,
        "theme light is made for a light background; the terminal's is unknown (no COLORFGBG), taken as dark: the console paints the theme's own background"
    );
    let v = doctor(&[
        ("TERM", "xterm-256color"),
        ("AACON_THEME", "light"),
        ("COLORFGBG", "0;15"),
    ]);
    assert!(detail(&v, "theme").ends_with("the terminal's is light (COLORFGBG): they match"));
}

#[test]
fn the_cli_takes_a_context_and_refuses_an_unknown_one() {
    let (_tmp_a, data_a, config_a) = dirs();
    create(
        &data_a,
        &config_a,
        "alpha-cli",
        r#"{"command": ["mcp-server"]}"#,
    );
    let a = Serve::start(&data_a, &config_a, &[]);
    let (_tmp, data, config) = dirs();
    std::fs::write(
        config.join("config.toml"),
        format!("[contexts.lab]\napi_url = \"{}\"\n", a.url),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .args(args)
            .env("AACON_DATA_DIR", &data)
            .env("AACON_CONFIG_DIR", &config)
            // The context decides, not the environment.
            .env("AACON_API_URL", "http://127.0.0.1:9")
            .output()
            .unwrap()
    };
    let out = run(&["--context", "lab", "instances", "list", "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("alpha-cli"));
    let out = run(&["--context", "ünï", "instances", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("there is no context 'ünï' (defined: lab)"),
        "{err}"
    );
}
