//! json_spec analysis: provider kind detection, validation, secret handling.
//!
//! json_spec is self-describing (see `../shared/design/compat.md`): the kind
//! is decided from content, three dialects are accepted, unknown keys are
//! kept and reported as notes.

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// The prefix of our secret references: `secret_ref:NAME`.
pub const SECRET_REF_PREFIX: &str = "secret_ref:";
/// What a masked value shows.
pub const MASK: &str = "••••••";

/// How an instance is brought up, decided from its json_spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// An MCP endpoint reached over HTTP.
    External,
    /// A child process spoken to over stdio.
    Process,
    /// A container run through a container CLI.
    Container,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::External => "external",
            ProviderKind::Process => "process",
            ProviderKind::Container => "container",
        }
    }

    /// Detect the kind from content. AgentArea's Go manager treats a missing
    /// or unknown `type` as docker, so anything that is neither an endpoint
    /// nor a command is a container.
    pub fn detect(spec: &Map<String, Value>) -> ProviderKind {
        let ty = spec.get("type").and_then(Value::as_str);
        if matches!(
            ty,
            Some("url" | "http" | "external" | "streamable-http" | "sse")
        ) || spec.contains_key("endpoint_url")
            || spec.contains_key("endpoint")
        {
            return ProviderKind::External;
        }
        if matches!(ty, Some("stdio" | "process" | "command")) || spec.contains_key("command") {
            return ProviderKind::Process;
        }
        ProviderKind::Container
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is: errors block saving, warnings and notes do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// One finding: where (a JSON pointer) and what (one sentence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub pointer: String,
    pub message: String,
}

/// The outcome of validating a json_spec: every finding at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub kind: Option<ProviderKind>,
    pub issues: Vec<Issue>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }

    /// One sentence for a user: the first error and how many more.
    pub fn summary(&self) -> String {
        let errors: Vec<&Issue> = self.errors().collect();
        match errors.as_slice() {
            [] => "json_spec is valid".to_string(),
            [one] => format!("{}: {}", pointer_or_root(&one.pointer), one.message),
            [first, rest @ ..] => format!(
                "{}: {} (and {} more problem{})",
                pointer_or_root(&first.pointer),
                first.message,
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
        }
    }
}

fn pointer_or_root(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

/// Escape one JSON pointer token (RFC 6901).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Whether a string is a secret reference (ours `secret_ref:NAME` or the
/// seed's opaque `secret_ref_…`).
pub fn is_secret_ref(s: &str) -> bool {
    s.starts_with(SECRET_REF_PREFIX) || s.starts_with("secret_ref_")
}

/// Whether a key names something secret (headers and env var names).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase().replace('-', "_");
    k == "AUTHORIZATION"
        || k == "PROXY_AUTHORIZATION"
        || k == "COOKIE"
        || k == "PASSWORD"
        || k == "TOKEN"
        || k == "SECRET"
        || k.ends_with("_KEY")
        || k.ends_with("_TOKEN")
        || k.ends_with("_SECRET")
        || k.ends_with("_PASSWORD")
        || k.ends_with("APIKEY")
        || k == "X_API_KEY"
}

/// Validate a json_spec: shape, kind, every rule, all findings at once.
pub fn validate(spec: &Value) -> Report {
    let mut issues = Vec::new();
    let obj = match super::instance::check_spec_shape(spec) {
        Ok(o) => o,
        Err(msg) => {
            return Report {
                kind: None,
                issues: vec![Issue {
                    severity: Severity::Error,
                    pointer: String::new(),
                    message: msg,
                }],
            };
        }
    };
    let kind = ProviderKind::detect(obj);
    for (key, value) in obj {
        walk_secrets(key, value, &format!("/{}", pointer_token(key)), &mut issues);
    }
    Report {
        kind: Some(kind),
        issues,
    }
}

fn walk_secrets(key: &str, value: &Value, pointer: &str, issues: &mut Vec<Issue>) {
    match value {
        Value::String(s) if is_secret_key(key) && !s.is_empty() && !is_secret_ref(s) => {
            issues.push(Issue {
                severity: Severity::Warning,
                pointer: pointer.to_string(),
                message: format!("'{key}' holds a plain secret; store it with `aacon secrets set NAME` and write \"secret_ref:NAME\" here"),
            });
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk_secrets(k, v, &format!("{pointer}/{}", pointer_token(k)), issues);
            }
        }
        _ => {}
    }
}

/// A copy with every secret-looking value and every secret reference
/// masked, for the screen.
pub fn mask_secrets(spec: &Value) -> Value {
    map_secrets(spec, None, &|_s| Value::String(MASK.to_string()), true)
}

/// A copy with plain secret-looking values replaced (references kept), for
/// events and logs.
pub fn redact_plain_secrets(spec: &Value) -> Value {
    map_secrets(
        spec,
        None,
        &|_s| Value::String("<redacted>".to_string()),
        false,
    )
}

fn map_secrets(
    v: &Value,
    key: Option<&str>,
    replace: &dyn Fn(&str) -> Value,
    mask_refs: bool,
) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), map_secrets(v, Some(k), replace, mask_refs)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| map_secrets(i, key, replace, mask_refs))
                .collect(),
        ),
        Value::String(s) if is_secret_ref(s) => {
            if mask_refs {
                replace(s)
            } else {
                v.clone()
            }
        }
        Value::String(s) if key.is_some_and(is_secret_key) && !s.is_empty() => replace(s),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(v: Value) -> ProviderKind {
        ProviderKind::detect(v.as_object().unwrap())
    }

    #[test]
    fn detects_every_dialect() {
        assert_eq!(
            kind(json!({"endpoint_url": "https://x/mcp"})),
            ProviderKind::External
        );
        assert_eq!(
            kind(json!({"type": "url", "endpoint": "https://x"})),
            ProviderKind::External
        );
        assert_eq!(
            kind(json!({"command": ["npx", "-y", "p"]})),
            ProviderKind::Process
        );
        assert_eq!(
            kind(json!({"type": "docker", "image": "mcp/fs"})),
            ProviderKind::Container
        );
        assert_eq!(
            kind(json!({"env_vars": {"A": "b"}})),
            ProviderKind::Container
        );
    }

    #[test]
    fn masks_secrets_and_refs_for_the_screen() {
        let spec = json!({"headers": {"Authorization": "Bearer abc"}, "env_vars": {"API_KEY": "secret_ref:k", "ROOT": "/d"}});
        let m = mask_secrets(&spec);
        assert_eq!(m["headers"]["Authorization"], MASK);
        assert_eq!(m["env_vars"]["API_KEY"], MASK);
        assert_eq!(m["env_vars"]["ROOT"], "/d");
        let r = redact_plain_secrets(&spec);
        assert_eq!(r["headers"]["Authorization"], "<redacted>");
        assert_eq!(r["env_vars"]["API_KEY"], "secret_ref:k");
    }
}
