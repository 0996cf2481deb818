//! Header: backend, event-source state, counts per status, who hosts the
//! runtime, read-only badge, events-per-second sparkline.

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
    let spark_w = match area.width {
        120.. => 36,
        80.. => 26,
        _ => 0,
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(spark_w)]).areas(top);

    let mut first = vec![
        Span::styled(" aacon ", t.title),
        Span::styled(inert(&app.backend.name), t.header),
    ];
    // The data scope in effect (AgentArea: the token's workspace_id claim).
    if let Some(p) = app.profile.as_ref()
        && let Some(ws) = p.workspace.as_deref()
    {
        first.push(Span::styled("  workspace ", t.dim));
        first.push(Span::styled(inert(ws), t.header));
        if let Some(asked) = &p.workspace_mismatch {
            first.push(Span::styled(
                format!(" (asked '{}')", inert(asked)),
                t.warning,
            ));
        }
    }
    // Which `aacon serve` replica answered last (behind a load balancer,
    // one of several).
    if let Some(crate::platform::RuntimeHost::Remote {
        replica: Some(replica),
    }) = &app.runtime_host
    {
        first.push(Span::styled("  replica ", t.dim));
        first.push(Span::styled(inert(replica), t.header));
    }
    first.push(Span::styled("  events: ", t.dim));
    first.push(match &app.source {
        SourceState::Connected(s) => Span::styled(format!("● {}", inert(s)), t.ok),
        SourceState::Retrying { source, in_secs } => Span::styled(
            format!("▲ {} retrying in {in_secs}s", inert(source)),
            t.warning,
        ),
        SourceState::Off if app.backend.name == "embedded" => {
            Span::styled("○ local only (no redis)", t.dim)
        }
        SourceState::Off => Span::styled("○ off", t.dim),
    });
    if app.read_only() {
        first.push(Span::raw("  "));
        first.push(Span::styled(" READ-ONLY ", t.badge));
    }

    let counts = app.counts();
    let lead = format!(" {} ", super::plural(app.projection.len(), "instance"));
    let present: Vec<(Status, usize)> = Status::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (*s, n))
        .collect();
    let long: usize = lead.chars().count()
        + present
            .iter()
            .map(|(s, n)| s.as_str().len() + n.to_string().len() + 4)
            .sum::<usize>();
    // Names when they fit; symbols alone (still readable without colour) when not.
    let named = long <= usize::from(bottom.width);
    let mut second = vec![Span::styled(lead, t.base)];
    for (s, n) in present {
        let text = if named {
            format!(" {} {} {n}", s.symbol(), s.as_str())
        } else {
            format!(" {}{n}", s.symbol())
        };
        second.push(Span::styled(text, t.status(s)));
    }
    // Who runs the instances: this console, serve at ADDR, a background host.
    if let Some(host) = &app.runtime_host {
        second.push(Span::styled("   runtime: ", t.dim));
        let style = match host {
            crate::platform::RuntimeHost::Nobody => t.warning,
            _ => t.header,
        };
        second.push(Span::styled(inert(&host.describe()), style));
    }
    frame.render_widget(Paragraph::new(Line::from(first)), left);
    frame.render_widget(Paragraph::new(Line::from(second)), bottom);

    if spark_w > 0 {
        let [label, spark] =
            Layout::horizontal([Constraint::Length(17), Constraint::Min(1)]).areas(right);
        // The last full second: the current one is still counting.
        let now = app.rate.iter().rev().nth(1).copied().unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("  events/s ", t.dim),
                Span::styled(format!("{now:<6}"), t.header),
            ])),
            label,
        );
        let full = app.rate.len().saturating_sub(1);
        let data: Vec<u64> = app
            .rate
            .iter()
            .take(full)
            .skip(full.saturating_sub(usize::from(spark.width)))
            .copied()
            .collect();
        frame.render_widget(Sparkline::default().data(&data).style(t.header), spark);
    }
}
