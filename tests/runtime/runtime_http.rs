//! The runtime against a real third-party server
//! (`@modelcontextprotocol/server-everything`, installed by
//! scripts/test.d/mcp-servers.sh) over stdio and Streamable HTTP, and
//! against endpoints that fail in the ways operators meet.

use crate::support::rig::*;
use aacon::domain::Status;
use aacon::platform::Platform;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn everything() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        ".aacon-test-cache/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        p.is_file(),
        "server-everything is not installed; run `bash scripts/test.d/mcp-servers.sh` (scripts/test does it)"
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_stdio_runs_with_its_tools_and_echoes() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "everything",
            json!({"command": ["node", everything().to_str().unwrap(), "stdio"]}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Running, 30).await;
    let tools = rig.rt().tools(inst.id).await;
    assert!(tools.len() >= 5, "{tools:?}");
    assert_eq!(i.tool_count, Some(tools.len() as u32));
    assert!(tools.iter().any(|t| t.name == "echo"));
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "hello from aacon"}))
        .await
        .unwrap();
    assert!(out.text.contains("hello from aacon"), "{}", out.text);
    let pid = rig.rt().pid(inst.id).unwrap();
    aacon::platform::Platform::stop(rig.platform.as_ref(), inst.id)
        .await
        .unwrap();
    rig.wait_status(inst.id, Status::Stopped, 15).await;
    wait_dead(pid, 5).await;
}

/// Start server-everything's Streamable HTTP mode bound to 127.0.0.1.
async fn everything_http(dir: &std::path::Path) -> (tokio::process::Child, u16) {
    crate::support::everything::streamable_http(dir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http_runs_and_echoes() {
    let rig = Rig::new(fast_config()).await;
    let (_server, port) = everything_http(rig.dir.path()).await;
    let inst = rig
        .start(
            "everything-http",
            json!({"endpoint_url": format!("http://127.0.0.1:{port}/mcp"), "headers": {"X-Trace": "aacon-test"}}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    let tools = rig.rt().tools(inst.id).await;
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "over http"}))
        .await
        .unwrap();
    assert!(out.text.contains("over http"), "{}", out.text);
    // The AgentArea dialect reaches the same server.
    let inst2 = rig
        .start(
            "everything-aa",
            json!({"type": "url", "endpoint": format!("http://127.0.0.1:{port}/mcp")}),
        )
        .await;
    rig.wait_status(inst2.id, Status::Running, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_said_plainly() {
    let rig = Rig::new(fast_config()).await;
    let port = free_port();
    let inst = rig
        .start(
            "refused",
            json!({"endpoint_url": format!("http://127.0.0.1:{port}/mcp")}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(
        i.status_reason.unwrap(),
        format!("connection refused by 127.0.0.1:{port} (nothing listens there)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_404_is_reported_with_its_body() {
    let rig = Rig::new(fast_config()).await;
    let port = http_stub("404 Not Found", "text/plain", "no such page here").await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let inst = rig.start("gone", json!({"endpoint_url": url})).await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(
        i.status_reason.unwrap(),
        format!(
            "{url} answered HTTP 404 Not Found: no such page here (nor does it offer the legacy HTTP+SSE transport)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_mcp_http_server_is_named_as_such() {
    let rig = Rig::new(fast_config()).await;
    let port = http_stub("200 OK", "text/html", "<html><body>welcome</body></html>").await;
    let url = format!("http://127.0.0.1:{port}/");
    let inst = rig.start("not-mcp", json!({"endpoint_url": url})).await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(
        i.status_reason.unwrap(),
        format!(
            "{url} is not an MCP server: its answer to initialize is not JSON-RPC (text/html: <html><body>welcome</body></html>)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_version_refusal_is_named_a_mismatch() {
    let rig = Rig::new(fast_config()).await;
    let port = http_stub(
        "200 OK",
        "application/json",
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Unsupported protocol version"}}"#,
    )
    .await;
    let inst = rig
        .start(
            "old-proto",
            json!({"endpoint_url": format!("http://127.0.0.1:{port}/mcp")}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("protocol version mismatch: Unsupported protocol version")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_times_out() {
    let cfg = aacon::runtime::RuntimeConfig {
        init_timeout: Duration::from_secs(1),
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    let port = http_hang().await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let inst = rig.start("silent", json!({"endpoint_url": url})).await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(
        i.status_reason.unwrap(),
        format!("{url} did not answer within 1s")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_secrets_are_resolved_only_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rig = Rig::new(fast_config()).await;
    aacon::secrets::SecretStore::open(rig.dir.path())
        .set("TOK", &aacon::secrets::SecretValue::new("hdr-canary-91"))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
                let _ = sock
                    .write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 6\r\nconnection: close\r\n\r\ndenied")
                    .await;
            });
        }
    });
    let inst = rig
        .start(
            "with-header",
            json!({"endpoint_url": format!("http://127.0.0.1:{port}/mcp"), "headers": {"Authorization": "secret_ref:TOK"}}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    let request = rx.recv().await.unwrap().to_ascii_lowercase();
    assert!(
        request.contains("authorization: hdr-canary-91"),
        "{request}"
    );
    let reason = i.status_reason.unwrap();
    assert!(reason.contains("HTTP 401"), "{reason}");
    let all = serde_json::to_string(&rig.events(inst.id).await).unwrap() + &reason;
    assert!(!all.contains("hdr-canary-91"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gone_away_is_connection_refused_not_error_sending_request() {
    let cfg = aacon::runtime::RuntimeConfig {
        probe_interval: Duration::from_millis(100),
        restart_after_failed_probes: 0,
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    let (mut server, port) = everything_http(rig.dir.path()).await;
    let inst = rig
        .start(
            "goes-away",
            json!({"endpoint_url": format!("http://127.0.0.1:{port}/mcp")}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    server.kill().await.unwrap();
    // The first probe after the kill may meet the dying keep-alive
    // connection ("the server closed the connection"); every probe after it
    // meets a closed port. HEALTH is the last probe, refreshed by each one.
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let probes = rig.platform.probes().await.unwrap();
        let last = probes.into_iter().find(|p| p.instance_id == inst.id);
        if let Some(p) = last.filter(|p| {
            !p.ok
                && p.error
                    .as_deref()
                    .is_some_and(|e| e.contains("connection refused"))
        }) {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "no probe said 'connection refused' within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !refused
            .error
            .as_deref()
            .unwrap_or("")
            .contains("error sending request"),
        "{refused:?}"
    );
    let gone = rig
        .wait(inst.id, 30, |i| {
            matches!(i.status, Status::Unhealthy | Status::Error)
        })
        .await;
    println!("{}: {:?}", gone.status, gone.status_reason);
    // Not one sentence of its history hides the cause behind the wrapper.
    for e in rig.events(inst.id).await {
        let text = serde_json::to_string(&e.data).unwrap();
        assert!(!text.contains("error sending request"), "{text}");
    }
}
