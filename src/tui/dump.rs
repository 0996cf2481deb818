//! Dumping the current view's rows to a file (CSV or JSON): every row the
//! view holds (not only the ones on screen), full values and absolute
//! times instead of the screen's "5m".

use super::app::{App, DetailTab, Screen, StreamItem};
use super::views::events::{change_span, instance_name};
use crate::domain::{Envelope, Instance};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// The file format of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// A view's rows as text cells under named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// What the rows are ("instances", "events", "tools of web", …), for
    /// the file name and the toast.
    pub what: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

const INSTANCE_COLUMNS: [&str; 11] = [
    "id",
    "name",
    "kind",
    "status",
    "status_reason",
    "desired_state",
    "tools",
    "restarts",
    "last_healthy_at",
    "created_at",
    "updated_at",
];

fn instance_row(i: &Instance) -> Vec<String> {
    vec![
        i.id.to_string(),
        i.name.clone(),
        i.kind().as_str().to_string(),
        i.status.as_str().to_string(),
        i.status_reason.clone().unwrap_or_default(),
        i.desired_state.as_str().to_string(),
        i.tool_count.map(|n| n.to_string()).unwrap_or_default(),
        i.restarts.to_string(),
        i.last_healthy_at.as_ref().map(time).unwrap_or_default(),
        time(&i.created_at),
        time(&i.updated_at),
    ]
}

const EVENT_COLUMNS: [&str; 6] = [
    "time",
    "type",
    "instance",
    "change",
    "correlation_id",
    "event_id",
];

fn event_row(app: &App, e: &Envelope) -> Vec<String> {
    vec![
        time(&e.timestamp),
        e.event_type.clone(),
        instance_name(app, e).unwrap_or_default(),
        change_span(app, e).content.into_owned(),
        e.correlation_id.clone().unwrap_or_default(),
        e.event_id.clone(),
    ]
}

/// The rows of the view on screen; `None` where a view has none (the
/// editor, the template picker).
pub fn table(app: &App) -> Option<Table> {
    match app.screen() {
        Screen::Instances => Some(Table {
            what: "instances".into(),
            columns: INSTANCE_COLUMNS.to_vec(),
            rows: app
                .instances
                .rows
                .iter()
                .filter_map(|id| app.projection.get(id))
                .map(instance_row)
                .collect(),
        }),
        Screen::Events => Some(Table {
            what: "events".into(),
            columns: EVENT_COLUMNS.to_vec(),
            rows: app
                .stream_rows()
                .into_iter()
                .filter_map(|i| app.events.stream.get(i))
                .map(|it| match it {
                    StreamItem::Event(e) => event_row(app, e),
                    StreamItem::Status(s) => event_row(app, &s.to_envelope()),
                    StreamItem::Malformed {
                        at, source, error, ..
                    } => vec![
                        time(at),
                        "malformed".into(),
                        String::new(),
                        format!("{source}: {error}"),
                        String::new(),
                        String::new(),
                    ],
                })
                .collect(),
        }),
        Screen::Detail(d) => {
            let inst = app.projection.get(&d.id)?;
            let of = |what: &str| format!("{what} of {}", inst.name);
            Some(match d.tab {
                DetailTab::Events => Table {
                    what: of("events"),
                    columns: EVENT_COLUMNS.to_vec(),
                    rows: d.events.iter().map(|e| event_row(app, e)).collect(),
                },
                DetailTab::Tools => Table {
                    what: of("tools"),
                    columns: vec!["name", "description", "input_schema"],
                    rows: match &d.tools.list {
                        Some(Ok(list)) => list
                            .iter()
                            .map(|t| {
                                vec![
                                    t.name.clone(),
                                    t.description.clone().unwrap_or_default(),
                                    t.input_schema.to_string(),
                                ]
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                },
                DetailTab::Logs => Table {
                    what: of("logs"),
                    columns: vec!["time", "level", "source", "text"],
                    rows: d
                        .logs
                        .visible()
                        .into_iter()
                        .map(|l| {
                            vec![
                                l.at.to_rfc3339(),
                                l.level.to_string(),
                                l.source_label(),
                                l.text.clone(),
                            ]
                        })
                        .collect(),
                },
                // Overview and json_spec: the instance's own row (json_spec
                // stays out: copy takes it, masked).
                _ => Table {
                    what: inst.name.clone(),
                    columns: INSTANCE_COLUMNS.to_vec(),
                    rows: vec![instance_row(inst)],
                },
            })
        }
        Screen::Picker(_) | Screen::Editor(_) => None,
    }
}

/// One CSV field (RFC 4180): quoted when it must be; control characters
/// made spaces (a dump shown with `cat` cannot drive the terminal); a
/// leading `=`, `+`, `-` or `@` prefixed with `'` so a spreadsheet does not
/// run it as a formula.
fn csv_field(s: &str) -> String {
    let mut v: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if v.starts_with(['=', '+', '-', '@']) {
        v.insert(0, '\'');
    }
    if v.contains([',', '"']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// The table as file contents.
pub fn render(t: &Table, format: Format) -> String {
    match format {
        Format::Csv => {
            let mut out = String::new();
            let line = |cells: Vec<String>| cells.join(",") + "\r\n";
            out.push_str(&line(t.columns.iter().map(|c| csv_field(c)).collect()));
            for r in &t.rows {
                out.push_str(&line(r.iter().map(|c| csv_field(c)).collect()));
            }
            out
        }
        Format::Json => {
            let rows: Vec<Value> = t
                .rows
                .iter()
                .map(|r| {
                    let m: Map<String, Value> = t
                        .columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| ((*c).to_string(), Value::String(v.clone())))
                        .collect();
                    Value::Object(m)
                })
                .collect();
            // Serialising strings into a Value cannot fail.
            serde_json::to_string_pretty(&Value::Array(rows)).unwrap_or_default() + "\n"
        }
    }
}

/// A file name for a dump: what it holds, when, and the format.
pub fn file_name(t: &Table, format: Format, now: DateTime<Utc>) -> String {
    let what: String = t
        .what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    format!(
        "aacon-{what}-{}.{}",
        now.format("%Y%m%d-%H%M%S%.3f"),
        format.extension()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Table {
        Table {
            what: "tools of web/1".into(),
            columns: vec!["name", "note"],
            rows: vec![
                vec!["a,b".into(), "say \"hi\"".into()],
                vec!["=1+2".into(), "\x1b[31mred".into()],
            ],
        }
    }

    #[test]
    fn csv_quotes_escapes_and_defuses() {
        assert_eq!(
            render(&t(), Format::Csv),
            "name,note\r\n\"a,b\",\"say \"\"hi\"\"\"\r\n'=1+2,\" [31mred\"\r\n"
        );
    }

    #[test]
    fn json_is_one_object_per_row() {
        let v: Value = serde_json::from_str(&render(&t(), Format::Json)).unwrap();
        assert_eq!(v[0]["name"], "a,b");
        assert_eq!(v[1]["note"], "\u{1b}[31mred");
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn file_names_are_safe() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            file_name(&t(), Format::Json, now),
            "aacon-tools-of-web-1-20261125-100000.000.json"
        );
    }
}
