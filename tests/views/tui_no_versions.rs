//! Where the platform keeps no versions (AgentArea), the console never says
//! "version 0": the Overview, the editor's title, a draft and the toast
//! after a save speak of `updated_at`. Where it keeps them, they are named.

use crate::support::app::code;
use aacon::domain::Instance;
use aacon::platform::BackendProfile;
use aacon::platform::api::wire::WireInstance;
use aacon::tui::app::{App, Msg, Screen};
use aacon::tui::drafts::Draft;
use aacon::tui::fixtures;
use aacon::tui::keymap::Keymap;
use aacon::tui::theme::Theme;
use aacon::tui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

fn app(profile: BackendProfile) -> App {
    let mut a = fixtures::app(
        Theme::preset("default").unwrap(),
        Keymap::preset("default").unwrap(),
    );
    a.update(Msg::Profile(profile));
    a
}

/// An instance as AgentArea's API gives it: no version.
fn agentarea_instance() -> Instance {
    serde_json::from_value::<WireInstance>(json!({
        "id": uuid::Uuid::new_v4(), "name": "web",
        "json_spec": {"image": "mcp/x", "port": 8000}, "status": "running",
        "created_at": "2026-12-01T10:00:00", "updated_at": "2026-12-01T10:02:03"
    }))
    .unwrap()
    .into_instance()
}

fn render(a: &mut App) -> String {
    a.prepare();
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| views::render(f, a)).unwrap();
    fixtures::screen_text(t.backend().buffer())
}

/// Edit `inst`, change its text, save, and have the platform answer `saved`.
fn edit_and_save(a: &mut App, inst: &Instance, saved: Instance) -> String {
    a.update(Msg::EditTarget(Ok(inst.clone())));
    assert!(matches!(a.screen(), Screen::Editor(_)));
    let title = render(a);
    a.update(code(KeyCode::End));
    a.update(code(KeyCode::Enter));
    for c in r#""args": ["-v"],"#.chars() {
        a.update(code(KeyCode::Char(c)));
    }
    let draft: Draft = a.pending_draft().expect("unsaved text is a draft");
    assert!(
        !draft.describe().contains("version 0"),
        "{}",
        draft.describe()
    );
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    a.update(Msg::Saved(Ok(saved)));
    title
}

#[test]
fn agentarea_is_never_said_to_be_at_version_0() {
    let inst = agentarea_instance();
    assert_eq!(inst.version, 0);
    let mut a = app(BackendProfile::agentarea());
    a.update(Msg::Loaded(Ok(vec![inst.clone()])));
    a.prepare();
    a.update(code(KeyCode::Enter));
    let s = render(&mut a);
    assert!(
        s.contains("none: AgentArea keeps no versions (updated, below, names this copy)"),
        "{s}"
    );
    assert!(s.contains("2026-12-01 10:02:03 UTC"), "{s}");
    assert!(!s.contains("0 (event version"), "{s}");
    a.update(code(KeyCode::Esc));

    let mut saved = inst.clone();
    saved.updated_at = inst.updated_at + chrono::Duration::seconds(60);
    let title = edit_and_save(&mut a, &inst, saved);
    assert!(
        title.contains("edit web · updated_at 10:02:03 UTC"),
        "{title}"
    );
    assert!(!title.contains("version 0"), "{title}");
    let toast = a.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert_eq!(toast, "saved web (updated_at 10:03:03 UTC)");
}

#[test]
fn a_platform_that_keeps_versions_names_them() {
    let mut inst = fixtures::instances()[0].clone();
    inst.version = 3;
    let mut a = app(BackendProfile::aacon());
    a.update(Msg::Loaded(Ok(vec![inst.clone()])));
    a.prepare();
    a.update(code(KeyCode::Enter));
    let s = render(&mut a);
    assert!(s.contains("3 (event version"), "{s}");
    a.update(code(KeyCode::Esc));
    let mut saved = inst.clone();
    saved.version = 4;
    let title = edit_and_save(&mut a, &inst, saved);
    assert!(title.contains("· version 3"), "{title}");
    let toast = a.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert_eq!(toast, format!("saved {} (version 4)", inst.name));
}
