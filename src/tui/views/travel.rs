//! The time-travel banner: which moment the screen shows, and that live
//! updates are paused.

use crate::tui::app::App;
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;

/// The banner's text (also for tests and the screenshot).
pub fn text(app: &App) -> Option<String> {
    let t = app.travel()?;
    let local = t.at.with_timezone(&t.local);
    let when = if t.local.local_minus_utc() == 0 {
        format!("{} UTC", t.at.format("%Y-%m-%d %H:%M:%S"))
    } else {
        format!(
            "{} ({} UTC)",
            local.format("%Y-%m-%d %H:%M:%S %:z"),
            t.at.format("%H:%M:%S")
        )
    };
    let arrived = match t.arrived {
        0 => String::new(),
        1 => ", 1 event arrived since (kept)".to_string(),
        n => format!(", {n} events arrived since (kept)"),
    };
    let keys = |a| app.keymap.keys_for(View::Instances, a).join("/");
    let busy = if t.busy { " · looking up…" } else { "" };
    let observed = t
        .observed
        .as_ref()
        .map(|o| format!(", {}", crate::tui::app::observed_words(o, t.local)))
        .unwrap_or_default();
    Some(format!(
        " AS IT WAS AT {when}{observed} · live updates paused{arrived} · {} {} step · :now returns to live{busy}",
        keys(Action::StepBack),
        keys(Action::StepForward),
    ))
}

/// Draw the banner over the first line of `area` when the console shows
/// the past; the rest of `area` is returned for the view.
pub fn banner(frame: &mut Frame, app: &App, area: Rect) -> Rect {
    let Some(line) = text(app) else {
        return area;
    };
    let [top, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(super::fit(&line, top.width as usize)).style(app.theme.warning),
        top,
    );
    rest
}
