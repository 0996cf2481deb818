//! The History tab: an instance's recorded calls, newest first — when,
//! who, what, how long, how it ended, how big — with the keys to show one
//! in full and to re-run it.

use super::inert;
use super::surface::{loading_or_error, visible};
use crate::tui::app::{App, DetailState};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Columns: when, who, what, took, outcome, size.
const WHEN: usize = 8;
const WHO: usize = 18;
const TOOK: usize = 8;
const OUTCOME: usize = 11;
const SIZE: usize = 9;

fn cut(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        format!("{s:<w$}")
    } else {
        format!(
            "{}…",
            s.chars().take(w.saturating_sub(1)).collect::<String>()
        )
    }
}

pub fn render_history(frame: &mut Frame, app: &App, d: &DetailState, area: Rect) {
    let t = &app.theme;
    let h = &d.calls;
    if loading_or_error(frame, app, "the call history", &h.list, area) {
        return;
    }
    let [hint_area, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let key = |a: Action| app.keymap.keys_for(View::Detail, a).join("/");
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!(
                "{} shows a call in full · {} re-runs it (asks first unless the tool is read-only) · newest first",
                key(Action::Open),
                key(Action::Rerun)
            ),
            t.dim,
        ))),
        hint_area,
    );
    let rows = h.rows();
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No calls recorded yet: tool calls, resource reads and prompt gets from the console, the CLI and serve show up here.",
                t.dim,
            )),
            table_area,
        );
        return;
    }
    let width = usize::from(table_area.width);
    let what_w = width
        .saturating_sub(2 + WHEN + WHO + TOOK + OUTCOME + SIZE + 6)
        .max(8);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "  {} {} {} {} {} {}",
            cut("WHEN", WHEN),
            cut("WHO", WHO),
            cut("CALL", what_w),
            cut("TOOK", TOOK),
            cut("OUTCOME", OUTCOME),
            "SIZE"
        ),
        t.header,
    ))];
    let mut body = Vec::with_capacity(rows.len());
    for (n, c) in rows.iter().enumerate() {
        let selected = n == h.selected;
        let style = if selected { t.selected } else { t.base };
        let outcome_style = if selected {
            t.selected
        } else if c.outcome.is_ok() {
            t.ok
        } else {
            t.error
        };
        body.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} {} {} {} {} ",
                    if selected { "›" } else { " " },
                    c.at.format("%H:%M:%S"),
                    cut(&inert(&c.caller.to_string()), WHO),
                    cut(&inert(&c.what()), what_w),
                    cut(&c.took_text(), TOOK),
                ),
                style,
            ),
            Span::styled(cut(&c.outcome.short(), OUTCOME), outcome_style),
            Span::styled(format!(" {}", cut(&c.size_text(), SIZE)), style),
        ]));
    }
    let room = usize::from(table_area.height).saturating_sub(1);
    lines.extend(visible(body, h.selected, room));
    frame.render_widget(Paragraph::new(lines), table_area);
}
