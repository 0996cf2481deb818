//! Performing the console's [`Command`]s: each as a task whose result comes
//! back as a [`Msg`].

use super::*;
use crate::platform::{CallControl, ElicitAnswer, ElicitRequest, Elicitor};
use crate::tui::app::{DraftFailure, ElicitReply, TaskError};
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What commands need to run.
pub(super) struct Io {
    /// Where `:ctx NAME` delivers the new platform.
    pub(super) switch: mpsc::UnboundedSender<Switched>,
    /// The platform the console started on and its context's name.
    pub(super) start_platform: Arc<dyn Platform>,
    pub(super) start_name: String,
    pub(super) platform: Arc<dyn Platform>,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
    pub(super) opts: ConsoleOptions,
    pub(super) drafts: Option<Arc<Drafts>>,
    /// Whether the output is a real terminal (for OSC 52 copy).
    pub(super) osc52: bool,
    /// The tool calls in flight, by number: their cancel tokens.
    pub(super) calls: Arc<std::sync::Mutex<HashMap<u64, CancellationToken>>>,
}

/// Puts a server's elicitation before the operator: a [`Msg::Elicit`] with
/// a reply channel; the answer is awaited here, never on the UI thread.
struct ConsoleElicitor {
    id: Uuid,
    tx: mpsc::UnboundedSender<Msg>,
}

#[async_trait::async_trait]
impl Elicitor for ConsoleElicitor {
    async fn elicit(&self, request: ElicitRequest) -> ElicitAnswer {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let msg = Msg::Elicit {
            id: self.id,
            request,
            reply: ElicitReply::new(reply),
        };
        if self.tx.send(msg).is_err() {
            return ElicitAnswer::Cancel;
        }
        // The form dropped unanswered (the console quit): cancel.
        answer.await.unwrap_or(ElicitAnswer::Cancel)
    }
}

/// Standard base64 with padding (for OSC 52).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Run commands as tasks; results come back on `tx`.
pub(super) fn perform(cmds: Vec<Command>, io: &Io) {
    for cmd in cmds {
        let p = io.platform.clone();
        let tx = io.tx.clone();
        let opts = &io.opts;
        match cmd {
            Command::Quit => {}
            Command::SwitchContext(name) => {
                let switch = io.switch.clone();
                if name == io.start_name {
                    let _ = switch.send((name, Ok(io.start_platform.clone())));
                    continue;
                }
                let Some(connect) = io.opts.connector.clone() else {
                    let _ = switch.send((name, Err(ContextError::CannotSwitch)));
                    continue;
                };
                tokio::spawn(async move {
                    let r = (connect.0)(name.clone()).await;
                    let _ = switch.send((name, r));
                });
            }
            Command::Reload => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Loaded(p.list().await));
                });
            }
            Command::LoadTools(id) => {
                tokio::spawn(async move {
                    let result = p.tools(id).await;
                    let _ = tx.send(Msg::ToolsLoaded { id, result });
                });
            }
            Command::CallTool {
                id,
                tool,
                args,
                call,
            } => {
                let (ptx, mut prx) = mpsc::unbounded_channel();
                let ctl = CallControl {
                    progress: Some(ptx),
                    elicit: Some(Arc::new(ConsoleElicitor { id, tx: tx.clone() })),
                    ..CallControl::default()
                };
                if let Ok(mut calls) = io.calls.lock() {
                    calls.insert(call, ctl.cancel.clone());
                }
                let calls = io.calls.clone();
                let progress_tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(progress) = prx.recv().await {
                        let _ = progress_tx.send(Msg::CallProgress { id, call, progress });
                    }
                });
                tokio::spawn(async move {
                    let result = p.call_tool_watched(id, &tool, args, ctl).await;
                    if let Ok(mut calls) = calls.lock() {
                        calls.remove(&call);
                    }
                    let _ = tx.send(Msg::ToolCalled { id, result });
                });
            }
            Command::CancelCall(call) => {
                if let Some(token) = io.calls.lock().ok().and_then(|c| c.get(&call).cloned()) {
                    token.cancel();
                }
            }
            Command::Mcp { id, op } => {
                tokio::spawn(async move {
                    let result = p.mcp(id, op.clone()).await;
                    let _ = tx.send(Msg::Mcp { id, op, result });
                });
            }
            Command::SaveBytes {
                file,
                bytes,
                summary,
            } => write_dump(&opts.data_dir, file, bytes, summary, tx),
            Command::ReadStream => {
                tokio::spawn(async move {
                    let r = p.read_stream().await.map_err(TaskError::Platform);
                    let _ = tx.send(Msg::Notice(r));
                });
            }
            Command::LoadProbes => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Probes(p.probes().await));
                });
            }
            Command::LoadHosting(id) => {
                tokio::spawn(async move {
                    let result = p.hosting(id).await;
                    let _ = tx.send(Msg::Hosting { id, result });
                });
            }
            Command::LoadCalls(id) => {
                tokio::spawn(async move {
                    let result = p.history(id, crate::tui::app::HISTORY_ROWS).await;
                    let _ = tx.send(Msg::Calls { id, result });
                });
            }
            Command::LoadCall { id, call } => {
                tokio::spawn(async move {
                    let result = p.history_call(id, call).await;
                    let _ = tx.send(Msg::Call { id, result });
                });
            }
            Command::LoadLogs { id, after } => {
                tokio::spawn(async move {
                    let result = p.logs(id, after).await;
                    let _ = tx.send(Msg::LogsLoaded { id, result });
                });
            }
            Command::Incident { id, name, from, to } => {
                let Some(write) = opts.incident.clone() else {
                    let why = if opts.replay.is_some() {
                        "a replay writes no incident bundle: its file is one already"
                    } else {
                        "this console cannot write incident bundles"
                    };
                    let _ = tx.send(Msg::Notice(Err(TaskError::Platform(
                        crate::platform::PlatformError::Unavailable(why.into()),
                    ))));
                    continue;
                };
                tokio::spawn(async move {
                    let r = (write.0)(p, id, from, to).await.map_err(|e| {
                        TaskError::Platform(crate::platform::PlatformError::Unavailable(format!(
                            "no incident bundle of {} written: {e}",
                            crate::domain::text::shown(&name)
                        )))
                    });
                    let _ = tx.send(Msg::Notice(r));
                });
            }
            Command::OpenMoment(at) => {
                tokio::spawn(async move {
                    let result = p.state_at(at).await.map(Some);
                    let _ = tx.send(Msg::Moment {
                        ask: crate::tui::app::Ask::At,
                        result,
                    });
                });
            }
            Command::StepMoment {
                at,
                forward,
                visible,
            } => {
                tokio::spawn(async move {
                    let (ask, result) = if forward {
                        let now = chrono::Utc::now();
                        let r = crate::tui::timetravel::step_forward(p.as_ref(), at, &visible, now);
                        (crate::tui::app::Ask::Forward, r.await)
                    } else {
                        let r = crate::tui::timetravel::step_back(p.as_ref(), at, &visible);
                        (crate::tui::app::Ask::Back, r.await)
                    };
                    let _ = tx.send(Msg::Moment { ask, result });
                });
            }
            Command::LoadProfile => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Profile(p.profile().await));
                });
            }
            Command::LoadHistory(id) => {
                tokio::spawn(async move {
                    let result = p
                        .events(EventQuery {
                            instance: Some(id),
                            since: None,
                            limit: Some(500),
                        })
                        .await;
                    let _ = tx.send(Msg::History { id, result });
                });
            }
            Command::LoadRecentEvents => {
                tokio::spawn(async move {
                    // A platform without a history (AgentArea) has none to
                    // load: not an error; the events view says why it is empty.
                    if !p
                        .profile()
                        .await
                        .has(crate::platform::profile::Route::EventHistory)
                    {
                        let _ = tx.send(Msg::RecentEvents(Ok(Vec::new())));
                        return;
                    }
                    let r = p
                        .events(EventQuery {
                            instance: None,
                            since: None,
                            limit: Some(1000),
                        })
                        .await;
                    let _ = tx.send(Msg::RecentEvents(r));
                });
            }
            Command::Start(ids)
            | Command::Stop(ids)
            | Command::Restart(ids)
            | Command::Delete(ids)
                if ids.is_empty() =>
            {
                let _ = tx.send(Msg::Done(Err(TaskError::NothingSelected)));
            }
            Command::Start(ids) => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Done(
                        bulk("start", ids, |id| {
                            let p = p.clone();
                            async move { p.start(id).await.map(|o| (o.instance.name, o.message)) }
                        })
                        .await,
                    ));
                });
            }
            Command::Stop(ids) => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Done(
                        bulk("stop", ids, |id| {
                            let p = p.clone();
                            async move { p.stop(id).await.map(|o| (o.instance.name, o.message)) }
                        })
                        .await,
                    ));
                });
            }
            Command::Restart(ids) => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Done(
                        bulk("restart", ids, |id| {
                            let p = p.clone();
                            async move { p.restart(id).await.map(|o| (o.instance.name, o.message)) }
                        })
                        .await,
                    ));
                });
            }
            Command::Delete(ids) => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Done(
                        bulk("delete", ids, |id| {
                            let p = p.clone();
                            async move { stop_then_delete(p.as_ref(), id).await }
                        })
                        .await,
                    ));
                });
            }
            Command::Create(new) => {
                tokio::spawn(async move {
                    let r = crate::platform::readback::create(p.as_ref(), new).await;
                    let _ = tx.send(Msg::Saved(r));
                });
            }
            Command::Update {
                id,
                mut patch,
                expect,
                unredact_from_stored,
            } => {
                tokio::spawn(async move {
                    if unredact_from_stored && let Some(spec) = patch.json_spec.as_mut() {
                        match p.get(&id.to_string()).await {
                            Ok(cur) => unredact(spec, &Value::Object(cur.json_spec)),
                            Err(e) => {
                                let _ = tx.send(Msg::Saved(Err(e)));
                                return;
                            }
                        }
                    }
                    let r = crate::platform::readback::update(
                        p.as_ref(),
                        id,
                        patch,
                        Some(expect),
                        None,
                    )
                    .await;
                    let _ = tx.send(Msg::Saved(r));
                });
            }
            Command::FetchForEdit(id) => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::EditTarget(p.get(&id.to_string()).await));
                });
            }
            Command::FetchTheirs(id) => {
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Theirs(p.get(&id.to_string()).await));
                });
            }
            Command::Copy(text) => {
                if io.osc52 {
                    use std::io::Write;
                    let mut out = io::stdout();
                    let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
                    let _ = out.flush();
                }
            }
            Command::Dump {
                file,
                contents,
                summary,
            } => write_dump(&opts.data_dir, file, contents.into_bytes(), summary, tx),
            Command::LoadDrafts => {
                if let Some(d) = io.drafts.clone() {
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.send(Msg::Drafts(d.list()));
                    });
                }
            }
            Command::SaveDraft(draft) => {
                if let Some(d) = io.drafts.clone() {
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = d.save(&draft) {
                            let _ = tx.send(Msg::DraftFailed(DraftFailure::NotSaved(e)));
                        }
                    });
                }
            }
            Command::RemoveDraft(key) => {
                if let Some(d) = io.drafts.clone() {
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = d.remove(&key) {
                            let _ = tx.send(Msg::DraftFailed(DraftFailure::NotRemoved(e)));
                        }
                    });
                }
            }
            Command::LoadTheme(name) => {
                let opts = opts.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::ThemeLoaded(load_theme(&name, &opts)));
                });
            }
            Command::LoadKeymap(name) => {
                let opts = opts.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::KeymapLoaded(load_keymap(&name, &opts)));
                });
            }
        }
    }
}

/// Run one call per id; one sentence for all of them.
/// Write `bytes` to `dumps/<file>` in the data dir off the UI thread; the
/// toast says `summary` and where (or why not).
fn write_dump(
    data_dir: &std::path::Path,
    file: String,
    bytes: Vec<u8>,
    summary: String,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let dir = DataDir::new(data_dir).root().join("dumps");
    tokio::task::spawn_blocking(move || {
        let path = dir.join(file);
        let r = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&path, bytes))
            .map(|_| format!("wrote {summary} to {}", path.display()))
            .map_err(|source| TaskError::Write {
                path: path.display().to_string(),
                source,
            });
        let _ = tx.send(Msg::Notice(r));
    });
}

async fn bulk<F, Fut>(
    verb: &'static str,
    ids: Vec<uuid::Uuid>,
    call: F,
) -> Result<String, TaskError>
where
    F: Fn(uuid::Uuid) -> Fut,
    Fut: futures::Future<Output = crate::platform::Result<(String, String)>>,
{
    let total = ids.len();
    let mut failed = Vec::new();
    let mut last = (String::new(), String::new());
    for id in ids {
        match call(id).await {
            Ok(r) => last = r,
            Err(e) => failed.push(e),
        }
    }
    let done = total - failed.len();
    let n = failed.len();
    match (failed.into_iter().next(), total) {
        (None, 1) => {
            let (name, message) = last;
            Ok(if !message.is_empty() {
                message
            } else if name.is_empty() {
                format!("{verb}: done")
            } else {
                format!("{verb} {name}: done")
            })
        }
        (None, _) => Ok(format!("{verb}: {} done", plural(done, "instance"))),
        (Some(first), 1) => Err(TaskError::Failed { verb, first }),
        (Some(first), _) => Err(TaskError::SomeFailed {
            verb,
            failed: n,
            total,
            first,
        }),
    }
}

/// Whether an instance runs, or is meant to: a delete stops it first.
fn runs(i: &crate::domain::Instance) -> bool {
    use crate::domain::{DesiredState, Status};
    i.desired_state == DesiredState::Running
        || matches!(
            i.status,
            Status::Validating | Status::Starting | Status::Running | Status::Unhealthy
        )
}

/// Delete one instance as the confirmation says: one that runs is stopped
/// first, and deleted only once the platform answered the stop; a stop that
/// fails leaves it in place. Returns its name and the sentence for a toast.
pub async fn stop_then_delete(
    p: &dyn Platform,
    id: uuid::Uuid,
) -> crate::platform::Result<(String, String)> {
    let current = p.get(&id.to_string()).await?;
    let name = current.name.clone();
    let stopped = if runs(&current) {
        p.stop(id).await.map_err(|e| {
            crate::platform::PlatformError::Unavailable(format!(
                "'{name}' was not deleted: stopping it first failed: {e}"
            ))
        })?;
        true
    } else {
        false
    };
    p.delete(id).await?;
    let message = if stopped {
        format!("stopped {name}, then deleted it")
    } else {
        format!("deleted {name}")
    };
    Ok((name, message))
}
