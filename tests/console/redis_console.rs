//! The console with `--redis`, end to end in a pseudo-terminal: Redis down
//! at start (the console opens and says so), Redis appearing (it connects),
//! and an instance committed by another host with another data dir
//! arriving through the stream without a key press.

use crate::support;

use std::time::Duration;
use support::pty::Console;
use support::{RedisServer, free_port};

#[test]
fn redis_down_at_start_then_up_then_live_events_from_another_host() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config) = (tmp.path().join("data"), tmp.path().join("config"));
    std::fs::create_dir_all(&config).unwrap();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");

    let mut con = Console::spawn(&data, &config, &["--redis", &url]);
    let screen = con.wait_for("retrying in", Duration::from_secs(15));
    assert!(screen.contains("aacon embedded"), "{screen}");

    let _redis = RedisServer::builder().port(port).start();
    // Backoff is capped; connecting shows the stream in the header.
    let start = std::time::Instant::now();
    loop {
        let s = con.screen();
        if !s.contains("retrying in") && s.contains("● ") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "never connected:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Another host: its own data dir, the same Redis.
    let other = tmp.path().join("other");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
        .args([
            "--redis",
            &url,
            "instances",
            "create",
            "from-elsewhere",
            "--spec",
            "-",
        ])
        .env("AACON_DATA_DIR", &other)
        .env("AACON_CONFIG_DIR", &config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(br#"{"command": ["srv"]}"#)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    con.wait_for("from-elsewhere", Duration::from_secs(10));

    con.send(b"q");
    con.wait_exit(Duration::from_secs(10));
    let raw = con.raw_text();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).to_string();
    assert!(
        tail.contains("\u{1b}[?1049l"),
        "left the alternate screen: {tail:?}"
    );
}
