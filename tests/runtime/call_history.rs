//! The call history: a tool call typed in a shell reaches the server the
//! runtime host runs (over its socket) and is recorded exactly once, by the
//! host, as the CLI's (with its pid), its arguments redacted — the
//! instance's canary secret never stored; a call the CLI runs itself (a
//! one-shot session) is recorded by the CLI; a deleted instance keeps its
//! history, found by its id.

use crate::support::FIXTURE;
use crate::support::rig::*;
use aacon::domain::Status;
use aacon::platform::Platform;
use aacon::platform::history::{CallKind, CallOutcome, CallRecord, Caller};
use aacon::secrets::{SecretStore, SecretValue};
use serde_json::json;
use std::time::{Duration, Instant};

const CANARY: &str = "canary-hist-5e1f0a77";

async fn wait_for_calls(rig: &Rig, id: uuid::Uuid, n: usize) -> Vec<CallRecord> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = rig.platform.history(id, 100).await.unwrap();
        if calls.len() >= n {
            return calls;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} calls recorded: {calls:?}",
            calls.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_tool_call_is_recorded_once_as_the_clis_with_secrets_redacted() {
    let rig = Rig::new(fast_config()).await;
    SecretStore::open(rig.dir.path())
        .set("API_KEY", &SecretValue::new(CANARY))
        .unwrap();
    let inst = rig
        .start(
            "hist",
            json!({"command": [FIXTURE], "env_vars": {"API_KEY": "secret_ref:API_KEY"}}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let data = rig.dir.path().to_path_buf();
    let cli = move |args: Vec<String>| {
        let data = data.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                assert_cmd::Command::cargo_bin("aacon")
                    .unwrap()
                    .env("AACON_DATA_DIR", &data)
                    .env("AACON_CONFIG_DIR", data.join("config"))
                    .args(args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let args = json!({"message": format!("say {CANARY} twice")}).to_string();
    let out = cli(["tools", "call", "hist", "echo", "--args", &args]
        .map(String::from)
        .to_vec())
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(CANARY));

    // The host recorded it; the CLI (which sent it over the socket) did
    // not: one record, the CLI's.
    let calls = wait_for_calls(&rig, inst.id, 1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let c = &calls[0];
    assert!(
        matches!(c.caller, Caller::Cli { pid } if pid != std::process::id()),
        "{:?}",
        c.caller
    );
    assert_eq!((c.kind, c.name.as_str()), (CallKind::Tool, "echo"));
    assert_eq!(c.outcome, CallOutcome::Ok);
    assert!(c.redacted);
    assert_eq!(c.arguments, json!({"message": "say <redacted> twice"}));
    assert!(c.result_bytes > 0);
    let full = rig.platform.history_call(inst.id, c.id).await.unwrap();
    let kept = full.result.clone().unwrap();
    assert!(kept.contains("Echo: say"), "{kept}");
    assert!(!kept.contains(CANARY), "{kept}");
    assert!(
        full.rerun_args().is_err(),
        "redacted arguments are not sent again"
    );

    // `aacon tools history` lists it, as JSON too.
    let out = cli(["tools", "history", "hist"].map(String::from).to_vec()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table.contains("tool echo") && table.contains("CLI pid"),
        "{table}"
    );
    let out = cli(["tools", "history", "hist", "--limit", "5", "-o", "json"]
        .map(String::from)
        .to_vec())
    .await;
    let listed: Vec<CallRecord> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, c.id);

    // Stopped in the host: the CLI runs a one-shot session and records
    // the call itself.
    rig.platform.stop(inst.id).await.unwrap();
    rig.wait_status(inst.id, Status::Stopped, 10).await;
    let out = cli([
        "tools",
        "call",
        "hist",
        "echo",
        "--args",
        r#"{"message":"alone"}"#,
    ]
    .map(String::from)
    .to_vec())
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = wait_for_calls(&rig, inst.id, 2).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].arguments, json!({"message": "alone"}));
    assert!(!calls[0].redacted);
    assert!(matches!(calls[0].caller, Caller::Cli { .. }));

    // Deleted, the instance keeps its history (the audit trail), by id.
    let out = cli(["instances", "delete", "hist", "--yes"]
        .map(String::from)
        .to_vec())
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(vec![
        "tools".into(),
        "history".into(),
        inst.id.to_string(),
        "-o".into(),
        "json".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept: Vec<CallRecord> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kept.len(), 2);
    let out = cli(["tools", "history", "hist"].map(String::from).to_vec()).await;
    assert_eq!(out.status.code(), Some(4), "a name no live instance has");

    // The canary is nowhere in the store's files.
    for f in ["aacon.db", "aacon.db-wal"] {
        let path = rig.dir.path().join(f);
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "{} holds the canary",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_reads_and_prompt_gets_are_recorded_and_lists_are_not() {
    use aacon::platform::McpOp;
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start("everything", crate::support::everything::stdio_spec())
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    let p = rig.platform.as_ref();
    p.mcp(inst.id, McpOp::Resources).await.unwrap();
    let uri = "demo://resource/dynamic/text/1".to_string();
    p.mcp(inst.id, McpOp::Read { uri: uri.clone() })
        .await
        .unwrap();
    let mut args = serde_json::Map::new();
    args.insert("city".into(), json!("Lisbon"));
    p.mcp(
        inst.id,
        McpOp::GetPrompt {
            name: "args-prompt".into(),
            arguments: args,
        },
    )
    .await
    .unwrap();
    let calls = wait_for_calls(&rig, inst.id, 2).await;
    assert_eq!(calls.len(), 2, "lists are not recorded: {calls:?}");
    assert_eq!(
        (calls[0].kind, calls[0].name.as_str()),
        (CallKind::Prompt, "args-prompt")
    );
    assert_eq!(calls[0].arguments, json!({"city": "Lisbon"}));
    assert_eq!(
        (calls[1].kind, calls[1].name.as_str()),
        (CallKind::Resource, uri.as_str())
    );
    assert!(matches!(calls[1].caller, Caller::Console { pid } if pid == std::process::id()));
    assert!(
        calls
            .iter()
            .all(|c| c.outcome == CallOutcome::Ok && c.result_bytes > 0)
    );
}
