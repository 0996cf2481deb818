//! The real console in API mode, in a pseudo-terminal, attached to the real
//! `aacon serve`: a status change made on the serving side appears on the
//! screen without a key press (live status by polling the API).

mod support;

use aacon::domain::Status;
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use aacon::store::StatusReport;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COLS: u16 = 140;
const ROWS: u16 = 32;

fn screen(raw: &Mutex<Vec<u8>>) -> String {
    let mut p = vt100::Parser::new(ROWS, COLS, 0);
    p.process(&raw.lock().unwrap());
    p.screen().contents()
}

fn wait_for(raw: &Mutex<Vec<u8>>, what: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let s = screen(raw);
        if s.contains(what) {
            return s;
        }
        assert!(
            start.elapsed() < timeout,
            "'{what}' did not appear within {timeout:?}; screen:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

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

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_aacon"));
    cmd.args(["--api", &url]);
    cmd.env("AACON_DATA_DIR", tmp.path().join("console-data"));
    cmd.env("AACON_CONFIG_DIR", &config);
    cmd.env("AACON_API_POLL_MS", "200");
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("AACON_API_TOKEN");
    cmd.env_remove("AACON_REDIS_URL");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let raw = Arc::new(Mutex::new(Vec::new()));
    let sink = raw.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let s = wait_for(&raw, "pty-remote", Duration::from_secs(20));
    assert!(s.contains(&url), "the header names the API: {s}");
    let s = wait_for(&raw, "polling", Duration::from_secs(10));
    assert!(s.contains("pending"), "{s}");
    assert!(!s.contains("running"), "{s}");

    // The serving platform's runtime reports: no key is pressed meanwhile.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = EmbeddedPlatform::open(
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
    wait_for(&raw, "running", Duration::from_secs(10));

    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "{st:?}");
            break;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the console did not exit; screen:\n{}", screen(&raw));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // API mode never opened a store of its own.
    assert!(!tmp.path().join("console-data").join("aacon.db").exists());
}
