//! One instance's life under the runtime: bring it up, watch the session,
//! probe its health, restart it with backoff, report each change.

use super::*;
use crate::platform::LogLevel;

/// Bring one instance up: resolve its plan and connect.
pub(super) async fn bring_up(
    shared: &Shared,
    inst: &Instance,
    ring: Arc<Mutex<LogRing>>,
) -> Result<(Session, Vec<ToolInfo>, Option<String>), session::StartError> {
    let resolved = plan::for_instance(inst, &shared.secrets)?;
    if let Ok(mut r) = ring.lock() {
        r.set_secrets(resolved.secrets.clone());
    }
    let t = shared.cfg.init_timeout;
    let requests = || {
        super::client_requests::ClientRequests::for_spec(&inst.json_spec, shared.cfg.elicitation)
    };
    match resolved.plan {
        plan::Plan::Process(p) => Session::spawn(
            &p,
            t,
            ring,
            &childenv::inherited(&shared.cfg.child_env, &[]),
            requests(),
        )
        .await
        .map(|(s, tools)| (s, tools, None)),
        plan::Plan::Endpoint(e) => {
            Session::connect(&e, t, &shared.http, requests())
                .await
                .map(|(s, tools)| {
                    // The server's log messages go into the instance's log.
                    s.notices.log_to(ring);
                    (s, tools, None)
                })
        }
        plan::Plan::Container(c) => {
            let cli = container_cli().await?;
            let cname = format!("aacon-{}-{}", inst.name, &inst.id.simple().to_string()[..8]);
            let p = container_process(cli, &cname, &c);
            // The CLI process gets the allowlist (and what it needs to find
            // its daemon); the container only the spec's `-e` variables.
            let base = childenv::inherited(&shared.cfg.child_env, childenv::CONTAINER_CLI_ALLOW);
            Session::spawn(&p, t, ring, &base, requests())
                .await
                .map(|(s, tools)| (s, tools, Some(format!("{cli} rm -f {cname}"))))
        }
    }
}

pub(super) enum SessionEnd {
    Stop {
        correlation_id: Option<String>,
        reason: Option<String>,
        report: bool,
    },
    Died(String),
}

/// One instance's life: bring up, watch, probe, restart with backoff.
pub(super) async fn supervise(
    shared: Arc<Shared>,
    inst: Instance,
    mut correlation_id: Option<String>,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    wait_for: Option<JoinHandle<()>>,
) {
    if let Some(h) = wait_for {
        let _ = h.await;
    }
    let id = inst.id;
    let ring = shared.ring(id);
    let mut restarts: u32 = 0;
    let mut failures: u32 = 0;
    let mut announce = true;
    loop {
        // "starting" commits while the server is brought up (no commit to
        // wait for before the spawn); every later report waits for it, so
        // the log keeps the order.
        let mut starting = None;
        if announce {
            let (shared, correlation_id) = (shared.clone(), correlation_id.clone());
            starting = Some(tokio::spawn(async move {
                shared
                    .report(
                        id,
                        StatusReport {
                            status: Some(Status::Starting),
                            reason: (restarts > 0).then(|| format!("restart {restarts}")),
                            restarts: Some(restarts),
                            ..Default::default()
                        },
                        correlation_id,
                    )
                    .await;
            }));
            announce = false;
        }
        shared.mark(
            id,
            LogLevel::Notice,
            &if restarts == 0 {
                "starting".to_string()
            } else {
                format!("restarting (restart {restarts})")
            },
        );
        let attempt = tokio::select! {
            r = bring_up(&shared, &inst, ring.clone()) => Some(r),
            c = ctl.recv() => {
                if let Some(h) = starting.take() {
                    let _ = h.await;
                }
                stop_request(&shared, id, c).await;
                return;
            }
        };
        if let Some(h) = starting.take() {
            let _ = h.await;
        }
        let Some(attempt) = attempt else { return };
        match attempt {
            Ok((mut session, tools, cleanup)) => {
                let peer = session.peer();
                // What the server notifies unasked goes into the history.
                session
                    .notices
                    .tell(super::notify::recorder(&shared, id, ring.clone()));
                let pid = session
                    .pid()
                    .map(|p| format!(", pid {p}"))
                    .unwrap_or_default();
                shared.mark(
                    id,
                    LogLevel::Notice,
                    &format!("running: {}{pid}", session.server),
                );
                shared.with_live(id, |l| {
                    l.tools = tools.clone();
                    l.peer = Some(peer.clone());
                    l.pid = session.pid();
                    l.last_good_probe = Some(Utc::now());
                    l.server = Some(session.server.clone());
                    l.notices = Some(session.notices.clone());
                });
                // A new session (a restart): ask again for the log level
                // and subscribe again to what was.
                let (level, subs) =
                    shared.with_live(id, |l| (l.log_level, l.subscriptions.clone()));
                let again: Vec<surface::McpOp> = level
                    .map(|level| surface::McpOp::SetLevel { level })
                    .into_iter()
                    .chain(
                        subs.into_iter()
                            .map(|uri| surface::McpOp::Subscribe { uri }),
                    )
                    .collect();
                if !again.is_empty() {
                    let (peer, timeout) = (peer.clone(), shared.cfg.call_timeout);
                    tokio::spawn(async move {
                        for op in again {
                            let doing = op.doing();
                            if let Err(e) = surface::run(&peer, None, op, timeout).await {
                                tracing::warn!(error = %e, doing, "cannot ask again after a restart");
                            }
                        }
                    });
                }
                tracing::info!(instance = %inst.name, server = %session.server, tools = tools.len(), "instance running");
                shared
                    .report_up(
                        id,
                        tools.clone(),
                        StatusReport {
                            status: Some(Status::Running),
                            // A remote server: which transport reaches it.
                            reason: session
                                .transport
                                .as_ref()
                                .map(|t| format!("connected over {t}")),
                            tool_count: Some(Some(tools.len() as u32)),
                            restarts: Some(restarts),
                            healthy_now: true,
                            error: None,
                            healthy_at: None,
                            lease: None,
                        },
                        correlation_id.clone(),
                    )
                    .await;
                let up_since = Instant::now();
                let end = watch_session(&shared, id, &mut session, &peer, &mut ctl, restarts).await;
                shared.with_live(id, |l| {
                    l.peer = None;
                    l.pid = None;
                    l.probe = None;
                    l.notices = None;
                });
                match end {
                    SessionEnd::Stop {
                        correlation_id: corr,
                        reason,
                        report,
                    } => {
                        if report {
                            shared
                                .report(
                                    id,
                                    StatusReport {
                                        status: Some(Status::Stopping),
                                        ..Default::default()
                                    },
                                    corr.clone(),
                                )
                                .await;
                        }
                        shared.mark(
                            id,
                            LogLevel::Notice,
                            &match &reason {
                                Some(r) => format!("stopping: {r}"),
                                None => "stopping".to_string(),
                            },
                        );
                        session.shutdown(shared.cfg.stop_grace).await;
                        run_cleanup(cleanup).await;
                        shared.mark(id, LogLevel::Notice, "stopped");
                        if report {
                            stop_report(&shared, id, corr, reason).await;
                        }
                        return;
                    }
                    SessionEnd::Died(reason) => {
                        session.shutdown(Duration::from_millis(500)).await;
                        run_cleanup(cleanup).await;
                        if up_since.elapsed() >= shared.cfg.stable_after {
                            failures = 0;
                        }
                        failures += 1;
                        restarts += 1;
                        let delay = shared.backoff(failures);
                        tracing::warn!(instance = %inst.name, %reason, restarts, "instance ended; restarting");
                        shared.mark(
                            id,
                            LogLevel::Error,
                            &format!("{reason}; restarting in {:.1}s", delay.as_secs_f64()),
                        );
                        shared
                            .report(
                                id,
                                StatusReport {
                                    restarts: Some(restarts),
                                    error: Some(format!(
                                        "{reason}; restarting in {:.1}s",
                                        delay.as_secs_f64()
                                    )),
                                    ..Default::default()
                                },
                                correlation_id.clone(),
                            )
                            .await;
                        announce = true;
                        if !wait_backoff(&shared, id, delay, &mut ctl).await {
                            return;
                        }
                    }
                }
            }
            Err(reason) => {
                failures += 1;
                restarts += 1;
                let delay = shared.backoff(failures);
                tracing::warn!(instance = %inst.name, %reason, "instance failed to start");
                shared.mark(
                    id,
                    LogLevel::Error,
                    &format!(
                        "failed to start: {reason}; trying again in {:.1}s",
                        delay.as_secs_f64()
                    ),
                );
                shared
                    .report(
                        id,
                        StatusReport {
                            restarts: Some(restarts - 1),
                            error: Some(reason.to_string()),
                            ..Default::default()
                        },
                        correlation_id.clone(),
                    )
                    .await;
                if !wait_backoff(&shared, id, delay, &mut ctl).await {
                    return;
                }
            }
        }
        // Reports after the first belong to no command.
        correlation_id = None;
    }
}

pub(super) async fn run_cleanup(cmd: Option<String>) {
    let Some(cmd) = cmd else { return };
    let mut parts = cmd.split_whitespace();
    let Some(prog) = parts.next() else { return };
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(prog)
            .args(parts)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status(),
    )
    .await;
}

/// Wait `delay` unless a stop arrives; false when the supervisor must end.
pub(super) async fn wait_backoff(
    shared: &Shared,
    id: Uuid,
    delay: Duration,
    ctl: &mut mpsc::UnboundedReceiver<Ctl>,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        c = ctl.recv() => {
            stop_request(shared, id, c).await;
            false
        }
    }
}

/// Report `stopped` for a stop request (none: the runtime is going away).
pub(super) async fn stop_request(shared: &Shared, id: Uuid, c: Option<Ctl>) {
    shared.mark(id, LogLevel::Notice, "stopped");
    if let Some(Ctl::Stop {
        correlation_id,
        reason,
        report: true,
    }) = c
    {
        stop_report(shared, id, correlation_id, reason).await;
    }
}

pub(super) async fn stop_report(
    shared: &Shared,
    id: Uuid,
    correlation_id: Option<String>,
    reason: Option<String>,
) {
    {
        // The last good probe, so "last healthy" stays true once stopped.
        let healthy_at = shared.with_live(id, |l| l.last_good_probe);
        shared
            .report(
                id,
                StatusReport {
                    status: Some(Status::Stopped),
                    reason,
                    healthy_at,
                    ..Default::default()
                },
                correlation_id,
            )
            .await;
    }
}

/// Watch a running session: its end, stop requests and health probes.
pub(super) async fn watch_session(
    shared: &Shared,
    id: Uuid,
    session: &mut Session,
    peer: &rmcp::Peer<rmcp::service::RoleClient>,
    ctl: &mut mpsc::UnboundedReceiver<Ctl>,
    restarts: u32,
) -> SessionEnd {
    let mut healthy = true;
    let mut failed_probes: u32 = 0;
    let mut tool_count = shared.with_live(id, |l| l.tools.len());
    // The first probe right away: HEALTH shows a real probe from the start.
    let mut next_probe = tokio::time::Instant::now();
    loop {
        tokio::select! {
            c = ctl.recv() => {
                return match c {
                    Some(Ctl::Stop { correlation_id, reason, report }) => SessionEnd::Stop { correlation_id, reason, report },
                    None => SessionEnd::Stop { correlation_id: None, reason: None, report: false },
                };
            }
            reason = session.ended() => return SessionEnd::Died(reason),
            _ = tokio::time::sleep_until(next_probe) => {
                let (outcome, took) = {
                    let _permit = shared.probes.acquire().await;
                    let t0 = Instant::now();
                    let r = session::list_tools(peer, shared.cfg.probe_timeout).await;
                    (r, t0.elapsed())
                };
                shared.record_probe(id, outcome.as_ref().err().map(ToString::to_string), took);
                match outcome {
                    Ok(tools) => {
                        failed_probes = 0;
                        let changed = shared.with_live(id, |l| {
                            let changed = l.tools != tools;
                            if changed { l.tools = tools.clone(); }
                            changed
                        });
                        if changed {
                            shared.store_tools(id, tools.clone()).await;
                        }
                        // Only a change is an event: back to healthy, or a
                        // new tool count. A probe that finds all as it was
                        // refreshes the probe (above) and writes nothing.
                        if !healthy || tools.len() != tool_count {
                            healthy = true;
                            tool_count = tools.len();
                            shared.report(id, StatusReport {
                                status: Some(Status::Running),
                                reason: session.transport.as_ref().map(|t| format!("connected over {t}")),
                                tool_count: Some(Some(tools.len() as u32)),
                                restarts: Some(restarts),
                                healthy_now: true,
                                ..Default::default()
                            }, None).await;
                        }
                    }
                    Err(e) => {
                        failed_probes += 1;
                        let limit = shared.cfg.restart_after_failed_probes;
                        if limit > 0 && failed_probes >= limit {
                            return SessionEnd::Died(format!("{failed_probes} health probes failed in a row (last: {e})"));
                        }
                        if healthy {
                            healthy = false;
                            let last = shared.with_live(id, |l| l.last_good_probe)
                                .map(|t| t.format("%H:%M:%S UTC").to_string())
                                .unwrap_or_else(|| "never".into());
                            shared.report(id, StatusReport {
                                status: Some(Status::Unhealthy),
                                reason: Some(format!("health probe failed: {e}; last good probe at {last}")),
                                restarts: Some(restarts),
                                healthy_at: shared.with_live(id, |l| l.last_good_probe),
                                ..Default::default()
                            }, None).await;
                        }
                    }
                }
                next_probe = tokio::time::Instant::now() + shared.jittered(shared.cfg.probe_interval);
            }
        }
    }
}
