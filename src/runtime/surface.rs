//! What an MCP server offers beside tools: its identity (the initialize
//! result), ping, resources (list, templates, read, subscribe) and prompts
//! (list, get). Every request goes through rmcp's client; every answer is
//! JSON in the protocol's own shapes, bounded in size like tool results.

use super::session::{MAX_RESULT_BYTES, service_fault};
use crate::platform::ToolError;
use chrono::{DateTime, Utc};
use rmcp::model::{
    ClientRequest, GetPromptRequestParams, PingRequest, ReadResourceRequestParams,
    SubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RoleClient};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::platform::tools::McpOp;

/// What the server told this client without being asked: the resources
/// it said were updated (`notifications/resources/updated`), with when.
#[derive(Debug, Clone, Default)]
pub struct Notices {
    updated: Arc<Mutex<BTreeMap<String, DateTime<Utc>>>>,
}

impl Notices {
    /// The updated resources and when the last notice for each came.
    pub fn updated(&self) -> BTreeMap<String, DateTime<Utc>> {
        self.updated.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn mark(&self, uri: String) {
        if let Ok(mut m) = self.updated.lock() {
            // Bounded: a server cannot grow this without limit.
            if m.len() >= 10_000 && !m.contains_key(&uri) {
                return;
            }
            m.insert(uri, Utc::now());
        }
    }
}

impl rmcp::ClientHandler for Notices {
    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.mark(params.uri);
    }
}

fn secs(d: Duration) -> String {
    format!("{:.0}s", d.as_secs_f64())
}

/// Run `op` on `peer` within `timeout`.
pub async fn run(
    peer: &rmcp::Peer<RoleClient>,
    notices: Option<&Notices>,
    op: McpOp,
    timeout: Duration,
) -> Result<Value, ToolError> {
    let doing = op.doing();
    offered(peer, &op)?;
    let work = async {
        match op {
            McpOp::Identity => identity(peer),
            McpOp::Ping => {
                let t0 = Instant::now();
                match peer
                    .send_request(ClientRequest::PingRequest(PingRequest::default()))
                    .await
                {
                    Ok(_) => Ok(json!({
                        "ok": true,
                        "latency_ms": u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX),
                    })),
                    Err(e) => Err(service_fault(&e)),
                }
            }
            McpOp::Resources => {
                let items = peer
                    .list_all_resources()
                    .await
                    .map_err(|e| service_fault(&e))?;
                let updated = notices.map(Notices::updated).unwrap_or_default();
                Ok(bounded(json!({"resources": items, "updated": updated})))
            }
            McpOp::Templates => {
                let items = peer
                    .list_all_resource_templates()
                    .await
                    .map_err(|e| service_fault(&e))?;
                Ok(bounded(json!({"resourceTemplates": items})))
            }
            McpOp::Read { uri } => {
                let r = peer
                    .read_resource(ReadResourceRequestParams::new(uri))
                    .await
                    .map_err(|e| service_fault(&e))?;
                Ok(bounded_read(
                    serde_json::to_value(&r).unwrap_or(Value::Null),
                ))
            }
            McpOp::Subscribe { uri } => {
                #[expect(deprecated, reason = "servers before 2026-07-28 subscribe this way")]
                let r = peer
                    .subscribe(SubscribeRequestParams::new(uri.clone()))
                    .await;
                r.map_err(|e| service_fault(&e))?;
                Ok(json!({"subscribed": uri}))
            }
            McpOp::Updated => Ok(json!({
                "updated": notices.map(Notices::updated).unwrap_or_default()
            })),
            McpOp::Prompts => {
                let items = peer
                    .list_all_prompts()
                    .await
                    .map_err(|e| service_fault(&e))?;
                Ok(bounded(json!({"prompts": items})))
            }
            McpOp::GetPrompt { name, arguments } => {
                let prompts = peer
                    .list_all_prompts()
                    .await
                    .map_err(|e| service_fault(&e))?;
                let prompts = serde_json::to_value(&prompts).unwrap_or(Value::Null);
                check_prompt_args(prompts.as_array().map_or(&[][..], |v| v), &name, &arguments)?;
                let mut p = GetPromptRequestParams::new(name);
                if !arguments.is_empty() {
                    p.arguments = Some(arguments);
                }
                let r = peer.get_prompt(p).await.map_err(|e| service_fault(&e))?;
                Ok(bounded(serde_json::to_value(&r).unwrap_or(Value::Null)))
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(ToolError::Timeout(format!(
            "no answer {doing} within {}",
            secs(timeout)
        ))),
    }
}

/// A server that declares no resources (or prompts) is not asked for
/// them: one sentence says so instead of a bare "method not found".
fn offered(peer: &rmcp::Peer<RoleClient>, op: &McpOp) -> Result<(), ToolError> {
    let what = match op {
        McpOp::Resources | McpOp::Templates | McpOp::Read { .. } | McpOp::Subscribe { .. } => {
            "resources"
        }
        McpOp::Prompts | McpOp::GetPrompt { .. } => "prompts",
        McpOp::Identity | McpOp::Ping | McpOp::Updated => return Ok(()),
    };
    let Some(info) = peer.peer_info() else {
        return Ok(());
    };
    let caps = serde_json::to_value(&info.capabilities).unwrap_or(Value::Null);
    if caps.get(what).is_none_or(Value::is_null) {
        return Err(ToolError::Server(format!(
            "the server offers no {what}: its initialize result declares no {what} capability"
        )));
    }
    if matches!(op, McpOp::Subscribe { .. })
        && caps["resources"].get("subscribe").and_then(Value::as_bool) != Some(true)
    {
        return Err(ToolError::Server("the server does not offer resource subscriptions (its resources capability has no subscribe)".into()));
    }
    Ok(())
}

/// The initialize result as the server sent it (rmcp's `peer_info()`).
fn identity(peer: &rmcp::Peer<RoleClient>) -> Result<Value, ToolError> {
    let info = peer
        .peer_info()
        .ok_or_else(|| ToolError::Server("the server's initialize result is not known".into()))?;
    Ok(bounded(serde_json::to_value(&*info).unwrap_or(Value::Null)))
}

fn size(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0)
}

/// A list or prompt answer larger than [`MAX_RESULT_BYTES`] is replaced by
/// one that says so (its size), never sent whole.
fn bounded(v: Value) -> Value {
    let n = size(&v);
    if n <= MAX_RESULT_BYTES {
        return v;
    }
    json!({
        "truncated": true,
        "bytes": n,
        "message": format!(
            "the answer was {:.1} MB, more than the {} KiB aacon keeps; it is not shown",
            n as f64 / 1_000_000.0,
            MAX_RESULT_BYTES / 1024
        ),
    })
}

/// A `resources/read` answer bounded like a tool result: text contents cut
/// at [`MAX_RESULT_BYTES`] (saying so), a binary content larger than that
/// kept as its type and size only.
fn bounded_read(mut v: Value) -> Value {
    if size(&v) <= MAX_RESULT_BYTES {
        return v;
    }
    let mut budget = MAX_RESULT_BYTES;
    if let Some(items) = v.get_mut("contents").and_then(Value::as_array_mut) {
        for c in items {
            let Some(obj) = c.as_object_mut() else {
                continue;
            };
            if let Some(t) = obj.get("text").and_then(Value::as_str) {
                let mut end = t.len().min(budget);
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                if end < t.len() {
                    let cut = format!(
                        "{}\n… [truncated: the text was {:.1} MB; the first {} KiB are shown]",
                        &t[..end],
                        t.len() as f64 / 1_000_000.0,
                        end / 1024
                    );
                    obj.insert("bytes".into(), json!(t.len()));
                    obj.insert("text".into(), Value::String(cut));
                    obj.insert("truncated".into(), Value::Bool(true));
                }
                budget = budget.saturating_sub(end);
            } else if let Some(b) = obj.get("blob").and_then(Value::as_str) {
                let len = b.len();
                if len > budget {
                    obj.remove("blob");
                    // base64: 4 characters carry 3 bytes.
                    obj.insert("bytes".into(), json!(len / 4 * 3));
                    obj.insert("truncated".into(), Value::Bool(true));
                } else {
                    budget -= len;
                }
            }
        }
    }
    v
}

/// A `resources/read` answer as text for people: each content's text, a
/// binary one as a line naming its URI, type and size.
pub fn read_text(v: &Value) -> String {
    let mut parts = Vec::new();
    for c in v
        .get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = c.get("text").and_then(Value::as_str);
        let cut_blob = text.is_none()
            && c.get("blob").is_none()
            && c.get("truncated").and_then(Value::as_bool) == Some(true);
        parts.push(match text {
            Some(t) => t.to_string(),
            None if cut_blob => format!(
                "[resource {} ({}), {} of binary data, not kept: larger than {} KiB]",
                c.get("uri").and_then(Value::as_str).unwrap_or("(no uri)"),
                c.get("mimeType")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown type"),
                super::content::size(c.get("bytes").and_then(Value::as_u64).unwrap_or(0)),
                MAX_RESULT_BYTES / 1024
            ),
            None => super::content::block(&json!({"type": "resource", "resource": c})),
        });
    }
    if parts.is_empty() {
        return "(the resource has no contents)".into();
    }
    parts.join("\n")
}

/// The binary contents of a `resources/read` answer: (MIME type, bytes).
pub fn read_blobs(v: &Value) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    v.get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let b = c.get("blob").and_then(Value::as_str)?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
            let mime = c
                .get("mimeType")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream");
            Some((mime.to_string(), bytes))
        })
        .collect()
}

/// A `prompts/get` answer as text: its description, then each message as
/// `role: content`.
pub fn messages_text(v: &Value) -> String {
    let mut out = Vec::new();
    if let Some(d) = v.get("description").and_then(Value::as_str) {
        out.push(format!("# {d}"));
    }
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("?");
        let content = m
            .get("content")
            .map(super::content::block)
            .unwrap_or_default();
        out.push(format!("{role}: {content}"));
    }
    out.join("\n")
}

/// `a, b, c`, or `none`.
fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Check `args` for prompt `name` against the prompts a server listed
/// (their JSON): the prompt exists, every required argument is given,
/// none is unknown, and every value is a string. One sentence otherwise.
pub fn check_prompt_args(
    prompts: &[Value],
    name: &str,
    args: &Map<String, Value>,
) -> Result<(), ToolError> {
    let Some(p) = prompts
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    else {
        let names: Vec<&str> = prompts
            .iter()
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .collect();
        return Err(ToolError::Request(format!(
            "the server has no prompt named '{}'; it has: {}",
            name.chars().take(80).collect::<String>(),
            listed(&names)
        )));
    };
    let declared: Vec<(&str, bool)> = p
        .get("arguments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| {
                    let n = d.get("name").and_then(Value::as_str)?;
                    let req = d.get("required").and_then(Value::as_bool).unwrap_or(false);
                    Some((n, req))
                })
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&str> = declared
        .iter()
        .filter(|(n, req)| {
            *req && args
                .get(*n)
                .and_then(Value::as_str)
                .is_none_or(|v| v.is_empty())
        })
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(ToolError::Request(format!(
            "prompt '{name}' needs {}: {}",
            if missing.len() == 1 {
                "an argument"
            } else {
                "arguments"
            },
            missing.join(", ")
        )));
    }
    if let Some(unknown) = args.keys().find(|k| !declared.iter().any(|(n, _)| n == k)) {
        let names: Vec<&str> = declared.iter().map(|(n, _)| *n).collect();
        return Err(ToolError::Request(format!(
            "prompt '{name}' has no argument '{}'; it takes: {}",
            unknown.chars().take(80).collect::<String>(),
            listed(&names)
        )));
    }
    if let Some((k, _)) = args.iter().find(|(_, v)| !v.is_string()) {
        return Err(ToolError::Request(format!(
            "prompt arguments are strings; '{}' is not",
            k.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts() -> Vec<Value> {
        vec![
            json!({"name": "simple_prompt"}),
            json!({"name": "complex_prompt", "arguments": [
                {"name": "temperature", "required": true},
                {"name": "style", "required": false}
            ]}),
        ]
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_prompt_with_its_required_arguments_passes() {
        let p = prompts();
        assert_eq!(
            check_prompt_args(&p, "complex_prompt", &args(json!({"temperature": "0.7"}))),
            Ok(())
        );
        assert_eq!(
            check_prompt_args(
                &p,
                "complex_prompt",
                &args(json!({"temperature": "0.7", "style": "terse"}))
            ),
            Ok(())
        );
        assert_eq!(check_prompt_args(&p, "simple_prompt", &Map::new()), Ok(()));
    }

    #[test]
    fn a_missing_required_argument_is_one_sentence() {
        let p = prompts();
        let e = check_prompt_args(&p, "complex_prompt", &args(json!({"style": "x"})))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "prompt 'complex_prompt' needs an argument: temperature");
        // Empty counts as missing.
        let e = check_prompt_args(&p, "complex_prompt", &args(json!({"temperature": ""})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs an argument: temperature"), "{e}");
    }

    #[test]
    fn unknown_prompts_arguments_and_non_strings_are_refused() {
        let p = prompts();
        let e = check_prompt_args(&p, "nope", &Map::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the server has no prompt named 'nope'; it has: simple_prompt, complex_prompt"
        );
        let e = check_prompt_args(&p, "simple_prompt", &args(json!({"x": "1"})))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "prompt 'simple_prompt' has no argument 'x'; it takes: none"
        );
        let e = check_prompt_args(&p, "complex_prompt", &args(json!({"temperature": 1})))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("needs an argument"),
            "a number is not a given string: {e}"
        );
        let e = check_prompt_args(
            &p,
            "complex_prompt",
            &args(json!({"temperature": "1", "style": 2})),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "prompt arguments are strings; 'style' is not");
    }

    #[test]
    fn a_large_text_resource_is_cut_and_says_so() {
        let big = "x".repeat(MAX_RESULT_BYTES + 10);
        let v = bounded_read(json!({"contents": [{"uri": "a", "text": big}]}));
        let c = &v["contents"][0];
        assert_eq!(c["truncated"], json!(true));
        assert!(c["text"].as_str().unwrap().contains("[truncated"));
        assert!(size(&v) < MAX_RESULT_BYTES + 1000);
        let blob = "A".repeat(MAX_RESULT_BYTES + 4);
        let v = bounded_read(
            json!({"contents": [{"uri": "b", "blob": blob, "mimeType": "image/png"}]}),
        );
        assert!(v["contents"][0].get("blob").is_none());
        assert_eq!(v["contents"][0]["mimeType"], json!("image/png"));
    }
}
