//! Header: backend, event-source state, counts per status, read-only
//! badge, events-per-second sparkline.

use super::inert;
use crate::domain::Status;
use crate::platform::SourceState;
use crate::tui::app::App;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let spark_w = if area.width >= 80 { 24 } else { 0 };
    let [left, right] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(spark_w)]).areas(area);

    let mut first = vec![
        Span::styled(" aacon ", t.title),
        Span::styled(inert(&app.backend.name), t.header),
        Span::styled("  events: ", t.dim),
    ];
    first.push(match &app.source {
        SourceState::Connected(s) => Span::styled(format!("● {}", inert(s)), t.ok),
        SourceState::Retrying { source, in_secs } => Span::styled(
            format!("▲ {} retrying in {in_secs}s", inert(source)),
            t.warning,
        ),
        SourceState::Off => Span::styled("○ off", t.dim),
    });
    if app.read_only() {
        first.push(Span::raw("  "));
        first.push(Span::styled(" READ-ONLY ", t.badge));
    }

    let counts = app.counts();
    let mut second = vec![Span::styled(
        format!(" {} instances ", app.projection.len()),
        t.base,
    )];
    for (i, s) in Status::ALL.iter().enumerate() {
        if counts[i] > 0 {
            second.push(Span::styled(
                format!(" {} {} {}", s.symbol(), s.as_str(), counts[i]),
                t.status(*s),
            ));
        }
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        left,
    );

    if spark_w > 0 {
        let [label, spark] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(right);
        let now = app.rate.back().copied().unwrap_or(0);
        let peak = app.rate.iter().copied().max().unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("events/s ", t.dim),
                Span::styled(format!("{now}"), t.header),
                Span::styled(format!(" peak {peak}"), t.dim),
            ])),
            label,
        );
        let data: Vec<u64> = app
            .rate
            .iter()
            .skip(app.rate.len().saturating_sub(usize::from(spark.width)))
            .copied()
            .collect();
        frame.render_widget(Sparkline::default().data(&data).style(t.header), spark);
    }
}
