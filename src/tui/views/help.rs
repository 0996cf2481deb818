//! Help, generated from the active keymap so it cannot drift.

use super::command::is_mutating;
use crate::tui::app::App;
use crate::tui::keymap::View;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const SECTIONS: [(View, &str); 6] = [
    (View::Instances, "Instances"),
    (View::Detail, "Detail"),
    (View::Events, "Events"),
    (View::Editor, "Editor"),
    (View::Global, "Everywhere"),
    (
        View::Quit,
        "Quit prompt (quit while instances run under this console)",
    ),
];

pub fn render(frame: &mut Frame, app: &App, scroll: u16, area: Rect) {
    let t = &app.theme;
    let rect = area;
    frame.render_widget(Clear, rect);
    let current = app.view();
    let mut order: Vec<(View, &str)> = SECTIONS.to_vec();
    order.sort_by_key(|(v, _)| *v != current);
    let mut lines = Vec::new();
    for (view, title) in order {
        let own: Vec<_> = app
            .keymap
            .bindings(view)
            .into_iter()
            .filter(|b| b.view == view)
            .collect();
        if own.is_empty() {
            continue;
        }
        lines.push(Line::from(Span::styled(title.to_string(), t.title)));
        for b in own {
            let mut spans = vec![
                Span::styled(format!("  {:<12}", b.label), t.key),
                Span::styled(b.action.describe().to_string(), t.base),
            ];
            if app.read_only() && is_mutating(b.action) {
                spans.push(Span::styled("  (off: read-only)", t.dim));
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled("Commands", t.title)));
    for (cmd, what) in [
        (":instances", "instances view"),
        (":events", "events view"),
        (":theme NAME", "switch theme"),
        (":keymap NAME", "switch keymap"),
        (":sort COLUMN", "sort by a column (-COLUMN reverses)"),
        (":q", "quit"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {cmd:<14}"), t.key),
            Span::styled(what, t.base),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Filter (/)", t.title)));
    lines.push(Line::from(Span::styled(
        "  text or regex, !term inverts, status:running,error, kind:process",
        t.base,
    )));
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(
                    format!(" help — keymap {} (esc closes) ", app.keymap.name),
                    t.title,
                )),
        ),
        rect,
    );
}
