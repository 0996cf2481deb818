//! The replay banner: the console shows an incident bundle
//! (`aacon --replay FILE`), not a live platform.

use crate::tui::app::App;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;

/// The banner's text (also for tests).
pub fn text(app: &App) -> Option<String> {
    let banner = app.replay.as_deref()?;
    Some(format!(" {banner} · :at TIME moves within it "))
}

/// Draw the banner over the first line of `area` when the console replays
/// a bundle; the rest of `area` is returned for the view.
pub fn banner(frame: &mut Frame, app: &App, area: Rect) -> Rect {
    let Some(line) = text(app) else {
        return area;
    };
    let [top, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(super::fit(&line, top.width as usize)).style(app.theme.badge),
        top,
    );
    rest
}
