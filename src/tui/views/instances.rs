//! The instances table: only the visible window of rows is built.

use super::{Drawn, age, fit, inert};
use crate::domain::Instance;
use crate::domain::probe::shown_status;
use crate::tui::app::{App, Column, Geometry};
use crate::tui::keymap::{Action, View};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

fn width(c: Column) -> u16 {
    match c {
        Column::Name => 14,
        Column::Kind => 9,
        Column::Status => 11,
        Column::Desired => 7,
        Column::Health => 11,
        Column::Tools => 5,
        Column::Restarts => 8,
        Column::Age => 5,
        Column::Updated => 7,
    }
}

/// Columns that fit in `w` cells, most important first kept.
pub fn visible_columns(w: u16) -> Vec<Column> {
    const PRIORITY: [Column; 9] = [
        Column::Name,
        Column::Status,
        Column::Kind,
        Column::Age,
        Column::Desired,
        Column::Health,
        Column::Updated,
        Column::Tools,
        Column::Restarts,
    ];
    let mut used = 0u16;
    let mut keep = Vec::new();
    for c in PRIORITY {
        let need = width(c) + u16::from(!keep.is_empty());
        if used + need <= w {
            used += need;
            keep.push(c);
        }
    }
    Column::ALL
        .into_iter()
        .filter(|c| keep.contains(c))
        .collect()
}

/// The first key bound to `action` in the instances view, for hints.
pub fn key_for(app: &App, view: View, action: Action) -> String {
    app.keymap
        .bindings(view)
        .into_iter()
        .find(|b| b.action == action)
        .map(|b| b.label.clone())
        .unwrap_or_else(|| format!(":{}", action.describe()))
}

fn cell_text(app: &App, i: &Instance, c: Column) -> String {
    match c {
        // A name several instances have is marked: only the id tells them apart.
        Column::Name if app.dup_names.contains(&i.name) => format!("{} [dup]", inert(&i.name)),
        Column::Name => inert(&i.name),
        Column::Kind => i.kind().as_str().to_string(),
        Column::Status => {
            let s = shown_status(i);
            format!("{} {}", s.symbol(), s.as_str())
        }
        Column::Desired => i.desired_state.as_str().to_string(),
        Column::Health => super::health::cell(app, i),
        Column::Tools => i.tool_count.map_or("-".into(), |n| n.to_string()),
        Column::Restarts => i.restarts.to_string(),
        Column::Age => age(app.now, Some(i.created_at)),
        Column::Updated => age(app.now, Some(i.updated_at)),
    }
}

pub fn render(frame: &mut Frame, app: &App, drawn: &mut Drawn, area: Rect) {
    let t = &app.theme;
    let mut title = vec![Span::styled(
        format!(" instances ({}", app.instances.rows.len()),
        t.title,
    )];
    if app.instances.rows.len() != app.projection.len() {
        title.push(Span::styled(format!("/{}", app.projection.len()), t.title));
    }
    title.push(Span::styled(") ", t.title));
    if !app.instances.filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", fit(&inert(app.instances.filter.source()), 30)),
            t.warning,
        ));
    }
    if !app.instances.marked.is_empty() {
        title.push(Span::styled(
            format!("{} marked ", app.instances.marked.len()),
            t.marked,
        ));
    }
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Line::from(title));
    // Instances known only from the stream: say how much of it that is.
    if let Some(c) = app.coverage() {
        block = block.title_bottom(Line::from(Span::styled(format!(" {c} "), t.warning)));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);

    if app.instances.rows.is_empty() {
        drawn.geometry = Geometry::default();
        let msg = if !app.loaded {
            "loading instances…".to_string()
        } else if app.projection.is_empty() {
            let keys = [
                (
                    key_for(app, View::Instances, Action::Create),
                    "create one from a template or the catalog",
                ),
                (
                    key_for(app, View::Instances, Action::Help),
                    "help: every key",
                ),
                (key_for(app, View::Instances, Action::Quit), "quit"),
            ];
            // Pad to one width so the lines centre as a block.
            let kw = keys
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            let lines: Vec<String> = keys.iter().map(|(k, d)| format!("{k:>kw$}  {d}")).collect();
            let w = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let block: Vec<String> = lines.iter().map(|l| format!("{l:<w$}")).collect();
            format!(
                "Welcome to aacon. No instances yet.\n\n{}\n\nor from a shell: aacon instances create NAME --spec FILE",
                block.join("\n")
            )
        } else {
            format!(
                "No instance matches the filter '{}'.\n{} clears it.",
                inert(app.instances.filter.source()),
                key_for(app, View::Instances, Action::Back)
            )
        };
        let y = inner.height.saturating_sub(4) / 2;
        let r = Rect::new(inner.x, inner.y + y, inner.width, inner.height - y);
        frame.render_widget(
            Paragraph::new(msg)
                .style(t.dim)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: false }),
            r,
        );
        return;
    }

    let cols = visible_columns(inner.width.saturating_sub(2));
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    // Keep the selection in view.
    let offset = drawn
        .instances
        .follow(app.instances.selected, visible, app.instances.rows.len());
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| {
            if *c == Column::Name {
                Constraint::Min(width(*c))
            } else {
                Constraint::Length(width(*c))
            }
        })
        .collect();
    // The same split the table makes, for header clicks.
    let cells = Layout::horizontal(widths.clone())
        .flex(Flex::Start)
        .spacing(1)
        .split(inner);
    let mut columns = [None; 9];
    for (slot, (c, r)) in columns.iter_mut().zip(cols.iter().zip(cells.iter())) {
        *slot = Some((r.x, r.x + r.width, *c));
    }
    drawn.geometry = Geometry {
        rows: Rect::new(
            inner.x,
            inner.y + 1,
            inner.width,
            inner.height.saturating_sub(1),
        ),
        first: offset,
        header_y: inner.y,
        columns,
    };

    let header = Row::new(cols.iter().map(|c| {
        let mut s = c.title().to_string();
        if *c == app.instances.sort {
            s.push(if app.instances.sort_reverse {
                '↓'
            } else {
                '↑'
            });
        }
        Cell::from(s)
    }))
    .style(t.header);

    let rows = app
        .instances
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .filter_map(|(idx, id)| app.projection.get(id).map(|i| (idx, i)))
        .map(|(idx, i)| {
            let flash = app.instances.flash.get(&i.id).map(|(_, f)| *f);
            let marked = app.instances.marked.contains(&i.id);
            let cells = cols.iter().map(|c| {
                let mut text = cell_text(app, i, *c);
                let mut style = match c {
                    Column::Status => t.status(shown_status(i)),
                    Column::Name if marked => t.marked,
                    Column::Health | Column::Age | Column::Updated => t.dim,
                    _ => Style::default(),
                };
                if *c == Column::Name {
                    text = format!("{}{}", if marked { "✓" } else { " " }, text);
                }
                if let Some(f) = flash {
                    let hit = match c {
                        Column::Status | Column::Health | Column::Tools | Column::Restarts => {
                            f.status
                        }
                        Column::Desired => f.desired,
                        Column::Name | Column::Kind | Column::Updated => f.config,
                        Column::Age => false,
                    };
                    if hit {
                        style = style.patch(t.changed);
                    }
                }
                Cell::from(text).style(style)
            });
            let row = Row::new(cells);
            if idx == app.instances.selected {
                row.style(t.selected)
            } else {
                row
            }
        });

    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
}
