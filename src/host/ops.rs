//! What `aacon serve` reports about itself, wired to what it runs: the
//! readiness checks (the store, the outbox relay) and the metrics fed
//! from the store, the relay and the runtime lock.
//!
//! serve defines the checks and samplers as traits
//! ([`crate::serve::ReadinessCheck`], [`crate::serve::metrics::Sampler`],
//! [`crate::serve::metrics::Ownership`]); this module implements them on
//! the SQLite store and the relay. Another store adapter or the lease
//! protocol adds its own beside them.

use super::Hosted;
use crate::bus::relay::RelayStats;
use crate::domain::Instance;
use crate::domain::replica::ReplicaId;
use crate::platform::embedded::EmbeddedPlatform;
use crate::platform::{Platform, SourceState};
use crate::serve::metrics::{Metrics, OutboxGauges, Ownership, RelayCounters, Sampler};
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
    metrics.set_ownership(Arc::new(RuntimeHost {
        replica: replica.to_string(),
        platform,
    }));
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
            self.counters.relayed.inc_by(sent.saturating_sub(seen.0));
            self.counters
                .failures
                .inc_by(failures.saturating_sub(seen.1));
            *seen = (sent.max(seen.0), failures.max(seen.1));
        }
    }
}

/// Until leases exist: the process holding the data dir's runtime lock
/// hosts every instance, so this replica owns them all while it holds it
/// and none otherwise.
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
