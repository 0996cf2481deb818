//! Hosting by lease: an `aacon serve` replica on a PostgreSQL store runs
//! only the instances whose lease it holds ([`crate::cluster`]).
//!
//! Each change the [`LeaseManager`] reports is applied to the runtime's
//! [`HostScope`]:
//! - `Acquired`: the instance joins the scope and is reconciled (started
//!   when desired running; its status reports carry the generation).
//! - `Lost`: it leaves the scope at once (nothing more is written) and its
//!   process is stopped, killed if it has not ended within half the loss
//!   margin, before anyone else may claim the lease.
//! - `Released` (beyond the fair share, no longer wanted, shutdown): it
//!   stops without a report (the next owner reports as it starts it; a
//!   stop is reported only when it is desired stopped), then the ack lets
//!   the lease go.

use crate::cluster::{
    Cluster, ClusterError, InstanceSource, LeaseChange, LeaseConfig, LeaseHandle, LeaseManager,
    LeaseStats,
};

use crate::paths::StoreUrl;
use crate::platform::RuntimePort;
use crate::platform::embedded::EmbeddedPlatform;
use crate::runtime::{HostScope, Hosting, RuntimeConfig, RuntimeHandle, Unhost};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The instances that want a host: the store's desired-running ids, and
/// those desired stopped whose observed status still says a process runs
/// (their owner died before it could stop them): the replica that takes
/// the lease finds nothing running and reports them stopped, and then
/// lets the lease go.
struct Wanted(Arc<EmbeddedPlatform>);

#[async_trait::async_trait]
impl InstanceSource for Wanted {
    async fn wanted(&self) -> Result<Vec<String>, String> {
        let list = RuntimePort::instances(&*self.0)
            .await
            .map_err(|e| e.to_string())?;
        Ok(list
            .into_iter()
            .filter(|i| i.wants_a_host())
            .map(|i| i.id.to_string())
            .collect())
    }
}

/// A replica hosting by lease: its lease task, its runtime and the task
/// that applies one to the other.
pub struct Leased {
    handle: LeaseHandle,
    runtime: RuntimeHandle,
    scope: HostScope,
    driver: JoinHandle<()>,
}

impl Leased {
    /// Join the replicas of the store at `url` and run what this replica
    /// is given (`cfg` without a scope: one is made here).
    pub async fn start(
        platform: Arc<EmbeddedPlatform>,
        url: &StoreUrl,
        cfg: RuntimeConfig,
        lease: LeaseConfig,
    ) -> Result<Leased, ClusterError> {
        let cluster = Cluster::connect(url.expose()).await?;
        let within = lease.margin / 2;
        let source = Arc::new(Wanted(platform.clone()));
        let (handle, changes) = LeaseManager::start(cluster, lease, source).await?;
        let scope = HostScope::new(handle.replica_id());
        let runtime = super::spawn_runtime(
            platform,
            RuntimeConfig {
                scope: Some(scope.clone()),
                ..cfg
            },
        );
        let Some(hosting) = runtime.hosting() else {
            // Unreachable: the runtime was given a scope just above.
            return Err(ClusterError::Config(
                "the runtime was started without a lease scope".into(),
            ));
        };
        let driver = tokio::spawn(drive(hosting, changes, within));
        tracing::info!(replica = %handle.replica_id(), "hosting instances by lease");
        Ok(Leased {
            handle,
            runtime,
            scope,
            driver,
        })
    }

    /// This replica's id in the lease rows.
    pub fn replica_id(&self) -> &str {
        self.handle.replica_id()
    }

    pub fn stats(&self) -> Arc<LeaseStats> {
        self.handle.stats()
    }

    pub fn config(&self) -> &LeaseConfig {
        self.handle.config()
    }

    /// The instances hosted here now.
    pub fn scope(&self) -> &HostScope {
        &self.scope
    }

    /// The runtime (its live sessions, logs and probes).
    pub fn runtime(&self) -> &RuntimeHandle {
        &self.runtime
    }

    /// Stop every process here without reporting it stopped (the next
    /// owners report as they start them), then hand every lease back at
    /// once so the other replicas claim them now rather than at expiry.
    pub async fn shutdown(self) {
        let Leased {
            handle,
            runtime,
            driver,
            ..
        } = self;
        runtime.hand_over().await;
        // The driver acks each hand-back (nothing runs any more).
        handle.shutdown().await;
        driver.abort();
    }
}

/// Apply the lease changes to the runtime, in order: consecutive
/// acquisitions in one reconciliation, consecutive losses stopped
/// together, each hand-back on its own task (acked once stopped).
async fn drive(
    hosting: Hosting,
    mut changes: mpsc::UnboundedReceiver<LeaseChange>,
    within: Duration,
) {
    while let Some(first) = changes.recv().await {
        let mut batch = vec![first];
        while let Ok(c) = changes.try_recv() {
            batch.push(c);
        }
        let mut acquired: Vec<(Uuid, i64)> = Vec::new();
        let mut lost: Vec<Uuid> = Vec::new();
        for change in batch {
            match change {
                LeaseChange::Acquired { id, generation } => {
                    stop_lost(&hosting, &mut lost, within).await;
                    if let Ok(id) = Uuid::parse_str(&id) {
                        acquired.push((id, generation));
                    }
                }
                LeaseChange::Lost { id, generation } => {
                    host(&hosting, &mut acquired).await;
                    tracing::warn!(instance = %id, generation, "instance lease lost: stopping it here");
                    if let Ok(id) = Uuid::parse_str(&id) {
                        lost.push(id);
                    }
                }
                LeaseChange::Released { id, ack, .. } => {
                    host(&hosting, &mut acquired).await;
                    stop_lost(&hosting, &mut lost, within).await;
                    let hosting = hosting.clone();
                    tokio::spawn(async move {
                        if let Ok(id) = Uuid::parse_str(&id) {
                            hosting.unhost(id, Unhost::HandBack).await;
                        }
                        ack.done();
                    });
                }
            }
        }
        stop_lost(&hosting, &mut lost, within).await;
        host(&hosting, &mut acquired).await;
    }
}

async fn host(hosting: &Hosting, acquired: &mut Vec<(Uuid, i64)>) {
    if !acquired.is_empty() {
        hosting.host(acquired).await;
        acquired.clear();
    }
}

async fn stop_lost(hosting: &Hosting, lost: &mut Vec<Uuid>, within: Duration) {
    if !lost.is_empty() {
        futures::future::join_all(
            lost.drain(..)
                .map(|id| hosting.unhost(id, Unhost::Lost { within })),
        )
        .await;
    }
}
