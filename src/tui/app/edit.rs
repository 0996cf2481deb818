//! The edit session: the editor, and the conflict screen when a save
//! met someone else's change.

use super::*;

/// The editor and, when a save hit a conflict, the conflict screen.
#[derive(Debug, Clone)]
pub struct EditSession {
    pub editor: Editor,
    pub conflict: Option<ConflictScreen>,
    /// A save is in flight.
    pub saving: bool,
    /// The instance's name and description when the edit started (the
    /// conflict screen shows which of them changed meanwhile).
    pub base_fields: Option<(String, Option<String>)>,
    /// The stored json_spec the text is based on, unredacted (saving puts
    /// its values back where the text says `<redacted>`); `None` for a new
    /// instance or a draft restored from disk.
    pub original: Option<serde_json::Value>,
    /// The stored json_spec of their copy, while a conflict is shown: the
    /// new original once the edit is based on theirs.
    pub theirs_original: Option<serde_json::Value>,
}

impl EditSession {
    /// Create the instance the editor holds (a new one, or one deleted
    /// meanwhile, again).
    fn create(&mut self, name: String, json_spec: serde_json::Value) -> Vec<Command> {
        self.saving = true;
        vec![Command::Create(NewInstance {
            name,
            description: None,
            server_spec_id: None,
            json_spec,
        })]
    }
}

/// The conflict screen for an edit whose instance was deleted meanwhile.
pub(super) fn deleted_screen(e: &Editor) -> ConflictScreen {
    let (name, version) = match e.mode() {
        EditorMode::Edit { name, version, .. } => (name.clone(), *version),
        EditorMode::Create { .. } => (String::new(), 0),
    };
    ConflictScreen::deleted(&name, &e.text(), version)
}

impl App {
    /// The edit session, when the editor is the page on top (keys and a
    /// save's results act on it).
    pub(super) fn edit_mut(&mut self) -> Option<&mut EditSession> {
        match self.screens.last_mut() {
            Some(Screen::Editor(s)) => Some(s),
            _ => None,
        }
    }

    pub(super) fn open_editor(&mut self, mut editor: Editor) {
        editor.set_keys(&self.keymap);
        editor.apply_theme(&self.theme);
        self.screens.push(Screen::Editor(Box::new(EditSession {
            editor,
            conflict: None,
            saving: false,
            base_fields: None,
            original: None,
            theirs_original: None,
        })));
        self.dirty = true;
    }

    /// The draft to write before exiting, if the editor has unsaved text.
    pub fn pending_draft(&self) -> Option<Draft> {
        self.screens.iter().rev().find_map(|s| match s {
            Screen::Editor(e) if e.editor.is_dirty() => Some(e.editor.draft()),
            _ => None,
        })
    }

    pub(super) fn save_commands(s: &mut EditSession, mut value: serde_json::Value) -> Vec<Command> {
        match s.editor.mode().clone() {
            EditorMode::Edit {
                id,
                version,
                updated_at,
                ..
            } => {
                s.saving = true;
                if let Some(original) = &s.original {
                    spec::unredact(&mut value, original);
                }
                vec![Command::Update {
                    id,
                    patch: InstancePatch {
                        json_spec: Some(value),
                        ..Default::default()
                    },
                    expect: Precondition::for_copy(version, updated_at),
                    unredact_from_stored: s.original.is_none(),
                }]
            }
            EditorMode::Create { .. } => Vec::new(),
        }
    }

    pub(super) fn editor_key(&mut self, k: KeyEvent) -> Vec<Command> {
        // The screens alone are borrowed: the keymap is read meanwhile.
        let Some(Screen::Editor(s)) = self.screens.last_mut() else {
            return Vec::new();
        };
        if let Some(c) = s.conflict.as_mut() {
            return match c.handle_key(&self.keymap, k) {
                ConflictOutcome::None => Vec::new(),
                ConflictOutcome::BackToEditing => {
                    s.conflict = None;
                    Vec::new()
                }
                ConflictOutcome::Recreate => {
                    s.conflict = None;
                    match s.editor.recreate() {
                        Some((name, json_spec)) => s.create(name, json_spec),
                        None => {
                            s.editor.set_message(
                                "fix the problems, then save to create it again",
                                true,
                            );
                            Vec::new()
                        }
                    }
                }
                ConflictOutcome::ReloadTheirs => {
                    let t = c.theirs().clone();
                    let reloaded: Option<serde_json::Value> = serde_json::from_str(&t.text).ok();
                    if let Some(v) = reloaded {
                        s.editor.reload(t.version, t.updated_at, &v);
                    }
                    if let Some(name) = t.name {
                        s.base_fields = Some((name, t.description));
                    }
                    s.original = s.theirs_original.take();
                    s.conflict = None;
                    Vec::new()
                }
                ConflictOutcome::Merge { their_version } => {
                    let at = c.theirs().updated_at;
                    let merged = c.merged().map(str::to_string);
                    let t = c.theirs().clone();
                    s.conflict = None;
                    if let Some(text) = merged {
                        // Theirs is the new base; the merged text is the edit.
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t.text) {
                            s.editor.reload(their_version, at, &v);
                        }
                        if let Some(name) = t.name {
                            s.base_fields = Some((name, t.description));
                        }
                        s.original = s.theirs_original.take();
                        s.editor.replace_text(&text);
                        s.editor.set_message(
                            format!(
                                "merged your change into theirs ({}); review, then save",
                                match (their_version, at) {
                                    (0, Some(at)) => format!(
                                        "updated_at {}",
                                        at.format("%Y-%m-%d %H:%M:%S UTC")
                                    ),
                                    _ => format!("version {their_version}"),
                                }
                            ),
                            false,
                        );
                    }
                    Vec::new()
                }
                ConflictOutcome::Overwrite { their_version } => {
                    let at = c.theirs().updated_at;
                    s.conflict = None;
                    s.editor.rebase(their_version, at);
                    s.original = s.theirs_original.take();
                    match s.editor.validation() {
                        crate::tui::editor::Validation::Checked { value, .. }
                            if s.editor.validation().is_valid() =>
                        {
                            let v = value.clone();
                            Self::save_commands(s, v)
                        }
                        _ => {
                            s.editor.set_message("fix the problems before saving", true);
                            Vec::new()
                        }
                    }
                }
            };
        }
        if s.saving {
            s.editor.set_message("saving…", false);
            return Vec::new();
        }
        match s.editor.handle_key(k) {
            EditorOutcome::None => Vec::new(),
            EditorOutcome::Help => {
                self.overlay = Some(Overlay::Help(Default::default()));
                Vec::new()
            }
            EditorOutcome::Close => {
                let key = s.editor.draft_key().to_string();
                self.screens.pop();
                vec![Command::RemoveDraft(key)]
            }
            EditorOutcome::Save(v) => Self::save_commands(s, v),
            EditorOutcome::Create { name, json_spec } => s.create(name, json_spec),
        }
    }

    pub(super) fn saved(&mut self, r: Result<Instance, PlatformError>) -> Vec<Command> {
        let Some(s) = self.edit_mut() else {
            match r {
                Ok(i) => self.toast(Level::Ok, format!("saved {}", i.name)),
                Err(e) => self.toast(Level::Error, e.to_string()),
            }
            return Vec::new();
        };
        s.saving = false;
        match r {
            Ok(i) => {
                let created = matches!(s.editor.mode(), EditorMode::Create { .. });
                let key = s.editor.saved(Some((i.version, i.updated_at)));
                self.screens.pop();
                let verb = if created { "created" } else { "saved" };
                let at = if !self.shows_version(&i) {
                    // AgentArea keeps no versions: its updated_at says which copy.
                    format!("updated_at {}", i.updated_at.format("%H:%M:%S UTC"))
                } else {
                    format!("version {}", i.version)
                };
                self.toast(Level::Ok, format!("{verb} {} ({at})", i.name));
                if created {
                    self.instances.selected_id = Some(i.id);
                }
                vec![Command::RemoveDraft(key)]
            }
            Err(PlatformError::NotFound(_))
                if matches!(s.editor.mode(), EditorMode::Edit { .. }) =>
            {
                s.conflict = Some(deleted_screen(&s.editor));
                Vec::new()
            }
            Err(PlatformError::Conflict(msg)) => match s.editor.mode().clone() {
                EditorMode::Edit { id, .. } => {
                    vec![Command::FetchTheirs(id)]
                }
                EditorMode::Create { .. } => {
                    s.editor.set_message(msg, true);
                    Vec::new()
                }
            },
            Err(e) => {
                s.editor.set_message(e.to_string(), true);
                Vec::new()
            }
        }
    }

    /// A fresh copy of an instance arrived: edit it.
    pub(super) fn edit_target(&mut self, r: Result<Instance, PlatformError>) {
        self.dirty = true;
        match r {
            Ok(i) => {
                let fields = (i.name.clone(), i.description.clone());
                let original = serde_json::Value::Object(i.json_spec);
                self.open_editor(Editor::edit(
                    i.id,
                    &i.name,
                    i.version,
                    Some(i.updated_at),
                    &redact_plain_secrets(&original),
                ));
                if let Some(s) = self.edit_mut() {
                    s.base_fields = Some(fields);
                    s.original = Some(original);
                }
            }
            Err(e) => self.toast(Level::Error, format!("cannot edit: {e}")),
        }
    }

    /// Their copy arrived, after a save met a conflict: the conflict screen.
    pub(super) fn theirs(&mut self, r: Result<Instance, PlatformError>) {
        self.dirty = true;
        if let Some(s) = self.edit_mut() {
            match r {
                Ok(i) => {
                    let (base, base_at) = match s.editor.mode() {
                        EditorMode::Edit {
                            version,
                            updated_at,
                            ..
                        } => (*version, *updated_at),
                        EditorMode::Create { .. } => (0, None),
                    };
                    let mut theirs = i.clone();
                    let stored = serde_json::Value::Object(i.json_spec);
                    if let serde_json::Value::Object(m) = redact_plain_secrets(&stored) {
                        theirs.json_spec = m;
                    }
                    s.theirs_original = Some(stored);
                    let mine = s.editor.text();
                    let mut screen =
                        ConflictScreen::new(&i.name, &mine, base, Theirs::from_instance(&theirs));
                    if let Some(text) = s.editor.baseline() {
                        let (name, description) = s.base_fields.clone().unzip();
                        screen = screen.with_base(
                            Base {
                                text: text.to_string(),
                                updated_at: base_at,
                                name,
                                description: description.flatten(),
                            },
                            &mine,
                        );
                    }
                    s.conflict = Some(screen);
                }
                Err(PlatformError::NotFound(_)) => {
                    s.conflict = Some(deleted_screen(&s.editor));
                }
                Err(e) => s.editor.set_message(
                    format!("the instance changed and cannot be read: {e}"),
                    true,
                ),
            }
        }
    }
}
