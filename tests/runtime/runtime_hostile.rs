//! MCP servers that misbehave on stdout (issue 8, item 3): an endless line,
//! output that is not JSON-RPC, a 50 MB tool result. Each ends in one plain
//! sentence, with memory bounded and the runtime still serving others.

use crate::support::rig::*;
use aacon::domain::Status;
use aacon::platform::Platform;
use aacon::runtime::RuntimeConfig;
use aacon::runtime::session::MAX_RESULT_BYTES;
use serde_json::json;
use std::time::Duration;

/// Peak resident memory of this test process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// The pids of live processes whose command line starts with `prefix`.
fn processes_named(prefix: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        if cmd.starts_with(prefix) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Another server comes up and answers: the runtime is alive.
async fn runtime_still_serves(rig: &Rig) {
    let ok = rig.start("healthy", json!({"command": [FIXTURE]})).await;
    rig.wait_status(ok.id, Status::Running, 30).await;
    let out = rig
        .rt()
        .call_tool(ok.id, "echo", json!({"message": "still here"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: still here");
}

fn no_retry(init: Duration) -> RuntimeConfig {
    RuntimeConfig {
        init_timeout: init,
        // One attempt is enough to judge.
        backoff_base: Duration::from_secs(300),
        backoff_max: Duration::from_secs(300),
        ..fast_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_writing_an_endless_line_is_cut_at_the_limit_and_ends_in_error() {
    // Long enough that only the line limit can end it: without a limit the
    // buffer would grow by gigabytes first.
    let rig = Rig::new(no_retry(Duration::from_secs(120))).await;
    let marker = "yes aacon-endless-line-marker";
    let inst = rig
        .start(
            "endless",
            json!({"command": ["sh", "-c", format!("{marker} | tr -d '\\n'")]}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 120).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some(
            "initialize failed: the server wrote a line over 64 MiB on stdout (an MCP server writes one JSON-RPC message per line)"
        )
    );
    let peak = peak_rss();
    println!("peak RSS {} MiB", peak / (1024 * 1024));
    assert!(peak < 1024 * 1024 * 1024, "peak RSS {peak} bytes");
    // The writer was killed with its group.
    for pid in processes_named(marker) {
        wait_dead(pid, 10).await;
    }
    runtime_still_serves(&rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_stdout_is_not_json_rpc_ends_in_error_saying_what_it_wrote() {
    let rig = Rig::new(no_retry(Duration::from_secs(2))).await;
    let inst = rig
        .start(
            "chatty",
            json!({"command": ["sh", "-c",
                "printf 'Listening on port 3000\\n{\"hello\": \"world\"}\\n'; exec sleep 300"]}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some(
            "the server did not answer initialize within 2s; its stdout is not JSON-RPC (last line: '{\"hello\": \"world\"}')"
        )
    );
    // Plain text that then exits says what it wrote too.
    let inst = rig
        .start(
            "banner",
            json!({"command": ["sh", "-c", "echo 'Usage: server [--port N]'; exit 2"]}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some(
            "the process exited with code 2 before answering initialize; its stdout is not JSON-RPC (last line: 'Usage: server [--port N]')"
        )
    );
    runtime_still_serves(&rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_tool_result_is_cut_to_a_marked_bounded_text() {
    let cfg = RuntimeConfig {
        call_timeout: Duration::from_secs(120),
        ..fast_config()
    };
    let rig = Rig::new(cfg).await;
    let inst = rig
        .start(
            "huge",
            json!({"command": [FIXTURE, "--big-result", "50000000"]}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "anything"}))
        .await
        .unwrap();
    assert!(!out.is_error);
    let marker =
        "\n… [truncated: the result was 50.0 MB; the first 1024 KiB of its text are shown]";
    assert!(
        out.text.ends_with(marker),
        "{}",
        &out.text[out.text.len() - 200..]
    );
    assert_eq!(out.text.len(), MAX_RESULT_BYTES + marker.len());
    assert!(out.text[..MAX_RESULT_BYTES].bytes().all(|b| b == b'x'));
    assert_eq!(out.result["truncated"], true);
    assert_eq!(out.result["content"][0]["text"], out.text.as_str());
    assert!(out.result["bytes"].as_u64().unwrap() > 50_000_000);
    // The server is fine and answers the next call.
    let pid = rig.rt().call_tool(inst.id, "pid", json!({})).await.unwrap();
    assert!(pid.text.parse::<u32>().is_ok(), "{}", pid.text);
    assert_eq!(
        rig.platform.get("huge").await.unwrap().status,
        Status::Running
    );
}
