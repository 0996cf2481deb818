//! What a server asks of this client, and the progress of the calls it
//! answers: `elicitation/create` goes to whoever can answer the call in
//! flight (the console's form, the CLI's terminal) or is declined,
//! `sampling/createMessage` is declined (aacon has no language model),
//! `roots/list` answers the instance's `cwd` and declared roots, and
//! `notifications/progress` reaches the call it belongs to. One
//! [`ClientRequests`] per session, held by its client handler.

#![expect(
    deprecated,
    reason = "roots and sampling are how servers before protocol 2026-07-28 ask"
)]

use crate::platform::{CallControl, CallProgress, ElicitAnswer, ElicitRequest, Elicitor};
use rmcp::ErrorData as McpError;
use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, FormElicitationCapability, Implementation,
    ListRootsResult, ProgressNotificationParam, ProgressToken, Root, RootsCapabilities,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The sentence a server gets for `sampling/createMessage`.
pub const NO_SAMPLING: &str = "aacon has no language model; sampling is declined";

/// The sentence a server gets when an elicitation comes during a call
/// nobody can answer (one from `aacon serve`, the API or a CLI without a
/// terminal), or outside any call.
pub const NOBODY_TO_ASK: &str = "aacon declines this elicitation: no operator can answer it for this call (it came through aacon serve, the API, or a command without a terminal)";

/// What a session's server can ask of this client.
#[derive(Clone, Default)]
pub struct ClientRequests(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// Whether an answer can be given (declared in initialize).
    elicitation: bool,
    roots: Vec<Root>,
    next: AtomicU64,
    /// The calls in flight, oldest first.
    calls: Mutex<Vec<Active>>,
}

struct Active {
    n: u64,
    /// Known once the request is sent (rmcp gives each request its own).
    token: Option<ProgressToken>,
    instance: String,
    tool: String,
    ctl: CallControl,
}

impl std::fmt::Debug for ClientRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRequests")
            .field("elicitation", &self.0.elicitation)
            .field("roots", &self.0.roots.len())
            .finish()
    }
}

/// `file://` URI of a path (absolute; percent-encoded by `url`).
fn file_uri(p: &Path) -> Option<String> {
    url::Url::from_file_path(p).ok().map(String::from)
}

impl ClientRequests {
    /// For a session whose server runs in `cwd` with `declared` roots (the
    /// json_spec's `roots`, relative ones under `cwd`); `elicitation`:
    /// whether this process can put an elicitation before an operator.
    pub fn new(cwd: Option<&Path>, declared: &[PathBuf], elicitation: bool) -> ClientRequests {
        let mut roots: Vec<Root> = Vec::new();
        let mut push = |p: PathBuf, name: String| {
            let p = match (p.is_absolute(), cwd) {
                (true, _) => p,
                (false, Some(c)) => c.join(p),
                (false, None) => std::env::current_dir().unwrap_or_default().join(p),
            };
            if let Some(uri) = file_uri(&p)
                && !roots.iter().any(|r| r.uri == uri)
            {
                roots.push(Root::new(uri).with_name(name));
            }
        };
        if let Some(c) = cwd {
            push(c.to_path_buf(), "cwd".into());
        }
        for d in declared {
            push(d.clone(), d.display().to_string());
        }
        ClientRequests(Arc::new(Inner {
            elicitation,
            roots,
            ..Inner::default()
        }))
    }

    /// For an instance's session: its json_spec's `cwd` and `roots` (an
    /// array of paths; a spec the validator refused gives what it can).
    pub fn for_spec(
        spec: &serde_json::Map<String, serde_json::Value>,
        elicitation: bool,
    ) -> ClientRequests {
        let cwd = spec.get("cwd").and_then(|v| v.as_str()).map(PathBuf::from);
        let declared: Vec<PathBuf> = spec
            .get("roots")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        ClientRequests::new(cwd.as_deref(), &declared, elicitation)
    }

    /// What this client declares in initialize: roots always, elicitation
    /// only where an answer can be given; never sampling.
    pub fn client_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.roots = Some(RootsCapabilities::default());
        if self.0.elicitation {
            let mut e = ElicitationCapability::default();
            e.form = Some(FormElicitationCapability::default().with_schema_validation(true));
            caps.elicitation = Some(e);
        }
        ClientConfig::new(
            caps,
            Implementation::new("aacon", env!("CARGO_PKG_VERSION")),
        )
    }

    /// A call of `tool` on `instance` runs under `ctl` until the returned
    /// guard is dropped. Watched before it is sent, so an elicitation that
    /// comes at once finds it; its progress token follows ([`Watch::sent`]).
    pub fn watch(&self, instance: &str, tool: &str, ctl: &CallControl) -> Watch {
        let n = self.0.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut calls) = self.0.calls.lock() {
            calls.push(Active {
                n,
                token: None,
                instance: instance.to_string(),
                tool: tool.to_string(),
                ctl: ctl.clone(),
            });
        }
        Watch {
            requests: self.clone(),
            n,
        }
    }

    /// `notifications/progress`: to the call it names.
    pub fn progress(&self, p: ProgressNotificationParam) {
        let Ok(calls) = self.0.calls.lock() else {
            return;
        };
        if let Some(c) = calls
            .iter()
            .find(|c| c.token.as_ref() == Some(&p.progress_token))
        {
            c.ctl.report(CallProgress {
                progress: p.progress,
                total: p.total,
                message: p.message,
            });
        }
    }

    /// `roots/list`.
    pub fn roots(&self) -> ListRootsResult {
        ListRootsResult::new(self.0.roots.clone())
    }

    /// `sampling/createMessage`: declined with a sentence the server can show.
    pub fn sampling(&self) -> Result<CreateMessageResult, McpError> {
        Err(McpError::invalid_request(NO_SAMPLING, None))
    }

    /// `elicitation/create`: asked of the newest call in flight (a server
    /// asks during the call it is serving; the protocol does not say which
    /// when several run at once), declined when it cannot be answered.
    pub async fn elicit(&self, params: ElicitRequestParams) -> Result<ElicitResult, McpError> {
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = params
        else {
            // URL mode: aacon opens no browser for a server.
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let asked = self.0.calls.lock().ok().and_then(|calls| {
            calls
                .iter()
                .max_by_key(|c| c.n)
                .map(|c| (c.instance.clone(), c.tool.clone(), c.ctl.elicit.clone()))
        });
        let Some((instance, tool, Some(who))) = asked else {
            return Err(McpError::invalid_request(NOBODY_TO_ASK, None));
        };
        let schema = serde_json::to_value(&requested_schema).unwrap_or_default();
        let answer = who
            .elicit(ElicitRequest {
                instance,
                tool,
                message,
                schema,
            })
            .await;
        // What was answered is not logged: a field may hold a secret.
        Ok(match answer {
            ElicitAnswer::Accept(content) => ElicitResult::new(ElicitationAction::Accept)
                .with_content(serde_json::Value::Object(content)),
            ElicitAnswer::Decline => ElicitResult::new(ElicitationAction::Decline),
            ElicitAnswer::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
    }

    fn forget(&self, n: u64) {
        if let Ok(mut calls) = self.0.calls.lock() {
            calls.retain(|c| c.n != n);
        }
    }
}

/// A call watched by a session's [`ClientRequests`]; dropping it ends the
/// watch.
pub struct Watch {
    requests: ClientRequests,
    n: u64,
}

impl Watch {
    /// The request went out with progress `token`.
    pub fn sent(&self, token: ProgressToken) {
        if let Ok(mut calls) = self.requests.0.calls.lock()
            && let Some(c) = calls.iter_mut().find(|c| c.n == self.n)
        {
            c.token = Some(token);
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.requests.forget(self.n);
    }
}

/// An elicitor that answers the same each time (tests, a scripted caller).
pub struct Fixed(pub ElicitAnswer);

#[async_trait::async_trait]
impl Elicitor for Fixed {
    async fn elicit(&self, _request: ElicitRequest) -> ElicitAnswer {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_the_cwd_and_declared_paths_as_file_uris_once_each() {
        let r = ClientRequests::new(
            Some(Path::new("/srv/app")),
            &[
                PathBuf::from("data"),
                PathBuf::from("/etc/x"),
                PathBuf::from("/srv/app"),
            ],
            false,
        );
        let uris: Vec<String> = r.roots().roots.into_iter().map(|r| r.uri).collect();
        assert_eq!(
            uris,
            ["file:///srv/app", "file:///srv/app/data", "file:///etc/x"]
        );
        let info = serde_json::to_value(r.client_info()).unwrap();
        assert!(info["capabilities"].get("roots").is_some());
        assert!(info["capabilities"].get("elicitation").is_none(), "{info}");
        assert!(info["capabilities"].get("sampling").is_none());
        let info =
            serde_json::to_value(ClientRequests::new(None, &[], true).client_info()).unwrap();
        assert!(info["capabilities"].get("elicitation").is_some());
        assert_eq!(info["clientInfo"]["name"], "aacon");
    }

    #[test]
    fn sampling_is_declined_with_a_sentence() {
        let e = ClientRequests::default().sampling().unwrap_err();
        assert_eq!(e.message, NO_SAMPLING);
    }
}
