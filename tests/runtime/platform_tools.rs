//! The `Platform` tools and logs port on the embedded platform, against the
//! real runtime and the in-repo `mcp-fixture` server.

use crate::support::rig::*;
use aacon::domain::Status;
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::platform::{Platform, PlatformError, ReadOnly};
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_platform_lists_calls_and_tails_through_the_hosted_runtime() {
    let mut rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "fx",
            json!({"command": [FIXTURE], "args": ["--stderr", "hello from fixture"]}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let p: Arc<dyn Platform> = rig.platform.clone();

    let names: Vec<String> = p
        .tools(inst.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["echo", "add", "pid", "fail"]);

    let out = p
        .call_tool(inst.id, "echo", json!({"message": "through the port"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: through the port");
    assert!(!out.is_error);
    let out = p.call_tool(inst.id, "fail", json!({})).await.unwrap();
    assert!(out.is_error);

    // Bad arguments: refused before anything is sent, one sentence.
    let e = p
        .call_tool(inst.id, "echo", json!({"msg": 1}))
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::Invalid(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("missing required property 'message'"),
        "{e}"
    );
    let e = p.call_tool(inst.id, "echo", json!([1])).await.unwrap_err();
    assert!(matches!(e, PlatformError::Invalid(_)), "{e:?}");

    // Read-only refuses a call (it can change the world) but shows tools.
    let ro = ReadOnly(p.clone());
    let e = ro
        .call_tool(inst.id, "echo", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert_eq!(e, PlatformError::ReadOnly("calling a tool"));
    assert_eq!(ro.tools(inst.id).await.unwrap().len(), 4);

    let logs = p.logs(inst.id, None).await.unwrap().lines;
    assert!(
        logs.iter().any(|l| l.text.contains("hello from fixture")),
        "{logs:?}"
    );

    // Another process (not the host) reaches it over the runtime socket.
    let cli = aacon::host::open_embedded(
        DataDir::new(rig.dir.path()),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .unwrap();
    let out = cli
        .call_tool(inst.id, "echo", json!({"message": "via socket"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: via socket");
    let logs = cli.logs(inst.id, None).await.unwrap().lines;
    assert!(logs.iter().any(|l| l.text.contains("hello from fixture")));
    assert_eq!(cli.tools(inst.id).await.unwrap().len(), 4);

    if let Some(rt) = rig.runtime.take() {
        rt.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_result_that_echoes_a_secret_comes_back_masked() {
    let mut rig = Rig::new(fast_config()).await;
    let canary = "canary-7f3a9c2e51d4";
    aacon::secrets::SecretStore::open(rig.dir.path())
        .set("API_KEY", &aacon::secrets::SecretValue::new(canary))
        .unwrap();
    let inst = rig
        .start(
            "masked",
            json!({"command": [FIXTURE], "env_vars": {"API_KEY": "secret_ref:API_KEY"}}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let out = rig
        .platform
        .call_tool(inst.id, "echo", json!({"message": format!("key={canary}")}))
        .await
        .unwrap();
    assert!(out.text.starts_with("Echo: key="), "{}", out.text);
    assert!(!out.text.contains(canary), "{}", out.text);
    assert!(!out.result.to_string().contains(canary));
    if let Some(rt) = rig.runtime.take() {
        rt.shutdown().await;
    }
}
