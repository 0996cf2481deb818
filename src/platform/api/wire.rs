//! The JSON shapes of AgentArea's `/v1/mcp-server-instances` API, shared by
//! the client adapter and `aacon serve`.
//!
//! Reading is tolerant (unknown fields ignored, optional ones defaulted,
//! naive datetimes taken as UTC); writing produces AgentArea's field names
//! plus our own extras (`version`, `desired_state`, `kind`, …), which a real
//! AgentArea client ignores.

use crate::domain::event::timestamp;
use crate::domain::spec::{Issue, ProviderKind, Report, Severity};
use crate::domain::{DesiredState, Instance, Status};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The API's base path (FastAPI declares its routes with a trailing slash).
pub const BASE_PATH: &str = "/v1/mcp-server-instances";
/// Our event-history extension (not part of AgentArea's API).
pub const EVENTS_PATH: &str = "/v1/aacon/events";
/// AgentArea's 404 detail for a missing instance.
pub const NOT_FOUND_DETAIL: &str = "MCP Server Instance not found";

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(timestamp::parse_value))
}

/// A string, or any scalar written as text (some deployments send ids as numbers).
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| v.as_u64()))
}

fn default_status() -> String {
    "pending".into()
}

/// One instance as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireInstance {
    pub id: Uuid,
    pub name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub server_spec_id: Option<String>,
    #[serde(default)]
    pub json_spec: Value,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(
        default,
        deserialize_with = "lenient_time",
        serialize_with = "ser_time"
    )]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "lenient_time",
        serialize_with = "ser_time"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    // Our extras below: absent from a real AgentArea.
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub aggregate_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_time",
        serialize_with = "ser_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_healthy_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_count: Option<u64>,
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub restarts: Option<u64>,
}

fn ser_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&ts(t)),
        None => s.serialize_none(),
    }
}

impl WireInstance {
    /// Whether this came from one of our servers (it carries our `version`).
    pub fn is_ours(&self) -> bool {
        self.version.is_some()
    }

    /// Our instance; fields AgentArea lacks are defaulted: version 0,
    /// desired state derived from the status, free-text status kept as the reason.
    pub fn into_instance(self) -> Instance {
        let status = Status::from_foreign(&self.status);
        let status_reason = match status {
            Some(_) => self.status_reason,
            None => self.status_reason.or_else(|| Some(self.status.clone())),
        };
        // Unknown free text from a manager is something to look at.
        let status = status.unwrap_or(Status::Unhealthy);
        let desired_state = self
            .desired_state
            .as_deref()
            .and_then(|d| d.parse().ok())
            .unwrap_or(match status {
                Status::Validating | Status::Starting | Status::Running | Status::Unhealthy => {
                    DesiredState::Running
                }
                _ => DesiredState::Stopped,
            });
        let json_spec = match self.json_spec {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                tracing::warn!(instance = %self.id, "json_spec from the API is not an object; kept under \"value\"");
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        let created_at = self
            .created_at
            .or(self.updated_at)
            .unwrap_or(DateTime::UNIX_EPOCH);
        let updated_at = self.updated_at.unwrap_or(created_at);
        Instance {
            id: self.id,
            name: self.name,
            description: self.description,
            server_spec_id: self.server_spec_id,
            json_spec,
            status,
            status_reason,
            desired_state,
            created_at,
            updated_at,
            version: self.version.unwrap_or(0),
            aggregate_version: self.aggregate_version.unwrap_or(0),
            updated_by: self.updated_by,
            last_healthy_at: self.last_healthy_at,
            tool_count: self.tool_count.map(|n| n.min(u32::MAX as u64) as u32),
            restarts: self
                .restarts
                .map(|n| n.min(u32::MAX as u64) as u32)
                .unwrap_or(0),
        }
    }

    /// What `serve` sends for an instance.
    pub fn from_instance(i: &Instance) -> WireInstance {
        WireInstance {
            id: i.id,
            name: i.name.clone(),
            description: i.description.clone(),
            server_spec_id: i.server_spec_id.clone(),
            json_spec: Value::Object(i.json_spec.clone()),
            status: i.status.as_str().into(),
            created_at: Some(i.created_at),
            updated_at: Some(i.updated_at),
            version: Some(i.version),
            desired_state: Some(i.desired_state.as_str().into()),
            kind: Some(i.kind().as_str().into()),
            status_reason: i.status_reason.clone(),
            aggregate_version: Some(i.aggregate_version),
            updated_by: i.updated_by.clone(),
            last_healthy_at: i.last_healthy_at,
            tool_count: i.tool_count.map(u64::from),
            restarts: Some(u64::from(i.restarts)),
        }
    }
}

/// `POST /check` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRequest {
    pub json_spec: Value,
}

/// One validation finding on the wire (our extension of `/check`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireIssue {
    pub severity: String,
    #[serde(default)]
    pub pointer: String,
    pub message: String,
}

/// `POST /check` answer: AgentArea's `{valid, message, details | status_code}`
/// plus our `kind` and `issues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResponse {
    pub valid: bool,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<WireIssue>>,
}

pub fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn severity_from(s: &str) -> Severity {
    match s {
        "warning" => Severity::Warning,
        "note" | "info" => Severity::Note,
        _ => Severity::Error,
    }
}

pub(crate) fn kind_from(s: &str) -> Option<ProviderKind> {
    match s {
        "external" => Some(ProviderKind::External),
        "process" => Some(ProviderKind::Process),
        "container" => Some(ProviderKind::Container),
        _ => None,
    }
}

pub fn issues_to_wire(r: &Report) -> Vec<WireIssue> {
    r.issues
        .iter()
        .map(|i| WireIssue {
            severity: severity_str(i.severity).into(),
            pointer: i.pointer.clone(),
            message: i.message.clone(),
        })
        .collect()
}

/// Text from the server as one inert line: control characters (newlines,
/// escape sequences) become spaces, so it cannot break a sentence or drive
/// the terminal it is printed on.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn issues_from_wire(issues: &[WireIssue]) -> Vec<Issue> {
    issues
        .iter()
        .map(|i| Issue {
            severity: severity_from(&i.severity),
            pointer: one_line(&i.pointer),
            message: one_line(&i.message),
        })
        .collect()
}

impl CheckResponse {
    pub fn from_report(r: &Report) -> CheckResponse {
        let valid = r.is_valid();
        CheckResponse {
            valid,
            message: r.summary(),
            details: valid.then(|| serde_json::json!({"kind": r.kind.map(|k| k.as_str())})),
            status_code: (!valid).then_some(400),
            kind: r.kind.map(|k| k.as_str().into()),
            issues: Some(issues_to_wire(r)),
        }
    }

    /// Our report. Without our `issues` (a real AgentArea), `local` (our own
    /// validation) is kept and the server's verdict added when it disagrees.
    pub fn into_report(self, local: Report) -> Report {
        if let Some(issues) = &self.issues {
            return Report {
                kind: self.kind.as_deref().and_then(kind_from).or(local.kind),
                issues: issues_from_wire(issues),
            };
        }
        let mut r = local;
        if !self.valid {
            let message = if self.message.trim().is_empty() {
                "the server says this json_spec is not valid".to_string()
            } else {
                format!("the server says: {}", one_line(self.message.trim()))
            };
            r.issues.insert(
                0,
                Issue {
                    severity: Severity::Error,
                    pointer: String::new(),
                    message,
                },
            );
        }
        r
    }
}

/// `POST /{id}/start|stop` and `DELETE /{id}` answers; `instance` is ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusMessage {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<WireInstance>,
}

/// One entry of `GET /health/containers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerHealth {
    #[serde(default)]
    pub service_name: String,
    #[serde(default)]
    pub container_status: String,
    #[serde(default)]
    pub healthy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /health/containers`: the manager's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainersHealth {
    #[serde(default)]
    pub health_checks: Vec<ContainerHealth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<u64>,
}

/// `GET /{id}/environment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub instance_id: String,
    #[serde(default)]
    pub env_vars: Vec<String>,
    #[serde(default)]
    pub message: String,
}

/// `GET /{id}/logs?after=N` (aacon extension): the instance's log the
/// runtime keeps (stderr, MCP log messages, markers), from cursor `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    pub instance_id: String,
    #[serde(default)]
    pub lines: Vec<WireLogLine>,
    /// The cursor for the next read.
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub missed: u64,
    #[serde(default)]
    pub reset: bool,
}

/// A log line: typed, or a bare stderr line (older servers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WireLogLine {
    Typed(crate::platform::LogLine),
    Text(String),
}

impl Logs {
    pub fn from_page(instance_id: String, p: crate::platform::LogPage) -> Logs {
        Logs {
            instance_id,
            lines: p.lines.into_iter().map(WireLogLine::Typed).collect(),
            next: p.next,
            missed: p.missed,
            reset: p.reset,
        }
    }

    /// The page these lines are; a bare line becomes an info stderr line
    /// of unknown time (now) numbered in order.
    pub fn into_page(self) -> crate::platform::LogPage {
        use crate::platform::{LogLevel, LogLine, LogSource};
        let bare = self.lines.iter().all(|l| matches!(l, WireLogLine::Text(_)));
        let n = self.lines.len() as u64;
        let lines = self
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| match l {
                WireLogLine::Typed(l) => l,
                WireLogLine::Text(text) => LogLine {
                    seq: i as u64,
                    at: chrono::Utc::now(),
                    level: LogLevel::guess(&text),
                    source: LogSource::Stderr,
                    logger: None,
                    text,
                },
            })
            .collect();
        crate::platform::LogPage {
            lines,
            // Bare lines have no cursor: each read is the whole tail.
            next: if bare && self.next == 0 { n } else { self.next },
            missed: self.missed,
            reset: self.reset || (bare && self.next == 0),
        }
    }
}

/// `GET /health/probes` (aacon extension): the last probe per running instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probes {
    #[serde(default)]
    pub probes: Vec<crate::domain::Probe>,
}

/// `GET /{id}/hosting` (aacon extension): which replica hosts the
/// instance, where instances are shared by lease (`clustered`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hosting {
    #[serde(default)]
    pub clustered: bool,
    #[serde(default)]
    pub hosted_by: Option<HostedBy>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostedBy {
    pub replica: String,
    pub address: String,
}

impl Hosting {
    /// As the port says it (`None`: not shared by lease).
    pub fn to_port(&self) -> Option<crate::platform::Hosting> {
        self.clustered.then(|| match &self.hosted_by {
            Some(h) => crate::platform::Hosting::By {
                replica: h.replica.clone(),
                address: h.address.clone(),
            },
            None => crate::platform::Hosting::Nobody,
        })
    }
}

/// A discovered tool as `GET /{id}/tools` lists it (MCP's field names).
pub fn tool_to_wire(t: &crate::platform::ToolInfo) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(t.name.clone()));
    if let Some(d) = &t.description {
        m.insert("description".into(), Value::String(d.clone()));
    }
    m.insert("inputSchema".into(), t.input_schema.clone());
    if let Some(a) = &t.annotations {
        m.insert("annotations".into(), a.clone());
    }
    Value::Object(m)
}

/// A tool object from `GET /{id}/tools` (ours, or AgentArea's
/// `available_tools` entries); `None` without a name.
pub fn tool_from_wire(v: &Value) -> Option<crate::platform::ToolInfo> {
    let name = v.get("name").and_then(Value::as_str)?;
    Some(crate::platform::ToolInfo {
        name: name.to_string(),
        description: v
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        input_schema: v
            .get("inputSchema")
            .or_else(|| v.get("input_schema"))
            .or_else(|| v.get("parameters"))
            .cloned()
            .unwrap_or(Value::Null),
        annotations: v.get("annotations").filter(|a| a.is_object()).cloned(),
    })
}

/// The names of a json_spec's environment variables (values never leave):
/// `env_vars` / `environment` as an object or (AgentArea) a list of names.
pub fn env_var_names(spec: &Map<String, Value>) -> Vec<String> {
    let mut names = Vec::new();
    for key in ["env_vars", "environment", "env"] {
        match spec.get(key) {
            Some(Value::Object(m)) => names.extend(m.keys().cloned()),
            Some(Value::Array(a)) => names.extend(a.iter().filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })),
            _ => {}
        }
    }
    names
}

/// The body of an error answer: FastAPI's `{"detail": …}` (a string or a
/// validation list), plus our `issues` for an invalid json_spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub detail: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<WireIssue>>,
}

impl ErrorBody {
    /// The detail as one sentence: a string as it is; a FastAPI validation
    /// list as `loc: msg` items joined.
    pub fn sentence(&self) -> Option<String> {
        match &self.detail {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Array(items) if !items.is_empty() => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| {
                        let loc = i
                            .get("loc")
                            .and_then(Value::as_array)
                            .map(|l| {
                                l.iter()
                                    .map(|p| match p {
                                        Value::String(s) => s.clone(),
                                        other => other.to_string(),
                                    })
                                    .collect::<Vec<_>>()
                                    .join(".")
                            })
                            .unwrap_or_default();
                        let msg = i
                            .get("msg")
                            .and_then(Value::as_str)
                            .unwrap_or("invalid value");
                        if loc.is_empty() {
                            msg.to_string()
                        } else {
                            format!("{loc}: {msg}")
                        }
                    })
                    .collect();
                Some(parts.join("; "))
            }
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// An instance as AgentArea sends it (no extras), for unit tests.
#[cfg(test)]
pub(crate) fn test_instance(name: &str, json_spec: Value) -> Instance {
    WireInstance {
        id: Uuid::new_v4(),
        name: name.into(),
        description: None,
        server_spec_id: None,
        json_spec,
        status: "pending".into(),
        created_at: Some(Utc::now()),
        updated_at: None,
        version: None,
        desired_state: None,
        kind: None,
        status_reason: None,
        aggregate_version: None,
        updated_by: None,
        last_healthy_at: None,
        tool_count: None,
        restarts: None,
    }
    .into_instance()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An instance as compat.md documents AgentArea's answer: naive
    /// datetimes, AgentArea's status words, none of our extras.
    #[test]
    fn agentarea_instance_parses_with_defaults() {
        let raw = json!({
            "id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11",
            "name": "filesystem",
            "description": null,
            "server_spec_id": null,
            "json_spec": {"type": "docker", "image": "mcp/filesystem", "port": 8000},
            "status": "requested",
            "created_at": "2026-11-24T12:21:44.123456",
            "updated_at": "2026-11-24T12:25:00",
            "workspace_id": "ws-1",
            "created_by": "user-7"
        });
        let w: WireInstance = serde_json::from_value(raw).unwrap();
        assert!(!w.is_ours());
        let i = w.into_instance();
        assert_eq!(i.name, "filesystem");
        assert_eq!(i.status, Status::Pending);
        assert_eq!(i.desired_state, DesiredState::Stopped);
        assert_eq!(i.version, 0);
        assert_eq!(i.kind(), ProviderKind::Container);
        assert_eq!(i.updated_at.to_rfc3339(), "2026-11-24T12:25:00+00:00");
        assert_eq!(i.created_at.timestamp_subsec_micros(), 123_456);
    }

    #[test]
    fn free_text_status_is_kept_as_the_reason() {
        let raw = json!({"id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "x",
            "json_spec": {}, "status": "container restarting (3)",
            "created_at": "2026-11-24T12:21:44", "updated_at": "2026-11-24T12:21:44"});
        let i = serde_json::from_value::<WireInstance>(raw)
            .unwrap()
            .into_instance();
        assert_eq!(i.status, Status::Unhealthy);
        assert_eq!(i.status_reason.as_deref(), Some("container restarting (3)"));
        assert_eq!(i.desired_state, DesiredState::Running);
    }

    #[test]
    fn missing_optional_fields_default() {
        let raw = json!({"id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "x"});
        let i = serde_json::from_value::<WireInstance>(raw)
            .unwrap()
            .into_instance();
        assert_eq!(i.status, Status::Pending);
        assert!(i.json_spec.is_empty());
        assert_eq!(i.description, None);
    }

    #[test]
    fn our_instance_round_trips_with_extras() {
        let raw = json!({"id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "x",
            "json_spec": {"command": ["srv"]}, "status": "running",
            "created_at": "2026-11-24T12:21:44Z", "updated_at": "2026-11-24T12:21:45.5Z",
            "version": 3, "desired_state": "running", "aggregate_version": 9, "restarts": 2});
        let i = serde_json::from_value::<WireInstance>(raw)
            .unwrap()
            .into_instance();
        let back = WireInstance::from_instance(&i);
        assert!(back.is_ours());
        let v = serde_json::to_value(&back).unwrap();
        assert_eq!(v["updated_at"], "2026-11-24T12:21:45.500000Z");
        assert_eq!(v["version"], 3);
        assert_eq!(v["kind"], "process");
        let again = serde_json::from_value::<WireInstance>(v)
            .unwrap()
            .into_instance();
        assert_eq!(again, i);
    }

    #[test]
    fn fastapi_validation_list_becomes_one_sentence() {
        let e: ErrorBody = serde_json::from_value(json!({"detail": [
            {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "json_spec"], "msg": "Input should be a valid dictionary", "type": "dict_type"}
        ]}))
        .unwrap();
        assert_eq!(
            e.sentence().unwrap(),
            "body.name: Field required; body.json_spec: Input should be a valid dictionary"
        );
        let e: ErrorBody =
            serde_json::from_value(json!({"detail": "MCP Server Instance not found"})).unwrap();
        assert_eq!(e.sentence().unwrap(), NOT_FOUND_DETAIL);
    }

    #[test]
    fn agentarea_check_answers_become_reports() {
        let local = crate::domain::spec::validate(&json!({"type": "docker", "image": "x"}));
        let ok: CheckResponse = serde_json::from_value(
            json!({"valid": true, "message": "Configuration is valid", "details": {"image": "x"}}),
        )
        .unwrap();
        assert!(ok.into_report(local.clone()).is_valid());
        let bad: CheckResponse = serde_json::from_value(
            json!({"valid": false, "message": "Image not found", "status_code": 400}),
        )
        .unwrap();
        let r = bad.into_report(local);
        assert!(!r.is_valid());
        assert_eq!(r.summary(), "/: the server says: Image not found");
    }

    #[test]
    fn env_var_names_accept_both_shapes_and_never_values() {
        let spec =
            json!({"env_vars": {"API_KEY": "secret_ref_1"}, "environment": ["A", {"name": "B"}]});
        let names = env_var_names(spec.as_object().unwrap());
        assert_eq!(names, vec!["API_KEY", "A", "B"]);
    }

    #[test]
    fn agentarea_action_health_and_environment_answers_parse() {
        let del: StatusMessage = serde_json::from_value(json!({"status": "success"})).unwrap();
        assert_eq!(del.status, "success");
        assert!(del.instance.is_none());
        let start: StatusMessage = serde_json::from_value(
            json!({"status": "success", "message": "Instance start requested"}),
        )
        .unwrap();
        assert_eq!(start.message.as_deref(), Some("Instance start requested"));
        let h: ContainersHealth = serde_json::from_value(json!({
            "health_checks": [{"service_name": "mcp-fs", "container_status": "running",
                               "healthy": true, "response_time_ms": 12, "http_reachable": true}],
            "summary": {"total": 1}
        }))
        .unwrap();
        assert_eq!(h.health_checks[0].service_name, "mcp-fs");
        assert!(h.health_checks[0].healthy);
        let e: Environment = serde_json::from_value(json!({
            "instance_id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11",
            "env_vars": ["API_KEY"], "message": "1 variable"
        }))
        .unwrap();
        assert_eq!(e.env_vars, vec!["API_KEY"]);
    }
}
