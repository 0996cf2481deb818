//! The real console in API mode, in a pseudo-terminal, attached to the real
//! `aacon serve`: a status change made on the serving side appears on the
//! screen without a key press (live status by polling the API).

use crate::support;

use aacon::domain::Status;
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::store::StatusReport;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::pty::Console;

#[test]
fn a_status_change_on_the_server_appears_without_a_key_press() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("serve-data");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let serve = support::serve::Serve::start(&data, &config, &[]);
    let url = serve.url.clone();
    let out = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .args([
            "--api",
            &url,
            "instances",
            "create",
            "pty-remote",
            "--spec",
            "-",
        ])
        .env("AACON_DATA_DIR", tmp.path().join("cli-data"))
        .env("AACON_CONFIG_DIR", &config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(br#"{"command": ["mcp-server"]}"#)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut con = Console::spawn_with_env(
        &tmp.path().join("console-data"),
        &config,
        &["--api", &url],
        &[("AACON_API_POLL_MS", "200".as_ref())],
    );
    let s = con.wait_for("pty-remote", Duration::from_secs(20));
    assert!(s.contains(&url), "the header names the API: {s}");
    let s = con.wait_for("polling", Duration::from_secs(10));
    // Created, never started: stopped, not a spinning pending.
    assert!(s.contains("○ stopped"), "{s}");
    assert!(!s.contains("pending"), "{s}");
    assert!(!s.contains("running"), "{s}");

    // The serving platform's runtime reports: no key is pressed meanwhile.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = aacon::host::open_embedded(
            DataDir::new(&data),
            EmbeddedOptions {
                role: Role::Cli,
                host_runtime: false,
            },
        )
        .unwrap();
        let inst = aacon::platform::Platform::get(&p, "pty-remote")
            .await
            .unwrap();
        p.report_status(
            inst.id,
            StatusReport {
                status: Some(Status::Running),
                healthy_now: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    });
    con.wait_for("running", Duration::from_secs(10));
    con.send(b"q");
    assert!(con.wait_exit(Duration::from_secs(10)).success());
    // API mode never opened a store of its own.
    assert!(!tmp.path().join("console-data").join("aacon.db").exists());
}
