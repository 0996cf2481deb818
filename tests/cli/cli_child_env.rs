//! A one-shot `aacon tools call` (no runtime host running) starts the stdio
//! server with the config's `runtime.child_env`, as a host would: the real
//! binary, the in-repo MCP fixture behind a shell that writes down what
//! environment it was given.

use assert_cmd::Command;

use crate::support::FIXTURE;
const CANARY: &str = "canary-one-shot-5d2e";

fn aacon(dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("aacon").unwrap();
    c.env("AACON_DATA_DIR", dir.join("data"))
        .env("AACON_CONFIG_DIR", dir.join("config"))
        .env_remove("AACON_API_URL")
        .env_remove("AACON_REDIS_URL")
        .env("AACON_TEST_ALLOWED", "allowed-by-config")
        .env("AACON_TEST_CANARY", CANARY)
        .env("NO_COLOR", "1");
    c
}

/// Create an instance whose server writes its environment's two test
/// variables to `out`, then call its `echo` tool once; return what it wrote.
fn call_once(dir: &std::path::Path, config: Option<&str>) -> String {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    if let Some(text) = config {
        std::fs::write(cfg.join("config.toml"), text).unwrap();
    }
    let out = dir.join("env.txt");
    let script = format!(
        "printf 'allowed=%s canary=%s' \"$AACON_TEST_ALLOWED\" \"$AACON_TEST_CANARY\" > '{}'; exec '{FIXTURE}'",
        out.display()
    );
    let spec = serde_json::json!({"command": "sh", "args": ["-c", script]}).to_string();
    aacon(dir)
        .args(["instances", "create", "envy", "--spec", "-"])
        .write_stdin(spec)
        .assert()
        .success();
    let call = aacon(dir)
        .args([
            "tools",
            "call",
            "envy",
            "echo",
            "--args",
            r#"{"message": "hi"}"#,
        ])
        .assert()
        .success();
    assert!(
        String::from_utf8_lossy(&call.get_output().stdout).contains("hi"),
        "{:?}",
        call.get_output()
    );
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn a_one_shot_tool_call_uses_the_configs_child_env() {
    let dir = tempfile::tempdir().unwrap();
    let got = call_once(
        dir.path(),
        Some("[runtime]\nchild_env = [\"PATH\", \"AACON_TEST_ALLOWED\"]\n"),
    );
    assert_eq!(got, "allowed=allowed-by-config canary=");
}

#[test]
fn without_a_config_the_default_allowlist_applies() {
    let dir = tempfile::tempdir().unwrap();
    let got = call_once(dir.path(), None);
    assert_eq!(got, "allowed= canary=");
}
