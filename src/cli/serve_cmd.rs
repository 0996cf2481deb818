//! `aacon serve` and the choice of API mode for the other commands.

use super::commands::Failure;
use super::{Global, ServeArgs, exit};
use crate::config::{self, Overrides, Settings};
use crate::host::{Hosted, RelayWhen};
use crate::paths::DataDir;
use crate::platform::api::{ApiOptions, ApiToken};
use crate::platform::embedded::{EmbeddedPlatform, Role};
use crate::platform::{Platform, ReadOnly};
use crate::serve::{ReplicaId, ServeOptions, Server, shutdown_signal};
use std::io::Write;
use std::sync::Arc;

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// The settings: flag > environment > config file > default (resolved
/// once: `cli::run` keeps them in `global.settings`).
pub(super) fn settings(global: &Global) -> Result<Settings, Failure> {
    if let Some(s) = &global.settings {
        return Ok(s.clone());
    }
    let usage = |e: crate::config::ConfigError| Failure::new(exit::USAGE, e.to_string());
    if let Some(url) = &global.redis
        && crate::config::redacted_url(url) != *url
    {
        return Err(Failure::new(
            exit::USAGE,
            "the --redis URL holds a password, which any user can read in the process list; set AACON_REDIS_URL or [redis] url in the config file instead",
        ));
    }
    resolve_settings(global).map_err(usage)
}

/// The settings from the config file, the context and the flags (none
/// cached, no check of the flags).
pub(super) fn resolve_settings(global: &Global) -> Result<Settings, crate::config::ConfigError> {
    let file = config::load_from(global.config.as_deref(), &env)?;
    let file = match &global.context {
        Some(name) => Some(file.unwrap_or_default().with_context(name, &env)?),
        None => file,
    };
    let flags = Overrides {
        api_url: global.api.clone(),
        workspace: global.workspace.clone(),
        redis_url: global.redis.clone().map(crate::config::Secret::new),
        theme: global.theme.clone(),
        keymap: global.keymap.clone(),
        read_only: global.read_only.then_some(true),
        log_level: global.log.clone(),
    };
    match &global.context {
        Some(_) => Settings::resolve(&flags, &|k| config::context_env(&env, k), file),
        None => Settings::resolve(&flags, &env, file),
    }
}

/// API client options when `--api`, `AACON_API_URL` or `backend.api_url` names a server.
pub(super) fn api_options(global: &Global) -> Result<Option<ApiOptions>, Failure> {
    Ok(ApiOptions::from_settings(&settings(global)?)?)
}

pub(super) async fn serve(dir: &DataDir, global: &Global, args: ServeArgs) -> Result<(), Failure> {
    let settings = settings(global)?;
    let redis = crate::platform::api::redis_config(&settings)
        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    // The token clients must send: AACON_API_TOKEN or backend.token.
    let token = settings
        .api_token
        .as_ref()
        .map(|t| ApiToken::new(t.expose()))
        .transpose()
        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    let runtime_cfg = runtime_config(&settings);
    let embedded = Hosted::open(dir, Role::Serve, &runtime_cfg)?;
    embedded.set_retention(retention(&settings));
    let platform: Arc<dyn Platform> = if global.read_only {
        Arc::new(ReadOnly(embedded.clone()))
    } else {
        embedded.clone()
    };
    let has_token = token.is_some();
    let replica = match &settings.replica_id {
        Some(id) => ReplicaId::new(id).map_err(|e| Failure::new(exit::USAGE, e.to_string()))?,
        None => crate::serve::ready::default_replica_id(&env),
    };
    let mut server = Server::bind(
        platform,
        ServeOptions {
            listen: args.listen,
            token,
            read_only: global.read_only,
            replica: replica.clone(),
            metrics_public: settings.metrics_public,
        },
    )
    .await
    .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    // Host the runtime (now, or when the current host exits) and publish
    // the outbox to Redis; on shutdown stop every managed process before
    // the outbox's last flush.
    if let Some(cfg) = &redis {
        eprintln!(
            "aacon: publishing events to {cfg} stream {}",
            cfg.stream_key
        );
    }
    let hosted = match dir.store_url() {
        // On PostgreSQL: one replica of several, running the instances
        // whose lease it holds.
        Some(_) => {
            let addr = server
                .local_addr()
                .map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))?;
            let lease = lease_config(&settings, &replica, addr);
            eprintln!(
                "aacon: sharing instances by lease (interval {:?}), reachable by the other replicas at {}",
                lease.interval, lease.address
            );
            Hosted::start_leased(embedded.clone(), runtime_cfg, redis, lease)
                .await
                .map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))?
        }
        None => Hosted::start(
            embedded.clone(),
            Role::Serve,
            runtime_cfg,
            redis,
            RelayWhen::Always,
            std::time::Duration::from_secs(2),
        ),
    };
    crate::host::ops::wire(
        &hosted,
        &replica,
        &server.metrics(),
        &server.readiness(),
        std::time::Duration::from_secs(settings.relay_stall_secs),
    );
    if let (Some(url), Some(leased)) = (dir.store_url(), hosted.leased()) {
        server.forward(forwarding(url, leased.replica_id(), &settings).await?);
    }
    eprintln!("aacon: replica {replica}");
    server.on_shutdown(Box::new(move || {
        Box::pin(async move {
            hosted.shutdown().await;
        })
    }));
    run(server, &embedded, has_token, global.read_only).await
}

async fn run(
    server: Server,
    embedded: &EmbeddedPlatform,
    has_token: bool,
    read_only: bool,
) -> Result<(), Failure> {
    let addr = server
        .local_addr()
        .map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))?;
    // Consoles of this data dir say "serve at ADDR" for the runtime host.
    if let Err(e) = embedded.set_address(addr.to_string()) {
        tracing::warn!(error = %e, "cannot note the address in the runtime lock");
    }
    if !has_token {
        eprintln!(
            "aacon: no API token configured (AACON_API_TOKEN or backend.token): serving on loopback only, without authentication"
        );
    }
    if read_only {
        eprintln!("aacon: read-only: every change is refused with 403");
    }
    if !embedded.is_runtime_host() && embedded.data_dir().store_url().is_none() {
        eprintln!(
            "aacon: another process hosts the runtime for this data dir; this server takes it over when that process exits"
        );
    }
    tracing::info!(%addr, read_only, auth = has_token, "serving the API");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    server
        .run(shutdown_signal())
        .await
        .map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))?;
    tracing::info!("server stopped");
    eprintln!("aacon: stopped");
    Ok(())
}

/// How this replica takes part in the leases: named by its replica id,
/// reachable at `serve.advertise`, else at the address it listens on
/// (unless that is unspecified: then the host name and the port).
fn lease_config(
    settings: &Settings,
    replica: &ReplicaId,
    bound: std::net::SocketAddr,
) -> crate::cluster::LeaseConfig {
    let address = settings.advertise.clone().unwrap_or_else(|| {
        if bound.ip().is_unspecified() {
            format!("{}:{}", crate::platform::embedded::hostname(), bound.port())
        } else {
            bound.to_string()
        }
    });
    crate::cluster::LeaseConfig::new(replica.to_string(), address)
        .with_interval(std::time::Duration::from_millis(settings.lease_interval_ms))
}

/// Forwarding to the replica that holds an instance's lease, on a shared
/// PostgreSQL store: `replica` is this replica's id in the lease tables
/// (the serve replica id with the suffix of this process start).
async fn forwarding(
    url: &crate::paths::StoreUrl,
    replica: &str,
    settings: &Settings,
) -> Result<crate::serve::forward::Forwarding, Failure> {
    let cluster = crate::cluster::Cluster::connect(url.expose())
        .await
        .map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))?;
    crate::serve::forward::Forwarding::new(
        Arc::new(cluster),
        replica,
        std::time::Duration::from_secs(settings.call_timeout_secs),
    )
    .map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))
}

/// How much call history the config keeps (`history.*`).
pub(super) fn retention(settings: &Settings) -> crate::platform::history::Retention {
    crate::platform::history::Retention {
        keep_per_instance: settings.history_keep,
        keep_days: settings.history_days,
    }
}

/// The runtime's settings as the config gives them, for every process that
/// hosts it (serve, the console, a background host).
pub(super) fn runtime_config(settings: &Settings) -> crate::runtime::RuntimeConfig {
    crate::runtime::RuntimeConfig {
        probe_interval: std::time::Duration::from_secs(settings.health_interval_secs),
        call_timeout: std::time::Duration::from_secs(settings.call_timeout_secs),
        child_env: settings.child_env.clone(),
        ..Default::default()
    }
}
