//! Where a setting came from, and what is wrong with a config file: each
//! problem one sentence naming the file, the line and the key.

use super::spans::{self, Spans};
use super::{KEYS, SECTIONS, keys};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// A command-line flag, such as `--theme`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    File {
        path: PathBuf,
        line: Option<usize>,
        key: &'static str,
    },
    /// A `[contexts.NAME]` key, put in place by `--context NAME`.
    Context {
        name: String,
        path: PathBuf,
        line: Option<usize>,
        key: &'static str,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::Flag(flag) => write!(f, "the flag {flag}"),
            Origin::Env(var) => write!(f, "the environment variable {var}"),
            Origin::File {
                path,
                line: Some(line),
                key,
            } => write!(f, "{} line {line}, key `{key}`", path.display()),
            Origin::File {
                path,
                line: None,
                key,
            } => write!(f, "{}, key `{key}`", path.display()),
            Origin::Context {
                name,
                path,
                line,
                key,
            } => {
                write!(
                    f,
                    "the context '{}': {}",
                    crate::domain::text::shown(name),
                    path.display()
                )?;
                if let Some(line) = line {
                    write!(f, " line {line}")?;
                }
                write!(f, ", key `{key}`")
            }
        }
    }
}

/// A configuration problem; each displays as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {}: {error}", .path.display())]
    Read { path: PathBuf, error: String },
    #[error("the config file {} (given by --config) does not exist", .0.display())]
    Missing(PathBuf),
    /// The file is not valid TOML, has an unknown key, or a value of the
    /// wrong type.
    #[error("{}", file_error_text(.path, *.line, .key.as_deref(), .message))]
    File {
        path: PathBuf,
        line: usize,
        /// `section.key`, when the error is about one.
        key: Option<String>,
        message: String,
    },
    /// A value of the right type but not allowed.
    #[error("{origin}: {message}")]
    Value { origin: Origin, message: String },
}

fn file_error_text(path: &Path, line: usize, key: Option<&str>, message: &str) -> String {
    match key {
        Some(key) => format!("{} line {line}, key `{key}`: {message}", path.display()),
        None => format!("{} line {line}: {message}", path.display()),
    }
}

/// Turn toml's error into one sentence with the line and key. Read from
/// its message: `toml::de::Error` has a span and keys but no kind.
pub(super) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let span = e.span().unwrap_or(0..0);
    let start = span.start.min(text.len());
    let line = spans::line_of(text, start);
    let located = Spans::of(text).key_at(text, span);
    let raw = e.message().trim();
    let first_line = raw.lines().next().unwrap_or(raw).trim();

    // Unknown keys: serde names the field; we add the section.
    if let Some(field) = between(first_line, "unknown field `", "`") {
        // `[ui]` + `colour = …`, a dotted `ui.colour = …`, or an inline `ui = { colour = … }`.
        let section = located.as_deref().and_then(|k| match k.split_once('.') {
            Some((s, _)) => Some(s.to_string()),
            None => (SECTIONS.contains(&k) && k != field).then(|| k.to_string()),
        });
        let (key, message) = match section {
            Some(section) if section == "contexts" => (
                field.to_string(),
                "unknown key; a [contexts.NAME] table takes api_url, token, token_env, workspace and redis".to_string(),
            ),
            Some(section) if SECTIONS.contains(&section.as_str()) => {
                let allowed: Vec<&str> = KEYS
                    .iter()
                    .filter_map(|k| k.name.strip_prefix(&format!("{section}.")))
                    .collect();
                (
                    format!("{section}.{field}"),
                    format!("unknown key; [{section}] takes {}", allowed.join(", ")),
                )
            }
            _ => (
                field.to_string(),
                format!(
                    "unknown section or key; the sections are {}",
                    SECTIONS.join(", ")
                ),
            ),
        };
        return file_error(path, line, Some(key), message);
    }
    // Wrong types and values: say what the key takes.
    if let Some(found) = first_line
        .strip_prefix("invalid type: ")
        .or_else(|| first_line.strip_prefix("invalid value: "))
    {
        let found = found.split([',', ' ']).next().unwrap_or("");
        let found = match found {
            "string" => "a string",
            "integer" => "an integer",
            "boolean" => "true/false",
            "floating" => "a decimal number",
            "sequence" => "an array",
            "map" => "a table",
            _ => "something else",
        };
        let expect = located.as_deref().and_then(|k| {
            keys::key(k)
                .map(|key| key.takes.to_string())
                .or_else(|| SECTIONS.contains(&k).then(|| format!("a table [{k}]")))
        });
        let header = located
            .as_deref()
            .filter(|k| SECTIONS.contains(k))
            .filter(|k| {
                text.lines()
                    .nth(line - 1)
                    .is_some_and(|l| l.trim_start().starts_with(&format!("[[{k}")))
            });
        if let Some(k) = header {
            let message = format!("[[{k}]] makes an array of tables; write [{k}]");
            return file_error(path, line, located.clone(), message);
        }
        let message = match expect {
            Some(what) => format!("must be {what}, not {found}"),
            None => format!("this value has the wrong type ({found})"),
        };
        return file_error(path, line, located, message);
    }
    let detail = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let message = if detail.starts_with("duplicate key") {
        "the key is set twice; keep one".to_string()
    } else {
        format!("this is not valid TOML ({detail})")
    };
    file_error(path, line, located, message)
}

fn file_error(path: &Path, line: usize, key: Option<String>, message: String) -> ConfigError {
    ConfigError::File {
        path: path.to_path_buf(),
        line,
        key,
        message,
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = &s[s.find(open)? + open.len()..];
    Some(&rest[..rest.find(close)?])
}
