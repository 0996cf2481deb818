//! The console's editor against a remote AgentArea (no version field):
//! saving compares `updated_at`; against our platforms it sends the version.

use aacon::domain::Precondition;
use aacon::tui::app::{App, Command, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::Keymap;
use aacon::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn save_after_an_edit(version: u64) -> (Command, aacon::domain::Instance) {
    let mut a: App = fixtures::app(
        Theme::preset("default").unwrap(),
        Keymap::preset("default").unwrap(),
    );
    let mut inst = fixtures::instances()[0].clone();
    inst.version = version;
    a.update(Msg::EditTarget(Ok(inst.clone())));
    a.update(Msg::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)));
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    for c in r#""cwd": "/srv","#.chars() {
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    let mut cmds = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    (cmds.remove(0), inst)
}

#[test]
fn an_instance_without_a_version_is_saved_against_its_updated_at() {
    let (cmd, inst) = save_after_an_edit(0);
    match cmd {
        Command::Update { id, expect, .. } => {
            assert_eq!(id, inst.id);
            assert_eq!(expect, Precondition::UpdatedAt(inst.updated_at));
        }
        other => panic!("{other:?}"),
    }
    let (cmd, _) = save_after_an_edit(4);
    match cmd {
        Command::Update { expect, .. } => assert_eq!(expect, Precondition::Version(4)),
        other => panic!("{other:?}"),
    }
}
