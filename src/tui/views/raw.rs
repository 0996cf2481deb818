//! A popup with raw text (an event envelope, secrets masked).

use super::inert;
use crate::tui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn render(frame: &mut Frame, app: &App, title: &str, text: &str, scroll: u16, area: Rect) {
    let t = &app.theme;
    let rect = area;
    frame.render_widget(Clear, rect);
    let body: String = text.lines().map(inert).collect::<Vec<_>>().join("\n");
    frame.render_widget(
        Paragraph::new(body)
            .style(t.base)
            .scroll((scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border_focus)
                    .title(Span::styled(
                        format!(" {} (esc closes) ", inert(title)),
                        t.title,
                    )),
            ),
        rect,
    );
}
