//! The console reads the backend's profile: twins marked where names are
//! not unique, and a backend that could not say what it was asked again
//! once it answers.

use crate::support::app::app;
use aacon::platform::api::wire::WireInstance;
use aacon::platform::{BackendProfile, PlatformEvent, SourceState};
use aacon::tui::app::{Command, Msg};
use serde_json::json;

fn instance(name: &str) -> aacon::domain::Instance {
    serde_json::from_value::<WireInstance>(json!({
        "id": uuid::Uuid::new_v4(), "name": name,
        "json_spec": {"image": "mcp/x", "port": 8000}, "status": "pending",
        "created_at": "2026-12-01T10:00:00", "updated_at": "2026-12-01T10:00:00"
    }))
    .unwrap()
    .into_instance()
}

#[test]
fn twins_are_marked_only_where_the_backend_allows_them() {
    let list = vec![instance("twin"), instance("twin"), instance("solo")];
    let mut a = app();
    a.update(Msg::Profile(BackendProfile::agentarea()));
    a.update(Msg::Loaded(Ok(list.clone())));
    a.prepare();
    assert_eq!(
        a.dup_names.iter().cloned().collect::<Vec<_>>(),
        vec!["twin".to_string()]
    );
    // A backend with unique names is never searched for twins.
    let mut b = app();
    b.update(Msg::Profile(BackendProfile::aacon()));
    b.update(Msg::Loaded(Ok(list)));
    b.prepare();
    assert!(b.dup_names.is_empty());
}

#[test]
fn an_unknown_backend_is_asked_again_when_it_answers() {
    let mut a = app();
    a.update(Msg::Profile(BackendProfile::unknown()));
    let cmds = a.update(Msg::Platform(PlatformEvent::Source(
        SourceState::Connected("polling".into()),
    )));
    assert_eq!(cmds, vec![Command::LoadProfile]);
    a.update(Msg::Profile(BackendProfile::agentarea()));
    let cmds = a.update(Msg::Platform(PlatformEvent::Source(
        SourceState::Connected("polling".into()),
    )));
    assert!(cmds.is_empty(), "a known backend is not asked again");
}
