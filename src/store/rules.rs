//! What a store command decides, apart from how a store writes it: the new
//! instance of a create, the instance after a status report, the conflict
//! an update meets. Each adapter writes what these decide; they
//! are the same rules for both stores.

use super::now;
use crate::domain::{DesiredState, Envelope, Instance, NewInstance, Precondition, Status};
use crate::platform::{PlatformError, StatusReport};
use serde_json::{Map, Value};

/// The instance a create makes: pending, desired stopped, version 1.
pub(super) fn new_instance(
    new: &NewInstance,
    json_spec: Map<String, Value>,
    actor: &str,
) -> Instance {
    let now = now();
    Instance {
        id: crate::domain::event::time_ordered_id(),
        name: new.name.clone(),
        description: new.description.clone(),
        server_spec_id: new.server_spec_id.clone(),
        json_spec,
        status: Status::Pending,
        status_reason: None,
        desired_state: DesiredState::Stopped,
        created_at: now,
        updated_at: now,
        version: 1,
        aggregate_version: 1,
        updated_by: Some(actor.to_string()),
        last_healthy_at: None,
        tool_count: None,
        restarts: 0,
    }
}

/// What the runtime observed, applied to `inst` (only `aggregate_version`
/// moves: a status never conflicts with an edit).
pub(super) fn apply_report(inst: &mut Instance, report: &StatusReport) {
    let previous = inst.status;
    if let Some(s) = report.status {
        if !previous.can_transition_to(s) {
            tracing::warn!(from = %previous, to = %s, instance = %inst.name, "status transition outside the lifecycle table");
        }
        inst.status = s;
    }
    if report.error.is_some() {
        inst.status = Status::Error;
    }
    inst.status_reason = report.error.clone().or(report.reason.clone());
    if let Some(t) = report.tool_count {
        inst.tool_count = t;
    }
    if let Some(r) = report.restarts {
        inst.restarts = r;
    }
    if let Some(at) = report.healthy_at {
        inst.last_healthy_at = Some(at);
    }
    if report.healthy_now {
        inst.last_healthy_at = Some(now());
    }
    inst.aggregate_version += 1;
}

/// Whether `expect` no longer holds for `cur`.
pub(super) fn is_stale(cur: &Instance, expect: Option<Precondition>) -> bool {
    match expect {
        None => false,
        Some(Precondition::Version(v)) => v != cur.version,
        Some(Precondition::UpdatedAt(t)) => {
            t.timestamp_micros() != cur.updated_at.timestamp_micros()
        }
    }
}

/// An update's precondition no longer holds: name who changed what
/// (`last`, the instance's latest Updated event) and when.
pub(super) fn conflict(
    cur: &Instance,
    last: Option<Envelope>,
    expect: Option<Precondition>,
) -> PlatformError {
    let fields = last
        .and_then(|e| e.data.get("changed").cloned())
        .and_then(|c| serde_json::from_value::<Vec<String>>(c).ok())
        .filter(|f| !f.is_empty())
        .map(|f| f.join(", "))
        .unwrap_or_else(|| "it".to_string());
    let yours = match expect {
        Some(Precondition::Version(v)) => format!("you had version {v}"),
        Some(Precondition::UpdatedAt(t)) => format!(
            "you had the copy from {}",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        None => "you had an older copy".to_string(),
    };
    PlatformError::Conflict(format!(
        "instance '{}' changed meanwhile: {} changed {} at {} (now version {}; {yours})",
        cur.name,
        cur.updated_by.as_deref().unwrap_or("someone"),
        fields,
        cur.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
        cur.version,
    ))
}
