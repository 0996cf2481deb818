//! json_spec analysis: provider kind detection, validation, secret handling.
//!
//! json_spec is self-describing (see `../shared/design/compat.md`): the kind
//! is decided from content, three dialects are accepted (the seed's
//! `endpoint_url`/`headers`/`env_vars`, AgentArea's `type`/`endpoint`/
//! `image`/`environment`/`cmd`, and our `command`/`args`/`cwd`), unknown keys
//! are kept and reported as notes. Every finding carries an RFC 6901 JSON
//! pointer and one sentence.

use serde::Serialize;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

/// The prefix of our secret references: `secret_ref:NAME`.
pub const SECRET_REF_PREFIX: &str = "secret_ref:";
/// What a masked value shows.
pub const MASK: &str = "••••••";

/// `text` with every one of `secrets` (the empty one aside) replaced by
/// [`MASK`].
pub fn mask_values<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() && out.contains(s) {
            out = out.replace(s, MASK);
        }
    }
    out
}
/// What a redacted value shows in events and logs.
pub const REDACTED: &str = "<redacted>";
/// Deepest nesting accepted in a json_spec (the root object is level 1).
pub const MAX_SPEC_DEPTH: usize = 64;
/// Largest `timeout_seconds` a json_spec may give (one day).
pub const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// A json_spec's `timeout_seconds` when it is a valid number of seconds
/// (more than 0, at most [`MAX_TIMEOUT_SECONDS`]).
pub fn timeout_seconds(spec: &Map<String, Value>) -> Option<std::time::Duration> {
    spec.get("timeout_seconds")
        .and_then(Value::as_f64)
        .filter(|s| *s > 0.0 && *s <= MAX_TIMEOUT_SECONDS)
        .map(std::time::Duration::from_secs_f64)
}

/// `type` values meaning an external endpoint.
const EXTERNAL_TYPES: &[&str] = &["url", "http", "external", "streamable-http", "sse"];
/// `type` values meaning a stdio process.
const PROCESS_TYPES: &[&str] = &["stdio", "process", "command"];
/// `type` values meaning a container.
const CONTAINER_TYPES: &[&str] = &["docker", "container"];

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
        if ty.is_some_and(|t| EXTERNAL_TYPES.contains(&t))
            || spec.contains_key("endpoint_url")
            || spec.contains_key("endpoint")
        {
            return ProviderKind::External;
        }
        if ty.is_some_and(|t| PROCESS_TYPES.contains(&t)) || spec.contains_key("command") {
            return ProviderKind::Process;
        }
        ProviderKind::Container
    }

    /// The kind a `type` value names, if it is one we know.
    pub fn from_type(ty: &str) -> Option<ProviderKind> {
        if EXTERNAL_TYPES.contains(&ty) {
            Some(ProviderKind::External)
        } else if PROCESS_TYPES.contains(&ty) {
            Some(ProviderKind::Process)
        } else if CONTAINER_TYPES.contains(&ty) {
            Some(ProviderKind::Container)
        } else {
            None
        }
    }

    /// The kind as a noun phrase for messages ("an external endpoint").
    fn phrase(self) -> &'static str {
        match self {
            ProviderKind::External => "an external endpoint",
            ProviderKind::Process => "a stdio process",
            ProviderKind::Container => "a container",
        }
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

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: where (a JSON pointer, `""` for the whole spec) and what
/// (one sentence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.severity,
            pointer_or_root(&self.pointer),
            self.message
        )
    }
}

/// The outcome of validating a json_spec: every finding at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `None` when the spec is not a usable object at all.
    pub kind: Option<ProviderKind>,
    pub issues: Vec<Issue>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.of(Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.of(Severity::Warning)
    }

    pub fn notes(&self) -> impl Iterator<Item = &Issue> {
        self.of(Severity::Note)
    }

    /// The findings of one severity, in document order.
    pub fn of(&self, severity: Severity) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(move |i| i.severity == severity)
    }

    /// The findings at exactly this pointer.
    pub fn at<'a>(&'a self, pointer: &'a str) -> impl Iterator<Item = &'a Issue> {
        self.issues.iter().filter(move |i| i.pointer == pointer)
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
/// How an external endpoint is reached: json_spec `transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointTransport {
    /// Streamable HTTP, falling back to the legacy HTTP+SSE transport when
    /// the server refuses it (no `transport`, or `"auto"`).
    #[default]
    Auto,
    /// Streamable HTTP only (`"streamable-http"`).
    StreamableHttp,
    /// The legacy HTTP+SSE transport of protocol 2024-11-05 (`"sse"`).
    Sse,
}

impl EndpointTransport {
    /// The transport a json_spec `transport` value names.
    pub fn parse(v: &str) -> Option<EndpointTransport> {
        match v {
            "auto" => Some(EndpointTransport::Auto),
            "streamable-http" => Some(EndpointTransport::StreamableHttp),
            "sse" => Some(EndpointTransport::Sse),
            _ => None,
        }
    }
}

pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Split a JSON pointer into its unescaped tokens (RFC 6901); `None` if it
/// is neither empty nor starts with `/`.
pub fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Whether a string is a secret reference (ours `secret_ref:NAME` or the
/// seed's opaque `secret_ref_…`).
pub fn is_secret_ref(s: &str) -> bool {
    s.starts_with(SECRET_REF_PREFIX) || s.starts_with("secret_ref_")
}

/// Whether `name` is a valid secret name: letters, digits, `_`, `-`, `.`.
pub fn is_valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Whether a key names something secret (headers, env var names and other
/// keys): `Authorization`, `Cookie`, `*_KEY`, `*TOKEN`, `*SECRET`,
/// `*PASSWORD`, `apiKey`-style names, in any case, `-` or `_`.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase().replace('-', "_");
    let compact = k.replace('_', "");
    matches!(
        k.as_str(),
        "AUTHORIZATION" | "PROXY_AUTHORIZATION" | "COOKIE" | "SET_COOKIE" | "PASSWD"
    ) || k.ends_with("_KEY")
        || compact.ends_with("TOKEN")
        || compact.ends_with("SECRET")
        || compact.ends_with("PASSWORD")
        || ["APIKEY", "ACCESSKEY", "PRIVATEKEY", "SECRETKEY"]
            .iter()
            .any(|s| compact.ends_with(s))
}

/// Whether a value is a credential whatever its key (`Bearer …`, `Basic …`).
pub fn is_secret_value(s: &str) -> bool {
    ["bearer ", "basic "].iter().any(|p| {
        s.len() > p.len()
            && s.is_char_boundary(p.len())
            && s[..p.len()].eq_ignore_ascii_case(p)
            && !s[p.len()..].trim().is_empty()
    })
}

/// The byte range of the password in a URL (`scheme://user:PASS@host`);
/// `None` when the string has none.
pub fn url_credentials_range(s: &str) -> Option<Range<usize>> {
    let start = s.find("://")? + 3;
    let authority_end = s[start..]
        .find(['/', '?', '#'])
        .map_or(s.len(), |i| start + i);
    let at = start + s[start..authority_end].rfind('@')?;
    let colon = start + s[start..at].find(':')?;
    (colon + 1 < at).then_some(colon + 1..at)
}

/// `s` with the password of a URL replaced by `mask`; `None` when it has none.
pub fn mask_url_credentials(s: &str, mask: &str) -> Option<String> {
    let r = url_credentials_range(s)?;
    Some(format!("{}{mask}{}", &s[..r.start], &s[r.end..]))
}

/// Validate a json_spec: shape, kind, every rule, all findings at once.
/// Never panics, whatever the value.
pub fn validate(spec: &Value) -> Report {
    let root_error = |message: String| Report {
        kind: None,
        issues: vec![Issue::error("", message)],
    };
    if spec.is_object()
        && let Some(depth) = depth_beyond(spec, MAX_SPEC_DEPTH)
    {
        return root_error(format!(
            "json_spec nests {depth} or more levels deep; the limit is {MAX_SPEC_DEPTH}"
        ));
    }
    let obj = match super::instance::check_spec_shape(spec) {
        Ok(o) => o,
        Err(msg) => return root_error(msg.to_string()),
    };
    let mut v = Validator::default();
    let kind = ProviderKind::detect(obj);
    v.spec(obj, kind);
    Report {
        kind: Some(kind),
        issues: v.issues,
    }
}

/// The nesting depth of `v` if it exceeds `limit` (counted without
/// recursion, so any depth is safe).
fn depth_beyond(v: &Value, limit: usize) -> Option<usize> {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, d)) = stack.pop() {
        if d > limit {
            return Some(d);
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    None
}

impl Issue {
    pub fn error(pointer: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue::new(Severity::Error, pointer, message)
    }
    pub fn warning(pointer: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue::new(Severity::Warning, pointer, message)
    }
    pub fn note(pointer: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue::new(Severity::Note, pointer, message)
    }
    pub fn new(
        severity: Severity,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Issue {
        Issue {
            severity,
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// A copy with every secret-looking value and every secret reference
/// masked, for the screen.
pub fn mask_secrets(spec: &Value) -> Value {
    map_secrets(spec, None, MASK, true)
}

/// A copy with every secret-looking value masked and secret references
/// kept (a reference names a secret, it is not one), for the json_spec tab.
pub fn mask_secret_values(spec: &Value) -> Value {
    map_secrets(spec, None, MASK, false)
}

/// A copy with plain secret-looking values replaced (references kept), for
/// events and logs.
pub fn redact_plain_secrets(spec: &Value) -> Value {
    map_secrets(spec, None, REDACTED, false)
}

/// Put the stored values back where `new` says [`REDACTED`] (what
/// [`redact_plain_secrets`] showed in place of a plain secret), taken from
/// the same place in `old`, the stored document. Saving a redacted copy
/// then keeps the secrets it never showed.
pub fn unredact(new: &mut Value, old: &Value) {
    match (new, old) {
        (Value::Object(n), Value::Object(o)) => {
            for (k, v) in n.iter_mut() {
                if let Some(ov) = o.get(k) {
                    unredact(v, ov);
                }
            }
        }
        (Value::Array(n), Value::Array(o)) => {
            for (v, ov) in n.iter_mut().zip(o) {
                unredact(v, ov);
            }
        }
        (n @ Value::String(_), Value::String(o)) if n.as_str() == Some(REDACTED) => {
            *n = Value::String(o.clone());
        }
        _ => {}
    }
}

/// Replaces, with `mask`: strings and numbers under a secret key (directly
/// or as array items), credential-looking strings, URL credentials, and
/// secret references when `mask_refs`.
fn map_secrets(v: &Value, key: Option<&str>, mask: &str, mask_refs: bool) -> Value {
    let masked = || Value::String(mask.to_string());
    let secret_key = key.is_some_and(is_secret_key);
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), map_secrets(v, Some(k), mask, mask_refs)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| map_secrets(i, key, mask, mask_refs))
                .collect(),
        ),
        Value::String(s) if is_secret_ref(s) => {
            if mask_refs {
                masked()
            } else {
                v.clone()
            }
        }
        Value::String(s) if s.is_empty() => v.clone(),
        Value::String(s) if secret_key || is_secret_value(s) => masked(),
        Value::String(s) => mask_url_credentials(s, mask).map_or_else(|| v.clone(), Value::String),
        Value::Number(_) if secret_key => masked(),
        _ => v.clone(),
    }
}

mod parse;
mod validate;
pub use parse::*;
use validate::*;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unredact_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unredact_puts_back_what_redaction_hid_and_nothing_else() {
        let stored = json!({
            "headers": {"Authorization": "Bearer real", "Accept": "json"},
            "env_vars": {"API_KEY": "secret_ref:k"},
            "args": ["--token", "tok_live_abcdefghijklmnop"]
        });
        let mut edited = redact_plain_secrets(&stored);
        assert_eq!(edited["headers"]["Authorization"], REDACTED);
        edited["headers"]["Accept"] = json!("text");
        edited["new"] = json!(REDACTED);
        unredact(&mut edited, &stored);
        assert_eq!(edited["headers"]["Authorization"], "Bearer real");
        assert_eq!(edited["headers"]["Accept"], "text", "an edit stays");
        assert_eq!(edited["env_vars"]["API_KEY"], "secret_ref:k");
        assert_eq!(edited["args"], stored["args"]);
        assert_eq!(edited["new"], REDACTED, "nothing stored to put back");
    }
}
