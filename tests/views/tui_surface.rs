//! The server's identity on the Overview and the Resources and Prompts
//! tabs: the commands keys send, and snapshots of what they draw.

use crate::support::app::{app, code, render};
use aacon::platform::{McpOp, PlatformError};
use aacon::tui::app::{App, Command, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, json};
use uuid::Uuid;

fn typed(a: &mut App, s: &str) {
    for c in s.chars() {
        a.update(code(KeyCode::Char(c)));
    }
}

/// Open "github" (the fourth row by name) on its Overview.
fn open_github(a: &mut App) -> Uuid {
    for _ in 0..3 {
        a.action(Action::Down);
    }
    a.update(code(KeyCode::Enter));
    let id = fixtures::instances()[1].id;
    a.update(Msg::History {
        id,
        result: Ok(Vec::new()),
    });
    id
}

fn answer(a: &mut App, id: Uuid, op: McpOp, v: serde_json::Value) {
    a.update(Msg::Mcp {
        id,
        op,
        result: Ok(v),
    });
}

fn tab(a: &mut App, n: usize) -> Vec<Command> {
    let mut cmds = Vec::new();
    for _ in 0..n {
        cmds.extend(a.action(Action::NextTab));
    }
    cmds
}

#[test]
fn the_overview_asks_once_and_shows_identity_and_ping() {
    let mut a = app();
    let id = open_github(&mut a);
    let now = fixtures::now() + chrono::Duration::seconds(3);
    let cmds = a.update(Msg::Tick(now));
    assert!(cmds.contains(&Command::Mcp {
        id,
        op: McpOp::Identity
    }));
    // Asked once, not every second.
    let later = now + chrono::Duration::seconds(1);
    assert!(
        !a.update(Msg::Tick(later))
            .iter()
            .any(|c| matches!(c, Command::Mcp { .. }))
    );
    answer(
        &mut a,
        id,
        McpOp::Identity,
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {"listChanged": true}, "resources": {"subscribe": true, "listChanged": true}, "prompts": {}, "logging": {}},
            "serverInfo": {"name": "github-mcp", "version": "1.4.2"},
            "instructions": "Use search_issues before create_issue.\nRate limits apply per token."
        }),
    );
    let cmds = a.action(Action::Ping);
    assert_eq!(
        cmds,
        vec![Command::Mcp {
            id,
            op: McpOp::Ping
        }]
    );
    // One ping at a time.
    assert!(a.action(Action::Ping).is_empty());
    answer(
        &mut a,
        id,
        McpOp::Ping,
        json!({"ok": true, "latency_ms": 7}),
    );
    insta::assert_snapshot!("overview_identity_100x34", render(&mut a, 100, 34));
    // A restart (a new session) asks again.
    let mut list = fixtures::instances();
    list[1].restarts += 1;
    a.update(Msg::Loaded(Ok(list)));
    let again = later + chrono::Duration::seconds(1);
    assert!(a.update(Msg::Tick(again)).contains(&Command::Mcp {
        id,
        op: McpOp::Identity
    }));
}

#[test]
fn an_identity_that_cannot_be_read_says_why() {
    let mut a = app();
    let id = open_github(&mut a);
    a.update(Msg::Mcp {
        id,
        op: McpOp::Identity,
        result: Err(PlatformError::Unavailable(
            "the instance is not running in this runtime; start it first".into(),
        )),
    });
    let s = render(&mut a, 100, 34);
    assert!(
        s.contains("identity      the instance is not running"),
        "{s}"
    );
    assert!(s.contains("ping          not yet (p pings)"), "{s}");
    // A ping asks for the identity again.
    assert_eq!(
        a.action(Action::Ping),
        vec![
            Command::Mcp {
                id,
                op: McpOp::Ping
            },
            Command::Mcp {
                id,
                op: McpOp::Identity
            }
        ]
    );
}

#[test]
fn resources_list_read_search_and_updates() {
    let mut a = app();
    let id = open_github(&mut a);
    let cmds = tab(&mut a, 5);
    // Entering the tab lists resources and templates (passing Tools and
    // Logs loaded theirs).
    assert_eq!(
        cmds[cmds.len() - 2..],
        [
            Command::Mcp {
                id,
                op: McpOp::Resources
            },
            Command::Mcp {
                id,
                op: McpOp::Templates
            }
        ]
    );
    answer(
        &mut a,
        id,
        McpOp::Resources,
        json!({"resources": [
            {"uri": "repo://aacon/README.md", "name": "README.md", "mimeType": "text/markdown"},
            {"uri": "repo://aacon/logo.png", "name": "logo.png", "mimeType": "image/png"}
        ], "updated": {}}),
    );
    answer(
        &mut a,
        id,
        McpOp::Templates,
        json!({"resourceTemplates": [{"uriTemplate": "repo://{owner}/{name}/issues", "name": "issues"}]}),
    );
    // Enter reads the selected resource.
    let cmds = a.update(code(KeyCode::Enter));
    let uri = "repo://aacon/README.md".to_string();
    assert_eq!(
        cmds,
        vec![Command::Mcp {
            id,
            op: McpOp::Read { uri: uri.clone() }
        }]
    );
    let text: String = (1..=40)
        .map(|n| format!("line {n} of the readme\n"))
        .collect();
    answer(
        &mut a,
        id,
        McpOp::Read { uri: uri.clone() },
        json!({"contents": [{"uri": uri, "mimeType": "text/markdown", "text": format!("# aacon\n{text}install with cargo\n")}]}),
    );
    // Subscribe; an update notice marks it.
    let cmds = a.update(code(KeyCode::Char('u')));
    assert_eq!(
        cmds,
        vec![Command::Mcp {
            id,
            op: McpOp::Subscribe { uri: uri.clone() }
        }]
    );
    answer(
        &mut a,
        id,
        McpOp::Subscribe { uri: uri.clone() },
        json!({"subscribed": uri}),
    );
    let now = fixtures::now() + chrono::Duration::seconds(2);
    assert!(a.update(Msg::Tick(now)).contains(&Command::Mcp {
        id,
        op: McpOp::Updated
    }));
    answer(
        &mut a,
        id,
        McpOp::Updated,
        json!({"updated": {uri.clone(): (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}}),
    );
    // Search the pager: it scrolls to the hit.
    a.update(code(KeyCode::Char('/')));
    typed(&mut a, "cargo");
    a.update(code(KeyCode::Enter));
    insta::assert_snapshot!("resources_read_100x30", render(&mut a, 100, 30));
    // w on a text resource saves nothing and says why.
    assert!(a.update(code(KeyCode::Char('w'))).is_empty());
}

#[test]
fn a_binary_resource_shows_type_and_size_and_saves_to_dumps() {
    let mut a = app();
    let id = open_github(&mut a);
    tab(&mut a, 5);
    answer(
        &mut a,
        id,
        McpOp::Resources,
        json!({"resources": [{"uri": "repo://aacon/logo.png", "name": "logo.png", "mimeType": "image/png"}]}),
    );
    a.update(code(KeyCode::Enter));
    let uri = "repo://aacon/logo.png".to_string();
    answer(
        &mut a,
        id,
        McpOp::Read { uri: uri.clone() },
        json!({"contents": [{"uri": uri, "mimeType": "image/png", "blob": "iVBORw0KGgoAAAANSUhEUg=="}]}),
    );
    let s = render(&mut a, 100, 20);
    assert!(s.contains("w saves it to a file"), "{s}");
    assert!(s.contains("(image/png), 16 B of binary"), "{s}");
    let cmds = a.update(code(KeyCode::Char('w')));
    match cmds.as_slice() {
        [
            Command::SaveBytes {
                file,
                bytes,
                summary,
            },
        ] => {
            assert!(
                file.starts_with("resource-github-logo_png-") && file.ends_with(".png"),
                "{file}"
            );
            assert_eq!(bytes.len(), 16);
            assert!(bytes.starts_with(b"\x89PNG"));
            assert!(summary.contains("image/png"), "{summary}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prompts_form_checks_arguments_then_gets_messages() {
    let mut a = app();
    let id = open_github(&mut a);
    let cmds = tab(&mut a, 6);
    assert_eq!(
        cmds.last(),
        Some(&Command::Mcp {
            id,
            op: McpOp::Prompts
        })
    );
    answer(
        &mut a,
        id,
        McpOp::Prompts,
        json!({"prompts": [
            {"name": "simple-prompt", "description": "A prompt without arguments"},
            {"name": "args-prompt", "description": "A prompt with two arguments", "arguments": [
                {"name": "city", "description": "Name of the city", "required": true},
                {"name": "state", "description": "Name of the state"}
            ]}
        ]}),
    );
    a.action(Action::Down);
    assert!(a.update(code(KeyCode::Enter)).is_empty(), "the form opens");
    // Only the optional field filled: one sentence, nothing sent.
    a.update(code(KeyCode::Down));
    typed(&mut a, "Tejo");
    let ctrl_s = || Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    assert!(a.update(ctrl_s()).is_empty());
    insta::assert_snapshot!("prompts_form_missing_100x24", render(&mut a, 100, 24));
    a.update(code(KeyCode::Up));
    typed(&mut a, "Lisbon");
    let cmds = a.update(ctrl_s());
    let mut args = Map::new();
    args.insert("city".into(), json!("Lisbon"));
    args.insert("state".into(), json!("Tejo"));
    let op = McpOp::GetPrompt {
        name: "args-prompt".into(),
        arguments: args,
    };
    assert_eq!(cmds, vec![Command::Mcp { id, op: op.clone() }]);
    answer(
        &mut a,
        id,
        op,
        json!({"messages": [{"role": "user", "content": {"type": "text", "text": "What's weather in Lisbon, Tejo?"}}]}),
    );
    insta::assert_snapshot!("prompts_messages_100x24", render(&mut a, 100, 24));
}

#[test]
fn a_stopped_instance_is_not_started_to_list_or_name_its_server() {
    let mut a = app();
    a.run_command("i slack");
    let now = fixtures::now() + chrono::Duration::seconds(3);
    let asked = |cmds: &[Command]| cmds.iter().any(|c| matches!(c, Command::Mcp { .. }));
    assert!(!asked(&a.update(Msg::Tick(now))), "no identity asked");
    let cmds = tab(&mut a, 5);
    assert!(!asked(&cmds), "{cmds:?}");
    let s = render(&mut a, 100, 20);
    assert!(
        s.contains("Cannot list resources: the instance is stopped; start it (s); this tab"),
        "{s}"
    );
    let cmds = tab(&mut a, 1);
    assert!(!asked(&cmds), "{cmds:?}");
}
