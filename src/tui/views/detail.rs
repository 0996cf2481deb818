//! Detail view: overview, masked json_spec, this instance's events, the
//! tools (with a form to call one) and the stderr tail.

use super::events::event_row;
use super::{age, inert};
use crate::domain::Instance;
use crate::domain::probe::{never_started, shown_status};
use crate::domain::spec::redact_plain_secrets;
use crate::tui::app::{App, DetailState, DetailTab, masked_spec};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Tabs, Wrap};
use serde_json::Value;

pub fn render(frame: &mut Frame, app: &App, d: &DetailState, area: Rect) {
    let t = &app.theme;
    let inst = app.projection.get(&d.id);
    let past = app.travel().is_some();
    let gone = if past {
        "(not there then)"
    } else {
        "(deleted)"
    };
    let name = inst.map_or_else(|| gone.to_string(), |i| inert(&i.name));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" {name} "), t.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [tabs_area, body] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
    let idx = DetailTab::ALL.iter().position(|x| *x == d.tab).unwrap_or(0);
    frame.render_widget(
        Tabs::new(DetailTab::ALL.map(|x| x.title()))
            .select(idx)
            .style(t.dim)
            .highlight_style(t.title)
            .block(
                Block::default()
                    .borders(Borders::BOTTOM)
                    .border_style(t.border),
            ),
        tabs_area,
    );
    let Some(i) = inst else {
        frame.render_widget(
            Paragraph::new(if past {
                "This instance did not exist at the moment shown."
            } else {
                "This instance was deleted."
            })
            .style(t.warning),
            body,
        );
        return;
    };
    let text = |s: &str| Paragraph::new(s.to_string()).style(t.base);
    match d.tab {
        DetailTab::Overview => {
            let kv = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<14}"), t.dim),
                    Span::styled(v, t.base),
                ])
            };
            let mut lines = vec![
                kv("name", inert(&i.name)),
                kv("id", i.id.to_string()),
                kv("kind", i.kind().as_str().into()),
                Line::from(vec![
                    Span::styled(format!("{:<14}", "status"), t.dim),
                    Span::styled(
                        format!(
                            "{} {}{}",
                            shown_status(i).symbol(),
                            shown_status(i).as_str(),
                            if never_started(i) {
                                " (never started)"
                            } else {
                                ""
                            }
                        ),
                        t.status(shown_status(i)),
                    ),
                ]),
                kv(
                    "reason",
                    i.status_reason.as_deref().map_or("-".into(), inert),
                ),
                kv("desired", i.desired_state.as_str().into()),
                kv("version", version_line(app, i)),
                kv(
                    "created",
                    format!(
                        "{} ({} ago)",
                        i.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        age(app.now, Some(i.created_at))
                    ),
                ),
                kv(
                    "updated",
                    format!(
                        "{} ({} ago) by {}",
                        i.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        age(app.now, Some(i.updated_at)),
                        i.updated_by.as_deref().map_or("-".into(), inert)
                    ),
                ),
                kv("health", super::health::probe_line(app, i)),
                kv("last healthy", super::health::last_healthy_line(app, i)),
                kv(
                    "tools",
                    i.tool_count.map_or("unknown".into(), |n| n.to_string()),
                ),
                kv("restarts", i.restarts.to_string()),
                kv(
                    "server spec",
                    i.server_spec_id.as_deref().map_or("-".into(), inert),
                ),
                kv(
                    "description",
                    i.description.as_deref().map_or("-".into(), inert),
                ),
            ];
            // Which replica hosts it, where instances are shared by lease
            // (after "desired").
            if let Some(line) = hosting_line(&d.hosting) {
                let (text, style) = line;
                lines.insert(
                    6,
                    Line::from(vec![
                        Span::styled(format!("{:<14}", "hosted by"), t.dim),
                        Span::styled(text, style(t)),
                    ]),
                );
            }
            if app.dup_names.contains(&i.name) {
                lines.insert(
                    1,
                    Line::from(Span::styled(
                        format!(
                            "{:<14}another instance has this name: only the id names this one",
                            ""
                        ),
                        t.warning,
                    )),
                );
            }
            lines.extend(super::surface::identity_lines(app, d));
            let errors: Vec<_> = d
                .events
                .iter()
                .rev()
                .filter_map(|e| e.error_text().map(|x| (e.timestamp, inert(x))))
                .take(3)
                .collect();
            if !errors.is_empty() {
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled("last errors", t.title)));
                for (at, msg) in errors {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", at.format("%H:%M:%S")), t.dim),
                        Span::styled(msg, t.error),
                    ]));
                }
            }
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((d.scroll, 0)),
                body,
            );
        }
        DetailTab::Spec => {
            frame.render_widget(text(&masked_spec(i)).scroll((d.scroll, 0)), body);
        }
        DetailTab::Events => render_events(frame, app, d, body),
        DetailTab::Tools => render_tools(frame, app, d, i, body),
        DetailTab::Logs => super::logs::render_logs(frame, app, d, i, body),
        DetailTab::Resources => super::surface::render_resources(frame, app, d, i, body),
        DetailTab::Prompts => super::surface::render_prompts(frame, app, d, i, body),
        DetailTab::History => super::history::render_history(frame, app, d, body),
    }
}

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠸", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// At most this many characters of a tool result are kept for the pane
/// (it scrolls); the runtime cuts results at 1 MiB.
const RESULT_CHARS: usize = 1_048_576;

/// Plain secret values written in the instance's json_spec (e.g. an API
/// key in env_vars), to mask wherever they show up in output.
pub(super) fn spec_secrets(i: &Instance) -> Vec<String> {
    fn walk(a: &Value, b: &Value, out: &mut Vec<String>) {
        match (a, b) {
            (Value::String(x), Value::String(y)) if x != y && x.len() >= 4 => out.push(x.clone()),
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    if let Some(w) = y.get(k) {
                        walk(v, w, out);
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                for (v, w) in x.iter().zip(y) {
                    walk(v, w, out);
                }
            }
            _ => {}
        }
    }
    let spec = Value::Object(i.json_spec.clone());
    let mut out = Vec::new();
    walk(&spec, &redact_plain_secrets(&spec), &mut out);
    out
}

/// Text for the screen: secrets masked, control characters made inert.
pub(super) fn shown(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_string();
    for s in secrets {
        t = t.replace(s.as_str(), "••••••");
    }
    t
}

fn render_tools(frame: &mut Frame, app: &App, d: &DetailState, i: &Instance, area: Rect) {
    let t = &app.theme;
    let tools = match &d.tools.list {
        None => {
            frame.render_widget(Paragraph::new("Loading tools…").style(t.dim), area);
            return;
        }
        Some(Err(e)) => {
            frame.render_widget(
                Paragraph::new(format!("Cannot list tools: {}", inert(&e.to_string())))
                    .style(t.error)
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        Some(Ok(l)) => l,
    };
    if tools.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No tools known yet: the runtime lists them once the instance runs and answers.",
            )
            .style(t.dim)
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [list_area, form] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    // Names whole (up to what the list can hold), descriptions in the rest.
    let longest = tools
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(4);
    let name_w = u16::try_from(longest + 2)
        .unwrap_or(u16::MAX)
        .min(list_area.width.saturating_sub(2))
        .max(6);
    let rows: Vec<Row> = tools
        .iter()
        .enumerate()
        .map(|(n, tool)| {
            let style = if n == d.tools.selected {
                t.selected
            } else {
                t.base
            };
            let mark = if n == d.tools.selected { "›" } else { " " };
            Row::new(vec![
                format!("{mark}{}", inert(&tool.name)),
                tool.description.as_deref().map_or(String::new(), inert),
            ])
            .style(style)
        })
        .collect();
    frame.render_widget(
        Table::new(rows, [Constraint::Length(name_w), Constraint::Min(0)])
            .header(Row::new(vec![" TOOL", "DESCRIPTION"]).style(t.header))
            .block(
                Block::default()
                    .borders(Borders::RIGHT)
                    .border_style(t.border),
            ),
        list_area,
    );
    let Some(tool) = d.tools.selected_tool() else {
        return;
    };
    let schema = serde_json::to_string_pretty(&tool.input_schema).unwrap_or_default();
    let skeleton = crate::tui::app::args_skeleton(&tool.input_schema);
    // Tall enough for the arguments (being edited, or the skeleton).
    let arg_lines = d
        .tools
        .args
        .as_ref()
        .map_or_else(|| skeleton.lines().count(), |ta| ta.lines().len());
    let editor_h = u16::try_from(arg_lines + 2).unwrap_or(u16::MAX).clamp(3, 8);
    let [schema_area, args_area, result_area] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Length(editor_h),
        Constraint::Min(2),
    ])
    .areas(form);
    // The whole name and description first, then the schema.
    let mut about = vec![Line::from(Span::styled(inert(&tool.name), t.title))];
    if let Some(desc) = &tool.description {
        about.push(Line::from(Span::styled(inert(desc), t.base)));
    }
    if tool.needs_confirmation() {
        about.push(Line::from(Span::styled(
            format!("{} Calls ask first.", tool.confirmation_reason()),
            t.warning,
        )));
    }
    about.push(Line::from(Span::styled("input schema:", t.dim)));
    about.extend(
        inert_lines(&schema)
            .lines()
            .map(|l| Line::from(Span::styled(l.to_string(), t.dim))),
    );
    frame.render_widget(
        Paragraph::new(about).wrap(Wrap { trim: false }),
        schema_area,
    );
    let key = |v: View, a: Action| app.keymap.keys_for(v, a).join("/");
    let args_block = Block::default()
        .borders(Borders::ALL)
        .border_style(if d.tools.args.is_some() {
            t.border_focus
        } else {
            t.border
        })
        .title(Span::styled(
            if d.tools.args.is_some() {
                format!(
                    " arguments · {} call · {} leave ",
                    key(View::Editor, Action::Save),
                    key(View::Editor, Action::Back)
                )
            } else {
                format!(
                    " arguments · {} edit, then {} calls ",
                    key(View::Detail, Action::Open),
                    key(View::Editor, Action::Save)
                )
            },
            t.title,
        ));
    match &d.tools.args {
        Some(ta) => {
            let mut ta = (**ta).clone();
            ta.set_block(args_block);
            ta.set_style(t.base);
            frame.render_widget(&ta, args_area);
        }
        None => frame.render_widget(
            Paragraph::new(skeleton).style(t.dim).block(args_block),
            args_area,
        ),
    }
    render_result(frame, app, d, i, result_area);
}

/// The last call's result: its head line, then the lines from the scroll
/// position (each cut at a screen's worth), search hits marked.
fn render_result(frame: &mut Frame, app: &App, d: &DetailState, i: &Instance, area: Rect) {
    let t = &app.theme;
    let secrets = spec_secrets(i);
    if d.tools.calling {
        let name = d
            .tools
            .selected_tool()
            .map_or(String::new(), |x| inert(&x.name));
        let mut lines = vec![Line::from(Span::styled(
            format!("{} calling {name}…", SPINNER[app.spinner % SPINNER.len()]),
            t.dim,
        ))];
        if let Some(c) = &d.tools.call {
            let cancel = app.keymap.first_key(View::Detail, Action::CancelCall);
            lines.push(Line::from(Span::styled(
                format!(
                    "{}s elapsed · timeout {} · {}",
                    c.elapsed_secs(app.now),
                    crate::tui::app::secs_text(c.timeout_secs),
                    if c.cancelled {
                        "cancelling…".to_string()
                    } else {
                        format!("{cancel} cancels")
                    }
                ),
                t.base,
            )));
            if let Some(p) = &c.progress {
                lines.push(Line::from(Span::styled(
                    format!("progress {}", inert(&p.to_string())),
                    t.ok,
                )));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
        return;
    }
    let (head, body, style) = match &d.tools.result {
        None => return,
        Some(Err(e)) => (
            String::new(),
            inert(&shown(&e.to_string(), &secrets)),
            t.error,
        ),
        Some(Ok(out)) => {
            let mut text: String = out.text.chars().take(RESULT_CHARS).collect();
            // Said first, where it is seen: a cut result's end is off screen.
            let cut = out.text.len() > text.len();
            if cut {
                text.push_str("\n… (truncated)");
            }
            let what = if out.is_error {
                "the tool returned an error"
            } else {
                "result"
            };
            let head = if cut {
                // The size before any cut (the runtime records it).
                let bytes = out
                    .result
                    .get("bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(out.text.len() as u64);
                format!(
                    "{what} (truncated: the first {RESULT_CHARS} characters of {:.1} MB):",
                    bytes as f64 / 1_000_000.0
                )
            } else {
                format!("{what}:")
            };
            (
                head,
                shown(&text, &secrets),
                if out.is_error { t.error } else { t.ok },
            )
        }
    };
    let head = (!head.is_empty()).then_some((head, style));
    let search = d.tools.search.as_deref();
    super::surface::paged(
        frame,
        app,
        head,
        &body,
        d.tools.result_scroll,
        search,
        style,
        area,
    );
}

/// Control characters made inert line by line (newlines kept).
fn inert_lines(s: &str) -> String {
    s.lines().map(inert).collect::<Vec<_>>().join("\n")
}

fn render_events(frame: &mut Frame, app: &App, d: &DetailState, area: Rect) {
    let t = &app.theme;
    if d.events.is_empty() {
        let route = crate::platform::profile::Route::EventHistory;
        let msg = if let Some(p) = app.profile.as_ref().filter(|p| !p.has(route)) {
            p.missing_route(route)
        } else if d.loading {
            "loading events…".to_string()
        } else if let Some(e) = &d.load_error {
            format!("could not read events: {}", inert(&e.to_string()))
        } else {
            "No events for this instance.".to_string()
        };
        frame.render_widget(Paragraph::new(msg).style(t.dim), area);
        return;
    }
    let visible = usize::from(area.height.saturating_sub(1)).max(1);
    let first = (d.selected + 1).saturating_sub(visible);
    let rows = d
        .events
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(n, e)| {
            let cells = event_row(app, e, false, area.width);
            let r = Row::new(cells);
            if n == d.selected {
                r.style(t.selected)
            } else {
                r
            }
        });
    let header = Row::new(["TIME", "TYPE", "CHANGE", "CORRELATION"]).style(t.header);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(13),
                Constraint::Min(10),
                Constraint::Length(if area.width > 60 { 14 } else { 0 }),
            ],
        )
        .header(header)
        .column_spacing(1),
        area,
    );
}

type StyleOf = fn(&crate::tui::theme::Theme) -> ratatui::style::Style;

/// The Overview's "hosted by" line and its style; none where instances are
/// not shared by lease (or not known yet).
fn hosting_line(h: &crate::tui::app::HostingLine) -> Option<(String, StyleOf)> {
    use crate::platform::Hosting;
    match h.known.as_ref()? {
        Ok(None) => None,
        Ok(Some(Hosting::By { replica, address })) => {
            Some((format!("{} ({})", inert(replica), inert(address)), |t| {
                t.base
            }))
        }
        Ok(Some(Hosting::Nobody)) => Some((
            "not hosted (no replica holds its lease right now)".into(),
            |t| t.warning,
        )),
        Err(e) => Some((format!("unknown: {e}"), |t| t.warning)),
    }
}

/// The Overview's version line: the version and event version where the
/// platform keeps them; else that it keeps none (AgentArea), so the
/// `updated` time is what names the copy.
fn version_line(app: &App, i: &crate::domain::Instance) -> String {
    if app.shows_version(i) {
        format!("{} (event version {})", i.version, i.aggregate_version)
    } else {
        format!(
            "none: {} keeps no versions (updated, below, names this copy)",
            app.profile
                .as_ref()
                .map_or("the platform", |p| p.platform_name())
        )
    }
}
