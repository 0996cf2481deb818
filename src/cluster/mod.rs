//! Instances shared by lease between `aacon serve` replicas on one
//! PostgreSQL (the scale-out replacement for the runtime lock file of
//! [`crate::platform::embedded`]'s `runtime.lock`).
//!
//! Each replica runs a [`LeaseManager`]: it registers the replica, renews
//! its leases every half interval in one statement, claims unowned or expired
//! leases with `FOR UPDATE SKIP LOCKED` up to its fair share
//! (`ceil(instances / live replicas)`), hands back what is beyond its share
//! when replicas join, and tells its owner what changed
//! ([`LeaseChange`]): start an instance on `Acquired`, stop it on `Lost` or
//! `Released`. Every expiry is computed from the database's clock
//! (`now()`); a replica declares a lease lost by its own monotonic clock a
//! margin before the database lets anyone else claim it, so a partitioned
//! replica stops its process before a survivor starts one. Each change of
//! owner increments the lease's generation (the fencing token): a write on
//! behalf of a lease carries it and [`Cluster::check`] (or [`FENCE_SQL`] in
//! the write's own statement) refuses a stale one. Hand-backs and new
//! replicas are announced with `NOTIFY` ([`CHANGE_CHANNEL`]) so the others
//! act at once rather than at their next interval.
//!
//! The module keeps its own tables (`replicas`, `leases`, `lease_history`)
//! and migrations ([`schema`]); which instances want to run comes from an
//! [`InstanceSource`], so the store is not a dependency.

mod manager;
pub mod plan;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

use crate::store::pg::tls::{self, PgConnect};

pub use manager::{LeaseChange, LeaseHandle, LeaseManager, LeaseStats, ReleaseAck};

/// What can go wrong talking to the lease tables, each one sentence.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the lease database URL is not valid: {0}")]
    Url(String),
    #[error("cannot reach the lease database: {0}")]
    Connect(String),
    #[error("the lease database refused a statement: {0}")]
    Db(String),
    #[error("the lease database did not answer within {0:?}")]
    Timeout(Duration),
    #[error(
        "the lease tables are at schema version {found}, newer than this aacon knows ({known}); upgrade aacon"
    )]
    NewerSchema { found: i32, known: i32 },
    #[error("the lease settings are not valid: {0}")]
    Config(String),
    #[error("the list of instances to share could not be read: {0}")]
    Source(String),
}

impl From<tokio_postgres::Error> for ClusterError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's own message when there is one (the driver's Display
        // adds only "db error: ").
        match e.as_db_error() {
            Some(db) => ClusterError::Db(db.message().to_string()),
            None => ClusterError::Db(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClusterError>;

/// The ids of the instances that want to run (desired running), read by
/// the manager at every renewal. The store adapter implements it; a closure
/// returning the ids does too.
#[async_trait::async_trait]
pub trait InstanceSource: Send + Sync + 'static {
    async fn wanted(&self) -> std::result::Result<Vec<String>, String>;
}

#[async_trait::async_trait]
impl<F> InstanceSource for F
where
    F: Fn() -> Vec<String> + Send + Sync + 'static,
{
    async fn wanted(&self) -> std::result::Result<Vec<String>, String> {
        Ok(self())
    }
}

/// How a replica takes part.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The first part of the replica id (a unique suffix is added per
    /// process start), such as the host or pod name.
    pub name: String,
    /// Where the other replicas reach this one to forward a request for an
    /// instance it hosts (`host:port`).
    pub address: String,
    /// The lease interval: the unit the other durations are set in
    /// (`serve.lease_interval_ms`).
    pub interval: Duration,
    /// How often leases are renewed and claimed: half an interval, so a
    /// renewal can fail twice before the loss deadline.
    pub renew_every: Duration,
    /// A lease (and a replica's heartbeat) expires this many intervals
    /// after its last renewal, by the database's clock.
    pub expiry_intervals: u32,
    /// The replica declares a lease lost this long before it can expire:
    /// the time the runtime has to stop the instance's process.
    pub margin: Duration,
    /// How long a hand-back waits for the owner to stop the instance
    /// ([`ReleaseAck`]) before releasing the lease anyway.
    pub release_timeout: Duration,
}

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_EXPIRY_INTERVALS: u32 = 2;
pub const DEFAULT_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

impl LeaseConfig {
    /// The defaults: an interval of 2 s; renew every half interval, expire
    /// 2 intervals after the last renewal, declare lost half an interval
    /// before that. A dead replica's leases are free 1.5 to 2 intervals
    /// after it died.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> LeaseConfig {
        LeaseConfig {
            name: name.into(),
            address: address.into(),
            interval: DEFAULT_INTERVAL,
            renew_every: DEFAULT_INTERVAL / 2,
            expiry_intervals: DEFAULT_EXPIRY_INTERVALS,
            margin: DEFAULT_INTERVAL / 2,
            release_timeout: DEFAULT_RELEASE_TIMEOUT,
        }
    }

    /// The same proportions on another interval.
    pub fn with_interval(mut self, interval: Duration) -> LeaseConfig {
        self.interval = interval;
        self.renew_every = interval / 2;
        self.margin = interval / 2;
        self
    }

    /// How long a lease lives after a renewal, by the database's clock.
    pub fn ttl(&self) -> Duration {
        self.interval * self.expiry_intervals
    }

    /// A renewal must be able to fail once without the lease being lost,
    /// and the margin must leave time to stop a process.
    pub fn validate(&self) -> Result<()> {
        if self.renew_every < Duration::from_millis(50) {
            return Err(ClusterError::Config(format!(
                "leases cannot be renewed more often than every 50 ms ({:?} asked)",
                self.renew_every
            )));
        }
        if self.expiry_intervals < 2 {
            return Err(ClusterError::Config(format!(
                "a lease must live at least 2 intervals, not {}",
                self.expiry_intervals
            )));
        }
        if self.margin.is_zero() || self.margin + self.renew_every * 2 >= self.ttl() {
            return Err(ClusterError::Config(format!(
                "the loss margin {:?} must be more than zero and leave more than two renewals ({:?} apart) of the lease's {:?}",
                self.margin,
                self.renew_every,
                self.ttl()
            )));
        }
        Ok(())
    }
}

/// Who hosts an instance now: where to forward a request for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub replica: String,
    pub address: String,
    pub generation: i64,
}

/// A replica as the `replicas` table knows it, with the leases it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaInfo {
    pub id: String,
    pub address: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Its heartbeat has not expired.
    pub live: bool,
    /// Unexpired leases it holds.
    pub leases: i64,
}

/// A condition for a write made on behalf of a lease, to put in the
/// write's own `WHERE` (parameters: instance id, replica id, generation):
/// the write happens only while that lease is current, checked in the same
/// transaction by the database's clock.
pub const FENCE_SQL: &str = "exists (select 1 from leases where instance_id = $1 and owner = $2 \
     and generation = $3 and expires_at > now())";

/// The `NOTIFY` channel a hand-back or a new replica is announced on, so
/// the other replicas claim (or hand back) at once instead of at their next
/// interval.
pub const CHANGE_CHANNEL: &str = "aacon_lease_change";

/// The lease tables on one PostgreSQL: lookups, and the pool the managers
/// use.
#[derive(Clone)]
pub struct Cluster {
    pool: Pool,
    /// For the hand-back listener's own connection (settings and TLS).
    pg: PgConnect,
    /// The bound on one statement's round trip.
    timeout: Duration,
}

impl Cluster {
    /// Connect to `url` and bring the lease tables to this version
    /// (refusing a newer schema).
    pub async fn connect(url: &str) -> Result<Cluster> {
        Cluster::connect_with(url, Duration::from_secs(5)).await
    }

    /// [`Cluster::connect`] with a bound on each statement's round trip
    /// (and on opening a connection).
    pub async fn connect_with(url: &str, timeout: Duration) -> Result<Cluster> {
        let mut pg = tls::parse(url).map_err(|e| ClusterError::Url(e.to_string()))?;
        pg.config.connect_timeout(timeout);
        pg.config.keepalives_idle(Duration::from_secs(10));
        if pg.config.get_application_name().is_none() {
            pg.config.application_name("aacon-lease");
        }
        let manager = Manager::from_config(
            pg.config.clone(),
            pg.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(4)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|e| ClusterError::Connect(e.to_string()))?;
        let cluster = Cluster { pool, pg, timeout };
        let mut client = cluster.client().await?;
        bounded(timeout, schema::migrate(&mut client)).await?;
        Ok(cluster)
    }

    /// A pooled connection, or why there is none.
    pub(crate) async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Timeout(_) => ClusterError::Timeout(self.timeout),
            deadpool_postgres::PoolError::Backend(e) => {
                ClusterError::Connect(tls::explain(&e, self.pg.mode))
            }
            other => ClusterError::Connect(other.to_string()),
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Call `wake` each time a replica hands leases back or joins
    /// (`NOTIFY` on [`CHANGE_CHANNEL`]), on a connection of its own, reconnecting
    /// every `retry` while the database cannot be reached. Runs until
    /// aborted.
    pub(crate) async fn listen_for_changes(self, retry: Duration, wake: Arc<Notify>) {
        loop {
            match bounded(self.timeout, self.pg.config.connect(self.pg.tls.clone())).await {
                Ok((client, mut conn)) => {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                    let driver = tokio::spawn(async move {
                        let mut messages = futures::stream::poll_fn(|cx| conn.poll_message(cx));
                        while let Some(Ok(m)) = messages.next().await {
                            if let AsyncMessage::Notification(_) = m {
                                let _ = tx.send(());
                            }
                        }
                    });
                    let listen = format!("listen {CHANGE_CHANNEL}");
                    if bounded(self.timeout, client.batch_execute(&listen))
                        .await
                        .is_ok()
                    {
                        // Anything handed back while not listening is
                        // found at the next interval anyway.
                        wake.notify_one();
                        while rx.recv().await.is_some() {
                            wake.notify_one();
                        }
                    }
                    driver.abort();
                }
                Err(e) => tracing::debug!(error = %e, "cannot listen for lease changes"),
            }
            tokio::time::sleep(retry).await;
        }
    }

    /// The replica hosting `instance` under an unexpired lease, with its
    /// address and the lease's generation.
    pub async fn owner_of(&self, instance: &str) -> Result<Option<Owner>> {
        let client = self.client().await?;
        let row = bounded(
            self.timeout,
            client.query_opt(
                "select l.owner, r.address, l.generation from leases l \
                 join replicas r on r.id = l.owner \
                 where l.instance_id = $1 and l.expires_at > now()",
                &[&instance],
            ),
        )
        .await?;
        Ok(row.map(|r| Owner {
            replica: r.get(0),
            address: r.get(1),
            generation: r.get(2),
        }))
    }

    /// Whether any replica's heartbeat is current: leases are in use on
    /// this database (an instance without an owner is then waiting for
    /// one, not hosted the single-process way).
    pub async fn any_live(&self) -> Result<bool> {
        let client = self.client().await?;
        let row = bounded(
            self.timeout,
            client.query_one(
                "select exists (select 1 from replicas where expires_at > now())",
                &[],
            ),
        )
        .await?;
        Ok(row.get(0))
    }

    /// Every registered replica, live ones first, with its lease count.
    pub async fn replicas(&self) -> Result<Vec<ReplicaInfo>> {
        let client = self.client().await?;
        let rows = bounded(
            self.timeout,
            client.query(
                "select r.id, r.address, r.started_at, r.heartbeat_at, r.expires_at > now(), \
                 (select count(*) from leases l where l.owner = r.id and l.expires_at > now()) \
                 from replicas r order by r.expires_at > now() desc, r.id",
                &[],
            ),
        )
        .await?;
        Ok(rows
            .iter()
            .map(|r| ReplicaInfo {
                id: r.get(0),
                address: r.get(1),
                started_at: r.get(2),
                heartbeat_at: r.get(3),
                live: r.get(4),
                leases: r.get(5),
            })
            .collect())
    }

    /// Whether `replica` still holds `instance`'s lease at `generation`
    /// (by the database's clock). A write that must not outlive the lease
    /// puts [`FENCE_SQL`] in its own statement instead.
    pub async fn check(&self, instance: &str, replica: &str, generation: i64) -> Result<bool> {
        let client = self.client().await?;
        let row = bounded(
            self.timeout,
            client.query_one(
                &format!("select {FENCE_SQL}"),
                &[&instance, &replica, &generation],
            ),
        )
        .await?;
        Ok(row.get(0))
    }
}

/// `fut` within `limit`, its error converted.
pub(crate) async fn bounded<T, E>(
    limit: Duration,
    fut: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> Result<T>
where
    ClusterError: From<E>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(ClusterError::from),
        Err(_) => Err(ClusterError::Timeout(limit)),
    }
}
