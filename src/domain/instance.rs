//! The MCP server instance aggregate and the rules on its fields.

use super::event::Envelope;
use super::spec::ProviderKind;
use super::status::{DesiredState, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Largest json_spec accepted, serialized (1 MiB).
pub const MAX_SPEC_BYTES: usize = 1024 * 1024;
/// Largest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 4096;

/// An MCP server instance as the platform holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub server_spec_id: Option<String>,
    pub json_spec: Map<String, Value>,
    pub status: Status,
    /// Free-text reason for the current status (an error, a probe failure).
    #[serde(default)]
    pub status_reason: Option<String>,
    pub desired_state: DesiredState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Configuration version for optimistic concurrency: bumped by create and update.
    pub version: u64,
    /// Bumped by every event of this aggregate (status changes included).
    #[serde(default)]
    pub aggregate_version: u64,
    /// Who made the last configuration change ("cli", "console", "serve", with host and pid).
    #[serde(default)]
    pub updated_by: Option<String>,
    /// Time of the last good health probe.
    #[serde(default)]
    pub last_healthy_at: Option<DateTime<Utc>>,
    /// Number of tools the runtime discovered, when known.
    #[serde(default)]
    pub tool_count: Option<u32>,
    /// How often the runtime restarted it.
    #[serde(default)]
    pub restarts: u32,
}

impl Instance {
    pub fn kind(&self) -> ProviderKind {
        ProviderKind::detect(&self.json_spec)
    }

    pub fn id_string(&self) -> String {
        self.id.to_string()
    }

    /// What a change to this copy expects of the stored one: see
    /// [`Precondition::for_copy`].
    pub fn precondition(&self) -> Precondition {
        Precondition::for_copy(self.version, Some(self.updated_at))
    }
}

/// Check an instance name: 1-63 chars, lowercase letters, digits and `-`,
/// starting and ending with a letter or digit (a DNS label), because
/// runtimes use names as service names.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let shown: String = name
        .chars()
        .take(40)
        .map(crate::domain::text::shown_char)
        .collect();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > 63 {
        return Err(NameError::TooLong {
            shown,
            chars: name.chars().count(),
        });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(NameError::BadChar {
            shown,
            bad: crate::domain::text::shown_char(bad),
        });
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(NameError::Dash { shown });
    }
    Ok(())
}

const NAME_RULE: &str = "names are 1-63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit";

/// Why an instance name is refused (one sentence, with the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty; {NAME_RULE}")]
    Empty,
    #[error("the name '{shown}…' is {chars} characters long; {NAME_RULE}")]
    TooLong { shown: String, chars: usize },
    #[error("the name '{shown}' contains '{bad}'; {NAME_RULE}")]
    BadChar { shown: String, bad: String },
    #[error("the name '{shown}' starts or ends with '-'; {NAME_RULE}")]
    Dash { shown: String },
}

/// Why a json_spec value is refused before its rules are checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("json_spec must be a JSON object, not an array")]
    Array,
    #[error("json_spec must be a JSON object, not null")]
    Null,
    #[error("json_spec must be a JSON object")]
    NotObject,
    #[error("json_spec is {} KiB; the limit is {} KiB", .0 / 1024, MAX_SPEC_BYTES / 1024)]
    TooBig(usize),
}

/// Check a json_spec value's shape and size before anything else looks at it.
pub fn check_spec_shape(spec: &Value) -> Result<&Map<String, Value>, ShapeError> {
    let obj = match spec {
        Value::Object(map) => map,
        Value::Array(_) => return Err(ShapeError::Array),
        Value::Null => return Err(ShapeError::Null),
        _ => return Err(ShapeError::NotObject),
    };
    let size = serde_json::to_vec(spec)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_SPEC_BYTES {
        return Err(ShapeError::TooBig(size));
    }
    Ok(obj)
}

/// A request to create an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewInstance {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub server_spec_id: Option<String>,
    pub json_spec: Value,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstancePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_spec_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_spec: Option<Value>,
}

impl Instance {
    /// Whether some runtime must act on it: it should run, or its status
    /// says a process may still be up (a host that died before stopping
    /// it). Instances shared by lease are offered for lease exactly then.
    pub fn wants_a_host(&self) -> bool {
        self.desired_state == DesiredState::Running
            || matches!(
                self.status,
                Status::Starting | Status::Running | Status::Unhealthy | Status::Stopping
            )
    }

    /// Apply `patch` as `actor` at `at`: the instance as it becomes (both
    /// versions bumped) and the `Updated` event naming what changed. The
    /// json_spec's shape is checked here; its rules, the name's rule and
    /// whether the name is free are the caller's to check first.
    pub fn apply(
        &self,
        patch: &InstancePatch,
        actor: &str,
        at: DateTime<Utc>,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope), ShapeError> {
        let changed = patch.changed_fields(self);
        let mut inst = self.clone();
        if let Some(n) = &patch.name {
            inst.name = n.clone();
        }
        if let Some(d) = &patch.description {
            inst.description = d.clone();
        }
        if let Some(s) = &patch.server_spec_id {
            inst.server_spec_id = s.clone();
        }
        if let Some(s) = &patch.json_spec {
            inst.json_spec = check_spec_shape(s)?.clone();
        }
        inst.version += 1;
        inst.aggregate_version += 1;
        inst.updated_at = at;
        inst.updated_by = Some(actor.to_string());
        let env = Envelope::updated(&inst, &changed, correlation_id);
        Ok((inst, env))
    }
}

impl InstancePatch {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.server_spec_id.is_none()
            && self.json_spec.is_none()
    }

    /// Names of the fields this patch would change on `current`.
    pub fn changed_fields(&self, current: &Instance) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.name.as_ref().is_some_and(|n| *n != current.name) {
            out.push("name");
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| *d != current.description)
        {
            out.push("description");
        }
        if self
            .server_spec_id
            .as_ref()
            .is_some_and(|d| *d != current.server_spec_id)
        {
            out.push("server_spec_id");
        }
        if self
            .json_spec
            .as_ref()
            .is_some_and(|s| s.as_object() != Some(&current.json_spec))
        {
            out.push("json_spec");
        }
        out
    }
}

/// What the caller believes the instance looks like, for optimistic concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Our own platforms: the configuration version.
    Version(u64),
    /// AgentArea's API has no version: compare `updated_at`.
    UpdatedAt(DateTime<Utc>),
}

impl Precondition {
    /// The precondition for a copy read at `version` and `updated_at`: its
    /// version, or its `updated_at` where the platform keeps no versions (a
    /// real AgentArea reads as version 0).
    pub fn for_copy(version: u64, updated_at: Option<DateTime<Utc>>) -> Precondition {
        match (version, updated_at) {
            (0, Some(at)) => Precondition::UpdatedAt(at),
            _ => Precondition::Version(version),
        }
    }
}

/// The document `aacon instances apply -f` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceDocument {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub server_spec_id: Option<String>,
    pub json_spec: Value,
    /// Fields the server owns, as `get -o json` prints them: `id` names the
    /// instance to update, `version`/`updated_at` are the precondition, and
    /// the rest is accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
    pub status: Option<Value>,
    #[serde(default, skip_serializing)]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing)]
    pub desired_state: Option<Value>,
    #[serde(default, skip_serializing)]
    pub kind: Option<Value>,
    #[serde(default, skip_serializing)]
    pub status_reason: Option<Value>,
    #[serde(default, skip_serializing)]
    pub restarts: Option<Value>,
    #[serde(default, skip_serializing)]
    pub tool_count: Option<Value>,
    #[serde(default, skip_serializing)]
    pub last_healthy_at: Option<Value>,
    #[serde(default, skip_serializing)]
    pub aggregate_version: Option<Value>,
    #[serde(default, skip_serializing)]
    pub updated_by: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_takes_what_get_prints_and_still_refuses_typos() {
        let printed = serde_json::json!({
            "id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "name": "web", "description": null,
            "server_spec_id": null, "json_spec": {"image": "x", "port": 80}, "status": "running",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01.5Z",
            "version": 3, "desired_state": "running", "kind": "container", "status_reason": null,
            "restarts": 0, "tool_count": null, "last_healthy_at": null
        });
        let d: InstanceDocument = serde_json::from_value(printed).unwrap();
        assert_eq!(d.version, Some(3));
        assert!(d.id.is_some() && d.updated_at.is_some());
        let typo = serde_json::json!({"nme": "web", "name": "web", "json_spec": {}});
        let e = serde_json::from_value::<InstanceDocument>(typo).unwrap_err();
        assert!(e.to_string().contains("unknown field `nme`"), "{e}");
    }

    #[test]
    fn good_names_pass() {
        for n in ["a", "web-1", "fs", "x".repeat(63).as_str(), "0abc"] {
            assert_eq!(validate_name(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn bad_names_say_what_is_allowed() {
        for n in [
            "",
            "Web",
            "a_b",
            "-a",
            "a-",
            "a;rm -rf /",
            "ü",
            &"x".repeat(64),
        ] {
            let err = validate_name(n).unwrap_err().to_string();
            assert!(
                err.contains("lowercase letters, digits and '-'"),
                "{n}: {err}"
            );
        }
        assert!(
            validate_name("a;rm -rf")
                .unwrap_err()
                .to_string()
                .contains("contains ';'")
        );
    }

    #[test]
    fn spec_must_be_an_object_of_bounded_size() {
        assert!(
            check_spec_shape(&serde_json::json!([1]))
                .unwrap_err()
                .to_string()
                .contains("not an array")
        );
        assert!(check_spec_shape(&Value::Null).is_err());
        let big = serde_json::json!({"x": "a".repeat(MAX_SPEC_BYTES + 1)});
        assert!(
            check_spec_shape(&big)
                .unwrap_err()
                .to_string()
                .contains("the limit is 1024 KiB")
        );
        assert!(check_spec_shape(&serde_json::json!({"command": ["x"]})).is_ok());
    }

    #[test]
    fn a_patch_applies_as_the_next_version_and_names_what_changed() {
        let t0 = chrono::Utc::now();
        let cur = Instance {
            id: Uuid::new_v4(),
            name: "web".into(),
            description: Some("old".into()),
            server_spec_id: None,
            json_spec: Map::new(),
            status: Status::Stopped,
            status_reason: None,
            desired_state: DesiredState::Stopped,
            created_at: t0,
            updated_at: t0,
            version: 3,
            aggregate_version: 7,
            updated_by: None,
            last_healthy_at: None,
            tool_count: None,
            restarts: 0,
        };
        let patch = InstancePatch {
            name: Some("web".into()),
            description: Some(None),
            ..Default::default()
        };
        let at = t0 + chrono::Duration::seconds(1);
        let (next, env) = cur
            .apply(&patch, "cli@h pid 1", at, Some("c-1".into()))
            .unwrap();
        assert_eq!((next.version, next.aggregate_version), (4, 8));
        assert_eq!(next.description, None);
        assert_eq!(
            (next.updated_at, next.updated_by.as_deref()),
            (at, Some("cli@h pid 1"))
        );
        assert_eq!(env.aggregate_version, Some(8));
        assert_eq!(env.correlation_id.as_deref(), Some("c-1"));
        // The unchanged name is not named as changed.
        assert_eq!(env.data["changed"], serde_json::json!(["description"]));
        let bad = InstancePatch {
            json_spec: Some(serde_json::json!([1])),
            ..Default::default()
        };
        assert_eq!(
            cur.apply(&bad, "x", at, None).unwrap_err(),
            ShapeError::Array
        );
    }
}
