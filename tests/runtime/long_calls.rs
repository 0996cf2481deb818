//! Long tool calls and what a server asks of the client during one:
//! progress, cancel (here, and through the runtime host's socket), the
//! per-instance timeout, elicitation answered or declined, sampling
//! declined, roots — against `@modelcontextprotocol/server-everything` and
//! the in-repo fixture.

use crate::support;

use crate::support::rig::*;
use aacon::domain::Status;
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::platform::{CallControl, CallProgress, ElicitAnswer, Elicitor, Platform};
use aacon::runtime::RuntimeConfig;
use aacon::runtime::client_requests::{Fixed, NO_SAMPLING, NOBODY_TO_ASK};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn answering() -> RuntimeConfig {
    RuntimeConfig {
        elicitation: true,
        ..fast_config()
    }
}

async fn everything(rig: &Rig, name: &str, extra: Value) -> uuid::Uuid {
    let mut spec = support::everything::stdio_spec();
    if let (Some(s), Value::Object(e)) = (spec.as_object_mut(), extra) {
        s.extend(e);
    }
    let inst = rig.start(name, spec).await;
    rig.wait_status(inst.id, Status::Running, 60).await;
    inst.id
}

/// Stops the rig's runtime (its servers with it).
async fn done(mut rig: Rig) {
    if let Some(rt) = rig.runtime.take() {
        rt.shutdown().await;
    }
}

/// Waits (generously) until `cond` holds.
async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !cond().await {
        assert!(t0.elapsed() < Duration::from_secs(60), "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_call_reports_progress_and_ends_when_cancelled() {
    let rig = Rig::new(answering()).await;
    let id = everything(&rig, "long", json!({})).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CallProgress>();
    let ctl = CallControl {
        progress: Some(tx),
        ..CallControl::default()
    };
    let cancel = ctl.cancel.clone();
    let p = rig.platform.clone();
    let call = tokio::spawn(async move {
        p.call_tool_watched(
            id,
            "trigger-long-running-operation",
            json!({"duration": 60, "steps": 120}),
            ctl,
        )
        .await
    });
    let first = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("progress within 30s")
        .unwrap();
    assert_eq!(first.progress, 1.0);
    assert_eq!(first.total, Some(120.0));
    assert!(first.to_string().starts_with("1/120"), "{first}");
    cancel.cancel();
    let e = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the call ends once cancelled")
        .unwrap()
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("tool 'trigger-long-running-operation' was cancelled after"),
        "{e}"
    );
    // The session is fine afterwards.
    let out = rig
        .platform
        .call_tool(id, "echo", json!({"message": "after"}))
        .await
        .unwrap();
    assert!(out.text.contains("after"), "{}", out.text);
    done(rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_timeout_overrides_the_setting() {
    let rig = Rig::new(fast_config()).await;
    let id = everything(&rig, "short", json!({"timeout_seconds": 1})).await;
    let e = rig
        .platform
        .call_tool(
            id,
            "trigger-long-running-operation",
            json!({"duration": 5, "steps": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "tool 'trigger-long-running-operation' did not answer within 1s (it was cancelled)"
    );
    done(rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elicitation_is_answered_by_whoever_made_the_call() {
    let rig = Rig::new(answering()).await;
    let id = everything(&rig, "asks", json!({})).await;
    let tools = rig.platform.tools(id).await.unwrap();
    assert!(
        tools
            .iter()
            .any(|t| t.name == "trigger-elicitation-request"),
        "the server offers its elicitation tool to a client that declares the capability"
    );
    let with = |a: ElicitAnswer| CallControl {
        elicit: Some(Arc::new(Fixed(a)) as Arc<dyn Elicitor>),
        ..CallControl::default()
    };
    let content = json!({"name": "Ada Lovelace", "check": true, "integer": 7});
    let out = rig
        .platform
        .call_tool_watched(
            id,
            "trigger-elicitation-request",
            json!({}),
            with(ElicitAnswer::Accept(content.as_object().unwrap().clone())),
        )
        .await
        .unwrap();
    assert!(out.text.contains("Name: Ada Lovelace"), "{}", out.text);
    assert!(out.text.contains("Favorite Integer: 7"), "{}", out.text);
    let out = rig
        .platform
        .call_tool_watched(
            id,
            "trigger-elicitation-request",
            json!({}),
            with(ElicitAnswer::Decline),
        )
        .await
        .unwrap();
    assert!(out.text.contains("declined"), "{}", out.text);
    // A call nobody can answer for (the API, serve): declined with a sentence.
    let out = rig
        .platform
        .call_tool(id, "trigger-elicitation-request", json!({}))
        .await;
    let said = match out {
        Ok(o) => o.text,
        Err(e) => e.to_string(),
    };
    assert!(said.contains(NOBODY_TO_ASK), "{said}");
    done(rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roots_are_the_cwd_and_the_declared_paths() {
    let rig = Rig::new(fast_config()).await;
    let cwd = rig.dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let id = everything(
        &rig,
        "roots",
        json!({"cwd": cwd.to_str().unwrap(), "roots": ["data", "/srv/shared"]}),
    )
    .await;
    let out = rig
        .platform
        .call_tool(id, "get-roots-list", json!({}))
        .await
        .unwrap();
    let base = format!("file://{}", cwd.display());
    assert!(out.text.contains(&base), "{}", out.text);
    assert!(out.text.contains(&format!("{base}/data")), "{}", out.text);
    assert!(out.text.contains("file:///srv/shared"), "{}", out.text);
    done(rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_is_declined_and_a_cancel_reaches_the_server_also_over_the_socket() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start("asks", json!({"command": [FIXTURE, "--client-requests"]}))
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    let out = rig
        .platform
        .call_tool(inst.id, "ask_sampling", json!({}))
        .await
        .unwrap();
    assert!(out.is_error);
    assert!(out.text.contains(NO_SAMPLING), "{}", out.text);

    // Cancelled here: the server hears of it.
    let cancelled = |n: usize| {
        let p = rig.platform.clone();
        async move {
            p.logs(inst.id, None)
                .await
                .unwrap()
                .lines
                .iter()
                .filter(|l| l.text.contains("fixture: wait cancelled"))
                .count()
                >= n
        }
    };
    let ctl = CallControl::default();
    let cancel = ctl.cancel.clone();
    let p = rig.platform.clone();
    let call =
        tokio::spawn(async move { p.call_tool_watched(inst.id, "wait", json!({}), ctl).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    cancel.cancel();
    assert!(call.await.unwrap().is_err());
    until("the server hears of the cancel", async || {
        cancelled(1).await
    })
    .await;

    // Another process reaches the host over its socket; its cancel drops
    // the request, and the host cancels the call.
    let cli = Arc::new(
        aacon::host::open_embedded(
            DataDir::new(rig.dir.path()),
            EmbeddedOptions {
                role: Role::Cli,
                host_runtime: false,
            },
        )
        .unwrap(),
    );
    let ctl = CallControl::default();
    let cancel = ctl.cancel.clone();
    let call =
        tokio::spawn(async move { cli.call_tool_watched(inst.id, "wait", json!({}), ctl).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    cancel.cancel();
    let e = call.await.unwrap().unwrap_err();
    assert!(e.to_string().contains("was cancelled after"), "{e}");
    until("the host cancels the call of a caller gone", async || {
        cancelled(2).await
    })
    .await;
    done(rig).await;
}
