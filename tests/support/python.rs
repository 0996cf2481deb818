//! Python MCP servers (`tests/python/*.py`) on the official Python SDK
//! (`mcp` on PyPI), installed by scripts/test.d/python-servers.sh into the
//! venv `.aacon-test-cache/python`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The venv's interpreter.
pub fn python() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".aacon-test-cache/python/bin/python");
    assert!(
        p.is_file(),
        "the Python MCP SDK is not installed; run `bash scripts/test.d/python-servers.sh` (scripts/test does it)"
    );
    p
}

/// A Python server on a free loopback port, killed when dropped.
pub struct PyServer {
    pub child: tokio::process::Child,
    pub port: u16,
}

impl PyServer {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Run `tests/python/{script}` with the port as its first argument, then
/// `args`; return once it listens.
pub async fn spawn(script: &str, args: &[&str]) -> PyServer {
    let port = super::free_port();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut child = tokio::process::Command::new(python())
        .arg(&path)
        .arg(port.to_string())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{script} exited before it listened: {st}");
        }
        assert!(
            Instant::now() < deadline,
            "{script} did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    PyServer { child, port }
}
