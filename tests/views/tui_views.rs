//! Snapshot tests of every view, rendered from hand-built state with the
//! real render code into a `TestBackend`.

use crate::support::app::{app, code, ctrl, key};
use aacon::domain::Status;
use aacon::platform::{RuntimeHost, ToolCallResult, ToolInfo};
use aacon::tui::app::{App, Msg, Overlay};
use aacon::tui::fixtures::{self, open_github};
use aacon::tui::keymap::Action;
use aacon::tui::theme::Theme;
use aacon::tui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

fn draw(app: &mut App, w: u16, h: u16) -> Buffer {
    app.prepare();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| views::render(f, app)).unwrap();
    t.backend().buffer().clone()
}

fn text(b: &Buffer) -> String {
    fixtures::screen_text(b)
}

fn render(app: &mut App, w: u16, h: u16) -> String {
    text(&draw(app, w, h))
}

fn both_sizes(name: &str, mut setup: impl FnMut(&mut App)) {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut a = app();
        setup(&mut a);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&mut a, w, h));
    }
}

#[test]
fn instances_view() {
    both_sizes("instances", |_| {});
}

#[test]
fn detail_tabs() {
    both_sizes("detail_overview", open_github);
    both_sizes("detail_spec", |a| {
        open_github(a);
        a.action(Action::NextTab);
    });
    both_sizes("detail_events", |a| {
        open_github(a);
        a.action(Action::NextTab);
        a.action(Action::NextTab);
    });
    both_sizes("detail_tools", |a| {
        open_tools(a);
        // Edit the arguments, call, and get a result back.
        a.update(code(KeyCode::Down));
        a.update(code(KeyCode::Enter));
        a.update(ctrl('s'));
        let id = github_id();
        a.update(Msg::ToolCalled {
            id,
            result: Ok(ToolCallResult {
                is_error: false,
                text: "3 issues found:\n#12 crash on start\n#15 docs".into(),
                result: serde_json::Value::Null,
            }),
        });
    });
    // A tool with a required property: its whole argument skeleton shows.
    both_sizes("detail_tools_skeleton", |a| {
        open_tools(a);
        a.update(code(KeyCode::Down));
    });
    both_sizes("detail_tools_calling", |a| {
        open_tools(a);
        a.update(code(KeyCode::Enter));
        a.update(ctrl('s'));
    });
    both_sizes("detail_logs", |a| {
        open_github(a);
        for _ in 0..4 {
            a.action(Action::NextTab);
        }
        a.update(Msg::LogsLoaded {
            id: github_id(),
            result: Ok(mixed_log()),
        });
    });
}

/// A log of every source: stderr, MCP log messages (one with a logger)
/// and the runtime's markers around a restart.
fn mixed_log() -> aacon::platform::LogPage {
    use aacon::platform::{LogLevel, LogLine, LogPage, LogSource};
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let lines: Vec<LogLine> = [
        (LogLevel::Notice, LogSource::Runtime, None, "starting"),
        (
            LogLevel::Info,
            LogSource::Stderr,
            None,
            "github-mcp 1.4.2 starting",
        ),
        (
            LogLevel::Notice,
            LogSource::Runtime,
            None,
            "running: github-mcp 1.4.2 (protocol 2025-06-18), pid 4242",
        ),
        (LogLevel::Info, LogSource::Mcp, None, "listening on stdio"),
        (
            LogLevel::Warning,
            LogSource::Stderr,
            None,
            "warn: rate limit at 80%",
        ),
        (
            LogLevel::Error,
            LogSource::Mcp,
            Some("api"),
            "GET /user failed: 502 Bad Gateway",
        ),
        (
            LogLevel::Error,
            LogSource::Runtime,
            None,
            "the process exited with code 1; restarting in 1.0s",
        ),
        (
            LogLevel::Notice,
            LogSource::Runtime,
            None,
            "restarting (restart 1)",
        ),
        (
            LogLevel::Debug,
            LogSource::Mcp,
            Some("api"),
            "token refreshed",
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (level, source, logger, text))| LogLine {
        seq: i as u64,
        at: t0 + chrono::Duration::milliseconds(1500 * i as i64),
        level,
        source,
        logger: logger.map(str::to_string),
        text: text.to_string(),
    })
    .collect();
    LogPage {
        next: lines.len() as u64,
        lines,
        missed: 0,
        reset: false,
    }
}

fn github_id() -> uuid::Uuid {
    fixtures::instances()[1].id
}

/// The detail view of "github" on its Tools tab, with two tools.
fn open_tools(a: &mut App) {
    open_github(a);
    for _ in 0..3 {
        a.action(Action::NextTab);
    }
    a.update(Msg::ToolsLoaded {
        id: github_id(),
        result: Ok(vec![
            ToolInfo {
                name: "get_me".into(),
                description: Some("Details of the signed-in user".into()),
                input_schema: serde_json::json!({"type": "object", "properties": {}}),
                annotations: Some(serde_json::json!({"readOnlyHint": true})),
            },
            ToolInfo {
                name: "list_issues".into(),
                description: Some("Issues of a repository".into()),
                input_schema: serde_json::json!({
                    "type": "object",
                    "properties": {
                        "repo": {"type": "string"},
                        "limit": {"type": "integer"}
                    },
                    "required": ["repo"]
                }),
                annotations: Some(serde_json::json!({"readOnlyHint": true})),
            },
        ]),
    });
}

#[test]
fn events_view_and_raw_envelope() {
    both_sizes("events", |a| {
        a.action(Action::EventsView);
    });
    both_sizes("events_raw", |a| {
        a.action(Action::EventsView);
        a.action(Action::Up);
        a.action(Action::Raw);
    });
}

#[test]
fn help_screen() {
    both_sizes("help", |a| {
        a.update(key('?'));
    });
}

#[test]
fn confirm_bulk_delete_names_the_instances() {
    both_sizes("confirm_delete", |a| {
        a.update(key(' '));
        a.update(key(' '));
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('d'),
            KeyModifiers::CONTROL,
        )));
    });
}

#[test]
fn command_line() {
    let mut a = app();
    a.update(key(':'));
    for c in "theme li".chars() {
        a.update(key(c));
    }
    insta::assert_snapshot!("command_line_80x24", render(&mut a, 80, 24));
}

#[test]
fn empty_and_loading_states() {
    let mut a = app();
    a.load(Vec::new());
    a.events.stream.clear();
    insta::assert_snapshot!("empty_80x24", render(&mut a, 80, 24));
    a.action(Action::EventsView);
    insta::assert_snapshot!("events_empty_80x24", render(&mut a, 80, 24));
}

#[test]
fn filter_results() {
    let mut a = app();
    a.update(key('/'));
    for c in "status:running,unhealthy !search".chars() {
        a.update(key(c));
    }
    insta::assert_snapshot!("filter_typing_80x24", render(&mut a, 80, 24));
    a.update(code(KeyCode::Enter));
    let s = render(&mut a, 80, 24);
    assert!(s.contains("filesystem") && s.contains("github"), "{s}");
    assert!(!s.contains("search ") && !s.contains("slack"), "{s}");
    insta::assert_snapshot!("filter_applied_80x24", s);

    a.set_filter("^git$");
    let s = render(&mut a, 80, 24);
    assert!(s.contains("git ") && !s.contains("github"), "{s}");
    a.set_filter("nothing-like-this");
    insta::assert_snapshot!("filter_no_match_80x24", render(&mut a, 80, 24));
}

#[test]
fn too_small_screen_says_so() {
    let mut a = app();
    insta::assert_snapshot!("too_small_39x11", render(&mut a, 39, 11));
}

type Setup = Box<dyn Fn(&mut App)>;

#[test]
fn every_view_works_at_40x12() {
    let setups: Vec<(&str, Setup)> = vec![
        ("instances", Box::new(|_| {})),
        ("detail", Box::new(|a| drop(a.update(code(KeyCode::Enter))))),
        ("events", Box::new(|a| drop(a.action(Action::EventsView)))),
        ("help", Box::new(|a| drop(a.action(Action::Help)))),
        (
            "confirm",
            Box::new(|a| {
                a.update(Msg::Key(KeyEvent::new(
                    KeyCode::Char('d'),
                    KeyModifiers::CONTROL,
                )));
            }),
        ),
    ];
    let more: Vec<(&str, Setup)> = vec![
        ("editor", Box::new(open_editor)),
        (
            "editor-error",
            Box::new(|a| {
                open_editor(a);
                a.update(key('x'));
            }),
        ),
        ("picker", Box::new(|a| drop(a.update(key('n'))))),
        (
            "conflict",
            Box::new(|a| {
                open_editor(a);
                a.update(Msg::Theirs(Ok(fixtures::instances()[0].clone())));
            }),
        ),
        (
            "drafts",
            Box::new(|a| {
                let e = aacon::tui::editor::Editor::create(&aacon::tui::templates::all()[0]);
                a.update(Msg::Drafts(vec![e.draft()]));
            }),
        ),
    ];
    for (name, setup) in setups.into_iter().chain(more) {
        let mut a = app();
        setup(&mut a);
        let s = render(&mut a, 40, 12);
        assert!(!s.contains("too small"), "{name}: {s}");
        if name == "instances" {
            insta::assert_snapshot!("instances_40x12", s);
        }
        // Every tab of the detail view, too.
        if name == "detail" {
            for _ in 0..5 {
                a.action(Action::NextTab);
                render(&mut a, 40, 12);
            }
        }
    }
}

#[test]
fn resize_storm_never_panics() {
    let mut a = app();
    a.update(code(KeyCode::Enter));
    for w in (1..130).step_by(7) {
        for h in (1..45).step_by(5) {
            render(&mut a, w, h);
        }
    }
    a.action(Action::EventsView);
    a.action(Action::Help);
    for w in (1..130).step_by(11) {
        for h in (1..45).step_by(4) {
            render(&mut a, w, h);
        }
    }
}

#[test]
fn status_has_colour_and_symbol() {
    let mut a = app();
    let b = draw(&mut a, 120, 24);
    let s = text(&b);
    let theme = Theme::preset("default").unwrap();
    for st in [
        Status::Running,
        Status::Unhealthy,
        Status::Error,
        Status::Stopped,
    ] {
        let label = format!("{} {}", st.symbol(), st.as_str());
        let y = s
            .lines()
            .position(|l| l.contains(&label) && !l.contains("instances"))
            .unwrap_or_else(|| panic!("{label} not in\n{s}"));
        let x = (0..b.area.width)
            .find(|x| b[(*x, y as u16)].symbol() == st.symbol())
            .unwrap();
        assert_eq!(b[(x, y as u16)].fg, theme.status(st).fg.unwrap(), "{st}");
    }
}

#[test]
fn json_spec_and_raw_envelopes_mask_secrets() {
    let mut a = app();
    // github has a plain Authorization header; postgres a plain password.
    for (name, secret) in [("github", "ghp_plainTokenValue"), ("postgres", "hunter2")] {
        a.run_command(&format!("i {name}"));
        a.action(Action::NextTab);
        let s = render(&mut a, 120, 40);
        assert!(s.contains(&format!("┌ {name} ")), "{s}");
        assert!(s.contains("••••••"), "{s}");
        assert!(!s.contains(secret), "{s}");
        a.action(Action::Back);
    }
    // filesystem's secret_ref is a reference, not a secret: shown as is.
    a.run_command("i filesystem");
    a.action(Action::NextTab);
    let s = render(&mut a, 120, 40);
    assert!(s.contains("secret_ref:fs-key"), "{s}");
    // Overlays close with esc.
    assert!(a.overlay.is_none());
    a.action(Action::Help);
    assert!(matches!(a.overlay, Some(Overlay::Help(_))));
}

#[test]
fn read_only_shows_a_badge_and_hides_mutating_keys() {
    let mut a = app();
    a.backend.read_only = true;
    let s = render(&mut a, 120, 24);
    assert!(s.contains("READ-ONLY"), "{s}");
    let last = s.lines().rfind(|l| !l.is_empty()).unwrap();
    assert!(
        !last.contains("start") && !last.contains("delete"),
        "{last}"
    );
    let mut rw = app();
    let s = render(&mut rw, 200, 24);
    let last = s.lines().rfind(|l| !l.is_empty()).unwrap();
    assert!(last.contains("start"), "{last}");
}

#[test]
fn live_change_updates_the_row_in_place_with_a_highlight() {
    let mut a = app();
    let git = fixtures::instances()[2].clone();
    a.update(Msg::Platform(fixtures::live_change(&git, Status::Starting)));
    let b = draw(&mut a, 120, 24);
    let s = text(&b);
    let line = s.lines().position(|l| l.contains(" git ")).unwrap();
    assert!(s.lines().nth(line).unwrap().contains("↑ starting"), "{s}");
    let theme = Theme::preset("default").unwrap();
    let x = (0..b.area.width)
        .find(|x| b[(*x, line as u16)].symbol() == "↑")
        .unwrap();
    assert_eq!(b[(x, line as u16)].bg, theme.changed.bg.unwrap());
    // The highlight fades on a later tick.
    a.update(Msg::Tick(fixtures::now() + chrono::Duration::seconds(5)));
    let b = draw(&mut a, 120, 24);
    assert_ne!(b[(x, line as u16)].bg, theme.changed.bg.unwrap());
}

fn open_editor(a: &mut App) {
    let fs = fixtures::instances()[0].clone();
    a.update(Msg::EditTarget(Ok(fs)));
}

#[test]
fn editor_with_a_validation_error() {
    both_sizes("editor_error", |a| {
        open_editor(a);
        // Before the opening brace: a JSON syntax error at 1:1.
        a.update(key('x'));
    });
    let mut a = app();
    open_editor(&mut a);
    a.update(key('x'));
    let s = render(&mut a, 120, 30);
    assert!(s.contains("1:1") || s.contains("line 1"), "{s}");
}

#[test]
fn editor_hides_plain_secrets() {
    let mut a = app();
    let gh = fixtures::instances()[1].clone();
    a.update(Msg::EditTarget(Ok(gh)));
    let s = render(&mut a, 120, 30);
    assert!(s.contains("<redacted>"), "{s}");
    assert!(!s.contains("ghp_plainTokenValue"), "{s}");
}

#[test]
fn conflict_screen_after_a_stale_save() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut a = app();
        open_editor(&mut a);
        a.update(code(KeyCode::End));
        a.update(code(KeyCode::Enter));
        for c in r#""args": ["-v"],"#.chars() {
            a.update(key(c));
        }
        let cmds = a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('s'),
            KeyModifiers::CONTROL,
        )));
        assert!(
            matches!(cmds.as_slice(), [aacon::tui::app::Command::Update { .. }]),
            "{cmds:?}"
        );
        let cmds = a.update(Msg::Saved(Err(aacon::platform::PlatformError::Conflict(
            "filesystem changed since version 3".into(),
        ))));
        let fs = fixtures::instances()[0].clone();
        assert_eq!(cmds, vec![aacon::tui::app::Command::FetchTheirs(fs.id)]);
        let mut theirs = fs.clone();
        theirs.version = 4;
        theirs.updated_by = Some("cli on build-host".into());
        theirs
            .json_spec
            .insert("cwd".into(), serde_json::json!("/srv/other"));
        a.update(Msg::Theirs(Ok(theirs)));
        insta::assert_snapshot!(format!("conflict_{w}x{h}"), render(&mut a, w, h));
    }
}

#[test]
fn template_picker() {
    both_sizes("picker", |a| {
        a.update(key('n'));
    });
}

#[test]
fn events_say_what_changed() {
    use aacon::domain::Envelope;
    use aacon::platform::PlatformEvent;
    use std::sync::Arc;
    let mut a = app();
    let mut fs = fixtures::instances()[0].clone();
    fs.aggregate_version += 50;
    for e in [
        Envelope::updated(&fs, &["json_spec", "description"], Some("c-upd".into())),
        Envelope::started(&fs, Some("c-go".into())),
        Envelope::deleted(&fs, Some("c-del".into())),
    ] {
        a.update(Msg::Platform(PlatformEvent::Event(Arc::new(e))));
    }
    a.action(Action::EventsView);
    let s = render(&mut a, 120, 30);
    assert!(s.contains("changed json_spec, description"), "{s}");
    assert!(s.contains("desired running"), "{s}");
    assert!(s.contains("deleted"), "{s}");
}

#[test]
fn the_table_says_what_part_of_the_stream_it_covers() {
    use aacon::domain::Envelope;
    use aacon::platform::{PlatformEvent, StreamWindow};
    let mut a = app();
    // Three instances known only from the stream (not in the last list).
    for (n, name) in ["from-stream-1", "from-stream-2", "from-stream-3"]
        .iter()
        .enumerate()
    {
        let mut i = fixtures::instances()[0].clone();
        i.id = uuid::Uuid::from_u128(0xfeed_0000 + n as u128);
        i.name = name.to_string();
        let e = Envelope::created(&i, None);
        a.update(Msg::Platform(PlatformEvent::Event(std::sync::Arc::new(e))));
    }
    let since = chrono::DateTime::parse_from_rfc3339("2026-11-24T22:21:07Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    a.update(Msg::Platform(PlatformEvent::Window(StreamWindow {
        source: "redis://127.0.0.1:6379/0".into(),
        retained: 5001,
        read: 200,
        since: Some(since),
    })));
    a.prepare();
    assert_eq!(
        a.coverage().as_deref(),
        Some("3 instances seen on the stream since 22:21 · B reads all 5001 entries")
    );
    insta::assert_snapshot!("coverage_partial_80x24", render(&mut a, 80, 24));
    a.update(Msg::Platform(PlatformEvent::Window(StreamWindow {
        source: "redis://127.0.0.1:6379/0".into(),
        retained: 5001,
        read: 5001,
        since: Some(since),
    })));
    a.prepare();
    assert_eq!(
        a.coverage().as_deref(),
        Some("3 instances seen on the stream since 22:21 (all 5001 entries it retains)")
    );
    // The platform's own list only: nothing to say.
    a.load(fixtures::instances());
    a.prepare();
    assert_eq!(a.coverage(), None);
}

#[test]
fn an_event_known_by_id_only_shows_the_id_and_one_without_shows_a_dash() {
    use aacon::domain::Envelope;
    use aacon::platform::PlatformEvent;
    let mut a = app();
    a.events.stream.clear();
    let raw = |data: &str| -> Envelope {
        serde_json::from_str(&format!(
            r#"{{"event_id":"{}","timestamp":"2026-11-25T11:59:00Z","event_type":"MCPServerInstanceDeleted","data":{data}}}"#,
            uuid::Uuid::new_v4()
        ))
        .unwrap()
    };
    let gone = raw(r#"{"instance_id":"0badc0de-1111-4222-8333-444455556666"}"#);
    let nameless = raw("{}");
    for e in [gone, nameless] {
        a.update(Msg::Platform(PlatformEvent::Event(std::sync::Arc::new(e))));
    }
    a.action(Action::EventsView);
    let screen = render(&mut a, 120, 24);
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains("Deleted")).collect();
    assert_eq!(rows.len(), 2, "{screen}");
    assert!(rows[0].contains("0badc0de"), "{}", rows[0]);
    assert!(rows[1].contains(" - "), "{}", rows[1]);
}

/// The fixture's app as a console that hosts the runtime.
fn hosting(a: &mut App) {
    a.update(Msg::RuntimeHost(Some(RuntimeHost::ThisProcess {
        role: "console".into(),
        pid: 4242,
    })));
}

#[test]
fn quit_prompt_names_what_runs_and_the_choices() {
    both_sizes("quit_prompt", |a| {
        hosting(a);
        a.update(key('q'));
        assert!(matches!(a.overlay, Some(Overlay::Quit(_))));
        assert!(!a.quit);
    });
}

#[test]
fn the_header_names_the_runtime_host() {
    for (name, host) in [
        (
            "serve",
            RuntimeHost::Other {
                role: "serve".into(),
                pid: 7,
                address: Some("127.0.0.1:8080".into()),
            },
        ),
        (
            "background",
            RuntimeHost::Other {
                role: "host".into(),
                pid: 9,
                address: None,
            },
        ),
        ("nobody", RuntimeHost::Nobody),
    ] {
        let mut a = app();
        a.update(Msg::RuntimeHost(Some(host)));
        insta::assert_snapshot!(format!("runtime_host_{name}_80x24"), render(&mut a, 80, 24));
    }
    both_sizes("runtime_host_console", hosting);
}

#[test]
fn the_overview_names_the_replica_hosting_the_instance_only_when_shared_by_lease() {
    use aacon::platform::Hosting;
    for (name, result) in [
        (
            "hosted",
            Ok(Some(Hosting::By {
                replica: "api-7f3c".into(),
                address: "10.0.3.17:8080".into(),
            })),
        ),
        ("not_hosted", Ok(Some(Hosting::Nobody))),
        ("single", Ok(None)),
    ] {
        let mut a = app();
        open_github(&mut a);
        let id = crate::tui_health_tools::detail(&a).id;
        a.update(Msg::Hosting { id, result });
        let screen = render(&mut a, 80, 24);
        assert_eq!(screen.contains("hosted by"), name != "single", "{screen}");
        insta::assert_snapshot!(format!("detail_overview_{name}_80x24"), screen);
    }
}

#[test]
fn the_header_names_the_replica_that_answered_only_when_one_did() {
    for (name, replica) in [
        ("remote", None),
        ("remote_replica", Some("api-7f3c".to_string())),
    ] {
        let mut a = app();
        a.update(Msg::RuntimeHost(Some(RuntimeHost::Remote { replica })));
        let screen = render(&mut a, 120, 24);
        assert_eq!(
            screen.contains("replica api-7f3c"),
            name == "remote_replica"
        );
        insta::assert_snapshot!(format!("runtime_host_{name}_120x24"), screen);
    }
}

#[test]
fn confirm_bulk_restart_names_the_instances() {
    both_sizes("confirm_restart", |a| {
        a.update(key(' '));
        a.update(key(' '));
        a.update(key('R'));
    });
}
