//! Unit tests of the routing `App` does between its pages.

use super::*;
use crate::tui::fixtures;
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;

fn app() -> App {
    fixtures::app(
        Theme::preset("default").expect("the default theme"),
        Keymap::preset("default").expect("the default keymap"),
    )
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

/// Open `inst` in the editor, add a line and save: the commands.
fn edit_and_save(a: &mut App, inst: &Instance) -> Vec<Command> {
    a.update(Msg::EditTarget(Ok(inst.clone())));
    a.update(key(KeyCode::End, KeyModifiers::NONE));
    a.update(key(KeyCode::Enter, KeyModifiers::NONE));
    for c in r#""cwd": "/srv","#.chars() {
        a.update(key(KeyCode::Char(c), KeyModifiers::NONE));
    }
    a.update(key(KeyCode::Char('s'), KeyModifiers::CONTROL))
}

#[test]
fn saving_puts_back_the_secrets_from_the_copy_it_edited_without_reading_again() {
    let mut a = app();
    let mut inst = fixtures::instances()[0].clone();
    inst.json_spec
        .insert("headers".into(), json!({"Authorization": "Bearer real"}));
    let cmds = edit_and_save(&mut a, &inst);
    match cmds.as_slice() {
        [
            Command::Update {
                patch,
                expect,
                unredact_from_stored,
                ..
            },
        ] => {
            let spec = patch.json_spec.as_ref().expect("a json_spec");
            assert_eq!(spec["headers"]["Authorization"], "Bearer real");
            assert_eq!(spec["cwd"], "/srv");
            assert!(!unredact_from_stored, "the stored copy is read again");
            assert_eq!(*expect, inst.precondition());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_task_is_in_flight_from_its_command_to_its_result() {
    let mut a = app();
    assert_eq!(a.in_flight, 0);
    let id = a.instances.rows[0];
    let cmds = a.update(key(KeyCode::Char('e'), KeyModifiers::NONE));
    assert_eq!(cmds, vec![Command::FetchForEdit(id)]);
    assert_eq!(a.in_flight, 1, "the fetch is waited for");
    let inst = a.projection.get(&id).cloned().expect("the selected row");
    a.update(Msg::EditTarget(Ok(inst)));
    assert_eq!(a.in_flight, 0, "its result settled it");
    // A result nobody waits for settles nothing.
    a.update(Msg::Notice(Ok("written".into())));
    assert_eq!(a.in_flight, 0);
}

#[test]
fn a_result_goes_to_the_page_that_asked_even_under_another() {
    let mut a = app();
    let id = a.instances.rows[0];
    a.action(Action::Open);
    a.action(Action::NextTab);
    a.action(Action::NextTab);
    a.action(Action::NextTab);
    // The editor opens over the Detail page; the tools arrive meanwhile.
    let inst = a.projection.get(&id).cloned().expect("the selected row");
    a.update(Msg::EditTarget(Ok(inst)));
    assert!(matches!(a.screen(), Screen::Editor(_)));
    a.update(Msg::ToolsLoaded {
        id,
        result: Ok(Vec::new()),
    });
    let detail = a.screens.iter().find_map(|s| match s {
        Screen::Detail(d) => Some(d),
        _ => None,
    });
    assert!(matches!(detail, Some(d) if d.tools.list == Some(Ok(Vec::new()))));
}

#[test]
fn a_result_whose_page_is_gone_is_dropped() {
    let mut a = app();
    let other = a.instances.rows[1];
    a.action(Action::Open);
    let before = a.screens.len();
    a.update(Msg::LogsLoaded {
        id: other,
        result: Ok(crate::platform::LogPage::default()),
    });
    assert_eq!(a.screens.len(), before);
    assert!(matches!(a.screen(), Screen::Detail(d) if !d.logs.loaded));
}

/// The console as it is fed: the same report once as a full envelope, once
/// as a compact record (in a burst), on two copies of the same state.
#[test]
fn a_compact_status_report_changes_and_shows_what_its_envelope_does() {
    use crate::domain::status_event::{Names, StatusEvent};
    let (mut full, mut compact) = (app(), app());
    let inst = fixtures::instances()[0].clone();
    let PlatformEvent::Event(env) = fixtures::live_change(&inst, Status::Error) else {
        panic!("a live change is an event");
    };
    // Our own ids are UUIDs (the fixture's are words).
    let mut env = (*env).clone();
    env.event_id = Uuid::from_u128(0xfeed).to_string();
    let env = Arc::new(env);
    let s = StatusEvent::from_envelope(&env, &mut Names::default()).expect("ours, compact");
    full.update(Msg::Platform(PlatformEvent::Event(env.clone())));
    compact.update(Msg::PlatformBatch(vec![PlatformEvent::Status(Arc::new(s))]));
    let row = |a: &App| {
        let i = a.projection.get(&inst.id).expect("still there");
        (i.status, i.status_reason.clone(), i.aggregate_version)
    };
    assert_eq!(row(&full), row(&compact));
    assert_eq!(row(&compact).0, Status::Error);
    assert!(
        compact.instances.flash.contains_key(&inst.id),
        "highlighted"
    );
    assert!(matches!(
        compact.events.stream.back(),
        Some(StreamItem::Status(_))
    ));
    // Filtered by its name, and its raw view the whole envelope.
    let mut shown = Vec::new();
    for a in [&mut full, &mut compact] {
        a.set_stream_filter(&inst.name);
        let rows = a.stream_rows();
        shown.push(rows.len());
        a.events.selected = rows.len() - 1;
        a.open_raw_stream();
    }
    assert_eq!(shown[0], shown[1]);
    let raw = |a: &App| match &a.overlay {
        Some(Overlay::Raw { text, .. }) => text.clone(),
        _ => String::new(),
    };
    assert!(!raw(&full).is_empty());
    assert_eq!(raw(&full), raw(&compact));
    // The same report again, in full (as a second source would send it,
    // were it not dropped before the console): applied once.
    let again = compact.events.stream.len();
    compact.update(Msg::PlatformBatch(vec![PlatformEvent::Event(env)]));
    assert_eq!(
        compact.events.stream.len(),
        again + 1,
        "the app shows what it is given"
    );
    assert_eq!(row(&full), row(&compact), "and applies it once");
}
