//! The conflict screen: the instance changed while it was being edited.
//! Shows both versions side by side with each line marked by who changed
//! it (against the text the edit started from), every field they changed,
//! and lets the user reload theirs, merge when the two changes touch
//! different keys, overwrite deliberately (a second key confirms), or go
//! back to editing. Against AgentArea (no versions) it speaks of
//! `updated_at`.

use crate::domain::Instance;
use crate::tui::editor::pretty;
use crate::tui::keymap::{Action, Keymap, View};
use crate::tui::theme::Theme;
use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use serde_json::Value;

/// The other side: the instance as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Theirs {
    pub text: String,
    pub version: u64,
    pub updated_at: Option<DateTime<Utc>>,
    /// Who changed it, when known ("cli on host", "serve", …).
    pub updated_by: Option<String>,
    /// Its other fields now, to show which of them changed.
    pub name: Option<String>,
    pub description: Option<String>,
}

impl Theirs {
    pub fn from_instance(i: &Instance) -> Theirs {
        Theirs {
            text: pretty(&Value::Object(i.json_spec.clone())),
            version: i.version,
            updated_at: Some(i.updated_at),
            updated_by: i.updated_by.clone(),
            name: Some(i.name.clone()),
            description: i.description.clone(),
        }
    }
}

/// What the edit started from: the json_spec text as loaded and the
/// instance's fields then.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Base {
    pub text: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// A field they changed: its name, before and now (as shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub now: String,
}

/// What a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictOutcome {
    None,
    /// Discard mine and load theirs into the editor.
    ReloadTheirs,
    /// Save mine over theirs (confirmed): the app saves against
    /// `their_version`.
    Overwrite {
        their_version: u64,
    },
    /// Back to the editor with my text, nothing decided.
    BackToEditing,
    /// Both changes kept (they touch different keys): the editor gets the
    /// merged text, based on their version, to review and save.
    Merge {
        their_version: u64,
    },
    /// The instance was deleted meanwhile: create it again (same name)
    /// from my text.
    Recreate,
}

/// How a row of the side-by-side view differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Same,
    Changed,
    /// Only in mine.
    Mine,
    /// Only in theirs.
    Theirs,
}

/// One aligned row: my line, their line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub mine: Option<String>,
    pub theirs: Option<String>,
}

/// Align two texts line by line (longest common subsequence); runs of
/// removed and added lines pair up as changed rows.
pub fn align(mine: &str, theirs: &str) -> Vec<Row> {
    let a: Vec<&str> = mine.lines().collect();
    let b: Vec<&str> = theirs.lines().collect();
    let (n, m) = (a.len(), b.len());
    // Ops: 0 = same, 1 = only mine, 2 = only theirs.
    let mut ops: Vec<(u8, usize, usize)> = Vec::new();
    if n.saturating_mul(m) > 4_000_000 {
        // Too big to align: pair by position.
        for i in 0..n.max(m) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) if x == y => ops.push((0, i, i)),
                (Some(_), Some(_)) => {
                    ops.push((1, i, i));
                    ops.push((2, i, i));
                }
                (Some(_), None) => ops.push((1, i, 0)),
                (None, Some(_)) => ops.push((2, 0, i)),
                (None, None) => {}
            }
        }
    } else {
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if a[i] == b[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a[i] == b[j] {
                ops.push((0, i, j));
                i += 1;
                j += 1;
            } else if j >= m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                ops.push((1, i, 0));
                i += 1;
            } else {
                ops.push((2, 0, j));
                j += 1;
            }
        }
    }
    let mut rows = Vec::new();
    let mut k = 0;
    while k < ops.len() {
        if ops[k].0 == 0 {
            rows.push(Row {
                kind: RowKind::Same,
                mine: Some(a[ops[k].1].to_string()),
                theirs: Some(b[ops[k].2].to_string()),
            });
            k += 1;
            continue;
        }
        let start = k;
        while k < ops.len() && ops[k].0 != 0 {
            k += 1;
        }
        let dels: Vec<&str> = ops[start..k]
            .iter()
            .filter(|o| o.0 == 1)
            .map(|o| a[o.1])
            .collect();
        let adds: Vec<&str> = ops[start..k]
            .iter()
            .filter(|o| o.0 == 2)
            .map(|o| b[o.2])
            .collect();
        for r in 0..dels.len().max(adds.len()) {
            let (x, y) = (dels.get(r), adds.get(r));
            rows.push(Row {
                kind: match (x, y) {
                    (Some(_), Some(_)) => RowKind::Changed,
                    (Some(_), None) => RowKind::Mine,
                    _ => RowKind::Theirs,
                },
                mine: x.map(|s| s.to_string()),
                theirs: y.map(|s| s.to_string()),
            });
        }
    }
    rows
}

/// The conflict screen.
#[derive(Debug, Clone)]
pub struct ConflictScreen {
    name: String,
    base_version: u64,
    theirs: Theirs,
    rows: Vec<Row>,
    scroll: usize,
    /// The instance no longer exists.
    deleted: bool,
    /// Columns scrolled to the right (long lines).
    hscroll: usize,
    armed: bool,
    /// Rows visible at the last render (for page keys); set by the app via
    /// [`ConflictScreen::set_page`], defaults to 10.
    page: usize,
    /// The lines of the text the edit started from, when known: who changed
    /// a line is read against it.
    base_lines: Option<std::collections::HashSet<String>>,
    base_updated_at: Option<DateTime<Utc>>,
    /// Fields other than json_spec they changed.
    fields: Vec<FieldChange>,
    /// Both changes in one text, when they touch different keys.
    merged: Option<String>,
}

impl ConflictScreen {
    /// `mine` is the editor's text, based on `base_version`; `theirs` is
    /// the instance as it is now.
    pub fn new(name: &str, mine: &str, base_version: u64, theirs: Theirs) -> ConflictScreen {
        let rows = align(mine, &theirs.text);
        ConflictScreen {
            name: name.to_string(),
            base_version,
            theirs,
            rows,
            scroll: 0,
            deleted: false,
            hscroll: 0,
            armed: false,
            page: 10,
            base_lines: None,
            base_updated_at: None,
            fields: Vec::new(),
            merged: None,
        }
    }

    /// Say what the edit started from: lines are then marked by who changed
    /// them, their changes to other fields are listed, and a merge is
    /// offered when the two changes touch different keys.
    pub fn with_base(mut self, base: Base, mine: &str) -> ConflictScreen {
        self.base_lines = Some(base.text.lines().map(str::to_string).collect());
        self.base_updated_at = base.updated_at;
        let shown = |v: &Option<String>| match v {
            Some(s) => format!("'{}'", crate::domain::text::shown(s)),
            None => "none".to_string(),
        };
        if base.name.is_some() && self.theirs.name.is_some() && base.name != self.theirs.name {
            self.fields.push(FieldChange {
                field: "name",
                before: shown(&base.name),
                now: shown(&self.theirs.name),
            });
        }
        if base.description != self.theirs.description {
            self.fields.push(FieldChange {
                field: "description",
                before: shown(&base.description),
                now: shown(&self.theirs.description),
            });
        }
        let parse = |t: &str| serde_json::from_str::<Value>(t).ok();
        if let (Some(b), Some(m), Some(t)) =
            (parse(&base.text), parse(mine), parse(&self.theirs.text))
        {
            if b != t {
                self.fields.push(FieldChange {
                    field: "json_spec",
                    before: String::new(),
                    now: String::new(),
                });
            }
            if m != b
                && let Some(v) = crate::tui::merge::merge_json(&b, &m, &t)
                && v != t
            {
                self.merged = Some(pretty(&v));
            }
        }
        self
    }

    /// The merged text, when the two changes do not overlap.
    pub fn merged(&self) -> Option<&str> {
        self.merged.as_deref()
    }

    /// The fields they changed (json_spec included), known with a base.
    pub fn field_changes(&self) -> &[FieldChange] {
        &self.fields
    }

    /// Whether the platform keeps versions; AgentArea's reads as 0 and
    /// preconditions compare `updated_at`.
    fn versioned(&self) -> bool {
        self.base_version > 0 || self.theirs.version > 0
    }

    /// "version 3" or "updated_at 12:00:01" for the edit's starting point.
    fn base_label(&self) -> String {
        if self.versioned() {
            format!("version {}", self.base_version)
        } else {
            match self.base_updated_at {
                Some(at) => format!("updated_at {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
                None => "the copy you opened".to_string(),
            }
        }
    }

    /// "version 5" or "updated_at 12:01:03" for theirs.
    fn their_label(&self) -> String {
        if self.versioned() {
            format!("version {}", self.theirs.version)
        } else {
            match self.theirs.updated_at {
                Some(at) => format!("updated_at {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
                None => "the current copy".to_string(),
            }
        }
    }

    /// The instance was deleted while `mine` was being edited.
    pub fn deleted(name: &str, mine: &str, base_version: u64) -> ConflictScreen {
        let mut s = ConflictScreen::new(
            name,
            mine,
            base_version,
            Theirs {
                text: String::new(),
                version: base_version,
                updated_at: None,
                updated_by: None,
                name: Some(name.to_string()),
                description: None,
            },
        );
        s.deleted = true;
        s
    }

    /// Whether the instance was deleted meanwhile.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn theirs(&self) -> &Theirs {
        &self.theirs
    }

    /// Whether the overwrite question is showing.
    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// How many rows a page key moves.
    pub fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
    }

    fn max_scroll(&self) -> usize {
        self.rows.len().saturating_sub(1)
    }

    /// The keymap's `[conflict]` keys: reload theirs, overwrite then yes,
    /// merge, recreate (deleted only), back to editing, and scrolling.
    pub fn handle_key(&mut self, keymap: &Keymap, key: KeyEvent) -> ConflictOutcome {
        if key.kind == KeyEventKind::Release {
            return ConflictOutcome::None;
        }
        let action = keymap.action(View::Conflict, &key);
        if self.armed {
            self.armed = false;
            return match action {
                Some(Action::Yes) => ConflictOutcome::Overwrite {
                    their_version: self.theirs.version,
                },
                _ => ConflictOutcome::None,
            };
        }
        match action {
            Some(Action::Recreate) if self.deleted => return ConflictOutcome::Recreate,
            Some(Action::ReloadTheirs | Action::Overwrite) if self.deleted => {}
            Some(Action::ReloadTheirs) => return ConflictOutcome::ReloadTheirs,
            Some(Action::Merge) if self.merged.is_some() => {
                return ConflictOutcome::Merge {
                    their_version: self.theirs.version,
                };
            }
            Some(Action::Overwrite) => self.armed = true,
            Some(Action::Back) => return ConflictOutcome::BackToEditing,
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::Down) => self.scroll = (self.scroll + 1).min(self.max_scroll()),
            Some(Action::PageUp) => self.scroll = self.scroll.saturating_sub(self.page),
            Some(Action::PageDown) => {
                self.scroll = (self.scroll + self.page).min(self.max_scroll())
            }
            Some(Action::ScrollLeft) => self.hscroll = self.hscroll.saturating_sub(8),
            Some(Action::ScrollRight) => {
                let longest = self
                    .rows
                    .iter()
                    .flat_map(|r| [&r.mine, &r.theirs])
                    .flatten()
                    .map(|l| l.chars().count())
                    .max()
                    .unwrap_or(0);
                self.hscroll = (self.hscroll + 8).min(longest.saturating_sub(1));
            }
            Some(Action::Top) => self.scroll = 0,
            Some(Action::Bottom) => self.scroll = self.max_scroll(),
            _ => {}
        }
        ConflictOutcome::None
    }

    fn who_when(&self) -> String {
        if !self.versioned() {
            let mut s = self.their_label();
            if let Some(by) = &self.theirs.updated_by {
                s.push_str(&format!(", changed by {by}"));
            }
            return s;
        }
        let mut s = format!("version {}", self.theirs.version);
        if let Some(by) = &self.theirs.updated_by {
            s.push_str(&format!(", changed by {by}"));
        }
        if let Some(at) = self.theirs.updated_at {
            s.push_str(&format!(" at {}", at.format("%Y-%m-%d %H:%M:%S UTC")));
        }
        s
    }

    /// One line naming every field they changed, when the base is known.
    fn fields_line(&self, theme: &Theme) -> Option<Line<'static>> {
        self.base_lines.as_ref()?;
        if self.fields.is_empty() {
            return Some(Line::from(Span::styled(
                "They changed no field you can see (perhaps only its status).",
                theme.dim,
            )));
        }
        let mut spans = vec![Span::styled("They changed: ", theme.base)];
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(", ", theme.base));
            }
            spans.push(Span::styled(f.field, theme.header));
            if !f.before.is_empty() || !f.now.is_empty() {
                spans.push(Span::styled(
                    format!(" {} → {}", f.before, f.now),
                    theme.base,
                ));
            }
        }
        if self.fields.iter().any(|f| f.field != "json_spec") {
            spans.push(Span::styled(
                " (saving changes only json_spec; the rest stays theirs)",
                theme.dim,
            ));
        }
        spans.push(Span::styled(".", theme.base));
        Some(Line::from(spans))
    }

    /// Draw the screen over `area` (it clears what is beneath).
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap) {
        let keys = |a: Action| keymap.keys_for(View::Conflict, a).join("/");
        let scroll = keymap.motion_keys(
            View::Conflict,
            &[
                Action::Up,
                Action::Down,
                Action::ScrollLeft,
                Action::ScrollRight,
            ],
        );
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.warning)
            .title(Span::styled(
                if self.deleted {
                    format!(" Conflict: '{}' was deleted ", self.name)
                } else {
                    format!(" Conflict: '{}' changed while you were editing ", self.name)
                },
                theme.title,
            ))
            .style(theme.base);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.width == 0 || inner.height == 0 {
            return;
        }
        let changed = self.rows.iter().filter(|r| r.kind != RowKind::Same).count();
        let intro = if self.deleted {
            vec![
                Line::from(Span::styled(
                    format!(
                        "'{}' was deleted while you were editing {}.",
                        self.name,
                        self.base_label()
                    ),
                    theme.base,
                )),
                Line::from(Span::styled(
                    "Your text is kept. Nothing is saved until you choose.",
                    theme.dim,
                )),
            ]
        } else {
            let mut v = vec![Line::from(vec![
                Span::styled("You edited ", theme.base),
                Span::styled(self.base_label(), theme.header),
                Span::styled("; it is now ", theme.base),
                Span::styled(self.who_when(), theme.header),
                Span::styled(".", theme.base),
            ])];
            v.extend(self.fields_line(theme));
            let legend = if self.base_lines.is_some() {
                " + marks a line that side changed or added."
            } else {
                ""
            };
            v.push(Line::from(Span::styled(
                format!(
                    "{changed} line{} differ{}.{legend} Nothing is saved until you choose.",
                    if changed == 1 { "" } else { "s" },
                    if changed == 1 { "s" } else { "" }
                ),
                theme.dim,
            )));
            v
        };
        // Rows the intro takes once wrapped (a little conservative: words
        // wrap before the edge), and a blank row under it.
        let wrap_at = usize::from(inner.width).saturating_sub(6).max(1);
        let rows: usize = intro
            .iter()
            .map(|l| l.width().div_ceil(wrap_at).max(1))
            .sum();
        let want = u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(1);
        let intro_rows: u16 = if inner.height >= 10 { want } else { 0 };
        let [top, panes, footer] = Layout::vertical([
            Constraint::Length(intro_rows),
            Constraint::Min(1),
            Constraint::Length(if inner.height >= 4 { 2 } else { 1 }),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(intro).wrap(Wrap { trim: true }), top);

        let [left, right] =
            Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(panes);
        self.render_side(frame, left, theme, true);
        self.render_side(frame, right, theme, false);

        let footer_lines = if self.deleted {
            vec![Line::from(vec![
                Span::styled(keys(Action::Recreate), theme.key),
                Span::styled(" create it again from yours  ", theme.base),
                Span::styled(keys(Action::Back), theme.key),
                Span::styled(" back to editing  ", theme.base),
                Span::styled(scroll.clone(), theme.key),
                Span::styled(" scroll", theme.base),
            ])]
        } else if self.armed {
            vec![Line::from(vec![
                Span::styled(
                    if self.versioned() {
                        format!("Overwrite version {} with your text? ", self.theirs.version)
                    } else {
                        format!(
                            "Overwrite their change ({}) with your text? ",
                            self.their_label()
                        )
                    },
                    theme.warning,
                ),
                Span::styled(keys(Action::Yes), theme.key),
                Span::styled(" overwrite  ", theme.base),
                Span::styled("any other key", theme.key),
                Span::styled(" cancel", theme.base),
            ])]
        } else {
            let mut spans = vec![
                Span::styled(keys(Action::ReloadTheirs), theme.key),
                Span::styled(" reload theirs (discard yours)  ", theme.base),
            ];
            if self.merged.is_some() {
                spans.push(Span::styled(keys(Action::Merge), theme.key));
                spans.push(Span::styled(
                    " merge: keep both (they touch different keys)  ",
                    theme.ok,
                ));
            }
            spans.extend([
                Span::styled(keys(Action::Overwrite), theme.key),
                Span::styled(" overwrite theirs with yours  ", theme.base),
                Span::styled(keys(Action::Back), theme.key),
                Span::styled(" back to editing  ", theme.base),
                Span::styled(scroll.clone(), theme.key),
                Span::styled(" scroll", theme.base),
            ]);
            vec![Line::from(spans)]
        };
        frame.render_widget(
            Paragraph::new(footer_lines).wrap(Wrap { trim: true }),
            footer,
        );
    }

    fn render_side(&self, frame: &mut Frame, area: Rect, theme: &Theme, mine: bool) {
        let title = if mine {
            format!(" yours (based on {}) ", self.base_label())
        } else if self.deleted {
            " theirs (deleted) ".to_string()
        } else {
            format!(" theirs ({}) ", self.their_label())
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(title, theme.header));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let lines: Vec<Line> = self
            .rows
            .iter()
            .skip(self.scroll)
            .take(inner.height as usize)
            .map(|r| {
                let text = if mine { &r.mine } else { &r.theirs };
                // With the base known: a line this side has and the base has
                // not is this side's change; one the base had is the other
                // side's removal (left unmarked here).
                let own_change = match (&self.base_lines, text) {
                    (Some(b), Some(t)) => !b.contains(t),
                    _ => true,
                };
                let (marker, style): (&str, Style) = match (r.kind, text.is_some()) {
                    _ if self.deleted => ("  ", theme.base),
                    (RowKind::Same, _) => ("  ", theme.base),
                    (_, false) => ("  ", theme.dim),
                    (_, true) if self.base_lines.is_some() => {
                        if own_change {
                            ("+ ", theme.changed)
                        } else {
                            ("  ", theme.base)
                        }
                    }
                    (RowKind::Changed, true) => ("~ ", theme.changed),
                    // Without a base: the line is on this side only.
                    (RowKind::Mine, true) | (RowKind::Theirs, true) => ("+ ", theme.changed),
                };
                let marker_style = if r.kind == RowKind::Same {
                    theme.dim
                } else {
                    theme.warning
                };
                let shown: String = text
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .skip(self.hscroll)
                    .collect();
                Line::from(vec![
                    Span::styled(marker, marker_style),
                    Span::styled(shown, style),
                ])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use crossterm::event::{KeyCode, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn km() -> Keymap {
        Keymap::preset("default").unwrap()
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    const MINE: &str =
        "{\n  \"command\": \"npx\",\n  \"args\": [\"-y\", \"server-a\"],\n  \"cwd\": \"/srv\"\n}\n";
    const THEIRS: &str = "{\n  \"command\": \"npx\",\n  \"args\": [\"-y\", \"server-b\"],\n  \"env_vars\": {\n    \"ROOT\": \"/data\"\n  },\n  \"cwd\": \"/srv\"\n}\n";

    fn screen() -> ConflictScreen {
        ConflictScreen::new(
            "files",
            MINE,
            3,
            Theirs {
                text: THEIRS.into(),
                version: 5,
                updated_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 12, 1, 3).unwrap()),
                updated_by: Some("cli on bastion-1 (pid 4242)".into()),
                name: Some("files".into()),
                description: Some("shared files".into()),
            },
        )
    }

    #[test]
    fn align_marks_changed_and_one_sided_lines() {
        let rows = align(MINE, THEIRS);
        let kinds: Vec<RowKind> = rows.iter().map(|r| r.kind).collect();
        use RowKind::*;
        assert_eq!(
            kinds,
            vec![Same, Same, Changed, Theirs, Theirs, Theirs, Same, Same]
        );
        assert_eq!(
            rows[2].mine.as_deref(),
            Some("  \"args\": [\"-y\", \"server-a\"],")
        );
        assert_eq!(
            rows[2].theirs.as_deref(),
            Some("  \"args\": [\"-y\", \"server-b\"],")
        );
        assert_eq!(rows[3].mine, None);
        // Identical texts: all same; one empty side: all one-sided.
        assert!(align(MINE, MINE).iter().all(|r| r.kind == Same));
        assert!(align("", "a\nb").iter().all(|r| r.kind == Theirs));
        assert!(align("a\nb", "").iter().all(|r| r.kind == Mine));
    }

    #[test]
    fn overwrite_needs_a_second_key() {
        let mut s = screen();
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('o'))),
            ConflictOutcome::None
        );
        assert!(s.is_armed());
        // Anything but y cancels.
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('o'))),
            ConflictOutcome::None
        );
        assert!(!s.is_armed());
        s.handle_key(&km(), key(KeyCode::Char('o')));
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('y'))),
            ConflictOutcome::Overwrite { their_version: 5 }
        );
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('y'))),
            ConflictOutcome::None
        );
    }

    #[test]
    fn reload_back_and_scroll() {
        let mut s = screen();
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('r'))),
            ConflictOutcome::ReloadTheirs
        );
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Esc)),
            ConflictOutcome::BackToEditing
        );
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('e'))),
            ConflictOutcome::BackToEditing
        );
        s.handle_key(&km(), key(KeyCode::End));
        assert_eq!(s.scroll, s.rows().len() - 1);
        s.handle_key(&km(), key(KeyCode::Down));
        assert_eq!(s.scroll, s.rows().len() - 1, "stops at the end");
        s.handle_key(&km(), key(KeyCode::Home));
        s.handle_key(&km(), key(KeyCode::Up));
        assert_eq!(s.scroll, 0);
        s.handle_key(&km(), key(KeyCode::Right));
        assert_eq!(s.hscroll, 8);
        for _ in 0..20 {
            s.handle_key(&km(), key(KeyCode::Right));
        }
        assert_eq!(
            s.hscroll, 28,
            "stops at the last character of the longest line"
        );
        s.handle_key(&km(), key(KeyCode::Left));
        assert_eq!(s.hscroll, 20);
        let ctrl_r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(s.handle_key(&km(), ctrl_r), ConflictOutcome::None);
    }

    #[test]
    fn its_keys_are_the_keymaps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[conflict]\nreload_theirs = \"R\"\noverwrite = \"ctrl-o\"\nyes = \"Y\"\nback = \"q\"\n",
        )
        .unwrap();
        let mine = Keymap::load("default", Some(dir.path())).unwrap();
        let mut s = screen();
        // The old keys do nothing once rebound.
        for c in ['r', 'o', 'e'] {
            assert_eq!(
                s.handle_key(&mine, key(KeyCode::Char(c))),
                ConflictOutcome::None
            );
        }
        assert_eq!(
            s.handle_key(&mine, key(KeyCode::Esc)),
            ConflictOutcome::None
        );
        assert!(!s.is_armed());
        assert_eq!(
            s.handle_key(
                &mine,
                KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT)
            ),
            ConflictOutcome::ReloadTheirs
        );
        assert_eq!(
            s.handle_key(&mine, key(KeyCode::Char('q'))),
            ConflictOutcome::BackToEditing
        );
        s.handle_key(
            &mine,
            KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL),
        );
        assert!(s.is_armed());
        assert_eq!(
            s.handle_key(&mine, key(KeyCode::Char('Y'))),
            ConflictOutcome::Overwrite { their_version: 5 }
        );
        // The footer names the keys in effect.
        let mut term = Terminal::new(TestBackend::new(120, 24)).unwrap();
        term.draw(|f| s.render(f, f.area(), &Theme::default_dark(), &mine))
            .unwrap();
        let text = crate::tui::fixtures::screen_text(term.backend().buffer());
        assert!(text.contains("R reload theirs"), "{text}");
        assert!(text.contains("ctrl-o overwrite theirs"), "{text}");
        assert!(text.contains("q back to editing"), "{text}");
    }

    #[test]
    fn theirs_from_an_instance_carries_who_and_when() {
        let json = serde_json::json!({
            "id": "6f1c1b7e-8d59-4a43-9d6a-0f2f5b7f2a11",
            "name": "files",
            "description": null,
            "server_spec_id": null,
            "json_spec": {"command": "npx"},
            "status": "running",
            "desired_state": "running",
            "created_at": "2026-11-25T12:00:00Z",
            "updated_at": "2026-11-25T12:01:03Z",
            "version": 5,
            "updated_by": "serve"
        });
        let inst: Instance = serde_json::from_value(json).unwrap();
        let t = Theirs::from_instance(&inst);
        assert_eq!(t.version, 5);
        assert_eq!(t.updated_by.as_deref(), Some("serve"));
        assert_eq!(t.text, "{\n  \"command\": \"npx\"\n}\n");
    }

    #[test]
    fn deleted_meanwhile_offers_recreate_only() {
        let mut s = ConflictScreen::deleted("files", MINE, 3);
        assert!(s.is_deleted());
        assert!(s.rows().iter().all(|r| r.kind == RowKind::Mine));
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('r'))),
            ConflictOutcome::None
        );
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('o'))),
            ConflictOutcome::None
        );
        assert!(!s.is_armed());
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Char('c'))),
            ConflictOutcome::Recreate
        );
        assert_eq!(
            s.handle_key(&km(), key(KeyCode::Esc)),
            ConflictOutcome::BackToEditing
        );
        // On a live conflict, 'c' does nothing.
        assert_eq!(
            screen().handle_key(&km(), key(KeyCode::Char('c'))),
            ConflictOutcome::None
        );
        insta::assert_snapshot!("conflict_deleted_80x24", draw(&s, 80, 24).backend());
        draw(&s, 40, 12);
    }

    fn draw(s: &ConflictScreen, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| s.render(f, f.area(), &Theme::default_dark(), &km()))
            .unwrap();
        term
    }

    #[test]
    fn snapshots() {
        let s = screen();
        insta::assert_snapshot!("conflict_80x24", draw(&s, 80, 24).backend());
        insta::assert_snapshot!("conflict_200x50", draw(&s, 200, 50).backend());
        let mut armed = screen();
        armed.handle_key(&km(), key(KeyCode::Char('o')));
        insta::assert_snapshot!("conflict_armed_80x24", draw(&armed, 80, 24).backend());
    }

    #[test]
    fn renders_small_and_tiny_without_panicking() {
        let s = screen();
        for (w, h) in [(40, 12), (12, 4), (1, 1), (0, 0)] {
            draw(&s, w, h);
        }
    }
}
