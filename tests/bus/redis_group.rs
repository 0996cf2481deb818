//! Consumer group work distribution against a real redis-server: two
//! workers share the stream, one is killed mid-batch, the survivor claims
//! its pending entries; every entry is handled, none twice in the
//! projection, and nothing is left pending.

use crate::support;

use aacon::bus::group::WorkerHandle;
use aacon::bus::{GroupOptions, Handler, HandlerError, RedisConfig, Worker, relay_once};
use aacon::domain::Envelope;
use aacon::domain::projection::{Applied, Projection};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::RedisServer;
use support::bus::{MemOutbox, instance, step};
use tokio::sync::Notify;

#[derive(Default)]
struct Shared {
    projection: Projection,
    /// How often each event was handled (at least once delivery).
    handled: HashMap<String, usize>,
    /// How often each event changed the projection (must be exactly once).
    applied: HashMap<String, usize>,
    by_worker: HashMap<&'static str, usize>,
}

struct Apply {
    name: &'static str,
    shared: Arc<Mutex<Shared>>,
    count: usize,
    /// Hang forever before handling entry number `hang_at` (a crash mid-batch).
    hang_at: Option<usize>,
    hung: Arc<Notify>,
}

#[async_trait]
impl Handler for Apply {
    async fn handle(&mut self, _id: &str, env: &Envelope) -> Result<(), HandlerError> {
        if Some(self.count) == self.hang_at {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        self.count += 1;
        let mut s = self.shared.lock().unwrap();
        *s.handled.entry(env.event_id.clone()).or_default() += 1;
        *s.by_worker.entry(self.name).or_default() += 1;
        if !matches!(s.projection.apply(env), Applied::Ignored) {
            *s.applied.entry(env.event_id.clone()).or_default() += 1;
        }
        Ok(())
    }
}

fn cfg(url: &str) -> RedisConfig {
    let mut c = RedisConfig::new(url).unwrap();
    c.block = Duration::from_millis(200);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(300);
    c.batch = 20;
    c
}

fn opts(consumer: &str) -> GroupOptions {
    let mut o = GroupOptions::new("runtime", consumer);
    o.min_idle = Duration::from_millis(500);
    o.claim_every = Duration::from_millis(200);
    o
}

async fn publish(
    c: &RedisConfig,
    outbox: &mut MemOutbox,
    insts: &mut [aacon::domain::Instance],
    from: usize,
    n: usize,
) {
    let len = insts.len();
    for k in from..from + n {
        outbox.commit(step(&mut insts[k % len], k / len));
    }
    relay_once(c, outbox).await.unwrap();
}

async fn pending(c: &RedisConfig) -> i64 {
    let mut conn = c.connect().await.unwrap();
    let v: redis::Value = redis::cmd("XPENDING")
        .arg(&c.stream_key)
        .arg("runtime")
        .query_async(&mut conn)
        .await
        .unwrap();
    match v {
        redis::Value::Array(parts) => match parts.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("XPENDING count: {other:?}"),
        },
        other => panic!("XPENDING: {other:?}"),
    }
}

async fn wait_for(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn worker(
    c: &RedisConfig,
    name: &'static str,
    shared: &Arc<Mutex<Shared>>,
    hang_at: Option<usize>,
    hung: &Arc<Notify>,
) -> WorkerHandle {
    Worker::spawn(
        c.clone(),
        opts(name),
        Apply {
            name,
            shared: shared.clone(),
            count: 0,
            hang_at,
            hung: hung.clone(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survivor_claims_a_killed_workers_pending_entries() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut insts: Vec<_> = (0..4).map(|i| instance(&format!("w{i}"))).collect();
    for i in &insts {
        outbox.commit(Envelope::created(i, None));
    }
    publish(&c, &mut outbox, &mut insts, 0, 96).await;
    // One undecodable entry: acknowledged, counted, never handled.
    let mut conn = c.connect().await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&c.stream_key)
        .arg("*")
        .arg("__data__")
        .arg("{broken")
        .query_async(&mut conn)
        .await
        .unwrap();

    let shared = Arc::new(Mutex::new(Shared::default()));
    let hung = Arc::new(Notify::new());
    // Worker a: acks its first batch of 20, then hangs 5 entries into the second.
    let a = worker(&c, "a", &shared, Some(25), &hung);
    tokio::time::timeout(Duration::from_secs(10), hung.notified())
        .await
        .expect("worker a reached the middle of its second batch");
    // a holds its second batch: 20 delivered, unacknowledged entries.
    assert_eq!(pending(&c).await, 20);
    let b = worker(&c, "b", &shared, None, &hung);
    // Live traffic while both are up.
    publish(&c, &mut outbox, &mut insts, 96, 100).await;
    wait_for(Duration::from_secs(10), "b to take its share", || {
        shared
            .lock()
            .unwrap()
            .by_worker
            .get("b")
            .copied()
            .unwrap_or(0)
            >= 100
    })
    .await;
    // Crash: a dies holding 20 delivered, unacknowledged entries (5 handled).
    a.kill();

    let total = outbox.all().len();
    assert_eq!(total, 200);
    wait_for(Duration::from_secs(15), "every entry handled", || {
        shared.lock().unwrap().handled.len() == total
    })
    .await;
    wait_for(Duration::from_secs(5), "nothing pending", || {
        b.stats().acked.load(Ordering::Relaxed) as usize >= total - 20
    })
    .await;
    assert_eq!(pending(&c).await, 0, "every entry acknowledged");

    let s = shared.lock().unwrap();
    // Every entry handled; none twice in the projection (a claimed entry
    // older than what the projection holds is rightly ignored as stale).
    for e in outbox.all() {
        assert!(s.handled.contains_key(&e.event_id), "{}", e.event_type);
        assert!(s.applied.get(&e.event_id).is_none_or(|n| *n == 1));
    }
    assert!(s.applied.len() > total / 2);
    // At least once: the 5 that a handled before dying came again to b.
    let twice = s.handled.values().filter(|n| **n == 2).count();
    assert_eq!(twice, 5);
    assert_eq!(s.by_worker["a"], 25);
    assert_eq!(s.by_worker["b"], total - 25 + 5);
    assert!(b.stats().claimed.load(Ordering::Relaxed) >= 20);
    assert_eq!(
        a.stats().malformed.load(Ordering::Relaxed) + b.stats().malformed.load(Ordering::Relaxed),
        1
    );
    // The projection matches the producers' final state.
    for i in &insts {
        let p = s.projection.get(&i.id).unwrap();
        assert_eq!(p.aggregate_version, i.aggregate_version);
        assert_eq!(p.status, i.status);
        assert_eq!(p.desired_state, i.desired_state);
        assert_eq!(p.description, i.description);
    }
}

#[tokio::test]
async fn a_restarted_consumer_finishes_its_own_pending_first() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut insts = vec![instance("solo")];
    outbox.commit(Envelope::created(&insts[0], None));
    publish(&c, &mut outbox, &mut insts, 0, 9).await;

    let shared = Arc::new(Mutex::new(Shared::default()));
    let hung = Arc::new(Notify::new());
    let a = worker(&c, "a", &shared, Some(3), &hung);
    tokio::time::timeout(Duration::from_secs(10), hung.notified())
        .await
        .unwrap();
    a.kill();
    assert_eq!(pending(&c).await, 10);

    // Same consumer name, long min_idle: no claiming involved, it reads its
    // own pending entries (XREADGROUP from 0) at once.
    let mut o = opts("a");
    o.min_idle = Duration::from_secs(3600);
    let again = Worker::spawn(
        c.clone(),
        o,
        Apply {
            name: "a2",
            shared: shared.clone(),
            count: 0,
            hang_at: None,
            hung: hung.clone(),
        },
    );
    wait_for(Duration::from_secs(5), "own pending handled", || {
        shared.lock().unwrap().handled.len() == 10
    })
    .await;
    wait_for(Duration::from_secs(5), "acked", || {
        again.stats().acked.load(Ordering::Relaxed) == 10
    })
    .await;
    assert_eq!(pending(&c).await, 0);
    assert_eq!(again.stats().claimed.load(Ordering::Relaxed), 0);
    // A graceful stop returns within a read block.
    tokio::time::timeout(Duration::from_secs(2), again.shutdown())
        .await
        .expect("the worker stops");
}

/// Fails one event every time; handles the rest.
struct Poisoned {
    bad: String,
    attempts: Arc<Mutex<usize>>,
}

#[async_trait]
impl Handler for Poisoned {
    async fn handle(&mut self, _id: &str, env: &Envelope) -> Result<(), HandlerError> {
        if env.event_id == self.bad {
            *self.attempts.lock().unwrap() += 1;
            return Err("cannot handle this one".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_entry_failing_every_time_goes_to_the_dead_letter_stream() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut insts = vec![instance("poison")];
    outbox.commit(Envelope::created(&insts[0], None));
    publish(&c, &mut outbox, &mut insts, 0, 4).await;
    let bad = outbox.all()[2].event_id.clone();
    let attempts = Arc::new(Mutex::new(0));
    let mut o = opts("w");
    o.min_idle = Duration::from_millis(150);
    o.claim_every = Duration::from_millis(100);
    o.max_deliveries = 3;
    let w = Worker::spawn(
        c.clone(),
        o,
        Poisoned {
            bad: bad.clone(),
            attempts: attempts.clone(),
        },
    );
    wait_for(Duration::from_secs(10), "the poison entry buried", || {
        w.stats().dead.load(Ordering::Relaxed) == 1
    })
    .await;
    assert_eq!(*attempts.lock().unwrap(), 3, "handled max_deliveries times");
    assert_eq!(w.stats().acked.load(Ordering::Relaxed), 4);
    assert_eq!(pending(&c).await, 0);
    let mut conn = c.connect().await.unwrap();
    let dead: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{}:dead", c.stream_key))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let fields: HashMap<_, _> = dead[0].1.iter().cloned().collect();
    assert_eq!(fields["group"], "runtime");
    let env: Envelope = serde_json::from_str(&fields["__data__"]).unwrap();
    assert_eq!(env.event_id, bad);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(*attempts.lock().unwrap(), 3, "never handled again");
}

#[tokio::test]
async fn a_group_created_at_the_tip_skips_history() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut insts = vec![instance("tip")];
    outbox.commit(Envelope::created(&insts[0], None));
    publish(&c, &mut outbox, &mut insts, 0, 4).await;
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut o = opts("t");
    o.create_from = "$".into();
    let hung = Arc::new(Notify::new());
    let w = Worker::spawn(
        c.clone(),
        o,
        Apply {
            name: "t",
            shared: shared.clone(),
            count: 0,
            hang_at: None,
            hung,
        },
    );
    // Wait until the worker has created the group.
    let mut conn = c.connect().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let v: redis::RedisResult<redis::Value> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&c.stream_key)
            .query_async(&mut conn)
            .await;
        if matches!(v, Ok(redis::Value::Array(g)) if !g.is_empty()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no group");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    publish(&c, &mut outbox, &mut insts, 4, 2).await;
    wait_for(Duration::from_secs(5), "2 new entries", || {
        w.stats().acked.load(Ordering::Relaxed) == 2
    })
    .await;
    let s = shared.lock().unwrap();
    let all = outbox.all();
    assert_eq!(s.handled.len(), 2);
    assert!(s.handled.contains_key(&all[5].event_id));
    assert!(!s.handled.contains_key(&all[0].event_id));
}
