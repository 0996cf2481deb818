//! Row 8: create → running of a stdio MCP server (the in-repo rmcp fixture,
//! `mcp-fixture`) through the embedded platform and its runtime — create,
//! start, the runtime spawning the process, initialize, tools/list, the
//! tools and the running status committed — beside a bare rmcp client doing
//! spawn + initialize + tools/list of the same binary. The two alternate
//! round by round, so both see the same machine; `AACON_BENCH_ROUNDS`
//! sets how many rounds (30 by default).

mod common;

use aacon::domain::{NewInstance, Status};
use aacon::platform::{Platform, PlatformEvent};
use common::{Samples, lat, ms, result, rounds};
use rmcp::ServiceExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

fn main() {
    let rounds = rounds(30, 3);
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
}
