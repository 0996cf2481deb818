//! The port's tool and session types: what a server offers, what a call
//! returned, what the runtime reports. The runtime, the store, the API
//! client and serve all speak these; none of them owns them.

use super::{PlatformError, PlatformEvent};
use crate::domain::{Instance, Probe, Status};
use crate::paths::DataDir;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// A runtime status report (from the MCP runtime).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusReport {
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub tool_count: Option<Option<u32>>,
    pub restarts: Option<u32>,
    pub healthy_now: bool,
    /// Record as an `MCPServerInstanceError` event with this text.
    pub error: Option<String>,
    /// The last good probe (kept as `last_healthy_at`), e.g. with a stop.
    pub healthy_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Written on behalf of an instance lease (replicas on PostgreSQL):
    /// a store that shares instances by lease writes it only while that
    /// lease is current, else refuses it with [`PlatformError::Fenced`].
    pub lease: Option<LeaseFence>,
}

/// The lease a status report is written under: the replica holding it
/// and the lease's generation (the fencing token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseFence {
    pub replica: String,
    pub generation: i64,
}

/// Notifications a server sent unasked (a list changed, a resource was
/// updated, progress, a cancellation), as one record of the instance's
/// history: the first of a kind and subject, or how many more came in a
/// window (see `runtime::notify`).
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeReport {
    /// The protocol's method (`notifications/resources/updated`).
    pub method: String,
    /// What it is about: a resource URI, a progress token, a request id.
    pub subject: Option<String>,
    /// How many notices this record stands for.
    pub count: u64,
    pub first_at: chrono::DateTime<chrono::Utc>,
    pub last_at: chrono::DateTime<chrono::Utc>,
    /// The last one's detail (progress and total, a reason), secrets masked.
    pub detail: Value,
}

/// A tool the runtime discovered on an instance's server.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolInfo {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The tool's JSON Schema for its arguments.
    #[serde(default)]
    pub input_schema: Value,
    /// MCP's tool annotations as the server sent them (`readOnlyHint`,
    /// `destructiveHint`, …); hints, not guarantees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

impl ToolInfo {
    /// Whether calling it asks the operator first: the server marks it
    /// destructive, or does not mark it read-only (MCP's defaults: a tool
    /// may change things, destructively, unless it says otherwise).
    pub fn needs_confirmation(&self) -> bool {
        let hint = |k: &str| {
            self.annotations
                .as_ref()
                .and_then(|a| a.get(k))
                .and_then(Value::as_bool)
        };
        hint("destructiveHint") == Some(true) || hint("readOnlyHint") != Some(true)
    }

    /// Why it asks, in one sentence (see [`ToolInfo::needs_confirmation`]).
    pub fn confirmation_reason(&self) -> &'static str {
        let destructive = self
            .annotations
            .as_ref()
            .and_then(|a| a.get("destructiveHint"))
            .and_then(Value::as_bool);
        if destructive == Some(true) {
            "The server marks this tool destructive."
        } else {
            "The server does not mark this tool read-only: it may change things."
        }
    }
}

/// What a tool call returned.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ToolCallResult {
    /// The server marked the result as a tool error.
    pub is_error: bool,
    /// The text content blocks, joined by newlines.
    pub text: String,
    /// The whole result as JSON.
    pub result: Value,
}

/// How one tool call is watched and steered while it runs: where the
/// server's progress goes, the token that cancels it, and who answers the
/// server's elicitation requests during it. The default watches nothing,
/// cannot be cancelled from outside and declines every elicitation.
#[derive(Clone, Default)]
pub struct CallControl {
    /// Each `notifications/progress` of this call, as it comes.
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<CallProgress>>,
    /// Cancelled: the request is cancelled (`notifications/cancelled`) and
    /// the call ends with [`ToolError::Cancelled`].
    pub cancel: tokio_util::sync::CancellationToken,
    /// Who answers an `elicitation/create` that comes during the call.
    pub elicit: Option<std::sync::Arc<dyn Elicitor>>,
}

impl std::fmt::Debug for CallControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallControl")
            .field("progress", &self.progress.is_some())
            .field("cancelled", &self.cancel.is_cancelled())
            .field("elicit", &self.elicit.is_some())
            .finish()
    }
}

impl CallControl {
    /// Pass on one progress report (nobody listening is fine).
    pub fn report(&self, p: CallProgress) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(p);
        }
    }
}

/// One `notifications/progress` of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallProgress {
    pub progress: f64,
    #[serde(default)]
    pub total: Option<f64>,
    #[serde(default)]
    pub message: Option<String>,
}

impl std::fmt::Display for CallProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |x: f64| {
            if x.fract() == 0.0 {
                format!("{}", x as i64)
            } else {
                format!("{x:.1}")
            }
        };
        match self.total {
            Some(t) if t > 0.0 => write!(
                f,
                "{}/{} ({:.0}%)",
                n(self.progress),
                n(t),
                (self.progress / t * 100.0).clamp(0.0, 100.0)
            )?,
            _ => write!(f, "{}", n(self.progress))?,
        }
        if let Some(m) = self.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, " — {}", crate::domain::text::shown(m))?;
        }
        Ok(())
    }
}

/// A server asking the operator for input during a call
/// (`elicitation/create` in form mode).
#[derive(Debug, Clone, PartialEq)]
pub struct ElicitRequest {
    /// The instance whose server asks.
    pub instance: String,
    /// The tool whose call it came during.
    pub tool: String,
    /// The server's message.
    pub message: String,
    /// The requested schema (an object of primitive properties).
    pub schema: Value,
}

/// The operator's answer to an [`ElicitRequest`].
#[derive(Debug, Clone, PartialEq)]
pub enum ElicitAnswer {
    /// The form's content, checked against the schema.
    Accept(Map<String, Value>),
    /// The operator said no.
    Decline,
    /// The operator dismissed the form without choosing.
    Cancel,
}

/// Who answers a server's elicitation: the console's form, the CLI's
/// terminal.
#[async_trait]
pub trait Elicitor: Send + Sync {
    async fn elicit(&self, request: ElicitRequest) -> ElicitAnswer;
}

/// One request about a server's surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum McpOp {
    /// The initialize result: server name, version, protocol, capabilities, instructions.
    Identity,
    /// A ping; the answer carries its latency.
    Ping,
    /// `resources/list` (every page), with the time of each update notice.
    Resources,
    /// `resources/templates/list` (every page).
    Templates,
    /// `resources/read`.
    Read { uri: String },
    /// `resources/subscribe`: updates show in [`McpOp::Resources`].
    Subscribe { uri: String },
    /// The update notices kept so far (no request to the server): cheap
    /// enough to ask once a second.
    Updated,
    /// `prompts/list` (every page).
    Prompts,
    /// `prompts/get` with arguments checked against the prompt's list first.
    GetPrompt {
        name: String,
        #[serde(default)]
        arguments: Map<String, Value>,
    },
    /// `logging/setLevel`: the server sends log messages from `level` up.
    SetLevel { level: super::LogLevel },
}

impl McpOp {
    /// What the request does, for error sentences ("reading a resource").
    pub fn doing(&self) -> &'static str {
        match self {
            McpOp::Identity => "reading the server's identity",
            McpOp::Ping => "pinging the server",
            McpOp::Resources => "listing resources",
            McpOp::Templates => "listing resource templates",
            McpOp::Read { .. } => "reading a resource",
            McpOp::Subscribe { .. } => "subscribing to a resource",
            McpOp::Updated => "reading resource update notices",
            McpOp::Prompts => "listing prompts",
            McpOp::GetPrompt { .. } => "getting a prompt",
            McpOp::SetLevel { .. } => "setting the server's log level",
        }
    }
}

/// Largest tool result kept whole (its JSON); larger ones are cut.
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;

/// Why a tool's arguments were refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("tool arguments must be a JSON object, like {{\"message\": \"hi\"}}")]
    NotObject,
    #[error("the server has no tool named '{tool}'; it has: {known}")]
    NoSuchTool { tool: String, known: String },
    #[error("the arguments do not fit the input schema of '{tool}': {first}{more}")]
    Schema {
        tool: String,
        first: String,
        more: String,
    },
}

/// Why a request to an MCP server (a tool call, a surface request) failed.
/// Each displays as the one sentence it always has.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The caller's arguments do not fit the tool.
    #[error(transparent)]
    Argument(#[from] ArgError),
    /// The caller's request does not fit the server (no such prompt, a
    /// missing prompt argument).
    #[error("{0}")]
    Request(String),
    /// The instance has no session to ask.
    #[error("{0}")]
    NotRunning(String),
    /// The way to the server failed: it could not be started or reached,
    /// or the connection closed.
    #[error("{0}")]
    Transport(String),
    /// The server answered with an error.
    #[error("{0}")]
    Server(String),
    /// No answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The caller cancelled the call (the server was sent
    /// `notifications/cancelled`).
    #[error("{0}")]
    Cancelled(String),
    /// Another process's answer, already a platform error.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

impl From<ToolError> for PlatformError {
    fn from(e: ToolError) -> Self {
        match e {
            ToolError::Argument(_) | ToolError::Request(_) => PlatformError::Invalid(e.to_string()),
            ToolError::Platform(p) => p,
            ToolError::NotRunning(m)
            | ToolError::Transport(m)
            | ToolError::Server(m)
            | ToolError::Timeout(m)
            | ToolError::Cancelled(m) => PlatformError::Unavailable(m),
        }
    }
}

/// Check `args` for `tool` against the known tools; the arguments object.
pub fn check_args(
    tools: &[ToolInfo],
    tool: &str,
    args: Value,
) -> Result<Map<String, Value>, ArgError> {
    let Value::Object(map) = args else {
        return Err(ArgError::NotObject);
    };
    let Some(t) = tools.iter().find(|t| t.name == tool) else {
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        return Err(ArgError::NoSuchTool {
            tool: tool.chars().take(80).collect(),
            known: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        });
    };
    let problems = super::argcheck::check(&t.input_schema, &Value::Object(map.clone()));
    if let Some(first) = problems.first() {
        return Err(ArgError::Schema {
            tool: tool.to_string(),
            first: first.clone(),
            more: if problems.len() > 1 {
                format!(" (and {} more)", problems.len() - 1)
            } else {
                String::new()
            },
        });
    }
    Ok(map)
}

/// Where the embedded platform's tool calls, surface requests, logs and
/// probes go: the runtime's live sessions in this process, the runtime
/// host of the data dir over its socket, or a session opened for one
/// request. The platform asks them in that order.
#[async_trait]
pub trait ToolSessions: Send + Sync {
    /// Whether it can answer now (the runtime still runs; a host listens).
    fn available(&self) -> bool {
        true
    }
    /// Whether the instance has a live session here.
    fn is_live(&self, _id: Uuid) -> bool {
        false
    }
    /// The live tools of an instance, while connected here.
    fn live_tools(&self, _id: Uuid) -> Option<Vec<ToolInfo>> {
        None
    }
    /// Call `tool` with `args` (checked against the schema already),
    /// watched and steered by `ctl` (progress, cancel, elicitation).
    async fn call_tool(
        &self,
        inst: &Instance,
        tool: &str,
        args: Value,
        ctl: &CallControl,
    ) -> Result<ToolCallResult, ToolError>;
    /// Ask the server about its identity, resources or prompts.
    async fn mcp(&self, inst: &Instance, op: McpOp) -> Result<Value, ToolError>;
    /// An instance's log (see [`crate::platform::Platform::logs`]).
    async fn logs(&self, _id: Uuid, _after: Option<u64>) -> Result<super::LogPage, PlatformError> {
        Ok(super::LogPage::default())
    }
    /// The last probe of every instance running there.
    async fn probes(&self) -> Result<Vec<Probe>, PlatformError> {
        Ok(Vec::new())
    }
}

/// What the MCP runtime needs of the platform it runs on: the instances,
/// their events, and where its reports and discoveries go. The runtime
/// depends on this, never on an adapter.
#[async_trait]
pub trait RuntimePort: Send + Sync {
    /// Every instance (desired and observed state, json_spec).
    async fn instances(&self) -> Result<Vec<Instance>, PlatformError>;
    /// One instance by id (`NotFound` once deleted).
    async fn instance(&self, id: Uuid) -> Result<Instance, PlatformError>;
    /// Live events from now on.
    fn follow(&self) -> broadcast::Receiver<PlatformEvent>;
    /// Record an observed status under the command that caused it.
    async fn report_status(
        &self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<Instance, PlatformError>;
    /// Record notifications a server sent unasked in the instance's event
    /// history (never a state change).
    async fn record_notice(&self, id: Uuid, notice: NoticeReport) -> Result<(), PlatformError>;
    /// Keep the tools a server offers.
    async fn set_tools(&self, id: Uuid, tools: Vec<ToolInfo>) -> Result<(), PlatformError>;
    /// A session came up: keep its tools and record its status together
    /// (one commit where the platform can; by default the two calls).
    async fn report_up(
        &self,
        id: Uuid,
        tools: Vec<ToolInfo>,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<Instance, PlatformError> {
        if let Err(e) = self.set_tools(id, tools).await {
            tracing::warn!(error = %e, %id, "cannot store discovered tools");
        }
        self.report_status(id, report, correlation_id).await
    }
    /// The tools as last kept.
    async fn stored_tools(&self, id: Uuid) -> Result<Vec<ToolInfo>, PlatformError>;
    /// The correlation id of the last command on each instance.
    async fn last_command_correlations(&self) -> Result<HashMap<Uuid, String>, PlatformError>;
    /// The data dir (the secret store and the runtime socket live there).
    fn data_dir(&self) -> &DataDir;
    /// Route the platform's tool calls, logs and probes to these live
    /// sessions while they are available.
    fn attach_sessions(&self, sessions: Arc<dyn ToolSessions>);
}
