//! The port the console and the CLI talk to, and its adapters.
//!
//! Every adapter (the in-process [`embedded`] platform today, the REST API
//! client later) implements [`Platform`]. [`ReadOnly`] wraps any of them and
//! refuses every mutation, so `--read-only` is enforced here, not only
//! hidden in the UI.

pub mod api;
mod argcheck;
pub mod content;
pub mod embedded;
pub mod history;
pub mod logs;
pub mod names;
pub mod once;
pub mod profile;
mod read_only;
pub mod readback;
pub mod tools;

pub use profile::BackendProfile;
pub use read_only::ReadOnly;

use crate::domain::spec::Report;
use crate::domain::{Envelope, Instance, InstancePatch, NewInstance, Precondition};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Errors a platform call can end with; each displays as one sentence.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum PlatformError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("json_spec is not valid: {}", .0.summary())]
    InvalidSpec(Report),
    #[error("read-only mode: {0} is not allowed")]
    ReadOnly(&'static str),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// A name that more than one instance has (AgentArea allows that):
    /// nothing was done; the sentence lists every match.
    #[error("{0}")]
    Ambiguous(String),
    /// The platform answered a mutation without applying every field asked.
    #[error("{0}")]
    NotApplied(String),
    /// A write made on behalf of an instance lease that is no longer
    /// current (another replica took the instance over): refused.
    #[error("{0}")]
    Fenced(String),
}

impl PlatformError {
    /// The CLI exit code for this error (see README).
    pub fn exit_code(&self) -> i32 {
        match self {
            PlatformError::NotFound(_) => 4,
            PlatformError::Conflict(_) => 5,
            PlatformError::Invalid(_) | PlatformError::InvalidSpec(_) => 3,
            PlatformError::ReadOnly(_) => 1,
            PlatformError::Unavailable(_) | PlatformError::Internal(_) => 1,
            PlatformError::Ambiguous(_) => 6,
            PlatformError::NotApplied(_) => 7,
            PlatformError::Fenced(_) => 5,
        }
    }
}

pub type Result<T, E = PlatformError> = std::result::Result<T, E>;

/// Subscriber buffer; a subscriber that falls further behind gets `Lagged`
/// and should reload with `list`.
pub const SUBSCRIBER_CAPACITY: usize = 65_536;

pub use logs::{LogLevel, LogLine, LogPage, LogSource};
pub use tools::{
    ArgError, CallControl, CallProgress, ElicitAnswer, ElicitRequest, Elicitor, LeaseFence, McpOp,
    NoticeReport, RuntimePort, StatusReport, ToolCallResult, ToolError, ToolInfo, ToolSessions,
};

/// What a start or stop did.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    pub instance: Instance,
    /// One sentence for the user, e.g. that no runtime host is up.
    pub message: String,
}

/// Which events to read back from history.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub instance: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    /// The newest `limit` events (in order oldest → newest).
    pub limit: Option<usize>,
}

/// Where live events come from and how that source is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    Connected(String),
    Retrying { source: String, in_secs: u64 },
    Off,
}

/// What the platform pushes to subscribers.
#[derive(Debug, Clone)]
pub enum PlatformEvent {
    /// A domain event, in commit order for one source.
    Event(std::sync::Arc<Envelope>),
    /// A status report of ours read as a compact record (no JSON body):
    /// only a platform whose subscribers asked for them sends these (the
    /// console's, see `OnceSender::set_compact`); everyone else gets the
    /// same report as an `Event`. [`PlatformEvent::full`] turns it into one.
    Status(std::sync::Arc<crate::domain::status_event::StatusEvent>),
    /// A payload that could not be decoded, kept raw for inspection.
    Malformed {
        source: String,
        raw: String,
        error: String,
    },
    /// The event source's state changed.
    Source(SourceState),
    /// Subscribers should reload from `list` (they fell behind, or a
    /// foreign event named no instance).
    Refresh,
    /// What a stream watcher read of the retained stream when it joined
    /// (or after a full read): instances known only from the stream are
    /// those its window shows.
    Window(StreamWindow),
}

impl PlatformEvent {
    /// The same event with a compact status report as its full envelope.
    pub fn full(self) -> PlatformEvent {
        match self {
            PlatformEvent::Status(s) => PlatformEvent::Event(std::sync::Arc::new(s.to_envelope())),
            other => other,
        }
    }
}

/// How much of a Redis stream a watcher has read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamWindow {
    /// The stream, as shown in the header.
    pub source: String,
    /// Entries the stream retains (`XLEN`) and how many of them were read.
    pub retained: u64,
    pub read: u64,
    /// The time of the oldest entry read (from its stream id).
    pub since: Option<DateTime<Utc>>,
}

impl StreamWindow {
    /// Whether every retained entry was read.
    pub fn whole(&self) -> bool {
        self.read >= self.retained
    }
}

/// Who runs the MCP runtime (the processes and sessions behind instances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeHost {
    /// This process holds the runtime lock.
    ThisProcess { role: String, pid: u32 },
    /// Another process of this data dir holds it.
    Other {
        role: String,
        pid: u32,
        /// Where it serves its API (`aacon serve`).
        address: Option<String>,
    },
    /// Nobody: no instance is run until a console, `aacon serve` or
    /// `aacon host` takes the lock.
    Nobody,
    /// The remote API server runs its own; `replica` is the `aacon serve`
    /// replica that sent the last answer, when it names one.
    Remote { replica: Option<String> },
}

impl RuntimeHost {
    /// For the header: "this console, pid 42", "serve at 127.0.0.1:8080,
    /// pid 42", "background host, pid 42".
    pub fn describe(&self) -> String {
        match self {
            RuntimeHost::ThisProcess { role, pid } => format!("this {role}, pid {pid}"),
            RuntimeHost::Other {
                role,
                pid,
                address: Some(a),
            } if role == "serve" => format!("serve at {a}, pid {pid}"),
            RuntimeHost::Other { role, pid, .. } => match role.as_str() {
                "host" => format!("background host, pid {pid}"),
                "console" => format!("another console, pid {pid}"),
                r => format!("{r}, pid {pid}"),
            },
            RuntimeHost::Nobody => "none (instances do not run)".into(),
            RuntimeHost::Remote { .. } => "the API server".into(),
        }
    }
}

/// Which replica hosts an instance, where instances are shared by lease
/// between `aacon serve` replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosting {
    /// The replica holding its lease, and its internal address.
    By { replica: String, address: String },
    /// No replica holds its lease right now.
    Nobody,
}

/// Facts about the backend, for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// "embedded" or the API URL.
    pub name: String,
    pub read_only: bool,
}

#[async_trait]
pub trait Platform: Send + Sync {
    fn info(&self) -> BackendInfo;

    /// What this backend can do (learned once on first contact for a
    /// remote one; everything for the embedded platform).
    async fn profile(&self) -> BackendProfile {
        BackendProfile::embedded()
    }

    async fn list(&self) -> Result<Vec<Instance>>;
    /// A number that changes whenever `list` could answer differently, so a
    /// caller may keep what it built from a list until it changes. `None`:
    /// this backend cannot tell (never cache).
    async fn list_stamp(&self) -> Result<Option<i64>> {
        Ok(None)
    }
    /// Find by id or by name.
    async fn get(&self, key: &str) -> Result<Instance>;
    async fn create(&self, new: NewInstance) -> Result<Instance>;
    async fn update(
        &self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
    ) -> Result<Instance>;
    async fn delete(&self, id: Uuid) -> Result<()>;
    async fn start(&self, id: Uuid) -> Result<ActionOutcome>;
    async fn stop(&self, id: Uuid) -> Result<ActionOutcome>;
    /// Stop and start again as one operation under one correlation id.
    /// A backend without such an operation is sent a stop, then a start,
    /// and the message says so.
    async fn restart(&self, id: Uuid) -> Result<ActionOutcome> {
        self.stop(id).await?;
        let out = self.start(id).await?;
        Ok(ActionOutcome {
            message: format!(
                "restarted '{}' as a stop, then a start (two operations: this backend has no restart)",
                out.instance.name
            ),
            instance: out.instance,
        })
    }
    /// Who hosts the runtime; `None` when this backend cannot tell.
    async fn runtime_host(&self) -> Option<RuntimeHost> {
        None
    }
    async fn validate(&self, spec: &serde_json::Value) -> Result<Report>;
    async fn events(&self, query: EventQuery) -> Result<Vec<Envelope>>;
    /// The instances as they were at `at`, from the event log (see
    /// `domain::replay`). A backend without an event history cannot.
    async fn state_at(&self, _at: DateTime<Utc>) -> Result<crate::domain::replay::Moment> {
        Err(PlatformError::Unavailable(
            "this API offers no replay of its event history, so a past moment cannot be shown, only now".into(),
        ))
    }
    /// The events from `from` to `to` (both included), oldest first.
    async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        history_between(self, from, to, instance).await
    }
    /// Live events from now on.
    fn subscribe(&self) -> broadcast::Receiver<PlatformEvent>;

    /// The tools an instance's server offers (as discovered by the runtime).
    async fn tools(&self, _id: Uuid) -> Result<Vec<ToolInfo>> {
        Err(PlatformError::Unavailable(
            "this backend cannot list tools yet".into(),
        ))
    }
    /// Call `tool` on a running instance with JSON `args` (an object),
    /// checked against the tool's input schema before anything is sent.
    async fn call_tool(
        &self,
        id: Uuid,
        tool: &str,
        args: serde_json::Value,
    ) -> Result<ToolCallResult> {
        self.call_tool_watched(id, tool, args, CallControl::default())
            .await
    }
    /// [`Platform::call_tool`] watched and steered by `ctl`: the server's
    /// progress reported, cancelled when `ctl.cancel` is, the server's
    /// elicitation requests answered by `ctl.elicit` (declined without one).
    async fn call_tool_watched(
        &self,
        _id: Uuid,
        _tool: &str,
        _args: serde_json::Value,
        _ctl: CallControl,
    ) -> Result<ToolCallResult> {
        Err(PlatformError::Unavailable(
            "this backend cannot call tools yet".into(),
        ))
    }
    /// Ask a running instance's server about its identity, resources or
    /// prompts ([`McpOp`]); the answer in the protocol's JSON shapes,
    /// bounded in size, secrets masked.
    async fn mcp(&self, _id: Uuid, op: McpOp) -> Result<serde_json::Value> {
        Err(PlatformError::Unavailable(format!(
            "this backend cannot do this ({})",
            op.doing()
        )))
    }
    /// Read every entry the Redis stream retains (not only the watcher's
    /// backfill window) into the subscribers; the sentence says what came.
    async fn read_stream(&self) -> Result<String> {
        Err(PlatformError::Unavailable(
            "this console watches no Redis stream (--redis)".into(),
        ))
    }
    /// An instance's log kept by the runtime host: stderr lines, MCP log
    /// messages and the runtime's markers, secrets masked, oldest first;
    /// `after` (a page's `next`) asks only for newer lines.
    async fn logs(&self, _id: Uuid, _after: Option<u64>) -> Result<LogPage> {
        Err(PlatformError::Unavailable(
            "this backend cannot show logs yet".into(),
        ))
    }
    /// An instance's call history (tool calls, resource reads, prompt
    /// gets), newest first, at most `limit`, without the kept answers.
    async fn history(&self, _id: Uuid, _limit: usize) -> Result<Vec<history::CallRecord>> {
        Err(PlatformError::Unavailable(
            "this backend keeps no call history".into(),
        ))
    }
    /// One recorded call of an instance in full (its kept answer too).
    async fn history_call(&self, _id: Uuid, _call: i64) -> Result<history::CallRecord> {
        Err(PlatformError::Unavailable(
            "this backend keeps no call history".into(),
        ))
    }
    /// The last health probe of every instance the runtime runs (not
    /// events: see [`crate::domain::probe`]). `Unavailable` when this
    /// backend does not report probes.
    /// Which replica hosts instance `id`; `None` where instances are not
    /// shared by lease (one process runs them all).
    async fn hosting(&self, _id: Uuid) -> Result<Option<Hosting>> {
        Ok(None)
    }

    async fn probes(&self) -> Result<Vec<crate::domain::Probe>> {
        Err(PlatformError::Unavailable(
            "this backend does not report health probes".into(),
        ))
    }
}

/// The events from `from` to `to` read from `p`'s event history (what
/// [`Platform::events_between`] does unless a backend knows better).
pub async fn history_between<P: Platform + ?Sized>(
    p: &P,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    instance: Option<Uuid>,
) -> Result<Vec<Envelope>> {
    let mut all = p
        .events(EventQuery {
            instance,
            since: Some(from),
            limit: None,
        })
        .await?;
    all.retain(|e| e.timestamp <= to);
    Ok(all)
}

/// Where decoded events go (a live source's sink: the platform's
/// subscribers, a channel). Batches keep per-event overhead low.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Deliver a batch in order; `false` when nobody listens any more.
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool;

    /// Whether status reports may come as [`PlatformEvent::Status`]
    /// (compact records) rather than full envelopes.
    fn compact(&self) -> bool {
        false
    }
}

/// The last source state a remembering sink passed on ([`crate::bus::Remember`]).
pub type SourceMemo = std::sync::Arc<std::sync::Mutex<Option<SourceState>>>;
