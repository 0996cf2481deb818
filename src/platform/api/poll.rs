//! Live status without Redis: the list polled with ETags and diffed into events.

use super::*;

/// The events that turn snapshot `old` into `new`, as the poller emits them.
/// Ids are fresh; an instance without our `aggregate_version` gets none, so
/// a projection applies it (polls arrive in order).
pub fn diff(old: &HashMap<Uuid, Instance>, new: &[Instance]) -> Vec<Envelope> {
    let mut out = Vec::new();
    let fix = |mut e: Envelope, i: &Instance| {
        if i.aggregate_version == 0 {
            e.aggregate_version = None;
        }
        e
    };
    for i in new {
        let Some(o) = old.get(&i.id) else {
            out.push(fix(Envelope::created(i, None), i));
            continue;
        };
        let changed = config_changes(o, i);
        if !changed.is_empty() || o.version != i.version || o.updated_at != i.updated_at {
            let mut e = fix(Envelope::updated(i, &changed, None), i);
            e.timestamp = i.updated_at;
            out.push(e);
        }
        if o.desired_state != i.desired_state {
            let e = match i.desired_state {
                crate::domain::DesiredState::Running => Envelope::started(i, None),
                crate::domain::DesiredState::Stopped => Envelope::stopped(i, None),
            };
            out.push(fix(e, i));
        }
        if o.status != i.status
            || o.status_reason != i.status_reason
            || o.tool_count != i.tool_count
            || o.restarts != i.restarts
            || o.last_healthy_at != i.last_healthy_at
        {
            let e = if i.status == Status::Error && o.status != Status::Error {
                Envelope::error(i, i.status_reason.as_deref().unwrap_or("error"), None)
            } else {
                Envelope::status_changed(i, o.status, None)
            };
            out.push(fix(e, i));
        }
    }
    let present: std::collections::HashSet<Uuid> = new.iter().map(|i| i.id).collect();
    for (id, o) in old {
        if !present.contains(id) {
            out.push(fix(Envelope::deleted(o, None), o));
        }
    }
    out
}

/// The configuration fields that differ between `o` and `i`.
pub(super) fn config_changes(o: &Instance, i: &Instance) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if o.name != i.name {
        changed.push("name");
    }
    if o.description != i.description {
        changed.push("description");
    }
    if o.server_spec_id != i.server_spec_id {
        changed.push("server_spec_id");
    }
    if o.json_spec != i.json_spec {
        changed.push("json_spec");
    }
    changed
}

pub(super) async fn poll_loop(inner: Arc<Inner>, tx: broadcast::Sender<PlatformEvent>) {
    let every = inner.poll_interval.max(Duration::from_millis(50));
    let source = format!(
        "polling {} every {}",
        inner.shown,
        if every.as_millis().is_multiple_of(1000) {
            format!("{} s", every.as_secs())
        } else {
            format!("{} ms", every.as_millis())
        }
    );
    let mut snapshot: Option<HashMap<Uuid, Instance>> = None;
    let mut etag: Option<String> = None;
    let mut failures: u32 = 0;
    let mut connected = false;
    loop {
        if tx.receiver_count() == 0 {
            tokio::time::sleep(every).await;
            continue;
        }
        match inner.list_conditional(etag.as_deref()).await {
            Ok(got) => {
                if !connected {
                    let _ = tx.send(PlatformEvent::Source(SourceState::Connected(
                        source.clone(),
                    )));
                    connected = true;
                    failures = 0;
                }
                if let Some((list, tag)) = got {
                    etag = tag;
                    match &snapshot {
                        None => {
                            let _ = tx.send(PlatformEvent::Refresh);
                        }
                        Some(old) => {
                            for e in diff(old, &list) {
                                let _ = tx.send(PlatformEvent::Event(Arc::new(e)));
                            }
                        }
                    }
                    snapshot = Some(list.into_iter().map(|i| (i.id, i)).collect());
                }
                tokio::time::sleep(every).await;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                connected = false;
                if let Some(rec) = &inner.recorder {
                    rec.blind();
                }
                let wait =
                    (every * 2u32.saturating_pow(failures.min(5))).min(Duration::from_secs(30));
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "polling the API failed");
                let _ = tx.send(PlatformEvent::Source(SourceState::Retrying {
                    source: source.clone(),
                    in_secs: wait.as_secs().max(1),
                }));
                tokio::time::sleep(wait).await;
            }
        }
    }
}
