//! An instance's log and its notifications against a real third-party
//! server (`@modelcontextprotocol/server-everything`): the runtime's
//! markers, `logging/setLevel`, `notifications/message` lines with their
//! level and source, a follower's cursor, a resource update recorded in the
//! event history; and a server without logging refused in one sentence.

use crate::support;

use crate::support::rig::*;
use aacon::domain::Status;
use aacon::domain::event::NOTIFIED;
use aacon::platform::{LogLevel, LogPage, LogSource, McpOp, Platform};
use serde_json::json;
use std::time::{Duration, Instant};

/// Read the log until a line satisfies `pred`; panic with the log after `secs`.
async fn wait_line(
    p: &dyn Platform,
    id: uuid::Uuid,
    secs: u64,
    pred: impl Fn(&aacon::platform::LogLine) -> bool,
) -> LogPage {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let page = p.logs(id, None).await.unwrap();
        if page.lines.iter().any(&pred) {
            return page;
        }
        assert!(Instant::now() < deadline, "no such line in {page:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_messages_markers_set_level_and_notifications_in_the_history() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start("everything", support::everything::stdio_spec())
        .await;
    rig.wait_status(inst.id, Status::Running, 30).await;
    let p = rig.platform.as_ref();

    // The runtime's markers: starting, then running with the server and pid.
    let page = wait_line(p, inst.id, 10, |l| l.text.starts_with("running: ")).await;
    let marks: Vec<&str> = page
        .lines
        .iter()
        .filter(|l| l.source == LogSource::Runtime)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(marks[0], "starting", "{marks:?}");
    assert!(
        marks[1].contains("everything") && marks[1].contains("pid "),
        "{marks:?}"
    );

    // logging/setLevel, then a subscribe the server acknowledges with an
    // info-level notifications/message.
    let set = p
        .mcp(
            inst.id,
            McpOp::SetLevel {
                level: LogLevel::Debug,
            },
        )
        .await
        .unwrap();
    assert_eq!(set["level"], json!("debug"));
    let cursor = p.logs(inst.id, None).await.unwrap().next;
    let uri = "demo://resource/dynamic/text/1";
    p.mcp(inst.id, McpOp::Subscribe { uri: uri.into() })
        .await
        .unwrap();
    let page = wait_line(p, inst.id, 10, |l| {
        l.source == LogSource::Mcp && l.text.contains("Received Subscribe Resource request")
    })
    .await;
    let msg = page
        .lines
        .iter()
        .find(|l| l.text.contains("Received Subscribe Resource request"))
        .unwrap();
    assert_eq!(msg.level, LogLevel::Info);
    assert_eq!(msg.source_label(), "mcp");
    // A follower asks after its cursor and gets only what is new.
    let newer = p.logs(inst.id, Some(cursor)).await.unwrap();
    assert!(newer.lines.iter().all(|l| l.seq >= cursor), "{newer:#?}");
    assert!(newer.lines.iter().any(|l| l.seq == msg.seq));
    let later = p.logs(inst.id, Some(newer.next)).await.unwrap();
    assert!(
        later.lines.iter().all(|l| l.seq >= newer.next),
        "{later:#?}"
    );

    // The server sends resources/updated for the subscription: recorded in
    // the instance's event history with its time, coalesced.
    p.call_tool(inst.id, "toggle-subscriber-updates", json!({}))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let notice = loop {
        let found = rig
            .events(inst.id)
            .await
            .into_iter()
            .find(|e| e.event_type == NOTIFIED);
        if let Some(e) = found {
            break e;
        }
        assert!(Instant::now() < deadline, "no notification in the history");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        notice.data["notification"],
        json!("notifications/resources/updated")
    );
    assert_eq!(notice.data["subject"], json!(uri));
    assert_eq!(notice.data["count"], json!(1));
    assert_eq!(notice.aggregate_id, Some(inst.id));
    assert!(notice.data["last_at"].is_string());
    // The instance's row is untouched: a notice is no state change.
    let after = p.get(&inst.id.to_string()).await.unwrap();
    assert_eq!(after.status, Status::Running);

    // A restart leaves its markers in the log: stopping, stopped, starting
    // again; the level asked is asked again in the new session.
    p.mcp(
        inst.id,
        McpOp::SetLevel {
            level: LogLevel::Error,
        },
    )
    .await
    .unwrap();
    let before = p.logs(inst.id, None).await.unwrap().next;
    p.restart(inst.id).await.unwrap();
    let page = wait_line(p, inst.id, 30, |l| {
        l.seq >= before && l.text.starts_with("running: ")
    })
    .await;
    let marks: Vec<&str> = page
        .lines
        .iter()
        .filter(|l| l.seq >= before && l.source == LogSource::Runtime)
        .map(|l| l.text.as_str())
        .collect();
    assert!(marks.iter().any(|m| m.starts_with("stopping")), "{marks:?}");
    assert!(
        marks.contains(&"stopped") && marks.contains(&"starting"),
        "{marks:?}"
    );
    // The new session subscribes again (the server acknowledges at info)
    // and then logs at random levels: only error and above come, so the
    // level was asked for again, before the subscription.
    rig.wait_status(inst.id, Status::Running, 30).await;
    p.call_tool(inst.id, "toggle-simulated-logging", json!({}))
        .await
        .unwrap();
    let page = wait_line(p, inst.id, 60, |l| {
        l.seq >= before && l.source == LogSource::Mcp
    })
    .await;
    let mcp: Vec<_> = page
        .lines
        .iter()
        .filter(|l| l.seq >= before && l.source == LogSource::Mcp)
        .collect();
    assert!(mcp.iter().all(|l| l.level >= LogLevel::Error), "{mcp:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_logging_is_not_asked_for_a_level() {
    let rig = Rig::new(fast_config()).await;
    let inst = rig
        .start(
            "plain",
            json!({"command": [FIXTURE], "args": ["--stderr", "plain fixture here"]}),
        )
        .await;
    rig.wait_status(inst.id, Status::Running, 20).await;
    let e = rig
        .platform
        .mcp(
            inst.id,
            McpOp::SetLevel {
                level: LogLevel::Info,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the server does not take a log level: its initialize result declares no logging capability"
    );
    // Its stderr is still in the log, as stderr lines.
    let page = wait_line(rig.platform.as_ref(), inst.id, 10, |l| {
        l.text.contains("plain fixture here")
    })
    .await;
    assert!(
        page.lines
            .iter()
            .any(|l| l.source == LogSource::Stderr && l.text.contains("plain fixture here")),
        "{page:#?}"
    );
}
