//! A restart as the runtime host sees it: a `stopped` event for an
//! instance that is desired running again by the time the event arrives
//! (the platform commits the stop and the start together). The running
//! session is stopped (reported under the command's correlation id) and a
//! new one starts once the old one has ended, under the same id. A stop
//! event no newer than the running session (the same event again from
//! Redis, or a backfill) restarts nothing.

use super::{Ctl, Shared, Supervisor, apply, reconcile_one, spawn_supervisor};
use crate::domain::DesiredState;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub(super) async fn on_stopped(
    shared: &Arc<Shared>,
    sups: &Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
    id: Uuid,
    correlation_id: Option<String>,
    event_version: Option<u64>,
) {
    if !shared.hosts(id) {
        // Another replica runs it: only make sure nothing runs here.
        return reconcile_one(shared, sups, id, correlation_id).await;
    }
    let inst = match shared.platform.instance(id).await {
        Ok(i) if i.desired_state == DesiredState::Running => i,
        // Stopped (or gone): an ordinary stop.
        _ => return reconcile_one(shared, sups, id, correlation_id).await,
    };
    let mut map = sups.lock().await;
    let Some(old) = map.remove(&inst.id) else {
        // Nothing ran it here: just start it.
        apply(shared, &mut map, &inst, correlation_id);
        return;
    };
    if event_version.is_none_or(|v| v <= old.since) {
        // A stop this session already outlived (a replay): nothing to do
        // beyond what the state asks.
        map.insert(inst.id, old);
        apply(shared, &mut map, &inst, correlation_id);
        return;
    }
    tracing::info!(instance = %inst.name, correlation_id = ?correlation_id, "restarting");
    let _ = old.ctl.send(Ctl::Stop {
        correlation_id: correlation_id.clone(),
        reason: Some("restart requested".into()),
        report: true,
    });
    spawn_supervisor(shared, &mut map, &inst, correlation_id, Some(old.task));
}
