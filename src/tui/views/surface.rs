//! The server's identity and ping on the Overview, and the Resources and
//! Prompts tabs: a list on the left, a scrollable, searchable pager (or
//! the prompt's argument form) on the right.

use super::detail::{shown, spec_secrets};
use super::inert;
use crate::domain::Instance;
use crate::tui::app::{App, DetailState, DetailTab, Pager, PromptForm};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use serde_json::Value;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠸", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// At most this many characters of one pager line are drawn.
const LINE_CHARS: usize = 4000;
/// At most this many lines of `instructions` on the Overview.
const INSTRUCTION_LINES: usize = 4;

fn key(app: &App, view: View, a: Action) -> String {
    app.keymap.keys_for(view, a).join("/")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `tools, resources (subscribe, listChanged), prompts`: each capability
/// and the flags it sets.
pub fn capabilities(caps: &Value) -> String {
    let Some(m) = caps.as_object() else {
        return "none declared".into();
    };
    if m.is_empty() {
        return "none declared".into();
    }
    m.iter()
        .map(|(name, v)| {
            let flags: Vec<&str> = v
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(_, f)| f.as_bool() == Some(true))
                        .map(|(k, _)| k.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if flags.is_empty() {
                inert(name)
            } else {
                format!("{} ({})", inert(name), inert(&flags.join(", ")))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Overview's server block: identity from the initialize result and
/// the last ping. Nothing until something was asked.
pub fn identity_lines(app: &App, d: &DetailState) -> Vec<Line<'static>> {
    let t = &app.theme;
    let sp = &d.surface;
    if sp.identity.is_none() && sp.ping.is_none() && !sp.pinging {
        return Vec::new();
    }
    let kv = |k: &str, v: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("{k:<14}"), t.dim),
            Span::styled(v, style),
        ])
    };
    let mut lines = vec![
        Line::from(""),
        Line::from(vec![
            Span::styled("server", t.title),
            Span::styled(
                format!(" · {} pings", key(app, View::Detail, Action::Ping)),
                t.dim,
            ),
        ]),
    ];
    // The ping first: long instructions must not push it off screen.
    let ping = match (&sp.ping, sp.pinging) {
        (_, true) => ("pinging…".to_string(), t.dim),
        (Some((at, Ok(ms))), _) => (format!("{ms} ms at {}", at.format("%H:%M:%S")), t.ok),
        (Some((at, Err(e))), _) => (
            format!(
                "failed at {}: {}",
                at.format("%H:%M:%S"),
                inert(&e.to_string())
            ),
            t.error,
        ),
        (None, _) => (
            format!("not yet ({} pings)", key(app, View::Detail, Action::Ping)),
            t.dim,
        ),
    };
    lines.push(kv("ping", ping.0, ping.1));
    match &sp.identity {
        None => lines.push(kv("identity", "asking…".into(), t.dim)),
        Some(Err(e)) => lines.push(kv("identity", inert(&e.to_string()), t.error)),
        Some(Ok(v)) => {
            let info = v.get("serverInfo").unwrap_or(&Value::Null);
            let mut name = format!("{} {}", inert(s(info, "name")), inert(s(info, "version")));
            if !s(info, "title").is_empty() {
                name.push_str(&format!(" ({})", inert(s(info, "title"))));
            }
            lines.push(kv("name", name.trim().to_string(), t.base));
            lines.push(kv("protocol", inert(s(v, "protocolVersion")), t.base));
            lines.push(kv(
                "capabilities",
                capabilities(v.get("capabilities").unwrap_or(&Value::Null)),
                t.base,
            ));
            let text = s(v, "instructions");
            if text.trim().is_empty() {
                lines.push(kv("instructions", "-".into(), t.dim));
            } else {
                let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
                for (n, l) in all.iter().take(INSTRUCTION_LINES).enumerate() {
                    let label = if n == 0 { "instructions" } else { "" };
                    lines.push(kv(label, inert(l), t.base));
                }
                if all.len() > INSTRUCTION_LINES {
                    lines.push(kv(
                        "",
                        format!("… {} more lines", all.len() - INSTRUCTION_LINES),
                        t.dim,
                    ));
                }
            }
        }
    }
    lines
}

/// A list's lines with the selected one kept in view.
pub(super) fn visible(
    lines: Vec<Line<'static>>,
    selected: usize,
    room: usize,
) -> Vec<Line<'static>> {
    let first = (selected + 1).saturating_sub(room.max(1));
    lines.into_iter().skip(first).collect()
}

pub(super) fn loading_or_error<T, E: std::fmt::Display>(
    frame: &mut Frame,
    app: &App,
    what: &str,
    r: &Option<Result<T, E>>,
    area: Rect,
) -> bool {
    let t = &app.theme;
    match r {
        None => {
            frame.render_widget(
                Paragraph::new(format!("Loading {what}…")).style(t.dim),
                area,
            );
            true
        }
        Some(Err(e)) => {
            frame.render_widget(
                Paragraph::new(format!("Cannot list {what}: {}", inert(&e.to_string())))
                    .style(t.error)
                    .wrap(Wrap { trim: true }),
                area,
            );
            true
        }
        Some(Ok(_)) => false,
    }
}

pub fn render_resources(frame: &mut Frame, app: &App, d: &DetailState, i: &Instance, area: Rect) {
    let t = &app.theme;
    let sp = &d.surface;
    if loading_or_error(frame, app, "resources", &sp.resources, area) {
        return;
    }
    let list: &[Value] = match &sp.resources {
        Some(Ok(l)) => l,
        _ => &[],
    };
    let [list_area, pager_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    let mut rows: Vec<Line<'static>> = Vec::new();
    if list.is_empty() {
        rows.push(Line::from(Span::styled(
            "The server lists no resources.",
            t.dim,
        )));
    }
    for (n, r) in list.iter().enumerate() {
        let uri = s(r, "uri");
        let selected = n == sp.resource;
        let mark = if selected { "›" } else { " " };
        let flag = if sp.is_updated(uri) {
            "●"
        } else if sp.subscribed.contains(uri) {
            "○"
        } else {
            " "
        };
        let name = if s(r, "name").is_empty() {
            uri
        } else {
            s(r, "name")
        };
        rows.push(Line::from(vec![
            Span::styled(
                format!("{mark}{flag} {}", inert(name)),
                if selected { t.selected } else { t.base },
            ),
            Span::styled(format!("  {}", inert(uri)), t.dim),
        ]));
    }
    let room = usize::from(list_area.height).saturating_sub(2);
    let mut lines = visible(rows, sp.resource, room);
    if let Some(Ok(templates)) = &sp.templates
        && !templates.is_empty()
    {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("templates", t.title)));
        for tpl in templates {
            lines.push(Line::from(vec![
                Span::styled(format!("  {}", inert(s(tpl, "uriTemplate"))), t.base),
                Span::styled(format!("  {}", inert(s(tpl, "name"))), t.dim),
            ]));
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::RIGHT | Borders::TOP)
                .border_style(t.border)
                .title(Span::styled(" ● updated  ○ subscribed ", t.dim)),
        ),
        list_area,
    );
    if let Some(uri) = &sp.reading {
        frame.render_widget(
            Paragraph::new(format!(
                "{} reading {}…",
                SPINNER[app.spinner % SPINNER.len()],
                inert(uri)
            ))
            .style(t.dim),
            pager_area,
        );
        return;
    }
    let Some((uri, answer)) = &sp.read else {
        frame.render_widget(
            Paragraph::new(format!(
                "{} reads the selected resource here; {} subscribes to its updates; {} saves a binary one to a file; {} lists again.",
                key(app, View::Detail, Action::Open),
                key(app, View::Detail, Action::Subscribe),
                key(app, View::Detail, Action::SaveBlob),
                key(app, View::Detail, Action::Refresh),
            ))
            .style(t.dim)
            .wrap(Wrap { trim: true }),
            pager_area,
        );
        return;
    };
    let text = sp.pager_text(DetailTab::Resources).unwrap_or_default();
    let (head, style) = match answer {
        Err(_) => (format!("cannot read {}:", inert(uri)), t.error),
        Ok(v) => {
            let binary = !crate::platform::content::read_blobs(v).is_empty();
            let mut h = inert(uri);
            if sp.is_updated(uri) {
                h.push_str(&format!(
                    " · updated since read, {} reads again",
                    key(app, View::Detail, Action::Open)
                ));
            }
            if binary {
                h.push_str(&format!(
                    " · {} saves it to a file",
                    key(app, View::Detail, Action::SaveBlob)
                ));
            }
            (h, t.base)
        }
    };
    pager(
        frame,
        app,
        i,
        &head,
        &text,
        &sp.resource_pager,
        style,
        pager_area,
    );
}

pub fn render_prompts(frame: &mut Frame, app: &App, d: &DetailState, i: &Instance, area: Rect) {
    let t = &app.theme;
    let sp = &d.surface;
    if loading_or_error(frame, app, "prompts", &sp.prompts, area) {
        return;
    }
    let list: &[Value] = match &sp.prompts {
        Some(Ok(l)) => l,
        _ => &[],
    };
    let [list_area, right] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    let mut rows: Vec<Line<'static>> = Vec::new();
    if list.is_empty() {
        rows.push(Line::from(Span::styled(
            "The server lists no prompts.",
            t.dim,
        )));
    }
    for (n, p) in list.iter().enumerate() {
        let selected = n == sp.prompt;
        let args: Vec<String> = p
            .get("arguments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|a| {
                let req = a.get("required").and_then(Value::as_bool) == Some(true);
                format!("{}{}", inert(s(a, "name")), if req { "*" } else { "" })
            })
            .collect();
        rows.push(Line::from(vec![
            Span::styled(
                format!(
                    "{}{}",
                    if selected { "›" } else { " " },
                    inert(s(p, "name"))
                ),
                if selected { t.selected } else { t.base },
            ),
            Span::styled(
                if args.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", args.join(", "))
                },
                t.dim,
            ),
        ]));
    }
    let room = usize::from(list_area.height).saturating_sub(2);
    frame.render_widget(
        Paragraph::new(visible(rows, sp.prompt, room)).block(
            Block::default()
                .borders(Borders::RIGHT | Borders::TOP)
                .border_style(t.border)
                .title(Span::styled(
                    format!(
                        " * required · {} fill and get ",
                        key(app, View::Detail, Action::Open)
                    ),
                    t.dim,
                )),
        ),
        list_area,
    );
    if let Some(form) = &sp.form {
        render_form(frame, app, form, list, right);
        return;
    }
    if sp.getting {
        frame.render_widget(
            Paragraph::new(format!(
                "{} getting the prompt…",
                SPINNER[app.spinner % SPINNER.len()]
            ))
            .style(t.dim),
            right,
        );
        return;
    }
    let Some((name, answer)) = &sp.got else {
        if let Some(p) = list.get(sp.prompt) {
            let mut about = vec![Line::from(Span::styled(inert(s(p, "name")), t.title))];
            for l in s(p, "description").lines() {
                about.push(Line::from(Span::styled(inert(l), t.base)));
            }
            frame.render_widget(Paragraph::new(about).wrap(Wrap { trim: false }), right);
        }
        return;
    };
    let text = sp.pager_text(DetailTab::Prompts).unwrap_or_default();
    let (head, style) = match answer {
        Err(_) => (format!("cannot get prompt {}:", inert(name)), t.error),
        Ok(_) => (format!("prompt {} — messages:", inert(name)), t.base),
    };
    pager(frame, app, i, &head, &text, &sp.prompt_pager, style, right);
}

/// The argument form: one line per argument, the focused one marked.
fn render_form(frame: &mut Frame, app: &App, form: &PromptForm, list: &[Value], area: Rect) {
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(p) = list.iter().find(|p| s(p, "name") == form.prompt) {
        for l in s(p, "description").lines().take(3) {
            lines.push(Line::from(Span::styled(inert(l), t.dim)));
        }
    }
    let w = form
        .fields
        .iter()
        .map(|f| f.name.chars().count() + 1)
        .max()
        .unwrap_or(4);
    for (n, f) in form.fields.iter().enumerate() {
        let focus = n == form.focus;
        let label = format!("{}{}", inert(&f.name), if f.required { "*" } else { "" });
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}{label:<w$} ", if focus { "›" } else { " " }),
                if focus { t.selected } else { t.dim },
            ),
            Span::styled(
                format!("{}{}", inert(&f.value), if focus { "▏" } else { "" }),
                t.base,
            ),
        ]));
        if focus && let Some(desc) = &f.description {
            lines.push(Line::from(Span::styled(
                format!("  {:w$} {}", "", inert(desc)),
                t.dim,
            )));
        }
    }
    if let Some(e) = &form.error {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(inert(&e.to_string()), t.error)));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(
                    format!(
                        " {} · * required · {} get · {} leave ",
                        inert(&form.prompt),
                        key(app, View::Editor, Action::Save),
                        key(app, View::Editor, Action::Back)
                    ),
                    t.title,
                )),
        ),
        area,
    );
}

/// A pager with the instance's secrets masked (see [`paged`]).
#[allow(clippy::too_many_arguments)]
fn pager(
    frame: &mut Frame,
    app: &App,
    i: &Instance,
    head: &str,
    text: &str,
    p: &Pager,
    style: Style,
    area: Rect,
) {
    let body = shown(text, &spec_secrets(i));
    let head = Some((head.to_string(), app.theme.title));
    paged(
        frame,
        app,
        head,
        &body,
        p.scroll,
        p.search.as_deref(),
        style,
        area,
    );
}

/// A head line, then `body` from line `scroll` (each line cut at a
/// screen's worth), lines holding `search` marked; the title says which
/// lines show and the keys that scroll and search.
#[allow(clippy::too_many_arguments)]
pub(super) fn paged(
    frame: &mut Frame,
    app: &App,
    head: Option<(String, Style)>,
    body: &str,
    scroll: usize,
    search: Option<&str>,
    style: Style,
    area: Rect,
) {
    let t = &app.theme;
    let all: Vec<&str> = body.lines().collect();
    let n = all.len();
    let first = scroll.min(n.saturating_sub(1));
    let room = usize::from(area.height).saturating_sub(2);
    let term = search.map(str::to_lowercase);
    let mut lines = Vec::new();
    if let Some((h, hs)) = head {
        lines.push(Line::from(Span::styled(h, hs)));
    }
    for l in all.iter().skip(first).take(room.max(1)) {
        let hit = term
            .as_deref()
            .is_some_and(|q| l.to_lowercase().contains(q));
        let cut: String = inert(l).chars().take(LINE_CHARS).collect();
        lines.push(Line::from(Span::styled(
            cut,
            if hit { t.marked } else { style },
        )));
    }
    let k = |a: Action| key(app, View::Detail, a);
    let range = format!("{}-{}", (first + 1).min(n), (first + room).min(n));
    let title = match search {
        Some(q) => {
            let hits = all
                .iter()
                .filter(|l| l.to_lowercase().contains(&q.to_lowercase()))
                .count();
            format!(
                " {range}/{n} · '{}' {hits} line{} · {} next · {} search ",
                inert(q),
                if hits == 1 { "" } else { "s" },
                k(Action::NextMatch),
                k(Action::Filter),
            )
        }
        None => format!(
            " lines {range} of {n} · {}/{} scroll · {} search ",
            k(Action::PageUp),
            k(Action::PageDown),
            k(Action::Filter),
        ),
    };
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(t.border)
                .title(Span::styled(title, t.dim)),
        ),
        area,
    );
}
