//! The bus on the embedded platform: its store and commit notification
//! drive the relay; a one-shot process flushes with `relay_once_shared`.

use crate::support;

use aacon::bus::{Live, RedisConfig, Relay, Start, relay_once_shared};
use aacon::domain::NewInstance;
use aacon::paths::DataDir;
use aacon::platform::Platform;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use serde_json::json;
use std::time::Duration;
use support::RedisServer;
use support::bus::Collector;

fn new(name: &str) -> NewInstance {
    serde_json::from_value(json!({"name": name, "json_spec": {"command": ["x"]}})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_reach_the_stream_promptly_and_one_shot_flushes_the_rest() {
    let server = RedisServer::start();
    let mut c = RedisConfig::new(&server.url()).unwrap();
    c.block = Duration::from_millis(300);
    // Only the commit notification can wake the relay in time.
    c.relay_poll = Duration::from_secs(3600);
    let dir = tempfile::tempdir().unwrap();
    let host = aacon::host::open_embedded(
        DataDir::new(dir.path().join("host")),
        EmbeddedOptions {
            role: Role::Console,
            host_runtime: true,
        },
    )
    .unwrap();
    let relay = Relay::spawn_shared(c.clone(), host.store(), host.outbox_wake());
    let (tx, mut col) = Collector::new();
    let _live = Live::start(&c, Start::Backfill(c.backfill), tx);
    col.until(Duration::from_secs(10), "connected", |c| c.connected())
        .await;

    // Give the relay time to connect and settle into waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    host.create(new("prompt")).await.unwrap();
    col.until(Duration::from_secs(5), "the create", |c| {
        c.events.len() == 1
    })
    .await;
    assert_eq!(col.events[0].instance_name(), Some("prompt"));

    // A one-shot process (own data dir, no relay running) flushes once.
    let cli = aacon::host::open_embedded(
        DataDir::new(dir.path().join("cli")),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .unwrap();
    cli.create(new("one-shot")).await.unwrap();
    assert_eq!(relay_once_shared(&c, &cli.store()).await.unwrap(), 1);
    assert_eq!(cli.store().lock().unwrap().outbox_len().unwrap(), 0);
    col.until(Duration::from_secs(5), "the one-shot create", |c| {
        c.events.len() == 2
    })
    .await;
    assert_eq!(col.events[1].instance_name(), Some("one-shot"));
    assert_eq!(relay.sent(), 1);
    assert_eq!(host.store().lock().unwrap().outbox_len().unwrap(), 0);
}
