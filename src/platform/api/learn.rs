//! What the remote is, learned once: `/health` names `aacon` (with its
//! capabilities) or AgentArea; a route found missing by a 404 is remembered,
//! so it is asked once, not every second. The workspace in effect is the
//! token's `workspace_id` claim (AgentArea scopes by it, not by the header).

use super::{ApiPlatform, clean};
use crate::platform::BackendProfile;
use crate::platform::profile::{BackendKind, Route};

impl ApiPlatform {
    /// Keep what a `/health` answer read elsewhere says (doctor reads it for
    /// its own line), so learning the profile does not ask again.
    pub fn learned_from_health(&self, health: &serde_json::Value) {
        let _ = self.profile.set(BackendProfile::from_health(health));
    }

    /// The profile: asked once; until an answer arrives (the server is
    /// down), AgentArea's contract with every route tried.
    pub async fn learn_profile(&self) -> BackendProfile {
        let mut p = match self.profile.get() {
            Some(p) => p.clone(),
            None => match self.health().await {
                Ok(h) => {
                    let p = BackendProfile::from_health(&h);
                    tracing::info!(kind = ?p.kind, "learned what the API server is");
                    let _ = self.profile.set(p.clone());
                    p
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the API server's /health did not answer; its profile is unknown for now");
                    BackendProfile::unknown()
                }
            },
        };
        if let Ok(m) = self.missing.lock() {
            p.routes.event_history &= m.event_history;
            p.routes.logs &= m.logs;
            p.routes.tool_calls &= m.tool_calls;
            p.routes.call_history &= m.call_history;
        }
        let (workspace, note) = self.workspace_in_effect(p.kind);
        p.workspace_mismatch = self
            .asked_workspace
            .as_deref()
            .map(clean)
            .filter(|a| workspace.as_ref().is_some_and(|w| w != a));
        p.workspace = workspace;
        p.workspace_note = note;
        p.recorded = self.has_recording();
        p
    }

    /// Remember that the server has no such route.
    pub(super) fn route_missing(&self, route: Route) {
        if let Ok(mut m) = self.missing.lock() {
            match route {
                Route::EventHistory => m.event_history = false,
                Route::Logs => m.logs = false,
                Route::ToolCalls => m.tool_calls = false,
                Route::CallHistory => m.call_history = false,
            }
        }
    }

    /// Whether `route` is known to be missing (no request needed), with
    /// the sentence that says so.
    pub(super) async fn lacks(&self, route: Route) -> Option<String> {
        let p = self.learn_profile().await;
        (!p.has(route)).then(|| p.missing_route(route))
    }

    /// The workspace whose data this client sees, and a sentence when the
    /// one asked for differs or the token cannot carry one.
    fn workspace_in_effect(&self, kind: BackendKind) -> (Option<String>, Option<String>) {
        let asked = self.asked_workspace.as_deref().map(clean);
        // Our own server does not scope by workspace; its tokens are opaque.
        if matches!(kind, BackendKind::Aacon | BackendKind::Embedded) {
            return (asked, None);
        }
        match &self.token_claim {
            None => (asked, None),
            Some(Err(why)) => (
                None,
                Some(format!(
                    "{why}; AgentArea reads the workspace from the token's workspace_id claim"
                )),
            ),
            Some(Ok(None)) => (
                None,
                Some(
                    "the API token carries no workspace_id claim; AgentArea scopes data by that claim and refuses such a token"
                        .into(),
                ),
            ),
            Some(Ok(Some(claim))) => {
                let claim = clean(claim);
                let note = asked.as_ref().filter(|a| **a != claim).map(|a| {
                    format!(
                        "the workspace asked for ('{a}', from --workspace or AACON_WORKSPACE) is not the token's ('{claim}'); AgentArea scopes data by the token, so this shows workspace '{claim}'"
                    )
                });
                (Some(claim), note)
            }
        }
    }
}
