//! Keymaps: which key does what in which view.
//!
//! CONTRACT (used by the views): [`View`], [`Action`], [`Keymap::action`],
//! [`Keymap::bindings`], [`Keymap::preset`]. Presets live in
//! `keymaps/*.toml`, embedded in the binary; a user file in the config dir
//! merges over a preset.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// Where a binding applies. `Global` applies everywhere a view does not
/// bind the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    Global,
    Instances,
    Detail,
    Events,
    Editor,
    /// The prompt `quit` opens while instances run under this console.
    Quit,
    /// The conflict screen: saving an instance someone else changed.
    Conflict,
    /// The yes/no question before a destructive action.
    Confirm,
    /// The `:` line while it is being typed.
    CommandLine,
    /// The template picker `create` opens.
    Picker,
    /// The prompt for unsaved edits kept from an earlier session.
    Drafts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    Command,
    Filter,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Create,
    Edit,
    Delete,
    Start,
    Stop,
    Mark,
    MarkAll,
    SortNext,
    SortReverse,
    NextTab,
    PrevTab,
    Follow,
    Raw,
    Save,
    Undo,
    Redo,
    Refresh,
    Copy,
    Dump,
    EventsView,
    InstancesView,
    CallTool,
    ReadStream,
    NextMatch,
    Restart,
    Detach,
    StopAndQuit,
    Ping,
    Subscribe,
    SaveBlob,
    ReloadTheirs,
    Overwrite,
    Merge,
    Recreate,
    Yes,
    ScrollLeft,
    ScrollRight,
    Switch,
    Choose,
    Complete,
    Restore,
    Discard,
    /// Time travel: the previous / next event that changed anything visible.
    StepBack,
    StepForward,
}

impl View {
    pub const ALL: [View; 11] = [
        View::Global,
        View::Instances,
        View::Detail,
        View::Events,
        View::Editor,
        View::Quit,
        View::Conflict,
        View::Confirm,
        View::CommandLine,
        View::Picker,
        View::Drafts,
    ];

    /// The section name in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            View::Global => "global",
            View::Instances => "instances",
            View::Detail => "detail",
            View::Events => "events",
            View::Editor => "editor",
            View::Quit => "quit",
            View::Conflict => "conflict",
            View::Confirm => "confirm",
            View::CommandLine => "command_line",
            View::Picker => "picker",
            View::Drafts => "drafts",
        }
    }

    /// Views whose unbound keys do nothing (no fallback to `[global]`).
    pub fn is_modal(self) -> bool {
        matches!(
            self,
            View::Editor
                | View::Quit
                | View::Conflict
                | View::Confirm
                | View::CommandLine
                | View::Picker
                | View::Drafts
        )
    }

    pub fn from_name(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.name() == s)
    }
}

impl Action {
    pub const ALL: [Action; 56] = [
        Action::Quit,
        Action::Help,
        Action::Command,
        Action::Filter,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Open,
        Action::Create,
        Action::Edit,
        Action::Delete,
        Action::Start,
        Action::Stop,
        Action::Mark,
        Action::MarkAll,
        Action::SortNext,
        Action::SortReverse,
        Action::NextTab,
        Action::PrevTab,
        Action::Follow,
        Action::Raw,
        Action::Save,
        Action::Undo,
        Action::Redo,
        Action::Refresh,
        Action::Copy,
        Action::Dump,
        Action::EventsView,
        Action::InstancesView,
        Action::CallTool,
        Action::ReadStream,
        Action::NextMatch,
        Action::Restart,
        Action::Detach,
        Action::StopAndQuit,
        Action::Ping,
        Action::Subscribe,
        Action::SaveBlob,
        Action::ReloadTheirs,
        Action::Overwrite,
        Action::Merge,
        Action::Recreate,
        Action::Yes,
        Action::ScrollLeft,
        Action::ScrollRight,
        Action::Switch,
        Action::Choose,
        Action::Complete,
        Action::Restore,
        Action::Discard,
        Action::StepBack,
        Action::StepForward,
    ];

    /// The name in keymap files (snake_case).
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Command => "command",
            Action::Filter => "filter",
            Action::Back => "back",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::Create => "create",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Mark => "mark",
            Action::MarkAll => "mark_all",
            Action::SortNext => "sort_next",
            Action::SortReverse => "sort_reverse",
            Action::NextTab => "next_tab",
            Action::PrevTab => "prev_tab",
            Action::Follow => "follow",
            Action::Raw => "raw",
            Action::Save => "save",
            Action::Undo => "undo",
            Action::Redo => "redo",
            Action::Refresh => "refresh",
            Action::Copy => "copy",
            Action::Dump => "dump",
            Action::EventsView => "events_view",
            Action::InstancesView => "instances_view",
            Action::CallTool => "call_tool",
            Action::ReadStream => "read_stream",
            Action::NextMatch => "next_match",
            Action::Restart => "restart",
            Action::Detach => "detach",
            Action::StopAndQuit => "stop_and_quit",
            Action::Ping => "ping",
            Action::Subscribe => "subscribe",
            Action::SaveBlob => "save_blob",
            Action::ReloadTheirs => "reload_theirs",
            Action::Overwrite => "overwrite",
            Action::Merge => "merge",
            Action::Recreate => "recreate",
            Action::Yes => "yes",
            Action::ScrollLeft => "scroll_left",
            Action::ScrollRight => "scroll_right",
            Action::Switch => "switch",
            Action::Choose => "choose",
            Action::Complete => "complete",
            Action::Restore => "restore",
            Action::Discard => "discard",
            Action::StepBack => "step_back",
            Action::StepForward => "step_forward",
        }
    }

    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }

    /// One short phrase for the help screen and help bar.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Command => "command line",
            Action::Filter => "filter",
            Action::Back => "back / close",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::Create => "create",
            Action::Edit => "edit json_spec",
            Action::Delete => "delete",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Mark => "mark row",
            Action::MarkAll => "mark all / none",
            Action::SortNext => "sort by next column",
            Action::SortReverse => "reverse sort",
            Action::NextTab => "next tab",
            Action::PrevTab => "previous tab",
            Action::Follow => "follow / pause",
            Action::Raw => "raw envelope",
            Action::Save => "save",
            Action::Undo => "undo the last change",
            Action::Redo => "redo what undo took back",
            Action::Refresh => "refresh",
            Action::Copy => "copy",
            Action::Dump => "dump view to file",
            Action::EventsView => "events view",
            Action::InstancesView => "instances view",
            Action::ReadStream => "read the whole stream",
            Action::CallTool => "call tool (argument editor)",
            Action::NextMatch => "next match",
            Action::Restart => "restart",
            Action::Detach => "detach: quit, instances keep running",
            Action::StopAndQuit => "stop the instances and quit",
            Action::Ping => "ping the server (Overview)",
            Action::Subscribe => "subscribe to resource updates",
            Action::SaveBlob => "save a binary resource to a file",
            Action::ReloadTheirs => "reload theirs (discard yours)",
            Action::Overwrite => "overwrite theirs with yours (asks first)",
            Action::Merge => "merge: keep both (when they touch different keys)",
            Action::Recreate => "create it again from yours (when it was deleted)",
            Action::Yes => "yes: do what the question asks",
            Action::ScrollLeft => "scroll left",
            Action::ScrollRight => "scroll right",
            Action::Switch => "move between yes and no",
            Action::Choose => "answer with the highlighted button",
            Action::Complete => "complete the command or its argument",
            Action::Restore => "restore it into the editor",
            Action::Discard => "discard it (asks first)",
            Action::StepBack => "time travel: previous change",
            Action::StepForward => "time travel: next change",
        }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for KeymapError {}

/// The form keys are compared in: only ctrl/alt/shift, and no shift on
/// characters (the character carries it) or on back-tab.
fn normalize(k: &KeyEvent) -> KeyEvent {
    let mut mods = k.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    let mut code = k.code;
    match code {
        KeyCode::Char(c) => {
            if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                code = KeyCode::Char(c.to_ascii_uppercase());
            }
            mods.remove(KeyModifiers::SHIFT);
        }
        KeyCode::BackTab => mods.remove(KeyModifiers::SHIFT),
        KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
            code = KeyCode::BackTab;
            mods.remove(KeyModifiers::SHIFT);
        }
        _ => {}
    }
    // Terminals cannot tell ctrl-S from ctrl-s.
    if let KeyCode::Char(c) = code
        && mods.contains(KeyModifiers::CONTROL)
    {
        code = KeyCode::Char(c.to_ascii_lowercase());
    }
    KeyEvent::new(code, mods)
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("shift-tab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
];

const ALIASES: &[(&str, &str)] = &[
    ("return", "enter"),
    ("escape", "esc"),
    ("backtab", "shift-tab"),
    ("del", "delete"),
    ("ins", "insert"),
    ("pageup", "pgup"),
    ("pagedown", "pgdn"),
    ("pgdown", "pgdn"),
    ("bs", "backspace"),
];

/// Parse a key label (`q`, `G`, `ctrl-s`, `shift-tab`, `alt-enter`, `f5`).
pub fn parse_key(label: &str) -> Result<KeyEvent, String> {
    let bad = || {
        format!(
            "'{label}' is not a key (use a character, or enter, esc, tab, shift-tab, space, backspace, delete, insert, home, end, pgup, pgdn, up, down, left, right, f1-f12, with ctrl-, alt- or shift- before it)"
        )
    };
    let mut mods = KeyModifiers::NONE;
    let mut rest = label;
    loop {
        let lower = rest.to_ascii_lowercase();
        if lower == "shift-tab" || lower == "backtab" {
            break;
        }
        let (prefix, m) = if lower.starts_with("ctrl-") && rest.len() > 5 {
            (5, KeyModifiers::CONTROL)
        } else if lower.starts_with("alt-") && rest.len() > 4 {
            (4, KeyModifiers::ALT)
        } else if lower.starts_with("shift-") && rest.len() > 6 {
            (6, KeyModifiers::SHIFT)
        } else {
            break;
        };
        mods |= m;
        rest = &rest[prefix..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(c),
        _ => {
            let lower = rest.to_ascii_lowercase();
            let name = ALIASES
                .iter()
                .find(|(a, _)| *a == lower)
                .map(|(_, n)| *n)
                .unwrap_or(lower.as_str());
            if let Some((_, code)) = NAMED.iter().find(|(n, _)| *n == name) {
                *code
            } else if let Some(n) = name.strip_prefix('f').and_then(|d| d.parse::<u8>().ok()) {
                if (1..=12).contains(&n) {
                    KeyCode::F(n)
                } else {
                    return Err(bad());
                }
            } else {
                return Err(bad());
            }
        }
    };
    if let KeyCode::Char(c) = code
        && mods.contains(KeyModifiers::SHIFT)
        && !c.is_ascii_alphabetic()
    {
        // shift-1 is whatever the layout makes it; say the character instead.
        return Err(format!(
            "'{label}': write the character shift gives instead (such as \"!\")"
        ));
    }
    if mods.contains(KeyModifiers::SHIFT) && matches!(code, KeyCode::Tab) {
        return Ok(KeyEvent::new(KeyCode::BackTab, mods - KeyModifiers::SHIFT));
    }
    Ok(normalize(&KeyEvent::new(code, mods)))
}

/// The canonical label of a key; `parse_key(&key_label(k)) == normalize(k)`.
pub fn key_label(k: &KeyEvent) -> String {
    let k = normalize(k);
    let mut out = String::new();
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        out.push_str("ctrl-");
    }
    if k.modifiers.contains(KeyModifiers::ALT) {
        out.push_str("alt-");
    }
    if k.modifiers.contains(KeyModifiers::SHIFT) {
        out.push_str("shift-");
    }
    match k.code {
        KeyCode::Char(' ') => out.push_str("space"),
        KeyCode::Char(c) => out.push(c),
        KeyCode::F(n) => out.push_str(&format!("f{n}")),
        code => match NAMED.iter().find(|(_, c)| *c == code) {
            Some((n, _)) => out.push_str(n),
            None => out.push_str(&format!("{code:?}").to_ascii_lowercase()),
        },
    }
    out
}

/// One `action = keys` line of a keymap file, before merging.
#[derive(Debug, Clone)]
struct Entry {
    view: View,
    action: Action,
    keys: Vec<(KeyEvent, String)>,
    file: String,
    line: usize,
    /// From the user's file (reported first in a conflict).
    user: bool,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// Parse one keymap file into entries (in file order) and its `preset`.
fn parse_file(
    file: &str,
    text: &str,
    user: bool,
) -> Result<(Option<String>, Vec<Entry>), KeymapError> {
    let err = |span: std::ops::Range<usize>, message: String| KeymapError {
        file: file.to_string(),
        line: Some(line_of(text, span.start)),
        message,
    };
    let doc = DeTable::parse(text).map_err(|e| KeymapError {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: format!("not valid TOML: {}", e.message().trim_end_matches('\n')),
    })?;
    let mut preset = None;
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    let views = View::ALL.map(View::name).join(", ");
    for (k, v) in doc.get_ref().iter() {
        let name = k.get_ref().as_ref();
        if user && name == "preset" {
            match v.get_ref().as_str() {
                Some(p) => preset = Some(p.to_string()),
                None => {
                    return Err(err(
                        v.span(),
                        "'preset' must be a keymap name in quotes, such as \"vim\"".into(),
                    ));
                }
            }
            continue;
        }
        let Some(view) = View::from_name(name) else {
            return Err(err(
                k.span(),
                format!(
                    "'{name}' is not a view (use {views}{})",
                    if user { ", or preset = \"NAME\"" } else { "" }
                ),
            ));
        };
        let Some(table) = v.get_ref().as_table() else {
            return Err(err(
                v.span(),
                format!("'{name}' must be a section, such as [{name}]"),
            ));
        };
        for (ak, av) in table.iter() {
            let aname = ak.get_ref().as_ref();
            let Some(action) = Action::from_name(aname) else {
                return Err(err(
                    ak.span(),
                    format!(
                        "'{aname}' in [{name}] is not an action (known: {})",
                        Action::ALL.map(Action::name).join(", ")
                    ),
                ));
            };
            let labels: Vec<(&str, std::ops::Range<usize>)> = match av.get_ref() {
                DeValue::String(s) => vec![(s.as_ref(), av.span())],
                DeValue::Array(items) => {
                    let mut out = Vec::new();
                    for item in items.iter() {
                        match item.get_ref().as_str() {
                            Some(s) => out.push((s, item.span())),
                            None => {
                                return Err(err(
                                    item.span(),
                                    format!(
                                        "'{aname}' in [{name}]: every key must be in quotes, such as \"ctrl-s\""
                                    ),
                                ));
                            }
                        }
                    }
                    out
                }
                _ => {
                    return Err(err(
                        av.span(),
                        format!(
                            "'{aname}' in [{name}] must be a key such as \"ctrl-s\" or a list such as [\"k\", \"up\"]"
                        ),
                    ));
                }
            };
            let mut keys = Vec::new();
            let mut seen = HashSet::new();
            for (label, span) in labels {
                let key = parse_key(label).map_err(|m| err(span.clone(), m))?;
                if view == View::CommandLine && line_key(&key) {
                    return Err(err(
                        span,
                        format!(
                            "key '{label}' in [command_line] is the line's own (typing, enter, backspace, esc); use tab, a function key or a key with ctrl- or alt-"
                        ),
                    ));
                }
                if view == View::Editor && typing_key(&key) {
                    return Err(err(
                        span,
                        format!(
                            "key '{label}' in [editor] would stop you typing it; use a key with ctrl- or alt-, a function key, or esc"
                        ),
                    ));
                }
                // A set, not a scan: a file may list millions of keys.
                if seen.insert(key) {
                    keys.push((key, label.to_string()));
                }
            }
            entries.push((
                ak.span().start,
                Entry {
                    view,
                    action,
                    keys,
                    file: file.to_string(),
                    line: line_of(text, ak.span().start),
                    user,
                },
            ));
        }
    }
    // toml's map is sorted by key; put the entries back in file order.
    entries.sort_by_key(|(pos, _)| *pos);
    Ok((preset, entries.into_iter().map(|(_, e)| e).collect()))
}

/// Keys the editor needs for text: characters without ctrl/alt, enter,
/// tab, backspace, delete and the arrows.
fn typing_key(k: &KeyEvent) -> bool {
    let plain = !k
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    plain
        && matches!(
            k.code,
            KeyCode::Char(_)
                | KeyCode::Enter
                | KeyCode::Tab
                | KeyCode::Backspace
                | KeyCode::Delete
                | KeyCode::Left
                | KeyCode::Right
                | KeyCode::Up
                | KeyCode::Down
        )
}

/// Keys the `:` line needs for itself: characters without ctrl/alt,
/// enter (run), backspace and esc (cancel).
fn line_key(k: &KeyEvent) -> bool {
    let plain = !k
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    plain
        && matches!(
            k.code,
            KeyCode::Char(_) | KeyCode::Enter | KeyCode::Backspace | KeyCode::Esc
        )
}

/// Actions without which the console cannot be used: (view, action).
const REQUIRED: &[(View, Action)] = &[
    (View::Global, Action::Quit),
    (View::Global, Action::Back),
    (View::Global, Action::Help),
    (View::Editor, Action::Save),
    (View::Editor, Action::Back),
    (View::Quit, Action::Detach),
    (View::Quit, Action::StopAndQuit),
    (View::Quit, Action::Back),
    (View::Conflict, Action::Back),
    (View::Confirm, Action::Yes),
    (View::Confirm, Action::Back),
    (View::Picker, Action::Choose),
    (View::Picker, Action::Back),
    (View::Drafts, Action::Back),
];

/// Merge entries, check them, and build the keymap.
fn assemble(
    name: &str,
    mut entries: Vec<Entry>,
    overrides: Vec<Entry>,
    user_file: Option<&str>,
) -> Result<Keymap, KeymapError> {
    for o in overrides {
        match entries
            .iter()
            .position(|e| e.view == o.view && e.action == o.action)
        {
            Some(i) => entries[i] = o,
            None => entries.push(o),
        }
    }
    // Two actions on one key in one view: each key's first owner, by hash
    // (linear in the number of keys, however many a file lists).
    let mut owner: HashMap<(View, KeyEvent), usize> = HashMap::new();
    for (i, a) in entries.iter().enumerate() {
        for (k, label) in &a.keys {
            let Some(&j) = owner.get(&(a.view, *k)) else {
                owner.insert((a.view, *k), i);
                continue;
            };
            let b = &entries[j];
            if b.action == a.action {
                continue;
            }
            let (a, b) = if b.user && !a.user { (b, a) } else { (a, b) };
            let other = if b.file == a.file {
                format!("line {}", b.line)
            } else {
                format!("{}:{}", b.file, b.line)
            };
            return Err(KeymapError {
                file: a.file.clone(),
                line: Some(a.line),
                message: format!(
                    "key '{label}' in [{}] is bound to both '{}' ({other}) and '{}'; give one of them another key",
                    a.view.name(),
                    b.action.name(),
                    a.action.name()
                ),
            });
        }
    }
    for (view, action) in REQUIRED {
        if !entries
            .iter()
            .any(|e| e.view == *view && e.action == *action && !e.keys.is_empty())
        {
            return Err(KeymapError {
                file: user_file
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("keymaps/{name}.toml")),
                line: None,
                message: format!(
                    "'{}' has no key in [{}], so it could not be done at all; bind one",
                    action.name(),
                    view.name()
                ),
            });
        }
    }
    let bindings = entries
        .into_iter()
        .flat_map(|e| {
            e.keys.into_iter().map(move |(key, _)| Binding {
                view: e.view,
                label: key_label(&key),
                key,
                action: e.action,
            })
        })
        .collect();
    Ok(Keymap {
        name: name.to_string(),
        bindings,
    })
}

fn preset_entries(name: &str) -> Result<Vec<Entry>, String> {
    let text = PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            format!(
                "unknown keymap '{name}' (built in: {})",
                PRESETS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    parse_file(&format!("keymaps/{name}.toml"), text, false)
        .map(|(_, e)| e)
        .map_err(|e| e.to_string())
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

    /// A built-in keymap by name (the embedded `keymaps/*.toml`).
    pub fn preset(name: &str) -> Result<Keymap, String> {
        let entries = preset_entries(name)?;
        assemble(name, entries, Vec::new(), None).map_err(|e| e.to_string())
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
                    message: m,
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
            message: m,
        })?;
        assemble(base, entries, overrides, Some(&file))
    }
}

/// A Markdown table of every binding, one section per view, for the README
/// and `keymaps/default.md`.
pub fn markdown_key_table(km: &Keymap) -> String {
    let mut out = String::new();
    for view in View::ALL {
        let mut rows: Vec<(Action, Vec<&str>)> = Vec::new();
        for b in km.bindings.iter().filter(|b| b.view == view) {
            match rows.iter_mut().find(|(a, _)| *a == b.action) {
                Some((_, keys)) => keys.push(&b.label),
                None => rows.push((b.action, vec![&b.label])),
            }
        }
        if rows.is_empty() {
            continue;
        }
        let title = match view {
            View::Global => "Everywhere (except the editor and the prompts below)".to_string(),
            View::Quit => {
                "Quit prompt (quitting while instances run under this console)".to_string()
            }
            View::Conflict => {
                "Conflict screen (saving an instance someone changed meanwhile)".to_string()
            }
            View::Confirm => {
                "Confirmation (delete, stop, restart, a tool that changes things)".to_string()
            }
            View::CommandLine => "Command line (after :)".to_string(),
            View::Picker => "Template picker (create; 1-9 choose by number)".to_string(),
            View::Drafts => "Drafts prompt (unsaved edits from an earlier session)".to_string(),
            v => {
                let n = v.name();
                let mut c = n.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        };
        out.push_str(&format!("### {title}\n\n| Key | Action |\n|---|---|\n"));
        for (action, keys) in rows {
            let keys: Vec<String> = keys.iter().map(|k| md_code(k)).collect();
            out.push_str(&format!(
                "| {} | {} |\n",
                keys.join(", "),
                action.describe()
            ));
        }
        out.push('\n');
    }
    out
}

fn md_code(s: &str) -> String {
    let s = s.replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    fn user(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(USER_FILE);
        std::fs::write(&p, text).unwrap();
        let file = p.display().to_string();
        (dir, file)
    }

    #[test]
    fn labels_round_trip() {
        for label in [
            "q",
            "G",
            "?",
            ":",
            "/",
            "ctrl-s",
            "ctrl-d",
            "alt-enter",
            "shift-tab",
            "enter",
            "esc",
            "space",
            "tab",
            "f1",
            "f12",
            "pgup",
            "pgdn",
            "home",
            "end",
            "up",
            "down",
            "left",
            "right",
            "backspace",
            "delete",
            "insert",
            "ctrl-alt-x",
            "alt-shift-up",
            "-",
            "ctrl--",
        ] {
            let key = parse_key(label).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(key_label(&key), label, "round trip of {label}");
        }
        // Aliases and case print in canonical form.
        assert_eq!(key_label(&parse_key("Ctrl-S").unwrap()), "ctrl-s");
        assert_eq!(key_label(&parse_key("PageDown").unwrap()), "pgdn");
        assert_eq!(key_label(&parse_key("backtab").unwrap()), "shift-tab");
        assert_eq!(key_label(&parse_key("shift-g").unwrap()), "G");
        for bad in ["", "ctrl-", "f13", "hyper-x", "shift-1", "enterr"] {
            assert!(parse_key(bad).is_err(), "{bad:?} should not parse");
        }
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn any_key_label_parses_back_to_the_same_key(
            code in proptest::prop_oneof![
                proptest::char::range('!', '~').prop_map(KeyCode::Char),
                proptest::char::any().prop_map(KeyCode::Char),
                (1u8..=12).prop_map(KeyCode::F),
                proptest::sample::select(NAMED.iter().map(|(_, c)| *c).collect::<Vec<_>>()),
            ],
            ctrl in proptest::bool::ANY,
            alt in proptest::bool::ANY,
            shift in proptest::bool::ANY,
        ) {
            let mut m = KeyModifiers::NONE;
            if ctrl { m |= KeyModifiers::CONTROL; }
            if alt { m |= KeyModifiers::ALT; }
            if shift { m |= KeyModifiers::SHIFT; }
            let k = KeyEvent::new(code, m);
            let label = key_label(&k);
            let parsed = parse_key(&label);
            proptest::prop_assert_eq!(parsed, Ok(normalize(&k)), "label {:?}", label);
        }
    }

    #[test]
    fn terminal_shift_reports_match_bindings() {
        let km = Keymap::preset("vim").unwrap();
        // Terminals report G as Char('G') with SHIFT; some as Char('g')+SHIFT.
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('g'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('g'), KeyModifiers::NONE)),
            Some(Action::Top)
        );
        assert_eq!(
            km.action(View::Detail, &k(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevTab)
        );
        assert_eq!(
            km.action(View::Global, &k(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Action::Help)
        );
    }

    #[test]
    fn presets_load_and_bind_every_action() {
        for (name, _) in PRESETS {
            let km = Keymap::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            for a in Action::ALL {
                assert!(
                    km.all_bindings().iter().any(|b| b.action == a),
                    "{name}: {} has no key",
                    a.name()
                );
            }
        }
        assert!(
            Keymap::preset("emacs")
                .unwrap_err()
                .contains("unknown keymap 'emacs'")
        );
    }

    #[test]
    fn default_preset_is_k9s_like() {
        let km = Keymap::preset("default").unwrap();
        let ctrl = |c| k(KeyCode::Char(c), KeyModifiers::CONTROL);
        let ch = |c| k(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.action(View::Instances, &ch(':')), Some(Action::Command));
        assert_eq!(km.action(View::Instances, &ch('/')), Some(Action::Filter));
        assert_eq!(km.action(View::Events, &ch('?')), Some(Action::Help));
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Enter, KeyModifiers::NONE)),
            Some(Action::Open)
        );
        assert_eq!(
            km.action(View::Detail, &k(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::Back)
        );
        assert_eq!(km.action(View::Instances, &ctrl('d')), Some(Action::Delete));
        assert_eq!(km.action(View::Instances, &ch('s')), Some(Action::Start));
        assert_eq!(km.action(View::Instances, &ch('x')), Some(Action::Stop));
        assert_eq!(km.action(View::Editor, &ctrl('s')), Some(Action::Save));
        // The editor does not fall back to global keys: 'q' is text there.
        assert_eq!(km.action(View::Editor, &ch('q')), None);
        assert_eq!(km.action(View::Instances, &ch('q')), Some(Action::Quit));
        // A view's own binding shadows the global one in bindings().
        let detail = km.bindings(View::Detail);
        assert!(
            detail
                .iter()
                .any(|b| b.label == "tab" && b.action == Action::NextTab)
        );
        assert_eq!(km.keys_for(View::Editor, Action::Save), vec!["ctrl-s"]);
        assert_eq!(km.keys_for(View::Detail, Action::Quit), vec!["q"]);
    }

    #[test]
    fn conflict_confirm_and_command_line_keys_are_data() {
        let ch = |c| k(KeyCode::Char(c), KeyModifiers::NONE);
        let named = |c| k(c, KeyModifiers::NONE);
        for (name, _) in PRESETS {
            let km = Keymap::preset(name).unwrap();
            for (c, a) in [
                ('r', Action::ReloadTheirs),
                ('o', Action::Overwrite),
                ('m', Action::Merge),
                ('c', Action::Recreate),
                ('y', Action::Yes),
                ('e', Action::Back),
                ('k', Action::Up),
                ('G', Action::Bottom),
                ('h', Action::ScrollLeft),
            ] {
                assert_eq!(km.action(View::Conflict, &ch(c)), Some(a), "{name}: {c}");
            }
            // Modal: global keys do not reach the conflict screen.
            assert_eq!(km.action(View::Conflict, &ch('q')), None, "{name}");
            assert_eq!(km.action(View::Confirm, &ch('Y')), Some(Action::Yes));
            assert_eq!(km.action(View::Confirm, &ch('n')), Some(Action::Back));
            assert_eq!(
                km.action(View::Confirm, &named(KeyCode::Esc)),
                Some(Action::Back)
            );
            assert_eq!(
                km.action(View::Confirm, &named(KeyCode::Tab)),
                Some(Action::Switch)
            );
            assert_eq!(
                km.action(View::Confirm, &named(KeyCode::Enter)),
                Some(Action::Choose)
            );
            assert_eq!(km.action(View::Confirm, &ch('q')), None);
            assert_eq!(
                km.action(View::CommandLine, &named(KeyCode::Tab)),
                Some(Action::Complete)
            );
            // Typing on the `:` line is never taken by a global key.
            assert_eq!(km.action(View::CommandLine, &ch('q')), None);
        }
        // The `:` line keeps its own keys.
        for bad in ["x", "enter", "backspace", "esc"] {
            let (dir, file) = user(&format!("[command_line]\ncomplete = \"{bad}\"\n"));
            let e = Keymap::load("default", Some(dir.path())).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{file}:2: key '{bad}' in [command_line] is the line's own (typing, enter, backspace, esc); use tab, a function key or a key with ctrl- or alt-"
                )
            );
        }
        let (dir, _) = user("[command_line]\ncomplete = \"ctrl-t\"\n");
        let km = Keymap::load("default", Some(dir.path())).unwrap();
        assert_eq!(
            km.action(
                View::CommandLine,
                &k(KeyCode::Char('t'), KeyModifiers::CONTROL)
            ),
            Some(Action::Complete)
        );
        // Without a way back, the conflict screen or the question would trap.
        let (dir, _) = user("[conflict]\nback = []\n");
        assert!(
            Keymap::load("default", Some(dir.path()))
                .unwrap_err()
                .to_string()
                .contains("'back' has no key in [conflict]")
        );
        let md = markdown_key_table(&Keymap::preset("default").unwrap());
        assert!(md.contains("### Conflict screen"), "{md}");
        assert!(
            md.contains("| `r` | reload theirs (discard yours) |"),
            "{md}"
        );
        assert!(
            md.contains("| `y`, `Y` | yes: do what the question asks |"),
            "{md}"
        );
        assert!(
            md.contains("| `tab` | complete the command or its argument |"),
            "{md}"
        );
    }

    #[test]
    fn user_file_merges_over_the_chosen_preset() {
        let (dir, _) = user(
            "preset = \"vim\"\n[instances]\ndelete = [\"ctrl-x\", \"delete\"]\n[global]\nquit = \"ctrl-q\"\n",
        );
        let km = Keymap::load("default", Some(dir.path())).unwrap();
        assert_eq!(km.name, "vim");
        let ctrl = |c| k(KeyCode::Char(c), KeyModifiers::CONTROL);
        assert_eq!(km.action(View::Instances, &ctrl('x')), Some(Action::Delete));
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Delete, KeyModifiers::NONE)),
            Some(Action::Delete)
        );
        // The replaced keys are gone; the rest of vim stays.
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('D'), KeyModifiers::SHIFT)),
            None
        );
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(km.action(View::Instances, &ctrl('q')), Some(Action::Quit));
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        // Without a user file, load is the preset.
        let empty = tempfile::tempdir().unwrap();
        let km = Keymap::load("default", Some(empty.path())).unwrap();
        assert_eq!(
            km.action(View::Instances, &k(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn two_actions_on_one_key_name_both() {
        // Against the preset: 'x' is stop in [instances].
        let (dir, file) = user("# mine\n[instances]\ndelete = \"x\"\n");
        let e = Keymap::load("default", Some(dir.path())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{file}:3: key 'x' in [instances] is bound to both 'stop' (keymaps/default.toml:38) and 'delete'; give one of them another key"
            )
        );
        // Within the user file.
        let (dir, file) = user("[events]\nraw = \"z\"\nfollow = \"z\"\n");
        let e = Keymap::load("default", Some(dir.path())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{file}:3: key 'z' in [events] is bound to both 'raw' (line 2) and 'follow'; give one of them another key"
            )
        );
        // The same key in different views is fine.
        let (dir, _) = user("[events]\nraw = \"z\"\n[detail]\nfollow = \"z\"\n");
        assert!(Keymap::load("default", Some(dir.path())).is_ok());
    }

    #[test]
    fn bad_user_files_name_file_and_line() {
        let cases: &[(&str, &str)] = &[
            (
                "[instances]\nexplode = \"x\"\n",
                ":2: 'explode' in [instances] is not an action (known: quit, help,",
            ),
            (
                "\n[sidebar]\nquit = \"q\"\n",
                ":2: 'sidebar' is not a view (use global, instances, detail, events, editor, quit, conflict, confirm, command_line, picker, drafts, or preset = \"NAME\")",
            ),
            (
                "[global]\nquit = \"ctrl-hyper-q\"\n",
                ":2: 'ctrl-hyper-q' is not a key (use a character, or enter",
            ),
            (
                "[global]\nquit = 5\n",
                ":2: 'quit' in [global] must be a key such as \"ctrl-s\" or a list such as [\"k\", \"up\"]",
            ),
            (
                "[global]\nquit = [\"q\", 5]\n",
                ":2: 'quit' in [global]: every key must be in quotes",
            ),
            (
                "[editor]\nsave = \"s\"\n",
                ":2: key 's' in [editor] would stop you typing it; use a key with ctrl- or alt-, a function key, or esc",
            ),
            ("[global\n", ":1: not valid TOML"),
            (
                "preset = \"emacs\"\n",
                ": unknown keymap 'emacs' (built in: default, vim)",
            ),
            (
                "[global]\nquit = []\n",
                ": 'quit' has no key in [global], so it could not be done at all; bind one",
            ),
        ];
        for (text, want) in cases {
            let (dir, file) = user(text);
            let e = Keymap::load("default", Some(dir.path()))
                .unwrap_err()
                .to_string();
            let want = format!("{file}{want}");
            assert!(e.starts_with(&want), "got:  {e}\nwant: {want}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn markdown_table_lists_every_binding() {
        let km = Keymap::preset("default").unwrap();
        let md = markdown_key_table(&km);
        assert!(md.starts_with("### Everywhere (except the editor and the prompts below)\n\n| Key | Action |\n|---|---|\n| `q` | quit |\n"), "{md}");
        assert!(md.contains("### Detail\n"));
        assert!(md.contains("| `tab`, `right` | next tab |"));
        assert!(md.contains("| `ctrl-s` | save |"));
        assert_eq!(
            md.matches("\n| `").count(),
            km.all_bindings()
                .iter()
                .fold(Vec::new(), |mut acc: Vec<(View, Action)>, b| {
                    if !acc.contains(&(b.view, b.action)) {
                        acc.push((b.view, b.action));
                    }
                    acc
                })
                .len()
        );
        // A '|' key must not break the table.
        let (dir, _) = user("[events]\nraw = \"|\"\n");
        let md = markdown_key_table(&Keymap::load("default", Some(dir.path())).unwrap());
        assert!(md.contains("| `\\|` | raw envelope |"), "{md}");
    }

    /// If README.md marks a key table with `<!-- keys:start -->` and
    /// `<!-- keys:end -->`, what is between is the generated table
    /// (`UPDATE_KEY_TABLE=1` rewrites it).
    #[test]
    fn readme_key_table_is_current_when_marked() {
        const START: &str = "<!-- keys:start -->\n";
        const END: &str = "<!-- keys:end -->";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let Ok(readme) = std::fs::read_to_string(&path) else {
            return;
        };
        let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
            return;
        };
        let table = markdown_key_table(&Keymap::preset("default").unwrap());
        let body = &readme[a + START.len()..b];
        if std::env::var_os("UPDATE_KEY_TABLE").is_some() && body != table {
            let new = format!("{}{table}{}", &readme[..a + START.len()], &readme[b..]);
            std::fs::write(&path, new).unwrap();
            return;
        }
        assert_eq!(
            body, table,
            "README key table is stale; run UPDATE_KEY_TABLE=1 cargo test --lib tui::keymap"
        );
    }

    /// `keymaps/NAME.md` is generated from `keymaps/NAME.toml`; run
    /// with `UPDATE_KEY_TABLE=1` to rewrite them after changing a keymap.
    #[test]
    fn generated_key_tables_are_current() {
        for (name, _) in PRESETS {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("keymaps/{name}.md"));
            let want = format!(
                "<!-- generated from keymaps/{name}.toml by `UPDATE_KEY_TABLE=1 cargo test --lib tui::keymap`; do not edit -->\n\n{}",
                markdown_key_table(&Keymap::preset(name).unwrap())
            );
            if std::env::var_os("UPDATE_KEY_TABLE").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(
                have, want,
                "keymaps/{name}.md is stale; run UPDATE_KEY_TABLE=1 cargo test --lib tui::keymap"
            );
        }
    }
}
