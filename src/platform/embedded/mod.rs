//! The in-process platform: the SQLite store, a tail of the event log that
//! feeds subscribers, and the runtime host lock.
//!
//! Several processes may share one data dir. Each sees the others' events by
//! tailing the event log by sequence number: a tail thread sleeps on its
//! nudge socket ([`nudge`]) and reads the new events at once when this
//! process or another of the data dir committed; without a nudge (a writer
//! that sends none) it checks SQLite's `PRAGMA data_version` every 100 ms (a
//! cheap read that changes when any other connection commits). Commands go
//! to one writer thread that commits them in groups. Exactly one process at
//! a time hosts the runtime: it holds an exclusive lock on `runtime.lock` in
//! the data dir.

mod lock;
mod nudge;
mod record;
#[cfg(test)]
mod tests;

use super::history::{self, CallKind, CallRecord, Caller, Retention};
use super::tools::check_args;
use super::{
    ActionOutcome, ArgError, BackendInfo, CallControl, EventQuery, McpOp, Platform, PlatformError,
    PlatformEvent, Result, RuntimePort, StatusReport, ToolCallResult, ToolError, ToolInfo,
    ToolSessions,
};
use crate::domain::spec::{self, Report};
use crate::domain::status_event::{Names, StatusEvent};
use crate::domain::{DesiredState, Envelope, Instance, InstancePatch, NewInstance, Precondition};
use crate::paths::DataDir;
use crate::store::port::Watching;
use crate::store::{BoxedStore, StorePort};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lock::*;
pub use lock::{LockHolder, Role, RuntimeLock, hostname};
pub use record::SecretValues;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

/// How often the tail looks for commits nobody nudged it about.
pub const TAIL_INTERVAL: Duration = Duration::from_millis(100);
/// Events queued for the slowest subscriber past which the tail waits
/// before reading more (the events stay in the store meanwhile): a burst
/// then reaches a console that applies it slower than the tail reads it
/// without overflowing its buffer, which would make it reload every
/// instance (and hold two copies while it does).
const TAIL_BACKLOG: usize = SUBSCRIBER_CAPACITY / 4;
/// How often the tail looks whether the backlog shrank while it waits.
const TAIL_BACKLOG_LOOK: Duration = Duration::from_millis(10);
pub use super::SUBSCRIBER_CAPACITY;

/// Options for opening the embedded platform.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub role: Role,
    /// Try to become the runtime host (console and serve do; CLI does not).
    pub host_runtime: bool,
}

/// What a store command returns.
type Committed = Result<(Instance, Envelope)>;

/// A queued store command.
type Run = Box<dyn FnOnce(&mut dyn StorePort) -> Committed + Send>;

/// One queued store command and where its result goes.
struct Job {
    run: Run,
    reply: tokio::sync::oneshot::Sender<Committed>,
}

/// The most commands one group commit takes.
const MAX_GROUP: usize = 512;

/// What follows every commit, whoever committed (the writer thread or a
/// caller alone, see [`EmbeddedPlatform::command`]), and whether a caller
/// may commit on its own thread.
struct Committer {
    wake_tail: nudge::Waker,
    outbox_wake: Arc<Notify>,
    nudger: Mutex<nudge::Nudger>,
    /// Commands sent to the writer thread and not answered yet.
    queued: AtomicUsize,
    /// The last commit held one command: nobody else was waiting, so a
    /// caller may commit without the hop to the writer thread.
    alone: AtomicBool,
    /// Commands committed that way (tests look).
    #[cfg(test)]
    by_callers: AtomicUsize,
}

impl Committer {
    /// Wake this process's event tail and the outbox relay, and nudge the
    /// other processes of the data dir ([`nudge`]).
    fn committed(&self) {
        self.wake_tail.wake();
        self.outbox_wake.notify_one();
        if let Ok(mut nudger) = self.nudger.lock() {
            nudger.nudge();
        }
    }
}

pub struct EmbeddedPlatform {
    dir: DataDir,
    store: Arc<Mutex<BoxedStore>>,
    /// Commands for the writer thread (group commit, see `command`).
    jobs: Option<std_mpsc::Sender<Job>>,
    committer: Arc<Committer>,
    writer: Option<JoinHandle<()>>,
    events: broadcast::Sender<PlatformEvent>,
    /// Feeds `events` from the tail and from other sources, each event once.
    once: super::once::OnceSender,
    /// Wakes this process's event tail (and tells it to stop when set).
    wake_tail: nudge::Waker,
    tail_stop: Arc<std::sync::atomic::AtomicBool>,
    tail: Option<JoinHandle<()>>,
    /// The store's watch for others' commits; dropped before the tail is
    /// joined (it holds a wake sender).
    watching: Option<Watching>,
    outbox_wake: Arc<Notify>,
    runtime_lock: Mutex<Option<RuntimeLock>>,
    /// The runtime's live sessions in this process, once it runs.
    local: Mutex<Option<Arc<dyn ToolSessions>>>,
    /// The runtime host of the data dir when it is another process (over
    /// its socket), and a session opened for one request when nobody runs
    /// the instance; set by whoever opens the platform ([`crate::host`]).
    remote: std::sync::OnceLock<Arc<dyn ToolSessions>>,
    one_shot: std::sync::OnceLock<Arc<dyn ToolSessions>>,
    /// The Redis stream this process watches, for a full read on request.
    stream: std::sync::OnceLock<crate::bus::RedisConfig>,
    /// Where this process serves its API, written into the runtime lock
    /// while it holds it (so consoles can say "serve at ADDR").
    address: Mutex<Option<String>>,
    /// On PostgreSQL: the lease tables, opened on first use, to say which
    /// replica hosts an instance.
    leases: tokio::sync::OnceCell<crate::cluster::Cluster>,
    role: Role,
    /// Writes the call history off the callers' path.
    recorder: record::Recorder,
}

impl EmbeddedPlatform {
    /// Open the platform on `dir` (created if missing).
    pub fn open(dir: DataDir, opts: EmbeddedOptions) -> Result<EmbeddedPlatform> {
        dir.ensure()
            .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
        let actor = actor(opts.role);
        let store = crate::store::port::open(&dir, &actor)?;
        let reader = crate::store::port::open(&dir, &actor)?;
        let start_seq = reader.last_seq()?;
        let (events, _) = broadcast::channel(SUBSCRIBER_CAPACITY);
        let (inbox, wake_tail) = nudge::Inbox::open(&dir.nudges()).map_err(|e| {
            PlatformError::Internal(format!("cannot make the event tail's wake-up: {e}"))
        })?;
        let nudger = nudge::Nudger::new(dir.nudges(), &inbox);
        // A store that can say when anyone commits (PostgreSQL's NOTIFY)
        // wakes the tail at once, whichever data dir the writer used.
        let watching = watch_store(&reader, &wake_tail)?;
        let once = super::once::OnceSender::new(events.clone());
        let tx = once.clone();
        let tail_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = tail_stop.clone();
        let tail = std::thread::Builder::new()
            .name("aacon-event-tail".into())
            .spawn(move || tail_loop(reader, start_seq, &inbox, &stop, tx))
            .map_err(|e| PlatformError::Internal(format!("cannot start the event tail: {e}")))?;
        let store = Arc::new(Mutex::new(store));
        let outbox_wake = Arc::new(Notify::new());
        let (jobs, queue) = std_mpsc::channel();
        let committer = Arc::new(Committer {
            wake_tail: wake_tail.clone(),
            outbox_wake: outbox_wake.clone(),
            nudger: Mutex::new(nudger),
            queued: AtomicUsize::new(0),
            alone: AtomicBool::new(true),
            #[cfg(test)]
            by_callers: AtomicUsize::new(0),
        });
        let writer = {
            let (store, committer) = (store.clone(), committer.clone());
            std::thread::Builder::new()
                .name("aacon-store-writer".into())
                .spawn(move || write_loop(&store, &queue, &committer))
                .map_err(|e| {
                    PlatformError::Internal(format!("cannot start the store writer: {e}"))
                })?
        };
        let recorder = record::Recorder::start(&dir, &actor);
        let runtime_lock = if opts.host_runtime {
            RuntimeLock::try_acquire(&dir, opts.role)?
        } else {
            None
        };
        Ok(EmbeddedPlatform {
            dir,
            store,
            jobs: Some(jobs),
            committer,
            writer: Some(writer),
            events,
            once,
            wake_tail,
            tail_stop,
            tail: Some(tail),
            watching,
            outbox_wake,
            runtime_lock: Mutex::new(runtime_lock),
            local: Mutex::new(None),
            remote: std::sync::OnceLock::new(),
            one_shot: std::sync::OnceLock::new(),
            stream: std::sync::OnceLock::new(),
            leases: tokio::sync::OnceCell::new(),
            address: Mutex::new(None),
            role: opts.role,
            recorder,
        })
    }

    /// Where tool calls go when this process runs no live session for
    /// the instance: the runtime host over its socket, else a session
    /// opened for the one request (see [`crate::host::open_embedded`]).
    pub fn set_sessions(&self, remote: Arc<dyn ToolSessions>, one_shot: Arc<dyn ToolSessions>) {
        let _ = self.remote.set(remote);
        let _ = self.one_shot.set(one_shot);
    }

    /// How to find an instance's secret values, so the call history
    /// redacts them (see [`crate::host::open_embedded`]).
    pub fn set_secret_values(&self, values: SecretValues) {
        let _ = self.recorder.secrets.set(values);
    }

    /// How much call history to keep (`history.*` in the config).
    pub fn set_retention(&self, keep: Retention) {
        if let Ok(mut k) = self.recorder.retention.lock() {
            *k = keep;
        }
    }

    /// Who asks: the request's caller ([`history::as_caller`]), else this
    /// process.
    fn caller(&self) -> Caller {
        history::current_caller().unwrap_or_else(|| {
            let pid = std::process::id();
            match self.role {
                Role::Console => Caller::Console { pid },
                Role::Cli => Caller::Cli { pid },
                r => Caller::Local {
                    role: r.as_str().to_string(),
                    pid: Some(pid),
                },
            }
        })
    }

    /// The runtime's live sessions in this process, while it runs.
    fn live_runtime(&self) -> Option<Arc<dyn ToolSessions>> {
        self.local
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .filter(|l| l.available())
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    /// Record a runtime status report (used by the MCP runtime).
    pub async fn report_status(
        &self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<Instance> {
        self.command(move |s| s.report_status(id, report, correlation_id))
            .await
    }

    /// The store, for the outbox relay.
    pub fn store(&self) -> Arc<Mutex<BoxedStore>> {
        self.store.clone()
    }

    /// The sender behind [`Platform::subscribe`], so other live sources
    /// (the Redis watcher) feed the same subscribers; an event that the
    /// tail delivered already (our own, back from the bus) is dropped there.
    /// Send status reports to subscribers as compact records
    /// ([`PlatformEvent::Status`]); the console asks for this.
    pub fn compact_status_events(&self) {
        self.once.set_compact(true);
    }

    pub fn event_sender(&self) -> super::once::OnceSender {
        self.once.clone()
    }

    /// The stream a watcher feeds into [`Self::event_sender`], so
    /// [`Platform::read_stream`] can read all of it on request.
    pub fn attach_stream(&self, cfg: crate::bus::RedisConfig) {
        let _ = self.stream.set(cfg);
    }

    /// Notified after every commit, so an outbox relay flushes promptly.
    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// Whether this process hosts the runtime.
    pub fn is_runtime_host(&self) -> bool {
        self.runtime_lock
            .lock()
            .map(|l| l.is_some())
            .unwrap_or(false)
    }

    /// Try again to become the runtime host (after the holder exited).
    pub fn try_take_runtime(&self, role: Role) -> Result<bool> {
        let mut held = self
            .runtime_lock
            .lock()
            .map_err(|_| PlatformError::Internal("the runtime lock state is poisoned".into()))?;
        if held.is_none() {
            *held = RuntimeLock::try_acquire(&self.dir, role)?;
            let address = self.address.lock().ok().and_then(|a| a.clone());
            if let (Some(lock), Some(a)) = (held.as_mut(), address) {
                lock.write(Some(&a))?;
            }
        }
        Ok(held.is_some())
    }

    /// Say where this process serves its API (`aacon serve`): the runtime
    /// lock names it while this process holds the lock.
    pub fn set_address(&self, address: String) -> Result<()> {
        if let Ok(mut a) = self.address.lock() {
            *a = Some(address.clone());
        }
        let mut held = self
            .runtime_lock
            .lock()
            .map_err(|_| PlatformError::Internal("the runtime lock state is poisoned".into()))?;
        match held.as_mut() {
            Some(lock) => lock.write(Some(&address)),
            None => Ok(()),
        }
    }

    /// Let go of the runtime lock (after the runtime stopped), so another
    /// process (a background host) takes it over.
    pub fn release_runtime(&self) {
        if let Ok(mut held) = self.runtime_lock.lock() {
            *held = None;
        }
    }

    /// Who hosts the runtime of this data dir.
    pub fn runtime_host_now(&self) -> Result<super::RuntimeHost> {
        if self.is_runtime_host() {
            return Ok(super::RuntimeHost::ThisProcess {
                role: self.role.as_str().to_string(),
                pid: std::process::id(),
            });
        }
        Ok(match RuntimeLock::holder(&self.dir)? {
            Some(h) => super::RuntimeHost::Other {
                role: h.role,
                pid: h.pid,
                address: h.address,
            },
            None => super::RuntimeHost::Nobody,
        })
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn StorePort) -> Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .map_err(|_| PlatformError::Internal("the store lock is poisoned".into()))?;
            f(guard.as_mut())
        })
        .await
        .map_err(|e| PlatformError::Internal(format!("a store task failed: {e}")))?
    }

    /// Group commit. The command goes to the store's writer thread, which
    /// takes every command queued meanwhile (up to [`MAX_GROUP`]) and runs
    /// them in one transaction with one fsync ([`Store::group`]), each in
    /// its own SAVEPOINT, and hands every caller its own result after the
    /// COMMIT. A lone command commits alone, in a transaction of its own;
    /// concurrent callers (serve's requests, the runtime's status reports,
    /// the console) share the fsync. Nothing is reported committed before
    /// it is durable.
    ///
    /// A caller alone (the last commit held one command, nothing is
    /// queued, the store is free) commits on its own thread instead, out
    /// of the runtime's way ([`tokio::task::block_in_place`]): two thread
    /// wake-ups fewer per command, which is what one sequential caller
    /// (a CLI, an editor's save) waits for. As soon as commands queue up,
    /// they go to the writer and share its fsyncs again.
    async fn command<F>(&self, f: F) -> Result<Instance>
    where
        F: FnOnce(&mut dyn StorePort) -> Result<(Instance, Envelope)> + Send + 'static,
    {
        let committed = match self.run_alone(f) {
            Ok(committed) => committed,
            Err(f) => self.queue(Box::new(f)).await,
        };
        let (inst, env) = committed?;
        // The stages of a change on its way to a screen (`AACON_LOG=
        // aacon::stage=trace`; the console bench's row 12 reads them).
        tracing::trace!(target: "aacon::stage", "committed");
        tracing::info!(event = %env.event_type, instance = %inst.name, correlation_id = ?env.correlation_id, "committed");
        Ok(inst)
    }

    /// Commit `f` on this thread when nobody else is committing (see
    /// [`EmbeddedPlatform::command`]); else hand it back.
    fn run_alone<F>(&self, f: F) -> std::result::Result<Committed, F>
    where
        F: FnOnce(&mut dyn StorePort) -> Committed,
    {
        let c = &self.committer;
        // block_in_place needs a worker of the multi-thread runtime (the
        // binary's); elsewhere the writer thread commits.
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if !multi || !c.alone.load(Ordering::Acquire) || c.queued.load(Ordering::Acquire) > 0 {
            return Err(f);
        }
        let Ok(mut store) = self.store.try_lock() else {
            return Err(f);
        };
        let out = tokio::task::block_in_place(|| f(store.as_mut()));
        drop(store);
        c.committed();
        #[cfg(test)]
        c.by_callers.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// Send `run` to the writer thread and wait for its result.
    async fn queue(&self, run: Run) -> Committed {
        let (reply, done) = tokio::sync::oneshot::channel();
        let c = &self.committer;
        c.queued.fetch_add(1, Ordering::AcqRel);
        let sent = self
            .jobs
            .as_ref()
            .and_then(|jobs| jobs.send(Job { run, reply }).ok());
        if sent.is_none() {
            c.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(PlatformError::Internal(
                "the store writer has stopped".into(),
            ));
        }
        done.await.map_err(|_| {
            PlatformError::Internal("a store command was dropped before it ran".into())
        })?
    }

    /// The lease tables of the PostgreSQL store; `None` on SQLite.
    async fn leases(&self) -> Option<std::result::Result<&crate::cluster::Cluster, String>> {
        let url = self.dir.store_url()?;
        Some(
            self.leases
                .get_or_try_init(|| crate::cluster::Cluster::connect(url.expose()))
                .await
                .map_err(|e| e.to_string()),
        )
    }

    /// Who acts on a change of desired state, read from the platform (the
    /// lock file's holder, or on PostgreSQL the instance's lease and the
    /// live replicas), never assumed.
    async fn host_message(&self, what: &str, inst: &Instance) -> Result<String> {
        let name = &inst.name;
        if let Some(leases) = self.leases().await {
            return Ok(match lease_holder(leases, inst.id).await {
                Ok(LeaseHolder::Replica(o)) => format!(
                    "{what} '{name}'; replica {} ({}), which holds its lease, acts on it",
                    o.replica, o.address
                ),
                Ok(LeaseHolder::Nobody { live: true }) if inst.wants_a_host() => format!(
                    "{what} '{name}'; no replica holds its lease right now, and the live `aacon serve` replicas take it on at their next renewal"
                ),
                Ok(LeaseHolder::Nobody { live: true }) => {
                    format!("{what} '{name}'; no replica runs it, so nothing is left to stop")
                }
                Ok(LeaseHolder::Nobody { live: false }) => format!(
                    "{what} '{name}' (desired state recorded); no `aacon serve` replica is live on this PostgreSQL store — start one to act on it"
                ),
                Err(e) => format!(
                    "{what} '{name}' (desired state recorded); which `aacon serve` replica acts on it cannot be read: {e}"
                ),
            });
        }
        if self.is_runtime_host() {
            return Ok(format!("{what} '{name}'; this process hosts the runtime"));
        }
        Ok(match RuntimeLock::holder(&self.dir)? {
            Some(h) => format!(
                "{what} '{name}'; the runtime host ({} pid {}) acts on it",
                h.role, h.pid
            ),
            None => format!(
                "{what} '{name}' (desired state recorded); no runtime host is up — open the console or run `aacon serve` to act on it"
            ),
        })
    }
}

/// Who holds an instance's lease on a PostgreSQL store.
enum LeaseHolder {
    Replica(crate::cluster::Owner),
    /// Nobody; `live` when some replica's heartbeat is current.
    Nobody {
        live: bool,
    },
}

async fn lease_holder(
    leases: std::result::Result<&crate::cluster::Cluster, String>,
    id: Uuid,
) -> std::result::Result<LeaseHolder, String> {
    let c = leases?;
    match c.owner_of(&id.to_string()).await {
        Ok(Some(o)) => Ok(LeaseHolder::Replica(o)),
        Ok(None) => c
            .any_live()
            .await
            .map(|live| LeaseHolder::Nobody { live })
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Drop for EmbeddedPlatform {
    fn drop(&mut self) {
        // What is queued for the history is written before we go.
        self.recorder.finish();
        // Closing the job channel ends the writer thread (every command
        // was answered: a command's future borrows the platform).
        self.jobs = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        // The store's watch lets go of its wake-up, then the tail stops.
        self.watching = None;
        self.tail_stop
            .store(true, std::sync::atomic::Ordering::Release);
        self.wake_tail.wake();
        if let Some(t) = self.tail.take() {
            let _ = t.join();
        }
    }
}

/// The store's writer thread: waits for a command, takes every command
/// queued behind it (up to [`MAX_GROUP`]) into one group commit, answers
/// each caller after the COMMIT, then wakes this process's event tail and
/// the outbox relay once for the whole group, and nudges the other
/// processes of the data dir ([`Committer::committed`]). Ends when the
/// platform drops its sender.
fn write_loop(store: &Mutex<BoxedStore>, queue: &std_mpsc::Receiver<Job>, committer: &Committer) {
    let mut runs = Vec::with_capacity(MAX_GROUP);
    let mut replies = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = queue.recv() {
        runs.push(first.run);
        replies.push(first.reply);
        while runs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => {
                    runs.push(job.run);
                    replies.push(job.reply);
                }
                Err(_) => break,
            }
        }
        let taken = runs.len();
        let results = match store.lock() {
            Ok(mut store) => run_group(store.as_mut(), &mut runs),
            Err(_) => {
                runs.clear();
                Err(PlatformError::Internal("the store lock is poisoned".into()))
            }
        };
        match results {
            Ok(results) => {
                for (reply, r) in replies.drain(..).zip(results) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
        // Callers may commit alone again once a commit held one command.
        committer.alone.store(taken == 1, Ordering::Release);
        committer.queued.fetch_sub(taken, Ordering::AcqRel);
        committer.committed();
    }
}

/// Run `runs` (emptied) as one commit: a single command in a transaction
/// of its own (no SAVEPOINT to take), several in one group.
fn run_group(store: &mut dyn StorePort, runs: &mut Vec<Run>) -> Result<Vec<Committed>> {
    if runs.len() == 1
        && let Some(run) = runs.pop()
    {
        return Ok(vec![run(store)]);
    }
    store.group(|s| runs.drain(..).map(|run| run(s)).collect())
}

/// Ask `reader` to say when anyone commits (PostgreSQL's NOTIFY), and wake
/// the tail on each: a thread forwards until the returned watch is dropped.
/// `None` when the store cannot (SQLite: the writers nudge, the tail polls).
fn watch_store(reader: &BoxedStore, wake: &nudge::Waker) -> Result<Option<Watching>> {
    let (tx, rx) = std_mpsc::channel::<()>();
    let Some(watching) = reader.watch(tx) else {
        return Ok(None);
    };
    let wake = wake.clone();
    std::thread::Builder::new()
        .name("aacon-store-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                wake.wake();
            }
        })
        .map_err(|e| PlatformError::Internal(format!("cannot watch the store: {e}")))?;
    Ok(Some(watching))
}

/// Read new events and broadcast them: at once when woken (this process
/// committed, or another nudged), else when `data_version` moved since the
/// last look, every [`TAIL_INTERVAL`] (a writer that does not nudge).
fn tail_loop(
    reader: BoxedStore,
    mut last_seq: i64,
    inbox: &nudge::Inbox,
    stop: &std::sync::atomic::AtomicBool,
    tx: super::once::OnceSender,
) {
    let mut last_version = reader.data_version().unwrap_or(0);
    let mut names = Names::default();
    loop {
        let woken = inbox.wait(TAIL_INTERVAL);
        if stop.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let version = match reader.data_version() {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "event tail cannot read the store");
                continue;
            }
        };
        if !woken && version == last_version {
            continue;
        }
        last_version = version;
        if skip_unheard(reader.as_ref(), &mut last_seq, &tx) {
            continue;
        }
        loop {
            match reader.events_after_text(last_seq, 1000) {
                Ok(batch) if batch.is_empty() => break,
                Ok(batch) => {
                    let compact = tx.compact();
                    let mut out = Vec::with_capacity(batch.len());
                    for (seq, text) in batch {
                        last_seq = seq;
                        if compact && let Some(s) = StatusEvent::parse(&text, &mut names) {
                            out.push(PlatformEvent::Status(Arc::new(s)));
                        } else if let Ok(env) = serde_json::from_str::<Envelope>(&text) {
                            out.push(PlatformEvent::Event(Arc::new(env)));
                        }
                    }
                    // No receivers is fine: nobody is listening yet.
                    tx.send_batch(out);
                    tracing::trace!(target: "aacon::stage", "tailed");
                    wait_for_subscribers(&tx);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event tail cannot read new events");
                    break;
                }
            }
        }
    }
}

/// Nobody subscribes: move `last_seq` past the log's end without reading
/// or decoding the events (what is sent while nobody subscribes reaches
/// nobody; a subscriber hears what is committed after it subscribed).
/// The end is read before the subscribers are counted again, so an event
/// committed after a subscriber arrived is never skipped. `false`: read
/// the events as usual.
fn skip_unheard(reader: &dyn StorePort, last_seq: &mut i64, tx: &super::once::OnceSender) -> bool {
    if tx.has_subscribers() {
        return false;
    }
    let Ok(end) = reader.last_seq() else {
        return false;
    };
    if tx.has_subscribers() {
        return false;
    }
    *last_seq = end.max(*last_seq);
    true
}

/// Wait while more than [`TAIL_BACKLOG`] events are queued for the slowest
/// subscriber and it is reading them. One that reads nothing for two looks
/// does not hold the others up: the tail goes on, and that subscriber falls
/// behind and reloads, as it would without the wait.
fn wait_for_subscribers(tx: &super::once::OnceSender) {
    let mut before = tx.backlog();
    let mut still = 0;
    while before > TAIL_BACKLOG && still < 2 {
        std::thread::sleep(TAIL_BACKLOG_LOOK);
        let now = tx.backlog();
        still = if now < before { 0 } else { still + 1 };
        before = now;
    }
}

fn correlation() -> Option<String> {
    Some(Uuid::new_v4().to_string())
}

#[async_trait]
impl Platform for EmbeddedPlatform {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "embedded".into(),
            read_only: false,
        }
    }

    async fn list(&self) -> Result<Vec<Instance>> {
        self.blocking(|s| s.list()).await
    }

    /// The last event's sequence number: every change to an instance
    /// commits an event in the same transaction, and sequence numbers are
    /// never reused (AUTOINCREMENT), so the list changes only with it.
    async fn list_stamp(&self) -> Result<Option<i64>> {
        self.blocking(|s| s.last_seq()).await.map(Some)
    }

    async fn get(&self, key: &str) -> Result<Instance> {
        let key = key.to_string();
        self.blocking(move |s| s.get(&key)).await
    }

    async fn create(&self, new: NewInstance) -> Result<Instance> {
        self.command(move |s| s.create(new, correlation())).await
    }

    async fn update(
        &self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
    ) -> Result<Instance> {
        if patch.is_empty() {
            return Err(PlatformError::Invalid("nothing to change".into()));
        }
        self.command(move |s| s.update(id, patch, expect, correlation()))
            .await
    }

    async fn delete(&self, id: Uuid) -> Result<()> {
        self.command(move |s| s.delete(id, correlation()))
            .await
            .map(|_| ())
    }

    async fn start(&self, id: Uuid) -> Result<ActionOutcome> {
        let inst = self
            .command(move |s| s.set_desired(id, DesiredState::Running, correlation()))
            .await?;
        let message = self.host_message("start requested for", &inst).await?;
        Ok(ActionOutcome {
            instance: inst,
            message,
        })
    }

    async fn stop(&self, id: Uuid) -> Result<ActionOutcome> {
        let inst = self
            .command(move |s| s.set_desired(id, DesiredState::Stopped, correlation()))
            .await?;
        let message = self.host_message("stop requested for", &inst).await?;
        Ok(ActionOutcome {
            instance: inst,
            message,
        })
    }

    /// The stop and the start commit together under one correlation id;
    /// the runtime host replaces the running session when it sees them.
    async fn restart(&self, id: Uuid) -> Result<ActionOutcome> {
        let inst = self.command(move |s| s.restart(id, correlation())).await?;
        let message = self.host_message("restart requested for", &inst).await?;
        Ok(ActionOutcome {
            instance: inst,
            message,
        })
    }

    async fn runtime_host(&self) -> Option<super::RuntimeHost> {
        self.runtime_host_now().ok()
    }

    async fn validate(&self, spec: &serde_json::Value) -> Result<Report> {
        Ok(spec::validate(spec))
    }

    async fn events(&self, query: EventQuery) -> Result<Vec<Envelope>> {
        self.blocking(move |s| s.events(&query)).await
    }

    async fn state_at(&self, at: DateTime<Utc>) -> Result<crate::domain::replay::Moment> {
        self.blocking(move |s| s.state_at(at)).await
    }

    async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        self.blocking(move |s| s.events_between(from, to, instance))
            .await
    }

    fn subscribe(&self) -> broadcast::Receiver<PlatformEvent> {
        self.events.subscribe()
    }

    async fn read_stream(&self) -> Result<String> {
        let Some(cfg) = self.stream.get() else {
            return Err(PlatformError::Unavailable(
                "this console watches no Redis stream (--redis)".into(),
            ));
        };
        let got = crate::bus::full::read_all(cfg, &self.once)
            .await
            .map_err(|e| {
                PlatformError::Unavailable(format!("reading the whole stream failed: {e}"))
            })?;
        let skipped = match got.malformed {
            0 => String::new(),
            n => format!("; {n} undecodable entries skipped"),
        };
        Ok(format!(
            "read all {} entries the stream {} retains: {} events were new here{skipped}",
            got.read, cfg.stream_key, got.fresh
        ))
    }

    async fn tools(&self, id: Uuid) -> Result<Vec<ToolInfo>> {
        if let Some(tools) = self.live_runtime().and_then(|rt| rt.live_tools(id)) {
            return Ok(tools);
        }
        self.blocking(move |s| s.tools(id)).await
    }

    async fn call_tool_watched(
        &self,
        id: Uuid,
        tool: &str,
        args: serde_json::Value,
        ctl: CallControl,
    ) -> Result<ToolCallResult> {
        let inst = self.blocking(move |s| s.get(&id.to_string())).await?;
        let caller = self.caller();
        let (at, started) = (Utc::now(), std::time::Instant::now());
        let mut forwarded = false;
        let answer = self
            .call_tool_on(&inst, tool, args.clone(), &ctl, &caller, &mut forwarded)
            .await;
        // A call sent to the runtime host is recorded there, once.
        if !forwarded {
            self.recorder.record(record::Ended {
                inst,
                at,
                caller,
                kind: CallKind::Tool,
                name: tool.to_string(),
                args,
                took: started.elapsed(),
                answer: match &answer {
                    Ok(out) => Ok((out.result.clone(), out.is_error)),
                    Err(e) => Err(record::Failure::of_tool(e)),
                },
            });
        }
        Ok(answer?)
    }

    async fn mcp(&self, id: Uuid, op: McpOp) -> Result<serde_json::Value> {
        let inst = self.blocking(move |s| s.get(&id.to_string())).await?;
        let recorded = match &op {
            McpOp::Read { uri } => Some((CallKind::Resource, uri.clone(), serde_json::json!({}))),
            McpOp::GetPrompt { name, arguments } => Some((
                CallKind::Prompt,
                name.clone(),
                serde_json::Value::Object(arguments.clone()),
            )),
            _ => None,
        };
        let Some((kind, name, args)) = recorded else {
            return self.mcp_on(&inst, op, None, &mut false).await;
        };
        let caller = self.caller();
        let (at, started) = (Utc::now(), std::time::Instant::now());
        let mut forwarded = false;
        let answer = self.mcp_on(&inst, op, Some(&caller), &mut forwarded).await;
        if !forwarded {
            self.recorder.record(record::Ended {
                inst,
                at,
                caller,
                kind,
                name,
                args,
                took: started.elapsed(),
                answer: match &answer {
                    Ok(v) => Ok((v.clone(), false)),
                    Err(e) => Err(record::Failure::of_platform(e)),
                },
            });
        }
        answer
    }

    async fn history(&self, id: Uuid, limit: usize) -> Result<Vec<CallRecord>> {
        self.blocking(move |s| s.history(id, limit)).await
    }

    async fn history_call(&self, id: Uuid, call: i64) -> Result<CallRecord> {
        self.blocking(move |s| s.history_call(id, call)).await
    }

    async fn logs(&self, id: Uuid, after: Option<u64>) -> Result<crate::platform::LogPage> {
        if let Some(rt) = self.live_runtime() {
            return rt.logs(id, after).await;
        }
        if let Some(host) = self.other_host() {
            return host.logs(id, after).await;
        }
        Err(PlatformError::Unavailable(
            "no runtime host is up, so no log is kept; open the console or run `aacon serve`"
                .into(),
        ))
    }

    /// The runtime's probes: here, or the host's over its socket; none
    /// when no host is up (nothing runs, nothing is probed).
    /// On PostgreSQL, the replica holding the instance's lease; `None` on
    /// SQLite, where one process runs every instance.
    async fn hosting(&self, id: Uuid) -> Result<Option<super::Hosting>> {
        let Some(leases) = self.leases().await else {
            return Ok(None);
        };
        match lease_holder(leases, id).await {
            Ok(LeaseHolder::Replica(o)) => Ok(Some(super::Hosting::By {
                replica: o.replica,
                address: o.address,
            })),
            Ok(LeaseHolder::Nobody { .. }) => Ok(Some(super::Hosting::Nobody)),
            Err(e) => Err(PlatformError::Unavailable(format!(
                "cannot tell which replica hosts instance {id}: {e}"
            ))),
        }
    }

    async fn probes(&self) -> Result<Vec<crate::domain::Probe>> {
        if let Some(rt) = self.live_runtime() {
            return rt.probes().await;
        }
        if let Some(host) = self.other_host() {
            return host.probes().await;
        }
        Ok(Vec::new())
    }
}

impl EmbeddedPlatform {
    /// Call `tool`: arguments checked first, then the live session here,
    /// the runtime host over its socket (as `caller`; `forwarded` is set:
    /// the host records the call), or a session just for this call when nobody
    /// runs the instance. Each masks the instance's secrets in what the
    /// server sent.
    async fn call_tool_on(
        &self,
        inst: &Instance,
        tool: &str,
        args: serde_json::Value,
        ctl: &CallControl,
        caller: &Caller,
        forwarded: &mut bool,
    ) -> std::result::Result<ToolCallResult, ToolError> {
        if !args.is_object() {
            return Err(ArgError::NotObject.into());
        }
        // Check against the known schema before anything is sent.
        let known = self.tools(inst.id).await?;
        if !known.is_empty() {
            check_args(&known, tool, args.clone())?;
        }
        let (sessions, to_host) = self.sessions_for(inst.id)?;
        *forwarded = to_host;
        let call = sessions.call_tool(inst, tool, args, ctl);
        if to_host {
            history::as_caller(caller.clone(), call).await
        } else {
            call.await
        }
    }

    /// [`Platform::mcp`] on the live session here, the runtime host (as
    /// `caller`; `forwarded` is set: the host records it) or a session for
    /// the one request.
    async fn mcp_on(
        &self,
        inst: &Instance,
        op: McpOp,
        caller: Option<&Caller>,
        forwarded: &mut bool,
    ) -> Result<serde_json::Value> {
        if let Some(rt) = self.live_runtime().filter(|rt| rt.is_live(inst.id)) {
            return Ok(rt.mcp(inst, op).await?);
        }
        if let Some(host) = self.other_host() {
            *forwarded = true;
            let caller = caller.cloned().unwrap_or_else(|| self.caller());
            return Ok(history::as_caller(caller, host.mcp(inst, op)).await?);
        }
        if matches!(op, McpOp::Updated) {
            // No session here, so no notices.
            return Ok(serde_json::json!({"updated": {}}));
        }
        if matches!(
            op,
            McpOp::Identity | McpOp::Ping | McpOp::Subscribe { .. } | McpOp::SetLevel { .. }
        ) {
            // These speak of a running session; none is started for them
            // (a level set on a session just for it would be lost with it).
            return Err(PlatformError::Unavailable(format!(
                "instance '{}' is not running here, so there is no session to ask; start it first",
                inst.name
            )));
        }
        Ok(self.one_shot()?.mcp(inst, op).await?)
    }

    /// Who answers a request about `id`: the live session here, the
    /// runtime host over its socket, or a session for the one request.
    /// `true`: the runtime host over its socket.
    fn sessions_for(&self, id: Uuid) -> Result<(Arc<dyn ToolSessions>, bool)> {
        if let Some(rt) = self.live_runtime().filter(|rt| rt.is_live(id)) {
            return Ok((rt, false));
        }
        if let Some(host) = self.other_host() {
            return Ok((host, true));
        }
        Ok((self.one_shot()?, false))
    }

    fn one_shot(&self) -> Result<Arc<dyn ToolSessions>> {
        self.one_shot.get().cloned().ok_or_else(|| {
            PlatformError::Unavailable(
                "this process cannot open a session to an MCP server (no runtime is wired to this platform)".into(),
            )
        })
    }

    /// The runtime host of this data dir when it is another process (never
    /// this one: it would answer through this very platform).
    fn other_host(&self) -> Option<Arc<dyn ToolSessions>> {
        if self.is_runtime_host() || self.live_runtime().is_some() {
            return None;
        }
        self.remote.get().filter(|r| r.available()).cloned()
    }
}

#[async_trait]
impl RuntimePort for EmbeddedPlatform {
    async fn instances(&self) -> Result<Vec<Instance>> {
        self.blocking(|s| s.list()).await
    }

    async fn instance(&self, id: Uuid) -> Result<Instance> {
        self.blocking(move |s| s.get(&id.to_string())).await
    }

    fn follow(&self) -> broadcast::Receiver<PlatformEvent> {
        self.events.subscribe()
    }

    async fn report_status(
        &self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<Instance> {
        EmbeddedPlatform::report_status(self, id, report, correlation_id).await
    }

    async fn record_notice(&self, id: Uuid, n: crate::platform::NoticeReport) -> Result<()> {
        let data = serde_json::json!({
            "notification": n.method,
            "subject": n.subject,
            "count": n.count,
            "first_at": n.first_at.to_rfc3339(),
            "last_at": n.last_at.to_rfc3339(),
            "detail": n.detail,
        });
        self.command(move |s| s.record_notice(id, data))
            .await
            .map(|_| ())
    }

    async fn set_tools(&self, id: Uuid, tools: Vec<ToolInfo>) -> Result<()> {
        self.blocking(move |s| s.set_tools(id, &tools)).await
    }

    /// The tools and the status in one command (one commit, shared with
    /// whatever else is queued).
    async fn report_up(
        &self,
        id: Uuid,
        tools: Vec<ToolInfo>,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<Instance> {
        self.command(move |s| s.report_up(id, &tools, report, correlation_id))
            .await
    }

    async fn stored_tools(&self, id: Uuid) -> Result<Vec<ToolInfo>> {
        self.blocking(move |s| s.tools(id)).await
    }

    async fn last_command_correlations(&self) -> Result<std::collections::HashMap<Uuid, String>> {
        self.blocking(|s| s.last_command_correlations()).await
    }

    fn data_dir(&self) -> &DataDir {
        EmbeddedPlatform::data_dir(self)
    }

    fn attach_sessions(&self, sessions: Arc<dyn ToolSessions>) {
        if let Ok(mut l) = self.local.lock() {
            *l = Some(sessions);
        }
    }
}

/// A duration `since` cannot read (as typed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a duration; write it like 30s, 15m, 2h or 7d")]
pub struct DurationError(String);

/// Parse `30s`, `5m`, `2h`, `1d` into a time before now.
pub fn since(duration: &str) -> std::result::Result<DateTime<Utc>, DurationError> {
    let d = duration.trim();
    let (num, unit) = d.split_at(d.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.len()));
    let n: i64 = num.parse().map_err(|_| DurationError(d.to_string()))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(DurationError(d.to_string())),
    };
    Ok(Utc::now() - chrono::Duration::seconds(secs))
}
