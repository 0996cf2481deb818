//! Detail view: overview, masked json_spec, this instance's events, and
//! the tabs whose data a later issue supplies (said so on screen).

use super::events::event_row;
use super::{age, inert};
use crate::tui::app::{App, DetailState, DetailTab, masked_spec};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Tabs, Wrap};

pub fn render(frame: &mut Frame, app: &App, d: &DetailState, area: Rect) {
    let t = &app.theme;
    let inst = app.projection.get(&d.id);
    let name = inst.map_or_else(|| "(deleted)".to_string(), |i| inert(&i.name));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" {name} "), t.title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [tabs_area, body] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(inner);
    let idx = DetailTab::ALL.iter().position(|x| *x == d.tab).unwrap_or(0);
    frame.render_widget(
        Tabs::new(DetailTab::ALL.map(|x| x.title()))
            .select(idx)
            .style(t.dim)
            .highlight_style(t.title)
            .block(
                Block::default()
                    .borders(Borders::BOTTOM)
                    .border_style(t.border),
            ),
        tabs_area,
    );
    let Some(i) = inst else {
        frame.render_widget(
            Paragraph::new("This instance was deleted.").style(t.warning),
            body,
        );
        return;
    };
    let text = |s: &str| Paragraph::new(s.to_string()).style(t.base);
    match d.tab {
        DetailTab::Overview => {
            let kv = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<14}"), t.dim),
                    Span::styled(v, t.base),
                ])
            };
            let mut lines = vec![
                kv("name", inert(&i.name)),
                kv("id", i.id.to_string()),
                kv("kind", i.kind().as_str().into()),
                Line::from(vec![
                    Span::styled(format!("{:<14}", "status"), t.dim),
                    Span::styled(
                        format!("{} {}", i.status.symbol(), i.status.as_str()),
                        t.status(i.status),
                    ),
                ]),
                kv(
                    "reason",
                    i.status_reason.as_deref().map_or("-".into(), inert),
                ),
                kv("desired", i.desired_state.as_str().into()),
                kv(
                    "version",
                    format!("{} (event version {})", i.version, i.aggregate_version),
                ),
                kv(
                    "created",
                    format!(
                        "{} ({} ago)",
                        i.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        age(app.now, Some(i.created_at))
                    ),
                ),
                kv(
                    "updated",
                    format!(
                        "{} ({} ago) by {}",
                        i.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        age(app.now, Some(i.updated_at)),
                        i.updated_by.as_deref().map_or("-".into(), inert)
                    ),
                ),
                kv(
                    "last healthy",
                    i.last_healthy_at
                        .map_or("never".into(), |h| format!("{} ago", age(app.now, Some(h)))),
                ),
                kv(
                    "tools",
                    i.tool_count.map_or("unknown".into(), |n| n.to_string()),
                ),
                kv("restarts", i.restarts.to_string()),
                kv(
                    "server spec",
                    i.server_spec_id.as_deref().map_or("-".into(), inert),
                ),
                kv(
                    "description",
                    i.description.as_deref().map_or("-".into(), inert),
                ),
            ];
            let errors: Vec<_> = d
                .events
                .iter()
                .rev()
                .filter_map(|e| e.error_text().map(|x| (e.timestamp, inert(x))))
                .take(3)
                .collect();
            if !errors.is_empty() {
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled("last errors", t.title)));
                for (at, msg) in errors {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", at.format("%H:%M:%S")), t.dim),
                        Span::styled(msg, t.error),
                    ]));
                }
            }
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((d.scroll, 0)),
                body,
            );
        }
        DetailTab::Spec => {
            frame.render_widget(text(&masked_spec(i)).scroll((d.scroll, 0)), body);
        }
        DetailTab::Events => render_events(frame, app, d, body),
        DetailTab::Tools => {
            let known = i
                .tool_count
                .map_or("The runtime has not reported tools.".to_string(), |n| {
                    format!("The runtime reports {n} tools.")
                });
            frame.render_widget(
                Paragraph::new(format!(
                    "{known}\n\nNot available yet: listing tools and the form to call one come with the MCP runtime probe (a later issue)."
                ))
                .style(t.dim)
                .wrap(Wrap { trim: true }),
                body,
            );
        }
        DetailTab::Logs => {
            frame.render_widget(
                Paragraph::new(
                    "Not available yet: the stderr / log tail comes with the runtime's process supervision (a later issue). Errors reported in events are under Overview and Events.",
                )
                .style(t.dim)
                .wrap(Wrap { trim: true }),
                body,
            );
        }
    }
}

fn render_events(frame: &mut Frame, app: &App, d: &DetailState, area: Rect) {
    let t = &app.theme;
    if d.events.is_empty() {
        let msg = if d.loading {
            "loading events…".to_string()
        } else if let Some(e) = &d.load_error {
            format!("could not read events: {}", inert(e))
        } else {
            "No events for this instance.".to_string()
        };
        frame.render_widget(Paragraph::new(msg).style(t.dim), area);
        return;
    }
    let visible = usize::from(area.height.saturating_sub(1)).max(1);
    let first = (d.selected + 1).saturating_sub(visible);
    let rows = d
        .events
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(n, e)| {
            let cells = event_row(app, e, false, area.width);
            let r = Row::new(cells);
            if n == d.selected {
                r.style(t.selected)
            } else {
                r
            }
        });
    let header = Row::new(["TIME", "TYPE", "CHANGE", "CORRELATION"]).style(t.header);
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(13),
                Constraint::Min(10),
                Constraint::Length(if area.width > 60 { 14 } else { 0 }),
            ],
        )
        .header(header)
        .column_spacing(1),
        area,
    );
}
