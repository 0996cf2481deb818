//! The real `aacon` binary run as a one-shot command on a test's data dir.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `aacon ARGS` on `data` / `config`, with `stdin` written to it.
pub fn cli(data: &Path, config: &Path, args: &[&str], stdin: &str) -> Output {
    cli_env(data, config, args, stdin, &[], &[])
}

/// As [`cli`], with variables set (`env`) and removed (`unset`).
pub fn cli_env(
    data: &Path,
    config: &Path,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
    unset: &[&str],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aacon"));
    cmd.args(args)
        .env("AACON_DATA_DIR", data)
        .env("AACON_CONFIG_DIR", config);
    for k in unset {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `aacon ARGS` that must succeed.
pub fn ok(data: &Path, config: &Path, args: &[&str], stdin: &str) -> Output {
    let out = cli(data, config, args, stdin);
    assert!(
        out.status.success(),
        "aacon {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `aacon instances create NAME --spec -` with `spec` on stdin; it must succeed.
pub fn create(data: &Path, config: &Path, name: &str, spec: &str) {
    ok(
        data,
        config,
        &["instances", "create", name, "--spec", "-"],
        spec,
    );
}

/// Wait (up to 30 s) until `aacon instances get NAME` reports `status`.
pub fn wait_status(data: &Path, config: &Path, name: &str, status: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = cli(data, config, &["instances", "get", name, "-o", "json"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v["status"] == status {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never became {status}: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A temp dir with `data` (not yet created) and `config` (created) below it.
pub fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    (tmp, data, config)
}

/// A temporary data and config dir for commands run with `assert_cmd`,
/// with no Redis, API or backtrace settings inherited from the caller.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// `aacon` on this env's dirs.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("aacon").unwrap();
        c.env("AACON_DATA_DIR", self.dir.path().join("data"))
            .env("AACON_CONFIG_DIR", self.dir.path().join("config"))
            .env_remove("AACON_REDIS_URL")
            .env_remove("AACON_API_URL")
            .env_remove("AACON_API_TOKEN")
            .env_remove("RUST_BACKTRACE");
        c
    }
}
