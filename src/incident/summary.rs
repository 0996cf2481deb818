//! `SUMMARY.md`: what happened to one instance over a window, in order,
//! in sentences an operator reads at 3 a.m., written from its events.

use crate::domain::{Envelope, EventType, Instance};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// How far back a runtime restart is counted with the ones before it
/// ("restarted (2nd in 10 min)").
const RESTART_SPAN_MINUTES: i64 = 10;

/// One thing the summary says happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// What the summary is written from.
pub struct Input<'a> {
    pub name: &'a str,
    pub id: uuid::Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The instance when the window opened (`None`: it did not exist yet,
    /// or the platform keeps no history).
    pub start: Option<&'a Instance>,
    /// Whether `start` is known (`false`: the platform could not say).
    pub start_known: bool,
    /// The instance when the window closed (or now).
    pub end: Option<&'a Instance>,
    /// Its events in the window, oldest first.
    pub events: &'a [Envelope],
    /// What the bundle could not hold, one sentence each.
    pub missing: &'a [String],
    /// Who wrote it: "aacon 0.1.0 from the embedded platform".
    pub written_by: &'a str,
}

fn field<'a>(e: &'a Envelope, key: &str) -> Option<&'a str> {
    e.data.get(key).and_then(Value::as_str)
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The events as sentences, oldest first. A stop and a start under one
/// correlation id are one restart; a status report whose restart count
/// went up says the runtime restarted it, and how many times in the last
/// ten minutes.
pub fn lines(start: Option<&Instance>, events: &[Envelope]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut restarts_seen = start.map_or(0, |i| i.restarts);
    let mut runtime_restarts: Vec<DateTime<Utc>> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let e = &events[i];
        let next = events.get(i + 1);
        i += 1;
        let by = field(e, "updated_by").map_or_else(String::new, |b| format!(" by {b}"));
        let text = match e.kind() {
            Some(EventType::Created) => {
                format!("created{by}")
            }
            Some(EventType::Updated) => {
                let changed: Vec<&str> = e
                    .data
                    .get("changed")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let version = e
                    .data
                    .get("version")
                    .and_then(Value::as_u64)
                    .map_or_else(String::new, |v| format!(" (now version {v})"));
                let what = if changed.contains(&"json_spec") {
                    "spec updated"
                } else {
                    "updated"
                };
                if changed.is_empty() {
                    format!("{what}{by}{version}")
                } else {
                    format!("{what}{by}: fields {}{version}", changed.join(", "))
                }
            }
            Some(EventType::Stopped)
                if next.is_some_and(|n| {
                    n.kind() == Some(EventType::Started)
                        && n.correlation_id.is_some()
                        && n.correlation_id == e.correlation_id
                }) =>
            {
                i += 1;
                "restart asked (a stop and a start as one operation)".to_string()
            }
            Some(EventType::Stopped) => "stop asked".to_string(),
            Some(EventType::Started) => "start asked".to_string(),
            Some(EventType::Deleted) => "deleted".to_string(),
            Some(EventType::Error) => match e.error_text() {
                Some(t) => format!("error: {t}"),
                None => "error".to_string(),
            },
            Some(EventType::StatusChanged) => {
                let status = e.status().map_or("an unknown status", |s| s.as_str());
                let reason = field(e, "reason")
                    .filter(|r| !r.is_empty())
                    .map_or_else(String::new, |r| format!(" ({r})"));
                let restarts = e
                    .data
                    .get("restarts")
                    .and_then(Value::as_u64)
                    .map(|n| n as u32);
                match restarts {
                    Some(n) if n > restarts_seen => {
                        restarts_seen = n;
                        let span = Duration::minutes(RESTART_SPAN_MINUTES);
                        runtime_restarts.retain(|t| e.timestamp - *t < span);
                        runtime_restarts.push(e.timestamp);
                        format!(
                            "restarted by the runtime ({} in {RESTART_SPAN_MINUTES} min), now {status}{reason}",
                            ordinal(runtime_restarts.len())
                        )
                    }
                    _ => format!("{status}{reason}"),
                }
            }
            None => format!("event {}", crate::domain::text::shown(&e.event_type)),
        };
        out.push(Line {
            at: e.timestamp,
            text,
        });
    }
    out
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn status_of(i: Option<&Instance>) -> String {
    match i {
        Some(i) => format!(
            "{} (desired {})",
            i.status.as_str(),
            i.desired_state.as_str()
        ),
        None => "did not exist".to_string(),
    }
}

/// The whole `SUMMARY.md`.
pub fn render(input: &Input) -> String {
    let name = crate::domain::text::shown(input.name);
    let mut s = format!("# Incident: {name}\n\n");
    s.push_str(&format!(
        "Instance {} ({}), from {} to {}. Written by {}. Times are UTC.\n\n",
        name,
        input.id,
        stamp(input.from),
        stamp(input.to),
        input.written_by
    ));
    s.push_str("## What happened\n\n");
    let opening = if input.start_known {
        status_of(input.start)
    } else {
        "its state then is not known".to_string()
    };
    s.push_str(&format!(
        "- {} window opens: {opening}\n",
        clock(input.from)
    ));
    let lines = lines(input.start, input.events);
    for l in &lines {
        s.push_str(&format!("- {} {}\n", clock(l.at), l.text));
    }
    if input.events.is_empty() {
        s.push_str("- no event in the window\n");
    }
    s.push_str(&format!(
        "- {} window closes: {}\n\n",
        clock(input.to),
        status_of(input.end)
    ));
    let runtime = lines
        .iter()
        .filter(|l| l.text.starts_with("restarted by the runtime"))
        .count() as u32;
    let asked = lines
        .iter()
        .filter(|l| l.text.starts_with("restart asked"))
        .count();
    let versions = |i: Option<&Instance>| i.map(|i| i.version);
    s.push_str("## At a glance\n\n");
    s.push_str(&format!(
        "- {} in the window; {}, {asked} asked by an operator\n",
        plural(input.events.len() as u64, "event"),
        plural(u64::from(runtime), "runtime restart")
    ));
    match (versions(input.start), versions(input.end)) {
        (Some(a), Some(b)) if a != b => {
            s.push_str(&format!(
                "- configuration version {a} → {b} (spec-history/ holds each version and the diffs)\n"
            ));
        }
        (Some(_), Some(b)) => s.push_str(&format!("- configuration version {b} throughout\n")),
        (None, Some(b)) => s.push_str(&format!(
            "- configuration version {b} when the window closed\n"
        )),
        _ => {}
    }
    if !input.missing.is_empty() {
        s.push_str("\n## Not in this bundle\n\n");
        for m in input.missing {
            s.push_str(&format!("- {m}\n"));
        }
    }
    s.push_str("\nMANIFEST.json lists every file with its size and SHA-256. Open the bundle read-only with `aacon --replay FILE`.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DesiredState, Status};
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-12-06T{s}Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ev(kind: EventType, at: &str, data: Value, corr: Option<&str>) -> Envelope {
        Envelope {
            event_id: uuid::Uuid::new_v4().to_string(),
            timestamp: t(at),
            event_type: kind.as_str().into(),
            data,
            event_version: None,
            aggregate_id: None,
            aggregate_version: None,
            correlation_id: corr.map(str::to_string),
            attribution: None,
        }
    }

    fn inst(status: Status, restarts: u32, version: u64) -> Instance {
        Instance {
            id: uuid::Uuid::nil(),
            name: "web".into(),
            description: None,
            server_spec_id: None,
            json_spec: Default::default(),
            status,
            status_reason: None,
            desired_state: DesiredState::Running,
            created_at: t("00:00:00"),
            updated_at: t("00:00:00"),
            version,
            aggregate_version: 1,
            updated_by: None,
            last_healthy_at: None,
            tool_count: None,
            restarts,
        }
    }

    #[test]
    fn events_become_sentences_in_order() {
        let start = inst(Status::Running, 0, 1);
        let events = vec![
            ev(
                EventType::StatusChanged,
                "03:12:04",
                json!({"status": "stopped", "reason": "exit 1", "restarts": 0}),
                None,
            ),
            ev(
                EventType::StatusChanged,
                "03:12:06",
                json!({"status": "running", "restarts": 1}),
                None,
            ),
            ev(
                EventType::StatusChanged,
                "03:14:00",
                json!({"status": "running", "restarts": 2}),
                None,
            ),
            ev(
                EventType::Updated,
                "03:15:00",
                json!({"changed": ["json_spec", "description"], "updated_by": "cli", "version": 2}),
                None,
            ),
            ev(EventType::Stopped, "03:16:00", json!({}), Some("c1")),
            ev(EventType::Started, "03:16:00", json!({}), Some("c1")),
            ev(EventType::Stopped, "03:17:00", json!({}), Some("c2")),
        ];
        let got: Vec<String> = lines(Some(&start), &events)
            .into_iter()
            .map(|l| format!("{} {}", clock(l.at), l.text))
            .collect();
        assert_eq!(
            got,
            vec![
                "03:12:04 stopped (exit 1)",
                "03:12:06 restarted by the runtime (1st in 10 min), now running",
                "03:14:00 restarted by the runtime (2nd in 10 min), now running",
                "03:15:00 spec updated by cli: fields json_spec, description (now version 2)",
                "03:16:00 restart asked (a stop and a start as one operation)",
                "03:17:00 stop asked",
            ]
        );
    }

    #[test]
    fn restarts_further_apart_than_ten_minutes_count_afresh() {
        let events = vec![
            ev(
                EventType::StatusChanged,
                "01:00:00",
                json!({"status": "running", "restarts": 1}),
                None,
            ),
            ev(
                EventType::StatusChanged,
                "01:30:00",
                json!({"status": "running", "restarts": 2}),
                None,
            ),
        ];
        let got = lines(None, &events);
        assert!(got[1].text.contains("1st in 10 min"), "{}", got[1].text);
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(23), "23rd");
    }

    #[test]
    fn the_summary_opens_and_closes_the_window_and_names_what_is_missing() {
        let start = inst(Status::Running, 0, 1);
        let end = inst(Status::Error, 1, 2);
        let events = vec![ev(
            EventType::StatusChanged,
            "03:12:04",
            json!({"status": "error", "reason": "exit 1", "restarts": 1}),
            None,
        )];
        let missing = vec!["the tool-call history".to_string()];
        let text = render(&Input {
            name: "web",
            id: uuid::Uuid::nil(),
            from: t("03:00:00"),
            to: t("04:00:00"),
            start: Some(&start),
            start_known: true,
            end: Some(&end),
            events: &events,
            missing: &missing,
            written_by: "aacon test",
        });
        let open = text.find("03:00:00 window opens: running").unwrap();
        let event = text.find("03:12:04 restarted by the runtime").unwrap();
        let close = text.find("04:00:00 window closes: error").unwrap();
        assert!(open < event && event < close, "{text}");
        assert!(text.contains("1 runtime restart, 0 asked"), "{text}");
        assert!(text.contains("configuration version 1 → 2"), "{text}");
        assert!(text.contains("## Not in this bundle\n\n- the tool-call history"));
    }
}
