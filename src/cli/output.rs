//! How the CLI prints instances and events: table, json, jsonl.
//!
//! JSON output of an instance uses AgentArea's response field names plus
//! ours (`version`, `desired_state`, `kind`). Plain secret-looking values in
//! json_spec print as `<redacted>` (references print as they are); `apply`
//! puts the stored value back where it finds `<redacted>`.

use super::Output;
use crate::domain::spec::redact_plain_secrets;
use crate::domain::{Envelope, Instance};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
pub struct InstanceJson {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub server_spec_id: Option<String>,
    pub json_spec: Value,
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    pub desired_state: &'static str,
    pub kind: &'static str,
    pub status_reason: Option<String>,
    pub restarts: u32,
    pub tool_count: Option<u32>,
    pub last_healthy_at: Option<DateTime<Utc>>,
}

impl From<&Instance> for InstanceJson {
    fn from(i: &Instance) -> Self {
        InstanceJson {
            id: i.id.to_string(),
            name: i.name.clone(),
            description: i.description.clone(),
            server_spec_id: i.server_spec_id.clone(),
            json_spec: redact_plain_secrets(&Value::Object(i.json_spec.clone())),
            status: i.status.as_str(),
            created_at: i.created_at,
            updated_at: i.updated_at,
            version: i.version,
            desired_state: i.desired_state.as_str(),
            kind: i.kind().as_str(),
            status_reason: i.status_reason.clone(),
            restarts: i.restarts,
            tool_count: i.tool_count,
            last_healthy_at: i.last_healthy_at,
        }
    }
}

fn json_line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn json_pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Terminal-safe text: control characters (ANSI escapes included) and
/// invisible formatting characters shown escaped, so names and values cannot
/// drive or disguise the terminal (the rule of [`crate::domain::text`]).
pub fn inert(s: &str) -> String {
    crate::domain::text::shown(s)
}

pub fn age(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            out.push_str(&c);
            if i + 1 < n {
                out.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push('\n');
    };
    line(headers.iter().map(|h| h.to_string()).collect(), &mut out);
    for r in rows {
        line(r.clone(), &mut out);
    }
    out
}

/// Whether a table shows a version: where the platform keeps them, or
/// where an instance has one (a server that did not say what it keeps).
/// AgentArea keeps none; its `updated` column names the copy.
fn shows_version<'a>(versions: bool, mut list: impl Iterator<Item = &'a Instance>) -> bool {
    versions || list.any(|i| i.version > 0)
}

/// The instances as `fmt` asks, for a platform that keeps versions
/// (`versions`) or not: without them the table has no VERSION column (JSON is unchanged).
pub fn instances_on(list: &[Instance], fmt: Output, versions: bool) -> String {
    let versions = shows_version(versions, list.iter());
    match fmt {
        Output::Json => {
            json_pretty(&list.iter().map(InstanceJson::from).collect::<Vec<_>>()) + "\n"
        }
        Output::Jsonl => list
            .iter()
            .map(|i| json_line(&InstanceJson::from(i)) + "\n")
            .collect(),
        Output::Table => {
            let now = Utc::now();
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|i| {
                    vec![
                        inert(&i.name),
                        i.kind().to_string(),
                        // For people: a never-started instance is stopped.
                        {
                            let st = crate::domain::probe::shown_status(i);
                            format!("{} {}", st.symbol(), st)
                        },
                        i.desired_state.to_string(),
                        i.version.to_string(),
                        age(i.created_at, now),
                        age(i.updated_at, now),
                    ]
                })
                .map(|mut r| {
                    if !versions {
                        r.remove(4);
                    }
                    r
                })
                .collect();
            let mut headers = vec![
                "NAME", "KIND", "STATUS", "DESIRED", "VERSION", "AGE", "UPDATED",
            ];
            if !versions {
                headers.remove(4);
            }
            table(&headers, &rows)
        }
    }
}

pub fn instance(i: &Instance, fmt: Output) -> String {
    instance_on(i, fmt, true)
}

/// [`instance`] for a platform that keeps versions (`versions`) or not:
/// without them the text names no version (its `updated` line names the
/// copy); JSON is unchanged.
pub fn instance_on(i: &Instance, fmt: Output, versions: bool) -> String {
    let versions = shows_version(versions, std::iter::once(i));
    match fmt {
        Output::Json => json_pretty(&InstanceJson::from(i)) + "\n",
        Output::Jsonl => json_line(&InstanceJson::from(i)) + "\n",
        Output::Table => {
            let j = InstanceJson::from(i);
            let mut out = String::new();
            let mut kv = |k: &str, v: String| out.push_str(&format!("{k:<15} {v}\n"));
            kv("name", inert(&j.name));
            kv("id", j.id);
            kv("kind", j.kind.into());
            kv("status", {
                let st = crate::domain::probe::shown_status(i);
                if crate::domain::probe::never_started(i) {
                    format!("{} {st} (never started)", st.symbol())
                } else {
                    format!("{} {}", st.symbol(), j.status)
                }
            });
            if let Some(r) = &j.status_reason {
                kv("reason", inert(r));
            }
            kv("desired", j.desired_state.into());
            if versions {
                kv("version", j.version.to_string());
            }
            kv(
                "description",
                inert(j.description.as_deref().unwrap_or("-")),
            );
            kv(
                "server_spec_id",
                inert(j.server_spec_id.as_deref().unwrap_or("-")),
            );
            kv("created", j.created_at.to_rfc3339());
            kv(
                "updated",
                format!(
                    "{} by {}",
                    j.updated_at.to_rfc3339(),
                    inert(i.updated_by.as_deref().unwrap_or("?"))
                ),
            );
            out.push_str("json_spec:\n");
            for l in json_pretty(&j.json_spec).lines() {
                out.push_str(&format!("  {}\n", inert(l)));
            }
            out
        }
    }
}

/// One event in table form (one line).
pub fn event_row(e: &Envelope) -> String {
    let status = match (e.previous_status(), e.status()) {
        (Some(a), Some(b)) => format!("{a}→{b}"),
        (None, Some(b)) => b.to_string(),
        _ => e.notice_summary().unwrap_or_else(|| "-".into()),
    };
    format!(
        "{}  {:<31}  {:<20}  {:<22}  {}",
        e.timestamp.format("%Y-%m-%d %H:%M:%S%.3f"),
        inert(&e.event_type),
        e.instance_name().map(inert).unwrap_or_else(|| e
            .instance_id()
            .map_or_else(|| "-".to_string(), |id| id.to_string())),
        status,
        inert(e.correlation_id.as_deref().unwrap_or("-")),
    )
}

pub fn event_header() -> String {
    format!(
        "{:<23}  {:<31}  {:<20}  {:<22}  {}",
        "TIME", "TYPE", "INSTANCE", "STATUS", "CORRELATION"
    )
}

pub fn event_line(e: &Envelope, fmt: Output) -> String {
    match fmt {
        Output::Table => event_row(e),
        Output::Json | Output::Jsonl => e.to_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_without_versions_prints_none() {
        let mut i: Instance = serde_json::from_value(serde_json::json!({
            "id": "6f1c1b7e-8d59-4a43-9d6a-0f2f5b7f2a11",
            "name": "web",
            "json_spec": {"image": "mcp/x", "port": 8000},
            "status": "running",
            "desired_state": "running",
            "created_at": "2026-11-25T12:00:00Z",
            "updated_at": "2026-11-25T12:01:03Z",
            "version": 0
        }))
        .unwrap();
        let one = instance_on(&i, Output::Table, false);
        assert!(!one.contains("version"), "{one}");
        assert!(
            one.contains("updated         2026-11-25T12:01:03+00:00"),
            "{one}"
        );
        let list = instances_on(std::slice::from_ref(&i), Output::Table, false);
        assert!(list.starts_with("NAME"), "{list}");
        assert!(!list.contains("VERSION"), "{list}");
        assert_eq!(
            list.lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["NAME", "KIND", "STATUS", "DESIRED", "AGE", "UPDATED"]
        );
        assert_eq!(list.lines().nth(1).unwrap().split_whitespace().count(), 7);
        // JSON keeps the field: `apply -f` reads it back.
        assert!(instance_on(&i, Output::Json, false).contains("\"version\": 0"));
        // Where the platform keeps versions, or an instance has one, it shows.
        assert!(instance_on(&i, Output::Table, true).contains("version         0"));
        i.version = 2;
        assert!(instance_on(&i, Output::Table, false).contains("version         2"));
        assert!(instances_on(&[i], Output::Table, false).contains("VERSION"));
    }

    #[test]
    fn inert_escapes_terminal_control() {
        assert_eq!(inert("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(inert("plain-name"), "plain-name");
    }

    #[test]
    fn ages_read_like_kubectl() {
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::seconds(5), now), "5s");
        assert_eq!(age(now - chrono::Duration::minutes(5), now), "5m");
        assert_eq!(age(now - chrono::Duration::hours(5), now), "5h");
        assert_eq!(age(now - chrono::Duration::days(5), now), "5d");
    }
}
