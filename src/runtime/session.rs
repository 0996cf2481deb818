//! One MCP session: a stdio child (rmcp client over the child's pipes) or a
//! Streamable HTTP endpoint (rmcp's reqwest transport). Every call has a
//! timeout; every failure becomes one plain sentence.

use super::client_requests::ClientRequests;
use super::linewatch::{self, Seen};
use super::plan::{EndpointPlan, ProcessPlan};
use super::procs;
use super::ring::LogRing;
use super::sse::{SseError, SseTransport};
use crate::domain::spec::EndpointTransport;
use reqwest::header::HeaderMap;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotification, CancelledNotificationParam,
    ClientRequest, ListToolsRequest, RequestId, ServerResult,
};
use rmcp::service::PeerRequestOptions;
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ServiceExt, service::ClientInitializeError};
use serde_json::{Map, Value, json};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// The port's tool types, by the names the runtime has used.
pub use crate::platform::tools::{MAX_RESULT_BYTES, ToolCallResult as ToolCallOutcome, ToolInfo};
use crate::platform::{CallControl, ToolError};

/// Why a server could not be started or connected (initialize and the
/// first tools/list included), in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl From<String> for StartError {
    fn from(m: String) -> Self {
        StartError(m)
    }
}

impl From<&str> for StartError {
    fn from(m: &str) -> Self {
        StartError(m.to_string())
    }
}

pub struct Session {
    client: RunningService<RoleClient, super::surface::Notices>,
    child: Option<Child>,
    pgid: Option<i32>,
    ring: Option<Arc<Mutex<LogRing>>>,
    /// What the child's stdout carried (a stdio server).
    seen: Option<Arc<Mutex<Seen>>>,
    /// Server name and version, and the protocol version agreed.
    pub server: String,
    /// What the server notified without being asked (resource updates).
    pub notices: super::surface::Notices,
    /// How a remote server is reached ("Streamable HTTP", "legacy
    /// HTTP+SSE (…)"), for the status detail; `None` for a child.
    pub transport: Option<String>,
}

/// The status detail of a session over Streamable HTTP.
pub const STREAMABLE: &str = "Streamable HTTP";
/// The status detail of a session over SSE because json_spec says so.
pub const SSE_BY_SPEC: &str = "legacy HTTP+SSE (json_spec transport)";

/// What the status detail says of a server that answers HTTP 401: that it
/// needs a login, and the command that does it.
pub fn needs_login(url: &str, instance: Option<&str>) -> String {
    format!(
        "needs login: {url} answered HTTP 401; run `aacon auth login {}`",
        instance.unwrap_or("NAME")
    )
}

/// Whether initialize's POST was refused in a way that means "this URL
/// does not speak Streamable HTTP" (a 4xx that is not about a login, the
/// request's size or its rate).
fn refuses_streamable(status: reqwest::StatusCode) -> bool {
    status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 408 | 413 | 429)
}

/// Where the legacy HTTP+SSE transport failed: opening the stream (the
/// server may not offer it at all), or the session on it.
enum SseFailure {
    Stream(StartError),
    Session(StartError),
}

impl SseFailure {
    fn into_error(self) -> StartError {
        match self {
            SseFailure::Stream(e) | SseFailure::Session(e) => e,
        }
    }
}

/// One sentence for an SSE transport failure.
fn sse_words(e: &SseError) -> String {
    match e {
        SseError::Request(r) => failure_words(r),
        other => other.to_string(),
    }
}

fn short(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    } else {
        one_line
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{s:.1}s")
    }
}

/// Whether `program` can be found (a path, or a name on PATH).
fn find_program(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// `; why` when there is a why.
fn also(why: Option<String>) -> String {
    why.map(|w| format!("; {w}")).unwrap_or_default()
}

/// How a child ended, in words.
pub fn explain_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "exited".to_string(),
    }
}

fn last_stderr(ring: &Arc<Mutex<LogRing>>) -> String {
    ring.lock()
        .ok()
        .and_then(|r| {
            r.last_stderr()
                .map(|l| format!(" (last stderr line: {})", short(l, 200)))
        })
        .unwrap_or_default()
}

fn init_error(e: &ClientInitializeError) -> String {
    match e {
        ClientInitializeError::ConnectionClosed(_) => {
            "the server closed the connection during initialize".into()
        }
        ClientInitializeError::JsonRpcError(d) => {
            // The server's own words: MCP gives a version mismatch no code
            // of its own, so its message is what says so.
            let m = d.message.to_string();
            if m.to_ascii_lowercase().contains("protocol") {
                format!("protocol version mismatch: {}", short(&m, 200))
            } else {
                format!("the server refused initialize: {}", short(&m, 200))
            }
        }
        ClientInitializeError::NoCompatibleProtocolVersion {
            client_supported,
            server_supported,
        } => format!(
            "protocol version mismatch: we speak {}, the server speaks {}",
            client_supported
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            server_supported
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ClientInitializeError::TransportError { error, .. } => {
            format!("initialize failed: {}", failure_words(&*error.error))
        }
        ClientInitializeError::LegacyFallbackFailed { fallback, .. } => init_error(fallback),
        other => format!("initialize failed: {}", short(&other.to_string(), 200)),
    }
}

/// One sentence for a failed request.
pub fn service_error(e: &ServiceError) -> String {
    service_fault(e).to_string()
}

/// [`service_error`] with its kind: the server's own error, the way to it,
/// or no answer in time.
pub fn service_fault(e: &ServiceError) -> ToolError {
    match e {
        ServiceError::McpError(d) => ToolError::Server(format!(
            "the server answered with error {}: {}",
            d.code.0,
            short(&d.message, 300)
        )),
        ServiceError::TransportClosed => {
            ToolError::Transport("the connection to the server is closed".into())
        }
        ServiceError::TransportSend(t) => ToolError::Transport(failure_words(&*t.error)),
        ServiceError::Timeout { timeout } => {
            ToolError::Timeout(format!("no answer within {}", secs(*timeout)))
        }
        other => ToolError::Transport(short(&other.to_string(), 200)),
    }
}

/// What went wrong on the way to a server, in plain words: the class of
/// failure found anywhere in the error's chain of causes ("connection
/// refused", "connection reset", "DNS lookup failed", "timed out", "TLS
/// handshake failed", "the server closed the connection"), else the
/// innermost cause, never only a wrapper's "error sending request".
pub fn failure_words(e: &(dyn std::error::Error + 'static)) -> String {
    use std::io::ErrorKind as K;
    type HttpError = rmcp::transport::streamable_http_client::StreamableHttpError<reqwest::Error>;
    let mut chain: Vec<&(dyn std::error::Error + 'static)> = vec![e];
    // rmcp's HTTP transport keeps reqwest's error out of the source chain.
    fn next<'a>(
        c: &'a (dyn std::error::Error + 'static),
    ) -> Option<&'a (dyn std::error::Error + 'static)> {
        c.source().or_else(|| match c.downcast_ref::<HttpError>() {
            Some(HttpError::Client(inner)) => Some(inner as &(dyn std::error::Error + 'static)),
            _ => None,
        })
    }
    while let Some(n) = chain.last().and_then(|c| next(*c)) {
        if chain.len() > 16 {
            break;
        }
        chain.push(n);
    }
    for c in &chain {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            let words = match io.kind() {
                K::ConnectionRefused => Some("connection refused"),
                K::ConnectionReset => Some("connection reset by the server"),
                K::ConnectionAborted => Some("connection aborted"),
                K::TimedOut => Some("timed out"),
                K::BrokenPipe => Some("the connection broke (broken pipe)"),
                K::UnexpectedEof => Some("the server closed the connection"),
                K::NotConnected => Some("not connected"),
                K::HostUnreachable => Some("host unreachable"),
                K::NetworkUnreachable => Some("network unreachable"),
                K::AddrNotAvailable => Some("address not available"),
                _ => None,
            };
            if let Some(w) = words {
                return w.to_string();
            }
        }
    }
    let text: String = chain
        .iter()
        .map(|c| c.to_string().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(": ");
    let classes: [(&[&str], &str); 8] = [
        (&["connection refused"], "connection refused"),
        (&["connection reset"], "connection reset by the server"),
        (
            &[
                "dns error",
                "failed to lookup",
                "name or service not known",
                "no address associated",
            ],
            "DNS lookup failed",
        ),
        (&["timed out", "timeout"], "timed out"),
        (
            &["certificate", "tls", "ssl", "handshake"],
            "TLS handshake failed",
        ),
        (
            &[
                "connection closed",
                "incomplete message",
                "unexpected eof",
                "channel closed",
            ],
            "the server closed the connection",
        ),
        (&["broken pipe"], "the connection broke (broken pipe)"),
        (
            &["host unreachable", "no route to host"],
            "host unreachable",
        ),
    ];
    for (needles, words) in classes {
        if needles.iter().any(|n| text.contains(n)) {
            return words.to_string();
        }
    }
    // The innermost cause says most; the wrappers only say where.
    let root = chain.last().map(|c| c.to_string()).unwrap_or_default();
    short(&root, 200)
}

fn tool_info(t: rmcp::model::Tool) -> ToolInfo {
    ToolInfo {
        name: t.name.to_string(),
        description: t.description.map(|d| d.to_string()),
        input_schema: Value::Object((*t.input_schema).clone()),
        annotations: t
            .annotations
            .as_ref()
            .and_then(|a| serde_json::to_value(a).ok()),
    }
}

fn peer_name(client: &RunningService<RoleClient, super::surface::Notices>) -> String {
    client
        .peer_info()
        .map(|i| {
            let (name, version) = i
                .server_info
                .as_ref()
                .map(|s| (s.name.to_string(), s.version.to_string()))
                .unwrap_or_else(|| ("unnamed server".into(), "?".into()));
            format!("{name} {version} (protocol {})", i.protocol_version)
        })
        .unwrap_or_else(|| "unknown server".into())
}

impl Session {
    /// Spawn `plan` (never through a shell) as a process-group leader, run
    /// initialize and tools/list. The child's environment is `base` (the
    /// allowlisted part of ours, see [`super::childenv`]) plus the plan's
    /// own variables; nothing else of this process's environment.
    pub async fn spawn(
        plan: &ProcessPlan,
        init_timeout: Duration,
        ring: Arc<Mutex<LogRing>>,
        base: &[(std::ffi::OsString, std::ffi::OsString)],
        requests: ClientRequests,
    ) -> Result<(Session, Vec<ToolInfo>), StartError> {
        if let Some(cwd) = &plan.cwd
            && !cwd.is_dir()
        {
            return Err(format!("the working directory {} does not exist", cwd.display()).into());
        }
        if !find_program(&plan.program) {
            return Err(format!(
                "command '{}' was not found{}",
                short(&plan.program, 120),
                if plan.program.contains('/') {
                    ""
                } else {
                    " on PATH"
                }
            )
            .into());
        }
        let mut cmd = tokio::process::Command::new(&plan.program);
        cmd.args(&plan.args)
            .env_clear()
            .envs(base.iter().map(|(k, v)| (k, v)))
            .envs(plan.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &plan.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                format!("command '{}' is not executable", short(&plan.program, 120))
            }
            _ => format!("cannot start '{}': {e}", short(&plan.program, 120)),
        })?;
        tracing::trace!(target: "aacon::stage", "spawned");
        let pgid = child.id().map(|p| p as i32);
        if let Some(g) = pgid {
            procs::register(g);
        }
        // If this future is dropped mid-way (a stop during initialize),
        // the whole group dies with it.
        let mut guard = GroupGuard(pgid);
        let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
            if let Some(g) = pgid {
                procs::terminate_group(g, Duration::from_millis(200), Some(&mut child)).await;
            }
            return Err("cannot open the child's stdio pipes".into());
        };
        if let Some(stderr) = child.stderr.take() {
            let ring = ring.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut r) = ring.lock() {
                        r.push_stderr(&line);
                    }
                }
            });
        }
        let fail = |child: Child, msg: String| async move {
            let mut child = child;
            if let Some(g) = pgid {
                procs::terminate_group(g, Duration::from_millis(500), Some(&mut child)).await;
            }
            Err(StartError(msg))
        };
        let (stdout, seen) = linewatch::pump(stdout, linewatch::MAX_LINE);
        let explain = {
            let seen = seen.clone();
            move || {
                seen.lock()
                    .ok()
                    .and_then(|s| s.explain(linewatch::MAX_LINE))
            }
        };
        let transport =
            AsyncRwTransport::new_client(stdout, stdin).with_max_line_length(linewatch::MAX_LINE);
        let init = tokio::time::timeout(
            init_timeout,
            super::surface::Notices::new(requests)
                .logging_to(ring.clone())
                .serve(transport),
        );
        tokio::pin!(init);
        let client = tokio::select! {
            r = &mut init => match r {
                Ok(Ok(c)) => Ok(c),
                Ok(Err(e)) => {
                    // An endless line ended the stream: that is the cause
                    // (the child may die of the closed pipe meanwhile).
                    if let Some(why) = explain().filter(|_| seen.lock().is_ok_and(|s| s.overflow)) {
                        return fail(child, format!("initialize failed: {why}")).await;
                    }
                    // A child that exited explains itself better than the pipe.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if let Ok(Some(st)) = child.try_wait() {
                        let msg = format!("the process {} before answering initialize{}{}", explain_exit(st), last_stderr(&ring), also(explain()));
                        return fail(child, msg).await;
                    }
                    return fail(child, format!("{}{}", init_error(&e), also(explain()))).await;
                }
                Err(_) => {
                    return fail(child, format!("the server did not answer initialize within {}{}", secs(init_timeout), also(explain()))).await;
                }
            },
            st = child.wait() => Err(st),
        };
        let client = match client {
            Ok(c) => c,
            Err(st) => {
                // Let the pump read what the child left on stdout (it
                // describes the failure), then say how it ended.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let what = st
                    .map(explain_exit)
                    .unwrap_or_else(|e| format!("ended ({e})"));
                let msg = format!(
                    "the process {what} before answering initialize{}{}",
                    last_stderr(&ring),
                    also(explain())
                );
                return fail(child, msg).await;
            }
        };
        tracing::trace!(target: "aacon::stage", "initialized");
        let server = peer_name(&client);
        let client_notices = client.service().clone();
        guard.0 = None;
        let session = Session {
            client,
            child: Some(child),
            pgid,
            ring: Some(ring),
            seen: Some(seen),
            server,
            notices: client_notices,
            transport: None,
        };
        session.with_tools(init_timeout).await
    }

    /// Connect to an endpoint, run initialize and tools/list: over
    /// Streamable HTTP, over the legacy HTTP+SSE transport when json_spec
    /// says `"transport": "sse"`, or (no `transport`) over Streamable HTTP
    /// falling back to SSE when the server refuses it with a 4xx, as the
    /// MCP specification's backwards-compatibility section says.
    pub async fn connect(
        plan: &EndpointPlan,
        init_timeout: Duration,
        http: &reqwest::Client,
        requests: ClientRequests,
    ) -> Result<(Session, Vec<ToolInfo>), StartError> {
        let url = reqwest::Url::parse(&plan.url)
            .map_err(|e| format!("the endpoint '{}' is not a URL: {e}", short(&plan.url, 120)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the endpoint '{}' is not an http or https URL",
                short(&plan.url, 120)
            )
            .into());
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &plan.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("header name '{}' is not valid", short(k, 60)))?;
            if matches!(
                name.as_str(),
                "accept" | "mcp-session-id" | "last-event-id" | "content-type"
            ) {
                continue;
            }
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| format!("the value of header '{}' is not valid", short(k, 60)))?;
            headers.insert(name, value);
        }
        match plan.transport {
            EndpointTransport::Sse => Self::connect_sse(
                plan,
                url,
                headers,
                init_timeout,
                http,
                SSE_BY_SPEC.into(),
                requests,
            )
            .await
            .map_err(SseFailure::into_error),
            EndpointTransport::StreamableHttp => {
                Self::connect_streamable(plan, headers, init_timeout, http, requests)
                    .await
                    .map_err(|(e, _)| e)
            }
            EndpointTransport::Auto => {
                match Self::connect_streamable(
                    plan,
                    headers.clone(),
                    init_timeout,
                    http,
                    requests.clone(),
                )
                .await
                {
                    Ok(s) => Ok(s),
                    Err((e, Some(status))) if refuses_streamable(status) => {
                        let how = format!(
                            "legacy HTTP+SSE (Streamable HTTP refused with HTTP {})",
                            status.as_u16()
                        );
                        match Self::connect_sse(
                            plan,
                            url,
                            headers,
                            init_timeout,
                            http,
                            how.clone(),
                            requests,
                        )
                        .await
                        {
                            Ok(s) => Ok(s),
                            // It speaks SSE: what failed there is the news.
                            Err(SseFailure::Session(sse)) => {
                                Err(StartError(format!("over {how}: {sse}")))
                            }
                            Err(SseFailure::Stream(_)) => Err(StartError(format!(
                                "{e} (nor does it offer the legacy HTTP+SSE transport)"
                            ))),
                        }
                    }
                    Err((e, _)) => Err(e),
                }
            }
        }
    }

    /// Streamable HTTP; on failure the sentence and, when the server
    /// answered initialize's POST with an error status, that status.
    async fn connect_streamable(
        plan: &EndpointPlan,
        headers: HeaderMap,
        init_timeout: Duration,
        http: &reqwest::Client,
        requests: ClientRequests,
    ) -> Result<(Session, Vec<ToolInfo>), (StartError, Option<reqwest::StatusCode>)> {
        let config = StreamableHttpClientTransportConfig::with_uri(plan.url.as_str())
            .custom_headers(
                headers
                    .into_iter()
                    .filter_map(|(k, v)| Some((k?, v)))
                    .collect(),
            );
        let name = plan.login.as_ref().map(|l| l.instance.as_str());
        let login = match &plan.login {
            Some(l) if l.credentials.present() => {
                match super::oauth::authorized(&plan.url, l.credentials.clone()).await {
                    Ok(Some(m)) => Some(m),
                    Ok(None) => {
                        return Err((StartError(needs_login(&plan.url, name)), None));
                    }
                    Err(e) => return Err((StartError(e.to_string()), None)),
                }
            }
            _ => None,
        };
        let notices = super::surface::Notices::new(requests);
        let served = match login {
            // rmcp adds the access token to each request and refreshes it
            // before it expires (saving the new one to the secret store).
            Some(m) => {
                let client = rmcp::transport::auth::AuthClient::new(http.clone(), m);
                let transport = StreamableHttpClientTransport::with_client(client, config);
                tokio::time::timeout(init_timeout, notices.serve(transport)).await
            }
            None => {
                let transport = StreamableHttpClientTransport::with_client(http.clone(), config);
                tokio::time::timeout(init_timeout, notices.serve(transport)).await
            }
        };
        let client = match served {
            Ok(Ok(c)) => c,
            failed => {
                let probe = probe(plan, init_timeout, http).await;
                if probe.status == Some(reqwest::StatusCode::UNAUTHORIZED) {
                    return Err((StartError(needs_login(&plan.url, name)), probe.status));
                }
                let words = probe.words.unwrap_or_else(|| match failed {
                    Ok(Err(e)) => init_error(&e),
                    _ => format!(
                        "{} did not answer initialize within {}",
                        plan.url,
                        secs(init_timeout)
                    ),
                });
                return Err((StartError(words), probe.status));
            }
        };
        let session = Session::remote(client, STREAMABLE.into());
        session
            .with_tools(init_timeout)
            .await
            .map_err(|e| (e, None))
    }

    /// The legacy HTTP+SSE transport; `how` says in the status detail how
    /// it was chosen.
    async fn connect_sse(
        plan: &EndpointPlan,
        url: reqwest::Url,
        headers: HeaderMap,
        init_timeout: Duration,
        http: &reqwest::Client,
        how: String,
        requests: ClientRequests,
    ) -> Result<(Session, Vec<ToolInfo>), SseFailure> {
        let late =
            |what: &str| format!("{} did not {what} within {}", plan.url, secs(init_timeout));
        let deadline = tokio::time::Instant::now() + init_timeout;
        let name = plan.login.as_ref().map(|l| l.instance.as_str());
        let mut headers = headers;
        if let Some(l) = plan.login.as_ref().filter(|l| l.credentials.present()) {
            // A login kept for it: its access token (refreshed first when
            // it is about to expire) goes with every request of this session.
            let token = match super::oauth::authorized(&plan.url, l.credentials.clone()).await {
                Ok(Some(m)) => m.get_access_token().await.ok(),
                Ok(None) => None,
                Err(e) => return Err(SseFailure::Stream(StartError(e.to_string()))),
            };
            let Some(token) = token else {
                return Err(SseFailure::Stream(StartError(needs_login(&plan.url, name))));
            };
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| {
                    SseFailure::Stream(StartError(
                        "the access token is not a valid header value".into(),
                    ))
                })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let transport = match tokio::time::timeout_at(
            deadline,
            SseTransport::connect(url, headers, http),
        )
        .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(SseError::AuthRequired { .. })) => {
                return Err(SseFailure::Stream(StartError(needs_login(&plan.url, name))));
            }
            Ok(Err(e)) => return Err(SseFailure::Stream(StartError(sse_words(&e)))),
            Err(_) => {
                return Err(SseFailure::Stream(StartError(late("open its SSE stream"))));
            }
        };
        let client = match tokio::time::timeout_at(
            deadline,
            super::surface::Notices::new(requests).serve(transport),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(SseFailure::Session(StartError(init_error(&e)))),
            Err(_) => {
                return Err(SseFailure::Session(StartError(late("answer initialize"))));
            }
        };
        let session = Session::remote(client, how);
        session
            .with_tools(init_timeout)
            .await
            .map_err(SseFailure::Session)
    }

    /// A session with a remote server (no child).
    fn remote(client: RunningService<RoleClient, super::surface::Notices>, how: String) -> Session {
        let server = peer_name(&client);
        let notices = client.service().clone();
        Session {
            client,
            child: None,
            pgid: None,
            ring: None,
            seen: None,
            server,
            notices,
            transport: Some(how),
        }
    }

    /// The child's pid (its process group id), for a managed process.
    pub fn pid(&self) -> Option<u32> {
        self.pgid.map(|p| p as u32)
    }

    pub fn peer(&self) -> rmcp::Peer<RoleClient> {
        self.client.peer().clone()
    }

    /// A session that just started, with the tools it offers; a server
    /// that cannot list them is shut down.
    async fn with_tools(self, timeout: Duration) -> Result<(Session, Vec<ToolInfo>), StartError> {
        match self.list_tools(timeout).await {
            Ok(tools) => {
                tracing::trace!(target: "aacon::stage", "listed");
                Ok((self, tools))
            }
            Err(e) => {
                self.shutdown(Duration::from_millis(500)).await;
                Err(StartError(format!("tools/list failed: {e}")))
            }
        }
    }

    /// tools/list with pagination (a fresh request, never a cached answer).
    pub async fn list_tools(&self, timeout: Duration) -> Result<Vec<ToolInfo>, ToolError> {
        list_tools(&self.peer(), timeout).await
    }

    /// Resolves when the server is gone: the child exited (with why) or
    /// the HTTP session closed.
    pub async fn ended(&mut self) -> String {
        match self.child.as_mut() {
            Some(child) => {
                let st = child.wait().await;
                // An endless line ended the session (the child then died of
                // the closed pipe): say so rather than "signal 13".
                if let Some(why) = self.seen.as_ref().and_then(|s| {
                    s.lock()
                        .ok()
                        .filter(|s| s.overflow)
                        .and_then(|s| s.explain(linewatch::MAX_LINE))
                }) {
                    return format!("the session ended: {why}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                let what = st
                    .map(explain_exit)
                    .unwrap_or_else(|e| format!("ended ({e})"));
                let tail = self.ring.as_ref().map(last_stderr).unwrap_or_default();
                format!("the process {what}{tail}")
            }
            None => loop {
                if self.client.is_closed() {
                    return "the connection to the server closed".into();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            },
        }
    }

    /// MCP shutdown (close the session: stdin EOF or HTTP DELETE), then
    /// SIGTERM, then SIGKILL after `grace`; the whole process group.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self
            .client
            .close_with_timeout(grace.min(Duration::from_secs(2)))
            .await;
        if let Some(pgid) = self.pgid {
            if let Some(child) = self.child.as_mut() {
                let quick = grace.min(Duration::from_millis(500));
                if tokio::time::timeout(quick, child.wait()).await.is_ok()
                    && procs::live_members(pgid).is_empty()
                {
                    procs::unregister(pgid);
                    self.pgid = None;
                    return;
                }
            }
            procs::terminate_group(pgid, grace, self.child.as_mut()).await;
        }
        self.pgid = None;
    }
}

/// SIGKILLs a process group when dropped while still armed.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            procs::signal_group(g, libc::SIGKILL);
            procs::unregister(g);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropped without `shutdown` (an aborted task): kill the group.
        if let Some(g) = self.pgid.take() {
            procs::signal_group(g, libc::SIGKILL);
            procs::unregister(g);
        }
    }
}

/// tools/list on `peer`, following pagination, bypassing rmcp's cache.
pub async fn list_tools(
    peer: &rmcp::Peer<RoleClient>,
    timeout: Duration,
) -> Result<Vec<ToolInfo>, ToolError> {
    let work = async {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let req = match cursor.take() {
                Some(c) => {
                    let mut p = rmcp::model::PaginatedRequestParams::default();
                    p.cursor = Some(c);
                    ListToolsRequest::with_param(p)
                }
                None => ListToolsRequest::default(),
            };
            match peer
                .send_request(ClientRequest::ListToolsRequest(req))
                .await
            {
                Ok(ServerResult::ListToolsResult(r)) => {
                    out.extend(r.tools.into_iter().map(tool_info));
                    match r.next_cursor {
                        Some(c) if !c.is_empty() => cursor = Some(c),
                        _ => return Ok(out),
                    }
                }
                Ok(_) => {
                    return Err(ToolError::Server(
                        "the server sent an unexpected answer to tools/list".into(),
                    ));
                }
                Err(e) => return Err(service_fault(&e)),
            }
        }
        Ok(out)
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(ToolError::Timeout(format!(
                "no answer to tools/list within {}",
                secs(timeout)
            )))
        })
}

/// Sends `notifications/cancelled` for a request when dropped while armed
/// (the call's future was dropped: a caller gone, a task aborted).
struct CancelOnDrop {
    peer: rmcp::Peer<RoleClient>,
    id: Option<RequestId>,
}

impl CancelOnDrop {
    /// Tell the server the request is cancelled, saying why.
    async fn cancel(&mut self, reason: &str) {
        if let Some(id) = self.id.take() {
            let _ = self.peer.send_notification(cancelled(id, reason)).await;
        }
    }
}

fn cancelled(id: RequestId, reason: &str) -> rmcp::model::ClientNotification {
    CancelledNotification::new(CancelledNotificationParam::new(
        Some(id),
        Some(reason.to_string()),
    ))
    .into()
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.id.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let peer = self.peer.clone();
            rt.spawn(async move {
                let _ = peer
                    .send_notification(cancelled(id, "the caller is gone"))
                    .await;
            });
        }
    }
}

/// How one call is identified to the session's client handler: the
/// instance and tool (an elicitation names them), and where its progress,
/// cancel and elicitation go.
pub struct CallOn<'a> {
    pub requests: &'a ClientRequests,
    pub instance: &'a str,
    pub ctl: &'a CallControl,
}

/// Call `tool` with `args` on `peer`, within `timeout`, watched by `on`:
/// its progress reported, cancelled (`notifications/cancelled`) when the
/// control's token is, when the time is up or when this future is dropped.
pub async fn call_tool(
    peer: &rmcp::Peer<RoleClient>,
    tool: &str,
    args: Map<String, Value>,
    timeout: Duration,
    on: CallOn<'_>,
) -> Result<ToolCallOutcome, ToolError> {
    let t0 = std::time::Instant::now();
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    let watch = on.requests.watch(on.instance, tool, on.ctl);
    let handle = peer
        .send_request_with_option(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .map_err(|e| service_fault(&e))?;
    watch.sent(handle.progress_token.clone());
    let mut guard = CancelOnDrop {
        peer: peer.clone(),
        id: Some(handle.id.clone()),
    };
    let answer = tokio::select! {
        r = handle.await_response() => {
            guard.id = None;
            r.map_err(|e| service_fault(&e))?
        }
        _ = on.ctl.cancel.cancelled() => {
            guard.cancel("cancelled by the operator").await;
            return Err(ToolError::Cancelled(format!(
                "tool '{tool}' was cancelled after {}",
                secs(Duration::from_secs(t0.elapsed().as_secs()))
            )));
        }
        _ = tokio::time::sleep(timeout) => {
            guard.cancel("request timeout").await;
            return Err(ToolError::Timeout(format!(
                "tool '{tool}' did not answer within {} (it was cancelled)",
                secs(timeout)
            )));
        }
    };
    let r = match answer {
        ServerResult::CallToolResult(r) => r,
        ServerResult::EmptyResult(_) => rmcp::model::CallToolResult::success(Vec::new()),
        _ => {
            return Err(ToolError::Server(
                "the server sent an unexpected answer to tools/call".into(),
            ));
        }
    };
    // Text as it is; an image, audio or resource as a line saying what it
    // is and its size, never nothing.
    let text = super::content::text(&serde_json::to_value(&r.content).unwrap_or(Value::Null));
    let is_error = r.is_error.unwrap_or(false);
    let size = serde_json::to_vec(&r).map(|v| v.len()).unwrap_or(0);
    if size > MAX_RESULT_BYTES {
        // A huge result is cut: the screen, the socket and the event log
        // get a bounded text that says so.
        let text = truncated(&text, size);
        return Ok(ToolCallOutcome {
            is_error,
            result: json!({
                "content": [{"type": "text", "text": text}],
                "isError": is_error,
                "truncated": true,
                "bytes": size,
            }),
            text,
        });
    }
    Ok(ToolCallOutcome {
        is_error,
        text,
        result: serde_json::to_value(&r).unwrap_or(Value::Null),
    })
}

/// The first [`MAX_RESULT_BYTES`] of `text` (on a character boundary) and a
/// last line that says what was cut.
fn truncated(text: &str, size: usize) -> String {
    format!(
        "{}\n… [truncated: the result was {:.1} MB; the first {} KiB of its text are shown]",
        crate::domain::text::prefix(text, MAX_RESULT_BYTES),
        size as f64 / 1_000_000.0,
        MAX_RESULT_BYTES / 1024
    )
}

/// What asking the endpoint ourselves found after rmcp failed to connect.
struct Probe {
    /// The HTTP status of initialize's POST, when there was an answer.
    status: Option<reqwest::StatusCode>,
    /// What is wrong, in plain words; `None` when nothing looks wrong.
    words: Option<String>,
}

/// After rmcp failed to connect: ask the endpoint ourselves and say in
/// plain words what is wrong. `None` when nothing looks wrong.
pub async fn diagnose(
    plan: &EndpointPlan,
    timeout: Duration,
    http: &reqwest::Client,
) -> Option<String> {
    probe(plan, timeout, http).await.words
}

async fn probe(plan: &EndpointPlan, timeout: Duration, http: &reqwest::Client) -> Probe {
    let url = &plan.url;
    let host = reqwest::Url::parse(url)
        .ok()
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().unwrap_or(0)
            )
        })
        .unwrap_or_default();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "aacon", "version": env!("CARGO_PKG_VERSION")}}
    });
    let mut req = http
        .post(url)
        .timeout(timeout)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    for (k, v) in &plan.headers {
        req = req.header(k, v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return Probe {
                status: None,
                words: Some(request_error(&e, url, &host, timeout)),
            };
        }
    };
    Probe {
        status: Some(resp.status()),
        words: answer_words(resp, url, &host, timeout).await,
    }
}

/// What is wrong with the answer to initialize's POST, if anything.
async fn answer_words(
    resp: reqwest::Response,
    url: &str,
    host: &str,
    timeout: Duration,
) -> Option<String> {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = match tokio::time::timeout(timeout, resp.text()).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Some(request_error(&e, url, host, timeout)),
        Err(_) => String::new(),
    };
    if !status.is_success() {
        let excerpt = short(&text, 200);
        return Some(format!(
            "{url} answered HTTP {}{}",
            status,
            if excerpt.is_empty() {
                String::new()
            } else {
                format!(": {excerpt}")
            }
        ));
    }
    let payload = if ctype.starts_with("text/event-stream") {
        text.lines()
            .find_map(|l| l.strip_prefix("data:"))
            .map(|d| d.trim().to_string())
            .unwrap_or_default()
    } else {
        text.clone()
    };
    let parsed: Option<Value> = serde_json::from_str(&payload).ok();
    let Some(msg) = parsed.filter(|v| v.get("jsonrpc").and_then(Value::as_str) == Some("2.0"))
    else {
        return Some(format!(
            "{url} is not an MCP server: its answer to initialize is not JSON-RPC ({}: {})",
            if ctype.is_empty() {
                "no content type"
            } else {
                ctype.as_str()
            },
            short(&text, 120)
        ));
    };
    if let Some(err) = msg.get("error") {
        // As in `init_error`: only the server's message says "protocol".
        let m = err.get("message").and_then(Value::as_str).unwrap_or("");
        return Some(if m.to_ascii_lowercase().contains("protocol") {
            format!("protocol version mismatch: {}", short(m, 200))
        } else {
            format!("{url} refused initialize: {}", short(m, 200))
        });
    }
    None
}

// Worded from the kinds in reqwest's chain of causes where it has them (a
// timeout, an I/O error), else from its text: reqwest and hyper give DNS and
// TLS failures no kind to match on.
fn request_error(e: &reqwest::Error, url: &str, host: &str, timeout: Duration) -> String {
    use std::io::ErrorKind as K;
    let mut chain = e.to_string();
    let mut io_kind = None;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        io_kind = io_kind.or_else(|| s.downcast_ref::<std::io::Error>().map(std::io::Error::kind));
        src = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    if e.is_timeout() {
        format!("{url} did not answer within {}", secs(timeout))
    } else if io_kind == Some(K::ConnectionRefused) || lower.contains("connection refused") {
        format!("connection refused by {host} (nothing listens there)")
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("no address associated")
    {
        format!(
            "DNS lookup failed for {}",
            host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
        )
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("ssl")
    {
        format!("TLS handshake with {host} failed: {}", short(&chain, 200))
    } else if io_kind == Some(K::ConnectionReset)
        || lower.contains("connection reset")
        || lower.contains("connection closed")
    {
        format!("{host} closed the connection: {}", short(&chain, 160))
    } else {
        format!("cannot reach {url}: {}", short(&chain, 200))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrapper that says only where it failed, like reqwest's.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request for url (http://127.0.0.1:9/mcp)")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn failure_classes_are_plain_words_not_the_wrapper() {
        use std::io::{Error, ErrorKind};
        let cases = [
            (ErrorKind::ConnectionRefused, "connection refused"),
            (ErrorKind::ConnectionReset, "connection reset by the server"),
            (ErrorKind::TimedOut, "timed out"),
            (ErrorKind::UnexpectedEof, "the server closed the connection"),
            (ErrorKind::BrokenPipe, "the connection broke (broken pipe)"),
        ];
        for (kind, words) in cases {
            let e = Wrapper(Error::new(kind, "os error"));
            assert_eq!(failure_words(&e), words, "{kind:?}");
        }
        // Known words in the messages count too.
        let e = Wrapper(Error::other(
            "dns error: failed to lookup address information",
        ));
        assert_eq!(failure_words(&e), "DNS lookup failed");
        let e = Wrapper(Error::other("invalid peer certificate: UnknownIssuer"));
        assert_eq!(failure_words(&e), "TLS handshake failed");
        // Otherwise the innermost cause, not "error sending request".
        let e = Wrapper(Error::other("the frobnicator is out of frobs"));
        assert_eq!(failure_words(&e), "the frobnicator is out of frobs");
    }

    #[tokio::test]
    async fn a_real_refused_connection_says_connection_refused() {
        // A loopback port nobody listens on: bind, note it, close it.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/mcp"))
            .send()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("error sending request"), "{e}");
        assert_eq!(failure_words(&e), "connection refused");
        // As rmcp's HTTP transport wraps it (no source chain of its own).
        let wrapped = rmcp::transport::streamable_http_client::StreamableHttpError::Client(e);
        assert_eq!(failure_words(&wrapped), "connection refused");
    }
}
