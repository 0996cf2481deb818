//! Fixed, hand-built console state for snapshot tests and screenshots:
//! mixed statuses and kinds at a fixed clock, no platform needed.

use super::app::{App, Msg};
use super::keymap::{Action, Keymap};
use super::theme::Theme;
use crate::domain::{DesiredState, Envelope, Instance, Status};
use crate::platform::{BackendInfo, PlatformEvent, SourceState};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use uuid::Uuid;

/// The fixed clock of every fixture.
pub fn now() -> DateTime<Utc> {
    // Invariant: a valid calendar date.
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A fixture instance.
pub fn instance(n: u128, name: &str, spec: Value, status: Status, age_min: i64) -> Instance {
    let t = now();
    let running = matches!(
        status,
        Status::Running | Status::Unhealthy | Status::Starting
    );
    Instance {
        id: Uuid::from_u128(n),
        name: name.into(),
        description: Some(format!("{name} MCP server")),
        server_spec_id: None,
        json_spec: spec.as_object().cloned().unwrap_or_default(),
        status,
        status_reason: match status {
            Status::Error => Some("exited with code 1: ENOENT mcp-git".into()),
            Status::Unhealthy => Some("health probe timed out after 5s".into()),
            _ => None,
        },
        // Pending: a start was asked for and no host has taken it yet.
        desired_state: if running || matches!(status, Status::Error | Status::Pending) {
            DesiredState::Running
        } else {
            DesiredState::Stopped
        },
        created_at: t - Duration::minutes(age_min),
        updated_at: t - Duration::minutes(age_min / 3 + 1),
        version: 3,
        aggregate_version: 7,
        updated_by: Some("console@bastion:4242".into()),
        last_healthy_at: running.then(|| t - Duration::seconds(4 + (n as i64 % 20))),
        tool_count: running.then_some(3 + (n as u32 % 9)),
        restarts: (n as u32 * 7) % 4,
    }
}

/// Eight instances with every kind and a mix of statuses.
pub fn instances() -> Vec<Instance> {
    vec![
        instance(
            1,
            "filesystem",
            json!({"command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"], "env_vars": {"API_KEY": "secret_ref:fs-key"}}),
            Status::Running,
            3 * 24 * 60,
        ),
        instance(
            2,
            "github",
            json!({"endpoint_url": "https://mcp.github.example/mcp", "headers": {"Authorization": "Bearer ghp_plainTokenValue"}}),
            Status::Unhealthy,
            26 * 60,
        ),
        instance(
            3,
            "git",
            json!({"command": ["uvx", "mcp-git"], "cwd": "/srv/repo"}),
            Status::Error,
            5 * 60,
        ),
        instance(
            4,
            "postgres",
            json!({"type": "docker", "image": "mcp/postgres", "port": 8000, "environment": {"DB_PASSWORD": "hunter2"}}),
            Status::Starting,
            12,
        ),
        instance(
            5,
            "search",
            json!({"type": "url", "endpoint": "https://search.example/mcp"}),
            Status::Running,
            90,
        ),
        instance(
            6,
            "slack",
            json!({"image": "mcp/slack", "port": 8001}),
            Status::Stopped,
            7 * 24 * 60,
        ),
        instance(
            7,
            "memory",
            json!({"command": ["npx", "-y", "@modelcontextprotocol/server-memory"]}),
            Status::Stopping,
            40,
        ),
        instance(
            8,
            "everything",
            json!({"command": ["npx", "-y", "@modelcontextprotocol/server-everything"]}),
            Status::Pending,
            1,
        ),
    ]
}

fn status_event(i: &Instance, prev: Status, next: Status, secs_ago: i64, corr: &str) -> Envelope {
    let mut inst = i.clone();
    inst.status = next;
    inst.aggregate_version += 1 + secs_ago.unsigned_abs() % 5;
    let mut e = if next == Status::Error {
        Envelope::error(
            &inst,
            "exited with code 1: ENOENT mcp-git",
            Some(corr.into()),
        )
    } else {
        Envelope::status_changed(&inst, prev, Some(corr.into()))
    };
    e.event_id = format!("evt-{}-{secs_ago}", i.name);
    e.timestamp = now() - Duration::seconds(secs_ago);
    if let Some(d) = e.data.as_object_mut() {
        d.insert("timestamp".into(), json!(e.timestamp.to_rfc3339()));
    }
    e
}

/// Recent events: status changes with correlation ids, oldest first.
pub fn events(list: &[Instance]) -> Vec<Envelope> {
    let by = |n: usize| &list[n];
    vec![
        status_event(by(0), Status::Starting, Status::Running, 300, "c-7f3a-boot"),
        status_event(by(4), Status::Starting, Status::Running, 240, "c-91d2-boot"),
        status_event(by(2), Status::Starting, Status::Error, 180, "c-0b44-start"),
        status_event(
            by(1),
            Status::Running,
            Status::Unhealthy,
            60,
            "c-5e10-probe",
        ),
        status_event(by(6), Status::Running, Status::Stopping, 30, "c-2a77-stop"),
        status_event(by(3), Status::Pending, Status::Starting, 5, "c-c3f1-start"),
    ]
}

/// The demo console: loaded instances, recent events, a malformed payload,
/// a connected source and a few seconds of event rate.
/// The runtime's last probes of the fixture: running ones answered a few
/// seconds ago, the unhealthy one did not.
pub fn probes(list: &[Instance]) -> Vec<crate::domain::Probe> {
    list.iter()
        .filter(|i| matches!(i.status, Status::Running | Status::Unhealthy))
        .map(|i| {
            let n = i.id.as_u128() as i64;
            let ok = i.status == Status::Running;
            crate::domain::Probe {
                instance_id: i.id,
                at: now() - Duration::seconds(1 + n % 4),
                ok,
                latency_ms: if ok { (2 + n * 7 % 40) as u64 } else { 5000 },
                error: (!ok).then(|| "no answer to tools/list within 5s".to_string()),
                last_ok_at: i.last_healthy_at,
            }
        })
        .collect()
}

pub fn app(theme: Theme, keymap: Keymap) -> App {
    let mut app = App::new(
        theme,
        keymap,
        BackendInfo {
            name: "embedded".into(),
            read_only: false,
        },
        now(),
    );
    let list = instances();
    let evs = events(&list);
    let probes = probes(&list);
    app.load(list);
    app.update(Msg::Probes(Ok(probes)));
    app.update(Msg::RecentEvents(Ok(evs)));
    app.update(Msg::Platform(PlatformEvent::Source(
        SourceState::Connected("redis://127.0.0.1:6379".into()),
    )));
    app.update(Msg::Platform(PlatformEvent::Malformed {
        source: "redis".into(),
        raw: "{\"event_type\": 42".into(),
        error: "EOF while parsing an object at line 1 column 17".into(),
    }));
    let rate = [
        0, 1, 3, 2, 8, 13, 5, 2, 1, 0, 4, 9, 21, 14, 6, 3, 2, 2, 1, 0, 0, 1, 5, 3,
    ];
    for (i, r) in rate.iter().enumerate() {
        let idx = app.rate.len() - rate.len() + i;
        app.rate[idx] = *r;
    }
    app.prepare();
    app.instances.flash.clear();
    app.dirty = false;
    app
}

/// A live status change for `id`, as the platform would push it.
pub fn live_change(i: &Instance, next: Status) -> PlatformEvent {
    let mut e = status_event(i, i.status, next, 0, "c-live");
    e.event_id = format!("evt-live-{}-{}", i.name, next.as_str());
    e.aggregate_version = Some(i.aggregate_version + 100);
    PlatformEvent::Event(Arc::new(e))
}

/// A drawn buffer as text for snapshots: one line per row, trailing blanks
/// trimmed, a wide character once (not followed by its filler cell).
pub fn screen_text(b: &ratatui::buffer::Buffer) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..b.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = b[(x, y)].symbol();
            skip = sym.width().saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The fixture's instances an hour before its clock (for time travel):
/// those created since are not there yet, and the first one by name was
/// still running then.
pub fn an_hour_ago(a: &App) -> crate::domain::replay::Moment {
    let at = now() - Duration::hours(1);
    let mut instances: Vec<Instance> = a
        .projection
        .sorted()
        .into_iter()
        .filter(|i| i.created_at <= at)
        .cloned()
        .collect();
    if let Some(first) = instances.first_mut() {
        first.status = Status::Running;
        first.status_reason = None;
    }
    crate::domain::replay::Moment {
        at,
        instances,
        seq: 42,
        last_event_at: Some(at - Duration::minutes(1)),
        observed: None,
    }
}

/// Open "github" (the fourth row by name) and deliver its history.
pub fn open_github(a: &mut App) {
    for _ in 0..3 {
        a.action(Action::Down);
    }
    a.action(Action::Open);
    let list = instances();
    let id = list[1].id;
    let history = events(&list)
        .into_iter()
        .filter(|e| e.instance_id() == Some(id))
        .collect();
    a.update(Msg::History {
        id,
        result: Ok(history),
    });
}

/// "github" on its Tools tab: two tools listed, `list_issues` called and
/// its result shown (the screenshots' `detail-tools`).
pub fn detail_tools(theme: Theme, keymap: Keymap) -> App {
    let mut a = app(theme, keymap);
    open_github(&mut a);
    for _ in 0..3 {
        a.action(Action::NextTab);
    }
    let id = instances()[1].id;
    a.update(Msg::ToolsLoaded {
        id,
        result: Ok(vec![
            crate::platform::ToolInfo {
                name: "get_me".into(),
                description: Some("Details of the signed-in user".into()),
                input_schema: serde_json::json!({"type": "object", "properties": {}}),
                annotations: Some(serde_json::json!({"readOnlyHint": true})),
            },
            crate::platform::ToolInfo {
                name: "list_issues".into(),
                description: Some("Issues of a repository".into()),
                input_schema: serde_json::json!({
                    "type": "object",
                    "properties": {"repo": {"type": "string"}, "limit": {"type": "integer"}},
                    "required": ["repo"]
                }),
                annotations: Some(serde_json::json!({"readOnlyHint": true})),
            },
        ]),
    });
    a.action(Action::Down);
    a.action(Action::Open);
    a.update(Msg::ToolCalled {
        id,
        result: Ok(crate::platform::ToolCallResult {
            is_error: false,
            text: "3 issues found:\n#12 crash on start\n#15 docs".into(),
            result: serde_json::Value::Null,
        }),
    });
    a
}
