//! `@modelcontextprotocol/server-everything`, installed by
//! scripts/test.d/mcp-servers.sh into `.aacon-test-cache/npm`.

use std::path::PathBuf;

/// Its entry point (`node PATH stdio` runs it over stdio).
pub fn path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        ".aacon-test-cache/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        p.is_file(),
        "server-everything is not installed; run `bash scripts/test.d/mcp-servers.sh` (scripts/test does it)"
    );
    p
}

/// A json_spec that runs it over stdio.
pub fn stdio_spec() -> serde_json::Value {
    serde_json::json!({"command": ["node", path().to_str().unwrap(), "stdio"]})
}

/// It over Streamable HTTP on a free loopback port (its HTTP mode binds
/// every interface; a preload binds it to 127.0.0.1): the child (killed on
/// drop) and its port, once it listens. `dir` holds the preload.
pub async fn streamable_http(dir: &std::path::Path) -> (tokio::process::Child, u16) {
    let preload = dir.join("loopback.cjs");
    std::fs::write(
        &preload,
        r#"const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if (typeof a[0] === 'number' || typeof a[0] === 'string') {
    const cb = a.find((x) => typeof x === 'function');
    return listen.call(this, { port: Number(a[0]), host: '127.0.0.1' }, cb);
  }
  return listen.apply(this, a);
};
"#,
    )
    .unwrap();
    let port = super::free_port();
    let child = tokio::process::Command::new("node")
        .arg("--require")
        .arg(&preload)
        .arg(path())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "server-everything HTTP did not listen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (child, port)
}
