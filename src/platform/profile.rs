//! What a backend can do, learned once on first contact and kept as data.
//!
//! The embedded platform and `aacon serve` can do everything aacon knows;
//! a real AgentArea creates containers only, keeps no versions, allows two
//! instances with one name, treats `null` as "leave as is", never changes
//! `server_spec_id`, and has no event history, logs or tool-call routes.
//! The validator, the create templates, the detail tabs and the pollers ask
//! the profile instead of guessing.

use crate::domain::spec::{Issue, ProviderKind, Report, Severity};
use serde_json::Value;

/// Which platform is behind the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The in-process platform.
    Embedded,
    /// `aacon serve` (or a runtime host's socket): our own server.
    Aacon,
    /// AgentArea's own API.
    AgentArea,
    /// A server that did not say what it is: AgentArea's contract is assumed,
    /// and a missing route is learned from its first 404.
    Unknown,
}

/// Optional routes beyond listing and editing instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    /// `GET /v1/aacon/events`: the event history.
    pub event_history: bool,
    /// `GET …/{id}/logs`: the process's stderr tail.
    pub logs: bool,
    /// `POST …/{id}/tools/call`.
    pub tool_calls: bool,
    /// `GET …/{id}/history`: the instance's recorded tool calls.
    pub call_history: bool,
}

impl Routes {
    pub const ALL: Routes = Routes {
        event_history: true,
        logs: true,
        tool_calls: true,
        call_history: true,
    };
}

/// One optional route, for sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    EventHistory,
    Logs,
    ToolCalls,
    CallHistory,
}

/// What a backend can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendProfile {
    pub kind: BackendKind,
    /// The json_spec kinds a create may carry.
    pub creatable: Vec<ProviderKind>,
    /// Whether instances carry a configuration version (and ETags/If-Match).
    pub versions: bool,
    /// Whether the backend itself refuses a second instance with one name.
    pub unique_names: bool,
    /// Whether a PATCH with `null` clears a field.
    pub null_clears: bool,
    /// Whether a PATCH can change `server_spec_id`.
    pub server_spec_id_mutable: bool,
    pub routes: Routes,
    /// The data scope in effect (AgentArea: the token's `workspace_id` claim).
    pub workspace: Option<String>,
    /// A sentence when the workspace asked for is not the one in effect.
    pub workspace_note: Option<String>,
    /// The workspace asked for, when it is not the one in effect.
    pub workspace_mismatch: Option<String>,
    /// Time travel reads a recording of what was observed of this remote
    /// (API mode's flight recorder), not the backend's own history.
    pub recorded: bool,
}

const ALL_KINDS: [ProviderKind; 3] = [
    ProviderKind::External,
    ProviderKind::Process,
    ProviderKind::Container,
];

impl BackendProfile {
    /// Everything aacon knows how to do.
    fn full(kind: BackendKind) -> BackendProfile {
        BackendProfile {
            kind,
            creatable: ALL_KINDS.to_vec(),
            versions: true,
            unique_names: true,
            null_clears: true,
            server_spec_id_mutable: true,
            routes: Routes::ALL,
            workspace: None,
            workspace_note: None,
            workspace_mismatch: None,
            recorded: false,
        }
    }

    pub fn embedded() -> BackendProfile {
        BackendProfile::full(BackendKind::Embedded)
    }

    pub fn aacon() -> BackendProfile {
        BackendProfile::full(BackendKind::Aacon)
    }

    /// AgentArea as measured against its own code (see compat notes).
    pub fn agentarea() -> BackendProfile {
        BackendProfile {
            kind: BackendKind::AgentArea,
            creatable: vec![ProviderKind::Container],
            versions: false,
            unique_names: false,
            null_clears: false,
            server_spec_id_mutable: false,
            routes: Routes {
                event_history: false,
                logs: false,
                tool_calls: false,
                call_history: false,
            },
            workspace: None,
            workspace_note: None,
            workspace_mismatch: None,
            recorded: false,
        }
    }

    /// A server that did not identify itself: AgentArea's rules for names
    /// and patches, but creates and routes are tried (its answers decide).
    pub fn unknown() -> BackendProfile {
        BackendProfile {
            kind: BackendKind::Unknown,
            creatable: ALL_KINDS.to_vec(),
            routes: Routes::ALL,
            ..BackendProfile::agentarea()
        }
    }

    /// The profile a `/health` answer describes: `service: "aacon"` (with
    /// its `capabilities`), `service: "agentarea-api"`, or neither.
    pub fn from_health(health: &Value) -> BackendProfile {
        match health.get("service").and_then(Value::as_str) {
            Some("aacon") => {
                let mut p = BackendProfile::aacon();
                if let Some(c) = health.get("capabilities") {
                    p.apply_capabilities(c);
                }
                p
            }
            Some("agentarea-api") => BackendProfile::agentarea(),
            _ => BackendProfile::unknown(),
        }
    }

    fn apply_capabilities(&mut self, c: &Value) {
        if let Some(kinds) = c.get("creatable_kinds").and_then(Value::as_array) {
            self.creatable = kinds
                .iter()
                .filter_map(Value::as_str)
                .filter_map(super::api::wire::kind_from)
                .collect();
        }
        let flag = |v: &Value, k: &str, d: bool| v.get(k).and_then(Value::as_bool).unwrap_or(d);
        self.versions = flag(c, "versions", self.versions);
        self.unique_names = flag(c, "unique_names", self.unique_names);
        if let Some(r) = c.get("routes") {
            self.routes = Routes {
                event_history: flag(r, "event_history", true),
                logs: flag(r, "logs", true),
                tool_calls: flag(r, "tool_calls", true),
                call_history: flag(r, "call_history", true),
            };
        }
    }

    /// What `aacon serve` says about itself in `/health` and `/openapi.json`.
    pub fn capabilities_json(&self) -> Value {
        serde_json::json!({
            "creatable_kinds": self.creatable.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "versions": self.versions,
            "unique_names": self.unique_names,
            "routes": {
                "event_history": self.routes.event_history,
                "logs": self.routes.logs,
                "tool_calls": self.routes.tool_calls,
                "call_history": self.routes.call_history,
            },
        })
    }

    /// The backend's name in sentences.
    pub fn platform_name(&self) -> &'static str {
        match self.kind {
            BackendKind::Embedded => "the embedded platform",
            BackendKind::Aacon => "aacon serve",
            BackendKind::AgentArea => "AgentArea",
            BackendKind::Unknown => "the API server",
        }
    }

    pub fn can_create(&self, kind: ProviderKind) -> bool {
        self.creatable.contains(&kind)
    }

    pub fn has(&self, route: Route) -> bool {
        match route {
            Route::EventHistory => self.routes.event_history,
            Route::Logs => self.routes.logs,
            Route::ToolCalls => self.routes.tool_calls,
            Route::CallHistory => self.routes.call_history,
        }
    }

    /// Why the create picker lacks some kinds, when it does.
    pub fn why_not_creatable(&self) -> Option<String> {
        if self.creatable.len() == ALL_KINDS.len() {
            return None;
        }
        let missing: Vec<&str> = ALL_KINDS
            .iter()
            .filter(|k| !self.can_create(**k))
            .map(|k| k.as_str())
            .collect();
        Some(match self.kind {
            BackendKind::AgentArea => format!(
                "AgentArea creates containers only (a json_spec with \"image\" and \"port\"); it refuses {} specs, so those templates are not offered",
                missing.join(" and ")
            ),
            _ => format!(
                "{} cannot create {} instances, so those templates are not offered",
                self.platform_name(),
                missing.join(" or ")
            ),
        })
    }

    /// The problems that make this backend refuse a create with `spec`,
    /// found before anything is sent; empty when it will take it.
    pub fn create_issues(&self, spec: &Value) -> Vec<Issue> {
        let err = |pointer: &str, message: String| Issue {
            severity: Severity::Error,
            pointer: pointer.into(),
            message,
        };
        if self.kind == BackendKind::AgentArea {
            let mut out = Vec::new();
            match spec.get("image") {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                Some(_) => out.push(err("/image", "\"image\" must be a non-empty string".into())),
                None => out.push(err("/image", "\"image\" is missing".into())),
            }
            match spec.get("port") {
                Some(Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {}
                Some(_) => out.push(err("/port", "\"port\" must be an integer 1-65535".into())),
                None => out.push(err("/port", "\"port\" is missing".into())),
            }
            if let Some(first) = out.first_mut() {
                first.message.push_str(
                    ": AgentArea creates only containers and needs \"image\" (a non-empty string) and \"port\" (an integer 1-65535)",
                );
            }
            return out;
        }
        let kind = spec.as_object().map(ProviderKind::detect);
        match kind {
            Some(k) if !self.can_create(k) => vec![err(
                "",
                format!(
                    "{} cannot create {} instances",
                    self.platform_name(),
                    k.as_str()
                ),
            )],
            _ => Vec::new(),
        }
    }

    /// The create refusal as an error, when there is one.
    pub fn refuse_create(&self, spec: &Value) -> Option<super::PlatformError> {
        let issues = self.create_issues(spec);
        (!issues.is_empty()).then(|| {
            super::PlatformError::InvalidSpec(Report {
                kind: spec.as_object().map(ProviderKind::detect),
                issues,
            })
        })
    }

    /// Why a tab or command is empty: the backend has no such route.
    pub fn missing_route(&self, route: Route) -> String {
        let who = self.platform_name();
        match route {
            Route::EventHistory => format!(
                "{who} keeps no event history for clients; events appear here as they happen while aacon is connected (`aacon events --follow` prints them live)"
            ),
            Route::Logs => format!(
                "{who} keeps no process logs for clients (it has no logs route); the instance's last error is above"
            ),
            Route::ToolCalls => format!(
                "{who} cannot call tools (it has no tool-call route); `aacon serve` and the embedded platform can"
            ),
            Route::CallHistory => format!(
                "{who} keeps no call history (it has no history route); `aacon serve` and the embedded platform record every call"
            ),
        }
    }
}

/// Why a token's claims cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the API token is not a JWT (it does not have three dot-separated parts)")]
    NotJwt,
    #[error("the API token's claims are not base64url")]
    NotBase64,
    #[error("the API token's claims are not JSON")]
    NotJson,
}

/// The `workspace_id` claim of a JWT, read without verifying it (the server
/// verifies; this only shows what scope the token carries). `Err` says why
/// it cannot be read; `Ok(None)`: a JWT without the claim.
pub fn token_workspace(token: &str) -> Result<Option<String>, ClaimError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimError::NotJwt);
    };
    let bytes = base64url(payload).ok_or(ClaimError::NotBase64)?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| ClaimError::NotJson)?;
    Ok(match claims.get("workspace_id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Unpadded (or padded) base64url.
fn base64url(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn health_names_the_backend() {
        let aa =
            BackendProfile::from_health(&json!({"status": "healthy", "service": "agentarea-api"}));
        assert_eq!(aa.kind, BackendKind::AgentArea);
        assert_eq!(aa.creatable, vec![ProviderKind::Container]);
        assert!(!aa.routes.logs && !aa.versions);
        assert!(
            !aa.has(Route::CallHistory),
            "AgentArea keeps no call history"
        );
        assert!(BackendProfile::aacon().has(Route::CallHistory));
        let ours = BackendProfile::aacon();
        let back = BackendProfile::from_health(
            &json!({"service": "aacon", "capabilities": ours.capabilities_json()}),
        );
        assert_eq!(back, ours);
        let narrowed = BackendProfile::from_health(&json!({"service": "aacon", "capabilities": {
            "creatable_kinds": ["container"], "routes": {"logs": false, "call_history": false}}}));
        assert_eq!(narrowed.creatable, vec![ProviderKind::Container]);
        assert!(!narrowed.routes.logs && narrowed.routes.tool_calls);
        assert!(!narrowed.has(Route::CallHistory));
        assert_eq!(
            BackendProfile::from_health(&json!({"status": "ok"})).kind,
            BackendKind::Unknown
        );
    }

    #[test]
    fn agentarea_refuses_what_it_cannot_create_with_pointers() {
        let aa = BackendProfile::agentarea();
        assert!(
            aa.create_issues(&json!({"image": "x", "port": 80}))
                .is_empty()
        );
        let i = aa.create_issues(&json!({"type": "url", "endpoint": "https://h"}));
        assert_eq!(i.len(), 2, "{i:?}");
        assert_eq!(i[0].pointer, "/image");
        assert!(
            i[0].message.starts_with(
                "\"image\" is missing: AgentArea creates only containers and needs \"image\""
            ),
            "{i:?}"
        );
        assert_eq!(i[1].message, "\"port\" is missing");
        let i = aa.create_issues(&json!({"image": "x", "port": "80"}));
        assert_eq!(i[0].pointer, "/port");
        assert!(
            BackendProfile::aacon()
                .create_issues(&json!({"command": ["x"]}))
                .is_empty()
        );
        assert!(
            aa.why_not_creatable()
                .unwrap()
                .contains("external and process")
        );
        assert!(BackendProfile::embedded().why_not_creatable().is_none());
    }

    #[test]
    fn the_workspace_claim_is_read_without_verification() {
        // {"alg":"HS256"} . {"sub":"x","workspace_id":"ws-a"} . sig
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwid29ya3NwYWNlX2lkIjoid3MtYSJ9.c2ln";
        assert_eq!(token_workspace(t).unwrap().as_deref(), Some("ws-a"));
        // {"sub":"x"}
        assert_eq!(token_workspace("e30.eyJzdWIiOiJ4In0.x").unwrap(), None);
        assert!(
            token_workspace("garbage")
                .unwrap_err()
                .to_string()
                .contains("not a JWT")
        );
        assert!(
            token_workspace("a.!!.c")
                .unwrap_err()
                .to_string()
                .contains("base64url")
        );
    }
}
