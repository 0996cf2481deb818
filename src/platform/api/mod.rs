//! The REST API adapter: drives a remote platform (a real AgentArea or
//! `aacon serve`) through AgentArea's `/v1/mcp-server-instances` contract.
//!
//! - reqwest with rustls; one client, so connections are reused; a timeout
//!   on every request.
//! - GETs are retried with backoff on connect errors and 502/503/504;
//!   mutations are never retried.
//! - Every failure is one sentence; 401/403/404/409/422/5xx each get their
//!   own, and a body that is not the JSON we expect (HTML, truncated) says so.
//! - The token travels only in the `Authorization` header (marked sensitive)
//!   and never reaches a log, an error or the screen.
//! - Live status without Redis: a task polls the list (`If-None-Match`), diffs
//!   it against the last snapshot and emits synthetic events.
//! - Concurrency: a real AgentArea has no version, so edits compare
//!   `updated_at` (GET, compare, PATCH). Our `serve` sends `version`; then the
//!   PATCH carries `If-Match: "<version>"` and the server re-checks atomically.

mod attribute;
mod learn;
mod surface;
pub mod wire;

use super::profile::{Route, Routes};
use super::{
    ActionOutcome, BackendInfo, BackendProfile, EventQuery, Platform, PlatformError, PlatformEvent,
    Result, SourceState,
};
use crate::domain::spec::{self, Report};
use crate::domain::{Envelope, Instance, InstancePatch, NewInstance, Precondition, Status};
use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;
use wire::{
    BASE_PATH, CheckRequest, CheckResponse, ContainersHealth, EVENTS_PATH, Environment, ErrorBody,
    StatusMessage, WireInstance,
};

/// Environment variable with the API URL.
pub const URL_ENV: &str = "AACON_API_URL";
/// Environment variable with the bearer token.
pub const TOKEN_ENV: &str = "AACON_API_TOKEN";
/// Environment variable with the workspace id.
pub const WORKSPACE_ENV: &str = "AACON_WORKSPACE";
/// Largest response body accepted.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Subscriber buffer.
const CAPACITY: usize = 4096;

/// Why a token cannot be sent (never showing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the API token is empty")]
    Empty,
    #[error("the API token has spaces or characters an HTTP header cannot carry")]
    Unfit,
}

/// A bearer token; its `Debug` never shows it and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token fit for an HTTP header.
    pub fn new(token: &str) -> std::result::Result<ApiToken, TokenError> {
        let t = token.trim();
        if t.is_empty() {
            return Err(TokenError::Empty);
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Unfit);
        }
        Ok(ApiToken(t.to_string()))
    }

    /// The secret itself, for the one header (or comparison) that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub url: String,
    pub token: Option<ApiToken>,
    pub workspace: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How often the list is polled for live status (without Redis).
    pub poll_interval: Duration,
    /// Extra tries for a GET after a connect error or a 502/503/504.
    pub get_retries: u32,
    /// Live status from this Redis stream instead of polling.
    pub redis: Option<crate::bus::RedisConfig>,
    /// Reach the API over this Unix socket (a runtime host's
    /// `runtime.sock`) instead of TCP; `url` still names the host part.
    pub unix_socket: Option<std::path::PathBuf>,
}

impl ApiOptions {
    pub fn new(url: impl Into<String>) -> ApiOptions {
        ApiOptions {
            url: url.into(),
            token: None,
            workspace: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(2),
            get_retries: 3,
            redis: None,
            unix_socket: None,
        }
    }

    /// The API of the runtime host that serves on `socket` (its
    /// `runtime.sock`): no token, calls may take `timeout`.
    pub fn runtime_host(socket: &std::path::Path, timeout: Duration) -> ApiOptions {
        ApiOptions {
            timeout,
            get_retries: 0,
            unix_socket: Some(socket.to_path_buf()),
            ..ApiOptions::new("http://localhost")
        }
    }
}

/// Check an API URL: http or https, a host, no credentials. Returns the
/// base (no trailing slash, no query) and the form shown to users.
pub fn parse_base_url(raw: &str) -> Result<(Url, String)> {
    let raw = raw.trim();
    let shown_raw: String = raw
        .chars()
        .take(80)
        .map(crate::domain::text::shown_char)
        .collect();
    let mut url = Url::parse(raw).map_err(|e| {
        PlatformError::Invalid(format!(
            "'{shown_raw}' is not a URL ({e}); write it like http://127.0.0.1:8080"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PlatformError::Invalid(format!(
            "the API URL must start with http:// or https://, not {}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(PlatformError::Invalid(format!(
            "the API URL '{shown_raw}' names no host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PlatformError::Invalid(
            "the API URL must not carry credentials; put the token in AACON_API_TOKEN or the config file"
                .into(),
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut path = url.path().trim_end_matches('/').to_string();
    if let Some(p) = path.strip_suffix(BASE_PATH) {
        path = p.to_string();
    }
    url.set_path(&path);
    let shown = url.as_str().trim_end_matches('/').to_string();
    Ok((url, shown))
}

/// Text from a remote server made safe for one line on a terminal.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out.trim().to_string()
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Why a request brought back no complete answer.
enum SendError {
    Transport(reqwest::Error),
    /// The body is (or declares itself) larger than [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

/// The sentence for an answer over [`MAX_RESPONSE_BYTES`].
fn too_large(shown: &str) -> PlatformError {
    PlatformError::Unavailable(format!(
        "the API at {shown} sent more than {} MiB; refused",
        MAX_RESPONSE_BYTES / (1024 * 1024)
    ))
}

/// A response that arrived whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// What a body that is not the expected JSON looks like, as a sentence.
fn unreadable(shown: &str, r: &Reply, e: &serde_json::Error) -> PlatformError {
    let text = String::from_utf8_lossy(&r.body);
    let head = text.trim_start();
    let ctype = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let msg = if head.is_empty() {
        format!(
            "the API at {} answered {} with an empty body where JSON was expected",
            shown, r.status
        )
    } else if ctype.contains("html") || head.starts_with('<') {
        format!(
            "the API at {} answered {} with an HTML page, not JSON; is that the AgentArea API's address?",
            shown, r.status
        )
    } else if e.is_eof() {
        format!(
            "the API at {} sent truncated JSON ({}); the connection may have been cut",
            shown,
            clean(&e.to_string())
        )
    } else if e.is_syntax() {
        format!(
            "the API at {} sent a body that is not valid JSON ({})",
            shown,
            clean(&e.to_string())
        )
    } else {
        format!(
            "the API at {} sent JSON of an unexpected shape ({})",
            shown,
            clean(&e.to_string())
        )
    };
    PlatformError::Unavailable(msg)
}

/// The error an unsuccessful answer stands for. `op` names the action
/// ("creating an instance"); `id` the instance, for a 404.
fn http_error(shown: &str, r: &Reply, op: &'static str, id: Option<Uuid>) -> PlatformError {
    let body: Option<ErrorBody> = serde_json::from_slice(&r.body).ok();
    let detail = body
        .as_ref()
        .and_then(ErrorBody::sentence)
        .map(|d| clean(&d));
    let code = r.status.as_u16();
    let with = |d: &Option<String>| match d {
        Some(d) => format!(": {d}"),
        None => String::new(),
    };
    // AgentArea's middleware answers `{"error", "detail", "error_code"}`.
    let raw: Option<Value> = serde_json::from_slice(&r.body).ok();
    let field = |k: &str| {
        raw.as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(clean)
            .filter(|s| !s.is_empty())
    };
    let (error, error_code) = (field("error"), field("error_code"));
    match r.status {
        StatusCode::BAD_REQUEST if error.is_some() || error_code.is_some() => {
            let words = [error.clone(), detail.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            let code_part = error_code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            if error_code.as_deref() == Some("MISSING_CONTEXT") {
                return PlatformError::Unavailable(format!(
                    "the API at {shown} refused {op}: {words}{code_part}; the token needs a workspace_id claim"
                ));
            }
            PlatformError::Invalid(format!(
                "the API at {shown} refused {op}: {words}{code_part}"
            ))
        }
        StatusCode::BAD_REQUEST => {
            if let Some(issues) = body.as_ref().and_then(|b| b.issues.as_ref()) {
                return PlatformError::InvalidSpec(Report {
                    kind: None,
                    issues: wire::issues_from_wire(issues),
                });
            }
            PlatformError::Invalid(
                detail.unwrap_or_else(|| format!("the API at {} rejected {op} (400)", shown)),
            )
        }
        StatusCode::UNAUTHORIZED => PlatformError::Unavailable(format!(
            "the API at {} refused {op}: {} (401); set {TOKEN_ENV} (and {WORKSPACE_ENV}) or backend.token in the config",
            shown,
            detail.as_deref().unwrap_or("not authenticated")
        )),
        StatusCode::FORBIDDEN => {
            if detail
                .as_deref()
                .is_some_and(|d| d.starts_with("read-only mode"))
            {
                PlatformError::ReadOnly(op)
            } else {
                PlatformError::Unavailable(format!(
                    "the API at {} forbids {op} (403){}",
                    shown,
                    with(&detail)
                ))
            }
        }
        StatusCode::NOT_FOUND => match (id, detail.as_deref()) {
            (_, Some("Not Found")) | (None, _) => PlatformError::Unavailable(format!(
                "the API at {} has no such route (404 while {op}); is the URL right?",
                shown
            )),
            (Some(id), _) => PlatformError::NotFound(format!("no instance with id '{id}'")),
        },
        StatusCode::CONFLICT => PlatformError::Conflict(detail.unwrap_or_else(|| {
            format!("{op} conflicts with a change made meanwhile (409); reload and try again")
        })),
        StatusCode::PAYLOAD_TOO_LARGE => PlatformError::Invalid(format!(
            "the request is too large for the API at {} (413)",
            shown
        )),
        StatusCode::UNPROCESSABLE_ENTITY => PlatformError::Invalid(format!(
            "the API at {} found the request for {op} malformed (422){}",
            shown,
            with(&detail)
        )),
        // AgentArea answers a json_spec it refuses with a 500 (its bug):
        // that is a validation failure, with its own reasons.
        s if s.is_server_error()
            && let Some(report) = detail.as_deref().and_then(validation_failed) =>
        {
            tracing::info!(status = %s, "the API answered a validation failure as a server error");
            report
        }
        s if s.is_server_error() => PlatformError::Unavailable(format!(
            "the API at {} failed while {op} ({code}){}",
            shown,
            with(&detail)
        )),
        _ => PlatformError::Unavailable(format!(
            "the API at {} answered {op} with {code}{}",
            shown,
            with(&detail)
        )),
    }
}

/// AgentArea's `"…Validation failed: reason; reason"` (sent as a 500) as a
/// validation report, each reason at the field it names.
fn validation_failed(detail: &str) -> Option<PlatformError> {
    let (_, reasons) = detail.split_once("Validation failed:")?;
    let issues: Vec<spec::Issue> = reasons
        .split("; ")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            // The first quoted name is the field: 'image', or an env var's key.
            let quoted = r.split('\'').nth(1).unwrap_or("");
            let pointer = if quoted.is_empty() {
                String::new()
            } else if r.starts_with("Environment variable") {
                format!("/environment/{}", spec::pointer_token(quoted))
            } else {
                format!("/{}", spec::pointer_token(quoted))
            };
            spec::Issue {
                severity: spec::Severity::Error,
                pointer,
                message: format!("{r} (the server's words; it answered 500)"),
            }
        })
        .collect();
    (!issues.is_empty()).then_some(PlatformError::InvalidSpec(Report { kind: None, issues }))
}

/// The body of a successful answer as `T`, or what it looks like instead.
fn decode_body<T: DeserializeOwned>(shown: &str, r: &Reply) -> Result<T> {
    serde_json::from_slice(&r.body).map_err(|e| unreadable(shown, r, &e))
}

/// What the client makes of one complete answer: `T` from a 2xx body, else
/// the one-sentence error the user sees. Pure (no I/O); the same path every
/// request takes, exposed for the fuzzer (`fuzz/fuzz_targets/api.rs`).
/// `shown` is the API's address as shown to users; `op` names the action.
pub fn decode_reply<T: DeserializeOwned>(
    shown: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    op: &'static str,
    id: Option<Uuid>,
) -> Result<T> {
    let Ok(status) = StatusCode::from_u16(status) else {
        return Err(PlatformError::Unavailable(format!(
            "the API at {shown} answered with an invalid HTTP status ({status})"
        )));
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let r = Reply {
        status,
        headers,
        body: body.to_vec(),
    };
    if !r.status.is_success() {
        return Err(http_error(shown, &r, op, id));
    }
    decode_body(shown, &r)
}

struct Inner {
    client: reqwest::Client,
    /// A local runtime host on its socket: its error details are ours, so
    /// they pass through as they are.
    local: bool,
    base: Url,
    shown: String,
    token: Option<ApiToken>,
    workspace: Option<String>,
    timeout: Duration,
    poll_interval: Duration,
    get_retries: u32,
    /// Mutations sent, for the events they cause (see [`attribute`]).
    requests: attribute::Requests,
}

/// The platform behind a REST API.
pub struct ApiPlatform {
    inner: Arc<Inner>,
    events: broadcast::Sender<PlatformEvent>,
    poller: Mutex<Option<JoinHandle<()>>>,
    redis: Option<crate::bus::RedisConfig>,
    watcher: Mutex<Option<crate::bus::WatchHandle>>,
    pubsub: Mutex<Option<crate::bus::pubsub::PubSubHandle>>,
    /// What the server is, asked once (`/health`) on first need.
    profile: tokio::sync::OnceCell<BackendProfile>,
    /// Routes found missing by a 404 since (a server that did not say).
    missing: Mutex<Routes>,
    /// The workspace asked for (`--workspace`), and the token's claim.
    asked_workspace: Option<String>,
    token_claim: Option<std::result::Result<Option<String>, super::profile::ClaimError>>,
}

impl Drop for ApiPlatform {
    fn drop(&mut self) {
        if let Ok(mut p) = self.poller.lock()
            && let Some(h) = p.take()
        {
            h.abort();
        }
    }
}

impl ApiPlatform {
    pub fn new(opts: ApiOptions) -> Result<ApiPlatform> {
        let (base, mut shown) = parse_base_url(&opts.url)?;
        if let Some(ws) = &opts.workspace
            && HeaderValue::from_str(ws).is_err()
        {
            return Err(PlatformError::Invalid(
                "the workspace id has characters an HTTP header cannot carry".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("aacon/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &opts.unix_socket {
            shown = format!("unix:{}", path.display());
            // No pooled connections: the host behind the path may change
            // (a takeover), and a local connection costs next to nothing.
            builder = builder
                .unix_socket(path.as_path())
                .pool_max_idle_per_host(0);
        }
        let client = builder.build().map_err(|e| {
            PlatformError::Internal(format!("cannot build the HTTP client: {}", root_cause(&e)))
        })?;
        let (events, _) = broadcast::channel(CAPACITY);
        let token_claim = opts
            .token
            .as_ref()
            .map(|t| super::profile::token_workspace(t.expose()));
        let asked_workspace = opts.workspace.clone();
        Ok(ApiPlatform {
            profile: tokio::sync::OnceCell::new(),
            missing: Mutex::new(Routes::ALL),
            asked_workspace,
            token_claim,
            inner: Arc::new(Inner {
                local: opts.unix_socket.is_some(),
                client,
                base,
                shown,
                token: opts.token,
                workspace: opts.workspace,
                timeout: opts.timeout,
                poll_interval: opts.poll_interval,
                get_retries: opts.get_retries,
                requests: attribute::Requests::default(),
            }),
            events,
            poller: Mutex::new(None),
            redis: opts.redis,
            watcher: Mutex::new(None),
            pubsub: Mutex::new(None),
        })
    }

    /// The URL shown to users (no credentials).
    pub fn url(&self) -> &str {
        &self.inner.shown
    }

    /// `GET /{id}/tools`: the tools the platform discovered.
    pub async fn tools(&self, id: Uuid) -> Result<Vec<Value>> {
        let r = self
            .inner
            .get(&format!("/{id}/tools"), HeaderMap::new())
            .await?;
        self.inner.expect_ok(r, "reading tools", Some(id))
    }

    /// `GET /{id}/environment`: the names (never values) of its variables.
    pub async fn environment(&self, id: Uuid) -> Result<Environment> {
        let r = self
            .inner
            .get(&format!("/{id}/environment"), HeaderMap::new())
            .await?;
        self.inner.expect_ok(r, "reading the environment", Some(id))
    }

    /// `GET /health` at the server's root: `{"status", "version", …}`.
    pub async fn health(&self) -> Result<Value> {
        let mut url = self.inner.base.clone();
        let p = format!("{}/health", self.inner.base.path().trim_end_matches('/'));
        url.set_path(&p);
        let r = self.inner.get_url(url, HeaderMap::new()).await?;
        self.inner.expect_ok(r, "reading its health", None)
    }

    /// `GET /health/containers`: the manager's health report.
    pub async fn container_health(&self) -> Result<ContainersHealth> {
        let r = self
            .inner
            .get("/health/containers", HeaderMap::new())
            .await?;
        self.inner.expect_ok(r, "reading container health", None)
    }

    /// Start the live source once: the Redis watcher when configured, else the poller.
    fn ensure_live(&self) {
        if let Some(cfg) = &self.redis {
            let Ok(mut slot) = self.watcher.lock() else {
                return;
            };
            if slot.as_ref().is_some_and(|h| !h.is_finished()) {
                return;
            }
            if tokio::runtime::Handle::try_current().is_err() {
                tracing::warn!("no async runtime: live status from Redis not started");
                return;
            }
            *slot = Some(crate::bus::Watcher::spawn(
                cfg.clone(),
                crate::bus::Start::Tip,
                self.events.clone(),
            ));
            // A real AgentArea publishes on pub/sub channels, not our stream.
            if cfg.agentarea_pubsub
                && let Ok(mut p) = self.pubsub.lock()
            {
                // Its events name no instance: trace them first.
                *p = Some(crate::bus::pubsub::PubSubListener::spawn(
                    cfg.clone(),
                    attribute::spawn(self.inner.clone(), self.events.clone()),
                ));
            }
            return;
        }
        self.ensure_poller();
    }

    fn ensure_poller(&self) {
        let Ok(mut slot) = self.poller.lock() else {
            return;
        };
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let inner = self.inner.clone();
                let tx = self.events.clone();
                *slot = Some(rt.spawn(poll_loop(inner, tx)));
            }
            Err(_) => tracing::warn!("no async runtime: live status polling not started"),
        }
    }
}

impl Inner {
    fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let p = format!(
            "{}{BASE_PATH}{path}",
            self.base.path().trim_end_matches('/')
        );
        u.set_path(&p);
        u
    }

    fn request(&self, method: Method, url: Url, extra: HeaderMap) -> reqwest::RequestBuilder {
        let mut headers = extra;
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(t) = &self.token
            && let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
        {
            v.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, v);
        }
        if let Some(ws) = &self.workspace
            && let Ok(v) = HeaderValue::from_str(ws)
        {
            headers.insert("x-workspace-id", v);
        }
        self.client.request(method, url).headers(headers)
    }

    async fn send_once(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> std::result::Result<Reply, SendError> {
        let mut resp = rb.send().await.map_err(SendError::Transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        // A declared length over the limit is refused before reading a byte.
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(SendError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(SendError::Transport)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                // Dropping `resp` closes the connection: the rest is never read.
                return Err(SendError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn send_error(&self, e: &SendError) -> PlatformError {
        match e {
            SendError::Transport(e) => self.transport_error(e),
            SendError::TooLarge => too_large(&self.shown),
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> PlatformError {
        if e.is_timeout() {
            PlatformError::Unavailable(format!(
                "the API at {} did not answer within {} s",
                self.shown,
                self.timeout.as_secs_f64()
            ))
        } else if e.is_connect() {
            PlatformError::Unavailable(format!(
                "cannot reach the API at {}: {}",
                self.shown,
                clean(&root_cause(e))
            ))
        } else {
            PlatformError::Unavailable(format!(
                "the request to the API at {} failed: {}",
                self.shown,
                clean(&root_cause(e))
            ))
        }
    }

    /// A GET, retried with backoff on connect errors and 502/503/504.
    async fn get(&self, path: &str, extra: HeaderMap) -> Result<Reply> {
        self.get_url(self.url(path), extra).await
    }

    async fn get_url(&self, url: Url, extra: HeaderMap) -> Result<Reply> {
        let mut attempt = 0;
        loop {
            let rb = self.request(Method::GET, url.clone(), extra.clone());
            let more = attempt < self.get_retries;
            match self.send_once(rb).await {
                Ok(r)
                    if more
                        && matches!(
                            r.status,
                            StatusCode::BAD_GATEWAY
                                | StatusCode::SERVICE_UNAVAILABLE
                                | StatusCode::GATEWAY_TIMEOUT
                        ) =>
                {
                    tracing::debug!(status = %r.status, path = url.path(), attempt, "GET retried");
                }
                Ok(r) => return Ok(r),
                Err(SendError::Transport(e)) if more && e.is_connect() => {
                    tracing::debug!(path = url.path(), attempt, error = %root_cause(&e), "GET retried");
                }
                Err(e) => return Err(self.send_error(&e)),
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(150 * (1 << attempt.min(5)))).await;
        }
    }

    /// A mutation: sent once, never retried.
    async fn mutate(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        extra: HeaderMap,
    ) -> Result<Reply> {
        let ticket = self.requests.sent(&method, path);
        let mut rb = self.request(method, self.url(path), extra);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = self.send_once(rb).await.map_err(|e| self.send_error(&e));
        self.requests
            .answered(ticket, r.as_ref().is_ok_and(|r| r.status.is_success()));
        r
    }

    /// A 404 for the route itself ("Not Found"), not for an instance.
    fn is_missing_route(&self, r: &Reply) -> bool {
        serde_json::from_slice::<ErrorBody>(&r.body)
            .ok()
            .and_then(|b| b.sentence())
            .is_none_or(|d| d == "Not Found")
    }

    fn http_error(&self, r: &Reply, op: &'static str, id: Option<Uuid>) -> PlatformError {
        // A local runtime host's details are our own sentences: as they are.
        if self.local
            && r.status.is_server_error()
            && let Some(d) = serde_json::from_slice::<ErrorBody>(&r.body)
                .ok()
                .and_then(|b| b.sentence())
        {
            return PlatformError::Unavailable(clean(&d));
        }
        http_error(&self.shown, r, op, id)
    }

    fn expect_ok<T: DeserializeOwned>(
        &self,
        r: Reply,
        op: &'static str,
        id: Option<Uuid>,
    ) -> Result<T> {
        if !r.status.is_success() {
            return Err(self.http_error(&r, op, id));
        }
        decode_body(&self.shown, &r)
    }

    async fn list(&self) -> Result<Vec<Instance>> {
        Ok(self
            .list_conditional(None)
            .await?
            .map(|(l, _)| l)
            .unwrap_or_default())
    }

    /// The list, or `None` when it is unchanged since `etag`.
    async fn list_conditional(
        &self,
        etag: Option<&str>,
    ) -> Result<Option<(Vec<Instance>, Option<String>)>> {
        let mut h = HeaderMap::new();
        if let Some(t) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            h.insert(header::IF_NONE_MATCH, t);
        }
        let r = self.get("/", h).await?;
        if r.status == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let tag = r
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let list: Vec<WireInstance> = self.expect_ok(r, "listing instances", None)?;
        Ok(Some((
            list.into_iter().map(WireInstance::into_instance).collect(),
            tag,
        )))
    }

    async fn get_wire(&self, id: Uuid) -> Result<WireInstance> {
        let r = self.get(&format!("/{id}"), HeaderMap::new()).await?;
        self.expect_ok(r, "reading an instance", Some(id))
    }
}

fn changed_meanwhile(cur: &Instance, yours: String) -> PlatformError {
    let by = cur
        .updated_by
        .as_deref()
        .map(|b| format!(" by {}", clean(b)))
        .unwrap_or_default();
    PlatformError::Conflict(format!(
        "instance '{}' changed meanwhile: it was updated at {}{by} ({yours}); reload it and apply your edit again",
        clean(&cur.name),
        cur.updated_at.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
    ))
}

fn patch_body(patch: &InstancePatch) -> Value {
    let mut m = Map::new();
    if let Some(n) = &patch.name {
        m.insert("name".into(), json!(n));
    }
    if let Some(d) = &patch.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(s) = &patch.server_spec_id {
        m.insert("server_spec_id".into(), json!(s));
    }
    if let Some(s) = &patch.json_spec {
        m.insert("json_spec".into(), s.clone());
    }
    Value::Object(m)
}

#[async_trait]
impl Platform for ApiPlatform {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: self.inner.shown.clone(),
            read_only: false,
        }
    }

    async fn profile(&self) -> BackendProfile {
        self.learn_profile().await
    }

    async fn list(&self) -> Result<Vec<Instance>> {
        self.inner.list().await
    }

    async fn get(&self, key: &str) -> Result<Instance> {
        if let Ok(id) = Uuid::parse_str(key.trim()) {
            return Ok(self.inner.get_wire(id).await?.into_instance());
        }
        let list = self.inner.list().await?;
        // A name may belong to several instances (AgentArea): never pick one.
        match super::names::unique(&list, key, chrono::Utc::now())? {
            Some(i) => Ok(i.clone()),
            None => Err(PlatformError::NotFound(format!(
                "no instance named or with id '{}'",
                clean(&key.chars().take(80).collect::<String>())
            ))),
        }
    }

    async fn create(&self, new: NewInstance) -> Result<Instance> {
        // What the backend is known to refuse is refused before sending.
        let profile = self.learn_profile().await;
        if let Some(refusal) = profile.refuse_create(&new.json_spec) {
            return Err(refusal);
        }
        // A name is not unique on AgentArea: a second one is refused here.
        let list = self.inner.list().await?;
        if let Some(existing) = super::names::named(&list, &new.name).first() {
            return Err(super::names::taken(&new.name, existing));
        }
        let body = serde_json::to_value(&new)
            .map_err(|e| PlatformError::Internal(format!("cannot encode the instance: {e}")))?;
        let r = self
            .inner
            .mutate(Method::POST, "/", Some(&body), HeaderMap::new())
            .await?;
        let w: WireInstance = self.inner.expect_ok(r, "creating an instance", None)?;
        Ok(w.into_instance())
    }

    async fn update(
        &self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
    ) -> Result<Instance> {
        if patch.is_empty() {
            return Err(PlatformError::Invalid("nothing to change".into()));
        }
        let mut h = HeaderMap::new();
        if let Some(expect) = expect {
            let cur = self.inner.get_wire(id).await?;
            let ours = cur.is_ours();
            let cur = cur.into_instance();
            match expect {
                Precondition::UpdatedAt(t)
                    if t.timestamp_micros() != cur.updated_at.timestamp_micros() =>
                {
                    return Err(changed_meanwhile(
                        &cur,
                        format!(
                            "you had the copy from {}",
                            t.format("%Y-%m-%d %H:%M:%S%.3f UTC")
                        ),
                    ));
                }
                Precondition::Version(v) if v != cur.version => {
                    return Err(changed_meanwhile(
                        &cur,
                        format!("you had version {v}, it is at {}", cur.version),
                    ));
                }
                _ => {}
            }
            // Our server re-checks under its own lock, closing the window
            // between this GET and the PATCH.
            if ours && let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", cur.version)) {
                h.insert(header::IF_MATCH, v);
            }
        }
        let r = self
            .inner
            .mutate(
                Method::PATCH,
                &format!("/{id}"),
                Some(&patch_body(&patch)),
                h,
            )
            .await?;
        let w: WireInstance = self.inner.expect_ok(r, "editing an instance", Some(id))?;
        Ok(w.into_instance())
    }

    async fn delete(&self, id: Uuid) -> Result<()> {
        let r = self
            .inner
            .mutate(Method::DELETE, &format!("/{id}"), None, HeaderMap::new())
            .await?;
        let _: Value = self.inner.expect_ok(r, "deleting an instance", Some(id))?;
        Ok(())
    }

    async fn start(&self, id: Uuid) -> Result<ActionOutcome> {
        self.action(id, true).await
    }

    async fn stop(&self, id: Uuid) -> Result<ActionOutcome> {
        self.action(id, false).await
    }

    /// `POST /{id}/restart` (`aacon serve`: one operation, one correlation
    /// id). AgentArea has no such route: then a stop and a start, said so.
    async fn restart(&self, id: Uuid) -> Result<ActionOutcome> {
        let r = self
            .inner
            .mutate(
                Method::POST,
                &format!("/{id}/restart"),
                None,
                HeaderMap::new(),
            )
            .await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            self.action(id, false).await?;
            let out = self.action(id, true).await?;
            return Ok(ActionOutcome {
                message: format!(
                    "restarted '{}' as a stop, then a start: the API at {} has no restart, so these were two operations",
                    clean(&out.instance.name),
                    self.inner.shown
                ),
                instance: out.instance,
            });
        }
        let msg: StatusMessage = self
            .inner
            .expect_ok(r, "restarting an instance", Some(id))?;
        let instance = match msg.instance {
            Some(w) => w.into_instance(),
            None => self.inner.get_wire(id).await?.into_instance(),
        };
        let message = msg
            .message
            .map(|m| clean(&m))
            .unwrap_or_else(|| format!("restart requested for '{}'", clean(&instance.name)));
        Ok(ActionOutcome { instance, message })
    }

    async fn runtime_host(&self) -> Option<super::RuntimeHost> {
        Some(super::RuntimeHost::Remote)
    }

    async fn validate(&self, spec: &Value) -> Result<Report> {
        let local = spec::validate(spec);
        if !spec.is_object() {
            return Ok(local);
        }
        let body = serde_json::to_value(CheckRequest {
            json_spec: spec.clone(),
        })
        .map_err(|e| PlatformError::Internal(format!("cannot encode the json_spec: {e}")))?;
        let r = self
            .inner
            .mutate(Method::POST, "/check", Some(&body), HeaderMap::new())
            .await?;
        let check: CheckResponse = self.inner.expect_ok(r, "checking a json_spec", None)?;
        Ok(check.into_report(local))
    }

    async fn events(&self, query: EventQuery) -> Result<Vec<Envelope>> {
        let mut url = self.inner.base.clone();
        url.set_path(&format!(
            "{}{EVENTS_PATH}",
            self.inner.base.path().trim_end_matches('/')
        ));
        {
            let mut q = url.query_pairs_mut();
            if let Some(i) = query.instance {
                q.append_pair("instance", &i.to_string());
            }
            if let Some(s) = query.since {
                q.append_pair("since", &s.to_rfc3339());
            }
            if let Some(l) = query.limit {
                q.append_pair("limit", &l.to_string());
            }
        }
        if let Some(why) = self.lacks(Route::EventHistory).await {
            return Err(PlatformError::Unavailable(why));
        }
        let r = self.inner.get_url(url, HeaderMap::new()).await?;
        if r.status == StatusCode::NOT_FOUND {
            // A real AgentArea keeps no event history for clients.
            tracing::debug!("the API server has no event history endpoint");
            self.route_missing(Route::EventHistory);
            return Err(PlatformError::Unavailable(
                self.learn_profile()
                    .await
                    .missing_route(Route::EventHistory),
            ));
        }
        self.inner.expect_ok(r, "reading events", None)
    }

    async fn tools(&self, id: Uuid) -> Result<Vec<super::ToolInfo>> {
        let list = ApiPlatform::tools(self, id).await?;
        Ok(list.iter().filter_map(wire::tool_from_wire).collect())
    }

    async fn mcp(&self, id: Uuid, op: super::McpOp) -> Result<Value> {
        self.surface(id, op).await
    }

    async fn call_tool(&self, id: Uuid, tool: &str, args: Value) -> Result<super::ToolCallResult> {
        if let Some(why) = self.lacks(Route::ToolCalls).await {
            return Err(PlatformError::Unavailable(why));
        }
        let body = json!({"name": tool, "arguments": args});
        let r = self
            .inner
            .mutate(
                Method::POST,
                &format!("/{id}/tools/call"),
                Some(&body),
                HeaderMap::new(),
            )
            .await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            self.route_missing(Route::ToolCalls);
            return Err(PlatformError::Unavailable(
                self.learn_profile().await.missing_route(Route::ToolCalls),
            ));
        }
        self.inner.expect_ok(r, "calling a tool", Some(id))
    }

    async fn logs(&self, id: Uuid) -> Result<Vec<String>> {
        if let Some(why) = self.lacks(Route::Logs).await {
            return Err(PlatformError::Unavailable(why));
        }
        let r = self
            .inner
            .get(&format!("/{id}/logs"), HeaderMap::new())
            .await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            self.route_missing(Route::Logs);
            return Err(PlatformError::Unavailable(
                self.learn_profile().await.missing_route(Route::Logs),
            ));
        }
        let logs: wire::Logs = self.inner.expect_ok(r, "reading logs", Some(id))?;
        Ok(logs.lines)
    }

    /// `GET /health/probes` (aacon extension): the runtime host's last probe
    /// of each running instance.
    async fn probes(&self) -> Result<Vec<crate::domain::Probe>> {
        let r = self.inner.get("/health/probes", HeaderMap::new()).await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Err(PlatformError::Unavailable(format!(
                "the API at {} reports no health probes (AgentArea has no such route; `aacon serve` does)",
                self.inner.shown
            )));
        }
        let p: wire::Probes = self.inner.expect_ok(r, "reading health probes", None)?;
        Ok(p.probes)
    }

    fn subscribe(&self) -> broadcast::Receiver<PlatformEvent> {
        let rx = self.events.subscribe();
        self.ensure_live();
        rx
    }
}

impl ApiPlatform {
    async fn action(&self, id: Uuid, start: bool) -> Result<ActionOutcome> {
        let (path, op) = if start {
            (format!("/{id}/start"), "starting an instance")
        } else {
            (format!("/{id}/stop"), "stopping an instance")
        };
        let r = self
            .inner
            .mutate(Method::POST, &path, None, HeaderMap::new())
            .await?;
        let msg: StatusMessage = self.inner.expect_ok(r, op, Some(id))?;
        let instance = match msg.instance {
            Some(w) => w.into_instance(),
            None => self.inner.get_wire(id).await?.into_instance(),
        };
        let verb = if start { "start" } else { "stop" };
        // AgentArea answers "started successfully" and records the status
        // itself, though only its MCP manager runs anything: say what it is.
        if self.learn_profile().await.kind == super::profile::BackendKind::AgentArea {
            let said = msg
                .message
                .map(|m| format!(" (AgentArea answered \"{}\")", clean(&m)))
                .unwrap_or_default();
            let message = format!(
                "{verb} requested for '{}'{said}; AgentArea now records it as {}, and its MCP manager does the actual work",
                clean(&instance.name),
                instance.status.as_str()
            );
            return Ok(ActionOutcome { instance, message });
        }
        let message = msg
            .message
            .map(|m| clean(&m))
            .unwrap_or_else(|| format!("{verb} requested for '{}'", clean(&instance.name)));
        Ok(ActionOutcome { instance, message })
    }
}

/// The events that turn snapshot `old` into `new`, as the poller emits them.
/// Ids are fresh; an instance without our `aggregate_version` gets none, so
/// a projection applies it (polls arrive in order).
pub fn diff(old: &HashMap<Uuid, Instance>, new: &[Instance]) -> Vec<Envelope> {
    let mut out = Vec::new();
    let fix = |mut e: Envelope, i: &Instance| {
        if i.aggregate_version == 0 {
            e.aggregate_version = None;
        }
        e
    };
    for i in new {
        let Some(o) = old.get(&i.id) else {
            out.push(fix(Envelope::created(i, None), i));
            continue;
        };
        let mut changed = Vec::new();
        if o.name != i.name {
            changed.push("name");
        }
        if o.description != i.description {
            changed.push("description");
        }
        if o.server_spec_id != i.server_spec_id {
            changed.push("server_spec_id");
        }
        if o.json_spec != i.json_spec {
            changed.push("json_spec");
        }
        if !changed.is_empty() || o.version != i.version || o.updated_at != i.updated_at {
            let mut e = fix(Envelope::updated(i, &changed, None), i);
            e.timestamp = i.updated_at;
            out.push(e);
        }
        if o.desired_state != i.desired_state {
            let e = match i.desired_state {
                crate::domain::DesiredState::Running => Envelope::started(i, None),
                crate::domain::DesiredState::Stopped => Envelope::stopped(i, None),
            };
            out.push(fix(e, i));
        }
        if o.status != i.status
            || o.status_reason != i.status_reason
            || o.tool_count != i.tool_count
            || o.restarts != i.restarts
            || o.last_healthy_at != i.last_healthy_at
        {
            let e = if i.status == Status::Error && o.status != Status::Error {
                Envelope::error(i, i.status_reason.as_deref().unwrap_or("error"), None)
            } else {
                Envelope::status_changed(i, o.status, None)
            };
            out.push(fix(e, i));
        }
    }
    let present: std::collections::HashSet<Uuid> = new.iter().map(|i| i.id).collect();
    for (id, o) in old {
        if !present.contains(id) {
            out.push(fix(Envelope::deleted(o, None), o));
        }
    }
    out
}

async fn poll_loop(inner: Arc<Inner>, tx: broadcast::Sender<PlatformEvent>) {
    let every = inner.poll_interval.max(Duration::from_millis(50));
    let source = format!(
        "polling {} every {}",
        inner.shown,
        if every.as_millis().is_multiple_of(1000) {
            format!("{} s", every.as_secs())
        } else {
            format!("{} ms", every.as_millis())
        }
    );
    let mut snapshot: Option<HashMap<Uuid, Instance>> = None;
    let mut etag: Option<String> = None;
    let mut failures: u32 = 0;
    let mut connected = false;
    loop {
        if tx.receiver_count() == 0 {
            tokio::time::sleep(every).await;
            continue;
        }
        match inner.list_conditional(etag.as_deref()).await {
            Ok(got) => {
                if !connected {
                    let _ = tx.send(PlatformEvent::Source(SourceState::Connected(
                        source.clone(),
                    )));
                    connected = true;
                    failures = 0;
                }
                if let Some((list, tag)) = got {
                    etag = tag;
                    match &snapshot {
                        None => {
                            let _ = tx.send(PlatformEvent::Refresh);
                        }
                        Some(old) => {
                            for e in diff(old, &list) {
                                let _ = tx.send(PlatformEvent::Event(Arc::new(e)));
                            }
                        }
                    }
                    snapshot = Some(list.into_iter().map(|i| (i.id, i)).collect());
                }
                tokio::time::sleep(every).await;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                connected = false;
                let wait =
                    (every * 2u32.saturating_pow(failures.min(5))).min(Duration::from_secs(30));
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "polling the API failed");
                let _ = tx.send(PlatformEvent::Source(SourceState::Retrying {
                    source: source.clone(),
                    in_secs: wait.as_secs().max(1),
                }));
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_credentials() {
        let (u, shown) = parse_base_url("http://127.0.0.1:8080/").unwrap();
        assert_eq!(shown, "http://127.0.0.1:8080");
        assert_eq!(u.path(), "/");
        let (_, shown) = parse_base_url("https://h.example/api/v1/mcp-server-instances/").unwrap();
        assert_eq!(shown, "https://h.example/api");
        let e = parse_base_url("ftp://127.0.0.1/").unwrap_err().to_string();
        assert_eq!(
            e,
            "the API URL must start with http:// or https://, not ftp://"
        );
        let e = parse_base_url("http://u:secret@127.0.0.1/")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
        assert!(e.contains("must not carry credentials"), "{e}");
        let e = parse_base_url("127.0.0.1:8080").unwrap_err().to_string();
        assert!(e.contains("http"), "{e}");
        assert!(parse_base_url("not a url").is_err());
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let t = ApiToken::new("s3cr3t-token").unwrap();
        let mut o = ApiOptions::new("http://127.0.0.1:1");
        o.token = Some(t);
        let dbg = format!("{o:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(ApiToken::new("has space").is_err());
        assert!(ApiToken::new("").is_err());
    }

    fn inst(name: &str) -> Instance {
        wire::test_instance(name, json!({"type": "docker", "image": "x"}))
    }

    #[test]
    fn diff_emits_what_changed_and_a_projection_follows_it() {
        use crate::domain::EventType;
        use crate::domain::projection::Projection;
        let a = inst("a");
        let b = inst("b");
        let old: HashMap<Uuid, Instance> =
            [(a.id, a.clone()), (b.id, b.clone())].into_iter().collect();
        let mut p = Projection::new();
        p.seed(old.values().cloned());
        let mut a2 = a.clone();
        a2.status = Status::Running;
        a2.desired_state = crate::domain::DesiredState::Running;
        let c = inst("c");
        let events = diff(&old, &[a2.clone(), c.clone()]);
        let kinds: Vec<_> = events.iter().filter_map(|e| e.kind()).collect();
        assert!(kinds.contains(&EventType::StatusChanged), "{kinds:?}");
        assert!(kinds.contains(&EventType::Started), "{kinds:?}");
        assert!(kinds.contains(&EventType::Created), "{kinds:?}");
        assert!(kinds.contains(&EventType::Deleted), "{kinds:?}");
        assert!(!kinds.contains(&EventType::Updated), "{kinds:?}");
        for e in &events {
            p.apply(e);
        }
        assert_eq!(p.get(&a.id).unwrap().status, Status::Running);
        assert!(p.get(&b.id).is_none());
        assert_eq!(p.get(&c.id).unwrap().name, "c");
        assert!(diff(&[(a2.id, a2.clone())].into_iter().collect(), &[a2]).is_empty());
    }
}

/// The Redis stream settings, when a Redis URL is configured.
pub fn redis_config(
    s: &crate::config::Settings,
) -> std::result::Result<Option<crate::bus::RedisConfig>, crate::bus::BusError> {
    crate::bus::RedisConfig::from_settings(s)
}

impl ApiOptions {
    /// Client options from resolved settings when they name an API URL
    /// (token and workspace come from the environment or the config file,
    /// never from argv).
    pub fn from_settings(s: &crate::config::Settings) -> Result<Option<ApiOptions>> {
        let Some(url) = s.api_url.clone() else {
            return Ok(None);
        };
        let mut o = ApiOptions::new(url);
        if let Some(t) = &s.api_token {
            o.token =
                Some(ApiToken::new(t.expose()).map_err(|e| PlatformError::Invalid(e.to_string()))?);
        }
        o.workspace = s.workspace.clone();
        o.redis = redis_config(s).map_err(|e| PlatformError::Invalid(e.to_string()))?;
        o.poll_interval = Duration::from_millis(s.poll_ms);
        Ok(Some(o))
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use crate::config::{Overrides, Settings};

    #[test]
    fn options_come_from_settings_and_the_token_from_env() {
        let env = |k: &str| match k {
            "AACON_API_URL" => Some("http://127.0.0.1:2".to_string()),
            "AACON_API_TOKEN" => Some("from-env".to_string()),
            "AACON_WORKSPACE" => Some("ws".to_string()),
            crate::config::ENV_POLL_MS => Some("500".to_string()),
            _ => None,
        };
        let s = Settings::resolve(&Overrides::default(), &env, None).unwrap();
        let o = ApiOptions::from_settings(&s).unwrap().unwrap();
        assert_eq!(o.url, "http://127.0.0.1:2");
        assert_eq!(o.token.unwrap().expose(), "from-env");
        assert_eq!(o.workspace.as_deref(), Some("ws"));
        assert_eq!(o.poll_interval, Duration::from_millis(500));
        let none = |_: &str| None;
        let s = Settings::resolve(&Overrides::default(), &none, None).unwrap();
        assert!(ApiOptions::from_settings(&s).unwrap().is_none());
    }
}
