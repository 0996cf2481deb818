//! `aacon serve --redis` publishes its events to a real redis-server
//! (spawned here on a free loopback port); a console in API mode with
//! Redis gets live status from the stream, not by polling.

use crate::support;

use aacon::bus::RedisConfig;
use aacon::domain::projection::Projection;
use aacon::domain::{EventType, NewInstance, Status};
use aacon::paths::DataDir;
use aacon::platform::api::{ApiOptions, ApiPlatform};
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::platform::{Platform, PlatformEvent, SourceState};
use aacon::store::StatusReport;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_status_arrives_through_redis() {
    let redis = support::RedisServer::start();
    let redis_url = format!("{}/0", redis.url());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut serve =
        support::serve::Serve::start(&data, &dir.path().join("config"), &["--redis", &redis_url]);
    let url = serve.url.clone();

    let mut o = ApiOptions::new(&url);
    o.redis = Some(RedisConfig::new(&redis_url).unwrap());
    // Polling would take a minute: whatever arrives came through Redis.
    o.poll_interval = Duration::from_secs(60);
    let console = ApiPlatform::new(o).unwrap();
    let mut rx = console.subscribe();
    // Wait until the watcher is positioned on the stream.
    let deadline = Instant::now() + Duration::from_secs(15);
    let source = loop {
        assert!(
            Instant::now() < deadline,
            "the Redis watcher never connected"
        );
        if let Ok(Ok(PlatformEvent::Source(SourceState::Connected(s)))) =
            tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
        {
            break s;
        }
    };
    assert!(
        source.contains("redis://127.0.0.1:"),
        "the header names Redis: {source}"
    );
    assert!(!source.starts_with("polling"), "{source}");

    let inst = console
        .create(NewInstance {
            name: "web".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": ["srv"]}),
        })
        .await
        .unwrap();
    let mut state = Projection::new();
    state.seed(console.list().await.unwrap());
    // The serving platform's runtime reports a status (another process on
    // the same data dir, as the runtime host's reports are).
    let runtime = aacon::host::open_embedded(
        DataDir::new(&data),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .unwrap();
    runtime
        .report_status(
            inst.id,
            StatusReport {
                status: Some(Status::Running),
                healthy_now: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while state.get(&inst.id).map(|i| i.status) != Some(Status::Running) {
        assert!(
            Instant::now() < deadline,
            "no status change through Redis; saw {kinds:?}"
        );
        if let Ok(Ok(PlatformEvent::Event(e))) =
            tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
        {
            kinds.push(e.event_type.clone());
            assert!(
                e.aggregate_version.is_some(),
                "our envelope, from the stream"
            );
            state.apply(&e);
        }
    }
    assert!(
        kinds.iter().any(|k| k == EventType::StatusChanged.as_str()),
        "{kinds:?}"
    );
    // SIGTERM: the relay flushes and the server stops cleanly.
    serve.terminate(Duration::from_secs(15));
}
