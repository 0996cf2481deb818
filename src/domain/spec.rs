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
/// What a redacted value shows in events and logs.
pub const REDACTED: &str = "<redacted>";
/// Deepest nesting accepted in a json_spec (the root object is level 1).
pub const MAX_SPEC_DEPTH: usize = 64;

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
        Err(msg) => return root_error(msg),
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

/// Which kinds use a top-level key; `None` for keys we do not know.
fn key_kinds(key: &str) -> Option<&'static [ProviderKind]> {
    use ProviderKind::*;
    Some(match key {
        "type" | "available_tools" => &[External, Process, Container],
        "endpoint_url" | "endpoint" | "headers" | "authentication" => &[External],
        "health_check" => &[External, Container],
        "command" | "args" | "cwd" => &[Process],
        "env_vars" => &[Process, Container],
        "image" | "port" | "environment" | "cmd" => &[Container],
        _ => return None,
    })
}

const KNOWN_KEYS: &[&str] = &[
    "type",
    "available_tools",
    "endpoint_url",
    "endpoint",
    "headers",
    "authentication",
    "health_check",
    "command",
    "args",
    "cwd",
    "env_vars",
    "image",
    "port",
    "environment",
    "cmd",
];

/// The key that decides a kind by its presence.
fn marker_kind(key: &str) -> Option<ProviderKind> {
    match key {
        "endpoint_url" | "endpoint" => Some(ProviderKind::External),
        "command" => Some(ProviderKind::Process),
        "image" => Some(ProviderKind::Container),
        _ => None,
    }
}

/// "a string", "an array", … for messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A user-supplied string made safe and short for a message.
fn shown(s: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = s
        .chars()
        .take(MAX)
        .map(crate::domain::text::shown_char)
        .collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", pointer_token(key))
}

fn index(pointer: &str, i: usize) -> String {
    format!("{pointer}/{i}")
}

#[derive(Default)]
struct Validator {
    issues: Vec<Issue>,
}

impl Validator {
    fn error(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue::error(pointer, message));
    }
    fn warning(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue::warning(pointer, message));
    }
    fn note(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue::note(pointer, message));
    }

    fn spec(&mut self, obj: &Map<String, Value>, kind: ProviderKind) {
        let ty = obj.get("type");
        let type_kind = ty.and_then(Value::as_str).and_then(ProviderKind::from_type);
        // What decided the kind, for conflict messages.
        let decider: Option<String> = match type_kind {
            Some(k) if k == kind => ty
                .and_then(Value::as_str)
                .map(|t| format!("type \"{}\"", shown(t))),
            _ => obj
                .keys()
                .find(|k| marker_kind(k) == Some(kind))
                .map(|k| format!("`{k}`")),
        };
        for (key, value) in obj {
            let p = child("", key);
            self.key_rules(key, value, &p, kind, decider.as_deref());
            self.walk(Some(key), value, &p);
        }
        self.cross_key_rules(obj, kind, type_kind);
    }

    /// Rules on one top-level key.
    fn key_rules(
        &mut self,
        key: &str,
        value: &Value,
        p: &str,
        kind: ProviderKind,
        decider: Option<&str>,
    ) {
        if let Some(marked) = marker_kind(key)
            && marked != kind
        {
            self.error(
                p,
                format!(
                    "`{key}` makes this {}, but {} makes it {}; a spec must be one kind",
                    marked.phrase(),
                    decider.unwrap_or("its content"),
                    kind.phrase()
                ),
            );
        }
        match key_kinds(key) {
            None => {
                // Short keys get close matches only ("id" is not a typo of "cmd").
                let near = if key.chars().count() <= 4 { 1 } else { 2 };
                let hint = KNOWN_KEYS
                    .iter()
                    .filter(|k| edit_distance(k, key) <= near)
                    .min_by_key(|k| edit_distance(k, key))
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                self.note(
                    p,
                    format!(
                        "`{}` is not a key aacon knows; it is kept as is{hint}",
                        shown(key)
                    ),
                );
            }
            Some(kinds) if !kinds.contains(&kind) && marker_kind(key).is_none() => {
                self.note(
                    p,
                    format!(
                        "`{key}` is not used by {}; it is kept but has no effect",
                        kind.phrase()
                    ),
                );
            }
            Some(_) => {}
        }
        match key {
            "type" => self.type_rule(value, p),
            "endpoint_url" | "endpoint" => self.url_rule(key, value, p),
            "headers" => self.headers_rule(value, p),
            "authentication" => self.authentication_rule(value, p),
            "health_check" => self.health_check_rule(value, p),
            "command" => self.command_rule(value, p),
            "args" => self.string_array_rule("args", value, p, "[\"--port\", \"8000\"]"),
            "cmd" => self.string_array_rule("cmd", value, p, "[\"serve\", \"--port\", \"8000\"]"),
            "env_vars" => self.env_rule("env_vars", value, p, true),
            "environment" => self.env_rule("environment", value, p, false),
            "cwd" => self.cwd_rule(value, p),
            "image" => self.image_rule(value, p),
            "port" => self.port_rule(value, p),
            "available_tools" => self.tools_rule(value, p),
            _ => {}
        }
    }

    fn cross_key_rules(
        &mut self,
        obj: &Map<String, Value>,
        kind: ProviderKind,
        type_kind: Option<ProviderKind>,
    ) {
        if let (Some(tk), Some(Value::String(t))) = (type_kind, obj.get("type"))
            && tk != kind
        {
            let marker = obj
                .keys()
                .find(|k| marker_kind(k) == Some(kind))
                .map_or("its content", String::as_str);
            self.error(
                "/type",
                format!(
                    "type \"{}\" makes this {}, but `{marker}` makes it {}; a spec must be one kind",
                    shown(t),
                    tk.phrase(),
                    kind.phrase()
                ),
            );
        }
        if obj.contains_key("endpoint_url") && obj.contains_key("endpoint") {
            self.error(
                "/endpoint",
                "both `endpoint_url` and `endpoint` are set; keep one of them",
            );
        }
        let ty = obj.get("type").and_then(Value::as_str).map(shown);
        match (type_kind.filter(|tk| *tk == kind), ty) {
            (Some(ProviderKind::External), Some(t))
                if !obj.contains_key("endpoint_url") && !obj.contains_key("endpoint") =>
            {
                self.error(
                    "/endpoint",
                    format!("type \"{t}\" needs an `endpoint`: an http or https URL"),
                );
            }
            (Some(ProviderKind::Process), Some(t)) if !obj.contains_key("command") => {
                self.error(
                    "/command",
                    format!(
                        "type \"{t}\" needs a `command`, such as [\"npx\", \"-y\", \"package\"]"
                    ),
                );
            }
            (Some(ProviderKind::Container), Some(t)) if !obj.contains_key("image") => {
                self.warning(
                    "/image",
                    format!(
                        "type \"{t}\" has no `image`; the instance can start only if its server spec names one"
                    ),
                );
            }
            _ => {}
        }
        if !obj.contains_key("type") && !obj.keys().any(|k| marker_kind(k).is_some()) {
            self.note(
                "",
                "nothing says how to run this instance (no `endpoint_url`, `endpoint`, `command` or `image`); it is treated as a container, as AgentArea does",
            );
        }
    }

    fn type_rule(&mut self, v: &Value, p: &str) {
        match v {
            Value::String(t) if ProviderKind::from_type(t).is_some() => {}
            Value::String(t) => self.note(
                p,
                format!(
                    "type \"{}\" is not one aacon knows; it is treated as docker, as AgentArea's manager does",
                    shown(t)
                ),
            ),
            other => self.error(
                p,
                format!(
                    "`type` must be a string such as \"url\", \"stdio\" or \"docker\", not {}",
                    type_name(other)
                ),
            ),
        }
    }

    fn url_rule(&mut self, key: &str, v: &Value, p: &str) {
        let s = match v {
            Value::String(s) => s,
            other => {
                return self.error(
                    p,
                    format!(
                        "`{key}` must be a URL string such as \"https://host/mcp\", not {}",
                        type_name(other)
                    ),
                );
            }
        };
        if s.trim().is_empty() {
            return self.error(p, format!("`{key}` is empty; write an http or https URL"));
        }
        if s.trim() != s {
            return self.error(p, format!("`{key}` has spaces around the URL; remove them"));
        }
        match url::Url::parse(s) {
            Err(e) => self.error(
                p,
                format!(
                    "`{key}` is not an absolute URL ({e}); write one such as \"https://host/mcp\""
                ),
            ),
            Ok(u) if !matches!(u.scheme(), "http" | "https") => self.error(
                p,
                format!(
                    "`{key}` uses the scheme '{}'; only http and https are supported",
                    shown(u.scheme())
                ),
            ),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => {
                self.error(p, format!("`{key}` has no host"))
            }
            Ok(_) => {}
        }
    }

    fn headers_rule(&mut self, v: &Value, p: &str) {
        let Value::Object(map) = v else {
            return self.error(
                p,
                format!(
                    "`headers` must be an object of header names to strings, not {}",
                    type_name(v)
                ),
            );
        };
        for (name, value) in map {
            let hp = child(p, name);
            if name.is_empty() || !name.bytes().all(is_header_token_byte) {
                self.error(
                    &hp,
                    format!(
                        "'{}' is not a valid header name; use letters, digits and '-'",
                        shown(name)
                    ),
                );
            }
            match value {
                Value::String(s) if s.contains(['\r', '\n', '\0']) => {
                    self.error(&hp, "a header value must not contain a line break or NUL")
                }
                Value::String(_) => {}
                other => self.error(
                    &hp,
                    format!(
                        "header '{}' must be a string, not {}",
                        shown(name),
                        type_name(other)
                    ),
                ),
            }
        }
    }

    fn authentication_rule(&mut self, v: &Value, p: &str) {
        let Value::Object(map) = v else {
            return self.error(
                p,
                format!(
                    "`authentication` must be an object such as {{\"type\": \"bearer\", \"token\": \"secret_ref:NAME\"}}, not {}",
                    type_name(v)
                ),
            );
        };
        let tp = child(p, "type");
        match map.get("type") {
            None => self.error(&tp, "`authentication` needs a `type`, such as \"bearer\""),
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {
                let kp = child(p, "token");
                match map.get("token") {
                    None => self.error(&kp, "bearer authentication needs a `token`"),
                    Some(Value::String(s)) if s.is_empty() => {
                        self.error(&kp, "the bearer `token` is empty")
                    }
                    Some(Value::String(_)) => {}
                    Some(other) => self.error(
                        &kp,
                        format!(
                            "the bearer `token` must be a string, not {}",
                            type_name(other)
                        ),
                    ),
                }
            }
            Some(Value::String(t)) => self.note(
                &tp,
                format!(
                    "authentication type \"{}\" is kept as is; aacon checks only \"bearer\"",
                    shown(t)
                ),
            ),
            Some(other) => self.error(
                &tp,
                format!(
                    "the authentication `type` must be a string such as \"bearer\", not {}",
                    type_name(other)
                ),
            ),
        }
    }

    fn health_check_rule(&mut self, v: &Value, p: &str) {
        let Value::Object(map) = v else {
            return self.error(
                p,
                format!(
                    "`health_check` must be an object such as {{\"path\": \"/health\"}}, not {}",
                    type_name(v)
                ),
            );
        };
        let pp = child(p, "path");
        match map.get("path") {
            None => {}
            Some(Value::String(s)) if s.starts_with('/') => {}
            Some(Value::String(s)) => self.error(
                &pp,
                format!(
                    "the health check path '{}' must start with '/', such as \"/health\"",
                    shown(s)
                ),
            ),
            Some(other) => self.error(
                &pp,
                format!(
                    "the health check path must be a string such as \"/health\", not {}",
                    type_name(other)
                ),
            ),
        }
    }

    fn command_rule(&mut self, v: &Value, p: &str) {
        const HOW: &str = "a program name or an array such as [\"npx\", \"-y\", \"package\"]";
        match v {
            Value::String(s) if s.trim().is_empty() => {
                self.error(p, format!("`command` is empty; write {HOW}"))
            }
            Value::String(_) => {}
            Value::Array(items) if items.is_empty() => {
                self.error(p, format!("`command` is an empty array; write {HOW}"))
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if i == 0 && s.trim().is_empty() => self.error(
                            index(p, i),
                            "the program name (the first item of `command`) is empty",
                        ),
                        Value::String(s) if s.is_empty() => self.error(
                            index(p, i),
                            "an item of `command` is empty; remove it or pass an empty value through `args`",
                        ),
                        Value::String(_) => {}
                        other => self.error(
                            index(p, i),
                            format!(
                                "every item of `command` must be a string, not {}",
                                type_name(other)
                            ),
                        ),
                    }
                }
            }
            other => self.error(
                p,
                format!("`command` must be {HOW}, not {}", type_name(other)),
            ),
        }
    }

    fn string_array_rule(&mut self, key: &str, v: &Value, p: &str, example: &str) {
        let Value::Array(items) = v else {
            return self.error(
                p,
                format!(
                    "`{key}` must be an array of strings such as {example}, not {}",
                    type_name(v)
                ),
            );
        };
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(_) => {}
                Value::Number(n) => self.error(
                    index(p, i),
                    format!("every item of `{key}` must be a string; write \"{n}\" in quotes"),
                ),
                other => self.error(
                    index(p, i),
                    format!(
                        "every item of `{key}` must be a string, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
    }

    /// `env_vars` (object or, as AgentArea also writes it, a list of names)
    /// and `environment` (object only).
    fn env_rule(&mut self, key: &str, v: &Value, p: &str, list_allowed: bool) {
        match v {
            Value::Object(map) => {
                for (name, value) in map {
                    let ep = child(p, name);
                    self.env_name_rule(name, &ep);
                    match value {
                        Value::String(_) => {}
                        Value::Number(n) => self.error(
                            &ep,
                            format!("environment values must be strings; write \"{n}\" in quotes"),
                        ),
                        other => self.error(
                            &ep,
                            format!(
                                "the value of '{}' must be a string, not {}",
                                shown(name),
                                type_name(other)
                            ),
                        ),
                    }
                }
            }
            Value::Array(items) if list_allowed => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(name) => self.env_name_rule(name, &index(p, i)),
                        other => self.error(
                            index(p, i),
                            format!(
                                "a list of `{key}` holds variable names as strings, not {}",
                                type_name(other)
                            ),
                        ),
                    }
                }
            }
            other => {
                let what = if list_allowed {
                    "an object of names to string values, or a list of names"
                } else {
                    "an object of names to string values"
                };
                self.error(
                    p,
                    format!("`{key}` must be {what}, not {}", type_name(other)),
                )
            }
        }
    }

    fn env_name_rule(&mut self, name: &str, p: &str) {
        if name.is_empty() {
            self.error(p, "an environment variable name is empty");
        } else if let Some(c) = name.chars().find(|c| matches!(c, '=' | '\0')) {
            self.error(
                p,
                format!(
                    "the environment variable name '{}' contains '{}', which no name may contain",
                    shown(name),
                    crate::domain::text::shown_char(c)
                ),
            );
        }
    }

    fn cwd_rule(&mut self, v: &Value, p: &str) {
        match v {
            Value::String(s) if s.is_empty() => {
                self.error(p, "`cwd` is empty; write a directory path or remove it")
            }
            Value::String(s) if s.contains('\0') => self.error(p, "`cwd` contains a NUL byte"),
            Value::String(_) => {}
            other => self.error(
                p,
                format!(
                    "`cwd` must be a directory path string, not {}",
                    type_name(other)
                ),
            ),
        }
    }

    fn image_rule(&mut self, v: &Value, p: &str) {
        match v {
            Value::String(s) if s.trim().is_empty() => self.error(
                p,
                "`image` is empty; write an image name such as \"mcp/filesystem\"",
            ),
            Value::String(s) if s.chars().any(char::is_whitespace) => self.error(
                p,
                format!("the image name '{}' contains whitespace", shown(s)),
            ),
            Value::String(_) => {}
            other => self.error(
                p,
                format!(
                    "`image` must be an image name string such as \"mcp/filesystem\", not {}",
                    type_name(other)
                ),
            ),
        }
    }

    fn port_rule(&mut self, v: &Value, p: &str) {
        const RULE: &str = "`port` must be an integer from 1 to 65535";
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(1..=65535) => {}
                _ => self.error(p, format!("{RULE}; {n} is not")),
            },
            Value::String(s) if s.trim().parse::<u16>().is_ok_and(|n| n > 0) => self.error(
                p,
                format!("{RULE}, not a string; write {} without quotes", s.trim()),
            ),
            other => self.error(p, format!("{RULE}, not {}", type_name(other))),
        }
    }

    fn tools_rule(&mut self, v: &Value, p: &str) {
        let Value::Array(items) = v else {
            return self.warning(
                p,
                format!(
                    "`available_tools` is normally a list of tools, not {}; it is kept as is",
                    type_name(v)
                ),
            );
        };
        for (i, item) in items.iter().enumerate() {
            if !item.get("name").is_some_and(Value::is_string) {
                self.warning(
                    index(p, i),
                    "a tool in `available_tools` should be an object with a string `name`",
                );
            }
        }
    }

    /// Rules on every value: secret references and plain secrets.
    fn walk(&mut self, key: Option<&str>, v: &Value, p: &str) {
        let secret_key = key.is_some_and(is_secret_key);
        match v {
            Value::String(s) => {
                if let Some(name) = s.strip_prefix(SECRET_REF_PREFIX) {
                    self.secret_ref_rule(name, p);
                } else if is_secret_ref(s) || s.is_empty() {
                    // A seed-style reference, or nothing to hide.
                } else if secret_key {
                    self.plain_secret(key.unwrap_or_default(), p);
                } else if is_secret_value(s) {
                    self.warning(
                        p,
                        "this value looks like a credential; store it with `aacon secrets set NAME` and write \"secret_ref:NAME\" here",
                    );
                } else if url_credentials_range(s).is_some() {
                    self.warning(
                        p,
                        "this URL holds credentials; pass them in a header with \"secret_ref:NAME\" instead",
                    );
                }
            }
            Value::Number(_) if secret_key => self.plain_secret(key.unwrap_or_default(), p),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(key, item, &index(p, i));
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    self.walk(Some(k), item, &child(p, k));
                }
            }
            _ => {}
        }
    }

    fn plain_secret(&mut self, key: &str, p: &str) {
        self.warning(
            p,
            format!(
                "'{}' holds a plain secret; store it with `aacon secrets set NAME` and write \"secret_ref:NAME\" here",
                shown(key)
            ),
        );
    }

    fn secret_ref_rule(&mut self, name: &str, p: &str) {
        const ALLOWED: &str = "letters, digits, '_', '-' and '.'";
        if name.is_empty() {
            self.error(
                p,
                format!(
                    "the secret reference has no name after 'secret_ref:'; names use {ALLOWED}"
                ),
            );
        } else if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            // The name itself is not echoed: a pasted value may follow the prefix.
            self.error(
                p,
                format!(
                    "the secret reference name contains '{}'; names use {ALLOWED}",
                    crate::domain::text::shown_char(c)
                ),
            );
        }
    }
}

/// RFC 7230 token characters (header names).
fn is_header_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Levenshtein distance, for "did you mean" hints on short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A JSON syntax error in json_spec text, positioned for the editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// One sentence, without the position.
    pub message: String,
}

/// json_spec text parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub value: Value,
    /// The validation report, plus a warning for every duplicate key.
    pub report: Report,
}

/// Parse json_spec text and validate it (the editor calls this as the user
/// types). Duplicate keys are reported as warnings: the last value wins.
pub fn parse_and_validate(text: &str) -> Result<Report, SyntaxError> {
    parse_spec(text).map(|p| p.report)
}

/// Parse json_spec text and validate it, keeping the value.
pub fn parse_spec(text: &str) -> Result<Parsed, SyntaxError> {
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let value = TrackingSeed {
        pointer: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| syntax_error(text, &e))?;
    let mut report = validate(&value);
    let dup_issues = duplicates.into_inner().into_iter().map(|p: String| {
        let key = pointer_tokens(&p)
            .and_then(|t| t.last().cloned())
            .unwrap_or_default();
        Issue::warning(
            p,
            format!(
                "the key '{}' appears more than once; only the last value is kept",
                shown(&key)
            ),
        )
    });
    report.issues.splice(0..0, dup_issues);
    Ok(Parsed { value, report })
}

fn syntax_error(text: &str, e: &serde_json::Error) -> SyntaxError {
    let line = e.line().max(1);
    let byte_col = e.column();
    // serde_json counts bytes; the editor counts characters.
    let column = text
        .split('\n')
        .nth(line - 1)
        .map(|l| {
            let mut end = byte_col.min(l.len());
            while !l.is_char_boundary(end) {
                end -= 1;
            }
            let chars = l[..end].chars().count();
            // A column past the last whole char points at the char it is in.
            if end < byte_col.min(l.len()) {
                chars + 1
            } else {
                chars
            }
        })
        .unwrap_or(byte_col)
        .max(1);
    let raw = e.to_string();
    let raw = raw
        .rsplit_once(" at line ")
        .map_or(raw.as_str(), |(m, _)| m);
    let message = if text.trim().is_empty() {
        "json_spec is empty; write a JSON object such as {}".to_string()
    } else {
        match raw {
            "EOF while parsing an object" => {
                "the text ends before the object is closed; a '}' is missing".to_string()
            }
            "EOF while parsing a list" => {
                "the text ends before the array is closed; a ']' is missing".to_string()
            }
            "EOF while parsing a string" => {
                "the text ends inside a string; a closing '\"' is missing".to_string()
            }
            "EOF while parsing a value" => "the text ends where a value was expected".to_string(),
            "trailing comma" => "a trailing comma is not allowed in JSON".to_string(),
            "expected `,` or `}`" => "expected ',' or '}' (is a comma missing?)".to_string(),
            "expected `,` or `]`" => "expected ',' or ']' (is a comma missing?)".to_string(),
            "expected `:`" => "expected ':' after the key".to_string(),
            "expected value" => {
                "expected a value (a \"string\", a number, {…}, […], true, false or null)"
                    .to_string()
            }
            "expected ident" => "expected true, false or null".to_string(),
            "invalid escape" => {
                "an invalid escape in a string (use \\\\, \\\", \\n, \\t or \\uXXXX)".to_string()
            }
            m if m.starts_with("control character") => {
                "a line break or control character inside a string; write it as \\n".to_string()
            }
            "invalid number" => {
                "invalid number; JSON numbers have no leading zeros, '+' or trailing '.'"
                    .to_string()
            }
            "key must be a string" => "object keys must be strings in double quotes".to_string(),
            "trailing characters" => "there is text after the end of the JSON object".to_string(),
            "recursion limit exceeded" => {
                format!("json_spec nests too deeply; the limit is {MAX_SPEC_DEPTH} levels")
            }
            other => other.to_string(),
        }
    };
    SyntaxError {
        line,
        column,
        message,
    }
}

/// Builds a `Value` like serde_json does, recording the pointer of every
/// key that appears twice in one object.
struct TrackingSeed<'a> {
    pointer: String,
    duplicates: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for TrackingSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TrackingSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(TrackingSeed {
            pointer: index(&self.pointer, items.len()),
            duplicates: self.duplicates,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let pointer = child(&self.pointer, &key);
            let v = access.next_value_seed(TrackingSeed {
                pointer: pointer.clone(),
                duplicates: self.duplicates,
            })?;
            if map.contains_key(&key) {
                self.duplicates.borrow_mut().push(pointer);
                // Keep the first position, the last value, as serde_json does
                // for a preserve_order map.
            }
            map.insert(key, v);
        }
        Ok(Value::Object(map))
    }
}

/// A 1-based line and character column in json_spec text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where a JSON pointer points in `text`: the member's key for an object
/// member (the last one when a key repeats), the element for an array
/// item. `None` if the text is not valid JSON or nothing is there.
pub fn locate(text: &str, pointer: &str) -> Option<Position> {
    let tokens = pointer_tokens(pointer)?;
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    let mut at = i;
    for token in &tokens {
        match b.get(i)? {
            b'{' => {
                i = skip_ws(b, i + 1);
                let mut found: Option<(usize, usize)> = None;
                while b.get(i) == Some(&b'"') {
                    let key_start = i;
                    let key_end = skip_string(b, i)?;
                    let key: String = serde_json::from_str(text.get(key_start..key_end)?).ok()?;
                    i = skip_ws(b, key_end);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    let value_start = skip_ws(b, i + 1);
                    if key == *token {
                        found = Some((key_start, value_start));
                    }
                    i = skip_ws(b, skip_value(b, value_start)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                let (key_start, value_start) = found?;
                at = key_start;
                i = value_start;
            }
            b'[' => {
                let want: usize = token.parse().ok()?;
                i = skip_ws(b, i + 1);
                for _ in 0..want {
                    if matches!(b.get(i), None | Some(b']')) {
                        return None;
                    }
                    i = skip_ws(b, skip_value(b, i)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                if matches!(b.get(i), None | Some(b']')) {
                    return None;
                }
                at = i;
            }
            _ => return None,
        }
    }
    Some(position_of(text, at))
}

fn position_of(text: &str, byte: usize) -> Position {
    let before = text.get(..byte).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (which is `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index just past the value starting at `i`, without recursion.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match b.get(i)? {
            b'"' => i = skip_string(b, i)?,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            _ if depth == 0 => {
                while b.get(i).is_some_and(|c| {
                    !matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    i += 1;
                }
                return Some(i);
            }
            _ => i += 1,
        }
        if depth == 0 {
            return Some(i);
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

#[cfg(test)]
mod tests;
