//! The runtime host's local socket (`runtime.sock` in the data dir,
//! owner-only): the host serves `aacon serve`'s REST API on it
//! ([`crate::serve::unix`]), so the other aacon processes of the data dir
//! reach the sessions it runs — e.g. `aacon tools call` typed in a shell
//! calls a tool on a stdio server a console started ([`SocketSessions`]).

use crate::domain::{Instance, Probe};
use crate::platform::api::{ApiOptions, ApiPlatform};
use crate::platform::{
    CallControl, McpOp, Platform, PlatformError, ToolCallResult, ToolError, ToolSessions,
};
use crate::runtime::RuntimeConfig;
use async_trait::async_trait;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use uuid::Uuid;

/// Bind the socket and serve the platform's API on it until the task is
/// aborted (only the runtime lock holder calls this).
pub fn start(
    platform: Arc<dyn Platform>,
    path: &Path,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    crate::serve::unix::listen(path, crate::serve::local_router(platform))
}

/// Whether a runtime host listens on `path` (connecting to a Unix socket
/// answers at once: a listener, or not).
pub fn listening(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// An API client for the runtime host on `path`. Its timeout leaves room
/// for the slowest tool call the host allows.
pub fn client(path: &Path) -> Option<ApiPlatform> {
    let timeout = RuntimeConfig::default().call_timeout + Duration::from_secs(5);
    ApiPlatform::new(ApiOptions::runtime_host(path, timeout)).ok()
}

/// The pid of the runtime host serving on `path`, if one answers.
pub async fn host_pid(path: &Path) -> Option<u32> {
    if !listening(path) {
        return None;
    }
    let health = client(path)?.health().await.ok()?;
    health
        .get("pid")
        .and_then(serde_json::Value::as_u64)
        .and_then(|p| u32::try_from(p).ok())
}

/// The sessions of the data dir's runtime host when it is another process,
/// reached over its socket (the client is built on first use).
pub struct SocketSessions {
    path: PathBuf,
    api: OnceLock<Option<ApiPlatform>>,
}

impl SocketSessions {
    pub fn new(path: PathBuf) -> SocketSessions {
        SocketSessions {
            path,
            api: OnceLock::new(),
        }
    }

    fn api(&self) -> Result<&ApiPlatform, PlatformError> {
        self.api
            .get_or_init(|| client(&self.path))
            .as_ref()
            .ok_or_else(|| {
                PlatformError::Unavailable(format!(
                    "cannot reach the runtime host on {}",
                    self.path.display()
                ))
            })
    }
}

#[async_trait]
impl ToolSessions for SocketSessions {
    fn available(&self) -> bool {
        listening(&self.path) && self.api().is_ok()
    }

    async fn call_tool(
        &self,
        inst: &Instance,
        tool: &str,
        args: Value,
        ctl: &CallControl,
    ) -> Result<ToolCallResult, ToolError> {
        // The host runs the call; cancelling drops the request, and the
        // host cancels the call when its caller is gone.
        Ok(self
            .api()?
            .call_tool_watched(inst.id, tool, args, ctl.clone())
            .await?)
    }

    async fn mcp(&self, inst: &Instance, op: McpOp) -> Result<Value, ToolError> {
        Ok(self.api()?.mcp(inst.id, op).await?)
    }

    async fn logs(
        &self,
        id: Uuid,
        after: Option<u64>,
    ) -> Result<crate::platform::LogPage, PlatformError> {
        self.api()?.logs(id, after).await
    }

    async fn probes(&self) -> Result<Vec<Probe>, PlatformError> {
        self.api()?.probes().await
    }
}
