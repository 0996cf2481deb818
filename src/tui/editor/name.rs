//! The name the create prompt suggests: from the template, else the spec.

use super::*;

/// The generic templates: their ids say what kind of thing, not which.
const GENERIC_TEMPLATES: [&str; 3] = ["external", "stdio", "container"];

/// A name for a new instance made from `template`: a catalog template's
/// own name ("filesystem"); else one from the json_spec ([`suggest_name`])
/// when it says something (not `index-js`, not `127-0-0-1`); else the
/// template's id.
pub fn suggest_name_for(template: Option<&str>, spec: &Value) -> String {
    if let Some(t) = template
        && !GENERIC_TEMPLATES.contains(&t)
        && crate::domain::instance::validate_name(t).is_ok()
    {
        return t.to_string();
    }
    let from_spec = suggest_name(spec);
    if !from_spec.is_empty() {
        return from_spec;
    }
    template
        .filter(|t| crate::domain::instance::validate_name(t).is_ok())
        .map(str::to_string)
        .unwrap_or_default()
}

/// File names that say nothing about the server (`node .../index.js`).
const PLAIN_STEMS: [&str; 7] = ["index", "main", "server", "app", "cli", "__main__", "run"];
/// Extensions of scripts named on a command line.
const SCRIPT_EXTS: [&str; 7] = [".js", ".mjs", ".cjs", ".ts", ".py", ".sh", ".rb"];

/// The meaningful part of a command word: `/srv/weather/index.js` is
/// `weather`, `server.py` in `tools/fetch/` is `fetch`, `srv.js` is `srv`.
fn script_name(word: &str) -> String {
    let parts: Vec<&str> = word.split('/').filter(|p| !p.is_empty()).collect();
    let Some(last) = parts.last() else {
        return String::new();
    };
    let stem = SCRIPT_EXTS
        .iter()
        .find_map(|e| last.strip_suffix(e))
        .unwrap_or(last);
    if PLAIN_STEMS.contains(&stem) {
        // The directory names it: skip dist/build/src-like ones.
        parts
            .iter()
            .rev()
            .skip(1)
            .find(|p| !matches!(**p, "dist" | "build" | "src" | "lib" | "bin" | "out"))
            .map(|p| p.to_string())
            .unwrap_or_default()
    } else {
        stem.to_string()
    }
}

/// Whether a host is an address or `localhost`, which names no server.
fn is_address(host: &str) -> bool {
    host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok()
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
}

/// A name for a new instance from its json_spec: the image or package
/// name, the script's directory, or the endpoint's host name; empty when
/// nothing fits (an IP address or `index.js` say nothing).
pub fn suggest_name(spec: &Value) -> String {
    let from = |s: &str| -> String {
        let s = s.rsplit('/').next().unwrap_or(s);
        let s = s.split([':', '@']).next().unwrap_or(s);
        s.to_string()
    };
    let raw = if let Some(img) = spec.get("image").and_then(Value::as_str) {
        from(img)
    } else if let Some(cmd) = spec.get("command") {
        let words: Vec<&str> = match cmd {
            Value::String(s) => s.split_whitespace().collect(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        words
            .iter()
            .rev()
            .find(|w| !w.starts_with('-'))
            .map(|w| {
                let w = w.trim_start_matches('@');
                if SCRIPT_EXTS.iter().any(|e| w.ends_with(e)) {
                    script_name(w)
                } else {
                    from(w)
                }
            })
            .unwrap_or_default()
    } else if let Some(url) = spec
        .get("endpoint_url")
        .or_else(|| spec.get("endpoint"))
        .and_then(Value::as_str)
    {
        let rest = url.split("://").nth(1).unwrap_or(url);
        let host = if rest.starts_with('[') {
            rest.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            rest.split(['/', ':', '?']).next().unwrap_or("").to_string()
        };
        if is_address(&host) {
            String::new()
        } else {
            host.replace('.', "-")
        }
    } else {
        String::new()
    };
    let mut name = String::new();
    for c in raw.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let name: String = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-').to_string();
    if crate::domain::instance::validate_name(&name).is_ok() {
        name
    } else {
        String::new()
    }
}
