//! A full read of the retained stream, on request: a console that joined
//! with a backfill window sees only the instances whose events fall in it;
//! this reads every entry the stream still holds, oldest first, into the
//! same subscribers (each event once: the [`OnceSender`] drops what the
//! window or the live watcher delivered already).

use super::entry::{self, RawEntry};
use super::{BusError, RedisConfig};
use crate::platform::once::OnceSender;
use crate::platform::{PlatformEvent, StreamWindow};
use std::time::Duration;

/// Entries per `XRANGE`.
const BATCH: usize = 1000;

/// What a full read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullRead {
    /// Entries read (all the stream retained when the read began).
    pub read: u64,
    /// Events new to the subscribers (not seen in the window or live).
    pub fresh: u64,
    /// Entries that could not be decoded (skipped; the window shows its own).
    pub malformed: u64,
}

/// Read the whole stream into `out`, pacing itself so a slow subscriber
/// is never overrun (an overrun costs a reload, and a reload cannot bring
/// back what only the stream knows).
pub async fn read_all(cfg: &RedisConfig, out: &OnceSender) -> Result<FullRead, BusError> {
    let mut conn = cfg.connect().await?;
    let key = &cfg.stream_key;
    let len: u64 = redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut conn)
        .await
        .map_err(|e| cfg.error(e))?;
    let source = cfg.label();
    let mut from = "-".to_string();
    let mut got = FullRead {
        read: 0,
        fresh: 0,
        malformed: 0,
    };
    let mut oldest: Option<String> = None;
    while got.read < len {
        let v: redis::Value = redis::cmd("XRANGE")
            .arg(key)
            .arg(&from)
            .arg("+")
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut conn)
            .await
            .map_err(|e| cfg.error(e))?;
        let entries: Vec<RawEntry> = entry::parse_entries(v);
        let Some(last) = entries.last() else { break };
        from = format!("({}", last.id);
        if oldest.is_none() {
            oldest = entries.first().map(|e| e.id.clone());
        }
        got.read += entries.len() as u64;
        let mut batch = Vec::with_capacity(entries.len());
        for e in &entries {
            match entry::to_event(e, &source) {
                ev @ PlatformEvent::Event(_) => batch.push(ev),
                _ => got.malformed += 1,
            }
        }
        let n = batch.len() as u64;
        got.fresh += n - out.send_batch(batch) as u64;
        while out.backlog() > crate::platform::SUBSCRIBER_CAPACITY / 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    out.send_batch(vec![PlatformEvent::Window(StreamWindow {
        source,
        retained: got.read.max(len),
        read: got.read.max(len),
        since: oldest.as_deref().and_then(entry::id_time),
    })]);
    Ok(got)
}
