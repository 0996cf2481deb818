//! Shared bits of the benchmark binaries: smoke mode, percentile samples,
//! one `RESULT` line per measurement (what `scripts/bench` collects).
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// A real PostgreSQL per bench on a free loopback port: the tests' own
/// harness (`tests/support/postgres.rs`), shared, not copied.
#[path = "../../tests/support/postgres.rs"]
pub mod postgres;

/// The `lease-replica` fixture in a child process (the tests' own).
#[path = "../../tests/support/lease_replica.rs"]
pub mod lease_replica;

/// What `postgres` needs of the tests' `support::redis`.
pub mod redis {
    /// A port nobody listens on now (loopback).
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind an ephemeral port")
    }
}

/// `--test` (what `cargo bench -- --test` and `scripts/bench --smoke` pass)
/// or `AACON_BENCH_SMOKE=1`: run every bench briefly, just to prove it runs.
pub fn smoke() -> bool {
    std::env::args().any(|a| a == "--test")
        || std::env::var("AACON_BENCH_SMOKE").is_ok_and(|v| v == "1")
}

/// Pick `full` normally, `small` in smoke mode.
pub fn scale(full: usize, small: usize) -> usize {
    if smoke() { small } else { full }
}

/// Rounds of a latency row: `AACON_BENCH_ROUNDS` when set, else `full`
/// (`small` in smoke mode).
pub fn rounds(full: usize, small: usize) -> usize {
    std::env::var("AACON_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| scale(full, small))
}

/// Latency samples.
#[derive(Default)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.0.push(t.elapsed());
        r
    }

    pub fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort_unstable();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i.min(v.len() - 1)]
    }

    pub fn median(&self) -> Duration {
        self.pct(0.5)
    }

    pub fn p99(&self) -> Duration {
        self.pct(0.99)
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One line per result, machine-greppable: `RESULT row=… name=… k=v …`.
pub fn result(row: u32, name: &str, fields: &[(&str, String)]) {
    let mut s = format!("RESULT row={row} name={name}");
    for (k, v) in fields {
        s.push_str(&format!(" {k}={v}"));
    }
    println!("{s}");
}

pub fn lat(s: &Samples) -> Vec<(&'static str, String)> {
    vec![
        ("n", s.0.len().to_string()),
        ("median_ms", format!("{:.4}", ms(s.median()))),
        ("p99_ms", format!("{:.4}", ms(s.p99()))),
    ]
}

/// An embedded platform on `dir` hosting the runtime (as `aacon serve`
/// does), for the runtime benches. Call from inside a tokio runtime.
pub fn hosted_platform(
    dir: &std::path::Path,
) -> (
    std::sync::Arc<aacon::platform::embedded::EmbeddedPlatform>,
    aacon::runtime::RuntimeHandle,
) {
    use aacon::platform::embedded::{EmbeddedOptions, Role};
    let platform = std::sync::Arc::new(
        aacon::host::open_embedded(
            aacon::paths::DataDir::new(dir),
            EmbeddedOptions {
                role: Role::Serve,
                host_runtime: true,
            },
        )
        .expect("open"),
    );
    let handle = aacon::host::spawn_runtime(
        platform.clone(),
        aacon::runtime::RuntimeConfig {
            kill_on_panic: false,
            ..aacon::runtime::RuntimeConfig::default()
        },
    );
    (platform, handle)
}

/// A throwaway `redis-server` on a free loopback port (killed on drop).
pub struct Redis(std::process::Child, pub u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Redis {
    /// `None` when `redis-server` is not on PATH or does not answer.
    pub fn start() -> Option<Redis> {
        let port = redis::free_port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let r = Redis(child, port);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.1)
    }
}

/// `aacon serve` (the real binary) on a free loopback port, killed on drop.
pub struct Serve(pub std::process::Child, pub String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Serve {
    /// Start serve on data dir `data` with `env` set (e.g.
    /// `AACON_STORE_URL`) and wait for its `listening on URL` line.
    pub fn start(data: &std::path::Path, config: &std::path::Path, env: &[(&str, &str)]) -> Serve {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"));
        cmd.arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("AACON_CONFIG_DIR", config)
            .env_remove("AACON_API_TOKEN")
            .env_remove("AACON_API_URL")
            .env_remove("AACON_REDIS_URL")
            .env_remove("AACON_STORE_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn aacon serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("serve's first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve did not say where it listens: {line:?}"))
            .to_string();
        Serve(child, url)
    }
}

/// `n` instances through the store in one group commit (seeding, not
/// measured), on SQLite in `data` or on the PostgreSQL at `url`.
pub fn seed(data: &std::path::Path, url: Option<&str>, n: usize) {
    let dir = aacon::paths::DataDir::new(data).with_store_url(url.map(aacon::paths::StoreUrl::new));
    let mut store = aacon::store::port::open(&dir, "bench").expect("store");
    store
        .group(|s| {
            for i in 0..n {
                s.create(
                    aacon::domain::NewInstance {
                        name: format!("inst-{i:05}"),
                        description: Some(format!("benchmark instance {i}")),
                        server_spec_id: None,
                        json_spec: serde_json::json!({
                            "command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"],
                            "env_vars": {"LOG": "info"}
                        }),
                    },
                    None,
                )
                .expect("create");
            }
        })
        .expect("seed");
}
