//! The elicitation form: who asks and during which call, the server's
//! message, each field (required marked, its kind, description, problem),
//! a secret field masked, and the keys that answer.

use super::{centered, inert};
use crate::tui::app::{App, ElicitForm};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub fn render(frame: &mut Frame, app: &App, f: &ElicitForm, area: Rect) {
    let t = &app.theme;
    let key = |a: Action| app.keymap.first_key(View::Elicit, a);
    let mut lines: Vec<Line> = vec![
        Line::from(Span::styled(
            format!(
                "{} asks during {}:",
                inert(&f.request.instance),
                inert(&f.request.tool)
            ),
            t.dim,
        )),
        Line::from(Span::styled(inert(&f.request.message), t.base)),
        Line::from(""),
    ];
    match &f.fields {
        Err(e) => lines.push(Line::from(Span::styled(
            format!("{e}; decline or cancel"),
            t.error,
        ))),
        Ok(fields) => {
            for (i, field) in fields.iter().enumerate() {
                let focused = i == f.focus;
                let mark = if field.required { "*" } else { " " };
                let cursor = if focused { "▏" } else { "" };
                let style = if focused { t.selected } else { t.base };
                lines.push(Line::from(vec![
                    Span::styled(if focused { "› " } else { "  " }, style),
                    Span::styled(format!("{}{mark}", inert(&field.title)), style),
                    Span::styled(format!(" ({})", inert(&field.hint())), t.dim),
                    Span::styled(": ", t.dim),
                    Span::styled(format!("{}{cursor}", inert(&f.shown(i))), t.base),
                ]));
                if focused && let Some(d) = &field.description {
                    lines.push(Line::from(Span::styled(format!("    {}", inert(d)), t.dim)));
                }
                if let Some((_, why)) = f.problems.iter().find(|(n, _)| *n == i) {
                    lines.push(Line::from(Span::styled(
                        format!("    {}", inert(why)),
                        t.error,
                    )));
                }
            }
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!(
            "{} accept · {} decline · {} cancel · {} next field · {} choose",
            key(Action::Accept),
            key(Action::Decline),
            key(Action::Back),
            key(Action::Down),
            key(Action::Switch),
        ),
        t.dim,
    )));
    // A line or two more for what wraps.
    let h = u16::try_from(lines.len() + 3)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = centered(area, 76, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(" The server asks for input ", t.title)),
        ),
        rect,
    );
}
