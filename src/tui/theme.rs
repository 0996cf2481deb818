//! Themes: named styles for every role on screen.
//!
//! CONTRACT (used by the views): the public fields of [`Theme`],
//! [`Theme::status`], [`Theme::preset`], [`Theme::load`], [`Theme::no_color`].
//! Presets live in `themes/*.toml`, embedded in the binary; files in the
//! config dir's `themes/` override them.

use super::term::Background;
use crate::domain::Status;
use ratatui::style::{Color, Modifier, Style};
use std::path::Path;

mod file;

pub use file::{ColourError, parse_colour};
use file::{Resolved, preset_text, resolve, user_theme_path};

/// Declares the `[ui]` roles once: each is a [`Theme`] field of the same
/// name, set from `ui.NAME` in theme files.
macro_rules! ui_roles {
    ($($(#[$meta:meta])* $role:ident,)*) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $($(#[$meta])* pub $role: Style,)*
            pub statuses: [Style; 8],
            /// The background the theme is made for (`background = "light"`).
            pub background: Background,
            /// The theme's own background colour (`paper`), painted when the
            /// terminal's background is not the one the theme is made for.
            pub paper: Option<Color>,
        }

        /// The roles under `[ui]`, in [`Theme`] field order.
        pub const UI_ROLES: &[&str] = &[$(stringify!($role)),*];

        /// Turn resolved roles into a [`Theme`]; every role must be set.
        fn build(name: &str, r: &Resolved, file: &str) -> Result<Theme, ThemeError> {
            let get = |key: String| {
                r.roles.get(&key).copied().ok_or_else(|| ThemeError {
                    file: file.to_string(),
                    line: None,
                    key: Some(key),
                    message: "is missing; set it, or add inherits = \"default\" at the top to take the roles you leave out from a preset".into(),
                })
            };
            let mut statuses = [Style::default(); 8];
            for (i, s) in status_names().iter().enumerate() {
                statuses[i] = get(format!("status.{s}"))?;
            }
            Ok(Theme {
                name: name.to_string(),
                $($role: get(concat!("ui.", stringify!($role)).to_string())?,)*
                statuses,
                background: r.background.unwrap_or(Background::Dark),
                paper: r.paper,
            })
        }
    };
}

ui_roles! {
    /// Default text on the background.
    base,
    header,
    border,
    border_focus,
    title,
    selected,
    marked,
    /// Briefly applied to cells an event just changed.
    changed,
    dim,
    ok,
    warning,
    error,
    /// Key names in the help bar and help screen.
    key,
    badge,
}

/// The roles under `[status]`, in `Status::ALL` order.
fn status_names() -> [&'static str; 8] {
    Status::ALL.map(Status::as_str)
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
            background: Background::Dark,
            paper: Some(Color::Rgb(0x1c, 0x1c, 0x1c)),
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
            background: Background::Dark,
            paper: None,
        }
    }

    /// A built-in theme by name (the embedded `themes/*.toml`, or `no-color`).
    pub fn preset(name: &str) -> Result<Theme, PresetError> {
        if preset_text(name).is_none() && name != "no-color" {
            return Err(PresetError::Unknown(name.to_string()));
        }
        Ok(Theme::load(name, None, false)?)
    }
}

/// A theme shipped in the binary: its name and its TOML text.
pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    (
        "catppuccin-mocha",
        include_str!("../../themes/catppuccin-mocha.toml"),
    ),
    (
        "gruvbox-dark",
        include_str!("../../themes/gruvbox-dark.toml"),
    ),
];

/// Whether `NO_COLOR` asks for no colour (set and non-empty, per no-color.org).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Why a theme could not be loaded: one sentence naming the file, and the
/// line and key when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file}{}: {}{message}",
    .line.map(|l| format!(":{l}")).unwrap_or_default(),
    .key.as_ref().map(|k| format!("key '{k}': ")).unwrap_or_default()
)]
pub struct ThemeError {
    /// The file as the user knows it (`themes/x.toml` for presets).
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

/// Why a built-in theme could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error("unknown theme '{0}' (built in: {known})", known = builtin_names().join(", "))]
    Unknown(String),
    /// A shipped preset that does not load (caught by the tests).
    #[error(transparent)]
    Invalid(#[from] ThemeError),
}

/// The presets' names and `no-color`.
fn builtin_names() -> Vec<&'static str> {
    let mut known: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
    known.push("no-color");
    known
}

impl Theme {
    /// Load theme `name`: `<config_dir>/themes/NAME.toml` if it exists, else
    /// the preset of that name. With `no_color` the result is
    /// [`Theme::no_color`] whatever the name.
    pub fn load(
        name: &str,
        config_dir: Option<&Path>,
        no_color: bool,
    ) -> Result<Theme, ThemeError> {
        if no_color {
            return Ok(Theme::no_color());
        }
        if name == "no-color" && user_theme_path(config_dir, name).is_none() {
            return Ok(Theme::no_color());
        }
        let mut chain = Vec::new();
        let resolved = resolve(name, config_dir, false, &mut chain)?;
        let file = chain.first().cloned().unwrap_or_else(|| name.to_string());
        build(name, &resolved, &file)
    }

    /// Every theme name available: presets, `no-color`, and user files.
    pub fn available(config_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = PRESETS.iter().map(|(n, _)| n.to_string()).collect();
        names.push("no-color".into());
        if let Some(dir) = config_dir
            && let Ok(rd) = std::fs::read_dir(dir.join("themes"))
        {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "toml")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                    && !names.iter().any(|n| n == stem)
                {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        names
    }
}

impl Theme {
    /// Whether the theme paints its own background (`paper`) on a terminal
    /// whose background is `terminal` (unknown is taken as dark, the usual
    /// case): when they differ, the theme's colours would be unreadable on
    /// the terminal's own background.
    pub fn paints_paper(&self, terminal: Option<Background>) -> bool {
        self.paper.is_some() && self.background != terminal.unwrap_or(Background::Dark)
    }

    /// Fit the theme to the terminal's background (see [`Theme::paints_paper`]).
    pub fn fit_background(&mut self, terminal: Option<Background>) {
        if let (true, Some(paper)) = (self.paints_paper(terminal), self.paper) {
            self.base = self.base.bg(paper);
        }
    }

    /// The theme and the terminal's background in one sentence (doctor).
    pub fn describe_background(&self, terminal: Option<Background>) -> String {
        let term = match terminal {
            Some(b) => format!("the terminal's is {} (COLORFGBG)", b.as_str()),
            None => "the terminal's is unknown (no COLORFGBG), taken as dark".into(),
        };
        let verdict = if self.paints_paper(terminal) {
            "the console paints the theme's own background"
        } else if self.background != terminal.unwrap_or(Background::Dark) {
            "the theme sets no paper colour, so text may be hard to read"
        } else {
            "they match"
        };
        format!(
            "theme {} is made for a {} background; {term}: {verdict}",
            self.name,
            self.background.as_str()
        )
    }
}

#[cfg(test)]
mod tests;
