//! What changed between a past moment and now, instance by instance: the
//! status, the desired state, restarts, names and every json_spec field
//! (by JSON pointer, secrets masked). Time travel's "changes since" view.

use super::projection::Projection;
use super::spec::mask_secrets;
use super::{DesiredState, Instance, Status};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use uuid::Uuid;

/// One difference of one instance between then and now.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// It did not exist then.
    Created {
        status: Status,
    },
    /// It existed then and is gone now.
    Deleted {
        status: Status,
    },
    Renamed {
        from: String,
        to: String,
    },
    Status {
        from: Status,
        to: Status,
    },
    Desired {
        from: DesiredState,
        to: DesiredState,
    },
    Restarts {
        from: u32,
        to: u32,
    },
    Description,
    SpecId {
        from: Option<String>,
        to: Option<String>,
    },
    /// A json_spec field (`None`: absent), values with secrets masked.
    Spec {
        pointer: String,
        from: Option<Value>,
        to: Option<Value>,
    },
}

/// Longest value shown for a json_spec field, in characters.
const VALUE_CHARS: usize = 60;

fn shown(v: &Option<Value>) -> String {
    let Some(v) = v else {
        return "(absent)".into();
    };
    let text = v.to_string();
    if text.chars().count() <= VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(VALUE_CHARS - 1).collect();
    format!("{cut}…")
}

fn or_none(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("none")
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Created { status } => write!(f, "created since (now {status})"),
            Change::Deleted { status } => write!(f, "deleted since (was {status})"),
            Change::Renamed { from, to } => write!(f, "renamed: {from} → {to}"),
            Change::Status { from, to } => write!(f, "status: {from} → {to}"),
            Change::Desired { from, to } => write!(f, "desired: {from} → {to}"),
            Change::Restarts { from, to } => {
                write!(f, "restarts: {from} → {to} (+{})", to.saturating_sub(*from))
            }
            Change::Description => f.write_str("description changed"),
            Change::SpecId { from, to } => {
                write!(f, "server_spec_id: {} → {}", or_none(from), or_none(to))
            }
            Change::Spec { pointer, from, to } => {
                write!(f, "json_spec {pointer}: {} → {}", shown(from), shown(to))
            }
        }
    }
}

/// The changes of one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceChanges {
    pub id: Uuid,
    /// Its name now (or when it was deleted).
    pub name: String,
    pub changes: Vec<Change>,
}

/// Every instance that differs between `then` and `now` and that `keep`
/// accepts (then or now), with what differs, by name. Unchanged ones are
/// left out.
pub fn changes_since(
    then: &Projection,
    now: &Projection,
    keep: impl Fn(&Instance) -> bool,
) -> Vec<InstanceChanges> {
    let ids: BTreeSet<Uuid> = then
        .instances()
        .chain(now.instances())
        .map(|i| i.id)
        .collect();
    let mut out: Vec<InstanceChanges> = ids
        .into_iter()
        .filter_map(|id| {
            let (a, b) = (then.get(&id), now.get(&id));
            if !a.is_some_and(&keep) && !b.is_some_and(&keep) {
                return None;
            }
            let (name, changes) = match (a, b) {
                (None, Some(b)) => (b.name.clone(), vec![Change::Created { status: b.status }]),
                (Some(a), None) => (a.name.clone(), vec![Change::Deleted { status: a.status }]),
                (Some(a), Some(b)) => (b.name.clone(), between(a, b)),
                (None, None) => return None,
            };
            (!changes.is_empty()).then_some(InstanceChanges { id, name, changes })
        })
        .collect();
    out.sort_by(|x, y| x.name.cmp(&y.name).then(x.id.cmp(&y.id)));
    out
}

/// What differs between two states of one instance.
fn between(a: &Instance, b: &Instance) -> Vec<Change> {
    let mut out = Vec::new();
    if a.name != b.name {
        out.push(Change::Renamed {
            from: a.name.clone(),
            to: b.name.clone(),
        });
    }
    if a.status != b.status {
        out.push(Change::Status {
            from: a.status,
            to: b.status,
        });
    }
    if a.desired_state != b.desired_state {
        out.push(Change::Desired {
            from: a.desired_state,
            to: b.desired_state,
        });
    }
    if a.restarts != b.restarts {
        out.push(Change::Restarts {
            from: a.restarts,
            to: b.restarts,
        });
    }
    if a.description != b.description {
        out.push(Change::Description);
    }
    if a.server_spec_id != b.server_spec_id {
        out.push(Change::SpecId {
            from: a.server_spec_id.clone(),
            to: b.server_spec_id.clone(),
        });
    }
    // Masked copies only for the specs that differ: the key runs on the UI
    // thread, over every instance of the fleet.
    if a.json_spec != b.json_spec {
        let then = mask_secrets(&Value::Object(a.json_spec.clone()));
        let now = mask_secrets(&Value::Object(b.json_spec.clone()));
        spec_diff(String::new(), Some(&then), Some(&now), &mut out);
    }
    out
}

/// `~` and `/` escaped for a JSON pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every field where `a` and `b` differ, by JSON pointer: objects key by
/// key, arrays index by index, anything else as a whole.
fn spec_diff(pointer: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Change>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                spec_diff(format!("{pointer}/{}", escape(k)), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                spec_diff(format!("{pointer}/{i}"), x.get(i), y.get(i), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Change::Spec {
            pointer: if pointer.is_empty() {
                "/".into()
            } else {
                pointer
            },
            from: a.cloned(),
            to: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn inst(name: &str, status: Status, spec: Value) -> Instance {
        let t = Utc.with_ymd_and_hms(2026, 12, 6, 3, 12, 0).unwrap();
        Instance {
            // A stable id per name (a hash of its bytes).
            id: Uuid::from_u128(name.bytes().fold(1u128, |h, b| {
                h.wrapping_mul(257).wrapping_add(u128::from(b))
            })),
            name: name.into(),
            description: None,
            server_spec_id: None,
            json_spec: spec.as_object().cloned().unwrap_or_default(),
            status,
            status_reason: None,
            desired_state: DesiredState::Running,
            created_at: t,
            updated_at: t,
            version: 1,
            aggregate_version: 1,
            updated_by: None,
            last_healthy_at: None,
            tool_count: None,
            restarts: 0,
        }
    }

    fn proj(list: Vec<Instance>) -> Projection {
        let mut p = Projection::new();
        p.seed(list);
        p
    }

    #[test]
    fn status_desired_restarts_and_spec_fields_are_named_and_the_unchanged_left_out() {
        let spec = json!({"command": ["srv", "--port", "1"], "env_vars": {"API_KEY": "sk-live-1234567890abcdef", "LOG": "info"}});
        let web = inst("web", Status::Running, spec.clone());
        let quiet = inst("quiet", Status::Running, json!({"command": ["q"]}));
        let mut web_now = web.clone();
        web_now.status = Status::Error;
        web_now.desired_state = DesiredState::Stopped;
        web_now.restarts = 3;
        web_now.json_spec = json!({"command": ["srv", "--port", "2"], "env_vars": {"API_KEY": "sk-live-abcdef1234567890", "LOG": "debug", "NEW": "1"}})
            .as_object()
            .cloned()
            .unwrap();
        let then = proj(vec![web, quiet.clone()]);
        let now = proj(vec![web_now, quiet]);
        let got = changes_since(&then, &now, |_| true);
        assert_eq!(got.len(), 1, "{got:?}");
        let lines: Vec<String> = got[0].changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(got[0].name, "web");
        assert_eq!(
            lines,
            [
                "status: running → error",
                "desired: running → stopped",
                "restarts: 0 → 3 (+3)",
                "json_spec /command/2: \"1\" → \"2\"",
                "json_spec /env_vars/LOG: \"info\" → \"debug\"",
                "json_spec /env_vars/NEW: (absent) → \"1\"",
            ]
        );
        // The secret changed, but what the screen shows of it is the mask
        // on both sides, so nothing of it is shown (not even that it moved).
        assert!(!lines.join("\n").contains("sk-live"), "{lines:?}");
    }

    #[test]
    fn created_deleted_and_renamed_instances_and_the_filter() {
        let old = inst("old", Status::Stopped, json!({}));
        let new = inst("new", Status::Starting, json!({}));
        let a = inst("a", Status::Running, json!({"url": "x/y"}));
        let mut b = a.clone();
        b.name = "b".into();
        b.json_spec = json!({"url": "x/z", "a/b~c": 1})
            .as_object()
            .cloned()
            .unwrap();
        let then = proj(vec![old, a]);
        let now = proj(vec![new, b]);
        let got = changes_since(&then, &now, |_| true);
        let text: Vec<(String, Vec<String>)> = got
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.changes.iter().map(|x| x.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(
            text,
            [
                (
                    "b".to_string(),
                    vec![
                        "renamed: a → b".to_string(),
                        "json_spec /a~1b~0c: (absent) → 1".to_string(),
                        "json_spec /url: \"x/y\" → \"x/z\"".to_string(),
                    ]
                ),
                (
                    "new".to_string(),
                    vec!["created since (now starting)".to_string()]
                ),
                (
                    "old".to_string(),
                    vec!["deleted since (was stopped)".to_string()]
                ),
            ]
        );
        // The filter keeps an instance that matches then or now.
        let only_a = changes_since(&then, &now, |i| i.name == "a");
        assert_eq!(only_a.len(), 1);
        assert_eq!(only_a[0].name, "b");
        assert!(changes_since(&then, &then, |_| true).is_empty());
    }

    #[test]
    fn a_long_value_is_cut() {
        let long = "x".repeat(200);
        let c = Change::Spec {
            pointer: "/k".into(),
            from: None,
            to: Some(json!(long)),
        };
        let s = c.to_string();
        assert!(s.ends_with('…'), "{s}");
        assert!(s.chars().count() < 100, "{s}");
    }
}
