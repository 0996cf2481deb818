//! The runtime host's local socket (`runtime.sock` in the data dir,
//! owner-only): other aacon processes on this machine reach the sessions
//! this host runs, e.g. `aacon tools call` on a stdio server a console
//! started.
//!
//! Protocol: one JSON request line, one JSON answer line per connection.
//! `{"op": "call_tool", "instance": ID, "tool": NAME, "args": {…}}` →
//! `{"ok": true, "result": ToolCallOutcome}` or
//! `{"ok": false, "error": SENTENCE, "not_running": bool}`;
//! `{"op": "stderr", "instance": ID}` → `{"ok": true, "lines": […]}`;
//! `{"op": "ping"}` → `{"ok": true, "pid": N}`.
//! When `aacon serve`'s REST router lands, it can be mounted here too.

use super::{Shared, ToolCallOutcome};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use uuid::Uuid;

/// Largest request line accepted.
const MAX_REQUEST: usize = 4 * 1024 * 1024;

/// Bind the socket (replacing a stale file: only the lock holder calls
/// this) and serve until the task is aborted.
pub(super) fn start(
    shared: Arc<Shared>,
    path: PathBuf,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(&shared, stream).await {
                    tracing::debug!(error = %e, "runtime socket client failed");
                }
            });
        }
    }))
}

async fn answer(shared: &Shared, stream: UnixStream) -> std::io::Result<()> {
    // Same user only (the file mode already says so; check the peer too).
    let uid = unsafe_uid();
    if let Ok(cred) = stream.peer_cred()
        && cred.uid() != uid
    {
        return Ok(());
    }
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(rd).take(MAX_REQUEST as u64);
    tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
        .await
        .map_err(|_| std::io::Error::other("no request within 10s"))??;
    let reply = match serde_json::from_str::<Value>(&line) {
        Ok(req) => handle(shared, &req).await,
        Err(e) => json!({"ok": false, "error": format!("the request is not JSON: {e}")}),
    };
    wr.write_all(format!("{reply}\n").as_bytes()).await?;
    wr.shutdown().await
}

fn unsafe_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn instance(req: &Value) -> Result<Uuid, Value> {
    req.get("instance")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| json!({"ok": false, "error": "the request names no instance id"}))
}

async fn handle(shared: &Shared, req: &Value) -> Value {
    match req.get("op").and_then(Value::as_str) {
        Some("ping") => json!({"ok": true, "pid": std::process::id()}),
        Some("stderr") => match instance(req) {
            Ok(id) => json!({"ok": true, "lines": shared.stderr_lines(id)}),
            Err(e) => e,
        },
        Some("call_tool") => {
            let id = match instance(req) {
                Ok(id) => id,
                Err(e) => return e,
            };
            let tool = req.get("tool").and_then(Value::as_str).unwrap_or("");
            let args = req.get("args").cloned().unwrap_or_else(|| json!({}));
            match shared.call_tool(id, tool, args).await {
                Ok(out) => json!({"ok": true, "result": out}),
                Err(CallError::NotRunning(e)) => {
                    json!({"ok": false, "error": e, "not_running": true})
                }
                Err(CallError::Failed(e)) => json!({"ok": false, "error": e}),
            }
        }
        _ => json!({"ok": false, "error": "unknown op; expected ping, stderr or call_tool"}),
    }
}

/// Why a call through the runtime failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The instance has no live session in this runtime.
    NotRunning(String),
    /// The call itself failed (bad arguments, the server's error, a timeout).
    Failed(String),
}

async fn request(path: &Path, req: &Value, timeout: Duration) -> Result<Option<Value>, String> {
    let stream = match UnixStream::connect(path).await {
        Ok(s) => s,
        // No host (no socket, or a stale one): the caller goes on without.
        Err(_) => return Ok(None),
    };
    let work = async {
        let (rd, mut wr) = stream.into_split();
        wr.write_all(format!("{req}\n").as_bytes()).await?;
        let mut line = String::new();
        BufReader::new(rd).read_line(&mut line).await?;
        Ok::<_, std::io::Error>(line)
    };
    let line = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| "the runtime host did not answer in time".to_string())?
        .map_err(|e| format!("the runtime host connection failed: {e}"))?;
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|_| "the runtime host sent an unreadable answer".to_string())
}

/// Call a tool through the runtime host of the data dir whose socket is
/// `path`. `Ok(None)`: no host answers, or it does not run the instance.
pub async fn call_tool(
    path: &Path,
    id: Uuid,
    tool: &str,
    args: Value,
    timeout: Duration,
) -> Result<Option<ToolCallOutcome>, String> {
    let req = json!({"op": "call_tool", "instance": id.to_string(), "tool": tool, "args": args});
    let Some(reply) = request(path, &req, timeout).await? else {
        return Ok(None);
    };
    if reply.get("ok") == Some(&Value::Bool(true)) {
        let r = reply.get("result").cloned().unwrap_or(Value::Null);
        return Ok(Some(ToolCallOutcome {
            is_error: r.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            text: r
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            result: r.get("result").cloned().unwrap_or(Value::Null),
        }));
    }
    if reply.get("not_running") == Some(&Value::Bool(true)) {
        return Ok(None);
    }
    Err(reply
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("the runtime host refused the call")
        .to_string())
}

/// The stderr lines the runtime host of `path` keeps for an instance.
/// `Ok(None)`: no host answers.
pub async fn stderr(
    path: &Path,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<Vec<String>>, String> {
    let req = json!({"op": "stderr", "instance": id.to_string()});
    let Some(reply) = request(path, &req, timeout).await? else {
        return Ok(None);
    };
    if reply.get("ok") == Some(&Value::Bool(true)) {
        let lines = reply
            .get("lines")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Some(lines));
    }
    Err(reply
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("the runtime host refused the request")
        .to_string())
}

/// Whether a runtime host answers on `path`.
pub async fn host_pid(path: &Path) -> Option<u32> {
    request(path, &json!({"op": "ping"}), Duration::from_secs(2))
        .await
        .ok()
        .flatten()
        .and_then(|v| v.get("pid").and_then(Value::as_u64))
        .map(|p| p as u32)
}
