//! Rendering: one file per view or widget, all drawing from `&App`.

pub mod command;
pub mod confirm;
pub mod detail;
pub mod elicit;
pub mod events;
pub mod header;
pub mod health;
pub mod help;
pub mod history;
pub mod instances;
pub mod logs;
pub mod raw;
pub mod replay;
pub mod surface;
pub mod toast;
pub mod travel;

use super::app::{App, Geometry, Overlay, Screen};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::widgets::{Block, Paragraph, Wrap};

/// Smallest size every view works at.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

/// Draw the whole screen.
pub fn render(frame: &mut Frame, app: &mut App) {
    // The views read the state and write only what they drew, into the
    // pages' own state.
    let mut drawn = Drawn {
        instances: app.instances.scroll,
        geometry: app.instances.geometry,
        events: app.events.scroll,
        help_max: None,
    };
    draw(frame, app, &mut drawn);
    app.instances.scroll = drawn.instances;
    app.instances.geometry = drawn.geometry;
    app.events.scroll = drawn.events;
    if let (Some(max), Some(Overlay::Help(p))) = (drawn.help_max, &mut app.overlay) {
        p.max = max;
    }
}

/// What a frame draws that keys and the mouse go by afterwards: handed
/// back to the pages' state once drawn.
#[derive(Debug, Clone, Copy)]
pub struct Drawn {
    /// The instances table's scroll.
    pub instances: TableScroll,
    /// Where the instance rows and column headers are, for mouse hits.
    pub geometry: Geometry,
    /// The events table's scroll.
    pub events: TableScroll,
    /// How far help can scroll before its last line leaves the bottom,
    /// when it was drawn.
    pub help_max: Option<u16>,
}

/// The first row a table shows: it keeps the selected row in view and
/// never scrolls into blank space. The view's own state (what
/// [`ratatui::widgets::TableState`] keeps for a table it draws whole; these
/// tables draw only the rows in view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableScroll {
    pub offset: usize,
}

impl TableScroll {
    /// Scroll so that row `selected` of `len` is among the `visible`
    /// rows; the first row shown.
    pub fn follow(&mut self, selected: usize, visible: usize, len: usize) -> usize {
        if selected < self.offset {
            self.offset = selected;
        } else if selected >= self.offset + visible {
            self.offset = selected + 1 - visible;
        }
        self.offset = self.offset.min(len.saturating_sub(visible));
        self.offset
    }
}

fn draw(frame: &mut Frame, app: &App, drawn: &mut Drawn) {
    let area = frame.area();
    frame.render_widget(Block::default().style(app.theme.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, app, area);
        return;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, app, head);
    let body = replay::banner(frame, app, body);
    let body = travel::banner(frame, app, body);
    match app.screen() {
        Screen::Instances => instances::render(frame, app, drawn, body),
        Screen::Detail(d) => detail::render(frame, app, d, body),
        Screen::Events => events::render(frame, app, &mut drawn.events, body),
        Screen::Picker(p) => p.render(frame, body, &app.theme, &app.keymap),
        Screen::Editor(s) => {
            s.editor.render(frame, body, &app.theme);
            if let Some(c) = &s.conflict {
                c.render(frame, body, &app.theme, &app.keymap);
            }
        }
    }
    command::render(frame, app, foot);
    match &app.overlay {
        Some(Overlay::Help(p)) => drawn.help_max = Some(help::render(frame, app, p.scroll, body)),
        Some(Overlay::Confirm(c)) => confirm::render(frame, app, c, body),
        Some(Overlay::Raw { title, text, pager }) => {
            raw::render(frame, app, title, text, pager.scroll, body)
        }
        Some(Overlay::Drafts(p)) => p.render(frame, body, &app.theme, &app.keymap),
        Some(Overlay::Quit(p)) => p.render(frame, body, &app.theme, &app.keymap),
        Some(Overlay::Elicit(f)) => elicit::render(frame, app, f, body),
        _ => {}
    }
}

fn too_small(frame: &mut Frame, app: &App, area: Rect) {
    let text = format!(
        "terminal too small: {}x{}\nneed at least {MIN_WIDTH}x{MIN_HEIGHT}",
        area.width, area.height
    );
    let y = area.height.saturating_sub(2) / 2;
    let rect = Rect::new(
        area.x,
        area.y + y,
        area.width,
        area.height.saturating_sub(y),
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(app.theme.warning)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

/// A compact age: `42s`, `5m`, `3h`, `12d`; `-` when unknown.
pub fn age(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else {
        return "-".into();
    };
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// A count with its noun: "1 instance", "2 instances", "0 instances".
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A rectangle of at most `w`x`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Cut `s` to `width` display columns, ending with `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// Strip control characters so foreign text cannot drive the terminal.
pub fn inert(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_fitting() {
        let now = Utc::now();
        assert_eq!(age(now, None), "-");
        assert_eq!(age(now, Some(now - chrono::Duration::seconds(59))), "59s");
        assert_eq!(age(now, Some(now - chrono::Duration::seconds(7200))), "2h");
        assert_eq!(age(now, Some(now - chrono::Duration::days(3))), "3d");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(inert("a\x1b[2Jb"), "a [2Jb");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(plural(0, "instance"), "0 instances");
        assert_eq!(plural(1, "instance"), "1 instance");
        assert_eq!(plural(2, "instance"), "2 instances");
        assert_eq!(plural(1, "event"), "1 event");
    }
}

#[cfg(test)]
mod scroll_tests {
    use super::TableScroll;

    #[test]
    fn a_table_scrolls_just_enough_to_show_the_selected_row() {
        let mut s = TableScroll::default();
        assert_eq!(s.follow(3, 10, 100), 0, "in view: no scroll");
        assert_eq!(s.follow(15, 10, 100), 6, "below: the row is the last shown");
        assert_eq!(s.follow(8, 10, 100), 6, "still in view: stays");
        assert_eq!(s.follow(2, 10, 100), 2, "above: the row is the first shown");
        s.offset = 50;
        assert_eq!(s.follow(4, 10, 5), 0, "never into blank space");
    }
}
