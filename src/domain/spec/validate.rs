//! Validation of a json_spec: each finding with its JSON pointer and one
//! sentence.

use super::*;

/// Which kinds use a top-level key; `None` for keys we do not know.
pub(super) fn key_kinds(key: &str) -> Option<&'static [ProviderKind]> {
    use ProviderKind::*;
    Some(match key {
        "type" | "available_tools" | "timeout_seconds" | "roots" => &[External, Process, Container],
        "endpoint_url" | "endpoint" | "headers" | "authentication" | "transport" => &[External],
        "health_check" => &[External, Container],
        "command" | "args" | "cwd" => &[Process],
        "env_vars" => &[Process, Container],
        "image" | "port" | "environment" | "cmd" => &[Container],
        _ => return None,
    })
}

pub(super) const KNOWN_KEYS: &[&str] = &[
    "type",
    "available_tools",
    "endpoint_url",
    "endpoint",
    "headers",
    "authentication",
    "transport",
    "health_check",
    "command",
    "args",
    "cwd",
    "env_vars",
    "image",
    "port",
    "environment",
    "cmd",
    "timeout_seconds",
    "roots",
];

/// The key that decides a kind by its presence.
pub(super) fn marker_kind(key: &str) -> Option<ProviderKind> {
    match key {
        "endpoint_url" | "endpoint" => Some(ProviderKind::External),
        "command" => Some(ProviderKind::Process),
        "image" => Some(ProviderKind::Container),
        _ => None,
    }
}

/// "a string", "an array", … for messages.
pub(super) fn type_name(v: &Value) -> &'static str {
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
pub(super) fn shown(s: &str) -> String {
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

pub(super) fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", pointer_token(key))
}

pub(super) fn index(pointer: &str, i: usize) -> String {
    format!("{pointer}/{i}")
}

#[derive(Default)]
pub(super) struct Validator {
    pub(super) issues: Vec<Issue>,
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

    pub(super) fn spec(&mut self, obj: &Map<String, Value>, kind: ProviderKind) {
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
            "transport" => self.transport_rule(value, p),
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
            "timeout_seconds" => self.timeout_rule(value, p),
            "roots" => self.string_array_rule("roots", value, p, "[\"/srv/data\", \"docs\"]"),
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

    fn transport_rule(&mut self, v: &Value, p: &str) {
        let ok = v.as_str().and_then(EndpointTransport::parse).is_some();
        if !ok {
            let got = match v {
                Value::String(s) => format!("\"{}\"", shown(s)),
                other => type_name(other).to_string(),
            };
            self.error(
                p,
                format!(
                    "`transport` must be \"sse\" (the legacy HTTP+SSE transport), \"streamable-http\" or \"auto\", not {got}"
                ),
            );
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

    fn timeout_rule(&mut self, v: &Value, p: &str) {
        match v.as_f64() {
            Some(s) if s > 0.0 && s <= MAX_TIMEOUT_SECONDS => {}
            Some(_) => self.error(
                p,
                format!(
                    "`timeout_seconds` must be more than 0 and at most {MAX_TIMEOUT_SECONDS} (a day); it is {v}"
                ),
            ),
            None => self.error(
                p,
                format!(
                    "`timeout_seconds` must be a number of seconds such as 300, not {}",
                    type_name(v)
                ),
            ),
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
pub(super) fn is_header_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Levenshtein distance, for "did you mean" hints on short keys.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
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
