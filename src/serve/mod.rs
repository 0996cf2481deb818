//! `aacon serve`: a platform exposed through AgentArea's
//! `/v1/mcp-server-instances` REST contract (axum), so many consoles share
//! one runtime.
//!
//! Same paths, shapes and status codes as AgentArea; errors are
//! `{"detail": …}` (FastAPI's validation list for malformed requests). Our
//! extensions, which AgentArea clients ignore: extra instance fields
//! (`version`, `desired_state`, `kind`, …), `ETag`s (`If-None-Match` on the
//! list, `If-Match: "<version>"` on PATCH), `issues` on an invalid json_spec,
//! the instance in start/stop answers, and `GET /v1/aacon/events`.

// Helpers return a ready error `Response` so handlers can answer early.
#![allow(clippy::result_large_err)]

pub mod forward;
mod history;
pub mod metrics;
mod openapi;
pub mod ready;
mod surface;
pub mod unix;

use crate::domain::{InstancePatch, NewInstance, Precondition};
use crate::platform::api::ApiToken;
use crate::platform::api::wire::{
    self, BASE_PATH, CheckResponse, ContainerHealth, ContainersHealth, EVENTS_PATH, Environment,
    ErrorBody, NOT_FOUND_DETAIL, StatusMessage, WireInstance,
};
use crate::platform::history::{self as calls, Caller};
use crate::platform::{EventQuery, Platform, PlatformError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::future::BoxFuture;
pub use metrics::Metrics;
pub use ready::{Readiness, ReadinessCheck, ReplicaId};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Largest request body accepted (a 1 MiB json_spec plus room).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Bearer token clients must send; without one, loopback only.
    pub token: Option<ApiToken>,
    /// Reject mutations with 403 (the platform passed in should be wrapped
    /// in `ReadOnly` too; this flag is what `/health` reports).
    pub read_only: bool,
    /// This replica's name, in the `x-aacon-replica` header of every answer.
    pub replica: ReplicaId,
    /// Answer `/metrics` without the token (a scraper that has none).
    pub metrics_public: bool,
}

/// What a TCP server (not the runtime socket) adds: its identity, its
/// metrics and its readiness checks.
#[derive(Clone)]
struct Ops {
    replica: ReplicaId,
    metrics: Metrics,
    readiness: Readiness,
}

#[derive(Clone)]
struct AppState {
    platform: Arc<dyn Platform>,
    token: Option<Arc<ApiToken>>,
    read_only: bool,
    /// Served on the data dir's `runtime.sock` (same user only): `/health`
    /// also names the host's pid.
    local: bool,
    /// `/ready`, `/metrics` and the replica header (TCP servers only).
    ops: Option<Ops>,
    /// `/metrics` answers without the token.
    metrics_public: bool,
    /// The last list answer (its stamp, body and ETag), served again while
    /// the platform's list stamp is unchanged.
    list_cache: Arc<std::sync::Mutex<Option<ListCache>>>,
    /// Set when instances are shared by lease: requests for an instance
    /// another replica hosts go there ([`forward`]).
    forward: Arc<std::sync::OnceLock<forward::Forwarding>>,
}

struct ListCache {
    stamp: i64,
    body: Bytes,
    etag: String,
}

/// Work run after the server stopped taking requests (stop managed
/// processes, flush the outbox), in the order added.
pub type ShutdownHook = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// A bound, not yet running server.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    hooks: Vec<ShutdownHook>,
    metrics: Metrics,
    readiness: Readiness,
    forward: Arc<std::sync::OnceLock<forward::Forwarding>>,
}

/// The router alone (tests and embedding), with fresh metrics and no
/// readiness checks.
pub fn router(platform: Arc<dyn Platform>, opts: &ServeOptions) -> Router {
    tcp_router(
        platform,
        opts,
        Metrics::new(opts.replica.as_str()),
        Readiness::default(),
        Arc::default(),
    )
}

fn tcp_router(
    platform: Arc<dyn Platform>,
    opts: &ServeOptions,
    metrics: Metrics,
    readiness: Readiness,
    forward: Arc<std::sync::OnceLock<forward::Forwarding>>,
) -> Router {
    build_router(AppState {
        platform,
        token: opts.token.clone().map(Arc::new),
        read_only: opts.read_only,
        local: false,
        ops: Some(Ops {
            replica: opts.replica.clone(),
            metrics,
            readiness,
        }),
        metrics_public: opts.metrics_public || opts.token.is_none(),
        list_cache: Arc::new(std::sync::Mutex::new(None)),
        forward,
    })
}

/// The same API for the runtime host's Unix socket (see [`unix`]): no
/// token (the socket is owner-only and peers are checked), and `/health`
/// names the host's pid.
pub fn local_router(platform: Arc<dyn Platform>) -> Router {
    build_router(AppState {
        platform,
        token: None,
        read_only: false,
        local: true,
        ops: None,
        metrics_public: false,
        list_cache: Arc::new(std::sync::Mutex::new(None)),
        forward: Arc::default(),
    })
}

fn build_router(state: AppState) -> Router {
    let ops = state.ops.clone();
    let mut api = Router::new()
        .route(
            &format!("{BASE_PATH}/"),
            get(list_instances).post(create_instance),
        )
        .route(BASE_PATH, get(list_instances).post(create_instance))
        .route(&format!("{BASE_PATH}/check"), post(check))
        .route(
            &format!("{BASE_PATH}/health/containers"),
            get(containers_health),
        )
        .route(&format!("{BASE_PATH}/health/probes"), get(probes))
        .route(
            &format!("{BASE_PATH}/{{id}}"),
            get(get_instance)
                .patch(patch_instance)
                .delete(delete_instance),
        )
        .route(&format!("{BASE_PATH}/{{id}}/start"), post(start_instance))
        .route(&format!("{BASE_PATH}/{{id}}/stop"), post(stop_instance))
        .route(
            &format!("{BASE_PATH}/{{id}}/restart"),
            post(restart_instance),
        )
        .route(&format!("{BASE_PATH}/{{id}}/tools"), get(tools))
        .route(&format!("{BASE_PATH}/{{id}}/environment"), get(environment))
        .route(
            &format!("{BASE_PATH}/{{id}}/hosting"),
            get(forward::hosting),
        )
        .merge(hosted_routes(&state))
        .merge(history::routes())
        .route(EVENTS_PATH, get(events));
    let mut public = Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_doc));
    if ops.is_some() {
        public = public.route("/ready", get(ready));
        // A scrape without the token only where the operator said so.
        if state.metrics_public {
            public = public.route(METRICS_PATH, get(scrape));
        } else {
            api = api.route(METRICS_PATH, get(scrape));
        }
    }
    let api = api.route_layer(middleware::from_fn_with_state(state.clone(), auth));
    let router = public
        .merge(api)
        .route_layer(middleware::from_fn(metrics::note_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state);
    match ops {
        Some(ops) => router
            .layer(middleware::from_fn_with_state(
                ops.metrics.clone(),
                metrics::track,
            ))
            .layer(middleware::from_fn_with_state(ops.replica, name_replica)),
        None => router,
    }
}

/// The routes that need the instance's MCP session, forwarded to the
/// replica hosting it when instances are shared by lease.
fn hosted_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE_PATH}/{{id}}/tools/call"), post(call_tool))
        .route(&format!("{BASE_PATH}/{{id}}/logs"), get(logs))
        .merge(surface::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            forward::layer,
        ))
}

/// Where the metrics are scraped.
pub const METRICS_PATH: &str = "/metrics";

/// Name this replica on every answer.
async fn name_replica(State(replica): State<ReplicaId>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(ready::REPLICA_HEADER, ready::header_value(&replica));
    resp
}

/// Why the server could not start or stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {0} without an API token; set AACON_API_TOKEN (or backend.token in the config), or listen on 127.0.0.1"
    )]
    NoToken(SocketAddr),
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("cannot read the bound address: {0}")]
    Address(std::io::Error),
    #[error("the server failed: {0}")]
    Failed(std::io::Error),
    #[error("the server task failed: {0}")]
    Task(tokio::task::JoinError),
}

impl Server {
    /// Bind `opts.listen`. Without a token only a loopback address is allowed.
    pub async fn bind(
        platform: Arc<dyn Platform>,
        opts: ServeOptions,
    ) -> Result<Server, ServeError> {
        if opts.token.is_none() && !opts.listen.ip().is_loopback() {
            return Err(ServeError::NoToken(opts.listen));
        }
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|error| ServeError::Listen {
                addr: opts.listen,
                error,
            })?;
        let metrics = Metrics::new(opts.replica.as_str());
        let readiness = Readiness::default();
        let forward: Arc<std::sync::OnceLock<forward::Forwarding>> = Arc::default();
        Ok(Server {
            listener,
            router: tcp_router(
                platform,
                &opts,
                metrics.clone(),
                readiness.clone(),
                forward.clone(),
            ),
            hooks: Vec::new(),
            metrics,
            readiness,
            forward,
        })
    }

    /// Forward requests for instances other replicas host (instances
    /// shared by lease; see [`forward`]). Set once, before or while
    /// serving; a second call changes nothing.
    pub fn forward(&self, forwarding: forward::Forwarding) {
        if self.forward.set(forwarding).is_err() {
            tracing::warn!("forwarding was already set up; the second setting is ignored");
        }
    }

    /// The server's metrics, to register into and feed.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The server's readiness checks, to add to.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.listener.local_addr().map_err(ServeError::Address)
    }

    /// Run `hook` after the server stopped (see [`ShutdownHook`]).
    pub fn on_shutdown(&mut self, hook: ShutdownHook) {
        self.hooks.push(hook);
    }

    /// Serve until `shutdown` resolves; then let in-flight requests finish
    /// (up to [`DRAIN_TIMEOUT`]) and run the shutdown hooks.
    pub async fn run<F>(self, shutdown: F) -> Result<(), ServeError>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            let _ = signalled_tx.send(());
        };
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let serve = tokio::spawn(async move { serve.await });
        let mut serve = serve;
        let result = tokio::select! {
            r = &mut serve => r,
            _ = async {
                let _ = signalled_rx.await;
                tokio::time::sleep(DRAIN_TIMEOUT).await;
            } => {
                tracing::warn!("requests still running after the drain timeout; stopping anyway");
                serve.abort();
                Ok(Ok(()))
            }
        };
        for hook in self.hooks {
            hook().await;
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Failed(e)),
            Err(e) if e.is_cancelled() => Ok(()),
            Err(e) => Err(ServeError::Task(e)),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

// ---------- responses ----------

fn detail(status: StatusCode, detail: impl Into<Value>) -> Response {
    (
        status,
        Json(ErrorBody {
            detail: detail.into(),
            issues: None,
        }),
    )
        .into_response()
}

/// FastAPI's 422 shape for one bad location.
fn unprocessable(loc: &[&str], msg: &str, kind: &str) -> Response {
    detail(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!([{"loc": loc, "msg": msg, "type": kind}]),
    )
}

fn platform_error(e: PlatformError) -> Response {
    let text = e.to_string();
    match e {
        PlatformError::NotFound(_) => detail(StatusCode::NOT_FOUND, NOT_FOUND_DETAIL),
        PlatformError::Conflict(_) => detail(StatusCode::CONFLICT, text),
        PlatformError::InvalidSpec(report) => (
            StatusCode::BAD_REQUEST,
            Json(ErrorBody {
                detail: Value::String(text),
                issues: Some(wire::issues_to_wire(&report)),
            }),
        )
            .into_response(),
        PlatformError::Invalid(_) => detail(StatusCode::BAD_REQUEST, text),
        PlatformError::Ambiguous(_) => detail(StatusCode::CONFLICT, text),
        PlatformError::NotApplied(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, text),
        PlatformError::Fenced(_) => detail(StatusCode::CONFLICT, text),
        PlatformError::ReadOnly(_) => detail(StatusCode::FORBIDDEN, text),
        PlatformError::Unavailable(_) => detail(StatusCode::SERVICE_UNAVAILABLE, text),
        PlatformError::Internal(_) => {
            tracing::error!(error = %text, "request failed");
            detail(StatusCode::INTERNAL_SERVER_ERROR, text)
        }
    }
}

fn body_rejection(r: BytesRejection) -> Response {
    let status = r.status();
    let mut resp = if status == StatusCode::PAYLOAD_TOO_LARGE {
        detail(
            status,
            format!(
                "the request body is larger than the {} KiB limit",
                BODY_LIMIT / 1024
            ),
        )
    } else {
        detail(status, r.body_text())
    };
    // The unread rest of the body leaves the connection unusable: tell the
    // client not to reuse it.
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn parse_id(raw: &str) -> Result<Uuid, Response> {
    Uuid::parse_str(raw).map_err(|_| {
        unprocessable(
            &["path", "instance_id"],
            "Input should be a valid UUID",
            "uuid_parsing",
        )
    })
}

/// Parse a JSON object body, FastAPI-style 422 otherwise.
fn json_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, Response> {
    let bytes = body.map_err(body_rejection)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(unprocessable(
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        )),
        Err(e) => Err(detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{"loc": ["body", e.column()], "msg": "JSON decode error", "type": "json_invalid",
                    "ctx": {"error": e.to_string()}}]),
        )),
    }
}

fn opt_string(m: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, Response> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(unprocessable(
            &["body", key],
            "Input should be a valid string",
            "string_type",
        )),
    }
}

fn instance_json(i: &crate::domain::Instance) -> Response {
    let mut resp = Json(WireInstance::from_instance(i)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", i.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn etag_matches(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// `If-Match: "<version>"` (also `W/"3"`, `3`, `"v3"`); `*` means any.
fn if_match(headers: &HeaderMap) -> Result<Option<Precondition>, Response> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = raw.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let t = text
        .trim_start_matches("W/")
        .trim_matches('"')
        .trim_start_matches('v');
    t.parse::<u64>()
        .map(|v| Some(Precondition::Version(v)))
        .map_err(|_| {
            detail(
                StatusCode::BAD_REQUEST,
                "If-Match must be an instance version as its ETag gives it, like \"3\"",
            )
        })
}

// ---------- middleware ----------

async fn auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &st.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or("");
        let ok: bool = given.as_bytes().ct_eq(token.expose().as_bytes()).into();
        if !ok {
            let mut r = detail(StatusCode::UNAUTHORIZED, "Not authenticated");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    // Who asks, for the call history: on the runtime socket the local
    // process names itself; over TCP, the token's name and the peer.
    let caller = if st.local {
        req.headers()
            .get(calls::CALLER_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(Caller::from_header)
            .unwrap_or(Caller::Local {
                role: "a process on runtime.sock".into(),
                pid: None,
            })
    } else if let Some(original) = forward::forwarded_caller(&st, req.headers()) {
        original
    } else {
        Caller::Api {
            token: st.token.as_ref().map(|_| TOKEN_NAME.to_string()),
            peer: req
                .extensions()
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0.to_string()),
        }
    };
    calls::as_caller(caller, next.run(req)).await
}

/// The name the call history gives serve's one bearer token (the value
/// of `AACON_API_TOKEN` / `backend.token`, which has no name of its own).
pub const TOKEN_NAME: &str = "backend.token";

// ---------- handlers ----------

async fn root(State(st): State<AppState>) -> Response {
    let mut body = json!({
        "message": "aacon serve: AgentArea MCP server instances API",
        "openapi": "/openapi.json",
        "health": "/health",
    });
    if st.ops.is_some() {
        body["ready"] = json!("/ready");
        body["metrics"] = json!(METRICS_PATH);
    }
    Json(body).into_response()
}

async fn health(State(st): State<AppState>) -> Response {
    let mut body = json!({
        "status": "healthy",
        "service": "aacon",
        "version": env!("CARGO_PKG_VERSION"),
        "read_only": st.read_only,
        "capabilities": crate::platform::BackendProfile::aacon().capabilities_json(),
    });
    if st.local {
        body["pid"] = json!(std::process::id());
    }
    if let Some(ops) = &st.ops {
        body["replica"] = json!(ops.replica.as_str());
    }
    Json(body).into_response()
}

/// `GET /ready`: 200 when every readiness check passed within its
/// deadline, else 503 naming the failing ones.
async fn ready(State(st): State<AppState>) -> Response {
    let Some(ops) = &st.ops else {
        return not_found().await;
    };
    let report = ops.readiness.run(&ops.replica).await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut resp = (status, Json(report)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /metrics`: every metric in the OpenMetrics text format.
async fn scrape(State(st): State<AppState>) -> Response {
    let Some(ops) = &st.ops else {
        return not_found().await;
    };
    let body = ops.metrics.render(st.platform.as_ref()).await;
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn openapi_doc(State(st): State<AppState>) -> Response {
    Json(openapi::document(openapi::Shape {
        auth: st.token.is_some(),
        read_only: st.read_only,
        ops: st.ops.is_some(),
        metrics_public: st.metrics_public,
    }))
    .into_response()
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

async fn list_instances(State(st): State<AppState>, headers: HeaderMap) -> Response {
    // Read the stamp before the list: a list kept under a stamp is at
    // least as new as the stamp says.
    let stamp = st.platform.list_stamp().await.ok().flatten();
    let cached = stamp.and_then(|s| {
        st.list_cache
            .lock()
            .ok()?
            .as_ref()
            .filter(|c| c.stamp == s)
            .map(|c| (c.body.clone(), c.etag.clone()))
    });
    let (body, tag) = match cached {
        Some(hit) => hit,
        None => {
            let list = match st.platform.list().await {
                Ok(l) => l,
                Err(e) => return platform_error(e),
            };
            let wire: Vec<WireInstance> = list.iter().map(WireInstance::from_instance).collect();
            let body = match serde_json::to_vec(&wire) {
                Ok(b) => Bytes::from(b),
                Err(e) => {
                    return platform_error(PlatformError::Internal(format!(
                        "cannot encode the list: {e}"
                    )));
                }
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            body.hash(&mut h);
            let tag = format!("\"{:016x}-{}\"", h.finish(), body.len());
            if let (Some(stamp), Ok(mut c)) = (stamp, st.list_cache.lock()) {
                *c = Some(ListCache {
                    stamp,
                    body: body.clone(),
                    etag: tag.clone(),
                });
            }
            (body, tag)
        }
    };
    let etag = HeaderValue::from_str(&tag).ok();
    if etag_matches(&headers, &tag) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Some(t) = etag {
            r.headers_mut().insert(header::ETAG, t);
        }
        return r;
    }
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if let Some(t) = etag {
        r.headers_mut().insert(header::ETAG, t);
    }
    r
}

async fn create_instance(
    State(st): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let m = match json_object(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let name = match m.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return unprocessable(
                &["body", "name"],
                "Input should be a valid string",
                "string_type",
            );
        }
        None => return unprocessable(&["body", "name"], "Field required", "missing"),
    };
    let json_spec = match m.get("json_spec") {
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return unprocessable(
                &["body", "json_spec"],
                "Input should be a valid dictionary",
                "dict_type",
            );
        }
        None => return unprocessable(&["body", "json_spec"], "Field required", "missing"),
    };
    let (description, server_spec_id) = match (
        opt_string(&m, "description"),
        opt_string(&m, "server_spec_id"),
    ) {
        (Ok(d), Ok(s)) => (d.flatten(), s.flatten()),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    match st
        .platform
        .create(NewInstance {
            name,
            description,
            server_spec_id,
            json_spec,
        })
        .await
    {
        Ok(i) => instance_json(&i),
        Err(e) => platform_error(e),
    }
}

async fn get_instance(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match st.platform.get(&id.to_string()).await {
        Ok(i) => instance_json(&i),
        Err(e) => platform_error(e),
    }
}

async fn patch_instance(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let expect = match if_match(&headers) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let m = match json_object(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if m.get("status").is_some_and(|s| !s.is_null()) {
        return detail(
            StatusCode::BAD_REQUEST,
            format!(
                "status is reported by the runtime and cannot be set; use POST {BASE_PATH}/{id}/start or /stop"
            ),
        );
    }
    let name = match opt_string(&m, "name") {
        Ok(Some(None)) => {
            return unprocessable(
                &["body", "name"],
                "Input should be a valid string",
                "string_type",
            );
        }
        Ok(n) => n.flatten(),
        Err(r) => return r,
    };
    let (description, server_spec_id) = match (
        opt_string(&m, "description"),
        opt_string(&m, "server_spec_id"),
    ) {
        (Ok(d), Ok(s)) => (d, s),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let json_spec = match m.get("json_spec") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return unprocessable(
                &["body", "json_spec"],
                "Input should be a valid dictionary",
                "dict_type",
            );
        }
    };
    let patch = InstancePatch {
        name,
        description,
        server_spec_id,
        json_spec,
    };
    if patch.is_empty() {
        // AgentArea answers an empty PATCH with the instance unchanged.
        return get_instance(State(st), Path(id.to_string())).await;
    }
    match st.platform.update(id, patch, expect).await {
        Ok(i) => instance_json(&i),
        Err(e) => platform_error(e),
    }
}

async fn delete_instance(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match st.platform.delete(id).await {
        Ok(()) => Json(json!({"status": "success"})).into_response(),
        Err(e) => platform_error(e),
    }
}

async fn action(st: AppState, id: String, start: bool) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let out = if start {
        st.platform.start(id).await
    } else {
        st.platform.stop(id).await
    };
    action_reply(out)
}

/// Stop and start as one operation under one correlation id (an aacon
/// extension; AgentArea has no restart).
async fn restart_instance(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    action_reply(st.platform.restart(id).await)
}

fn action_reply(out: Result<crate::platform::ActionOutcome, PlatformError>) -> Response {
    match out {
        Ok(o) => Json(StatusMessage {
            status: "success".into(),
            // Said to a remote client, "this process" would mislead.
            message: Some(o.message.replace(
                "this process hosts the runtime",
                "the API server hosts the runtime",
            )),
            instance: Some(WireInstance::from_instance(&o.instance)),
        })
        .into_response(),
        Err(e) => platform_error(e),
    }
}

async fn start_instance(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    action(st, id, true).await
}

async fn stop_instance(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    action(st, id, false).await
}

async fn check(State(st): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let m = match json_object(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(spec) = m.get("json_spec") else {
        return unprocessable(&["body", "json_spec"], "Field required", "missing");
    };
    match st.platform.validate(spec).await {
        Ok(report) => Json(CheckResponse::from_report(&report)).into_response(),
        Err(e) => platform_error(e),
    }
}

async fn tools(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let inst = match st.platform.get(&id.to_string()).await {
        Ok(i) => i,
        Err(e) => return platform_error(e),
    };
    // What the runtime discovered; else what json_spec records (AgentArea).
    match st.platform.tools(id).await {
        Ok(tools) if !tools.is_empty() => {
            Json(tools.iter().map(wire::tool_to_wire).collect::<Vec<_>>()).into_response()
        }
        _ => Json(
            inst.json_spec
                .get("available_tools")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        )
        .into_response(),
    }
}

/// `POST /{id}/tools/call` `{"name": TOOL, "arguments": {…}}` (aacon
/// extension): call a tool on a running instance, arguments checked
/// against its schema first; the answer's secrets are masked. A client
/// that goes away drops this future, and the runtime cancels the call
/// (`notifications/cancelled`); nobody here can answer an elicitation.
async fn call_tool(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    // Read-only serve wraps its platform in `ReadOnly`, which refuses the call.
    let m = match json_object(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(name) = m.get("name").and_then(Value::as_str) else {
        return unprocessable(&["body", "name"], "Field required", "missing");
    };
    let args = m.get("arguments").cloned().unwrap_or_else(|| json!({}));
    match st.platform.call_tool(id, name, args).await {
        Ok(out) => Json(out).into_response(),
        Err(e) => platform_error(e),
    }
}

/// `GET /{id}/logs?after=N` (aacon extension): the instance's log the
/// runtime keeps (stderr, MCP log messages, markers), secrets masked;
/// `after` (a previous answer's `next`) asks only for newer lines.
async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return unprocessable(
            &["query", "after"],
            "Input should be a valid integer",
            "int_parsing",
        );
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(e) = st.platform.get(&id.to_string()).await {
        return platform_error(e);
    }
    match st.platform.logs(id, q.after).await {
        Ok(page) => Json(wire::Logs::from_page(id.to_string(), page)).into_response(),
        Err(e) => platform_error(e),
    }
}

#[derive(Debug, serde::Deserialize)]
struct LogsQuery {
    after: Option<u64>,
}

async fn environment(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match st.platform.get(&id.to_string()).await {
        Ok(i) => {
            let names = wire::env_var_names(&i.json_spec);
            Json(Environment {
                instance_id: i.id.to_string(),
                message: format!(
                    "{} environment variable(s); values are not shown",
                    names.len()
                ),
                env_vars: names,
            })
            .into_response()
        }
        Err(e) => platform_error(e),
    }
}

/// `GET /health/probes` (aacon extension): the runtime's last probe of each
/// running instance (result, time, latency). Probes are not events; this
/// is how they reach consoles in other processes.
async fn probes(State(st): State<AppState>) -> Response {
    match st.platform.probes().await {
        Ok(probes) => Json(wire::Probes { probes }).into_response(),
        Err(e) => platform_error(e),
    }
}

async fn containers_health(State(st): State<AppState>) -> Response {
    match st.platform.list().await {
        Ok(list) => {
            let checks: Vec<ContainerHealth> = list
                .iter()
                .map(|i| ContainerHealth {
                    service_name: i.name.clone(),
                    container_status: i.status.as_str().into(),
                    healthy: i.status == crate::domain::Status::Running,
                    instance_id: Some(i.id.to_string()),
                    error: i.status_reason.clone(),
                })
                .collect();
            let healthy = checks.iter().filter(|c| c.healthy).count() as u64;
            Json(ContainersHealth {
                total: Some(checks.len() as u64),
                healthy: Some(healthy),
                health_checks: checks,
            })
            .into_response()
        }
        Err(e) => platform_error(e),
    }
}

#[derive(Debug, Deserialize)]
struct EventsParams {
    instance: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

async fn events(
    State(st): State<AppState>,
    q: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return unprocessable(&["query"], "Invalid query parameters", "query_invalid");
    };
    let instance = match q.instance.as_deref().map(Uuid::parse_str) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return unprocessable(
                &["query", "instance"],
                "Input should be a valid UUID",
                "uuid_parsing",
            );
        }
    };
    let since = match q.since.as_deref() {
        None => None,
        Some(s) => match crate::domain::event::timestamp::parse_str(s) {
            Some(t) => Some(t),
            None => {
                return unprocessable(
                    &["query", "since"],
                    "Input should be a valid datetime",
                    "datetime_parsing",
                );
            }
        },
    };
    match st
        .platform
        .events(EventQuery {
            instance,
            since,
            limit: Some(q.limit.unwrap_or(100).min(10_000)),
        })
        .await
    {
        Ok(list) => Json(list).into_response(),
        Err(e) => platform_error(e),
    }
}
