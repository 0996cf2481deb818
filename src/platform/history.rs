//! Call history: every tool call, resource read and prompt get an
//! instance answered, kept per instance in the store (who asked, when,
//! with what arguments — secrets redacted —, how long it took, how it
//! ended and how big the answer was, plus its first [`MAX_KEPT_RESULT`]
//! bytes to show again).
//!
//! The embedded platform records each call where it runs (see
//! `platform::embedded`); who asked travels with the call as a [`Caller`]:
//! the platform's own (a console, a CLI command, with its pid), or one set
//! for the request ([`as_caller`]) by `aacon serve` (the token's name) and
//! by the runtime host's socket (the local process that sent it).

use crate::domain::spec::{self, REDACTED};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

/// The most of a call's answer kept to show again (its JSON text); the
/// size recorded is always the whole answer's.
pub const MAX_KEPT_RESULT: usize = 64 * 1024;

/// The header a local process names itself in when it sends a call to the
/// runtime host over `runtime.sock` (never read from a network peer).
pub const CALLER_HEADER: &str = "x-aacon-caller";

/// Who asked for a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Caller {
    /// A console (the Tools, Resources, Prompts or History tab).
    Console { pid: u32 },
    /// An `aacon` command typed in a shell.
    Cli { pid: u32 },
    /// A client of `aacon serve`: the name of the token it presented
    /// (never the token), none when serve runs without one (loopback
    /// only), and its address when known.
    Api {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
    },
    /// Another process of this data dir that did not say who it is (a
    /// background host's own work, a socket client without the header).
    Local {
        role: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
}

impl Caller {
    /// The short word for a table: "console", "CLI", "API", "local".
    pub fn via(&self) -> &'static str {
        match self {
            Caller::Console { .. } => "console",
            Caller::Cli { .. } => "CLI",
            Caller::Api { .. } => "API",
            Caller::Local { .. } => "local",
        }
    }

    /// The header value for [`CALLER_HEADER`].
    pub fn to_header(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A caller named in [`CALLER_HEADER`], if it reads as one.
    pub fn from_header(v: &str) -> Option<Caller> {
        serde_json::from_str(v).ok()
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Console { pid } => write!(f, "console pid {pid}"),
            Caller::Cli { pid } => write!(f, "CLI pid {pid}"),
            Caller::Api { token, peer } => {
                f.write_str("API")?;
                match token {
                    Some(t) => write!(f, " token '{t}'")?,
                    None => f.write_str(" without a token")?,
                }
                if let Some(p) = peer {
                    write!(f, " from {p}")?;
                }
                Ok(())
            }
            Caller::Local { role, pid } => match pid {
                Some(p) => write!(f, "{role} pid {p}"),
                None => f.write_str(role),
            },
        }
    }
}

tokio::task_local! {
    static CALLER: Caller;
}

/// Run `f` as a request from `caller`: calls it makes through a platform
/// are recorded as that caller's (serve sets it per request).
pub async fn as_caller<F: std::future::Future>(caller: Caller, f: F) -> F::Output {
    CALLER.scope(caller, f).await
}

/// The caller set for the running request, if any.
pub fn current_caller() -> Option<Caller> {
    CALLER.try_with(Clone::clone).ok()
}

/// What was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Tool,
    Resource,
    Prompt,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Tool => "tool",
            CallKind::Resource => "resource",
            CallKind::Prompt => "prompt",
        }
    }

    pub fn parse(s: &str) -> Option<CallKind> {
        match s {
            "tool" => Some(CallKind::Tool),
            "resource" => Some(CallKind::Resource),
            "prompt" => Some(CallKind::Prompt),
            _ => None,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CallOutcome {
    /// The server answered.
    Ok,
    /// The server answered with a tool result marked `isError`.
    ToolError,
    /// No answer: `kind` is the failure's kind ("argument", "request",
    /// "not running", "transport", "server", "timeout", "unavailable", …),
    /// `message` its sentence (secrets redacted).
    Failed { kind: String, message: String },
}

impl CallOutcome {
    /// For a table: "ok", "isError", or the failure's kind.
    pub fn short(&self) -> String {
        match self {
            CallOutcome::Ok => "ok".into(),
            CallOutcome::ToolError => "isError".into(),
            CallOutcome::Failed { kind, .. } => kind.clone(),
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, CallOutcome::Ok)
    }
}

/// A call about to be recorded (the store gives it its id).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    pub instance_id: Uuid,
    pub instance_name: String,
    pub at: DateTime<Utc>,
    pub caller: Caller,
    pub kind: CallKind,
    /// The tool's or prompt's name, or the resource's URI.
    pub name: String,
    /// The arguments, secrets redacted ([`redact_args`]).
    pub arguments: Value,
    /// Whether anything in the arguments was redacted.
    pub redacted: bool,
    pub duration_ms: u64,
    pub outcome: CallOutcome,
    /// The whole answer's size (its JSON), in bytes.
    pub result_bytes: u64,
    /// The answer's JSON text, its first [`MAX_KEPT_RESULT`] bytes.
    pub result: String,
}

impl NewCall {
    /// The answer kept: its JSON's first [`MAX_KEPT_RESULT`] bytes (cut on
    /// a character boundary) and the whole size.
    pub fn keep_result(json: &str) -> (String, u64) {
        (
            crate::domain::text::prefix(json, MAX_KEPT_RESULT).to_string(),
            json.len() as u64,
        )
    }
}

/// One recorded call, as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The store's sequence number: newer calls have larger ids.
    pub id: i64,
    pub instance_id: Uuid,
    /// The instance's name when the call was made.
    pub instance_name: String,
    pub at: DateTime<Utc>,
    pub caller: Caller,
    pub kind: CallKind,
    pub name: String,
    pub arguments: Value,
    pub redacted: bool,
    pub duration_ms: u64,
    pub outcome: CallOutcome,
    pub result_bytes: u64,
    /// The kept answer: only in [`Platform::history_call`] (a list leaves
    /// it out); cut at [`MAX_KEPT_RESULT`] bytes when `result_bytes` is
    /// larger.
    ///
    /// [`Platform::history_call`]: super::Platform::history_call
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

impl CallRecord {
    /// The answer's size for a table: "812 B", "3.4 KiB", "1.2 MiB".
    pub fn size_text(&self) -> String {
        let n = self.result_bytes;
        match n {
            0..1024 => format!("{n} B"),
            1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
            _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
        }
    }

    /// How long it took, for a table: "12 ms", "60.0 s".
    pub fn took_text(&self) -> String {
        match self.duration_ms {
            ms @ 0..1000 => format!("{ms} ms"),
            ms => format!("{:.1} s", ms as f64 / 1000.0),
        }
    }

    /// What was asked, for a table: "tool echo", "resource file:///a".
    pub fn what(&self) -> String {
        format!("{} {}", self.kind.as_str(), self.name)
    }

    /// Whether the kept answer is only the start of it.
    pub fn result_cut(&self) -> bool {
        self.result
            .as_ref()
            .is_some_and(|r| (r.len() as u64) < self.result_bytes)
    }

    /// The record as the pager shows it: who, what, the arguments and the
    /// kept answer (pretty when it is whole JSON).
    pub fn full_text(&self) -> String {
        let mut out = vec![
            format!("{} {}", self.kind.as_str(), self.name),
            format!("instance  {} ({})", self.instance_name, self.instance_id),
            format!("when      {}", self.at.to_rfc3339()),
            format!("who       {}", self.caller),
            format!("took      {} ms", self.duration_ms),
            format!("outcome   {}", self.outcome.short()),
            format!("size      {} bytes", self.result_bytes),
        ];
        if let CallOutcome::Failed { message, .. } = &self.outcome {
            out.push(format!("error     {message}"));
        }
        out.push(String::new());
        out.push(if self.redacted {
            "arguments (secrets redacted):".into()
        } else {
            "arguments:".into()
        });
        out.push(serde_json::to_string_pretty(&self.arguments).unwrap_or_default());
        if let Some(r) = &self.result {
            out.push(String::new());
            if self.result_cut() {
                out.push(format!(
                    "result (the first {} of {} bytes):",
                    r.len(),
                    self.result_bytes
                ));
                out.push(r.clone());
            } else {
                out.push("result:".into());
                out.push(
                    serde_json::from_str::<Value>(r)
                        .ok()
                        .and_then(|v| serde_json::to_string_pretty(&v).ok())
                        .unwrap_or_else(|| r.clone()),
                );
            }
        }
        out.join("\n")
    }

    /// The arguments to send again, when nothing in them was redacted; else
    /// why not, in one sentence.
    pub fn rerun_args(&self) -> Result<Value, String> {
        if self.redacted || contains_redaction(&self.arguments) {
            return Err(format!(
                "the recorded arguments of {} '{}' have secrets redacted, so it cannot be sent again as it was; call it from the Tools tab with the values",
                self.kind.as_str(),
                self.name
            ));
        }
        Ok(self.arguments.clone())
    }
}

/// How much history is kept: the newest `keep_per_instance` calls of each
/// instance, none older than `keep_days` (0: no age limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep_per_instance: u64,
    pub keep_days: u64,
}

/// The defaults of `history.keep_per_instance` and `history.keep_days`.
pub const DEFAULT_KEEP_PER_INSTANCE: u64 = 1000;
pub const DEFAULT_KEEP_DAYS: u64 = 30;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_per_instance: DEFAULT_KEEP_PER_INSTANCE,
            keep_days: DEFAULT_KEEP_DAYS,
        }
    }
}

/// `args` with secrets redacted: values under secret-looking keys,
/// credential-looking strings and URL credentials (as events redact a
/// json_spec), and every one of `secrets` (the instance's own secret
/// values) wherever it appears. Also whether anything was replaced.
pub fn redact_args(args: &Value, secrets: &[String]) -> (Value, bool) {
    let mut out = spec::redact_plain_secrets(args);
    let mut hit = out != *args;
    replace_secrets(&mut out, secrets, &mut hit);
    (out, hit)
}

/// `text` with each of `secrets` replaced by [`spec::MASK`].
pub fn mask_text(text: &str, secrets: &[String]) -> String {
    spec::mask_values(text, secrets.iter().map(String::as_str))
}

fn replace_secrets(v: &mut Value, secrets: &[String], hit: &mut bool) {
    match v {
        Value::String(s) => {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), REDACTED);
                    *hit = true;
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| replace_secrets(i, secrets, hit)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|i| replace_secrets(i, secrets, hit)),
        _ => {}
    }
}

fn contains_redaction(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(REDACTED) || s.contains(spec::MASK),
        Value::Array(items) => items.iter().any(contains_redaction),
        Value::Object(map) => map.values().any(contains_redaction),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_lose_secret_keys_credentials_and_the_instances_secrets() {
        let args = json!({
            "api_key": "k-123",
            "query": "select canary-s3cret from t",
            "auth": "Bearer abc",
            "nested": [{"password": 7}],
            "plain": "hello"
        });
        let (out, hit) = redact_args(&args, &["canary-s3cret".into()]);
        assert!(hit);
        assert_eq!(out["api_key"], REDACTED);
        assert_eq!(out["auth"], REDACTED);
        assert_eq!(out["nested"][0]["password"], REDACTED);
        assert_eq!(out["query"], format!("select {REDACTED} from t"));
        assert_eq!(out["plain"], "hello");
        assert!(!out.to_string().contains("canary-s3cret"));
        let (same, hit) = redact_args(&json!({"a": "b"}), &["zzz".into()]);
        assert!(!hit);
        assert_eq!(same, json!({"a": "b"}));
    }

    #[test]
    fn a_redacted_call_is_not_sent_again() {
        let mut r = CallRecord {
            id: 1,
            instance_id: Uuid::nil(),
            instance_name: "a".into(),
            at: Utc::now(),
            caller: Caller::Cli { pid: 1 },
            kind: CallKind::Tool,
            name: "echo".into(),
            arguments: json!({"message": "hi"}),
            redacted: false,
            duration_ms: 3,
            outcome: CallOutcome::Ok,
            result_bytes: 2,
            result: Some("{}".into()),
        };
        assert_eq!(r.rerun_args().unwrap(), json!({"message": "hi"}));
        r.redacted = true;
        assert!(r.rerun_args().unwrap_err().contains("secrets redacted"));
    }

    #[test]
    fn callers_read_as_who_and_travel_as_a_header() {
        let api = Caller::Api {
            token: Some("serve".into()),
            peer: Some("127.0.0.1:5".into()),
        };
        assert_eq!(api.to_string(), "API token 'serve' from 127.0.0.1:5");
        assert_eq!(Caller::Cli { pid: 9 }.to_string(), "CLI pid 9");
        assert_eq!(Caller::from_header(&api.to_header()), Some(api));
        assert_eq!(Caller::from_header("nonsense"), None);
    }

    #[test]
    fn a_kept_result_is_cut_on_a_character_boundary() {
        let big = "é".repeat(MAX_KEPT_RESULT);
        let (kept, size) = NewCall::keep_result(&big);
        assert_eq!(size, big.len() as u64);
        assert!(kept.len() <= MAX_KEPT_RESULT);
        assert!(big.starts_with(&kept));
    }
}
