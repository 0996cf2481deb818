//! Every event once: where the event-log tail and the Redis bus meet.
//!
//! A console that hosts the runtime and watches Redis hears each of its own
//! events twice: from the tail of its store, and again when its relay's
//! `XADD` comes back through the watcher (another process on the same data
//! dir: the other way round). Both sources feed subscribers through one
//! [`OnceSender`], which forwards an event id the first time only. The
//! projection would ignore the second copy anyway; the events view and
//! `aacon events --follow` would not.

use crate::domain::projection::Seen;
use crate::platform::EventSink;
use crate::platform::PlatformEvent;
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// A broadcast sender that drops an event whose id it forwarded before
/// (the newest [`crate::domain::projection::SEEN_CAP`] ids are remembered;
/// the second copy arrives close behind the first). Everything that is
/// not an event passes as it is.
#[derive(Clone)]
pub struct OnceSender {
    tx: broadcast::Sender<PlatformEvent>,
    seen: Arc<Mutex<Seen>>,
    /// Subscribers take compact status reports ([`PlatformEvent::Status`]).
    compact: Arc<AtomicBool>,
}

impl OnceSender {
    pub fn new(tx: broadcast::Sender<PlatformEvent>) -> OnceSender {
        OnceSender {
            tx,
            seen: Arc::new(Mutex::new(Seen::default())),
            compact: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Let status reports through as compact records (every subscriber
    /// of this sender reads them: the console's platform).
    pub fn set_compact(&self, on: bool) {
        self.compact.store(on, Ordering::Relaxed);
    }

    pub fn compact(&self) -> bool {
        self.compact.load(Ordering::Relaxed)
    }

    /// Whether anyone subscribes now (an event sent while nobody does
    /// reaches nobody).
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Events queued for the slowest subscriber (a bulk reader waits
    /// while this is high).
    pub fn backlog(&self) -> usize {
        self.tx.len()
    }

    /// Forward a batch in order, minus events already forwarded; returns
    /// how many copies were dropped. Having no subscriber for a moment is
    /// fine.
    pub fn send_batch(&self, batch: Vec<PlatformEvent>) -> usize {
        let total = batch.len();
        let compact = self.compact();
        let fresh: Vec<PlatformEvent> = match self.seen.lock() {
            Ok(mut seen) => batch
                .into_iter()
                .filter(|e| match e {
                    PlatformEvent::Event(env) => seen.insert(&env.event_id),
                    PlatformEvent::Status(s) => seen.insert_uuid(s.event_id),
                    _ => true,
                })
                .map(|e| if compact { e } else { e.full() })
                .collect(),
            // A poisoned lock (a panic elsewhere): deliver rather than lose.
            Err(_) => batch
                .into_iter()
                .map(|e| if compact { e } else { e.full() })
                .collect(),
        };
        let dropped = total - fresh.len();
        for e in fresh {
            let _ = self.tx.send(e);
        }
        dropped
    }
}

#[async_trait]
impl EventSink for OnceSender {
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool {
        self.send_batch(batch);
        true
    }

    fn compact(&self) -> bool {
        OnceSender::compact(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Envelope;

    fn env(id: &str) -> PlatformEvent {
        let raw = format!(
            r#"{{"event_id":"{id}","timestamp":"2026-11-24T12:00:00Z","event_type":"MCPServerInstanceCreated","data":{{}}}}"#
        );
        let e: Envelope = serde_json::from_str(&raw).unwrap();
        PlatformEvent::Event(Arc::new(e))
    }

    fn ids(rx: &mut broadcast::Receiver<PlatformEvent>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push(match e {
                PlatformEvent::Event(e) => e.event_id.clone(),
                PlatformEvent::Refresh => "refresh".into(),
                _ => "other".into(),
            });
        }
        out
    }

    #[tokio::test]
    async fn the_second_source_of_one_event_is_dropped_whichever_comes_first() {
        let (tx, mut rx) = broadcast::channel(64);
        let tail = OnceSender::new(tx);
        let bus = tail.clone();
        let a = "8d7bd0a4-7d36-4f2e-9a5c-3a1f0f0e0001";
        let b = "8d7bd0a4-7d36-4f2e-9a5c-3a1f0f0e0002";
        assert_eq!(tail.send_batch(vec![env(a)]), 0);
        assert!(bus.emit(vec![env(a), env(b), PlatformEvent::Refresh]).await);
        assert_eq!(tail.send_batch(vec![env(b), env("evt_20261124_1")]), 1);
        bus.emit(vec![env("evt_20261124_1")]).await;
        assert_eq!(ids(&mut rx), vec![a, b, "refresh", "evt_20261124_1"]);
    }
}
