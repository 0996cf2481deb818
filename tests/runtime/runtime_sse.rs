//! The legacy HTTP+SSE transport (protocol 2024-11-05) against a real
//! Python FastMCP server (`tests/python/sse_server.py`): chosen by json_spec,
//! or by falling back when the server refuses Streamable HTTP.

use crate::support::python;
use crate::support::rig::*;
use aacon::domain::Status;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastmcp_server_over_sse_by_json_spec_lists_and_calls_tools() {
    let rig = Rig::new(fast_config()).await;
    let server = python::spawn("sse_server.py", &[]).await;
    let inst = rig
        .start(
            "py-sse",
            json!({"endpoint_url": server.url("/sse"), "transport": "sse"}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Running, 30).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("connected over legacy HTTP+SSE (json_spec transport)")
    );
    let mut names: Vec<_> = rig
        .rt()
        .tools(inst.id)
        .await
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(names, ["add", "echo"]);
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "over sse"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: over sse");
    let out = rig
        .rt()
        .call_tool(inst.id, "add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(out.text, "42");
    aacon::platform::Platform::stop(rig.platform.as_ref(), inst.id)
        .await
        .unwrap();
    rig.wait_status(inst.id, Status::Stopped, 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_streamable_http_is_reached_over_sse() {
    let rig = Rig::new(fast_config()).await;
    let server = python::spawn("sse_server.py", &[]).await;
    // No `transport`: Streamable HTTP's POST to /sse gets a 405.
    let inst = rig
        .start("py-fallback", json!({"endpoint_url": server.url("/sse")}))
        .await;
    let i = rig.wait_status(inst.id, Status::Running, 30).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("connected over legacy HTTP+SSE (Streamable HTTP refused with HTTP 405)")
    );
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "fell back"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: fell back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_only_does_not_fall_back() {
    let rig = Rig::new(fast_config()).await;
    let server = python::spawn("sse_server.py", &[]).await;
    let url = server.url("/sse");
    let inst = rig
        .start(
            "py-strict",
            json!({"endpoint_url": url, "transport": "streamable-http"}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    let reason = i.status_reason.unwrap();
    assert!(
        reason.starts_with(&format!("{url} answered HTTP 405")),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_says_needs_login_on_either_transport() {
    let rig = Rig::new(fast_config()).await;
    let port = http_stub(
        "401 Unauthorized",
        "application/json",
        r#"{"error":"invalid_token"}"#,
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let words =
        |name: &str| format!("needs login: {url} answered HTTP 401; run `aacon auth login {name}`");
    // Streamable HTTP: a 401 is not a refusal of the transport, no fallback.
    let inst = rig.start("locked", json!({"endpoint_url": url})).await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(i.status_reason, Some(words("locked")));
    let inst = rig
        .start(
            "locked-sse",
            json!({"endpoint_url": url, "transport": "sse"}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 15).await;
    assert_eq!(i.status_reason, Some(words("locked-sse")));
}
