//! Readiness (`GET /ready`) and the replica's identity.
//!
//! `/health` says the process serves; `/ready` says this replica should be
//! sent traffic: every [`ReadinessCheck`] answered within the deadline.
//! The checks are a list others add to ([`Readiness::add`]): the store and
//! the outbox relay and, on PostgreSQL, the leases (see `host::ops`).
//! Each check runs at most once at a time: a check still running from an
//! earlier probe fails the next probe at once instead of piling up.

pub use crate::domain::replica::{ReplicaId, ReplicaIdError};
use async_trait::async_trait;
use axum::http::HeaderValue;
use serde::Serialize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The header naming the replica on every answer.
pub const REPLICA_HEADER: &str = crate::domain::replica::REPLICA_HEADER;
/// How long one readiness check may take (below a Kubernetes probe's
/// timeout: the manifests give it 3 s).
pub const CHECK_DEADLINE: Duration = Duration::from_secs(1);

/// The replica id when none is configured: `$HOSTNAME` when set (a
/// Kubernetes pod's name), else this host's name and pid.
pub fn default_replica_id(env: &dyn Fn(&str) -> Option<String>) -> ReplicaId {
    if let Some(id) = env("HOSTNAME").and_then(|h| ReplicaId::new(&h).ok()) {
        return id;
    }
    let pid = std::process::id();
    let host = hostname()
        .map(|h| {
            h.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '-'
                    }
                })
                .take(200)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "aacon".to_string());
    ReplicaId::new(&format!("{host}-{pid}")).unwrap_or_else(|_| fallback_id(pid))
}

/// `aacon-PID`: always a valid id.
fn fallback_id(pid: u32) -> ReplicaId {
    match ReplicaId::new(&format!("aacon-{pid}")) {
        Ok(id) => id,
        // Letters, a dash and digits only: never refused.
        Err(_) => unreachable!("aacon-PID is a valid replica id"),
    }
}

/// The header value naming `id` (its characters are header-safe).
pub(super) fn header_value(id: &ReplicaId) -> HeaderValue {
    HeaderValue::from_str(id.as_str()).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// One thing a replica needs to take traffic.
#[async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    /// A short name, named in `/ready`'s answer when it fails (`store`).
    fn name(&self) -> &str;
    /// `Err` with one sentence saying what is wrong. It never holds a
    /// secret (URLs with their password hidden).
    async fn check(&self) -> Result<(), String>;
}

/// One check's result in `/ready`'s answer.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `/ready`'s answer.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyReport {
    /// `ready` or `not ready`.
    pub status: &'static str,
    pub replica: String,
    /// The names of the checks that failed.
    pub failing: Vec<String>,
    pub checks: Vec<CheckResult>,
}

impl ReadyReport {
    pub fn is_ready(&self) -> bool {
        self.failing.is_empty()
    }
}

/// A check's run that outlived its deadline, and when it started.
type Leftover = (JoinHandle<Result<(), String>>, Instant);

struct Entry {
    check: Arc<dyn ReadinessCheck>,
    running: Mutex<Option<Leftover>>,
}

/// The list of readiness checks: a handle, cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    checks: Arc<RwLock<Vec<Arc<Entry>>>>,
    deadline: Duration,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new(CHECK_DEADLINE)
    }
}

impl Readiness {
    pub fn new(deadline: Duration) -> Readiness {
        Readiness {
            checks: Arc::new(RwLock::new(Vec::new())),
            deadline,
        }
    }

    /// Add a check; every later `/ready` runs it.
    pub fn add(&self, check: Arc<dyn ReadinessCheck>) {
        if let Ok(mut c) = self.checks.write() {
            c.push(Arc::new(Entry {
                check,
                running: Mutex::new(None),
            }));
        }
    }

    /// The names of the checks, in the order added.
    pub fn names(&self) -> Vec<String> {
        self.checks
            .read()
            .map(|c| c.iter().map(|e| e.check.name().to_string()).collect())
            .unwrap_or_default()
    }

    /// Run every check at once, each bounded by the deadline.
    pub async fn run(&self, replica: &ReplicaId) -> ReadyReport {
        let entries: Vec<Arc<Entry>> = self.checks.read().map(|c| c.clone()).unwrap_or_default();
        let deadline = self.deadline;
        let checks =
            futures::future::join_all(entries.into_iter().map(|e| run_one(e, deadline))).await;
        let failing = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect::<Vec<_>>();
        ReadyReport {
            status: if failing.is_empty() {
                "ready"
            } else {
                "not ready"
            },
            replica: replica.to_string(),
            failing,
            checks,
        }
    }
}

async fn run_one(entry: Arc<Entry>, deadline: Duration) -> CheckResult {
    let name = entry.check.name().to_string();
    let started = Instant::now();
    let result = |ok: Result<(), String>| CheckResult {
        name: name.clone(),
        ok: ok.is_ok(),
        ms: started.elapsed().as_millis() as u64,
        error: ok.err(),
    };
    // A run left over from an earlier probe: its answer if it has one now,
    // else fail at once.
    let leftover = entry.running.lock().ok().and_then(|mut r| r.take());
    let handle = match leftover {
        Some((h, since)) if !h.is_finished() => {
            let secs = since.elapsed().as_secs();
            if let Ok(mut r) = entry.running.lock() {
                *r = Some((h, since));
            }
            return result(Err(format!(
                "its previous run has not answered for {secs} s"
            )));
        }
        _ => {
            let check = entry.check.clone();
            tokio::spawn(async move { check.check().await })
        }
    };
    let mut handle = handle;
    match tokio::time::timeout(deadline, &mut handle).await {
        Ok(Ok(r)) => result(r),
        Ok(Err(e)) => result(Err(format!("the check failed: {e}"))),
        Err(_) => {
            if let Ok(mut r) = entry.running.lock() {
                *r = Some((handle, started));
            }
            result(Err(format!(
                "it did not answer within {} ms",
                deadline.as_millis()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, Result<(), String>, Duration);

    #[async_trait]
    impl ReadinessCheck for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        async fn check(&self) -> Result<(), String> {
            tokio::time::sleep(self.2).await;
            self.1.clone()
        }
    }

    #[test]
    fn the_default_id_is_the_pod_name_else_host_and_pid() {
        let pod = default_replica_id(&|k| (k == "HOSTNAME").then(|| "aacon-7d9f-x2".into()));
        assert_eq!(pod.as_str(), "aacon-7d9f-x2");
        let local = default_replica_id(&|_| None);
        assert!(
            local
                .as_str()
                .ends_with(&format!("-{}", std::process::id())),
            "{local}"
        );
    }

    #[tokio::test]
    async fn a_failing_or_slow_check_is_named_and_a_stuck_one_is_not_run_twice() {
        let r = Readiness::new(Duration::from_millis(200));
        r.add(Arc::new(Fixed("store", Ok(()), Duration::ZERO)));
        r.add(Arc::new(Fixed(
            "relay",
            Err("Redis is gone".into()),
            Duration::ZERO,
        )));
        r.add(Arc::new(Fixed("slow", Ok(()), Duration::from_secs(3600))));
        let id = ReplicaId::new("r1").unwrap();
        let rep = r.run(&id).await;
        assert!(!rep.is_ready());
        assert_eq!(rep.failing, vec!["relay", "slow"]);
        assert_eq!(rep.checks[1].error.as_deref(), Some("Redis is gone"));
        assert!(
            rep.checks[2]
                .error
                .as_deref()
                .unwrap()
                .contains("within 200 ms")
        );
        let again = r.run(&id).await;
        assert!(
            again.checks[2]
                .error
                .as_deref()
                .unwrap()
                .contains("previous run has not answered"),
            "{again:?}"
        );
        let none = Readiness::default().run(&id).await;
        assert!(none.is_ready());
        assert_eq!(none.status, "ready");
    }
}
