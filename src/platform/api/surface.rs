//! A server's identity, resources and prompts through `aacon serve`'s
//! routes (aacon extensions; AgentArea has none of them).

use super::ApiPlatform;
use crate::platform::{McpOp, PlatformError, Result};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The route of `op` and, for a POST, its body.
pub fn route(id: Uuid, op: &McpOp) -> (String, Option<Value>) {
    match op {
        McpOp::Identity => (format!("/{id}/server"), None),
        McpOp::Ping => (format!("/{id}/ping"), Some(json!({}))),
        McpOp::Resources => (format!("/{id}/resources"), None),
        McpOp::Templates => (format!("/{id}/resources/templates"), None),
        McpOp::Read { uri } => (format!("/{id}/resources/read"), Some(json!({"uri": uri}))),
        McpOp::Subscribe { uri } => (
            format!("/{id}/resources/subscribe"),
            Some(json!({"uri": uri})),
        ),
        McpOp::Updated => (format!("/{id}/resources/updated"), None),
        McpOp::Prompts => (format!("/{id}/prompts"), None),
        McpOp::GetPrompt { name, arguments } => (
            format!("/{id}/prompts/get"),
            Some(json!({"name": name, "arguments": arguments})),
        ),
        McpOp::SetLevel { level } => (
            format!("/{id}/logging/level"),
            Some(json!({"level": level})),
        ),
    }
}

impl ApiPlatform {
    /// [`crate::platform::Platform::mcp`] over the API.
    pub(super) async fn surface(&self, id: Uuid, op: McpOp) -> Result<Value> {
        let (path, body) = route(id, &op);
        let r = match &body {
            None => self.inner.get(&path, HeaderMap::new()).await?,
            Some(b) => {
                self.inner
                    .mutate(Method::POST, &path, Some(b), HeaderMap::new())
                    .await?
            }
        };
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Err(PlatformError::Unavailable(format!(
                "the API at {} cannot do this ({}): AgentArea has no such route; `aacon serve` does",
                self.inner.shown,
                op.doing()
            )));
        }
        self.inner.expect_ok(r, op.doing(), Some(id))
    }
}
