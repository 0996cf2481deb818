//! The console's state in-process: the fixture `App` with the default theme
//! and keymap, keys as messages, and the text a render leaves on screen.

use aacon::tui::app::{App, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::Keymap;
use aacon::tui::theme::Theme;
use aacon::tui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The fixture console (its instances, events and clock), default theme and keymap.
pub fn app() -> App {
    fixtures::app(
        Theme::preset("default").unwrap(),
        Keymap::preset("default").unwrap(),
    )
}

/// What `app` draws on a `w` x `h` screen, as text.
pub fn render(app: &mut App, w: u16, h: u16) -> String {
    app.prepare();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| views::render(f, app)).unwrap();
    fixtures::screen_text(t.backend().buffer())
}

/// The key `c`, unmodified.
pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// ctrl-`c`.
pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// The key `c` (any code), unmodified.
pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
