//! API mode's flight recorder fed by Redis: with `aacon serve --redis`, the
//! events the console receives from the stream are recorded as they are
//! (their own ids, not marked observed), and `state_at` reads them back.

use crate::support;

use aacon::bus::RedisConfig;
use aacon::domain::NewInstance;
use aacon::platform::api::{ApiOptions, ApiPlatform, RecordOptions};
use aacon::platform::{Platform, PlatformEvent, SourceState};
use chrono::Utc;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_the_stream_are_recorded_as_they_came() {
    let redis = support::RedisServer::start();
    let redis_url = format!("{}/0", redis.url());
    let dir = tempfile::tempdir().unwrap();
    let serve = support::serve::Serve::start(
        &dir.path().join("serve-data"),
        &dir.path().join("config"),
        &["--redis", &redis_url],
    );
    let mut o = ApiOptions::new(&serve.url);
    o.redis = Some(RedisConfig::new(&redis_url).unwrap());
    // Polling would take a minute: what is recorded came through Redis.
    o.poll_interval = Duration::from_secs(60);
    o.recording =
        Some(RecordOptions::new(&dir.path().join("console-data"), &o, true, 7, 256).unwrap());
    let console = ApiPlatform::new(o).unwrap();
    assert!(console.recording_problem().is_none());
    let mut rx = console.subscribe();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            Instant::now() < deadline,
            "the Redis watcher never connected"
        );
        if let Ok(Ok(PlatformEvent::Source(SourceState::Connected(_)))) =
            tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
        {
            break;
        }
    }
    assert!(console.profile().await.recorded);
    let t0 = Utc::now();
    let inst = console
        .create(NewInstance {
            name: "streamed".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": ["srv"]}),
        })
        .await
        .unwrap();
    console.start(inst.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = loop {
        let events = console
            .events_between(t0, Utc::now(), Some(inst.id))
            .await
            .unwrap_or_default();
        if let Some(e) = events
            .iter()
            .find(|e| e.event_type == "MCPServerInstanceStarted")
        {
            break e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the stream's Started never reached the recording: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(started.data.get("observed").is_none(), "{started:?}");
    assert_eq!(started.aggregate_id, Some(inst.id));
    let m = console.state_at(Utc::now()).await.unwrap();
    let shown = m.find("streamed").unwrap();
    assert_eq!(shown.desired_state.as_str(), "running");
    assert!(m.observed.is_some());
}
