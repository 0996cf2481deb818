//! Console behaviour: the pure update function, the event loop against the
//! real embedded platform, and read-only mode at the port.

use crate::support::app::{app, ctrl, key};
use aacon::domain::{Envelope, InstancePatch, NewInstance, Precondition, Status};
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use aacon::platform::{
    ActionOutcome, BackendInfo, EventQuery, Platform, PlatformError, PlatformEvent, ReadOnly,
};
use aacon::tui::app::{App, Column, Command, Msg, Overlay};
use aacon::tui::fixtures;
use aacon::tui::keymap::{Action, Keymap};
use aacon::tui::run::{ConsoleOptions, no_signals, run_loop};
use aacon::tui::theme::Theme;
use aacon::tui::views;
use async_trait::async_trait;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use uuid::Uuid;

fn names(a: &App) -> Vec<String> {
    a.instances
        .rows
        .iter()
        .map(|id| a.projection.get(id).unwrap().name.clone())
        .collect()
}

#[test]
fn bulk_delete_asks_naming_the_rows_and_only_yes_deletes() {
    let mut a = app();
    a.update(key(' '));
    a.update(key(' '));
    let marked: Vec<Uuid> = a.instances.rows[..2].to_vec();
    assert!(a.update(ctrl('d')).is_empty());
    match &a.overlay {
        Some(Overlay::Confirm(c)) => {
            assert_eq!(c.title, "Delete 2 instances?");
            assert!(c.lines.iter().any(|l| l.contains("everything")));
            assert!(c.lines.iter().any(|l| l.contains("filesystem")));
        }
        other => panic!("{other:?}"),
    }
    // Enter on the default button (No) and n both cancel.
    assert!(
        a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
            .is_empty()
    );
    assert!(a.overlay.is_none());
    a.update(ctrl('d'));
    assert!(a.update(key('n')).is_empty());
    a.update(ctrl('d'));
    assert_eq!(a.update(key('y')), vec![Command::Delete(marked)]);
    assert!(a.instances.marked.is_empty());
}

#[test]
fn start_runs_at_once_and_stop_asks_first() {
    let mut a = app();
    let first = a.instances.rows[0];
    assert_eq!(a.update(key('s')), vec![Command::Start(vec![first])]);
    assert!(a.update(key('x')).is_empty());
    assert_eq!(a.update(key('y')), vec![Command::Stop(vec![first])]);
}

#[test]
fn read_only_app_emits_no_mutation() {
    let mut a = app();
    a.backend.read_only = true;
    a.update(key(' '));
    for m in [key('s'), key('x'), ctrl('d'), key('y'), key('e'), key('n')] {
        let cmds = a.update(m);
        assert!(cmds.iter().all(|c| !c.is_mutation()), "{cmds:?}");
    }
    assert!(a.toast.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn sort_by_any_column_and_reverse() {
    let mut a = app();
    assert_eq!(names(&a)[0], "everything");
    a.run_command("sort status");
    assert_eq!(a.instances.sort, Column::Status);
    // What needs the operator first: error, then unhealthy, then the rest.
    assert_eq!(names(&a)[..3], ["git", "github", "everything"]);
    assert_eq!(names(&a).last().unwrap(), "slack"); // stopped last
    a.run_command("sort -name");
    assert_eq!(names(&a)[0], "slack");
    a.update(Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    assert_eq!(a.instances.sort, Column::Kind);
    a.run_command("sort bogus");
    assert!(
        a.toast
            .as_ref()
            .unwrap()
            .text
            .contains("unknown column 'bogus'")
    );
    a.run_command("frobnicate");
    assert!(a.toast.as_ref().unwrap().text.contains("unknown command"));
}

#[test]
fn selection_follows_the_instance_when_rows_move() {
    let mut a = app();
    a.action(Action::Down); // filesystem
    let fs = a.instances.rows[1];
    a.run_command("sort -name");
    assert_eq!(a.instances.rows[a.instances.selected], fs);
}

#[test]
fn delete_event_removes_the_row_and_its_mark() {
    let mut a = app();
    let list = fixtures::instances();
    a.update(key(' '));
    let gone = list.iter().find(|i| i.name == "everything").unwrap();
    let mut e = Envelope::deleted(gone, None);
    e.aggregate_version = Some(gone.aggregate_version + 1);
    a.update(Msg::Platform(PlatformEvent::Event(Arc::new(e))));
    a.prepare();
    assert!(!names(&a).contains(&"everything".to_string()));
    assert!(a.instances.marked.is_empty());
}

#[test]
fn events_view_pauses_and_follows() {
    let mut a = app();
    a.action(Action::EventsView);
    let n = a.stream_rows().len();
    assert_eq!(a.events.selected, n - 1);
    a.action(Action::Up);
    assert!(!a.events.follow);
    let git = &fixtures::instances()[2];
    a.update(Msg::Platform(fixtures::live_change(git, Status::Starting)));
    assert_eq!(a.events.selected, n - 2, "paused view stays put");
    a.action(Action::Bottom);
    assert!(a.events.follow);
    a.set_stream_filter("git");
    assert!(a.stream_rows().len() >= 2);
    assert!(a.stream_rows().len() < a.events.stream.len());
}

#[test]
/// 100k instances sort, draw at the bottom and take a status change in
/// place (how fast is row 2 of `benches/frame.rs`, not a test's business).
fn hundred_thousand_rows_sort_draw_and_update_in_place() {
    let base = fixtures::instances();
    let many: Vec<_> = (0..100_000u128)
        .map(|n| {
            let t = &base[(n % 8) as usize];
            let mut i = t.clone();
            i.id = Uuid::from_u128(1_000_000 + n);
            i.name = format!("inst-{n:06}");
            i
        })
        .collect();
    let mut a = app();
    a.load(many.clone());
    a.prepare();
    assert_eq!(a.instances.rows.len(), 100_000);
    a.action(Action::Bottom);
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    term.draw(|f| views::render(f, &mut a)).unwrap();
    let s = format!("{:?}", term.backend().buffer());
    assert!(
        s.contains("inst-099999"),
        "the last row is visible at the bottom"
    );
    // A status change lands in place.
    let target = &many[99_999];
    a.update(Msg::Platform(fixtures::live_change(target, Status::Error)));
    assert_eq!(a.projection.get(&target.id).unwrap().status, Status::Error);
}

/// The real embedded platform, with live events injected from the test
/// instead of its store tail (so a 10,000-event burst is cheap to produce).
struct Injected {
    inner: EmbeddedPlatform,
    tx: broadcast::Sender<PlatformEvent>,
}

#[async_trait]
impl Platform for Injected {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    async fn list(&self) -> aacon::platform::Result<Vec<aacon::domain::Instance>> {
        self.inner.list().await
    }
    async fn get(&self, key: &str) -> aacon::platform::Result<aacon::domain::Instance> {
        self.inner.get(key).await
    }
    async fn create(&self, new: NewInstance) -> aacon::platform::Result<aacon::domain::Instance> {
        self.inner.create(new).await
    }
    async fn update(
        &self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
    ) -> aacon::platform::Result<aacon::domain::Instance> {
        self.inner.update(id, patch, expect).await
    }
    async fn delete(&self, id: Uuid) -> aacon::platform::Result<()> {
        self.inner.delete(id).await
    }
    async fn start(&self, id: Uuid) -> aacon::platform::Result<ActionOutcome> {
        self.inner.start(id).await
    }
    async fn stop(&self, id: Uuid) -> aacon::platform::Result<ActionOutcome> {
        self.inner.stop(id).await
    }
    async fn validate(
        &self,
        spec: &serde_json::Value,
    ) -> aacon::platform::Result<aacon::domain::spec::Report> {
        self.inner.validate(spec).await
    }
    async fn events(&self, q: EventQuery) -> aacon::platform::Result<Vec<Envelope>> {
        self.inner.events(q).await
    }
    fn subscribe(&self) -> broadcast::Receiver<PlatformEvent> {
        self.tx.subscribe()
    }
}

fn embedded(dir: &std::path::Path) -> EmbeddedPlatform {
    aacon::host::open_embedded(
        DataDir::new(dir),
        EmbeddedOptions {
            role: Role::Console,
            host_runtime: false,
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_ten_thousand_events_costs_a_handful_of_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let (tx, _) = broadcast::channel(16_384);
    let platform: Arc<dyn Platform> = Arc::new(Injected {
        inner: embedded(tmp.path()),
        tx: tx.clone(),
    });
    let (keys_tx, keys_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    let input = tokio_stream_from(keys_rx);
    let mut a = App::new(
        Theme::preset("default").unwrap(),
        Keymap::preset("default").unwrap(),
        platform.info(),
        chrono::Utc::now(),
    );
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let opts = ConsoleOptions::new(tmp.path().to_path_buf());
    let base = fixtures::instance(1, "x", json!({"command": ["x"]}), Status::Running, 5);
    let driver = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        for n in 0..10_000u128 {
            let mut i = base.clone();
            i.id = Uuid::from_u128(n + 1);
            i.name = format!("burst-{n:05}");
            let _ = tx.send(PlatformEvent::Event(Arc::new(Envelope::created(&i, None))));
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let _ = keys_tx.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        ))));
    });
    let stats = tokio::time::timeout(
        Duration::from_secs(30),
        run_loop(&mut term, &mut a, platform, opts, input, no_signals()),
    )
    .await
    .expect("the loop ended")
    .unwrap();
    driver.await.unwrap();
    eprintln!("burst: {} frames", stats.frames);
    assert_eq!(a.projection.len(), 10_000);
    assert!(a.quit);
    // 1.3 s of run time at most 60 frames a second, plus ticks: far from 10,000.
    assert!(stats.frames <= 100, "{} frames", stats.frames);
    assert!(stats.frames >= 2, "{} frames", stats.frames);
    let screen = format!("{:?}", term.backend().buffer());
    assert!(screen.contains("10000 instances"), "{screen}");
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<std::io::Result<Event>>,
) -> impl futures::Stream<Item = std::io::Result<Event>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn read_only_is_enforced_at_the_port() {
    let tmp = tempfile::tempdir().unwrap();
    let inner = Arc::new(embedded(tmp.path()));
    let made = inner
        .create(NewInstance {
            name: "keep".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": ["mcp"]}),
        })
        .await
        .unwrap();
    let ro = ReadOnly(inner.clone());
    assert!(ro.info().read_only);
    let refused = |r: Result<(), PlatformError>| {
        assert!(matches!(r, Err(PlatformError::ReadOnly(_))), "{r:?}");
    };
    refused(
        ro.create(NewInstance {
            name: "nope".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": ["mcp"]}),
        })
        .await
        .map(|_| ()),
    );
    refused(
        ro.update(
            made.id,
            InstancePatch {
                description: Some(Some("changed".into())),
                ..Default::default()
            },
            None,
        )
        .await
        .map(|_| ()),
    );
    refused(ro.start(made.id).await.map(|_| ()));
    refused(ro.stop(made.id).await.map(|_| ()));
    refused(ro.restart(made.id).await.map(|_| ()));
    refused(ro.delete(made.id).await);
    let after = inner.list().await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0], inner.get("keep").await.unwrap());
    assert_eq!(after[0].description, None);
    assert_eq!(after[0].version, made.version);
    // Reads still work through the wrapper.
    assert_eq!(ro.list().await.unwrap().len(), 1);
}

#[test]
fn create_goes_through_the_picker_and_the_name_prompt() {
    let mut a = app();
    a.update(key('n'));
    assert!(matches!(a.screen(), aacon::tui::app::Screen::Picker(_)));
    // Stdio command template.
    a.update(key('2'));
    assert!(matches!(a.screen(), aacon::tui::app::Screen::Editor(_)));
    let cmds = a.update(ctrl('s'));
    assert!(cmds.is_empty(), "the name is asked first: {cmds:?}");
    for _ in 0..40 {
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Backspace,
            KeyModifiers::NONE,
        )));
    }
    for c in "made-here".chars() {
        a.update(key(c));
    }
    let cmds = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    match cmds.as_slice() {
        [Command::Create(n)] => {
            assert_eq!(n.name, "made-here");
            assert!(n.json_spec.get("command").is_some(), "{:?}", n.json_spec);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn esc_with_unsaved_changes_asks_first() {
    let mut a = app();
    let fs = fixtures::instances()[0].clone();
    a.update(Msg::EditTarget(Ok(fs)));
    a.update(key('x'));
    a.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert!(matches!(a.screen(), aacon::tui::app::Screen::Editor(_)));
    assert!(a.pending_draft().is_some());
    let cmds = a.update(key('y'));
    assert!(matches!(a.screen(), aacon::tui::app::Screen::Instances));
    assert!(
        matches!(cmds.as_slice(), [Command::RemoveDraft(_)]),
        "{cmds:?}"
    );
}

#[test]
fn plain_secrets_are_restored_on_save() {
    use aacon::domain::spec::unredact as restore_redacted;
    let old = json!({"headers": {"Authorization": "Bearer real"}, "args": ["a"]});
    let mut new =
        json!({"headers": {"Authorization": "<redacted>"}, "args": ["a", "b"], "x": "<redacted>"});
    restore_redacted(&mut new, &old);
    assert_eq!(new["headers"]["Authorization"], "Bearer real");
    assert_eq!(new["x"], "<redacted>");
    assert_eq!(new["args"], json!(["a", "b"]));
}

#[test]
fn events_that_arrive_during_a_reload_survive_it() {
    let mut a = app();
    assert_eq!(
        a.update(Msg::Platform(PlatformEvent::Refresh)),
        vec![Command::Reload]
    );
    // A second refresh while one is in flight is coalesced.
    assert!(a.update(Msg::Platform(PlatformEvent::Refresh)).is_empty());
    let git = fixtures::instances()[2].clone();
    a.update(Msg::Platform(fixtures::live_change(&git, Status::Starting)));
    // The list was read before that event committed.
    a.update(Msg::Loaded(Ok(fixtures::instances())));
    assert_eq!(a.projection.get(&git.id).unwrap().status, Status::Starting);
}

#[test]
fn copy_and_dump() {
    let mut a = app();
    assert_eq!(a.update(key('c')), vec![Command::Copy("everything".into())]);
    // The instances view: every row in view order, as CSV.
    match a.update(ctrl('o')).as_slice() {
        [
            Command::Dump {
                file,
                contents,
                summary,
            },
        ] => {
            assert!(
                file.starts_with("aacon-instances-") && file.ends_with(".csv"),
                "{file}"
            );
            assert_eq!(summary, "8 rows (instances) as CSV");
            let lines: Vec<&str> = contents.lines().collect();
            assert_eq!(
                lines[0],
                "id,name,kind,status,status_reason,desired_state,tools,restarts,last_healthy_at,created_at,updated_at"
            );
            assert_eq!(lines.len(), 9, "{contents}");
            let dumped: Vec<&str> = lines[1..]
                .iter()
                .map(|l| l.split(',').nth(1).unwrap())
                .collect();
            assert_eq!(dumped, names(&a));
            let git = lines.iter().find(|l| l.contains(",git,")).unwrap();
            assert!(
                git.contains(",error,exited with code 1: ENOENT mcp-git,running,"),
                "{git}"
            );
            assert!(!contents.contains("ghp_"), "json_spec stays out of a dump");
        }
        other => panic!("{other:?}"),
    }
    // The events view as JSON, from the command line.
    a.update(key('2'));
    let shown = a.stream_rows().len();
    assert!(shown > 0);
    match a.run_command("dump json").as_slice() {
        [Command::Dump { file, contents, .. }] => {
            assert!(file.ends_with(".json"), "{file}");
            let v: serde_json::Value = serde_json::from_str(contents).unwrap();
            let rows = v.as_array().unwrap();
            assert_eq!(rows.len(), shown);
            assert!(
                rows.iter()
                    .all(|r| r["time"].as_str().is_some_and(|t| t.ends_with('Z')))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(a.run_command("dump xml").is_empty());
    assert_eq!(
        a.toast.as_ref().map(|t| t.text.as_str()),
        Some(":dump writes csv or json")
    );
    a.update(key('1'));
    // Copying a json_spec never carries a plain secret.
    for _ in 0..3 {
        a.action(Action::Down);
    }
    a.action(Action::Open);
    a.action(Action::NextTab);
    match a.update(key('c')).as_slice() {
        [Command::Copy(text)] => {
            assert!(text.contains("<redacted>"), "{text}");
            assert!(!text.contains("ghp_"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        aacon::tui::run::base64(b"any carnal pleas"),
        "YW55IGNhcm5hbCBwbGVhcw=="
    );
    assert_eq!(aacon::tui::run::base64(b"ab"), "YWI=");
    assert_eq!(aacon::tui::run::base64(b""), "");
}

#[test]
fn mouse_clicks_select_rows_sort_by_header_and_the_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut a = app();
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    term.draw(|f| views::render(f, &mut a)).unwrap();
    let click = |col: u16, row: u16| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let buf = term.backend().buffer().clone();
    let find = |text: &str| -> (u16, u16) {
        for y in 0..buf.area.height {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            if let Some(x) = line.find(text) {
                return (line[..x].chars().count() as u16, y);
            }
        }
        panic!("{text} not on screen");
    };
    // Click a row: it is selected; click it again: it opens.
    let (x, y) = find(" github");
    a.update(click(x + 2, y));
    assert_eq!(a.selected_instance().unwrap().name, "github");
    let cmds = a.update(click(x + 2, y));
    assert!(
        matches!(cmds.as_slice(), [Command::LoadHistory(_)]),
        "{cmds:?}"
    );
    a.action(Action::Back);
    // Click the RESTARTS header: sorted by it; again: reversed.
    term.draw(|f| views::render(f, &mut a)).unwrap();
    let (x, y) = find("RESTARTS");
    a.update(click(x + 1, y));
    assert_eq!(a.instances.sort, Column::Restarts);
    assert!(!a.instances.sort_reverse);
    a.update(click(x + 1, y));
    assert!(a.instances.sort_reverse);
    // The wheel moves the selection.
    a.action(Action::Top);
    a.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(a.instances.selected, 3);
}

#[test]
fn saving_an_instance_deleted_meanwhile_offers_to_create_it_again() {
    let mut a = app();
    let fs = fixtures::instances()[0].clone();
    a.update(Msg::EditTarget(Ok(fs.clone())));
    a.update(Msg::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)));
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    for c in r#""cwd": "/srv","#.chars() {
        a.update(key(c));
    }
    let cmds = a.update(ctrl('s'));
    assert!(
        matches!(cmds.as_slice(), [Command::Update { .. }]),
        "{cmds:?}"
    );
    a.update(Msg::Saved(Err(PlatformError::NotFound(
        "no instance 'filesystem'".into(),
    ))));
    match a.screen() {
        aacon::tui::app::Screen::Editor(s) => assert!(s.conflict.is_some()),
        _ => panic!("not in the editor"),
    }
    let cmds = a.update(key('c'));
    match cmds.as_slice() {
        [Command::Create(n)] => {
            assert_eq!(n.name, "filesystem");
            assert_eq!(n.json_spec["cwd"], "/srv");
        }
        other => panic!("{other:?}"),
    }
}

fn github_tools(a: &mut App) -> Uuid {
    let id = fixtures::instances()[1].id;
    a.screens.truncate(1);
    // Open github's detail view straight away, on the Tools tab.
    for _ in 0..3 {
        a.action(Action::Down);
    }
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let mut cmds = Vec::new();
    for _ in 0..3 {
        cmds.extend(a.action(Action::NextTab));
    }
    assert_eq!(cmds, vec![Command::LoadTools(id)]);
    a.update(Msg::ToolsLoaded {
        id,
        result: Ok(vec![aacon::platform::ToolInfo {
            name: "echo".into(),
            description: Some("Echo a message".into()),
            input_schema: json!({
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"]
            }),
            annotations: Some(json!({"readOnlyHint": true})),
        }]),
    });
    id
}

fn type_args(a: &mut App, text: &str) {
    // Enter opens the argument editor with a skeleton; replace it.
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    for _ in 0..10 {
        a.update(Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
        a.update(Msg::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)));
        for _ in 0..40 {
            a.update(Msg::Key(KeyEvent::new(
                KeyCode::Backspace,
                KeyModifiers::NONE,
            )));
        }
    }
    for c in text.chars() {
        a.update(key(c));
    }
}

fn tools_result(a: &App) -> Option<Result<String, String>> {
    match a.screens.last() {
        Some(aacon::tui::app::Screen::Detail(d)) => d
            .tools
            .result
            .clone()
            .map(|r| r.map(|o| o.text).map_err(|e| e.to_string())),
        _ => None,
    }
}

#[test]
fn a_tool_call_runs_as_a_task_and_shows_its_result_or_error() {
    let mut a = app();
    let id = github_tools(&mut a);
    type_args(&mut a, r#"{"message": "hi"}"#);
    let cmds = a.update(ctrl('s'));
    assert_eq!(
        cmds,
        vec![Command::CallTool {
            id,
            tool: "echo".into(),
            args: json!({"message": "hi"}),
            call: a.calls,
        }]
    );
    // In flight: a second call is not sent.
    assert!(a.update(ctrl('s')).is_empty());
    a.update(Msg::ToolCalled {
        id,
        result: Ok(aacon::platform::ToolCallResult {
            is_error: false,
            text: "Echo: hi".into(),
            result: json!(null),
        }),
    });
    assert_eq!(tools_result(&a), Some(Ok("Echo: hi".into())));
    // An error from the platform is shown as its sentence.
    assert_eq!(a.update(ctrl('s')).len(), 1);
    a.update(Msg::ToolCalled {
        id,
        result: Err(PlatformError::Unavailable(
            "the server did not answer in 30s".into(),
        )),
    });
    assert_eq!(
        tools_result(&a),
        Some(Err("the server did not answer in 30s".into()))
    );
}

#[test]
fn invalid_tool_arguments_are_refused_with_a_sentence_and_nothing_sent() {
    let mut a = app();
    github_tools(&mut a);
    type_args(&mut a, r#"{"message": "#);
    assert!(a.update(ctrl('s')).is_empty());
    let e = tools_result(&a).unwrap().unwrap_err();
    assert!(e.starts_with("the arguments are not valid JSON"), "{e}");
    assert!(e.ends_with("nothing was sent"), "{e}");

    type_args(&mut a, r#"{"msg": 1}"#);
    assert!(a.update(ctrl('s')).is_empty());
    let e = tools_result(&a).unwrap().unwrap_err();
    assert!(e.contains("missing required property 'message'"), "{e}");

    type_args(&mut a, "[1]");
    assert!(a.update(ctrl('s')).is_empty());
    let e = tools_result(&a).unwrap().unwrap_err();
    assert!(e.contains("must be a JSON object"), "{e}");
}

#[test]
fn read_only_console_refuses_a_tool_call() {
    let mut a = app();
    a.backend.read_only = true;
    github_tools(&mut a);
    type_args(&mut a, r#"{"message": "hi"}"#);
    assert!(a.update(ctrl('s')).is_empty());
    let e = tools_result(&a).unwrap().unwrap_err();
    assert_eq!(e, "read-only mode: calling a tool is not allowed");
}

#[test]
fn the_logs_tab_polls_for_what_is_new_while_open() {
    let mut a = app();
    let id = github_tools(&mut a);
    let cmds = a.action(Action::NextTab);
    assert_eq!(cmds, vec![Command::LoadLogs { id, after: None }]);
    // While one is in flight, ticks ask for no more.
    let now = chrono::Utc::now() + chrono::Duration::seconds(5);
    assert!(
        !a.update(Msg::Tick(now))
            .iter()
            .any(|c| matches!(c, Command::LoadLogs { .. }))
    );
    a.update(Msg::LogsLoaded {
        id,
        result: Ok(aacon::platform::LogPage {
            next: 7,
            ..Default::default()
        }),
    });
    // The next tick asks only for lines after the last one read.
    let later = now + chrono::Duration::milliseconds(250);
    assert!(
        a.update(Msg::Tick(later))
            .contains(&Command::LoadLogs { id, after: Some(7) })
    );
    // Another tab: no polling.
    a.action(Action::NextTab);
    a.update(Msg::LogsLoaded {
        id,
        result: Ok(Default::default()),
    });
    let later = later + chrono::Duration::seconds(1);
    assert!(
        !a.update(Msg::Tick(later))
            .iter()
            .any(|c| matches!(c, Command::LoadLogs { .. }))
    );
}

#[test]
fn set_level_is_offered_only_to_a_server_that_declares_logging() {
    use aacon::platform::{LogLevel, McpOp};
    let mut a = app();
    let id = github_tools(&mut a);
    a.action(Action::NextTab);
    let identity = |logging: bool| Msg::Mcp {
        id,
        op: McpOp::Identity,
        result: Ok(if logging {
            serde_json::json!({"capabilities": {"tools": {}, "logging": {}}})
        } else {
            serde_json::json!({"capabilities": {"tools": {}}})
        }),
    };
    // No logging capability: nothing is sent, one sentence says why.
    a.update(identity(false));
    assert!(a.action(Action::SetLogLevel).is_empty());
    assert!(
        a.toast
            .as_ref()
            .unwrap()
            .text
            .contains("declares no logging capability"),
        "{:?}",
        a.toast
    );
    // With it: the level shown is asked for, once at a time.
    a.update(identity(true));
    a.action(Action::LogLevel);
    a.action(Action::LogLevel);
    let sent = a.action(Action::SetLogLevel);
    assert_eq!(
        sent,
        vec![Command::Mcp {
            id,
            op: McpOp::SetLevel {
                level: LogLevel::Notice
            }
        }]
    );
    assert!(a.action(Action::SetLogLevel).is_empty(), "one in flight");
    a.update(Msg::Mcp {
        id,
        op: McpOp::SetLevel {
            level: LogLevel::Notice,
        },
        result: Ok(serde_json::json!({"level": "notice"})),
    });
    assert!(
        a.toast
            .as_ref()
            .unwrap()
            .text
            .contains("logs from notice up"),
        "{:?}",
        a.toast
    );
}

#[test]
fn refresh_on_the_tools_tab_reloads_the_tools() {
    let mut a = app();
    let id = github_tools(&mut a);
    assert_eq!(a.action(Action::Refresh), vec![Command::LoadTools(id)]);
    // Up and down move the tool selection, not the instance table.
    a.update(Msg::ToolsLoaded {
        id,
        result: Ok(vec![
            aacon::platform::ToolInfo {
                name: "a".into(),
                description: None,
                input_schema: json!({}),
                annotations: None,
            },
            aacon::platform::ToolInfo {
                name: "b".into(),
                description: None,
                input_schema: json!({}),
                annotations: None,
            },
        ]),
    });
    a.action(Action::Down);
    a.action(Action::Down);
    let sel = match a.screens.last() {
        Some(aacon::tui::app::Screen::Detail(d)) => d.tools.selected_tool().map(|t| t.name.clone()),
        _ => None,
    };
    assert_eq!(sel.as_deref(), Some("b"));
}

#[test]
fn status_changes_resort_only_when_the_order_depends_on_status() {
    // Under the name sort a status change keeps the order (and skips the
    // re-sort); under the status sort the row moves; a filter on status
    // hides or shows it.
    let mut a = app();
    let before = names(&a);
    let list = fixtures::instances();
    let everything = list.iter().find(|i| i.name == "everything").unwrap();
    a.update(Msg::Platform(fixtures::live_change(
        everything,
        Status::Running,
    )));
    a.prepare();
    assert_eq!(names(&a), before);

    let mut a = app();
    a.run_command("sort status");
    a.prepare();
    assert_eq!(names(&a)[2], "everything"); // pending: after error and unhealthy
    a.update(Msg::Platform(fixtures::live_change(
        everything,
        Status::Error,
    )));
    a.now += chrono::Duration::seconds(1);
    a.prepare();
    assert_eq!(
        names(&a)[0],
        "everything",
        "the changed row moved to the top"
    );

    let mut a = app();
    a.set_filter("status:pending");
    a.prepare();
    assert_eq!(names(&a), vec!["everything".to_string()]);
    a.update(Msg::Platform(fixtures::live_change(
        everything,
        Status::Error,
    )));
    a.now += chrono::Duration::seconds(1);
    a.prepare();
    assert!(names(&a).is_empty(), "the filter now hides it");
}

/// What the bulk delete's confirmation says ("Running instances are
/// stopped first") is what it does: a running one is stopped, the stop
/// answered, then it is deleted; one that is stopped is only deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_delete_stops_running_instances_first_then_deletes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let p = embedded(tmp.path());
    let new = |name: &str| NewInstance {
        name: name.into(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"command": ["mcp"]}),
    };
    let running = p.create(new("runs")).await.unwrap().id;
    let idle = p.create(new("idle")).await.unwrap().id;
    p.start(running).await.unwrap();
    let (_, said) = aacon::tui::run::stop_then_delete(&p, running)
        .await
        .unwrap();
    assert_eq!(said, "stopped runs, then deleted it");
    let (_, said) = aacon::tui::run::stop_then_delete(&p, idle).await.unwrap();
    assert_eq!(said, "deleted idle");
    let kinds = |id: Uuid, log: &[Envelope]| -> Vec<String> {
        log.iter()
            .filter(|e| e.instance_id() == Some(id))
            .filter_map(|e| e.kind().map(|k| k.short().to_string()))
            .collect()
    };
    let log = p.events(EventQuery::default()).await.unwrap();
    assert_eq!(
        kinds(running, &log),
        ["Created", "Started", "Stopped", "Deleted"]
    );
    assert_eq!(kinds(idle, &log), ["Created", "Deleted"]);
    assert!(p.list().await.unwrap().is_empty());
}

fn hosting(a: &mut App) {
    a.update(Msg::RuntimeHost(Some(
        aacon::platform::RuntimeHost::ThisProcess {
            role: "console".into(),
            pid: 4242,
        },
    )));
}

#[test]
fn quit_asks_only_while_instances_run_under_this_console() {
    // Nobody told the console it hosts: it quits at once.
    let mut a = app();
    assert_eq!(a.update(key('q')), vec![Command::Quit]);
    assert!(a.quit);
    // Another process hosts the runtime: quitting stops nothing; at once.
    let mut a = app();
    a.update(Msg::RuntimeHost(Some(
        aacon::platform::RuntimeHost::Other {
            role: "host".into(),
            pid: 9,
            address: None,
        },
    )));
    assert_eq!(a.update(key('q')), vec![Command::Quit]);
    // This console hosts, and instances are desired running: it asks.
    let mut a = app();
    hosting(&mut a);
    assert!(a.update(key('q')).is_empty());
    assert!(!a.quit);
    match &a.overlay {
        Some(Overlay::Quit(p)) => {
            assert_eq!(
                p.names,
                [
                    "everything",
                    "filesystem",
                    "git",
                    "github",
                    "postgres",
                    "search"
                ]
            );
            assert_eq!(p.stdio, 4, "github and search are external");
        }
        other => panic!("no quit prompt: {other:?}"),
    }
    // Keys the prompt does not bind do nothing, q included.
    assert!(a.update(key('q')).is_empty());
    assert!(a.update(key('x')).is_empty());
    assert!(matches!(a.overlay, Some(Overlay::Quit(_))) && !a.quit);
    // Cancel, then `:q` asks the same, and detach quits with detach.
    a.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert!(a.overlay.is_none() && !a.quit);
    assert!(a.run_command("q").is_empty());
    assert!(matches!(a.overlay, Some(Overlay::Quit(_))));
    assert_eq!(a.update(key('d')), vec![Command::Quit]);
    assert!(a.quit);
    assert_eq!(a.ending, aacon::tui::Ending::Detach);
    // Stop quits with stop.
    let mut a = app();
    hosting(&mut a);
    a.update(key('q'));
    assert_eq!(a.update(key('s')), vec![Command::Quit]);
    assert_eq!(a.ending, aacon::tui::Ending::Stop);
}

#[test]
fn hosting_with_nothing_desired_running_quits_at_once() {
    let mut a = app();
    let stopped: Vec<_> = fixtures::instances()
        .into_iter()
        .map(|mut i| {
            i.desired_state = aacon::domain::DesiredState::Stopped;
            i
        })
        .collect();
    a.load(stopped);
    hosting(&mut a);
    assert_eq!(a.update(key('q')), vec![Command::Quit]);
    assert_eq!(a.ending, aacon::tui::Ending::Stop);
}

#[test]
fn bulk_restart_asks_naming_the_marked_rows_then_restarts_them() {
    let mut a = app();
    a.update(key(' '));
    a.update(key(' '));
    let marked: Vec<Uuid> = a.instances.rows[..2].to_vec();
    assert!(a.update(key('R')).is_empty());
    match &a.overlay {
        Some(Overlay::Confirm(c)) => {
            assert_eq!(c.title, "Restart 2 instances?");
            assert!(c.lines.iter().any(|l| l.contains("everything")));
            assert!(c.lines.iter().any(|l| l.contains("filesystem")));
        }
        other => panic!("no confirmation: {other:?}"),
    }
    let cmds = a.update(key('y'));
    match cmds.as_slice() {
        [Command::Restart(ids)] => {
            let mut ids = ids.clone();
            let mut want = marked.clone();
            ids.sort();
            want.sort();
            assert_eq!(ids, want);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        a.instances.marked.is_empty(),
        "marks clear after a bulk action"
    );
    // From the detail view, the one instance shown.
    let mut a = app();
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let id = a.instances.rows[0];
    a.update(key('R'));
    assert_eq!(a.update(key('y')), vec![Command::Restart(vec![id])]);
}

#[test]
fn read_only_console_refuses_a_restart() {
    let mut a = app();
    a.backend.read_only = true;
    assert!(a.update(key('R')).is_empty());
    assert!(a.overlay.is_none());
    assert!(a.toast.as_ref().unwrap().text.contains("read-only"));
}
