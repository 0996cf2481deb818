//! Keymaps: which key does what in which view.
//!
//! CONTRACT (used by the views): [`View`], [`Action`], [`Keymap::action`],
//! [`Keymap::bindings`], [`Keymap::preset`]. Presets live in
//! `keymaps/*.toml`, embedded in the binary; a user file in the config dir
//! merges over a preset.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. `Global` applies everywhere a view does not
/// bind the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    Global,
    Instances,
    Detail,
    Events,
    Editor,
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
    Refresh,
    Copy,
    Dump,
    EventsView,
    InstancesView,
}

impl Action {
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
            Action::Refresh => "refresh",
            Action::Copy => "copy",
            Action::Dump => "dump view to file",
            Action::EventsView => "events view",
            Action::InstancesView => "instances view",
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

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

impl Keymap {
    /// The action bound to `key` in `view`, falling back to `Global`.
    pub fn action(&self, view: View, k: &KeyEvent) -> Option<Action> {
        let norm = KeyEvent::new(k.code, k.modifiers);
        let find = |v: View| {
            self.bindings
                .iter()
                .find(|b| {
                    b.view == v && b.key.code == norm.code && b.key.modifiers == norm.modifiers
                })
                .map(|b| b.action)
        };
        find(view).or_else(|| {
            if view == View::Editor {
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
        if view != View::Editor {
            out.extend(
                self.bindings
                    .iter()
                    .filter(|b| b.view == View::Global && !own.iter().any(|o| o.key == b.key)),
            );
        }
        out
    }

    pub fn preset(name: &str) -> Result<Keymap, String> {
        if name != "default" {
            return Err(format!("unknown keymap '{name}'"));
        }
        let b = |view, label: &str, key, action| Binding {
            view,
            key,
            label: label.into(),
            action,
        };
        use Action as A;
        use View as V;
        let bindings = vec![
            b(V::Global, "q", key(KeyCode::Char('q')), A::Quit),
            b(V::Global, "?", key(KeyCode::Char('?')), A::Help),
            b(V::Global, ":", key(KeyCode::Char(':')), A::Command),
            b(V::Global, "/", key(KeyCode::Char('/')), A::Filter),
            b(V::Global, "esc", key(KeyCode::Esc), A::Back),
            b(V::Global, "up", key(KeyCode::Up), A::Up),
            b(V::Global, "down", key(KeyCode::Down), A::Down),
            b(V::Global, "pgup", key(KeyCode::PageUp), A::PageUp),
            b(V::Global, "pgdn", key(KeyCode::PageDown), A::PageDown),
            b(V::Global, "home", key(KeyCode::Home), A::Top),
            b(V::Global, "end", key(KeyCode::End), A::Bottom),
            b(V::Instances, "enter", key(KeyCode::Enter), A::Open),
            b(V::Instances, "n", key(KeyCode::Char('n')), A::Create),
            b(V::Instances, "e", key(KeyCode::Char('e')), A::Edit),
            b(
                V::Instances,
                "ctrl-d",
                KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL),
                A::Delete,
            ),
            b(V::Instances, "s", key(KeyCode::Char('s')), A::Start),
            b(V::Instances, "x", key(KeyCode::Char('x')), A::Stop),
            b(V::Instances, "space", key(KeyCode::Char(' ')), A::Mark),
            b(V::Instances, "Tab", key(KeyCode::Tab), A::SortNext),
            b(
                V::Editor,
                "ctrl-s",
                KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL),
                A::Save,
            ),
            b(V::Editor, "esc", key(KeyCode::Esc), A::Back),
        ];
        Ok(Keymap {
            name: name.into(),
            bindings,
        })
    }
}
