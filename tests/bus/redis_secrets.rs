//! The Redis password never reaches a log line, a source state (the
//! header), an error sentence or a `Debug` print — through success,
//! authentication failure and an outage.

use crate::support;

use aacon::bus::{Live, RedisConfig, Relay, Start, relay_once};
use aacon::domain::Envelope;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::RedisServer;
use support::bus::{Collector, MemOutbox, instance};
use tokio::sync::Notify;

const CANARY: &str = "canary-pw-5e1f09b7";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_password_appears_nowhere() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests in this binary hit the same callsites on threads with no
    // subscriber: have every callsite ask again, with this one set.
    tracing::callsite::rebuild_interest_cache();

    let mut server = RedisServer::builder()
        .user("ops", CANARY)
        .appendonly()
        .start();
    let url = format!("redis://ops:{CANARY}@127.0.0.1:{}/1", server.port());
    let mut c = RedisConfig::new(&url).unwrap();
    c.agentarea_pubsub = true;
    c.block = Duration::from_millis(200);
    c.backoff_min = Duration::from_millis(20);
    c.backoff_max = Duration::from_millis(100);
    c.keepalive = Duration::from_millis(100);
    c.read_timeout = Duration::from_millis(500);
    let mut seen = vec![format!("{c:?}"), c.to_string(), c.label()];

    // Working: relay, watcher and pub/sub.
    let outbox = MemOutbox::default();
    outbox.commit(Envelope::created(&instance("canary"), None));
    let wake = Arc::new(Notify::new());
    let relay = Relay::spawn(c.clone(), outbox.clone(), wake.clone());
    let (tx, mut col) = Collector::new();
    let live = Live::start(&c, Start::Backfill(10), tx);
    col.until(Duration::from_secs(10), "the event", |c| {
        c.events.len() == 1
    })
    .await;

    // An outage: every part logs errors and retries.
    server.kill9();
    outbox.commit(Envelope::created(&instance("during"), None));
    wake.notify_one();
    col.until(Duration::from_secs(10), "retrying", |c| {
        c.states
            .iter()
            .any(|s| matches!(s, aacon::platform::SourceState::Retrying { .. }))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    col.until(Duration::from_secs(10), "the event after", |c| {
        c.events.len() == 2
    })
    .await;

    // Wrong passwords: errors, never echoing what was tried or expected.
    let wrong = format!("redis://ops:{CANARY}-wrong@127.0.0.1:{}", server.port());
    let mut w = RedisConfig::new(&wrong).unwrap();
    w.connect_timeout = Duration::from_millis(500);
    let mut o = MemOutbox::default();
    seen.push(relay_once(&w, &mut o).await.unwrap_err().to_string());
    o.commit(Envelope::created(&instance("x"), None));
    seen.push(relay_once(&w, &mut o).await.unwrap_err().to_string());
    let bad_url = format!("http://ops:{CANARY}@127.0.0.1:1");
    seen.push(RedisConfig::new(&bad_url).unwrap_err().to_string());

    relay.shutdown().await;
    drop(live);
    for s in &col.states {
        seen.push(format!("{s:?}"));
    }
    for e in &col.events {
        seen.push(e.to_json());
    }
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    // Whichever part noticed the outage first (the watcher, the pub/sub
    // listener or the relay) logged it.
    let outage = [
        "event stream unavailable",
        "pub/sub ping failed",
        "cannot subscribe to AgentArea channels",
        "relay cannot reach Redis",
        "relay failed",
    ];
    assert!(
        outage.iter().any(|m| text.contains(m)),
        "the outage was logged ({} bytes of logs captured)",
        text.len()
    );
    assert!(
        text.contains("redis://ops:***@127.0.0.1"),
        "logs name the server, password masked"
    );
    seen.push(text);
    for s in &seen {
        assert!(!s.contains(CANARY), "password leaked into: {s}");
    }
}
