//! AgentArea's own live events: Redis PUB/SUB on seven channels named after
//! the event types, in any of the three outer shapes. Pub/sub keeps no
//! history, so after a reconnect subscribers are asked to refresh.

use super::agentarea;
use super::backoff::{Backoff, secs_ceil};
use super::entry::RAW_KEEP;
use super::{BusError, EventSink, RedisConfig};
use crate::domain::EventType;
use crate::platform::{PlatformEvent, SourceState};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::task::JoinHandle;

/// The channels AgentArea publishes on.
pub fn channels() -> Vec<&'static str> {
    EventType::ALL.iter().map(|t| t.as_str()).collect()
}

/// Counters of a listener.
#[derive(Debug, Default)]
pub struct PubSubStats {
    pub events: AtomicU64,
    pub malformed: AtomicU64,
}

/// A running listener; dropping it stops the task.
pub struct PubSubHandle {
    stats: Arc<PubSubStats>,
    join: JoinHandle<()>,
}

impl PubSubHandle {
    pub fn stats(&self) -> Arc<PubSubStats> {
        self.stats.clone()
    }
}

impl Drop for PubSubHandle {
    fn drop(&mut self) {
        self.join.abort();
    }
}

/// Decode one pub/sub message into what subscribers see.
pub fn to_event(payload: &[u8], source: &str) -> PlatformEvent {
    match agentarea::decode(payload) {
        Ok(d) => PlatformEvent::Event(Arc::new(d.envelope)),
        Err(e) => PlatformEvent::Malformed {
            source: source.to_string(),
            raw: agentarea::raw_text(payload, RAW_KEEP),
            error: e.to_string(),
        },
    }
}

/// Listens to AgentArea's channels.
pub struct PubSubListener;

impl PubSubListener {
    pub fn spawn<S: EventSink>(cfg: RedisConfig, sink: S) -> PubSubHandle {
        let stats = Arc::new(PubSubStats::default());
        let join = tokio::spawn(run(cfg, sink, stats.clone()));
        PubSubHandle { stats, join }
    }
}

async fn subscribe(cfg: &RedisConfig) -> Result<redis::aio::PubSub, BusError> {
    let client = cfg.client()?;
    let mut ps = tokio::time::timeout(cfg.connect_timeout, client.get_async_pubsub())
        .await
        .map_err(|_| BusError::Redis("connecting timed out".into()))?
        .map_err(|e| cfg.error(e))?;
    ps.subscribe(channels()).await.map_err(|e| cfg.error(e))?;
    Ok(ps)
}

async fn run<S: EventSink>(cfg: RedisConfig, sink: S, stats: Arc<PubSubStats>) {
    let source = format!("{} pub/sub", cfg.label());
    let mut backoff = Backoff::new(cfg.backoff_min, cfg.backoff_max);
    let mut connected_before = false;
    loop {
        match subscribe(&cfg).await {
            Ok(ps) => {
                let since = std::time::Instant::now();
                tracing::info!(redis = %source, "subscribed to AgentArea channels");
                let mut first = vec![PlatformEvent::Source(SourceState::Connected(
                    source.clone(),
                ))];
                if connected_before {
                    first.push(PlatformEvent::Refresh);
                }
                connected_before = true;
                if !sink.emit(first).await {
                    return;
                }
                let (mut control, stream) = ps.split();
                let mut messages = stream.ready_chunks(cfg.batch.max(1));
                // Pub/sub is silent when idle: ping so a dead link is noticed.
                let mut ping = tokio::time::interval(cfg.keepalive);
                ping.tick().await;
                loop {
                    let batch = tokio::select! {
                        b = messages.next() => match b {
                            Some(b) => b,
                            None => break,
                        },
                        _ = ping.tick() => {
                            let pong = tokio::time::timeout(
                                cfg.read_timeout,
                                control.ping::<redis::Value>(),
                            )
                            .await;
                            if !matches!(pong, Ok(Ok(_))) {
                                tracing::warn!(redis = %source, "pub/sub ping failed");
                                break;
                            }
                            continue;
                        }
                    };
                    let out: Vec<PlatformEvent> = batch
                        .iter()
                        .map(|m| to_event(m.get_payload_bytes(), &source))
                        .collect();
                    let bad = out
                        .iter()
                        .filter(|e| matches!(e, PlatformEvent::Malformed { .. }))
                        .count() as u64;
                    if bad > 0 {
                        tracing::warn!(
                            count = bad,
                            "undecodable AgentArea messages kept for inspection"
                        );
                    }
                    let good = out.len() as u64 - bad;
                    stats.events.fetch_add(good, Ordering::Relaxed);
                    stats.malformed.fetch_add(bad, Ordering::Relaxed);
                    if !sink.emit(out).await {
                        return;
                    }
                }
                tracing::warn!(redis = %source, "pub/sub connection closed");
                backoff.reset_if_stable(since.elapsed());
            }
            Err(e) => {
                tracing::warn!(redis = %source, error = %e, "cannot subscribe to AgentArea channels");
            }
        }
        let delay = backoff.next_delay();
        let retry = SourceState::Retrying {
            source: source.clone(),
            in_secs: secs_ceil(delay),
        };
        if !sink.emit(vec![PlatformEvent::Source(retry)]).await {
            return;
        }
        tokio::time::sleep(delay).await;
    }
}
