//! Throughput floor of the bus (the benchmarks issue sets the real
//! numbers; this keeps the batched design from regressing badly even in a
//! debug build): publish and watch 100k events.

use crate::support;

use aacon::bus::{RedisConfig, Start, Watcher, relay_once};
use aacon::domain::Envelope;
use aacon::platform::PlatformEvent;
use std::time::{Duration, Instant};
use support::RedisServer;
use support::bus::{MemOutbox, instance, step};

const N: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_watch_100k_events() {
    let server = RedisServer::start();
    let mut c = RedisConfig::new(&server.url()).unwrap();
    c.batch = 1000;
    c.maxlen = 0;
    let mut outbox = MemOutbox::default();
    let mut insts: Vec<_> = (0..50).map(|i| instance(&format!("t{i}"))).collect();
    for i in &insts {
        outbox.commit(Envelope::created(i, None));
    }
    let len = insts.len();
    for k in len..N {
        outbox.commit(step(&mut insts[k % len], k / len));
    }

    let t = Instant::now();
    assert_eq!(relay_once(&c, &mut outbox).await.unwrap(), N);
    let publish = t.elapsed();

    let (tx, mut rx) = tokio::sync::mpsc::channel::<PlatformEvent>(64 * 1024);
    let t = Instant::now();
    let _w = Watcher::spawn(c.clone(), Start::After("0-0".into()), tx);
    let mut n = 0;
    while n < N {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(PlatformEvent::Event(_))) => n += 1,
            Ok(Some(_)) => {}
            other => panic!("after {n} events: {other:?}"),
        }
    }
    let watch = t.elapsed();
    let rate = |d: Duration| (N as f64 / d.as_secs_f64()) as u64;
    eprintln!(
        "publish: {N} in {publish:?} ({}/s); watch: {N} in {watch:?} ({}/s)",
        rate(publish),
        rate(watch)
    );
    // Loose floors for an unoptimized build on a shared machine.
    assert!(rate(publish) > 5_000, "publishing is far too slow");
    assert!(rate(watch) > 5_000, "watching is far too slow");
}
