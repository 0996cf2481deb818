//! `aacon serve` and the choice of API mode for the other commands.

use super::commands::Failure;
use super::{Global, ServeArgs, exit};
use crate::paths::{self, DataDir};
use crate::platform::api::{ApiOptions, ConfigSections};
use crate::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use crate::platform::{Platform, ReadOnly};
use crate::serve::{ServeOptions, Server, shutdown_signal};
use std::io::Write;
use std::sync::Arc;

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn config(global: &Global) -> Result<ConfigSections, Failure> {
    let path = match &global.config {
        Some(p) => p.clone(),
        None => match paths::config_dir() {
            Some(d) => d.join("config.toml"),
            None => return Ok(ConfigSections::default()),
        },
    };
    ConfigSections::load(&path).map_err(|e| Failure::new(exit::USAGE, e))
}

/// API client options when `--api`, `AACON_API_URL` or `[api] url` names a server.
pub(super) fn api_options(global: &Global) -> Result<Option<ApiOptions>, Failure> {
    Ok(config(global)?.client_options(global.api.as_deref(), &env)?)
}

pub(super) async fn serve(dir: &DataDir, global: &Global, args: ServeArgs) -> Result<(), Failure> {
    let cfg = config(global)?;
    let token = cfg.serve_token(&env)?;
    let embedded = Arc::new(EmbeddedPlatform::open(
        dir.clone(),
        EmbeddedOptions {
            role: Role::Serve,
            host_runtime: true,
        },
    )?);
    let platform: Arc<dyn Platform> = if global.read_only {
        Arc::new(ReadOnly(embedded.clone()))
    } else {
        embedded.clone()
    };
    let has_token = token.is_some();
    let server = Server::bind(
        platform,
        ServeOptions {
            listen: args.listen,
            token,
            read_only: global.read_only,
        },
    )
    .await
    .map_err(|e| Failure::new(exit::USAGE, e))?;
    let addr = server
        .local_addr()
        .map_err(|e| Failure::new(exit::RUNTIME, e))?;
    if !has_token {
        eprintln!(
            "aacon: no API token configured (AACON_API_TOKEN or [serve] token): serving on loopback only, without authentication"
        );
    }
    if global.read_only {
        eprintln!("aacon: read-only: every change is refused with 403");
    }
    if !embedded.is_runtime_host() {
        eprintln!(
            "aacon: another process hosts the runtime for this data dir; this server records desired state only"
        );
    }
    tracing::info!(%addr, read_only = global.read_only, auth = has_token, "serving the API");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}");
        let _ = out.flush();
    }
    server
        .run(shutdown_signal())
        .await
        .map_err(|e| Failure::new(exit::RUNTIME, e))?;
    tracing::info!("server stopped");
    eprintln!("aacon: stopped");
    Ok(())
}
