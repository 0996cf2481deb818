//! Redaction of a bundle: every file passes through a [`Scrubber`] that
//! replaces each known secret value (the instance's plain secrets and the
//! resolved values of secret references) with `<redacted>`, after the
//! json_specs and event data were redacted by shape
//! ([`redact_plain_secrets`]). The second pass catches a secret where no
//! rule would look for it: a server that prints its token to stderr.

use crate::domain::spec::{REDACTED, redact_plain_secrets, url_credentials_range};
use serde_json::Value;

/// Shortest value scrubbed: shorter ones would blank out ordinary text
/// ("on", "42") wherever it occurs; SECURITY.md says so.
pub const MIN_SECRET_CHARS: usize = 4;

/// Replaces known secret values in text.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    /// Longest first, so a secret that contains another goes whole.
    needles: Vec<String>,
}

impl Scrubber {
    pub fn new(values: impl IntoIterator<Item = String>) -> Scrubber {
        let mut needles: Vec<String> = Vec::new();
        for v in values {
            if v.chars().count() < MIN_SECRET_CHARS {
                continue;
            }
            // As written in JSON too (a secret with a quote or a backslash).
            let quoted = serde_json::to_string(&v).unwrap_or_default();
            let escaped = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .map(str::to_string);
            if let Some(e) = escaped.filter(|e| *e != v) {
                needles.push(e);
            }
            needles.push(v);
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Scrubber { needles }
    }

    /// Add the plain secret values of a json_spec.
    pub fn add_spec(&mut self, spec: &Value) {
        let mut found = Vec::new();
        plain_secrets(spec, &redact_plain_secrets(spec), &mut found);
        let mut all = std::mem::take(&mut self.needles);
        all.extend(found);
        *self = Scrubber::new(all);
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        out
    }
}

/// The values `redacted` hides of `spec` (walked side by side): whole
/// strings and numbers, or a URL's password.
fn plain_secrets(spec: &Value, redacted: &Value, out: &mut Vec<String>) {
    match (spec, redacted) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(r) = b.get(k) {
                    plain_secrets(v, r, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (v, r) in a.iter().zip(b) {
                plain_secrets(v, r, out);
            }
        }
        (Value::String(s), Value::String(r)) if s != r => {
            if r == REDACTED {
                out.push(s.clone());
            } else if let Some(range) = url_credentials_range(s) {
                out.push(s[range].to_string());
            }
        }
        (Value::Number(n), Value::String(_)) => out.push(n.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_secrets_of_a_spec_and_given_values_are_scrubbed() {
        let mut s = Scrubber::new(["resolved-canary-1234".to_string(), "ab".to_string()]);
        s.add_spec(&json!({
            "env": {"API_TOKEN": "plain-canary-5678", "MODE": "fast"},
            "url": "https://user:pw-canary-9@host/x",
            "command": ["srv"]
        }));
        let text = "token plain-canary-5678 and resolved-canary-1234 at https://user:pw-canary-9@host/x, mode fast, ab";
        let out = s.scrub(text);
        assert!(!out.contains("canary"), "{out}");
        assert!(
            out.contains("mode fast, ab"),
            "short values and others stay: {out}"
        );
    }

    #[test]
    fn a_secret_is_scrubbed_as_json_writes_it_too() {
        let s = Scrubber::new(["quo\"te-secret".to_string()]);
        let json = serde_json::to_string(&json!({"line": "x quo\"te-secret y"})).unwrap();
        let out = s.scrub(&json);
        assert!(!out.contains("te-secret"), "{out}");
        assert!(serde_json::from_str::<Value>(&out).is_ok(), "{out}");
    }
}
