//! Key labels as keymap files write them: parsing, printing, and the form
//! keys are compared in.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Why a key label is not a key: one sentence naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "'{0}' is not a key (use a character, or enter, esc, tab, shift-tab, space, backspace, delete, insert, home, end, pgup, pgdn, up, down, left, right, f1-f12, with ctrl-, alt- or shift- before it)"
    )]
    NotAKey(String),
    /// shift-1 is whatever the layout makes it; say the character instead.
    #[error("'{0}': write the character shift gives instead (such as \"!\")")]
    ShiftedSymbol(String),
}

/// The form keys are compared in: only ctrl/alt/shift, and no shift on
/// characters (the character carries it) or on back-tab.
pub(crate) fn normalize(k: &KeyEvent) -> KeyEvent {
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

pub(super) const NAMED: &[(&str, KeyCode)] = &[
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
pub fn parse_key(label: &str) -> Result<KeyEvent, KeyError> {
    let bad = || KeyError::NotAKey(label.to_string());
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
        return Err(KeyError::ShiftedSymbol(label.to_string()));
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

/// Without ctrl or alt: what a key types, if it types anything.
fn plain(k: &KeyEvent) -> bool {
    !k.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

/// Keys the editor needs for text: characters without ctrl/alt, enter,
/// tab, backspace, delete and the arrows.
pub(super) fn typing_key(k: &KeyEvent) -> bool {
    plain(k)
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
pub(super) fn line_key(k: &KeyEvent) -> bool {
    plain(k)
        && matches!(
            k.code,
            KeyCode::Char(_) | KeyCode::Enter | KeyCode::Backspace | KeyCode::Esc
        )
}
