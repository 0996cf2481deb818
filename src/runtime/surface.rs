//! What an MCP server offers beside tools: its identity (the initialize
//! result), ping, resources (list, templates, read, subscribe) and prompts
//! (list, get). Every request goes through rmcp's client; every answer is
//! JSON in the protocol's own shapes, bounded in size like tool results.

use super::ring::LogRing;
use super::session::{MAX_RESULT_BYTES, service_fault};
use crate::platform::ToolError;
pub use crate::platform::content::{check_prompt_args, messages_text, read_blobs, read_text};
use chrono::{DateTime, Utc};
use rmcp::model::{
    ClientRequest, GetPromptRequestParams, PingRequest, ReadResourceRequestParams,
    SubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RoleClient};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use crate::platform::tools::McpOp;

/// What the server told this client without being asked: the resources
/// it said were updated (`notifications/resources/updated`), with when;
/// its log messages (into the instance's log) and its other notifications
/// (into the instance's event history, see [`super::notify`]).
#[derive(Debug, Clone, Default)]
pub struct Notices {
    updated: Arc<Mutex<BTreeMap<String, DateTime<Utc>>>>,
    /// Where `notifications/message` goes: the instance's log.
    log: Arc<OnceLock<Arc<Mutex<LogRing>>>>,
    /// Where list changes, resource updates, progress and cancellations go.
    heard: Arc<OnceLock<super::notify::Teller>>,
    /// What the server asks of this client (elicitation, sampling, roots)
    /// and the progress of its calls.
    pub requests: super::client_requests::ClientRequests,
}

impl Notices {
    /// A handler that answers the server's requests with `requests`.
    pub fn new(requests: super::client_requests::ClientRequests) -> Notices {
        Notices {
            requests,
            ..Notices::default()
        }
    }

    /// These notices, with log messages going into `ring` from the first one on.
    pub fn logging_to(self, ring: Arc<Mutex<LogRing>>) -> Notices {
        self.log_to(ring);
        self
    }

    /// Send log messages into `ring` from now on (once; later calls keep the first).
    pub fn log_to(&self, ring: Arc<Mutex<LogRing>>) {
        let _ = self.log.set(ring);
    }

    /// Send the other notifications to `teller` from now on (once).
    pub fn tell(&self, teller: super::notify::Teller) {
        let _ = self.heard.set(teller);
    }

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

    /// The instance's log, once known.
    fn log(&self) -> Option<&Arc<Mutex<LogRing>>> {
        self.log.get()
    }

    /// Another notification, for the instance's history.
    fn heard(&self, h: super::notify::Heard) {
        if let Some(t) = self.heard.get() {
            t.tell(h);
        }
    }
}

impl rmcp::ClientHandler for Notices {
    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.heard(super::notify::Heard::resource_updated(&params.uri));
        self.mark(params.uri);
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        self.requests.client_info()
    }

    #[expect(
        deprecated,
        reason = "servers log with notifications/message until SEP-2577"
    )]
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if let Some(ring) = self.log() {
            super::mcplog::logged(ring, &params);
        }
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.heard(super::notify::Heard::list_changed("tools"));
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.heard(super::notify::Heard::list_changed("resources"));
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.heard(super::notify::Heard::list_changed("prompts"));
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.heard(super::notify::Heard::progress(&params));
        self.requests.progress(params);
    }

    async fn on_cancelled(
        &self,
        params: rmcp::model::CancelledNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.heard(super::notify::Heard::cancelled(&params));
    }

    async fn create_elicitation(
        &self,
        request: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        self.requests.elicit(request).await
    }

    #[expect(
        deprecated,
        reason = "servers before protocol 2026-07-28 sample this way"
    )]
    async fn create_message(
        &self,
        _params: rmcp::model::CreateMessageRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        self.requests.sampling()
    }

    #[expect(
        deprecated,
        reason = "servers before protocol 2026-07-28 ask for roots this way"
    )]
    async fn list_roots(
        &self,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ListRootsResult, rmcp::ErrorData> {
        Ok(self.requests.roots())
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
            McpOp::SetLevel { level } => {
                super::mcplog::set_level(peer, level)
                    .await
                    .map_err(|e| service_fault(&e))?;
                Ok(json!({"level": level}))
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
        McpOp::SetLevel { .. } => "logging",
        McpOp::Identity | McpOp::Ping | McpOp::Updated => return Ok(()),
    };
    let Some(info) = peer.peer_info() else {
        return Ok(());
    };
    let caps = serde_json::to_value(&info.capabilities).unwrap_or(Value::Null);
    if what == "logging" && caps.get(what).is_none_or(Value::is_null) {
        return Err(ToolError::Server(
            "the server does not take a log level: its initialize result declares no logging capability".into(),
        ));
    }
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
                let kept = crate::domain::text::prefix(t, budget);
                let end = kept.len();
                if end < t.len() {
                    let cut = format!(
                        "{}\n… [truncated: the text was {:.1} MB; the first {} KiB are shown]",
                        kept,
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

#[cfg(test)]
mod tests {
    use super::*;

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
