//! What `aacon serve` reports about itself, wired to what it runs: the
//! readiness checks (the store, the outbox relay, the leases) and the
//! metrics fed from the store, the relay, the runtime lock or the leases.
//!
//! serve defines the checks and samplers as traits
//! ([`crate::serve::ReadinessCheck`], [`crate::serve::metrics::Sampler`],
//! [`crate::serve::metrics::Ownership`]); this module implements them on
//! the store, the relay and, on PostgreSQL, the lease task and scope.

use super::Hosted;
use crate::bus::relay::RelayStats;
use crate::cluster::LeaseStats;
use crate::domain::Instance;
use crate::domain::replica::ReplicaId;
use crate::platform::embedded::EmbeddedPlatform;
use crate::platform::{Platform, SourceState};
use crate::runtime::HostScope;
use crate::serve::metrics::{
    LeaseMetrics, Metrics, OutboxGauges, Ownership, RelayCounters, Sampler,
};
use crate::serve::{Readiness, ReadinessCheck};
use crate::store::port::BoxedStore;
use crate::store::probe::{self, OutboxLag};
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Plug serve's readiness and metrics into what `hosted` runs: the
/// `store` check always, the `relay` check with Redis (an event waiting
/// longer than `relay_stall` fails it), the outbox lag, the relay's
/// counters, and the runtime host as every instance's owner.
pub fn wire(
    hosted: &Hosted,
    replica: &ReplicaId,
    metrics: &Metrics,
    readiness: &Readiness,
    relay_stall: Duration,
) {
    let platform = hosted.platform.clone();
    let store = platform.store();
    readiness.add(Arc::new(StoreCheck {
        // SQLite: the file is probed afresh; PostgreSQL: the pool's round
        // trip below is the check.
        path: platform
            .data_dir()
            .store_url()
            .is_none()
            .then(|| platform.data_dir().store()),
        store: store.clone(),
        platform: platform.clone(),
        // Under the check's own deadline, so a held lock is named as such.
        deadline: crate::serve::ready::CHECK_DEADLINE * 3 / 4,
    }));
    metrics.add_sampler(Arc::new(OutboxSampler {
        store: store.clone(),
        gauges: metrics.outbox(),
    }));
    if let Some(relay) = &hosted.relay {
        readiness.add(Arc::new(RelayCheck {
            store,
            state: relay.watch_state(),
            stall: relay_stall,
        }));
        metrics.add_sampler(Arc::new(RelaySampler {
            stats: relay.stats(),
            counters: metrics.relay(),
            seen: Mutex::new((0, 0)),
        }));
    }
    match hosted.leased() {
        Some(leased) => {
            let stats = leased.stats();
            let cfg = leased.config();
            readiness.add(Arc::new(LeaseCheck {
                stats: stats.clone(),
                fresh: cfg.interval + cfg.margin,
            }));
            metrics.add_sampler(Arc::new(LeaseSampler {
                stats,
                scope: leased.scope().clone(),
                metrics: metrics.leases(),
                seen: Mutex::new([0; 3]),
            }));
            metrics.set_ownership(Arc::new(LeaseOwner {
                replica: replica.to_string(),
                scope: leased.scope().clone(),
            }));
        }
        None => metrics.set_ownership(Arc::new(RuntimeHost {
            replica: replica.to_string(),
            platform,
        })),
    }
}

/// Move `counter` up to `now` from what it was last moved to (`seen`).
fn advance(counter: &prometheus_client::metrics::counter::Counter, now: u64, seen: &mut u64) {
    counter.inc_by(now.saturating_sub(*seen));
    *seen = now.max(*seen);
}

/// `leases`: this replica renewed its leases (and its heartbeat) within
/// one interval plus the loss margin.
struct LeaseCheck {
    stats: Arc<LeaseStats>,
    fresh: Duration,
}

#[async_trait]
impl ReadinessCheck for LeaseCheck {
    fn name(&self) -> &str {
        "leases"
    }

    async fn check(&self) -> Result<(), String> {
        match self.stats.since_renewal() {
            Some(age) if age <= self.fresh => Ok(()),
            Some(age) => Err(format!(
                "the leases were last renewed {} ms ago (over the {} ms of an interval and the loss margin); the lease database is slow or out of reach",
                age.as_millis(),
                self.fresh.as_millis()
            )),
            None => Err("no lease renewal has succeeded yet".into()),
        }
    }
}

/// `aacon_lease_renewals`, `aacon_lease_takeovers`, `aacon_lease_lost`
/// from the lease task's counters, `aacon_leases_held` from the scope.
struct LeaseSampler {
    stats: Arc<LeaseStats>,
    scope: HostScope,
    metrics: LeaseMetrics,
    /// Renewals, takeovers, losses the counters were last moved to.
    seen: Mutex<[u64; 3]>,
}

#[async_trait]
impl Sampler for LeaseSampler {
    async fn sample(&self) {
        let now = [
            self.stats.renewals.load(Ordering::Relaxed),
            self.stats.takeovers.load(Ordering::Relaxed),
            self.stats.lost.load(Ordering::Relaxed),
        ];
        if let Ok(mut seen) = self.seen.lock() {
            let m = &self.metrics;
            for (i, counter) in [&m.renewals, &m.takeovers, &m.lost].into_iter().enumerate() {
                advance(counter, now[i], &mut seen[i]);
            }
        }
        self.metrics
            .held
            .set(i64::try_from(self.scope.len()).unwrap_or(i64::MAX));
    }
}

/// By lease: this replica hosts what is in its scope; `aacon_instances`
/// counts only those (each replica its own).
struct LeaseOwner {
    replica: String,
    scope: HostScope,
}

#[async_trait]
impl Ownership for LeaseOwner {
    async fn owners(&self, instances: &[Instance]) -> Vec<Option<String>> {
        instances
            .iter()
            .map(|i| self.scope.contains(i.id).then(|| self.replica.clone()))
            .collect()
    }

    fn only_own(&self) -> bool {
        true
    }
}

/// Run `f` on the shared store on the blocking pool.
async fn with_store<T: Send + 'static>(
    store: &Arc<Mutex<BoxedStore>>,
    f: impl FnOnce(&BoxedStore) -> crate::platform::Result<T> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let s = store
            .lock()
            .map_err(|_| "the store's lock is poisoned".to_string())?;
        f(&s).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("the store task failed: {e}"))?
}

/// `store`: the store file opens afresh and its write lock is free within
/// the deadline, and this process's own connection answers.
struct StoreCheck {
    path: Option<PathBuf>,
    store: Arc<Mutex<BoxedStore>>,
    platform: Arc<EmbeddedPlatform>,
    deadline: Duration,
}

#[async_trait]
impl ReadinessCheck for StoreCheck {
    fn name(&self) -> &str {
        "store"
    }

    async fn check(&self) -> Result<(), String> {
        match self.path.clone() {
            Some(path) => {
                let deadline = self.deadline;
                tokio::task::spawn_blocking(move || probe::probe(&path, deadline))
                    .await
                    .map_err(|e| format!("the store check failed: {e}"))?
                    .map_err(|e| e.to_string())?;
            }
            None => {
                with_store(&self.store, |s| s.outbox_lag()).await?;
            }
        }
        self.platform
            .list_stamp()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// `relay`: no event has waited in the outbox longer than `stall` (Redis
/// takes what is committed).
struct RelayCheck {
    store: Arc<Mutex<BoxedStore>>,
    state: watch::Receiver<SourceState>,
    stall: Duration,
}

#[async_trait]
impl ReadinessCheck for RelayCheck {
    fn name(&self) -> &str {
        "relay"
    }

    async fn check(&self) -> Result<(), String> {
        let lag = with_store(&self.store, |s| s.outbox_lag()).await?;
        let age = lag.oldest_age(chrono::Utc::now());
        if lag.pending == 0 || age <= self.stall {
            return Ok(());
        }
        let state = match &*self.state.borrow() {
            SourceState::Connected(to) => format!("it is connected to {to} but not publishing"),
            SourceState::Retrying { source, in_secs } => {
                format!("it cannot reach {source} and tries again in {in_secs} s")
            }
            SourceState::Off => "it has stopped".to_string(),
        };
        Err(format!(
            "{} event(s) wait in the outbox, the oldest for {} s (over serve.relay_stall_secs = {}); {state}",
            lag.pending,
            age.as_secs(),
            self.stall.as_secs()
        ))
    }
}

/// `aacon_outbox_pending` and `aacon_outbox_oldest_age_seconds`.
struct OutboxSampler {
    store: Arc<Mutex<BoxedStore>>,
    gauges: OutboxGauges,
}

#[async_trait]
impl Sampler for OutboxSampler {
    async fn sample(&self) {
        match with_store(&self.store, |s| s.outbox_lag()).await {
            Ok(lag) => set_lag(&self.gauges, &lag),
            Err(e) => tracing::warn!(error = %e, "cannot read the outbox for the metrics"),
        }
    }
}

fn set_lag(g: &OutboxGauges, lag: &OutboxLag) {
    g.pending.set(lag.pending.min(i64::MAX as u64) as i64);
    g.oldest_age_seconds
        .set(lag.oldest_age(chrono::Utc::now()).as_secs_f64());
}

/// `aacon_events_relayed_total` and `aacon_relay_failures_total`, from the
/// relay's own counters.
struct RelaySampler {
    stats: Arc<RelayStats>,
    counters: RelayCounters,
    /// What the counters were last moved to.
    seen: Mutex<(u64, u64)>,
}

#[async_trait]
impl Sampler for RelaySampler {
    async fn sample(&self) {
        let sent = self.stats.sent.load(Ordering::Relaxed);
        let failures = self.stats.failures.load(Ordering::Relaxed);
        if let Ok(mut seen) = self.seen.lock() {
            advance(&self.counters.relayed, sent, &mut seen.0);
            advance(&self.counters.failures, failures, &mut seen.1);
        }
    }
}

/// Without leases (SQLite): the process holding the data dir's runtime
/// lock hosts every instance, so this replica owns them all while it holds
/// it and none otherwise.
struct RuntimeHost {
    replica: String,
    platform: Arc<EmbeddedPlatform>,
}

#[async_trait]
impl Ownership for RuntimeHost {
    async fn owners(&self, instances: &[Instance]) -> Vec<Option<String>> {
        let mine = self
            .platform
            .is_runtime_host()
            .then(|| self.replica.clone());
        vec![mine; instances.len()]
    }
}
