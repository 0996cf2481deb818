//! A tool call in flight in the Tools tab (elapsed time, progress, the
//! effective timeout, the cancel key) and a server's elicitation form.

use crate::support::app::{app, code, ctrl, key, render};
use crate::tui_health_tools::{detail, tools, type_args};
use aacon::platform::{CallProgress, ElicitAnswer, ElicitRequest, PlatformError};
use aacon::tui::app::{Command, ElicitReply, Msg, Overlay};
use aacon::tui::fixtures;
use crossterm::event::KeyCode;
use serde_json::json;

#[test]
fn a_call_in_flight_shows_elapsed_progress_timeout_and_its_cancel_key() {
    let mut a = app();
    let gh = tools(&mut a);
    type_args(&mut a, r#"{"repo": "aacon"}"#);
    let cmds = a.update(ctrl('s'));
    let [Command::CallTool { call, .. }] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    let call = *call;
    a.update(Msg::Tick(fixtures::now() + chrono::Duration::seconds(12)));
    a.update(Msg::CallProgress {
        id: gh,
        call,
        progress: CallProgress {
            progress: 3.0,
            total: Some(10.0),
            message: Some("indexing issues".into()),
        },
    });
    let s = render(&mut a, 100, 30);
    insta::assert_snapshot!("tools_call_in_progress_100x30", s);
    assert!(
        s.contains("12s elapsed · timeout 60s · ctrl-c cancels"),
        "{s}"
    );
    assert!(s.contains("progress 3/10 (30%) — indexing issues"), "{s}");
    // The cancel key works while the argument editor has focus.
    assert_eq!(a.update(ctrl('c')), vec![Command::CancelCall(call)]);
    assert!(a.update(ctrl('c')).is_empty(), "cancelled once");
    a.update(Msg::Tick(fixtures::now() + chrono::Duration::seconds(13)));
    a.update(Msg::ToolCalled {
        id: gh,
        result: Err(PlatformError::Unavailable(
            "tool 'list_issues' was cancelled after 13s".into(),
        )),
    });
    let d = detail(&a);
    assert!(!d.tools.calling);
    assert_eq!(
        d.tools.result_text().as_deref(),
        Some("cancelled after 13s (the server was sent notifications/cancelled)")
    );
}

/// github's server asks `message` with `schema` during a call; the
/// receiver of the answer.
fn asks(
    a: &mut aacon::tui::app::App,
    gh: uuid::Uuid,
    message: &str,
    schema: serde_json::Value,
) -> tokio::sync::oneshot::Receiver<ElicitAnswer> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    a.update(Msg::Elicit {
        id: gh,
        request: ElicitRequest {
            instance: "github".into(),
            tool: "create_issue".into(),
            message: message.into(),
            schema,
        },
        reply: ElicitReply::new(tx),
    });
    rx
}

#[test]
fn an_elicitation_form_asks_checks_masks_and_answers() {
    let mut a = app();
    let gh = tools(&mut a);
    let mut rx = asks(
        &mut a,
        gh,
        "Who files this issue?",
        json!({"type": "object", "properties": {
                "name": {"type": "string", "title": "Your name", "description": "As on your profile"},
                "api_token": {"type": "string", "title": "API token"},
                "priority": {"type": "integer", "minimum": 1, "maximum": 5, "default": 3},
                "public": {"type": "boolean", "default": true},
                "label": {"type": "string", "enum": ["bug", "feature"], "default": "bug"}
            }, "required": ["name", "api_token"]}),
    );
    assert!(matches!(a.overlay, Some(Overlay::Elicit(_))));
    // Accept with required fields empty: nothing is sent, the field says why.
    a.update(ctrl('s'));
    for c in "Ada".chars() {
        a.update(key(c));
    }
    a.update(code(KeyCode::Tab));
    for c in "ghp_s3cr3t".chars() {
        a.update(key(c));
    }
    let s = render(&mut a, 100, 30);
    insta::assert_snapshot!("elicitation_form_100x30", s);
    assert!(!s.contains("ghp_s3cr3t"), "a secret field is masked: {s}");
    assert!(rx.try_recv().is_err(), "nothing answered yet");
    a.update(ctrl('s'));
    assert!(a.overlay.is_none(), "answered: the form closes");
    let ElicitAnswer::Accept(content) = rx.try_recv().unwrap() else {
        panic!("accepted");
    };
    assert_eq!(
        serde_json::Value::Object(content),
        json!({"name": "Ada", "api_token": "ghp_s3cr3t", "priority": 3, "public": true, "label": "bug"})
    );
}

#[test]
fn a_form_whose_call_ended_closes() {
    let mut a = app();
    let gh = tools(&mut a);
    let mut rx = asks(
        &mut a,
        gh,
        "Name?",
        json!({"type": "object", "properties": {"name": {"type": "string"}}}),
    );
    assert!(matches!(a.overlay, Some(Overlay::Elicit(_))));
    a.update(Msg::ToolCalled {
        id: gh,
        result: Err(PlatformError::Unavailable("gone".into())),
    });
    assert!(a.overlay.is_none());
    assert_eq!(rx.try_recv().unwrap(), ElicitAnswer::Cancel);
}
