//! Row 9: 500 external instances (Streamable HTTP endpoints) against one
//! loopback MCP HTTP server reach running, beside one instance alone; and
//! whether the probes starve the event loop the UI shares: a 10 ms ticker
//! on the same runtime records how late it woke while the 500 started.
//!
//! The server is a minimal MCP Streamable HTTP endpoint in this file (axum,
//! JSON responses): initialize, notifications, tools/list, ping.

mod common;

use aacon::domain::{NewInstance, Status};
use aacon::platform::embedded::EmbeddedPlatform;
use aacon::platform::{Platform, PlatformEvent};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::{Samples, ms, result, scale};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

async fn mcp(body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(id) = req.get("id").cloned() else {
        // A notification.
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match req["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": req["params"]["protocolVersion"].as_str().unwrap_or("2025-03-26"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "bench-http", "version": "1.0.0"}
        }),
        Some("tools/list") => json!({"tools": [
            {"name": "echo", "description": "Echo", "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}}},
            {"name": "add", "description": "Add", "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}
        ]}),
        _ => json!({}),
    };
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
    )
        .into_response()
}

async fn server() -> String {
    let app = Router::new().route(
        "/mcp",
        post(mcp).get(|| async { StatusCode::METHOD_NOT_ALLOWED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/mcp")
}

/// Create and start `n` instances at once; the time until every one is
/// running (as subscribers see it), and the ticker's worst lateness.
async fn run(
    platform: &Arc<EmbeddedPlatform>,
    url: &str,
    prefix: &str,
    n: usize,
) -> (Duration, Duration, Samples) {
    let mut events = platform.subscribe();
    let stop = Arc::new(AtomicBool::new(false));
    let late = Arc::new(Mutex::new(Samples::default()));
    let ticker = {
        let stop = stop.clone();
        let late = late.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                let over = t.elapsed().saturating_sub(Duration::from_millis(10));
                late.lock().expect("late").0.push(over);
            }
        })
    };
    let t = Instant::now();
    let mut ids = HashSet::new();
    let creates: Vec<_> = (0..n)
        .map(|i| {
            let p = platform.clone();
            let spec = json!({"endpoint_url": url});
            let name = format!("{prefix}-{i}");
            tokio::spawn(async move {
                let inst = p
                    .create(NewInstance {
                        name,
                        description: None,
                        server_spec_id: None,
                        json_spec: spec,
                    })
                    .await
                    .expect("create");
                p.start(inst.id).await.expect("start");
                inst.id
            })
        })
        .collect();
    for c in creates {
        ids.insert(c.await.expect("task"));
    }
    let mut running = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while running.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Ok(PlatformEvent::Event(e))) => {
                if let Some(id) = e.instance_id()
                    && ids.contains(&id)
                    && e.status() == Some(Status::Running)
                {
                    running.insert(id);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(k))) => {
                panic!("the subscriber lagged by {k} events")
            }
            Ok(Err(e)) => panic!("event stream ended: {e}"),
            Err(_) => panic!("{} of {n} reached running within 120 s", running.len()),
        }
    }
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.await;
    let late = std::mem::take(&mut *late.lock().expect("late"));
    (took, late.pct(1.0), late)
}

fn main() {
    let n = scale(500, 20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let url = server().await;
        let (platform, handle) = common::hosted_platform(tmp.path());
        let (one, _, _) = run(&platform, &url, "one", 1).await;
        let (all, worst, late) = run(&platform, &url, "many", n).await;
        result(
            9,
            "external_to_running",
            &[
                ("instances", n.to_string()),
                ("all_running_ms", format!("{:.0}", ms(all))),
                ("one_alone_ms", format!("{:.1}", ms(one))),
                ("tick_late_median_ms", format!("{:.2}", ms(late.median()))),
                ("tick_late_p99_ms", format!("{:.2}", ms(late.p99()))),
                ("tick_late_max_ms", format!("{:.2}", ms(worst))),
            ],
        );
        handle.shutdown().await;
    });
}
