//! The History tab: what entering it asks for, a snapshot of the table,
//! enter (one call in full), and the re-run key — refused for redacted
//! arguments, at once for a read-only tool, asking first for a
//! destructive one.

use crate::support::app::{app, code, render};
use aacon::platform::ToolInfo;
use aacon::platform::history::{CallKind, CallOutcome, CallRecord, Caller};
use aacon::tui::app::{App, Command, Msg, Overlay};
use aacon::tui::fixtures;
use aacon::tui::keymap::Action;
use crossterm::event::KeyCode;
use serde_json::json;
use uuid::Uuid;

fn open_history(a: &mut App) -> (Uuid, Vec<Command>) {
    for _ in 0..3 {
        a.action(Action::Down);
    }
    a.update(code(KeyCode::Enter));
    let id = fixtures::instances()[1].id;
    a.update(Msg::History {
        id,
        result: Ok(Vec::new()),
    });
    let mut cmds = Vec::new();
    for _ in 0..7 {
        cmds.extend(a.action(Action::NextTab));
    }
    (id, cmds)
}

fn record(id: i64, inst: Uuid, name: &str, secs: i64) -> CallRecord {
    CallRecord {
        id,
        instance_id: inst,
        instance_name: "github".into(),
        at: fixtures::now() - chrono::Duration::seconds(secs),
        caller: Caller::Cli { pid: 4242 },
        kind: CallKind::Tool,
        name: name.into(),
        arguments: json!({"query": "is:open"}),
        redacted: false,
        duration_ms: 12,
        outcome: CallOutcome::Ok,
        result_bytes: 2048,
        result: None,
    }
}

fn calls(inst: Uuid) -> Vec<CallRecord> {
    let mut failed = record(3, inst, "create_issue", 5);
    failed.caller = Caller::Api {
        token: Some("backend.token".into()),
        peer: Some("10.0.0.7:51234".into()),
    };
    failed.outcome = CallOutcome::Failed {
        kind: "timeout".into(),
        message: "no answer within 60 s".into(),
    };
    failed.duration_ms = 60_000;
    failed.result_bytes = 0;
    let mut secret = record(2, inst, "search_issues", 30);
    secret.arguments = json!({"token": "<redacted>"});
    secret.redacted = true;
    secret.caller = Caller::Console { pid: 77 };
    let mut read = record(1, inst, "file:///README.md", 90);
    read.kind = CallKind::Resource;
    read.outcome = CallOutcome::ToolError;
    vec![failed, secret, read]
}

fn tools() -> Vec<ToolInfo> {
    vec![ToolInfo {
        name: "create_issue".into(),
        description: None,
        input_schema: json!({"type": "object"}),
        annotations: Some(json!({"destructiveHint": true})),
    }]
}

#[test]
fn the_history_tab_lists_calls_shows_one_and_re_runs_with_care() {
    let mut a = app();
    let (id, cmds) = open_history(&mut a);
    assert!(cmds.contains(&Command::LoadCalls(id)), "{cmds:?}");
    assert!(cmds.contains(&Command::LoadTools(id)), "{cmds:?}");
    a.update(Msg::Calls {
        id,
        result: Ok(calls(id)),
    });
    a.update(Msg::ToolsLoaded {
        id,
        result: Ok(tools()),
    });
    insta::assert_snapshot!("history_tab_100x14", render(&mut a, 100, 14));

    // Enter asks for the call in full; it opens in the pager.
    assert_eq!(
        a.action(Action::Open),
        vec![Command::LoadCall { id, call: 3 }]
    );
    let mut full = calls(id).remove(0);
    full.result = Some(String::new());
    a.update(Msg::Call {
        id,
        result: Ok(full),
    });
    match &a.overlay {
        Some(Overlay::Raw { title, text, .. }) => {
            assert_eq!(title, "call 3: tool create_issue");
            assert!(text.contains("no answer within 60 s"), "{text}");
            assert!(
                text.contains("API token 'backend.token' from 10.0.0.7:51234"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    a.overlay = None;

    // Destructive: a question naming the tool and the instance.
    assert!(a.action(Action::Rerun).is_empty());
    match &a.overlay {
        Some(Overlay::Confirm(c)) => {
            assert_eq!(c.title, "Re-run tool create_issue?");
            assert!(
                c.lines[0].contains("create_issue on instance github again"),
                "{:?}",
                c.lines
            );
        }
        other => panic!("{other:?}"),
    }
    a.overlay = None;

    // Redacted arguments: refused, saying why; nothing sent.
    a.action(Action::Down);
    assert!(a.action(Action::Rerun).is_empty());
    assert!(a.overlay.is_none());
    let toast = a.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("secrets redacted"), "{toast}");

    // A resource read is read again at once.
    a.action(Action::Down);
    let cmds = a.action(Action::Rerun);
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::Mcp { id: i, .. } if *i == id)),
        "{cmds:?}"
    );
}

#[test]
fn a_backend_that_keeps_no_history_is_not_asked_every_second() {
    let mut a = app();
    let (id, _) = open_history(&mut a);
    let asks = |a: &mut App, secs: i64| {
        let now = a.now + chrono::Duration::seconds(secs);
        a.update(Msg::Tick(now))
            .iter()
            .filter(|c| **c == Command::LoadCalls(id))
            .count()
    };
    // The list is known: the tab refreshes it each second.
    a.update(Msg::Calls {
        id,
        result: Ok(calls(id)),
    });
    assert_eq!(asks(&mut a, 2), 1);
    // The backend keeps none (AgentArea): said once, not asked again.
    a.update(Msg::Calls {
        id,
        result: Err(aacon::platform::PlatformError::Unavailable(
            "the API keeps no call history".into(),
        )),
    });
    assert_eq!(asks(&mut a, 4), 0);
    assert_eq!(asks(&mut a, 6), 0);
    // The refresh key still asks.
    assert!(a.action(Action::Refresh).contains(&Command::LoadCalls(id)));
}
