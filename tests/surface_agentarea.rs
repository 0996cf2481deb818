//! Against the real AgentArea backend (`../shared/agentarea`), which has
//! no routes for a server's resources, prompts or identity: `aacon
//! resources` and `aacon prompts` in API mode say so in one sentence.

mod support;

use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
use aacon::platform::{McpOp, Platform, PlatformError};
use serde_json::json;
use support::agentarea::AgentArea;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentarea_has_no_resources_or_prompts_and_aacon_says_so() {
    let aa = AgentArea::shared();
    let token = aa.workspace_token(&Uuid::new_v4().to_string());
    let r = reqwest::Client::new()
        .post(format!("{}/v1/mcp-server-instances/", aa.url))
        .bearer_auth(&token)
        .json(&json!({"name": "docs", "json_spec": {"type": "docker", "image": "mcp/fixture", "port": 8000}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let mut o = ApiOptions::new(&aa.url);
    o.token = Some(ApiToken::new(&token).unwrap());
    let api = ApiPlatform::new(o).unwrap();
    let inst = api.get("docs").await.unwrap();
    for op in [McpOp::Identity, McpOp::Resources, McpOp::Prompts] {
        let e = api.mcp(inst.id, op.clone()).await.unwrap_err();
        let PlatformError::Unavailable(s) = &e else {
            panic!("{op:?}: {e:?}");
        };
        assert!(
            s.ends_with("AgentArea has no such route; `aacon serve` does"),
            "{s}"
        );
        assert!(s.contains(op.doing()), "{s}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let (url, token2) = (aa.url.clone(), token.clone());
    let data = tmp.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .args([
                "--api", &url, "prompts", "get", "docs", "greet", "--args", "{}",
            ])
            .env("AACON_DATA_DIR", &data)
            .env("AACON_CONFIG_DIR", data.join("config"))
            .env("AACON_API_TOKEN", &token2)
            .env_remove("AACON_REDIS_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot do this (getting a prompt): AgentArea has no such route"),
        "{err}"
    );
}
