//! Reading theme files: `inherits`, the palette, roles and colours.

use super::{PRESETS, ThemeError, UI_ROLES, status_names};
use crate::config::line_of;
use crate::tui::term::Background;
use ratatui::style::{Color, Modifier, Style};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A theme file resolved so far: its palette and the roles it sets.
#[derive(Debug, Clone, Default)]
pub(super) struct Resolved {
    pub(super) palette: HashMap<String, Color>,
    pub(super) roles: HashMap<String, Style>,
    pub(super) background: Option<Background>,
    pub(super) paper: Option<Color>,
}

/// Where a theme's text comes from.
struct Source {
    file: String,
    text: String,
    /// Whether this is a user file (so `inherits` of its own name means the preset).
    user: bool,
}

pub(super) fn preset_text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub(super) fn user_theme_path(config_dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    let dir = config_dir?;
    let p = dir.join("themes").join(format!("{name}.toml"));
    p.is_file().then_some(p)
}

/// Resolve `name` (following `inherits`) into a palette and roles.
/// `chain` collects the files visited, to report cycles.
pub(super) fn resolve(
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
                let known = super::builtin_names();
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
                        .map_err(|m| err(Some(pv.span()), Some(key.clone()), m.to_string()))?;
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
                .map_err(|m| err(Some(v.span()), Some("paper".into()), m.to_string()))?;
            out.paper = Some(c);
        }
    }
    for (k, v) in doc.iter() {
        let section = k.get_ref().as_ref();
        let known: &[&str] = match section {
            "ui" => UI_ROLES,
            "status" => &status_names(),
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
                .map_err(|m| err(v.span(), key.to_string(), m.to_string()))?;
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
                            .map_err(|m| err(fv.span(), fkey.clone(), m.to_string()))?;
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

/// Why a value is not a colour: one sentence naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColourError {
    /// `value` as the file writes it (a string in quotes).
    #[error("{0} is not a colour (use #rrggbb, a name such as \"red\", or 0-255)")]
    NotAColour(String),
    #[error(
        "'{0}' is not a colour or a palette name (use #rrggbb, a name such as \"red\", or 0-255)"
    )]
    NotAColourOrPaletteName(String),
}

/// A colour from a TOML value: `#rrggbb`, an ANSI name, 0-255, or (when a
/// palette is given) a palette name.
fn colour_value(
    v: &DeValue<'_>,
    palette: Option<&HashMap<String, Color>>,
) -> Result<Color, ColourError> {
    match v {
        DeValue::Integer(i) => i
            .as_str()
            .parse::<u8>()
            .ok()
            .filter(|_| i.radix() == 10)
            .map(Color::Indexed)
            .ok_or_else(|| ColourError::NotAColour(i.as_str().to_string())),
        DeValue::String(s) => {
            if let Some(c) = palette.and_then(|p| p.get(s.as_ref())) {
                return Ok(*c);
            }
            parse_colour(s).ok_or_else(|| {
                if palette.is_some() && !s.starts_with('#') {
                    ColourError::NotAColourOrPaletteName(s.to_string())
                } else {
                    ColourError::NotAColour(format!("'{s}'"))
                }
            })
        }
        other => Err(ColourError::NotAColour(show_value(other))),
    }
}

/// Parse a colour as ratatui does (`#rrggbb`, an ANSI name such as
/// `light-blue`, or a 256-colour index), and `default` for `reset`.
pub fn parse_colour(s: &str) -> Option<Color> {
    if s.eq_ignore_ascii_case("default") {
        return Some(Color::Reset);
    }
    Color::from_str(s).ok()
}
