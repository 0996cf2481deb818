//! The serve API on a Unix socket: how the runtime host (the console or
//! `aacon serve` holding `runtime.lock`) answers the other aacon processes
//! of its data dir on `runtime.sock`. The file is owner-only and every
//! peer's uid is checked, so no token is needed.

use axum::Router;
use axum::serve::Listener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream, unix::SocketAddr};

/// A Unix listener that drops connections from other users.
struct SameUser {
    inner: UnixListener,
    uid: u32,
}

impl Listener for SameUser {
    type Io = UnixStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (UnixStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => match stream.peer_cred() {
                    Ok(cred) if cred.uid() == self.uid => return (stream, addr),
                    Ok(cred) => {
                        tracing::warn!(
                            uid = cred.uid(),
                            "runtime socket: refused a connection from another user"
                        );
                    }
                    Err(e) => tracing::debug!(error = %e, "runtime socket: no peer credentials"),
                },
                Err(e) => {
                    tracing::debug!(error = %e, "runtime socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Bind `path` (replacing a stale file: only the runtime lock holder calls
/// this), make it owner-only and serve `router` until the task is aborted.
pub fn listen(path: &Path, router: Router) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let inner = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let listener = SameUser { inner, uid };
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "runtime socket stopped");
        }
    }))
}
