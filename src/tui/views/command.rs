//! The bottom line: `:` command input, `/` filter input, a toast, or the
//! key hints of the current view (from the active keymap).

use super::{fit, inert, toast};
use crate::tui::app::{App, DetailTab, Overlay, Screen};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠸", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Actions that change the platform; hidden from hints in read-only mode.
pub fn is_mutating(a: Action) -> bool {
    matches!(
        a,
        Action::Create
            | Action::Edit
            | Action::Delete
            | Action::Start
            | Action::Stop
            | Action::Restart
            | Action::Save
    )
}

/// Hints shown in the bottom line (movement keys left out).
fn hinted(a: Action) -> bool {
    !matches!(
        a,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
            | Action::Command
    )
}

pub fn hints(app: &App, view: View) -> Vec<(String, &'static str)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for b in app.keymap.bindings(view) {
        if !hinted(b.action) || seen.contains(&b.action) {
            continue;
        }
        if (app.read_only() || app.travel().is_some()) && is_mutating(b.action) {
            continue;
        }
        // Time travel's steps and changes: hinted while the console shows the past
        // (help lists them always).
        if matches!(
            b.action,
            Action::StepBack | Action::StepForward | Action::ChangesSince
        ) && app.travel().is_none()
        {
            continue;
        }
        // Offered only while the table holds part of the stream.
        if b.action == Action::ReadStream
            && (app.coverage().is_none() || app.stream_window.as_ref().is_none_or(|w| w.whole()))
        {
            continue;
        }
        seen.push(b.action);
        out.push((b.label.clone(), b.action.describe()));
    }
    if app.travel().is_some() {
        // In the past, stepping is what the keys are for: first.
        let steps =
            [Action::StepBack, Action::StepForward, Action::ChangesSince].map(Action::describe);
        out.sort_by_key(|(_, what)| !steps.contains(what));
    }
    out
}

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let line = match &app.overlay {
        Some(Overlay::Command(input)) if !input.candidates.is_empty() => Line::from(vec![
            Span::styled(":", t.key),
            Span::styled(inert(&input.text), t.base),
            Span::styled("▏", t.key),
            Span::styled(
                fit(
                    &format!("  {}", inert(&input.candidates.join(" · "))),
                    usize::from(area.width).saturating_sub(input.text.chars().count() + 2),
                ),
                t.dim,
            ),
        ]),
        Some(Overlay::Command(input)) => Line::from(vec![
            Span::styled(":", t.key),
            Span::styled(inert(&input.text), t.base),
            Span::styled("▏", t.key),
            Span::styled(
                format!(
                    "  instances · events · dump [csv|json] · ctx [NAME] · i NAME · theme NAME · keymap NAME · sort COLUMN · at TIME · now · q{}",
                    complete_hint(app)
                ),
                t.dim,
            ),
        ]),
        Some(Overlay::Filter { input, .. }) => Line::from(vec![
            Span::styled("/", t.key),
            Span::styled(inert(&input.text), t.base),
            Span::styled("▏", t.key),
            Span::styled(
                if matches!(app.screen(), Screen::Detail(d) if d.tab == DetailTab::Tools) {
                    "  search the result (any case) · enter keeps · esc undoes"
                } else {
                    "  text or regex · !inverse · status:VALUE · kind:VALUE"
                },
                t.dim,
            ),
        ]),
        _ => {
            let mut spans = Vec::new();
            if app.in_flight > 0 {
                spans.push(Span::styled(
                    format!("{} ", SPINNER[app.spinner % SPINNER.len()]),
                    t.key,
                ));
            }
            if let Some(tst) = &app.toast {
                spans.push(toast::span(app, tst, usize::from(area.width)));
            } else if app.view() != View::Editor {
                // The editor and picker show their own keys.
                let mut used = 2;
                for (key, what) in hints(app, app.view()) {
                    let item = format!("{key} {what}");
                    let w = item.chars().count() + 2;
                    if used + w > usize::from(area.width) {
                        break;
                    }
                    used += w;
                    spans.push(Span::styled(format!(" {key}"), t.key));
                    spans.push(Span::styled(format!(" {}", fit(what, 30)), t.dim));
                }
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// " · tab completes" with the keymap's complete keys (nothing when unbound).
fn complete_hint(app: &App) -> String {
    let keys = app.keymap.keys_for(
        crate::tui::keymap::View::CommandLine,
        crate::tui::keymap::Action::Complete,
    );
    if keys.is_empty() {
        String::new()
    } else {
        format!(" · {} completes", keys.join("/"))
    }
}
