//! A canary secret set through `aacon secrets set` reaches the child's
//! environment and nowhere else: not the event log, the log files, the
//! store, json_spec, argv, the stderr ring or a rendered screen.
//! Also the `secrets` and `tools` commands end to end.

use aacon::domain::Status;
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::platform::{EventQuery, Platform};
use aacon::runtime::RuntimeConfig;
use assert_cmd::Command;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::FIXTURE;
const CANARY: &str = "canary-7f3a9c-d41d8cd98f";

fn aacon(data: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("aacon").unwrap();
    c.env("AACON_DATA_DIR", data)
        .env("AACON_CONFIG_DIR", data.join("config"))
        .env("AACON_LOG", "debug")
        .env_remove("RUST_BACKTRACE");
    c
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn secrets_commands_store_list_and_remove_without_showing_values() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    aacon(&data)
        .args(["secrets", "set", "TOKEN"])
        .write_stdin("s3cr3t-value\n")
        .assert()
        .success()
        .stdout("stored secret 'TOKEN'\n");
    let mode = std::fs::metadata(data.join("secrets.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let out = aacon(&data).args(["secrets", "list"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text, "NAME\nTOKEN\n");
    aacon(&data)
        .args(["secrets", "list", "-o", "json"])
        .assert()
        .success()
        .stdout("[\"TOKEN\"]\n");
    // Bad names and empty values change nothing.
    aacon(&data)
        .args(["secrets", "set", "bad name"])
        .write_stdin("x")
        .assert()
        .code(2);
    aacon(&data)
        .args(["secrets", "set", "EMPTY"])
        .write_stdin("")
        .assert()
        .code(2);
    // Group-readable: refused, with the chmod to run.
    std::fs::set_permissions(
        data.join("secrets.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = aacon(&data).args(["secrets", "list"]).assert().code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("readable by group or others"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(
        data.join("secrets.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    aacon(&data)
        .args(["secrets", "rm", "TOKEN"])
        .assert()
        .success();
    aacon(&data)
        .args(["secrets", "rm", "TOKEN"])
        .assert()
        .code(4);
    aacon(&data)
        .args(["secrets", "list", "-o", "json"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_secret_reaches_the_child_env_and_nowhere_else() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    aacon(&data)
        .args(["secrets", "set", "API_KEY"])
        .write_stdin(format!("{CANARY}\n"))
        .assert()
        .success();
    let spec = serde_json::json!({
        "command": [FIXTURE, "--stderr-env", "API_KEY"],
        "env_vars": {"API_KEY": "secret_ref:API_KEY", "MODE": "test"}
    });
    aacon(&data)
        .args(["instances", "create", "canary", "--spec", "-"])
        .write_stdin(spec.to_string())
        .assert()
        .success();
    aacon(&data)
        .args(["instances", "start", "canary"])
        .assert()
        .success();

    // This process hosts the runtime, logging into the data dir's log file.
    let dir = DataDir::new(&data);
    let _guard = aacon::logging::init(&dir, "debug").unwrap();
    let platform = Arc::new(
        aacon::host::open_embedded(
            dir.clone(),
            EmbeddedOptions {
                role: Role::Console,
                host_runtime: true,
            },
        )
        .unwrap(),
    );
    let cfg = RuntimeConfig {
        kill_on_panic: false,
        ..RuntimeConfig::default()
    };
    let rt = aacon::host::spawn_runtime(platform.clone(), cfg);
    let deadline = Instant::now() + Duration::from_secs(20);
    let inst = loop {
        let i = platform.get("canary").await.unwrap();
        if i.status == Status::Running {
            break i;
        }
        assert!(
            Instant::now() < deadline,
            "not running: {:?} {:?}",
            i.status,
            i.status_reason
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let pid = rt.pid(inst.id).unwrap();
    // It reached the child's environment, and not its argv.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let needle = format!("API_KEY={CANARY}");
    assert!(
        environ
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(CANARY));
    // The child printed it on stderr; the ring shows it masked.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stderr = rt.stderr(inst.id);
    assert!(stderr.iter().any(|l| l == "API_KEY=••••••"), "{stderr:?}");
    assert!(stderr.iter().all(|l| !l.contains(CANARY)));

    // The CLI sees the tools and can call one (a one-shot session).
    let out = aacon(&data)
        .args(["tools", "list", "canary"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("echo") && text.contains("Echo back the message"),
        "{text}"
    );
    aacon(&data)
        .args([
            "tools",
            "call",
            "canary",
            "echo",
            "--args",
            r#"{"message":"ping"}"#,
        ])
        .assert()
        .success()
        .stdout("Echo: ping\n");
    let out = aacon(&data)
        .args(["tools", "call", "canary", "echo", "--args", r#"{"msg":1}"#])
        .assert()
        .code(3);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("missing required property 'message'"), "{err}");
    aacon(&data)
        .args(["tools", "call", "canary", "echo", "--args", "{nope"])
        .assert()
        .code(3);

    // Stop, and look everywhere else.
    platform.stop(inst.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while platform.get("canary").await.unwrap().status != Status::Stopped {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inst = platform.get("canary").await.unwrap();
    assert!(!serde_json::to_string(&inst).unwrap().contains(CANARY));
    let events = platform.events(EventQuery::default()).await.unwrap();
    assert!(events.len() > 4);
    assert!(!serde_json::to_string(&events).unwrap().contains(CANARY));
    let out = aacon(&data)
        .args(["events", "-o", "jsonl"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains(CANARY));

    // A rendered screen of what the console shows for it.
    let backend = ratatui::backend::TestBackend::new(120, 40);
    let mut term = ratatui::Terminal::new(backend).unwrap();
    let masked =
        aacon::domain::spec::mask_secrets(&serde_json::Value::Object(inst.json_spec.clone()));
    let mut lines: Vec<String> = serde_json::to_string_pretty(&masked)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.extend(rt.stderr(inst.id));
    lines.extend(events.iter().map(|e| e.to_json()));
    term.draw(|f| {
        let p = ratatui::widgets::Paragraph::new(lines.join("\n"))
            .wrap(ratatui::widgets::Wrap { trim: false });
        f.render_widget(p, f.area());
    })
    .unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        screen.contains("secret") || screen.contains("•"),
        "the screen shows the spec"
    );
    assert!(!screen.contains(CANARY));

    rt.shutdown().await;
    drop(_guard);
    // Logs and the store files: written, and free of the value.
    let mut checked = 0;
    for f in files_under(&data) {
        // The secret store itself, and the nudge sockets (not files).
        if f.file_name().is_some_and(|n| n == "secrets.json") || !f.is_file() {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
            "{} holds the canary",
            f.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "logs and store files were checked");
    assert!(
        files_under(&data.join("logs"))
            .iter()
            .any(|f| std::fs::metadata(f).map(|m| m.len() > 0).unwrap_or(false))
    );
}
