//! Help and the raw view: one scrolling text overlay, by the keymap's
//! `[pager]` keys.

use crate::tui::keymap::{Action, Keymap, View};
use crossterm::event::KeyEvent;

/// A scrolling text overlay's own state: where it is, and how far it can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPager {
    /// The first line shown.
    pub scroll: u16,
    /// How far it can scroll before its last line leaves the bottom, as
    /// of the last frame (help sets it when drawn; raw text scrolls freely).
    pub max: u16,
}

impl Default for TextPager {
    fn default() -> TextPager {
        // Nothing drawn yet: it scrolls freely.
        TextPager {
            scroll: 0,
            max: u16::MAX,
        }
    }
}

/// What a key did to a pager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerOutcome {
    /// Not a pager key: it stays open as it was.
    None,
    /// It scrolled (or tried to, at an end).
    Scrolled,
    /// Back, quit or help: it closes.
    Close,
}

impl TextPager {
    /// A key, by the `[pager]` keys (and the global ones: up, down, page
    /// up/down; back, quit, help).
    pub fn handle_key(&mut self, keymap: &Keymap, k: &KeyEvent) -> PagerOutcome {
        let d: i32 = match keymap.action(View::Pager, k) {
            Some(Action::Up) => -1,
            Some(Action::Down) => 1,
            Some(Action::PageUp) => -10,
            Some(Action::PageDown) => 10,
            Some(Action::Back | Action::Quit | Action::Help) => return PagerOutcome::Close,
            _ => return PagerOutcome::None,
        };
        // Invariant: clamped to 0..=max, a u16.
        self.scroll = (i32::from(self.scroll) + d).clamp(0, i32::from(self.max)) as u16;
        PagerOutcome::Scrolled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn keys() -> Keymap {
        Keymap::preset("default").expect("the default keymap")
    }

    #[test]
    fn a_pager_scrolls_by_lines_and_pages_and_stops_at_its_ends() {
        let keys = keys();
        let mut p = TextPager { scroll: 0, max: 15 };
        assert_eq!(
            p.handle_key(&keys, &key(KeyCode::Up)),
            PagerOutcome::Scrolled
        );
        assert_eq!(p.scroll, 0, "the top is the top");
        p.handle_key(&keys, &key(KeyCode::Down));
        assert_eq!(p.scroll, 1);
        p.handle_key(&keys, &key(KeyCode::PageDown));
        assert_eq!(p.scroll, 11);
        p.handle_key(&keys, &key(KeyCode::PageDown));
        assert_eq!(p.scroll, 15, "stops with its last line at the bottom");
        p.handle_key(&keys, &key(KeyCode::PageUp));
        assert_eq!(p.scroll, 5);
    }

    #[test]
    fn a_pager_never_drawn_scrolls_freely() {
        let mut p = TextPager::default();
        for _ in 0..30 {
            p.handle_key(&keys(), &key(KeyCode::PageDown));
        }
        assert_eq!(p.scroll, 300);
    }

    #[test]
    fn a_pager_closes_by_back_quit_or_help_and_ignores_other_keys() {
        let keys = keys();
        let mut p = TextPager { scroll: 3, max: 10 };
        assert_eq!(
            p.handle_key(&keys, &key(KeyCode::Char('z'))),
            PagerOutcome::None
        );
        assert_eq!(p.scroll, 3, "an unbound key moves nothing");
        for k in [KeyCode::Esc, KeyCode::Char('q'), KeyCode::Char('?')] {
            assert_eq!(p.handle_key(&keys, &key(k)), PagerOutcome::Close, "{k:?}");
        }
    }
}
