//! The detail Logs tab: the instance's last error, a status line (following
//! or paused, the level shown, wrap, the server's level, what was missed,
//! the keys) and the log, newest at the bottom: time, level, source, text.

use super::detail::{shown, spec_secrets};
use super::inert;
use crate::domain::{Instance, Status};
use crate::platform::{LogLevel, LogLine, LogSource};
use crate::tui::app::{App, DetailState};
use crate::tui::keymap::{Action, View};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

fn key(app: &App, a: Action) -> String {
    app.keymap.keys_for(View::Detail, a).join("/")
}

fn level_style(t: &Theme, l: LogLevel) -> Style {
    match l {
        LogLevel::Debug => t.dim,
        LogLevel::Info => t.base,
        LogLevel::Notice => t.ok,
        LogLevel::Warning => t.warning,
        _ => t.error,
    }
}

/// One log line as spans: time, level, source, text (secrets masked,
/// control characters inert; a search hit marked).
fn row<'a>(t: &Theme, l: &LogLine, secrets: &[String], term: Option<&str>) -> Line<'a> {
    let text = inert(&shown(&l.text, secrets));
    let hit = term.is_some_and(|q| crate::tui::app::logs_match(l, q));
    let text_style = if hit {
        t.marked
    } else if l.source == LogSource::Runtime {
        t.title
    } else {
        level_style(t, l.level)
    };
    let source = inert(&l.source_label());
    Line::from(vec![
        Span::styled(format!("{} ", l.at.format("%H:%M:%S%.3f")), t.dim),
        Span::styled(format!("{:<9} ", l.level.as_str()), level_style(t, l.level)),
        Span::styled(format!("{:<8} ", cut(&source, 16)), t.dim),
        Span::styled(
            if l.source == LogSource::Runtime {
                format!("── {text} ──")
            } else {
                text
            },
            text_style,
        ),
    ])
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// Rows `line` takes at `width` when wrapped.
fn rows(line: &Line, width: u16) -> usize {
    line.width().div_ceil(usize::from(width.max(1))).max(1)
}

pub(super) fn render_logs(frame: &mut Frame, app: &App, d: &DetailState, i: &Instance, area: Rect) {
    let t = &app.theme;
    let logs = &d.logs;
    let [head, status, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);
    let last_error = Line::from(vec![
        Span::styled("last error  ", t.dim),
        match &i.status_reason {
            Some(r) if matches!(i.status, Status::Error | Status::Unhealthy) => {
                Span::styled(inert(r), t.error)
            }
            Some(r) => Span::styled(inert(r), t.base),
            None => Span::styled("-", t.dim),
        },
    ]);
    frame.render_widget(Paragraph::new(last_error), head);

    let visible = logs.visible();
    let bottom = logs.bottom(&visible);
    // The status line: where, what is shown, what the server was asked.
    let mut parts: Vec<Span> = Vec::new();
    match (logs.following(), bottom) {
        (true, _) | (false, None) => parts.push(Span::styled("following", t.ok)),
        (false, Some(b)) => {
            let newer = visible.len() - 1 - b;
            parts.push(Span::styled(
                format!(
                    "paused at {}{}",
                    visible[b].at.format("%H:%M:%S"),
                    if newer > 0 {
                        format!(" ({newer} newer below)")
                    } else {
                        String::new()
                    }
                ),
                t.warning,
            ));
        }
    }
    let dot = || Span::styled(" · ", t.dim);
    parts.push(dot());
    parts.push(Span::styled(format!("level ≥ {}", logs.min_level), t.base));
    if logs.wrap {
        parts.push(dot());
        parts.push(Span::styled("wrap", t.base));
    }
    if let Some((level, answer)) = &logs.server_level {
        parts.push(dot());
        parts.push(match answer {
            None => Span::styled(format!("server level {level}: asking…"), t.dim),
            Some(Ok(())) => Span::styled(format!("server logs from {level}"), t.base),
            Some(Err(_)) => Span::styled(format!("server level {level} refused"), t.error),
        });
    }
    if logs.missed > 0 {
        parts.push(dot());
        parts.push(Span::styled(
            format!("{} line(s) missed", logs.missed),
            t.warning,
        ));
    }
    if let Some(q) = &logs.search {
        parts.push(dot());
        parts.push(Span::styled(format!("'{}'", inert(q)), t.marked));
    }
    if let Some(e) = logs.error.as_ref().filter(|_| !logs.lines.is_empty()) {
        parts.push(dot());
        parts.push(Span::styled(inert(&e.to_string()), t.warning));
    }
    // The server is offered a level only when it may take one.
    let set_level = match crate::tui::app::declares_logging(d) {
        Some(false) => String::new(),
        _ => format!(" · {} server level", key(app, Action::SetLogLevel)),
    };
    parts.push(Span::styled(
        format!(
            "   {} follow · {} level · {} wrap · {} search {}/{}{set_level}",
            key(app, Action::Follow),
            key(app, Action::LogLevel),
            key(app, Action::Wrap),
            key(app, Action::Filter),
            key(app, Action::NextMatch),
            key(app, Action::PrevMatch),
        ),
        t.dim,
    ));
    frame.render_widget(Paragraph::new(Line::from(parts)), status);

    let empty = |msg: String, style: Style| Paragraph::new(msg).style(style);
    let Some(bottom) = bottom else {
        let p = if !logs.loaded {
            empty("Loading…".into(), t.dim)
        } else if let Some(e) = &logs.error {
            empty(inert(&e.to_string()), t.warning)
        } else if logs.lines.is_empty() {
            empty(
                "(nothing logged yet: stderr lines, the server's MCP log messages and start, exit and restart markers show here)".into(),
                t.dim,
            )
        } else {
            empty(
                format!(
                    "(no line at or above {}; {} shows more)",
                    logs.min_level,
                    key(app, Action::LogLevel)
                ),
                t.dim,
            )
        };
        frame.render_widget(p.wrap(Wrap { trim: false }), body);
        return;
    };
    let secrets = spec_secrets(i);
    let term = logs.search.as_deref().map(str::to_lowercase);
    // From the bottom line up, as many as fit.
    let room = usize::from(body.height);
    let mut shown_lines: Vec<Line> = Vec::new();
    let mut used = 0;
    for l in visible[..=bottom].iter().rev() {
        let line = row(t, l, &secrets, term.as_deref());
        let need = if logs.wrap {
            rows(&line, body.width)
        } else {
            1
        };
        if used + need > room && !shown_lines.is_empty() {
            break;
        }
        used += need;
        shown_lines.push(line);
    }
    shown_lines.reverse();
    let mut p = Paragraph::new(shown_lines);
    if logs.wrap {
        p = p.wrap(Wrap { trim: false });
        // A first line taller than the room shows its end.
        let over = used.saturating_sub(room);
        p = p.scroll((u16::try_from(over).unwrap_or(u16::MAX), 0));
    }
    frame.render_widget(p, body);
}
