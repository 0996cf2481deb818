//! `aacon host run|start|status|stop`: a background runtime host. It runs
//! the instances of a data dir without a console (a console that quits
//! with "detach" starts one), in its own session so it outlives the
//! terminal, and holds the runtime lock like a console or `aacon serve`.

use super::commands::{Failure, print};
use super::output::{age, inert, table};
use super::{Global, HostCmd, Output, exit};
use crate::cluster::{Cluster, ReplicaInfo};
use crate::domain::{DesiredState, Status};
use crate::host::{Hosted, RelayWhen};
use crate::paths::DataDir;
use crate::platform::Platform;
use crate::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, LockHolder, Role, RuntimeLock};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

type Outcome = Result<(), Failure>;

/// How long a new background host may take to hold the runtime lock (the
/// previous host stops its stdio servers first).
pub const TAKEOVER_WAIT: Duration = Duration::from_secs(20);
/// How long `host stop` waits for the host to stop its instances and exit.
const STOP_WAIT: Duration = Duration::from_secs(30);

pub(super) async fn host(dir: &DataDir, global: &Global, cmd: HostCmd, fmt: Output) -> Outcome {
    if super::serve_cmd::api_options(global)?.is_some() {
        return Err(Failure::new(
            exit::USAGE,
            "`aacon host` hosts the embedded platform's runtime; in API mode the API server runs the instances",
        ));
    }
    match cmd {
        HostCmd::Run => run(dir, global).await,
        HostCmd::Start => start(dir, global, fmt).await,
        HostCmd::Status => status(dir, fmt).await,
        HostCmd::Stop => stop(dir, fmt).await,
    }
}

fn holder(dir: &DataDir) -> Result<Option<LockHolder>, Failure> {
    Ok(RuntimeLock::holder(dir)?)
}

/// Host the runtime in this process until SIGTERM or Ctrl-C (a hangup is
/// ignored: a background host has no terminal to lose).
async fn run(dir: &DataDir, global: &Global) -> Outcome {
    let settings = super::serve_cmd::settings(global)?;
    let redis = crate::platform::api::redis_config(&settings)
        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    if dir.store_url().is_some() {
        return Err(Failure::new(
            exit::USAGE,
            "on a PostgreSQL store the instances run in `aacon serve` replicas, shared by lease; run `aacon serve` instead of a background host",
        ));
    }
    let runtime_cfg = super::serve_cmd::runtime_config(&settings);
    let embedded = Hosted::open(dir, Role::Host, &runtime_cfg)?;
    embedded.set_retention(super::serve_cmd::retention(&settings));
    if !embedded.is_runtime_host() {
        tracing::info!(
            "another process hosts the runtime; the background host takes it over when it lets go"
        );
    }
    // A short retry: a console that detaches lets go right after its
    // servers stopped, and the instances should not wait long.
    let hosted = Hosted::start(
        embedded.clone(),
        Role::Host,
        runtime_cfg,
        redis,
        RelayWhen::Always,
        Duration::from_millis(100),
    );
    tracing::info!(pid = std::process::id(), "background host running");
    say(&format!(
        "aacon: hosting the runtime of {} (pid {}){}; SIGTERM or Ctrl-C stops it and its instances",
        dir.root().display(),
        std::process::id(),
        if embedded.is_runtime_host() {
            ""
        } else {
            ", once the current host lets go"
        }
    ));
    wait_for_stop().await;
    tracing::info!("background host stopping");
    hosted.shutdown().await;
    tracing::info!("background host stopped");
    say("aacon: stopped");
    Ok(())
}

/// SIGTERM or SIGINT; SIGHUP is logged and ignored.
async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot watch signals; the background host runs until killed");
        return futures::future::pending().await;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => tracing::info!("hangup ignored: a background host has no terminal"),
        }
    }
}

/// Why no background host could be started.
#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    #[error("cannot find the aacon executable: {0}")]
    NoExe(std::io::Error),
    #[error("cannot start a background host: {0}")]
    Spawn(std::io::Error),
}

/// Start `aacon host run` for `dir` in a session of its own (setsid), with
/// no terminal: it outlives the terminal and the process that started it.
/// Returns its pid.
pub fn spawn_background(dir: &DataDir, global: &Global) -> Result<u32, BackgroundError> {
    let exe = std::env::current_exe().map_err(BackgroundError::NoExe)?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["host", "run", "--data-dir"]).arg(dir.root());
    if let Some(c) = &global.config {
        cmd.arg("--config").arg(c);
    }
    // --redis never holds a password (it is refused), so argv is safe.
    if let Some(r) = &global.redis {
        cmd.args(["--redis", r]);
    }
    if let Some(l) = &global.log {
        cmd.args(["--log", l]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of ours;
    // it runs in the forked child before exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(BackgroundError::Spawn)?;
    let pid = child.id();
    // Reap it if it ends while this process still runs.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// Wait until process `pid` holds the runtime lock; false after `limit`,
/// when it exited, or when another process took the lock instead.
pub async fn wait_for_holder(dir: &DataDir, pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(h)) = RuntimeLock::holder(dir) {
            if h.pid == pid {
                return true;
            }
            // Another process (not this one's old line, not a line still
            // being written) took it instead.
            if h.pid != 0 && h.pid != std::process::id() {
                return false;
            }
        }
        if !process_alive(pid) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Whether `pid` runs (and is not a zombie waiting to be reaped).
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        // SAFETY: signal 0 only checks that the process exists.
        return unsafe { libc::kill(pid as i32, 0) } == 0;
    };
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z")
}

async fn start(dir: &DataDir, global: &Global, fmt: Output) -> Outcome {
    if let Some(h) = holder(dir)? {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "the runtime is already hosted by {} pid {}; no background host started",
                h.role, h.pid
            ),
        ));
    }
    let pid =
        spawn_background(dir, global).map_err(|e| Failure::new(exit::RUNTIME, e.to_string()))?;
    if !wait_for_holder(dir, pid, TAKEOVER_WAIT).await {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "the background host (pid {pid}) did not take the runtime over; see `aacon logs tail`"
            ),
        ));
    }
    match fmt {
        Output::Table => print(&format!(
            "started a background host (pid {pid}); `aacon host stop` stops it\n"
        )),
        _ => print(&format!(
            "{}\n",
            json!({"status": "success", "pid": pid, "role": "host"})
        )),
    }
    Ok(())
}

/// Instances desired running and observed running, read from the store.
async fn counts(dir: &DataDir) -> Option<(usize, usize)> {
    let p = EmbeddedPlatform::open(
        dir.clone(),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .ok()?;
    let list = p.list().await.ok()?;
    let desired = list
        .iter()
        .filter(|i| i.desired_state == DesiredState::Running)
        .count();
    let running = list
        .iter()
        .filter(|i| matches!(i.status, Status::Running | Status::Unhealthy))
        .count();
    Some((desired, running))
}

fn who(h: &LockHolder) -> String {
    match (h.role.as_str(), &h.address) {
        ("host", _) => format!("a background host (pid {})", h.pid),
        ("serve", Some(a)) => format!("aacon serve at {a} (pid {})", h.pid),
        (role, _) => format!("a {role} (pid {})", h.pid),
    }
}

/// The replicas sharing the instances by lease, when the store is
/// PostgreSQL: `None` on SQLite, else the `replicas` table or why it could
/// not be read.
async fn replicas(dir: &DataDir) -> Option<Result<Vec<ReplicaInfo>, String>> {
    let url = dir.store_url()?;
    let read = async {
        let cluster = Cluster::connect_with(url.expose(), REPLICAS_TIMEOUT).await?;
        cluster.replicas().await
    };
    Some(read.await.map_err(|e| e.to_string()))
}

/// The bound on reading the replicas (connect and query each).
const REPLICAS_TIMEOUT: Duration = Duration::from_secs(5);

fn replicas_table(list: &[ReplicaInfo], now: chrono::DateTime<chrono::Utc>) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                inert(&r.id),
                inert(&r.address),
                age(r.started_at, now),
                format!("{} ago", age(r.heartbeat_at, now)),
                if r.live { "yes" } else { "no" }.to_string(),
                r.leases.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "REPLICA",
            "ADDRESS",
            "STARTED",
            "HEARTBEAT",
            "LIVE",
            "LEASES",
        ],
        &rows,
    )
}

fn replicas_json(list: &[ReplicaInfo], now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!(
        list.iter()
            .map(|r| json!({
                "id": r.id,
                "address": r.address,
                "started_at": r.started_at,
                "heartbeat_at": r.heartbeat_at,
                "heartbeat_age_secs": (now - r.heartbeat_at).num_milliseconds().max(0) as f64 / 1000.0,
                "live": r.live,
                "leases": r.leases,
            }))
            .collect::<Vec<_>>()
    )
}

async fn status(dir: &DataDir, fmt: Output) -> Outcome {
    let h = holder(dir)?;
    let counts = counts(dir).await;
    let replicas = replicas(dir).await;
    let now = chrono::Utc::now();
    let live = replicas
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .is_some_and(|l| l.iter().any(|r| r.live));
    match fmt {
        Output::Table => {
            let mut out = match &h {
                Some(h) => format!("the runtime is hosted by {} since {}\n", who(h), h.since),
                None if live => "no process of this data dir hosts the runtime; the replicas below host the instances\n".to_string(),
                None => "no runtime host is up: instances do not run (open the console, run `aacon serve` or `aacon host start`)\n".to_string(),
            };
            if let Some((desired, running)) = counts {
                out.push_str(&format!("{running} running, {desired} desired running\n"));
            }
            if h.as_ref().is_some_and(|h| h.role == "host") {
                out.push_str("`aacon host stop` stops it\n");
            }
            match &replicas {
                None => {}
                Some(Ok(list)) if list.is_empty() => {
                    out.push_str("no replica shares the instances by lease on this store\n");
                }
                Some(Ok(list)) => {
                    let live = list.iter().filter(|r| r.live).count();
                    out.push_str(&format!(
                        "\n{live} of {} replicas live, sharing the instances by lease:\n",
                        list.len()
                    ));
                    out.push_str(&replicas_table(list, now));
                }
                Some(Err(e)) => out.push_str(&format!("cannot list the replicas: {e}\n")),
            }
            print(&out);
        }
        _ => {
            let host = h.as_ref().map(|h| {
                json!({
                    "pid": h.pid,
                    "role": h.role,
                    "background": h.role == "host",
                    "since": h.since,
                    "address": h.address,
                })
            });
            let mut doc = json!({ "host": host });
            if let Some((desired, running)) = counts {
                doc["running"] = json!(running);
                doc["desired_running"] = json!(desired);
            }
            match &replicas {
                None => {}
                Some(Ok(list)) => doc["replicas"] = replicas_json(list, now),
                Some(Err(e)) => doc["replicas_error"] = json!(e),
            }
            print(&format!("{doc}\n"));
        }
    }
    // On a shared store the replicas host the instances: a live one is
    // enough.
    if h.is_none() && !live {
        return Err(Failure::new(exit::NOT_FOUND, "no runtime host is up"));
    }
    Ok(())
}

async fn stop(dir: &DataDir, fmt: Output) -> Outcome {
    let Some(h) = holder(dir)? else {
        return Err(Failure::new(
            exit::NOT_FOUND,
            "no background host is running (nothing hosts the runtime)",
        ));
    };
    if h.role != "host" {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "no background host is running: the runtime is hosted by {}; stop it there",
                who(&h)
            ),
        ));
    }
    // SAFETY: plain kill(2); the pid holds the runtime lock, so it is the
    // live host process that wrote it.
    if unsafe { libc::kill(h.pid as i32, libc::SIGTERM) } != 0 {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "cannot signal the background host (pid {}): {}",
                h.pid,
                std::io::Error::last_os_error()
            ),
        ));
    }
    let start = Instant::now();
    loop {
        match RuntimeLock::holder(dir) {
            Ok(Some(now)) if now.pid == h.pid => {}
            _ => break,
        }
        if start.elapsed() > STOP_WAIT {
            return Err(Failure::new(
                exit::RUNTIME,
                format!(
                    "the background host (pid {}) did not stop within {} s",
                    h.pid,
                    STOP_WAIT.as_secs()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match fmt {
        Output::Table => print(&format!(
            "stopped the background host (pid {}); its instances stopped and start again when a console, `aacon serve` or `aacon host start` hosts the runtime\n",
            h.pid
        )),
        _ => print(&format!(
            "{}\n",
            json!({"status": "success", "pid": h.pid, "stopped": true})
        )),
    }
    Ok(())
}

/// Say one line on stderr; after a hangup stderr is /dev/null, and a line
/// that cannot be written is dropped (never a panic).
fn say(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// A console quits with "detach" (asked, or on a hangup): start a
/// background host, stop this console's servers without reporting them
/// stopped, let go of the runtime lock, and wait for the host to hold it.
/// Stdio servers cannot be handed over: the new host starts them again.
pub(super) async fn detach(dir: &DataDir, global: &Global, hosted: Hosted) -> Outcome {
    let pid = match spawn_background(dir, global) {
        Ok(pid) => pid,
        Err(e) => {
            tracing::error!(error = %e, "cannot detach: no background host");
            hosted.shutdown().await;
            return Err(Failure::new(
                exit::RUNTIME,
                format!(
                    "{e}; the instances were stopped (their desired state stays running, so the next runtime host starts them)"
                ),
            ));
        }
    };
    tracing::info!(pid, "detaching: a background host takes the runtime over");
    say(&format!(
        "aacon: detaching: a background host (pid {pid}) takes the instances over; stdio servers restart under it"
    ));
    hosted.hand_over().await;
    if wait_for_holder(dir, pid, TAKEOVER_WAIT).await {
        tracing::info!(pid, "the background host took the runtime over");
        say(&format!(
            "aacon: the instances keep running under a background host (pid {pid}); stdio servers were restarted there. `aacon host status` shows it, `aacon host stop` stops it."
        ));
        Ok(())
    } else if let Ok(Some(h)) = RuntimeLock::holder(dir)
        && h.pid != pid
        && h.pid != 0
        && h.pid != std::process::id()
    {
        // Another process (a second console) took it first: the instances
        // run there, and the background host would only wait.
        // SAFETY: plain kill(2) on the host this process started.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
        tracing::info!(holder = h.pid, role = %h.role, "another process took the runtime over");
        say(&format!(
            "aacon: the instances keep running under {} which took the runtime over first; no background host was left",
            who(&h)
        ));
        Ok(())
    } else {
        tracing::error!(pid, "the background host did not take the runtime over");
        Err(Failure::new(
            exit::RUNTIME,
            format!(
                "the background host (pid {pid}) did not take the runtime over, so nothing runs the instances now; see `aacon logs tail`, then run `aacon host start`"
            ),
        ))
    }
}
