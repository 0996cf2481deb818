//! `aacon serve`'s log route: typed lines with a cursor (`?after=N`), a
//! bad cursor refused in the API's shape, the routes described in
//! `/openapi.json`, `logging/setLevel` refused in one sentence for a server
//! without logging, and `aacon --api URL instances logs` printing the same
//! stream.

use crate::support;

use aacon::domain::{NewInstance, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform};
use aacon::platform::{LogLevel, LogSource, McpOp, Platform};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::support::FIXTURE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_route_gives_typed_lines_after_a_cursor() {
    let tmp = tempfile::tempdir().unwrap();
    let serve =
        support::serve::Serve::start(&tmp.path().join("data"), &tmp.path().join("config"), &[]);
    let api = ApiPlatform::new(ApiOptions::new(&serve.url)).unwrap();
    let marker = format!("serve-logs-{}", uuid::Uuid::new_v4());
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
    let page = loop {
        let page = api.logs(inst.id, None).await.unwrap();
        if page.lines.iter().any(|l| l.text.contains(&marker))
            && page.lines.iter().any(|l| l.text.starts_with("running: "))
        {
            break page;
        }
        assert!(Instant::now() < deadline, "no such lines: {page:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        api.get(&inst.id.to_string()).await.unwrap().status,
        Status::Running
    );
    let stderr = page
        .lines
        .iter()
        .find(|l| l.text.contains(&marker))
        .unwrap();
    assert_eq!(stderr.source, LogSource::Stderr);
    assert!(page.lines.iter().any(|l| l.source == LogSource::Runtime));

    // The raw route: typed lines, a cursor; after it, nothing old.
    let http = reqwest::Client::new();
    let base = format!("{}/v1/mcp-server-instances/{}/logs", serve.url, inst.id);
    let get = |url: String| {
        let http = http.clone();
        async move {
            let v: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            v
        }
    };
    let v = get(base.clone()).await;
    let first = &v["lines"][0];
    for k in ["seq", "at", "level", "source", "text"] {
        assert!(!first[k].is_null(), "{k} missing in {first}");
    }
    let next = v["next"].as_u64().unwrap();
    let v = get(format!("{base}?after={next}")).await;
    assert!(
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["seq"].as_u64().unwrap() >= next),
        "{v}"
    );
    // The API client asks with the cursor as a query (not a path).
    let newer = api.logs(inst.id, Some(next)).await.unwrap();
    assert!(!newer.reset, "{newer:#?}");
    assert!(newer.lines.iter().all(|l| l.seq >= next), "{newer:#?}");
    assert!(newer.next >= next);
    let bad = http.get(format!("{base}?after=soon")).send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 422);

    // setLevel to a server without the logging capability: one sentence.
    let e = api
        .mcp(
            inst.id,
            McpOp::SetLevel {
                level: LogLevel::Debug,
            },
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("declares no logging capability"),
        "{e}"
    );

    // Described.
    let doc = get(format!("{}/openapi.json", serve.url)).await;
    let logs = &doc["paths"]["/v1/mcp-server-instances/{id}/logs"];
    assert_eq!(logs["parameters"][1]["name"], json!("after"), "{logs}");
    assert!(
        doc["paths"]["/v1/mcp-server-instances/{id}/logging/level"]["post"].is_object(),
        "logging/level is not in /openapi.json"
    );

    // The CLI in API mode prints the same stream, as JSON lines too.
    let cli_data = tmp.path().join("cli");
    std::fs::create_dir_all(cli_data.join("config")).unwrap();
    let (url, name) = (serve.url.clone(), "fixture");
    let out = tokio::task::spawn_blocking(move || {
        support::cli::ok(
            &cli_data,
            &cli_data.join("config"),
            &["--api", &url, "-o", "json", "instances", "logs", name],
            "",
        )
    })
    .await
    .unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().any(
            |l| l["source"] == json!("stderr") && l["text"].as_str().unwrap().contains(&marker)
        ),
        "{lines:?}"
    );
}
