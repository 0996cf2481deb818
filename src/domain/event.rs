//! Domain events and the envelope they travel in.
//!
//! The envelope is a superset of AgentArea's inner envelope
//! (`event_id`, `timestamp`, `event_type`, `data`), adding `event_version`,
//! `aggregate_id`, `aggregate_version` and `correlation_id`. Every field we
//! add is optional on the way in, so AgentArea's own events decode too.

use super::instance::Instance;
use super::spec::redact_plain_secrets;
use super::status::Status;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use uuid::Uuid;

pub const EVENT_VERSION: &str = "1.0";

/// The type of an event that records notifications a server sent unasked
/// (aacon's own; it changes no state, so it is no [`EventType`]: the
/// projection passes it by, the history shows it).
pub const NOTIFIED: &str = "MCPServerInstanceNotified";

/// The event types of the MCP server instance aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Created,
    Updated,
    Deleted,
    Started,
    Stopped,
    StatusChanged,
    Error,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Created,
        EventType::Updated,
        EventType::Deleted,
        EventType::Started,
        EventType::Stopped,
        EventType::StatusChanged,
        EventType::Error,
    ];

    /// The wire name, which AgentArea also uses as its pub/sub channel.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "MCPServerInstanceCreated",
            EventType::Updated => "MCPServerInstanceUpdated",
            EventType::Deleted => "MCPServerInstanceDeleted",
            EventType::Started => "MCPServerInstanceStarted",
            EventType::Stopped => "MCPServerInstanceStopped",
            EventType::StatusChanged => "MCPServerInstanceStatusChanged",
            EventType::Error => "MCPServerInstanceError",
        }
    }

    /// Short label for narrow columns.
    pub fn short(self) -> &'static str {
        match self {
            EventType::Created => "Created",
            EventType::Updated => "Updated",
            EventType::Deleted => "Deleted",
            EventType::Started => "Started",
            EventType::Stopped => "Stopped",
            EventType::StatusChanged => "StatusChanged",
            EventType::Error => "Error",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event on the wire and in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// A UUID for ours; AgentArea's Go manager uses `evt_…` strings.
    pub event_id: String,
    #[serde(with = "timestamp")]
    pub timestamp: DateTime<Utc>,
    /// The event type name; unknown names are kept as they are.
    pub event_type: String,
    #[serde(default)]
    pub data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// aacon's own note on a foreign event that named no instance: which
    /// one it was traced to and how, or why it could not be. Made only by
    /// this process (never read from the wire); shown in the raw view and
    /// in `events -o jsonl`.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Box<Attribution>>,
}

/// Which instance an event that did not name one is about, as far as aacon
/// could tell (AgentArea's Updated, Started and Stopped carry empty `data`;
/// its Deleted carries only the id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One sentence: how it was traced, or why it could not be.
    pub how: String,
}

impl Envelope {
    pub fn kind(&self) -> Option<EventType> {
        EventType::parse(&self.event_type)
    }

    /// The instance this event is about: `aggregate_id`, else
    /// `data.instance_id`, else the instance aacon traced it to.
    pub fn instance_id(&self) -> Option<Uuid> {
        self.aggregate_id
            .or_else(|| {
                self.data
                    .get("instance_id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
            })
            .or_else(|| self.attribution.as_ref().and_then(|a| a.instance_id))
    }

    pub fn instance_name(&self) -> Option<&str> {
        self.data
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| self.attribution.as_ref().and_then(|a| a.name.as_deref()))
    }

    /// The new status this event reports, if any.
    pub fn status(&self) -> Option<Status> {
        self.data
            .get("status")
            .and_then(Value::as_str)
            .and_then(Status::from_foreign)
    }

    pub fn previous_status(&self) -> Option<Status> {
        self.data
            .get("previous_status")
            .and_then(Value::as_str)
            .and_then(Status::from_foreign)
    }

    pub fn error_text(&self) -> Option<&str> {
        self.data
            .get("error")
            .or_else(|| self.data.get("reason"))
            .and_then(Value::as_str)
    }

    pub fn to_json(&self) -> String {
        // Serializing a struct of strings, numbers and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn new(
        kind: EventType,
        inst: &Instance,
        data: Value,
        correlation_id: Option<String>,
    ) -> Envelope {
        Envelope {
            event_id: time_ordered_id().to_string(),
            timestamp: Utc::now(),
            event_type: kind.as_str().to_string(),
            data,
            event_version: Some(EVENT_VERSION.to_string()),
            aggregate_id: Some(inst.id),
            aggregate_version: Some(inst.aggregate_version),
            correlation_id,
            attribution: None,
        }
    }

    fn instance_fields(inst: &Instance) -> Value {
        json!({
            "instance_id": inst.id.to_string(),
            "name": inst.name,
            "description": inst.description,
            "server_spec_id": inst.server_spec_id,
            "json_spec": redact_plain_secrets(&Value::Object(inst.json_spec.clone())),
            "status": inst.status.as_str(),
            "desired_state": inst.desired_state.as_str(),
            "version": inst.version,
            "updated_by": inst.updated_by,
        })
    }

    /// `inst` is the state after the change (its `aggregate_version` already bumped).
    pub fn created(inst: &Instance, correlation_id: Option<String>) -> Envelope {
        Envelope::new(
            EventType::Created,
            inst,
            Self::instance_fields(inst),
            correlation_id,
        )
    }

    pub fn updated(inst: &Instance, changed: &[&str], correlation_id: Option<String>) -> Envelope {
        let mut data = Self::instance_fields(inst);
        data["changed"] = json!(changed);
        Envelope::new(EventType::Updated, inst, data, correlation_id)
    }

    pub fn deleted(inst: &Instance, correlation_id: Option<String>) -> Envelope {
        let data = json!({"instance_id": inst.id.to_string(), "name": inst.name});
        Envelope::new(EventType::Deleted, inst, data, correlation_id)
    }

    pub fn started(inst: &Instance, correlation_id: Option<String>) -> Envelope {
        let data = json!({"instance_id": inst.id.to_string(), "name": inst.name, "desired_state": "running", "status": inst.status.as_str()});
        Envelope::new(EventType::Started, inst, data, correlation_id)
    }

    pub fn stopped(inst: &Instance, correlation_id: Option<String>) -> Envelope {
        let data = json!({"instance_id": inst.id.to_string(), "name": inst.name, "desired_state": "stopped", "status": inst.status.as_str()});
        Envelope::new(EventType::Stopped, inst, data, correlation_id)
    }

    /// Notifications the server sent unasked (`data`: notification,
    /// subject, count, first_at, last_at, detail); `inst` unchanged.
    pub fn notified(inst: &Instance, data: Value) -> Envelope {
        let mut data = data;
        data["instance_id"] = json!(inst.id.to_string());
        data["name"] = json!(inst.name);
        Envelope {
            event_type: NOTIFIED.to_string(),
            ..Envelope::new(EventType::StatusChanged, inst, data, None)
        }
    }

    /// Whether it records notifications (see [`NOTIFIED`]).
    pub fn is_notice(&self) -> bool {
        self.event_type == NOTIFIED
    }

    /// What a notice event says in a few words: `resources/updated
    /// demo://x ×3`, `progress 7 3/10`; none for other events.
    pub fn notice_summary(&self) -> Option<String> {
        if !self.is_notice() {
            return None;
        }
        let d = &self.data;
        let method = d
            .get("notification")
            .and_then(Value::as_str)
            .unwrap_or("notification");
        let mut s = method
            .strip_prefix("notifications/")
            .unwrap_or(method)
            .to_string();
        if let Some(subject) = d.get("subject").and_then(Value::as_str) {
            s.push(' ');
            s.push_str(subject);
        }
        let detail = d.get("detail");
        if let Some(p) = detail.and_then(|x| x.get("progress")) {
            s.push_str(&format!(" {p}"));
            if let Some(t) = detail.and_then(|x| x.get("total")) {
                s.push_str(&format!("/{t}"));
            }
        }
        if let Some(r) = detail.and_then(|x| x.get("reason")).and_then(Value::as_str) {
            s.push_str(&format!(": {r}"));
        }
        if let Some(n) = d.get("count").and_then(Value::as_u64).filter(|n| *n > 1) {
            s.push_str(&format!(" ×{n}"));
        }
        Some(s)
    }

    /// A status report from the runtime. `inst` carries the new status.
    pub fn status_changed(
        inst: &Instance,
        previous: Status,
        correlation_id: Option<String>,
    ) -> Envelope {
        let data = json!({
            "instance_id": inst.id.to_string(),
            "name": inst.name,
            "status": inst.status.as_str(),
            "previous_status": previous.as_str(),
            "reason": inst.status_reason,
            "tool_count": inst.tool_count,
            "restarts": inst.restarts,
            "last_healthy_at": inst.last_healthy_at.map(|t| t.to_rfc3339()),
            "timestamp": Utc::now().to_rfc3339(),
        });
        Envelope::new(EventType::StatusChanged, inst, data, correlation_id)
    }

    /// An error report; like a status report it carries the whole status
    /// group, so the projection converges whatever the arrival order.
    pub fn error(inst: &Instance, error: &str, correlation_id: Option<String>) -> Envelope {
        let data = json!({
            "instance_id": inst.id.to_string(),
            "name": inst.name,
            "error": error,
            "status": inst.status.as_str(),
            "tool_count": inst.tool_count,
            "restarts": inst.restarts,
            "last_healthy_at": inst.last_healthy_at.map(|t| t.to_rfc3339()),
            "timestamp": Utc::now().to_rfc3339(),
        });
        Envelope::new(EventType::Error, inst, data, correlation_id)
    }
}

/// A new id whose text sorts by the time it was made (a version 7 UUID:
/// milliseconds since the epoch, then 74 random bits). The store's indexes
/// on event and instance ids then grow at their end: the ids a group
/// commit writes share a few index pages instead of dirtying one random
/// page each (every dirty page is written to the WAL and fsynced).
pub fn time_ordered_id() -> Uuid {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let random = Uuid::new_v4().into_bytes();
    let mut tail = [0u8; 10];
    tail.copy_from_slice(&random[6..]);
    uuid::Builder::from_unix_timestamp_millis(millis, &tail).into_uuid()
}

/// Timestamps: we write RFC 3339 UTC; we read RFC 3339 (with or without
/// offset: naive means UTC) and AgentArea's unix-seconds string or number.
pub mod timestamp {
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let v = Value::deserialize(d)?;
        parse_value(&v).ok_or_else(|| serde::de::Error::custom(format!("unreadable timestamp {v}")))
    }

    pub fn parse_value(v: &Value) -> Option<DateTime<Utc>> {
        match v {
            Value::String(s) => parse_str(s),
            Value::Number(n) => n.as_f64().and_then(from_unix),
            _ => None,
        }
    }

    pub fn parse_str(s: &str) -> Option<DateTime<Utc>> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.with_timezone(&Utc));
        }
        if let Ok(n) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
            return Some(Utc.from_utc_datetime(&n));
        }
        if let Ok(n) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f") {
            return Some(Utc.from_utc_datetime(&n));
        }
        s.parse::<f64>().ok().and_then(from_unix)
    }

    fn from_unix(secs: f64) -> Option<DateTime<Utc>> {
        if !secs.is_finite() || !(0.0..4.0e11).contains(&secs) {
            return None;
        }
        let whole = secs.trunc() as i64;
        let nanos = ((secs - secs.trunc()) * 1e9)
            .round()
            .clamp(0.0, 999_999_999.0) as u32;
        Utc.timestamp_opt(whole, nanos).single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_as_text_by_when_they_were_made() {
        let a = time_ordered_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let (b, c) = (time_ordered_id(), time_ordered_id());
        assert_eq!(a.get_version_num(), 7);
        assert!(a.to_string() < b.to_string() && a.to_string() < c.to_string());
        assert_ne!(b, c, "ids made in the same millisecond still differ");
    }

    #[test]
    fn agentarea_api_envelope_decodes_with_unix_string_timestamp() {
        let raw = r#"{"event_id": "10386c45-ecfe-4fc6-b9c2-ca56d2663348", "timestamp": "1795522904.707781", "event_type": "MCPServerInstanceUpdated", "data": {}}"#;
        let e: Envelope = serde_json::from_str(raw).unwrap();
        assert_eq!(e.kind(), Some(EventType::Updated));
        assert_eq!(e.timestamp.timestamp(), 1795522904);
        assert_eq!(e.timestamp.timestamp_subsec_micros(), 707781);
        assert_eq!(e.instance_id(), None);
        assert_eq!(e.aggregate_version, None);
    }

    #[test]
    fn go_manager_envelope_decodes_with_rfc3339_and_foreign_status() {
        let raw = r#"{"event_id": "evt_20261124_122144_ab12cd34", "timestamp": "2026-11-24T12:21:44Z", "event_type": "MCPServerInstanceStatusChanged",
            "data": {"instance_id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "fs", "status": "failed", "error": "boom", "timestamp": "2026-11-24T12:21:44Z"}}"#;
        let e: Envelope = serde_json::from_str(raw).unwrap();
        assert_eq!(e.status(), Some(Status::Error));
        assert_eq!(e.instance_name(), Some("fs"));
        assert_eq!(e.error_text(), Some("boom"));
        assert_eq!(
            e.instance_id().unwrap().to_string(),
            "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11"
        );
    }

    #[test]
    fn naive_timestamps_are_utc() {
        let t = timestamp::parse_str("2026-11-24T12:21:44.5").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T12:21:44.500+00:00");
        assert!(timestamp::parse_str("yesterday").is_none());
        assert!(timestamp::parse_str("NaN").is_none());
    }

    #[test]
    fn our_envelope_round_trips_and_keeps_agentarea_field_names() {
        let e = Envelope {
            event_id: Uuid::new_v4().to_string(),
            timestamp: Utc::now(),
            event_type: EventType::Created.as_str().into(),
            data: json!({"instance_id": "x", "name": "n", "server_spec_id": null, "json_spec": {}}),
            event_version: Some("1.0".into()),
            aggregate_id: Some(Uuid::new_v4()),
            aggregate_version: Some(1),
            correlation_id: Some("c".into()),
            attribution: None,
        };
        let text = e.to_json();
        let v: Value = serde_json::from_str(&text).unwrap();
        for k in [
            "event_id",
            "timestamp",
            "event_type",
            "data",
            "event_version",
            "aggregate_id",
            "aggregate_version",
            "correlation_id",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        let back: Envelope = serde_json::from_str(&text).unwrap();
        // Microsecond precision on the wire.
        assert_eq!(
            back.timestamp.timestamp_micros(),
            e.timestamp.timestamp_micros()
        );
        assert_eq!(back.data, e.data);
        assert_eq!(back.aggregate_id, e.aggregate_id);
    }
}
