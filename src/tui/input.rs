//! One line of text being typed: the `:` line, the filter line, a
//! prompt's argument field. Its keys are the line's own, as the keymap
//! files say (typing, backspace, enter, esc, and moving between fields);
//! what the line is for decides what enter and esc then do. With the
//! [`super::editor`], this is the console's text input.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One line of text being typed (`:` or `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
    /// What tab offered when more than one thing fits.
    pub candidates: Vec<String>,
}

/// What a key did to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOutcome {
    /// A character was typed.
    Typed,
    /// Backspace: whether there was a character to erase.
    Erased(bool),
    /// Enter.
    Submit,
    /// Esc or ctrl-c.
    Cancel,
    /// Tab or down: the next field.
    Next,
    /// Shift-tab or up: the previous field.
    Prev,
    /// A key a line does not take (the text is unchanged).
    Ignored,
}

impl LineInput {
    /// A line holding `text`.
    pub fn with_text(text: impl Into<String>) -> LineInput {
        LineInput {
            text: text.into(),
            candidates: Vec::new(),
        }
    }

    /// Apply a key; what tab offered is stale once the text changes.
    pub fn handle_key(&mut self, k: &KeyEvent) -> InputOutcome {
        let out = edit_line(&mut self.text, k, usize::MAX);
        if matches!(out, InputOutcome::Typed | InputOutcome::Erased(_)) {
            self.candidates.clear();
        }
        out
    }
}

/// Apply a key to `text`, kept at most `max` characters.
pub fn edit_line(text: &mut String, k: &KeyEvent, max: usize) -> InputOutcome {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        return InputOutcome::Cancel;
    }
    match k.code {
        KeyCode::Esc => InputOutcome::Cancel,
        KeyCode::Enter => InputOutcome::Submit,
        KeyCode::Backspace => InputOutcome::Erased(text.pop().is_some()),
        KeyCode::Tab | KeyCode::Down => InputOutcome::Next,
        KeyCode::BackTab | KeyCode::Up => InputOutcome::Prev,
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            if text.chars().count() < max {
                text.push(c);
            }
            InputOutcome::Typed
        }
        _ => InputOutcome::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_erasing_and_the_lines_own_keys() {
        let mut l = LineInput::with_text("so");
        l.candidates = vec!["sort".into()];
        assert_eq!(l.handle_key(&k(KeyCode::Char('r'))), InputOutcome::Typed);
        assert_eq!(l.text, "sor");
        assert!(l.candidates.is_empty(), "what tab offered is stale");
        assert_eq!(
            l.handle_key(&k(KeyCode::Backspace)),
            InputOutcome::Erased(true)
        );
        assert_eq!(l.text, "so");
        assert_eq!(l.handle_key(&k(KeyCode::Enter)), InputOutcome::Submit);
        assert_eq!(l.handle_key(&k(KeyCode::Esc)), InputOutcome::Cancel);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(l.handle_key(&ctrl_c), InputOutcome::Cancel);
        let alt_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT);
        assert_eq!(l.handle_key(&alt_x), InputOutcome::Ignored);
        assert_eq!(l.text, "so");
        let mut empty = LineInput::default();
        assert_eq!(
            empty.handle_key(&k(KeyCode::Backspace)),
            InputOutcome::Erased(false)
        );
    }

    #[test]
    fn a_field_keeps_its_length_and_moves_focus() {
        let mut s = String::from("ab");
        assert_eq!(
            edit_line(&mut s, &k(KeyCode::Char('c')), 2),
            InputOutcome::Typed
        );
        assert_eq!(s, "ab", "full: nothing added");
        assert_eq!(edit_line(&mut s, &k(KeyCode::Tab), 2), InputOutcome::Next);
        assert_eq!(
            edit_line(&mut s, &k(KeyCode::BackTab), 2),
            InputOutcome::Prev
        );
    }
}
