//! The embedded MCP runtime: it watches domain events, decides from each
//! json_spec what to run or reach, supervises it (restart with capped
//! exponential backoff, health probes) and reports observed status through
//! its [`RuntimePort`] with the correlation id of the command that caused
//! it. It knows its platform only through that port.
//!
//! Only the process holding the runtime lock should call [`Runtime::spawn`];
//! consoles and `aacon serve` host through [`crate::host::Hosted`], which
//! hosts now or takes the lock over when the current host exits, and opens
//! `runtime.sock` for the other local aacon processes. A serve replica on
//! PostgreSQL runs with a [`HostScope`] instead: only the instances whose
//! lease it holds ([`Hosting`], driven by `host::lease`). A panic hook
//! ([`procs::install_panic_hook`], installed by `spawn`; after installing
//! another hook such as color-eyre's, call [`procs::wrap_panic_hook`]) kills
//! every managed process group. Events come from the platform's in-process
//! subscription (which tails the shared event log, so CLI commands from
//! other processes arrive too).

pub use crate::domain::catalog;
pub mod childenv;
pub mod client_requests;
mod container;
pub use crate::platform::content;
pub mod linewatch;
mod mcplog;
pub mod notify;
pub mod oauth;
pub mod plan;
pub mod procs;
mod restart;
pub mod ring;
mod scope;
pub use scope::HostScope;
pub mod session;
mod sessions;
pub mod sse;
mod supervise;
pub mod surface;
pub use container::{NoContainerRuntime, container_cli, container_process};
use supervise::*;

use crate::domain::{DesiredState, EventType, Instance, Status};
use crate::platform::{CallControl, PlatformError, PlatformEvent, RuntimePort, ToolError};
pub use crate::platform::{StatusReport, ToolInfo};
use crate::secrets::SecretStore;
use chrono::{DateTime, Utc};
use rand::Rng;
use ring::LogRing;
use serde_json::Value;
use session::Session;
pub use session::ToolCallOutcome;
pub use sessions::{LiveSessions, OneShot};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Timings and limits of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Longest wait for `initialize` + `tools/list`.
    pub init_timeout: Duration,
    /// Longest wait for a tool call.
    pub call_timeout: Duration,
    /// Health probe interval (each wait is jittered by ±20%).
    pub probe_interval: Duration,
    /// Longest wait for one probe.
    pub probe_timeout: Duration,
    /// Consecutive failed probes after which the session is restarted
    /// (0: never; the instance stays `unhealthy`).
    pub restart_after_failed_probes: u32,
    /// Probes in flight at once, across all instances.
    pub probe_concurrency: usize,
    /// First restart delay; doubles per consecutive failure.
    pub backoff_base: Duration,
    /// Largest restart delay.
    pub backoff_max: Duration,
    /// A session up this long resets the backoff.
    pub stable_after: Duration,
    /// Wait after SIGTERM before SIGKILL.
    pub stop_grace: Duration,
    /// Full reconciliation interval (besides reacting to events).
    pub reconcile_interval: Duration,
    /// Log lines kept per instance (stderr, MCP log messages and the
    /// runtime's markers; each cut at 2,000 characters).
    pub stderr_lines: usize,
    /// Kill every managed process group if this process panics.
    pub kill_on_panic: bool,
    /// Answer other local aacon processes on `runtime.sock` in the data dir
    /// (the host opens it: [`crate::host::spawn_runtime`]).
    pub socket: bool,
    /// The variables of our environment a managed process inherits
    /// (`NAME` or `PREFIX*`); the spec's own variables come on top.
    pub child_env: Vec<String>,
    /// Whether this process can put a server's elicitation before an
    /// operator (a console hosts the runtime): the sessions declare the
    /// capability in initialize only then.
    pub elicitation: bool,
    /// Run only these instances (a replica's leases on PostgreSQL), each
    /// report fenced by its lease; `None`: every instance of the store.
    pub scope: Option<HostScope>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            init_timeout: Duration::from_secs(30),
            call_timeout: Duration::from_secs(60),
            probe_interval: Duration::from_secs(15),
            probe_timeout: Duration::from_secs(5),
            restart_after_failed_probes: 4,
            probe_concurrency: 8,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            stable_after: Duration::from_secs(30),
            stop_grace: Duration::from_secs(5),
            reconcile_interval: Duration::from_secs(10),
            stderr_lines: 1000,
            kill_on_panic: true,
            socket: true,
            child_env: childenv::default_allow(),
            elicitation: false,
            scope: None,
        }
    }
}

/// What the runtime knows live about one instance.
#[derive(Default)]
struct Live {
    ring: Option<Arc<Mutex<LogRing>>>,
    tools: Vec<ToolInfo>,
    peer: Option<rmcp::Peer<rmcp::service::RoleClient>>,
    pid: Option<u32>,
    last_good_probe: Option<DateTime<Utc>>,
    /// The last probe of the running session (none once it ended).
    probe: Option<crate::domain::Probe>,
    server: Option<String>,
    /// The session's unasked-for notices (resource updates).
    notices: Option<surface::Notices>,
    /// Resources subscribed to: subscribed again in every new session.
    subscriptions: std::collections::BTreeSet<String>,
    /// The log level asked with `logging/setLevel`: asked again in every new session.
    log_level: Option<crate::platform::LogLevel>,
}

struct Shared {
    platform: Arc<dyn RuntimePort>,
    cfg: RuntimeConfig,
    secrets: SecretStore,
    http: reqwest::Client,
    probes: Semaphore,
    live: Mutex<HashMap<Uuid, Live>>,
    /// Instances whose status report the store refused (their lease is
    /// another replica's now), for the main loop to stop.
    fenced: mpsc::UnboundedSender<(Uuid, String)>,
    /// The runtime is stopping: nothing more is hosted.
    closed: std::sync::atomic::AtomicBool,
}

enum Ctl {
    Stop {
        correlation_id: Option<String>,
        reason: Option<String>,
        report: bool,
    },
}

struct Supervisor {
    ctl: mpsc::UnboundedSender<Ctl>,
    task: JoinHandle<()>,
    /// The configuration version it runs.
    version: u64,
    /// The instance's aggregate version when it was started: a stop event
    /// at or below it is older than this session (a replay, e.g. the same
    /// event again from Redis) and restarts nothing.
    since: u64,
}

/// The running runtime; drop or [`RuntimeHandle::shutdown`] ends it.
pub struct RuntimeHandle {
    shared: Arc<Shared>,
    supervisors: Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
    stop_main: watch::Sender<bool>,
    main: Option<JoinHandle<()>>,
    socket: Option<(JoinHandle<()>, std::path::PathBuf)>,
}

pub struct Runtime;

impl Runtime {
    /// Start the runtime on `platform`: reconcile now (bring up what should
    /// run), then follow events.
    pub fn spawn(platform: Arc<dyn RuntimePort>, cfg: RuntimeConfig) -> RuntimeHandle {
        if cfg.kill_on_panic {
            procs::install_panic_hook();
        }
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.init_timeout.min(Duration::from_secs(10)))
            .build()
            .unwrap_or_default();
        let (fenced, fenced_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            secrets: SecretStore::open(platform.data_dir().root()),
            platform,
            http,
            probes: Semaphore::new(cfg.probe_concurrency.max(1)),
            cfg,
            live: Mutex::new(HashMap::new()),
            fenced,
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        // Tools and logs asked of this platform (by this process, or by
        // others over the socket) reach this runtime's live sessions.
        shared
            .platform
            .attach_sessions(Arc::new(LiveSessions(Arc::downgrade(&shared))));
        let supervisors = Arc::new(tokio::sync::Mutex::new(HashMap::new()));
        let (stop_main, stop_rx) = watch::channel(false);
        let main = tokio::spawn(main_loop(
            shared.clone(),
            supervisors.clone(),
            stop_rx,
            fenced_rx,
        ));
        RuntimeHandle {
            shared,
            supervisors,
            stop_main,
            main: Some(main),
            socket: None,
        }
    }
}

async fn main_loop(
    shared: Arc<Shared>,
    sups: Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
    mut stop: watch::Receiver<bool>,
    mut fenced: mpsc::UnboundedReceiver<(Uuid, String)>,
) {
    // Subscribe first, so nothing falls between the first list and the stream.
    let mut rx = shared.platform.follow();
    reconcile_all(&shared, &sups).await;
    let mut tick = tokio::time::interval(shared.cfg.reconcile_interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            ev = rx.recv() => match ev {
                Ok(PlatformEvent::Event(env)) => {
                    let Some(id) = env.instance_id() else { continue };
                    // Created needs nothing: a new instance is desired stopped,
                    // and a start follows as its own event.
                    if let Some(EventType::Stopped) = env.kind() {
                        // Desired running again by now: a restart.
                        restart::on_stopped(&shared, &sups, id, env.correlation_id.clone(), env.aggregate_version).await;
                    } else if let Some(EventType::Updated | EventType::Deleted
                        | EventType::Started) = env.kind() {
                        tracing::trace!(target: "aacon::stage", "reconcile");
                        reconcile_one(&shared, &sups, id, env.correlation_id.clone()).await;
                    }
                }
                Ok(PlatformEvent::Refresh) => reconcile_all(&shared, &sups).await,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "runtime fell behind the event stream; reconciling");
                    reconcile_all(&shared, &sups).await;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => reconcile_all(&shared, &sups).await,
            Some((id, why)) = fenced.recv() => on_fenced(&shared, &sups, id, &why).await,
        }
    }
}

/// The store refused a status report for `id`: its lease is no longer
/// this replica's. Said once; the instance stops here without a report.
async fn on_fenced(
    shared: &Arc<Shared>,
    sups: &Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
    id: Uuid,
    why: &str,
) {
    let Some(scope) = &shared.cfg.scope else {
        return;
    };
    if scope.remove(id) {
        tracing::warn!(%id, reason = %why, "a status report was refused: another replica holds this instance's lease now; stopping it here");
    }
    if let Some(s) = sups.lock().await.remove(&id) {
        let _ = s.ctl.send(Ctl::Stop {
            correlation_id: None,
            reason: Some("its lease is held by another replica".into()),
            report: false,
        });
    }
}

async fn reconcile_all(
    shared: &Arc<Shared>,
    sups: &Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
) {
    let list = match shared.platform.instances().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "runtime cannot list instances");
            return;
        }
    };
    // By lease: only what this replica holds (the rest is stopped here
    // without a report below, and never reported on).
    let list: Vec<Instance> = list.into_iter().filter(|i| shared.hosts(i.id)).collect();
    let mut map = sups.lock().await;
    let ids: std::collections::HashSet<Uuid> = list.iter().map(|i| i.id).collect();
    let gone: Vec<Uuid> = map.keys().filter(|id| !ids.contains(id)).copied().collect();
    for id in gone {
        stop_quietly(&mut map, id);
    }
    // A host that takes over reports under the command that asked for it.
    let fresh = list
        .iter()
        .any(|i| i.desired_state == DesiredState::Running && !map.contains_key(&i.id));
    let mut causes = if fresh {
        shared
            .platform
            .last_command_correlations()
            .await
            .unwrap_or_default()
    } else {
        HashMap::new()
    };
    for inst in list {
        let cause = if map.contains_key(&inst.id) {
            None
        } else {
            causes.remove(&inst.id)
        };
        apply(shared, &mut map, &inst, cause);
    }
}

async fn reconcile_one(
    shared: &Arc<Shared>,
    sups: &Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
    id: Uuid,
    correlation_id: Option<String>,
) {
    if !shared.hosts(id) {
        // Not this replica's: no read, only make sure nothing runs here.
        stop_quietly(&mut *sups.lock().await, id);
        return;
    }
    let found = shared.platform.instance(id).await;
    tracing::trace!(target: "aacon::stage", "read");
    let mut map = sups.lock().await;
    match found {
        Ok(inst) => apply(shared, &mut map, &inst, correlation_id),
        Err(PlatformError::NotFound(_)) => {
            // Deleted: stop first (no status to report on a deleted row).
            if let Some(s) = map.remove(&id) {
                let _ = s.ctl.send(Ctl::Stop {
                    correlation_id,
                    reason: None,
                    report: false,
                });
            }
        }
        Err(e) => tracing::warn!(error = %e, %id, "runtime cannot read an instance"),
    }
}

/// Stop `id`'s supervisor, if any, without reporting (it is gone, or not
/// this runtime's to run).
fn stop_quietly(map: &mut HashMap<Uuid, Supervisor>, id: Uuid) {
    if let Some(s) = map.remove(&id) {
        let _ = s.ctl.send(Ctl::Stop {
            correlation_id: None,
            reason: None,
            report: false,
        });
    }
}

/// Close the gap between desired and observed state for one instance.
fn apply(
    shared: &Arc<Shared>,
    map: &mut HashMap<Uuid, Supervisor>,
    inst: &Instance,
    correlation_id: Option<String>,
) {
    if !shared.hosts(inst.id) {
        // Another replica's (or nobody's) lease: never run, never reported.
        stop_quietly(map, inst.id);
        return;
    }
    match inst.desired_state {
        DesiredState::Running => {
            let mut wait_for = None;
            if let Some(s) = map.get(&inst.id) {
                if s.version == inst.version && !s.task.is_finished() {
                    return;
                }
                // The configuration changed (or the task ended): replace it.
                if let Some(old) = map.remove(&inst.id) {
                    let _ = old.ctl.send(Ctl::Stop {
                        correlation_id: correlation_id.clone(),
                        reason: Some("restarting with the new configuration".into()),
                        report: false,
                    });
                    wait_for = Some(old.task);
                }
            }
            spawn_supervisor(shared, map, inst, correlation_id, wait_for);
        }
        DesiredState::Stopped => {
            if let Some(s) = map.remove(&inst.id) {
                let _ = s.ctl.send(Ctl::Stop {
                    correlation_id,
                    reason: None,
                    report: true,
                });
            } else if matches!(
                inst.status,
                Status::Starting | Status::Running | Status::Unhealthy | Status::Stopping
            ) {
                // A stale observed status (from a host that exited): nothing runs it.
                let shared = shared.clone();
                let id = inst.id;
                tokio::spawn(async move {
                    shared
                        .report(
                            id,
                            StatusReport {
                                status: Some(Status::Stopped),
                                reason: Some("not running: desired state is stopped".into()),
                                ..Default::default()
                            },
                            correlation_id,
                        )
                        .await;
                });
            }
        }
    }
}

/// Supervise `inst` (after `wait_for`, the session it replaces, ended).
fn spawn_supervisor(
    shared: &Arc<Shared>,
    map: &mut HashMap<Uuid, Supervisor>,
    inst: &Instance,
    correlation_id: Option<String>,
    wait_for: Option<JoinHandle<()>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(supervise(
        shared.clone(),
        inst.clone(),
        correlation_id,
        rx,
        wait_for,
    ));
    map.insert(
        inst.id,
        Supervisor {
            ctl: tx,
            task,
            version: inst.version,
            since: inst.aggregate_version,
        },
    );
}

impl Shared {
    /// Whether this runtime runs `id` (always, without a scope).
    fn hosts(&self, id: Uuid) -> bool {
        !self.closed.load(std::sync::atomic::Ordering::Acquire)
            && self.cfg.scope.as_ref().is_none_or(|s| s.contains(id))
    }

    /// The lease a write about `id` is made under (none without a scope),
    /// or `Err` when this runtime runs by lease and no longer holds `id`:
    /// nothing may be written then.
    fn lease_for(&self, id: Uuid) -> Result<Option<crate::platform::LeaseFence>, ()> {
        match &self.cfg.scope {
            None => Ok(None),
            Some(s) => s.fence(id).map(Some).ok_or(()),
        }
    }

    /// A write failed: a refused fence stops the instance here, anything
    /// else is logged.
    fn write_failed(&self, id: Uuid, e: PlatformError, what: &str) {
        match e {
            PlatformError::NotFound(_) => {}
            PlatformError::Fenced(why) => {
                let _ = self.fenced.send((id, why));
            }
            e => tracing::warn!(error = %e, %id, "cannot record {what}"),
        }
    }

    /// The instance's log from `after` on (see [`LogRing::page`]).
    fn log_page(&self, id: Uuid, after: Option<u64>) -> crate::platform::LogPage {
        let ring = self.with_live(id, |l| l.ring.clone());
        ring.and_then(|r| r.lock().ok().map(|r| r.page(after)))
            .unwrap_or_default()
    }

    /// A runtime marker in the instance's log (started, exited, stopped).
    fn mark(&self, id: Uuid, level: crate::platform::LogLevel, text: &str) {
        if let Ok(mut r) = self.ring(id).lock() {
            r.marker(level, text);
        }
    }

    /// Record notifications in the instance's history (see [`notify`]).
    async fn record_notice(&self, id: Uuid, notice: crate::platform::NoticeReport) {
        if self.lease_for(id).is_err() {
            return;
        }
        if let Err(e) = self.platform.record_notice(id, notice).await {
            match e {
                PlatformError::NotFound(_) => {}
                e => tracing::warn!(error = %e, %id, "cannot record a server's notification"),
            }
        }
    }

    /// Call `tool` on the live session of `inst` (its name for an
    /// elicitation, its json_spec's `timeout_seconds` over `call_timeout`).
    async fn call_tool(
        &self,
        inst: (Uuid, &str, &serde_json::Map<String, Value>),
        tool: &str,
        args: Value,
        ctl: &CallControl,
    ) -> Result<ToolCallOutcome, ToolError> {
        let (id, name, spec) = inst;
        let (peer, tools, notices) =
            self.with_live(id, |l| (l.peer.clone(), l.tools.clone(), l.notices.clone()));
        let Some(peer) = peer else {
            return Err(not_running());
        };
        let args = crate::platform::tools::check_args(&tools, tool, args)?;
        let requests = notices.map(|n| n.requests).unwrap_or_default();
        let timeout = plan::call_timeout(spec, self.cfg.call_timeout);
        let on = session::CallOn {
            requests: &requests,
            instance: name,
            ctl,
        };
        session::call_tool(&peer, tool, args, timeout, on).await
    }

    async fn mcp(&self, id: Uuid, op: surface::McpOp) -> Result<Value, ToolError> {
        let (peer, notices) = self.with_live(id, |l| (l.peer.clone(), l.notices.clone()));
        let Some(peer) = peer else {
            return Err(not_running());
        };
        let uri = match &op {
            surface::McpOp::Subscribe { uri } => Some(uri.clone()),
            _ => None,
        };
        let level = match &op {
            surface::McpOp::SetLevel { level } => Some(*level),
            _ => None,
        };
        let out = surface::run(&peer, notices.as_ref(), op, self.cfg.call_timeout).await?;
        if level.is_some() {
            self.with_live(id, |l| l.log_level = level);
        }
        if let Some(uri) = uri {
            self.with_live(id, |l| {
                // Bounded like the notices.
                if l.subscriptions.len() < 10_000 {
                    l.subscriptions.insert(uri);
                }
            });
        }
        Ok(out)
    }

    async fn report(&self, id: Uuid, mut report: StatusReport, correlation_id: Option<String>) {
        let Ok(lease) = self.lease_for(id) else {
            tracing::debug!(%id, "not hosted here any more: the status report is not written");
            return;
        };
        report.lease = lease;
        if let Err(e) = self
            .platform
            .report_status(id, report, correlation_id)
            .await
        {
            self.write_failed(id, e, "a status report");
        }
    }

    /// A session came up: its tools and its status in one commit.
    async fn report_up(
        &self,
        id: Uuid,
        tools: Vec<ToolInfo>,
        mut report: StatusReport,
        correlation_id: Option<String>,
    ) {
        let Ok(lease) = self.lease_for(id) else {
            return;
        };
        report.lease = lease;
        if let Err(e) = self
            .platform
            .report_up(id, tools, report, correlation_id)
            .await
        {
            self.write_failed(id, e, "a status report");
        }
    }

    fn with_live<T>(&self, id: Uuid, f: impl FnOnce(&mut Live) -> T) -> T {
        // A poisoned map only means another task panicked mid-update; the
        // data is plain values, still usable.
        let mut map = self.live.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(id).or_default())
    }

    /// Keep the outcome of a probe (never an event: see [`crate::domain::probe`]).
    /// `error`: why it failed, none when it answered.
    fn record_probe(&self, id: Uuid, error: Option<String>, took: Duration) {
        let now = Utc::now();
        self.with_live(id, |l| {
            if error.is_none() {
                l.last_good_probe = Some(now);
            }
            l.probe = Some(crate::domain::Probe {
                instance_id: id,
                at: now,
                ok: error.is_none(),
                latency_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                error,
                last_ok_at: l.last_good_probe,
            });
        });
    }

    /// The last probe of every instance running here.
    fn probes(&self) -> Vec<crate::domain::Probe> {
        let map = self.live.lock().unwrap_or_else(|p| p.into_inner());
        map.values().filter_map(|l| l.probe.clone()).collect()
    }

    fn ring(&self, id: Uuid) -> Arc<Mutex<LogRing>> {
        let cap = self.cfg.stderr_lines;
        self.with_live(id, |l| {
            l.ring
                .get_or_insert_with(|| Arc::new(Mutex::new(LogRing::new(cap))))
                .clone()
        })
    }

    async fn store_tools(&self, id: Uuid, tools: Vec<ToolInfo>) {
        if self.lease_for(id).is_err() {
            return;
        }
        if let Err(e) = self.platform.set_tools(id, tools).await {
            tracing::warn!(error = %e, %id, "cannot store discovered tools");
        }
    }

    fn jittered(&self, d: Duration) -> Duration {
        let f: f64 = rand::rng().random_range(0.8..1.2);
        d.mul_f64(f)
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let d = self
            .cfg
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.cfg.backoff_max);
        self.jittered(d).min(self.cfg.backoff_max)
    }
}

impl RuntimeHandle {
    /// The last stderr lines of an instance's process (secrets masked).
    pub fn stderr(&self, id: Uuid) -> Vec<String> {
        self.logs(id, None)
            .lines
            .into_iter()
            .filter(|l| l.source == crate::platform::LogSource::Stderr)
            .map(|l| l.text)
            .collect()
    }

    /// The instance's log from `after` on: stderr, MCP log messages and
    /// the runtime's markers (secrets masked).
    pub fn logs(&self, id: Uuid, after: Option<u64>) -> crate::platform::LogPage {
        self.shared.log_page(id, after)
    }

    /// The tools of an instance: live when it runs here, else as stored.
    pub async fn tools(&self, id: Uuid) -> Vec<ToolInfo> {
        let live = self
            .shared
            .with_live(id, |l| l.peer.as_ref().map(|_| l.tools.clone()));
        if let Some(t) = live {
            return t;
        }
        self.shared
            .platform
            .stored_tools(id)
            .await
            .unwrap_or_default()
    }

    /// The pid (= process group id) of an instance's managed process.
    pub fn pid(&self, id: Uuid) -> Option<u32> {
        self.shared.with_live(id, |l| l.pid)
    }

    /// The time of the last good health probe.
    pub fn last_good_probe(&self, id: Uuid) -> Option<DateTime<Utc>> {
        self.shared.with_live(id, |l| l.last_good_probe)
    }

    /// The last probe of every instance running here.
    pub fn probes(&self) -> Vec<crate::domain::Probe> {
        self.shared.probes()
    }

    /// Server name, version and protocol, while connected.
    pub fn server_info(&self, id: Uuid) -> Option<String> {
        self.shared
            .with_live(id, |l| l.peer.as_ref().and(l.server.clone()))
    }

    /// Call `tool` on a running instance with JSON `args` (an object),
    /// checked against the tool's input schema first.
    pub async fn call_tool(
        &self,
        id: Uuid,
        tool: &str,
        args: Value,
    ) -> Result<ToolCallOutcome, ToolError> {
        let name = id.to_string();
        let ctl = CallControl::default();
        self.shared
            .call_tool((id, &name, &serde_json::Map::new()), tool, args, &ctl)
            .await
    }

    /// What a lease driver adds to and removes from this runtime's
    /// scope; `None` when it runs every instance (no scope).
    pub fn hosting(&self) -> Option<Hosting> {
        let scope = self.shared.cfg.scope.clone()?;
        Some(Hosting {
            shared: self.shared.clone(),
            sups: self.supervisors.clone(),
            scope,
        })
    }

    /// Close `task` (what serves the runtime's socket at `path`) and remove
    /// the socket file when the runtime ends.
    pub fn keep_socket(&mut self, task: JoinHandle<()>, path: std::path::PathBuf) {
        self.socket = Some((task, path));
    }

    /// Stop every managed process (MCP shutdown, SIGTERM, SIGKILL) and end
    /// the runtime. Observed status becomes `stopped`; desired state stays,
    /// so the next runtime host brings instances back.
    pub async fn shutdown(self) {
        self.stop_all(true).await;
    }

    /// Stop every managed process for a hand-over to another runtime host
    /// (a background host): nothing is reported, so the instances stay
    /// `running` until the next host reports on them as it starts them.
    pub async fn hand_over(self) {
        self.stop_all(false).await;
    }

    async fn stop_all(mut self, report: bool) {
        self.shared
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        let _ = self.stop_main.send(true);
        if let Some(m) = self.main.take() {
            let _ = m.await;
        }
        let sups: Vec<Supervisor> = self
            .supervisors
            .lock()
            .await
            .drain()
            .map(|(_, s)| s)
            .collect();
        let mut tasks = Vec::new();
        for s in sups {
            let _ = s.ctl.send(Ctl::Stop {
                correlation_id: None,
                reason: Some("the runtime host shut down".into()),
                report,
            });
            tasks.push(s.task);
        }
        let limit = self.shared.cfg.stop_grace + Duration::from_secs(5);
        let _ = tokio::time::timeout(limit, futures::future::join_all(tasks)).await;
        self.close_socket();
        self.kill_own();
    }

    fn close_socket(&mut self) {
        if let Some((task, path)) = self.socket.take() {
            task.abort();
            let _ = std::fs::remove_file(path);
        }
    }

    fn kill_own(&self) {
        let pids: Vec<u32> = {
            let map = self.shared.live.lock().unwrap_or_else(|p| p.into_inner());
            map.values().filter_map(|l| l.pid).collect()
        };
        for pid in pids {
            procs::signal_group(pid as i32, libc::SIGKILL);
            procs::unregister(pid as i32);
        }
    }
}

impl Drop for RuntimeHandle {
    fn drop(&mut self) {
        let _ = self.stop_main.send(true);
        if let Some(m) = self.main.take() {
            m.abort();
        }
        if let Ok(mut sups) = self.supervisors.try_lock() {
            for (_, s) in sups.drain() {
                s.task.abort();
            }
        }
        self.close_socket();
        // Without an orderly shutdown, no process may outlive us.
        self.kill_own();
    }
}

/// How an instance stops being hosted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unhost {
    /// The lease can no longer be proven (another replica may claim it
    /// once `within` has passed): nothing more is written, and the
    /// process is killed if it has not ended by then.
    Lost { within: Duration },
    /// The lease is handed back: the stop is reported only when the
    /// instance is desired stopped (it no longer wants to run), else the
    /// next owner reports as it starts it.
    HandBack,
}

/// A runtime with a [`HostScope`], as its lease driver sees it (cheap to
/// clone).
#[derive(Clone)]
pub struct Hosting {
    shared: Arc<Shared>,
    sups: Arc<tokio::sync::Mutex<HashMap<Uuid, Supervisor>>>,
    scope: HostScope,
}

impl Hosting {
    /// Run these instances here, each under its lease's generation: added
    /// to the scope, then one reconciliation starts what is desired
    /// running (under the command that asked for it).
    pub async fn host(&self, leases: &[(Uuid, i64)]) {
        if self
            .shared
            .closed
            .load(std::sync::atomic::Ordering::Acquire)
            || leases.is_empty()
        {
            return;
        }
        for (id, generation) in leases {
            self.scope.insert(*id, *generation);
        }
        reconcile_all(&self.shared, &self.sups).await;
    }

    /// Stop running `id` here (see [`Unhost`]); returns once its process
    /// ended (or was killed).
    pub async fn unhost(&self, id: Uuid, how: Unhost) {
        let report = match how {
            Unhost::Lost { .. } => false,
            Unhost::HandBack => matches!(
                self.shared.platform.instance(id).await,
                Ok(i) if i.desired_state == DesiredState::Stopped
            ),
        };
        // Out of the scope first (no reconciliation starts it again, no
        // report is written), unless the stop is to be reported: that
        // write needs the lease, and a desired-stopped instance is never
        // started anyway.
        if !report {
            self.scope.remove(id);
        }
        let sup = self.sups.lock().await.remove(&id);
        if let Some(mut s) = sup {
            let (within, reason) = match how {
                Unhost::Lost { within } => (within, "its lease was lost"),
                Unhost::HandBack => (
                    self.shared.cfg.stop_grace + Duration::from_secs(5),
                    "its lease was handed back",
                ),
            };
            let _ = s.ctl.send(Ctl::Stop {
                correlation_id: None,
                reason: Some(reason.into()),
                report,
            });
            if tokio::time::timeout(within, &mut s.task).await.is_err() {
                s.task.abort();
                if let Some(pid) = self.shared.with_live(id, |l| l.pid) {
                    tracing::warn!(%id, pid, "the process did not stop in time for its lease: killed");
                    procs::signal_group(pid as i32, libc::SIGKILL);
                    procs::unregister(pid as i32);
                }
            }
        }
        self.scope.remove(id);
    }

    /// How many instances are hosted here.
    pub fn len(&self) -> usize {
        self.scope.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scope.is_empty()
    }
}

fn not_running() -> ToolError {
    ToolError::NotRunning("the instance is not running in this runtime; start it first".into())
}

/// Tools as the store holds them (any process can read these).
pub async fn stored_tools(
    platform: &dyn RuntimePort,
    id: Uuid,
) -> Result<Vec<ToolInfo>, PlatformError> {
    platform.stored_tools(id).await
}
