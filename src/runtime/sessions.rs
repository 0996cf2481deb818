//! The runtime as the platform's [`ToolSessions`]: its live sessions
//! ([`LiveSessions`], while it runs), and a session opened for one request
//! when nobody runs the instance ([`OneShot`]). Both mask the instance's
//! secrets in what the server sent.

use super::client_requests::ClientRequests;
use super::ring::{self, LogRing};
use super::session::Session;
use super::{RuntimeConfig, Shared, ToolCallOutcome, ToolInfo, childenv, plan, surface};
use crate::domain::{Instance, Probe};
use crate::platform::{CallControl, McpOp, PlatformError, ToolError, ToolSessions};
use crate::secrets::SecretStore;
use async_trait::async_trait;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use uuid::Uuid;

/// The runtime's live sessions, as its platform knows them: weakly (the
/// runtime holds the platform), gone once the runtime is dropped.
pub struct LiveSessions(pub(super) Weak<Shared>);

impl LiveSessions {
    fn shared(&self) -> Result<Arc<Shared>, ToolError> {
        self.0.upgrade().ok_or_else(super::not_running)
    }
}

#[async_trait]
impl ToolSessions for LiveSessions {
    fn available(&self) -> bool {
        self.0.strong_count() > 0
    }

    fn is_live(&self, id: Uuid) -> bool {
        self.0
            .upgrade()
            .is_some_and(|s| s.with_live(id, |l| l.peer.is_some()))
    }

    fn live_tools(&self, id: Uuid) -> Option<Vec<ToolInfo>> {
        let shared = self.0.upgrade()?;
        shared.with_live(id, |l| l.peer.as_ref().map(|_| l.tools.clone()))
    }

    async fn call_tool(
        &self,
        inst: &Instance,
        tool: &str,
        args: Value,
        ctl: &CallControl,
    ) -> Result<ToolCallOutcome, ToolError> {
        let shared = self.shared()?;
        let out = shared
            .call_tool((inst.id, &inst.name, &inst.json_spec), tool, args, ctl)
            .await?;
        Ok(masked_outcome(&masker(inst, &shared.secrets), out))
    }

    async fn mcp(&self, inst: &Instance, op: McpOp) -> Result<Value, ToolError> {
        let shared = self.shared()?;
        let out = shared.mcp(inst.id, op).await?;
        Ok(masked_json(&masker(inst, &shared.secrets), out))
    }

    async fn logs(
        &self,
        id: Uuid,
        after: Option<u64>,
    ) -> Result<crate::platform::LogPage, PlatformError> {
        Ok(self
            .0
            .upgrade()
            .map(|s| s.log_page(id, after))
            .unwrap_or_default())
    }

    async fn probes(&self) -> Result<Vec<Probe>, PlatformError> {
        Ok(self.0.upgrade().map(|s| s.probes()).unwrap_or_default())
    }
}

/// Sessions opened for one request each, then closed (for `aacon tools
/// call`, `aacon resources`, `aacon prompts` when no runtime host runs the
/// instance), with the runtime settings of the config.
pub struct OneShot {
    cfg: RuntimeConfig,
    secrets: SecretStore,
}

impl OneShot {
    /// One-shot sessions for the data dir at `root` (its secret store).
    pub fn new(root: &Path, cfg: RuntimeConfig) -> OneShot {
        OneShot {
            cfg,
            secrets: SecretStore::open(root),
        }
    }

    /// Connect to an instance just for one request; `what` says what a
    /// container cannot do this way ("call its tools").
    async fn open(
        &self,
        inst: &Instance,
        what: &str,
        elicitation: bool,
    ) -> Result<(Session, Vec<ToolInfo>), ToolError> {
        let requests = ClientRequests::for_spec(&inst.json_spec, elicitation);
        let cfg = &self.cfg;
        let resolved = plan::for_instance(inst, &self.secrets)
            .map_err(|e| ToolError::Transport(e.to_string()))?;
        let ring = Arc::new(Mutex::new(LogRing::new(cfg.stderr_lines)));
        if let Ok(mut r) = ring.lock() {
            r.set_secrets(resolved.secrets.clone());
        }
        match resolved.plan {
            plan::Plan::Process(p) => {
                let base = childenv::inherited(&cfg.child_env, &[]);
                Session::spawn(&p, cfg.init_timeout, ring, &base, requests).await
            }
            plan::Plan::Endpoint(e) => {
                let http = reqwest::Client::new();
                Session::connect(&e, cfg.init_timeout, &http, requests).await
            }
            plan::Plan::Container(_) => Err(format!(
                "instance '{}' is a container; {what} through the runtime host (open the console or run `aacon serve`)",
                inst.name
            )
            .into()),
        }
        .map_err(|e| ToolError::Transport(e.to_string()))
    }
}

#[async_trait]
impl ToolSessions for OneShot {
    async fn call_tool(
        &self,
        inst: &Instance,
        tool: &str,
        args: Value,
        ctl: &CallControl,
    ) -> Result<ToolCallOutcome, ToolError> {
        // This session is for this call alone: it declares elicitation when
        // the caller can answer one.
        let (session, tools) = self
            .open(inst, "call its tools", ctl.elicit.is_some())
            .await?;
        let result = match crate::platform::tools::check_args(&tools, tool, args) {
            Ok(a) => {
                let on = super::session::CallOn {
                    requests: &session.notices.requests,
                    instance: &inst.name,
                    ctl,
                };
                let timeout = plan::call_timeout(&inst.json_spec, self.cfg.call_timeout);
                super::session::call_tool(&session.peer(), tool, a, timeout, on).await
            }
            Err(e) => Err(ToolError::from(e)),
        };
        session.shutdown(self.cfg.stop_grace).await;
        Ok(masked_outcome(&masker(inst, &self.secrets), result?))
    }

    async fn mcp(&self, inst: &Instance, op: McpOp) -> Result<Value, ToolError> {
        let what = match op {
            McpOp::Prompts | McpOp::GetPrompt { .. } => "get its prompts",
            _ => "read its resources and identity",
        };
        let (session, _) = self.open(inst, what, false).await?;
        let result = surface::run(
            &session.peer(),
            Some(&session.notices),
            op,
            self.cfg.call_timeout,
        )
        .await;
        session.shutdown(self.cfg.stop_grace).await;
        Ok(masked_json(&masker(inst, &self.secrets), result?))
    }
}

/// Masks an instance's secrets (resolved references and plain values) in
/// text a server sent: its output can echo what it was given.
fn masker(inst: &Instance, secrets: &SecretStore) -> impl Fn(&str) -> String + use<> {
    let secrets = plan::resolve(&inst.json_spec, secrets)
        .map(|r| r.secrets)
        .unwrap_or_default();
    move |t: &str| ring::mask(t, &secrets)
}

fn masked_json(mask: &impl Fn(&str) -> String, v: Value) -> Value {
    serde_json::from_str(&mask(&v.to_string())).unwrap_or(v)
}

fn masked_outcome(mask: &impl Fn(&str) -> String, out: ToolCallOutcome) -> ToolCallOutcome {
    ToolCallOutcome {
        is_error: out.is_error,
        text: mask(&out.text),
        result: masked_json(mask, out.result),
    }
}
