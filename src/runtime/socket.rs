//! The runtime host's local socket (`runtime.sock` in the data dir,
//! owner-only): the host serves `aacon serve`'s REST API on it
//! ([`crate::serve::unix`]), so the other aacon processes of the data dir
//! reach the sessions it runs — e.g. `aacon tools call` typed in a shell
//! calls a tool on a stdio server a console started.

use super::Shared;
use crate::platform::Platform;
use crate::platform::api::{ApiOptions, ApiPlatform};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Bind the socket and serve the platform's API on it until the task is
/// aborted (only the runtime lock holder calls this).
pub(super) fn start(
    shared: Arc<Shared>,
    path: PathBuf,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let platform: Arc<dyn Platform> = shared.platform.clone();
    crate::serve::unix::listen(&path, crate::serve::local_router(platform))
}

/// Whether a runtime host listens on `path` (connecting to a Unix socket
/// answers at once: a listener, or not).
pub fn listening(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// An API client for the runtime host on `path`. Its timeout leaves room
/// for the slowest tool call the host allows.
pub fn client(path: &Path) -> Option<ApiPlatform> {
    let timeout = super::RuntimeConfig::default().call_timeout + Duration::from_secs(5);
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
