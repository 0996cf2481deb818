//! Keymaps: which key does what in which view.
//!
//! CONTRACT (used by the views): [`View`], [`Action`], [`Keymap::action`],
//! [`Keymap::bindings`], [`Keymap::preset`]. Presets live in
//! `keymaps/*.toml`, embedded in the binary; a user file in the config dir
//! merges over a preset.

use crossterm::event::KeyEvent;
use std::path::Path;

mod file;
mod key;
mod table;

use file::{assemble, parse_file, preset_entries};
pub(crate) use key::normalize;
pub use key::{KeyError, key_label, parse_key};
pub use table::markdown_key_table;

/// Declares every view once: its variant, its section name in keymap files,
/// whether it is modal (unbound keys do nothing, no fallback to
/// `[global]`), and its title in the generated key table.
macro_rules! views {
    ($($(#[$meta:meta])* $variant:ident = $name:literal, $modal:literal, $title:literal;)*) => {
        /// Where a binding applies. `Global` applies everywhere a view does
        /// not bind the key itself.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum View {
            $($(#[$meta])* $variant,)*
        }

        impl View {
            /// Every view, in declaration order.
            pub const ALL: &'static [View] = &[$(View::$variant),*];

            /// The section name in keymap files.
            pub fn name(self) -> &'static str {
                match self {
                    $(View::$variant => $name,)*
                }
            }

            /// Views whose unbound keys do nothing (no fallback to `[global]`).
            pub fn is_modal(self) -> bool {
                match self {
                    $(View::$variant => $modal,)*
                }
            }

            /// The section's title in the generated key table.
            pub fn title(self) -> &'static str {
                match self {
                    $(View::$variant => $title,)*
                }
            }
        }
    };
}

views! {
    Global = "global", false, "Everywhere (except the editor and the prompts below)";
    Instances = "instances", false, "Instances";
    Detail = "detail", false, "Detail";
    Events = "events", false, "Events";
    Editor = "editor", true, "Editor";
    /// The prompt `quit` opens while instances run under this console.
    Quit = "quit", true, "Quit prompt (quitting while instances run under this console)";
    /// The conflict screen: saving an instance someone else changed.
    Conflict = "conflict", true, "Conflict screen (saving an instance someone changed meanwhile)";
    /// The yes/no question before a destructive action.
    Confirm = "confirm", true, "Confirmation (delete, stop, restart, a tool that changes things)";
    /// The `:` line while it is being typed.
    CommandLine = "command_line", true, "Command line (after :)";
    /// The template picker `create` opens.
    Picker = "picker", true, "Template picker (create; 1-9 choose by number)";
    /// The prompt for unsaved edits kept from an earlier session.
    Drafts = "drafts", true, "Drafts prompt (unsaved edits from an earlier session)";
    /// Help and the raw view: they scroll and close with the global keys,
    /// and close with their own too.
    Pager = "pager", false, "Help and raw view";
    /// The question when the editor is left with unsaved changes.
    Unsaved = "unsaved", true, "Unsaved changes (leaving the editor)";
    /// A server's elicitation form during a tool call.
    Elicit = "elicit", true, "Elicitation form (a server asks for input during a tool call; other keys type)";
}

/// Declares every action once: its variant, its name in keymap files and
/// the phrase the help screen shows. Adding an action is one line here (and
/// a key for it in each preset).
macro_rules! actions {
    ($($(#[$meta:meta])* $variant:ident = $name:literal, $doc:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($(#[$meta])* $variant,)*
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The name in keymap files (snake_case).
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// One short phrase for the help screen and help bar.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$variant => $doc,)*
                }
            }
        }
    };
}

actions! {
    Quit = "quit", "quit";
    Help = "help", "help";
    Command = "command", "command line";
    Filter = "filter", "filter";
    Back = "back", "back / close";
    Up = "up", "up";
    Down = "down", "down";
    PageUp = "page_up", "page up";
    PageDown = "page_down", "page down";
    Top = "top", "top";
    Bottom = "bottom", "bottom";
    Open = "open", "open";
    Create = "create", "create";
    Edit = "edit", "edit json_spec";
    Delete = "delete", "delete";
    Start = "start", "start";
    Stop = "stop", "stop";
    Mark = "mark", "mark row";
    MarkAll = "mark_all", "mark all / none";
    SortNext = "sort_next", "sort by next column";
    SortReverse = "sort_reverse", "reverse sort";
    NextTab = "next_tab", "next tab";
    PrevTab = "prev_tab", "previous tab";
    Follow = "follow", "follow / pause";
    Raw = "raw", "raw envelope";
    Save = "save", "save";
    Undo = "undo", "undo the last change";
    Redo = "redo", "redo what undo took back";
    Refresh = "refresh", "refresh";
    Copy = "copy", "copy";
    Dump = "dump", "dump view to file";
    EventsView = "events_view", "events view";
    InstancesView = "instances_view", "instances view";
    CallTool = "call_tool", "call tool (argument editor)";
    CancelCall = "cancel_call", "cancel the running tool call (Tools)";
    Accept = "accept", "accept: send the answers";
    Decline = "decline", "decline: answer the server no";
    ReadStream = "read_stream", "read the whole stream";
    NextMatch = "next_match", "next match";
    Restart = "restart", "restart";
    Detach = "detach", "detach: quit, instances keep running";
    StopAndQuit = "stop_and_quit", "stop the instances and quit";
    Ping = "ping", "ping the server (Overview)";
    Subscribe = "subscribe", "subscribe to resource updates";
    SaveBlob = "save_blob", "save a binary resource to a file";
    Rerun = "rerun", "re-run the selected call (History)";
    PrevMatch = "prev_match", "previous match (Logs)";
    Wrap = "wrap", "wrap long lines (Logs)";
    LogLevel = "log_level", "cycle the least level shown (Logs)";
    SetLogLevel = "set_log_level", "ask the server to log from the shown level (Logs: logging/setLevel)";
    ReloadTheirs = "reload_theirs", "reload theirs (discard yours)";
    Overwrite = "overwrite", "overwrite theirs with yours (asks first)";
    Merge = "merge", "merge: keep both (when they touch different keys)";
    Recreate = "recreate", "create it again from yours (when it was deleted)";
    Yes = "yes", "yes: do what the question asks";
    ScrollLeft = "scroll_left", "scroll left";
    ScrollRight = "scroll_right", "scroll right";
    Switch = "switch", "move between yes and no";
    Choose = "choose", "answer with the highlighted button";
    Complete = "complete", "complete the command or its argument";
    Restore = "restore", "restore it into the editor";
    Discard = "discard", "discard it (asks first)";
    /// Time travel: the previous / next event that changed anything visible.
    StepBack = "step_back", "time travel: previous change";
    StepForward = "step_forward", "time travel: next change";
    ChangesSince = "changes_since", "time travel: changes to now";
    JumpToProblem = "jump_to_problem", "jump to the first problem";
    /// The detail view: everything about the instance over the last hour in one file.
    Incident = "incident", "write an incident bundle (the last hour)";
    /// The picker's numbered choices.
    Choose1 = "choose_1", "choose number 1";
    Choose2 = "choose_2", "choose number 2";
    Choose3 = "choose_3", "choose number 3";
    Choose4 = "choose_4", "choose number 4";
    Choose5 = "choose_5", "choose number 5";
    Choose6 = "choose_6", "choose number 6";
    Choose7 = "choose_7", "choose number 7";
    Choose8 = "choose_8", "choose number 8";
    Choose9 = "choose_9", "choose number 9";
}

impl View {
    pub fn from_name(s: &str) -> Option<View> {
        View::ALL.iter().copied().find(|v| v.name() == s)
    }
}

impl Action {
    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == s)
    }

    /// For `choose_N`: N, counted from 1.
    pub fn number(self) -> Option<usize> {
        let n = match self {
            Action::Choose1 => 1,
            Action::Choose2 => 2,
            Action::Choose3 => 3,
            Action::Choose4 => 4,
            Action::Choose5 => 5,
            Action::Choose6 => 6,
            Action::Choose7 => 7,
            Action::Choose8 => 8,
            Action::Choose9 => 9,
            _ => return None,
        };
        Some(n)
    }
}

/// One binding as the help screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub view: View,
    pub key: KeyEvent,
    /// The key as written in keymap files, e.g. `ctrl-s`, `shift-tab`, `g`.
    pub label: String,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub name: String,
    bindings: Vec<Binding>,
}

/// A keymap shipped in the binary: its name and its TOML text.
pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

/// The user's keymap file inside the config dir.
pub const USER_FILE: &str = "keymap.toml";

/// Why a keymap could not be loaded: one sentence naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct KeymapError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Why a built-in keymap could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error("unknown keymap '{0}' (built in: {known})", known = preset_names())]
    Unknown(String),
    /// A shipped preset that does not load (caught by the tests).
    #[error(transparent)]
    Invalid(#[from] KeymapError),
}

fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Keymap {
    /// The action bound to `key` in `view`, falling back to `Global`
    /// (except in the editor, where unbound keys are text).
    pub fn action(&self, view: View, k: &KeyEvent) -> Option<Action> {
        let norm = normalize(k);
        let find = |v: View| {
            self.bindings
                .iter()
                .find(|b| b.view == v && b.key == norm)
                .map(|b| b.action)
        };
        find(view).or_else(|| {
            if view.is_modal() {
                None
            } else {
                find(View::Global)
            }
        })
    }

    /// The bindings that apply in `view` (its own, then global ones it does
    /// not shadow), in file order.
    pub fn bindings(&self, view: View) -> Vec<&Binding> {
        let own: Vec<&Binding> = self.bindings.iter().filter(|b| b.view == view).collect();
        let mut out = own.clone();
        if !view.is_modal() {
            out.extend(
                self.bindings
                    .iter()
                    .filter(|b| b.view == View::Global && !own.iter().any(|o| o.key == b.key)),
            );
        }
        out
    }

    /// Every binding of every view, in file order.
    pub fn all_bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The labels of the keys for `action` in `view` (global ones too,
    /// outside the editor), for hints such as "ctrl-s save".
    pub fn keys_for(&self, view: View, action: Action) -> Vec<&str> {
        self.bindings(view)
            .into_iter()
            .filter(|b| b.action == action)
            .map(|b| b.label.as_str())
            .collect()
    }

    /// The first key bound to `action` in `view`, for a hint line (empty
    /// when nothing is bound).
    pub fn first_key(&self, view: View, action: Action) -> String {
        self.keys_for(view, action)
            .first()
            .map_or_else(String::new, |k| k.to_string())
    }

    /// The first keys of `actions` for a hint line: as arrows ("↑↓←→")
    /// when each is its arrow key, else their names joined by "/", so a
    /// remapped keymap's hint names the keys it really has.
    pub fn motion_keys(&self, view: View, actions: &[Action]) -> String {
        let firsts: Vec<String> = actions.iter().map(|a| self.first_key(view, *a)).collect();
        let arrow = |k: &str| match k {
            "up" => Some('↑'),
            "down" => Some('↓'),
            "left" => Some('←'),
            "right" => Some('→'),
            _ => None,
        };
        match firsts.iter().map(|k| arrow(k)).collect::<Option<String>>() {
            Some(glyphs) => glyphs,
            None => firsts
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
                .join("/"),
        }
    }

    /// The shipped default keymap, read once, for components made before
    /// the app hands them its own (empty if it could not be read, which the
    /// tests rule out).
    pub fn shipped_default() -> &'static Keymap {
        static DEFAULT: std::sync::OnceLock<Keymap> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(|| {
            Keymap::preset("default").unwrap_or_else(|_| Keymap {
                name: "default".into(),
                bindings: Vec::new(),
            })
        })
    }

    /// A built-in keymap by name (the embedded `keymaps/*.toml`).
    pub fn preset(name: &str) -> Result<Keymap, PresetError> {
        let entries = preset_entries(name)?;
        Ok(assemble(name, entries, Vec::new(), None)?)
    }

    /// Load keymap `name`, with `<config_dir>/keymap.toml` merged over it
    /// when that file exists. The file's `preset = "NAME"` picks the base
    /// instead of `name`; each action it lists replaces that action's keys
    /// in that view.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Keymap, KeymapError> {
        let user = config_dir
            .map(|d| d.join(USER_FILE))
            .filter(|p| p.is_file());
        let Some(path) = user else {
            return preset_entries(name)
                .map_err(|m| KeymapError {
                    file: "keymap".into(),
                    line: None,
                    message: m.to_string(),
                })
                .and_then(|e| assemble(name, e, Vec::new(), None));
        };
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| KeymapError {
            file: file.clone(),
            line: None,
            message: format!("cannot be read ({e})"),
        })?;
        let (preset, overrides) = parse_file(&file, &text, true)?;
        let base = preset.as_deref().unwrap_or(name);
        let entries = preset_entries(base).map_err(|m| KeymapError {
            file: file.clone(),
            line: None,
            message: m.to_string(),
        })?;
        assemble(base, entries, overrides, Some(&file))
    }
}

#[cfg(test)]
mod tests;
