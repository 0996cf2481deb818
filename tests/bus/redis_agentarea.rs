//! A real AgentArea deployment's Redis: PUB/SUB on the seven event-type
//! channels, all three outer shapes (built from compat.md), the empty-data
//! Updated event, an unknown event type and garbage — decoded, shown raw,
//! or rejected and counted; the stream never stalls.

use crate::support;

use aacon::bus::agentarea::{encode_binary, encode_faststream_json};
use aacon::bus::pubsub::{PubSubListener, channels};
use aacon::bus::{RedisConfig, Start, Watcher};
use aacon::domain::projection::{Applied, Projection};
use aacon::domain::{EventType, Status};
use aacon::platform::SourceState;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::RedisServer;
use support::bus::Collector;

const WAIT: Duration = Duration::from_secs(10);
const ID: &str = "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11";

fn cfg(url: &str) -> RedisConfig {
    let mut c = RedisConfig::new(url).unwrap();
    c.block = Duration::from_millis(300);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(300);
    c
}

/// The API's Created, as FastStream 0.6 binary.
fn created_binary() -> Vec<u8> {
    let body = format!(
        r#"{{"event_id":"0b6c3c1e-2f7d-4f59-8a55-0d9a1c2b3e4f","timestamp":"1795522904.706538","event_type":"MCPServerInstanceCreated","data":{{"instance_id":"{ID}","name":"filesystem","server_spec_id":"spec-1","json_spec":{{"type":"docker","image":"mcp/filesystem","port":8000,"environment":{{"API_KEY":"plain-secret-value"}}}}}}}}"#
    );
    encode_binary(
        &[
            ("correlation_id", "4c5d6e7f-0000-4000-8000-000000000001"),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
}

/// The API's Updated with an empty `data`, as FastStream 0.5 JSON (verbatim
/// from compat.md).
const UPDATED_EMPTY: &str = r#"{"data": "{\"event_id\": \"10386c45-ecfe-4fc6-b9c2-ca56d2663348\", \"timestamp\": \"1795522904.707781\", \"event_type\": \"MCPServerInstanceUpdated\", \"data\": {}}", "headers": {"correlation_id": "88db4097-e305-44e4-9fbf-92f4f140057b", "content-type": "application/json"}}"#;

/// The Go manager's status report: outer `data` is an object.
fn status_go(status: &str) -> String {
    format!(
        r#"{{"data": {{"data": {{"instance_id": "{ID}", "name": "filesystem", "status": "{status}", "container_id": "c0ffee", "url": "http://127.0.0.1:8000", "timestamp": "2026-11-24T12:21:44Z"}}, "event_id": "evt_20261124_122144_ab12cd34", "event_type": "MCPServerInstanceStatusChanged", "timestamp": "2026-11-24T12:21:44Z"}}, "headers": {{}}}}"#
    )
}

fn error_go() -> String {
    format!(
        r#"{{"data": {{"data": {{"instance_id": "{ID}", "name": "filesystem", "error": "image pull failed", "timestamp": "2026-11-24T12:22:00Z"}}, "event_id": "evt_20261124_122200_ffee0011", "event_type": "MCPServerInstanceError", "timestamp": "2026-11-24T12:22:00Z"}}, "headers": {{}}}}"#
    )
}

const UNKNOWN: &str = r#"{"data": "{\"event_id\": \"9d3f8a2e-1111-4222-8333-944455566677\", \"timestamp\": \"1795522999.5\", \"event_type\": \"MCPServerInstanceMigrated\", \"data\": {\"instance_id\": \"x\"}}", "headers": {"correlation_id": "k"}}"#;

async fn publish(c: &RedisConfig, channel: &str, payload: &[u8]) {
    let mut conn = c.connect().await.unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1, "one subscriber on {channel}");
}

#[tokio::test]
async fn pubsub_decodes_all_shapes_shows_unknown_raw_and_counts_garbage() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let (tx, mut col) = Collector::new();
    let listener = PubSubListener::spawn(c.clone(), tx);
    col.until(WAIT, "subscribed", |c| c.connected()).await;
    assert_eq!(channels().len(), 7);

    publish(&c, "MCPServerInstanceCreated", &created_binary()).await;
    publish(&c, "MCPServerInstanceUpdated", UPDATED_EMPTY.as_bytes()).await;
    publish(
        &c,
        "MCPServerInstanceStatusChanged",
        status_go("running").as_bytes(),
    )
    .await;
    publish(&c, "MCPServerInstanceUpdated", b"\xff\xfe garbage \x00\x01").await;
    publish(
        &c,
        "MCPServerInstanceStarted",
        b"{\"data\": \"{\\\"event_id\\\": ",
    )
    .await;
    publish(&c, "MCPServerInstanceStopped", b"null").await;
    publish(&c, "MCPServerInstanceUpdated", UNKNOWN.as_bytes()).await;
    publish(&c, "MCPServerInstanceError", error_go().as_bytes()).await;

    col.until(WAIT, "5 events and 3 malformed", |c| {
        c.events.len() == 5 && c.malformed.len() == 3
    })
    .await;
    assert_eq!(listener.stats().malformed.load(Ordering::Relaxed), 3);
    assert_eq!(listener.stats().events.load(Ordering::Relaxed), 5);
    // Garbage is kept for inspection with a reason.
    assert!(col.malformed[0].0.contains("garbage"));
    assert!(col.malformed.iter().all(|(_, why)| !why.is_empty()));

    let e = &col.events;
    assert_eq!(e[0].kind(), Some(EventType::Created));
    assert_eq!(
        e[0].correlation_id.as_deref(),
        Some("4c5d6e7f-0000-4000-8000-000000000001")
    );
    assert!(!e[0].to_json().contains("plain-secret-value"));
    assert_eq!(e[1].kind(), Some(EventType::Updated));
    assert_eq!(
        e[1].correlation_id.as_deref(),
        Some("88db4097-e305-44e4-9fbf-92f4f140057b")
    );
    assert_eq!(e[1].timestamp.timestamp(), 1795522904);
    assert_eq!(e[2].event_id, "evt_20261124_122144_ab12cd34");
    assert_eq!(e[3].kind(), None);
    assert_eq!(e[3].event_type, "MCPServerInstanceMigrated");
    assert_eq!(e[4].kind(), Some(EventType::Error));

    // Mapped onto our read model, a console shows live status.
    let mut p = Projection::new();
    assert!(matches!(p.apply(&e[0]), Applied::Changed { .. }));
    assert_eq!(p.apply(&e[1]), Applied::NeedsRefresh);
    assert!(matches!(p.apply(&e[2]), Applied::Changed { .. }));
    let id = e[0].instance_id().unwrap();
    assert_eq!(p.get(&id).unwrap().status, Status::Running);
    assert_eq!(p.apply(&e[3]), Applied::Unknown);
    assert!(matches!(p.apply(&e[4]), Applied::Changed { .. }));
    let inst = p.get(&id).unwrap();
    assert_eq!(inst.status, Status::Error);
    assert_eq!(inst.status_reason.as_deref(), Some("image pull failed"));
    assert_eq!(inst.name, "filesystem");
}

#[tokio::test]
async fn pubsub_reconnects_and_asks_for_a_refresh() {
    let mut server = RedisServer::start();
    let c = cfg(&server.url());
    let (tx, mut col) = Collector::new();
    let _l = PubSubListener::spawn(c.clone(), tx);
    col.until(WAIT, "subscribed", |c| c.connected()).await;
    server.kill9();
    col.until(WAIT, "retrying", |c| {
        matches!(c.states.last(), Some(SourceState::Retrying { .. }))
    })
    .await;
    server.restart();
    col.until(WAIT, "resubscribed and refresh", |c| {
        c.connected() && c.refreshes == 1
    })
    .await;
    publish(
        &c,
        "MCPServerInstanceStatusChanged",
        status_go("stopped").as_bytes(),
    )
    .await;
    col.until(WAIT, "the event after the outage", |c| c.events.len() == 1)
        .await;
    assert_eq!(col.events[0].status(), Some(Status::Stopped));
}

#[tokio::test]
async fn faststream_entries_on_the_stream_decode_too() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut conn = c.connect().await.unwrap();
    let inner = r#"{"event_id": "b2", "timestamp": "1795522904.1", "event_type": "MCPServerInstanceStopped", "data": {}}"#;
    for payload in [
        created_binary(),
        encode_faststream_json(inner, "corr-b2").into_bytes(),
        status_go("starting").into_bytes(),
        b"\x00garbage".to_vec(),
    ] {
        let _: String = redis::cmd("XADD")
            .arg(&c.stream_key)
            .arg("*")
            .arg("__data__")
            .arg(payload)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(c, Start::Backfill(10), tx);
    col.until(WAIT, "3 events, 1 malformed", |c| {
        c.events.len() == 3 && c.malformed.len() == 1
    })
    .await;
    assert_eq!(col.events[1].correlation_id.as_deref(), Some("corr-b2"));
    assert_eq!(col.events[2].status(), Some(Status::Starting));
}

#[tokio::test]
async fn live_merges_our_stream_and_agentarea_pubsub_into_one_sink() {
    let server = RedisServer::start();
    let mut c = cfg(&server.url());
    c.agentarea_pubsub = true;
    let (tx, mut col) = Collector::new();
    let live = aacon::bus::Live::start(&c, Start::Backfill(c.backfill), tx);
    assert!(live.pubsub.is_some());
    col.until(WAIT, "both sources connected", |c| {
        c.states
            .iter()
            .filter(|s| matches!(s, SourceState::Connected(_)))
            .count()
            == 2
    })
    .await;
    publish(
        &c,
        "MCPServerInstanceStatusChanged",
        status_go("running").as_bytes(),
    )
    .await;
    let mut p = aacon::bus::relay::Publisher::connect(&c).await.unwrap();
    let ours = aacon::domain::Envelope::created(&support::bus::instance("ours"), None);
    p.publish(&[&ours]).await.unwrap();
    col.until(WAIT, "one event from each source", |c| c.events.len() == 2)
        .await;
    let ids: Vec<&str> = col.events.iter().map(|e| e.event_id.as_str()).collect();
    assert!(ids.contains(&"evt_20261124_122144_ab12cd34"));
    assert!(ids.contains(&ours.event_id.as_str()));
}

#[tokio::test]
async fn an_unanswered_ping_reconnects_the_subscription() {
    let server = RedisServer::start();
    let mut c = cfg(&server.url());
    c.keepalive = Duration::from_millis(200);
    c.read_timeout = Duration::from_millis(300);
    let (tx, mut col) = Collector::new();
    let _l = PubSubListener::spawn(c.clone(), tx);
    col.until(WAIT, "subscribed", |c| c.connected()).await;
    // The server stops answering for 1.5 s (a dead link, as seen from here).
    let mut conn = c.connect().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
    col.until(WAIT, "retrying after the missed pong", |c| {
        c.states
            .iter()
            .any(|s| matches!(s, SourceState::Retrying { .. }))
    })
    .await;
    col.until(WAIT, "resubscribed with a refresh", |c| {
        c.connected() && c.refreshes >= 1
    })
    .await;
    publish(
        &c,
        "MCPServerInstanceStatusChanged",
        status_go("running").as_bytes(),
    )
    .await;
    col.until(WAIT, "live again", |c| c.events.len() == 1).await;
}
