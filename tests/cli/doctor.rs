//! `aacon doctor` against a healthy setup and against each broken
//! dependency, with the exact line it prints.

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use support::cli::Env;
use support::{RedisServer, free_port};

impl Env {
    fn doctor(&self, envs: &[(&str, &str)]) -> (i32, Vec<String>) {
        let mut c = self.cmd();
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.arg("doctor").output().unwrap();
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        (out.status.code().unwrap_or(-1), lines)
    }
}

fn line<'a>(lines: &'a [String], check: &str) -> &'a str {
    lines
        .iter()
        .find(|l| {
            l.get(2..)
                .is_some_and(|rest| rest.starts_with(&format!("{check}:")))
                || l.contains(&format!(" {check}: "))
        })
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no '{check}' line in {lines:#?}"))
}

#[test]
fn healthy_embedded_setup_passes() {
    let env = Env::new();
    let (code, lines) = env.doctor(&[]);
    assert_eq!(code, 0, "{lines:#?}");
    let data = env.dir.path().join("data");
    assert_eq!(
        line(&lines, "data dir"),
        format!("✓ data dir: {} is writable", data.display())
    );
    assert_eq!(
        line(&lines, "store"),
        "✓ store: SQLite opens, integrity ok, 0 instances, 0 events in the outbox"
    );
    assert_eq!(
        line(&lines, "secret store"),
        "✓ secret store: owner-only, 0 secrets"
    );
    assert_eq!(
        line(&lines, "redis"),
        "– redis: not configured (--redis, AACON_REDIS_URL, [redis] url)"
    );
    assert!(
        line(&lines, "runtime host")
            .starts_with("! runtime host: no console or `aacon serve` hosts the runtime")
    );
    // JSON for scripts.
    let out = env.cmd().args(["doctor", "-o", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "store" && c["state"] == "ok")
    );
}

#[test]
fn a_world_readable_secret_store_is_broken_with_the_chmod_to_run() {
    let env = Env::new();
    env.cmd()
        .args(["secrets", "set", "tok"])
        .write_stdin("s3cret-canary\n")
        .assert()
        .success();
    let path = env.dir.path().join("data").join("secrets.json");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, lines) = env.doctor(&[]);
    assert_eq!(code, 1);
    let l = line(&lines, "secret store");
    assert!(l.starts_with("✗ secret store: the secret store"), "{l}");
    assert!(
        l.ends_with(&format!("— chmod 600 {}", path.display())),
        "{l}"
    );
    assert!(!lines.concat().contains("s3cret-canary"));
}

#[test]
fn a_stopped_redis_is_broken_and_a_running_one_reports_its_stream() {
    let env = Env::new();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let (code, lines) = env.doctor(&[("AACON_REDIS_URL", &url)]);
    assert_eq!(code, 1);
    assert_eq!(
        line(&lines, "redis"),
        format!(
            "✗ redis: {url}/0: Redis: Connection refused (os error 111) — start redis-server or fix the URL; events wait in the outbox meanwhile"
        )
    );
    let _server = RedisServer::builder().port(port).start();
    let (code, lines) = env.doctor(&[("AACON_REDIS_URL", &url)]);
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(
        line(&lines, "redis"),
        format!("✓ redis: {url}/0 reachable; stream agentarea:events holds 0 entries")
    );
}

#[test]
fn a_wrong_api_token_is_broken() {
    let env = Env::new();
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("aacon"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AACON_DATA_DIR", env.dir.path().join("served"))
        .env("AACON_CONFIG_DIR", env.dir.path().join("config"))
        .env("AACON_API_TOKEN", "right-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let (code, lines) = env.doctor(&[("AACON_API_URL", &url), ("AACON_API_TOKEN", "wrong-token")]);
    let (good, good_lines) =
        env.doctor(&[("AACON_API_URL", &url), ("AACON_API_TOKEN", "right-token")]);
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(code, 1);
    let l = line(&lines, "api");
    assert!(l.starts_with(&format!("✗ api: {url}")), "{l}");
    assert!(
        l.contains("401") || l.to_lowercase().contains("token"),
        "{l}"
    );
    assert!(!lines.concat().contains("wrong-token"));
    assert_eq!(good, 0, "{good_lines:#?}");
    assert_eq!(
        line(&good_lines, "api"),
        format!("✓ api: {url} reachable, auth ok, 0 instances")
    );
    let _ = std::io::stdout().flush();
}

#[test]
fn a_data_dir_without_write_permission_is_broken_with_the_chmod_to_run() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let env = Env::new();
    let data = env.dir.path().join("data");
    let config = env.dir.path().join("config");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    // Readable and searchable by everyone, writable by no one but root.
    let mode = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    mode(env.dir.path(), 0o755);
    mode(&config, 0o755);
    mode(&data, 0o555);
    // Root writes anywhere, so as root the check runs as `nobody`, from a
    // copy of the binary that user can reach.
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let bin = env.dir.path().join("aacon");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_aacon"), &bin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_aacon"), &bin).unwrap();
    }
    let mut c = std::process::Command::new(&bin);
    c.env("AACON_DATA_DIR", &data)
        .env("AACON_CONFIG_DIR", &config)
        .env("HOME", env.dir.path())
        .env_remove("AACON_REDIS_URL")
        .env_remove("AACON_API_URL")
        .env_remove("AACON_API_TOKEN")
        .arg("doctor");
    if as_root {
        c.uid(65534).gid(65534);
    }
    let out = c.output().unwrap();
    mode(&data, 0o755);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{lines:#?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        line(&lines, "data dir"),
        format!(
            "✗ data dir: {d} is not writable: Permission denied (os error 13) — fix its permissions (chmod u+rwx {d}) or pass --data-dir",
            d = data.display()
        )
    );
}

#[test]
fn api_mode_checks_the_remote_and_names_it_not_a_local_runtime() {
    let env = Env::new();
    let serve = support::serve::Serve::start(
        &env.dir.path().join("served"),
        &env.dir.path().join("config"),
        &[],
    );
    let url = serve.url.clone();
    let (code, lines) = env.doctor(&[("AACON_API_URL", &url)]);
    drop(serve);
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(
        line(&lines, "api"),
        format!("✓ api: {url} reachable, auth ok, 0 instances")
    );
    assert_eq!(
        line(&lines, "backend"),
        format!("✓ backend: aacon serve {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(line(&lines, "runtime").starts_with("– runtime: API mode"));
    // Nothing about this machine's embedded runtime.
    for local in ["runtime host", "store", "containers", "npx", "uvx"] {
        assert!(
            !lines.iter().any(|l| l.contains(&format!(" {local}: "))),
            "{local} in {lines:#?}"
        );
    }
}

/// Stops the data dir's background host when dropped.
struct StopHost<'a>(&'a Env);

impl Drop for StopHost<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd().args(["host", "stop"]).output();
    }
}

#[test]
fn a_background_host_is_named_as_the_console_names_it() {
    let env = Env::new();
    let _stop = StopHost(&env);
    let out = env
        .cmd()
        .args(["host", "start", "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let status = env
        .cmd()
        .args(["host", "status", "-o", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let pid = doc["host"]["pid"].as_u64().expect("a host pid");
    let (_, lines) = env.doctor(&[]);
    let l = line(&lines, "runtime host");
    assert!(
        l.starts_with(&format!(
            "✓ runtime host: background host, pid {pid}, since "
        )),
        "{l}"
    );
}
