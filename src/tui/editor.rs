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
use crate::tui::keymap::{Action, Keymap, View, key_label};
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

/// Moves the cursor to the first problem (as in many editors' "next problem").
pub const JUMP_KEY: KeyCode = KeyCode::F(8);

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

pub use crate::domain::spec::SyntaxError;

/// The result of the last validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    /// The text is not JSON.
    Syntax(SyntaxError),
    /// The text is JSON; the report says whether it is a valid json_spec.
    Checked {
        value: Value,
        report: Report,
        /// Where each of `report.issues` is in the text, when it can be found.
        at: Vec<Option<Position>>,
    },
}

impl Validation {
    /// Parse and validate json_spec text.
    pub fn of(text: &str) -> Validation {
        match spec::parse_spec(text) {
            Ok(Parsed { value, report }) => {
                let at = report
                    .issues
                    .iter()
                    .map(|i| spec::locate(text, &i.pointer))
                    .collect();
                Validation::Checked { value, report, at }
            }
            Err(mut e) => {
                e.message = plainer(&e.message);
                Validation::Syntax(e)
            }
        }
    }

    /// Where the first problem is (1-based line, column): the syntax
    /// error, else the first located error, else the first located issue.
    pub fn first_position(&self) -> Option<(usize, usize)> {
        match self {
            Validation::Syntax(e) => Some((e.line, e.column)),
            Validation::Checked { report, at, .. } => {
                let located = || report.issues.iter().zip(at.iter());
                located()
                    .find(|(i, p)| i.severity == Severity::Error && p.is_some())
                    .or_else(|| located().find(|(_, p)| p.is_some()))
                    .and_then(|(_, p)| p.map(|p| (p.line, p.column)))
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Validation::Checked { report, .. } if report.is_valid())
    }

    /// The provider kind, when the text is JSON.
    pub fn kind(&self) -> Option<ProviderKind> {
        match self {
            Validation::Checked { report, .. } => report.kind,
            Validation::Syntax(_) => None,
        }
    }

    /// How many findings of `severity` (a syntax error counts as one error).
    pub fn count(&self, severity: Severity) -> usize {
        match self {
            Validation::Syntax(_) => usize::from(severity == Severity::Error),
            Validation::Checked { report, .. } => report
                .issues
                .iter()
                .filter(|i| i.severity == severity)
                .count(),
        }
    }
}

/// serde_json's terse messages that the domain passes through, in words.
fn plainer(message: &str) -> String {
    match message {
        "expected `:`" => "expected ':' after the key".into(),
        "expected `,` or `}`" => "expected ',' or '}' (is a comma missing?)".into(),
        "expected `,` or `]`" => "expected ',' or ']' (is a comma missing?)".into(),
        "expected value" => {
            "expected a value (a \"string\", a number, {…}, […], true, false or null)".into()
        }
        "expected ident" => "expected true, false or null".into(),
        "invalid escape" => {
            "an invalid escape in a string (use \\\\, \\\", \\n, \\t or \\uXXXX)".into()
        }
        m if m.starts_with("control character") => {
            "a line break or control character inside a string; write it as \\n".into()
        }
        m => m.to_string(),
    }
}

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
    save_keys: Vec<KeyEvent>,
    back_keys: Vec<KeyEvent>,
    help_keys: Vec<KeyEvent>,
    undo_keys: Vec<KeyEvent>,
    redo_keys: Vec<KeyEvent>,
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
            save_keys: vec![KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)],
            back_keys: vec![KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)],
            help_keys: vec![KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)],
            undo_keys: vec![KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL)],
            redo_keys: vec![KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)],
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
        let keys = |a: Action| -> Vec<KeyEvent> {
            km.bindings(View::Editor)
                .into_iter()
                .filter(|b| b.action == a)
                .map(|b| b.key)
                .collect()
        };
        self.save_keys = keys(Action::Save);
        self.back_keys = keys(Action::Back);
        self.help_keys = keys(Action::Help);
        self.undo_keys = keys(Action::Undo);
        self.redo_keys = keys(Action::Redo);
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
        let is = |keys: &[KeyEvent]| {
            let label = key_label(&key);
            keys.iter().any(|k| key_label(k) == label)
        };
        if self.is_naming() {
            return self.handle_name_key(key);
        }
        if let Some(Confirm::Discard) = self.confirm {
            let plain = !key.modifiers.contains(KeyModifiers::CONTROL);
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('d') if plain => {
                    self.confirm = None;
                    EditorOutcome::Close
                }
                KeyCode::Char('s') if plain => {
                    self.confirm = None;
                    self.try_save()
                }
                _ if is(&self.save_keys) => {
                    self.confirm = None;
                    self.try_save()
                }
                KeyCode::Char('n') | KeyCode::Esc => {
                    self.confirm = None;
                    EditorOutcome::None
                }
                _ => EditorOutcome::None,
            };
        }
        if is(&self.save_keys) {
            return self.try_save();
        }
        if is(&self.back_keys) {
            if self.is_dirty() {
                self.confirm = Some(Confirm::Discard);
                return EditorOutcome::None;
            }
            return EditorOutcome::Close;
        }
        if is(&self.help_keys) {
            return EditorOutcome::Help;
        }
        if key.code == JUMP_KEY && key.modifiers.is_empty() {
            self.jump_to_problem();
            return EditorOutcome::None;
        }
        let modified = if is(&self.undo_keys) {
            let undone = self.textarea.undo();
            if !undone {
                self.message = Some(("nothing to undo".into(), false));
                return EditorOutcome::None;
            }
            true
        } else if is(&self.redo_keys) {
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

    /// Put a mark in the gutter of each visible line with an error: the
    /// textarea draws its line numbers as ` N ` in the first columns, so the
    /// rows showing an error line's number get `>` in the error style.
    fn mark_error_lines(&self, frame: &mut Frame, inner: Rect, theme: &Theme) {
        let lines = self.error_lines();
        if lines.is_empty() {
            return;
        }
        let digits = self.textarea.lines().len().max(1).to_string().len() as u16;
        let gutter = (digits + 2).min(inner.width);
        let buf = frame.buffer_mut();
        for y in inner.y..inner.y.saturating_add(inner.height) {
            let number: String = (inner.x..inner.x + gutter)
                .filter_map(|x| buf.cell((x, y)).map(|c| c.symbol().to_string()))
                .collect();
            let Ok(n) = number.trim().parse::<usize>() else {
                continue;
            };
            if lines.contains(&n)
                && let Some(cell) = buf.cell_mut((inner.x, y))
            {
                cell.set_symbol("▶").set_style(theme.error);
            }
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

    fn title(&self) -> String {
        match &self.mode {
            EditorMode::Create { template: Some(t) } => {
                format!(" new instance · from the {t} template ")
            }
            EditorMode::Create { template: None } => " new instance ".into(),
            // AgentArea keeps no versions (0): its updated_at names the copy.
            EditorMode::Edit {
                name,
                version: 0,
                updated_at: Some(at),
                ..
            } => format!(" edit {name} · updated_at {} ", at.format("%H:%M:%S UTC")),
            EditorMode::Edit { name, version, .. } => format!(" edit {name} · version {version} "),
        }
    }

    /// Draw the editor: text with line numbers, problems, status line.
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let problems = self.problem_lines(theme);
        let max_pane = (area.height / 3).max(3);
        let text_w = area.width.saturating_sub(2).max(1) as usize;
        let rows: usize = problems.iter().map(|l| wrapped_rows(l, text_w)).sum();
        let pane_h = (rows.min(usize::from(u16::MAX)) as u16)
            .saturating_add(2)
            .clamp(3, max_pane);
        let [main, pane, status] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(pane_h),
            Constraint::Length(1),
        ])
        .areas(area);

        // The text.
        let (verdict, vstyle) = self.verdict(theme);
        let kind = match self.kind() {
            Some(k) => k.as_str(),
            None => "kind unknown",
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focus)
            .title(Span::styled(self.title(), theme.title))
            .title_top(
                Line::from(vec![
                    Span::styled(format!(" {kind} · "), theme.header),
                    Span::styled(format!("{verdict} "), vstyle),
                ])
                .right_aligned(),
            )
            .style(theme.base);
        let inner = block.inner(main);
        frame.render_widget(block, main);
        if self.styled_for.as_deref() == Some(theme.name.as_str()) {
            frame.render_widget(&self.textarea, inner);
        } else {
            let mut ta = self.textarea.clone();
            style_textarea(&mut ta, theme);
            frame.render_widget(&ta, inner);
        }
        self.mark_error_lines(frame, inner, theme);

        // Problems.
        let errors = self.validation.count(Severity::Error);
        let warnings = self.validation.count(Severity::Warning);
        let pane_title = if errors + warnings == 0 {
            " problems ".to_string()
        } else {
            format!(
                " problems: {} ",
                [plural(errors, "error"), plural(warnings, "warning"),]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let pane_block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(pane_title, theme.header))
            .style(theme.base);
        let room = pane_block.inner(pane).height as usize;
        let mut shown = Vec::new();
        let mut used = 0;
        for (i, l) in problems.iter().enumerate() {
            let r = wrapped_rows(l, text_w);
            let last = i + 1 == problems.len();
            // Keep a row for "… and N more" unless this is the last problem.
            if used + r > room || (!last && used + r == room && room > 1) {
                shown.push(Line::from(Span::styled(
                    format!("… and {} more", problems.len() - i),
                    theme.dim,
                )));
                break;
            }
            used += r;
            shown.push(l.clone());
        }
        frame.render_widget(
            Paragraph::new(shown)
                .wrap(Wrap { trim: false })
                .block(pane_block),
            pane,
        );

        // Status line: message and position on the left, key hints on the
        // right when they fit.
        let (left, right) = self.status_line(theme);
        let need = left.width() + right.width() + 2;
        frame.render_widget(Paragraph::new(left), status);
        if need <= status.width as usize {
            frame.render_widget(Paragraph::new(right.right_aligned()), status);
        }

        match &self.confirm {
            Some(Confirm::Discard) => self.render_confirm(frame, area, theme),
            Some(Confirm::Name(input)) => render_name_prompt(frame, area, theme, input),
            None => {}
        }
    }

    fn verdict(&self, theme: &Theme) -> (String, Style) {
        match &self.validation {
            Validation::Syntax(e) => (
                format!("✗ JSON error at {}:{}", e.line, e.column),
                theme.error,
            ),
            Validation::Checked { report, .. } if !report.is_valid() => {
                let n = report.errors().count();
                (
                    format!("✗ {n} error{}", if n == 1 { "" } else { "s" }),
                    theme.error,
                )
            }
            Validation::Checked { .. } => ("✓ valid".into(), theme.ok),
        }
    }

    fn problem_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        match &self.validation {
            Validation::Syntax(e) => vec![Line::from(vec![
                Span::styled("✗ error ", theme.error),
                Span::styled(format!("{}:{} ", e.line, e.column), theme.key),
                Span::styled(e.message.clone(), theme.base),
            ])],
            Validation::Checked { report, .. } if report.issues.is_empty() => {
                vec![Line::from(Span::styled("✓ no problems", theme.ok))]
            }
            Validation::Checked { report, at, .. } => {
                let mut issues: Vec<(&spec::Issue, Option<&Position>)> = report
                    .issues
                    .iter()
                    .zip(at.iter().map(Option::as_ref).chain(std::iter::repeat(None)))
                    .collect();
                issues.sort_by_key(|(i, _)| i.severity);
                issues
                    .into_iter()
                    .map(|(i, pos)| {
                        let (label, style) = match i.severity {
                            Severity::Error => ("✗ error ", theme.error),
                            Severity::Warning => ("! warning ", theme.warning),
                            Severity::Note => ("· note ", theme.dim),
                        };
                        let pointer = if i.pointer.is_empty() {
                            "/".to_string()
                        } else {
                            i.pointer.clone()
                        };
                        let mut spans = vec![Span::styled(label, style)];
                        if let Some(p) = pos {
                            spans
                                .push(Span::styled(format!("{}:{} ", p.line, p.column), theme.key));
                        }
                        spans.push(Span::styled(format!("{pointer}: "), theme.key));
                        spans.push(Span::styled(i.message.clone(), theme.base));
                        Line::from(spans)
                    })
                    .collect()
            }
        }
    }

    fn status_line(&self, theme: &Theme) -> (Line<'static>, Line<'static>) {
        let mut spans = Vec::new();
        if let Some((msg, is_error)) = &self.message {
            spans.push(Span::styled(
                format!("{msg}  "),
                if *is_error { theme.error } else { theme.ok },
            ));
        }
        let (l, c) = self.cursor();
        spans.push(Span::styled(format!("Ln {l}, Col {c}"), theme.dim));
        if self.is_dirty() {
            spans.push(Span::styled(" · modified", theme.warning));
        }
        let hint = |keys: &[KeyEvent], what: &str, spans: &mut Vec<Span<'static>>| {
            if let Some(k) = keys.first() {
                spans.push(Span::styled("  ", theme.dim));
                spans.push(Span::styled(key_label(k), theme.key));
                spans.push(Span::styled(format!(" {what}"), theme.dim));
            }
        };
        let mut hints = Vec::new();
        if self.validation.first_position().is_some() {
            hint(
                &[KeyEvent::new(JUMP_KEY, KeyModifiers::NONE)],
                "go to problem",
                &mut hints,
            );
        }
        hint(&self.save_keys, "save", &mut hints);
        hint(&self.back_keys, "close", &mut hints);
        hint(&self.help_keys, "help", &mut hints);
        (Line::from(spans), Line::from(hints))
    }

    fn render_confirm(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let save = self
            .save_keys
            .first()
            .map(key_label)
            .unwrap_or_else(|| "s".into());
        let lines = vec![
            Line::from(Span::styled("Discard unsaved changes?", theme.title)),
            Line::from(vec![
                Span::styled("y", theme.key),
                Span::styled(" discard  ", theme.base),
                Span::styled(format!("s/{save}"), theme.key),
                Span::styled(" save  ", theme.base),
                Span::styled("n/esc", theme.key),
                Span::styled(" keep editing", theme.base),
            ]),
        ];
        let w = 46.min(area.width);
        let h = 4.min(area.height);
        let popup = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.warning)
                    .style(theme.base),
            ),
            popup,
        );
    }
}

/// Rows a line takes when wrapped at `width`: a lower bound of ratatui's
/// word wrap (long words can take one more row).
fn wrapped_rows(line: &Line<'_>, width: usize) -> usize {
    line.width().div_ceil(width.max(1)).max(1)
}

fn render_name_prompt(frame: &mut Frame, area: Rect, theme: &Theme, input: &TextArea<'static>) {
    let w = 56.min(area.width);
    let h = 6.min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(" Name the new instance ", theme.title))
        .style(theme.base);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [field, check, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let mut ta = input.clone();
    ta.set_style(theme.base.add_modifier(Modifier::UNDERLINED));
    ta.set_cursor_line_style(Style::default());
    ta.set_cursor_style(theme.base.add_modifier(Modifier::REVERSED));
    frame.render_widget(&ta, field);
    let name = input.lines().concat();
    let verdict = match crate::domain::instance::validate_name(name.trim()) {
        Ok(()) => Line::from(Span::styled("✓ a valid name", theme.ok)),
        Err(_) => Line::from(Span::styled(
            "✗ lowercase letters, digits and '-', up to 63",
            theme.error,
        )),
    };
    frame.render_widget(Paragraph::new(verdict), check);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("enter", theme.key),
            Span::styled(" create  ", theme.dim),
            Span::styled("esc", theme.key),
            Span::styled(" back to the text", theme.dim),
        ])),
        hint,
    );
}

/// The generic templates: their ids say what kind of thing, not which.
const GENERIC_TEMPLATES: [&str; 3] = ["external", "stdio", "container"];

/// A name for a new instance made from `template`: a catalog template's
/// own name ("filesystem"); else one from the json_spec ([`suggest_name`])
/// when it says something (not `index-js`, not `127-0-0-1`); else the
/// template's id.
pub fn suggest_name_for(template: Option<&str>, spec: &Value) -> String {
    if let Some(t) = template
        && !GENERIC_TEMPLATES.contains(&t)
        && crate::domain::instance::validate_name(t).is_ok()
    {
        return t.to_string();
    }
    let from_spec = suggest_name(spec);
    if !from_spec.is_empty() {
        return from_spec;
    }
    template
        .filter(|t| crate::domain::instance::validate_name(t).is_ok())
        .map(str::to_string)
        .unwrap_or_default()
}

/// File names that say nothing about the server (`node .../index.js`).
const PLAIN_STEMS: [&str; 7] = ["index", "main", "server", "app", "cli", "__main__", "run"];
/// Extensions of scripts named on a command line.
const SCRIPT_EXTS: [&str; 7] = [".js", ".mjs", ".cjs", ".ts", ".py", ".sh", ".rb"];

/// The meaningful part of a command word: `/srv/weather/index.js` is
/// `weather`, `server.py` in `tools/fetch/` is `fetch`, `srv.js` is `srv`.
fn script_name(word: &str) -> String {
    let parts: Vec<&str> = word.split('/').filter(|p| !p.is_empty()).collect();
    let Some(last) = parts.last() else {
        return String::new();
    };
    let stem = SCRIPT_EXTS
        .iter()
        .find_map(|e| last.strip_suffix(e))
        .unwrap_or(last);
    if PLAIN_STEMS.contains(&stem) {
        // The directory names it: skip dist/build/src-like ones.
        parts
            .iter()
            .rev()
            .skip(1)
            .find(|p| !matches!(**p, "dist" | "build" | "src" | "lib" | "bin" | "out"))
            .map(|p| p.to_string())
            .unwrap_or_default()
    } else {
        stem.to_string()
    }
}

/// Whether a host is an address or `localhost`, which names no server.
fn is_address(host: &str) -> bool {
    host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok()
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
}

/// A name for a new instance from its json_spec: the image or package
/// name, the script's directory, or the endpoint's host name; empty when
/// nothing fits (an IP address or `index.js` say nothing).
pub fn suggest_name(spec: &Value) -> String {
    let from = |s: &str| -> String {
        let s = s.rsplit('/').next().unwrap_or(s);
        let s = s.split([':', '@']).next().unwrap_or(s);
        s.to_string()
    };
    let raw = if let Some(img) = spec.get("image").and_then(Value::as_str) {
        from(img)
    } else if let Some(cmd) = spec.get("command") {
        let words: Vec<&str> = match cmd {
            Value::String(s) => s.split_whitespace().collect(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        words
            .iter()
            .rev()
            .find(|w| !w.starts_with('-'))
            .map(|w| {
                let w = w.trim_start_matches('@');
                if SCRIPT_EXTS.iter().any(|e| w.ends_with(e)) {
                    script_name(w)
                } else {
                    from(w)
                }
            })
            .unwrap_or_default()
    } else if let Some(url) = spec
        .get("endpoint_url")
        .or_else(|| spec.get("endpoint"))
        .and_then(Value::as_str)
    {
        let rest = url.split("://").nth(1).unwrap_or(url);
        let host = if rest.starts_with('[') {
            rest.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            rest.split(['/', ':', '?']).next().unwrap_or("").to_string()
        };
        if is_address(&host) {
            String::new()
        } else {
            host.replace('.', "-")
        }
    } else {
        String::new()
    };
    let mut name = String::new();
    for c in raw.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let name: String = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-').to_string();
    if crate::domain::instance::validate_name(&name).is_ok() {
        name
    } else {
        String::new()
    }
}

fn plural(n: usize, what: &str) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("1 {what}")),
        n => Some(format!("{n} {what}s")),
    }
}

fn style_textarea(ta: &mut TextArea<'static>, theme: &Theme) {
    ta.set_style(theme.base);
    ta.set_line_number_style(theme.dim);
    ta.set_cursor_line_style(Style::default());
    ta.set_cursor_style(theme.base.add_modifier(Modifier::REVERSED));
    ta.set_selection_style(theme.selected);
}

/// json_spec as the editor shows it: two-space indent, a final newline.
pub fn pretty(v: &Value) -> String {
    // Serializing a Value cannot fail (its keys are strings).
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::templates::all as templates;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use serde_json::json;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn type_str(e: &mut Editor, s: &str) {
        for c in s.chars() {
            let k = if c == '\n' {
                key(KeyCode::Enter)
            } else {
                key(KeyCode::Char(c))
            };
            assert_eq!(e.handle_key(k), EditorOutcome::None);
        }
    }
    fn edit_of(spec: Value) -> Editor {
        Editor::edit(Uuid::nil(), "web", 3, None, &spec)
    }
    fn blank() -> Editor {
        Editor::new(EditorMode::Create { template: None }, "")
    }

    #[test]
    fn schema_problems_are_located_in_the_text() {
        let text = "{\n  \"command\": \"srv\",\n  \"port\": 99999\n}";
        let v = Validation::of(text);
        let Validation::Checked { report, at, .. } = &v else {
            panic!("{v:?}")
        };
        assert!(!report.is_valid(), "{report:?}");
        assert_eq!(at.len(), report.issues.len());
        assert_eq!(v.first_position(), Some((3, 3)));
        let mut e = Editor::new(EditorMode::Create { template: None }, text);
        e.handle_key(key(KeyCode::F(8)));
        assert_eq!(e.cursor(), (3, 3));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let v = Validation::of("{\n  \"command\": \"x\"\n  \"args\": []\n}");
        let Validation::Syntax(e) = v else {
            panic!("{v:?}")
        };
        assert_eq!((e.line, e.column), (3, 3));
        assert_eq!(e.message, "expected ',' or '}' (is a comma missing?)");
        let Validation::Syntax(e) = Validation::of("{\n  \"command\": \"x\"\n") else {
            panic!()
        };
        assert_eq!(
            e.message,
            "the text ends before the object is closed; a '}' is missing"
        );
        assert_eq!(e.line, 3, "{e:?}");
        let Validation::Syntax(e) = Validation::of("{\"a\": \"x\\q\"}") else {
            panic!()
        };
        assert!(
            e.message.starts_with("an invalid escape in a string"),
            "{}",
            e.message
        );
        let Validation::Syntax(e) = Validation::of("  \n") else {
            panic!()
        };
        assert!(e.message.starts_with("json_spec is empty"));
    }

    #[test]
    fn creating_on_agentarea_flags_what_it_will_refuse_at_its_pointer() {
        let t = crate::tui::templates::Template::by_id("external").unwrap();
        let aa = crate::platform::BackendProfile::agentarea();
        let e = Editor::create(t).with_create_rules(Some(&aa));
        assert!(!e.validation().is_valid());
        let Validation::Checked { report, .. } = e.validation() else {
            panic!("the template is JSON");
        };
        assert!(
            report
                .summary()
                .contains("AgentArea creates only containers"),
            "{}",
            report.summary()
        );
        let c = crate::tui::templates::Template::by_id("container").unwrap();
        assert!(
            Editor::create(c)
                .with_create_rules(Some(&aa))
                .validation()
                .is_valid()
        );
        assert!(
            Editor::create(t)
                .with_create_rules(None)
                .validation()
                .is_valid()
        );
    }

    #[test]
    fn typing_revalidates_and_detects_the_kind() {
        let mut e = blank();
        assert!(!e.validation().is_valid());
        type_str(&mut e, "{\"command\": \"srv\"");
        assert!(matches!(e.validation(), Validation::Syntax(_)));
        assert_eq!(e.kind(), None);
        type_str(&mut e, "}");
        assert!(e.validation().is_valid(), "{:?}", e.validation());
        assert_eq!(e.kind(), Some(ProviderKind::Process));
        // Turn it into an endpoint: the kind follows the content.
        let mut e = blank();
        type_str(&mut e, "{\"endpoint_url\": \"https://x.example/mcp\"}");
        assert_eq!(e.kind(), Some(ProviderKind::External));
        assert!(e.is_dirty());
    }

    #[test]
    fn save_only_when_valid() {
        let mut e = blank();
        type_str(&mut e, "{\"command\": ");
        assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
        let (msg, is_err) = e.message.clone().unwrap();
        assert!(is_err);
        assert!(msg.starts_with("cannot save: line 1, column 12: "), "{msg}");

        let mut e = Editor::new(EditorMode::Create { template: None }, "[1]");
        assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
        assert_eq!(
            e.message.clone().unwrap().0,
            "cannot save: /: json_spec must be a JSON object, not an array"
        );

        let mut e = edit_of(json!({"command": "a"}));
        type_str(&mut e, " ");
        match e.handle_key(ctrl('s')) {
            EditorOutcome::Save(v) => assert_eq!(v, json!({"command": "a"})),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_asks_for_a_valid_name() {
        let mut e = Editor::create(&templates()[1]);
        assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
        assert!(e.is_naming());
        // Typing goes to the name, not the text.
        let text = e.text();
        for _ in 0.."server-everything".len() {
            e.handle_key(key(KeyCode::Backspace));
        }
        type_str(&mut e, "Bad_Name");
        assert_eq!(e.text(), text);
        assert_eq!(e.handle_key(key(KeyCode::Enter)), EditorOutcome::None);
        let (msg, is_err) = e.message.clone().unwrap();
        assert!(is_err);
        assert!(msg.starts_with("the name 'Bad_Name' contains 'B'"), "{msg}");
        assert!(e.is_naming(), "stays open to fix the name");
        // Esc goes back to the text; ctrl-s again remembers nothing typed
        // until a valid name was accepted.
        e.handle_key(key(KeyCode::Esc));
        assert!(!e.is_naming());
        e.handle_key(ctrl('s'));
        e.paste("everything-1\nignored");
        let out = e.handle_key(key(KeyCode::Enter));
        let EditorOutcome::Create { name, json_spec } = out else {
            panic!("{out:?}")
        };
        assert_eq!(name, "server-everythingeverything-1");
        assert_eq!(
            json_spec["command"][2],
            "@modelcontextprotocol/server-everything"
        );
        // A second save offers the accepted name again.
        e.handle_key(ctrl('s'));
        let EditorOutcome::Create { name, .. } = e.handle_key(key(KeyCode::Enter)) else {
            panic!()
        };
        assert_eq!(name, "server-everythingeverything-1");
    }

    #[test]
    fn names_are_suggested_from_the_spec() {
        assert_eq!(
            suggest_name(&json!({"image": "mcp/filesystem:1.2"})),
            "filesystem"
        );
        assert_eq!(
            suggest_name(
                &json!({"command": ["npx", "-y", "@modelcontextprotocol/server-everything"]})
            ),
            "server-everything"
        );
        assert_eq!(
            suggest_name(&json!({"command": "uvx mcp-server-fetch --verbose"})),
            "mcp-server-fetch"
        );
        assert_eq!(
            suggest_name(&json!({"endpoint_url": "https://MCP.Example.com:8443/mcp"})),
            "mcp-example-com"
        );
        assert_eq!(suggest_name(&json!({"env_vars": {}})), "");
        assert_eq!(suggest_name(&json!({"image": "___"})), "");
        // Neither a script's plain file name nor an address names a server.
        assert_eq!(
            suggest_name(&json!({"command": ["node", "/srv/weather/index.js"]})),
            "weather"
        );
        assert_eq!(
            suggest_name(&json!({"command": ["node", "/opt/github-mcp/dist/index.js"]})),
            "github-mcp"
        );
        assert_eq!(
            suggest_name(&json!({"command": ["python", "fetcher.py"]})),
            "fetcher"
        );
        assert_eq!(suggest_name(&json!({"command": ["node", "index.js"]})), "");
        assert_eq!(
            suggest_name(&json!({"endpoint_url": "http://127.0.0.1:8931/mcp"})),
            ""
        );
        assert_eq!(
            suggest_name(&json!({"endpoint_url": "http://localhost:3000/mcp"})),
            ""
        );
        assert_eq!(
            suggest_name(&json!({"endpoint_url": "http://[::1]:3000/mcp"})),
            ""
        );
    }

    #[test]
    fn ctrl_z_undoes_and_ctrl_r_redoes() {
        let mut e = Editor::new(EditorMode::Create { template: None }, "{}\n");
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        e.handle_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
        assert_eq!(e.text(), "x{}");
        e.handle_key(ctrl('z'));
        assert_eq!(e.text(), "{}");
        e.handle_key(ctrl('r'));
        assert_eq!(e.text(), "x{}");
        e.handle_key(ctrl('z'));
        e.handle_key(ctrl('z'));
        assert_eq!(e.text(), "{}");
        assert_eq!(
            e.message.as_ref().map(|m| m.0.as_str()),
            Some("nothing to undo")
        );
        // The keymap decides: with vim's keymap ctrl-z still undoes.
        let km = crate::tui::keymap::Keymap::preset("vim").unwrap();
        e.set_keys(&km);
        e.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
        e.handle_key(ctrl('z'));
        assert_eq!(e.text(), "{}");
    }

    #[test]
    fn error_lines_are_marked_in_the_gutter() {
        let e = Editor::new(
            EditorMode::Create { template: None },
            "{\n  \"command\": [\"x\"]\n  \"args\": []\n}\n",
        );
        assert_eq!(e.error_lines(), vec![3]);
        let mut term = Terminal::new(TestBackend::new(60, 16)).unwrap();
        term.draw(|f| e.render(f, f.area(), &Theme::default_dark()))
            .unwrap();
        let b = term.backend().buffer().clone();
        let row = |y: u16| {
            (0..8)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
        };
        assert!(row(3).starts_with("│▶3"), "{:?}", row(3));
        assert!(row(2).starts_with("│ 2"), "{:?}", row(2));
    }

    #[test]
    fn names_come_from_the_template_first() {
        // A catalog template names the server.
        assert_eq!(
            suggest_name_for(
                Some("filesystem"),
                &json!({"command": ["node", "index.js"]})
            ),
            "filesystem"
        );
        // A generic template: from the spec when it says something, else the template.
        assert_eq!(
            suggest_name_for(
                Some("external"),
                &json!({"endpoint_url": "http://127.0.0.1:8931/mcp"})
            ),
            "external"
        );
        assert_eq!(
            suggest_name_for(
                Some("external"),
                &json!({"endpoint_url": "https://mcp.example.com/mcp"})
            ),
            "mcp-example-com"
        );
        assert_eq!(
            suggest_name_for(Some("stdio"), &json!({"command": ["node", "index.js"]})),
            "stdio"
        );
        assert_eq!(
            suggest_name_for(None, &json!({"command": ["node", "index.js"]})),
            ""
        );
    }

    #[test]
    fn unchanged_edit_has_nothing_to_save_and_saved_moves_the_baseline() {
        let at = Utc::now();
        let mut e = edit_of(json!({"command": "a"}));
        assert!(!e.is_dirty());
        assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
        assert_eq!(e.message.clone().unwrap().0, "no changes to save");
        e.handle_key(key(KeyCode::Down));
        e.handle_key(key(KeyCode::End));
        type_str(&mut e, ",\"cwd\": \"/tmp\"");
        let out = e.handle_key(ctrl('s'));
        let EditorOutcome::Save(v) = out else {
            panic!("{out:?}")
        };
        assert_eq!(v, json!({"command": "a", "cwd": "/tmp"}));
        assert!(e.is_dirty());
        let key = e.saved(Some((4, at)));
        assert_eq!(key, e.draft_key());
        assert!(!e.is_dirty());
        assert!(
            matches!(e.mode(), EditorMode::Edit { version: 4, updated_at: Some(t), .. } if *t == at)
        );
    }

    #[test]
    fn esc_asks_before_discarding() {
        let mut e = edit_of(json!({"command": "a"}));
        assert_eq!(
            e.handle_key(key(KeyCode::Esc)),
            EditorOutcome::Close,
            "clean: closes at once"
        );

        let mut e = edit_of(json!({"command": "a"}));
        type_str(&mut e, " ");
        assert_eq!(e.handle_key(key(KeyCode::Esc)), EditorOutcome::None);
        assert!(e.is_confirming());
        // Typing while asked does not edit.
        let before = e.text();
        assert_eq!(e.handle_key(key(KeyCode::Char('x'))), EditorOutcome::None);
        assert_eq!(e.text(), before);
        assert!(e.is_confirming());
        assert_eq!(e.handle_key(key(KeyCode::Char('n'))), EditorOutcome::None);
        assert!(!e.is_confirming());
        e.handle_key(key(KeyCode::Esc));
        assert!(matches!(
            e.handle_key(key(KeyCode::Char('s'))),
            EditorOutcome::Save(_)
        ));
        e.handle_key(key(KeyCode::Esc));
        assert_eq!(e.handle_key(key(KeyCode::Char('y'))), EditorOutcome::Close);
    }

    #[test]
    fn drafts_are_due_after_a_pause_and_restore_as_unsaved() {
        let mut e = edit_of(json!({"command": "a"}));
        assert!(
            !e.draft_due(Instant::now() + Duration::from_secs(5)),
            "clean: no draft"
        );
        type_str(&mut e, "x");
        let t = e.last_change().unwrap();
        assert!(!e.draft_due(t + Duration::from_millis(100)));
        assert!(e.draft_due(t + DRAFT_IDLE));
        let d = e.draft();
        assert_eq!(d.text, e.text());
        assert_eq!(d.key, format!("edit-{}", Uuid::nil()));
        assert!(matches!(
            d.mode,
            DraftMode::Edit {
                base_version: 3,
                ..
            }
        ));
        e.mark_drafted();
        assert!(!e.draft_due(t + Duration::from_secs(5)));

        let r = Editor::from_draft(&d);
        assert_eq!(r.text(), d.text);
        assert!(r.is_dirty());
        assert_eq!(r.draft_key(), d.key);
        assert!(matches!(r.mode(), EditorMode::Edit { version: 3, .. }));
    }

    #[test]
    fn a_draft_written_on_pause_survives_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = crate::tui::drafts::Drafts::open(dir.path().join("drafts")).unwrap();
        let text = {
            // Session one: edit, pause, the app writes the draft, then the
            // session dies without saving.
            let mut e = edit_of(json!({"command": "a"}));
            e.handle_key(key(KeyCode::End));
            type_str(&mut e, "  ");
            let due = e.last_change().unwrap() + DRAFT_IDLE;
            assert!(e.draft_due(due));
            drafts.save(&e.draft()).unwrap();
            e.mark_drafted();
            e.text()
        };
        // Session two: the draft is offered and restores the same text.
        let listed = drafts.list();
        assert_eq!(listed.len(), 1);
        let mut e = Editor::from_draft(&listed[0]);
        assert_eq!(e.text(), text);
        assert!(e.is_dirty());
        // Saving it clears the draft.
        assert!(matches!(e.handle_key(ctrl('s')), EditorOutcome::Save(_)));
        drafts.remove(&e.saved(Some((4, Utc::now())))).unwrap();
        assert!(drafts.list().is_empty());
    }

    #[test]
    fn reload_and_rebase_for_conflicts() {
        let mut e = edit_of(json!({"command": "a"}));
        type_str(&mut e, "zzz");
        e.reload(9, None, &json!({"command": "theirs"}));
        assert!(!e.is_dirty());
        assert!(e.text().contains("theirs"));
        assert!(matches!(e.mode(), EditorMode::Edit { version: 9, .. }));
        type_str(&mut e, " ");
        e.rebase(10, None);
        assert!(matches!(e.mode(), EditorMode::Edit { version: 10, .. }));
        assert!(e.is_dirty());
    }

    #[test]
    fn f8_jumps_to_the_syntax_error() {
        let mut e = Editor::new(
            EditorMode::Create { template: None },
            "{\n  \"command\": \"x\"\n  \"cwd\": \"/\"\n}",
        );
        assert_eq!(e.cursor(), (1, 1));
        e.handle_key(key(KeyCode::F(8)));
        assert_eq!(e.cursor(), (3, 3));
        assert_eq!(e.text().lines().count(), 4, "no text change");
    }

    #[test]
    fn crlf_text_opens_as_plain_lines() {
        let e = Editor::new(
            EditorMode::Create { template: None },
            "{\r\n  \"command\": \"x\"\r\n}\r\n",
        );
        assert_eq!(e.text(), "{\n  \"command\": \"x\"\n}");
        assert!(e.validation().is_valid());
        assert!(!e.is_dirty());
    }

    #[test]
    fn recreate_turns_an_edit_into_a_create_with_the_old_name() {
        let mut e = edit_of(json!({"command": "a"}));
        let key_before = e.draft_key().to_string();
        let (name, spec) = e.recreate().unwrap();
        assert_eq!(name, "web");
        assert_eq!(spec, json!({"command": "a"}));
        assert_eq!(e.mode(), &EditorMode::Create { template: None });
        assert!(e.is_dirty());
        assert_eq!(
            e.draft_key(),
            key_before,
            "the same draft is kept up to date"
        );
        // Saving now asks for the name, offering the old one.
        e.handle_key(ctrl('s'));
        let EditorOutcome::Create { name, .. } = e.handle_key(key(KeyCode::Enter)) else {
            panic!()
        };
        assert_eq!(name, "web");
    }

    #[test]
    fn enter_keeps_indent_and_paste_inserts() {
        let mut e = blank();
        type_str(&mut e, "{\n\"a\": {\n\"b\": 1");
        assert_eq!(e.text(), "{\n  \"a\": {\n    \"b\": 1");
        e.paste("\r\n}\r\n}");
        assert_eq!(e.text(), "{\n  \"a\": {\n    \"b\": 1\n}\n}");
    }

    #[test]
    fn keys_come_from_the_keymap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[editor]\nsave = \"ctrl-w\"\nhelp = \"f2\"\n",
        )
        .unwrap();
        let km = Keymap::load("default", Some(dir.path())).unwrap();
        let mut e = Editor::create(&templates()[0]);
        e.set_keys(&km);
        assert_eq!(e.handle_key(key(KeyCode::F(2))), EditorOutcome::Help);
        // ctrl-s is no longer save; it goes to the text area (no change).
        assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
        assert!(!e.is_naming());
        assert_eq!(e.handle_key(ctrl('w')), EditorOutcome::None);
        assert!(e.is_naming(), "ctrl-w saves: a create asks for the name");
    }

    fn draw(e: &Editor, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| e.render(f, f.area(), &Theme::default_dark()))
            .unwrap();
        term
    }

    fn cases() -> Vec<(&'static str, Editor)> {
        let valid = Editor::create(&templates()[1]);
        let mut syntax =
            edit_of(json!({"command": ["uvx", "mcp-server-fetch"], "env_vars": {"ROOT": "/srv"}}));
        syntax.handle_key(key(KeyCode::Down));
        syntax.handle_key(key(KeyCode::Down));
        syntax.handle_key(key(KeyCode::Down));
        syntax.handle_key(key(KeyCode::Down));
        syntax.handle_key(key(KeyCode::End));
        syntax.handle_key(key(KeyCode::Backspace));
        let mut schema = Editor::new(
            EditorMode::Create { template: None },
            "{\n  \"command\": [],\n  \"cwd\": 7,\n  \"env_vars\": {\"API_KEY\": \"hunter2\"}\n}\n",
        );
        schema.handle_key(ctrl('s'));
        let mut naming = Editor::create(&templates()[2]);
        naming.handle_key(ctrl('s'));
        let mut warn = edit_of(json!({"command": "srv", "env_vars": {"API_KEY": "hunter2"}}));
        warn.handle_key(key(KeyCode::Char(' ')));
        warn.handle_key(key(KeyCode::Esc));
        vec![
            ("valid", valid),
            ("syntax_error", syntax),
            ("schema_error", schema),
            ("warning_and_confirm", warn),
            ("name_prompt", naming),
        ]
    }

    #[test]
    fn snapshots() {
        for (name, e) in cases() {
            for (w, h) in [(80, 24), (200, 50)] {
                insta::assert_snapshot!(format!("editor_{name}_{w}x{h}"), draw(&e, w, h).backend());
            }
        }
    }

    #[test]
    fn renders_small_and_tiny_without_panicking() {
        for (_, e) in cases() {
            for (w, h) in [(40, 12), (12, 4), (1, 1), (0, 0)] {
                draw(&e, w, h);
            }
        }
    }

    #[test]
    fn renders_in_another_theme_without_restyling_first() {
        let e = Editor::create(&templates()[0]);
        let mut term = Terminal::new(TestBackend::new(60, 12)).unwrap();
        let light = Theme::preset("light").unwrap();
        term.draw(|f| e.render(f, f.area(), &light)).unwrap();
        let cell = &term.backend().buffer()[(6, 1)];
        assert_eq!(cell.fg, light.base.fg.unwrap());
    }
}
