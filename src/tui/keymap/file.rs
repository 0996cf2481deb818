//! Reading keymap files: parsing one file into entries, merging a user
//! file over a preset, and the checks that keep every view usable.

use super::key::{key_label, line_key, parse_key, typing_key};
use super::{Action, Binding, Keymap, KeymapError, PRESETS, PresetError, View};
use crate::config::line_of;
use crossterm::event::KeyEvent;
use std::collections::{HashMap, HashSet};
use toml::de::{DeTable, DeValue};

/// One `action = keys` line of a keymap file, before merging.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    view: View,
    action: Action,
    keys: Vec<(KeyEvent, String)>,
    file: String,
    line: usize,
    /// From the user's file (reported first in a conflict).
    user: bool,
}

/// Parse one keymap file into entries (in file order) and its `preset`.
pub(super) fn parse_file(
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
    let views = View::ALL
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ");
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
                        Action::ALL
                            .iter()
                            .map(|a| a.name())
                            .collect::<Vec<_>>()
                            .join(", ")
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
                let key = parse_key(label).map_err(|m| err(span.clone(), m.to_string()))?;
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
    (View::Unsaved, Action::Back),
];

/// Merge entries, check them, and build the keymap.
pub(super) fn assemble(
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

pub(super) fn preset_entries(name: &str) -> Result<Vec<Entry>, PresetError> {
    let text = PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| PresetError::Unknown(name.to_string()))?;
    Ok(parse_file(&format!("keymaps/{name}.toml"), text, false)?.1)
}
