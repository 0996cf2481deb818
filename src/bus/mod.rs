//! The Redis event bus: publishing the outbox to a Stream, watching the
//! Stream live (backfill, resume from the last id, reconnect with backoff),
//! sharing work through a consumer group, and listening to AgentArea's own
//! pub/sub channels.
//!
//! - [`relay`]: outbox → `XADD`, marked sent only after Redis acknowledged.
//! - [`watcher`]: `XREVRANGE` backfill, then `XREAD BLOCK` from the last id.
//! - [`group`]: `XREADGROUP`/`XACK`/`XAUTOCLAIM` workers.
//! - [`pubsub`]: AgentArea's seven channels, all three wire shapes.
//! - [`agentarea`]: pure decoding of every accepted payload shape.
//! - [`live`]: watcher + pub/sub into one sink, for the console and the CLI.
//!
//! Wiring: a runtime host runs `Relay::spawn_shared(cfg, platform.store(),
//! platform.outbox_wake())`; a one-shot command calls `relay_once_shared`
//! once after committing (failure leaves the rows for the host); watchers
//! run `Live::start(&cfg, Start::Backfill(cfg.backfill), sender)`. Build
//! `cfg` with [`RedisConfig::from_settings`].

pub mod agentarea;
pub mod backoff;
pub mod config;
pub mod entry;
pub mod full;
pub mod group;
pub mod live;
pub mod pubsub;
pub mod relay;
pub mod resp;
pub mod watcher;

pub use config::{DEFAULT_STREAM_KEY, RedisConfig};
pub use group::{GroupOptions, GroupStats, Handler, HandlerError, Worker, WorkerHandle};
pub use live::Live;
pub use relay::{Outbox, Relay, RelayHandle, RelayOnce, relay_once, relay_once_shared};
pub use watcher::{Start, WatchHandle, WatchStats, Watcher};

use crate::platform::PlatformEvent;
use async_trait::async_trait;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc};

/// Errors of the bus; each displays as one sentence, never with a password.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum BusError {
    #[error("{0}")]
    Config(String),
    #[error("Redis: {0}")]
    Redis(String),
    #[error("outbox: {0}")]
    Outbox(String),
}

/// Where decoded events go (the port's).
pub use crate::platform::{EventSink, SourceMemo};

#[async_trait]
impl EventSink for mpsc::Sender<PlatformEvent> {
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool {
        for e in batch {
            if self.send(e).await.is_err() {
                return false;
            }
        }
        true
    }
}

#[async_trait]
impl EventSink for mpsc::UnboundedSender<PlatformEvent> {
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool {
        batch.into_iter().all(|e| self.send(e).is_ok())
    }
}

/// A sink that remembers the last source state it passed on, so a
/// subscriber that arrives later (the console, after Redis connected) can
/// read where things stand instead of waiting for the next change.
#[derive(Clone)]
pub struct Remember<S> {
    pub inner: S,
    pub last: SourceMemo,
}

impl<S> Remember<S> {
    pub fn new(inner: S) -> Remember<S> {
        Remember {
            inner,
            last: SourceMemo::default(),
        }
    }
}

#[async_trait]
impl<S: EventSink> EventSink for Remember<S> {
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool {
        if let Some(state) = batch.iter().rev().find_map(|e| match e {
            PlatformEvent::Source(s) => Some(s.clone()),
            _ => None,
        }) && let Ok(mut last) = self.last.lock()
        {
            *last = Some(state);
        }
        self.inner.emit(batch).await
    }

    fn compact(&self) -> bool {
        self.inner.compact()
    }
}

#[async_trait]
impl EventSink for broadcast::Sender<PlatformEvent> {
    /// A broadcast channel never closes while we hold the sender; having no
    /// subscriber for a moment is not an end.
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool {
        for e in batch {
            let _ = self.send(e);
        }
        true
    }
}
