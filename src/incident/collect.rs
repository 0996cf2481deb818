//! Gathering a bundle from the platform port.

use super::redact::Scrubber;
use super::{Bundle, Entry, IncidentError, Manifest, Source, Subject, Window, files, summary};
use crate::domain::spec::{mask_url_credentials, redact_plain_secrets};
use crate::domain::{Envelope, EventType, Instance};
use crate::platform::profile::Route;
use crate::platform::{LogLine, Platform, PlatformError};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The host's health as `aacon doctor` reports it.
#[derive(Debug, Clone)]
pub struct HostReport {
    pub text: String,
    pub json: Value,
}

/// What to bundle.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: Uuid,
    pub window: Window,
    /// Values no byte of the bundle may hold besides the instance's own
    /// plain secrets: the resolved values of secret references.
    pub secrets: Vec<String>,
    /// Doctor's view of the host, when the caller could take it.
    pub host: Option<HostReport>,
    /// "embedded" or "api".
    pub mode: String,
}

/// The most recent calls asked of the history (it keeps 1 000 per instance by default).
const CALLS_KEPT: usize = 10_000;

/// The instance's log lines as the port gives them (stderr lines, MCP log
/// messages and the runtime's markers, oldest first).
async fn log_lines(p: &dyn Platform, id: Uuid) -> Result<Vec<LogLine>, PlatformError> {
    Ok(p.logs(id, None).await?.lines)
}

/// Redacted by shape: the json_spec's plain secrets, the event data's
/// secret-named fields.
fn redacted_instance(i: &Instance) -> Instance {
    let mut i = i.clone();
    if let Value::Object(spec) = redact_plain_secrets(&Value::Object(i.json_spec)) {
        i.json_spec = spec;
    } else {
        i.json_spec = Default::default();
    }
    i
}

fn redacted_event(e: &Envelope) -> Envelope {
    let mut e = e.clone();
    e.data = redact_plain_secrets(&e.data);
    e
}

fn pretty(v: &impl serde::Serialize) -> String {
    // Serializing plain data (instances, envelopes, JSON values) cannot fail.
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn jsonl<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|v| serde_json::to_string(&v).unwrap_or_default() + "\n")
        .collect()
}

/// The status over time: the window's opening state, each event that
/// reports a status, and the closing state.
fn status_lines(
    window: Window,
    start: Option<&Instance>,
    end: Option<&Instance>,
    events: &[Envelope],
) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(s) = start {
        out.push(json!({"at": window.from, "status": s.status.as_str(), "desired": s.desired_state.as_str(), "reason": s.status_reason, "restarts": s.restarts, "note": "when the window opened"}));
    }
    for e in events {
        let desired = e.data.get("desired_state").cloned().unwrap_or(Value::Null);
        if e.status().is_none() && desired.is_null() {
            continue;
        }
        out.push(json!({
            "at": e.timestamp,
            "status": e.status().map(|s| s.as_str()),
            "previous": e.previous_status().map(|s| s.as_str()),
            "desired": desired,
            "reason": e.data.get("reason").cloned().unwrap_or(Value::Null),
            "restarts": e.data.get("restarts").cloned().unwrap_or(Value::Null),
            "last_healthy_at": e.data.get("last_healthy_at").cloned().unwrap_or(Value::Null),
            "event": e.event_type,
            "event_id": e.event_id,
            "correlation_id": e.correlation_id,
        }));
    }
    if let Some(s) = end {
        out.push(json!({"at": window.to, "status": s.status.as_str(), "desired": s.desired_state.as_str(), "reason": s.status_reason, "restarts": s.restarts, "last_healthy_at": s.last_healthy_at, "note": "when the window closed"}));
    }
    out
}

/// Restarts: the runtime's (a status report whose count went up) and the
/// operator's (a stop and a start under one correlation id).
fn restart_lines(start: Option<&Instance>, events: &[Envelope]) -> Vec<Value> {
    let mut seen = start.map_or(0, |i| u64::from(i.restarts));
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind() {
            Some(EventType::StatusChanged) => {
                if let Some(n) = e.data.get("restarts").and_then(Value::as_u64)
                    && n > seen
                {
                    seen = n;
                    out.push(json!({"at": e.timestamp, "by": "runtime", "restarts": n, "status": e.status().map(|s| s.as_str()), "reason": e.data.get("reason"), "event_id": e.event_id}));
                }
            }
            Some(EventType::Started) if i > 0 => {
                let prev = &events[i - 1];
                if prev.kind() == Some(EventType::Stopped)
                    && e.correlation_id.is_some()
                    && prev.correlation_id == e.correlation_id
                {
                    out.push(json!({"at": e.timestamp, "by": "operator", "correlation_id": e.correlation_id, "event_id": e.event_id}));
                }
            }
            _ => {}
        }
    }
    out
}

/// One version of the json_spec.
struct Version {
    version: Option<u64>,
    at: DateTime<Utc>,
    spec: Value,
    meta: Value,
}

/// The json_spec's versions in the window (the one it opened with, then
/// each Created/Updated event's), as files with a unified diff between
/// each and the one before.
fn spec_history(
    window: Window,
    start: Option<&Instance>,
    end: Option<&Instance>,
    events: &[Envelope],
    out: &mut Vec<(String, String, String)>,
) {
    let mut versions: Vec<Version> = Vec::new();
    if let Some(s) = start {
        versions.push(Version {
            version: Some(s.version),
            at: window.from,
            spec: Value::Object(s.json_spec.clone()),
            meta: json!({"note": "the version in effect when the window opened"}),
        });
    }
    for e in events {
        if !matches!(e.kind(), Some(EventType::Created | EventType::Updated)) {
            continue;
        }
        let Some(spec) = e.data.get("json_spec") else {
            continue;
        };
        versions.push(Version {
            version: e.data.get("version").and_then(Value::as_u64),
            at: e.timestamp,
            spec: spec.clone(),
            meta: json!({
                "event": e.event_type,
                "event_id": e.event_id,
                "correlation_id": e.correlation_id,
                "by": e.data.get("updated_by"),
                "changed": e.data.get("changed"),
            }),
        });
    }
    if versions.is_empty()
        && let Some(s) = end
    {
        versions.push(Version {
            version: Some(s.version),
            at: window.to,
            spec: Value::Object(s.json_spec.clone()),
            meta: json!({"note": "the version as the platform holds it now (no event history)"}),
        });
    }
    let mut index = Vec::new();
    let mut previous: Option<(String, String)> = None;
    for (n, v) in versions.iter().enumerate() {
        let label = v
            .version
            .map_or_else(|| format!("{:02}", n + 1), |x| format!("v{x}"));
        let text = pretty(&redact_plain_secrets(&v.spec));
        let file = format!("{}{label}.json", files::SPEC_DIR);
        let mut diff_file = Value::Null;
        match &previous {
            Some((_, prev_text)) if *prev_text == text => {}
            _ => {
                if let Some((prev_label, prev_text)) = &previous {
                    let name = format!("{}{prev_label}-to-{label}.diff", files::SPEC_DIR);
                    let diff = similar::TextDiff::from_lines(prev_text.as_str(), text.as_str())
                        .unified_diff()
                        .header(prev_label, &label)
                        .to_string();
                    out.push((
                        name.clone(),
                        diff,
                        format!("json_spec diff {prev_label} → {label}"),
                    ));
                    diff_file = Value::String(name);
                }
                out.push((
                    file.clone(),
                    text.clone(),
                    format!("json_spec {label} (secrets redacted)"),
                ));
                previous = Some((label.clone(), text));
            }
        }
        index.push(json!({"version": v.version, "at": v.at, "file": file, "diff": diff_file, "meta": v.meta}));
    }
    out.push((
        files::SPEC_VERSIONS.to_string(),
        jsonl(index),
        "each json_spec version: when, by whom, which fields".into(),
    ));
}

/// Gather the bundle of `req.id` over `req.window` from `p`.
pub async fn collect(p: &dyn Platform, req: Request) -> Result<Bundle, IncidentError> {
    let window = req.window;
    let profile = p.profile().await;
    let has_events = profile.has(Route::EventHistory);
    let mut missing: Vec<String> = Vec::new();
    let now = match p.get(&req.id.to_string()).await {
        Ok(i) => Some(i),
        Err(PlatformError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    // `history`: the state at the window's ends is known, so a replay can
    // show any moment of it. A remote API may list events without it.
    let (start, end, events, history) = if has_events {
        let events = match p.events_between(window.from, window.to, Some(req.id)).await {
            Ok(e) => e,
            Err(PlatformError::Unavailable(why)) => {
                missing.push(format!("its events: {why}"));
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        let find = |m: &crate::domain::replay::Moment| {
            m.instances.iter().find(|i| i.id == req.id).cloned()
        };
        match (p.state_at(window.from).await, p.state_at(window.to).await) {
            (Ok(s), Ok(e)) => (find(&s), find(&e).or_else(|| now.clone()), events, true),
            (Err(PlatformError::Unavailable(why)), _)
            | (_, Err(PlatformError::Unavailable(why))) => {
                missing.push(format!(
                    "the instance as it was when the window opened: {why}; the spec and status are as they are now"
                ));
                (None, now.clone(), events, false)
            }
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        }
    } else {
        missing.push(format!(
            "the event history: {} keeps none for clients, so the spec and status are as they are now, without events, restarts or earlier versions",
            profile.platform_name()
        ));
        (None, now.clone(), Vec::new(), false)
    };
    let Some(subject) = end.as_ref().or(start.as_ref()).or(now.as_ref()).cloned() else {
        return Err(PlatformError::NotFound(format!(
            "no instance with id {} existed from {}",
            req.id,
            window.describe()
        ))
        .into());
    };

    let mut scrub = Scrubber::new(req.secrets.iter().cloned());
    for i in [&start, &end, &now].into_iter().flatten() {
        scrub.add_spec(&Value::Object(i.json_spec.clone()));
    }

    // (path, contents, what it holds)
    let mut out: Vec<(String, String, String)> = Vec::new();
    let start_r = start.as_ref().map(redacted_instance);
    let end_r = end.as_ref().map(redacted_instance);
    let events_r: Vec<Envelope> = events.iter().map(redacted_event).collect();

    let source_name = {
        let name = p.info().name;
        mask_url_credentials(&name, crate::domain::spec::REDACTED).unwrap_or(name)
    };
    let written_by = if req.mode == "embedded" {
        format!(
            "aacon {} from the embedded platform",
            env!("CARGO_PKG_VERSION")
        )
    } else {
        format!(
            "aacon {} from {source_name} ({} mode)",
            env!("CARGO_PKG_VERSION"),
            req.mode
        )
    };

    // Logs, probes, doctor: each said when missing.
    let logs = match log_lines(p, req.id).await {
        Ok(lines) => {
            // The runtime keeps a bounded log: say when it begins after the window does.
            if let Some(first) = lines.first()
                && first.at > req.window.from
            {
                missing.push(format!(
                    "log lines before {}: the runtime keeps only its last {} lines of the instance",
                    first.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    lines.len()
                ));
            }
            let mut text = String::new();
            for l in lines
                .iter()
                .filter(|l| l.at >= req.window.from && l.at <= req.window.to)
            {
                // Serializing plain strings, numbers and times cannot fail.
                text.push_str(&serde_json::to_string(l).unwrap_or_default());
                text.push('\n');
            }
            Some(text)
        }
        Err(e) => {
            missing.push(format!("log lines: {e}"));
            None
        }
    };
    let health = match p.probes().await {
        Ok(list) => Some(match list.into_iter().find(|pr| pr.instance_id == req.id) {
            Some(pr) => {
                json!({"last_probe": pr, "note": "the runtime keeps only the last probe of each instance; the status over time is in status.jsonl"})
            }
            None => {
                json!({"last_probe": null, "note": "no probe: the instance is not running under a runtime host now; the status over time is in status.jsonl"})
            }
        }),
        Err(e) => {
            missing.push(format!("health probes: {e}"));
            None
        }
    };
    // The calls made in the window, oldest first (arguments already redacted
    // by the history; the answers stay in the store: `aacon tools history --call`).
    let calls = match p.history(req.id, CALLS_KEPT).await {
        Ok(mut list) => {
            list.retain(|c| c.at >= req.window.from && c.at <= req.window.to);
            list.reverse();
            let mut text = String::new();
            for c in &list {
                // Serializing plain data cannot fail.
                text.push_str(&serde_json::to_string(c).unwrap_or_default());
                text.push('\n');
            }
            Some(text)
        }
        Err(e) => {
            missing.push(format!("the tool-call history: {e}"));
            None
        }
    };
    if req.host.is_none() {
        missing.push("doctor's view of the host: it could not be taken here".into());
    }

    out.push((
        files::SUMMARY.into(),
        summary::render(&summary::Input {
            name: &subject.name,
            id: req.id,
            from: window.from,
            to: window.to,
            start: start_r.as_ref(),
            start_known: history,
            end: end_r.as_ref(),
            events: &events_r,
            missing: &missing,
            written_by: &written_by,
        }),
        "what happened, in order, in sentences".into(),
    ));
    out.push((
        files::INSTANCE.into(),
        pretty(&end_r.clone().unwrap_or_else(|| redacted_instance(&subject))),
        "the instance when the window closed (secrets redacted)".into(),
    ));
    if history {
        out.push((
            files::START.into(),
            pretty(&start_r),
            "the instance when the window opened (null: it did not exist)".into(),
        ));
    }
    if has_events {
        out.push((
            files::EVENTS.into(),
            jsonl(&events_r),
            "its events in the window, oldest first, with correlation ids".into(),
        ));
        out.push((
            files::RESTARTS.into(),
            jsonl(restart_lines(start_r.as_ref(), &events_r)),
            "restarts by the runtime and by operators".into(),
        ));
    }
    out.push((
        files::STATUS.into(),
        jsonl(status_lines(
            window,
            start_r.as_ref(),
            end_r.as_ref(),
            &events_r,
        )),
        "status and desired state over time".into(),
    ));
    spec_history(
        window,
        start_r.as_ref(),
        end_r.as_ref(),
        &events_r,
        &mut out,
    );
    if let Some(h) = health {
        out.push((
            files::HEALTH.into(),
            pretty(&h),
            "the last health probe".into(),
        ));
    }
    if let Some(c) = calls {
        out.push((
            files::CALLS.into(),
            c,
            "the tool calls, resource reads and prompt gets in the window, oldest first: who, arguments (secrets redacted), duration, outcome and answer size".into(),
        ));
    }
    if let Some(l) = logs {
        out.push((
            files::LOGS.into(),
            l,
            "the log lines in the window: stderr, MCP log messages and the runtime's markers, each with time, level and source".into(),
        ));
    }
    if let Some(h) = &req.host {
        out.push((
            files::DOCTOR_TEXT.into(),
            h.text.clone(),
            "aacon doctor's view of the host".into(),
        ));
        out.push((
            files::DOCTOR_JSON.into(),
            pretty(&h.json),
            "the same as JSON".into(),
        ));
    }

    let mut entries = Vec::new();
    let mut contents = Vec::new();
    for (path, text, holds) in out {
        let bytes = scrub.scrub(&text).into_bytes();
        entries.push(Entry {
            path: path.clone(),
            bytes: bytes.len() as u64,
            sha256: sha256(&bytes),
            holds,
        });
        contents.push((path, bytes));
    }
    let manifest = Manifest {
        format: super::FORMAT.into(),
        aacon_version: env!("CARGO_PKG_VERSION").into(),
        written_at: Utc::now(),
        platform: Source {
            mode: req.mode.clone(),
            name: source_name,
            history,
        },
        instance: Subject {
            id: req.id,
            name: subject.name.clone(),
        },
        window,
        files: entries,
        not_included: missing,
    };
    let manifest_bytes = scrub.scrub(&pretty(&manifest)).into_bytes();
    contents.push((files::MANIFEST.into(), manifest_bytes));
    Ok(Bundle {
        manifest,
        files: contents,
    })
}

pub(super) fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
