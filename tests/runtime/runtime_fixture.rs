//! The runtime against the in-repo rmcp fixture server: fast, deterministic
//! cases (running + tools + calls, failures with exact reasons, restarts
//! with backoff, flapping health, stops that leave no process behind).

use crate::support::rig::*;
use aacon::domain::{EventType, Status};
use aacon::platform::Platform;
use aacon::runtime::RuntimeConfig;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_runs_lists_tools_answers_calls_and_stops_without_leftovers() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "fx",
            json!({"command": [FIXTURE], "args": ["--stderr", "hello from fixture"]}),
        )
        .await;
    let running = rig.wait_status(inst.id, Status::Running, 20).await;
    assert_eq!(running.tool_count, Some(4));
    assert!(running.last_healthy_at.is_some());
    // The status report carries the correlation id of the start command.
    let started = rig.last_correlation(inst.id, EventType::Started).await;
    assert!(started.is_some());
    let running_ev = rig
        .events(inst.id)
        .await
        .into_iter()
        .find(|e| e.kind() == Some(EventType::StatusChanged) && e.status() == Some(Status::Running))
        .unwrap();
    assert_eq!(running_ev.correlation_id, started);

    let names: Vec<String> = rig
        .rt()
        .tools(inst.id)
        .await
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["echo", "add", "pid", "fail"]);
    // Stored for other processes too.
    let stored = aacon::runtime::stored_tools(rig.platform.as_ref(), inst.id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 4);
    assert!(
        stored
            .iter()
            .any(|t| t.name == "echo" && t.input_schema["required"] == json!(["message"]))
    );

    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "hi there"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: hi there");
    assert!(!out.is_error);
    let out = rig
        .rt()
        .call_tool(inst.id, "fail", json!({}))
        .await
        .unwrap();
    assert!(out.is_error);
    let e = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"msg": 1}))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing required property 'message'"), "{e}");
    let e = rig
        .rt()
        .call_tool(inst.id, "nope", json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no tool named 'nope'; it has: echo, add, pid, fail"),
        "{e}"
    );
    let e = rig
        .rt()
        .call_tool(inst.id, "echo", json!([1]))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be a JSON object"), "{e}");

    // Give the stderr reader a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        rig.rt()
            .stderr(inst.id)
            .iter()
            .any(|l| l == "hello from fixture")
    );

    let pid = rig.rt().pid(inst.id).expect("a pid");
    assert!(alive(pid));
    let stop = rig.platform.stop(inst.id).await.unwrap();
    let stopped = rig.wait_status(inst.id, Status::Stopped, 10).await;
    assert_eq!(stopped.status, Status::Stopped);
    wait_dead(pid, 5).await;
    let stop_corr = rig.last_correlation(inst.id, EventType::Stopped).await;
    let last = rig.events(inst.id).await.into_iter().last().unwrap();
    assert_eq!(last.status(), Some(Status::Stopped));
    assert_eq!(last.correlation_id, stop_corr);
    assert_eq!(
        stop.instance.desired_state,
        aacon::domain::DesiredState::Stopped
    );
    assert!(
        rig.rt()
            .call_tool(inst.id, "echo", json!({"message": "x"}))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_command_is_an_error_naming_it() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "nocmd",
            json!({"command": ["/nonexistent/aacon-no-such-server"]}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 10).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("command '/nonexistent/aacon-no-such-server' was not found")
    );
    let inst = rig
        .start("nocmd2", json!({"command": "aacon-no-such-server-on-path"}))
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 10).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("command 'aacon-no-such-server-on-path' was not found on PATH")
    );
    // The error event carries the start's correlation id.
    let err = rig
        .events(inst.id)
        .await
        .into_iter()
        .find(|e| e.kind() == Some(EventType::Error))
        .unwrap();
    assert_eq!(
        err.correlation_id,
        rig.last_correlation(inst.id, EventType::Started).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_exits_at_once_says_how_and_why() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start("quits", json!({"command": [FIXTURE, "--exit-now", "7"]}))
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 10).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some(
            "the process exited with code 7 before answering initialize (last stderr line: fixture: exiting at once as asked)"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_in_initialize_times_out_and_is_killed() {
    let cfg = RuntimeConfig {
        init_timeout: Duration::from_secs(1),
        backoff_base: Duration::from_secs(30),
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    let inst = rig
        .start(
            "hangs",
            json!({"command": [FIXTURE, "--init-delay", "60", "--child"]}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 10).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("the server did not answer initialize within 1s")
    );
    // Its grandchild went with it (the group was killed).
    let line = rig
        .rt()
        .stderr(inst.id)
        .into_iter()
        .find(|l| l.contains("grandchild pid"))
        .unwrap();
    let gpid: u32 = line.rsplit(' ').next().unwrap().parse().unwrap();
    wait_dead(gpid, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_server_is_restarted_with_backoff_and_counted() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "crashy",
            json!({"command": [FIXTURE, "--crash-after", "0.3"]}),
        )
        .await;
    let i = rig.wait(inst.id, 30, |i| i.restarts >= 3).await;
    assert!(i.restarts >= 3);
    let errors: Vec<_> = rig
        .events(inst.id)
        .await
        .into_iter()
        .filter(|e| e.kind() == Some(EventType::Error))
        .collect();
    assert!(errors.len() >= 3);
    let first = errors[0].error_text().unwrap();
    assert!(
        first.starts_with("the process exited with code 3 (last stderr line: fixture: crashing as asked); restarting in"),
        "{first}"
    );
    // Backoff grows: the announced delays are not all equal to the first.
    let delays: Vec<f64> = errors
        .iter()
        .filter_map(|e| {
            e.error_text()?
                .rsplit("restarting in ")
                .next()?
                .trim_end_matches('s')
                .parse()
                .ok()
        })
        .collect();
    assert!(delays.len() >= 3 && delays[2] > delays[0], "{delays:?}");
    // It keeps coming back up between crashes.
    assert!(
        rig.events(inst.id)
            .await
            .iter()
            .filter(|e| e.status() == Some(Status::Running))
            .count()
            >= 2
    );
    rig.platform.stop(inst.id).await.unwrap();
    rig.wait_status(inst.id, Status::Stopped, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_health_goes_unhealthy_and_back_with_the_reason() {
    let cfg = RuntimeConfig {
        probe_interval: Duration::from_millis(150),
        probe_timeout: Duration::from_secs(1),
        restart_after_failed_probes: 0,
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    let inst = rig
        .start("flappy", json!({"command": [FIXTURE, "--flap", "1"]}))
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let u = rig.wait_status(inst.id, Status::Unhealthy, 10).await;
    let reason = u.status_reason.unwrap();
    assert!(
        reason.starts_with("health probe failed: the server answered with error"),
        "{reason}"
    );
    assert!(reason.contains("flapping: unhealthy period"), "{reason}");
    assert!(reason.contains("last good probe at"), "{reason}");
    let back = rig.wait_status(inst.id, Status::Running, 10).await;
    assert!(back.last_healthy_at.is_some());
    assert!(rig.rt().last_good_probe(inst.id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kills_a_stubborn_server_and_its_grandchildren() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "stubborn",
            json!({"command": [FIXTURE, "--ignore-term", "--child"]}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let pid = rig.rt().pid(inst.id).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let line = rig
        .rt()
        .stderr(inst.id)
        .into_iter()
        .find(|l| l.contains("grandchild pid"))
        .unwrap();
    let gpid: u32 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(alive(pid) && alive(gpid));
    rig.platform.stop(inst.id).await.unwrap();
    rig.wait_status(inst.id, Status::Stopped, 15).await;
    wait_dead(pid, 5).await;
    wait_dead(gpid, 5).await;
    let kinds: Vec<Status> = rig
        .events(inst.id)
        .await
        .iter()
        .filter_map(|e| e.status())
        .collect();
    let n = kinds.len();
    assert_eq!(&kinds[n - 2..], &[Status::Stopping, Status::Stopped]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_an_error_naming_the_reference() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "needs-secret",
            json!({"command": [FIXTURE], "env_vars": {"API_KEY": "secret_ref:NOT_SET"}}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 10).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some(
            "missing secret 'NOT_SET' (referenced as \"secret_ref:NOT_SET\"); set it with `aacon secrets set NOT_SET`"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_instance_stops_it_first() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start("doomed", json!({"command": [FIXTURE, "--child"]}))
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let pid = rig.rt().pid(inst.id).unwrap();
    rig.platform.delete(inst.id).await.unwrap();
    wait_dead(pid, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_runtime_brings_up_what_should_run_and_shutdown_leaves_nothing() {
    let mut rig = Rig::new(fast_config()).await;
    let inst = rig.start("persist", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let pid = rig.rt().pid(inst.id).unwrap();
    rig.runtime.take().unwrap().shutdown().await;
    wait_dead(pid, 5).await;
    let i = rig.wait_status(inst.id, Status::Stopped, 5).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("the runtime host shut down")
    );
    assert_eq!(i.desired_state, aacon::domain::DesiredState::Running);
    // A new host reconciles: desired running → brought up again.
    rig.runtime = Some(aacon::host::spawn_runtime(
        rig.platform.clone(),
        fast_config(),
    ));
    rig.wait_status(inst.id, Status::Running, 20).await;
    let pid2 = rig.rt().pid(inst.id).unwrap();
    assert_ne!(pid, pid2);
    // It reports under the command that asked for it to run.
    let events = rig
        .platform
        .events(aacon::platform::EventQuery {
            instance: Some(inst.id),
            ..Default::default()
        })
        .await
        .unwrap();
    let started = events
        .iter()
        .rev()
        .find(|e| e.kind() == Some(aacon::domain::EventType::Started))
        .and_then(|e| e.correlation_id.clone())
        .expect("the start command has a correlation id");
    let last = events.last().unwrap();
    assert_eq!(last.status(), Some(Status::Running));
    assert_eq!(last.correlation_id.as_deref(), Some(started.as_str()));
    // Dropping the handle without shutdown (an abrupt exit) kills too.
    drop(rig.runtime.take());
    wait_dead(pid2, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_spec_restarts_the_server_with_it() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig.start("changing", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let pid = rig.rt().pid(inst.id).unwrap();
    rig.platform
        .update(
            inst.id,
            aacon::domain::InstancePatch {
                json_spec: Some(json!({"command": [FIXTURE], "args": ["--stderr", "v2"]})),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    wait_dead(pid, 10).await;
    rig.wait(inst.id, 20, |i| i.status == Status::Running).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if rig.rt().stderr(inst.id).iter().any(|l| l == "v2") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new spec never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reaches_the_server_the_runtime_host_runs_through_its_socket() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig.start("shared", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let pid = rig.rt().pid(inst.id).unwrap();
    let sock = rig.dir.path().join("runtime.sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        aacon::host::socket::host_pid(&sock).await,
        Some(std::process::id())
    );
    let data = rig.dir.path().to_path_buf();
    let cli = move |args: &'static [&'static str]| {
        let data = data.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                assert_cmd::Command::cargo_bin("aacon")
                    .unwrap()
                    .env("AACON_DATA_DIR", &data)
                    .env("AACON_CONFIG_DIR", data.join("config"))
                    .args(args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    // The call lands in the very process the host runs.
    let out = cli(&["tools", "call", "shared", "pid"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
    // Bad arguments are refused with the schema's words and exit code 3.
    let out = cli(&["tools", "call", "shared", "echo", "--args", "{}"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing required property 'message'"));
    // Stopped in the host: the CLI falls back to a one-shot session of its own.
    rig.platform.stop(inst.id).await.unwrap();
    rig.wait_status(inst.id, Status::Stopped, 10).await;
    let out = cli(&["tools", "call", "shared", "pid"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_ne!(other, pid);
    assert!(!alive(other), "the one-shot session closed its server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_probes_in_a_row_is_restarted() {
    let cfg = RuntimeConfig {
        probe_interval: Duration::from_millis(100),
        probe_timeout: Duration::from_secs(1),
        restart_after_failed_probes: 3,
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    // Healthy for 1 s, then failing for 1 s: three failures in a row restart it.
    let inst = rig
        .start("sick", json!({"command": [FIXTURE, "--flap", "1"]}))
        .await;
    let i = rig.wait(inst.id, 15, |i| i.restarts >= 1).await;
    assert!(i.restarts >= 1);
    let err = rig
        .events(inst.id)
        .await
        .into_iter()
        .find(|e| e.kind() == Some(EventType::Error))
        .unwrap();
    let text = err.error_text().unwrap();
    assert!(
        text.starts_with("3 health probes failed in a row (last: the server answered with error"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_takes_the_runtime_over_when_the_host_exits() {
    use aacon::platform::embedded::{EmbeddedOptions, Role};
    let mut rig = Rig::new(fast_config()).await;
    let inst = rig.start("handover", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let first = rig.rt().pid(inst.id).unwrap();
    // A second platform on the same data dir waits for the lock.
    let other = std::sync::Arc::new(
        aacon::host::open_embedded(
            aacon::paths::DataDir::new(rig.dir.path()),
            EmbeddedOptions {
                role: Role::Serve,
                host_runtime: false,
            },
        )
        .unwrap(),
    );
    let host = aacon::host::Host::start(
        other.clone(),
        Role::Serve,
        fast_config(),
        Duration::from_millis(100),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !host.is_hosting().await,
        "the lock is held by the first host"
    );
    // The first host exits.
    rig.runtime.take().unwrap().shutdown().await;
    wait_dead(first, 5).await;
    let platform = std::mem::replace(&mut rig.platform, other.clone());
    drop(platform);
    // The second takes over and reconciles: desired running → up again.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let second = loop {
        if let Some(Some(pid)) = host.with(|h| h.pid(inst.id)).await {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "no takeover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(first, second);
    assert!(other.is_runtime_host());
    rig.wait_status(inst.id, Status::Running, 10).await;
    host.shutdown().await;
    wait_dead(second, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_refresh_health_without_writing_running_to_running_events() {
    let cfg = RuntimeConfig {
        probe_interval: Duration::from_millis(100),
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    let inst = rig.start("fresh", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    // Probes keep coming, and each one reaches the platform port the
    // console reads (a fresh time, a result, a latency).
    let mut seen = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 6 {
        let probes = rig.platform.probes().await.unwrap();
        if let Some(p) = probes.iter().find(|p| p.instance_id == inst.id) {
            assert!(p.ok, "{p:?}");
            assert!(p.last_ok_at.is_some_and(|t| t <= p.at), "{p:?}");
            seen.insert(p.at);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "probes stopped at {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...and none of them is an event: one `running` status change, from
    // the start, and no running → running heartbeat.
    let running: Vec<_> = rig
        .events(inst.id)
        .await
        .into_iter()
        .filter(|e| {
            e.kind() == Some(EventType::StatusChanged) && e.status() == Some(Status::Running)
        })
        .collect();
    assert_eq!(running.len(), 1, "{running:?}");
    assert!(
        running
            .iter()
            .all(|e| e.previous_status() != Some(Status::Running)),
        "{running:?}"
    );
    // Stopped: no probe (no health age), and the stored last healthy time
    // is the last good probe, not the start.
    let first_ok = rig
        .wait_status(inst.id, Status::Running, 1)
        .await
        .last_healthy_at;
    rig.platform.stop(inst.id).await.unwrap();
    let stopped = rig.wait_status(inst.id, Status::Stopped, 20).await;
    assert!(stopped.last_healthy_at > first_ok, "{stopped:?}");
    let probes = rig.platform.probes().await.unwrap();
    assert!(
        probes.iter().all(|p| p.instance_id != inst.id),
        "{probes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_replaces_the_process_once_even_when_its_stop_arrives_again() {
    let rig = &Rig::new(fast_config()).await;
    let inst = rig.start("again", json!({"command": [FIXTURE]})).await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let rt = rig.rt();
    // A restart: a new process, the stop and the start under one id.
    let restart = |old: u32| async move {
        let out = rig.platform.restart(inst.id).await.unwrap();
        assert!(
            out.message.contains("restart requested for 'again'"),
            "{}",
            out.message
        );
        let corr = rig.last_correlation(inst.id, EventType::Stopped).await;
        assert!(corr.is_some());
        assert_eq!(
            rig.last_correlation(inst.id, EventType::Started).await,
            corr
        );
        // Running again under that id, in a new process.
        rig.wait(inst.id, 20, |i| {
            i.status == Status::Running && rt.pid(inst.id).is_some_and(|p| p != old)
        })
        .await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while rig
            .last_correlation(inst.id, EventType::StatusChanged)
            .await
            != corr
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no report under {corr:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        wait_dead(old, 10).await;
        rt.pid(inst.id).unwrap()
    };
    let second = restart(rt.pid(inst.id).unwrap()).await;
    // The restart's stop again, as a Redis watcher feeding the same
    // subscribers delivers it (twice); then a second restart, handled after
    // them. A replay that restarted the server would chain a stop report
    // before the second restart's reports.
    let stop = rig
        .events(inst.id)
        .await
        .into_iter()
        .rfind(|e| e.kind() == Some(EventType::Stopped))
        .unwrap();
    // Each copy under a fresh event id: the once-only sender drops a copy
    // it saw recently, but a backfill can replay one it no longer remembers,
    // and then only the runtime's own guard stands between it and a restart.
    for _ in 0..2 {
        let mut replay = stop.clone();
        replay.event_id = uuid::Uuid::new_v4().to_string();
        rig.platform
            .event_sender()
            .send_batch(vec![aacon::platform::PlatformEvent::Event(
                std::sync::Arc::new(replay),
            )]);
    }
    restart(second).await;
    let restarted = rig
        .events(inst.id)
        .await
        .into_iter()
        .filter(|e| {
            e.kind() == Some(EventType::StatusChanged)
                && e.data["reason"] == "restart requested"
                && e.data["status"] == "stopped"
        })
        .count();
    assert_eq!(restarted, 2, "a replayed stop restarted the server again");
}
