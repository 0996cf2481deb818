//! The outbox relay: committed events → `XADD` to the stream.
//!
//! A row is marked sent only after Redis acknowledged its `XADD`, so a crash
//! or an outage at any point means it is sent again (at least once; the
//! watcher side dedupes by `event_id`). Rows are sent oldest first, in
//! pipelined batches, so order per instance is kept.

use super::backoff::{Backoff, secs_ceil};
use super::entry::FIELD;
use super::{BusError, RedisConfig};
use crate::domain::Envelope;
use crate::platform::{PlatformError, SourceState};
use redis::aio::MultiplexedConnection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Where the relay reads committed-but-unsent events from.
pub trait Outbox: Send + 'static {
    /// Up to `limit` unsent events, oldest first, with their sequence.
    fn pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>, PlatformError>;
    /// Mark these sequences sent.
    fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), PlatformError>;
}

/// Writes envelopes to the stream.
pub struct Publisher {
    cfg: RedisConfig,
    conn: MultiplexedConnection,
}

impl Publisher {
    pub async fn connect(cfg: &RedisConfig) -> Result<Publisher, BusError> {
        let conn = cfg.connect().await?;
        Ok(Publisher {
            cfg: cfg.clone(),
            conn,
        })
    }

    /// `XADD` each envelope in one pipeline; returns the stream ids.
    pub async fn publish(&mut self, envs: &[&Envelope]) -> Result<Vec<String>, BusError> {
        if envs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for e in envs {
            pipe.add_command(xadd(&self.cfg, &e.to_json()));
        }
        pipe.query_async(&mut self.conn)
            .await
            .map_err(|e| self.cfg.error(e))
    }

    /// `XADD` raw payload bytes (for foreign producers in tests and tools).
    pub async fn publish_raw(&mut self, payload: &[u8]) -> Result<String, BusError> {
        let mut c = redis::cmd("XADD");
        c.arg(&self.cfg.stream_key).arg("*").arg(FIELD).arg(payload);
        c.query_async(&mut self.conn)
            .await
            .map_err(|e| self.cfg.error(e))
    }
}

fn xadd(cfg: &RedisConfig, json: &str) -> redis::Cmd {
    let mut c = redis::cmd("XADD");
    c.arg(&cfg.stream_key);
    if cfg.maxlen > 0 {
        c.arg("MAXLEN").arg("~").arg(cfg.maxlen);
    }
    c.arg("*").arg(FIELD).arg(json);
    c
}

fn outbox_err(e: PlatformError) -> BusError {
    BusError::Outbox(e.to_string())
}

/// Send everything pending right now, once (for one-shot CLI commands).
/// Returns how many events were sent; an unreachable Redis is an error
/// and leaves the rows for the runtime host's relay.
pub async fn relay_once<O: Outbox + ?Sized>(
    cfg: &RedisConfig,
    outbox: &mut O,
) -> Result<usize, BusError> {
    let mut publisher = Publisher::connect(cfg).await?;
    let mut total = 0;
    loop {
        let batch = outbox.pending(cfg.batch.max(1)).map_err(outbox_err)?;
        if batch.is_empty() {
            return Ok(total);
        }
        let envs: Vec<&Envelope> = batch.iter().map(|(_, e)| e).collect();
        publisher.publish(&envs).await?;
        let seqs: Vec<i64> = batch.iter().map(|(s, _)| *s).collect();
        outbox.mark_sent(&seqs).map_err(outbox_err)?;
        total += seqs.len();
    }
}

/// [`relay_once`] for an outbox behind a mutex (the embedded platform's
/// store); the store is used on the blocking pool, never across an await.
pub async fn relay_once_shared<O: Outbox>(
    cfg: &RedisConfig,
    outbox: &Arc<Mutex<O>>,
) -> Result<usize, BusError> {
    let mut publisher = Publisher::connect(cfg).await?;
    drain(cfg, outbox, &mut publisher, &RelayStats::default()).await
}

/// [`relay_once_shared`] in two steps, so that the connection to Redis is
/// made while something else happens: [`RelayOnce::connect`] starts
/// connecting at once (a CLI command, before it commits), and
/// [`RelayOnce::send`] sends what is pending then (after the commit),
/// without a connect on the way from the commit to the stream.
pub struct RelayOnce<O: Outbox> {
    cfg: RedisConfig,
    outbox: Arc<Mutex<O>>,
    connecting: JoinHandle<Result<Publisher, BusError>>,
}

impl<O: Outbox> RelayOnce<O> {
    /// Start connecting to `cfg`'s Redis now (on the runtime, in the
    /// background).
    pub fn connect(cfg: RedisConfig, outbox: Arc<Mutex<O>>) -> RelayOnce<O> {
        let to = cfg.clone();
        let connecting = tokio::spawn(async move { Publisher::connect(&to).await });
        RelayOnce {
            cfg,
            outbox,
            connecting,
        }
    }

    /// Wait for the connection, then send everything pending; returns how
    /// many events were sent. An unreachable Redis is an error and leaves
    /// the rows in the outbox.
    pub async fn send(mut self) -> Result<usize, BusError> {
        let mut publisher = (&mut self.connecting)
            .await
            .map_err(|e| BusError::Outbox(format!("the connect task failed: {e}")))??;
        drain(
            &self.cfg,
            &self.outbox,
            &mut publisher,
            &RelayStats::default(),
        )
        .await
    }
}

impl<O: Outbox> Drop for RelayOnce<O> {
    fn drop(&mut self) {
        // Not sent (the command failed early): stop connecting.
        self.connecting.abort();
    }
}

/// Counters of a running relay.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Events Redis acknowledged.
    pub sent: AtomicU64,
    pub failures: AtomicU64,
}

/// A running relay; dropping it stops the task.
pub struct RelayHandle {
    stats: Arc<RelayStats>,
    state: watch::Receiver<SourceState>,
    stop: watch::Sender<bool>,
    join: Option<JoinHandle<()>>,
}

impl RelayHandle {
    /// Events sent since the relay started.
    pub fn sent(&self) -> u64 {
        self.stats.sent.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> Arc<RelayStats> {
        self.stats.clone()
    }

    /// Connected, retrying, or off.
    pub fn state(&self) -> SourceState {
        self.state.borrow().clone()
    }

    pub fn watch_state(&self) -> watch::Receiver<SourceState> {
        self.state.clone()
    }

    /// Stop after one last attempt to flush what is pending.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(j) = self.join.take() {
            let _ = j.await;
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        if let Some(j) = self.join.take() {
            j.abort();
        }
    }
}

/// The continuously running relay of a runtime host.
pub struct Relay;

type Shared<O> = Arc<Mutex<O>>;

async fn blocking<O: Outbox, T: Send + 'static>(
    outbox: &Shared<O>,
    f: impl FnOnce(&mut O) -> Result<T, PlatformError> + Send + 'static,
) -> Result<T, BusError> {
    let o = outbox.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = o
            .lock()
            .map_err(|_| BusError::Outbox("the outbox lock is poisoned".into()))?;
        f(&mut guard).map_err(outbox_err)
    })
    .await
    .map_err(|e| BusError::Outbox(format!("the outbox task failed: {e}")))?
}

async fn drain<O: Outbox>(
    cfg: &RedisConfig,
    outbox: &Shared<O>,
    publisher: &mut Publisher,
    stats: &RelayStats,
) -> Result<usize, BusError> {
    let limit = cfg.batch.max(1);
    let mut total = 0;
    loop {
        let batch = blocking(outbox, move |o| o.pending(limit)).await?;
        if batch.is_empty() {
            return Ok(total);
        }
        tracing::trace!(target: "aacon::stage", "outbox");
        let envs: Vec<&Envelope> = batch.iter().map(|(_, e)| e).collect();
        publisher.publish(&envs).await?;
        tracing::trace!(target: "aacon::stage", "xadd");
        let seqs: Vec<i64> = batch.iter().map(|(s, _)| *s).collect();
        let n = seqs.len();
        stats.sent.fetch_add(n as u64, Ordering::Relaxed);
        blocking(outbox, move |o| o.mark_sent(&seqs)).await?;
        total += n;
    }
}

impl Relay {
    /// Start relaying; `wake` is notified after each commit.
    pub fn spawn<O: Outbox>(cfg: RedisConfig, outbox: O, wake: Arc<Notify>) -> RelayHandle {
        Self::spawn_shared(cfg, Arc::new(Mutex::new(outbox)), wake)
    }

    /// Like [`Relay::spawn`], for an outbox the caller also uses.
    pub fn spawn_shared<O: Outbox>(
        cfg: RedisConfig,
        outbox: Arc<Mutex<O>>,
        wake: Arc<Notify>,
    ) -> RelayHandle {
        let stats = Arc::new(RelayStats::default());
        let (state_tx, state_rx) = watch::channel(SourceState::Off);
        let (stop_tx, stop_rx) = watch::channel(false);
        let join = tokio::spawn(run(cfg, outbox, wake, stats.clone(), state_tx, stop_rx));
        RelayHandle {
            stats,
            state: state_rx,
            stop: stop_tx,
            join: Some(join),
        }
    }
}

/// Say when the relay tries again, and wait until then (or until stopped).
async fn retry_after(
    state: &watch::Sender<SourceState>,
    label: &str,
    delay: std::time::Duration,
    stop: &mut watch::Receiver<bool>,
) {
    let _ = state.send(SourceState::Retrying {
        source: label.to_string(),
        in_secs: secs_ceil(delay),
    });
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.changed() => {}
    }
}

async fn run<O: Outbox>(
    cfg: RedisConfig,
    outbox: Shared<O>,
    wake: Arc<Notify>,
    stats: Arc<RelayStats>,
    state: watch::Sender<SourceState>,
    mut stop: watch::Receiver<bool>,
) {
    let label = cfg.label();
    let mut backoff = Backoff::new(cfg.backoff_min, cfg.backoff_max);
    let mut publisher: Option<Publisher> = None;
    loop {
        let stopping = *stop.borrow();
        if publisher.is_none() {
            match Publisher::connect(&cfg).await {
                Ok(p) => {
                    tracing::info!(redis = %label, "relay connected");
                    publisher = Some(p);
                    let _ = state.send(SourceState::Connected(label.clone()));
                }
                Err(e) if stopping => {
                    tracing::warn!(redis = %label, error = %e, "relay stopping with events left in the outbox");
                    break;
                }
                Err(e) => {
                    let delay = backoff.next_delay();
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(redis = %label, error = %e, retry_in = ?delay, "relay cannot reach Redis");
                    retry_after(&state, &label, delay, &mut stop).await;
                    continue;
                }
            }
        }
        if let Some(p) = publisher.as_mut() {
            match drain(&cfg, &outbox, p, &stats).await {
                Ok(n) => {
                    backoff.reset();
                    if n > 0 {
                        tracing::debug!(sent = n, "relay flushed");
                    }
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    if matches!(e, BusError::Redis(_)) {
                        publisher = None;
                    }
                    if stopping {
                        tracing::warn!(error = %e, "relay stopping with events left in the outbox");
                        break;
                    }
                    let delay = backoff.next_delay();
                    tracing::warn!(redis = %label, error = %e, retry_in = ?delay, "relay failed; events stay in the outbox");
                    retry_after(&state, &label, delay, &mut stop).await;
                    continue;
                }
            }
        }
        if stopping {
            break;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(cfg.relay_poll) => {}
            _ = stop.changed() => {}
        }
    }
    let _ = state.send(SourceState::Off);
}

/// The store port's outbox (SQLite or PostgreSQL: rows leave the outbox
/// table when marked sent; on PostgreSQL the pending rows are claimed with
/// `FOR UPDATE SKIP LOCKED`, so relays of several replicas never send one
/// row twice).
impl Outbox for crate::store::BoxedStore {
    fn pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>, PlatformError> {
        self.outbox_pending(limit)
    }

    fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), PlatformError> {
        self.outbox_mark_sent(seqs)
    }
}

/// The SQLite store's outbox, used directly.
impl Outbox for crate::store::Store {
    fn pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>, PlatformError> {
        self.outbox_pending(limit)
    }

    fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), PlatformError> {
        self.outbox_mark_sent(seqs)
    }
}
