//! PostgreSQL rows as the domain's values (the columns of `schema.rs`).

use crate::domain::{DesiredState, Envelope, Instance, Status};
use crate::platform::history::{CallKind, CallOutcome, CallRecord, Caller};
use serde_json::{Map, Value};
use tokio_postgres::Row;
use uuid::Uuid;

pub const HISTORY_COLUMNS: &str = "seq, instance_id, instance_name, at, caller, kind, name, arguments, redacted, duration_ms, outcome, result_bytes";

/// A row of `INSTANCE_COLUMNS`.
pub fn instance_of(r: &Row) -> Instance {
    let id: String = r.get(0);
    let spec: String = r.get(4);
    let status: String = r.get(5);
    let desired: String = r.get(7);
    Instance {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1),
        description: r.get(2),
        server_spec_id: r.get(3),
        json_spec: serde_json::from_str::<Map<String, Value>>(&spec).unwrap_or_default(),
        status: status.parse().unwrap_or(Status::Error),
        status_reason: r.get(6),
        desired_state: desired.parse().unwrap_or(DesiredState::Stopped),
        created_at: r.get(8),
        updated_at: r.get(9),
        version: r.get::<_, i64>(10).max(0) as u64,
        aggregate_version: r.get::<_, i64>(11).max(0) as u64,
        updated_by: r.get(12),
        last_healthy_at: r.get(13),
        tool_count: r
            .get::<_, Option<i64>>(14)
            .map(|n| n.clamp(0, u32::MAX as i64) as u32),
        restarts: r.get::<_, i64>(15).clamp(0, u32::MAX as i64) as u32,
    }
}

/// An envelope as written; an unreadable one is logged and skipped.
pub fn envelope_of(text: &str) -> Option<Envelope> {
    match serde_json::from_str(text) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable envelope in the event log");
            None
        }
    }
}

/// A row of [`HISTORY_COLUMNS`] (and `result` after them when `with_result`).
pub fn record_of(r: &Row, with_result: bool) -> CallRecord {
    let id: String = r.get(1);
    let caller: String = r.get(4);
    let kind: String = r.get(5);
    let args: String = r.get(7);
    let outcome: String = r.get(10);
    CallRecord {
        id: r.get(0),
        instance_id: Uuid::parse_str(&id).unwrap_or_default(),
        instance_name: r.get(2),
        at: r.get(3),
        caller: serde_json::from_str(&caller).unwrap_or(Caller::Local {
            role: "unknown".into(),
            pid: None,
        }),
        kind: CallKind::parse(&kind).unwrap_or(CallKind::Tool),
        name: r.get(6),
        arguments: serde_json::from_str(&args).unwrap_or_default(),
        redacted: r.get(8),
        duration_ms: r.get::<_, i64>(9).max(0) as u64,
        outcome: serde_json::from_str(&outcome).unwrap_or(CallOutcome::Ok),
        result_bytes: r.get::<_, i64>(11).max(0) as u64,
        result: if with_result { Some(r.get(12)) } else { None },
    }
}
