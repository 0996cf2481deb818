//! Drafts: unsaved editor text written to the data dir on every pause, so
//! a crash or a dropped SSH session loses nothing. One JSON file per
//! draft, written atomically (temp file + rename), owner-only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// What the draft was editing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DraftMode {
    /// A new instance, started from a template (by id) or from nothing.
    Create { template: Option<String> },
    /// An existing instance's json_spec, as of `base_version`.
    Edit {
        id: Uuid,
        name: String,
        base_version: u64,
        #[serde(default)]
        base_updated_at: Option<DateTime<Utc>>,
    },
}

/// Unsaved editor text and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// File-safe id: `edit-<instance id>` (one per instance) or
    /// `create-<session id>`.
    pub key: String,
    #[serde(flatten)]
    pub mode: DraftMode,
    pub text: String,
    pub saved_at: DateTime<Utc>,
}

impl Draft {
    /// The key for a mode: edits of one instance share a key (the newest
    /// wins); each create session gets its own.
    pub fn key_for(mode: &DraftMode) -> String {
        match mode {
            DraftMode::Edit { id, .. } => format!("edit-{id}"),
            DraftMode::Create { .. } => format!("create-{}", Uuid::new_v4()),
        }
    }

    /// One line for the "restore a draft?" list: what and when.
    pub fn describe(&self) -> String {
        let when = self.saved_at.format("%Y-%m-%d %H:%M:%S UTC");
        match &self.mode {
            DraftMode::Create { template: Some(t) } => {
                format!("new instance (from the {t} template), saved {when}")
            }
            DraftMode::Create { template: None } => format!("new instance, saved {when}"),
            // AgentArea keeps no versions (0): its updated_at names the copy.
            DraftMode::Edit {
                name,
                base_version: 0,
                base_updated_at: Some(at),
                ..
            } => format!(
                "edit of '{name}' (updated_at {}), saved {when}",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            DraftMode::Edit {
                name, base_version, ..
            } => format!("edit of '{name}' (version {base_version}), saved {when}"),
        }
    }
}

/// Why a draft operation failed: one sentence.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("cannot use the drafts dir {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the draft {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{0}' is not a draft key (letters, digits and '-' only)")]
    BadKey(String),
}

/// The drafts directory.
#[derive(Debug, Clone)]
pub struct Drafts {
    dir: PathBuf,
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Drafts {
    /// Use (and create, owner-only) the directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Drafts, DraftError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| DraftError::Dir {
            path: dir.clone(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| DraftError::Dir {
                    path: dir.clone(),
                    source,
                },
            )?;
        }
        Ok(Drafts { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Write `draft` atomically: a 0600 temp file, fsync, rename over the old one.
    pub fn save(&self, draft: &Draft) -> Result<(), DraftError> {
        if !valid_key(&draft.key) {
            return Err(DraftError::BadKey(draft.key.clone()));
        }
        let path = self.path(&draft.key);
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", draft.key, std::process::id()));
        let wrap = |source| DraftError::Write {
            path: path.clone(),
            source,
        };
        // Serializing plain strings, numbers and a timestamp cannot fail.
        let bytes = serde_json::to_vec_pretty(draft).map_err(|e| wrap(std::io::Error::other(e)))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let result = (|| {
            let mut f = opts.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(wrap(e));
        }
        tracing::debug!(key = %draft.key, "draft saved");
        Ok(())
    }

    /// Every readable draft, newest first. Unreadable files are skipped
    /// (and logged), never fatal.
    pub fn list(&self) -> Vec<Draft> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Draft> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
            })
            .filter_map(|p| {
                let read: Result<Draft, Box<dyn std::error::Error>> = std::fs::read(&p)
                    .map_err(Into::into)
                    .and_then(|b| serde_json::from_slice(&b).map_err(Into::into));
                match read {
                    Ok(d) => Some(d),
                    Err(e) => {
                        tracing::warn!(file = %p.display(), error = %e, "skipping unreadable draft");
                        None
                    }
                }
            })
            .collect();
        out.sort_by(|a, b| b.saved_at.cmp(&a.saved_at).then_with(|| a.key.cmp(&b.key)));
        out
    }

    /// The draft with `key`, if there is a readable one.
    pub fn get(&self, key: &str) -> Option<Draft> {
        if !valid_key(key) {
            return None;
        }
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Delete the draft with `key` (after a save or an explicit discard).
    /// A missing draft is not an error.
    pub fn remove(&self, key: &str) -> Result<(), DraftError> {
        if !valid_key(key) {
            return Err(DraftError::BadKey(key.to_string()));
        }
        let path = self.path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(DraftError::Write { path, source }),
        }
    }
}

/// What a key did in the draft prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftPromptOutcome {
    None,
    /// Open this draft in the editor.
    Restore(Draft),
    /// The user discarded this draft (confirmed): remove its file. The
    /// prompt has dropped it from its list.
    Discard(Draft),
    /// Not now: keep every draft for later.
    Close,
}

/// "Unsaved edits were found": the drafts newest first, to restore or
/// discard, shown at start.
#[derive(Debug, Clone)]
pub struct DraftPrompt {
    drafts: Vec<Draft>,
    state: ratatui::widgets::ListState,
    armed: bool,
}

impl DraftPrompt {
    /// `None` when there is nothing to offer.
    pub fn new(drafts: Vec<Draft>) -> Option<DraftPrompt> {
        (!drafts.is_empty()).then(|| DraftPrompt {
            drafts,
            state: ratatui::widgets::ListState::default().with_selected(Some(0)),
            armed: false,
        })
    }

    pub fn drafts(&self) -> &[Draft] {
        &self.drafts
    }

    fn index(&self) -> usize {
        self.state
            .selected()
            .unwrap_or(0)
            .min(self.drafts.len().saturating_sub(1))
    }

    /// The keymap's `[drafts]` keys: restore, discard then yes, move,
    /// back (later).
    pub fn handle_key(
        &mut self,
        keymap: &crate::tui::keymap::Keymap,
        key: crossterm::event::KeyEvent,
    ) -> DraftPromptOutcome {
        use crate::tui::keymap::{Action, View};
        use crossterm::event::KeyEventKind;
        if key.kind == KeyEventKind::Release || self.drafts.is_empty() {
            return DraftPromptOutcome::None;
        }
        let i = self.index();
        let action = keymap.action(View::Drafts, &key);
        if self.armed {
            self.armed = false;
            if action == Some(Action::Yes) {
                let d = self.drafts.remove(i);
                self.state
                    .select(Some(i.min(self.drafts.len().saturating_sub(1))));
                return DraftPromptOutcome::Discard(d);
            }
            return DraftPromptOutcome::None;
        }
        let n = self.drafts.len();
        match action {
            Some(Action::Up) => self.state.select(Some(i.saturating_sub(1))),
            Some(Action::Down) => self.state.select(Some((i + 1).min(n - 1))),
            Some(Action::Restore) => {
                return DraftPromptOutcome::Restore(self.drafts[i].clone());
            }
            Some(Action::Discard) => self.armed = true,
            Some(Action::Back) => return DraftPromptOutcome::Close,
            _ => {}
        }
        DraftPromptOutcome::None
    }

    /// Draw the prompt over `area` (it clears what is beneath).
    pub fn render(
        &self,
        frame: &mut ratatui::Frame,
        area: ratatui::layout::Rect,
        theme: &crate::tui::theme::Theme,
        keymap: &crate::tui::keymap::Keymap,
    ) {
        use crate::tui::keymap::{Action, View};
        use ratatui::layout::{Constraint, Layout};
        // The first key of an action, for the hints.
        let key = |a: Action| keymap.first_key(View::Drafts, a);
        use ratatui::text::{Line, Span};
        use ratatui::widgets::{Block, Borders, Clear, List, ListItem, Paragraph};
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focus)
            .title(Span::styled(
                " Unsaved edits from an earlier session ",
                theme.title,
            ))
            .style(theme.base);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        let list_h = (self.drafts.len() as u16).min(inner.height / 2).max(1);
        let [list_area, preview, hint] = Layout::vertical([
            Constraint::Length(list_h),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(inner);
        let items: Vec<ListItem> = self
            .drafts
            .iter()
            .map(|d| ListItem::new(Line::from(d.describe())))
            .collect();
        let mut state = self.state.clone();
        frame.render_stateful_widget(
            List::new(items)
                .highlight_style(theme.selected)
                .highlight_symbol("▶ "),
            list_area,
            &mut state,
        );
        if let Some(d) = self.drafts.get(self.index()) {
            // Plain secrets are redacted in the preview when the text parses.
            let shown = match serde_json::from_str::<serde_json::Value>(&d.text) {
                Ok(v) => crate::tui::editor::pretty(&crate::domain::spec::redact_plain_secrets(&v)),
                Err(_) => d.text.clone(),
            };
            let lines: Vec<Line> = shown
                .lines()
                .map(|l| Line::from(Span::styled(l.to_string(), theme.dim)))
                .collect();
            frame.render_widget(
                Paragraph::new(lines).block(
                    Block::default()
                        .borders(Borders::TOP)
                        .border_style(theme.border),
                ),
                preview,
            );
        }
        let hint_line = if self.armed {
            Line::from(vec![
                Span::styled("Discard this draft for good? ", theme.warning),
                Span::styled(key(Action::Yes), theme.key),
                Span::styled(" discard  ", theme.base),
                Span::styled("any other key", theme.key),
                Span::styled(" keep", theme.base),
            ])
        } else {
            Line::from(vec![
                Span::styled(key(Action::Restore), theme.key),
                Span::styled(" restore  ", theme.dim),
                Span::styled(key(Action::Discard), theme.key),
                Span::styled(" discard  ", theme.dim),
                Span::styled(key(Action::Back), theme.key),
                Span::styled(" later", theme.dim),
            ])
        };
        frame.render_widget(Paragraph::new(hint_line), hint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn draft(key: &str, mode: DraftMode, text: &str, secs: i64) -> Draft {
        Draft {
            key: key.into(),
            mode,
            text: text.into(),
            saved_at: Utc.timestamp_opt(1_790_000_000 + secs, 0).unwrap(),
        }
    }

    #[test]
    fn save_list_newest_first_and_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let drafts = Drafts::open(tmp.path().join("drafts")).unwrap();
        let id = Uuid::new_v4();
        let edit = DraftMode::Edit {
            id,
            name: "fs".into(),
            base_version: 3,
            base_updated_at: None,
        };
        let a = draft(
            &Draft::key_for(&edit),
            edit.clone(),
            "{\"command\": \"x\"}",
            10,
        );
        let create = DraftMode::Create {
            template: Some("stdio".into()),
        };
        let b = draft(&Draft::key_for(&create), create, "{", 20);
        drafts.save(&a).unwrap();
        drafts.save(&b).unwrap();
        assert_eq!(drafts.list(), vec![b.clone(), a.clone()]);
        // Saving again under the same key replaces, and reorders by time.
        let a2 = draft(&a.key, edit, "{\"command\": \"y\"}", 30);
        drafts.save(&a2).unwrap();
        assert_eq!(drafts.list(), vec![a2.clone(), b.clone()]);
        assert_eq!(drafts.get(&a.key), Some(a2));
        drafts.remove(&a.key).unwrap();
        drafts.remove(&a.key).unwrap();
        assert_eq!(drafts.list(), vec![b]);
        assert!(a.key.starts_with(&format!("edit-{id}")));
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only_and_no_temp_files_remain() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let drafts = Drafts::open(tmp.path().join("d")).unwrap();
        let d = draft("create-1", DraftMode::Create { template: None }, "{}", 0);
        drafts.save(&d).unwrap();
        let names: Vec<String> = std::fs::read_dir(drafts.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["create-1.json".to_string()]);
        let mode = std::fs::metadata(drafts.dir().join("create-1.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = std::fs::metadata(drafts.dir())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
    }

    #[test]
    fn corrupt_files_are_skipped_and_bad_keys_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let drafts = Drafts::open(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("edit-x.json"), "{not json").unwrap();
        std::fs::write(tmp.path().join(".partial.tmp"), "x").unwrap();
        let d = draft("create-2", DraftMode::Create { template: None }, "{}", 0);
        drafts.save(&d).unwrap();
        assert_eq!(drafts.list(), vec![d]);
        let bad = draft("../evil", DraftMode::Create { template: None }, "{}", 0);
        let e = drafts.save(&bad).unwrap_err().to_string();
        assert_eq!(
            e,
            "'../evil' is not a draft key (letters, digits and '-' only)"
        );
        assert!(!tmp.path().parent().unwrap().join("evil.json").exists());
        assert!(drafts.remove("a/b").is_err());
    }

    #[test]
    fn prompt_restores_discards_with_confirmation_and_closes() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let km = || crate::tui::keymap::Keymap::preset("default").unwrap();
        assert!(DraftPrompt::new(Vec::new()).is_none());
        let a = draft(
            "create-a",
            DraftMode::Create { template: None },
            "{\"a\": 1}",
            20,
        );
        let b = draft(
            "create-b",
            DraftMode::Create {
                template: Some("stdio".into()),
            },
            "{}",
            10,
        );
        let mut p = DraftPrompt::new(vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Enter)),
            DraftPromptOutcome::Restore(a.clone())
        );
        p.handle_key(&km(), key(KeyCode::Down));
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('d'))),
            DraftPromptOutcome::None
        );
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('n'))),
            DraftPromptOutcome::None,
            "cancels"
        );
        assert_eq!(p.drafts().len(), 2);
        p.handle_key(&km(), key(KeyCode::Char('d')));
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('y'))),
            DraftPromptOutcome::Discard(b)
        );
        assert_eq!(p.drafts(), std::slice::from_ref(&a));
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('r'))),
            DraftPromptOutcome::Restore(a)
        );
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Esc)),
            DraftPromptOutcome::Close
        );
    }

    #[test]
    fn prompt_snapshot_and_small_sizes() {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        let theme = crate::tui::theme::Theme::default_dark();
        let p = DraftPrompt::new(vec![
            draft(
                "edit-1",
                DraftMode::Edit {
                    id: Uuid::nil(),
                    name: "files".into(),
                    base_version: 4,
                    base_updated_at: None,
                },
                "{\n  \"command\": \"mcp-files\",\n  \"env_vars\": {\"API_KEY\": \"hunter2\"}\n}",
                60,
            ),
            draft(
                "create-2",
                DraftMode::Create {
                    template: Some("external".into()),
                },
                "{}",
                0,
            ),
        ])
        .unwrap();
        let draw = |w, h| {
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| {
                p.render(
                    f,
                    f.area(),
                    &theme,
                    &crate::tui::keymap::Keymap::preset("default").unwrap(),
                )
            })
            .unwrap();
            t
        };
        let shot = draw(80, 24);
        let screen = format!("{:?}", shot.backend());
        assert!(!screen.contains("hunter2"), "plain secrets are not shown");
        assert!(screen.contains("<redacted>"));
        insta::assert_snapshot!("draft_prompt_80x24", shot.backend());
        for (w, h) in [(40, 12), (5, 3), (0, 0)] {
            draw(w, h);
        }
    }

    #[test]
    fn describe_says_what_and_when() {
        let d = draft(
            "edit-1",
            DraftMode::Edit {
                id: Uuid::nil(),
                name: "web".into(),
                base_version: 7,
                base_updated_at: None,
            },
            "{}",
            0,
        );
        assert_eq!(
            d.describe(),
            "edit of 'web' (version 7), saved 2026-09-21 14:13:20 UTC"
        );
    }
}
