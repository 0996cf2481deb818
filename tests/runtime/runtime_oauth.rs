//! Remote servers behind OAuth, against the Python MCP SDK's auth support
//! (`tests/python/oauth_server.py`: the protected server is its own
//! authorization server, on loopback).

use crate::support::python;
use crate::support::rig::*;
use aacon::domain::Status;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_protected_server_without_a_login_shows_needs_login() {
    let rig = Rig::new(fast_config()).await;
    let server = python::spawn("oauth_server.py", &[]).await;
    let url = server.url("/mcp");
    let inst = rig.start("py-oauth", json!({"endpoint_url": url})).await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    let reason = i.status_reason.unwrap();
    assert!(
        reason.starts_with(&format!("needs login: {url} answered HTTP 401")),
        "{reason}"
    );
    // A token it never issued is refused the same way.
    let inst = rig
        .start(
            "py-oauth-bad-token",
            json!({"endpoint_url": url, "headers": {"Authorization": "Bearer not-a-token"}}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    assert!(
        i.status_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("needs login:")),
        "{:?}",
        i.status_reason
    );
}
