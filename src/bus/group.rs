//! Work distribution through a consumer group.
//!
//! Each worker reads with `XREADGROUP`, handles a batch, then `XACK`s what
//! it handled. Entries a crashed worker left pending are taken over with
//! `XAUTOCLAIM` once idle longer than `min_idle`. Delivery is at least
//! once: handlers must be idempotent (apply to a `Projection`, dedupe by
//! `event_id`).

use super::backoff::Backoff;
use super::entry::{self, RawEntry};
use super::{BusError, RedisConfig};
use crate::domain::Envelope;
use crate::platform::PlatformEvent;
use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Why a handler could not handle an entry: the handler's own error,
/// only logged (the group acts on `Err` alone, so there is nothing to
/// classify).
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Handles one entry; `Err` leaves it pending (to be retried or claimed).
#[async_trait]
pub trait Handler: Send + 'static {
    async fn handle(&mut self, id: &str, envelope: &Envelope) -> Result<(), HandlerError>;
}

/// Who this worker is and when it takes over others' entries.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    pub group: String,
    pub consumer: String,
    /// Pending entries idle longer than this are claimed.
    pub min_idle: Duration,
    /// How often to look for such entries.
    pub claim_every: Duration,
    /// An entry delivered this often without success is moved to the
    /// dead-letter stream `<stream_key>:dead` and acknowledged.
    pub max_deliveries: u64,
    /// Where a group created by this worker starts: `0` (default, the whole
    /// stream) or `$` (only new entries). An existing group keeps its place.
    pub create_from: String,
}

impl GroupOptions {
    pub fn new(group: &str, consumer: &str) -> GroupOptions {
        GroupOptions {
            group: group.to_string(),
            consumer: consumer.to_string(),
            min_idle: Duration::from_secs(30),
            claim_every: Duration::from_secs(5),
            max_deliveries: 10,
            create_from: "0".to_string(),
        }
    }
}

/// Counters of a worker.
#[derive(Debug, Default)]
pub struct GroupStats {
    /// Entries handled successfully and acknowledged.
    pub acked: AtomicU64,
    /// Entries taken over from other consumers.
    pub claimed: AtomicU64,
    /// Entries the handler refused (left pending).
    pub failed: AtomicU64,
    /// Undecodable entries (acknowledged so they do not come back).
    pub malformed: AtomicU64,
    /// Entries moved to the dead-letter stream after `max_deliveries`.
    pub dead: AtomicU64,
}

/// A running worker; dropping it stops the task.
pub struct WorkerHandle {
    stats: Arc<GroupStats>,
    stop: Arc<AtomicBool>,
    join: JoinHandle<()>,
}

impl WorkerHandle {
    pub fn stats(&self) -> Arc<GroupStats> {
        self.stats.clone()
    }

    /// Stop at once, mid-batch if need be (what a crash looks like).
    pub fn kill(&self) {
        self.join.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Stop after the batch in hand is handled and acknowledged (within
    /// one read block).
    pub async fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = (&mut self.join).await;
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.join.abort();
    }
}

/// Consumer group workers.
pub struct Worker;

impl Worker {
    /// Create the group if it does not exist, positioned at `from` (`0`:
    /// the whole stream; `$`: only entries added from now on).
    pub async fn ensure_group(
        cfg: &RedisConfig,
        conn: &mut MultiplexedConnection,
        group: &str,
        from: &str,
    ) -> Result<(), BusError> {
        let r: redis::RedisResult<redis::Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&cfg.stream_key)
            .arg(group)
            .arg(from)
            .arg("MKSTREAM")
            .query_async(conn)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(cfg.error(e)),
        }
    }

    pub fn spawn<H: Handler>(cfg: RedisConfig, opts: GroupOptions, handler: H) -> WorkerHandle {
        let stats = Arc::new(GroupStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let join = tokio::spawn(run(cfg, opts, handler, stats.clone(), stop.clone()));
        WorkerHandle { stats, stop, join }
    }
}

struct Ctx<H> {
    cfg: RedisConfig,
    opts: GroupOptions,
    handler: H,
    stats: Arc<GroupStats>,
    source: String,
    stop: Arc<AtomicBool>,
}

impl<H: Handler> Ctx<H> {
    /// Handle a batch, then acknowledge what was handled.
    async fn process(
        &mut self,
        conn: &mut MultiplexedConnection,
        entries: Vec<RawEntry>,
    ) -> Result<(), BusError> {
        let mut ack = Vec::with_capacity(entries.len());
        let mut malformed = 0;
        let mut failed = 0;
        for e in &entries {
            match entry::to_event(e, &self.source) {
                PlatformEvent::Event(env) => match self.handler.handle(&e.id, &env).await {
                    Ok(()) => ack.push(e.id.as_str()),
                    Err(why) => {
                        failed += 1;
                        tracing::warn!(entry = %e.id, error = %why, "handler failed; entry stays pending");
                    }
                },
                _ => {
                    malformed += 1;
                    tracing::warn!(entry = %e.id, "undecodable entry acknowledged and skipped");
                    ack.push(e.id.as_str());
                }
            }
        }
        if !ack.is_empty() {
            let _: i64 = redis::cmd("XACK")
                .arg(&self.cfg.stream_key)
                .arg(&self.opts.group)
                .arg(&ack)
                .query_async(conn)
                .await
                .map_err(|e| self.cfg.error(e))?;
        }
        let handled = (ack.len() - malformed) as u64;
        self.stats.acked.fetch_add(handled, Ordering::Relaxed);
        self.stats
            .malformed
            .fetch_add(malformed as u64, Ordering::Relaxed);
        self.stats.failed.fetch_add(failed, Ordering::Relaxed);
        Ok(())
    }

    async fn read_group(
        &mut self,
        conn: &mut MultiplexedConnection,
        from: &str,
        block: Option<u64>,
    ) -> Result<Vec<RawEntry>, BusError> {
        let mut c = redis::cmd("XREADGROUP");
        c.arg("GROUP")
            .arg(&self.opts.group)
            .arg(&self.opts.consumer)
            .arg("COUNT")
            .arg(self.cfg.batch.max(1));
        if let Some(ms) = block {
            c.arg("BLOCK").arg(ms);
        }
        c.arg("STREAMS").arg(&self.cfg.stream_key).arg(from);
        let v: redis::Value = c.query_async(conn).await.map_err(|e| self.cfg.error(e))?;
        Ok(entry::parse_read_reply(v))
    }

    /// Our own pending entries (after a restart of this consumer).
    async fn recover_own(&mut self, conn: &mut MultiplexedConnection) -> Result<(), BusError> {
        let mut from = "0-0".to_string();
        loop {
            let entries = self.read_group(conn, &from, None).await?;
            let Some(last) = entries.last().map(|e| e.id.clone()) else {
                return Ok(());
            };
            self.process(conn, entries).await?;
            from = last;
        }
    }

    /// Move idle entries delivered `max_deliveries` times to the
    /// dead-letter stream, so one poison entry cannot loop forever.
    async fn bury(&mut self, conn: &mut MultiplexedConnection) -> Result<(), BusError> {
        let idle = self.opts.min_idle.as_millis() as u64;
        let v: redis::Value = redis::cmd("XPENDING")
            .arg(&self.cfg.stream_key)
            .arg(&self.opts.group)
            .arg("IDLE")
            .arg(idle)
            .arg("-")
            .arg("+")
            .arg(self.cfg.batch.max(1))
            .query_async(conn)
            .await
            .map_err(|e| self.cfg.error(e))?;
        let redis::Value::Array(rows) = v else {
            return Ok(());
        };
        let poison: Vec<String> = rows
            .into_iter()
            .filter_map(|row| {
                let redis::Value::Array(f) = row else {
                    return None;
                };
                let id = match f.first()? {
                    redis::Value::BulkString(b) => String::from_utf8(b.clone()).ok()?,
                    redis::Value::SimpleString(s) => s.clone(),
                    _ => return None,
                };
                match f.get(3)? {
                    redis::Value::Int(n) if *n as u64 >= self.opts.max_deliveries => Some(id),
                    _ => None,
                }
            })
            .collect();
        if poison.is_empty() {
            return Ok(());
        }
        let v: redis::Value = redis::cmd("XCLAIM")
            .arg(&self.cfg.stream_key)
            .arg(&self.opts.group)
            .arg(&self.opts.consumer)
            .arg(idle)
            .arg(&poison)
            .query_async(conn)
            .await
            .map_err(|e| self.cfg.error(e))?;
        let entries = entry::parse_entries(v);
        let dead_key = format!("{}:dead", self.cfg.stream_key);
        let mut pipe = redis::pipe();
        for e in &entries {
            let c = pipe
                .cmd("XADD")
                .arg(&dead_key)
                .arg("*")
                .arg("source_id")
                .arg(&e.id)
                .arg("group")
                .arg(&self.opts.group);
            if let Some(p) = &e.payload {
                c.arg(entry::FIELD).arg(&p[..]);
            }
        }
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        if !ids.is_empty() {
            pipe.cmd("XACK")
                .arg(&self.cfg.stream_key)
                .arg(&self.opts.group)
                .arg(&ids);
            let _: redis::Value = pipe
                .query_async(conn)
                .await
                .map_err(|e| self.cfg.error(e))?;
            tracing::warn!(count = ids.len(), dead_letters = %dead_key, "entries failed too often; moved to the dead-letter stream");
            self.stats
                .dead
                .fetch_add(ids.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Take over entries idle longer than `min_idle`.
    async fn claim(&mut self, conn: &mut MultiplexedConnection) -> Result<(), BusError> {
        let mut cursor = "0-0".to_string();
        loop {
            let v: redis::Value = redis::cmd("XAUTOCLAIM")
                .arg(&self.cfg.stream_key)
                .arg(&self.opts.group)
                .arg(&self.opts.consumer)
                .arg(self.opts.min_idle.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(self.cfg.batch.max(1))
                .query_async(conn)
                .await
                .map_err(|e| self.cfg.error(e))?;
            let redis::Value::Array(parts) = v else {
                return Ok(());
            };
            let mut it = parts.into_iter();
            let next = match it.next() {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
                Some(redis::Value::SimpleString(s)) => s,
                _ => "0-0".to_string(),
            };
            let entries = it.next().map(entry::parse_entries).unwrap_or_default();
            if !entries.is_empty() {
                tracing::info!(count = entries.len(), consumer = %self.opts.consumer, "claimed idle entries");
                self.stats
                    .claimed
                    .fetch_add(entries.len() as u64, Ordering::Relaxed);
                self.process(conn, entries).await?;
            }
            if next == "0-0" {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn session(&mut self, conn: &mut MultiplexedConnection) -> Result<(), BusError> {
        Worker::ensure_group(&self.cfg, conn, &self.opts.group, &self.opts.create_from).await?;
        self.recover_own(conn).await?;
        let block = self.cfg.block.min(self.opts.claim_every).as_millis().max(1) as u64;
        let mut last_claim: Option<Instant> = None;
        while !self.stop.load(Ordering::Relaxed) {
            if last_claim.is_none_or(|t| t.elapsed() >= self.opts.claim_every) {
                self.bury(conn).await?;
                self.claim(conn).await?;
                last_claim = Some(Instant::now());
            }
            let entries = self.read_group(conn, ">", Some(block)).await?;
            if !entries.is_empty() {
                self.process(conn, entries).await?;
            }
        }
        Ok(())
    }
}

async fn run<H: Handler>(
    cfg: RedisConfig,
    opts: GroupOptions,
    handler: H,
    stats: Arc<GroupStats>,
    stop: Arc<AtomicBool>,
) {
    let source = format!("{} group {}", cfg.label(), opts.group);
    let mut backoff = Backoff::new(cfg.backoff_min, cfg.backoff_max);
    let mut ctx = Ctx {
        cfg,
        opts,
        handler,
        stats,
        source,
        stop,
    };
    while !ctx.stop.load(Ordering::Relaxed) {
        let conn = ctx
            .cfg
            .connect_with(&ctx.cfg.blocking_connection_config())
            .await;
        let err = match conn {
            Ok(mut c) => {
                let since = Instant::now();
                match ctx.session(&mut c).await {
                    Ok(()) => return,
                    Err(e) => {
                        backoff.reset_if_stable(since.elapsed());
                        e
                    }
                }
            }
            Err(e) => e,
        };
        let delay = backoff.next_delay();
        tracing::warn!(consumer = %ctx.opts.consumer, error = %err, retry_in = ?delay, "consumer group worker reconnecting");
        tokio::time::sleep(delay).await;
    }
}
