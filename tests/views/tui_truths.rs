//! The console says only what is true: the header's event source and rate,
//! counts with their noun, help that ends, `s` on what already runs, marks
//! after bulk actions, tab completion, `:ctx` and `:NAME`, and a conflict
//! screen that names who changed what and offers a merge.

use crate::support::app::{app, code, key};
use aacon::bus::{EventSink, Remember};
use aacon::config::ContextSummary;
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::platform::{BackendInfo, Platform, PlatformError, PlatformEvent, SourceState};
use aacon::tui::app::{App, Command, ContextError, Msg, Overlay, Screen, TextPager};
use aacon::tui::fixtures;
use aacon::tui::keymap::Keymap;
use aacon::tui::run::{ConsoleOptions, no_signals, run_loop};
use aacon::tui::theme::Theme;
use aacon::tui::views;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn typed(a: &mut App, text: &str) {
    for c in text.chars() {
        a.update(key(c));
    }
}

fn render(a: &mut App, w: u16, h: u16) -> String {
    a.prepare();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| views::render(f, a)).unwrap();
    text(t.backend().buffer())
}

fn text(b: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            out.push_str(b[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn toast(a: &App) -> String {
    a.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default()
}

fn select(a: &mut App, name: &str) {
    a.prepare();
    let pos = a
        .instances
        .rows
        .iter()
        .position(|id| a.projection.get(id).unwrap().name == name)
        .unwrap();
    a.update(code(KeyCode::Home));
    for _ in 0..pos {
        a.update(code(KeyCode::Down));
    }
}

#[test]
fn help_stops_at_its_end() {
    let mut a = app();
    a.update(key('?'));
    render(&mut a, 80, 24);
    for _ in 0..40 {
        a.update(code(KeyCode::PageDown));
    }
    let s = render(&mut a, 80, 24);
    let Some(Overlay::Help(p)) = a.overlay else {
        panic!("help closed")
    };
    let scroll = p.scroll;
    assert_eq!(scroll, p.max, "scrolled past the end");
    // The last line of help sits on the last row inside the border.
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[21].contains("status:running,error"), "{s}");
    // One key up moves at once: no blank pages to climb back through.
    a.update(code(KeyCode::Up));
    let Some(Overlay::Help(TextPager { scroll: up, .. })) = a.overlay else {
        panic!("help closed")
    };
    assert_eq!(up + 1, scroll);
    a.update(code(KeyCode::PageDown));
    insta::assert_snapshot!("help_end_80x24", render(&mut a, 80, 24));
    // :dump is in help.
    assert!(s.contains(":dump [csv|json]"), "{s}");
}

#[test]
fn header_counts_one_instance_and_shows_the_last_full_second() {
    let mut a = app();
    let one = fixtures::instances()[0].clone();
    a.load(vec![one]);
    // Oldest first; the last entry is the second still counting.
    let n = a.rate.len();
    a.rate[n - 2] = 2000;
    a.rate[n - 1] = 180;
    let s = render(&mut a, 80, 24);
    let header: Vec<&str> = s.lines().take(2).collect();
    assert!(header[1].contains(" 1 instance "), "{header:?}");
    assert!(header[0].contains("events/s 2000"), "{header:?}");
    insta::assert_snapshot!("header_one_instance_80x24", header.join("\n"));
    a.load(Vec::new());
    let s = render(&mut a, 80, 24);
    assert!(s.contains(" 0 instances "), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_reads_the_source_state_announced_before_the_console_subscribed() {
    let tmp = tempfile::tempdir().unwrap();
    let platform: Arc<dyn Platform> = Arc::new(
        aacon::host::open_embedded(
            DataDir::new(tmp.path()),
            EmbeddedOptions {
                role: Role::Console,
                host_runtime: false,
            },
        )
        .unwrap(),
    );
    // The watcher connected and said so while nobody listened.
    let (tx, _) = tokio::sync::broadcast::channel::<PlatformEvent>(16);
    let sink = Remember::new(tx);
    assert!(
        sink.emit(vec![PlatformEvent::Source(SourceState::Connected(
            "redis://127.0.0.1:6390 stream agentarea:events".into()
        ))])
        .await
    );
    let mut opts = ConsoleOptions::new(tmp.path().to_path_buf());
    opts.source_memo = Some(sink.last.clone());
    let mut a = App::new(
        Theme::preset("default").unwrap(),
        Keymap::preset("default").unwrap(),
        platform.info(),
        chrono::Utc::now(),
    );
    let (keys_tx, mut keys_rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    let input = futures::stream::poll_fn(move |cx| keys_rx.poll_recv(cx));
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let quit = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = keys_tx.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        ))));
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        run_loop(&mut term, &mut a, platform, opts, input, no_signals()),
    )
    .await
    .expect("the loop ended")
    .unwrap();
    quit.await.unwrap();
    assert!(
        matches!(&a.source, SourceState::Connected(s) if s.starts_with("redis://127.0.0.1:6390")),
        "{:?}",
        a.source
    );
    let screen = text(term.backend().buffer());
    assert!(!screen.contains("local only"), "{screen}");
}

#[test]
fn s_on_a_running_instance_says_it_already_runs() {
    let mut a = app();
    select(&mut a, "filesystem");
    let cmds = a.update(key('s'));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(toast(&a), "filesystem is already running");
    select(&mut a, "postgres");
    assert!(a.update(key('s')).is_empty());
    assert_eq!(toast(&a), "postgres is already starting");
    // Marked: the running ones are left out and named.
    select(&mut a, "filesystem");
    a.update(key(' '));
    select(&mut a, "slack");
    a.update(key(' '));
    let cmds = a.update(key('s'));
    let slack = a
        .projection
        .instances()
        .find(|i| i.name == "slack")
        .unwrap()
        .id;
    assert_eq!(cmds, vec![Command::Start(vec![slack])]);
    assert!(
        toast(&a).contains("already running: filesystem"),
        "{}",
        toast(&a)
    );
}

#[test]
fn marks_go_after_every_bulk_action_and_stay_on_cancel() {
    let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    let mark_two = |a: &mut App| {
        select(a, "slack");
        a.update(key(' '));
        select(a, "everything");
        a.update(key(' '));
        assert_eq!(a.instances.marked.len(), 2);
    };
    let mut a = app();
    // Start.
    mark_two(&mut a);
    assert!(matches!(a.update(key('s')).as_slice(), [Command::Start(ids)] if ids.len() == 2));
    assert!(a.instances.marked.is_empty(), "marks stayed after start");
    // Stop, confirmed.
    mark_two(&mut a);
    a.update(key('x'));
    assert!(matches!(a.update(key('y')).as_slice(), [Command::Stop(ids)] if ids.len() == 2));
    assert!(a.instances.marked.is_empty(), "marks stayed after stop");
    // Delete, cancelled: nothing happened, the marks stay.
    mark_two(&mut a);
    a.update(ctrl('d'));
    assert!(a.update(key('n')).is_empty());
    assert_eq!(a.instances.marked.len(), 2);
    // Delete, confirmed.
    a.update(ctrl('d'));
    assert!(matches!(a.update(key('y')).as_slice(), [Command::Delete(ids)] if ids.len() == 2));
    assert!(a.instances.marked.is_empty(), "marks stayed after delete");
}

fn command_text(a: &App) -> (String, Vec<String>) {
    match &a.overlay {
        Some(Overlay::Command(i)) => (i.text.clone(), i.candidates.clone()),
        other => panic!("no command line: {other:?}"),
    }
}

#[test]
fn the_command_line_completes_with_tab() {
    let mut a = app();
    a.update(key(':'));
    typed(&mut a, "du");
    a.update(code(KeyCode::Tab));
    assert_eq!(command_text(&a).0, "dump ");
    a.update(code(KeyCode::Tab));
    assert_eq!(command_text(&a).1, vec!["csv", "json"]);
    a.update(code(KeyCode::Esc));

    a.update(key(':'));
    typed(&mut a, "i gi");
    a.update(code(KeyCode::Tab));
    let (t, c) = command_text(&a);
    assert_eq!(
        (t.as_str(), c),
        ("i git", vec!["git".into(), "github".into()])
    );
    let s = render(&mut a, 80, 24);
    assert!(
        s.lines().any(|l| l.starts_with(":i git▏  git · github")),
        "{s}"
    );
    typed(&mut a, "h");
    a.update(code(KeyCode::Tab));
    assert_eq!(command_text(&a).0, "i github");
    a.update(code(KeyCode::Enter));
    assert!(matches!(a.screen(), Screen::Detail(_)));

    a.update(code(KeyCode::Esc));
    a.update(key(':'));
    typed(&mut a, "theme li");
    a.update(code(KeyCode::Tab));
    assert_eq!(command_text(&a).0, "theme light");
}

#[test]
fn a_name_jumps_to_its_instance_and_twins_are_not_picked() {
    let mut a = app();
    let cmds = a.run_command("postgres");
    assert!(
        matches!(cmds.as_slice(), [Command::LoadHistory(_)]),
        "{cmds:?}"
    );
    match a.screen() {
        Screen::Detail(d) => assert_eq!(a.projection.get(&d.id).unwrap().name, "postgres"),
        _ => panic!("no detail"),
    }
    // A filter hiding it does not stop the jump.
    a.update(code(KeyCode::Esc));
    a.set_filter("slack");
    assert!(matches!(
        a.run_command("i github").as_slice(),
        [Command::LoadHistory(_)]
    ));
    // Two instances with one name (AgentArea allows it): neither is opened.
    let mut list = fixtures::instances();
    let mut twin = list[0].clone();
    twin.id = uuid::Uuid::from_u128(99);
    list.push(twin);
    let mut b = app();
    b.load(list);
    assert!(b.run_command("filesystem").is_empty());
    assert!(matches!(b.screen(), Screen::Instances));
    assert!(
        toast(&b).starts_with("2 instances are called 'filesystem':"),
        "{}",
        toast(&b)
    );
    // Nothing of that name: one sentence, typed characters as typed.
    assert!(b.run_command("ünï").is_empty());
    assert!(toast(&b).contains("':ünï'"), "{}", toast(&b));
}

#[test]
fn ctx_lists_contexts_and_switches_only_once_connected() {
    let mut a = app();
    a.set_contexts(
        vec![
            ContextSummary {
                name: "lab".into(),
                target: "http://127.0.0.1:8080".into(),
                workspace: Some("ops".into()),
                token: "token from $LAB_TOKEN".into(),
                redis: false,
            },
            ContextSummary {
                name: "prod".into(),
                target: "https://aa.example.com".into(),
                workspace: None,
                token: "token in the file".into(),
                redis: true,
            },
        ],
        None,
        "embedded".into(),
    );
    assert!(a.run_command("ctx").is_empty());
    match &a.overlay {
        Some(Overlay::Raw { text, .. }) => {
            assert!(text.contains("* start          embedded"), "{text}");
            assert!(
                text.contains(
                    "  lab            http://127.0.0.1:8080, workspace ops, token from $LAB_TOKEN"
                ),
                "{text}"
            );
            assert!(
                text.contains("  prod           https://aa.example.com, token in the file, redis"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    a.overlay = None;
    assert!(a.run_command("ctx stage").is_empty());
    assert_eq!(
        toast(&a),
        "there is no context 'stage' (known: lab, prod, start)"
    );
    assert!(a.run_command("ctx start").is_empty());
    assert_eq!(toast(&a), "already on context start");

    assert_eq!(
        a.run_command("ctx lab"),
        vec![Command::SwitchContext("lab".into())]
    );
    // Until the runner says it connected, the table is the old one.
    assert_eq!(a.projection.len(), 8);
    let cmds = a.update(Msg::ContextSwitched(Err(ContextError::Platform(
        PlatformError::Unavailable("connection refused".into()),
    ))));
    assert!(cmds.is_empty());
    assert_eq!(a.projection.len(), 8);
    assert_eq!(toast(&a), "still on context start: connection refused");
    let cmds = a.update(Msg::ContextSwitched(Ok((
        "lab".into(),
        BackendInfo {
            name: "http://127.0.0.1:8080".into(),
            read_only: false,
        },
    ))));
    assert_eq!(cmds, vec![Command::Reload, Command::LoadRecentEvents]);
    assert_eq!(a.projection.len(), 0);
    assert_eq!(a.context_name(), "lab");
    assert_eq!(a.source, SourceState::Off);
    let s = render(&mut a, 80, 24);
    assert!(s.contains("http://127.0.0.1:8080"), "{s}");
    assert!(!s.contains("filesystem"), "{s}");
}

/// The conflict screen through the console: mine adds args, theirs changed
/// cwd and the description.
fn conflicted(version: u64) -> App {
    let mut a = app();
    let mut fs = fixtures::instances()[0].clone();
    fs.version = version;
    fs.description = Some("shared files".into());
    a.update(Msg::EditTarget(Ok(fs.clone())));
    a.update(code(KeyCode::End));
    a.update(code(KeyCode::Enter));
    typed(&mut a, r#""args": ["-v"],"#);
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    a.update(Msg::Saved(Err(PlatformError::Conflict("changed".into()))));
    let mut theirs = fs.clone();
    theirs.version = if version == 0 { 0 } else { version + 1 };
    theirs.updated_at = fs.updated_at + chrono::Duration::seconds(61);
    theirs.updated_by = Some("cli on build-host".into());
    theirs.description = Some("files for the build farm".into());
    theirs.json_spec.insert("cwd".into(), json!("/srv/other"));
    a.update(Msg::Theirs(Ok(theirs)));
    a
}

#[test]
fn conflict_names_every_field_they_changed_and_offers_a_merge() {
    let mut a = conflicted(3);
    let s = render(&mut a, 100, 32);
    insta::assert_snapshot!("conflict_merge_offer_100x32", s);
    assert!(
        s.contains(
            "They changed: description 'shared files' → 'files for the build farm', json_spec"
        ),
        "{s}"
    );
    assert!(s.contains("m merge: keep both"), "{s}");
    // My own line is marked as mine, not as a deletion.
    assert!(s.contains("│+   \"args\": [\"-v\"],"), "{s}");
    assert!(!s.contains("│-   \"args\""), "{s}");
    // m: the editor holds both changes, based on theirs, unsaved.
    assert!(a.update(key('m')).is_empty());
    let Some(Screen::Editor(e)) = a.screens.last() else {
        panic!("not in the editor")
    };
    assert!(e.conflict.is_none());
    let text = e.editor.text();
    assert!(
        text.contains("\"args\"") && text.contains("/srv/other"),
        "{text}"
    );
    assert!(e.editor.is_dirty());
    // Saving it now expects their version.
    let cmds = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    match cmds.as_slice() {
        [Command::Update { expect, .. }] => {
            assert_eq!(*expect, aacon::domain::Precondition::Version(4))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn conflict_on_agentarea_speaks_of_updated_at() {
    let mut a = conflicted(0);
    let s = render(&mut a, 100, 32);
    assert!(!s.contains("version 0"), "{s}");
    assert!(s.contains("You edited updated_at "), "{s}");
    assert!(s.contains("theirs (updated_at "), "{s}");
    a.update(key('o'));
    let s = render(&mut a, 100, 32);
    assert!(s.contains("Overwrite their change (updated_at "), "{s}");
}

#[test]
fn a_clash_on_one_key_offers_no_merge() {
    let mut a = app();
    let fs = fixtures::instances()[0].clone();
    a.update(Msg::EditTarget(Ok(fs.clone())));
    a.update(code(KeyCode::End));
    a.update(code(KeyCode::Enter));
    typed(&mut a, r#""cwd": "/mine","#);
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    a.update(Msg::Saved(Err(PlatformError::Conflict("changed".into()))));
    let mut theirs = fs.clone();
    theirs.version += 1;
    theirs.json_spec.insert("cwd".into(), json!("/theirs"));
    a.update(Msg::Theirs(Ok(theirs)));
    let s = render(&mut a, 100, 32);
    assert!(!s.contains("merge"), "{s}");
    assert!(a.update(key('m')).is_empty());
    assert!(matches!(a.screens.last(), Some(Screen::Editor(e)) if e.conflict.is_some()));
}
