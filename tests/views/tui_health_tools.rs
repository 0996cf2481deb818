//! Issue 14 in the console's state and views: HEALTH is the last probe
//! (read from the platform, never an event), the Overview's health lines,
//! and the Tools tab without footguns (a call only from the open argument
//! editor, a confirmation naming tool and arguments, a result pane that
//! scrolls and searches).

use crate::support::app::{app, code, ctrl, key, render};
use aacon::domain::Probe;
use aacon::platform::{PlatformError, ToolCallResult, ToolInfo};
use aacon::tui::app::{App, Command, Msg, Overlay, Screen};
use aacon::tui::fixtures;
use aacon::tui::keymap::Action;
use chrono::Duration;
use crossterm::event::KeyCode;
use serde_json::json;
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// filesystem (1) and search (5) answered their last probe; github (2)
/// failed it; slack (6) is stopped (a probe left over must not show).
fn probes() -> Vec<Probe> {
    let now = fixtures::now();
    let ok = |n: u128, secs: i64, ms: u64| Probe {
        instance_id: id(n),
        at: now - Duration::seconds(secs),
        ok: true,
        latency_ms: ms,
        error: None,
        last_ok_at: Some(now - Duration::seconds(secs)),
    };
    vec![
        ok(1, 3, 4),
        Probe {
            instance_id: id(2),
            at: now - Duration::seconds(12),
            ok: false,
            latency_ms: 1,
            error: Some("connection refused".into()),
            last_ok_at: Some(now - Duration::seconds(95)),
        },
        ok(5, 1, 1234),
        ok(6, 2, 3),
    ]
}

fn with_probes() -> App {
    let mut a = app();
    a.update(Msg::Probes(Ok(probes())));
    a
}

/// Open the instance on row `row` (rows sorted by name).
pub(crate) fn open_row(a: &mut App, row: usize) {
    for _ in 0..row {
        a.action(Action::Down);
    }
    a.update(code(KeyCode::Enter));
}

#[test]
fn the_health_column_is_the_last_probe() {
    let mut a = with_probes();
    insta::assert_snapshot!("health_column_120x14", render(&mut a, 120, 14));
    // The cells as the operator reads them.
    let screen = render(&mut a, 120, 14);
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("{name}: {screen}"))
            .to_string()
    };
    assert!(
        row("filesystem").contains("ok 3s 4ms"),
        "{}",
        row("filesystem")
    );
    assert!(row("github").contains("fail 12s"), "{}", row("github"));
    assert!(row("search").contains("ok 1s 1.2s"), "{}", row("search"));
    assert!(
        !row("slack").contains("ok"),
        "a stopped instance shows no health age"
    );
}

#[test]
fn probes_refresh_the_row_and_a_backend_without_them_falls_back() {
    let mut a = app();
    // Every read replaces the last: filesystem's probe moves on.
    a.update(Msg::Probes(Ok(probes())));
    let mut later = probes();
    later[0].at = fixtures::now();
    later[0].latency_ms = 7;
    a.update(Msg::Probes(Ok(later)));
    assert_eq!(a.probes[&id(1)].latency_ms, 7);
    // An instance that stopped drops out with the next read.
    a.update(Msg::Probes(Ok(vec![])));
    assert!(a.probes.is_empty());
    // A backend without probes: said once, then no more asking.
    a.update(Msg::Probes(Err(PlatformError::Unavailable(
        "the API at http://x reports no health probes".into(),
    ))));
    assert!(a.probes_off.is_some());
    let later = fixtures::now() + Duration::seconds(5);
    assert!(!a.update(Msg::Tick(later)).contains(&Command::LoadProbes));
    // Ticks ask once a second otherwise, one read at a time.
    let mut b = app();
    let t1 = fixtures::now() + Duration::seconds(1);
    assert!(b.update(Msg::Tick(t1)).contains(&Command::LoadProbes));
    let t2 = t1 + Duration::seconds(1);
    assert!(!b.update(Msg::Tick(t2)).contains(&Command::LoadProbes));
    b.update(Msg::Probes(Ok(vec![])));
    let t3 = t2 + Duration::seconds(1);
    assert!(b.update(Msg::Tick(t3)).contains(&Command::LoadProbes));
}

#[test]
fn the_overview_says_the_last_probe_and_the_last_healthy_time() {
    let mut a = with_probes();
    open_row(&mut a, 1); // filesystem
    let s = render(&mut a, 100, 26);
    insta::assert_snapshot!("overview_health_ok_100x26", s);
    assert!(s.contains("last probe 3s ago, 4 ms, ok"), "{s}");
    let mut a = with_probes();
    open_row(&mut a, 3); // github
    let s = render(&mut a, 100, 26);
    insta::assert_snapshot!("overview_health_failed_100x26", s);
    assert!(
        s.contains("last probe 12s ago, 1 ms, failed: connection refused"),
        "{s}"
    );
    // The last good probe, not the stored time of the last status change.
    assert!(s.contains("2026-11-25 11:58:25 UTC (1m ago)"), "{s}");
    // Stopped: no health age.
    let mut a = with_probes();
    open_row(&mut a, 7); // slack
    let s = render(&mut a, 100, 26);
    assert!(s.contains("- (not running)"), "{s}");
}

#[test]
fn a_new_instance_never_started_shows_stopped_not_pending() {
    let mut a = app();
    let mut fresh = fixtures::instance(
        9,
        "brand-new",
        json!({"command": ["srv"]}),
        aacon::domain::Status::Pending,
        0,
    );
    fresh.desired_state = aacon::domain::DesiredState::Stopped;
    fresh.restarts = 0;
    a.load(
        fixtures::instances()
            .into_iter()
            .chain(std::iter::once(fresh))
            .collect(),
    );
    let s = render(&mut a, 120, 14);
    let row = s.lines().find(|l| l.contains("brand-new")).unwrap();
    assert!(row.contains("○ stopped"), "{row}");
    assert!(!row.contains("pending"), "{row}");
    a.set_filter("brand");
    open_row(&mut a, 0);
    let s = render(&mut a, 100, 26);
    assert!(s.contains("○ stopped (never started)"), "{s}");
}

/// github's Tools tab with a read-only tool and a destructive one.
pub(crate) fn tools(a: &mut App) -> Uuid {
    open_row(a, 3);
    for _ in 0..3 {
        a.action(Action::NextTab);
    }
    a.update(Msg::ToolsLoaded {
        id: id(2),
        result: Ok(vec![
            ToolInfo {
                name: "list_issues".into(),
                description: Some("Issues of a repository".into()),
                input_schema: json!({"type": "object", "properties": {"repo": {"type": "string"}}, "required": ["repo"]}),
                annotations: Some(json!({"readOnlyHint": true})),
            },
            ToolInfo {
                name: "delete_repository_and_every_fork".into(),
                description: Some("Delete the repository, its issues, its wiki and every fork of it, for good; nothing can bring them back".into()),
                input_schema: json!({"type": "object", "properties": {"repo": {"type": "string"}, "confirm_token": {"type": "string"}}, "required": ["repo"]}),
                annotations: Some(json!({"destructiveHint": true})),
            },
        ]),
    });
    id(2)
}

pub(crate) fn type_args(a: &mut App, text: &str) {
    a.update(code(KeyCode::Enter));
    for _ in 0..10 {
        a.update(code(KeyCode::Down));
        a.update(code(KeyCode::End));
        for _ in 0..40 {
            a.update(code(KeyCode::Backspace));
        }
    }
    for c in text.chars() {
        a.update(key(c));
    }
}

pub(crate) fn detail(a: &App) -> &aacon::tui::app::DetailState {
    match a.screens.last() {
        Some(Screen::Detail(d)) => d,
        _ => panic!("not in the detail view"),
    }
}

#[test]
fn ctrl_s_calls_only_from_the_open_argument_editor() {
    let mut a = app();
    let gh = tools(&mut a);
    // Editor closed: ctrl-s is what it is everywhere, the dump.
    let cmds = a.update(ctrl('s'));
    assert!(
        matches!(cmds.as_slice(), [Command::Dump { .. }]),
        "{cmds:?}"
    );
    assert!(detail(&a).tools.result.is_none());
    // Open: ctrl-s calls (a read-only tool: no question).
    type_args(&mut a, r#"{"repo": "aacon"}"#);
    assert_eq!(
        a.update(ctrl('s')),
        vec![Command::CallTool {
            id: gh,
            tool: "list_issues".into(),
            args: json!({"repo": "aacon"}),
            call: a.calls,
        }]
    );
}

#[test]
fn a_destructive_tool_asks_first_naming_the_tool_and_its_arguments() {
    let mut a = app();
    let gh = tools(&mut a);
    a.action(Action::Down);
    type_args(
        &mut a,
        r#"{"repo": "aacon", "confirm_token": "ghp_plainTokenValue"}"#,
    );
    assert!(a.update(ctrl('s')).is_empty(), "nothing is sent before yes");
    let s = render(&mut a, 100, 30);
    insta::assert_snapshot!("tool_confirmation_100x30", s);
    match &a.overlay {
        Some(Overlay::Confirm(c)) => {
            assert_eq!(c.title, "Call tool delete_repository_and_every_fork?");
            let all = c.lines.join("\n");
            assert!(all.contains("on instance github"), "{all}");
            assert!(all.contains("\"repo\": \"aacon\""), "{all}");
            assert!(
                !all.contains("ghp_plainTokenValue"),
                "secrets masked: {all}"
            );
            assert!(all.contains("marks this tool destructive"), "{all}");
        }
        other => panic!("{other:?}"),
    }
    // No (the default) sends nothing.
    assert!(a.update(code(KeyCode::Enter)).is_empty());
    assert!(a.overlay.is_none());
    assert!(!detail(&a).tools.calling);
    // Yes sends exactly what was confirmed.
    a.update(ctrl('s'));
    assert_eq!(
        a.update(key('y')),
        vec![Command::CallTool {
            id: gh,
            tool: "delete_repository_and_every_fork".into(),
            args: json!({"repo": "aacon", "confirm_token": "ghp_plainTokenValue"}),
            call: a.calls,
        }]
    );
    assert!(detail(&a).tools.calling);
}

#[test]
fn a_tool_not_marked_read_only_asks_too() {
    let mut a = app();
    open_row(&mut a, 3);
    for _ in 0..3 {
        a.action(Action::NextTab);
    }
    a.update(Msg::ToolsLoaded {
        id: id(2),
        result: Ok(vec![ToolInfo {
            name: "create_issue".into(),
            description: None,
            input_schema: json!({"type": "object"}),
            annotations: None,
        }]),
    });
    type_args(&mut a, "{}");
    assert!(a.update(ctrl('s')).is_empty());
    match &a.overlay {
        Some(Overlay::Confirm(c)) => {
            assert!(
                c.lines
                    .iter()
                    .any(|l| l.contains("does not mark this tool read-only")),
                "{:?}",
                c.lines
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_result_pane_scrolls_and_searches() {
    let mut a = app();
    let gh = tools(&mut a);
    let text: String = (1..=200)
        .map(|n| {
            if n == 150 {
                "line 150: the needle".to_string()
            } else {
                format!("line {n}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    a.update(Msg::ToolCalled {
        id: gh,
        result: Ok(ToolCallResult {
            is_error: false,
            text,
            result: json!(null),
        }),
    });
    render(&mut a, 100, 30);
    a.update(code(KeyCode::PageDown));
    assert!(detail(&a).tools.result_scroll > 0);
    a.update(code(KeyCode::PageUp));
    assert_eq!(detail(&a).tools.result_scroll, 0);
    // `/` searches the result as it is typed.
    a.update(key('/'));
    for c in "needle".chars() {
        a.update(key(c));
    }
    let s = render(&mut a, 100, 30);
    assert!(s.contains("/needle▏  search the result"), "{s}");
    a.update(code(KeyCode::Enter));
    assert_eq!(detail(&a).tools.result_scroll, 149);
    let s = render(&mut a, 100, 30);
    assert!(s.contains("line 150: the needle"), "{s}");
    assert!(s.contains("150-156/200 · 'needle' 1 line · n next"), "{s}");
    // `n` finds the next (here: the same one again, wrapping).
    a.update(key('n'));
    assert_eq!(detail(&a).tools.result_scroll, 149);
}

#[test]
fn the_editors_help_says_what_environment_a_server_gets() {
    let mut a = app();
    a.action(Action::Create);
    a.overlay = Some(Overlay::Help(Default::default()));
    let s = render(&mut a, 100, 60);
    assert!(s.contains("A stdio server's environment"), "{s}");
    assert!(
        s.contains("console's own environment: PATH, HOME, LANG, LC_*, TZ, TMPDIR, USER"),
        "{s}"
    );
    assert!(s.contains("runtime.child_env"), "{s}");
    // Elsewhere the help stays about keys.
    let mut a = app();
    a.overlay = Some(Overlay::Help(Default::default()));
    assert!(!render(&mut a, 100, 60).contains("A stdio server's environment"));
}

#[test]
fn sorting_by_health_follows_the_live_probes() {
    let mut a = with_probes();
    a.run_command("sort health");
    a.prepare();
    let names = |a: &App| -> Vec<String> {
        a.instances
            .rows
            .iter()
            .map(|id| a.projection.get(id).unwrap().name.clone())
            .collect()
    };
    // search's last good probe (1s ago) before filesystem's (3s), then
    // postgres as stored (8s; starting, no probe yet), then github's (95s).
    assert_eq!(
        names(&a)[..4],
        ["search", "filesystem", "postgres", "github"]
    );
    let mut later = probes();
    later[0].last_ok_at = Some(fixtures::now());
    a.update(Msg::Probes(Ok(later)));
    a.prepare();
    assert_eq!(names(&a)[0], "filesystem", "a fresh probe moves the row");
}
