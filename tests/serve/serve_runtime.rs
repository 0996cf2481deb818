//! `aacon serve` hosts the runtime: an instance started through the API
//! runs (a real MCP server process), its status, tools and stderr reach an
//! API client, the same API answers on the data dir's `runtime.sock` (so a
//! CLI in a shell reaches the host's live session), and SIGTERM stops the
//! process before serve exits.

use crate::support;

use aacon::domain::{NewInstance, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform};
use aacon::platform::{Platform, PlatformError};
use serde_json::json;
use std::time::{Duration, Instant};

use crate::support::FIXTURE;

/// Pids of live processes whose command line contains `marker`.
fn pids_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmd).contains(marker) {
            out.push(pid);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_instances_and_stops_them_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut serve =
        support::serve::Serve::start(&tmp.path().join("data"), &tmp.path().join("config"), &[]);
    let url = serve.url.clone();
    let api = ApiPlatform::new(ApiOptions::new(&url)).unwrap();
    let marker = format!("serve-runtime-{}", uuid::Uuid::new_v4());
    let inst = api
        .create(NewInstance {
            name: "fixture".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": [FIXTURE], "args": ["--stderr", marker]}),
        })
        .await
        .unwrap();
    api.start(inst.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = api.get(&inst.id.to_string()).await.unwrap();
        if now.status == Status::Running {
            assert!(now.tool_count.is_some_and(|n| n > 0), "{now:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never running: {:?} {:?}",
            now.status,
            now.status_reason
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let managed = pids_with(&marker);
    assert_eq!(managed.len(), 1, "one managed process");

    // Tools, a call and the stderr tail, over TCP.
    let names: Vec<String> = Platform::tools(&api, inst.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"echo".to_string()), "{names:?}");
    let out = api
        .call_tool(inst.id, "echo", json!({"message": "over tcp"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: over tcp");
    let e = api.call_tool(inst.id, "echo", json!({})).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::Invalid(m) if m.contains("missing required property 'message'")),
        "{e:?}"
    );
    let logs = api.logs(inst.id, None).await.unwrap().lines;
    assert!(logs.iter().any(|l| l.text.contains(&marker)), "{logs:?}");

    // The same API on the runtime socket, owner-only, naming the host.
    let sock = tmp.path().join("data").join("runtime.sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        aacon::host::socket::host_pid(&sock).await,
        Some(serve.child.id())
    );
    assert!(aacon::host::socket::listening(&sock));
    let local = aacon::host::socket::client(&sock).unwrap();
    let listed = local.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, inst.id);

    // Health probes travel beside events: serve's runtime reports the last
    // probe of the running instance over TCP and over the socket alike.
    let deadline = Instant::now() + Duration::from_secs(20);
    let probe = loop {
        let probes = Platform::probes(&api).await.unwrap();
        if let Some(p) = probes.into_iter().find(|p| p.instance_id == inst.id) {
            break p;
        }
        assert!(Instant::now() < deadline, "no probe reached the API client");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(probe.ok && probe.error.is_none(), "{probe:?}");
    assert_eq!(probe.last_ok_at, Some(probe.at));
    let over_socket = Platform::probes(&local).await.unwrap();
    assert!(
        over_socket.iter().any(|p| p.instance_id == inst.id),
        "{over_socket:?}"
    );

    // `aacon tools call` typed in a shell lands in serve's live session.
    let data = tmp.path().join("data");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .arg("--data-dir")
            .arg(&data)
            .args(["tools", "call", "fixture", "pid"])
            .env("AACON_CONFIG_DIR", data.join("config"))
            .env_remove("AACON_API_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        managed[0].to_string()
    );

    // And from another machine's point of view: the same commands in API mode.
    let api_cli = |args: &'static [&'static str]| {
        let url = url.clone();
        let cli_data = tmp.path().join("cli-data");
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
                .args(["--api", &url])
                .args(args)
                .env("AACON_DATA_DIR", &cli_data)
                .env("AACON_CONFIG_DIR", cli_data.join("config"))
                .env_remove("AACON_API_TOKEN")
                .output()
                .unwrap()
        })
    };
    let out = api_cli(&["tools", "list", "fixture"]).await.unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && listed.contains("echo"), "{listed}");
    let out = api_cli(&[
        "tools",
        "call",
        "fixture",
        "echo",
        "--args",
        r#"{"message":"via api"}"#,
    ])
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Echo: via api");
    let out = api_cli(&["--read-only", "tools", "call", "fixture", "pid"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "aacon: read-only mode: calling a tool is not allowed"
    );

    serve.terminate(Duration::from_secs(20));
    assert!(
        pids_with(&marker).is_empty(),
        "the managed process outlived serve"
    );
}

/// The newest `Stopped` event of `id` and everything after it.
async fn since_last_stop(api: &ApiPlatform, id: uuid::Uuid) -> Vec<aacon::domain::Envelope> {
    let events = api
        .events(aacon::platform::EventQuery {
            instance: Some(id),
            since: None,
            limit: Some(500),
        })
        .await
        .unwrap();
    let stop = events
        .iter()
        .rposition(|e| e.event_type == "MCPServerInstanceStopped")
        .expect("a stop event");
    events[stop..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_through_serve_is_one_operation_with_a_new_process() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let serve = support::serve::Serve::start(&data, &tmp.path().join("config"), &[]);
    let api = ApiPlatform::new(ApiOptions::new(&serve.url)).unwrap();
    let marker = format!("serve-restart-{}", uuid::Uuid::new_v4());
    let inst = api
        .create(NewInstance {
            name: "fixture".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": [FIXTURE], "args": ["--stderr", marker]}),
        })
        .await
        .unwrap();
    api.start(inst.id).await.unwrap();
    let wait_for = |old: Option<u32>| {
        let marker = marker.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let pids = pids_with(&marker);
                if pids.len() == 1 && Some(pids[0]) != old {
                    return pids[0];
                }
                assert!(Instant::now() < deadline, "pids {pids:?}, before {old:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let first = wait_for(None).await;
    // Restart a running instance: until the first start has reported
    // running, its own reports (under the first start's correlation id)
    // may still land after the restart's stop.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = api.get(&inst.id.to_string()).await.unwrap();
        if now.status == Status::Running {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", now.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // serve's route: one operation, answered with the instance.
    let out = api.restart(inst.id).await.unwrap();
    assert_eq!(out.instance.id, inst.id);
    assert!(
        out.message.contains("restart requested for 'fixture'")
            && out.message.contains("the API server hosts the runtime"),
        "{}",
        out.message
    );
    let second = wait_for(Some(first)).await;
    assert_ne!(first, second);
    // The stop, the start and the runtime's reports share one correlation id.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let after = since_last_stop(&api, inst.id).await;
        let corr = after[0].correlation_id.clone();
        assert!(corr.is_some());
        let running = after.iter().any(|e| {
            e.event_type == "MCPServerInstanceStatusChanged" && e.data["status"] == "running"
        });
        if running {
            assert!(
                after
                    .iter()
                    .any(|e| e.event_type == "MCPServerInstanceStarted"),
                "{after:#?}"
            );
            assert!(after.iter().all(|e| e.correlation_id == corr), "{after:#?}");
            break;
        }
        assert!(Instant::now() < deadline, "{after:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The route is described, and the lock names serve's address.
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi.json", serve.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/v1/mcp-server-instances/{id}/restart"]["post"].is_object(),
        "{}",
        doc["paths"]
    );
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .arg("--data-dir")
            .arg(&data)
            .args(["host", "status", "-o", "json"])
            .env_remove("AACON_API_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["host"]["role"], "serve", "{status}");
    assert_eq!(
        format!("http://{}", status["host"]["address"].as_str().unwrap()),
        serve.url
    );
    assert_eq!(status["host"]["pid"], serve.child.id());
}
