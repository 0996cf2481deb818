//! The lease manager: one tokio task per replica that heartbeats, renews,
//! claims and hands back leases, and reports each change to its owner.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::plan::{self, Step};
use super::{CHANGE_CHANNEL, Cluster, ClusterError, InstanceSource, LeaseConfig, Result, bounded};

/// What changed for this replica. The owner starts an instance's process
/// on `Acquired`, and stops it on `Lost` (at once: by the time this
/// arrives the replica can no longer prove it holds the lease, and another
/// may claim it a margin later) and on `Released`.
pub enum LeaseChange {
    Acquired {
        id: String,
        generation: i64,
    },
    Lost {
        id: String,
        generation: i64,
    },
    /// The replica hands the lease back (more than its share, the instance
    /// no longer wants to run, or shutdown). Stop the process, then
    /// complete or drop `ack`: the lease is released (and free for others)
    /// only then, or after the release timeout.
    Released {
        id: String,
        generation: i64,
        ack: ReleaseAck,
    },
}

impl std::fmt::Debug for LeaseChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeaseChange::Acquired { id, generation } => write!(f, "Acquired({id}, {generation})"),
            LeaseChange::Lost { id, generation } => write!(f, "Lost({id}, {generation})"),
            LeaseChange::Released { id, generation, .. } => {
                write!(f, "Released({id}, {generation})")
            }
        }
    }
}

/// Tells the manager an instance handed back has stopped. Dropping it says
/// the same.
pub struct ReleaseAck(oneshot::Sender<()>);

impl ReleaseAck {
    pub fn done(self) {
        let _ = self.0.send(());
    }
}

/// What the handle can see of the manager's leases: id → (generation,
/// the monotonic instant past which the lease counts as lost).
type Held = Arc<Mutex<HashMap<String, (i64, Instant)>>>;

/// What a replica's lease task has done, for its metrics and readiness.
#[derive(Debug, Default)]
pub struct LeaseStats {
    /// Leases renewed (one per lease per renewal).
    pub renewals: AtomicU64,
    /// Leases claimed from an owner whose lease had expired (not handed
    /// back): the instance was taken over.
    pub takeovers: AtomicU64,
    /// Leases lost (not renewed in time, or renewed by nobody).
    pub lost: AtomicU64,
    /// When the last renewal that succeeded was sent.
    last_renewal: Mutex<Option<Instant>>,
}

impl LeaseStats {
    /// How long ago the last successful renewal was sent (none yet: `None`).
    pub fn since_renewal(&self) -> Option<Duration> {
        lock(&self.last_renewal).map(|t| t.elapsed())
    }
}

/// A running [`LeaseManager`].
pub struct LeaseHandle {
    replica: String,
    cluster: Cluster,
    held: Held,
    stats: Arc<LeaseStats>,
    cfg: LeaseConfig,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl LeaseHandle {
    /// This replica's id (its row in `replicas`, the owner in `leases`).
    pub fn replica_id(&self) -> &str {
        &self.replica
    }

    /// Renewals, takeovers, losses and the last renewal.
    pub fn stats(&self) -> Arc<LeaseStats> {
        self.stats.clone()
    }

    /// The settings it runs with.
    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    /// The leases held now, by id.
    pub fn held(&self) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = lock(&self.held)
            .iter()
            .map(|(id, (g, _))| (id.clone(), *g))
            .collect();
        v.sort();
        v
    }

    /// Whether this replica still holds `id` at `generation`: by its own
    /// clock (not past the loss deadline) and by the database's.
    pub async fn check(&self, id: &str, generation: i64) -> Result<bool> {
        let local = lock(&self.held)
            .get(id)
            .is_some_and(|(g, until)| *g == generation && Instant::now() < *until);
        Ok(local && self.cluster.check(id, &self.replica, generation).await?)
    }

    /// Hand every lease back (each `Released`, waiting for its ack up to
    /// the release timeout), leave the replica set, and end the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// End the task without handing anything back, as a crash would: the
    /// leases expire and others take them over.
    pub fn abandon(self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the map half-written
    // (each write is one insert or a whole replacement).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a replica's lease task.
pub struct LeaseManager;

impl LeaseManager {
    /// Register a replica (`cfg.name` plus a unique suffix) and start its
    /// task, sharing the instances `source` names. The changes arrive on
    /// the returned channel (unbounded: the manager never waits for its
    /// owner, or a loss could be reported late).
    pub async fn start(
        cluster: Cluster,
        cfg: LeaseConfig,
        source: Arc<dyn InstanceSource>,
    ) -> Result<(LeaseHandle, mpsc::UnboundedReceiver<LeaseChange>)> {
        cfg.validate()?;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let replica = format!("{}-{}", cfg.name, &suffix[..8]);
        let (tx, rx) = mpsc::unbounded_channel();
        let held: Held = Arc::default();
        let stats = Arc::new(LeaseStats::default());
        let handle_cfg = cfg.clone();
        let mut task = Task {
            cluster: cluster.clone(),
            cfg,
            stats: stats.clone(),
            id: replica.clone(),
            source,
            leases: HashMap::new(),
            known: HashSet::new(),
            acks: FuturesUnordered::new(),
            acked: HashSet::new(),
            tx,
            shared: held.clone(),
            closing: false,
        };
        // The first heartbeat: an unreachable database is an error here,
        // not a warning in the task.
        task.renew().await?;
        // The others hand back what is beyond their new share at once.
        task.announce().await?;
        let (stop, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let listener = tokio::spawn(
            cluster
                .clone()
                .listen_for_changes(task.cfg.interval, wake.clone()),
        );
        let task = tokio::spawn(async move {
            task.run(stop_rx, wake).await;
            listener.abort();
        });
        Ok((
            LeaseHandle {
                replica,
                cluster,
                held,
                stats,
                cfg: handle_cfg,
                stop,
                task,
            },
            rx,
        ))
    }
}

struct Lease {
    generation: i64,
    /// Past this instant (last renewal sent + ttl − margin) the lease is
    /// reported lost.
    valid_until: Instant,
    /// A `Released` was sent; waiting for its ack.
    releasing: bool,
}

struct Task {
    cluster: Cluster,
    cfg: LeaseConfig,
    stats: Arc<LeaseStats>,
    id: String,
    source: Arc<dyn InstanceSource>,
    leases: HashMap<String, Lease>,
    /// Instances whose lease row exists.
    known: HashSet<String>,
    /// Hand-backs waiting for their ack (or the release timeout).
    acks: FuturesUnordered<BoxFuture<'static, String>>,
    /// Acked hand-backs not yet released in the database.
    acked: HashSet<String>,
    tx: mpsc::UnboundedSender<LeaseChange>,
    shared: Held,
    closing: bool,
}

/// Heartbeat the replica (a zero lifetime when leaving), release leases the
/// database says this replica holds but the task does not know (a claim
/// whose answer was lost), and renew the ones it holds.
/// `$1` replica, `$2` address, `$3` lease ttl (s), `$4` held ids, `$5`
/// heartbeat ttl (s).
const RENEW_SQL: &str = "with hb as (
    insert into replicas (id, address, expires_at)
    values ($1, $2, now() + make_interval(secs => $5))
    on conflict (id) do update set address = excluded.address, heartbeat_at = now(),
        expires_at = excluded.expires_at
), strays as (
    update leases set expires_at = now()
    where owner = $1 and expires_at > now() and not (instance_id = any($4))
    returning instance_id, generation
), closed as (
    update lease_history h set ended_at = now(), how = 'released'
    from strays s
    where h.instance_id = s.instance_id and h.generation = s.generation and h.ended_at is null
)
update leases set expires_at = now() + make_interval(secs => $3)
where owner = $1 and expires_at > now() and instance_id = any($4)
returning instance_id, generation";

/// Live replicas, and in how many seconds the next other replica is gone:
/// its heartbeat and every lease it holds expired (a lease it claimed after
/// its last heartbeat outlives it by a moment). Replicas gone for ten
/// minutes are forgotten.
const STATS_SQL: &str = "with pruned as (
    delete from replicas where expires_at < now() - interval '10 minutes'
), r as (
    select id, expires_at,
        greatest(expires_at, (select max(l.expires_at) from leases l where l.owner = replicas.id))
            as gone_at
    from replicas
)
select count(*) filter (where expires_at > now()),
    extract(epoch from min(gone_at) filter (where id <> $1 and gone_at > now()) - now())::float8
from r";

const ANNOUNCE_SQL: &str = "select pg_notify($2, $1)";

const ENSURE_SQL: &str =
    "insert into leases (instance_id) select unnest($1::text[]) on conflict do nothing";

/// Claim up to `$3` unowned or expired leases among `$2`, skipping rows
/// another replica is claiming; close the previous owner's history row
/// (expired at its expiry) and open ours. `$4` lease ttl (s).
const CLAIM_SQL: &str = "with cand as (
    select instance_id, expires_at as old_expiry from leases
    where instance_id = any($2) and expires_at <= now()
    limit $3
    for update skip locked
), claimed as (
    update leases l set owner = $1, generation = l.generation + 1, acquired_at = now(),
        expires_at = now() + make_interval(secs => $4)
    from cand where l.instance_id = cand.instance_id
    returning l.instance_id, l.generation, cand.old_expiry
), closed as (
    update lease_history h set ended_at = c.old_expiry, how = 'expired'
    from claimed c where h.instance_id = c.instance_id and h.ended_at is null
    returning h.instance_id
), opened as (
    insert into lease_history (instance_id, owner, generation, acquired_at)
    select instance_id, $1, generation, now() from claimed
)
select instance_id, generation, instance_id in (select instance_id from closed) from claimed";

/// Release `$2` (expired now, the history row closed as released) and
/// announce it to the other replicas (delivered at commit); when `$3`, the
/// replica is leaving and no longer counts as live. `$4` the channel.
const RELEASE_SQL: &str = "with leaving as (
    update replicas set expires_at = now() where id = $1 and $3
), rel as (
    update leases set expires_at = now()
    where owner = $1 and instance_id = any($2) and expires_at > now()
    returning instance_id, generation
), closed as (
    update lease_history h set ended_at = now(), how = 'released'
    from rel
    where h.instance_id = rel.instance_id and h.generation = rel.generation and h.ended_at is null
)
select pg_notify($4, $1)";

impl Task {
    /// Until shut down: tick every renewal (and when `changed` says
    /// another replica handed leases back or joined), report losses on time, release
    /// what was handed back as the acks arrive.
    async fn run(mut self, mut stop: watch::Receiver<bool>, changed: Arc<Notify>) {
        let mut next = Instant::now();
        loop {
            if self.closing && self.leases.is_empty() {
                break;
            }
            let deadline = self.earliest_deadline();
            tokio::select! {
                biased;
                _ = stop.changed(), if !self.closing => {
                    // A dropped handle leaves gracefully too.
                    self.closing = true;
                    let all: Vec<String> = self.leases.keys().cloned().collect();
                    self.begin_release(all);
                    next = Instant::now();
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or(next)), if deadline.is_some() => {
                    self.expire_due();
                }
                Some(id) = self.acks.next(), if !self.acks.is_empty() => {
                    self.acked.insert(id);
                    while let Some(Some(id)) = self.acks.next().now_or_never() {
                        self.acked.insert(id);
                    }
                    let limit = self.limit();
                    if let Ok(Err(e)) = tokio::time::timeout_at(limit, self.flush_released()).await {
                        tracing::warn!(replica = %self.id, error = %e, "cannot release leases; retrying");
                    }
                    self.expire_due();
                }
                _ = changed.notified(), if !self.closing => {
                    // Claim what another replica handed back, or hand back
                    // beyond the share a new one makes, at once; the
                    // regular schedule stays.
                    let limit = self.limit();
                    if let Ok(Err(e)) = tokio::time::timeout_at(limit, self.tick()).await {
                        tracing::warn!(replica = %self.id, error = %e, "lease claim failed");
                    }
                    self.expire_due();
                }
                _ = tokio::time::sleep_until(next) => {
                    let limit = self.limit();
                    next = match tokio::time::timeout_at(limit, self.tick()).await {
                        Ok(Ok(wake)) => wake,
                        Ok(Err(e)) => {
                            tracing::warn!(replica = %self.id, error = %e, "lease renewal failed");
                            Instant::now() + self.cfg.renew_every
                        }
                        Err(_) => {
                            tracing::warn!(replica = %self.id, "lease renewal timed out");
                            Instant::now() + self.cfg.renew_every
                        }
                    };
                    self.expire_due();
                }
            }
        }
        // Leave the replica set (best effort: its heartbeat expires anyway).
        let timeout = self.cluster.timeout();
        let leave = async {
            let client = self.cluster.client().await?;
            bounded(
                timeout,
                client.execute("delete from replicas where id = $1", &[&self.id]),
            )
            .await
        };
        if let Err(e) = leave.await {
            tracing::warn!(replica = %self.id, error = %e, "cannot remove the replica row");
        }
    }

    /// What bounds one round of database work: the first loss deadline
    /// (the loss must be reported on time even if the database hangs) or
    /// the statement timeout.
    fn limit(&self) -> Instant {
        let t = Instant::now() + self.cluster.timeout() * 4;
        self.earliest_deadline().map_or(t, |d| d.min(t))
    }

    fn earliest_deadline(&self) -> Option<Instant> {
        self.leases.values().map(|l| l.valid_until).min()
    }

    fn ttl_secs(&self) -> f64 {
        self.cfg.ttl().as_secs_f64()
    }

    /// Report every lease past its deadline lost.
    fn expire_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .leases
            .iter()
            .filter(|(_, l)| l.valid_until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        if !due.is_empty() {
            tracing::warn!(replica = %self.id, leases = due.len(), "leases not renewed in time: lost");
            self.lose(due);
        }
    }

    fn lose(&mut self, ids: Vec<String>) {
        for id in ids {
            if let Some(l) = self.leases.remove(&id) {
                self.stats.lost.fetch_add(1, Ordering::Relaxed);
                self.acked.remove(&id);
                let _ = self.tx.send(LeaseChange::Lost {
                    id,
                    generation: l.generation,
                });
            }
        }
        self.publish();
    }

    /// Copy the held leases where the handle sees them.
    fn publish(&self) {
        let map = self
            .leases
            .iter()
            .map(|(id, l)| (id.clone(), (l.generation, l.valid_until)))
            .collect();
        *lock(&self.shared) = map;
    }

    /// Send `Released` for each (not already being handed back), and wait
    /// for its ack.
    fn begin_release(&mut self, ids: Vec<String>) {
        let timeout = self.cfg.release_timeout;
        for id in ids {
            let Some(l) = self.leases.get_mut(&id) else {
                continue;
            };
            if l.releasing {
                continue;
            }
            l.releasing = true;
            let (ack, rx) = oneshot::channel();
            let _ = self.tx.send(LeaseChange::Released {
                id: id.clone(),
                generation: l.generation,
                ack: ReleaseAck(ack),
            });
            self.acks.push(
                async move {
                    let _ = tokio::time::timeout(timeout, rx).await;
                    id
                }
                .boxed(),
            );
        }
    }

    /// Release the acked hand-backs in one statement.
    async fn flush_released(&mut self) -> Result<()> {
        let ids: Vec<String> = self
            .acked
            .iter()
            .filter(|id| self.leases.contains_key(*id))
            .cloned()
            .collect();
        if ids.is_empty() {
            self.acked.clear();
            return Ok(());
        }
        let client = self.cluster.client().await?;
        let r = bounded(
            self.cluster.timeout(),
            client.query(
                RELEASE_SQL,
                &[&self.id, &ids, &self.closing, &CHANGE_CHANNEL],
            ),
        )
        .await;
        settle(client, r)?;
        for id in &ids {
            self.leases.remove(id);
            self.acked.remove(id);
        }
        self.publish();
        Ok(())
    }

    /// Tell the other replicas something changed (this one joined).
    async fn announce(&mut self) -> Result<()> {
        let client = self.cluster.client().await?;
        let r = bounded(
            self.cluster.timeout(),
            client.query(ANNOUNCE_SQL, &[&self.id, &CHANGE_CHANNEL]),
        )
        .await;
        settle(client, r).map(drop)
    }

    /// Heartbeat and renew every held lease in one statement; a lease the
    /// database did not renew at the generation held is lost.
    async fn renew(&mut self) -> Result<()> {
        let ids: Vec<String> = self.leases.keys().cloned().collect();
        let heartbeat = if self.closing { 0.0 } else { self.ttl_secs() };
        let sent = Instant::now();
        let client = self.cluster.client().await?;
        let r = bounded(
            self.cluster.timeout(),
            client.query(
                RENEW_SQL,
                &[
                    &self.id,
                    &self.cfg.address,
                    &self.ttl_secs(),
                    &ids,
                    &heartbeat,
                ],
            ),
        )
        .await;
        let rows = settle(client, r)?;
        let renewed: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        self.stats
            .renewals
            .fetch_add(renewed.len() as u64, Ordering::Relaxed);
        *lock(&self.stats.last_renewal) = Some(sent);
        let valid_until = self.valid_from(sent);
        let mut lost = Vec::new();
        for (id, l) in self.leases.iter_mut() {
            if renewed.get(id) == Some(&l.generation) {
                l.valid_until = valid_until;
            } else {
                lost.push(id.clone());
            }
        }
        self.lose(lost);
        Ok(())
    }

    /// The loss deadline of a lease renewed or claimed by a statement sent
    /// at `sent`: the database set its expiry from a `now()` no earlier.
    fn valid_from(&self, sent: Instant) -> Instant {
        sent + self.cfg.ttl() - self.cfg.margin
    }

    /// One renewal's work; when to wake next.
    async fn tick(&mut self) -> Result<Instant> {
        self.renew().await?;
        self.flush_released().await?;
        let mut wake = Instant::now() + self.cfg.renew_every;
        if self.closing {
            return Ok(wake);
        }
        let (live, next_expiry) = self.stats().await?;
        let wanted = match tokio::time::timeout(self.cluster.timeout(), self.source.wanted()).await
        {
            Ok(Ok(w)) => w,
            Ok(Err(e)) => return Err(ClusterError::Source(e)),
            Err(_) => return Err(ClusterError::Timeout(self.cluster.timeout())),
        };
        let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
        let unwanted: Vec<String> = self
            .leases
            .keys()
            .filter(|id| !wanted_set.contains(id.as_str()))
            .cloned()
            .collect();
        self.begin_release(unwanted);
        self.ensure_rows(&wanted).await?;
        let holding: Vec<&String> = self
            .leases
            .iter()
            .filter(|(_, l)| !l.releasing)
            .map(|(id, _)| id)
            .collect();
        match plan::step(holding.len(), wanted.len(), live) {
            Step::Claim(n) => self.claim(&wanted, n).await?,
            Step::HandBack(n) => {
                let mut back: Vec<String> = holding.into_iter().cloned().collect();
                back.sort();
                back.truncate(n);
                self.begin_release(back);
            }
            Step::Hold => {}
        }
        // Wake when another replica is gone (its heartbeat and leases
        // expired), to take its leases over at once rather than up to an
        // interval later. `secs` was counted
        // from the statement's `now()`, before this instant: the wake
        // cannot come early.
        if let Some(secs) = next_expiry.filter(|s| s.is_finite() && *s >= 0.0) {
            wake =
                wake.min(Instant::now() + Duration::from_secs_f64(secs) + Duration::from_millis(5));
        }
        Ok(wake)
    }

    // `&mut`: the task is not `Sync` (its ack futures), so `&self` would
    // not be `Send` across an await.
    async fn stats(&mut self) -> Result<(usize, Option<f64>)> {
        let client = self.cluster.client().await?;
        let r = bounded(
            self.cluster.timeout(),
            client.query_one(STATS_SQL, &[&self.id]),
        )
        .await;
        let row = settle(client, r)?;
        let live: i64 = row.get(0);
        Ok((usize::try_from(live).unwrap_or(0).max(1), row.get(1)))
    }

    /// Make sure a lease row exists for each wanted instance (once per id).
    async fn ensure_rows(&mut self, wanted: &[String]) -> Result<()> {
        let wanted_set: HashSet<&String> = wanted.iter().collect();
        self.known.retain(|id| wanted_set.contains(id));
        let new: Vec<&String> = wanted
            .iter()
            .filter(|id| !self.known.contains(*id))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let client = self.cluster.client().await?;
        let r = bounded(self.cluster.timeout(), client.execute(ENSURE_SQL, &[&new])).await;
        settle(client, r)?;
        self.known.extend(new.into_iter().cloned());
        Ok(())
    }

    async fn claim(&mut self, wanted: &[String], n: usize) -> Result<()> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let sent = Instant::now();
        let client = self.cluster.client().await?;
        let r = bounded(
            self.cluster.timeout(),
            client.query(CLAIM_SQL, &[&self.id, &wanted, &limit, &self.ttl_secs()]),
        )
        .await;
        let rows = settle(client, r)?;
        let valid_until = self.valid_from(sent);
        for row in rows {
            let id: String = row.get(0);
            let generation: i64 = row.get(1);
            if row.get::<_, bool>(2) {
                self.stats.takeovers.fetch_add(1, Ordering::Relaxed);
            }
            self.leases.insert(
                id.clone(),
                Lease {
                    generation,
                    valid_until,
                    releasing: false,
                },
            );
            let _ = self.tx.send(LeaseChange::Acquired { id, generation });
        }
        self.publish();
        Ok(())
    }
}

/// A connection whose statement failed or timed out may be broken or
/// stuck behind a partition: take it out of the pool instead of returning
/// it.
fn settle<T>(client: deadpool_postgres::Object, r: Result<T>) -> Result<T> {
    if r.is_err() {
        drop(deadpool_postgres::Object::take(client));
    }
    r
}
