//! Recording calls into the history ([`crate::platform::history`]) off the
//! caller's path: a call is handed to a writer thread with its own store
//! connection, which redacts its arguments, keeps the start of its answer,
//! writes calls in batches and prunes as retention says. A failed write is
//! logged (a warning the first time) and never touches the call's answer.

use crate::domain::Instance;
use crate::paths::DataDir;
use crate::platform::history::{
    CallKind, CallOutcome, Caller, NewCall, Retention, mask_text, redact_args,
};
use crate::platform::{PlatformError, ToolError};

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// The instance's secret values (resolved references and plain values),
/// to redact from what is recorded; set by whoever opens the platform.
pub type SecretValues = Arc<dyn Fn(&Instance) -> Vec<String> + Send + Sync>;

/// The most calls one history write takes.
const BATCH: usize = 256;

/// A call as it ended, not yet redacted.
pub(super) struct Ended {
    pub inst: Instance,
    pub at: DateTime<Utc>,
    pub caller: Caller,
    pub kind: CallKind,
    pub name: String,
    pub args: Value,
    pub took: Duration,
    pub answer: Result<(Value, bool), Failure>,
}

/// Why a call got no answer: its kind and sentence.
pub(super) struct Failure {
    pub kind: &'static str,
    pub message: String,
}

impl Failure {
    pub fn of_tool(e: &ToolError) -> Failure {
        let kind = match e {
            ToolError::Argument(_) => "argument",
            ToolError::Request(_) => "request",
            ToolError::NotRunning(_) => "not running",
            ToolError::Transport(_) => "transport",
            ToolError::Server(_) => "server",
            ToolError::Timeout(_) => "timeout",
            ToolError::Cancelled(_) => "cancelled",
            ToolError::Platform(p) => return Failure::of_platform(p),
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }

    pub fn of_platform(e: &PlatformError) -> Failure {
        let kind = match e {
            PlatformError::NotFound(_) => "not found",
            PlatformError::Conflict(_) => "conflict",
            PlatformError::Invalid(_) | PlatformError::InvalidSpec(_) => "invalid",
            PlatformError::ReadOnly(_) => "read-only",
            PlatformError::Unavailable(_) => "unavailable",
            PlatformError::Internal(_) => "internal",
            PlatformError::Ambiguous(_) => "ambiguous",
            PlatformError::NotApplied(_) => "not applied",
            PlatformError::Fenced(_) => "fenced",
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }
}

/// The writer thread and what it needs.
pub(super) struct Recorder {
    tx: Mutex<Option<std_mpsc::Sender<Ended>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    pub retention: Arc<Mutex<Retention>>,
    pub secrets: Arc<OnceLock<SecretValues>>,
}

impl Recorder {
    pub fn start(dir: &DataDir, actor: &str) -> Recorder {
        let (tx, rx) = std_mpsc::channel::<Ended>();
        let retention = Arc::new(Mutex::new(Retention::default()));
        let secrets: Arc<OnceLock<SecretValues>> = Arc::new(OnceLock::new());
        let (dir, actor) = (dir.clone(), actor.to_string());
        let (keep, values) = (retention.clone(), secrets.clone());
        let thread = std::thread::Builder::new()
            .name("aacon-history".into())
            .spawn(move || {
                let mut store: Option<crate::store::BoxedStore> = None;
                let warned = AtomicBool::new(false);
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(c) => batch.push(c),
                            Err(_) => break,
                        }
                    }
                    let calls: Vec<NewCall> = batch
                        .into_iter()
                        .map(|e| redacted(e, values.get()))
                        .collect();
                    let keep = keep.lock().map(|k| *k).unwrap_or_default();
                    let written = match store.as_mut() {
                        Some(s) => s.record_calls(&calls, keep),
                        None => crate::store::port::open_for_history(&dir, &actor)
                            .and_then(|mut s| {
                                let r = s.record_calls(&calls, keep);
                                store = Some(s);
                                r
                            }),
                    };
                    if let Err(e) = written {
                        if warned.swap(true, Ordering::Relaxed) {
                            tracing::debug!(error = %e, calls = calls.len(), "call history not written");
                        } else {
                            tracing::warn!(error = %e, calls = calls.len(), "call history not written (the calls' answers stand; later failures are logged at debug)");
                        }
                    }
                }
            });
        let (tx, thread) = match thread {
            Ok(t) => (Some(tx), Some(t)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the call history writer; calls are not recorded");
                (None, None)
            }
        };
        Recorder {
            tx: Mutex::new(tx),
            thread: Mutex::new(thread),
            retention,
            secrets,
        }
    }

    /// Hand a call to the writer (never blocks, never fails the call).
    pub fn record(&self, call: Ended) {
        if let Ok(tx) = self.tx.lock()
            && let Some(tx) = tx.as_ref()
        {
            let _ = tx.send(call);
        }
    }

    /// Write what is queued and stop the writer (the platform is going).
    pub fn finish(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// The call as the history keeps it: arguments and error redacted, the
/// answer masked and cut.
fn redacted(e: Ended, secrets: Option<&SecretValues>) -> NewCall {
    let values = secrets.map(|f| f(&e.inst)).unwrap_or_default();
    let (arguments, redacted) = redact_args(&e.args, &values);
    let (outcome, json) = match e.answer {
        Ok((v, is_error)) => (
            if is_error {
                CallOutcome::ToolError
            } else {
                CallOutcome::Ok
            },
            v.to_string(),
        ),
        Err(f) => (
            CallOutcome::Failed {
                kind: f.kind.to_string(),
                message: mask_text(&f.message, &values),
            },
            String::new(),
        ),
    };
    let (result, result_bytes) = NewCall::keep_result(&mask_text(&json, &values));
    NewCall {
        instance_id: e.inst.id,
        instance_name: e.inst.name,
        at: e.at,
        caller: e.caller,
        kind: e.kind,
        name: mask_text(&e.name, &values),
        arguments,
        redacted,
        duration_ms: e.took.as_millis().min(u64::MAX as u128) as u64,
        outcome,
        result_bytes,
        result,
    }
}
