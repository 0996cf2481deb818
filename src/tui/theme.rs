//! Themes: named styles for every role on screen.
//!
//! CONTRACT (used by the views): the public fields of [`Theme`],
//! [`Theme::status`], [`Theme::preset`], [`Theme::load`], [`Theme::no_color`].
//! Presets live in `themes/*.toml`, embedded in the binary; files in the
//! config dir's `themes/` override them.

use super::term::Background;
use crate::domain::Status;
use ratatui::style::{Color, Modifier, Style};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

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
    /// The background the theme is made for (`background = "light"`).
    pub background: Background,
    /// The theme's own background colour (`paper`), painted when the
    /// terminal's background is not the one the theme is made for.
    pub paper: Option<Color>,
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
    pub fn preset(name: &str) -> Result<Theme, String> {
        if preset_text(name).is_none() && name != "no-color" {
            let mut known: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            known.push("no-color");
            return Err(format!(
                "unknown theme '{name}' (built in: {})",
                known.join(", ")
            ));
        }
        Theme::load(name, None, false).map_err(|e| e.to_string())
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

/// The roles under `[ui]`, in [`Theme`] field order.
pub const UI_ROLES: [&str; 14] = [
    "base",
    "header",
    "border",
    "border_focus",
    "title",
    "selected",
    "marked",
    "changed",
    "dim",
    "ok",
    "warning",
    "error",
    "key",
    "badge",
];

/// Whether `NO_COLOR` asks for no colour (set and non-empty, per no-color.org).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Why a theme could not be loaded: one sentence naming the file, and the
/// line and key when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeError {
    /// The file as the user knows it (`themes/x.toml` for presets).
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        f.write_str(": ")?;
        if let Some(k) = &self.key {
            write!(f, "key '{k}': ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ThemeError {}

/// A theme file resolved so far: its palette and the roles it sets.
#[derive(Debug, Clone, Default)]
struct Resolved {
    palette: HashMap<String, Color>,
    roles: HashMap<String, Style>,
    background: Option<Background>,
    paper: Option<Color>,
}

/// Where a theme's text comes from.
struct Source {
    file: String,
    text: String,
    /// Whether this is a user file (so `inherits` of its own name means the preset).
    user: bool,
}

fn preset_text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn user_theme_path(config_dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    let dir = config_dir?;
    let p = dir.join("themes").join(format!("{name}.toml"));
    p.is_file().then_some(p)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
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

/// Resolve `name` (following `inherits`) into a palette and roles.
/// `chain` collects the files visited, to report cycles.
fn resolve(
    name: &str,
    config_dir: Option<&Path>,
    preset_only: bool,
    chain: &mut Vec<String>,
) -> Result<Resolved, ThemeError> {
    let user = if preset_only {
        None
    } else {
        user_theme_path(config_dir, name)
    };
    let source = match user {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError {
                file: path.display().to_string(),
                line: None,
                key: None,
                message: format!("cannot be read ({e})"),
            })?;
            Source {
                file: path.display().to_string(),
                text,
                user: true,
            }
        }
        None => match preset_text(name) {
            Some(t) => Source {
                file: format!("themes/{name}.toml"),
                text: t.to_string(),
                user: false,
            },
            None => {
                let mut known: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                known.push("no-color");
                return Err(ThemeError {
                    file: chain.last().cloned().unwrap_or_else(|| "theme".into()),
                    line: None,
                    key: None,
                    message: format!(
                        "there is no theme '{name}' (built in: {}; or add {}/themes/{name}.toml)",
                        known.join(", "),
                        config_dir
                            .map(|d| d.display().to_string())
                            .unwrap_or_else(|| "the config dir".into())
                    ),
                });
            }
        },
    };
    if chain.contains(&source.file) {
        return Err(ThemeError {
            file: source.file.clone(),
            line: None,
            key: Some("inherits".into()),
            message: format!(
                "inheritance loops back to this file ({})",
                chain.join(" -> ")
            ),
        });
    }
    chain.push(source.file.clone());
    parse_file(name, &source, config_dir, chain)
}

fn parse_file(
    name: &str,
    src: &Source,
    config_dir: Option<&Path>,
    chain: &mut Vec<String>,
) -> Result<Resolved, ThemeError> {
    let text = src.text.as_str();
    let err =
        |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| ThemeError {
            file: src.file.clone(),
            line: span.map(|s| line_of(text, s.start)),
            key,
            message,
        };
    let doc = DeTable::parse(text).map_err(|e| {
        err(
            e.span(),
            None,
            format!("not valid TOML: {}", e.message().trim_end_matches('\n')),
        )
    })?;
    let doc = doc.get_ref();

    // `inherits` first: the parent's palette and roles are the starting point.
    let mut out = Resolved::default();
    for (k, v) in doc.iter() {
        if k.get_ref().as_ref() == "inherits" {
            let Some(parent) = v.get_ref().as_str() else {
                return Err(err(
                    Some(v.span()),
                    Some("inherits".into()),
                    "must be a theme name in quotes, such as \"default\"".into(),
                ));
            };
            let preset_only = src.user && parent == name;
            out = resolve(parent, config_dir, preset_only, chain).map_err(|mut e| {
                if e.line.is_none() && e.file == src.file {
                    e.line = Some(line_of(text, v.span().start));
                }
                e
            })?;
        }
    }
    // Then this file's palette, then its roles.
    for (k, v) in doc.iter() {
        match k.get_ref().as_ref() {
            "inherits" | "name" => {}
            "palette" => {
                let Some(table) = v.get_ref().as_table() else {
                    return Err(err(
                        Some(v.span()),
                        Some("palette".into()),
                        "must be a table of name = \"#rrggbb\"".into(),
                    ));
                };
                for (pk, pv) in table.iter() {
                    let key = format!("palette.{}", pk.get_ref());
                    let c = colour_value(pv.get_ref(), None)
                        .map_err(|m| err(Some(pv.span()), Some(key.clone()), m))?;
                    out.palette.insert(pk.get_ref().to_string(), c);
                }
            }
            "ui" | "status" | "paper" => {}
            "background" => {
                out.background = Some(match v.get_ref().as_str() {
                    Some("dark") => Background::Dark,
                    Some("light") => Background::Light,
                    _ => {
                        return Err(err(
                            Some(v.span()),
                            Some("background".into()),
                            "must be \"dark\" or \"light\" (the background the theme is made for)"
                                .into(),
                        ));
                    }
                });
            }
            other => {
                return Err(err(
                    Some(k.span()),
                    Some(other.to_string()),
                    "is not a theme key (use inherits, background, paper, palette, ui or status)"
                        .into(),
                ));
            }
        }
    }
    // `paper` may name a palette colour, so after the palette.
    for (k, v) in doc.iter() {
        if k.get_ref().as_ref() == "paper" {
            let c = colour_value(v.get_ref(), Some(&out.palette))
                .map_err(|m| err(Some(v.span()), Some("paper".into()), m))?;
            out.paper = Some(c);
        }
    }
    for (k, v) in doc.iter() {
        let section = k.get_ref().as_ref();
        let known: &[&str] = match section {
            "ui" => &UI_ROLES,
            "status" => &STATUS_NAMES,
            _ => continue,
        };
        let Some(table) = v.get_ref().as_table() else {
            return Err(err(
                Some(v.span()),
                Some(section.to_string()),
                format!("must be a table, such as [{section}]"),
            ));
        };
        for (rk, rv) in table.iter() {
            let role = rk.get_ref().as_ref();
            let key = format!("{section}.{role}");
            if !known.contains(&role) {
                return Err(err(
                    Some(rk.span()),
                    Some(key),
                    format!("is not a role (known: {})", known.join(", ")),
                ));
            }
            let style = style_value(rv, &out.palette, &key, text, &src.file)?;
            out.roles.insert(key, style);
        }
    }
    Ok(out)
}

const STATUS_NAMES: [&str; 8] = [
    "pending",
    "validating",
    "starting",
    "running",
    "unhealthy",
    "stopping",
    "stopped",
    "error",
];

fn style_value(
    v: &Spanned<DeValue<'_>>,
    palette: &HashMap<String, Color>,
    key: &str,
    text: &str,
    file: &str,
) -> Result<Style, ThemeError> {
    let err = |span: std::ops::Range<usize>, key: String, message: String| ThemeError {
        file: file.to_string(),
        line: Some(line_of(text, span.start)),
        key: Some(key),
        message,
    };
    match v.get_ref() {
        DeValue::String(_) | DeValue::Integer(_) => {
            let c = colour_value(v.get_ref(), Some(palette))
                .map_err(|m| err(v.span(), key.to_string(), m))?;
            Ok(Style::default().fg(c))
        }
        DeValue::Table(t) => {
            let mut style = Style::default();
            for (fk, fv) in t.iter() {
                let field = fk.get_ref().as_ref();
                let fkey = format!("{key}.{field}");
                match field {
                    "fg" | "bg" => {
                        let c = colour_value(fv.get_ref(), Some(palette))
                            .map_err(|m| err(fv.span(), fkey.clone(), m))?;
                        style = if field == "fg" {
                            style.fg(c)
                        } else {
                            style.bg(c)
                        };
                    }
                    "modifiers" => {
                        let Some(items) = fv.get_ref().as_array() else {
                            return Err(err(
                                fv.span(),
                                fkey,
                                "must be a list such as [\"bold\", \"underlined\"]".into(),
                            ));
                        };
                        for item in items.iter() {
                            let m = item
                                .get_ref()
                                .as_str()
                                .and_then(modifier_by_name)
                                .ok_or_else(|| {
                                    err(
                                        item.span(),
                                        fkey.clone(),
                                        format!(
                                            "{} is not a modifier (use {})",
                                            show_value(item.get_ref()),
                                            MODIFIERS
                                                .iter()
                                                .map(|(n, _)| *n)
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        ),
                                    )
                                })?;
                            style = style.add_modifier(m);
                        }
                    }
                    _ => {
                        return Err(err(
                            fk.span(),
                            fkey,
                            "is not a style field (use fg, bg or modifiers)".into(),
                        ));
                    }
                }
            }
            Ok(style)
        }
        other => Err(err(
            v.span(),
            key.to_string(),
            format!(
                "{} is not a style (use a colour, or {{ fg = \"...\", bg = \"...\", modifiers = [...] }})",
                show_value(other)
            ),
        )),
    }
}

const MODIFIERS: [(&str, Modifier); 9] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("hidden", Modifier::HIDDEN),
];

fn modifier_by_name(s: &str) -> Option<Modifier> {
    MODIFIERS.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
}

fn show_value(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("'{s}'"),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => format!("a {}", other.type_str()),
    }
}

const COLOUR_HELP: &str = "(use #rrggbb, a name such as \"red\", or 0-255)";

/// A colour from a TOML value: `#rrggbb`, an ANSI name, 0-255, or (when a
/// palette is given) a palette name.
fn colour_value(
    v: &DeValue<'_>,
    palette: Option<&HashMap<String, Color>>,
) -> Result<Color, String> {
    match v {
        DeValue::Integer(i) => i
            .as_str()
            .parse::<u8>()
            .ok()
            .filter(|_| i.radix() == 10)
            .map(Color::Indexed)
            .ok_or_else(|| format!("{} is not a colour {COLOUR_HELP}", i.as_str())),
        DeValue::String(s) => {
            if let Some(c) = palette.and_then(|p| p.get(s.as_ref())) {
                return Ok(*c);
            }
            parse_colour(s).ok_or_else(|| {
                if palette.is_some() && !s.starts_with('#') {
                    format!("'{s}' is not a colour or a palette name {COLOUR_HELP}")
                } else {
                    format!("'{s}' is not a colour {COLOUR_HELP}")
                }
            })
        }
        other => Err(format!(
            "{} is not a colour {COLOUR_HELP}",
            show_value(other)
        )),
    }
}

/// Parse `#rrggbb`, an ANSI colour name, or a 256-colour index.
pub fn parse_colour(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    if let Ok(i) = s.parse::<u8>() {
        return Some(Color::Indexed(i));
    }
    let c = match s.to_ascii_lowercase().replace(['_', '-', ' '], "").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    };
    Some(c)
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
    let ui = |i: usize| get(format!("ui.{}", UI_ROLES[i]));
    let mut statuses = [Style::default(); 8];
    for (i, s) in STATUS_NAMES.iter().enumerate() {
        statuses[i] = get(format!("status.{s}"))?;
    }
    Ok(Theme {
        name: name.to_string(),
        base: ui(0)?,
        header: ui(1)?,
        border: ui(2)?,
        border_focus: ui(3)?,
        title: ui(4)?,
        selected: ui(5)?,
        marked: ui(6)?,
        changed: ui(7)?,
        dim: ui(8)?,
        ok: ui(9)?,
        warning: ui(10)?,
        error: ui(11)?,
        key: ui(12)?,
        badge: ui(13)?,
        statuses,
        background: r.background.unwrap_or(Background::Dark),
        paper: r.paper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let themes = dir.join("themes");
        std::fs::create_dir_all(&themes).unwrap();
        let p = themes.join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn every_preset_loads_and_sets_every_role() {
        for (name, _) in PRESETS {
            let t = Theme::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.name, *name);
        }
        assert_eq!(Theme::preset("no-color").unwrap(), Theme::no_color());
        assert!(
            Theme::preset("nope")
                .unwrap_err()
                .contains("unknown theme 'nope'")
        );
    }

    #[test]
    fn themes_declare_their_background_and_paint_it_on_the_other_kind() {
        let light = Theme::preset("light").unwrap();
        assert_eq!(light.background, Background::Light);
        assert!(light.paper.is_some());
        // On a dark (or unknown) terminal the light theme paints its paper.
        for terminal in [None, Some(Background::Dark)] {
            let mut t = light.clone();
            t.fit_background(terminal);
            assert_eq!(t.base.bg, light.paper, "{terminal:?}");
            assert!(
                t.describe_background(terminal)
                    .contains("paints the theme's own background")
            );
        }
        let mut on_light = light.clone();
        on_light.fit_background(Some(Background::Light));
        assert_eq!(on_light.base, light.base, "a light terminal needs no paper");
        // A dark theme on a light terminal paints its dark paper.
        let mut dark = Theme::preset("default").unwrap();
        assert_eq!(dark.background, Background::Dark);
        dark.fit_background(Some(Background::Light));
        assert_eq!(dark.base.bg, Some(Color::Rgb(0x1c, 0x1c, 0x1c)));
        // Every preset says what it is made for and has paper.
        for (name, _) in PRESETS {
            assert!(Theme::preset(name).unwrap().paper.is_some(), "{name}");
        }
    }

    #[test]
    fn a_bad_background_is_one_sentence() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "odd",
            "inherits = \"default\"\nbackground = \"grey\"\n",
        );
        let e = Theme::load("odd", Some(tmp.path()), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":2: key 'background': must be \"dark\" or \"light\""),
            "{e}"
        );
        write(
            tmp.path(),
            "lit",
            "inherits = \"default\"\nbackground = \"light\"\npaper = \"lightyellow\"\n",
        );
        let t = Theme::load("lit", Some(tmp.path()), false).unwrap();
        assert_eq!(
            (t.background, t.paper),
            (Background::Light, Some(Color::LightYellow))
        );
    }

    #[test]
    fn default_toml_matches_the_built_in_dark_theme() {
        assert_eq!(Theme::preset("default").unwrap(), Theme::default_dark());
    }

    #[test]
    fn presets_differ_from_each_other() {
        let d = Theme::preset("default").unwrap();
        for name in ["light", "high-contrast", "catppuccin-mocha", "gruvbox-dark"] {
            let t = Theme::preset(name).unwrap();
            assert_ne!(t.base, d.base, "{name}");
            assert_ne!(t.status(Status::Running), Style::default(), "{name}");
        }
    }

    #[test]
    fn no_color_wins_over_the_name_and_stays_readable() {
        let t = Theme::load("catppuccin-mocha", None, true).unwrap();
        assert_eq!(t, Theme::no_color());
        // Selection and errors stay visible through modifiers alone.
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(t.error.add_modifier.contains(Modifier::BOLD));
        assert_eq!(t.selected.fg, None);
    }

    #[test]
    fn user_file_overrides_and_inherits() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "mine",
            "inherits = \"default\"\n[palette]\nhot = \"#ff0000\"\n[ui]\nselected = { fg = \"hot\", bg = 236, modifiers = [\"underlined\"] }\ndim = \"darkgray\"\n",
        );
        let t = Theme::load("mine", Some(dir.path()), false).unwrap();
        assert_eq!(t.name, "mine");
        assert_eq!(
            t.selected,
            Style::default()
                .fg(Color::Rgb(255, 0, 0))
                .bg(Color::Indexed(236))
                .add_modifier(Modifier::UNDERLINED)
        );
        assert_eq!(t.dim, Style::default().fg(Color::DarkGray));
        // Everything else comes from the parent, including its palette names.
        let d = Theme::default_dark();
        assert_eq!(t.header, d.header);
        assert_eq!(t.statuses, d.statuses);
        assert!(Theme::available(Some(dir.path())).contains(&"mine".to_string()));
    }

    #[test]
    fn a_user_file_named_like_a_preset_replaces_it_and_may_inherit_it() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "default",
            "inherits = \"default\"\nui.ok = \"magenta\"\n",
        );
        let t = Theme::load("default", Some(dir.path()), false).unwrap();
        assert_eq!(t.ok, Style::default().fg(Color::Magenta));
        assert_eq!(t.error, Theme::default_dark().error);
    }

    #[test]
    fn bad_colour_names_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "foo",
            "inherits = \"default\"\n\n[ui.selected]\nfg = \"red\"\nbg = \"#zzz\"\n",
        );
        let e = Theme::load("foo", Some(dir.path()), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:5: key 'ui.selected.bg': '#zzz' is not a colour (use #rrggbb, a name such as \"red\", or 0-255)",
                p.display()
            )
        );
        assert_eq!(e.line, Some(5));
    }

    #[test]
    fn missing_colour_without_inherits_is_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("[ui]\n");
        for r in UI_ROLES.iter().filter(|r| **r != "header") {
            text.push_str(&format!("{r} = \"white\"\n"));
        }
        text.push_str("[status]\n");
        for s in STATUS_NAMES {
            text.push_str(&format!("{s} = \"white\"\n"));
        }
        let p = write(dir.path(), "bare", &text);
        let e = Theme::load("bare", Some(dir.path()), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: key 'ui.header': is missing; set it, or add inherits = \"default\" at the top to take the roles you leave out from a preset",
                p.display()
            )
        );
        // With the missing role added it loads.
        text.push_str("[ui]\n");
        let fixed = text.replacen("[ui]\n", "[ui]\nheader = 33\n", 1);
        let fixed = fixed.trim_end_matches("[ui]\n").to_string();
        write(dir.path(), "bare", &fixed);
        let t = Theme::load("bare", Some(dir.path()), false).unwrap();
        assert_eq!(t.header, Style::default().fg(Color::Indexed(33)));
    }

    #[test]
    fn bad_files_give_precise_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, &str)] = &[
            (
                "inherits = \"default\"\nui.glow = \"red\"\n",
                ":2: key 'ui.glow': is not a role (known: base,",
            ),
            (
                "inherits = \"default\"\ncolours = 1\n",
                ":2: key 'colours': is not a theme key (use inherits, background, paper, palette, ui or status)",
            ),
            (
                "inherits = \"default\"\n[ui]\nok = { fg = \"red\", modifiers = [\"shiny\"] }\n",
                ":3: key 'ui.ok.modifiers': 'shiny' is not a modifier (use bold,",
            ),
            (
                "inherits = \"default\"\n[ui]\nok = { fb = \"red\" }\n",
                ":3: key 'ui.ok.fb': is not a style field (use fg, bg or modifiers)",
            ),
            (
                "inherits = \"default\"\n[status]\nrunning = 300\n",
                ":3: key 'status.running': 300 is not a colour (use #rrggbb",
            ),
            (
                "inherits = \"default\"\n[status]\nrunning = \"mauve\"\n",
                ":3: key 'status.running': 'mauve' is not a colour or a palette name (use #rrggbb",
            ),
            (
                "inherits = \"default\"\n[palette]\nx = \"x\"\n",
                ":3: key 'palette.x': 'x' is not a colour (use #rrggbb",
            ),
            (
                "inherits = \"nosuch\"\n",
                ":1: there is no theme 'nosuch' (built in: default, light",
            ),
            ("[ui\nok = 1\n", ":1: not valid TOML"),
        ];
        for (text, want) in cases {
            let p = write(dir.path(), "bad", text);
            let e = Theme::load("bad", Some(dir.path()), false)
                .unwrap_err()
                .to_string();
            let want = format!("{}{want}", p.display());
            assert!(e.starts_with(&want), "got: {e}\nwant prefix: {want}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn inheritance_cycles_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", "inherits = \"b\"\n");
        write(dir.path(), "b", "inherits = \"a\"\n");
        let e = Theme::load("a", Some(dir.path()), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("inheritance loops back"), "{e}");
    }

    #[test]
    fn unknown_theme_names_the_choices() {
        let e = Theme::load("zzz", None, false).unwrap_err().to_string();
        assert!(e.contains("there is no theme 'zzz'"), "{e}");
        assert!(e.contains("catppuccin-mocha"), "{e}");
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_colour("#0a0B0c"), Some(Color::Rgb(10, 11, 12)));
        assert_eq!(parse_colour("light-blue"), Some(Color::LightBlue));
        assert_eq!(parse_colour("244"), Some(Color::Indexed(244)));
        assert_eq!(parse_colour("#12345"), None);
        assert_eq!(parse_colour("256"), None);
        assert_eq!(parse_colour("chartreuse"), None);
    }
}
