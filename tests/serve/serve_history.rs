//! `aacon serve` records every call it answers as the API's, naming the
//! token (never its value) and the peer, and answers the history on
//! `/{id}/history` and `/{id}/history/{call}` (in `/openapi.json`).

use crate::support::{self, FIXTURE};
use aacon::domain::{NewInstance, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
use aacon::platform::history::{CallKind, CallOutcome, Caller};
use aacon::platform::{Platform, PlatformError};
use serde_json::json;
use std::time::{Duration, Instant};

const TOKEN: &str = "hist-token-9d2c41";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_records_calls_with_the_tokens_name_and_answers_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let _serve = support::serve::Serve::start_with_env(
        &tmp.path().join("data"),
        &tmp.path().join("config"),
        &[],
        &[("AACON_API_TOKEN", std::ffi::OsStr::new(TOKEN))],
    );
    let mut opts = ApiOptions::new(&_serve.url);
    opts.token = Some(ApiToken::new(TOKEN).unwrap());
    let api = ApiPlatform::new(opts).unwrap();
    let inst = api
        .create(NewInstance {
            name: "fixture".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": [FIXTURE]}),
        })
        .await
        .unwrap();
    api.start(inst.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get(&inst.id.to_string()).await.unwrap().status != Status::Running {
        assert!(Instant::now() < deadline, "never running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Refused before it is sent (no such tool), and still recorded.
    let _ = api
        .call_tool(inst.id, "no-such-tool", json!({}))
        .await
        .unwrap_err();
    api.call_tool(inst.id, "echo", json!({"message": "over tcp"}))
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let calls = loop {
        let calls = api.history(inst.id, 10).await.unwrap();
        if calls.len() >= 2 {
            break calls;
        }
        assert!(Instant::now() < deadline, "not recorded: {calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        matches!(&calls[1].outcome, CallOutcome::Failed { kind, .. } if kind == "argument"),
        "{:?}",
        calls[1].outcome
    );
    let newest = &calls[0];
    assert_eq!(
        (newest.kind, newest.name.as_str()),
        (CallKind::Tool, "echo")
    );
    assert_eq!(newest.outcome, CallOutcome::Ok);
    match &newest.caller {
        Caller::Api { token, peer } => {
            assert_eq!(token.as_deref(), Some("backend.token"));
            assert!(
                peer.as_deref().is_some_and(|p| p.starts_with("127.0.0.1:")),
                "{peer:?}"
            );
        }
        other => panic!("recorded as {other:?}"),
    }
    let listed = serde_json::to_string(&calls).unwrap();
    assert!(
        !listed.contains(TOKEN),
        "the token's value is never kept: {listed}"
    );
    let full = api.history_call(inst.id, newest.id).await.unwrap();
    assert!(full.result.unwrap().contains("Echo: over tcp"));
    let e = api
        .history_call(inst.id, newest.id + 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::NotFound(m) if m.contains("no call")),
        "{e:?}"
    );

    // Described in the OpenAPI document.
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", _serve.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/v1/mcp-server-instances/{id}/history"));
    assert!(paths.contains_key("/v1/mcp-server-instances/{id}/history/{call}"));
}
