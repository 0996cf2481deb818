//! The elicitation form: who asks and during which call, the server's
//! message, each field (required marked, its kind; the focused one's
//! description, choices and problem), a secret field masked, and the keys
//! that answer. A long form scrolls to keep the focused field in view.

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
    let mut head: Vec<Line> = vec![
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
    // Each field's lines (the focused one says more).
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    match &f.fields {
        Err(e) => head.push(Line::from(Span::styled(
            format!("{e}; decline or cancel"),
            t.error,
        ))),
        Ok(fields) => {
            for (i, field) in fields.iter().enumerate() {
                let focused = i == f.focus;
                let mark = if field.required { "*" } else { "" };
                let cursor = if focused { "▏" } else { "" };
                let style = if focused { t.selected } else { t.base };
                let mut lines = vec![Line::from(vec![
                    Span::styled(if focused { "› " } else { "  " }, style),
                    Span::styled(format!("{}{mark}", inert(&field.title)), style),
                    Span::styled(format!(" ({}): ", field.hint()), t.dim),
                    Span::styled(format!("{}{cursor}", inert(&f.shown(i))), t.base),
                ])];
                if focused {
                    for extra in [field.description.as_deref(), field.options().as_deref()]
                        .into_iter()
                        .flatten()
                    {
                        lines.push(Line::from(Span::styled(
                            format!("    {}", inert(extra)),
                            t.dim,
                        )));
                    }
                }
                if let Some((_, why)) = f.problems.iter().find(|(n, _)| *n == i) {
                    lines.push(Line::from(Span::styled(
                        format!("    {}", inert(why)),
                        t.error,
                    )));
                }
                blocks.push(lines);
            }
        }
    }
    let want = head.len() + blocks.iter().map(Vec::len).sum::<usize>() + 2;
    let h = u16::try_from(want).unwrap_or(u16::MAX).min(area.height);
    let rect = centered(area, 76, h);
    // The fields that fit, from the first one that keeps the focus in view.
    let avail = usize::from(rect.height.saturating_sub(2)).saturating_sub(head.len());
    let total: usize = blocks.iter().map(Vec::len).sum();
    // Room for the "more" lines only when not everything fits.
    let room = if total <= avail {
        avail
    } else {
        avail.saturating_sub(2)
    };
    let mut start = 0;
    while start < f.focus
        && blocks[start..=f.focus.min(blocks.len().saturating_sub(1))]
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            > room
    {
        start += 1;
    }
    let mut lines = head;
    if start > 0 {
        lines.push(Line::from(Span::styled(format!("  ↑ {start} more"), t.dim)));
    }
    let mut used = 0;
    let mut shown_to = start;
    for b in blocks.iter().skip(start) {
        if used + b.len() > room {
            break;
        }
        used += b.len();
        shown_to += 1;
        lines.extend(b.iter().cloned());
    }
    if shown_to < blocks.len() {
        lines.push(Line::from(Span::styled(
            format!("  ↓ {} more", blocks.len() - shown_to),
            t.dim,
        )));
    }
    let keys = format!(
        " {} accept · {} decline · {} cancel · {} next · {} choose ",
        key(Action::Accept),
        key(Action::Decline),
        key(Action::Back),
        key(Action::Down),
        key(Action::Switch),
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(" The server asks for input ", t.title))
                .title_bottom(Span::styled(keys, t.dim)),
        ),
        rect,
    );
}
