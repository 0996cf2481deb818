//! A server's identity, ping, resources and prompts against a real
//! third-party server (`@modelcontextprotocol/server-everything`, installed
//! by scripts/test.d/mcp-servers.sh): through the embedded platform, the
//! `aacon resources|prompts` commands reaching a runtime host over its
//! socket, and the same commands in API mode against `aacon serve`.

use crate::support;

use crate::support::rig::*;
use aacon::domain::{NewInstance, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform};
use aacon::platform::{McpOp, Platform, PlatformError};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// `aacon ARGS` (blocking, off the runtime's threads) on `data`.
async fn aacon(data: &Path, pre: &[&str], args: &[&str]) -> std::process::Output {
    let data = data.to_path_buf();
    let args: Vec<String> = pre.iter().chain(args).map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .args(&args)
            .env("AACON_DATA_DIR", &data)
            .env("AACON_CONFIG_DIR", data.join("config"))
            .env_remove("AACON_API_URL")
            .env_remove("AACON_API_TOKEN")
            .env_remove("AACON_REDIS_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The CLI checks every command of `aacon resources` and `aacon prompts`
/// make, wherever they land (`pre`: global flags such as `--api URL`).
async fn cli_surface(data: &Path, pre: &[&str], name: &str) {
    let listed = stdout(&aacon(data, pre, &["resources", "list", name]).await);
    assert!(listed.starts_with("URI"), "{listed}");
    assert!(
        listed.contains("demo://resource/static/document/"),
        "{listed}"
    );
    let v: Value = serde_json::from_str(&stdout(
        &aacon(data, pre, &["-o", "json", "resources", "list", name]).await,
    ))
    .unwrap();
    let first = v["resources"][0]["uri"].as_str().unwrap().to_string();

    let templates = stdout(&aacon(data, pre, &["resources", "templates", name]).await);
    assert!(
        templates.contains("demo://resource/dynamic/text/{resourceId}"),
        "{templates}"
    );

    // Text as text.
    let text = stdout(
        &aacon(
            data,
            pre,
            &["resources", "read", name, "demo://resource/dynamic/text/1"],
        )
        .await,
    );
    assert!(text.contains("Resource 1"), "{text}");
    let doc = stdout(&aacon(data, pre, &["resources", "read", name, &first]).await);
    assert!(!doc.trim().is_empty(), "{first} read as nothing");
    // Binary as its type and size, and written whole with --out.
    let out = aacon(
        data,
        pre,
        &["resources", "read", name, "demo://resource/dynamic/blob/1"],
    )
    .await;
    let bin = stdout(&out);
    assert!(bin.contains("of binary data"), "{bin}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out FILE writes"));
    let file = data.join("blob.out");
    let out = aacon(
        data,
        pre,
        &[
            "resources",
            "read",
            name,
            "demo://resource/dynamic/blob/1",
            "--out",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote"));
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
    // A resource the server does not have: one sentence, exit non-zero.
    let out = aacon(
        data,
        pre,
        &["resources", "read", name, "demo://nope/nothing"],
    )
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let prompts = stdout(&aacon(data, pre, &["prompts", "list", name]).await);
    assert!(prompts.contains("args-prompt"), "{prompts}");
    assert!(
        prompts.contains("city*"),
        "required arguments are starred: {prompts}"
    );
    let got = stdout(
        &aacon(
            data,
            pre,
            &[
                "prompts",
                "get",
                name,
                "args-prompt",
                "--args",
                r#"{"city":"Lisbon","state":"Tejo"}"#,
            ],
        )
        .await,
    );
    assert!(
        got.contains("user: What's weather in Lisbon, Tejo?"),
        "{got}"
    );
    // A required argument missing: one sentence, exit 3, nothing sent.
    let out = aacon(
        data,
        pre,
        &[
            "prompts",
            "get",
            name,
            "args-prompt",
            "--args",
            r#"{"state":"Tejo"}"#,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "aacon: prompt 'args-prompt' needs an argument: city"
    );
    let out = aacon(
        data,
        pre,
        &["prompts", "get", name, "args-prompt", "--args", "[1]"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_ping_resources_and_prompts_through_the_runtime_host() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start("everything", support::everything::stdio_spec())
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    let p = rig.platform.as_ref();

    // Identity: the initialize result as the server sent it.
    let id = p.mcp(inst.id, McpOp::Identity).await.unwrap();
    assert!(
        id["serverInfo"]["name"]
            .as_str()
            .unwrap()
            .contains("everything"),
        "{id}"
    );
    assert!(id["serverInfo"]["version"].is_string(), "{id}");
    assert!(id["protocolVersion"].is_string(), "{id}");
    assert!(id["capabilities"]["resources"].is_object(), "{id}");
    assert!(id["capabilities"]["prompts"].is_object(), "{id}");
    assert!(id["instructions"].is_string(), "{id}");
    let pong = p.mcp(inst.id, McpOp::Ping).await.unwrap();
    assert_eq!(pong["ok"], json!(true));
    assert!(pong["latency_ms"].is_u64(), "{pong}");

    // Subscribe, have the server send updates, see them in the list.
    let uri = "demo://resource/dynamic/text/1".to_string();
    let sub = p
        .mcp(inst.id, McpOp::Subscribe { uri: uri.clone() })
        .await
        .unwrap();
    assert_eq!(sub["subscribed"], json!(uri));
    p.call_tool(inst.id, "toggle-subscriber-updates", json!({}))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = p.mcp(inst.id, McpOp::Resources).await.unwrap();
        if v["updated"][&uri].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "no update notice arrived: {v}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The prompt-argument check holds at the port too.
    let e = p
        .mcp(
            inst.id,
            McpOp::GetPrompt {
                name: "args-prompt".into(),
                arguments: Map::new(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        e,
        PlatformError::Invalid("prompt 'args-prompt' needs an argument: city".into())
    );

    // The CLI in a shell reaches the host's live session over its socket.
    cli_surface(rig.dir.path(), &[], "everything").await;

    // A restart is a new session: the runtime subscribes again.
    let pid = rig.rt().pid(inst.id).unwrap();
    // SAFETY: plain kill(2) on the server process group this runtime started.
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    rig.wait(inst.id, 30, |i| {
        i.restarts >= 1 && i.status == Status::Running
    })
    .await;
    p.call_tool(inst.id, "toggle-subscriber-updates", json!({}))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = p.mcp(inst.id, McpOp::Updated).await.unwrap();
        if v["updated"][&uri].is_string() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no update after the restart: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_prompts_through_aacon_serve_in_api_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let serve =
        support::serve::Serve::start(&tmp.path().join("data"), &tmp.path().join("config"), &[]);
    let api = ApiPlatform::new(ApiOptions::new(&serve.url)).unwrap();
    let inst = api
        .create(NewInstance {
            name: "everything".into(),
            description: None,
            server_spec_id: None,
            json_spec: support::everything::stdio_spec(),
        })
        .await
        .unwrap();
    api.start(inst.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get(&inst.id.to_string()).await.unwrap().status != Status::Running {
        assert!(Instant::now() < deadline, "never running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = api.mcp(inst.id, McpOp::Identity).await.unwrap();
    assert!(id["serverInfo"]["name"].is_string(), "{id}");

    // The routes are described.
    let doc: Value = reqwest::get(format!("{}/openapi.json", serve.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for route in [
        "server",
        "ping",
        "resources",
        "resources/templates",
        "resources/read",
        "resources/subscribe",
        "resources/updated",
        "prompts",
        "prompts/get",
    ] {
        let path = format!("/v1/mcp-server-instances/{{id}}/{route}");
        assert!(
            doc["paths"][&path].is_object(),
            "{path} is not in /openapi.json"
        );
    }

    let cli_data = tmp.path().join("cli-data");
    cli_surface(&cli_data, &["--api", &serve.url], "everything").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_resources_or_prompts_says_so_in_a_sentence() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig.start("plain", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let p = rig.platform.as_ref();
    for (op, what) in [(McpOp::Resources, "resources"), (McpOp::Prompts, "prompts")] {
        let e = p.mcp(inst.id, op).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the server offers no {what}: its initialize result declares no {what} capability"
            )
        );
    }
    // Its identity and a ping still answer.
    let id = p.mcp(inst.id, McpOp::Identity).await.unwrap();
    assert!(id["serverInfo"]["name"].is_string(), "{id}");
    assert_eq!(
        p.mcp(inst.id, McpOp::Ping).await.unwrap()["ok"],
        json!(true)
    );
}
