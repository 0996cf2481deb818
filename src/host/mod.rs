//! The composition root: the one place that builds the embedded platform,
//! the MCP runtime, the runtime socket and the outbox relay, for the
//! console, `aacon serve`, the background host and the CLI alike.
//!
//! The adapters below know only the port: the runtime reaches its
//! platform through [`crate::platform::RuntimePort`], the platform reaches
//! sessions through [`crate::platform::ToolSessions`]; this module plugs
//! them together.

pub mod lease;
pub mod ops;
pub mod socket;

use crate::bus::{RedisConfig, Relay, RelayHandle, RelayOnce};
use crate::paths::DataDir;
use crate::platform::Result;
use crate::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use crate::runtime::{OneShot, Runtime, RuntimeConfig, RuntimeHandle};
use crate::store::BoxedStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Kill every managed process group if this process panics, after
/// installing another panic hook (see [`crate::runtime::procs`]).
pub use crate::runtime::procs::wrap_panic_hook;

/// Open the embedded platform on `dir`, its tool calls wired: the runtime
/// host of the data dir over its socket, else a session opened for one
/// request (with the default runtime settings).
pub fn open_embedded(dir: DataDir, opts: EmbeddedOptions) -> Result<EmbeddedPlatform> {
    open_embedded_with(dir, opts, RuntimeConfig::default())
}

/// [`open_embedded`] with the runtime settings a one-shot session uses
/// (the config's `runtime.child_env` and the rest).
pub fn open_embedded_with(
    dir: DataDir,
    opts: EmbeddedOptions,
    cfg: RuntimeConfig,
) -> Result<EmbeddedPlatform> {
    let root = dir.root().to_path_buf();
    let socket = dir.socket();
    let p = EmbeddedPlatform::open(dir, opts)?;
    p.set_sessions(
        Arc::new(socket::SocketSessions::new(socket)),
        Arc::new(OneShot::new(&root, cfg)),
    );
    // The call history redacts each instance's secret values, resolved
    // as a session would resolve them.
    let secrets = crate::secrets::SecretStore::open(&root);
    p.set_secret_values(Arc::new(move |inst: &crate::domain::Instance| {
        crate::runtime::plan::resolve(&inst.json_spec, &secrets)
            .map(|r| r.secrets.iter().map(|s| s.expose().to_string()).collect())
            .unwrap_or_default()
    }));
    Ok(p)
}

/// Start the runtime on `platform` (only the runtime lock holder does)
/// and, when `cfg.socket`, answer the other local aacon processes on
/// `runtime.sock`.
pub fn spawn_runtime(platform: Arc<EmbeddedPlatform>, cfg: RuntimeConfig) -> RuntimeHandle {
    let socket = cfg.socket;
    let mut rt = Runtime::spawn(platform.clone(), cfg);
    if socket {
        let path = platform.data_dir().socket();
        match socket::start(platform, &path) {
            Ok(task) => rt.keep_socket(task, path),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "cannot open the runtime socket; other aacon processes cannot reach this runtime");
            }
        }
    }
    rt
}

/// Publish the platform's events to Redis (at least once, from the
/// outbox). Shut the handle down last, to flush what is pending.
pub fn relay(platform: &EmbeddedPlatform, cfg: RedisConfig) -> RelayHandle {
    Relay::spawn_shared(cfg, platform.store(), platform.outbox_wake())
}

/// Publish what a CLI command commits, once: the connection to Redis is
/// made from now on, while the command runs, and [`RelayOnce::send`] sends
/// the outbox after the commit through the platform's own store
/// connection (no second open of the store, no connect between the commit
/// and the `XADD`). What Redis does not take waits for the runtime host's
/// relay.
pub fn publish_once(platform: &EmbeddedPlatform, cfg: RedisConfig) -> RelayOnce<BoxedStore> {
    RelayOnce::connect(cfg, platform.store())
}

/// Runtime hosting for a console or `aacon serve`: host now if this
/// process holds the runtime lock, else keep trying to take it over (when
/// the current host exits) and then reconcile.
pub struct Host {
    runtime: Arc<tokio::sync::Mutex<Option<RuntimeHandle>>>,
    task: JoinHandle<()>,
}

impl Host {
    /// Start hosting on `platform` as `role`, retrying the lock every `retry`.
    pub fn start(
        platform: Arc<EmbeddedPlatform>,
        role: Role,
        cfg: RuntimeConfig,
        retry: Duration,
    ) -> Host {
        let runtime = Arc::new(tokio::sync::Mutex::new(None));
        if platform.data_dir().store_url().is_some() {
            // On PostgreSQL the instances run in `aacon serve` replicas by
            // lease ([`Hosted::start_leased`]); a console or a background
            // host beside them would run them twice.
            tracing::info!(
                role = role.as_str(),
                "on a PostgreSQL store the instances run in `aacon serve` replicas; this process does not host them"
            );
            return Host {
                runtime,
                task: tokio::spawn(async {}),
            };
        }
        let slot = runtime.clone();
        let task = tokio::spawn(async move {
            loop {
                // The lock is a file and, on PostgreSQL, a connection: taken
                // on the blocking pool, never on a runtime worker.
                let p = platform.clone();
                let taken = tokio::task::spawn_blocking(move || p.try_take_runtime(role))
                    .await
                    .unwrap_or_else(|e| {
                        Err(crate::platform::PlatformError::Internal(format!(
                            "the runtime lock task failed: {e}"
                        )))
                    });
                match taken {
                    Ok(true) => {
                        tracing::info!("this process now hosts the runtime");
                        *slot.lock().await = Some(spawn_runtime(platform.clone(), cfg));
                        return;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot take the runtime lock"),
                }
                tokio::time::sleep(retry).await;
            }
        });
        Host { runtime, task }
    }

    /// Whether this process hosts the runtime now.
    pub async fn is_hosting(&self) -> bool {
        self.runtime.lock().await.is_some()
    }

    /// Run `f` on the runtime if this process hosts it.
    pub async fn with<T>(&self, f: impl FnOnce(&RuntimeHandle) -> T) -> Option<T> {
        self.runtime.lock().await.as_ref().map(f)
    }

    /// Stop trying, and shut the runtime down if it runs here.
    pub async fn shutdown(self) {
        self.task.abort();
        let rt = self.runtime.lock().await.take();
        if let Some(rt) = rt {
            rt.shutdown().await;
        }
    }

    /// Stop trying, and stop the runtime here without reporting, for the
    /// next host to take over ([`RuntimeHandle::hand_over`]). The caller
    /// then releases the runtime lock.
    pub async fn hand_over(self) {
        self.task.abort();
        let rt = self.runtime.lock().await.take();
        if let Some(rt) = rt {
            rt.hand_over().await;
        }
    }
}

/// When the outbox relay runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayWhen {
    /// Always (serve, the background host: they host, or wait to).
    Always,
    /// Only if this process hosts the runtime as it starts (a console:
    /// the host's relay publishes for everyone else).
    IfHosting,
}

/// What a hosting process (console, serve, background host) runs: the
/// embedded platform, the runtime (now, or once it takes the lock over)
/// and, with Redis, the outbox relay.
pub struct Hosted {
    pub platform: Arc<EmbeddedPlatform>,
    runner: Runner,
    relay: Option<RelayHandle>,
}

/// How a hosting process runs instances.
enum Runner {
    /// All of them, while it holds the data dir's runtime lock.
    Lock(Host),
    /// Those whose lease it holds (serve on PostgreSQL).
    Lease(Box<lease::Leased>),
}

impl Hosted {
    /// Open the platform on `dir` for a process that hosts the runtime
    /// (it takes the runtime lock if nobody holds it).
    pub fn open(dir: &DataDir, role: Role, cfg: &RuntimeConfig) -> Result<Arc<EmbeddedPlatform>> {
        Ok(Arc::new(open_embedded_with(
            dir.clone(),
            EmbeddedOptions {
                role,
                host_runtime: true,
            },
            cfg.clone(),
        )?))
    }

    /// Host `platform`'s runtime as `role` (now, or once the current host
    /// lets go, trying every `retry`) and, with Redis, run the relay.
    pub fn start(
        platform: Arc<EmbeddedPlatform>,
        role: Role,
        cfg: RuntimeConfig,
        redis: Option<RedisConfig>,
        relay_when: RelayWhen,
        retry: Duration,
    ) -> Hosted {
        let host = Host::start(platform.clone(), role, cfg, retry);
        let relay = redis
            .filter(|_| relay_when == RelayWhen::Always || platform.is_runtime_host())
            .map(|cfg| relay(&platform, cfg));
        Hosted {
            platform,
            runner: Runner::Lock(host),
            relay,
        }
    }

    /// `aacon serve` on a PostgreSQL store: join the replicas sharing its
    /// instances by lease and run those this replica holds ([`lease`]),
    /// and, with Redis, run the relay (each replica publishes its share of
    /// the outbox; a row is claimed by one relay).
    pub async fn start_leased(
        platform: Arc<EmbeddedPlatform>,
        cfg: RuntimeConfig,
        redis: Option<RedisConfig>,
        lease: crate::cluster::LeaseConfig,
    ) -> std::result::Result<Hosted, crate::cluster::ClusterError> {
        let Some(url) = platform.data_dir().store_url().cloned() else {
            return Err(crate::cluster::ClusterError::Config(
                "instances are shared by lease only on a PostgreSQL store (store.url)".into(),
            ));
        };
        let leased = lease::Leased::start(platform.clone(), &url, cfg, lease).await?;
        let relay = redis.map(|cfg| relay(&platform, cfg));
        Ok(Hosted {
            platform,
            runner: Runner::Lease(Box::new(leased)),
            relay,
        })
    }

    /// The replica's leases, when it hosts by lease.
    pub fn leased(&self) -> Option<&lease::Leased> {
        match &self.runner {
            Runner::Lease(l) => Some(l),
            Runner::Lock(_) => None,
        }
    }

    /// Stop every managed process, then flush what is left of the outbox.
    /// By lease: the processes stop without a report and every lease is
    /// handed back at once, for the other replicas to take over now.
    pub async fn shutdown(self) {
        match self.runner {
            Runner::Lock(host) => host.shutdown().await,
            Runner::Lease(leased) => leased.shutdown().await,
        }
        if let Some(relay) = self.relay {
            relay.shutdown().await;
        }
    }

    /// Stop every managed process without reporting it stopped, flush the
    /// outbox and let go of the runtime lock, for another host to take
    /// over (see [`Host::hand_over`]).
    pub async fn hand_over(self) {
        match self.runner {
            Runner::Lock(host) => host.hand_over().await,
            Runner::Lease(leased) => leased.shutdown().await,
        }
        if let Some(relay) = self.relay {
            relay.shutdown().await;
        }
        self.platform.release_runtime();
    }
}
