//! Themes: named styles for every role on screen.
//!
//! CONTRACT (used by the views): the public fields of [`Theme`],
//! [`Theme::status`], [`Theme::preset`], [`Theme::load`], [`Theme::no_color`].
//! Presets live in `themes/*.toml`, embedded in the binary; files in the
//! config dir's `themes/` override them.

use crate::domain::Status;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Default text on the background.
    pub base: Style,
    pub header: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub selected: Style,
    pub marked: Style,
    /// Briefly applied to cells an event just changed.
    pub changed: Style,
    pub dim: Style,
    pub ok: Style,
    pub warning: Style,
    pub error: Style,
    /// Key names in the help bar and help screen.
    pub key: Style,
    pub badge: Style,
    pub statuses: [Style; 8],
}

impl Theme {
    /// The style for a status (indexed in `Status::ALL` order).
    pub fn status(&self, s: Status) -> Style {
        let i = Status::ALL.iter().position(|x| *x == s).unwrap_or(0);
        self.statuses[i]
    }

    /// The built-in dark theme.
    pub fn default_dark() -> Theme {
        let fg = Color::Rgb(0xd0, 0xd0, 0xd0);
        Theme {
            name: "default".into(),
            base: Style::default().fg(fg),
            header: Style::default().fg(Color::Rgb(0x87, 0xaf, 0xff)),
            border: Style::default().fg(Color::Rgb(0x58, 0x58, 0x58)),
            border_focus: Style::default().fg(Color::Rgb(0x87, 0xaf, 0xff)),
            title: Style::default()
                .fg(Color::Rgb(0xff, 0xd7, 0x5f))
                .add_modifier(Modifier::BOLD),
            selected: Style::default()
                .bg(Color::Rgb(0x30, 0x40, 0x60))
                .add_modifier(Modifier::BOLD),
            marked: Style::default().fg(Color::Rgb(0xff, 0x87, 0xd7)),
            changed: Style::default().bg(Color::Rgb(0x5f, 0x5f, 0x00)),
            dim: Style::default().fg(Color::Rgb(0x80, 0x80, 0x80)),
            ok: Style::default().fg(Color::Rgb(0x87, 0xd7, 0x87)),
            warning: Style::default().fg(Color::Rgb(0xff, 0xaf, 0x5f)),
            error: Style::default().fg(Color::Rgb(0xff, 0x5f, 0x5f)),
            key: Style::default()
                .fg(Color::Rgb(0x5f, 0xd7, 0xff))
                .add_modifier(Modifier::BOLD),
            badge: Style::default()
                .fg(Color::Black)
                .bg(Color::Rgb(0xff, 0xaf, 0x5f)),
            statuses: [
                Style::default().fg(Color::Rgb(0xa8, 0xa8, 0xa8)),
                Style::default().fg(Color::Rgb(0x87, 0xaf, 0xd7)),
                Style::default().fg(Color::Rgb(0x5f, 0xaf, 0xff)),
                Style::default().fg(Color::Rgb(0x87, 0xd7, 0x87)),
                Style::default().fg(Color::Rgb(0xff, 0xaf, 0x5f)),
                Style::default().fg(Color::Rgb(0xaf, 0x87, 0xd7)),
                Style::default().fg(Color::Rgb(0x80, 0x80, 0x80)),
                Style::default()
                    .fg(Color::Rgb(0xff, 0x5f, 0x5f))
                    .add_modifier(Modifier::BOLD),
            ],
        }
    }

    /// Monochrome: modifiers only (for `NO_COLOR`).
    pub fn no_color() -> Theme {
        let plain = Style::default();
        Theme {
            name: "no-color".into(),
            base: plain,
            header: plain,
            border: plain,
            border_focus: plain.add_modifier(Modifier::BOLD),
            title: plain.add_modifier(Modifier::BOLD),
            selected: plain.add_modifier(Modifier::REVERSED),
            marked: plain.add_modifier(Modifier::UNDERLINED),
            changed: plain.add_modifier(Modifier::BOLD),
            dim: plain,
            ok: plain,
            warning: plain.add_modifier(Modifier::BOLD),
            error: plain.add_modifier(Modifier::BOLD),
            key: plain.add_modifier(Modifier::BOLD),
            badge: plain.add_modifier(Modifier::REVERSED),
            statuses: [plain; 8],
        }
    }

    /// A built-in theme by name.
    pub fn preset(name: &str) -> Result<Theme, String> {
        match name {
            "default" => Ok(Theme::default_dark()),
            "no-color" => Ok(Theme::no_color()),
            other => Err(format!("unknown theme '{other}'")),
        }
    }
}
