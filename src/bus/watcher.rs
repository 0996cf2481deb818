//! Watching the stream: backfill the last N (`XREVRANGE`), then
//! `XREAD BLOCK` from the last id seen. On any error: reconnect with capped
//! exponential backoff and jitter, and resume from the last id, so an
//! outage leaves no gap. Decoding happens here, in batches, off the UI.

use super::backoff::{Backoff, secs_ceil};
use super::entry::{self, RawEntry, StreamId};
use super::{BusError, EventSink, RedisConfig};
use crate::domain::projection::Seen;
use crate::domain::status_event::Names;
use crate::platform::{PlatformEvent, SourceState};
use redis::aio::MultiplexedConnection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where a watcher begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Show the last N entries, then go live.
    Backfill(usize),
    /// Only what arrives from now on.
    Tip,
    /// Everything after this stream id (resume).
    After(String),
}

/// Counters of a watcher.
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Events delivered (decoded, not duplicates).
    pub events: AtomicU64,
    /// Entries that could not be decoded.
    pub malformed: AtomicU64,
    /// Entries dropped because their `event_id` was just seen.
    pub duplicates: AtomicU64,
    /// Entries delivered by the backfill.
    pub backfilled: AtomicU64,
    /// Successful connections after the first.
    pub reconnects: AtomicU64,
}

/// A running watcher; dropping it stops the task.
pub struct WatchHandle {
    last_id: Arc<Mutex<Option<String>>>,
    stats: Arc<WatchStats>,
    join: JoinHandle<()>,
}

impl WatchHandle {
    /// The id of the last entry seen (resume a new watcher from it).
    pub fn last_id(&self) -> Option<String> {
        self.last_id.lock().ok().and_then(|g| g.clone())
    }

    pub fn stats(&self) -> Arc<WatchStats> {
        self.stats.clone()
    }

    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.join.abort();
    }
}

/// Spawns watchers.
pub struct Watcher;

impl Watcher {
    /// How many recent event ids are remembered for deduplication, at
    /// most (at least half of them: see `Seen`).
    pub const DEDUPE_WINDOW: usize = 100_000;

    pub fn spawn<S: EventSink>(cfg: RedisConfig, start: Start, sink: S) -> WatchHandle {
        let last_id = Arc::new(Mutex::new(match &start {
            Start::After(id) => Some(id.clone()),
            _ => None,
        }));
        let stats = Arc::new(WatchStats::default());
        let join = tokio::spawn(run(cfg, start, sink, last_id.clone(), stats.clone()));
        WatchHandle {
            last_id,
            stats,
            join,
        }
    }
}

/// What the reader hands the decoder, in stream order.
enum Msg {
    Entries {
        entries: Vec<RawEntry>,
        backfill: bool,
    },
    Other(PlatformEvent),
}

/// The decoder: decodes, dedupes, delivers, and advances the last id
/// (the id of the last entry *delivered*). It runs beside the reader, so
/// the next `XREAD` is in flight while a batch is decoded.
async fn decode_loop<S: EventSink>(
    mut rx: mpsc::Receiver<Msg>,
    sink: S,
    source: String,
    last_id: Arc<Mutex<Option<String>>>,
    stats: Arc<WatchStats>,
) {
    // Recently seen event ids, bounded (the projection dedupes fully; this
    // keeps relay re-sends out of the events view).
    let mut recent = Seen::with_cap(Watcher::DEDUPE_WINDOW);
    let mut names = Names::default();
    while let Some(msg) = rx.recv().await {
        let (entries, backfill) = match msg {
            Msg::Other(e) => {
                if !sink.emit(vec![e]).await {
                    return;
                }
                continue;
            }
            Msg::Entries { entries, backfill } => (entries, backfill),
        };
        let Some(newest) = entries.last().map(|e| e.id.clone()) else {
            continue;
        };
        let mut out = Vec::with_capacity(entries.len());
        let mut n = 0u64;
        let mut bad = 0u64;
        let compact = sink.compact();
        for e in &entries {
            let ev = if compact {
                entry::to_event_compact(e, &source, &mut names)
            } else {
                entry::to_event(e, &source)
            };
            let fresh = match &ev {
                PlatformEvent::Event(env) => Some(recent.insert(&env.event_id)),
                PlatformEvent::Status(s) => Some(recent.insert_uuid(s.event_id)),
                _ => None,
            };
            match fresh {
                Some(true) => {
                    n += 1;
                    out.push(ev);
                }
                Some(false) => {
                    stats.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    bad += 1;
                    out.push(ev);
                }
            }
        }
        if bad > 0 {
            // One line per batch, however much garbage arrives.
            stats.malformed.fetch_add(bad, Ordering::Relaxed);
            tracing::warn!(count = bad, last = %newest, "undecodable stream entries kept for inspection");
        }
        // Counted before delivery, so a receiver never sees stale counts.
        stats.events.fetch_add(n, Ordering::Relaxed);
        if backfill {
            stats.backfilled.fetch_add(n, Ordering::Relaxed);
        }
        if !out.is_empty() {
            if !sink.emit(out).await {
                return;
            }
            tracing::trace!(target: "aacon::stage", "emitted");
        }
        if let Ok(mut g) = last_id.lock() {
            *g = Some(newest);
        }
    }
}

enum Stop {
    /// The connection failed: reconnect.
    Error(BusError),
    /// Nobody listens any more: end.
    Closed,
}

/// The reader's connection: its own RESP reader over plain TCP (replies
/// read from the bytes, no reply tree), redis-rs for TLS and Unix sockets.
enum Link {
    Raw(Box<super::resp::Conn>),
    Client(MultiplexedConnection),
}

impl Link {
    async fn open(cfg: &RedisConfig) -> Result<Link, BusError> {
        match super::resp::Conn::connect(cfg).await {
            Some(raw) => raw.map(|c| Link::Raw(Box::new(c))),
            None => cfg
                .connect_with(&cfg.blocking_connection_config())
                .await
                .map(Link::Client),
        }
    }

    async fn xlen(&mut self, cfg: &RedisConfig) -> Result<usize, BusError> {
        match self {
            Link::Raw(c) => c.xlen(&cfg.stream_key).await,
            Link::Client(c) => redis::cmd("XLEN")
                .arg(&cfg.stream_key)
                .query_async(c)
                .await
                .map_err(|e| cfg.error(e)),
        }
    }

    /// The oldest `count` entries (`XRANGE`), or the newest (`XREVRANGE`,
    /// newest first).
    async fn range(
        &mut self,
        cfg: &RedisConfig,
        rev: bool,
        count: usize,
    ) -> Result<Vec<RawEntry>, BusError> {
        match self {
            Link::Raw(c) => c.range(&cfg.stream_key, rev, count).await,
            Link::Client(c) => {
                let (cmd, a, b) = if rev {
                    ("XREVRANGE", "+", "-")
                } else {
                    ("XRANGE", "-", "+")
                };
                let v: redis::Value = redis::cmd(cmd)
                    .arg(&cfg.stream_key)
                    .arg(a)
                    .arg(b)
                    .arg("COUNT")
                    .arg(count)
                    .query_async(c)
                    .await
                    .map_err(|e| cfg.error(e))?;
                Ok(entry::parse_entries(v))
            }
        }
    }

    /// `XREAD COUNT batch BLOCK block` after `from`.
    async fn xread(&mut self, cfg: &RedisConfig, from: &str) -> Result<Vec<RawEntry>, BusError> {
        let count = cfg.batch.max(1);
        let block = cfg.block.max(std::time::Duration::from_millis(1));
        match self {
            Link::Raw(c) => c.xread(&cfg.stream_key, count, Some(block), from).await,
            Link::Client(c) => {
                let v: redis::Value = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(count)
                    .arg("BLOCK")
                    .arg(block.as_millis() as u64)
                    .arg("STREAMS")
                    .arg(&cfg.stream_key)
                    .arg(from)
                    .query_async(c)
                    .await
                    .map_err(|e| cfg.error(e))?;
                Ok(entry::parse_read_reply(v))
            }
        }
    }
}

/// The reader: owns the connection and the read cursor.
struct Reader {
    cfg: RedisConfig,
    tx: mpsc::Sender<Msg>,
    /// The id of the last entry read (ahead of the delivered last id by at
    /// most what is queued for the decoder).
    cursor: Option<String>,
    /// While reading a whole-stream backfill forward: its newest id.
    backfill_tip: Option<StreamId>,
}

impl Reader {
    async fn send(&self, m: Msg) -> Result<(), Stop> {
        self.tx.send(m).await.map_err(|_| Stop::Closed)
    }

    async fn entries(&mut self, entries: Vec<RawEntry>, backfill: bool) -> Result<(), Stop> {
        if let Some(last) = entries.last() {
            let id = StreamId::parse(&last.id);
            let backfill = backfill || (id.is_some() && id <= self.backfill_tip);
            self.cursor = Some(last.id.clone());
            self.send(Msg::Entries { entries, backfill }).await?;
        }
        Ok(())
    }

    /// The id of the oldest entry the stream retains.
    async fn oldest_id(&self, conn: &mut Link) -> Result<Option<String>, Stop> {
        let entries = conn.range(&self.cfg, false, 1).await.map_err(Stop::Error)?;
        Ok(entries.into_iter().next().map(|e| e.id))
    }

    /// What the first positioning reads: the last `n` of `len` entries
    /// (all of them when `n >= len`), from `first` (the oldest read).
    async fn window(
        &self,
        conn: &mut Link,
        len: usize,
        n: usize,
        first: Option<&str>,
    ) -> Result<crate::platform::StreamWindow, Stop> {
        let oldest = if n >= len && len > 0 {
            self.oldest_id(conn).await?
        } else if n == 0 {
            None
        } else {
            first.map(str::to_string)
        };
        Ok(crate::platform::StreamWindow {
            source: self.cfg.label(),
            retained: len as u64,
            read: n.min(len) as u64,
            since: oldest.as_deref().and_then(entry::id_time),
        })
    }

    /// Position (backfill or resume check), say `up` once positioned, then
    /// read live until an error.
    async fn session(
        &mut self,
        conn: &mut Link,
        start: &Start,
        resumed: bool,
        up: PlatformEvent,
    ) -> Result<(), Stop> {
        let mut backfill = Vec::new();
        let mut refresh = false;
        match self.cursor.clone() {
            None => {
                let n = match start {
                    Start::Backfill(n) => *n,
                    _ => 0,
                };
                let len = conn.xlen(&self.cfg).await.map_err(Stop::Error)?;
                let count = if n >= len { 1 } else { n.max(1) };
                let mut entries = conn
                    .range(&self.cfg, true, count)
                    .await
                    .map_err(Stop::Error)?;
                entries.reverse();
                let window = self
                    .window(conn, len, n, entries.first().map(|e| e.id.as_str()))
                    .await?;
                self.send(Msg::Other(PlatformEvent::Window(window))).await?;
                match entries.last() {
                    None => self.cursor = Some("0-0".into()),
                    Some(tip) if n == 0 => self.cursor = Some(tip.id.clone()),
                    Some(tip) if n >= len => {
                        // The whole stream: read it forward in batches
                        // rather than in one reply.
                        self.backfill_tip = StreamId::parse(&tip.id);
                        self.cursor = Some("0-0".into());
                    }
                    Some(_) => backfill = entries,
                }
            }
            Some(last) if resumed && last != "0-0" => {
                // Entries trimmed (MAXLEN) while we were away are a gap we
                // cannot fill from the stream: ask for a reload.
                let first = self.oldest_id(conn).await?;
                if let (Some(f), Some(l)) = (
                    first.as_deref().and_then(StreamId::parse),
                    StreamId::parse(&last),
                ) && f > l
                {
                    tracing::warn!(last = %last, "entries were trimmed while disconnected; refreshing");
                    refresh = true;
                }
            }
            Some(_) => {}
        }
        // Connected only once positioned: what is added from here on is seen.
        self.send(Msg::Other(up)).await?;
        if refresh {
            self.send(Msg::Other(PlatformEvent::Refresh)).await?;
        }
        self.entries(backfill, true).await?;
        loop {
            let from = self.cursor.as_deref().unwrap_or("0-0");
            let entries = conn.xread(&self.cfg, from).await.map_err(Stop::Error)?;
            if !entries.is_empty() {
                tracing::trace!(target: "aacon::stage", "xread");
            }
            self.entries(entries, false).await?;
        }
    }
}

async fn run<S: EventSink>(
    cfg: RedisConfig,
    start: Start,
    sink: S,
    last_id: Arc<Mutex<Option<String>>>,
    stats: Arc<WatchStats>,
) {
    let source = cfg.label();
    let (tx, rx) = mpsc::channel(4);
    let cursor = last_id.lock().ok().and_then(|g| g.clone());
    let decoder = tokio::spawn(decode_loop(
        rx,
        sink,
        source.clone(),
        last_id,
        stats.clone(),
    ));
    let _abort_decoder = AbortOnDrop(decoder);
    let mut reader = Reader {
        cfg,
        tx,
        cursor,
        backfill_tip: None,
    };
    let mut backoff = Backoff::new(reader.cfg.backoff_min, reader.cfg.backoff_max);
    let mut connected_before = false;
    loop {
        let conn = Link::open(&reader.cfg).await;
        let mut lived = std::time::Duration::ZERO;
        let result = match conn {
            Ok(mut conn) => {
                let since = std::time::Instant::now();
                if connected_before {
                    stats.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                tracing::info!(redis = %source, "watching the event stream");
                let up = PlatformEvent::Source(SourceState::Connected(source.clone()));
                // A reconnect, or a start after a given id, resumes.
                let resumed = connected_before || matches!(start, Start::After(_));
                connected_before = true;
                let r = reader.session(&mut conn, &start, resumed, up).await;
                lived = since.elapsed();
                r
            }
            Err(e) => Err(Stop::Error(e)),
        };
        match result {
            Ok(()) | Err(Stop::Closed) => return,
            Err(Stop::Error(e)) => {
                backoff.reset_if_stable(lived);
                let delay = backoff.next_delay();
                tracing::warn!(redis = %source, error = %e, retry_in = ?delay, "event stream unavailable");
                let retry = SourceState::Retrying {
                    source: source.clone(),
                    in_secs: secs_ceil(delay),
                };
                if reader
                    .send(Msg::Other(PlatformEvent::Source(retry)))
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_window_is_bounded() {
        let mut r = Seen::with_cap(2);
        assert!(r.insert("a"));
        assert!(!r.insert("a"));
        assert!(r.insert("b"));
        assert!(r.insert("c"));
        assert!(r.insert("a"), "a fell out of the window");
        assert_eq!(r.len(), 2);
    }
}
