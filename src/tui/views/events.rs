//! Events view: the live stream for all instances, follow or paused.

use super::{TableScroll, fit, inert};
use crate::domain::{Envelope, EventType};
use crate::tui::app::{App, StreamItem};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

/// Cells for one event: time, type, instance (if asked), change, correlation id.
pub fn event_row<'a>(app: &App, e: &Envelope, with_instance: bool, width: u16) -> Vec<Cell<'a>> {
    let t = &app.theme;
    let kind = match e.kind() {
        Some(k) => k.short().to_string(),
        None if e.is_notice() => "Notified".to_string(),
        None => inert(&e.event_type),
    };
    let change = change_span(app, e);
    let mut cells = vec![
        Cell::from(e.timestamp.format("%H:%M:%S%.3f").to_string()).style(t.dim),
        Cell::from(kind),
    ];
    if with_instance {
        // Known by id only (a name never seen): the id's first part.
        let name = instance_name(app, e)
            .map(|n| inert(&n))
            .or_else(|| e.instance_id().map(|id| id.to_string()[..8].to_string()))
            .unwrap_or_else(|| "-".into());
        cells.push(Cell::from(name));
    }
    cells.push(Cell::from(Line::from(change)));
    let corr = e.correlation_id.as_deref().map_or("-".into(), inert);
    cells.push(Cell::from(fit(&corr, if width > 100 { 36 } else { 12 })).style(t.dim));
    cells
}

/// The name of an event's instance: carried by the event, else known to
/// the console's state.
pub fn instance_name(app: &App, e: &Envelope) -> Option<String> {
    app.projection.name_of(e).map(str::to_string)
}

/// What an event changed, in a few words ("● starting → ● running",
/// "desired running", "changed json_spec", the error), styled.
pub fn change_span(app: &App, e: &Envelope) -> Span<'static> {
    let t = &app.theme;
    if let Some(s) = e.notice_summary() {
        return Span::styled(inert(&s), t.dim);
    }
    let desired = e.data.get("desired_state").and_then(|d| d.as_str());
    match (e.kind(), desired) {
        (Some(EventType::Started | EventType::Stopped), Some(d)) => {
            Span::styled(format!("desired {}", inert(d)), t.base)
        }
        (Some(EventType::Deleted), _) => Span::styled("deleted", t.dim),
        _ => status_change(app, e),
    }
}

fn status_change(app: &App, e: &Envelope) -> Span<'static> {
    let t = &app.theme;
    if let Some(fields) = e.data.get("changed").and_then(|c| c.as_array()) {
        let names: Vec<String> = fields
            .iter()
            .filter_map(|f| f.as_str())
            .map(inert)
            .collect();
        return Span::styled(format!("changed {}", names.join(", ")), t.base);
    }
    match (e.previous_status(), e.status(), e.error_text()) {
        (_, _, Some(err)) => Span::styled(inert(err), t.error),
        (Some(p), Some(s), None) => Span::styled(
            format!("{} {} → {} {}", p.symbol(), p, s.symbol(), s),
            t.status(s),
        ),
        (None, Some(s), None) => Span::styled(format!("{} {}", s.symbol(), s), t.status(s)),
        _ => Span::styled(
            e.data
                .get("desired_state")
                .and_then(|d| d.as_str())
                .map_or(String::new(), |d| format!("desired {}", inert(d))),
            t.base,
        ),
    }
}

pub fn render(frame: &mut Frame, app: &App, scroll: &mut TableScroll, area: Rect) {
    let t = &app.theme;
    let rows_idx = app.stream_rows();
    let mut title = vec![
        Span::styled(format!(" events ({}) ", rows_idx.len()), t.title),
        if app.events.follow {
            Span::styled("following ", t.ok)
        } else {
            Span::styled("paused ", t.warning)
        },
    ];
    if !app.events.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", fit(&inert(app.events.filter.source()), 30)),
            t.warning,
        ));
    }
    if app.events.malformed > 0 {
        title.push(Span::styled(
            format!("{} malformed ", app.events.malformed),
            t.error,
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if rows_idx.is_empty() {
        let route = crate::platform::profile::Route::EventHistory;
        let no_history = app
            .profile
            .as_ref()
            .filter(|p| !p.has(route))
            .map(|p| p.missing_route(route));
        let msg = match &no_history {
            Some(why) if app.events.stream.is_empty() => why.as_str(),
            _ if app.events.stream.is_empty() => "No events yet. They appear here as they happen.",
            _ => "No event matches the filter.",
        };
        frame.render_widget(
            Paragraph::new(msg)
                .style(t.dim)
                .alignment(Alignment::Center),
            Rect::new(inner.x, inner.y + inner.height / 2, inner.width, 1),
        );
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let sel = app.events.selected.min(rows_idx.len() - 1);
    let offset = scroll.follow(sel, visible, rows_idx.len());
    let wide = inner.width > 60;
    let rows = rows_idx
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .filter_map(|(n, i)| app.events.stream.get(*i).map(|it| (n, it)))
        .map(|(n, it)| {
            let mut cells = match it {
                StreamItem::Event(e) => event_row(app, e, true, inner.width),
                // Only the rows on screen are made whole.
                StreamItem::Status(s) => event_row(app, &s.to_envelope(), true, inner.width),
                StreamItem::Malformed {
                    at, source, error, ..
                } => vec![
                    Cell::from(at.format("%H:%M:%S%.3f").to_string()).style(t.dim),
                    Cell::from("MALFORMED").style(t.error),
                    Cell::from(inert(source)),
                    Cell::from(inert(error)).style(t.error),
                    Cell::from("-").style(t.dim),
                ],
            };
            if !wide {
                cells.truncate(4);
            }
            let r = Row::new(cells);
            if n == sel { r.style(t.selected) } else { r }
        });
    let mut widths = vec![
        Constraint::Length(12),
        Constraint::Length(13),
        Constraint::Length(if wide { 16 } else { 10 }),
        Constraint::Min(10),
    ];
    let mut head = vec!["TIME", "TYPE", "INSTANCE", "CHANGE"];
    if wide {
        widths.push(Constraint::Length(if inner.width > 100 { 36 } else { 12 }));
        head.push("CORRELATION");
    }
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(head).style(t.header))
            .column_spacing(1),
        inner,
    );
}
