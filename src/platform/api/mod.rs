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
mod history;
mod learn;
mod options;
mod poll;
pub mod record;
mod reply;
mod surface;

/// `POST /{id}/tools/call` (aacon extension).
impl ApiPlatform {
    async fn call_tool_http(
        &self,
        id: Uuid,
        tool: &str,
        args: Value,
    ) -> Result<super::ToolCallResult> {
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
}

#[cfg(test)]
mod tests;
pub mod wire;
pub use options::*;
pub use poll::diff;
use poll::poll_loop;
pub use record::RecordOptions;
pub use reply::decode_reply;
use reply::*;

/// Why a request failed, in one clean sentence part: the innermost cause
/// (the OS's or TLS's words), control characters removed.
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    clean(&root_cause(e))
}

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
    /// The flight recorder, when this client records what it observes.
    recorder: Option<Arc<record::Recorder>>,
    /// The replica that sent the last answer (`aacon serve`'s
    /// `x-aacon-replica`), for the header.
    replica: std::sync::Mutex<Option<String>>,
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
    /// Where the recording of this remote is (read by time travel).
    record: Option<RecordOptions>,
    /// Why this client was asked to record and cannot.
    record_problem: Option<String>,
}

impl Drop for ApiPlatform {
    fn drop(&mut self) {
        if let Ok(mut p) = self.poller.lock()
            && let Some(h) = p.take()
        {
            h.abort();
        }
        // The recorder writes what is pending; whoever drops a client (a
        // console switching contexts) does not wait for that disk write,
        // and the runtime's end does.
        if let Some(r) = self.inner.recorder.clone() {
            r.close();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(move || r.wait());
                }
                Err(_) => r.wait(),
            }
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
        let (recorder, record_problem) = match opts.recording.as_ref().filter(|r| r.write) {
            Some(r) => match record::Recorder::start(r) {
                Ok(rec) => (Some(Arc::new(rec)), None),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot record what this console observes");
                    (None, Some(e.to_string()))
                }
            },
            None => (None, None),
        };
        Ok(ApiPlatform {
            record: opts.recording,
            record_problem,
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
                recorder,
                replica: std::sync::Mutex::new(None),
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
            record::forward(self.inner.clone(), self.events.subscribe());
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
        // To the runtime host only: who asked, for its call history.
        if self.local
            && let Some(c) = crate::platform::history::current_caller()
            && let Ok(v) = HeaderValue::from_str(&c.to_header())
        {
            headers.insert(crate::platform::history::CALLER_HEADER, v);
        }
        self.client.request(method, url).headers(headers)
    }

    /// Keep the replica an answer names (a valid replica id only).
    fn note_replica(&self, headers: &HeaderMap) {
        let named = headers
            .get(crate::domain::replica::REPLICA_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::domain::replica::ReplicaId::new(v).ok())
            .map(|id| id.as_str().to_string());
        if let Some(id) = named
            && let Ok(mut r) = self.replica.lock()
            && r.as_deref() != Some(id.as_str())
        {
            *r = Some(id);
        }
    }

    async fn send_once(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> std::result::Result<Reply, SendError> {
        let mut resp = rb.send().await.map_err(SendError::Transport)?;
        self.note_replica(resp.headers());
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
            if let Some(rec) = &self.recorder {
                rec.seen();
            }
            return Ok(None);
        }
        let tag = r
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let list: Vec<WireInstance> = self.expect_ok(r, "listing instances", None)?;
        let list: Vec<Instance> = list.into_iter().map(WireInstance::into_instance).collect();
        if let Some(rec) = &self.recorder {
            rec.list(&list);
        }
        Ok(Some((list, tag)))
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
        Some(super::RuntimeHost::Remote {
            replica: self.inner.replica.lock().ok().and_then(|r| r.clone()),
        })
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

    /// The remote as this console's recording observed it.
    async fn state_at(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::domain::replay::Moment> {
        self.read_recording(move |r| r.state_at(at)).await
    }

    /// The recording's events when there is one, else the server's history.
    async fn events_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        if self.has_recording() {
            return self
                .read_recording(move |r| r.events_between(from, to, instance))
                .await;
        }
        super::history_between(self, from, to, instance).await
    }

    async fn tools(&self, id: Uuid) -> Result<Vec<super::ToolInfo>> {
        let list = ApiPlatform::tools(self, id).await?;
        Ok(list.iter().filter_map(wire::tool_from_wire).collect())
    }

    async fn mcp(&self, id: Uuid, op: super::McpOp) -> Result<Value> {
        self.surface(id, op).await
    }

    /// Over HTTP the call's progress is its elapsed time (the caller keeps
    /// it), the server's elicitation is declined where it runs, and a
    /// cancel drops the request: `aacon serve` cancels the call when its
    /// caller is gone.
    async fn call_tool_watched(
        &self,
        id: Uuid,
        tool: &str,
        args: Value,
        ctl: super::CallControl,
    ) -> Result<super::ToolCallResult> {
        let t0 = std::time::Instant::now();
        tokio::select! {
            r = self.call_tool_http(id, tool, args) => r,
            _ = ctl.cancel.cancelled() => Err(PlatformError::Unavailable(format!(
                "tool '{tool}' was cancelled after {}s",
                t0.elapsed().as_secs()
            ))),
        }
    }

    async fn logs(&self, id: Uuid, after: Option<u64>) -> Result<crate::platform::LogPage> {
        if let Some(why) = self.lacks(Route::Logs).await {
            return Err(PlatformError::Unavailable(why));
        }
        let mut url = self.inner.url(&format!("/{id}/logs"));
        if let Some(a) = after {
            url.query_pairs_mut().append_pair("after", &a.to_string());
        }
        let r = self.inner.get_url(url, HeaderMap::new()).await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            self.route_missing(Route::Logs);
            return Err(PlatformError::Unavailable(
                self.learn_profile().await.missing_route(Route::Logs),
            ));
        }
        let logs: wire::Logs = self.inner.expect_ok(r, "reading logs", Some(id))?;
        Ok(logs.into_page())
    }

    async fn history(&self, id: Uuid, limit: usize) -> Result<Vec<super::history::CallRecord>> {
        self.call_history(id, limit).await
    }

    async fn history_call(&self, id: Uuid, call: i64) -> Result<super::history::CallRecord> {
        self.call_record(id, call).await
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

    async fn hosting(&self, id: Uuid) -> Result<Option<super::Hosting>> {
        let r = self
            .inner
            .get(&format!("/{id}/hosting"), HeaderMap::new())
            .await?;
        // AgentArea, or a serve from before leases: one runtime.
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Ok(None);
        }
        let h: wire::Hosting =
            self.inner
                .expect_ok(r, "reading which replica hosts an instance", None)?;
        Ok(h.to_port())
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

impl ApiPlatform {
    /// The recording this client writes or reads, if any.
    pub fn recording(&self) -> Option<&RecordOptions> {
        self.record.as_ref()
    }

    /// Why this client was asked to record what it observes and cannot
    /// (the recording's file could not be opened).
    pub fn recording_problem(&self) -> Option<&str> {
        self.record_problem.as_deref()
    }

    /// Whether time travel reads a recording.
    fn has_recording(&self) -> bool {
        self.inner.recorder.is_some()
            || self
                .record
                .as_ref()
                .is_some_and(|r| !r.write && r.path.exists())
    }

    /// Run `f` on the recording, off the async threads.
    async fn read_recording<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crate::store::recording::Recording) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(opts) = self.record.clone() else {
            return Err(PlatformError::Unavailable(format!(
                "this console does not record what it observes of {} (backend.record = false), so it cannot show a past moment, only now",
                self.inner.shown
            )));
        };
        if let Some(why) = &self.record_problem {
            return Err(PlatformError::Unavailable(format!(
                "nothing is recorded of {}: {why}",
                opts.source
            )));
        }
        tokio::task::spawn_blocking(move || {
            let mut r =
                crate::store::recording::Recording::open_existing(&opts.path, &opts.source)?;
            f(&mut r)
        })
        .await
        .map_err(|e| PlatformError::Internal(format!("reading the recording stopped: {e}")))?
    }
}
