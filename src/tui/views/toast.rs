//! Toasts: the result of an action, for a few seconds in the bottom line.

use super::{fit, inert};
use crate::tui::app::{App, Level, Toast};
use ratatui::text::Span;

pub fn span(app: &App, toast: &Toast, width: usize) -> Span<'static> {
    let t = &app.theme;
    let (mark, style) = match toast.level {
        Level::Info => ("ℹ", t.header),
        Level::Ok => ("✔", t.ok),
        Level::Error => ("✖", t.error),
    };
    Span::styled(
        fit(
            &format!(" {mark} {}", inert(&toast.text)),
            width.saturating_sub(2),
        ),
        style,
    )
}
