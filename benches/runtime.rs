//! Row 8: create → running of a stdio MCP server (the in-repo rmcp fixture,
//! `mcp-fixture`) through the embedded platform and its runtime — create,
//! start, the runtime spawning the process, initialize, tools/list, the
//! tools and the running status committed — beside a bare rmcp client doing
//! spawn + initialize + tools/list of the same binary. The two alternate
//! round by round, so both see the same machine; `AACON_BENCH_ROUNDS`
//! sets how many rounds (30 by default). `AACON_BENCH_STAGES=1` also says
//! when each stage of our path passed (the `aacon::stage` trace lines),
//! as the median time from the round's start.

mod common;

use aacon::domain::{NewInstance, Status};
use aacon::platform::{Platform, PlatformEvent};
use common::{Samples, lat, ms, result, rounds};
use rmcp::ServiceExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

const FIXTURE: &str = env!("CARGO_BIN_EXE_mcp-fixture");

/// spawn + initialize + tools/list with a bare rmcp client.
async fn bare() -> Duration {
    let t = Instant::now();
    let mut child = tokio::process::Command::new(FIXTURE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the fixture");
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        panic!("fixture pipes");
    };
    let client = ().serve((stdout, stdin)).await.expect("initialize");
    let tools = client.list_tools(None).await.expect("tools/list");
    let took = t.elapsed();
    assert_eq!(tools.tools.len(), 4);
    let _ = client.cancel().await;
    let _ = child.kill().await;
    took
}

/// The `aacon::stage` lines as they pass: (when, stage).
#[derive(Clone, Default)]
struct Stages(Arc<Mutex<Vec<(Instant, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Stages {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "aacon::stage" {
            return;
        }
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" {
                    self.0 = format!("{v:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        if let Ok(mut v) = self.0.lock() {
            v.push((Instant::now(), m.0));
        }
    }
}

/// Per stage (named with its occurrence in the round: `committed#2`), the
/// median time from the round's start, in the order they passed.
fn stage_medians(
    seen: &[(Instant, String)],
    rounds: &[(Instant, Instant)],
) -> Vec<(&'static str, String)> {
    let mut per: Vec<(String, Samples)> = Vec::new();
    for &(start, end) in rounds {
        let mut count = std::collections::HashMap::<&str, usize>::new();
        for (at, stage) in seen.iter().filter(|(at, _)| *at >= start && *at <= end) {
            let k = count.entry(stage.as_str()).or_default();
            *k += 1;
            let key = format!("{stage}#{k}");
            let d = *at - start;
            match per.iter_mut().find(|(n, _)| *n == key) {
                Some((_, s)) => s.0.push(d),
                None => per.push((key, Samples(vec![d]))),
            }
        }
    }
    per.sort_by_key(|(_, s)| s.median());
    per.into_iter()
        .map(|(k, s)| {
            (
                &*Box::leak(format!("{k}_ms").into_boxed_str()),
                format!("{:.2}", ms(s.median())),
            )
        })
        .collect()
}

fn main() {
    let rounds = rounds(30, 3);
    let stages = Stages::default();
    if std::env::var("AACON_BENCH_STAGES").is_ok_and(|v| v == "1") {
        let only = tracing_subscriber::filter::Targets::new()
            .with_target("aacon::stage", tracing::Level::TRACE);
        tracing_subscriber::registry()
            .with(tracing_subscriber::Layer::with_filter(stages.clone(), only))
            .init();
    }
    let mut spans = Vec::with_capacity(rounds);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut reference = Samples::default();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ours = Samples::default();
    rt.block_on(async {
        bare().await; // warm the page cache
        let (platform, handle) = common::hosted_platform(tmp.path());
        let mut events = platform.subscribe();
        for i in 0..rounds {
            reference.0.push(bare().await);
            let t = Instant::now();
            let inst = platform
                .create(NewInstance {
                    name: format!("fx-{i}"),
                    description: None,
                    server_spec_id: None,
                    json_spec: serde_json::json!({"command": [FIXTURE]}),
                })
                .await
                .expect("create");
            platform.start(inst.id).await.expect("start");
            // Running: the status event as every subscriber sees it.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, events.recv()).await {
                    Ok(Ok(PlatformEvent::Event(e)))
                        if e.instance_id() == Some(inst.id)
                            && e.status() == Some(Status::Running) =>
                    {
                        break;
                    }
                    Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                    Ok(Err(e)) => panic!("event stream ended: {e}"),
                    Err(_) => panic!("fx-{i} did not reach running within 30 s"),
                }
            }
            ours.0.push(t.elapsed());
            spans.push((t, Instant::now()));
            platform.stop(inst.id).await.expect("stop");
            // The stop settles before the next bare round.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        handle.shutdown().await;
    });
    let mut f = lat(&ours);
    f.push(("bare_median_ms", format!("{:.2}", ms(reference.median()))));
    f.push(("bare_p99_ms", format!("{:.2}", ms(reference.p99()))));
    f.push((
        "overhead_median_ms",
        format!("{:.2}", ms(ours.median()) - ms(reference.median())),
    ));
    result(8, "create_to_running", &f);
    if let Ok(seen) = stages.0.lock()
        && !seen.is_empty()
    {
        result(8, "stages", &stage_medians(&seen, &spans));
    }
}
