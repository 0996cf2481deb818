//! The stream bus against a real redis-server: publish → watch round trip,
//! backfill then live, Redis down at start, credentials, TLS.

use crate::support;

use aacon::bus::relay::Publisher;
use aacon::bus::{RedisConfig, Start, Watcher, relay_once};
use aacon::domain::{Envelope, EventType};
use aacon::platform::SourceState;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::bus::{Collector, MemOutbox, instance, step};
use support::{RedisServer, free_port};

const WAIT: Duration = Duration::from_secs(10);

fn cfg(url: &str) -> RedisConfig {
    let mut c = RedisConfig::new(url).unwrap();
    c.block = Duration::from_millis(500);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(400);
    c.connect_timeout = Duration::from_secs(1);
    c
}

fn as_value(e: &Envelope) -> Value {
    serde_json::from_str(&e.to_json()).unwrap()
}

async fn raw_entries(c: &RedisConfig) -> Vec<(String, Vec<(String, String)>)> {
    let mut conn = c.connect().await.unwrap();
    redis::cmd("XRANGE")
        .arg(&c.stream_key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn publish_then_watch_round_trip_keeps_every_envelope_field() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut inst = instance("alpha");
    let created = Envelope::created(&inst, Some("corr-create".into()));
    outbox.commit(created);
    for n in 0..3 {
        outbox.commit(step(&mut inst, n));
    }
    assert_eq!(relay_once(&c, &mut outbox).await.unwrap(), 4);
    assert_eq!(outbox.unsent(), 0);

    // On the wire: one `__data__` field holding the envelope JSON.
    let raw = raw_entries(&c).await;
    assert_eq!(raw.len(), 4);
    for (_, fields) in &raw {
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "__data__");
    }

    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(c.clone(), Start::Backfill(100), tx);
    col.until(WAIT, "4 events", |c| c.events.len() == 4).await;
    let sent = outbox.all();
    for (got, want) in col.events.iter().zip(&sent) {
        assert_eq!(as_value(got), as_value(want));
        assert!(got.event_version.is_some());
        assert_eq!(got.aggregate_id, Some(inst.id));
        assert!(got.correlation_id.is_some());
        assert_eq!(
            got.timestamp.timestamp_micros(),
            want.timestamp.timestamp_micros()
        );
    }
    assert_eq!(col.events[0].kind(), Some(EventType::Created));
    assert_eq!(col.events[0].correlation_id.as_deref(), Some("corr-create"));
    assert!(matches!(col.states[0], SourceState::Connected(_)));
}

#[tokio::test]
async fn backfill_shows_the_last_n_then_goes_live() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut inst = instance("beta");
    outbox.commit(Envelope::created(&inst, None));
    for n in 0..49 {
        outbox.commit(step(&mut inst, n));
    }
    relay_once(&c, &mut outbox).await.unwrap();
    let all = outbox.all();

    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Backfill(10), tx);
    col.until(WAIT, "backfill of 10", |c| c.events.len() >= 10)
        .await;
    let ids: Vec<&str> = col.events.iter().map(|e| e.event_id.as_str()).collect();
    let want: Vec<&str> = all[40..].iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, want, "exactly the newest 10, oldest first");
    assert_eq!(w.stats().backfilled.load(Ordering::Relaxed), 10);

    for n in 49..54 {
        outbox.commit(step(&mut inst, n));
    }
    relay_once(&c, &mut outbox).await.unwrap();
    col.until(WAIT, "5 live events", |c| c.events.len() >= 15)
        .await;
    let all = outbox.all();
    let live: Vec<&str> = col.events[10..]
        .iter()
        .map(|e| e.event_id.as_str())
        .collect();
    let want: Vec<&str> = all[50..].iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(live, want);
    col.drain_for(Duration::from_millis(300)).await;
    assert_eq!(col.events.len(), 15, "nothing older than the backfill");
    assert_eq!(w.stats().backfilled.load(Ordering::Relaxed), 10);
    let last = w.last_id().unwrap();
    assert_eq!(last, raw_entries(&c).await.last().unwrap().0);
}

#[tokio::test]
async fn start_at_tip_skips_history_and_resume_picks_up_after_last_id() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut outbox = MemOutbox::default();
    let mut inst = instance("gamma");
    outbox.commit(Envelope::created(&inst, None));
    relay_once(&c, &mut outbox).await.unwrap();

    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Tip, tx);
    col.until(WAIT, "connected", |c| c.connected()).await;
    outbox.commit(step(&mut inst, 0));
    relay_once(&c, &mut outbox).await.unwrap();
    col.until(WAIT, "1 live event", |c| !c.events.is_empty())
        .await;
    assert_eq!(col.events.len(), 1);
    assert_eq!(col.events[0].kind(), Some(EventType::Updated));
    let last = w.last_id().unwrap();
    drop(w);

    // While nobody watches, two more; a new watcher resumes after `last`.
    for n in 1..3 {
        outbox.commit(step(&mut inst, n));
    }
    relay_once(&c, &mut outbox).await.unwrap();
    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(c.clone(), Start::After(last), tx);
    col.until(WAIT, "2 resumed events", |c| c.events.len() >= 2)
        .await;
    col.drain_for(Duration::from_millis(200)).await;
    let kinds: Vec<_> = col.events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        vec![Some(EventType::Started), Some(EventType::StatusChanged)]
    );
}

#[tokio::test]
async fn redis_down_at_start_says_retrying_then_connects_when_it_appears() {
    let port = free_port();
    let c = cfg(&format!("redis://127.0.0.1:{port}"));
    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Backfill(10), tx);
    col.until(WAIT, "a retrying state", |c| {
        c.states
            .iter()
            .filter(|s| matches!(s, SourceState::Retrying { .. }))
            .count()
            >= 2
    })
    .await;
    assert!(!col.connected());
    match &col.states[0] {
        SourceState::Retrying { source, in_secs } => {
            assert!(source.contains(&port.to_string()));
            assert!(*in_secs >= 1);
        }
        other => panic!("expected retrying, got {other:?}"),
    }

    let server = RedisServer::builder().port(port).start();
    col.until(WAIT, "connected", |c| c.connected()).await;
    let mut outbox = MemOutbox::default();
    outbox.commit(Envelope::created(&instance("late"), None));
    relay_once(&c, &mut outbox).await.unwrap();
    col.until(WAIT, "the event", |c| c.events.len() == 1).await;
    assert_eq!(col.events[0].instance_name(), Some("late"));
    assert_eq!(w.stats().reconnects.load(Ordering::Relaxed), 0);
    drop(server);
}

#[tokio::test]
async fn undecodable_entries_are_counted_kept_and_do_not_stall_the_stream() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut conn = c.connect().await.unwrap();
    let good = Envelope::created(&instance("ok-one"), None).to_json();
    let _: String = redis::cmd("XADD")
        .arg(&c.stream_key)
        .arg("*")
        .arg("data") // the alternative field name is accepted
        .arg(&good)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&c.stream_key)
        .arg("*")
        .arg("__data__")
        .arg(&b"\xff\x00 not json"[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&c.stream_key)
        .arg("*")
        .arg("other")
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut p = Publisher::connect(&c).await.unwrap();
    let after = Envelope::created(&instance("ok-two"), None);
    p.publish(&[&after]).await.unwrap();

    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Backfill(100), tx);
    col.until(WAIT, "2 events and 2 malformed", |c| {
        c.events.len() == 2 && c.malformed.len() == 2
    })
    .await;
    assert_eq!(col.events[1].instance_name(), Some("ok-two"));
    assert_eq!(w.stats().malformed.load(Ordering::Relaxed), 2);
    assert!(col.malformed[0].0.contains("not json"));
    assert!(!col.malformed[0].1.is_empty());
}

#[tokio::test]
async fn credentials_from_url_or_config_with_db_index() {
    let server = RedisServer::builder().user("ops", "pa55-word-xyz").start();
    let url = format!("redis://ops:pa55-word-xyz@127.0.0.1:{}/2", server.port());
    let c = cfg(&url);
    assert!(!c.to_string().contains("pa55-word-xyz"));
    let mut outbox = MemOutbox::default();
    outbox.commit(Envelope::created(&instance("db2"), None));
    relay_once(&c, &mut outbox).await.unwrap();

    // Same credentials from config, same db: sees it.
    let from_cfg = cfg(&server.url())
        .with_username("ops")
        .with_password("pa55-word-xyz")
        .with_db(2);
    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(from_cfg, Start::Backfill(10), tx);
    col.until(WAIT, "the event in db 2", |c| c.events.len() == 1)
        .await;

    // Another db index holds another stream.
    let db0 = cfg(&server.url())
        .with_username("ops")
        .with_password("pa55-word-xyz");
    let mut conn = db0.connect().await.unwrap();
    let n: usize = redis::cmd("XLEN")
        .arg(&db0.stream_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0);

    // A wrong password fails with a message that does not show it.
    let bad = cfg(&format!(
        "redis://ops:wrong-secret-123@127.0.0.1:{}",
        server.port()
    ));
    let err = relay_once(&bad, &mut outbox).await.unwrap_err().to_string();
    assert!(!err.contains("wrong-secret-123"), "{err}");
}

#[tokio::test]
async fn rediss_with_a_private_ca() {
    let server = RedisServer::builder().tls().start();
    let mut c = cfg(&server.url());
    assert!(c.is_tls());
    c.ca_cert = Some(server.ca_cert());
    let mut outbox = MemOutbox::default();
    outbox.commit(Envelope::created(&instance("tls"), None));
    relay_once(&c, &mut outbox).await.unwrap();
    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(c.clone(), Start::Backfill(10), tx);
    col.until(WAIT, "the event over TLS", |c| c.events.len() == 1)
        .await;
    assert_eq!(col.events[0].instance_name(), Some("tls"));

    // Without the CA the server is not trusted.
    let untrusted = cfg(&server.url());
    assert!(relay_once(&untrusted, &mut outbox).await.is_err());
}

#[tokio::test]
async fn resuming_after_trimmed_entries_asks_for_a_refresh() {
    let server = RedisServer::start();
    let c = cfg(&server.url());
    let mut conn = c.connect().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        let e = Envelope::created(&instance(&format!("t{i}")), None);
        let id: String = redis::cmd("XADD")
            .arg(&c.stream_key)
            .arg("MAXLEN")
            .arg("=")
            .arg(5)
            .arg("*")
            .arg("__data__")
            .arg(e.to_json())
            .query_async(&mut conn)
            .await
            .unwrap();
        ids.push(id);
    }
    // Resuming from entry 3: entries 4..15 are gone; the 5 left arrive and
    // the subscriber is told to reload.
    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(c.clone(), Start::After(ids[3].clone()), tx);
    col.until(WAIT, "refresh and the 5 kept", |c| {
        c.refreshes == 1 && c.events.len() == 5
    })
    .await;
    assert_eq!(col.events[0].instance_name(), Some("t15"));

    // Resuming from an id still in the stream is no gap.
    let (tx, mut col) = Collector::new();
    let _w = Watcher::spawn(c.clone(), Start::After(ids[16].clone()), tx);
    col.until(WAIT, "3 events", |c| c.events.len() == 3).await;
    col.drain_for(Duration::from_millis(200)).await;
    assert_eq!(col.refreshes, 0);
}

#[tokio::test]
async fn the_relay_trims_the_stream_to_about_maxlen() {
    let server = RedisServer::start();
    let mut c = cfg(&server.url());
    c.maxlen = 100;
    c.stream_key = "custom:events".into();
    let mut outbox = MemOutbox::default();
    let mut inst = instance("trim");
    outbox.commit(Envelope::created(&inst, None));
    for n in 0..999 {
        outbox.commit(step(&mut inst, n));
    }
    relay_once(&c, &mut outbox).await.unwrap();
    let mut conn = c.connect().await.unwrap();
    let len: usize = redis::cmd("XLEN")
        .arg("custom:events")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((100..1000).contains(&len), "XLEN {len}");
    let default_len: usize = redis::cmd("XLEN")
        .arg("agentarea:events")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(default_len, 0, "only the configured key is written");
}

#[tokio::test]
async fn a_server_that_stops_answering_is_left_and_rejoined_without_a_gap() {
    let server = RedisServer::start();
    let mut c = cfg(&server.url());
    c.block = Duration::from_millis(200);
    c.read_timeout = Duration::from_millis(300);
    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Backfill(10), tx);
    col.until(WAIT, "connected", |c| c.connected()).await;
    let mut outbox = MemOutbox::default();
    let mut inst = instance("quiet");
    outbox.commit(Envelope::created(&inst, None));
    relay_once(&c, &mut outbox).await.unwrap();
    col.until(WAIT, "first event", |c| c.events.len() == 1)
        .await;

    let mut conn = c.connect().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
    let paused = std::time::Instant::now();
    // Its blocking read gets no answer: the watcher gives up on the link.
    col.until(WAIT, "retrying", |c| {
        c.states
            .iter()
            .any(|s| matches!(s, SourceState::Retrying { .. }))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(paused.elapsed())).await;
    for n in 0..3 {
        outbox.commit(step(&mut inst, n));
    }
    relay_once(&c, &mut outbox).await.unwrap();
    col.until(WAIT, "the 3 written after the pause", |c| {
        c.events.len() == 4
    })
    .await;
    assert!(w.stats().reconnects.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn requirepass_with_the_password_from_config_only() {
    let server = RedisServer::builder().password("only-pw-42").start();
    let mut outbox = MemOutbox::default();
    outbox.commit(Envelope::created(&instance("pw"), None));
    let without = cfg(&server.url());
    let err = relay_once(&without, &mut outbox).await.unwrap_err();
    assert!(err.to_string().starts_with("Redis:"), "{err}");
    assert_eq!(outbox.unsent(), 1);
    let with = cfg(&server.url()).with_password("only-pw-42");
    assert_eq!(
        with.to_string(),
        format!("redis://:***@127.0.0.1:{}/0", server.port())
    );
    assert_eq!(relay_once(&with, &mut outbox).await.unwrap(), 1);
}

#[tokio::test]
async fn a_backfill_larger_than_the_stream_reads_it_all_in_batches() {
    let server = RedisServer::start();
    let mut c = cfg(&server.url());
    c.batch = 100;
    let mut outbox = MemOutbox::default();
    let mut inst = instance("whole");
    outbox.commit(Envelope::created(&inst, None));
    for n in 0..249 {
        outbox.commit(step(&mut inst, n));
    }
    relay_once(&c, &mut outbox).await.unwrap();
    let (tx, mut col) = Collector::new();
    let w = Watcher::spawn(c.clone(), Start::Backfill(1000), tx);
    col.until(WAIT, "all 250", |c| c.events.len() == 250).await;
    let want: Vec<String> = outbox.all().into_iter().map(|e| e.event_id).collect();
    let got: Vec<String> = col.events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(got, want);
    assert_eq!(w.stats().backfilled.load(Ordering::Relaxed), 250);
    outbox.commit(step(&mut inst, 249));
    relay_once(&c, &mut outbox).await.unwrap();
    col.until(WAIT, "1 live", |c| c.events.len() == 251).await;
    assert_eq!(w.stats().backfilled.load(Ordering::Relaxed), 250);
    assert_eq!(w.stats().events.load(Ordering::Relaxed), 251);
}
