//! Restart against the real AgentArea, which has no restart route: the
//! client sends a stop, then a start, and says it was two operations.

mod support;

use aacon::domain::NewInstance;
use aacon::platform::Platform;
use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
use serde_json::json;
use support::agentarea::AgentArea;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_against_agentarea_is_a_stop_then_a_start_and_says_so() {
    let aa = tokio::task::spawn_blocking(AgentArea::shared)
        .await
        .unwrap();
    let ws = format!("ws-restart-{}", uuid::Uuid::new_v4().simple());
    let mut opts = ApiOptions::new(&aa.url);
    opts.token = Some(ApiToken::new(&aa.workspace_token(&ws)).unwrap());
    opts.workspace = Some(ws);
    let api = ApiPlatform::new(opts).unwrap();
    let inst = api
        .create(NewInstance {
            name: "restart-me".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"image": "mcp/echo:latest", "port": 8000}),
        })
        .await
        .unwrap();
    let out = api.restart(inst.id).await.unwrap();
    assert_eq!(out.instance.id, inst.id);
    assert!(
        out.message
            .contains("restarted 'restart-me' as a stop, then a start")
            && out
                .message
                .contains("has no restart, so these were two operations"),
        "{}",
        out.message
    );
    // AgentArea recorded the start last (nothing runs it here: no manager).
    let log = aa.api_log();
    let stop = log.rfind(&format!("/{}/stop", inst.id));
    let start = log.rfind(&format!("/{}/start", inst.id));
    assert!(
        matches!((stop, start), (Some(a), Some(b)) if a < b),
        "AgentArea's log shows no stop then start: {log}"
    );
    // An unknown instance is one sentence, not a pair of calls.
    let e = api.restart(uuid::Uuid::new_v4()).await.unwrap_err();
    assert!(e.to_string().starts_with("no instance with id"), "{e}");
}
