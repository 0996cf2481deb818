//! The json_spec editor: a `tui_textarea::TextArea` with live validation
//! (line:column for JSON syntax, JSON pointers for rule problems), the
//! detected provider kind, save only when valid, a confirm before
//! discarding changes, and the state the app needs to write drafts.
//!
//! The editor edits the real spec text; it never logs it.
//!
//! How the app drives it:
//! - while it is open, every key goes to [`Editor::handle_key`] (no global
//!   keys), pastes to [`Editor::paste`], the wheel to [`Editor::handle_mouse`];
//! - on each tick, `if e.draft_due(now) { drafts.save(&e.draft()); e.mark_drafted() }`;
//! - [`EditorOutcome::Save`]: update the instance against the mode's
//!   version; on success `drafts.remove(&e.saved(Some((version, at))))`; on a
//!   version conflict open a [`crate::tui::conflict::ConflictScreen`] with
//!   `e.text()`, then `ReloadTheirs` → [`Editor::reload`], `Overwrite` →
//!   [`Editor::rebase`] and save again, `BackToEditing` → back here; if the
//!   instance is gone, [`crate::tui::conflict::ConflictScreen::deleted`] and
//!   `Recreate` → create what [`Editor::recreate`] returns;
//! - [`EditorOutcome::Create`]: create it; on success remove the draft;
//!   on failure [`Editor::set_message`] with the reason;
//! - [`EditorOutcome::Close`]: remove the draft ([`Editor::draft_key`]) and close;
//! - at start, offer `drafts.list()` in a [`crate::tui::drafts::DraftPrompt`]
//!   and reopen one with [`Editor::from_draft`].

use crate::domain::spec::{self, Parsed, Position, ProviderKind, Report, Severity};
use crate::tui::drafts::{Draft, DraftMode};
use crate::tui::keymap::{Action, Keymap, View};
use crate::tui::templates::Template;
use crate::tui::theme::Theme;
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use serde_json::Value;
use std::time::{Duration, Instant};
use tui_textarea::TextArea;
use uuid::Uuid;

/// How long typing must pause before a draft is due.
pub const DRAFT_IDLE: Duration = Duration::from_millis(500);

/// What is being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorMode {
    /// A new instance, from a template (by id) or from nothing.
    Create { template: Option<String> },
    /// An existing instance's json_spec as of `version` / `updated_at`.
    Edit {
        id: Uuid,
        name: String,
        version: u64,
        updated_at: Option<DateTime<Utc>>,
    },
}

impl EditorMode {
    fn draft_mode(&self) -> DraftMode {
        match self {
            EditorMode::Create { template } => DraftMode::Create {
                template: template.clone(),
            },
            EditorMode::Edit {
                id,
                name,
                version,
                updated_at,
            } => DraftMode::Edit {
                id: *id,
                name: name.clone(),
                base_version: *version,
                base_updated_at: *updated_at,
            },
        }
    }
}

mod name;
mod render;
mod validation;

use render::style_textarea;

pub use name::{suggest_name, suggest_name_for};
pub use validation::{SyntaxError, Validation};

/// What a key did.
#[derive(Debug, Clone, PartialEq)]
pub enum EditorOutcome {
    /// Nothing for the app to do (text changed, cursor moved, a message shown).
    None,
    /// Save this json_spec over the instance being edited (valid; the app
    /// updates it against the mode's version, then calls [`Editor::saved`]
    /// or shows the conflict screen).
    Save(Value),
    /// Create a new instance (valid json_spec, a valid name the user
    /// typed); then [`Editor::saved`].
    Create { name: String, json_spec: Value },
    /// Close the editor; unsaved changes, if any, were discarded on purpose
    /// (the app should remove the draft).
    Close,
    /// Show help for the editor.
    Help,
}

#[derive(Debug, Clone)]
enum Confirm {
    Discard,
    /// Asking for the new instance's name (create mode), in a one-line input.
    Name(Box<TextArea<'static>>),
}

/// The editor component.
#[derive(Debug, Clone)]
pub struct Editor {
    mode: EditorMode,
    textarea: TextArea<'static>,
    /// The text as last loaded or saved; `None` for a restored draft
    /// (always unsaved).
    baseline: Option<String>,
    validation: Validation,
    last_change: Option<Instant>,
    drafted: bool,
    draft_key: String,
    confirm: Option<Confirm>,
    /// One sentence for the status line, and whether it is an error.
    message: Option<(String, bool)>,
    /// The `[editor]` and `[unsaved]` keys (the app's keymap, once given).
    keymap: Keymap,
    styled_for: Option<String>,
    /// The name last typed for a new instance.
    new_name: Option<String>,
    /// In create mode: what the backend refuses to create is an error here
    /// too (AgentArea: containers only).
    create_rules: Option<crate::platform::BackendProfile>,
}

fn textarea_of(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut ta = TextArea::new(lines);
    ta.set_tab_length(2);
    ta.set_hard_tab_indent(false);
    ta
}

/// The text minus one trailing newline (the textarea has no final empty line).
fn trimmed(text: &str) -> &str {
    text.strip_suffix('\n').unwrap_or(text)
}

impl Editor {
    /// Open `text` for `mode`.
    pub fn new(mode: EditorMode, text: &str) -> Editor {
        let text = text.replace("\r\n", "\n");
        let text = trimmed(&text);
        let draft_key = Draft::key_for(&mode.draft_mode());
        let mut e = Editor {
            mode,
            textarea: textarea_of(text),
            baseline: Some(text.to_string()),
            validation: Validation::of(text),
            last_change: None,
            drafted: true,
            draft_key,
            confirm: None,
            message: None,
            keymap: Keymap::shipped_default().clone(),
            styled_for: None,
            new_name: None,
            create_rules: None,
        };
        e.apply_theme(&Theme::default_dark());
        e
    }

    /// In create mode, also check what `profile`'s backend will refuse to
    /// create, so the problem shows at its pointer before anything is sent.
    pub fn with_create_rules(
        mut self,
        profile: Option<&crate::platform::BackendProfile>,
    ) -> Editor {
        if matches!(self.mode, EditorMode::Create { .. }) {
            self.create_rules = profile.cloned();
            self.validation = self.validate_text(&self.text());
        }
        self
    }

    fn validate_text(&self, text: &str) -> Validation {
        let mut v = Validation::of(text);
        if let (Some(p), Validation::Checked { value, report, at }) = (&self.create_rules, &mut v) {
            for issue in p.create_issues(value) {
                at.push(spec::locate(text, &issue.pointer));
                report.issues.push(issue);
            }
        }
        v
    }

    /// A new instance from a template.
    pub fn create(template: &Template) -> Editor {
        Editor::new(
            EditorMode::Create {
                template: Some(template.id.to_string()),
            },
            &template.text,
        )
    }

    /// An existing instance's json_spec, pretty-printed.
    pub fn edit(
        id: Uuid,
        name: &str,
        version: u64,
        updated_at: Option<DateTime<Utc>>,
        json_spec: &Value,
    ) -> Editor {
        Editor::new(
            EditorMode::Edit {
                id,
                name: name.to_string(),
                version,
                updated_at,
            },
            &pretty(json_spec),
        )
    }

    /// Reopen a draft (after a crash or a dropped session): unsaved by
    /// definition, under the same draft key.
    pub fn from_draft(d: &Draft) -> Editor {
        let mode = match &d.mode {
            DraftMode::Create { template } => EditorMode::Create {
                template: template.clone(),
            },
            DraftMode::Edit {
                id,
                name,
                base_version,
                base_updated_at,
            } => EditorMode::Edit {
                id: *id,
                name: name.clone(),
                version: *base_version,
                updated_at: *base_updated_at,
            },
        };
        let mut e = Editor::new(mode, &d.text);
        e.baseline = None;
        e.draft_key = d.key.clone();
        e.message = Some(("restored an unsaved draft".into(), false));
        e
    }

    /// Use the keymap's `[editor]` keys for save, back and help.
    pub fn set_keys(&mut self, km: &Keymap) {
        self.keymap = km.clone();
    }

    /// Style the text area for `theme` (render does it on the fly if not).
    pub fn apply_theme(&mut self, theme: &Theme) {
        style_textarea(&mut self.textarea, theme);
        self.styled_for = Some(theme.name.clone());
    }

    pub fn mode(&self) -> &EditorMode {
        &self.mode
    }

    /// The current text.
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    pub fn kind(&self) -> Option<ProviderKind> {
        self.validation.kind()
    }

    /// Whether the text differs from what was loaded or last saved.
    pub fn is_dirty(&self) -> bool {
        match &self.baseline {
            Some(b) => *b != self.text(),
            None => true,
        }
    }

    /// The cursor as 1-based (line, column).
    pub fn cursor(&self) -> (usize, usize) {
        let (r, c) = self.textarea.cursor();
        (r + 1, c + 1)
    }

    /// When the text last changed.
    pub fn last_change(&self) -> Option<Instant> {
        self.last_change
    }

    pub fn draft_key(&self) -> &str {
        &self.draft_key
    }

    /// Whether a draft should be written now: unsaved changes, typing has
    /// paused for [`DRAFT_IDLE`], and none was written since the last change.
    pub fn draft_due(&self, now: Instant) -> bool {
        !self.drafted
            && self.is_dirty()
            && self
                .last_change
                .is_some_and(|t| now.saturating_duration_since(t) >= DRAFT_IDLE)
    }

    /// The draft to write for the current text.
    pub fn draft(&self) -> Draft {
        Draft {
            key: self.draft_key.clone(),
            mode: self.mode.draft_mode(),
            text: self.text(),
            saved_at: Utc::now(),
        }
    }

    /// Record that the draft for the current text was written.
    pub fn mark_drafted(&mut self) {
        self.drafted = true;
    }

    /// The save went through: the text is the new baseline. For an edit,
    /// pass the instance's new version and update time. Returns the draft
    /// key, which the app should now remove.
    pub fn saved(&mut self, version: Option<(u64, DateTime<Utc>)>) -> String {
        self.baseline = Some(self.text());
        self.drafted = true;
        if let (
            EditorMode::Edit {
                version: v,
                updated_at,
                ..
            },
            Some((nv, at)),
        ) = (&mut self.mode, version)
        {
            *v = nv;
            *updated_at = Some(at);
        }
        self.message = Some(("saved".into(), false));
        self.draft_key.clone()
    }

    /// Replace the text with the instance as it now is (the conflict
    /// screen's "reload theirs"): mine is discarded.
    pub fn reload(&mut self, version: u64, updated_at: Option<DateTime<Utc>>, json_spec: &Value) {
        let text = pretty(json_spec);
        let text = trimmed(&text);
        self.textarea = textarea_of(text);
        self.styled_for = None;
        self.baseline = Some(text.to_string());
        self.validation = Validation::of(text);
        self.drafted = true;
        self.last_change = None;
        if let EditorMode::Edit {
            version: v,
            updated_at: u,
            ..
        } = &mut self.mode
        {
            *v = version;
            *u = updated_at;
        }
        // AgentArea keeps no versions (0): name its updated_at instead.
        let what = match (version, updated_at) {
            (0, Some(at)) => format!("the copy of {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
            _ => format!("version {version}"),
        };
        self.message = Some((
            format!("reloaded {what}; your changes were discarded"),
            false,
        ));
    }

    /// The text as last loaded or saved (`None` for a restored draft).
    pub fn baseline(&self) -> Option<&str> {
        self.baseline.as_deref()
    }

    /// Replace the text (the conflict screen's merge): the baseline stays,
    /// so the result is unsaved until the user saves it.
    pub fn replace_text(&mut self, text: &str) {
        let text = trimmed(text);
        self.textarea = textarea_of(text);
        self.styled_for = None;
        self.validation = Validation::of(text);
        self.drafted = false;
        self.last_change = Some(Instant::now());
    }

    /// Keep my text but base it on the instance's current version (the
    /// conflict screen's "overwrite"): the next save replaces theirs.
    pub fn rebase(&mut self, version: u64, updated_at: Option<DateTime<Utc>>) {
        if let EditorMode::Edit {
            version: v,
            updated_at: u,
            ..
        } = &mut self.mode
        {
            *v = version;
            *u = updated_at;
        }
        self.drafted = false;
    }

    /// The instance was deleted meanwhile (the conflict screen's
    /// "create it again"): from now on this creates a new instance with the
    /// old name. Returns what to create when the text is valid.
    pub fn recreate(&mut self) -> Option<(String, Value)> {
        if let EditorMode::Edit { name, .. } = &self.mode {
            self.new_name = Some(name.clone());
            self.mode = EditorMode::Create { template: None };
            self.baseline = None;
            self.drafted = false;
        }
        match &self.validation {
            Validation::Checked { value, report, .. } if report.is_valid() => {
                self.new_name.clone().map(|n| (n, value.clone()))
            }
            _ => None,
        }
    }

    /// Show one sentence in the status line (e.g. why a save failed).
    pub fn set_message(&mut self, message: impl Into<String>, is_error: bool) {
        self.message = Some((message.into(), is_error));
    }

    /// Whether the discard question is showing.
    pub fn is_confirming(&self) -> bool {
        matches!(self.confirm, Some(Confirm::Discard))
    }

    /// Whether the name prompt (create mode) is showing.
    pub fn is_naming(&self) -> bool {
        matches!(self.confirm, Some(Confirm::Name(_)))
    }

    fn open_name_prompt(&mut self, json_spec: &Value) {
        let template = match &self.mode {
            EditorMode::Create { template } => template.clone(),
            EditorMode::Edit { .. } => None,
        };
        let name = self
            .new_name
            .clone()
            .unwrap_or_else(|| suggest_name_for(template.as_deref(), json_spec));
        let mut input = TextArea::new(vec![name]);
        input.move_cursor(tui_textarea::CursorMove::End);
        self.confirm = Some(Confirm::Name(Box::new(input)));
    }

    fn handle_name_key(&mut self, key: KeyEvent) -> EditorOutcome {
        let Some(Confirm::Name(input)) = &mut self.confirm else {
            return EditorOutcome::None;
        };
        match key.code {
            KeyCode::Esc => {
                self.confirm = None;
                EditorOutcome::None
            }
            KeyCode::Enter => {
                let name = input.lines().concat().trim().to_string();
                if let Err(msg) = crate::domain::instance::validate_name(&name) {
                    self.message = Some((msg.to_string(), true));
                    return EditorOutcome::None;
                }
                let Validation::Checked { value, report, .. } = &self.validation else {
                    self.confirm = None;
                    return EditorOutcome::None;
                };
                if !report.is_valid() {
                    self.confirm = None;
                    return EditorOutcome::None;
                }
                let json_spec = value.clone();
                self.confirm = None;
                self.message = None;
                self.new_name = Some(name.clone());
                EditorOutcome::Create { name, json_spec }
            }
            // One line only.
            KeyCode::Char('m' | 'j') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                EditorOutcome::None
            }
            _ => {
                if input.input(key) {
                    self.message = None;
                }
                EditorOutcome::None
            }
        }
    }

    fn changed(&mut self) {
        self.validation = self.validate_text(&self.text());
        self.last_change = Some(Instant::now());
        self.drafted = false;
    }

    /// Insert pasted text (bracketed paste) at the cursor.
    pub fn paste(&mut self, text: &str) {
        if let Some(Confirm::Name(input)) = &mut self.confirm {
            input.insert_str(text.lines().next().unwrap_or_default().trim());
            return;
        }
        if self.confirm.is_some() {
            return;
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.textarea.insert_str(text) {
            self.message = None;
            self.changed();
        }
    }

    fn try_save(&mut self) -> EditorOutcome {
        match &self.validation {
            Validation::Syntax(e) => {
                self.message = Some((
                    format!(
                        "cannot save: line {}, column {}: {}",
                        e.line, e.column, e.message
                    ),
                    true,
                ));
                EditorOutcome::None
            }
            Validation::Checked { report, .. } if !report.is_valid() => {
                self.message = Some((format!("cannot save: {}", report.summary()), true));
                EditorOutcome::None
            }
            Validation::Checked { value, .. } => match self.mode {
                EditorMode::Create { .. } => {
                    let value = value.clone();
                    self.open_name_prompt(&value);
                    EditorOutcome::None
                }
                EditorMode::Edit { .. } if !self.is_dirty() => {
                    self.message = Some(("no changes to save".into(), false));
                    EditorOutcome::None
                }
                EditorMode::Edit { .. } => EditorOutcome::Save(value.clone()),
            },
        }
    }

    /// Handle one key.
    pub fn handle_key(&mut self, key: KeyEvent) -> EditorOutcome {
        if key.kind == KeyEventKind::Release {
            return EditorOutcome::None;
        }
        if self.is_naming() {
            return self.handle_name_key(key);
        }
        if let Some(Confirm::Discard) = self.confirm {
            return match self.keymap.action(View::Unsaved, &key) {
                Some(Action::Yes) => {
                    self.confirm = None;
                    EditorOutcome::Close
                }
                Some(Action::Save) => {
                    self.confirm = None;
                    self.try_save()
                }
                Some(Action::Back) => {
                    self.confirm = None;
                    EditorOutcome::None
                }
                _ => EditorOutcome::None,
            };
        }
        let action = self.keymap.action(View::Editor, &key);
        match action {
            Some(Action::Save) => return self.try_save(),
            Some(Action::Back) if self.is_dirty() => {
                self.confirm = Some(Confirm::Discard);
                return EditorOutcome::None;
            }
            Some(Action::Back) => return EditorOutcome::Close,
            Some(Action::Help) => return EditorOutcome::Help,
            Some(Action::JumpToProblem) => {
                self.jump_to_problem();
                return EditorOutcome::None;
            }
            _ => {}
        }
        let modified = if action == Some(Action::Undo) {
            let undone = self.textarea.undo();
            if !undone {
                self.message = Some(("nothing to undo".into(), false));
                return EditorOutcome::None;
            }
            true
        } else if action == Some(Action::Redo) {
            let redone = self.textarea.redo();
            if !redone {
                self.message = Some(("nothing to redo".into(), false));
                return EditorOutcome::None;
            }
            true
        } else if key.code == KeyCode::Enter && key.modifiers.is_empty() {
            self.newline_with_indent();
            true
        } else {
            self.textarea.input(key)
        };
        if modified {
            self.message = None;
            self.changed();
        }
        EditorOutcome::None
    }

    /// The lines (1-based) that hold an error.
    pub fn error_lines(&self) -> Vec<usize> {
        match &self.validation {
            Validation::Syntax(e) => vec![e.line],
            Validation::Checked { report, at, .. } => report
                .issues
                .iter()
                .zip(at.iter())
                .filter(|(i, _)| i.severity == Severity::Error)
                .filter_map(|(_, p)| p.map(|p| p.line))
                .collect(),
        }
    }

    /// Move the cursor to the first problem (see [`Validation::first_position`]).
    pub fn jump_to_problem(&mut self) {
        if let Some((line, column)) = self.validation.first_position() {
            let row = line.saturating_sub(1).min(u16::MAX as usize) as u16;
            let col = column.saturating_sub(1).min(u16::MAX as usize) as u16;
            self.textarea
                .move_cursor(tui_textarea::CursorMove::Jump(row, col));
        }
    }

    /// Mouse wheel scrolls the text.
    pub fn handle_mouse(&mut self, ev: MouseEvent) {
        if self.confirm.is_none() {
            self.textarea.input(ev);
        }
    }

    /// Enter keeps the current line's indent, one level deeper after an
    /// opening bracket.
    fn newline_with_indent(&mut self) {
        let (row, col) = self.textarea.cursor();
        let line = self.textarea.lines().get(row).cloned().unwrap_or_default();
        let mut indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let before: String = line.chars().take(col).collect();
        if matches!(before.trim_end().chars().last(), Some('{' | '[')) {
            indent.push_str("  ");
        }
        self.textarea.insert_newline();
        if !indent.is_empty() {
            self.textarea.insert_str(indent);
        }
    }
}

/// json_spec as the editor shows it: two-space indent, a final newline.
pub fn pretty(v: &Value) -> String {
    // Serializing a Value cannot fail (its keys are strings).
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
