//! Confirmation dialog for destructive actions: names what is affected.

use super::{centered, inert};
use crate::tui::app::{App, Confirm};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub fn render(frame: &mut Frame, app: &App, c: &Confirm, area: Rect) {
    let t = &app.theme;
    // Rows as wrapped in the box (a long tool name wraps), so the answers
    // always show.
    let inner = usize::from(centered(area, 60, 1).width.saturating_sub(2)).max(1);
    let rows: usize = c
        .lines
        .iter()
        .map(|l| inert(l).chars().count().div_ceil(inner).max(1))
        .sum();
    let rows = rows.max(c.lines.len() + 1);
    let h = (u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(4)).min(area.height);
    let rect = centered(area, 60, h);
    frame.render_widget(Clear, rect);
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(inert(l), t.base)))
        .collect();
    lines.push(Line::from(""));
    let (yes, no) = if c.yes_focused {
        (t.selected, t.dim)
    } else {
        (t.dim, t.selected)
    };
    // The first key of each answer, from the keymap's [confirm].
    let first = |a: Action| match app.keymap.first_key(View::Confirm, a) {
        k if k.is_empty() => k,
        k => format!("[{k}] "),
    };
    lines.push(Line::from(vec![
        Span::styled(format!(" {}Yes ", first(Action::Yes)), yes),
        Span::raw("   "),
        Span::styled(format!(" {}No ", first(Action::Back)), no),
    ]));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.error)
                .title(Span::styled(format!(" {} ", inert(&c.title)), t.error)),
        ),
        rect,
    );
}
