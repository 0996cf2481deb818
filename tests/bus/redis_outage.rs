//! Nothing is lost across a Redis crash: `kill -9` the redis-server while a
//! producer keeps committing commands to the real SQLite store, restart it
//! (append-only, so the stream survives), and count: every committed event
//! reached the watcher, exactly once in its projected state, in order per
//! instance, and the outbox drained.

use crate::support;

use aacon::bus::{Outbox, RedisConfig, Relay, Start, Watcher};
use aacon::domain::projection::{Applied, Projection};
use aacon::domain::{DesiredState, InstancePatch, NewInstance, Status};
use aacon::platform::SourceState;
use aacon::store::{StatusReport, Store};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::RedisServer;
use support::bus::Collector;
use tokio::sync::Notify;
use uuid::Uuid;

const INSTANCES: usize = 5;
const COMMANDS: usize = 600;

fn cfg(url: &str) -> RedisConfig {
    let mut c = RedisConfig::new(url).unwrap();
    c.block = Duration::from_millis(300);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(300);
    c.connect_timeout = Duration::from_millis(500);
    c.read_timeout = Duration::from_secs(2);
    c.batch = 50;
    c
}

/// Commit one command of a deterministic mix to the store.
fn command(store: &mut Store, ids: &[Uuid], n: usize) {
    let id = ids[n % ids.len()];
    let corr = Some(format!("c{n}"));
    match (n / ids.len()) % 4 {
        0 => {
            let patch = InstancePatch {
                name: None,
                description: Some(Some(format!("rev {n}"))),
                server_spec_id: None,
                json_spec: None,
            };
            store.update(id, patch, None, corr).unwrap();
        }
        1 => {
            store.set_desired(id, DesiredState::Running, corr).unwrap();
        }
        2 => {
            let report = StatusReport {
                status: Some(if n.is_multiple_of(3) {
                    Status::Unhealthy
                } else {
                    Status::Running
                }),
                restarts: Some(n as u32),
                healthy_now: true,
                ..Default::default()
            };
            store.report_status(id, report, corr).unwrap();
        }
        _ => {
            store.set_desired(id, DesiredState::Stopped, corr).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_redis_mid_stream_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aacon.db");
    let mut server = RedisServer::builder().appendonly().start();
    let c = cfg(&server.url());

    // The relay and the producer use separate connections to one database,
    // like a runtime host and a CLI.
    let mut producer = Store::open(&db, "producer").unwrap();
    let relay_store = Store::open(&db, "relay").unwrap();
    let wake = Arc::new(Notify::new());
    let relay = Relay::spawn(c.clone(), relay_store, wake.clone());

    let (tx, mut col) = Collector::new();
    let watcher = Watcher::spawn(c.clone(), Start::Backfill(usize::MAX >> 1), tx);

    let mut ids = Vec::new();
    for i in 0..INSTANCES {
        let new: NewInstance = serde_json::from_value(json!({
            "name": format!("svc-{i}"),
            "json_spec": {"command": ["mcp-server-everything"]}
        }))
        .unwrap();
        ids.push(producer.create(new, None).unwrap().0.id);
        wake.notify_one();
    }

    // The producer commits on its own thread; Redis dies in the middle.
    let producer = Arc::new(Mutex::new(producer));
    let p = producer.clone();
    let w = wake.clone();
    let ids2 = ids.clone();
    let committing = std::thread::spawn(move || {
        for n in 0..COMMANDS {
            command(&mut p.lock().unwrap(), &ids2, n);
            w.notify_one();
            std::thread::sleep(Duration::from_millis(3));
        }
    });

    // Let some events flow, then kill -9 while commits continue.
    col.until(Duration::from_secs(20), "first events", |c| {
        c.events.len() >= 100
    })
    .await;
    server.kill9();
    let killed_at = Instant::now();
    col.until(Duration::from_secs(10), "the watcher to notice", |c| {
        matches!(c.states.last(), Some(SourceState::Retrying { .. }))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let backlog = producer.lock().unwrap().outbox_len().unwrap();
    assert!(
        backlog > 0,
        "commits kept succeeding locally while Redis was down"
    );
    server.restart();
    let outage = killed_at.elapsed();

    tokio::task::spawn_blocking(move || committing.join().unwrap())
        .await
        .unwrap();
    let total = producer.lock().unwrap().last_seq().unwrap() as usize;
    assert_eq!(total, INSTANCES + COMMANDS);

    // Delete one instance at the end: it must vanish from the projection.
    producer.lock().unwrap().delete(ids[0], None).unwrap();
    wake.notify_one();
    let total = total + 1;

    col.until(Duration::from_secs(30), "every committed event", |c| {
        c.events
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<HashSet<_>>()
            .len()
            >= total
    })
    .await;
    col.drain_for(Duration::from_millis(500)).await;

    // The outbox drained.
    let deadline = Instant::now() + Duration::from_secs(10);
    while producer.lock().unwrap().outbox_len().unwrap() > 0 {
        assert!(Instant::now() < deadline, "outbox did not drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Counted: the watcher's events are exactly the committed ones.
    let committed = producer.lock().unwrap().events_after(0, 1_000_000).unwrap();
    assert_eq!(committed.len(), total);
    let want: HashSet<&str> = committed.iter().map(|(_, e)| e.event_id.as_str()).collect();
    let got: HashSet<&str> = col.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(got, want, "every committed event arrived, nothing else");

    // Exactly once in state: each event changes the projection once.
    let mut proj = Projection::new();
    let mut applied: HashMap<String, usize> = HashMap::new();
    for e in &col.events {
        if !matches!(proj.apply(e), Applied::Ignored) {
            *applied.entry(e.event_id.clone()).or_default() += 1;
        }
    }
    assert!(applied.values().all(|n| *n == 1));
    assert_eq!(applied.len(), total);

    // Order per instance is kept (first arrivals climb in aggregate_version).
    let mut last_v: HashMap<Uuid, u64> = HashMap::new();
    let mut seen = HashSet::new();
    for e in &col.events {
        if !seen.insert(e.event_id.clone()) {
            continue;
        }
        let (Some(id), Some(v)) = (e.aggregate_id, e.aggregate_version) else {
            panic!("our events carry aggregate id and version");
        };
        let prev = last_v.insert(id, v).unwrap_or(0);
        assert!(v > prev, "instance {id}: version {v} after {prev}");
    }

    // The projected state equals the store's.
    let live = producer.lock().unwrap().list().unwrap();
    assert_eq!(proj.len(), live.len());
    assert!(proj.get(&ids[0]).is_none());
    for inst in &live {
        let p = proj.get(&inst.id).expect("projected");
        assert_eq!(p.name, inst.name);
        assert_eq!(p.description, inst.description);
        assert_eq!(p.version, inst.version);
        assert_eq!(p.status, inst.status);
        assert_eq!(p.desired_state, inst.desired_state);
        assert_eq!(p.restarts, inst.restarts);
        assert_eq!(p.aggregate_version, inst.aggregate_version);
    }

    // The outage was real on both sides.
    assert!(watcher.stats().reconnects.load(Ordering::Relaxed) >= 1);
    assert!(relay.stats().failures.load(Ordering::Relaxed) >= 1);
    assert!(matches!(relay.state(), SourceState::Connected(_)));
    eprintln!(
        "outage {outage:?}; {} deliveries for {total} events ({} duplicates dropped by the watcher)",
        col.events.len(),
        watcher.stats().duplicates.load(Ordering::Relaxed)
    );
    relay.shutdown().await;
    let _ = Outbox::pending(&mut *producer.lock().unwrap(), 1).unwrap();
}

#[tokio::test]
async fn relay_started_before_redis_waits_then_flushes_in_order() {
    let port = support::free_port();
    let c = cfg(&format!("redis://127.0.0.1:{port}"));
    let outbox = support::bus::MemOutbox::default();
    let wake = Arc::new(Notify::new());
    let relay = Relay::spawn(c.clone(), outbox.clone(), wake.clone());
    let mut inst = support::bus::instance("early");
    outbox.commit(aacon::domain::Envelope::created(&inst, None));
    for n in 0..9 {
        outbox.commit(support::bus::step(&mut inst, n));
        wake.notify_one();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !matches!(relay.state(), SourceState::Retrying { .. }) {
        assert!(Instant::now() < deadline, "relay should say it is retrying");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(outbox.unsent(), 10, "nothing marked sent without Redis");

    let _server = RedisServer::builder().port(port).start();
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox.unsent() > 0 {
        assert!(Instant::now() < deadline, "outbox did not drain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(relay.state(), SourceState::Connected(_)));
    assert_eq!(relay.sent(), 10);

    // In commit order on the stream.
    let mut conn = c.connect().await.unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&c.stream_key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let got: Vec<String> = entries
        .iter()
        .map(|(_, f)| {
            let e: aacon::domain::Envelope = serde_json::from_str(&f[0].1).unwrap();
            e.event_id
        })
        .collect();
    let want: Vec<String> = outbox.all().into_iter().map(|e| e.event_id).collect();
    assert_eq!(got, want);

    // Shutdown flushes what was committed just before.
    outbox.commit(support::bus::step(&mut inst, 9));
    relay.shutdown().await;
    assert_eq!(outbox.unsent(), 0);
}

/// An outbox whose first `mark_sent` fails, as if the process died after
/// Redis acknowledged the XADDs but before the rows were marked.
struct ForgetsFirstMark {
    inner: support::bus::MemOutbox,
    failed: bool,
}

impl Outbox for ForgetsFirstMark {
    fn pending(
        &mut self,
        limit: usize,
    ) -> Result<Vec<(i64, aacon::domain::Envelope)>, aacon::platform::PlatformError> {
        self.inner.pending(limit)
    }

    fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), aacon::platform::PlatformError> {
        if !self.failed {
            self.failed = true;
            return Err(aacon::platform::PlatformError::Internal(
                "crashed before marking".into(),
            ));
        }
        self.inner.mark_sent(seqs)
    }
}

#[tokio::test]
async fn a_resend_after_a_crash_before_marking_is_deduplicated() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let outbox = support::bus::MemOutbox::default();
    let mut inst = support::bus::instance("twice");
    outbox.commit(aacon::domain::Envelope::created(&inst, None));
    for n in 0..4 {
        outbox.commit(support::bus::step(&mut inst, n));
    }
    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Backfill(100), tx);
    let mut flaky = ForgetsFirstMark {
        inner: outbox.clone(),
        failed: false,
    };
    assert!(aacon::bus::relay_once(&c, &mut flaky).await.is_err());
    assert_eq!(outbox.unsent(), 5, "nothing marked");
    assert_eq!(aacon::bus::relay_once(&c, &mut flaky).await.unwrap(), 5);

    // The stream holds every event twice; the watcher delivers each once.
    let mut conn = c.connect().await.unwrap();
    let len: usize = redis::cmd("XLEN")
        .arg(&c.stream_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 10);
    col.until(Duration::from_secs(10), "5 events", |c| c.events.len() == 5)
        .await;
    col.drain_for(Duration::from_millis(300)).await;
    assert_eq!(col.events.len(), 5);
    assert_eq!(w.stats().duplicates.load(Ordering::Relaxed), 5);
    let mut p = Projection::new();
    let changed = col
        .events
        .iter()
        .filter(|e| !matches!(p.apply(e), Applied::Ignored))
        .count();
    assert_eq!(changed, 5);
    assert_eq!(
        p.get(&inst.id).unwrap().aggregate_version,
        inst.aggregate_version
    );
}
